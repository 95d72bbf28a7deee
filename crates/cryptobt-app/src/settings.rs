//! Settings: defaults, then an optional `cryptobt.toml`, then `CRYPTOBT_*` environment variables,
//! then command-line flags. Every bad value is reported with its key and where it came from.

use std::{path::PathBuf, str::FromStr, time::Duration};

use cryptobt_api::ApiConfig;
use cryptobt_domain::{ConfigPolicy, Timeframe};
use rust_decimal::Decimal;
use serde::Deserialize;

/// Everything `cryptobt serve` can be told.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Address to listen on (`CRYPTOBT_HOST`, default 127.0.0.1).
    pub host: String,
    /// Port (`CRYPTOBT_PORT`, default 8000).
    pub port: u16,
    /// Market data (`CRYPTOBT_DATA_DIR`, default `data`).
    pub data_dir: PathBuf,
    /// Results (`CRYPTOBT_RESULTS_DIR`, default `results`).
    pub results_dir: PathBuf,
    /// The frontend (`CRYPTOBT_STATIC_DIR`, default `static`).
    pub static_dir: PathBuf,
    /// Wall-clock limit of a run in seconds (`CRYPTOBT_MAX_RUN_DURATION`, default 3600).
    pub max_run_duration_secs: u64,
    /// Timeframes runs may use (`CRYPTOBT_ALLOWED_TIMEFRAMES`, comma-separated, default all).
    pub allowed_timeframes: Vec<Timeframe>,
    /// Highest leverage (`CRYPTOBT_MAX_LEVERAGE`, default 100).
    pub max_leverage: Decimal,
    /// Maintenance margin rate when a request gives none (`CRYPTOBT_DEFAULT_MMR`, default 0.005).
    pub default_mmr: Decimal,
    /// Runs at once (`CRYPTOBT_WORKERS`, default cores − 1, at least 1).
    pub workers: usize,
    /// Runs waiting beyond those (`CRYPTOBT_QUEUE_CAPACITY`, default 16).
    pub queue_capacity: usize,
    /// Memory cap of a strategy in MiB (`CRYPTOBT_MEMORY_LIMIT_MB`, default 64).
    pub memory_limit_mb: usize,
    /// CORS origins (`CRYPTOBT_CORS_ORIGINS`, comma-separated, default none).
    pub cors_origins: Vec<String>,
    /// Runs kept in the results folder (`CRYPTOBT_MAX_RUNS`, default 10,000); past it the
    /// server deletes the oldest finished runs.
    pub max_runs: usize,
    /// Host names the server answers to besides the loopback ones (`CRYPTOBT_ALLOWED_HOSTS`,
    /// comma-separated; for a deployment behind a proxy).
    pub allowed_hosts: Vec<String>,
    /// Largest strategy source in KiB (`CRYPTOBT_MAX_STRATEGY_KB`, default 256).
    pub max_strategy_kb: usize,
    /// Bar cache in MiB (`CRYPTOBT_CACHE_MB`, default 512).
    pub cache_mb: u64,
    /// Whether day files keep binary sidecars under `DATA/.cache/` (`CRYPTOBT_SIDECARS`,
    /// `true` or `false`, default `true`).
    pub sidecars: bool,
    /// Wall-clock limit of a whole sweep in seconds (`CRYPTOBT_MAX_SWEEP_DURATION`, default
    /// 21600).
    pub max_sweep_duration_secs: u64,
    /// Sweeps kept in the results folder (`CRYPTOBT_MAX_SWEEPS`, default 1,000); past it the
    /// server deletes the oldest ended sweeps.
    pub max_sweeps: usize,
}

impl Default for Settings {
    fn default() -> Self {
        let api = ApiConfig::default();
        Self {
            host: api.host,
            port: api.port,
            data_dir: PathBuf::from("data"),
            results_dir: PathBuf::from("results"),
            static_dir: api.static_dir,
            max_run_duration_secs: api.max_run_duration.as_secs(),
            allowed_timeframes: Timeframe::ALL.to_vec(),
            max_leverage: Decimal::ONE_HUNDRED,
            default_mmr: api.default_mmr,
            workers: api.workers,
            queue_capacity: api.queue_capacity,
            memory_limit_mb: 64,
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_runs: 10_000,
            max_strategy_kb: 256,
            cache_mb: 512,
            sidecars: true,
            max_sweep_duration_secs: api.max_sweep_duration.as_secs(),
            max_sweeps: api.max_sweeps,
        }
    }
}

