//! Sweeps over the API: the registry of sweeps (kept in `results/sweeps/{sweep_id}/`, one
//! `meta.json` each beside the sweep's files), one sweep running at a time on its own thread
//! with every core, the rest queued, and the events each publishes.

use std::{collections::BTreeMap, sync::Arc};

use cryptobt_domain::{
    panic_message,
    ports::{
        CancelToken, ListedSweep, RunObserver, ServiceError, SweepFile, SweepId, SweepMeta,
        SweepRequest, SweepService, SweepStore, SweepTable,
    },
    ErrorCode, RunStatus,
};
use parking_lot::{Mutex, RwLock};
use serde::Serialize;
use tokio::sync::watch;

/// Sweeps in flight at once: one running and four waiting; one more answers 429.
pub(crate) const SWEEP_QUEUE: usize = 5;

/// What a sweep publishes to its event stream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SweepState {
    pub(crate) status: RunStatus,
    pub(crate) done: u64,
    pub(crate) total: u64,
    pub(crate) error_message: Option<String>,
}

/// A sweep the server knows.
pub(crate) struct SweepJob {
    pub(crate) meta: Mutex<SweepMeta>,
    cancel: CancelToken,
    events: watch::Sender<SweepState>,
}

impl SweepJob {
    fn new(meta: SweepMeta) -> Self {
        let state = SweepState {
            status: meta.status,
            done: 0,
            total: meta.members as u64,
            error_message: meta.error_message.clone(),
        };
        Self { meta: Mutex::new(meta), cancel: CancelToken::new(), events: watch::channel(state).0 }
    }

    pub(crate) fn state(&self) -> SweepState {
        self.events.borrow().clone()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<SweepState> {
        self.events.subscribe()
    }

    pub(crate) fn cancel(&self) {
        self.cancel.cancel();
    }

    fn publish(&self, change: impl FnOnce(&mut SweepState)) {
        self.events.send_modify(change);
    }
}

impl RunObserver for SweepJob {
    fn on_progress(&self, done: u64, total: u64) {
        self.publish(|s| {
            s.done = done;
            s.total = total;
        });
    }
}

/// The sweeps: those on disk and those in flight.
pub(crate) struct Sweeps {
    store: Arc<dyn SweepStore>,
    service: Arc<dyn SweepService>,
    /// Sweeps kept (retention).
    max_sweeps: usize,
    jobs: RwLock<BTreeMap<String, Arc<SweepJob>>>,
    /// Held by the sweep that runs; the queued ones wait for it.
    runner: Arc<Mutex<()>>,
    /// Tables of ended sweeps as read back (an ended sweep's files never change; a delete evicts
    /// its table), weighed by their size: paging or sorting a large table does not read and
    /// decode `sweep.parquet` again.
    tables: moka::sync::Cache<String, Arc<SweepTable>>,
}

/// Bytes a table holds in memory, near enough to weigh it in the cache.
fn weight(table: &SweepTable) -> u32 {
    let row = |r: &cryptobt_domain::ports::SweepRow| {
        std::mem::size_of_val(r)
            + r.metrics.len() * std::mem::size_of::<Option<f64>>()
            + r.params.keys().map(|k| k.len() + 48).sum::<usize>()
    };
    let bytes = table.summary.len()
        + table.names.iter().map(String::len).sum::<usize>()
        + table.rows.iter().map(row).sum::<usize>();
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl Sweeps {
    /// The sweeps `store` keeps; those a stop interrupted are recorded as failed, and those
    /// whose `meta.json` cannot be read are listed as damaged. `cache_bytes` bounds the tables
    /// kept in memory.
    pub(crate) fn open(
        store: Arc<dyn SweepStore>,
        service: Arc<dyn SweepService>,
        cache_bytes: u64,
        max_sweeps: usize,
    ) -> Self {
        let mut jobs = BTreeMap::new();
        let listed = store.list().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot list the sweeps");
            Vec::new()
        });
        for entry in listed {
            let mut meta = match entry {
                ListedSweep::Meta(meta) => *meta,
                ListedSweep::Damaged { id, message } => {
                    // Listed as damaged (with its cause), not hidden: it can still be deleted.
                    tracing::warn!(sweep = %id, error = %message, "a sweep's meta.json cannot be read");
                    damaged_meta(&id, message)
                }
            };
            if matches!(meta.status, RunStatus::Queued | RunStatus::Running) {
                meta.status = RunStatus::Failed;
                meta.error_code = Some(ErrorCode::Interrupted);
                meta.error_message =
                    Some("interrupted: the server stopped during the sweep".into());
                if let Err(e) = store.save_meta(&meta) {
                    tracing::warn!(error = %e, "cannot record an interrupted sweep");
                }
            }
            jobs.insert(meta.sweep_id.clone(), Arc::new(SweepJob::new(meta)));
        }
        Self {
            store,
            service,
            max_sweeps: max_sweeps.max(1),
            jobs: RwLock::new(jobs),
            runner: Arc::default(),
            tables: moka::sync::Cache::builder()
                .weigher(|_, table: &Arc<SweepTable>| weight(table))
                .max_capacity(cache_bytes)
                .build(),
        }
    }

