//! `achievements`: milestones a person unlocks as their `economy` points
//! grow. It asks economy for the balance through the interface economy
//! provides (`plugins:economy/api@1.0.0`), a call that runs inside
//! economy, and keeps what was unlocked, and on which day, in its own KV.
//!
//! It checks when someone asks, with `/achievements`: economy cannot tell
//! its dependents that points moved, and asking economy on every message
//! would cost a cross-plugin call per message. Achievements reached since
//! the last check are announced in that answer, once.

use std::collections::BTreeMap;

use plugboard_sdk::i18n::{Catalogs, args};
use plugboard_sdk::kv::Scope;
use plugboard_sdk::prelude::*;

// Calls into economy (its wit/ folder, and this plugin's world importing it).
plugboard_sdk::interfaces!({
    path: ["../economy/wit", "wit"],
    world: "plugins:achievements/achievements",
});

use plugins::economy::api;

/// What achievements says, in every language it speaks; English when the
/// user's language has no catalog.
static CATALOGS: Catalogs = Catalogs::new(
    "en",
    &[
        ("en", include_str!("../locales/en.ftl")),
        ("de", include_str!("../locales/de.ftl")),
    ],
);

/// One achievement: unlocked once a person has `threshold` points. Its
/// name is the message `achievement-<id>` in `locales/`.
#[derive(Debug, PartialEq, Eq)]
struct Achievement {
    /// Stable id, stored in KV: never rename one.
    id: &'static str,
    /// Points needed.
    threshold: i64,
}

/// Every achievement, by rising threshold.
const ACHIEVEMENTS: [Achievement; 4] = [
    Achievement {
        id: "pocket-money",
        threshold: 100,
    },
    Achievement {
        id: "saver",
        threshold: 500,
    },
    Achievement {
        id: "four-digits",
        threshold: 1_000,
    },
    Achievement {
        id: "tycoon",
        threshold: 5_000,
    },
];

/// Milliseconds in a day (days are counted in UTC).
const DAY_MS: u64 = 86_400_000;

/// One person's unlocked achievements: id → the UTC day (days since the
/// epoch) it was unlocked. Stored as JSON under the person's key.
type Unlocked = BTreeMap<String, u64>;

fn unlocked_scope() -> Scope {
    Scope::global().nested("unlocked")
}

/// Turns a KV failure into one that tells the owner what to do.
fn kv_failed(err: Error) -> Error {
    Error::failed(format!(
        "achievements cannot keep what was unlocked ({}); grant it the `kv` permission: plugboard grant achievements kv",
        err.message()
    ))
}

/// The achievements `balance` reaches that `unlocked` does not hold yet,
/// by rising threshold.
fn newly_reached(balance: i64, unlocked: &Unlocked) -> Vec<&'static Achievement> {
    ACHIEVEMENTS
        .iter()
        .filter(|a| a.threshold <= balance && !unlocked.contains_key(a.id))
        .collect()
}

/// The first achievement, by threshold, that `unlocked` does not hold.
fn next(unlocked: &Unlocked) -> Option<&'static Achievement> {
    ACHIEVEMENTS.iter().find(|a| !unlocked.contains_key(a.id))
}

/// `2026-12-04` for a day counted from 1970-01-01 (proleptic Gregorian
/// calendar, Howard Hinnant's `civil_from_days`).
fn date(day: u64) -> String {
    let z = i64::try_from(day).unwrap_or(i64::MAX / 2) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The answer to `/achievements`: the ones just unlocked, every unlocked
/// one with its day, and the next one with the points it still needs.
fn answer(locale: Option<&str>, balance: i64, new: &[&Achievement], unlocked: &Unlocked) -> String {
    let name = |a: &Achievement| CATALOGS.text(locale, &format!("achievement-{}", a.id), &args([]));
    let mut lines = Vec::new();
    for a in new {
        lines.push(CATALOGS.text(
            locale,
            "new",
            &args([("name", name(a).into()), ("threshold", a.threshold.into())]),
        ));
    }
    lines.push(CATALOGS.text(locale, "heading", &args([("points", balance.into())])));
    let mut any = false;
    for a in &ACHIEVEMENTS {
        if let Some(day) = unlocked.get(a.id) {
            any = true;
            lines.push(CATALOGS.text(
                locale,
                "unlocked",
                &args([
                    ("name", name(a).into()),
                    ("threshold", a.threshold.into()),
                    ("day", date(*day).into()),
                ]),
            ));
        }
    }
    if !any {
        lines.push(CATALOGS.text(locale, "none", &args([])));
    }
    lines.push(match next(unlocked) {
        Some(a) => CATALOGS.text(
            locale,
            "next",
            &args([
                ("name", name(a).into()),
                ("threshold", a.threshold.into()),
                ("missing", a.threshold.saturating_sub(balance).into()),
            ]),
        ),
        None => CATALOGS.text(locale, "all", &args([])),
    });
    lines.join("\n")
}

/// The plugin; its state lives in KV.
#[derive(Default)]
pub struct Achievements;

impl Plugin for Achievements {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        if cmd.name != "achievements" {
            return Ok(());
        }
        let locale = cmd.locale.as_deref();
        let message = &cmd.message;
        // The person as economy names them.
        let me = format!("{}:{}", message.chat.platform.as_str(), message.sender.id);
        // A failure inside economy, even a crash, arrives as an error value.
        let balance = match api::balance(&me) {
            Ok(balance) => balance,
            Err(why) => {
                out.reply(CATALOGS.text(locale, "no-economy", &args([("why", why.into())])));
                return Ok(());
            }
        };
        let scope = unlocked_scope();
        let mut unlocked: Unlocked = scope.get(&me).map_err(kv_failed)?.unwrap_or_default();
        let new = newly_reached(balance, &unlocked);
        if !new.is_empty() {
            let today = message.timestamp_ms / DAY_MS;
            for a in &new {
                unlocked.insert(a.id.to_owned(), today);
            }
            // Stored before it is announced: announced once, never lost.
            scope.set(&me, &unlocked).map_err(kv_failed)?;
        }
        out.reply(answer(locale, balance, &new, &unlocked));
        Ok(())
    }
}

