//! The cryptobt HTTP API: the JSON endpoints of the original spec and beyond, background runs in
//! a bounded pool with live progress (Server-Sent Events), result files, and the browser
//! frontend served from `static/`.
//!
//! The only crate that knows HTTP. It sees the engine, the market data, the sandbox and the result
//! store only as the domain's ports ([`Services`]); the app wires the concrete types in.

mod error;
mod guard;
mod jobs;
mod openapi;
mod request;
mod routes;
mod statics;
mod sweeps;
mod views;

use std::{path::PathBuf, sync::Arc, time::Duration};

use actix_web::{web, App, HttpServer};
use cryptobt_domain::{
    ports::{BacktestService, MarketData, ResultStore, StrategyFactory, SweepService, SweepStore},
    ConfigPolicy,
};
use rust_decimal::Decimal;

pub use crate::error::{ApiError, ErrorBody};

/// Supplies the market-data cache's statistics for `GET /api/data/cache`.
pub trait StatsSource: Send + Sync {
    /// The counters now, as JSON.
    fn stats(&self) -> serde_json::Value;
}

/// The ports the API works through.
#[derive(Clone)]
pub struct Services {
    /// Runs backtests.
    pub backtests: Arc<dyn BacktestService>,
    /// Keeps results.
    pub store: Arc<dyn ResultStore>,
    /// Checks strategies.
    pub strategies: Arc<dyn StrategyFactory>,
    /// Market data for the symbol list and the price history.
    pub market: Arc<dyn MarketData>,
    /// Cache statistics.
    pub cache_stats: Arc<dyn StatsSource>,
    /// Runs parameter sweeps.
    pub sweeps: Arc<dyn SweepService>,
    /// Keeps sweeps.
    pub sweep_store: Arc<dyn SweepStore>,
}

/// What a deployment decides.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Address to listen on.
    pub host: String,
    /// Port to listen on (0: any free port).
    pub port: u16,
    /// Directory of the browser frontend (and `strategies/` examples).
    pub static_dir: PathBuf,
    /// Timeframes and leverage a run may use.
    pub policy: ConfigPolicy,
    /// Maintenance margin rate when a request gives none.
    pub default_mmr: Decimal,
    /// Wall-clock limit of a run.
    pub max_run_duration: Duration,
    /// Memory limit of a strategy's VM, bytes.
    pub memory_limit_bytes: usize,
    /// Runs at once (default: cores − 1, at least 1).
    pub workers: usize,
    /// Runs waiting beyond those (a full queue answers 429).
    pub queue_capacity: usize,
    /// Largest strategy source accepted, bytes.
    pub max_strategy_bytes: usize,
    /// Origins allowed by CORS (none: no CORS headers).
    pub cors_origins: Vec<String>,
    /// Portfolio points returned for a chart.
    pub max_chart_points: usize,
    /// Bytes of finished runs (and, apart, of ended sweeps' tables) kept in memory for repeated
    /// reads.
    pub cache_bytes: u64,
    /// Host names the server answers to besides the loopback names (for a deployment behind a
    /// proxy; with a non-loopback bind and none set, any).
    pub allowed_hosts: Vec<String>,
    /// Time a client has to send a request's body.
    pub body_timeout: Duration,
    /// Open connections per HTTP worker; more wait to be accepted.
    pub max_connections: usize,
    /// Runs kept in the results folder; past it the oldest finished ones are deleted.
    pub max_runs: usize,
    /// Where sweeps keep their files (`{sweep_id}/`).
    pub sweeps_dir: PathBuf,
    /// Members a sweep may have.
    pub max_sweep_members: usize,
    /// The sweep-wide wall-clock limit.
    pub max_sweep_duration: Duration,
    /// Sweeps kept; past it the oldest ended ones are deleted when a sweep ends.
    pub max_sweeps: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            static_dir: PathBuf::from("static"),
            policy: ConfigPolicy::default(),
            default_mmr: Decimal::new(5, 3),
            max_run_duration: Duration::from_secs(3_600),
            memory_limit_bytes: 64 << 20,
            workers: cores.saturating_sub(1).max(1),
            queue_capacity: 16,
            max_strategy_bytes: 256 << 10,
            cors_origins: Vec::new(),
            max_chart_points: 5_000,
            cache_bytes: 64 << 20,
            allowed_hosts: Vec::new(),
            body_timeout: Duration::from_secs(10),
            max_connections: 256,
            max_runs: 10_000,
            sweeps_dir: PathBuf::from("results/sweeps"),
            max_sweep_members: 100_000,
            max_sweep_duration: cryptobt_domain::ports::DEFAULT_MAX_SWEEP_DURATION,
            max_sweeps: 1_000,
        }
    }
}

/// Shared by every handler.
pub(crate) struct AppState {
    pub(crate) services: Services,
    pub(crate) config: ApiConfig,
    pub(crate) jobs: jobs::Jobs,
    /// Finished runs as read back (they never change; a delete evicts them), so that a page
    /// polling a result does not re-read its files. Weighed by their size in bytes.
    pub(crate) finished:
        moka::sync::Cache<cryptobt_domain::BacktestId, Arc<cryptobt_domain::ports::StoredRun>>,
    /// Strategy checks running now (they share the run workers' count).
    pub(crate) validations: Arc<tokio::sync::Semaphore>,
    /// Held for reading while a run is read back and cached, for writing while one is deleted:
    /// a read racing a delete either finishes before it (and the delete evicts what it cached)
    /// or starts after it (and finds nothing).
    pub(crate) store_lock: Arc<parking_lot::RwLock<()>>,
    /// Whole equity curves and drawdowns of runs as the charts thin them, weighed by bytes.
    pub(crate) series: moka::sync::Cache<cryptobt_domain::BacktestId, Arc<routes::chart::Series>>,
    /// Recent price-history answers by query, kept 2 s (a chart reloading the same bars).
    pub(crate) history: moka::sync::Cache<String, web::Bytes>,
    /// Parameter sweeps.
    pub(crate) sweeps: Arc<sweeps::Sweeps>,
}

