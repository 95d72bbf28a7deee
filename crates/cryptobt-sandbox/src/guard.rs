//! `Guard`: the per-run limits checked from Luau's interrupt — a wall-clock deadline, a cancel
//! flag, and a sticky trip that no `pcall` can swallow.

use std::{
    cell::Cell,
    time::{Duration, Instant},
};

use cryptobt_domain::{ports::CancelToken, ErrorCode};

/// Why a run was stopped from outside its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trip {
    Time,
    Cancelled,
    Memory,
}

impl Trip {
    pub(crate) fn code(self) -> ErrorCode {
        match self {
            Self::Time => ErrorCode::TimeLimitExceeded,
            Self::Cancelled => ErrorCode::Cancelled,
            Self::Memory => ErrorCode::MemoryLimitExceeded,
        }
    }
}

/// Interrupts between clock reads: Luau calls the interrupt at every call and loop back-edge,
/// so reading the clock each time would cost more than the strategy.
const CLOCK_EVERY: u32 = 1_024;

/// The limits of one run. Once tripped it stays tripped: every later interrupt fails at once.
#[derive(Debug)]
pub(crate) struct Guard {
    deadline: Instant,
    budget: Duration,
    memory_bytes: usize,
    cancel: CancelToken,
    ticks: Cell<u32>,
    tripped: Cell<Option<Trip>>,
}

impl Guard {
    pub(crate) fn new(budget: Duration, memory_bytes: usize, cancel: CancelToken) -> Self {
        let now = Instant::now();
        let deadline = now.checked_add(budget).unwrap_or(now + Duration::from_secs(86_400 * 365));
        Self {
            deadline,
            budget,
            memory_bytes,
            cancel,
            ticks: Cell::new(0),
            tripped: Cell::new(None),
        }
    }

    /// Called from the interrupt: fails when the run must stop.
    pub(crate) fn check(&self) -> Result<(), Trip> {
        if let Some(trip) = self.tripped.get() {
            return Err(trip);
        }
        let ticks = self.ticks.get().wrapping_add(1);
        self.ticks.set(ticks);
        if ticks.is_multiple_of(CLOCK_EVERY) {
            self.check_now()?;
        }
        Ok(())
    }

    /// Reads the clock and the cancel flag now.
    pub(crate) fn check_now(&self) -> Result<(), Trip> {
        if let Some(trip) = self.tripped.get() {
            return Err(trip);
        }
        if self.cancel.is_cancelled() {
            self.trip(Trip::Cancelled);
        } else if Instant::now() >= self.deadline {
            self.trip(Trip::Time);
        }
        self.tripped.get().map_or(Ok(()), Err)
    }

    pub(crate) fn trip(&self, trip: Trip) {
        if self.tripped.get().is_none() {
            self.tripped.set(Some(trip));
        }
    }

    pub(crate) fn tripped(&self) -> Option<Trip> {
        self.tripped.get()
    }

    /// The message of a trip, naming the limit.
    pub(crate) fn message(&self, trip: Trip) -> String {
        match trip {
            Trip::Time => format!("time limit of {:?} exceeded", self.budget),
            Trip::Cancelled => "the run was cancelled".to_owned(),
            Trip::Memory => format!("memory limit of {} bytes exceeded", self.memory_bytes),
        }
    }
}
