//! When a schedule fires: one-shots, intervals and cron expressions in a
//! time zone, and the wall-clock arithmetic behind them (chrono-tz for the
//! zones, croner for cron).

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::ScheduleError;

/// When a schedule fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum When {
    /// Once, at a Unix time in milliseconds.
    At {
        /// The time.
        ms: u64,
    },
    /// Once, at a wall-clock time in a time zone.
    AtLocal(LocalTime),
    /// Repeatedly, every `interval_ms`, the first time one interval after
    /// the schedule was set.
    Every {
        /// The interval in milliseconds.
        interval_ms: u64,
    },
    /// Repeatedly, at the minutes a five-field cron expression names
    /// (`minute hour day-of-month month day-of-week`), read in `zone`.
    Cron {
        /// The expression, e.g. `0 9 * * MON`.
        expression: String,
        /// The IANA time zone it is read in, e.g. `Europe/Berlin`.
        zone: String,
    },
}

/// A wall-clock time (to the minute) in a named time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTime {
    /// The year, e.g. 2026.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31.
    pub day: u8,
    /// The hour, 0 to 23.
    pub hour: u8,
    /// The minute, 0 to 59.
    pub minute: u8,
    /// The IANA time zone, e.g. `Europe/Berlin`.
    pub zone: String,
}

/// What happens to a fire that fell due while the bot was not running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Missed {
    /// Fire once as soon as the bot is back (however many fires were
    /// missed), then carry on.
    #[default]
    FireOnce,
    /// Drop what was missed; a repeating schedule carries on with its next
    /// fire, a one-shot is gone.
    Skip,
}

/// The current wall-clock time in a zone, as a plugin sees it (to compute
/// "tomorrow at 9:00" in the user's zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalNow {
    /// The year.
    pub year: i32,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31.
    pub day: u8,
    /// The hour, 0 to 23.
    pub hour: u8,
    /// The minute, 0 to 59.
    pub minute: u8,
    /// The second, 0 to 59.
    pub second: u8,
    /// The day of the week, 1 (Monday) to 7 (Sunday).
    pub weekday: u8,
    /// The zone's offset from UTC at that moment, in minutes.
    pub offset_minutes: i32,
    /// The same moment in milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

/// Fires of a cron schedule checked against the owner's minimum interval.
const CRON_GAPS_CHECKED: usize = 32;

/// Parses an IANA zone name.
pub fn zone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>().map_err(|_| ScheduleError::BadZone {
        // Quoted back, but never at any length.
        zone: name.chars().take(64).collect(),
    })
}

/// The wall-clock time at `now_ms` in `zone_name`.
pub fn local_now(now_ms: u64, zone_name: &str) -> Result<LocalNow, ScheduleError> {
    let tz = zone(zone_name)?;
    let at = utc(now_ms).with_timezone(&tz);
    let offset = at.naive_local() - at.naive_utc();
    Ok(LocalNow {
        year: at.year(),
        month: at.month() as u8,
        day: at.day() as u8,
        hour: at.hour() as u8,
        minute: at.minute() as u8,
        second: at.second() as u8,
        weekday: at.weekday().number_from_monday() as u8,
        offset_minutes: offset.num_minutes() as i32,
        unix_ms: now_ms,
    })
}

