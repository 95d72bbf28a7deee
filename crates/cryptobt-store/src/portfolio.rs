//! `portfolio.csv`, streamed: snapshots batched and written by a thread of their own.

use std::{fmt::Write as _, fs, io::Write, sync::mpsc};

use cryptobt_domain::{
    ports::{PortfolioSink, SnapshotSink, StoreError},
    Snapshot,
};

use cryptobt_domain::money::write_plain;

use crate::{
    errors::{fs_err, store_err},
    PORTFOLIO_HEADER,
};
use cryptobt_fs::FsError;

pub(crate) fn csv_snapshot(out: &mut String, s: &Snapshot) {
    let _ = write!(out, "{}", s.timestamp);
    for value in [
        s.portfolio_value,
        s.cash,
        s.unrealized_pnl,
        s.realized_pnl,
        s.margin_used,
        s.leverage_ratio(),
    ] {
        out.push(',');
        write_plain(out, value);
    }
    out.push('\n');
}

/// Snapshots handed to the writing thread at a time.
const BATCH: usize = 4_096;

/// Streams `portfolio.csv`: snapshots are batched and formatted and written by a thread of its
/// own, so a long run's second core does the file while the first runs the strategy. A write
/// error is kept and reported by `finish`.
#[derive(Debug)]
pub struct PortfolioWriter {
    batch: Vec<Snapshot>,
    to_writer: Option<mpsc::SyncSender<Vec<Snapshot>>>,
    writer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

fn write_rows(mut out: fs::File, batches: &mpsc::Receiver<Vec<Snapshot>>) -> std::io::Result<()> {
    // Each batch is formatted into `rows` and written in one call: no second buffer.
    let mut rows = String::with_capacity(BATCH * 96);
    rows.push_str(PORTFOLIO_HEADER);
    rows.push('\n');
    out.write_all(rows.as_bytes())?;
    for batch in batches {
        rows.clear();
        for s in &batch {
            csv_snapshot(&mut rows, s);
        }
        out.write_all(rows.as_bytes())?;
    }
    out.sync_all()
}

impl PortfolioWriter {
    pub(crate) fn start(file: fs::File) -> Result<Self, FsError> {
        let (tx, rx) = mpsc::sync_channel::<Vec<Snapshot>>(4);
        let writer = std::thread::Builder::new()
            .name("portfolio.csv".into())
            .spawn(move || write_rows(file, &rx))
            .map_err(|e| fs_err("portfolio.csv", e))?;
        Ok(Self { batch: Vec::with_capacity(BATCH), to_writer: Some(tx), writer: Some(writer) })
    }

    fn send(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        // A closed channel means the writer failed; `finish` reports why.
        if let Some(tx) = &self.to_writer {
            if tx.send(batch).is_err() {
                self.to_writer = None;
            }
        }
    }

    /// Writes what is left and waits for the file to be complete.
    ///
    /// # Errors
    /// The first write error.
    pub fn finish(mut self) -> Result<(), FsError> {
        self.send();
        self.to_writer = None;
        let outcome = match self.writer.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the writing thread panicked")),
            None => Ok(()),
        };
        outcome.map_err(|e| fs_err("portfolio.csv", e))
    }
}

impl Drop for PortfolioWriter {
    fn drop(&mut self) {
        self.to_writer = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl SnapshotSink for PortfolioWriter {
    fn push(&mut self, snapshot: &Snapshot) {
        self.batch.push(snapshot.clone());
        if self.batch.len() == BATCH {
            self.send();
        }
    }
}

impl PortfolioSink for PortfolioWriter {
    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        PortfolioWriter::finish(*self).map_err(store_err)
    }
}
