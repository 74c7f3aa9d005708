//! What `plugboard plugins list` shows: one row per plugin, as a table for
//! people or as JSON for programs (and the admin API's `GET
//! /api/v1/plugins`, which the CLI renders the same way).
//!
//! Every cell is plugin-controlled text (names are checked, but
//! descriptions, versions, refusal reasons are not the owner's words), so
//! the table neutralises it with the shared rule
//! ([`text::escape`](plugboard_registry_types::text::escape)) and cuts it
//! to its column's width with an ellipsis ([`one_line`]): whatever a
//! manifest the loader accepts holds, the table has one line per plugin and
//! bounded width. The JSON keeps every value whole and exact (serde escapes
//! what JSON must).

use plugboard_bot::control::LoadNotes;
use plugboard_bot::installed::Installed;
use plugboard_host::plugin::LoadedPlugin;
use plugboard_registry_types::text::one_line;
use plugboard_registry_types::{Manifest, Permission};
use serde::{Deserialize, Serialize};

use plugboard_model::commands::Assignment;

/// Widest cell of each column, in characters.
pub const COLUMN_WIDTHS: [usize; 6] = [32, 24, 9, 48, 40, 80];

/// One plugin's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRow {
    /// The plugin's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The registry it was installed from, for registry plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// `ok`, `disabled` (its `init` refused its configuration) or
    /// `suspended` (by its circuit breaker).
    pub status: String,
    /// Why it is disabled or suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its commands.
    pub commands: Vec<CommandRow>,
    /// The permissions it asks for.
    pub permissions: Vec<PermissionRow>,
    /// Its one-line description.
    pub description: String,
    /// The settings it declares, by name (the owner sets them in
    /// `[plugins.<name>.config]`, or in the console's form).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<String>,
}

/// One command of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRow {
    /// The name the plugin declares.
    pub name: String,
    /// The names users type to reach it (empty when another plugin owns
    /// its name; the qualified name always works).
    pub reached_as: Vec<String>,
    /// `<plugin>.<command>`, which always reaches it.
    pub qualified: String,
}

/// One permission a plugin asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionRow {
    /// The permission.
    pub name: Permission,
    /// Whether the owner granted it.
    pub granted: bool,
}

impl PluginRow {
    /// The row of plugin number `index` in `assignment`'s load order.
    pub fn new(
        index: usize,
        manifest: &Manifest,
        assignment: &Assignment,
        granted: impl Fn(Permission) -> bool,
    ) -> Self {
        let commands = manifest
            .commands
            .iter()
            .map(|spec| CommandRow {
                name: spec.name.clone(),
                reached_as: assignment
                    .names_of(index, &spec.name)
                    .map(str::to_owned)
                    .collect(),
                qualified: format!("{}.{}", manifest.name, spec.name),
            })
            .collect();
        Self {
            name: manifest.name.clone(),
            version: manifest.version.to_string(),
            registry: None,
            status: "ok".into(),
            reason: None,
            commands,
            permissions: manifest
                .permissions
                .iter()
                .map(|&name| PermissionRow {
                    name,
                    granted: granted(name),
                })
                .collect(),
            description: manifest.description.clone(),
            settings: manifest.config.keys().cloned().collect(),
        }
    }

    /// The row of the loaded `plugin`, number `index` in `assignment`'s
    /// load order, installed from `registry` (none: a local plugin);
    /// `disabled` says why its `init` refused its configuration.
    pub fn of(
        index: usize,
        plugin: &LoadedPlugin,
        assignment: &Assignment,
        registry: Option<String>,
        disabled: Option<String>,
    ) -> Self {
        let missing = plugin.missing_grants();
        let mut row = PluginRow::new(index, plugin.manifest(), assignment, |p| {
            !missing.contains(&p)
        });
        row.registry = registry;
        (row.status, row.reason) = match (disabled, plugin.suspended()) {
            (Some(reason), _) => ("disabled".into(), Some(reason)),
            (None, Some(reason)) => ("suspended".into(), Some(reason)),
            (None, None) => ("ok".into(), None),
        };
        row
    }

