//! The plugin manifest, `plugin.toml`.
//!
//! Every plugin package carries one next to its component. It names the
//! plugin, says which version of the `plugboard:plugin` WIT contract the
//! component was built against, lists the commands the plugin answers and the
//! event kinds it wants, and declares the permissions it needs, so that a bot
//! owner can see them before installing.

use std::collections::BTreeMap;
use std::fmt;

use semver::{Version, VersionReq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::interfaces::{InterfaceName, MAX_INTERFACES};
use crate::text;

/// Longest plugin name, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest command name, in bytes (Telegram's and Discord's limit).
pub const MAX_COMMAND_LEN: usize = 32;
/// Longest one-line description, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 300;
/// Most `categories` a manifest may list.
pub const MAX_CATEGORIES: usize = 5;
/// Most `keywords` a manifest may list.
pub const MAX_KEYWORDS: usize = 5;
/// Longest category or keyword, in bytes.
pub const MAX_SLUG_LEN: usize = 32;
/// Largest `plugin.toml`, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// Longest version, as written, in bytes.
pub const MAX_VERSION_LEN: usize = 64;
/// Most commands one plugin may declare (Discord registers at most 100).
pub const MAX_COMMANDS: usize = 100;
/// Longest `help` of a command, in bytes.
pub const MAX_HELP_LEN: usize = 200;
/// Longest `usage` of a command, in bytes.
pub const MAX_USAGE_LEN: usize = 100;
/// Most `authors` a manifest may list.
pub const MAX_AUTHORS: usize = 10;
/// Longest author, licence expression, `homepage` or `repository`, in bytes.
pub const MAX_FIELD_LEN: usize = 512;
/// Most origins `http` may list.
pub const MAX_HTTP_ORIGINS: usize = 32;
/// Most `dependencies` a manifest may list.
pub const MAX_DEPENDENCIES: usize = 64;
/// Command names no plugin may declare: the host answers `/help` (unless the
/// owner assigns it to a plugin), `/plugboard` is the owner's console
/// command, `/start` is kept for Telegram's first contact, and the host
/// answers the people commands itself: `/link` and `/unlink` (accounts
/// across platforms), `/role`, `/roles`, `/ban`, `/unban` and `/plugins`
/// (which plugins serve a chat).
pub const RESERVED_COMMANDS: &[&str] = &[
    "help",
    "plugboard",
    "start",
    "link",
    "unlink",
    "role",
    "roles",
    "ban",
    "unban",
    "plugins",
];

/// A parsed and validated `plugin.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct Manifest {
    /// The plugin's unique name: lowercase ASCII letters, digits and `-`,
    /// starting with a letter.
    pub name: String,
    /// The plugin's own version.
    pub version: Version,
    /// One line saying what the plugin does.
    pub description: String,
    /// An SPDX licence expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// The version of the `plugboard:plugin` WIT package the component was
    /// built against (`"0.1"` means `0.1.0`).
    #[serde(with = "loose_version")]
    pub wit: Version,
    /// Who wrote the plugin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// Where to read more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homepage: Option<String>,
    /// Where the source lives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// The permissions the plugin needs; see [`Permission`].
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// With the `http` permission: the origins the plugin calls, as
    /// `scheme://host[:port]` patterns. `*.` before the host matches any
    /// subdomain; `:*` matches any port (e.g. `https://api.example.com`,
    /// `https://*.github.com`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<String>,
    /// The commands the plugin answers.
    #[serde(default)]
    pub commands: Vec<CommandSpec>,
    /// The event kinds, beyond its own commands, that the plugin wants.
    #[serde(default)]
    pub events: Vec<EventKind>,
    /// Other plugins this one depends on, with cargo-style version requirements.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dependencies: BTreeMap<String, VersionReq>,
    /// The WIT interfaces the plugin exports for other plugins to call,
    /// as `namespace:package/interface@version` (for example
    /// `plugins:economy/api@1.0.0`); see [`crate::interfaces`]. The
    /// component must export each of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provides: Vec<String>,
    /// The interfaces of other plugins this one calls, each provided by
    /// one of its `dependencies` at a compatible version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
    /// Marketplace categories the plugin belongs to, such as `games` or
    /// `moderation`: at most [`MAX_CATEGORIES`] lowercase slugs (see
    /// [`check_slug`]). The registry's search filters on them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// Words that help people find the plugin in the marketplace search:
    /// at most [`MAX_KEYWORDS`] lowercase slugs (see [`check_slug`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// The settings the plugin takes from the bot owner
    /// (`[config.<name>]`), checked before its `init`; see
    /// [`settings`](crate::settings). None declared: any table is passed on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, crate::settings::Setting>,
    /// The webhooks it receives (`[webhooks.<name>]`), by name: other
    /// services post to `/hooks/<plugin>/<name>` on the bot's admin
    /// listener, signed with a secret the owner sets (contract 0.2 and
    /// later).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub webhooks: BTreeMap<String, WebhookSpec>,
}

/// A webhook a plugin receives (`[webhooks.<name>]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct WebhookSpec {
    /// What sends it and what the plugin does with it, in one line.
    pub description: String,
    /// The largest body taken, in bytes: 64 KiB unless set, at most 1 MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u32>,
}

/// The largest body a webhook takes unless its manifest says otherwise.
pub const DEFAULT_WEBHOOK_BYTES: u32 = 64 * 1024;
/// The largest body any webhook may take.
pub const MAX_WEBHOOK_BYTES: u32 = 1024 * 1024;
/// Most webhooks one plugin may declare.
pub const MAX_WEBHOOKS: usize = 16;

