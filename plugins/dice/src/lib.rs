//! `dice`: rolls dice written the tabletop way (`/roll 2d6`, `/roll d20+3`).

use std::fmt;

use plugboard_sdk::i18n::{Catalogs, args};
use plugboard_sdk::prelude::*;

/// The answers in every language dice speaks; English when the user's
/// language has no catalog.
static CATALOGS: Catalogs = Catalogs::new(
    "en",
    &[
        ("en", include_str!("../locales/en.ftl")),
        ("de", include_str!("../locales/de.ftl")),
    ],
);

/// The owner's settings, `[plugins.dice.config]`, as declared in
/// `plugin.toml`: the host has checked them and filled in the defaults.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The most dice one command may roll (1 to [`MAX_DICE`]).
    pub max_dice: u32,
}

/// The plugin.
pub struct Dice {
    settings: Settings,
}

impl Default for Dice {
    fn default() -> Self {
        Dice {
            settings: Settings { max_dice: MAX_DICE },
        }
    }
}

impl Plugin for Dice {
    fn configure(&mut self, config: &Config) -> Result<()> {
        let settings: Settings = config.parse()?;
        if !(1..=MAX_DICE).contains(&settings.max_dice) {
            return Err(Error::failed(format!(
                "max_dice must be between 1 and {MAX_DICE}, not {}",
                settings.max_dice
            )));
        }
        self.settings = settings;
        Ok(())
    }

    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let locale = cmd.locale.as_deref();
        let max = self.settings.max_dice;
        let too_many = || {
            let text = CATALOGS.text(locale, "too-many", &args([("max", max.into())]));
            Error::invalid_input(text)
        };
        let spec = match cmd.args.first() {
            None => Roll {
                count: 1,
                sides: 6,
                modifier: 0,
            },
            // Too many dice is said one way, whatever the owner's limit.
            Some(text) => text.parse().map_err(|e: RollError| {
                let count = text.to_ascii_lowercase();
                let count = count
                    .split_once('d')
                    .and_then(|(n, _)| n.trim().parse::<u64>().ok());
                match e.why {
                    Why::CountRange if count.is_some_and(|n| n > u64::from(max)) => too_many(),
                    _ => Error::invalid_input(e.message(locale)),
                }
            })?,
        };
        if spec.count > max {
            return Err(too_many());
        }
        let mut rolls = Vec::with_capacity(spec.count as usize);
        for _ in 0..spec.count {
            rolls.push(roll_die(spec.sides)?);
        }
        out.reply(spec.describe(&rolls));
        Ok(())
    }
}

/// The most dice one command may roll.
pub const MAX_DICE: u32 = 100;
/// The most sides one die may have.
pub const MAX_SIDES: u32 = 1_000_000;

/// A parsed dice expression: `count` dice with `sides` sides, plus `modifier`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roll {
    /// How many dice.
    pub count: u32,
    /// Sides of each die.
    pub sides: u32,
    /// Added to the sum (may be negative).
    pub modifier: i64,
}

/// Why a dice expression was refused; [`RollError::message`] says it to
/// the user in their language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollError {
    text: String,
    why: Why,
}

/// What is wrong with a dice expression (a message id in `locales/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    NoD,
    Count,
    Modifier,
    Sides,
    CountRange,
    SidesRange,
    ModifierSize,
}

impl RollError {
    /// The refusal in the language for `locale`.
    pub fn message(&self, locale: Option<&str>) -> String {
        let (id, max) = match self.why {
            Why::NoD => ("why-no-d", None),
            Why::Count => ("why-count", None),
            Why::Modifier => ("why-modifier", None),
            Why::Sides => ("why-sides", None),
            Why::CountRange => ("why-count-range", Some(MAX_DICE)),
            Why::SidesRange => ("why-sides-range", Some(MAX_SIDES)),
            Why::ModifierSize => ("why-modifier-size", None),
        };
        let why = CATALOGS.text(locale, id, &args([("max", max.unwrap_or(0).into())]));
        let text = self.text.as_str();
        CATALOGS.text(
            locale,
            "not-a-roll",
            &args([("text", text.into()), ("why", why.into())]),
        )
    }
}

impl fmt::Display for RollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(None))
    }
}

impl std::str::FromStr for Roll {
    type Err = RollError;

