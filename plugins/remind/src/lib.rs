//! `remind`: reminders in the chat where they were asked (`/remind 10m
//! tea`, `/remind tomorrow 9:00 standup`, `/remind every monday 9:00
//! standup`), kept by the host's durable timers.
//!
//! Each reminder is one schedule whose id is `<platform>/<chat>/<number>`,
//! so `/reminders` and `/forget_reminder` see only the chat's own; its
//! payload keeps the text and the asker's language, so the reminder
//! answers in it.

use std::time::Duration;

use plugboard_sdk::Tick;
use plugboard_sdk::i18n::{Catalogs, args};
use plugboard_sdk::prelude::*;
use plugboard_sdk::schedule::{self, LocalTime, Timer};
use serde::{Deserialize, Serialize};

/// The answers in every language remind speaks; English when the user's
/// language has no catalog.
static CATALOGS: Catalogs = Catalogs::new(
    "en",
    &[
        ("en", include_str!("../locales/en.ftl")),
        ("de", include_str!("../locales/de.ftl")),
    ],
);

/// The longest reminder text, in characters.
pub const MAX_TEXT: usize = 500;
/// Reminders one chat may have at once: the plugin's schedules are shared
/// by every chat, so one chat must not take them all.
pub const MAX_PER_CHAT: usize = 25;
/// The furthest a delay or an interval may reach.
pub const MAX_SPAN: Duration = Duration::from_secs(366 * 86_400);

/// The owner's settings, `[plugins.remind.config]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The IANA zone times of day are read in.
    pub zone: String,
}

/// The plugin.
pub struct Remind {
    zone: String,
}

impl Default for Remind {
    fn default() -> Self {
        Remind { zone: "UTC".into() }
    }
}

/// What a reminder's schedule carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// What to say.
    pub text: String,
    /// The asker's language.
    pub locale: Option<String>,
}

/// Days a daily reminder fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    /// Every day.
    All,
    /// Monday to Friday.
    Weekdays,
    /// One day of the week, 1 (Monday) to 7 (Sunday).
    One(u8),
}

/// Which day a one-shot time of day is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// Today; refused when the time has passed.
    Today,
    /// Tomorrow.
    Tomorrow,
    /// Today if the time is still ahead, else tomorrow.
    Next,
}

/// When a reminder fires, as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spec {
    /// Once, after a delay.
    After(Duration),
    /// Once, at a time of day.
    At {
        /// Which day.
        day: Day,
        /// The hour.
        hour: u8,
        /// The minute.
        minute: u8,
    },
    /// Repeatedly, every interval.
    Every(Duration),
    /// Repeatedly, at a time of day on some days.
    Daily {
        /// Which days.
        days: Days,
        /// The hour.
        hour: u8,
        /// The minute.
        minute: u8,
    },
}

/// What is wrong with a `/remind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Nothing or nothing recognisable was given.
    Usage,
    /// A time but no text.
    NoText(String),
    /// Not a time of day.
    BadTime(String),
    /// Not something to repeat.
    BadEvery(String),
    /// The text is too long.
    TooLong,
    /// The delay or interval is more than a year.
    TooFar,
}

impl Problem {
    fn message(&self, locale: Option<&str>) -> String {
        match self {
            Problem::Usage => CATALOGS.text(locale, "usage", &args([])),
            Problem::NoText(when) => {
                CATALOGS.text(locale, "no-text", &args([("when", when.as_str().into())]))
            }
            Problem::BadTime(text) => {
                CATALOGS.text(locale, "bad-time", &args([("text", text.as_str().into())]))
            }
            Problem::BadEvery(text) => {
                CATALOGS.text(locale, "bad-every", &args([("text", text.as_str().into())]))
            }
            Problem::TooLong => {
                CATALOGS.text(locale, "too-long", &args([("max", MAX_TEXT.into())]))
            }
            Problem::TooFar => CATALOGS.text(locale, "too-far", &args([])),
        }
    }
}