impl WebhookSpec {
    /// The largest body taken, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes.unwrap_or(DEFAULT_WEBHOOK_BYTES) as usize
    }
}

/// A command a plugin answers, such as `/roll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct CommandSpec {
    /// The name without prefix: lowercase ASCII letters, digits and `_`, at most 32 bytes.
    pub name: String,
    /// What the command does, shown by `/help` and in Discord's command picker.
    #[serde(default)]
    pub help: String,
    /// How to call it, e.g. `/roll [NdM]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
    /// The arguments, for platforms that ask for them one by one (Discord's
    /// slash commands), in the order the plugin receives them in
    /// `command.args`. Required options come first. Without any, Discord
    /// offers one optional text option, `args`, holding the whole argument
    /// text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<CommandOption>,
    /// The least role a person needs to run it (`admin`, `moderator`, or
    /// a role the bot owner defines, like `premium`); everyone when absent.
    /// The bot owner may override it per command and per chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<crate::roles::Role>,
}

/// Longest description of a command option, in characters (Discord's limit).
pub const MAX_OPTION_DESCRIPTION_LEN: usize = 100;
/// Most options one command may declare (Discord's limit).
pub const MAX_OPTIONS: usize = 25;

/// One argument of a command, as Discord's slash-command picker asks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[non_exhaustive]
pub struct CommandOption {
    /// The option's name: lowercase ASCII letters, digits and `_`, at most 32 bytes.
    pub name: String,
    /// What to enter, 1 to [`MAX_OPTION_DESCRIPTION_LEN`] characters.
    pub description: String,
    /// What kind of value it takes.
    #[serde(rename = "type", default)]
    pub kind: OptionKind,
    /// Whether the user must give it.
    #[serde(default)]
    pub required: bool,
}

/// The kind of value a [`CommandOption`] takes. The plugin receives every
/// value as text: numbers in decimal, booleans as `true`/`false`, users and
/// channels as the platform's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OptionKind {
    /// Any text.
    #[default]
    String,
    /// A whole number.
    Integer,
    /// A number with a fraction.
    Number,
    /// Yes or no.
    Boolean,
    /// A user of the chat.
    User,
    /// A channel.
    Channel,
}

/// A permission a plugin may ask for. The owner grants it; host calls that
/// need a permission the plugin was not granted are refused with an error the
/// plugin sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Permission {
    /// Use the plugin's private key-value store.
    Kv,
    /// Send messages to chats other than the one of the current event.
    SendAnyChat,
    /// Make HTTP requests to the origins listed in the manifest's `http`.
    Http,
    /// Mention `@everyone` and `@here` in Discord servers (without it they
    /// are shown but notify nobody).
    MentionEveryone,
    /// Set timers that wake the plugin later (contract 0.2's `schedule`).
    Schedule,
    /// See the stable id of the person behind an account, the same on
    /// every platform the person linked and for every plugin with this
    /// permission. Without it a plugin sees, for a linked person, an id of
    /// its own (stable, but different in every plugin).
    Identity,
    /// Ask whether the person who sent the event being handled holds a
    /// role (`admin`, `premium`, …) in that event's chat (contract 0.2's
    /// `people`); the answer is yes or no, and nothing else about them.
    Roles,
}

impl Permission {
    /// Every permission, for listings and error messages.
    pub const ALL: &'static [Permission] = &[
        Permission::Kv,
        Permission::SendAnyChat,
        Permission::Http,
        Permission::MentionEveryone,
        Permission::Schedule,
        Permission::Identity,
        Permission::Roles,
    ];

    /// The permission's own bit, distinct for every permission (for
    /// sets kept in one machine word).
    pub fn bit(self) -> u32 {
        let index = Permission::ALL
            .iter()
            .position(|p| *p == self)
            .unwrap_or(Permission::ALL.len());
        1 << index
    }

    /// The name used in `plugin.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Kv => "kv",
            Permission::SendAnyChat => "send-any-chat",
            Permission::Http => "http",
            Permission::MentionEveryone => "mention-everyone",
            Permission::Schedule => "schedule",
            Permission::Identity => "identity",
            Permission::Roles => "roles",
        }
    }

    /// What the permission allows, in plain words for the bot owner.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::Kv => "store data in its own private key-value store",
            Permission::SendAnyChat => {
                "send messages to any chat, not only answer where it is used"
            }
            Permission::Http => "make HTTP requests to the web addresses listed in its manifest",
            Permission::MentionEveryone => "mention @everyone and @here in Discord servers",
            Permission::Schedule => {
                "set timers that wake it later, to post in the chat where they were set"
            }
            Permission::Identity => {
                "recognise a person across the platforms they linked, with the same id other plugins see"
            }
            Permission::Roles => {
                "ask whether the person sending a message holds a role (admin, premium…); it learns nothing else about them"
            }
        }
    }
}

impl std::str::FromStr for Permission {
    type Err = String;

    /// Parses a permission's name as written in `plugin.toml` (`kv`, …).
    fn from_str(name: &str) -> Result<Self, String> {
        Permission::ALL
            .iter()
            .copied()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
                format!(
                    "unknown permission `{name}`; the permissions are: {}",
                    known.join(", ")
                )
            })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event kind a plugin may subscribe to in addition to its commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EventKind {
    /// Every message that is not a command.
    Message,
    /// Edits of messages.
    Edited,
    /// Reactions added or removed.
    Reaction,
    /// Users joining chats.
    MemberJoined,
    /// Users leaving chats.
    MemberLeft,
    /// Scheduled ticks.
    Tick,
}

