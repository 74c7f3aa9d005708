//! The running bot as the owner's tools see and steer it: the current
//! plugin set, the adapters' traffic, the queue, and the owner's decisions
//! (grants, resuming a suspended plugin) taken while it runs, each written
//! to the store and the audit log before it is reported done.
//!
//! A [`Control`] comes from [`Bot::control`](crate::bot::Bot::control)
//! before the bot runs and stays valid after: the admin API
//! (`plugboard-console`) holds one. What it reads is kept by the dispatcher
//! anyway (counters are relaxed atomics bumped once per event or
//! delivery), so watching the bot costs the event path nothing more.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use plugboard_adapter::Health;
use plugboard_host::plugin::{LoadedPlugin, Target};
use plugboard_model::event::{ChatRef, Outbound, OutboundOp, Outgoing, Platform};
use plugboard_people::{AuditEntry, ChatChange, ChatPlugins, People, Role, RoleError, UsageRow};
use plugboard_registry_types::Permission;
use plugboard_store::{Store, StoreError};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::api_tokens::ApiToken;
use crate::config::BotConfig;
use crate::grants::{GrantChange, GrantError};
use crate::router::Router;
use crate::sightings::Sightings;

/// Why an owner's decision could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// No running plugin has that name.
    #[error("no plugin named `{0}` is running; `plugboard plugins list` shows the plugins")]
    NoPlugin(String),
    /// The grants could not be changed.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The bot was assembled without a config (an embedded bot), so there
    /// is no record of grants to change.
    #[error("this bot was not started from a config file; change its plugins' grants in code")]
    NoConfig,
    /// The audit log could not be written.
    #[error("the change was made but the audit log could not record it: {0}")]
    Audit(String),
    /// The people records (the audit log among them) could not be read.
    #[error("cannot read the people records: {0}")]
    Records(String),
    /// A chat was not named as `platform:id`.
    #[error(
        "`{0}` is not a chat; name it as platform:id (a lowercase platform, an id of at most 128 characters without `/`), e.g. telegram:-1001234567890"
    )]
    BadChat(String),
    /// The bot keeps no people (an embedded bot without them).
    #[error("this bot keeps no people, so no per-chat settings")]
    NoPeople,
    /// The change would change nothing.
    #[error("nothing to change: {0}")]
    Unchanged(String),
    /// The plugin declares no settings, so there is no form to fill.
    #[error(
        "`{0}` declares no settings; whatever it takes goes in [plugins.{0}.config] in the config file"
    )]
    NoSettings(String),
    /// Values refused by the plugin's declared settings, each naming its
    /// setting.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Settings(Vec<plugboard_registry_types::settings::SettingProblem>),
    /// The config file could not be read, edited or written.
    #[error("the config file: {0}")]
    ConfigFile(String),
    /// The plugin did not start again with the new settings; the old ones
    /// are back in the file, and the plugin runs on with them.
    #[error("`{plugin}` did not start with the new settings, so they were not kept: {why}")]
    Restart {
        /// The plugin.
        plugin: String,
        /// What its start said.
        why: String,
    },
    /// The bot is not running right now (starting or stopping): nothing
    /// can be restarted or sent.
    #[error(
        "the bot is not running right now (it is starting or stopping); try again when it runs"
    )]
    NotRunning,
    /// An API token could not be made, changed or read.
    #[error(transparent)]
    Token(#[from] crate::api_tokens::TokenError),
    /// No API token is the one presented.
    #[error(
        "that is not an API token of this bot (or it was revoked); ask the bot's owner for one"
    )]
    NoToken,
    /// The token may not send to that chat.
    #[error("this token may not send to `{0}`; its owner names the chats each token may send to")]
    ChatNotAllowed(String),
    /// The message is empty or too long.
    #[error("send a text of 1 to {MAX_API_TEXT} bytes")]
    BadText,
}

/// Longest chat id the owner may name (platforms' ids are far shorter).
pub const MAX_CHAT_ID: usize = 128;

