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
    let cause = match e {
        StoreError::Io { source: Some(source), .. } => source.to_string(),
        StoreError::Io { message, source: None } => message.clone(),
        StoreError::NotFound { .. } | StoreError::Damaged { .. } => e.to_string(),
    };
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
    ServiceError::caused_by(error.code, error.message, e.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error(message: &str, os: Option<&str>) -> StoreError {
        StoreError::Io {
            message: message.into(),
            source: os
                .map(|os| Arc::new(std::io::Error::other(os.to_string())) as crate::ports::Cause),
        }
    }

    #[test]
    fn a_storage_error_names_the_os_cause_from_the_error_not_from_its_text() {
        // A message holding ": " of its own used to be cut at its last ": ".
        let e = io_error("trades.csv of bt_x: write", Some("No space left on device: ENOSPC"));
        assert_eq!(
            storage_error(&e).message,
            "the run's results could not be written (No space left on device: ENOSPC)"
        );
        let e = io_error("metrics.json of bt_x", None);
        assert_eq!(
            storage_error(&e).message,
            "the run's results could not be written (metrics.json of bt_x)"
        );
    }

    #[test]
    fn a_service_error_keeps_the_store_error_as_its_source() {
        let error = service_error(&io_error("trades.csv of bt_x", Some("disk full")));
        assert_eq!(error.code, ErrorCode::StorageError);
        let store = std::error::Error::source(&error).expect("the store error");
        assert_eq!(store.to_string(), "result storage failed: trades.csv of bt_x");
        assert_eq!(store.source().expect("the OS error").to_string(), "disk full");
    }
}
