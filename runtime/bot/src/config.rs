//! `plugboard.toml`: the bot owner's configuration.
//!
//! ```toml
//! [runtime]
//! data_dir = "data"                    # store and compile cache, relative to this file
//! plugin_dirs = ["plugins"]            # each subdirectory holding plugin.toml + plugin.wasm
//! command_prefixes = ["/", "!"]
//!
//! [limits]                             # defaults for every plugin
//! memory_mib = 64
//! cpu_ms = 1000
//! deadline_ms = 5000
//!
//! [console]
//! enabled = true
//!
//! [plugins.notes]
//! enabled = true
//! config = { max_notes = 100 }         # handed to the plugin's init, as JSON
//! limits = { cpu_ms = 200 }            # overrides for this plugin only
//! ```
//!
//! Relative paths are relative to the directory of the configuration file.
//! Secrets such as bot tokens do not belong here: the platform sections (with
//! the Telegram and Discord adapters) will name the environment variable that
//! holds each one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plugboard_registry_types::Permission;
use serde::Deserialize;

use plugboard_host::sandbox::Limits;

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error(
        "cannot read the config file {path}: {source}. Pass the right file with --config <file>"
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotConfig {
    /// Paths and dispatch settings.
    #[serde(default)]
    pub runtime: RuntimeConfig,
    /// Default budgets for every plugin.
    #[serde(default)]
    pub limits: Limits,
    /// The console adapter.
    #[serde(default)]
    pub console: ConsoleConfig,
    /// The Telegram bot accounts: one `[telegram]` section, or several
    /// named `[[telegram]]` ones.
    #[serde(default)]
    pub telegram: Accounts<plugboard_telegram::TelegramConfig>,
    /// The Discord bot accounts, like `telegram`.
    #[serde(default)]
    pub discord: Accounts<plugboard_discord::DiscordConfig>,
    /// Per-plugin settings, by plugin name.
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
    /// Which plugin answers a command, where the owner decides
    /// (`[commands] remember = "notes"`); see [`plugboard_model::commands`].
    #[serde(default)]
    pub commands: plugboard_model::commands::CommandMap,
    /// Marketplace registries by name, e.g. `default =
    /// "https://registry.example.com"`; `default` is used unless a command
    /// names another with `--registry`.
    #[serde(default)]
    pub registries: BTreeMap<String, String>,
    /// Owners, and the roles commands need (`[people]`).
    #[serde(default)]
    pub people: PeopleConfig,
    /// The admin listener (health, metrics, the admin API), when the
    /// section is present.
    #[serde(default)]
    pub admin: Option<AdminConfig>,
    /// The directory relative paths are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The file it was read from (what the console's settings forms
    /// rewrite).
    #[serde(skip)]
    pub path: PathBuf,
}

/// A platform's bot accounts: one table (`[telegram]`), or an array of
/// tables (`[[telegram]]`) each with a `name`, so that one process serves
/// several bots of the same platform.
///
/// ```toml
/// [[telegram]]
/// name = "support"
/// token_env = "SUPPORT_BOT_TOKEN"
///
/// [[telegram]]
/// name = "games"
/// token_env = "GAMES_BOT_TOKEN"
/// ```
#[derive(Debug, Clone)]
pub struct Accounts<T>(Vec<T>);

impl<T> Default for Accounts<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: AccountConfig> Accounts<T> {
    /// Each account with its name: its `name`, else the platform's.
    pub fn named<'a>(&'a self, platform: &'a str) -> impl Iterator<Item = (&'a str, &'a T)> {
        self.0
            .iter()
            .map(move |a| (a.name().unwrap_or(platform), a))
    }

    /// Whether no account is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every problem with the accounts of `platform`, naming the fix.
    fn problems(&self, platform: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (index, account) in self.0.iter().enumerate() {
            match account.name() {
                None if self.0.len() > 1 => problems.push(format!(
                    "`[[{platform}]]` number {} has no `name`; with several accounts each needs \
                     one, like name = \"support\"",
                    index + 1
                )),
                None => {}
                Some(name) => {
                    if let Err(problem) = check_account_name(name) {
                        problems.push(format!("`{platform}.name` = {name:?}: {problem}"));
                    } else if !seen.insert(name) {
                        problems.push(format!(
                            "two `[[{platform}]]` accounts are named {name:?}; give each its own name"
                        ));
                    }
                }
            }
        }
        problems
    }
}