/// What loading the plugin set said, besides the plugins that run.
#[derive(Debug, Clone, Default)]
pub struct LoadNotes {
    /// Plugins the config disables.
    pub disabled_in_config: Vec<String>,
    /// Plugins that could not be loaded, each with its reason.
    pub not_loaded: Vec<String>,
}

impl LoadNotes {
    /// The notes of `report`.
    pub fn of(report: &crate::bot::LoadReport) -> Self {
        Self {
            disabled_in_config: report.disabled.clone(),
            not_loaded: report.refused.iter().map(ToString::to_string).collect(),
        }
    }
}

/// What one adapter (one account on a platform) has seen so far.
#[derive(Debug)]
pub struct AdapterStats {
    /// The platform it serves.
    pub platform: Platform,
    /// The account's name: the platform's name unless the config names
    /// several accounts (`[[telegram]] name = "support"`).
    pub account: Arc<str>,
    /// Events it handed to the bot.
    pub events: AtomicU64,
    /// Deliveries (messages, edits, reactions…) handed to it.
    pub deliveries: AtomicU64,
    /// Deliveries dropped because it had stopped.
    pub dropped: AtomicU64,
    /// How its connection is doing, as the adapter says.
    pub health: Arc<Health>,
}

impl AdapterStats {
    pub(crate) fn new(platform: Platform, account: Arc<str>) -> Self {
        Self {
            platform,
            account,
            events: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            health: Arc::default(),
        }
    }
}

/// The running bot, for the owner's tools.
pub struct Control {
    routes: watch::Receiver<Arc<Router>>,
    store: Arc<dyn Store>,
    /// The config as it is now (settings changed from the console
    /// replace it).
    config: Option<Arc<RwLock<BotConfig>>>,
    /// Where plugins are restarted with new settings, while the bot runs.
    restarts: Mutex<Option<mpsc::Sender<Restart>>>,
    /// One settings change at a time (each reads, edits and writes the
    /// file).
    changing: tokio::sync::Mutex<()>,
    /// The running dispatcher, for messages no event caused (sent through
    /// an API token).
    dispatcher: Mutex<std::sync::Weak<crate::dispatch::Dispatcher>>,
    started: Instant,
    /// The dispatcher's bound on events accepted but not yet handled.
    capacity: Arc<Semaphore>,
    queue: usize,
    adapters: Mutex<Vec<Arc<AdapterStats>>>,
    ready: AtomicBool,
    notes: Mutex<LoadNotes>,
    sightings: Sightings,
}

impl Control {
    pub(crate) fn new(
        routes: watch::Receiver<Arc<Router>>,
        store: Arc<dyn Store>,
        config: Option<Arc<RwLock<BotConfig>>>,
        capacity: Arc<Semaphore>,
        queue: usize,
    ) -> Self {
        Self {
            routes,
            store,
            config,
            restarts: Mutex::new(None),
            changing: tokio::sync::Mutex::new(()),
            dispatcher: Mutex::new(std::sync::Weak::new()),
            started: Instant::now(),
            capacity,
            queue,
            adapters: Mutex::new(Vec::new()),
            ready: AtomicBool::new(false),
            notes: Mutex::default(),
            sightings: Sightings::default(),
        }
    }

    /// The router new events go through (it changes when plugins are
    /// installed, updated or removed).
    pub fn router(&self) -> Arc<Router> {
        Arc::clone(&self.routes.borrow())
    }

    /// The running WebAssembly plugins, in load order.
    pub fn plugins(&self) -> Vec<Arc<LoadedPlugin>> {
        self.router()
            .plugins()
            .iter()
            .filter_map(|t| match t {
                Target::Wasm(p) => Some(Arc::clone(p)),
                Target::Native(_) => None,
            })
            .collect()
    }

