//! # plugboard-discord
//!
//! The Discord adapter, over serenity (gateway + REST). It owns everything
//! Discord-specific: its `[discord]` config table ([`DiscordConfig`]),
//! intents, shards, slash-command registration, interactions, formatting and
//! mention safety. It sees the loaded plugins only as a
//! [`Catalog`](plugboard_model::Catalog) of manifests, never the plugins.
//!
//! What it must not touch: plugins, wasmtime (not in its dependency tree),
//! the router, plugin KV or grants.
//!
//! Inbound, serenity keeps the gateway connection: it identifies with the
//! intents the installed plugins need, heartbeats, reconnects, and resumes a
//! dropped session, so Discord replays what was missed. Each gateway event
//! becomes our event ([`events`]): messages (the router turns `!roll` or
//! `/roll` into commands), edits, reactions, member joins and leaves, slash
//! commands and button presses. Discord-only details travel in
//! [`DiscordMessage`](plugboard_model::event::DiscordMessage).
//!
//! Slash commands are registered from the plugins' manifests ([`commands`])
//! when the adapter starts, again whenever the bot's plugin set changes
//! (installs, updates and removals while it runs, followed through
//! [`AdapterIo::plugins`]) or [`CommandsHandle::set`] is called, and only if
//! they changed. Gateway intents are chosen at start: a plugin installed
//! later that needs a new intent (reactions, members) gets its events after
//! the next start. Interactions are answered in time ([`interactions`]).
//!
//! Outbound goes through serenity's REST client, whose rate limiter keeps
//! within Discord's per-route and global limits and honours `retry_after`;
//! with `proxy_url` set, REST calls go through that proxy instead (such as
//! twilight-http-proxy), which then does the rate limiting for every process
//! of the bot. Texts are escaped and split by [`format`](mod@format); no message can ping
//! `@everyone`, `@here` or a role.
//!
//! Errors: a refused token is reported once and the adapter stops, leaving
//! the other adapters running; so are privileged intents not enabled in the
//! Developer Portal. Failed deliveries are logged and skipped.
//!
//! Ordering: serenity hands each gateway event to its own task, so two
//! events of one channel arriving within the same instant may be submitted
//! in either order; from submission on, a channel's events are handled in
//! order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serenity::all::GatewayIntents;
use serenity::http::{Http, HttpBuilder};
use serenity::model::id::{ApplicationId, ChannelId, GuildId, MessageId};
use tokio::sync::{mpsc, watch};

use plugboard_adapter::{Adapter, AdapterError, AdapterFuture, AdapterIo, Inbox};
use plugboard_model::event::{Outbound, OutboundOp, Platform};
use plugboard_registry_types::{EventKind, Manifest};
use plugboard_store::RuntimeMeta;

pub mod commands;
pub mod events;
pub mod format;
pub mod interactions;

pub use commands::{PluginSet, SlashCommand};
pub use interactions::DEFER_AFTER;

use interactions::{Answer, Interactions};

/// `[discord]` in `plugboard.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The account's name, when the config has several accounts of this
    /// platform (`[[telegram]]`): in the console, logs and metrics.
    #[serde(default)]
    pub name: Option<String>,
    /// The environment variable holding the bot token (never the token).
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// Read messages for prefix commands (`!roll 2d6`). Needs the privileged
    /// Message Content intent, enabled in the Developer Portal. Default on.
    #[serde(default = "yes")]
    pub prefix_commands: bool,
    /// Register the plugins' commands as slash commands. Default on.
    #[serde(default = "yes")]
    pub slash_commands: bool,
    /// Register slash commands in this guild only, where they appear at
    /// once (global commands can take up to an hour): for development.
    #[serde(default)]
    pub guild_id: Option<u64>,
    /// How many shards the bot uses in total, across all its processes.
    #[serde(default)]
    pub shard_count: Option<u32>,
    /// The shards this process runs, as `"0..4"` (0 to 3) or `"4"`; all of
    /// `shard_count` when absent.
    #[serde(default)]
    pub shards: Option<String>,
    /// Send REST calls to this base URL instead of `https://discord.com`
    /// (e.g. `http://127.0.0.1:3000`, a twilight-http-proxy shared by all
    /// processes of the bot, which then does the rate limiting).
    #[serde(default)]
    pub proxy_url: Option<String>,
}