/// What every platform's account section has.
pub trait AccountConfig {
    /// The account's `name`, if the section gives one.
    fn name(&self) -> Option<&str>;
}

impl AccountConfig for plugboard_telegram::TelegramConfig {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl AccountConfig for plugboard_discord::DiscordConfig {
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// An account name: 1 to 32 lowercase letters, digits and `-`, starting
/// with a letter (it appears in metrics labels and the console).
fn check_account_name(name: &str) -> Result<(), &'static str> {
    let starts_well = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    let rest_fine = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if starts_well && rest_fine && name.len() <= 32 {
        Ok(())
    } else {
        Err("an account name is 1 to 32 lowercase letters, digits and `-`, starting with a letter")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Accounts<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrMany<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OneOrMany<T> {
            type Value = Accounts<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("one table, or an array of tables each with a `name`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let one = T::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Accounts(vec![one]))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut many = Vec::new();
                while let Some(one) = seq.next_element()? {
                    many.push(one);
                }
                Ok(Accounts(many))
            }
        }
        deserializer.deserialize_any(OneOrMany(std::marker::PhantomData))
    }
}

/// `[people]`: who owns the bot, and which role a command needs where
/// the owner overrides what its manifest says.
///
/// ```toml
/// [people]
/// owners = ["telegram:42", "discord:420000000000000042"]
///
/// [people.commands]          # everywhere
/// forget = "moderator"       # a command as users type it,
/// "dice.roll" = "everyone"   # or qualified by its plugin
///
/// [people.chats."telegram:-1001234".commands]   # in one chat
/// roll = "premium"
///
/// [people.platform_roles]    # what the platform says, as roles
/// "telegram:chat-admin" = "admin"      # a group's administrators, in it
/// "discord:role:123456789" = "premium" # holders of a Discord role
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PeopleConfig {
    /// The bot's owners, as `platform:user id`; they hold the `owner`
    /// role on every account they link.
    pub owners: Vec<String>,
    /// The least role per command, everywhere: a role name, or
    /// `everyone`.
    pub commands: BTreeMap<String, String>,
    /// The same, per chat (`platform:chat id`), over `commands`.
    pub chats: BTreeMap<String, ChatPeopleConfig>,
    /// Rate limits (`[people.rate]`).
    pub rate: RateConfig,
    /// Daily quotas per person, by `plugin` or `plugin.command`
    /// (`[people.quotas]`).
    pub quotas: BTreeMap<String, u64>,
    /// Daily quotas for people holding a role, by role
    /// (`[people.role_quotas.premium]`); the highest of a person's applies.
    pub role_quotas: BTreeMap<String, BTreeMap<String, u64>>,
    /// Roles people hold because of what their platform says about them
    /// (`[people.platform_roles]`): `<platform>:chat-admin` for a group's
    /// administrators (in that group), `discord:role:<role id>` for the
    /// holders of a Discord role. Never `owner`.
    pub platform_roles: BTreeMap<String, String>,
    /// How long a link code works, in seconds (1 to 3600; 600, ten
    /// minutes, when unset).
    pub link_code_secs: Option<u64>,
}

/// What a `[people.platform_roles]` key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlatformFact {
    /// The administrators of a group on this platform.
    ChatAdmin(String),
    /// The holders of this Discord role.
    DiscordRole(String),
}

