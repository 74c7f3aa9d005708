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
//! | `GET /openapi.json` | | this table as OpenAPI 3.1 |
//!
//! A refusal answers with a 4xx or 5xx status and an [`ApiError`].

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
