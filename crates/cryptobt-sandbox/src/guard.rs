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
    /// Bytes of Rust memory the strategy made the host hold (indicator windows...), charged to
    /// the same budget as the VM's heap.
    host_bytes: Cell<usize>,
    /// Heap size after the last full collection between bars.
    live_after_collect: Cell<usize>,
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
            host_bytes: Cell::new(0),
            live_after_collect: Cell::new(0),
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

    /// Charges `bytes` of host memory to the run's budget: the VM's heap limit shrinks by as
    /// much, so the heap and everything the host holds for the strategy stay within
    /// `memory_bytes` together.
    ///
    /// # Errors
    /// The memory limit (tripped, so it sticks) when the charge does not fit.
    pub(crate) fn charge(&self, lua: &mlua::Lua, bytes: usize) -> mlua::Result<()> {
        let host = self.host_bytes.get().saturating_add(bytes);
        if host.saturating_add(lua.used_memory()) > self.memory_bytes {
            self.trip(Trip::Memory);
            return Err(mlua::Error::runtime(self.message(Trip::Memory)));
        }
        self.host_bytes.set(host);
        lua.set_memory_limit(self.memory_bytes - host)?;
        Ok(())
    }

    /// Host bytes charged so far.
    pub(crate) fn host_bytes(&self) -> usize {
        self.host_bytes.get()
    }

    /// Between bars: when the heap is past half its budget and has grown by half since the last
    /// full collection, collect now, so garbage is never what reaches the limit (the
    /// incremental collector alone lets the heap grow to several times its live size).
    pub(crate) fn collect_between_bars(&self, lua: &mlua::Lua) {
        let used = lua.used_memory();
        let budget = self.memory_bytes.saturating_sub(self.host_bytes.get());
        let grown = used > self.live_after_collect.get().saturating_mul(3) / 2;
        if used > budget / 2 && grown && lua.gc_collect().is_ok() {
            self.live_after_collect.set(lua.used_memory());
        }
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