impl PlatformFact {
    /// Reads a `[people.platform_roles]` key.
    pub fn parse(key: &str) -> Result<Self, String> {
        if let Some(id) = key.strip_prefix("discord:role:") {
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(Self::DiscordRole(id.to_owned()));
            }
            return Err(format!(
                "{key:?} does not end in a Discord role id (digits; Discord shows it with Developer Mode on, under the role's menu)"
            ));
        }
        match key.split_once(':') {
            Some((platform, "chat-admin"))
                if !platform.is_empty()
                    && platform
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
            {
                Ok(Self::ChatAdmin(platform.to_owned()))
            }
            _ => Err(format!(
                "{key:?} is neither `<platform>:chat-admin` (like \"telegram:chat-admin\") nor `discord:role:<role id>`"
            )),
        }
    }
}

/// `[people.rate]`: token buckets, each `N/second|minute|hour|day` or
/// `none`. The bot's owners are never limited.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateConfig {
    /// One person, one command.
    pub user_command: String,
    /// One person, one plugin.
    pub user_plugin: String,
    /// One chat, every plugin.
    pub chat: String,
    /// The whole bot.
    pub bot: String,
}

impl Default for RateConfig {
    fn default() -> Self {
        Self {
            user_command: "20/minute".into(),
            user_plugin: "60/minute".into(),
            chat: "120/minute".into(),
            bot: "none".into(),
        }
    }
}

/// A rate as the config writes it: `N/minute` and the like, or `none`.
fn parse_rate(text: &str) -> Result<Option<plugboard_people::Rate>, String> {
    match text {
        "none" => Ok(None),
        rate => rate.parse().map(Some),
    }
}

/// `[people.chats."<platform>:<chat id>"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatPeopleConfig {
    /// The least role per command in this chat.
    pub commands: BTreeMap<String, String>,
}

/// A role requirement as the config writes it: a role, or `everyone`.
pub fn parse_requirement(
    text: &str,
) -> Result<Option<plugboard_registry_types::roles::Role>, String> {
    match text {
        "everyone" => Ok(None),
        role => role.parse().map(Some),
    }
}

impl PeopleConfig {
    /// How long a link code works, in milliseconds.
    pub fn link_code_ttl_ms(&self) -> u64 {
        self.link_code_secs
            .map_or(plugboard_people::CODE_TTL_MS, |s| s.saturating_mul(1_000))
    }

    /// The owners as accounts.
    pub fn owner_accounts(&self) -> Vec<plugboard_people::Account> {
        self.owners
            .iter()
            .filter_map(|o| o.split_once(':'))
            .map(|(platform, user)| plugboard_people::Account::new(platform, user))
            .collect()
    }

    /// The rate limits and quotas, as `plugboard-people` takes them
    /// (checked when the config was read).
    pub fn limits(&self) -> plugboard_people::Limits {
        let rate = |text: &str| parse_rate(text).ok().flatten();
        plugboard_people::Limits {
            user_command: rate(&self.rate.user_command),
            user_plugin: rate(&self.rate.user_plugin),
            chat: rate(&self.rate.chat),
            bot: rate(&self.rate.bot),
            quotas: self.quotas.clone(),
            role_quotas: self
                .role_quotas
                .iter()
                .filter_map(|(role, quotas)| Some((role.parse().ok()?, quotas.clone())))
                .collect(),
        }
    }