/// The first word of `text` and the rest, trimmed.
fn word(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    match text.find(char::is_whitespace) {
        Some(at) => (&text[..at], text[at..].trim_start()),
        None => (text, ""),
    }
}

/// `10m`, `1h30m`, `45s`, `2d`: a positive duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let mut total: u64 = 0;
    let mut rest = text.to_ascii_lowercase();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let number: u64 = rest[..digits].parse().ok()?;
        let after = &rest[digits..];
        let unit_len = after.chars().take_while(char::is_ascii_alphabetic).count();
        let seconds = match &after[..unit_len] {
            "s" | "sec" => 1,
            "m" | "min" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => return None,
        };
        total = total.checked_add(number.checked_mul(seconds)?)?;
        rest = after[unit_len..].to_owned();
    }
    (total > 0).then(|| Duration::from_secs(total))
}

/// `9:00`, `18:30` (and a bare hour such as `9` when `bare` is allowed).
pub fn parse_time(text: &str, bare: bool) -> Option<(u8, u8)> {
    let (hour, minute) = match text.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h.parse::<u8>().ok()?, m.parse::<u8>().ok()?),
        Some(_) => return None,
        None if bare => (text.parse::<u8>().ok()?, 0),
        None => return None,
    };
    (hour < 24 && minute < 60).then_some((hour, minute))
}

fn parse_days(text: &str) -> Option<Days> {
    let day = |n| Some(Days::One(n));
    match text.to_lowercase().as_str() {
        "day" | "tag" => Some(Days::All),
        "weekday" | "werktag" => Some(Days::Weekdays),
        "monday" | "mon" | "montag" => day(1),
        "tuesday" | "tue" | "dienstag" => day(2),
        "wednesday" | "wed" | "mittwoch" => day(3),
        "thursday" | "thu" | "donnerstag" => day(4),
        "friday" | "fri" | "freitag" => day(5),
        "saturday" | "sat" | "samstag" => day(6),
        "sunday" | "sun" | "sonntag" => day(7),
        _ => None,
    }
}

