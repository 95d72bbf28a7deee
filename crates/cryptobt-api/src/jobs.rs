//! Background runs: a bounded queue in front of a fixed pool of worker threads (never the HTTP
//! workers), the registry of runs in flight with their progress, and the events they publish.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        mpsc, Arc,
    },
    thread::JoinHandle,
    time::Duration,
};

use chrono::Utc;
use cryptobt_domain::{
    ports::{BacktestRequest, ResultStore, RunObserver, RunRecord, StrategyLimits},
    BacktestConfig, BacktestId, ErrorCode, RunError, RunPipeline, RunStatus,
};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::watch;

/// What a run in flight publishes to its event stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct JobState {
    pub(crate) status: RunStatus,
    pub(crate) done: u64,
    pub(crate) total: u64,
    pub(crate) error_code: Option<ErrorCode>,
    pub(crate) error_message: Option<String>,
}

/// A run in flight.
pub(crate) struct Job {
    pub(crate) record: Mutex<RunRecord>,
    pub(crate) limits: StrategyLimits,
    done: AtomicU64,
    total: AtomicU64,
    events: watch::Sender<JobState>,
}

impl Job {
    pub(crate) fn state(&self) -> JobState {
        self.events.borrow().clone()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<JobState> {
        self.events.subscribe()
    }

    pub(crate) fn cancel(&self) {
        self.limits.cancel.cancel();
    }

    fn publish(&self, status: RunStatus, error: Option<&RunError>) {
        let state = JobState {
            status,
            done: self.done.load(Ordering::Relaxed),
            total: self.total.load(Ordering::Relaxed),
            error_code: error.map(|e| e.code),
            error_message: error.map(|e| e.message.clone()),
        };
        self.events.send_replace(state);
    }
}

/// Progress from the engine: counters, and an event at most every 1 % (and at the end).
struct Progress<'a>(&'a Job);

impl RunObserver for Progress<'_> {
    fn on_progress(&self, done: u64, total: u64) {
        let job = self.0;
        let before = job.done.swap(done, Ordering::Relaxed);
        job.total.store(total, Ordering::Relaxed);
        let percent = |n: u64| (n * 100).checked_div(total).unwrap_or(100);
        if percent(done) != percent(before) || done == total {
            job.publish(RunStatus::Running, None);
        }
    }
}

/// The pool, the queue and the registry.
pub(crate) struct Jobs {
    queue: Mutex<Option<mpsc::SyncSender<Arc<Job>>>>,
    registry: Arc<Mutex<HashMap<BacktestId, Arc<Job>>>>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) worker_count: usize,
    pub(crate) queue_capacity: usize,
}

/// Why a submission was not queued.
pub(crate) enum SubmitError {
    Full,
    Store(cryptobt_domain::ports::StoreError),
}

impl Jobs {
    /// Starts `workers` threads serving a queue of `capacity` waiting runs.
    pub(crate) fn start(
        workers: usize,
        capacity: usize,
        max_runs: usize,
        pipeline: RunPipeline,
        evict: Arc<dyn Fn(&BacktestId) + Send + Sync>,
    ) -> Self {
        let (tx, rx) = mpsc::sync_channel::<Arc<Job>>(capacity);
        let rx = Arc::new(Mutex::new(rx));
        let registry: Arc<Mutex<HashMap<BacktestId, Arc<Job>>>> = Arc::default();
        let handles = (0..workers.max(1))
            .map(|n| {
                let (rx, pipeline, registry, evict) =
                    (rx.clone(), pipeline.clone(), registry.clone(), evict.clone());
                let store = pipeline.store().clone();
                std::thread::Builder::new()
                    .name(format!("backtest-{n}"))
                    .stack_size(16 << 20)
                    .spawn(move || loop {
                        let next = rx.lock().recv();
                        let Ok(job) = next else { break };
                        let saved = run_job(&job, &pipeline);
                        // A run whose results could not be written stays listed here (failed,
                        // `storage_error`): memory is then the only place that knows its end.
                        if saved {
                            let id = job.record.lock().backtest_id.clone();
                            registry.lock().remove(&id);
                        }
                        // Retention: the oldest finished runs beyond the limit go.
                        match store.prune(max_runs) {
                            Ok(removed) if removed.is_empty() => {}
                            Ok(removed) => {
                                removed.iter().for_each(|id| evict(id));
                                tracing::info!(removed = removed.len(), max_runs, "retention");
                            }
                            Err(e) => tracing::warn!(error = %e, "retention failed"),
                        }
                    })
                    .unwrap_or_else(|e| panic!("cannot start a backtest worker thread: {e}"))
            })
            .collect();
        Self {
            queue: Mutex::new(Some(tx)),
            registry,
            workers: Mutex::new(handles),
            worker_count: workers.max(1),
            queue_capacity: capacity,
        }
    }