fn default_token_env() -> String {
    "DISCORD_BOT_TOKEN".into()
}

fn yes() -> bool {
    true
}

fn fail(message: String) -> AdapterError {
    AdapterError::Platform {
        platform: "discord".into(),
        message,
    }
}

fn token_refused() -> AdapterError {
    fail(
        "the bot token was refused (401); copy it again from the Bot page of your application in \
         the Discord Developer Portal into the environment variable named by `token_env`"
            .into(),
    )
}

/// Which shards this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardPlan {
    /// The first shard.
    pub first: u32,
    /// How many shards, from `first`.
    pub count: u32,
    /// Shards of the bot in total.
    pub total: u32,
}

impl ShardPlan {
    /// The plan `shard_count` and `shards` describe.
    pub fn from_config(shard_count: Option<u32>, shards: Option<&str>) -> Result<Self, String> {
        let total = shard_count.unwrap_or(1);
        if total == 0 {
            return Err("`shard_count` must be at least 1".into());
        }
        let Some(text) = shards else {
            return Ok(Self {
                first: 0,
                count: total,
                total,
            });
        };
        let number = |s: &str| {
            s.trim().parse::<u32>().map_err(|_| {
                format!("`shards` = {text:?} is not a shard range; write it like \"0..4\" (shards 0 to 3) or \"4\"")
            })
        };
        let (first, end) = match text.split_once("..") {
            Some((a, b)) => match b.strip_prefix('=') {
                Some(b) => (number(a)?, number(b)?.saturating_add(1)),
                None => (number(a)?, number(b)?),
            },
            None => {
                let n = number(text)?;
                (n, n.saturating_add(1))
            }
        };
        if first >= end {
            return Err(format!("`shards` = {text:?} is empty"));
        }
        if end > total {
            return Err(format!(
                "`shards` = {text:?} goes beyond `shard_count` = {total}; shards are numbered 0 to {}",
                total - 1
            ));
        }
        Ok(Self {
            first,
            count: end - first,
            total,
        })
    }
}

/// The gateway intents the bot needs: messages (with their content) only
/// for prefix commands or plugins reading messages, reactions and members
/// only for plugins subscribing to them. Slash commands and buttons need
/// no intent.
pub fn intents(config: &DiscordConfig, plugins: &PluginSet) -> GatewayIntents {
    let mut intents = GatewayIntents::GUILDS;
    if config.prefix_commands
        || plugins.wants(EventKind::Message)
        || plugins.wants(EventKind::Edited)
    {
        intents |= GatewayIntents::GUILD_MESSAGES
            | GatewayIntents::DIRECT_MESSAGES
            | GatewayIntents::MESSAGE_CONTENT;
    }
    if plugins.wants(EventKind::Reaction) {
        intents |=
            GatewayIntents::GUILD_MESSAGE_REACTIONS | GatewayIntents::DIRECT_MESSAGE_REACTIONS;
    }
    if plugins.wants(EventKind::MemberJoined) || plugins.wants(EventKind::MemberLeft) {
        intents |= GatewayIntents::GUILD_MEMBERS;
    }
    intents
}

/// Changes the slash commands of a running adapter (for a bot that loads or
/// unloads plugins while running); they are registered again if they
/// differ.
#[derive(Debug, Clone)]
pub struct CommandsHandle {
    tx: Arc<watch::Sender<PluginSet>>,
}

