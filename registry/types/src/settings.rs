//! Typed plugin settings: what a plugin declares under `[config.<name>]` in
//! its `plugin.toml`, and the one check of the bot owner's values
//! (`[plugins.<plugin>.config]` in `plugboard.toml`) against it.
//!
//! ```toml
//! [config.greeting]
//! type = "string"
//! description = "How the bot greets people."
//! default = "Hello"
//!
//! [config.max_notes]
//! type = "integer"
//! description = "Notes kept per chat."
//! default = 100
//! min = 1
//! max = 10000
//!
//! [config.api_token]
//! type = "string"
//! description = "The weather service's API token."
//! secret = true
//! ```
//!
//! [`resolve`] runs before the plugin's `init`: it refuses an unknown key, a
//! missing required value, a value of the wrong type or out of its bounds or
//! choices, and a secret written in the config file instead of taken from
//! the environment, each with the field, the value and the fix; it fills in
//! the defaults. A plugin that declares no settings keeps taking any table,
//! as before settings existed.
//!
//! What it must not touch: reading files or the environment itself (the
//! caller passes how to read a secret), and anything about how a plugin
//! uses its settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ManifestError;

/// Most settings one plugin may declare.
pub const MAX_SETTINGS: usize = 64;
/// Longest setting name, in bytes.
pub const MAX_SETTING_NAME: usize = 64;
/// Longest setting description, in bytes.
pub const MAX_SETTING_DESCRIPTION: usize = 300;
/// Most choices a setting may list.
pub const MAX_CHOICES: usize = 64;

/// One setting a plugin declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Setting {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: SettingType,
    /// What it does, shown to the owner (`plugboard plugins show`, the
    /// console's form).
    pub description: String,
    /// The value when the owner sets none; without one the setting is
    /// required. A secret has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<SettingValue>,
    /// The smallest integer, or the fewest characters of a string or items
    /// of a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The largest integer, or the most characters of a string or items of
    /// a list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// For a string: the only values allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// For a string: the value is a secret. The owner gives it as
    /// `{ env = "VARIABLE" }` or `{ file = "path" }`, never in the config
    /// file itself, and it is never shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// The type of a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SettingType {
    /// Text.
    String,
    /// A whole number (64-bit).
    Integer,
    /// `true` or `false`.
    Boolean,
    /// A list of texts.
    StringList,
}

impl SettingType {
    /// The name used in `plugin.toml` and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingType::String => "string",
            SettingType::Integer => "integer",
            SettingType::Boolean => "boolean",
            SettingType::StringList => "string-list",
        }
    }
}

/// A setting's value, as written in TOML.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    /// `true` or `false`.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// Text.
    String(String),
    /// A list of texts.
    StringList(Vec<String>),
}

impl SettingValue {
    fn kind(&self) -> SettingType {
        match self {
            SettingValue::Boolean(_) => SettingType::Boolean,
            SettingValue::Integer(_) => SettingType::Integer,
            SettingValue::String(_) => SettingType::String,
            SettingValue::StringList(_) => SettingType::StringList,
        }
    }

    /// The value as JSON, as the plugin receives it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            SettingValue::Boolean(b) => (*b).into(),
            SettingValue::Integer(i) => (*i).into(),
            SettingValue::String(s) => s.as_str().into(),
            SettingValue::StringList(l) => l.clone().into(),
        }
    }
}

impl Setting {
    /// Checks a value against the type, bounds and choices; the error says
    /// what is wrong and what would be right.
    fn check(&self, value: &SettingValue) -> Result<(), String> {
        if value.kind() != self.kind {
            return Err(format!("is not {}", self.allowed()));
        }
        let (size, unit) = match value {
            SettingValue::Integer(i) => (*i, ""),
            SettingValue::String(s) => (s.chars().count() as i64, " characters"),
            SettingValue::StringList(l) => (l.len() as i64, " items"),
            SettingValue::Boolean(_) => return Ok(()),
        };
        let out_of_bounds = match (self.min, self.max) {
            (Some(min), _) if size < min => Some(format!("is below the minimum of {min}{unit}")),
            (_, Some(max)) if size > max => Some(format!("is above the maximum of {max}{unit}")),
            _ => None,
        };
        if let Some(why) = out_of_bounds {
            return Err(format!("{why}; it must be {}", self.allowed()));
        }
        if let SettingValue::String(s) = value
            && !self.choices.is_empty()
            && !self.choices.contains(s)
        {
            return Err(format!("is not {}", self.allowed()));
        }
        Ok(())
    }

