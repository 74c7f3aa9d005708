//! The owner's settings of one plugin (`[plugins.<name>.config]`), changed
//! while the bot runs: written into `plugboard.toml` keeping its comments
//! and layout, and described for the audit log without showing a secret.
//!
//! The check of the values is [`plugboard_registry_types::settings::resolve`],
//! the same one loading a plugin runs; restarting the plugin with them is
//! [`Control::change_plugin_config`](crate::control::Control::change_plugin_config).
//!
//! What it must not touch: any other part of the file than the one
//! plugin's `config` table.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use plugboard_registry_types::settings::{SecretSource, Setting};
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

/// `text`, a `plugboard.toml`, with the table `[plugins.<plugin>.config]`
/// holding exactly `values`: keys kept keep their place and comments, keys
/// not in `values` go (their defaults apply), new ones are added; the
/// table is made when missing. The error names what in the file is in the
/// way.
pub fn with_plugin_config(
    text: &str,
    plugin: &str,
    values: &toml::Table,
) -> Result<String, String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("the config file does not parse: {e}"))?;
    let implicit = || {
        let mut table = Table::new();
        table.set_implicit(true);
        Item::Table(table)
    };
    let plugins = doc
        .as_table_mut()
        .entry("plugins")
        .or_insert_with(implicit)
        .as_table_like_mut()
        .ok_or("`plugins` in the config file is not a table")?;
    let section = plugins
        .entry(plugin)
        .or_insert_with(implicit)
        .as_table_like_mut()
        .ok_or_else(|| format!("`plugins.{plugin}` in the config file is not a table"))?;
    let config = section
        .entry("config")
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| format!("`plugins.{plugin}.config` in the config file is not a table"))?;
    let gone: Vec<String> = config
        .iter()
        .map(|(key, _)| key.to_owned())
        .filter(|key| !values.contains_key(key))
        .collect();
    for key in gone {
        config.remove(&key);
    }
    for (key, value) in values {
        let mut edited = edit_value(value)
            .ok_or_else(|| format!("`{key}`: a date or time is not a setting's value"))?;
        match config.get_mut(key) {
            // In place: the key keeps its comments, the value its own.
            Some(Item::Value(old)) => {
                if old.to_string().trim() != edited.to_string().trim() {
                    *edited.decor_mut() = old.decor().clone();
                    *old = edited;
                }
            }
            Some(other) => *other = Item::Value(edited),
            None => {
                config.insert(key, Item::Value(edited));
            }
        }
    }
    Ok(doc.to_string())
}

/// A TOML value as the editor writes it; none for dates and times, which
/// no setting takes.
fn edit_value(value: &toml::Value) -> Option<Value> {
    Some(match value {
        toml::Value::String(s) => s.as_str().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Array(items) => {
            Value::Array(items.iter().map(edit_value).collect::<Option<_>>()?)
        }
        toml::Value::Table(table) => {
            let mut inline = InlineTable::new();
            for (key, value) in table {
                inline.insert(key, edit_value(value)?);
            }
            Value::InlineTable(inline)
        }
        toml::Value::Datetime(_) => return None,
    })
}

/// What changed from `before` to `after` (both as the owner writes them),
/// one line per setting, for the audit log and the answer: a secret shows
/// where it is read from, never its value. Empty when nothing changed.
pub fn describe(
    declared: &BTreeMap<String, Setting>,
    before: &toml::Table,
    after: &toml::Table,
) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let shown = |key: &str, value: Option<&toml::Value>| match value {
        None => "default".to_owned(),
        Some(value) if declared.get(key).is_some_and(|s| s.secret) => match SecretSource::of(value)
        {
            Some(source) => format!("from {source}"),
            None => "a secret".to_owned(),
        },
        Some(value) => plugboard_registry_types::text::one_line(&value.to_string(), 80),
    };
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| {
            format!(
                "{key}: {} → {}",
                shown(key, before.get(key)),
                shown(key, after.get(key))
            )
        })
        .collect()
}

/// Replaces the file at `path` with `text` in one step (a reader sees the
/// old file or the new one, never half), keeping its permissions.
pub fn replace_file(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temporary = tempfile::NamedTempFile::new_in(dir)?;
    temporary.write_all(text.as_bytes())?;
    temporary.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(temporary.path(), meta.permissions())?;
    }
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).expect("table")
    }

    #[test]
    fn a_plugins_settings_are_rewritten_in_place_keeping_comments_and_other_sections() {
        let text = "# my bot\n[runtime]\ndata_dir = \"data\" # here\n\n[plugins.notes]\ngrants = [\"kv\"]\n\n\
                    [plugins.notes.config]\n# how many\nmax_notes = 100\nold = true\n\n[plugins.dice]\nenabled = false\n";
        let out = with_plugin_config(text, "notes", &table("max_notes = 50\ngreeting = \"hi\"\n"))
            .expect("edited");
        assert!(
            out.starts_with("# my bot\n[runtime]\ndata_dir = \"data\" # here\n"),
            "{out}"
        );
        assert!(out.contains("# how many\nmax_notes = 50\n"), "{out}");
        assert!(out.contains("greeting = \"hi\""), "{out}");
        assert!(!out.contains("old"), "{out}");
        assert!(out.contains("[plugins.dice]\nenabled = false\n"), "{out}");
        let parsed: toml::Table = toml::from_str(&out).expect("still TOML");
        assert_eq!(parsed["plugins"]["notes"]["grants"][0].as_str(), Some("kv"));
    }

    #[test]
    fn a_missing_section_is_made_and_an_inline_one_stays_inline() {
        let made = with_plugin_config(
            "[console]\nenabled = true\n",
            "dice",
            &table("max_dice = 5"),
        )
        .expect("made");
        let parsed: toml::Table = toml::from_str(&made).expect("TOML");
        assert_eq!(
            parsed["plugins"]["dice"]["config"]["max_dice"].as_integer(),
            Some(5)
        );
        assert!(made.contains("[plugins.dice.config]"), "{made}");
        let inline = with_plugin_config(
            "[plugins.w]\nconfig = { city = \"Oslo\" }\n",
            "w",
            &table("city = \"Bergen\"\ntoken = { env = \"W_TOKEN\" }\n"),
        )
        .expect("inline");
        assert!(inline.contains("config = { city = \"Bergen\""), "{inline}");
        assert!(inline.contains("token = { env = \"W_TOKEN\" }"), "{inline}");
        let err =
            with_plugin_config("plugins = 3\n", "w", &table("a = 1")).expect_err("in the way");
        assert!(
            err.contains("`plugins` in the config file is not a table"),
            "{err}"
        );
    }

    #[test]
    fn a_change_is_described_without_a_secrets_value() {
        let declared: BTreeMap<String, Setting> = toml::from_str(
            "[max]\ntype = \"integer\"\ndescription = \"d\"\ndefault = 1\n\
             [token]\ntype = \"string\"\ndescription = \"d\"\nsecret = true\n",
        )
        .expect("declared");
        let lines = describe(
            &declared,
            &table("max = 3\ntoken = { env = \"A\" }\n"),
            &table("token = { file = \"secret.txt\" }\n"),
        );
        assert_eq!(
            lines,
            [
                "max: 3 → default",
                "token: from the environment variable `A` → from the file `secret.txt`"
            ]
        );
        assert!(describe(&declared, &table("max = 3"), &table("max = 3")).is_empty());
    }
}
