//! Who answers which command: one plugin owns each command name.
//!
//! Two plugins may declare the same command (both `notes` and a newcomer
//! declare `remember`). Sending a user's `/remember pin 1234` to both would
//! hand the newcomer what was meant for `notes`, and both would answer. So
//! [`assign`] gives every name exactly one owner, and every part of the
//! program that needs to know (the router, `plugboard plugins list`, the
//! package manager checking an install) asks it:
//!
//! 1. The owner's `[commands]` table decides first: `remember = "notes"`
//!    gives `/remember` to `notes`; `r = "notes.remember"` makes `/r` a
//!    second name for it; `help = "menu.help_menu"` hands `/help` to a
//!    plugin (otherwise the host answers it).
//! 2. Otherwise the plugin loaded first keeps the name: local plugin
//!    directories first, in the order `plugin_dirs` lists them (alphabetical
//!    inside one), then registry plugins alphabetically. A registry plugin
//!    therefore never takes a command from a local one, and the package
//!    manager refuses to install a plugin whose commands are taken.
//! 3. A plugin that lost a name keeps its command under the qualified name
//!    `/<plugin>.<command>` (`/evil.remember`), which only reaches it when a
//!    user types it. Every plugin's every command is reachable that way.
//!
//! Names in [`RESERVED_COMMANDS`] cannot be declared by a plugin (the
//! manifest refuses them); of those, the owner may assign `help` and `start`.

use std::collections::BTreeMap;

use plugboard_registry_types::Manifest;
use plugboard_registry_types::manifest::{RESERVED_COMMANDS, check_command_name, check_name};
use plugboard_registry_types::text::quote;
use serde::Deserialize;

/// Reserved names the owner may still give to a plugin's command.
pub const ASSIGNABLE_RESERVED: &[&str] = &["help", "start"];

/// A plugin's command: `notes.remember`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QualifiedCommand {
    /// The plugin's name.
    pub plugin: String,
    /// The command as its manifest declares it.
    pub command: String,
}

impl std::fmt::Display for QualifiedCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.plugin, self.command)
    }
}

impl QualifiedCommand {
    /// Parses `plugin.command`; `None` when either part is not a valid name.
    pub fn parse(text: &str) -> Option<Self> {
        let (plugin, command) = text.split_once('.')?;
        (check_name(plugin).is_ok() && check_command_name(command).is_ok()).then(|| Self {
            plugin: plugin.to_owned(),
            command: command.to_owned(),
        })
    }
}

/// The owner's `[commands]` table: which plugin answers a command name.
///
/// ```toml
/// [commands]
/// remember = "notes"          # /remember goes to notes
/// r = "notes.remember"        # /r is notes' /remember too
/// help = "menu.help_menu"     # /help is menu's, not the host's
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "BTreeMap<String, String>")]
pub struct CommandMap(BTreeMap<String, QualifiedCommand>);

impl TryFrom<BTreeMap<String, String>> for CommandMap {
    type Error = String;

    fn try_from(table: BTreeMap<String, String>) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        for (name, target) in table {
            check_command_name(&name).map_err(|problem| format!("[commands] key {problem}"))?;
            if RESERVED_COMMANDS.contains(&name.as_str())
                && !ASSIGNABLE_RESERVED.contains(&name.as_str())
            {
                return Err(format!(
                    "[commands] `{name}` is the host's own command and cannot be given to a plugin"
                ));
            }
            let qualified = match target.split_once('.') {
                Some(_) => QualifiedCommand::parse(&target),
                None => check_name(&target).ok().map(|()| QualifiedCommand {
                    plugin: target.clone(),
                    command: name.clone(),
                }),
            }
            .ok_or_else(|| {
                format!(
                    "[commands] {name} = {}: write the plugin's name (`{name} = \"notes\"`) or \
                     the plugin and its command (`{name} = \"notes.remember\"`)",
                    quote(&target)
                )
            })?;
            map.insert(name, qualified);
        }
        Ok(Self(map))
    }
}