/// Parses `/remind`'s arguments into when and what.
pub fn parse(raw: &str) -> std::result::Result<(Spec, &str), Problem> {
    let (first, rest) = word(raw);
    let (spec, text) = match first.to_lowercase().as_str() {
        "" => return Err(Problem::Usage),
        "every" => {
            let (what, after) = word(rest);
            if let Some(interval) = parse_duration(what) {
                (Spec::Every(interval), after)
            } else {
                let days = parse_days(what).ok_or_else(|| Problem::BadEvery(what.to_owned()))?;
                let (time, text) = word(after);
                let (hour, minute) =
                    parse_time(time, true).ok_or_else(|| Problem::BadTime(time.to_owned()))?;
                (Spec::Daily { days, hour, minute }, text)
            }
        }
        "today" | "tomorrow" => {
            let day = if first.eq_ignore_ascii_case("today") {
                Day::Today
            } else {
                Day::Tomorrow
            };
            let (time, text) = word(rest);
            let (hour, minute) =
                parse_time(time, true).ok_or_else(|| Problem::BadTime(time.to_owned()))?;
            (Spec::At { day, hour, minute }, text)
        }
        _ => {
            if let Some(delay) = parse_duration(first) {
                (Spec::After(delay), rest)
            } else if let Some((hour, minute)) = parse_time(first, false) {
                let day = Day::Next;
                (Spec::At { day, hour, minute }, rest)
            } else {
                return Err(Problem::Usage);
            }
        }
    };
    if text.is_empty() {
        let when = raw.trim();
        return Err(Problem::NoText(when.to_owned()));
    }
    if text.chars().count() > MAX_TEXT {
        return Err(Problem::TooLong);
    }
    if let Spec::After(span) | Spec::Every(span) = spec
        && span > MAX_SPAN
    {
        return Err(Problem::TooFar);
    }
    Ok((spec, text))
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i32, month: u8, day: u8) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01.
pub fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (year_of_era + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

/// A span such as `10 min`, `2 h 5 min`, `3 d 4 h` (the same in every
/// language remind speaks).
pub fn span(ms: u64) -> String {
    let seconds = ms.div_ceil(1_000);
    if seconds < 60 {
        return format!("{seconds} s");
    }
    let minutes = (seconds + 30) / 60;
    if minutes < 60 {
        return format!("{minutes} min");
    }
    if minutes < 24 * 60 {
        return match (minutes / 60, minutes % 60) {
            (h, 0) => format!("{h} h"),
            (h, m) => format!("{h} h {m} min"),
        };
    }
    match ((minutes + 30) / 60 / 24, (minutes + 30) / 60 % 24) {
        (d, 0) => format!("{d} d"),
        (d, h) => format!("{d} d {h} h"),
    }
}

/// The prefix of the schedule ids of one chat's reminders.
fn chat_prefix(chat: &Chat) -> String {
    format!("{}/{}/", chat.platform.as_str(), chat.id)
}

/// This chat's reminders: (number, schedule), by number.
fn reminders_of(chat: &Chat) -> Result<Vec<(u32, schedule::Scheduled)>> {
    let prefix = chat_prefix(chat);
    let mut mine: Vec<(u32, schedule::Scheduled)> = schedule::list()?
        .into_iter()
        .filter_map(|s| {
            let number = s.id.strip_prefix(&prefix)?.parse().ok()?;
            Some((number, s))
        })
        .collect();
    mine.sort_by_key(|(number, _)| *number);
    Ok(mine)
}

fn time_text(hour: u8, minute: u8) -> String {
    format!("{hour}:{minute:02}")
}

impl Remind {
    fn remind(&self, cmd: &Command, out: &mut Response) -> Result<()> {
        let locale = cmd.locale.as_deref();
        let (spec, text) =
            parse(&cmd.raw_args).map_err(|p| Error::invalid_input(p.message(locale)))?;
        let chat = &cmd.message.chat;
        // The host's refusals (too often, too many, a time the clocks skip,
        // the owner's missing grant) name their fix: the user sees them.
        let mine = reminders_of(chat).map_err(Error::for_user)?;
        if mine.len() >= MAX_PER_CHAT {
            let max = args([("max", MAX_PER_CHAT.into())]);
            return Err(Error::invalid_input(CATALOGS.text(
                locale,
                "chat-full",
                &max,
            )));
        }
        let number = mine.last().map_or(1, |(number, _)| number + 1);
        let id = format!("{}{number}", chat_prefix(chat));
        let now = schedule::now_in(&self.zone)?;
        let (timer, every) = match spec {
            Spec::After(delay) => (Timer::after(id, delay), None),
            Spec::At { day, hour, minute } => {
                let ahead = (hour, minute) > (now.hour, now.minute);
                let offset = match day {
                    Day::Today if !ahead => {
                        let time = time_text(hour, minute);
                        let text = CATALOGS.text(locale, "past", &args([("time", time.into())]));
                        return Err(Error::invalid_input(text));
                    }
                    Day::Today => 0,
                    Day::Next if ahead => 0,
                    Day::Next | Day::Tomorrow => 1,
                };
                let (year, month, day) =
                    civil_from_days(days_from_civil(now.year, now.month, now.day) + offset);
                let at = LocalTime {
                    year,
                    month,
                    day,
                    hour,
                    minute,
                    zone: self.zone.clone(),
                };
                (Timer::at_local(id, at), None)
            }
            Spec::Every(interval) => {
                let every = span(u64::try_from(interval.as_millis()).unwrap_or(u64::MAX));
                (Timer::every(id, interval), Some(every))
            }
            Spec::Daily { days, hour, minute } => {
                let time = time_text(hour, minute);
                let (cron_days, every) = match days {
                    Days::All => (
                        "*".to_owned(),
                        CATALOGS.text(locale, "every-day", &args([("time", time.into())])),
                    ),
                    Days::Weekdays => (
                        "MON-FRI".to_owned(),
                        CATALOGS.text(locale, "every-weekday", &args([("time", time.into())])),
                    ),
                    Days::One(n) => {
                        let day = CATALOGS.text(locale, &format!("day-{n}"), &args([]));
                        let every = CATALOGS.text(
                            locale,
                            "every-dayname",
                            &args([("day", day.into()), ("time", time.into())]),
                        );
                        (n.to_string(), every)
                    }
                };
                let expression = format!("{minute} {hour} * * {cron_days}");
                (Timer::cron(id, expression, self.zone.clone()), Some(every))
            }
        };
        let note = Note {
            text: text.to_owned(),
            locale: cmd.locale.clone(),
        };
        let first = timer.payload(&note)?.set().map_err(Error::for_user)?;
        let delay = match spec {
            // Exactly as asked (the host's clock is read to the second).
            Spec::After(delay) | Spec::Every(delay) => {
                span(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
            }
            Spec::At { .. } | Spec::Daily { .. } => span(first.saturating_sub(now.unix_ms)),
        };
        let when = match every {
            None => CATALOGS.text(locale, "when-in", &args([("delay", delay.into())])),
            Some(every) => CATALOGS.text(
                locale,
                "when-every",
                &args([("every", every.into()), ("delay", delay.into())]),
            ),
        };
        out.reply(CATALOGS.text(
            locale,
            "set",
            &args([
                ("number", number.into()),
                ("when", when.into()),
                ("text", text.into()),
            ]),
        ));
        Ok(())
    }

    fn list(&self, cmd: &Command, out: &mut Response) -> Result<()> {
        let locale = cmd.locale.as_deref();
        let mine = reminders_of(&cmd.message.chat)?;
        if mine.is_empty() {
            out.reply(CATALOGS.text(locale, "none", &args([])));
            return Ok(());
        }
        let now = schedule::now_in("UTC")?.unix_ms;
        let mut lines = vec![CATALOGS.text(locale, "list-header", &args([]))];
        for (number, scheduled) in mine {
            let note: Note = serde_json::from_slice(&scheduled.payload).unwrap_or(Note {
                text: String::new(),
                locale: None,
            });
            let repeats = matches!(
                scheduled.when,
                schedule::When::EveryMs(_) | schedule::When::Cron(_)
            );
            let repeat = if repeats {
                CATALOGS.text(locale, "repeats", &args([]))
            } else {
                String::new()
            };
            lines.push(CATALOGS.text(
                locale,
                "list-item",
                &args([
                    ("number", number.into()),
                    ("delay", span(scheduled.next_ms.saturating_sub(now)).into()),
                    ("repeat", repeat.into()),
                    ("text", note.text.into()),
                ]),
            ));
        }
        out.reply(lines.join("\n"));
        Ok(())
    }

    fn forget(&self, cmd: &Command, out: &mut Response) -> Result<()> {
        let locale = cmd.locale.as_deref();
        let usage = || Error::invalid_input(CATALOGS.text(locale, "forget-usage", &args([])));
        let raw = cmd.raw_args.trim().trim_start_matches('#');
        let number: u32 = raw.parse().map_err(|_| usage())?;
        let id = format!("{}{number}", chat_prefix(&cmd.message.chat));
        let key = if schedule::cancel(&id)? {
            "forgot"
        } else {
            "no-such"
        };
        out.reply(CATALOGS.text(locale, key, &args([("number", number.into())])));
        Ok(())
    }
}

impl Plugin for Remind {
    fn configure(&mut self, config: &Config) -> Result<()> {
        let settings: Settings = config.parse()?;
        // An unknown zone is refused here, at load, with the host's words.
        schedule::now_in(&settings.zone).map_err(|e| Error::failed(format!("zone: {e}")))?;
        self.zone = settings.zone;
        Ok(())
    }

    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        match cmd.name.as_str() {
            "remind" => self.remind(&cmd, out),
            "reminders" => self.list(&cmd, out),
            "forget_reminder" => self.forget(&cmd, out),
            _ => Ok(()),
        }
    }

    fn on_tick(&mut self, tick: Tick, out: &mut Response) -> Result<()> {
        let note: Note = tick.payload_as()?;
        let text = note.text.as_str();
        out.reply(CATALOGS.text(
            note.locale.as_deref(),
            "fired",
            &args([("text", text.into())]),
        ));
        Ok(())
    }
}

plugboard_sdk::export_plugin!(Remind);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_remind_parse_to_their_schedule_and_text() {
        let ten = Duration::from_secs(600);
        assert_eq!(parse("10m tea"), Ok((Spec::After(ten), "tea")));
        assert_eq!(
            parse("1h30m  stretch  now"),
            Ok((Spec::After(Duration::from_secs(5_400)), "stretch  now"))
        );
        assert_eq!(
            parse("tomorrow 9:00 standup"),
            Ok((
                Spec::At {
                    day: Day::Tomorrow,
                    hour: 9,
                    minute: 0
                },
                "standup"
            ))
        );
        assert_eq!(
            parse("18:30 call"),
            Ok((
                Spec::At {
                    day: Day::Next,
                    hour: 18,
                    minute: 30
                },
                "call"
            ))
        );
        assert_eq!(
            parse("every Monday 9:00 standup"),
            Ok((
                Spec::Daily {
                    days: Days::One(1),
                    hour: 9,
                    minute: 0
                },
                "standup"
            ))
        );
        assert_eq!(
            parse("every 2h water"),
            Ok((Spec::Every(Duration::from_secs(7_200)), "water"))
        );
        assert_eq!(parse(""), Err(Problem::Usage));
        assert_eq!(parse("soon tea"), Err(Problem::Usage));
        assert_eq!(parse("10m"), Err(Problem::NoText("10m".into())));
        assert_eq!(
            parse("tomorrow 25:00 x"),
            Err(Problem::BadTime("25:00".into()))
        );
        assert_eq!(
            parse("every fortnight x"),
            Err(Problem::BadEvery("fortnight".into()))
        );
        assert_eq!(
            parse(&format!("1m {}", "x".repeat(501))),
            Err(Problem::TooLong)
        );
        assert_eq!(parse("99999999d x"), Err(Problem::TooFar));
        assert_eq!(parse("every 400d x"), Err(Problem::TooFar));
        assert!(parse("366d x").is_ok());
    }

    #[test]
    fn calendar_arithmetic_crosses_months_years_and_leap_days() {
        for (y, m, d) in [(1970, 1, 1), (2024, 2, 29), (2026, 12, 31), (2000, 3, 1)] {
            assert_eq!(civil_from_days(days_from_civil(y, m, d)), (y, m, d));
        }
        assert_eq!(
            civil_from_days(days_from_civil(2026, 12, 31) + 1),
            (2027, 1, 1)
        );
        assert_eq!(
            civil_from_days(days_from_civil(2024, 2, 28) + 1),
            (2024, 2, 29)
        );
        assert_eq!(days_from_civil(1970, 1, 2), 1);
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(2_000), "2 s");
        assert_eq!(span(600_000), "10 min");
        assert_eq!(span(7_500_000), "2 h 5 min");
        assert_eq!(span(86_400_000 * 3 + 3_600_000 * 4), "3 d 4 h");
        // Rounding never shows 60 of a unit.
        assert_eq!(span(3_595_000), "1 h");
        assert_eq!(span(86_395_000), "1 d");
        assert_eq!(span(59_500), "1 min");
    }
}