fn utc(ms: u64) -> DateTime<Utc> {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    DateTime::from_timestamp_millis(ms).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn millis<T: TimeZone>(at: &DateTime<T>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

/// The longest cron expression accepted, in bytes.
pub const MAX_CRON_BYTES: usize = 256;

/// A parsed cron expression: five fields, no seconds (so nothing fires
/// more than once a minute).
fn parse_cron(expression: &str) -> Result<croner::Cron, ScheduleError> {
    if expression.len() > MAX_CRON_BYTES {
        return Err(ScheduleError::BadCron {
            expression: expression.chars().take(32).collect::<String>() + "…",
            problem: format!("it is longer than {MAX_CRON_BYTES} bytes"),
        });
    }
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Disallowed)
        .build()
        .parse(expression)
        .map_err(|e| ScheduleError::BadCron {
            expression: expression.to_owned(),
            problem: e.to_string(),
        })
}

/// The first minute `cron` names strictly after `after_ms`, in `tz`.
fn next_cron(cron: &croner::Cron, tz: Tz, after_ms: u64) -> Option<u64> {
    // croner works in whole seconds: start from the second `after_ms`
    // falls in, exclusive, so the result is always later than `after_ms`.
    let start = utc(after_ms - after_ms % 1000).with_timezone(&tz);
    let next = cron.find_next_occurrence(&start, false).ok()?;
    Some(millis(&next))
}

impl LocalTime {
    /// The Unix time this wall-clock time stands for; the earlier one when
    /// the clocks go back and it happens twice.
    pub fn to_ms(&self) -> Result<u64, ScheduleError> {
        let tz = zone(&self.zone)?;
        let missing = |why: &str| ScheduleError::NoSuchTime {
            time: format!(
                "{}-{:02}-{:02} {:02}:{:02}",
                self.year, self.month, self.day, self.hour, self.minute
            ),
            zone: self.zone.clone(),
            why: why.to_owned(),
        };
        let date = NaiveDate::from_ymd_opt(self.year, self.month.into(), self.day.into())
            .ok_or_else(|| missing("there is no such date"))?;
        let time = date
            .and_hms_opt(self.hour.into(), self.minute.into(), 0)
            .ok_or_else(|| missing("hours run 0 to 23 and minutes 0 to 59"))?;
        match tz.from_local_datetime(&time) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => Ok(millis(&at)),
            LocalResult::None => Err(missing(
                "the clocks skip it that day; pick a time an hour later",
            )),
        }
    }
}

impl When {
    /// Checks the schedule against the owner's minimum interval and
    /// returns its first fire, given that it is `now_ms`.
    pub fn first(&self, now_ms: u64, min_interval_ms: u64) -> Result<u64, ScheduleError> {
        let past = |ms: u64| ScheduleError::InPast {
            ms,
            late_ms: now_ms - ms,
        };
        match self {
            When::At { ms } if *ms < now_ms => Err(past(*ms)),
            When::At { ms } => Ok(*ms),
            When::AtLocal(time) => match time.to_ms()? {
                ms if ms < now_ms => Err(past(ms)),
                ms => Ok(ms),
            },
            When::Every { interval_ms } if *interval_ms < min_interval_ms => {
                Err(ScheduleError::TooFrequent {
                    interval_ms: *interval_ms,
                    min_ms: min_interval_ms,
                })
            }
            When::Every { interval_ms } => Ok(now_ms.saturating_add(*interval_ms)),
            When::Cron {
                expression,
                zone: name,
            } => {
                let cron = parse_cron(expression)?;
                let tz = zone(name)?;
                let never = || ScheduleError::Never {
                    expression: expression.clone(),
                };
                let first = next_cron(&cron, tz, now_ms).ok_or_else(never)?;
                let mut previous = first;
                for _ in 0..CRON_GAPS_CHECKED {
                    let Some(next) = next_cron(&cron, tz, previous) else {
                        break;
                    };
                    let gap = next.saturating_sub(previous);
                    if gap < min_interval_ms {
                        return Err(ScheduleError::TooFrequent {
                            interval_ms: gap,
                            min_ms: min_interval_ms,
                        });
                    }
                    previous = next;
                }
                Ok(first)
            }
        }
    }

    /// The fire after the one due at `due_ms`, once it is `now_ms`: none
    /// for a one-shot. Fires that are already past are passed over, so a
    /// late scheduler fires once, not once per missed fire.
    pub fn following(&self, due_ms: u64, now_ms: u64) -> Option<u64> {
        match self {
            When::At { .. } | When::AtLocal(_) => None,
            When::Every { interval_ms } => {
                let interval = (*interval_ms).max(1);
                let passed = now_ms.saturating_sub(due_ms) / interval + 1;
                Some(due_ms.saturating_add(passed.saturating_mul(interval)))
            }
            When::Cron {
                expression,
                zone: name,
            } => {
                // Checked when the schedule was set; a record that no
                // longer parses ends the schedule (logged by the caller).
                let cron = parse_cron(expression).ok()?;
                next_cron(&cron, zone(name).ok()?, due_ms.max(now_ms))
            }
        }
    }

