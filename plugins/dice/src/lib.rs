//! `dice`: rolls dice written the tabletop way (`/roll 2d6`, `/roll d20+3`).

use std::fmt;

use plugboard_sdk::prelude::*;

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
        let spec = match cmd.args.first() {
            None => Roll {
                count: 1,
                sides: 6,
                modifier: 0,
            },
            Some(text) => text
                .parse()
                .map_err(|e: RollError| Error::invalid_input(e.to_string()))?,
        };
        let max = self.settings.max_dice;
        if spec.count > max {
            return Err(Error::invalid_input(format!(
                "I roll at most {max} dice at once."
            )));
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

/// Why a dice expression was refused; the text is shown to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollError(String);

impl fmt::Display for RollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Roll {
    type Err = RollError;

    fn from_str(text: &str) -> std::result::Result<Self, RollError> {
        let bad = |why: &str| {
            RollError(format!(
                "`{text}` is not a dice roll: {why}. Write it like 2d6, d20 or 3d8+2."
            ))
        };
        let lower = text.trim().to_ascii_lowercase();
        let (count, rest) = lower
            .split_once('d')
            .ok_or_else(|| bad("there is no `d`"))?;
        let count = if count.is_empty() {
            1
        } else {
            count
                .parse::<u32>()
                .map_err(|_| bad("the number of dice must be a whole number"))?
        };
        let (sides, modifier) = match rest.find(['+', '-']) {
            Some(at) => {
                let modifier = rest[at..]
                    .parse::<i64>()
                    .map_err(|_| bad("the modifier must be a whole number"))?;
                (&rest[..at], modifier)
            }
            None => (rest, 0),
        };
        let sides = sides
            .parse::<u32>()
            .map_err(|_| bad("the number of sides must be a whole number"))?;
        if count == 0 || count > MAX_DICE {
            return Err(bad(&format!("roll between 1 and {MAX_DICE} dice")));
        }
        if !(2..=MAX_SIDES).contains(&sides) {
            return Err(bad(&format!("a die has between 2 and {MAX_SIDES} sides")));
        }
        if modifier.unsigned_abs() > 1_000_000 {
            return Err(bad("the modifier is too large"));
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
    fn describes_total() {
        let roll = Roll {
            count: 2,
            sides: 6,
            modifier: 1,
        };
        assert_eq!(roll.describe(&[3, 4]), "🎲 2d6+1: 3 + 4 (+1) = 8");
    }
}