/// The keys of `cryptobt.toml` (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    host: Option<String>,
    port: Option<u16>,
    data_dir: Option<PathBuf>,
    results_dir: Option<PathBuf>,
    static_dir: Option<PathBuf>,
    max_run_duration: Option<u64>,
    allowed_timeframes: Option<Vec<String>>,
    max_leverage: Option<f64>,
    default_mmr: Option<f64>,
    workers: Option<usize>,
    queue_capacity: Option<usize>,
    memory_limit_mb: Option<usize>,
    cors_origins: Option<Vec<String>>,
    allowed_hosts: Option<Vec<String>>,
    max_runs: Option<usize>,
    max_strategy_kb: Option<usize>,
    cache_mb: Option<u64>,
    sidecars: Option<bool>,
    max_sweep_duration: Option<u64>,
    max_sweeps: Option<usize>,
}

/// A setting that cannot be used, named with its key and where it came from.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The settings file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The settings file is not valid TOML or has an unknown key.
    #[error("{origin}: {source}")]
    Toml {
        /// The file.
        origin: String,
        /// What the TOML reader found.
        #[source]
        source: toml::de::Error,
    },
    /// A value that does not parse.
    #[error("{origin}: {key} = {value:?} is not valid")]
    Invalid {
        /// The file, or `environment`.
        origin: String,
        /// The key or variable.
        key: String,
        /// The value as given.
        value: String,
    },
    /// A `CRYPTOBT_*` variable no setting has.
    #[error("environment: unknown setting {0}")]
    Unknown(String),
    /// Values that parse but cannot be used together or at all.
    #[error("{key} {rule}")]
    OutOfRange {
        /// The setting.
        key: &'static str,
        /// The rule it breaks, with the value.
        rule: String,
    },
}

fn parse<T: FromStr>(key: &str, origin: &str, raw: &str) -> Result<T, SettingsError> {
    raw.trim().parse().map_err(|_| SettingsError::Invalid {
        origin: origin.to_owned(),
        key: key.to_owned(),
        value: raw.to_owned(),
    })
}

fn timeframes(key: &str, origin: &str, raw: &[String]) -> Result<Vec<Timeframe>, SettingsError> {
    raw.iter().map(|t| parse(key, origin, t)).collect()
}

fn decimal(key: &str, origin: &str, v: f64) -> Result<Decimal, SettingsError> {
    Decimal::try_from(v).map_err(|_| SettingsError::Invalid {
        origin: origin.to_owned(),
        key: key.to_owned(),
        value: v.to_string(),
    })
}

impl Settings {
    /// What every command reads before its own flags: the defaults, then the settings file
    /// (`config`, else `$CRYPTOBT_CONFIG`, else `./cryptobt.toml` when it exists), then the
    /// `CRYPTOBT_*` variables of this process.
    ///
    /// # Errors
    /// An unreadable settings file, or the first bad key or value, naming where it came from.
    pub fn for_command(config: Option<&std::path::Path>) -> Result<Self, SettingsError> {
        Self::from_file_and_env(config)
    }

    /// [`Settings::for_command`] with a command's `--data-dir`, when given, on top.
    ///
    /// # Errors
    /// As [`Settings::for_command`].
    pub fn with_data_dir(data_dir: Option<&std::path::Path>) -> Result<Self, SettingsError> {
        let mut settings = Self::from_file_and_env(None)?;
        if let Some(dir) = data_dir {
            settings.data_dir = dir.to_path_buf();
        }
        Ok(settings)
    }

