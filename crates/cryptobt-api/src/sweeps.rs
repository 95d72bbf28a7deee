//! Sweeps over the API: the registry of sweeps (kept in `results/sweeps/{sweep_id}/`, one
//! `meta.json` each beside the sweep's files), one sweep running at a time on its own thread
//! with every core, the rest queued, and the events each publishes.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use chrono::{DateTime, Utc};
use cryptobt_domain::{
    panic_message,
    ports::{CancelToken, RunObserver, ServiceError, SweepRequest, SweepService, SweepTable},
    ErrorCode, RunStatus,
};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::watch;

/// Sweeps in flight at once: one running and four waiting; one more answers 429.
pub(crate) const SWEEP_QUEUE: usize = 5;

/// What the history lists of a sweep, and what it needs to open a member as a run: `meta.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SweepMeta {
    pub(crate) sweep_id: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) status: RunStatus,
    /// Why it failed: the code (a sweep whose members all failed carries the first one's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_code: Option<ErrorCode>,
    pub(crate) error_message: Option<String>,
    /// The strategy's name.
    pub(crate) name: String,
    pub(crate) symbol: String,
    pub(crate) timeframe: String,
    pub(crate) trading_mode: String,
    pub(crate) start_date: String,
    pub(crate) end_date: String,
    pub(crate) members: usize,
    pub(crate) objective: String,
    pub(crate) minimize: bool,
    /// `best`, `pbo`, `dsr` and `completed` of `sweep.json` once it is written.
    pub(crate) best: Value,
    pub(crate) pbo: Option<f64>,
    pub(crate) dsr: Option<f64>,
    pub(crate) completed: Option<usize>,
    /// The run fields of the request as sent (a member opens as a run of these with its params).
    pub(crate) request: Value,
}

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

/// Whether `raw` is a sweep id (`sw_YYYYMMDD_HHMMSS_xxxxxx`), checked before it reaches a path.
pub(crate) fn valid_id(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() == 25
        && raw.starts_with("sw_")
        && b[11] == b'_'
        && b[18] == b'_'
        && b[3..11].iter().chain(&b[12..18]).all(u8::is_ascii_digit)
        && b[19..].iter().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

/// The sweeps: those on disk and those in flight.
pub(crate) struct Sweeps {
    dir: PathBuf,
    service: Arc<dyn SweepService>,
    jobs: RwLock<BTreeMap<String, Arc<SweepJob>>>,
    /// Held by the sweep that runs; the queued ones wait for it.
    runner: Arc<Mutex<()>>,
    counter: std::sync::atomic::AtomicU64,
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

/// Deletes what an atomic write left behind in a sweep folder when the process was killed
/// (`.meta.json.tmp`, `.sweep.parquet.tmp-*`).
fn remove_temporaries(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let temporary = name == ".meta.json.tmp" || cryptobt_fs::is_temporary(&name);
        if temporary && entry.file_type().is_ok_and(|t| t.is_file()) {
            if let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!(file = %name, error = %e, "cannot remove a sweep's temporary");
            }
        }
    }
}

impl SweepMeta {
    /// What is listed of sweep `id` whose `meta.json` cannot be read.
    fn damaged(id: &str, message: &str) -> Self {
        Self {
            sweep_id: id.to_owned(),
            created_at: DateTime::<Utc>::UNIX_EPOCH,
            status: RunStatus::Failed,
            error_code: Some(ErrorCode::StorageError),
            error_message: Some(message.to_owned()),
            name: "damaged sweep".to_owned(),
            symbol: String::new(),
            timeframe: String::new(),
            trading_mode: String::new(),
            start_date: String::new(),
            end_date: String::new(),
            members: 0,
            objective: String::new(),
            minimize: false,
            best: Value::Null,
            pbo: None,
            dsr: None,
            completed: None,
            request: Value::Null,
        }
    }
}

fn write_meta(dir: &Path, meta: &SweepMeta) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(".meta.json.tmp");
    let text = serde_json::to_string_pretty(meta).map_err(std::io::Error::other)? + "\n";
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, dir.join("meta.json"))
}