    /// The values allowed, for messages: `an integer from 1 to 100`.
    pub fn allowed(&self) -> String {
        if !self.choices.is_empty() {
            return format!("one of {}", quoted_list(&self.choices));
        }
        let kind = match self.kind {
            SettingType::String => "a string",
            SettingType::Integer => "an integer",
            SettingType::Boolean => return "`true` or `false`".into(),
            SettingType::StringList => "a list of strings",
        };
        let unit = match self.kind {
            SettingType::String => " characters long",
            SettingType::StringList => " items long",
            _ => "",
        };
        match (self.min, self.max) {
            (Some(min), Some(max)) => format!("{kind} from {min} to {max}{unit}"),
            (Some(min), None) => format!("{kind} of at least {min}{unit}"),
            (None, Some(max)) => format!("{kind} of at most {max}{unit}"),
            (None, None) => kind.into(),
        }
    }
}

fn quoted_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|c| format!("`{c}`")).collect();
    quoted.join(", ")
}

/// Most bytes of one choice.
pub const MAX_CHOICE_LEN: usize = 100;

/// Checks what a plugin declares: names, descriptions and choices (one
/// line each, no control or direction-changing characters), defaults
/// within their own bounds. Called by
/// [`Manifest::validate`](crate::Manifest::validate).
pub fn check_declared(settings: &BTreeMap<String, Setting>) -> Result<(), ManifestError> {
    check_settings(settings).map_err(|(field, problem)| crate::manifest::invalid(&field, problem))
}

fn check_settings(settings: &BTreeMap<String, Setting>) -> Result<(), (String, String)> {
    let text = |field: &str, value: &str, max: usize| {
        crate::manifest::check_short(field, value, max).map_err(|e| match e {
            ManifestError::Invalid { field, problem } => (field, problem),
            ManifestError::Syntax(problem) => (field.to_owned(), problem),
        })
    };
    if settings.len() > MAX_SETTINGS {
        return Err((
            "config".into(),
            format!(
                "declares {} settings; a plugin has at most {MAX_SETTINGS}",
                settings.len()
            ),
        ));
    }
    for (name, setting) in settings {
        let field = format!("config.{name}");
        let name_ok = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name.len() <= MAX_SETTING_NAME;
        if !name_ok {
            return Err((
                field,
                format!(
                    "is not a valid setting name; use lowercase letters, digits and `_`, \
                     starting with a letter, at most {MAX_SETTING_NAME} bytes"
                ),
            ));
        }
        let description = format!("{field}.description");
        text(&description, &setting.description, MAX_SETTING_DESCRIPTION)?;
        if setting.description.trim().is_empty() {
            return Err((description, "is empty; say what the setting does".into()));
        }
        if let (Some(min), Some(max)) = (setting.min, setting.max)
            && min > max
        {
            return Err((field, format!("has `min = {min}` above `max = {max}`")));
        }
        if setting.kind == SettingType::Boolean && (setting.min.is_some() || setting.max.is_some())
        {
            return Err((field, "is a boolean: `min` and `max` do not apply".into()));
        }
        if !setting.choices.is_empty() {
            if setting.kind != SettingType::String {
                return Err((field, "has `choices`, which only a string can have".into()));
            }
            if setting.choices.len() > MAX_CHOICES {
                return Err((field, format!("lists more than {MAX_CHOICES} choices")));
            }
            for (i, choice) in setting.choices.iter().enumerate() {
                let at = format!("{field}.choices[{i}]");
                text(&at, choice, MAX_CHOICE_LEN)?;
                if choice.is_empty() || setting.choices[..i].contains(choice) {
                    return Err((at, "is empty or listed twice".into()));
                }
            }
        }
        if setting.secret {
            if setting.kind != SettingType::String {
                return Err((field, "is a secret, which only a string can be".into()));
            }
            if setting.default.is_some() {
                return Err((
                    field,
                    "is a secret and so cannot have a default: the owner provides it".into(),
                ));
            }
        }
        if let Some(default) = &setting.default {
            setting
                .check(default)
                .map_err(|problem| (format!("{field}.default"), problem))?;
        }
    }
    Ok(())
}

/// One thing wrong with the owner's values, naming the setting and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` {problem}")]
pub struct SettingProblem {
    /// The key under `[plugins.<plugin>.config]`.
    pub key: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

/// Where the owner keeps a secret: `{ env = "VARIABLE" }` or
/// `{ file = "path" }` (relative to the bot's config file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource<'a> {
    /// An environment variable of the bot's process.
    Env(&'a str),
    /// A file holding the secret (a trailing newline is dropped).
    File(&'a str),
}

impl std::fmt::Display for SecretSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Env(variable) => write!(f, "the environment variable `{variable}`"),
            SecretSource::File(path) => write!(f, "the file `{path}`"),
        }
    }
}

