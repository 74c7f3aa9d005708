//! UTC times as the registry stores and shows them: seconds since the Unix
//! epoch in sled, RFC 3339 and `YYYY-MM-DD` on the wire.

use std::time::{SystemTime, UNIX_EPOCH};

const DAY: u64 = 86_400;

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
}