impl EventKind {
    /// The name used in `plugin.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Message => "message",
            EventKind::Edited => "edited",
            EventKind::Reaction => "reaction",
            EventKind::MemberJoined => "member-joined",
            EventKind::MemberLeft => "member-left",
            EventKind::Tick => "tick",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a `plugin.toml` was refused. Every message names the problem and how to
/// fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file is not valid TOML or does not have the manifest's shape.
    #[error("{0}")]
    Syntax(String),
    /// A field has a value the rules refuse.
    #[error("`{field}` {problem}")]
    Invalid {
        /// The offending field, e.g. `name` or `commands[2].name`.
        field: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

/// Parses the names in `provides` or `imports`: at most
/// [`MAX_INTERFACES`], none in a host namespace, none twice.
fn check_interfaces(field: &str, names: &[String]) -> Result<Vec<InterfaceName>, ManifestError> {
    if names.len() > MAX_INTERFACES {
        return Err(invalid(
            field,
            format!(
                "lists {} interfaces; keep at most {MAX_INTERFACES}",
                names.len()
            ),
        ));
    }
    let mut parsed: Vec<InterfaceName> = Vec::with_capacity(names.len());
    for (i, text) in names.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let name: InterfaceName = text.parse().map_err(|problem| {
            invalid(
                &at,
                format!("`{}` {problem}", text::escape(&text::cut(text, 80), false)),
            )
        })?;
        if name.is_reserved() {
            return Err(invalid(
                &at,
                format!(
                    "`{name}` is in the host's namespace `{}`; plugins provide and import interfaces in a namespace of their own (e.g. `plugins:` or your organisation's)",
                    name.namespace
                ),
            ));
        }
        if let Some(twice) = parsed
            .iter()
            .find(|p| p.unversioned() == name.unversioned())
        {
            return Err(invalid(
                &at,
                format!(
                    "names `{}` a second time (also `{twice}`); keep one version",
                    name.unversioned()
                ),
            ));
        }
        parsed.push(name);
    }
    Ok(parsed)
}

impl Manifest {
    /// Checks `[webhooks.<name>]`: names, descriptions, sizes, and a
    /// contract that has webhooks.
    fn check_webhooks(&self) -> Result<(), ManifestError> {
        if self.webhooks.is_empty() {
            return Ok(());
        }
        if self.wit < Version::new(0, 2, 0) {
            return Err(invalid(
                "webhooks",
                format!(
                    "need contract 0.2 or later (`wit = \"0.2\"`); this plugin is built for {}",
                    self.wit
                ),
            ));
        }
        if self.webhooks.len() > MAX_WEBHOOKS {
            return Err(invalid(
                "webhooks",
                format!(
                    "declares {} webhooks; a plugin has at most {MAX_WEBHOOKS}",
                    self.webhooks.len()
                ),
            ));
        }
        for (name, hook) in &self.webhooks {
            let field = format!("webhooks.{name}");
            let good_name = !name.is_empty()
                && name.len() <= 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !good_name {
                return Err(invalid(
                    "webhooks",
                    format!(
                        "{} is not a webhook name: 1 to 32 lowercase letters, digits and `-` (it is part of the URL)",
                        text::quote(name)
                    ),
                ));
            }
            check_short(
                &format!("{field}.description"),
                &hook.description,
                MAX_DESCRIPTION_LEN,
            )?;
            if let Some(max) = hook.max_bytes
                && !(1..=MAX_WEBHOOK_BYTES).contains(&max)
            {
                return Err(invalid(
                    &format!("{field}.max-bytes"),
                    format!("is {max}; a webhook takes 1 to {MAX_WEBHOOK_BYTES} bytes"),
                ));
            }
        }
        Ok(())
    }