plugboard_sdk::export_plugin!(Achievements);

#[cfg(test)]
mod tests {
    use super::*;

    fn unlocked(ids: &[(&str, u64)]) -> Unlocked {
        ids.iter()
            .map(|(id, day)| ((*id).to_owned(), *day))
            .collect()
    }

    #[test]
    fn thresholds_rise_and_every_achievement_has_a_name_in_every_catalog() {
        assert!(
            ACHIEVEMENTS
                .windows(2)
                .all(|w| w[0].threshold < w[1].threshold)
        );
        for a in &ACHIEVEMENTS {
            for locale in ["en", "de"] {
                let name = CATALOGS.text(Some(locale), &format!("achievement-{}", a.id), &args([]));
                assert!(!name.starts_with('['), "{locale} lacks a name for {}", a.id);
            }
        }
        // Every message English has, German has too.
        assert_eq!(CATALOGS.untranslated(), Vec::new());
    }

    #[test]
    fn a_threshold_is_reached_at_its_exact_points_and_unlocked_ones_are_not_reached_again() {
        let ids = |v: Vec<&Achievement>| v.iter().map(|a| a.id).collect::<Vec<_>>();
        assert!(newly_reached(99, &Unlocked::new()).is_empty());
        assert_eq!(ids(newly_reached(100, &Unlocked::new())), ["pocket-money"]);
        assert_eq!(
            ids(newly_reached(1_000, &Unlocked::new())),
            ["pocket-money", "saver", "four-digits"]
        );
        let have = unlocked(&[("pocket-money", 1)]);
        assert_eq!(ids(newly_reached(600, &have)), ["saver"]);
        // Points spent later do not take an achievement back.
        assert_eq!(
            next(&unlocked(&[("pocket-money", 1), ("saver", 2)])),
            Some(&ACHIEVEMENTS[2])
        );
        // One point, and one point to go.
        let have = unlocked(&[("pocket-money", 0), ("saver", 0), ("four-digits", 0)]);
        assert_eq!(
            answer(None, 4_999, &[], &have).lines().last(),
            Some("Next: Tycoon (5000 points), 1 point to go.")
        );
        assert_eq!(
            answer(Some("de"), 1, &[], &Unlocked::new()),
            "Deine Erfolge (1 Punkt):\n\
             Du hast noch keine Erfolge.\n\
             Als Nächstes: Taschengeld (100 Punkte), es fehlen 99 Punkte."
        );
        assert!(answer(Some("de"), 4_999, &[], &have).ends_with("es fehlt 1 Punkt."));
        assert!(answer(None, 1, &[], &Unlocked::new()).starts_with("Your achievements (1 point):"));
        let all = unlocked(&[
            ("pocket-money", 1),
            ("saver", 1),
            ("four-digits", 1),
            ("tycoon", 1),
        ]);
        assert_eq!(next(&all), None);
    }

    #[test]
    fn days_since_the_epoch_are_written_as_utc_dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(59), "1970-03-01");
        assert_eq!(date(11_016), "2000-02-29");
        assert_eq!(date(20_426), "2025-12-04");
        assert_eq!(date(20_818), "2026-12-31");
    }

    #[test]
    fn the_answer_announces_new_ones_lists_unlocked_ones_and_names_the_next() {
        let have = unlocked(&[("pocket-money", 20_426)]);
        let new = [&ACHIEVEMENTS[0]];
        assert_eq!(
            answer(None, 130, &new, &have),
            "🎉 New achievement: Pocket Money (100 points)!\n\
             Your achievements (130 points):\n\
             ✓ Pocket Money (100 points), since 2025-12-04\n\
             Next: Saver (500 points), 370 points to go."
        );
        assert_eq!(
            answer(Some("de"), 0, &[], &Unlocked::new()),
            "Deine Erfolge (0 Punkte):\n\
             Du hast noch keine Erfolge.\n\
             Als Nächstes: Taschengeld (100 Punkte), es fehlen 100 Punkte."
        );
        let all = unlocked(&[
            ("pocket-money", 0),
            ("saver", 0),
            ("four-digits", 0),
            ("tycoon", 0),
        ]);
        assert!(answer(None, 9_000, &[], &all).ends_with("You have unlocked every achievement."));
    }
}
