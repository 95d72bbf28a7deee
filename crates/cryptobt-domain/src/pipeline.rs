//! `RunPipeline`: the one place where a run is run and saved — used alike by `cryptobt
//! backtest`, `cryptobt bench` and the API's workers. It only composes ports (a
//! [`BacktestService`] and a [`ResultStore`]); it does no IO of its own.
//!
//! A run goes: recorded as running → snapshots streamed to the store's sink while the service
//! runs it → the sink completed → the record and the report saved. Whatever fails on the way ends
//! in the record: a run that could not start is `failed` with the service's code (`data_error`
//! ...), one whose files could not be written is `failed` with `storage_error`.

use std::sync::Arc;

use crate::{
    ports::{
        BacktestRequest, BacktestService, ResultStore, RunObserver, RunRecord, ServiceError,
        StoreError,
    },
    BacktestReport, ErrorCode, RunError, RunStatus,
};

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    /// The final record (as saved, when it could be).
    pub record: RunRecord,
    /// The report, or why the run could not start.
    pub report: Result<BacktestReport, ServiceError>,
    /// Whether the run's files were written; the error when they were not.
    pub saved: Result<(), StoreError>,
}

/// Runs backtests through a service and saves them through a store.
#[derive(Clone)]
pub struct RunPipeline {
    service: Arc<dyn BacktestService>,
    store: Arc<dyn ResultStore>,
}

impl std::fmt::Debug for RunPipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunPipeline").finish_non_exhaustive()
    }
}

/// The error of a run whose files could not be written (the message names no server path).
#[must_use]
pub fn storage_error(e: &StoreError) -> RunError {
    let detail = e.to_string();
    let cause = detail.rsplit(": ").next().unwrap_or("write failed");
    RunError {
        code: ErrorCode::StorageError,
        message: format!("the run's results could not be written ({cause})"),
        line: None,
    }
}

impl RunPipeline {
    /// A pipeline over these ports.
    #[must_use]
    pub fn new(service: Arc<dyn BacktestService>, store: Arc<dyn ResultStore>) -> Self {
        Self { service, store }
    }

    /// The store runs are saved to.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn ResultStore> {
        &self.store
    }

    /// Runs `record`'s backtest (its config and strategy, under `request`'s limits) and saves
    /// it. `record` arrives as submitted (any status); the outcome carries it as it ended.
    pub fn run(
        &self,
        mut record: RunRecord,
        request: &BacktestRequest,
        observer: &dyn RunObserver,
    ) -> RunOutcome {
        record.status = RunStatus::Running;
        record.error = None;
        // Recorded as running first, so that a stop now leaves a run a restart marks interrupted.
        let _ = self.store.save(&record, None);
        let mut sink = match self.store.portfolio_sink(&record.backtest_id) {
            Ok(sink) => sink,
            Err(e) => return self.end(record, Err(service_error(&e)), Some(e)),
        };
        let report = self.service.run(request, observer, sink.as_mut());
        let sink_error = sink.finish().err();
        self.end(record, report, sink_error)
    }

    /// Records the end of a run: the outcome of the service, or a storage failure.
    fn end(
        &self,
        mut record: RunRecord,
        report: Result<BacktestReport, ServiceError>,
        sink_error: Option<StoreError>,
    ) -> RunOutcome {
        let (status, error) = match (&report, &sink_error) {
            (Ok(_), Some(e)) => (RunStatus::Failed, Some(storage_error(e))),
            (Ok(r), None) => (r.status, r.error.clone()),
            (Err(e), _) => (
                RunStatus::Failed,
                Some(RunError { code: e.code, message: e.message.clone(), line: None }),
            ),
        };
        record.status = status;
        record.error = error;
        let full = match (&report, &sink_error) {
            (Ok(r), None) => Some(r),
            _ => None,
        };
        let saved = match self.store.save(&record, full) {
            Ok(()) => match sink_error {
                Some(e) => Err(e),
                None => Ok(()),
            },
            Err(e) => {
                record.status = RunStatus::Failed;
                record.error = Some(storage_error(&e));
                let _ = self.store.save(&record, None);
                Err(e)
            }
        };
        RunOutcome { record, report, saved }
    }
}

fn service_error(e: &StoreError) -> ServiceError {
    let error = storage_error(e);
    ServiceError { code: error.code, message: error.message }
}
