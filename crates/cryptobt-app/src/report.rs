//! `cryptobt report RUN [--out report.html]`: one self-contained HTML file of a stored run
//! (charts, metrics with their definitions, round trips, fills, settings, strategy code) that
//! opens offline in any browser.

use cryptobt_app::AppError;
use std::{path::PathBuf, process::ExitCode};

use clap::Args;
use cryptobt_domain::{
    ports::{BarQuery, MarketData, ResultStore},
    BacktestId,
};
use cryptobt_store::FileResultStore;

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The run: its id (under --results-dir) or the folder `backtest --out DIR` wrote.
    run: String,
    /// Where to write the report (default `report-{id}.html` in the current directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The results directory of `serve` and `backtest`.
    #[arg(long, default_value = "results")]
    results_dir: PathBuf,
    /// The market data directory (for the price chart).
    /// (default: the `data_dir` setting, `data`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub(crate) fn run(args: &ReportArgs) -> ExitCode {
    match write(args) {
        Ok(path) => {
            println!("report written to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", e.chain());
            ExitCode::from(2)
        }
    }
}

fn write(args: &ReportArgs) -> Result<PathBuf, AppError> {
    let folder = PathBuf::from(&args.run);
    let (store, id) = if folder.join("config.json").is_file() {
        // A `--out` folder: its one run is the one its config.json names.
        let store = FileResultStore::open(&folder);
        let listed = store.list()?;
        let Some(run) = listed.first() else {
            return Err(AppError::argument(
                "RUN",
                format!("{}: not a run's config.json", folder.join("config.json").display()),
            ));
        };
        let id = run.backtest_id.clone();
        (store, id)
    } else {
        let id = BacktestId::parse(&args.run).map_err(|e| {
            AppError::argument(
                "RUN",
                format!("{e} (a run id under --results-dir, or a folder with a config.json)"),
            )
        })?;
        (FileResultStore::new(&args.results_dir), id)
    };
    let run = store.load(&id, 2).map_err(|e| AppError::Lookup {
        what: format!("run {id}"),
        place: args.results_dir.clone(),
        hint: "--results-dir sets where",
        source: Box::new(e.into()),
    })?;
    let equity = store.equity(&id)?;
    let settings = cryptobt_app::Settings::with_data_dir(args.data_dir.as_deref())?;
    let market = cryptobt_app::market_data(&settings, std::sync::Arc::default());
    let c = &run.record.config;
    // Without the market data the report still has everything but the candles, and says why.
    let markets: Vec<_> = c
        .symbols()
        .iter()
        .map(|symbol| match market.bars(&BarQuery::of_symbol(c, *symbol)) {
            Ok(b) => (*symbol, b.iter().copied().collect()),
            Err(e) => {
                eprintln!(
                    "note: no price chart of {symbol}: {e} (looked in {}; --data-dir sets where)",
                    settings.data_dir.display()
                );
                (*symbol, Vec::new())
            }
        })
        .collect();
    let plots = store.plots(&id).unwrap_or_default();
    let html = cryptobt_report::render(&run, &equity, &markets, &plots);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("report-{id}.html")));
    cryptobt_data::write_atomic(&out, html.as_bytes())?;
    Ok(out)
}
