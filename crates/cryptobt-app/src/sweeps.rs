//! `cryptobt sweep merge`: the shards' files read by the sweep store, joined by the engine, and
//! written as one run of the whole sweep writes them.

use std::path::{Path, PathBuf};

use cryptobt_domain::ports::SweepOutcome;
use cryptobt_engine::sweeper::{self, ShardFiles};

/// Why a merge failed: a shard's files, the join, or the merged files.
#[derive(Debug, thiserror::Error)]
pub enum MergeFailure {
    /// A shard's files cannot be read.
    #[error("{shard}: {source}")]
    Read {
        /// The shard's folder as given.
        shard: String,
        /// Why.
        #[source]
        source: cryptobt_domain::ports::StoreError,
    },
    /// The shards do not join into one sweep.
    #[error(transparent)]
    Join(#[from] sweeper::MergeError),
    /// The merged files cannot be written.
    #[error("{0}")]
    Write(#[source] cryptobt_domain::ports::StoreError),
}

/// Joins the shards in `dirs` into the files one run of the whole sweep writes, in `out`.
///
/// # Errors
/// A [`MergeFailure`] naming the shard or member that does not fit.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<SweepOutcome, MergeFailure> {
    let shards = dirs
        .iter()
        .map(|dir| {
            let label = dir.display().to_string();
            cryptobt_store::read_sweep(dir, true)
                .map(|files| ShardFiles {
                    label: label.clone(),
                    names: files.names,
                    members: files.members,
                    summary: files.summary,
                })
                .map_err(|source| MergeFailure::Read { shard: label, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outcome = sweeper::merge(shards)?;
    cryptobt_store::write_sweep(out, &outcome).map_err(MergeFailure::Write)?;
    Ok(outcome)
}