impl CommandsHandle {
    /// Replaces the commands with those of `manifests`.
    pub fn set<'a>(&self, manifests: impl IntoIterator<Item = &'a Manifest>) {
        self.tx.send_replace(PluginSet::of(manifests));
    }

    /// Replaces the commands with the routes of `catalog` (its `[commands]`
    /// table included), as the adapter does when the bot swaps plugin sets.
    pub fn follow(&self, catalog: &plugboard_model::Catalog) {
        self.tx.send_replace(PluginSet::of_catalog(catalog));
    }
}

/// The adapter.
pub struct DiscordAdapter {
    http: Http,
    intents: GatewayIntents,
    shards: ShardPlan,
    guild_id: Option<GuildId>,
    slash_commands: bool,
    plugins: watch::Receiver<PluginSet>,
    plugins_tx: Arc<watch::Sender<PluginSet>>,
}

impl DiscordAdapter {
    /// Builds the adapter from its config section and the loaded plugins'
    /// manifests, reading the token from the environment.
    pub fn from_config<'a>(
        config: &DiscordConfig,
        manifests: impl IntoIterator<Item = &'a Manifest>,
    ) -> Result<Self, AdapterError> {
        let name = &config.token_env;
        let token = std::env::var(name).map_err(|_| {
            fail(format!(
                "the environment variable {name} (named by `token_env`) is not set; put the bot \
                 token from the Discord Developer Portal there"
            ))
        })?;
        Self::with_token(&token, config, manifests)
    }

    /// Like [`DiscordAdapter::from_config`], with the token given.
    pub fn with_token<'a>(
        token: &str,
        config: &DiscordConfig,
        manifests: impl IntoIterator<Item = &'a Manifest>,
    ) -> Result<Self, AdapterError> {
        if token.trim().is_empty() {
            return Err(fail(format!(
                "the bot token in {} is empty",
                config.token_env
            )));
        }
        let shards =
            ShardPlan::from_config(config.shard_count, config.shards.as_deref()).map_err(fail)?;
        let mut http = HttpBuilder::new(token);
        if let Some(proxy) = &config.proxy_url {
            let url = url::Url::parse(proxy)
                .map_err(|e| fail(format!("`proxy_url` = {proxy:?} is not a URL: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(fail(format!(
                    "`proxy_url` = {proxy:?} must start with http:// or https://"
                )));
            }
            // serenity's own rate limiter would send to Discord directly; the
            // proxy limits for all processes instead.
            http = http
                .proxy(proxy.trim_end_matches('/'))
                .ratelimiter_disabled(true);
        }
        let plugins = PluginSet::of(manifests);
        let (plugins_tx, plugins_rx) = watch::channel(plugins.clone());
        Ok(Self {
            http: http.build(),
            intents: intents(config, &plugins),
            shards,
            guild_id: config.guild_id.filter(|&id| id != 0).map(GuildId::new),
            slash_commands: config.slash_commands,
            plugins: plugins_rx,
            plugins_tx: Arc::new(plugins_tx),
        })
    }

    /// The gateway intents the adapter will identify with.
    pub fn intents(&self) -> GatewayIntents {
        self.intents
    }

    /// A handle to change the slash commands while the adapter runs.
    pub fn commands(&self) -> CommandsHandle {
        CommandsHandle {
            tx: Arc::clone(&self.plugins_tx),
        }
    }
}

fn status_of(e: &serenity::Error) -> Option<u16> {
    match e {
        serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r)) => {
            Some(r.status_code.as_u16())
        }
        _ => None,
    }
}

/// What the gateway side shares with the delivery side.
pub(crate) struct Shared {
    /// Taken at shutdown, so that no task serenity keeps alive holds the
    /// bot open.
    inbox: Mutex<Option<Inbox>>,
    interactions: Arc<Interactions>,
    /// For each slash command, its option names in declared order.
    option_order: Mutex<HashMap<String, Vec<String>>>,
    /// The system channel of each guild, where joins and leaves are told.
    system_channels: Mutex<HashMap<GuildId, Option<ChannelId>>>,
    /// The preferred language of each community guild, from its
    /// `GUILD_CREATE` (other guilds report `en-US` whatever they speak, so
    /// they have none here).
    guild_locales: Mutex<HashMap<GuildId, String>>,
}

