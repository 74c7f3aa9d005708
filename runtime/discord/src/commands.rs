//! Slash commands: what the installed plugins declare, as Discord registers
//! it.
//!
//! Every command name the router routes becomes a slash command (under that
//! name, for the plugin that owns it: see [`plugboard_model::commands`]) with the
//! manifest's `help` as its description and its `options` as Discord
//! options. A command without declared options gets one optional text
//! option, `args`, holding the whole argument text, so `/roll args:2d6`
//! reaches the plugin exactly like `!roll 2d6`. A `/help` command, answered
//! by the router from the manifests, is added unless the owner gave `/help`
//! to a plugin. Commands that lost their name to another plugin are not
//! registered; prefix commands reach them as `!<plugin>.<command>`.
//!
//! The set is registered with one bulk overwrite (globally, or in one guild
//! when `guild_id` is configured, which takes effect at once: handy while
//! developing), and only when it differs from what this bot registered last
//! time, as remembered in the store.

use std::collections::HashMap;

use plugboard_model::Catalog;
use plugboard_registry_types::manifest::{CommandOption, OptionKind};
use plugboard_registry_types::{EventKind, Manifest};
use serde_json::{Value, json};

/// Longest command description Discord accepts, in characters.
pub const MAX_DESCRIPTION: usize = 100;
/// Most slash commands one application may register in one scope.
pub const MAX_COMMANDS: usize = 100;
/// The option offered by commands that declare none.
pub const ARGS_OPTION: &str = "args";

/// One slash command, ready to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    /// The name, without `/`.
    pub name: String,
    /// What it does, 1 to [`MAX_DESCRIPTION`] characters.
    pub description: String,
    /// The declared options; empty means the single [`ARGS_OPTION`].
    pub options: Vec<CommandOption>,
}

/// What the adapter needs to know about the loaded plugins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginSet {
    /// The slash commands, sorted by name.
    pub commands: Vec<SlashCommand>,
    /// The event kinds some plugin subscribes to.
    pub events: Vec<EventKind>,
}

impl PluginSet {
    /// The commands and subscriptions of `manifests`, the first loaded
    /// owning a name two declare (see [`plugboard_model::commands`]).
    pub fn of<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> Self {
        let manifests: Vec<&Manifest> = manifests.into_iter().collect();
        let assignment =
            plugboard_model::commands::assign(manifests.iter().copied(), &Default::default());
        Self::routed(&manifests, &assignment)
    }

    /// The commands as the bot routes them, and its plugins' subscriptions.
    pub fn of_catalog(catalog: &Catalog) -> Self {
        let manifests: Vec<&Manifest> = catalog.manifests.iter().collect();
        Self::routed(&manifests, &catalog.assignment)
    }

    /// The commands of `assignment` (each under the name that reaches it,
    /// as the router routes it) and the subscriptions of `manifests`, the
    /// plugins in the assignment's load order.
    pub fn routed(
        manifests: &[&Manifest],
        assignment: &plugboard_model::commands::Assignment,
    ) -> Self {
        let mut commands: Vec<SlashCommand> = Vec::new();
        let mut events = Vec::new();
        for (name, (index, own)) in &assignment.routes {
            let Some(manifest) = manifests.get(*index) else {
                continue;
            };
            let Some(command) = manifest.command(own) else {
                continue;
            };
            let mut description = command.help.trim().to_owned();
            if description.is_empty() {
                description = command
                    .usage
                    .clone()
                    .filter(|_| name == own)
                    .unwrap_or_else(|| format!("/{name} ({})", manifest.name));
            }
            commands.push(SlashCommand {
                name: name.clone(),
                description: cut(&description, MAX_DESCRIPTION),
                options: command.options.clone(),
            });
        }
        for manifest in manifests {
            for kind in &manifest.events {
                if !events.contains(kind) {
                    events.push(*kind);
                }
            }
        }
        if !commands.iter().any(|c| c.name == "help") {
            commands.push(SlashCommand {
                name: "help".into(),
                description: "Lists the commands of this bot.".into(),
                options: Vec::new(),
            });
        }
        commands.sort_by(|a, b| a.name.cmp(&b.name));
        if commands.len() > MAX_COMMANDS {
            tracing::warn!(
                "discord: the plugins declare {} commands; Discord takes at most {MAX_COMMANDS}, so only the first {MAX_COMMANDS} by name are registered",
                commands.len()
            );
            commands.truncate(MAX_COMMANDS);
        }
        Self { commands, events }
    }

    /// Whether some plugin subscribes to `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.contains(&kind)
    }

    /// The body of Discord's bulk overwrite of the application's commands.
    pub fn registration(&self) -> Value {
        Value::Array(self.commands.iter().map(SlashCommand::to_json).collect())
    }

    /// For each command, the names of its options in declared order.
    pub fn option_order(&self) -> HashMap<String, Vec<String>> {
        self.commands
            .iter()
            .map(|c| {
                let names = match c.options.is_empty() {
                    true => vec![ARGS_OPTION.to_owned()],
                    false => c.options.iter().map(|o| o.name.clone()).collect(),
                };
                (c.name.clone(), names)
            })
            .collect()
    }
}

impl SlashCommand {
    fn to_json(&self) -> Value {
        let options: Vec<Value> = if self.options.is_empty() {
            vec![json!({
                "type": 3,
                "name": ARGS_OPTION,
                "description": "Arguments, as you would type them after the command",
                "required": false,
            })]
        } else {
            self.options
                .iter()
                .map(|o| {
                    json!({
                        "type": option_type(o.kind),
                        "name": o.name,
                        "description": cut(&o.description, MAX_DESCRIPTION),
                        "required": o.required,
                    })
                })
                .collect()
        };
        json!({
            "type": 1,
            "name": self.name,
            "description": self.description,
            "options": options,
        })
    }
}

/// Discord's number for an option type.
fn option_type(kind: OptionKind) -> u8 {
    match kind {
        OptionKind::Integer => 4,
        OptionKind::Boolean => 5,
        OptionKind::User => 6,
        OptionKind::Channel => 7,
        OptionKind::Number => 10,
        // `String`, and kinds added later, read as text.
        _ => 3,
    }
}

fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_become_slash_commands() {
        let manifest = Manifest::from_toml(
            r#"
            name = "notes"
            version = "1.0.0"
            description = "Notes."
            wit = "0.1"
            events = ["reaction"]
            [[commands]]
            name = "remember"
            help = "Stores a note."
            options = [{ name = "key", description = "Name of the note", required = true },
                       { name = "count", description = "How many", type = "integer" }]
            [[commands]]
            name = "recall"
            usage = "/recall <key>"
            "#,
        )
        .expect("valid");
        let set = PluginSet::of([&manifest]);
        let names: Vec<&str> = set.commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["help", "recall", "remember"]);
        assert!(set.wants(EventKind::Reaction) && !set.wants(EventKind::Message));
        let body = set.registration();
        assert_eq!(body[1]["description"], "/recall <key>");
        assert_eq!(body[1]["options"][0]["name"], "args");
        assert_eq!(body[2]["options"][1]["type"], 4);
        assert_eq!(body[2]["options"][0]["required"], true);
        assert_eq!(set.option_order()["remember"], ["key", "count"]);
        assert_eq!(cut(&"x".repeat(150), MAX_DESCRIPTION).chars().count(), 100);
    }
}