impl Sweeps {
    /// The sweeps in `dir`; those a stop interrupted are recorded as failed.
    /// `cache_bytes` bounds the tables kept in memory.
    pub(crate) fn open(dir: PathBuf, service: Arc<dyn SweepService>, cache_bytes: u64) -> Self {
        let mut jobs = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !valid_id(&name) {
                continue;
            }
            if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                tracing::warn!(sweep = %name, "skipping a sweep folder that is a symbolic link");
                continue;
            }
            remove_temporaries(&entry.path());
            let path = entry.path().join("meta.json");
            let read = cryptobt_fs::read_no_links(&entry.path(), Path::new("meta.json"))
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<SweepMeta>(&bytes).map_err(|e| e.to_string())
                });
            let mut meta = match read {
                Ok(meta) => meta,
                Err(e) => {
                    // Listed as damaged (with its cause), not hidden: it can still be deleted.
                    tracing::warn!(path = %path.display(), error = %e, "a sweep's meta.json cannot be read");
                    SweepMeta::damaged(&name, &format!("meta.json cannot be read: {e}"))
                }
            };
            if matches!(meta.status, RunStatus::Queued | RunStatus::Running) {
                meta.status = RunStatus::Failed;
                meta.error_code = Some(ErrorCode::Interrupted);
                meta.error_message =
                    Some("interrupted: the server stopped during the sweep".into());
                if let Err(e) = write_meta(&entry.path(), &meta) {
                    tracing::warn!(error = %e, "cannot record an interrupted sweep");
                }
            }
            jobs.insert(name, Arc::new(SweepJob::new(meta)));
        }
        Self {
            dir,
            service,
            jobs: RwLock::new(jobs),
            runner: Arc::default(),
            counter: std::sync::atomic::AtomicU64::new(0),
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
    pub(crate) fn table(&self, id: &str) -> Result<Arc<SweepTable>, ServiceError> {
        self.tables
            .try_get_with(id.to_owned(), || {
                cryptobt_fs::check_no_links(&self.dir, Path::new(id)).map_err(|e| {
                    ServiceError { code: ErrorCode::StorageError, message: e.to_string() }
                })?;
                self.service.read(&self.dir_of(id)).map(Arc::new)
            })
            .map_err(|e| ServiceError::clone(&e))
    }

    pub(crate) fn service(&self) -> &Arc<dyn SweepService> {
        &self.service
    }

    /// A new id: the time and six characters of a counter mixed with the clock.
    pub(crate) fn new_id(&self) -> String {
        let now = Utc::now();
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut x = (now.timestamp_nanos_opt().unwrap_or(0) as u64) ^ n.wrapping_mul(0x9E37_79B9);
        let alphabet = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let suffix: String = (0..6)
            .map(|_| {
                let c = alphabet[(x % 36) as usize] as char;
                x /= 36;
                c
            })
            .collect();
        format!("sw_{}_{suffix}", now.format("%Y%m%d_%H%M%S"))
    }

    pub(crate) fn dir_of(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Reads the file `name` of sweep `id` without following a symbolic link (neither the
    /// sweep's folder nor the file may be one).
    pub(crate) fn read_file(&self, id: &str, name: &str) -> std::io::Result<Vec<u8>> {
        cryptobt_fs::read_no_links(&self.dir, &Path::new(id).join(name))
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
        meta: SweepMeta,
        mut request: SweepRequest,
    ) -> std::io::Result<Option<Arc<SweepJob>>> {
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
        let id = meta.sweep_id.clone();
        let dir = self.dir_of(&id);
        write_meta(&dir, &meta)?;
        let job = Arc::new(SweepJob::new(meta));
        request.limits.cancel = job.cancel.clone();
        jobs.insert(id.clone(), job.clone());
        drop(jobs);
        let (sweeps, job2) = (Arc::clone(self), job.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("sweep-{id}"))
            .spawn(move || sweeps.execute(&job2, &request, &dir));
        if let Err(e) = spawned {
            // Not left queued forever: forgotten, and the caller answers 500.
            let _ = self.delete(&id);
            return Err(e);
        }
        Ok(Some(job))
    }

    fn execute(&self, job: &SweepJob, request: &SweepRequest, dir: &Path) {
        let id = job.meta.lock().sweep_id.clone();
        let finish = |status: RunStatus, error: Option<(ErrorCode, String)>| {
            let (code, error) = error.unzip();
            // Read once here (before `meta` is locked): the cached table then serves the first
            // page.
            let summary =
                self.table(&id).ok().and_then(|t| serde_json::from_str::<Value>(&t.summary).ok());
            let mut meta = job.meta.lock();
            meta.status = status;
            meta.error_code = code;
            meta.error_message.clone_from(&error);
            if let Some(summary) = summary {
                meta.best = summary["best"].clone();
                meta.pbo = summary["pbo"].as_f64();
                meta.dsr = summary["dsr"].as_f64();
                meta.completed = summary["completed"].as_u64().map(|n| n as usize);
            }
            if let Err(e) = write_meta(dir, &meta) {
                tracing::warn!(error = %e, sweep = %meta.sweep_id, "cannot write meta.json");
            }
            drop(meta);
            job.publish(|s| {
                s.status = status;
                s.error_message = error;
            });
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
            self.service.run(request, dir, job)
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

    /// Forgets sweep `id` and deletes its folder.
    pub(crate) fn delete(&self, id: &str) -> std::io::Result<bool> {
        let known = self.jobs.write().remove(id).is_some();
        self.tables.invalidate(id);
        let dir = self.dir_of(id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
            return Ok(true);
        }
        Ok(known)
    }

    /// Cancels every sweep in flight (at shutdown).
    pub(crate) fn cancel_all(&self) {
        for job in self.jobs.read().values() {
            job.cancel();
        }
    }
}