impl Shared {
    fn inbox(&self) -> Option<Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn close_inbox(&self) {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

impl Adapter for DiscordAdapter {
    fn platform(&self) -> Platform {
        Platform::Discord
    }

    fn run(self: Box<Self>, io: AdapterIo) -> AdapterFuture {
        let DiscordAdapter {
            http,
            intents,
            shards,
            guild_id,
            slash_commands,
            mut plugins,
            plugins_tx,
        } = *self;
        let AdapterIo {
            inbox,
            outbox,
            mut shutdown,
            store,
            plugins: catalogs,
            health,
        } = io;
        Box::pin(async move {
            let me = match http.get_current_user().await {
                Ok(me) => me,
                // The bot marks the adapter down with the error.
                Err(e) if status_of(&e) == Some(401) => return Err(token_refused()),
                Err(e) => return Err(fail(format!("cannot reach Discord's REST API: {e}"))),
            };
            let application = match http.get_current_application_info().await {
                Ok(app) => app.id,
                Err(e) => {
                    // Bots made since 2016 share their application's id.
                    tracing::warn!("discord: cannot read the application; using the bot's id: {e}");
                    ApplicationId::new(me.id.get())
                }
            };
            http.set_application_id(application);
            tracing::info!("discord: connected as {} ({})", me.name, me.id);

            let set = plugins.borrow_and_update().clone();
            let shared = Arc::new(Shared {
                inbox: Mutex::new(Some(inbox)),
                interactions: Arc::default(),
                option_order: Mutex::new(set.option_order()),
                system_channels: Mutex::default(),
                guild_locales: Mutex::default(),
            });
            let handler = events::Handler {
                shared: Arc::clone(&shared),
                bot: me.id,
                health,
            };
            let mut client = serenity::client::ClientBuilder::new_with_http(http, intents)
                .event_handler(handler)
                .await
                .map_err(|e| fail(format!("cannot set up the gateway client: {e}")))?;
            let http = Arc::clone(&client.http);

            // The bot's plugin set, as it changes, becomes the commands'.
            let follower =
                slash_commands.then(|| tokio::spawn(follow(catalogs, Arc::clone(&plugins_tx))));
            let registrar = slash_commands.then(|| {
                let http = Arc::clone(&http);
                let store = Arc::clone(&store);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _keep_sender = plugins_tx;
                    let mut set = set;
                    loop {
                        register(&http, &*store, application, guild_id, &set).await;
                        if plugins.changed().await.is_err() {
                            return;
                        }
                        set = plugins.borrow_and_update().clone();
                        *shared
                            .option_order
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) = set.option_order();
                    }
                })
            });
            let sender = tokio::spawn(deliver(
                Arc::clone(&http),
                Arc::clone(&shared.interactions),
                outbox,
            ));

            let manager = Arc::clone(&client.shard_manager);
            let gateway = async {
                if shards.first == 0 && shards.count == shards.total {
                    client.start_shards(shards.total).await
                } else {
                    let last = shards.first + shards.count - 1;
                    client
                        .start_shard_range(shards.first..last, shards.total)
                        .await
                }
            };
            let stopped = tokio::select! {
                result = gateway => Some(result),
                _ = shutdown.wait_for(|stop| *stop) => None,
            };
            for task in [registrar, follower].into_iter().flatten() {
                task.abort();
            }
            shared.close_inbox();
            match stopped {
                None => {
                    manager.shutdown_all().await;
                    drop(client);
                    // Deliveries for events already handled still go out.
                    let _ = sender.await;
                    Ok(())
                }
                Some(result) => {
                    sender.abort();
                    Err(gateway_failure(result))
                }
            }
        })
    }
}

