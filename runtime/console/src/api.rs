//! The admin API's requests and answers (JSON), shared by the server and
//! the CLI's client. Paths, all under `/api/v1` and all needing the token:
//!
//! | method and path | body | answer |
//! |---|---|---|
//! | `GET /status` | | [`Status`] |
//! | `GET /plugins` | | [`Listing`](crate::listing::Listing) |
//! | `POST /plugins/{name}/grant` | [`Permissions`] | [`GrantChange`] |
//! | `POST /plugins/{name}/revoke` | [`Permissions`] | [`GrantChange`] |
//! | `POST /plugins/{name}/resume` | | [`Resumed`] |
//! | `GET /audit?last=50&action=grant` | | a list of [`AuditEntry`] |
//! | `GET /usage?days=7` | | [`UsageReport`] |
//! | `GET /chats` | | a list of [`ChatSettings`] |
//! | `POST /chats/{platform:id}/plugins` | [`ChatPluginsChange`] | [`ChatSettings`] |
//! | `GET /plugins/{name}/config` | | [`PluginSettings`] |
//! | `PUT /plugins/{name}/config` | the values, as a JSON object | [`SettingsChanged`] |
//! | `GET /tokens` | | a list of [`ApiToken`] |
//! | `POST /tokens` | [`TokenRequest`] | [`TokenCreated`] |
//! | `DELETE /tokens/{id}` | | [`TokenRevoked`] |
//! | `POST /send` (with an API token, not the admin token) | [`SendRequest`] | [`Sent`] |
//! | `GET /openapi.json` | | this table as OpenAPI 3.1 |
//!
//! A refusal answers with a 4xx or 5xx status and an [`ApiError`].

pub use plugboard_bot::api_tokens::ApiToken;
pub use plugboard_bot::grants::GrantChange;
pub use plugboard_people::{AuditEntry, UsageRow};
use serde::{Deserialize, Serialize};

/// The OpenAPI document of the admin API, served at
/// `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// What went wrong, with the fix where there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// The message, for people.
    pub error: String,
    /// For settings refused: each problem with the setting it is about.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<SettingProblem>,
}

/// One value refused, and why (a setting's name, and what is wrong with
/// its value and how to fix it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingProblem {
    /// The setting.
    pub key: String,
    /// What is wrong, and the fix.
    pub problem: String,
}

/// A plugin's declared settings and the owner's values, as the console's
/// form and `GET /api/v1/plugins/{name}/config` show them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginSettings {
    /// The plugin.
    pub plugin: String,
    /// Each setting it declares, by name.
    pub settings: Vec<SettingView>,
}

/// One declared setting, with the owner's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingView {
    /// Its name (the key under `[plugins.<name>.config]`).
    pub name: String,
    /// `string`, `integer`, `boolean` or `string-list`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What it does.
    pub description: String,
    /// The values allowed, in words (`an integer from 1 to 100`).
    pub allowed: String,
    /// The smallest integer, or the fewest characters or items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// The largest integer, or the most characters or items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// For a string: the only values allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The value when the owner sets none (none for a required setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<serde_json::Value>,
    /// Whether the owner must set it.
    pub required: bool,
    /// Whether it is a secret: its value is never shown, only `source`.
    pub secret: bool,
    /// The value the owner set, when not a secret (none: the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Where a secret is read from, when the owner set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SecretFrom>,
}

/// Where a secret is read from: `{"env": "VARIABLE"}` or `{"file":
/// "path"}`, as in the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretFrom {
    /// An environment variable of the bot's process.
    Env(String),
    /// A file, relative to the config file's directory.
    File(String),
}

impl PluginSettings {
    /// What `declared` settings hold with the owner's `values` (as written
    /// in `[plugins.<plugin>.config]`).
    pub fn of(
        plugin: &str,
        declared: &std::collections::BTreeMap<String, plugboard_registry_types::settings::Setting>,
        values: &toml::Table,
    ) -> Self {
        use plugboard_registry_types::settings::SecretSource;
        let settings = declared
            .iter()
            .map(|(name, setting)| {
                let given = values.get(name);
                let (value, source) = match (given, setting.secret) {
                    (None, _) => (None, None),
                    (Some(given), true) => (
                        None,
                        SecretSource::of(given).map(|source| match source {
                            SecretSource::Env(v) => SecretFrom::Env(v.to_owned()),
                            SecretSource::File(p) => SecretFrom::File(p.to_owned()),
                        }),
                    ),
                    (Some(given), false) => (serde_json::to_value(given).ok(), None),
                };
                SettingView {
                    name: name.clone(),
                    kind: setting.kind.as_str().to_owned(),
                    description: setting.description.clone(),
                    allowed: setting.allowed(),
                    min: setting.min,
                    max: setting.max,
                    choices: setting.choices.clone(),
                    default: setting.default.as_ref().map(|d| d.to_json()),
                    required: setting.default.is_none(),
                    secret: setting.secret,
                    value,
                    source,
                }
            })
            .collect();
        Self {
            plugin: plugin.to_owned(),
            settings,
        }
    }
}

/// What a settings change changed, one line per setting (a secret by
/// where it is read from).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsChanged {
    /// `name: before → after`, one per setting changed.
    pub changed: Vec<String>,
}