fn build(
    services: Services,
    config: ApiConfig,
) -> std::io::Result<(actix_web::dev::Server, std::net::SocketAddr, web::Data<AppState>)> {
    let recovered = jobs::recover(services.store.as_ref());
    if recovered > 0 {
        tracing::warn!(recovered, "marked runs interrupted by the last stop as failed");
    }
    let leftovers = services.store.remove_leftovers();
    if leftovers > 0 {
        tracing::warn!(leftovers, "removed temporary files left by an interrupted write");
    }
    let finished: moka::sync::Cache<_, Arc<cryptobt_domain::ports::StoredRun>> =
        moka::sync::Cache::builder()
            .weigher(|_, run: &Arc<cryptobt_domain::ports::StoredRun>| {
                u32::try_from(routes::weight(run)).unwrap_or(u32::MAX)
            })
            .max_capacity(config.cache_bytes)
            .build();
    let series: moka::sync::Cache<_, Arc<routes::chart::Series>> = moka::sync::Cache::builder()
        .weigher(|_, s: &Arc<routes::chart::Series>| u32::try_from(s.weight()).unwrap_or(u32::MAX))
        .max_capacity(config.cache_bytes)
        .build();
    let evicted = finished.clone();
    let evicted_series = series.clone();
    let jobs = jobs::Jobs::start(
        config.workers,
        config.queue_capacity,
        config.max_runs,
        cryptobt_domain::RunPipeline::new(services.backtests.clone(), services.store.clone()),
        Arc::new(move |id: &cryptobt_domain::BacktestId| {
            evicted.invalidate(id);
            evicted_series.invalidate(id);
        }),
    );
    let history =
        moka::sync::Cache::builder().max_capacity(64).time_to_live(Duration::from_secs(2)).build();
    let state = web::Data::new(AppState {
        services: services.clone(),
        config: config.clone(),
        jobs,
        finished,
        series,
        store_lock: Arc::default(),
        validations: Arc::new(tokio::sync::Semaphore::new(config.workers.max(1))),
        history,
        sweeps: Arc::new(sweeps::Sweeps::open(
            services.sweep_store.clone(),
            services.sweeps.clone(),
            config.cache_bytes,
            config.max_sweeps,
        )),
    });
    let data = state.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(web::QueryConfig::default().error_handler(|err, _| {
                ApiError::InvalidRequest {
                    field: None,
                    message: format!("bad query string: {err}"),
                }
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|err, _| {
                ApiError::InvalidRequest { field: None, message: format!("bad path: {err}") }.into()
            }))
            // gzip for whatever the client accepts (JSON, CSV, the page's files); the event
            // stream opts out (`Content-Encoding: identity`) so that events are not held back.
            .wrap(actix_web::middleware::Compress::default())
            .wrap(actix_web::middleware::from_fn(routes::log_requests))
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff")),
            )
            .wrap(actix_web::middleware::from_fn(guard::check))
            .wrap(routes::cors(&data.config.cors_origins))
            .configure(routes::configure)
            .default_service(web::to(statics::serve))
    })
    .workers(2)
    .max_connections(config.max_connections)
    .client_request_timeout(Duration::from_secs(5))
    .shutdown_timeout(10)
    .disable_signals()
    .bind((config.host.as_str(), config.port))?;
    let addr =
        server.addrs().first().copied().ok_or_else(|| std::io::Error::other("no address bound"))?;
    Ok((server.run(), addr, state))
}

/// Serves until Ctrl-C (or SIGTERM), then drains: in-flight requests finish, running backtests
/// are cancelled and recorded as cancelled, and the workers stop. `on_bound` learns the address.
///
/// # Errors
/// The address cannot be bound, or the server failed.
pub fn serve(
    services: Services,
    config: ApiConfig,
    on_bound: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async move {
        let (server, addr, state) = build(services, config)?;
        on_bound(addr);
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            stop_signal().await;
            tracing::info!("stopping: finishing requests and cancelling runs");
            handle.stop(true).await;
        });
        let result = server.await;
        let _ = actix_web::rt::task::spawn_blocking(move || {
            state.sweeps.cancel_all();
            state.jobs.shutdown(Duration::from_secs(10))
        })
        .await;
        result
    })
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM, the signal service managers stop a service with.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A server running on a thread of its own (for tests and embedding).
pub struct RunningServer {
    /// The address bound (useful with port 0).
    pub addr: std::net::SocketAddr,
    handle: actix_web::dev::ServerHandle,
    state: web::Data<AppState>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Starts the server on a new thread.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub fn start(services: Services, config: ApiConfig) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("cryptobt-http".into()).spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match build(services, config) {
                    Ok((server, addr, state)) => {
                        let _ = tx.send(Ok((addr, server.handle(), state)));
                        server.await
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        Ok(())
                    }
                }
            })
        })?;
        let (addr, handle, state) =
            rx.recv().map_err(|_| std::io::Error::other("the server thread died"))??;
        Ok(Self { addr, handle, state, thread: Some(thread) })
    }

    /// Stops the server the way Ctrl-C does, and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(thread) = self.thread.take() {
            let handle = self.handle.clone();
            std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(true)));
            let _ = thread.join();
            self.state.sweeps.cancel_all();
            self.state.jobs.shutdown(Duration::from_secs(10));
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