/// Why the gateway stopped, in words for the owner.
fn gateway_failure(result: serenity::Result<()>) -> AdapterError {
    use serenity::gateway::GatewayError;
    match result {
        Err(serenity::Error::Gateway(GatewayError::InvalidAuthentication)) => token_refused(),
        Err(serenity::Error::Gateway(GatewayError::DisallowedGatewayIntents)) => fail(
            "Discord refused the privileged intents (4014): enable \"Message Content Intent\" \
             (for prefix commands or plugins reading messages) and \"Server Members Intent\" \
             (for plugins subscribing to member joins) on the Bot page of the Developer Portal, \
             or set `prefix_commands = false`"
                .into(),
        ),
        Err(serenity::Error::Gateway(GatewayError::InvalidShardData)) => {
            fail("Discord refused the shard settings; check `shard_count` and `shards`".into())
        }
        Err(e) => fail(format!("the gateway connection ended: {e}")),
        Ok(()) => fail("the gateway connection ended".into()),
    }
}

/// Keeps `commands` at the commands of the bot's current plugins, until the
/// bot stops swapping plugin sets.
async fn follow(
    mut catalogs: watch::Receiver<Arc<plugboard_model::Catalog>>,
    commands: Arc<watch::Sender<PluginSet>>,
) {
    loop {
        let set = PluginSet::of_catalog(&catalogs.borrow_and_update());
        commands.send_if_modified(|current| {
            let changed = *current != set;
            if changed {
                tracing::info!("discord: the plugins changed; updating the slash commands");
                *current = set;
            }
            changed
        });
        if catalogs.changed().await.is_err() {
            return;
        }
    }
}

/// Registers the slash commands of `set` unless the same set was registered
/// last time.
async fn register(
    http: &Http,
    store: &dyn RuntimeMeta,
    application: ApplicationId,
    guild: Option<GuildId>,
    set: &PluginSet,
) {
    let body = set.registration();
    let key = match guild {
        Some(guild) => format!("discord/{application}/commands/guild/{guild}"),
        None => format!("discord/{application}/commands/global"),
    };
    let text = body.to_string();
    if let Ok(Some(stored)) = store.meta_get(&key)
        && stored == text.as_bytes()
    {
        tracing::debug!("discord: the slash commands are registered already");
        return;
    }
    let registered = match guild {
        Some(guild) => http.create_guild_commands(guild, &body).await,
        None => http.create_global_commands(&body).await,
    };
    match registered {
        Ok(commands) => {
            tracing::info!(
                "discord: registered {} slash commands{}",
                commands.len(),
                match guild {
                    Some(g) => format!(" in guild {g}"),
                    None => " (global commands may take up to an hour to appear)".into(),
                }
            );
            if let Err(e) = store
                .meta_set(&key, text.as_bytes())
                .and_then(|()| store.flush())
            {
                tracing::warn!("discord: cannot remember the registered commands: {e}");
            }
        }
        Err(e) => tracing::error!("discord: cannot register the slash commands: {e}"),
    }
}

fn parse_id(id: &str) -> Option<u64> {
    id.parse::<u64>().ok().filter(|&n| n != 0)
}

/// Performs deliveries until the outbox closes.
async fn deliver(
    http: Arc<Http>,
    interactions: Arc<Interactions>,
    outbox: mpsc::Receiver<Outbound>,
) {
    // In order within a channel, channels in parallel: a route waiting out a
    // 429 holds up no other channel.
    plugboard_adapter::deliver_by_chat(outbox, move |outbound: Outbound| {
        let (http, interactions) = (Arc::clone(&http), Arc::clone(&interactions));
        async move {
            let channel = match outbound.chat.private_user() {
                // A user's private chat: the direct message channel Discord
                // opens (or already has) with them.
                Some(user) => match parse_id(user) {
                    Some(user) => match http
                        .create_private_channel(&serde_json::json!({ "recipient_id": user.to_string() }))
                        .await
                    {
                        Ok(dm) => Some(dm.id),
                        Err(e) => {
                            tracing::warn!(plugin = %outbound.plugin, "discord: cannot open a direct message channel: {e}");
                            return;
                        }
                    },
                    None => None,
                },
                None => parse_id(&outbound.chat.id).map(ChannelId::new),
            };
            let Some(channel) = channel else {
                tracing::warn!(chat = ?outbound.chat.id, "discord: not a Discord channel id; dropping a delivery");
                return;
            };
            let result = deliver_one(&http, &interactions, channel, &outbound).await;
            if let Err(e) = result {
                tracing::warn!(plugin = %outbound.plugin, chat = ?outbound.chat.id, "discord: a delivery failed: {e}");
            }
            // Dropping `outbound` here (and its receipt) tells a waiting
            // interaction that this delivery was performed.
        }
    })
    .await;
}