    /// Records a new run as queued and hands it to the pool.
    pub(crate) fn submit(
        &self,
        id: BacktestId,
        config: BacktestConfig,
        strategy_code: String,
        limits: StrategyLimits,
        store: &dyn ResultStore,
    ) -> Result<Arc<Job>, SubmitError> {
        let record = RunRecord {
            backtest_id: id.clone(),
            created_at: Utc::now(),
            strategy_code,
            config,
            status: RunStatus::Queued,
            error: None,
        };
        let (events, _) = watch::channel(JobState {
            status: RunStatus::Queued,
            done: 0,
            total: 0,
            error_code: None,
            error_message: None,
        });
        let job = Arc::new(Job {
            record: Mutex::new(record.clone()),
            limits,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            events,
        });
        // Recorded before it is queued, so that no worker can record a later state first (and a
        // restart finds it queued and marks it interrupted).
        store.save(&record, None).map_err(SubmitError::Store)?;
        // Hold the registry while queueing so a worker cannot finish the run before it is listed.
        let mut registry = self.registry.lock();
        let queued = self.queue.lock().as_ref().map(|tx| tx.try_send(Arc::clone(&job)));
        match queued {
            Some(Ok(())) => {
                registry.insert(id, Arc::clone(&job));
                Ok(job)
            }
            Some(Err(_)) | None => {
                drop(registry);
                let _ = store.delete(&id);
                Err(SubmitError::Full)
            }
        }
    }

    /// The run `id`, while queued or running.
    pub(crate) fn get(&self, id: &BacktestId) -> Option<Arc<Job>> {
        self.registry.lock().get(id).cloned()
    }

    /// Forgets a finished run kept in memory (one whose results could not be written); true if
    /// there was one.
    pub(crate) fn forget(&self, id: &BacktestId) -> bool {
        let mut registry = self.registry.lock();
        let finished = registry
            .get(id)
            .is_some_and(|j| !matches!(j.state().status, RunStatus::Queued | RunStatus::Running));
        finished && registry.remove(id).is_some()
    }

    /// Runs queued and running now.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let registry = self.registry.lock();
        let running =
            registry.values().filter(|j| j.record.lock().status == RunStatus::Running).count();
        (registry.len() - running, running)
    }

    /// Stops taking work, cancels what runs and waits (up to `grace`) for the workers to record
    /// their runs.
    pub(crate) fn shutdown(&self, grace: Duration) {
        self.queue.lock().take();
        for job in self.registry.lock().values() {
            job.cancel();
        }
        let deadline = std::time::Instant::now() + grace;
        for handle in self.workers.lock().drain(..) {
            while !handle.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

/// Runs one job to its end; false when its results could not be saved.
fn run_job(job: &Job, pipeline: &RunPipeline) -> bool {
    let (id, request) = {
        let mut record = job.record.lock();
        let request = BacktestRequest {
            config: record.config.clone(),
            strategy_code: record.strategy_code.clone(),
            limits: job.limits.clone(),
        };
        if !job.limits.cancel.is_cancelled() {
            record.status = RunStatus::Running;
        }
        (record.backtest_id.clone(), request)
    };
    let span = tracing::info_span!("run", id = %id, symbol = %request.config.symbol(), timeframe = %request.config.timeframe());
    let _entered = span.enter();
    if job.limits.cancel.is_cancelled() {
        return finish(
            job,
            pipeline.store().as_ref(),
            RunStatus::Cancelled,
            Some(RunError {
                code: ErrorCode::Cancelled,
                message: "cancelled before it started".into(),
                line: None,
            }),
        );
    }
    job.publish(RunStatus::Running, None);
    tracing::info!("run started");
    let submitted = job.record.lock().clone();
    // A panic (a defect of ours) fails this run as `internal_error` and keeps the worker.
    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pipeline.run(submitted, &request, &Progress(job))
    }));
    let outcome = match ran {
        Ok(outcome) => outcome,
        Err(panic) => {
            let cause = cryptobt_domain::panic_message(panic.as_ref());
            tracing::error!(cause = %cause, "the run panicked");
            let error = RunError {
                code: ErrorCode::InternalError,
                message: format!("internal error: {cause}"),
                line: None,
            };
            return finish(job, pipeline.store().as_ref(), RunStatus::Failed, Some(error));
        }
    };
    if let Err(e) = &outcome.saved {
        tracing::error!(error = %e, "could not save the run's results");
    }
    let record = outcome.record;
    *job.record.lock() = record.clone();
    tracing::info!(status = %record.status, error = ?record.error.as_ref().map(|e| e.code), "run finished");
    job.publish(record.status, record.error.as_ref());
    outcome.saved.is_ok()
}

/// Records a run that ends without running (cancelled while queued).
fn finish(job: &Job, store: &dyn ResultStore, status: RunStatus, error: Option<RunError>) -> bool {
    let record = {
        let mut record = job.record.lock();
        record.status = status;
        record.error.clone_from(&error);
        record.clone()
    };
    let saved = store.save(&record, None);
    if let Err(e) = &saved {
        tracing::error!(error = %e, "could not save the run");
    }
    job.publish(status, error.as_ref());
    saved.is_ok()
}

/// Marks runs that were queued or running when the process stopped as failed (`interrupted`).
pub(crate) fn recover(store: &dyn ResultStore) -> usize {
    let Ok(records) = store.list() else { return 0 };
    let mut recovered = 0;
    for listed in records {
        if matches!(listed.status, RunStatus::Queued | RunStatus::Running) {
            // The listing leaves the strategy out: rewrite the full record.
            let Ok(mut record) = store.record(&listed.backtest_id) else { continue };
            record.status = RunStatus::Failed;
            record.error = Some(RunError {
                code: ErrorCode::Interrupted,
                message: "the server stopped while this run was queued or running".into(),
                line: None,
            });
            if store.save(&record, None).is_ok() {
                recovered += 1;
            }
        }
    }
    recovered
}