impl<'a> SecretSource<'a> {
    /// Where `given` says the secret is, if it is written as one.
    pub fn of(given: &'a toml::Value) -> Option<Self> {
        let table = given.as_table().filter(|t| t.len() == 1)?;
        match (table.get("env"), table.get("file")) {
            (Some(v), None) => v.as_str().map(SecretSource::Env),
            (None, Some(v)) => v.as_str().map(SecretSource::File),
            _ => None,
        }
    }
}

/// Checks the owner's `values` against what the plugin `declared` and
/// returns the configuration the plugin gets, defaults filled in, as a JSON
/// object. `read_secret` reads a secret from where the owner keeps it, or
/// says why it cannot.
///
/// A plugin that declares no settings gets `values` as they are.
pub fn resolve(
    declared: &BTreeMap<String, Setting>,
    values: &toml::Table,
    read_secret: &dyn Fn(SecretSource<'_>) -> Result<String, String>,
) -> Result<serde_json::Map<String, serde_json::Value>, Vec<SettingProblem>> {
    if declared.is_empty() {
        return Ok(match serde_json::to_value(values) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        });
    }
    let mut problems = Vec::new();
    let mut problem = |key: &str, text: String| {
        problems.push(SettingProblem {
            key: key.to_owned(),
            problem: text,
        })
    };
    for key in values.keys().filter(|k| !declared.contains_key(*k)) {
        let names: Vec<&str> = declared.keys().map(String::as_str).collect();
        let hint = match closest(key, &names) {
            Some(close) => format!("did you mean `{close}`? "),
            None => String::new(),
        };
        problem(
            key,
            format!(
                "is not a setting of this plugin; {hint}its settings are {}",
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let mut resolved = serde_json::Map::new();
    for (name, setting) in declared {
        let value = match (values.get(name), setting.secret) {
            (None, _) => match &setting.default {
                Some(default) => default.clone(),
                None => {
                    let how = if setting.secret {
                        format!(
                            "`{name} = {{ env = \"VARIABLE\" }}` (and set VARIABLE where the bot runs) \
                             or `{name} = {{ file = \"path\" }}`"
                        )
                    } else {
                        format!("`{name} = …`, {}", setting.allowed())
                    };
                    problem(
                        name,
                        format!(
                            "is required ({}); add {how}",
                            setting.description.trim_end_matches('.')
                        ),
                    );
                    continue;
                }
            },
            (Some(given), true) => match read(given, read_secret) {
                Ok(secret) => SettingValue::String(secret),
                Err(why) => {
                    problem(name, why);
                    continue;
                }
            },
            (Some(given), false) => match given.clone().try_into::<SettingValue>() {
                Ok(value) => value,
                Err(_) => {
                    problem(
                        name,
                        format!("= {} is not {}", shown(given), setting.allowed()),
                    );
                    continue;
                }
            },
        };
        if let Err(why) = setting.check(&value) {
            let shown = if setting.secret {
                "(the secret)".to_owned()
            } else {
                shown_value(&value)
            };
            problem(name, format!("= {shown} {why}"));
            continue;
        }
        resolved.insert(name.clone(), value.to_json());
    }
    if problems.is_empty() {
        Ok(resolved)
    } else {
        Err(problems)
    }
}

/// Reads a secret given as `{ env = "VARIABLE" }` or `{ file = "path" }`.
fn read(
    given: &toml::Value,
    read_secret: &dyn Fn(SecretSource<'_>) -> Result<String, String>,
) -> Result<String, String> {
    let Some(source) = SecretSource::of(given) else {
        return Err("is a secret and is not written in the config file: write \
             `{ env = \"VARIABLE\" }` (and set VARIABLE where the bot runs) or \
             `{ file = \"path\" }`"
            .into());
    };
    read_secret(source).map_err(|why| format!("is read from {source}, but {why}"))
}

/// A TOML value as the owner wrote it, cut for a message.
fn shown(value: &toml::Value) -> String {
    let text = value.to_string();
    crate::text::quote(&text)
}

fn shown_value(value: &SettingValue) -> String {
    match value {
        SettingValue::Boolean(b) => format!("`{b}`"),
        SettingValue::Integer(i) => format!("`{i}`"),
        SettingValue::String(s) => crate::text::quote(&format!("{s:?}")),
        SettingValue::StringList(l) => crate::text::quote(&format!("{l:?}")),
    }
}

/// The declared name closest to `key` by edit distance, when close enough
/// to be a typo (at most two edits, and fewer than half the letters).
fn closest<'a>(key: &str, names: &[&'a str]) -> Option<&'a str> {
    names
        .iter()
        .map(|n| (edit_distance(key, n), *n))
        .filter(|(d, n)| *d <= 2 && *d * 2 < n.len().max(key.len()))
        .min()
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> BTreeMap<String, Setting> {
        toml::from_str(
            r#"
            [greeting]
            type = "string"
            description = "How the bot greets people."
            default = "Hello"

            [max_notes]
            type = "integer"
            description = "Notes kept per chat."
            default = 100
            min = 1
            max = 10000

            [style]
            type = "string"
            description = "How answers look."
            choices = ["plain", "fancy"]
            default = "plain"

            [api_token]
            type = "string"
            description = "The weather service's API token."
            secret = true
            "#,
        )
        .expect("declared settings")
    }

    fn env(source: SecretSource<'_>) -> Result<String, String> {
        match source {
            SecretSource::Env("WEATHER_TOKEN") => Ok("s3cret".to_owned()),
            SecretSource::Env(_) => Err("it is not set".into()),
            SecretSource::File(_) => Err("it cannot be read".into()),
        }
    }

    fn problems(values: &str) -> Vec<String> {
        let values: toml::Table = toml::from_str(values).expect("values");
        match resolve(&declared(), &values, &env) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn defaults_fill_what_the_owner_left_out_and_secrets_come_from_the_environment() {
        let values: toml::Table =
            toml::from_str(r#"api_token = { env = "WEATHER_TOKEN" }"#).expect("values");
        let resolved = resolve(&declared(), &values, &env).expect("valid");
        assert_eq!(resolved["greeting"], "Hello");
        assert_eq!(resolved["max_notes"], 100);
        assert_eq!(resolved["style"], "plain");
        assert_eq!(resolved["api_token"], "s3cret");
    }

    #[test]
    fn each_wrong_value_is_named_with_the_fix() {
        let found = problems(
            r#"
            max_notes = 0
            style = "loud"
            greting = "Hi"
            api_token = "pasted-in-the-file"
            "#,
        );
        assert_eq!(
            found,
            [
                "`greting` is not a setting of this plugin; did you mean `greeting`? its settings are `api_token`, `greeting`, `max_notes`, `style`",
                "`api_token` is a secret and is not written in the config file: write `{ env = \"VARIABLE\" }` (and set VARIABLE where the bot runs) or `{ file = \"path\" }`",
                "`max_notes` = `0` is below the minimum of 1; it must be an integer from 1 to 10000",
                "`style` = `\"loud\"` is not one of `plain`, `fancy`",
            ]
        );
        assert_eq!(
            problems("max_notes = \"many\"\napi_token = { env = \"UNSET\" }"),
            [
                "`api_token` is read from the environment variable `UNSET`, but it is not set",
                "`max_notes` = `\"many\"` is not an integer from 1 to 10000",
            ]
        );
        assert_eq!(
            problems(""),
            [
                "`api_token` is required (The weather service's API token); add `api_token = { env = \"VARIABLE\" }` (and set VARIABLE where the bot runs) or `api_token = { file = \"path\" }`"
            ]
        );
    }

    #[test]
    fn a_plugin_without_settings_takes_any_table() {
        let values: toml::Table = toml::from_str("anything = [1, 2]").expect("values");
        let resolved = resolve(&BTreeMap::new(), &values, &env).expect("untyped");
        assert_eq!(resolved["anything"], serde_json::json!([1, 2]));
    }

    #[test]
    fn declarations_are_checked() {
        let bad = |text: &str| {
            let settings: BTreeMap<String, Setting> = toml::from_str(text).expect("shape");
            check_settings(&settings).expect_err("refused")
        };
        assert_eq!(
            bad("[n]\ntype = \"integer\"\ndescription = \"d\"\ndefault = 5\nmax = 3").0,
            "config.n.default"
        );
        assert_eq!(
            bad("[Bad]\ntype = \"string\"\ndescription = \"d\"").0,
            "config.Bad"
        );
        assert!(
            bad("[t]\ntype = \"string\"\ndescription = \"d\"\nsecret = true\ndefault = \"x\"")
                .1
                .contains("cannot have a default")
        );
        assert!(
            bad("[f]\ntype = \"boolean\"\ndescription = \"d\"\nchoices = [\"a\"]")
                .1
                .contains("only a string")
        );
        // Text an owner reads is one plain line.
        let choices =
            "[s]\ntype = \"string\"\ndescription = \"d\"\nchoices = [\"a\", \"\\u001b[2J\"]";
        assert_eq!(bad(choices).0, "config.s.choices[1]");
        let twice = "[s]\ntype = \"string\"\ndescription = \"d\"\nchoices = [\"a\", \"a\"]";
        assert_eq!(bad(twice).0, "config.s.choices[1]");
        let bidi = "[s]\ntype = \"string\"\ndescription = \"d\\u202e\"";
        assert_eq!(bad(bidi).0, "config.s.description");
    }
}