async fn deliver_one(
    http: &Http,
    interactions: &Interactions,
    channel: ChannelId,
    outbound: &Outbound,
) -> serenity::Result<()> {
    let mentions = format::Mentions {
        everyone: outbound.mention_everyone,
    };
    match &outbound.op {
        OutboundOp::Send { message, reply_to } => {
            let pieces = format::pieces(message, mentions);
            let last = pieces.len() - 1;
            let open = reply_to
                .as_deref()
                .and_then(|id| interactions.open_command(id));
            let reply_to = reply_to.as_deref().and_then(parse_id).map(MessageId::new);
            let mut answered = false;
            for (i, text) in pieces.iter().enumerate() {
                // Buttons and the embed go under the last piece.
                let extras = match i == last {
                    true => format::Extras {
                        buttons: &message.buttons,
                        embed: message.embed.as_deref(),
                        reply: false,
                        mentions,
                    },
                    false => format::Extras {
                        mentions,
                        ..format::Extras::default()
                    },
                };
                if let Some(open) = &open {
                    // A reply to a slash command: the interaction's answer,
                    // then follow-ups.
                    let body = format::body(text, extras);
                    if !answered {
                        answered = true;
                        if let Answer::Done = open.answer(http, body.clone()).await? {
                            continue;
                        }
                    }
                    open.follow_up(http, &body).await?;
                    continue;
                }
                let reply = reply_to.is_some() && i == 0;
                let mut body = format::body(text, format::Extras { reply, ..extras });
                if i == 0
                    && let Some(id) = reply_to
                {
                    body.insert(
                        "message_reference".into(),
                        serde_json::json!({"message_id": id.to_string(), "fail_if_not_exists": false}),
                    );
                }
                http.send_message(channel, Vec::new(), &body).await?;
            }
            Ok(())
        }
        OutboundOp::Edit {
            message_id,
            message,
        } => {
            let Some(id) = parse_id(message_id).map(MessageId::new) else {
                return Ok(());
            };
            let extras = format::Extras {
                buttons: &message.buttons,
                embed: message.embed.as_deref(),
                reply: false,
                mentions,
            };
            let body = format::body(&format::single(message, mentions), extras);
            if let Some(open) = interactions.open_component(&outbound.chat.id, message_id)
                && let Answer::Done = open.answer(http, body.clone()).await?
            {
                return Ok(());
            }
            http.edit_message(channel, id, &body, Vec::new())
                .await
                .map(drop)
        }
        OutboundOp::Delete { message_id } => match parse_id(message_id).map(MessageId::new) {
            Some(id) => http.delete_message(channel, id, None).await,
            None => Ok(()),
        },
        OutboundOp::React { message_id, emoji } => match parse_id(message_id).map(MessageId::new) {
            Some(id) => http.create_reaction(channel, id, &reaction(emoji)).await,
            None => Ok(()),
        },
    }
}