    /// The row's cells for the table, unescaped and uncut.
    fn cells(&self) -> [String; 6] {
        let commands: Vec<String> = self
            .commands
            .iter()
            .map(|c| match c.reached_as.as_slice() {
                [] => format!("/{} (taken)", c.qualified),
                names => names
                    .iter()
                    .map(|n| format!("/{n}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            })
            .collect();
        let permissions: Vec<String> = self
            .permissions
            .iter()
            .map(|p| match p.granted {
                true => p.name.to_string(),
                false => format!("{} (not granted)", p.name),
            })
            .collect();
        let version = match &self.registry {
            Some(registry) => format!("{} (from {registry})", self.version),
            None => self.version.clone(),
        };
        let or_dash = |list: Vec<String>, sep: &str| match list.is_empty() {
            true => "-".to_owned(),
            false => list.join(sep),
        };
        [
            self.name.clone(),
            version,
            self.status.clone(),
            or_dash(commands, " "),
            or_dash(permissions, ", "),
            self.description.clone(),
        ]
    }
}

/// Everything `plugboard plugins list` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The loaded plugins, in load order.
    pub plugins: Vec<PluginRow>,
    /// Plugins the config disables.
    pub disabled_in_config: Vec<String>,
    /// Plugins that could not be loaded, with the reason.
    pub not_loaded: Vec<String>,
    /// Commands declared by more than one plugin, and who answers them.
    pub command_conflicts: Vec<String>,
    /// `[commands]` entries that name no loaded plugin's command.
    pub unmatched_command_map: Vec<String>,
    /// Anything else the owner should know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Listing {
    /// The listing of `plugins`, in load order, each with its index in
    /// `assignment` and why its `init` refused its configuration (if it
    /// did); with `notes` from loading them, and the registry each came
    /// from according to `installed` (kept in `data_dir`).
    pub fn of<'a>(
        plugins: impl IntoIterator<Item = (usize, &'a std::sync::Arc<LoadedPlugin>, Option<String>)>,
        assignment: &Assignment,
        notes: &LoadNotes,
        installed: &Installed,
        data_dir: &std::path::Path,
    ) -> Listing {
        let installed_root = Installed::root(data_dir);
        let mut listing = Listing {
            disabled_in_config: notes.disabled_in_config.clone(),
            not_loaded: notes.not_loaded.clone(),
            command_conflicts: assignment
                .conflicts
                .iter()
                .map(ToString::to_string)
                .collect(),
            unmatched_command_map: assignment
                .unmatched
                .iter()
                .map(ToString::to_string)
                .collect(),
            ..Listing::default()
        };
        for (index, plugin, disabled) in plugins {
            let registry = installed
                .get(plugin.name())
                .filter(|_| plugin.dir().starts_with(&installed_root))
                .map(|p| p.registry.clone());
            listing
                .plugins
                .push(PluginRow::of(index, plugin, assignment, registry, disabled));
        }
        listing
    }

    /// The listing as exact JSON.
    pub fn to_json(&self) -> String {
        // Plain data with string keys; serializing it cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The listing as a table and notes for a terminal: every cell and note
    /// escaped and cut (see the module's page).
    pub fn to_text(&self) -> String {
        let mut rows = vec![
            [
                "NAME",
                "VERSION",
                "STATUS",
                "COMMANDS",
                "PERMISSIONS",
                "DESCRIPTION",
            ]
            .map(String::from),
        ];
        rows.extend(self.plugins.iter().map(PluginRow::cells));
        let mut out = render_table(&rows, &COLUMN_WIDTHS);
        let mut section = |title: Option<&str>, lines: Vec<String>| {
            if lines.is_empty() {
                return;
            }
            out.push('\n');
            if let Some(title) = title {
                out.push_str(title);
                out.push('\n');
            }
            for line in lines {
                out.push_str(&one_line(&line, NOTE_WIDTH));
                out.push('\n');
            }
        };
        section(
            None,
            self.disabled_in_config
                .iter()
                .map(|n| format!("{n}: disabled in the config"))
                .collect(),
        );
        for plugin in &self.plugins {
            let name = &plugin.name;
            let line = match (plugin.status.as_str(), &plugin.reason) {
                ("suspended", Some(reason)) => {
                    format!("{name}: suspended: {reason}; resume with `plugboard resume {name}`")
                }
                (status, Some(reason)) => format!("{name}: {status}: {reason}"),
                _ => continue,
            };
            section(None, vec![line]);
        }
        section(Some("not loaded:"), indent(&self.not_loaded));
        section(Some("command conflicts:"), indent(&self.command_conflicts));
        section(
            Some("ignored [commands] entries:"),
            indent(&self.unmatched_command_map),
        );
        for plugin in &self.plugins {
            let missing: Vec<&str> = plugin
                .permissions
                .iter()
                .filter(|p| !p.granted)
                .map(|p| p.name.as_str())
                .collect();
            if !missing.is_empty() {
                let name = &plugin.name;
                section(
                    None,
                    vec![format!(
                        "{name}: not granted {}; grant with `plugboard grant {name} {}`",
                        missing.join(", "),
                        missing.join(" ")
                    )],
                );
            }
        }
        if let Some(note) = &self.note {
            section(None, vec![format!("note: {note}")]);
        }
        out
    }
}

/// Widest note line, in characters.
pub const NOTE_WIDTH: usize = 2_000;

fn indent(lines: &[String]) -> Vec<String> {
    lines.iter().map(|l| format!("  {l}")).collect()
}

/// Renders `rows` as left-aligned columns two spaces apart, one line per
/// row: each cell escaped to one line and cut to its column's entry in
/// `max_widths` (the last column is not padded). Never panics, whatever
/// the cells hold.
pub fn render_table<const N: usize>(rows: &[[String; N]], max_widths: &[usize; N]) -> String {
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(max_widths)
                .map(|(cell, &max)| one_line(cell, max))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &cells {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < N {
                let pad = widths[i] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_registry_types::text::is_unsafe;

    #[test]
    fn tables_cut_escape_and_align_any_cell() {
        let rows = [
            ["a".to_owned(), "b".to_owned(), "c".to_owned()],
            [
                "x".repeat(70_000),
                "\x1b[2J\nnext\r".to_owned(),
                "é".repeat(5),
            ],
        ];
        let text = render_table(&rows, &[10, 8, 3]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0], "a           b         c");
        assert_eq!(lines[1], "xxxxxxxxx…  \\u{1b}[…  éé…");
        assert!(!text.chars().any(|c| c != '\n' && is_unsafe(c)));
    }
}