    /// Every problem with the section, naming the entry and the fix.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let rates = [
            ("user_command", &self.rate.user_command),
            ("user_plugin", &self.rate.user_plugin),
            ("chat", &self.rate.chat),
            ("bot", &self.rate.bot),
        ];
        for (field, rate) in rates {
            if let Err(problem) = parse_rate(rate) {
                problems.push(format!("`people.rate.{field}`: {problem}, or \"none\""));
            }
        }
        for role in self.role_quotas.keys() {
            if let Err(problem) = role.parse::<plugboard_registry_types::roles::Role>() {
                problems.push(format!("`people.role_quotas.{role}`: {problem}"));
            }
        }
        for owner in &self.owners {
            if !owner
                .split_once(':')
                .is_some_and(|(p, u)| !p.is_empty() && !u.is_empty())
            {
                problems.push(format!(
                    "`people.owners` entry {owner:?} is not `platform:user id`; write it like \"telegram:42\""
                ));
            }
        }
        let tables = std::iter::once(("people.commands".to_owned(), &self.commands)).chain(
            self.chats
                .iter()
                .map(|(chat, c)| (format!("people.chats.{chat:?}.commands"), &c.commands)),
        );
        for (table, commands) in tables {
            for (command, role) in commands {
                if let Err(problem) = parse_requirement(role) {
                    problems.push(format!("`{table}.{command}`: {problem}, or `everyone`"));
                }
            }
        }
        if let Some(secs) = self.link_code_secs
            && !(1..=3600).contains(&secs)
        {
            problems.push(format!(
                "`people.link_code_secs` = {secs}: a link code works for 1 to 3600 seconds; leave it out for 10 minutes"
            ));
        }
        for (key, role) in &self.platform_roles {
            if let Err(problem) = PlatformFact::parse(key) {
                problems.push(format!("`people.platform_roles`: {problem}"));
            }
            match role.parse::<plugboard_registry_types::roles::Role>() {
                Err(problem) => problems.push(format!("`people.platform_roles.{key:?}`: {problem}")),
                Ok(plugboard_registry_types::roles::Role::Owner) => problems.push(format!(
                    "`people.platform_roles.{key:?}`: `owner` cannot come from a platform; name the owners in `people.owners`"
                )),
                Ok(_) => {}
            }
        }
        for chat in self.chats.keys() {
            if chat.split_once(':').is_none() {
                problems.push(format!(
                    "`people.chats` key {chat:?} is not `platform:chat id`; write it like \"telegram:-1001234\""
                ));
            }
        }
        problems
    }
}

/// `[runtime]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Where the store and the compile cache live.
    pub data_dir: PathBuf,
    /// Where compiled plugins are cached; `<data_dir>/cache` when unset.
    /// Bots of the same user may share it (entries are keyed by content and
    /// engine); it holds native code, so no other user may write to it.
    pub cache_dir: Option<PathBuf>,
    /// Directories of installed plugins.
    pub plugin_dirs: Vec<PathBuf>,
    /// Prefixes that start a command.
    pub command_prefixes: Vec<String>,
    /// Events handled at once, across all chats.
    pub workers: usize,
    /// Events accepted but not yet handled, across all chats; adapters wait
    /// beyond it (backpressure).
    pub queue: usize,
    /// Most plugin instances alive at once, across all plugins.
    pub max_instances: u32,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            data_dir: "data".into(),
            cache_dir: None,
            plugin_dirs: vec!["plugins".into()],
            command_prefixes: vec!["/".into(), "!".into()],
            workers: 64,
            queue: 1024,
            max_instances: 1_000,
        }
    }
}

/// `[admin]`: the owner's way into the running bot over HTTP (health,
/// Prometheus metrics, the JSON admin API the CLI uses while the bot
/// runs). Off unless the section is present.
///
/// ```toml
/// [admin]
/// listen = "127.0.0.1:8470"              # the default; keep it on loopback
/// token_env = "PLUGBOARD_ADMIN_TOKEN"    # the default
/// ```
///
/// Every request but `/healthz` and `/readyz` needs the token (`Authorization:
/// Bearer <token>`), read from the variable `token_env` names. To reach it
/// from another machine, put a TLS reverse proxy in front of it rather than
/// listening on a public address.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Where to listen; port 0 picks a free port (written to
    /// `<data_dir>/admin-address` for the CLI).
    pub listen: std::net::SocketAddr,
    /// The environment variable holding the admin token.
    pub token_env: String,
}

