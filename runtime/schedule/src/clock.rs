//! The scheduler's sense of time, injectable so that tests can move it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

/// A future a [`Clock`] returns.
pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Wall-clock time for the scheduler.
pub trait Clock: Send + Sync + 'static {
    /// Now, in milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Now, as cheaply as the clock can tell it: it may lag
    /// [`Clock::now_ms`] by a kernel tick (a few milliseconds). For what
    /// is counted on every event (rate limits, daily quotas), not for when
    /// a schedule is due.
    fn coarse_now_ms(&self) -> u64 {
        self.now_ms()
    }
    /// Waits until [`Clock::now_ms`] has reached `ms`, or a while: callers
    /// check the time again after every wake-up.
    fn sleep_until(&self, ms: u64) -> Sleep<'_>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

/// The longest the system clock sleeps before looking again, so a clock
/// set forward (or a machine waking from suspend) is noticed soon.
const MAX_NAP: Duration = Duration::from_secs(30);

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// Linux's `CLOCK_REALTIME_COARSE`: the time of the last kernel tick,
    /// read without asking the hardware (a few nanoseconds against a few
    /// tens).
    #[cfg(target_os = "linux")]
    fn coarse_now_ms(&self) -> u64 {
        let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
        let ms = u64::try_from(now.tv_sec).unwrap_or(0).saturating_mul(1_000);
        ms.saturating_add(u64::try_from(now.tv_nsec).unwrap_or(0) / 1_000_000)
    }

    fn sleep_until(&self, ms: u64) -> Sleep<'_> {
        let wait = Duration::from_millis(ms.saturating_sub(self.now_ms())).min(MAX_NAP);
        Box::pin(tokio::time::sleep(wait))
    }
}

/// A clock that moves only when told: for tests of schedules that span
/// minutes or days.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
    moved: Notify,
}

impl ManualClock {
    /// A clock standing at `ms`.
    pub fn at(ms: u64) -> Self {
        Self {
            now: AtomicU64::new(ms),
            moved: Notify::new(),
        }
    }

    /// Sets the time to `ms` and wakes every sleeper.
    pub fn set(&self, ms: u64) {
        self.now.store(ms, Ordering::SeqCst);
        self.moved.notify_waiters();
    }

    /// Moves the time forward by `ms`.
    pub fn advance(&self, ms: u64) {
        self.set(self.now_ms().saturating_add(ms));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    fn sleep_until(&self, ms: u64) -> Sleep<'_> {
        Box::pin(async move {
            loop {
                let moved = self.moved.notified();
                tokio::pin!(moved);
                // Registered before the check, so a move in between wakes us.
                moved.as_mut().enable();
                if self.now_ms() >= ms {
                    return;
                }
                moved.await;
            }
        })
    }
}
