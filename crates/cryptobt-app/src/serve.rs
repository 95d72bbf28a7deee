//! `cryptobt serve`: the web server on the data directory.

use std::{path::PathBuf, process::ExitCode};

use clap::Args;
use cryptobt_app::{wire, Settings};

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long)]
    host: Option<String>,
    /// Port to listen on.
    #[arg(long)]
    port: Option<u16>,
    /// The market data directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The results directory.
    #[arg(long)]
    results_dir: Option<PathBuf>,
    /// A settings file (default: cryptobt.toml when it exists, or $CRYPTOBT_CONFIG).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    let mut settings = match Settings::for_command(args.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(v) = &args.host {
        settings.host.clone_from(v);
    }
    if let Some(v) = args.port {
        settings.port = v;
    }
    if let Some(v) = &args.data_dir {
        settings.data_dir.clone_from(v);
    }
    if let Some(v) = &args.results_dir {
        settings.results_dir.clone_from(v);
    }
    let (services, config) = wire(&settings);
    let workers = config.workers;
    let result = cryptobt_api::serve(services, config, |addr| {
        tracing::info!(%addr, workers, "serving");
        eprintln!(
            "cryptobt serving http://{addr}/ (data {}, results {}); Ctrl-C to stop",
            settings.data_dir.display(),
            settings.results_dir.display()
        );
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