/// The admin listener's address unless the config says otherwise.
pub const DEFAULT_ADMIN_LISTEN: std::net::SocketAddr = std::net::SocketAddr::V4(
    std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 8470),
);

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: DEFAULT_ADMIN_LISTEN,
            token_env: "PLUGBOARD_ADMIN_TOKEN".into(),
        }
    }
}

/// `[console]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Read messages from stdin and print answers to stdout.
    pub enabled: bool,
}

/// `[plugins.<name>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginConfig {
    /// Load the plugin (default true).
    pub enabled: bool,
    /// The plugin's own configuration, handed to its `init`.
    pub config: toml::Table,
    /// Overrides of `[limits]` for this plugin.
    pub limits: toml::Table,
    /// Permissions the owner grants the plugin (added to those granted with
    /// `plugboard grant`). A plugin holds only what it asks for in its
    /// manifest *and* is granted.
    pub grants: Vec<Permission>,
    /// Address ranges (e.g. `10.0.0.0/8`) the plugin's HTTP requests may
    /// reach although they are loopback, private or otherwise special.
    pub http_allow_private: Vec<String>,
    /// The secrets of the webhooks its manifest declares, by name
    /// (`[plugins.<name>.webhooks.<hook>]`); a webhook without one is
    /// refused.
    pub webhooks: BTreeMap<String, WebhookConfig>,
}

/// `[plugins.<name>.webhooks.<hook>]`: how deliveries of one webhook are
/// verified.
///
/// ```toml
/// [plugins.github.webhooks.push]
/// secret_env = "GITHUB_WEBHOOK_SECRET"   # the secret given to GitHub too
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The environment variable holding the secret the sender signs each
    /// delivery with (HMAC-SHA256).
    pub secret_env: String,
}

impl Default for PluginConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            config: toml::Table::new(),
            limits: toml::Table::new(),
            grants: Vec::new(),
            http_allow_private: Vec::new(),
            webhooks: BTreeMap::new(),
        }
    }
}

impl BotConfig {
    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, path, base)
    }

    /// Parses configuration text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path, base_dir: PathBuf) -> Result<Self, ConfigError> {
        let mut config: BotConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.base_dir = base_dir;
        config.path = path.to_path_buf();
        if config.runtime.command_prefixes.iter().any(|p| p.is_empty()) {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message:
                    "`runtime.command_prefixes` contains an empty prefix; use e.g. [\"/\", \"!\"]"
                        .into(),
            });
        }
        let problems = config
            .people
            .problems()
            .into_iter()
            .chain(config.telegram.problems("telegram"))
            .chain(config.discord.problems("discord"));
        if let Some(problem) = problems.into_iter().next() {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: problem,
            });
        }
        config.runtime.workers = config.runtime.workers.max(1);
        config.runtime.queue = config.runtime.queue.max(1);
        Ok(config)
    }

    /// `path` resolved against the configuration's directory.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        }
    }

    /// The data directory, resolved.
    pub fn data_dir(&self) -> PathBuf {
        self.resolve(&self.runtime.data_dir)
    }

    /// The compile cache directory, resolved.
    pub fn cache_dir(&self) -> PathBuf {
        match &self.runtime.cache_dir {
            Some(dir) => self.resolve(dir),
            None => self.data_dir().join("cache"),
        }
    }

    /// The secret deliveries of webhook `hook` of plugin `plugin` are signed
    /// with; the error says what the owner must set.
    pub fn webhook_secret(&self, plugin: &str, hook: &str) -> Result<String, String> {
        let section = self.plugins.get(plugin).and_then(|p| p.webhooks.get(hook));
        let Some(section) = section else {
            return Err(format!(
                "no secret is set for it: add [plugins.{plugin}.webhooks.{hook}] with secret_env = \"VARIABLE\" to the config, and set VARIABLE where the bot runs"
            ));
        };
        match std::env::var(&section.secret_env) {
            Ok(secret) if secret.len() >= 16 => Ok(secret),
            Ok(_) => Err(format!(
                "its secret in {} is shorter than 16 characters; use a long random one (openssl rand -hex 32)",
                section.secret_env
            )),
            Err(_) => Err(format!(
                "its secret's variable {} (named by [plugins.{plugin}.webhooks.{hook}] secret_env) is not set where the bot runs",
                section.secret_env
            )),
        }
    }

    /// Settings of plugin `name` (defaults when it has no section).
    pub fn plugin(&self, name: &str) -> PluginConfig {
        self.plugins.get(name).cloned().unwrap_or_default()
    }
}

