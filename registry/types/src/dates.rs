//! UTC dates as Plugboard writes them (`YYYY-MM-DD`): the registry's
//! download days and the runtime's usage days, the one conversion; and
//! times of day for the audit log.

/// The UTC date of a day number (days since 1970-01-01), as `YYYY-MM-DD`.
///
/// ```
/// use plugboard_registry_types::dates::date;
///
/// assert_eq!(date(0), "1970-01-01");
/// assert_eq!(date(11_016), "2000-02-29");
/// ```
pub fn date(days: u64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC date and time of `ms` milliseconds since the epoch, as
/// `YYYY-MM-DD HH:MM:SS`.
///
/// ```
/// use plugboard_registry_types::dates::date_time;
///
/// assert_eq!(date_time(951_782_400_000 + 3_723_000), "2000-02-29 01:02:03");
/// ```
pub fn date_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    format!("{} {h:02}:{m:02}:{s:02}", date(secs / 86_400))
}

/// Howard Hinnant's `civil_from_days`, for days on or after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}
