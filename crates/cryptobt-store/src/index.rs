//! The listing of stored runs, kept in memory: built from the run folders on first use, kept up
//! to date by the store's own writes and deletes, and brought in line with the folder again
//! whenever the folder itself changed (a run written by another process, a folder removed by
//! hand). A listing then reads no run files, however many runs there are.

use std::{collections::HashMap, fs, path::PathBuf, time::SystemTime};

use cryptobt_domain::{
    ports::{strategy_name, DamagedRun, RunListing, RunRecord, StoreError},
    BacktestId,
};
use parking_lot::Mutex;

/// One run folder as listed.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// Its record without the strategy source (the listing never shows it), its strategy's
    /// name, total return and Sharpe ratio.
    Run(std::sync::Arc<RunListing>),
    /// Its `config.json` cannot be read.
    Damaged(DamagedRun),
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<BacktestId, Entry>,
    /// The folder's modification time when it was last read.
    seen: Option<SystemTime>,
}

/// The index of one results root.
#[derive(Debug, Default)]
pub(crate) struct Index {
    state: Mutex<State>,
}

/// A run as the listing keeps it: its record without the source, with its strategy's name and
/// the two figures of its metrics (`None` until it has them).
pub(crate) fn listed(record: &RunRecord, figures: (Option<f64>, Option<f64>)) -> RunListing {
    RunListing {
        name: strategy_name(&record.strategy_code, record.config.params()),
        record: RunRecord { strategy_code: String::new(), ..record.clone() },
        total_return: figures.0,
        sharpe_ratio: figures.1,
    }
}

/// What the listing reads of a run folder: the record and the (total return, Sharpe) figures.
pub(crate) type Read = (RunRecord, (Option<f64>, Option<f64>));

impl Index {
    /// Brings the index in line with `dir` if the folder changed since it was last read; `read`
    /// reads one run's record. Only folders not yet listed are read.
    fn sync(
        &self,
        state: &mut State,
        dir: &PathBuf,
        ids: impl FnOnce() -> Vec<BacktestId>,
        read: impl Fn(&BacktestId) -> Result<Read, StoreError>,
    ) {
        let modified = fs::metadata(dir).and_then(|m| m.modified()).ok();
        if modified.is_some() && modified == state.seen {
            return;
        }
        let present = ids();
        state.entries.retain(|id, _| present.contains(id));
        let mut complete = true;
        for id in present {
            if state.entries.contains_key(&id) {
                continue;
            }
            match read(&id) {
                Ok((record, figures)) => {
                    state
                        .entries
                        .insert(id, Entry::Run(std::sync::Arc::new(listed(&record, figures))));
                }
                Err(StoreError::Damaged { file, message }) => {
                    let damaged = DamagedRun { backtest_id: id.clone(), file, message };
                    state.entries.insert(id, Entry::Damaged(damaged));
                }
                // A folder without its config.json yet (a run being written elsewhere): read
                // again next time.
                Err(_) => complete = false,
            }
        }
        // A folder changed within the last second may change again within the same tick of
        // the file system's clock: keep looking at its names until it has been still for a
        // moment (names only; no run file is read twice).
        let still = modified
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > std::time::Duration::from_secs(1));
        state.seen = if complete && still { modified } else { None };
    }

    /// Every listed run, newest first, and the damaged ones.
    pub(crate) fn list(
        &self,
        dir: &PathBuf,
        ids: impl FnOnce() -> Vec<BacktestId>,
        read: impl Fn(&BacktestId) -> Result<Read, StoreError>,
    ) -> (Vec<std::sync::Arc<RunListing>>, Vec<DamagedRun>) {
        let mut state = self.state.lock();
        self.sync(&mut state, dir, ids, read);
        let mut runs = Vec::with_capacity(state.entries.len());
        let mut damaged = Vec::new();
        for entry in state.entries.values() {
            match entry {
                Entry::Run(run) => runs.push(std::sync::Arc::clone(run)),
                Entry::Damaged(d) => damaged.push(d.clone()),
            }
        }
        runs.sort_by(|a, b| {
            let (a, b) = (&a.record, &b.record);
            b.created_at.cmp(&a.created_at).then_with(|| b.backtest_id.cmp(&a.backtest_id))
        });
        damaged.sort_by(|a, b| b.backtest_id.cmp(&a.backtest_id));
        (runs, damaged)
    }

    /// Records a run the store just wrote, with the figures of its metrics when it has them.
    pub(crate) fn saved(&self, record: &RunRecord, figures: (Option<f64>, Option<f64>)) {
        let mut state = self.state.lock();
        let entry = Entry::Run(std::sync::Arc::new(listed(record, figures)));
        state.entries.insert(record.backtest_id.clone(), entry);
    }

    /// Records that a read found the run's `config.json` damaged.
    pub(crate) fn damaged(&self, damaged: DamagedRun) {
        self.state.lock().entries.insert(damaged.backtest_id.clone(), Entry::Damaged(damaged));
    }

    /// Forgets a run the store just deleted.
    pub(crate) fn deleted(&self, id: &BacktestId) {
        self.state.lock().entries.remove(id);
    }
}
