//! UTC times as the registry stores and shows them: seconds since the Unix
//! epoch in sled, RFC 3339 and `YYYY-MM-DD` on the wire; and [`Clock`], the
//! one source of "now" the store and the handlers read.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: u64 = 86_400;

/// The clock the registry reads for every time it stores or compares:
/// record dates, session expiry, invitation ages, account ages for ratings
/// and the UTC day downloads are counted in. It is the system clock, moved
/// forward by an offset that starts at zero, so that a test can let days
/// pass without waiting ([`Clock::advance`]). Rate limits measure elapsed
/// time with their own monotonic clock and do not read it.
///
/// Clones share the offset: advancing the clock of a
/// [`Config`](crate::Config) advances the registry opened with it.
///
/// ```
/// use std::time::Duration;
/// use plugboard_registry::Clock;
///
/// let clock = Clock::default();
/// let before = clock.now();
/// clock.clone().advance(Duration::from_secs(86_400));
/// assert!(clock.now() >= before + 86_400);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset: Arc<AtomicU64>,
}

impl Clock {
    /// Seconds since the Unix epoch, now, by this clock.
    pub fn now(&self) -> u64 {
        let system = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        system.saturating_add(self.offset.load(Ordering::Acquire))
    }

    /// Moves this clock, and every clone of it, forward by `by` (whole
    /// seconds).
    pub fn advance(&self, by: Duration) {
        self.offset.fetch_add(by.as_secs(), Ordering::AcqRel);
    }
}

/// The days since the Unix epoch of `secs`.
pub(crate) fn day_of(secs: u64) -> u64 {
    secs / DAY
}

/// `2025-06-01T12:00:00Z`.
pub(crate) fn rfc3339(secs: u64) -> String {
    let rest = secs % DAY;
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        date(day_of(secs)),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The UTC date of a day number (days since 1970-01-01), as `YYYY-MM-DD`.
pub(crate) fn date(days: u64) -> String {
    plugboard_registry_types::dates::date(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_748_779_205), "2025-06-01T12:00:05Z");
        assert_eq!(date(day_of(1_704_067_199)), "2023-12-31");
        assert_eq!(date(day_of(1_704_067_200)), "2024-01-01");
    }

    #[test]
    fn clones_share_the_offset() {
        let clock = Clock::default();
        let other = clock.clone();
        let before = clock.now();
        other.advance(Duration::from_secs(3 * DAY));
        let after = clock.now();
        assert!(after >= before + 3 * DAY, "{before} → {after}");
        assert!(after < before + 3 * DAY + 60, "{before} → {after}");
    }
}