    /// Parses and validates a manifest from the text of a `plugin.toml`.
    pub fn from_toml(text: &str) -> Result<Self, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::Syntax(format!(
                "plugin.toml is {} bytes; a manifest is at most {MAX_MANIFEST_BYTES}",
                text.len()
            )));
        }
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            ManifestError::Syntax(text::escape(e.to_string().trim_end(), true).into_owned())
        })?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Renders the manifest as TOML.
    pub fn to_toml(&self) -> String {
        // A manifest is plain data with string keys; serializing it cannot fail.
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks the rules that the TOML shape alone does not express.
    pub fn validate(&self) -> Result<(), ManifestError> {
        check_name(&self.name).map_err(|problem| invalid("name", problem))?;
        let version = self.version.to_string();
        if version.len() > MAX_VERSION_LEN {
            return Err(invalid(
                "version",
                format!(
                    "{} is {} bytes; keep it to at most {MAX_VERSION_LEN}",
                    text::quote(&version),
                    version.len()
                ),
            ));
        }
        check_line("description", &self.description)?;
        if self.description.trim().is_empty() {
            return Err(invalid(
                "description",
                "is empty; say in one line what the plugin does".into(),
            ));
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            return Err(invalid(
                "description",
                format!(
                    "is {} bytes; keep it to one line of at most {MAX_DESCRIPTION_LEN}",
                    self.description.len()
                ),
            ));
        }
        if let Some(license) = &self.license {
            check_short("license", license, MAX_FIELD_LEN)?;
        }
        for (what, link) in [
            ("homepage", &self.homepage),
            ("repository", &self.repository),
        ] {
            if let Some(link) = link {
                check_short(what, link, MAX_FIELD_LEN)?;
            }
        }
        if self.authors.len() > MAX_AUTHORS {
            return Err(invalid(
                "authors",
                format!(
                    "lists {} entries; keep at most {MAX_AUTHORS}",
                    self.authors.len()
                ),
            ));
        }
        for (i, author) in self.authors.iter().enumerate() {
            check_short(&format!("authors[{i}]"), author, MAX_FIELD_LEN)?;
        }
        crate::settings::check_declared(&self.config)?;
        self.check_webhooks()?;
        check_unique("permissions", &self.permissions)?;
        check_unique("events", &self.events)?;
        if self.commands.len() > MAX_COMMANDS {
            return Err(invalid(
                "commands",
                format!(
                    "declares {} commands; a plugin has at most {MAX_COMMANDS}",
                    self.commands.len()
                ),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, command) in self.commands.iter().enumerate() {
            let field = format!("commands[{i}].name");
            check_command_name(&command.name).map_err(|problem| invalid(&field, problem))?;
            if is_reserved_command(&command.name) {
                return Err(invalid(
                    &field,
                    format!(
                        "`{}` is reserved for the host (reserved: {}); choose another name \
                         (the bot owner can still give a plugin's command the name /help)",
                        command.name,
                        RESERVED_COMMANDS.join(", ")
                    ),
                ));
            }
            if !seen.insert(command.name.as_str()) {
                return Err(invalid(
                    &field,
                    format!("`{}` is declared twice; remove one", command.name),
                ));
            }
            check_short(&format!("commands[{i}].help"), &command.help, MAX_HELP_LEN)?;
            if let Some(usage) = &command.usage {
                check_short(&format!("commands[{i}].usage"), usage, MAX_USAGE_LEN)?;
            }
            check_options(i, &command.options)?;
        }
        if self.wants(Permission::Http) && self.http.is_empty() {
            return Err(invalid(
                "http",
                "is empty but `permissions` asks for `http`; list the origins the plugin calls, like \
                 http = [\"https://api.example.com\"]"
                    .into(),
            ));
        }
        if !self.http.is_empty() && !self.wants(Permission::Http) {
            return Err(invalid(
                "permissions",
                "lacks `http` although `http` lists origins; add \"http\" to `permissions`".into(),
            ));
        }
        if self.http.len() > MAX_HTTP_ORIGINS {
            return Err(invalid(
                "http",
                format!(
                    "lists {} origins; keep at most {MAX_HTTP_ORIGINS}",
                    self.http.len()
                ),
            ));
        }
        for (i, pattern) in self.http.iter().enumerate() {
            OriginPattern::parse(pattern)
                .map_err(|problem| invalid(&format!("http[{i}]"), problem))?;
        }
        check_slugs("categories", &self.categories, MAX_CATEGORIES)?;
        check_slugs("keywords", &self.keywords, MAX_KEYWORDS)?;
        if self.dependencies.len() > MAX_DEPENDENCIES {
            return Err(invalid(
                "dependencies",
                format!(
                    "lists {} plugins; keep at most {MAX_DEPENDENCIES}",
                    self.dependencies.len()
                ),
            ));
        }
        for dep in self.dependencies.keys() {
            let field = format!("dependencies.{}", text::escape(&text::cut(dep, 64), false));
            check_name(dep).map_err(|problem| invalid(&field, problem))?;
            if dep == &self.name {
                return Err(invalid(&field, "a plugin cannot depend on itself".into()));
            }
        }
        let provided = check_interfaces("provides", &self.provides)?;
        let imported = check_interfaces("imports", &self.imports)?;
        if let Some(own) = imported
            .iter()
            .find(|i| provided.iter().any(|p| p.satisfies(i)))
        {
            return Err(invalid(
                "imports",
                format!("lists `{own}`, which the plugin provides itself; call it directly"),
            ));
        }
        if !imported.is_empty() && self.dependencies.is_empty() {
            return Err(invalid(
                "imports",
                format!(
                    "lists `{}`, but `dependencies` is empty; add the plugin that provides it (e.g. `[dependencies] economy = \"^1\"`)",
                    imported[0]
                ),
            ));
        }
        Ok(())
    }

    /// The interfaces in `provides`, parsed (empty if the manifest was not
    /// validated and one does not parse).
    pub fn provided_interfaces(&self) -> Vec<InterfaceName> {
        self.provides
            .iter()
            .filter_map(|i| i.parse().ok())
            .collect()
    }

    /// The interfaces in `imports`, parsed (as [`Manifest::provided_interfaces`]).
    pub fn imported_interfaces(&self) -> Vec<InterfaceName> {
        self.imports.iter().filter_map(|i| i.parse().ok()).collect()
    }

    /// Whether the manifest asks for `permission`.
    pub fn wants(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// The command spec named `name`, if the plugin declares it.
    pub fn command(&self, name: &str) -> Option<&CommandSpec> {
        self.commands.iter().find(|c| c.name == name)
    }
}

/// An origin a plugin may call: `scheme://host[:port]`, where the host may
/// start with `*.` (any subdomain) and the port may be `*` (any port).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OriginPattern {
    /// `http` or `https`.
    pub scheme: String,
    /// The host, lower-cased, without a `*.` prefix.
    pub host: String,
    /// Whether subdomains of `host` match (`*.` prefix); `host` itself does not.
    pub subdomains: bool,
    /// The port; `None` for any port.
    pub port: Option<u16>,
}

impl OriginPattern {
    /// Parses a pattern such as `https://*.example.com` or `http://localhost:*`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let hint = "write it as scheme://host[:port], like \"https://api.example.com\"";
        let q = text::quote(text);
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("{q} has no scheme; {hint}"))?;
        if scheme != "http" && scheme != "https" {
            return Err(format!("{q}: only http and https are allowed"));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!("{q} has a path, query or user part; {hint}"));
        }
        // `[v6 address]` keeps its colons inside the brackets.
        let (host, port_text) = match rest.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| format!("{q}: `[` without `]`; {hint}"))?;
                match after {
                    "" => (host, None),
                    _ => (
                        host,
                        Some(
                            after
                                .strip_prefix(':')
                                .ok_or_else(|| format!("{q}: expected `:port` after `]`"))?,
                        ),
                    ),
                }
            }
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        let port = match port_text {
            Some("*") => None,
            Some(port) => Some(
                port.parse::<u16>()
                    .map_err(|_| format!("{q}: {} is not a port", text::quote(port)))?,
            ),
            None => Some(if scheme == "https" { 443 } else { 80 }),
        };
        let (subdomains, host) = match host.strip_prefix("*.") {
            Some(host) => (true, host),
            None => (false, host),
        };
        if host.is_empty() || host.contains('*') {
            return Err(format!(
                "{q}: the host must be a name, optionally after `*.`; {hint}"
            ));
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            host: host.to_ascii_lowercase(),
            subdomains,
            port,
        })
    }

    /// Whether a URL with these parts matches the pattern.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        let host = host.to_ascii_lowercase();
        let host_ok = if self.subdomains {
            host.strip_suffix(&self.host)
                .is_some_and(|head| head.ends_with('.') && head.len() > 1)
        } else {
            host == self.host
        };
        scheme == self.scheme && host_ok && self.port.is_none_or(|p| p == port)
    }
}