    fn from_file_and_env(config: Option<&std::path::Path>) -> Result<Self, SettingsError> {
        let path = config
            .map(std::path::Path::to_path_buf)
            .or_else(|| std::env::var_os("CRYPTOBT_CONFIG").map(PathBuf::from))
            .or_else(|| {
                let default = PathBuf::from("cryptobt.toml");
                default.exists().then_some(default)
            });
        let text = match &path {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .map_err(|source| SettingsError::Read { path: p.clone(), source })?,
            ),
            None => None,
        };
        let source = path.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        Self::load(text.as_deref().map(|t| (source.as_str(), t)), std::env::vars())
    }

    /// Defaults, then the TOML text (if any, named `source` in messages), then the
    /// `CRYPTOBT_*` variables among `env`.
    ///
    /// # Errors
    /// The first bad key or value, with where it came from.
    pub fn load(
        toml_text: Option<(&str, &str)>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, SettingsError> {
        let mut s = Self::default();
        if let Some((source, text)) = toml_text {
            let f: FileSettings = toml::from_str(text)
                .map_err(|e| SettingsError::Toml { origin: source.to_owned(), source: e })?;
            s.apply_file(f, source)?;
        }
        for (key, value) in env {
            let Some(name) = key.strip_prefix("CRYPTOBT_") else { continue };
            s.apply_env(name, &value)?;
        }
        s.check()?;
        Ok(s)
    }

    fn apply_file(&mut self, f: FileSettings, src: &str) -> Result<(), SettingsError> {
        if let Some(v) = f.host {
            self.host = v;
        }
        if let Some(v) = f.port {
            self.port = v;
        }
        if let Some(v) = f.data_dir {
            self.data_dir = v;
        }
        if let Some(v) = f.results_dir {
            self.results_dir = v;
        }
        if let Some(v) = f.static_dir {
            self.static_dir = v;
        }
        if let Some(v) = f.max_run_duration {
            self.max_run_duration_secs = v;
        }
        if let Some(v) = f.allowed_timeframes {
            self.allowed_timeframes = timeframes("allowed_timeframes", src, &v)?;
        }
        if let Some(v) = f.max_leverage {
            self.max_leverage = decimal("max_leverage", src, v)?;
        }
        if let Some(v) = f.default_mmr {
            self.default_mmr = decimal("default_mmr", src, v)?;
        }
        if let Some(v) = f.workers {
            self.workers = v;
        }
        if let Some(v) = f.queue_capacity {
            self.queue_capacity = v;
        }
        if let Some(v) = f.memory_limit_mb {
            self.memory_limit_mb = v;
        }
        if let Some(v) = f.cors_origins {
            self.cors_origins = v;
        }
        if let Some(v) = f.allowed_hosts {
            self.allowed_hosts = v;
        }
        if let Some(v) = f.max_runs {
            self.max_runs = v;
        }
        if let Some(v) = f.max_strategy_kb {
            self.max_strategy_kb = v;
        }
        if let Some(v) = f.cache_mb {
            self.cache_mb = v;
        }
        if let Some(v) = f.sidecars {
            self.sidecars = v;
        }
        if let Some(v) = f.max_sweep_duration {
            self.max_sweep_duration_secs = v;
        }
        if let Some(v) = f.max_sweeps {
            self.max_sweeps = v;
        }
        Ok(())
    }

    fn apply_env(&mut self, name: &str, value: &str) -> Result<(), SettingsError> {
        let src = "environment";
        let key = format!("CRYPTOBT_{name}");
        let list = || {
            value
                .split(',')
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
        };
        match name {
            "HOST" => self.host = value.to_owned(),
            "PORT" => self.port = parse(&key, src, value)?,
            "DATA_DIR" => self.data_dir = PathBuf::from(value),
            "RESULTS_DIR" => self.results_dir = PathBuf::from(value),
            "STATIC_DIR" => self.static_dir = PathBuf::from(value),
            "MAX_RUN_DURATION" => self.max_run_duration_secs = parse(&key, src, value)?,
            "MAX_SWEEP_DURATION" => self.max_sweep_duration_secs = parse(&key, src, value)?,
            "MAX_SWEEPS" => self.max_sweeps = parse(&key, src, value)?,
            "ALLOWED_TIMEFRAMES" => self.allowed_timeframes = timeframes(&key, src, &list())?,
            "MAX_LEVERAGE" => self.max_leverage = parse(&key, src, value)?,
            "DEFAULT_MMR" | "MAINTENANCE_MARGIN_RATE" => {
                self.default_mmr = parse(&key, src, value)?
            }
            "WORKERS" => self.workers = parse(&key, src, value)?,
            "QUEUE_CAPACITY" => self.queue_capacity = parse(&key, src, value)?,
            "MEMORY_LIMIT_MB" => self.memory_limit_mb = parse(&key, src, value)?,
            "CORS_ORIGINS" => self.cors_origins = list(),
            "ALLOWED_HOSTS" => self.allowed_hosts = list(),
            "MAX_RUNS" => self.max_runs = parse(&key, src, value)?,
            "MAX_STRATEGY_KB" => self.max_strategy_kb = parse(&key, src, value)?,
            "CACHE_MB" => self.cache_mb = parse(&key, src, value)?,
            "SIDECARS" => self.sidecars = parse(&key, src, value)?,
            "CONFIG" | "LOG" => {}
            _ => return Err(SettingsError::Unknown(key)),
        }
        Ok(())
    }

    fn check(&self) -> Result<(), SettingsError> {
        let out = |key, rule: String| Err(SettingsError::OutOfRange { key, rule });
        if self.workers == 0 {
            return out("workers", "must be at least 1".into());
        }
        if self.allowed_timeframes.is_empty() {
            return out("allowed_timeframes", "must name at least one timeframe".into());
        }
        if self.max_leverage < Decimal::ONE || self.max_leverage > Decimal::ONE_HUNDRED {
            return out("max_leverage", format!("{} must be between 1 and 100", self.max_leverage));
        }
        if self.max_strategy_kb == 0 {
            return out("max_strategy_kb", "must be positive".into());
        }
        if self.memory_limit_mb == 0 {
            return out("memory_limit_mb", "must be positive".into());
        }
        Ok(())
    }

    /// The API's part of the settings.
    #[must_use]
    pub fn api_config(&self) -> ApiConfig {
        ApiConfig {
            host: self.host.clone(),
            port: self.port,
            static_dir: self.static_dir.clone(),
            policy: ConfigPolicy {
                allowed_timeframes: self.allowed_timeframes.clone(),
                max_leverage: self.max_leverage,
            },
            default_mmr: self.default_mmr,
            max_run_duration: Duration::from_secs(self.max_run_duration_secs),
            max_sweep_duration: Duration::from_secs(self.max_sweep_duration_secs),
            max_sweeps: self.max_sweeps.max(1),
            memory_limit_bytes: self.memory_limit_mb.saturating_mul(1 << 20),
            workers: self.workers,
            queue_capacity: self.queue_capacity,
            max_strategy_bytes: self.max_strategy_kb.saturating_mul(1 << 10),
            cors_origins: self.cors_origins.clone(),
            allowed_hosts: self.allowed_hosts.clone(),
            max_runs: self.max_runs.max(1),
            max_chart_points: 5_000,
            sweeps_dir: self.results_dir.join("sweeps"),
            ..ApiConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_override_the_defaults() {
        let toml = "port = 9000\nallowed_timeframes = [\"1h\", \"4h\"]\nmax_leverage = 20\n";
        let env = [
            ("CRYPTOBT_PORT".to_owned(), "9100".to_owned()),
            ("CRYPTOBT_WORKERS".to_owned(), "3".to_owned()),
            ("PATH".to_owned(), "/x".to_owned()),
        ];
        let s = Settings::load(Some(("cryptobt.toml", toml)), env).unwrap();
        assert_eq!(s.port, 9100);
        assert_eq!(s.workers, 3);
        assert_eq!(s.allowed_timeframes, [Timeframe::H1, Timeframe::H4]);
        assert_eq!(s.max_leverage, Decimal::from(20));
        assert_eq!(s.data_dir, PathBuf::from("data"));
        assert!(s.sidecars, "on by default");
        let off = Settings::load(Some(("cryptobt.toml", "sidecars = false")), []).unwrap();
        assert!(!off.sidecars);
        let env = [("CRYPTOBT_SIDECARS".to_owned(), "false".to_owned())];
        assert!(!Settings::load(None, env).unwrap().sidecars);
        let env = [("CRYPTOBT_SIDECARS".to_owned(), "no".to_owned())];
        let e = Settings::load(None, env).unwrap_err().to_string();
        assert_eq!(e, "environment: CRYPTOBT_SIDECARS = \"no\" is not valid");
    }

    #[test]
    fn bad_values_name_their_key_and_source() {
        let e = Settings::load(Some(("cryptobt.toml", "colour = 1")), []).unwrap_err().to_string();
        assert!(e.contains("cryptobt.toml") && e.contains("colour"), "{e}");
        let e = Settings::load(None, [("CRYPTOBT_PORT".to_owned(), "eighty".to_owned())])
            .unwrap_err()
            .to_string();
        assert_eq!(e, "environment: CRYPTOBT_PORT = \"eighty\" is not valid");
        let e =
            Settings::load(None, [("CRYPTOBT_ALLOWED_TIMEFRAMES".to_owned(), "1h,2h".to_owned())])
                .unwrap_err()
                .to_string();
        assert!(e.contains("\"2h\""), "{e}");
        let e = Settings::load(None, [("CRYPTOBT_NOPE".to_owned(), "1".to_owned())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown setting CRYPTOBT_NOPE"), "{e}");
    }
}