/// Reads a plugin's secret from where the owner keeps it: an environment
/// variable, or a file (relative to the config file's directory; one
/// trailing newline dropped). The error says why it cannot be read.
pub fn read_secret(
    config: &BotConfig,
    source: plugboard_registry_types::settings::SecretSource<'_>,
) -> Result<String, String> {
    use plugboard_registry_types::settings::SecretSource;
    match source {
        SecretSource::Env(variable) => std::env::var(variable).map_err(|e| match e {
            std::env::VarError::NotPresent => "it is not set; set it where the bot runs".to_owned(),
            std::env::VarError::NotUnicode(_) => "its value is not valid UTF-8".to_owned(),
        }),
        SecretSource::File(path) => {
            /// A secret is short; anything bigger is the wrong file.
            const MAX_SECRET_FILE: u64 = 64 * 1024;
            let path = config.resolve(std::path::Path::new(path));
            let shown = path.display();
            let meta =
                std::fs::metadata(&path).map_err(|e| format!("{shown} cannot be read: {e}"))?;
            if !meta.is_file() || meta.len() > MAX_SECRET_FILE {
                return Err(format!(
                    "{shown} is not a regular file of at most {MAX_SECRET_FILE} bytes"
                ));
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("{shown} cannot be read: {e}"))?;
            Ok(text.trim_end_matches(['\r', '\n']).to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_from_files_beside_the_config_and_from_the_environment() {
        use plugboard_registry_types::settings::SecretSource;
        let dir = std::env::temp_dir().join(format!("pb-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::write(dir.join("token.txt"), "s3cret\n").expect("secret file");
        let config = BotConfig::parse("", Path::new("bot.toml"), dir.clone()).expect("config");
        assert_eq!(
            read_secret(&config, SecretSource::File("token.txt")),
            Ok("s3cret".to_owned())
        );
        let missing = read_secret(&config, SecretSource::File("nope.txt")).expect_err("missing");
        assert!(missing.contains("nope.txt cannot be read"), "{missing}");
        assert_eq!(
            read_secret(&config, SecretSource::Env("PB_SURELY_UNSET_VARIABLE")),
            Err("it is not set; set it where the bot runs".to_owned())
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn defaults_and_errors() {
        let c = BotConfig::parse("", Path::new("p.toml"), PathBuf::from("/etc/bot"))
            .expect("empty is valid");
        assert_eq!(c.data_dir(), PathBuf::from("/etc/bot/data"));
        assert!(!c.console.enabled);
        let err = BotConfig::parse(
            "[console]\nenable = true\n",
            Path::new("p.toml"),
            PathBuf::new(),
        )
        .expect_err("typo")
        .to_string();
        assert!(
            err.contains("p.toml") && err.contains("unknown field `enable`"),
            "{err}"
        );
    }

    #[test]
    fn platform_roles_name_chat_admins_or_discord_roles_and_never_owner() {
        let parse = |table: &str| {
            BotConfig::parse(
                &format!("[people.platform_roles]\n{table}\n"),
                Path::new("p.toml"),
                PathBuf::new(),
            )
            .map_err(|e| e.to_string())
        };
        let ok = parse("\"telegram:chat-admin\" = \"admin\"\n\"discord:role:123\" = \"premium\"")
            .expect("valid");
        assert_eq!(ok.people.platform_roles.len(), 2);
        assert_eq!(
            PlatformFact::parse("telegram:chat-admin"),
            Ok(PlatformFact::ChatAdmin("telegram".into()))
        );
        assert_eq!(
            PlatformFact::parse("discord:role:123"),
            Ok(PlatformFact::DiscordRole("123".into()))
        );
        let typo = parse("\"telegram:admins\" = \"admin\"").expect_err("unknown fact");
        assert!(
            typo.contains("\"telegram:admins\" is neither `<platform>:chat-admin`"),
            "{typo}"
        );
        let named = parse("\"discord:role:mods\" = \"moderator\"").expect_err("not an id");
        assert!(
            named.contains("does not end in a Discord role id"),
            "{named}"
        );
        let owner = parse("\"telegram:chat-admin\" = \"owner\"").expect_err("owner");
        assert!(
            owner.contains(
                "`owner` cannot come from a platform; name the owners in `people.owners`"
            ),
            "{owner}"
        );
    }

    #[test]
    fn a_link_code_span_outside_one_second_to_an_hour_is_refused_with_the_range() {
        let parse = |secs: &str| {
            BotConfig::parse(
                &format!("[people]\nlink_code_secs = {secs}\n"),
                Path::new("p.toml"),
                PathBuf::new(),
            )
            .map_err(|e| e.to_string())
        };
        let ok = parse("30").expect("in range");
        assert_eq!(ok.people.link_code_ttl_ms(), 30_000);
        let default = BotConfig::parse("", Path::new("p.toml"), PathBuf::new()).expect("empty");
        assert_eq!(
            default.people.link_code_ttl_ms(),
            plugboard_people::CODE_TTL_MS
        );
        for bad in ["0", "3601"] {
            let err = parse(bad).expect_err(bad);
            assert!(
                err.contains(&format!(
                    "`people.link_code_secs` = {bad}: a link code works for 1 to 3600 seconds"
                )),
                "{err}"
            );
        }
        assert!(parse("-5").is_err(), "negative");
    }

    #[test]
    fn one_platform_section_or_several_named_ones_are_read_and_bad_names_are_refused() {
        let parse = |text: &str| {
            BotConfig::parse(text, Path::new("a.toml"), PathBuf::new()).map_err(|e| e.to_string())
        };
        let one = parse("[telegram]\ntoken_env = \"A\"\n").expect("one table");
        let names: Vec<&str> = one.telegram.named("telegram").map(|(n, _)| n).collect();
        assert_eq!(names, ["telegram"]);
        assert!(one.discord.is_empty());
        let two = parse(
            "[[telegram]]\nname = \"support\"\ntoken_env = \"A\"\n\
             [[telegram]]\nname = \"games\"\ntoken_env = \"B\"\n",
        )
        .expect("two named");
        let accounts: Vec<(&str, &str)> = two
            .telegram
            .named("telegram")
            .map(|(n, c)| (n, c.token_env.as_str()))
            .collect();
        assert_eq!(accounts, [("support", "A"), ("games", "B")]);
        for (text, says) in [
            (
                "[[discord]]\ntoken_env = \"A\"\n[[discord]]\nname = \"b\"\n",
                "`[[discord]]` number 1 has no `name`",
            ),
            (
                "[[telegram]]\nname = \"x\"\n[[telegram]]\nname = \"x\"\n",
                "two `[[telegram]]` accounts are named \"x\"",
            ),
            (
                "[telegram]\nname = \"Big Bot\"\n",
                "`telegram.name` = \"Big Bot\": an account name is 1 to 32 lowercase",
            ),
            (
                "[[telegram]]\ntokn_env = \"A\"\n",
                "unknown field `tokn_env`",
            ),
            ("telegram = 5\n", "one table, or an array of tables"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