pub(crate) fn invalid(field: &str, problem: String) -> ManifestError {
    ManifestError::Invalid {
        field: field.to_owned(),
        problem,
    }
}

/// Whether `name` is one of the [`RESERVED_COMMANDS`].
pub fn is_reserved_command(name: &str) -> bool {
    RESERVED_COMMANDS.contains(&name)
}

/// Refuses a text shown to people that holds a control character, a line
/// break or a bidirectional override (see [`text::is_unsafe`]).
pub(crate) fn check_line(field: &str, value: &str) -> Result<(), ManifestError> {
    match value.chars().find(|c| text::is_unsafe(*c)) {
        None => Ok(()),
        Some(c) => Err(invalid(
            field,
            format!(
                "contains the control character U+{:04X} in {}; write one line of printable text",
                c as u32,
                text::quote(value)
            ),
        )),
    }
}

/// [`check_line`], and at most `max` bytes.
pub(crate) fn check_short(field: &str, value: &str, max: usize) -> Result<(), ManifestError> {
    check_line(field, value)?;
    if value.len() > max {
        return Err(invalid(
            field,
            format!("is {} bytes; keep it to at most {max}", value.len()),
        ));
    }
    Ok(())
}

/// Refuses a list that names something twice.
fn check_unique<T: PartialEq + fmt::Display>(field: &str, list: &[T]) -> Result<(), ManifestError> {
    for (i, item) in list.iter().enumerate() {
        if list[..i].contains(item) {
            return Err(invalid(
                &format!("{field}[{i}]"),
                format!("`{item}` is listed twice; remove one"),
            ));
        }
    }
    Ok(())
}

/// Checks a plugin name: `a-z0-9-`, starting with a letter, no `--`, no
/// trailing `-`, at most [`MAX_NAME_LEN`] bytes.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty; give the plugin a short lowercase name like `dice`".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "{} is longer than {MAX_NAME_LEN} bytes",
            text::quote(name)
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "{} must start with a lowercase letter a-z",
            text::quote(name)
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{} contains {}; use only lowercase letters a-z, digits and `-`",
            text::quote(name),
            text::quote(&bad.to_string())
        ));
    }
    if name.ends_with('-') || name.contains("--") {
        return Err(format!(
            "{} must not end with `-` or contain `--`",
            text::quote(name)
        ));
    }
    Ok(())
}

/// Checks a category or keyword: a lowercase slug of `a-z`, `0-9` and `-`,
/// starting with a letter, 1 to [`MAX_SLUG_LEN`] bytes.
pub fn check_slug(slug: &str) -> Result<(), String> {
    if slug.is_empty() {
        return Err("is empty; write a short lowercase word like `games`".into());
    }
    if slug.len() > MAX_SLUG_LEN {
        return Err(format!(
            "{} is longer than {MAX_SLUG_LEN} bytes",
            text::quote(slug)
        ));
    }
    if !slug.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!(
            "{} must start with a lowercase letter a-z",
            text::quote(slug)
        ));
    }
    if let Some(bad) = slug
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!(
            "{} contains {}; use only lowercase letters a-z, digits and `-`",
            text::quote(slug),
            text::quote(&bad.to_string())
        ));
    }
    Ok(())
}