    /// Whether the schedule fires more than once.
    pub fn repeats(&self) -> bool {
        matches!(self, When::Every { .. } | When::Cron { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> u64 {
        millis(&DateTime::parse_from_rfc3339(text).expect("a test time"))
    }

    #[test]
    fn cron_in_berlin_follows_daylight_saving_time() -> Result<(), ScheduleError> {
        let daily = When::Cron {
            expression: "0 9 * * *".into(),
            zone: "Europe/Berlin".into(),
        };
        // 09:00 in Berlin is 08:00 UTC in winter, 07:00 UTC in summer
        // (the clocks went forward on 2026-03-29).
        let first = daily.first(at("2026-03-28T07:59:30Z"), 60_000)?;
        assert_eq!(first, at("2026-03-28T08:00:00Z"));
        let second = daily.following(first, first + 40);
        assert_eq!(second, Some(at("2026-03-29T07:00:00Z")));
        Ok(())
    }

    #[test]
    fn an_interval_that_fell_behind_fires_once_and_keeps_its_phase() {
        let every = When::Every { interval_ms: 1_000 };
        assert_eq!(every.following(10_000, 10_000), Some(11_000));
        assert_eq!(every.following(10_000, 13_500), Some(14_000));
        assert_eq!(every.following(10_000, 14_000), Some(15_000));
    }

    #[test]
    fn refusals_name_the_problem() {
        let too_often = When::Cron {
            expression: "*/5 * * * *".into(),
            zone: "UTC".into(),
        };
        let refused = too_often
            .first(0, 600_000)
            .expect_err("refused")
            .to_string();
        assert!(refused.contains("300000 ms"), "{refused}");
        let seconds = When::Cron {
            expression: "* * * * * *".into(),
            zone: "UTC".into(),
        };
        assert!(matches!(
            seconds.first(0, 0),
            Err(ScheduleError::BadCron { .. })
        ));
        let long = When::Cron {
            expression: "1,".repeat(200) + "2 * * * *",
            zone: "UTC".into(),
        };
        let refused = long.first(0, 0).expect_err("refused").to_string();
        assert!(refused.contains("longer than 256 bytes"), "{refused}");
        let never = When::Cron {
            expression: "0 0 31 2 *".into(),
            zone: "UTC".into(),
        };
        assert!(matches!(
            never.first(0, 0),
            Err(ScheduleError::Never { .. })
        ));
        let zone = When::Cron {
            expression: "0 9 * * *".into(),
            zone: "Mars/Olympus".into(),
        };
        assert!(
            zone.first(0, 0)
                .expect_err("refused")
                .to_string()
                .contains("Europe/Berlin")
        );
        let gap = LocalTime {
            year: 2026,
            month: 3,
            day: 29,
            hour: 2,
            minute: 30,
            zone: "Europe/Berlin".into(),
        };
        assert!(
            gap.to_ms()
                .expect_err("refused")
                .to_string()
                .contains("skip")
        );
        let past = When::At { ms: 5 }
            .first(10, 0)
            .expect_err("refused")
            .to_string();
        assert!(past.contains("in the past"), "{past}");
    }

    #[test]
    fn local_now_in_a_zone_has_the_offset_and_weekday() -> Result<(), ScheduleError> {
        let now = local_now(at("2026-12-03T23:30:00Z"), "Asia/Tokyo")?;
        assert_eq!((now.year, now.month, now.day), (2026, 12, 4));
        assert_eq!((now.hour, now.minute), (8, 30));
        assert_eq!(now.weekday, 5);
        assert_eq!(now.offset_minutes, 9 * 60);
        Ok(())
    }
}