impl CommandMap {
    /// The owner's choice for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&QualifiedCommand> {
        self.0.get(name)
    }

    /// Every entry, by command name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &QualifiedCommand)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// A command name two plugins declare, and who answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The command name.
    pub command: String,
    /// The plugin that answers it.
    pub owner: String,
    /// The plugin that declares it too and does not get it.
    pub shadowed: String,
    /// Whether the owner's `[commands]` table decided (otherwise load order did).
    pub by_owner: bool,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Conflict {
            command,
            owner,
            shadowed,
            by_owner,
        } = self;
        if *by_owner {
            write!(
                f,
                "/{command} goes to `{owner}` as [commands] says; `{shadowed}`'s /{command} is reached as /{shadowed}.{command}"
            )
        } else {
            write!(
                f,
                "both `{owner}` and `{shadowed}` declare /{command}; `{owner}` answers it (loaded first) and \
                 `{shadowed}`'s is reached only as /{shadowed}.{command}. To choose, add \
                 `{command} = \"{shadowed}\"` (or \"{owner}\") under [commands] in plugboard.toml"
            )
        }
    }
}

/// A `[commands]` entry naming no loaded plugin's command (ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmatched {
    /// The command name the entry assigns.
    pub name: String,
    /// What it names.
    pub target: QualifiedCommand,
}

impl std::fmt::Display for Unmatched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Unmatched { name, target } = self;
        write!(
            f,
            "[commands] {name} = \"{target}\" is ignored: no loaded plugin `{}` declares /{}",
            target.plugin, target.command
        )
    }
}

/// Who answers what, for one set of plugins.
#[derive(Debug, Clone, Default)]
pub struct Assignment {
    /// Command name → (index of the plugin in load order, its own command name).
    pub routes: BTreeMap<String, (usize, String)>,
    /// Names declared by more than one plugin.
    pub conflicts: Vec<Conflict>,
    /// `[commands]` entries that name no loaded plugin's command (ignored).
    pub unmatched: Vec<Unmatched>,
}

impl Assignment {
    /// Conflicts the owner has not decided.
    pub fn undecided(&self) -> impl Iterator<Item = &Conflict> {
        self.conflicts.iter().filter(|c| !c.by_owner)
    }

    /// The names that reach plugin number `index`'s command `command`
    /// (its own, and aliases the owner gave it).
    pub fn names_of<'a>(
        &'a self,
        index: usize,
        command: &'a str,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.routes
            .iter()
            .filter(move |(_, (i, c))| *i == index && c == command)
            .map(|(name, _)| name.as_str())
    }

    /// Whether plugin number `index`'s command `command` is unreachable
    /// except by its qualified name.
    pub fn is_shadowed(&self, index: usize, command: &str) -> bool {
        self.names_of(index, command).next().is_none()
    }
}

/// What the rest of the bot may know about the loaded plugins: their
/// manifests in load order and who answers which command. The bot publishes
/// a new one whenever the plugin set changes; adapters that follow the
/// plugin set (Discord's slash commands) watch it.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The loaded plugins' manifests, in load order.
    pub manifests: Vec<Manifest>,
    /// Who answers which command among them.
    pub assignment: Assignment,
}

impl Catalog {
    /// The catalog of `manifests` (in load order) under the owner's `map`.
    pub fn new(manifests: Vec<Manifest>, map: &CommandMap) -> Self {
        let assignment = assign(&manifests, map);
        Self {
            manifests,
            assignment,
        }
    }
}