/// Checks a list of categories or keywords: at most `max`, each a slug, none twice.
fn check_slugs(field: &str, slugs: &[String], max: usize) -> Result<(), ManifestError> {
    if slugs.len() > max {
        return Err(invalid(
            field,
            format!("lists {} entries; keep at most {max}", slugs.len()),
        ));
    }
    for (i, slug) in slugs.iter().enumerate() {
        check_slug(slug).map_err(|problem| invalid(&format!("{field}[{i}]"), problem))?;
        if slugs[..i].contains(slug) {
            return Err(invalid(
                &format!("{field}[{i}]"),
                format!("`{slug}` is listed twice; remove one"),
            ));
        }
    }
    Ok(())
}

/// Checks the options of command number `i` against Discord's rules.
fn check_options(i: usize, options: &[CommandOption]) -> Result<(), ManifestError> {
    if options.len() > MAX_OPTIONS {
        return Err(invalid(
            &format!("commands[{i}].options"),
            format!(
                "lists {} options; keep at most {MAX_OPTIONS}",
                options.len()
            ),
        ));
    }
    for (j, option) in options.iter().enumerate() {
        let field = |part: &str| format!("commands[{i}].options[{j}].{part}");
        check_command_name(&option.name).map_err(|problem| invalid(&field("name"), problem))?;
        if options[..j].iter().any(|o| o.name == option.name) {
            return Err(invalid(
                &field("name"),
                format!("`{}` is declared twice; remove one", option.name),
            ));
        }
        let length = option.description.trim().chars().count();
        if length == 0 || option.description.chars().count() > MAX_OPTION_DESCRIPTION_LEN {
            return Err(invalid(
                &field("description"),
                format!(
                    "must be 1 to {MAX_OPTION_DESCRIPTION_LEN} characters; say in a few words what to enter"
                ),
            ));
        }
        if option.required && options[..j].iter().any(|o| !o.required) {
            return Err(invalid(
                &field("required"),
                format!(
                    "`{}` is required but follows an optional option; list required options first",
                    option.name
                ),
            ));
        }
    }
    Ok(())
}