/// The permissions to grant or revoke, by the names `plugin.toml` uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// `kv`, `http`, …
    pub permissions: Vec<String>,
}

/// The answer to `resume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    /// The plugin.
    pub plugin: String,
    /// Whether it was suspended (and now runs again).
    pub resumed: bool,
    /// Why it had been suspended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /audit`'s query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// How many of the newest entries (default 50).
    #[serde(default = "default_last")]
    pub last: usize,
    /// Only entries of this action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

fn default_last() -> usize {
    50
}

/// Which plugins serve one chat, where that was changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatSettings {
    /// The chat, `platform:id`.
    pub chat: String,
    /// Plugins turned off there.
    pub off: Vec<String>,
    /// When set, the only plugins that serve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<Vec<String>>,
}

impl ChatSettings {
    /// `chat`'s `settings`.
    pub fn of(chat: String, settings: &plugboard_people::ChatPlugins) -> Self {
        Self {
            chat,
            off: settings.off.iter().cloned().collect(),
            only: settings.only.as_ref().map(|o| o.iter().cloned().collect()),
        }
    }
}

/// A change of which plugins serve a chat: `{"off": "dice"}`,
/// `{"on": "dice"}`, `{"only": ["dice", "notes"]}` or `"all"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatPluginsChange {
    /// Turn a plugin off there.
    Off(String),
    /// Turn it on again.
    On(String),
    /// Only these plugins serve it from now on.
    Only(Vec<String>),
    /// Every plugin serves it again.
    All,
}

impl From<ChatPluginsChange> for plugboard_people::ChatChange {
    fn from(change: ChatPluginsChange) -> Self {
        match change {
            ChatPluginsChange::Off(p) => Self::Off(p),
            ChatPluginsChange::On(p) => Self::On(p),
            ChatPluginsChange::Only(ps) => Self::Only(ps.into_iter().collect()),
            ChatPluginsChange::All => Self::All,
        }
    }
}

/// `GET /usage`'s query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageQuery {
    /// How many UTC days back, today included (default 7).
    #[serde(default = "default_days")]
    pub days: u64,
}

fn default_days() -> u64 {
    7
}

/// Commands run and refused per plugin, command and day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    /// The first day counted, `YYYY-MM-DD`.
    pub since: String,
    /// One row per day, plugin and command that saw use.
    pub rows: Vec<UsageRow>,
}

/// The bot at a glance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Whether it serves (plugins started, adapters running, not stopping).
    pub ready: bool,
    /// Seconds since it started.
    pub uptime_seconds: u64,
    /// Events accepted but not yet handled.
    pub queue_depth: usize,
    /// How many may wait before adapters are slowed down.
    pub queue_capacity: usize,
    /// Each adapter's traffic.
    pub adapters: Vec<AdapterStatus>,
    /// Plugins running.
    pub plugins: usize,
    /// Of those, suspended by their circuit breaker.
    pub suspended: usize,
}

/// One adapter's traffic and connection so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterStatus {
    /// Its platform.
    pub platform: String,
    /// Its account's name (the platform's, unless the config names
    /// several accounts).
    pub account: String,
    /// Events it received.
    pub events: u64,
    /// Deliveries handed to it.
    pub deliveries: u64,
    /// Deliveries dropped because it had stopped.
    pub dropped: u64,
    /// Whether it is connected to its platform now.
    pub connected: bool,
    /// How often it connected again after losing its connection.
    pub reconnects: u64,
    /// The last problem it reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_problem: Option<String>,
}

impl AdapterStatus {
    /// What `stats` say now.
    pub fn of(stats: &plugboard_bot::control::AdapterStats) -> Self {
        let relaxed = std::sync::atomic::Ordering::Relaxed;
        Self {
            platform: stats.platform.to_string(),
            account: stats.account.to_string(),
            events: stats.events.load(relaxed),
            deliveries: stats.deliveries.load(relaxed),
            dropped: stats.dropped.load(relaxed),
            connected: stats.health.connected(),
            reconnects: stats.health.reconnects(),
            last_problem: stats.health.last_problem(),
        }
    }
}

/// An API token to make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// What uses it, in one line.
    pub name: String,
    /// The chats it may send to, as `platform:id`.
    pub chats: Vec<String>,
}

/// A token made: the token itself is in this answer only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCreated {
    /// Its id, to revoke it by.
    pub id: String,
    /// What uses it.
    pub name: String,
    /// The chats it may send to.
    pub chats: Vec<String>,
    /// The token (`pbt_…`), shown once.
    pub token: String,
}

/// Whether a token was revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevoked {
    /// False when no token had that id.
    pub revoked: bool,
}

/// A message another program sends through the bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRequest {
    /// The chat, as `platform:id`; the token must name it.
    pub chat: String,
    /// The text, 1 to 4096 bytes.
    pub text: String,
    /// Whether the text is Markdown (plain text when false or absent).
    #[serde(default)]
    pub markdown: bool,
}

/// A message handed to the chat's adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    /// The chat.
    pub chat: String,
    /// The id of the token it was sent with.
    pub token: String,
}