    /// The table of ended sweep `id`, read from its files once and then kept (callers make sure
    /// the sweep has ended and written them). Two requests for a table not yet read wait for one
    /// read.
    ///
    /// # Errors
    /// The [`ServiceError`] of a missing or damaged file.
    pub(crate) fn table(&self, id: &SweepId) -> Result<Arc<SweepTable>, ServiceError> {
        self.tables
            .try_get_with(id.to_string(), || {
                self.store
                    .table(id)
                    .map(Arc::new)
                    .map_err(|e| ServiceError::caused_by(ErrorCode::StorageError, e.to_string(), e))
            })
            .map_err(|e| ServiceError::clone(&e))
    }

    /// Whether sweep `id` has written its files.
    pub(crate) fn has_table(&self, id: &SweepId) -> bool {
        self.store.has_table(id)
    }

    /// The bytes of one file of sweep `id` (never through a symbolic link).
    pub(crate) fn file(
        &self,
        id: &SweepId,
        file: SweepFile,
    ) -> Result<Vec<u8>, cryptobt_domain::ports::StoreError> {
        self.store.file(id, file)
    }

    pub(crate) fn service(&self) -> &Arc<dyn SweepService> {
        &self.service
    }

    /// A new id.
    pub(crate) fn new_id(&self) -> SweepId {
        self.store.new_id()
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<SweepJob>> {
        self.jobs.read().get(id).cloned()
    }

    /// Every sweep, newest first.
    pub(crate) fn list(&self) -> Vec<Arc<SweepJob>> {
        let mut out: Vec<Arc<SweepJob>> = self.jobs.read().values().cloned().collect();
        out.sort_by_cached_key(|j| {
            let meta = j.meta.lock();
            std::cmp::Reverse((meta.created_at, meta.sweep_id.clone()))
        });
        out
    }

    /// Queues `request` under `meta.sweep_id`; `None` when the queue is full.
    pub(crate) fn submit(
        self: &Arc<Self>,
        id: SweepId,
        meta: SweepMeta,
        mut request: SweepRequest,
    ) -> Result<Option<Arc<SweepJob>>, cryptobt_domain::ports::StoreError> {
        // Counted and registered under one lock: two submissions at once cannot both take the
        // last place.
        let mut jobs = self.jobs.write();
        let busy = jobs
            .values()
            .filter(|j| matches!(j.state().status, RunStatus::Queued | RunStatus::Running))
            .count();
        if busy >= SWEEP_QUEUE {
            return Ok(None);
        }
        self.store.save_meta(&meta)?;
        let job = Arc::new(SweepJob::new(meta));
        request.limits.cancel = job.cancel.clone();
        jobs.insert(id.to_string(), job.clone());
        drop(jobs);
        let (sweeps, job2, id2) = (Arc::clone(self), job.clone(), id.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("sweep-{id}"))
            .spawn(move || sweeps.execute(&job2, &request, &id2));
        if let Err(e) = spawned {
            // Not left queued forever: forgotten, and the caller answers 500.
            let _ = self.delete(&id);
            return Err(cryptobt_domain::ports::StoreError::Io {
                message: format!("cannot start the sweep's thread: {e}"),
                source: Some(Arc::new(e)),
            });
        }
        Ok(Some(job))
    }

    fn execute(&self, job: &SweepJob, request: &SweepRequest, id: &SweepId) {
        let finish = |status: RunStatus, error: Option<(ErrorCode, String)>| {
            let (code, error) = error.unzip();
            // Read once here (before `meta` is locked): the cached table then serves the first
            // page.
            let summary = self.table(id).ok().and_then(|t| {
                serde_json::from_str::<cryptobt_domain::ports::SweepSummary>(&t.summary).ok()
            });
            let mut meta = job.meta.lock();
            meta.status = status;
            meta.error_code = code;
            meta.error_message.clone_from(&error);
            if let Some(summary) = summary {
                meta.best = summary.best;
                meta.pbo = summary.pbo;
                meta.dsr = summary.dsr;
                meta.completed = Some(summary.completed);
            }
            if let Err(e) = self.store.save_meta(&meta) {
                tracing::warn!(error = %e, sweep = %meta.sweep_id, "cannot write meta.json");
            }
            drop(meta);
            job.publish(|s| {
                s.status = status;
                s.error_message = error;
            });
            self.prune();
        };
        // Wait for the runner, but a cancel while queued ends the sweep at once.
        let _turn = loop {
            if job.cancel.is_cancelled() {
                let message = "cancelled before it started".to_owned();
                finish(RunStatus::Cancelled, Some((ErrorCode::Cancelled, message)));
                return;
            }
            if let Some(turn) = self.runner.try_lock_for(std::time::Duration::from_millis(50)) {
                break turn;
            }
        };
        if job.cancel.is_cancelled() {
            let message = "cancelled before it started".to_owned();
            finish(RunStatus::Cancelled, Some((ErrorCode::Cancelled, message)));
            return;
        }
        job.meta.lock().status = RunStatus::Running;
        job.publish(|s| s.status = RunStatus::Running);
        // A panic is recorded as the sweep's failure and frees the runner; it never leaves the
        // sweep "running".
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let outcome = self.service.run(request, None, job)?;
            self.store
                .save(id, &outcome)
                .map_err(|e| ServiceError::caused_by(ErrorCode::StorageError, e.to_string(), e))?;
            outcome.failure.map_or(Ok(()), Err)
        }));
        match ran {
            Ok(Ok(())) if job.cancel.is_cancelled() => finish(
                RunStatus::Cancelled,
                Some((
                    ErrorCode::Cancelled,
                    "cancelled: the table holds the members finished before it".into(),
                )),
            ),
            Ok(Ok(())) => finish(RunStatus::Completed, None),
            Ok(Err(e)) => finish(RunStatus::Failed, Some((e.code, e.message))),
            Err(panic) => {
                let cause = panic_message(panic.as_ref());
                tracing::error!(sweep = %id, cause = %cause, "a sweep panicked");
                let message = format!("internal error: {cause}");
                finish(RunStatus::Failed, Some((ErrorCode::InternalError, message)));
            }
        }
    }

    /// Forgets sweep `id` and deletes its files.
    pub(crate) fn delete(&self, id: &SweepId) -> Result<bool, cryptobt_domain::ports::StoreError> {
        let known = self.jobs.write().remove(id.as_str()).is_some();
        self.tables.invalidate(id.as_str());
        Ok(self.store.delete(id)? || known)
    }

    /// Retention: deletes the oldest ended sweeps beyond `max_sweeps` (never one that is queued
    /// or running).
    fn prune(&self) {
        let all = self.list(); // newest first
        for job in all.iter().skip(self.max_sweeps) {
            if matches!(job.state().status, RunStatus::Queued | RunStatus::Running) {
                continue;
            }
            let id = job.meta.lock().sweep_id.clone();
            if let Some(id) = SweepId::parse(&id) {
                if let Err(e) = self.delete(&id) {
                    tracing::warn!(sweep = %id, error = %e, "retention cannot delete a sweep");
                }
            }
        }
    }

    /// Cancels every sweep in flight (at shutdown).
    pub(crate) fn cancel_all(&self) {
        for job in self.jobs.read().values() {
            job.cancel();
        }
    }
}

/// What is listed of sweep `id` whose `meta.json` cannot be read.
fn damaged_meta(id: &SweepId, message: String) -> SweepMeta {
    SweepMeta {
        sweep_id: id.to_string(),
        created_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        status: RunStatus::Failed,
        error_code: Some(ErrorCode::StorageError),
        error_message: Some(message),
        name: "damaged sweep".to_owned(),
        symbol: String::new(),
        timeframe: String::new(),
        trading_mode: String::new(),
        start_date: String::new(),
        end_date: String::new(),
        members: 0,
        objective: String::new(),
        minimize: false,
        best: None,
        pbo: None,
        dsr: None,
        completed: None,
        request: serde_json::Value::Null,
    }
}