    fn from_str(text: &str) -> std::result::Result<Self, RollError> {
        let bad = |why: Why| RollError {
            text: text.to_owned(),
            why,
        };
        let lower = text.trim().to_ascii_lowercase();
        let (count, rest) = lower.split_once('d').ok_or_else(|| bad(Why::NoD))?;
        let count = if count.is_empty() {
            1
        } else {
            count.parse::<u32>().map_err(|_| bad(Why::Count))?
        };
        let (sides, modifier) = match rest.find(['+', '-']) {
            Some(at) => {
                let modifier = rest[at..].parse::<i64>().map_err(|_| bad(Why::Modifier))?;
                (&rest[..at], modifier)
            }
            None => (rest, 0),
        };
        let sides = sides.parse::<u32>().map_err(|_| bad(Why::Sides))?;
        if count == 0 || count > MAX_DICE {
            return Err(bad(Why::CountRange));
        }
        if !(2..=MAX_SIDES).contains(&sides) {
            return Err(bad(Why::SidesRange));
        }
        if modifier.unsigned_abs() > 1_000_000 {
            return Err(bad(Why::ModifierSize));
        }
        Ok(Roll {
            count,
            sides,
            modifier,
        })
    }
}

impl Roll {
    /// The reply for these rolled values, ending with `= <total>`.
    pub fn describe(&self, rolls: &[u32]) -> String {
        let sum: i64 = rolls.iter().map(|&r| i64::from(r)).sum::<i64>() + self.modifier;
        let mut text = format!("🎲 {}d{}", self.count, self.sides);
        match self.modifier {
            0 => {}
            m if m > 0 => text.push_str(&format!("+{m}")),
            m => text.push_str(&format!("{m}")),
        }
        text.push_str(": ");
        let shown: Vec<String> = rolls.iter().map(u32::to_string).collect();
        text.push_str(&shown.join(" + "));
        match self.modifier {
            0 => {}
            m if m > 0 => text.push_str(&format!(" (+{m})")),
            m => text.push_str(&format!(" ({m})")),
        }
        text.push_str(&format!(" = {sum}"));
        text
    }
}

/// One fair roll of a die with `sides` sides, from the host's secure random source.
fn roll_die(sides: u32) -> Result<u32> {
    // Rejection sampling avoids modulo bias.
    let zone = u32::MAX - (u32::MAX % sides);
    loop {
        let value = getrandom::u32().map_err(|e| Error::failed(format!("no randomness: {e}")))?;
        if value < zone {
            return Ok(value % sides + 1);
        }
    }
}

plugboard_sdk::export_plugin!(Dice);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            "2d6".parse(),
            Ok(Roll {
                count: 2,
                sides: 6,
                modifier: 0
            })
        );
        assert_eq!(
            "d20".parse(),
            Ok(Roll {
                count: 1,
                sides: 20,
                modifier: 0
            })
        );
        assert_eq!(
            "3D8+2".parse(),
            Ok(Roll {
                count: 3,
                sides: 8,
                modifier: 2
            })
        );
        assert_eq!(
            "4d10-1".parse(),
            Ok(Roll {
                count: 4,
                sides: 10,
                modifier: -1
            })
        );
    }

    #[test]
    fn refuses_bad_syntax_with_a_hint() {
        for bad in [
            "",
            "2x6",
            "d",
            "2d",
            "0d6",
            "101d6",
            "2d1",
            "2d6+x",
            "-2d6",
            "2d6+99999999",
        ] {
            let err = bad.parse::<Roll>().expect_err(bad).to_string();
            assert!(err.contains("Write it like 2d6"), "{bad}: {err}");
        }
    }

    #[test]
    fn refusals_follow_the_users_language() {
        let err = "2x6".parse::<Roll>().expect_err("no d");
        assert_eq!(
            err.message(Some("en-US")),
            "`2x6` is not a dice roll: there is no `d`. Write it like 2d6, d20 or 3d8+2."
        );
        assert_eq!(
            err.message(Some("de")),
            "`2x6` ist kein Würfelwurf: es fehlt das `d`. Schreib ihn wie 2d6, d20 oder 3d8+2."
        );
        let err = "101d6".parse::<Roll>().expect_err("too many");
        assert!(
            err.message(Some("de"))
                .contains("zwischen 1 und 100 Würfel")
        );
        // Every message English has, German has too.
        assert_eq!(CATALOGS.untranslated(), Vec::new());
    }

    #[test]
    fn describes_total() {
        let roll = Roll {
            count: 2,
            sides: 6,
            modifier: 1,
        };
        assert_eq!(roll.describe(&[3, 4]), "🎲 2d6+1: 3 + 4 (+1) = 8");
    }
}