/// Decides who answers each command among `manifests`, in load order (see
/// the module's rules).
pub fn assign<'a>(
    manifests: impl IntoIterator<Item = &'a Manifest>,
    map: &CommandMap,
) -> Assignment {
    let manifests: Vec<&Manifest> = manifests.into_iter().collect();
    let mut out = Assignment::default();
    for (name, target) in map.iter() {
        let found = manifests
            .iter()
            .position(|m| m.name == target.plugin && m.command(&target.command).is_some());
        match found {
            Some(index) => {
                out.routes
                    .insert(name.to_owned(), (index, target.command.clone()));
            }
            None => out.unmatched.push(Unmatched {
                name: name.to_owned(),
                target: target.clone(),
            }),
        }
    }
    for (index, manifest) in manifests.iter().enumerate() {
        for spec in &manifest.commands {
            let name = &spec.name;
            match out.routes.get(name.as_str()) {
                None => {
                    out.routes.insert(name.clone(), (index, name.clone()));
                }
                Some((owner, command)) if *owner == index && command == name => {}
                Some((owner, _)) => out.conflicts.push(Conflict {
                    command: name.clone(),
                    owner: manifests[*owner].name.clone(),
                    shadowed: manifest.name.clone(),
                    by_owner: map.get(name).is_some(),
                }),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, commands: &[&str]) -> Manifest {
        let mut text =
            format!("name = \"{name}\"\nversion = \"1.0.0\"\ndescription = \"d\"\nwit = \"0.1\"\n");
        for c in commands {
            text.push_str(&format!("[[commands]]\nname = \"{c}\"\n"));
        }
        Manifest::from_toml(&text).expect("valid manifest")
    }

    fn map(entries: &[(&str, &str)]) -> Result<CommandMap, String> {
        CommandMap::try_from(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        )
    }

    fn owner_of(a: &Assignment, ms: &[Manifest], name: &str) -> Option<String> {
        a.routes
            .get(name)
            .map(|(i, c)| format!("{}.{c}", ms[*i].name))
    }

    #[test]
    fn one_owner_per_command_first_loaded_or_owner_mapped() {
        let ms = [
            manifest("notes", &["remember", "recall"]),
            manifest("evil", &["remember", "echo"]),
            manifest("echo", &["echo"]),
        ];
        /// (the `[commands]` entries, who answers which name, conflicts).
        type Case<'a> = (
            &'a [(&'a str, &'a str)],
            &'a [(&'a str, Option<&'a str>)],
            usize,
        );
        let cases: &[Case<'_>] = &[
            // No map: first loaded wins everything it declares.
            (
                &[],
                &[
                    ("remember", Some("notes.remember")),
                    ("echo", Some("evil.echo")),
                    ("recall", Some("notes.recall")),
                ],
                2,
            ),
            // The owner gives /remember to evil and /echo to echo.
            (
                &[("remember", "evil"), ("echo", "echo")],
                &[
                    ("remember", Some("evil.remember")),
                    ("echo", Some("echo.echo")),
                ],
                2,
            ),
            // An alias and /help for a plugin; a map entry naming nothing loaded.
            (
                &[
                    ("r", "evil.remember"),
                    ("help", "notes.recall"),
                    ("x", "ghost"),
                ],
                &[
                    ("r", Some("evil.remember")),
                    ("help", Some("notes.recall")),
                    ("remember", Some("notes.remember")),
                    ("x", None),
                ],
                2,
            ),
        ];
        for (entries, expected, conflicts) in cases {
            let a = assign(&ms, &map(entries).expect("valid map"));
            for (name, owner) in *expected {
                assert_eq!(
                    owner_of(&a, &ms, name).as_deref(),
                    *owner,
                    "{entries:?}: /{name}"
                );
            }
            assert_eq!(
                a.conflicts.len(),
                *conflicts,
                "{entries:?}: {:?}",
                a.conflicts
            );
        }
        let a = assign(&ms, &map(&[("remember", "evil")]).expect("valid"));
        let conflict = &a.conflicts[0];
        assert!(conflict.by_owner);
        assert_eq!(
            (conflict.owner.as_str(), conflict.shadowed.as_str()),
            ("evil", "notes")
        );
        assert!(a.is_shadowed(0, "remember"));
        assert!(!a.is_shadowed(1, "remember"));
        assert_eq!(a.undecided().count(), 1, "/echo is still undecided");
        let text = assign(&ms, &CommandMap::default()).conflicts[0].to_string();
        assert!(
            text.contains("both `notes` and `evil` declare /remember"),
            "{text}"
        );
        assert!(text.contains("remember = \"evil\""), "{text}");
    }

    #[test]
    fn the_map_refuses_what_it_cannot_mean() {
        for (entry, expected) in [
            (("plugboard", "notes"), "host's own command"),
            (("link", "notes"), "host's own command"),
            (("Bad", "notes"), "[commands] key"),
            (("r", "notes."), "write the plugin's name"),
            (("r", "No\u{1b}[2J"), "`No\\u{1b}[2J`"),
        ] {
            let err = map(&[entry]).expect_err("refused");
            assert!(err.contains(expected), "{entry:?}: {err}");
        }
        assert!(map(&[("help", "menu.show"), ("start", "welcome")]).is_ok());
    }

    #[test]
    fn qualified_names_parse_strictly() {
        assert_eq!(
            QualifiedCommand::parse("my-notes.re_member").map(|q| q.to_string()),
            Some("my-notes.re_member".into())
        );
        for bad in ["notes", ".x", "notes.", "Notes.x", "notes.X", "a.b.c"] {
            assert_eq!(QualifiedCommand::parse(bad), None, "{bad}");
        }
    }
}