    /// The running plugin named `name`.
    pub fn plugin(&self, name: &str) -> Result<Arc<LoadedPlugin>, ControlError> {
        self.plugins()
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| ControlError::NoPlugin(name.to_owned()))
    }

    /// The bot's store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The config the bot was started from, with the settings changed
    /// since, if it was started from one.
    pub fn config(&self) -> Option<BotConfig> {
        let shared = self.config.as_ref()?;
        Some(shared.read().unwrap_or_else(|p| p.into_inner()).clone())
    }

    pub(crate) fn set_restarts(&self, restarts: Option<mpsc::Sender<Restart>>) {
        *self.restarts.lock().unwrap_or_else(|p| p.into_inner()) = restarts;
    }

    pub(crate) fn set_dispatcher(&self, dispatcher: std::sync::Weak<crate::dispatch::Dispatcher>) {
        *self.dispatcher.lock().unwrap_or_else(|p| p.into_inner()) = dispatcher;
    }

    /// The API tokens, oldest first.
    pub fn api_tokens(&self) -> Result<Vec<ApiToken>, ControlError> {
        Ok(crate::api_tokens::list(&*self.store)?)
    }

    /// Makes an API token named `name` that may send to `chats`
    /// (`platform:id`), as the owner `actor`; audited. Returns it and the
    /// token itself, which is shown only now.
    pub fn create_api_token(
        &self,
        name: &str,
        chats: &[String],
        actor: &str,
    ) -> Result<(ApiToken, String), ControlError> {
        let now = plugboard_model::event::now_ms();
        let check = |chat: &str| owners_chat(chat).map(|_| ()).map_err(|e| e.to_string());
        let (token, secret) = crate::api_tokens::create(&*self.store, name, chats, check, now)?;
        let detail = format!(
            "{} ({}) for {}",
            token.id,
            token.name,
            token.chats.join(", ")
        );
        audit(
            self.people().as_deref(),
            actor,
            "api-token",
            "created",
            &detail,
        )?;
        Ok((token, secret))
    }

    /// Revokes API token `id`, as the owner `actor`; audited. Whether
    /// there was one.
    pub fn revoke_api_token(&self, id: &str, actor: &str) -> Result<bool, ControlError> {
        let Some(gone) = crate::api_tokens::revoke(&*self.store, id)? else {
            return Ok(false);
        };
        let detail = format!("{} ({})", gone.id, gone.name);
        audit(
            self.people().as_deref(),
            actor,
            "api-token",
            "revoked",
            &detail,
        )?;
        Ok(true)
    }

    /// The API token `presented` is.
    pub fn api_token(&self, presented: &str) -> Result<ApiToken, ControlError> {
        crate::api_tokens::find(&*self.store, presented)?.ok_or(ControlError::NoToken)
    }

    /// Sends `text` (Markdown when `markdown`) to `chat` (`platform:id`)
    /// for the holder of `token` (from [`Control::api_token`]), which
    /// must name the chat. The message goes out through the account that
    /// last heard from the chat, else the platform's first.
    pub async fn send_with_token(
        &self,
        token: &ApiToken,
        chat: &str,
        text: &str,
        markdown: bool,
    ) -> Result<(), ControlError> {
        let (platform, id) = owners_chat(chat)?;
        if !token.allows(chat) {
            return Err(ControlError::ChatNotAllowed(chat.to_owned()));
        }
        if text.trim().is_empty() || text.len() > MAX_API_TEXT {
            return Err(ControlError::BadText);
        }
        let message = match markdown {
            true => Outgoing::markdown(text),
            false => Outgoing::text(text),
        };
        let outbound = Outbound {
            chat: ChatRef {
                platform: Platform::from_name(platform),
                id: id.to_owned(),
            },
            op: OutboundOp::Send {
                message,
                reply_to: None,
            },
            plugin: Arc::from("plugboard"),
            mention_everyone: false,
            receipt: Default::default(),
        };
        let dispatcher = self
            .dispatcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .upgrade()
            .ok_or(ControlError::NotRunning)?;
        if !dispatcher.deliver(outbound).await {
            return Err(ControlError::NotRunning);
        }
        tracing::info!(token = %token.id, name = %token.name, chat, "a message sent with an API token");
        Ok(())
    }

    /// Who is who and the audit log, when the bot keeps people.
    pub fn people(&self) -> Option<Arc<People>> {
        Some(Arc::clone(self.router().access()?.people()))
    }

    /// Every event and delivery from now on, while watched (the live
    /// stream).
    pub fn sightings(&self) -> &Sightings {
        &self.sightings
    }

    /// How long ago the bot was assembled.
    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Events accepted but not yet handled, and how many may be.
    pub fn queue(&self) -> (usize, usize) {
        let free = self.capacity.available_permits();
        (self.queue.saturating_sub(free), self.queue)
    }

    /// Whether the bot is serving: its plugins started and its adapters
    /// run, and it is not shutting down.
    pub fn ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    /// What loading the running plugin set said.
    pub fn load_notes(&self) -> LoadNotes {
        self.notes.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn set_load_notes(&self, notes: LoadNotes) {
        *self.notes.lock().unwrap_or_else(|p| p.into_inner()) = notes;
    }

    /// Each adapter's traffic so far.
    pub fn adapters(&self) -> Vec<Arc<AdapterStats>> {
        self.adapters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn add_adapter(&self, stats: Arc<AdapterStats>) {
        self.adapters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(stats);
    }

    /// Grants (`grant`) or revokes the permissions `names` for the running
    /// plugin `plugin`: written to the store, held by the plugin from its
    /// next host call on, and recorded in the audit log as done by `actor`.
    pub fn change_grants(
        &self,
        plugin: &str,
        names: &[String],
        grant: bool,
        actor: &str,
    ) -> Result<GrantChange, ControlError> {
        let running = self.plugin(plugin)?;
        let config = self.config().ok_or(ControlError::NoConfig)?;
        let change =
            crate::grants::change(&config, &*self.store, running.manifest(), names, grant)?;
        let installed = crate::discovery::installed(&config);
        let held: BTreeSet<Permission> = crate::grants::held(
            &config,
            &*self.store,
            &installed,
            running.manifest(),
            running.dir(),
        )?;
        running.set_grants(&held);
        tracing::info!(
            plugin,
            actor,
            permissions = %change.detail(),
            "{}ed by the owner",
            change.action()
        );
        audit(
            self.people().as_deref(),
            actor,
            change.action(),
            plugin,
            &change.detail(),
        )?;
        Ok(change)
    }

    /// The last `last` audit entries (of `action` only, when given),
    /// oldest first; none for a bot that keeps no people.
    pub fn audit_tail(
        &self,
        action: Option<&str>,
        last: usize,
    ) -> Result<Vec<AuditEntry>, ControlError> {
        let Some(people) = self.people() else {
            return Ok(Vec::new());
        };
        people
            .audit_tail(action, last)
            .map_err(|e| ControlError::Records(e.to_string()))
    }

    /// The usage of the last `days` UTC days, and the first day (see
    /// [`People::usage_of_days`]); none for a bot that keeps no people.
    pub fn usage_of_days(&self, days: u64) -> Result<(String, Vec<UsageRow>), ControlError> {
        let Some(people) = self.people() else {
            return Ok((String::new(), Vec::new()));
        };
        people
            .usage_of_days(days)
            .map_err(|e| ControlError::Records(e.to_string()))
    }

    /// The chats whose plugins were changed (turned off, or an allow-list),
    /// as `(platform:chat, settings)`.
    pub fn chat_plugins(&self) -> Result<Vec<(String, ChatPlugins)>, ControlError> {
        let Some(people) = self.people() else {
            return Ok(Vec::new());
        };
        let all = people
            .all_chat_plugins()
            .map_err(|e| ControlError::Records(e.to_string()))?;
        Ok(all
            .into_iter()
            .map(|(platform, chat, settings)| (format!("{platform}:{chat}"), settings))
            .collect())
    }

    /// Changes which plugins serve `chat` (`platform:id`, as the audit log
    /// and `/plugins` name it), as the owner `actor`; audited. Returns the
    /// chat's settings after the change.
    pub fn change_chat_plugins(
        &self,
        chat: &str,
        change: ChatChange,
        actor: &str,
    ) -> Result<ChatPlugins, ControlError> {
        let (platform, id) = owners_chat(chat)?;
        let named = |plugin: &String| self.plugin(plugin).map(|_| ());
        match &change {
            ChatChange::Off(plugin) | ChatChange::On(plugin) => named(plugin)?,
            ChatChange::Only(plugins) => plugins.iter().try_for_each(named)?,
            ChatChange::All => {}
        }
        let people = self.people().ok_or(ControlError::NoPeople)?;
        let owner = BTreeSet::from([Role::Owner]);
        let after = people
            .change_chat_plugins(actor, &owner, platform, id, change)
            .map_err(|e| match e {
                RoleError::Unchanged(why) => ControlError::Unchanged(why),
                other => ControlError::Records(other.to_string()),
            })?;
        people
            .flush()
            .map_err(|e| ControlError::Audit(e.to_string()))?;
        Ok(after)
    }

    /// Sets the running plugin `plugin`'s settings to `values` (as the
    /// owner writes them in `[plugins.<plugin>.config]`; a secret as `{ env
    /// = "VARIABLE" }` or `{ file = "path" }`), as the owner `actor`.
    ///
    /// The values are checked against what the plugin declares (the check
    /// loading runs, each problem naming its setting), written into the
    /// config file in place, and the plugin restarted with them: events
    /// already running finish with the old instance. When the plugin does
    /// not start with them, the file gets its old text back and the old
    /// instance runs on. Recorded in the audit log (a secret by where it
    /// is read from, never its value). Returns what changed, one line per
    /// setting.
    pub async fn change_plugin_config(
        self: &Arc<Self>,
        plugin: &str,
        values: toml::Table,
        actor: &str,
    ) -> Result<Vec<String>, ControlError> {
        let this = Arc::clone(self);
        let (name, actor) = (plugin.to_owned(), actor.to_owned());
        // In a task of its own: a caller that goes away (a closed
        // connection) does not stop it between writing the file and
        // restarting, undoing or recording.
        let change =
            tokio::spawn(async move { this.apply_plugin_config(&name, values, &actor).await });
        change.await.unwrap_or_else(|e| {
            Err(ControlError::Restart {
                plugin: plugin.to_owned(),
                why: e.to_string(),
            })
        })
    }

    async fn apply_plugin_config(
        &self,
        plugin: &str,
        values: toml::Table,
        actor: &str,
    ) -> Result<Vec<String>, ControlError> {
        let _one_at_a_time = self.changing.lock().await;
        let running = self.plugin(plugin)?;
        let manifest = running.manifest();
        if manifest.config.is_empty() {
            return Err(ControlError::NoSettings(plugin.to_owned()));
        }
        let config = self.config().ok_or(ControlError::NoConfig)?;
        plugboard_registry_types::settings::resolve(&manifest.config, &values, &|source| {
            crate::config::read_secret(&config, source)
        })
        .map_err(ControlError::Settings)?;
        let lines = crate::plugin_config::describe(
            &manifest.config,
            &config.plugin(plugin).config,
            &values,
        );
        if lines.is_empty() {
            return Err(ControlError::Unchanged(format!(
                "these are `{plugin}`'s settings already"
            )));
        }
        let path = config.path.clone();
        let file = |e: &dyn std::fmt::Display| {
            ControlError::ConfigFile(format!("{}: {e}", path.display()))
        };
        let before = std::fs::read_to_string(&path).map_err(|e| file(&e))?;
        let after = crate::plugin_config::with_plugin_config(&before, plugin, &values)
            .map_err(|e| file(&e))?;
        // The whole file must still be a config; the bot takes this
        // plugin's settings from it, nothing else edited by hand since.
        BotConfig::parse(&after, &path, config.base_dir.clone())
            .map_err(|e| ControlError::ConfigFile(e.to_string()))?;
        let mut changed = config.clone();
        changed.plugins.entry(plugin.to_owned()).or_default().config = values;
        crate::plugin_config::replace_file(&path, &after).map_err(|e| file(&e))?;
        if let Err(e) = self.restart(changed, plugin).await {
            if let Err(undo) = crate::plugin_config::replace_file(&path, &before) {
                tracing::error!(
                    "cannot put the old settings back into {}: {undo}",
                    path.display()
                );
            }
            return Err(e);
        }
        let detail = lines.join("; ");
        tracing::info!(plugin, actor, changed = %detail, "settings changed by the owner");
        audit(self.people().as_deref(), actor, "config", plugin, &detail)?;
        Ok(lines)
    }

    /// Has the running bot take `config` and start `plugin` again with it.
    async fn restart(&self, config: BotConfig, plugin: &str) -> Result<(), ControlError> {
        let restarts = self
            .restarts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(ControlError::NotRunning)?;
        let (reply, answer) = oneshot::channel();
        let request = Restart {
            config,
            plugin: plugin.to_owned(),
            reply,
        };
        restarts
            .send(request)
            .await
            .map_err(|_| ControlError::NotRunning)?;
        match answer.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(ControlError::Restart {
                plugin: plugin.to_owned(),
                why,
            }),
            Err(_) => Err(ControlError::NotRunning),
        }
    }

    /// Lifts the circuit breaker's suspension of `plugin`, recorded in the
    /// audit log as done by `actor`. Returns why it was suspended, if it
    /// was.
    pub fn resume(&self, plugin: &str, actor: &str) -> Result<Option<String>, ControlError> {
        let running = self.plugin(plugin)?;
        resume(&running, self.people().as_deref(), actor)
    }
}