/// An emoji as Discord takes it: Unicode as is, a custom emoji as
/// `<:name:id>`, `<a:name:id>` or `name:id`.
fn reaction(emoji: &str) -> serenity::all::ReactionType {
    use serenity::all::{EmojiId, ReactionType};
    let inner = emoji
        .strip_prefix('<')
        .and_then(|e| e.strip_suffix('>'))
        .unwrap_or(emoji);
    let (animated, inner) = match inner.strip_prefix("a:") {
        Some(rest) => (true, rest),
        None => (false, inner.strip_prefix(':').unwrap_or(inner)),
    };
    if let Some((name, id)) = inner.rsplit_once(':')
        && let Some(id) = parse_id(id)
    {
        return ReactionType::Custom {
            animated,
            id: EmojiId::new(id),
            name: Some(name.to_owned()),
        };
    }
    ReactionType::Unicode(emoji.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> DiscordConfig {
        toml::from_str(text).expect("valid [discord] section")
    }

    #[test]
    fn shard_ranges_are_checked() {
        let plan = |count, shards| ShardPlan::from_config(count, shards);
        assert_eq!(
            plan(None, None),
            Ok(ShardPlan {
                first: 0,
                count: 1,
                total: 1
            })
        );
        assert_eq!(
            plan(Some(8), Some("0..4")),
            Ok(ShardPlan {
                first: 0,
                count: 4,
                total: 8
            })
        );
        assert_eq!(
            plan(Some(8), Some("4..=7")),
            Ok(ShardPlan {
                first: 4,
                count: 4,
                total: 8
            })
        );
        assert_eq!(plan(Some(8), Some("5")).map(|p| p.count), Ok(1));
        assert!(plan(Some(8), Some("4..9")).is_err_and(|e| e.contains("beyond")));
        assert!(plan(Some(8), Some("4..4")).is_err_and(|e| e.contains("empty")));
        assert!(plan(Some(8), Some("a..b")).is_err_and(|e| e.contains("\"0..4\"")));
        assert!(plan(Some(0), None).is_err());
    }

    #[test]
    fn intents_follow_the_plugins() {
        let quiet = PluginSet::default();
        let slash_only = config("prefix_commands = false");
        let intents = super::intents(&slash_only, &quiet);
        assert!(!intents.contains(GatewayIntents::MESSAGE_CONTENT));
        assert!(!intents.contains(GatewayIntents::GUILD_MEMBERS));
        let prefix = super::intents(&config(""), &quiet);
        assert!(prefix.contains(GatewayIntents::MESSAGE_CONTENT | GatewayIntents::GUILD_MESSAGES));
        let readers = PluginSet {
            commands: Vec::new(),
            events: vec![EventKind::Message, EventKind::MemberJoined],
        };
        let intents = super::intents(&slash_only, &readers);
        assert!(intents.contains(GatewayIntents::MESSAGE_CONTENT | GatewayIntents::GUILD_MEMBERS));
    }

    #[test]
    fn config_is_checked() {
        let error = |text: &str| match DiscordAdapter::with_token("t", &config(text), []) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        assert!(error("proxy_url = \"not a url\"").contains("not a URL"));
        assert!(error("proxy_url = \"ftp://x\"").contains("http://"));
        assert!(error("shard_count = 2\nshards = \"2\"").contains("beyond"));
        assert_eq!(error("proxy_url = \"http://127.0.0.1:3000\""), "");
        assert!(toml::from_str::<DiscordConfig>("token = \"x\"").is_err());
        let missing =
            DiscordAdapter::from_config(&config("token_env = \"PLUGBOARD_NO_SUCH_VARIABLE\""), []);
        assert!(missing.is_err_and(|e| e.to_string().contains("PLUGBOARD_NO_SUCH_VARIABLE")));
    }

    #[test]
    fn emoji_become_reactions() {
        use serenity::all::ReactionType;
        assert_eq!(reaction("👍"), ReactionType::Unicode("👍".into()));
        for custom in ["<:party:123>", "party:123", ":party:123"] {
            assert!(
                matches!(reaction(custom), ReactionType::Custom { id, animated: false, .. } if id.get() == 123),
                "{custom}"
            );
        }
        assert!(matches!(
            reaction("<a:party:5>"),
            ReactionType::Custom { animated: true, .. }
        ));
    }
}