/// Checks a command name: `a-z0-9_`, 1 to [`MAX_COMMAND_LEN`] bytes.
pub fn check_command_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_COMMAND_LEN {
        return Err(format!(
            "{} must be 1 to {MAX_COMMAND_LEN} bytes long",
            text::quote(name)
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        return Err(format!(
            "{} contains {}; command names use only lowercase letters a-z, digits and `_` \
             (and are written without the leading `/`)",
            text::quote(name),
            text::quote(&bad.to_string())
        ));
    }
    Ok(())
}

/// (De)serializes a version that may omit the patch or minor part ("0.1").
mod loose_version {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Version, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}.{}", v.major, v.minor))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).map_err(serde::de::Error::custom)
    }

    pub fn parse(text: &str) -> Result<Version, String> {
        let parts: Vec<&str> = text.split('.').collect();
        let full = match parts.len() {
            1 => format!("{text}.0.0"),
            2 => format!("{text}.0"),
            _ => text.to_owned(),
        };
        Version::parse(&full).map_err(|e| {
            format!("{} is not a WIT version ({e}); write the contract version the plugin was built against, like \"0.1\"", text::quote(text))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        name = "notes"
        version = "1.2.3"
        description = "Remembers things."
        license = "MIT"
        wit = "0.1"
        permissions = ["kv"]
        events = ["message"]

        [[commands]]
        name = "remember"
        usage = "/remember <key> <text>"
        help = "Stores a note."

        [dependencies]
        economy = "^1.2"
    "#;

    #[test]
    fn webhooks_need_contract_0_2_a_url_safe_name_and_a_size_within_a_mebibyte() {
        let with = |wit: &str, hooks: &str| {
            let text = format!(
                "name = \"gh\"\nversion = \"1.0.0\"\ndescription = \"d\"\nwit = \"{wit}\"\n{hooks}"
            );
            Manifest::from_toml(&text).map_err(|e| e.to_string())
        };
        let good =
            with("0.2", "[webhooks.push]\ndescription = \"GitHub pushes.\"\n").expect("valid");
        assert_eq!(
            good.webhooks["push"].max_bytes(),
            DEFAULT_WEBHOOK_BYTES as usize
        );
        for (wit, hooks, says) in [
            (
                "0.1",
                "[webhooks.push]\ndescription = \"d\"\n",
                "need contract 0.2 or later",
            ),
            (
                "0.2",
                "[webhooks.Push]\ndescription = \"d\"\n",
                "is not a webhook name",
            ),
            (
                "0.2",
                "[webhooks.push]\ndescription = \"d\"\nmax-bytes = 2000000\n",
                "a webhook takes 1 to 1048576 bytes",
            ),
            (
                "0.2",
                "[webhooks.push]\ndescription = \"d\"\nsecret = \"x\"\n",
                "unknown field `secret`",
            ),
        ] {
            let err = with(wit, hooks).expect_err(hooks);
            assert!(err.contains(says), "{hooks}: {err}");
        }
    }

    #[test]
    fn parses_a_full_manifest() {
        let m = Manifest::from_toml(GOOD).expect("valid");
        assert_eq!(m.version, Version::new(1, 2, 3));
        assert_eq!(m.wit, Version::new(0, 1, 0));
        assert!(m.wants(Permission::Kv));
        assert!(!m.wants(Permission::SendAnyChat));
        assert_eq!(m.events, vec![EventKind::Message]);
        assert_eq!(
            m.command("remember").and_then(|c| c.usage.as_deref()),
            Some("/remember <key> <text>")
        );
        assert_eq!(
            m.dependencies["economy"],
            VersionReq::parse("^1.2").expect("req")
        );
        let again = Manifest::from_toml(&m.to_toml()).expect("round trip");
        assert_eq!(again, m);
    }

    #[test]
    fn provides_and_imports_are_checked_interface_names() {
        // Top-level keys go before GOOD's tables.
        let with = |extra: &str| {
            let (head, tables) = GOOD.split_once("[[commands]]").expect("GOOD has commands");
            format!("{head}{extra}\n[[commands]]{tables}")
        };
        let m = Manifest::from_toml(&with(
            r#"provides = ["acme:stats/api@0.3.0"]
imports = ["plugins:economy/api@1.0.0"]"#,
        ))
        .expect("valid");
        assert_eq!(
            m.provided_interfaces()[0].to_string(),
            "acme:stats/api@0.3.0"
        );
        assert_eq!(m.imported_interfaces()[0].package, "economy");
        assert_eq!(Manifest::from_toml(&m.to_toml()).expect("round trip"), m);
        for (extra, needle) in [
            (
                r#"provides = ["wasi:cli/stdout@0.2.0"]"#,
                "`provides[0]` `wasi:cli/stdout@0.2.0` is in the host's namespace",
            ),
            (
                r#"provides = ["acme:stats/api"]"#,
                "`provides[0]` `acme:stats/api` has no version",
            ),
            (
                r#"imports = ["acme:stats/api@1.0.0", "acme:stats/api@1.1.0"]"#,
                "names `acme:stats/api` a second time",
            ),
            (
                r#"provides = ["acme:stats/api@1.1.0"]
imports = ["acme:stats/api@1.0.0"]"#,
                "which the plugin provides itself",
            ),
        ] {
            let err = error_of(&with(extra));
            assert!(err.contains(needle), "{extra}: {err}");
        }
        let alone = GOOD
            .split_once("[dependencies]")
            .expect("GOOD has dependencies")
            .0;
        let (head, tables) = alone.split_once("[[commands]]").expect("commands");
        let err = error_of(&format!(
            "{head}imports = [\"plugins:economy/api@1.0.0\"]\n[[commands]]{tables}"
        ));
        assert!(err.contains("but `dependencies` is empty"), "{err}");
    }

    fn error_of(text: &str) -> String {
        Manifest::from_toml(text)
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn errors_name_the_problem() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "name = \"notes\"",
                "name = \"Notes\"",
                "must start with a lowercase letter",
            ),
            ("name = \"notes\"", "name = \"no_tes\"", "contains `_`"),
            ("version = \"1.2.3\"", "version = \"1.2\"", "version"),
            ("wit = \"0.1\"", "wit = \"zero\"", "is not a WIT version"),
            (
                "permissions = [\"kv\"]",
                "permissions = [\"root\"]",
                "unknown variant `root`",
            ),
            (
                "name = \"remember\"",
                "name = \"/remember\"",
                "written without the leading `/`",
            ),
            (
                "description = \"Remembers things.\"",
                "description = \" \"",
                "`description` is empty",
            ),
            (
                "license = \"MIT\"",
                "licence = \"MIT\"",
                "unknown field `licence`",
            ),
            ("economy = \"^1.2\"", "economy = \"one\"", "economy"),
        ];
        for (from, to, expected) in cases {
            let text = GOOD.replace(from, to);
            assert_ne!(text, GOOD, "case {to} did not change the manifest");
            let err = error_of(&text);
            assert!(
                err.contains(expected),
                "{to}: expected `{expected}` in: {err}"
            );
        }
    }

    #[test]
    fn origin_patterns() {
        let p = OriginPattern::parse("https://*.example.com").expect("valid");
        assert!(p.matches("https", "api.example.com", 443));
        assert!(p.matches("https", "A.B.Example.com", 443));
        assert!(!p.matches("https", "example.com", 443));
        assert!(!p.matches("https", "evilexample.com", 443));
        assert!(!p.matches("http", "api.example.com", 80));
        assert!(!p.matches("https", "api.example.com", 8443));
        let any_port = OriginPattern::parse("http://localhost:*").expect("valid");
        assert!(any_port.matches("http", "localhost", 41234));
        let v6 = OriginPattern::parse("http://[::1]").expect("valid");
        assert!(v6.matches("http", "::1", 80));
        assert!(
            OriginPattern::parse("http://[::1]:*")
                .expect("valid")
                .matches("http", "::1", 9)
        );
        for bad in [
            "api.example.com",
            "ftp://x",
            "https://x/path",
            "https://*",
            "https://x:99999",
            "https://u@x",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
        let with_http = GOOD.replace("permissions = [\"kv\"]", "permissions = [\"kv\", \"http\"]");
        assert!(error_of(&with_http).contains("`http` is empty"));
        let listed = format!("http = [\"https://x.org\"]\n{GOOD}");
        assert!(error_of(&listed).contains("lacks `http`"));
    }

    #[test]
    fn duplicate_commands_are_refused() {
        let text = format!("{GOOD}\n[[commands]]\nname = \"remember\"\n");
        // The appended table lands after [dependencies]; TOML allows that for arrays of tables.
        let err = error_of(&text);
        assert!(err.contains("declared twice"), "{err}");
    }

    #[test]
    fn categories_and_keywords_are_slugs() {
        let text = format!("categories = [\"games\", \"fun\"]\nkeywords = [\"d20\"]\n{GOOD}");
        let m = Manifest::from_toml(&text).expect("valid");
        assert_eq!(m.categories, ["games", "fun"]);
        assert_eq!(m.keywords, ["d20"]);
        assert_eq!(Manifest::from_toml(&m.to_toml()).expect("round trip"), m);
        assert!(
            !Manifest::from_toml(GOOD)
                .expect("valid")
                .to_toml()
                .contains("keywords")
        );
        let cases = [
            (
                "categories = [\"Games\"]",
                "`categories[0]` `Games` must start",
            ),
            ("keywords = [\"a b\"]", "`keywords[0]` `a b` contains ` `"),
            ("keywords = [\"a\", \"a\"]", "listed twice"),
            (
                "keywords = [\"a\", \"b\", \"c\", \"d\", \"e\", \"f\"]",
                "keep at most 5",
            ),
        ];
        for (line, expected) in cases {
            let err = error_of(&format!("{line}\n{GOOD}"));
            assert!(
                err.contains(expected),
                "{line}: expected `{expected}` in: {err}"
            );
        }
    }

    #[test]
    fn command_options_follow_discords_rules() {
        let with = |options: &str| format!("{GOOD}\n[[commands]]\nname = \"recall\"\n{options}");
        let text = with(
            "options = [{ name = \"key\", description = \"Which note\", required = true },\n\
             { name = \"count\", description = \"How many\", type = \"integer\" }]",
        );
        let m = Manifest::from_toml(&text).expect("valid");
        let options = &m.command("recall").expect("declared").options;
        assert_eq!(options[0].kind, OptionKind::String);
        assert!(options[0].required);
        assert_eq!(options[1].kind, OptionKind::Integer);
        assert_eq!(Manifest::from_toml(&m.to_toml()).expect("round trip"), m);
        let cases = [
            (
                "options = [{ name = \"Key\", description = \"d\" }]",
                "options[0].name",
            ),
            (
                "options = [{ name = \"key\", description = \"\" }]",
                "1 to 100 characters",
            ),
            (
                "options = [{ name = \"a\", description = \"d\" }, { name = \"a\", description = \"d\" }]",
                "declared twice",
            ),
            (
                "options = [{ name = \"a\", description = \"d\" }, { name = \"b\", description = \"d\", required = true }]",
                "list required options first",
            ),
            (
                "options = [{ name = \"a\", description = \"d\", type = \"float\" }]",
                "unknown variant",
            ),
        ];
        for (line, expected) in cases {
            let err = error_of(&with(line));
            assert!(
                err.contains(expected),
                "{line}: expected `{expected}` in: {err}"
            );
        }
        let long = format!(
            "options = [{{ name = \"a\", description = \"{}\" }}]",
            "x".repeat(101)
        );
        assert!(error_of(&with(&long)).contains("1 to 100"));
    }

    #[test]
    fn texts_people_read_are_capped_and_printable() {
        let many: String = (0..=MAX_COMMANDS)
            .map(|i| format!("[[commands]]\nname = \"c{i}\"\n"))
            .collect();
        let cases = [
            (
                GOOD.replace("name = \"remember\"", "name = \"help\""),
                "`commands[0].name` `help` is reserved",
            ),
            (
                GOOD.replace("name = \"remember\"", "name = \"plugboard\""),
                "is reserved",
            ),
            (
                GOOD.replace("Remembers things.", "Rem\\u001b]0;pwned\\u0007"),
                "`description` contains the control character U+001B in `Rem\\u{1b}]0;pwned\\u{7}`",
            ),
            (
                GOOD.replace("Stores a note.", "line\\nFAKE"),
                "`commands[0].help` contains the control character U+000A",
            ),
            (
                GOOD.replace("Stores a note.", &"h".repeat(MAX_HELP_LEN + 1)),
                "`commands[0].help` is 201 bytes",
            ),
            (
                GOOD.replace("/remember <key> <text>", &"u".repeat(MAX_USAGE_LEN + 1)),
                "`commands[0].usage` is 101 bytes",
            ),
            (
                GOOD.replace("1.2.3", &format!("1.2.3-{}", "a".repeat(70))),
                "`version` `1.2.3-aaa",
            ),
            (format!("{GOOD}\n{many}"), "a plugin has at most 100"),
            (
                GOOD.replace("\"message\"", "\"message\", \"message\""),
                "`events[1]` `message` is listed twice",
            ),
            (
                format!("{GOOD}#{}", "x".repeat(MAX_MANIFEST_BYTES)),
                "a manifest is at most",
            ),
            (
                GOOD.replace("name = \"notes\"", "name = \"no\\u001btes\""),
                "`no\\u{1b}tes` contains `\\u{1b}`",
            ),
        ];
        for (text, expected) in cases {
            let err = error_of(&text);
            assert!(err.contains(expected), "expected `{expected}` in: {err}");
            assert!(
                !err.chars().any(|c| c != '\n' && text::is_unsafe(c)),
                "{err:?}"
            );
        }
    }

    #[test]
    fn missing_fields_are_named() {
        let err = error_of("name = \"x\"\nversion = \"0.1.0\"\ndescription = \"d\"\n");
        assert!(err.contains("missing field `wit`"), "{err}");
    }
}