/// A chat the owner names, `platform:id` (a lowercase platform, an id of
/// at most [`MAX_CHAT_ID`] characters without `/` or control characters),
/// split in two.
pub fn owners_chat(chat: &str) -> Result<(&str, &str), ControlError> {
    chat.split_once(':')
        .filter(|(platform, id)| {
            !platform.is_empty()
                && platform
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !id.is_empty()
                && id.len() <= MAX_CHAT_ID
                && !id.contains('/')
                && !id.chars().any(char::is_control)
        })
        .ok_or_else(|| ControlError::BadChat(plugboard_registry_types::text::one_line(chat, 80)))
}

/// Longest message another program may send through an API token, in
/// bytes (what every platform takes in one message).
pub const MAX_API_TEXT: usize = 4096;

/// A request to the running bot: take `config`, and start `plugin` again
/// with it; `reply` says whether it started.
pub(crate) struct Restart {
    pub(crate) config: BotConfig,
    pub(crate) plugin: String,
    pub(crate) reply: oneshot::Sender<Result<(), String>>,
}

/// Lifts `plugin`'s suspension; when it was suspended, logs it and records
/// it in `people`'s audit log as done by `actor`. Returns why it was
/// suspended, if it was. For the admin API, the pages and the console's
/// `/plugboard resume`.
pub(crate) fn resume(
    plugin: &LoadedPlugin,
    people: Option<&People>,
    actor: &str,
) -> Result<Option<String>, ControlError> {
    let reason = plugin.resume();
    if reason.is_some() {
        tracing::info!(plugin = plugin.name(), actor, "plugin resumed by the owner");
        audit(people, actor, "resume", plugin.name(), "")?;
    }
    Ok(reason)
}

/// Records an owner's decision in `people`'s audit log, durably (a bot
/// without people keeps no audit log).
fn audit(
    people: Option<&People>,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), ControlError> {
    let Some(people) = people else {
        return Ok(());
    };
    people
        .record(actor, action, subject, detail)
        .and_then(|()| people.flush())
        .map_err(|e| ControlError::Audit(e.to_string()))
}
