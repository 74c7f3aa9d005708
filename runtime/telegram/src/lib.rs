//! # plugboard-telegram
//!
//! The Telegram adapter, over teloxide's Bot API client (`teloxide-core`).
//! It owns everything Telegram-specific: its `[telegram]` config table
//! ([`TelegramConfig`]), polling and webhook input, update offsets and the
//! ledger of handled updates (in the runtime meta store it is given), HTML
//! formatting, rate limits. Data enters as Bot API updates and leaves as
//! platform-neutral events through the inbox; deliveries come back through
//! the outbox and leave as Bot API calls.
//!
//! What it must not touch: plugins, wasmtime (not in its dependency tree),
//! the router, plugin KV or grants; it sees only what
//! [`AdapterIo`] gives it.
//!
//! Inbound, updates arrive in one of two modes:
//!
//! * **polling** (the default): our own `getUpdates` loop. A batch's offset is
//!   stored only after every update of the batch has been handled *and* its
//!   replies sent, so a restart resumes at the first unfinished update;
//! * **webhook** ([`webhook`]): Telegram posts each update to an HTTPS URL;
//!   the adapter answers `200 OK` only after the update has been handled and
//!   its replies sent, so Telegram retries anything unfinished.
//!
//! Either way delivery is at least once, and a `Ledger` of handled update
//! ids, kept in the bot's store, drops the repeats: no update is lost across
//! a restart and none is answered twice.
//!
//! Outbound goes through teloxide's `Throttle` adaptor, which keeps within
//! Telegram's per-chat and global rate limits and honours `retry_after`.
//! Markdown texts are rendered to Telegram's HTML by [`format`](mod@format).
//!
//! Asked by the bot (and only when the owner maps chat administrators to a
//! role), the adapter tells who administers a group, from
//! `getChatAdministrators`, cached per group for [`ADMINS_TTL`].
//!
//! Errors: a bad token (401) is reported once and the adapter stops, leaving
//! the other adapters running; a 429 on polling waits `retry_after`; network
//! errors, 5xx and unparseable answers are retried with backoff.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;
use teloxide_core::adaptors::throttle::{Limits, Throttle};
use teloxide_core::payloads::{
    EditMessageTextSetters, GetUpdatesSetters, SendMessageSetters, SetMessageReactionSetters,
};
use teloxide_core::requests::{Requester, RequesterExt};
use teloxide_core::types::{
    self as tg, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ParseMode,
    ReactionType, ReplyParameters, UpdateKind,
};
use teloxide_core::{ApiError, Bot, RequestError};
use tokio::sync::{mpsc, oneshot};

use plugboard_adapter::{Adapter, AdapterError, AdapterFuture, AdapterIo, Inbox, InboxClosed};

type Shutdown = tokio::sync::watch::Receiver<bool>;
use plugboard_model::event::now_ms;
use plugboard_model::event::{
    Attachment, ButtonPress, Chat, ChatKind, Event, Membership, Message, Outbound, OutboundOp,
    Outgoing, Platform, TelegramMessage, User,
};
use plugboard_store::RuntimeMeta;

pub mod format;
mod standing;
pub mod webhook;

pub use standing::ADMINS_TTL;

pub use webhook::Webhook;

/// Telegram's limit on the text of one message, in UTF-16 code units (an
/// emoji counts two): see [`text_len`].
pub const MAX_TEXT: usize = 4096;

/// The length of `text` as Telegram counts it: UTF-16 code units.
pub fn text_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The byte index in `text` after at most `max` UTF-16 code units, on a
/// character boundary.
fn utf16_prefix(text: &str, max: usize) -> usize {
    let mut units = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > max {
            return i;
        }
    }
    text.len()
}
/// How long one `getUpdates` call waits for updates, in seconds.
const POLL_TIMEOUT_SECS: u32 = 25;

/// `[telegram]` in `plugboard.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The account's name, when the config has several accounts of this
    /// platform (`[[telegram]]`): in the console, logs and metrics.
    #[serde(default)]
    pub name: Option<String>,
    /// The environment variable holding the bot token (never the token).
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// A self-hosted Bot API server, e.g. `http://127.0.0.1:8081`.
    #[serde(default)]
    pub api_url: Option<String>,
    /// How updates arrive.
    #[serde(default)]
    pub mode: Mode,
    /// Webhook mode: the address the webhook server listens on, e.g.
    /// `0.0.0.0:8443` (usually behind a TLS-terminating reverse proxy).
    #[serde(default)]
    pub listen: Option<SocketAddr>,
    /// Webhook mode: the public `https://` URL Telegram posts updates to; it
    /// must reach `listen`. Its path is the path served.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Webhook mode: the environment variable holding the secret token that
    /// Telegram sends with every update. When absent, a random secret is made
    /// at every start (and registered with Telegram then).
    #[serde(default)]
    pub secret_token_env: Option<String>,
}

/// How the adapter receives updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Long polling with `getUpdates`: works anywhere, no public address.
    #[default]
    Polling,
    /// Telegram posts updates to `public_url`, served on `listen`.
    Webhook,
}

fn default_token_env() -> String {
    "TELEGRAM_BOT_TOKEN".into()
}

fn fail(message: String) -> AdapterError {
    AdapterError::Platform {
        platform: "telegram".into(),
        message,
    }
}

fn token_refused() -> AdapterError {
    fail(
        "the bot token was refused (401); check the token from @BotFather in the \
         environment variable named by `token_env`"
            .into(),
    )
}

/// The adapter.
pub struct TelegramAdapter {
    bot: Bot,
    webhook: Option<Webhook>,
}

impl TelegramAdapter {
    /// Builds the adapter from its config section, reading the token (and
    /// the webhook secret) from the environment.
    pub fn from_config(config: &TelegramConfig) -> Result<Self, AdapterError> {
        let env = |name: &str, what: &str| {
            std::env::var(name).map_err(|_| {
                fail(format!(
                    "the environment variable {name} (named by `{what}`) is not set"
                ))
            })
        };
        let token = env(&config.token_env, "token_env")
            .map_err(|e| fail(format!("{e}; put the token from @BotFather there")))?;
        let mut bot = Bot::new(token);
        if let Some(url) = &config.api_url {
            let url = url
                .parse()
                .map_err(|e| fail(format!("`api_url` = {url:?} is not a URL: {e}")))?;
            bot = bot.set_api_url(url);
        }
        let webhook = match config.mode {
            Mode::Polling => None,
            Mode::Webhook => {
                let (Some(listen), Some(public_url)) = (config.listen, &config.public_url) else {
                    return Err(fail(
                        "mode = \"webhook\" needs `listen` (e.g. \"0.0.0.0:8443\") and `public_url` \
                         (the https:// address Telegram posts to, which reaches `listen`)"
                            .into(),
                    ));
                };
                let secret = match &config.secret_token_env {
                    Some(name) => Some(env(name, "secret_token_env")?),
                    None => None,
                };
                let webhook = Webhook::new(listen, public_url, secret).map_err(fail)?;
                if config.api_url.is_none() && !webhook.is_https() {
                    return Err(fail(format!(
                        "`public_url` = {public_url:?}: Telegram posts only to https:// URLs; put a \
                         TLS-terminating reverse proxy in front of `listen`, or use polling"
                    )));
                }
                Some(webhook)
            }
        };
        Ok(Self { bot, webhook })
    }

    /// A polling adapter for `bot` (tests and embedders).
    pub fn new(bot: Bot) -> Self {
        Self { bot, webhook: None }
    }

    /// A webhook adapter for `bot` (tests and embedders).
    pub fn with_webhook(bot: Bot, webhook: Webhook) -> Self {
        Self {
            bot,
            webhook: Some(webhook),
        }
    }
}

impl Adapter for TelegramAdapter {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }

    fn standing(&self) -> Option<std::sync::Arc<dyn plugboard_adapter::Standing>> {
        Some(std::sync::Arc::new(standing::TelegramStanding::new(
            self.bot.clone(),
        )))
    }

    fn run(self: Box<Self>, io: AdapterIo) -> AdapterFuture {
        let TelegramAdapter { bot, webhook } = *self;
        let AdapterIo {
            inbox,
            outbox,
            mut shutdown,
            store,
            health,
            ..
        } = io;
        Box::pin(async move {
            let me = match bot.get_me().await {
                Ok(me) => me,
                // The bot marks the adapter down with the error.
                Err(RequestError::Api(ApiError::InvalidToken)) => return Err(token_refused()),
                Err(e) => return Err(fail(format!("cannot reach the Bot API: {e}"))),
            };
            health.up();
            let username = me.username.clone().unwrap_or_default();
            tracing::info!("telegram: connected as @{username}");
            let ledger = Ledger::load(&*store, me.id.0);
            let sender = tokio::spawn(deliver(bot.clone().throttle(Limits::default()), outbox));
            let updates = Updates {
                bot,
                username,
                inbox,
                health,
            };
            let result = match webhook {
                Some(webhook) => webhook.serve(updates, ledger, store, shutdown).await,
                None => {
                    updates.leave_webhook().await;
                    updates.poll(ledger, &*store, &mut shutdown).await;
                    drop(updates);
                    Ok(())
                }
            };
            // Deliveries for events already handled still go out.
            let _ = sender.await;
            result
        })
    }
}

/// Which update ids have been handled, kept in the store under
/// `telegram/<bot id>/offset`: every id below `below`, plus the ids in
/// `above` (webhook updates may finish out of order).
///
/// Stored as text: `below` followed by the ids of `above`, space-separated,
/// so that a plain offset (all a polling adapter needs) is just a number,
/// then `@<unix seconds>` of the last save.
///
/// After a week without updates Telegram numbers the next one at random,
/// possibly below `below`: an id far below it resets the ledger, and a
/// polling ledger idle that long asks for every pending update again.
#[derive(Debug)]
pub(crate) struct Ledger {
    key: String,
    below: i32,
    above: BTreeSet<i32>,
    saved_at: u64,
}

/// After how long without updates Telegram may renumber them (a week), less
/// a margin.
const RENUMBER_AFTER_SECS: u64 = 6 * 24 * 3600;

/// How many out-of-order ids the ledger keeps before it gives up on the
/// oldest gap (Telegram numbers updates sequentially, but after a week
/// without updates it starts at a random id).
const LEDGER_SPAN: usize = 1000;

impl Ledger {
    fn load(store: &dyn RuntimeMeta, bot_id: u64) -> Self {
        let key = format!("telegram/{bot_id}/offset");
        let text = match store.meta_get(&key) {
            Ok(bytes) => String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned(),
            Err(e) => {
                tracing::error!("telegram: cannot read the stored offset: {e}");
                String::new()
            }
        };
        let saved_at = text
            .split_whitespace()
            .find_map(|t| t.strip_prefix('@'))
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let mut ids = text
            .split_whitespace()
            .filter(|t| !t.starts_with('@'))
            .map(|id| id.parse::<i32>().ok());
        let below = ids.next().flatten().unwrap_or(0);
        let above = ids.flatten().filter(|&id| id >= below).collect();
        Self {
            key,
            below,
            above,
            saved_at,
        }
    }

    /// Whether the last update is old enough for Telegram to have renumbered.
    fn stale(&self) -> bool {
        self.saved_at > 0 && now_ms() / 1000 > self.saved_at + RENUMBER_AFTER_SECS
    }

    /// Starts over at `id` when it lies far below the handled ids: Telegram
    /// renumbered its updates.
    fn follow_renumbering(&mut self, id: i32) {
        if self.below > 0 && i64::from(id) + (LEDGER_SPAN as i64) < i64::from(self.below) {
            tracing::warn!(
                "telegram: update ids restarted at {id} (they were past {}); following them",
                self.below
            );
            self.below = id;
            self.above.clear();
        }
    }

    /// Whether update `id` was handled already.
    fn contains(&self, id: i32) -> bool {
        id < self.below || self.above.contains(&id)
    }

    /// The offset to ask `getUpdates` for.
    fn offset(&self) -> i32 {
        self.below
    }

    /// Records that every update below `offset` has been handled (polling).
    fn advance_to(&mut self, offset: i32) {
        self.below = self.below.max(offset);
        self.above.retain(|&id| id >= offset);
    }

    /// Records that update `id` has been handled (webhook).
    fn record(&mut self, id: i32) {
        if self.below == 0 {
            // The first update ever seen: older ids are not ours to wait for.
            self.below = id;
        }
        if id >= self.below {
            self.above.insert(id);
        }
        while self.above.remove(&self.below) {
            self.below += 1;
        }
        while self.above.len() > LEDGER_SPAN {
            if let Some(first) = self.above.pop_first() {
                self.below = first + 1;
            }
        }
    }

    /// Writes the ledger to the store (not yet flushed).
    fn save(&mut self, store: &dyn RuntimeMeta) {
        self.saved_at = now_ms() / 1000;
        let mut text = self.below.to_string();
        for id in &self.above {
            text.push(' ');
            text.push_str(&id.to_string());
        }
        text.push_str(&format!(" @{}", self.saved_at));
        if let Err(e) = store.meta_set(&self.key, text.as_bytes()) {
            tracing::error!("telegram: cannot store the update offset: {e}");
        }
    }
}

/// Turns updates into events and submits them: shared by both modes.
pub(crate) struct Updates {
    bot: Bot,
    username: String,
    inbox: Inbox,
    /// How the connection is doing, for the owner.
    health: std::sync::Arc<plugboard_adapter::Health>,
}

impl Updates {
    /// Submits the events of `update`; the receivers complete once each has
    /// been handled and its deliveries performed.
    async fn submit(&self, update: &tg::Update) -> Result<Vec<oneshot::Receiver<()>>, InboxClosed> {
        let mut handled = Vec::new();
        for event in events_of(update, &self.bot, &self.username).await {
            handled.push(self.inbox.submit_tracked(event).await?);
        }
        Ok(handled)
    }

    /// Polling and a webhook exclude each other: a webhook left over from an
    /// earlier webhook-mode run is removed (its pending updates are kept).
    async fn leave_webhook(&self) {
        match self.bot.get_webhook_info().await {
            Ok(info) => {
                if let Some(url) = info.url {
                    tracing::info!(
                        "telegram: removing the webhook {url} left by an earlier run, to poll instead"
                    );
                    if let Err(e) = self.bot.delete_webhook().await {
                        tracing::warn!("telegram: cannot remove the webhook: {e}");
                    }
                }
            }
            Err(e) => tracing::warn!("telegram: cannot read the webhook settings: {e}"),
        }
    }

    /// Polls until shutdown. A batch being handled when shutdown comes is
    /// finished and recorded first, so nothing handled is handled again.
    async fn poll(&self, mut ledger: Ledger, store: &dyn RuntimeMeta, shutdown: &mut Shutdown) {
        let mut backoff = Duration::from_millis(500);
        loop {
            let polled = tokio::select! {
                polled = self
                    .bot
                    .get_updates()
                    // Idle for a week: ids may restart lower, so ask for
                    // everything pending; handled ones are still skipped.
                    .offset(if ledger.stale() { 0 } else { ledger.offset() })
                    .timeout(POLL_TIMEOUT_SECS)
                    .into_future() => polled,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let updates = match polled {
                Ok(updates) => {
                    backoff = Duration::from_millis(500);
                    self.health.up();
                    updates
                }
                Err(RequestError::RetryAfter(wait)) => {
                    tracing::warn!("telegram: rate limited; waiting {:?}", wait.duration());
                    tokio::time::sleep(wait.duration()).await;
                    continue;
                }
                Err(RequestError::Api(ApiError::InvalidToken)) => {
                    tracing::error!(
                        "telegram: the bot token was refused (401) while polling; stopping the adapter"
                    );
                    self.health
                        .down("the bot token was refused (401) while polling");
                    return;
                }
                Err(e) => {
                    tracing::warn!("telegram: getUpdates failed, retrying in {backoff:?}: {e}");
                    self.health.down(format!("getUpdates failed: {e}"));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    continue;
                }
            };
            let mut handled = Vec::new();
            let mut next = None;
            for update in updates {
                let id = update.id.0 as i32;
                ledger.follow_renumbering(id);
                if ledger.contains(id) {
                    continue; // already handled before a restart
                }
                next = next.max(Some(id + 1));
                match self.submit(&update).await {
                    Ok(done) => handled.extend(done),
                    Err(InboxClosed) => return,
                }
            }
            for done in handled {
                let _ = done.await;
            }
            if let Some(next) = next {
                ledger.advance_to(next);
                ledger.save(store);
                if let Err(e) = store.flush() {
                    tracing::error!("telegram: cannot flush the update offset: {e}");
                }
            }
        }
    }
}

fn user(u: &tg::User) -> User {
    let mut name = u.first_name.clone();
    if let Some(last) = &u.last_name {
        name.push(' ');
        name.push_str(last);
    }
    User {
        id: u.id.0.to_string(),
        global_id: None,
        display_name: name,
        locale: u.language_code.clone(),
        is_bot: u.is_bot,
    }
}

fn chat(c: &tg::Chat) -> Chat {
    let kind = if c.is_private() {
        ChatKind::Direct
    } else if c.is_channel() {
        ChatKind::Channel
    } else {
        ChatKind::Group
    };
    Chat {
        platform: Platform::Telegram,
        id: c.id.0.to_string(),
        kind,
        title: c.title().map(str::to_owned),
        locale: None,
    }
}

fn message(m: &tg::Message) -> Message {
    Message {
        id: m.id.0.to_string(),
        chat: chat(&m.chat),
        sender: m
            .from
            .as_ref()
            .map(user)
            .unwrap_or_else(|| User::new("0", "unknown")),
        text: m.text().or(m.caption()).unwrap_or_default().to_owned(),
        reply_to: m.reply_to_message().map(|r| r.id.0.to_string()),
        mentions: Vec::new(),
        attachments: attachments(m),
        timestamp_ms: u64::try_from(m.date.timestamp_millis()).unwrap_or_else(|_| now_ms()),
        telegram: Some(Box::new(TelegramMessage {
            thread_id: m.thread_id.filter(|_| m.is_topic_message).map(|t| t.0.0),
            sender_username: m.from.as_ref().and_then(|u| u.username.clone()),
            chat_username: m.chat.username().map(str::to_owned),
            media_group_id: m.media_group_id().map(|g| g.0.clone()),
            is_forwarded: m.forward_origin().is_some(),
            via_bot: m.via_bot.as_ref().and_then(|u| u.username.clone()),
        })),
        discord: None,
    }
}

/// Photos and documents, described; their content stays on Telegram's side.
fn attachments(m: &tg::Message) -> Vec<Attachment> {
    let mut found = Vec::new();
    // Telegram sends each photo in several sizes; the last is the largest.
    if let Some(photo) = m.photo().and_then(<[_]>::last) {
        found.push(Attachment {
            kind: "image".into(),
            file_name: None,
            mime_type: None,
            size: Some(u64::from(photo.file.size)),
            url: None,
        });
    }
    if let Some(document) = m.document() {
        found.push(Attachment {
            kind: "file".into(),
            file_name: document.file_name.clone(),
            mime_type: document.mime_type.as_ref().map(ToString::to_string),
            size: Some(u64::from(document.file.size)),
            url: None,
        });
    }
    found
}

/// Whether `text` is a command addressed to another bot (`/roll@OtherBot`).
fn for_another_bot(text: &str, username: &str) -> bool {
    let first = text.split_whitespace().next().unwrap_or_default();
    match first.strip_prefix('/').and_then(|c| c.split_once('@')) {
        Some((_, bot)) => !bot.eq_ignore_ascii_case(username),
        None => false,
    }
}

/// The events one update becomes (none for kinds we do not handle yet).
async fn events_of(update: &tg::Update, bot: &Bot, username: &str) -> Vec<Event> {
    match &update.kind {
        UpdateKind::Message(m) => {
            let mut events = Vec::new();
            if let Some(members) = m.new_chat_members() {
                for member in members {
                    events.push(Event::MemberJoined(Membership {
                        chat: chat(&m.chat),
                        user: user(member),
                    }));
                }
            }
            if let Some(member) = m.left_chat_member() {
                events.push(Event::MemberLeft(Membership {
                    chat: chat(&m.chat),
                    user: user(member),
                }));
            }
            let msg = message(m);
            if events.is_empty() && !msg.text.is_empty() && !for_another_bot(&msg.text, username) {
                events.push(Event::Message(msg));
            }
            events
        }
        UpdateKind::EditedMessage(m) => vec![Event::Edited(message(m))],
        UpdateKind::CallbackQuery(q) => {
            // Always answered at once, so the user's client stops spinning.
            if let Err(e) = bot.answer_callback_query(q.id.clone()).await {
                tracing::warn!("telegram: cannot answer a callback query: {e}");
            }
            match (&q.data, &q.message) {
                (Some(data), Some(m)) => vec![Event::ButtonPress(ButtonPress {
                    data: data.clone(),
                    user: user(&q.from),
                    chat: chat(m.chat()),
                    message_id: m.id().0.to_string(),
                })],
                _ => Vec::new(),
            }
        }
        UpdateKind::Error(value) => {
            tracing::warn!("telegram: skipping an update teloxide could not parse: {value}");
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// Splits `text` into pieces of at most [`MAX_TEXT`] UTF-16 units,
/// preferring line breaks.
pub fn split_text(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while text_len(rest) > MAX_TEXT {
        let limit = utf16_prefix(rest, MAX_TEXT);
        let cut = rest[..limit]
            .rfind('\n')
            .filter(|&i| i > 0)
            .unwrap_or(limit);
        pieces.push(rest[..cut].to_owned());
        rest = rest[cut..].trim_start_matches('\n');
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

fn keyboard(message: &Outgoing) -> Option<InlineKeyboardMarkup> {
    if message.buttons.is_empty() {
        return None;
    }
    let rows = message
        .buttons
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| InlineKeyboardButton::callback(b.label.clone(), b.id.clone()))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    Some(InlineKeyboardMarkup::new(rows))
}

/// Whether Telegram refused `piece`'s HTML, which then goes out as plain text.
fn refused_markup(piece: &format::Piece, sent: &Result<(), RequestError>) -> bool {
    let refused =
        piece.html && matches!(sent, Err(RequestError::Api(ApiError::CantParseEntities(_))));
    if refused {
        tracing::warn!("telegram: the formatted text was refused; sending it as plain text");
    }
    refused
}

/// Performs deliveries, in order within a chat and chats in parallel.
async fn deliver(bot: Throttle<Bot>, outbox: mpsc::Receiver<Outbound>) {
    plugboard_adapter::deliver_by_chat(outbox, move |outbound: Outbound| {
        let bot = bot.clone();
        async move {
            // A user's private chat with the bot has the user's id.
            let chat = outbound.chat.private_user().unwrap_or(&outbound.chat.id);
            match chat.parse::<i64>() {
                Ok(chat) => perform(&bot, ChatId(chat), &outbound).await,
                Err(_) => tracing::warn!(
                    chat = ?outbound.chat.id,
                    "telegram: not a Telegram chat id; dropping a delivery"
                ),
            }
        }
    })
    .await;
}

/// Performs one delivery, logging a failure.
async fn perform(bot: &Throttle<Bot>, chat_id: ChatId, outbound: &Outbound) {
    let message_id = |id: &str| id.parse::<i32>().ok().map(MessageId);
    let result = match &outbound.op {
        OutboundOp::Send { message, reply_to } => {
            let mut result = Ok(());
            let pieces = format::pieces(message);
            let last = pieces.len() - 1;
            for (i, piece) in pieces.iter().enumerate() {
                let send = |text: &str, html: bool| {
                    let mut request = bot.send_message(chat_id, text);
                    if html {
                        request = request.parse_mode(ParseMode::Html);
                    }
                    if i == 0
                        && let Some(id) = reply_to.as_deref().and_then(message_id)
                    {
                        request = request.reply_parameters(
                            ReplyParameters::new(id).allow_sending_without_reply(),
                        );
                    }
                    if i == last
                        && let Some(markup) = keyboard(message)
                    {
                        request = request.reply_markup(markup);
                    }
                    request
                };
                let mut sent = send(&piece.text, piece.html).await.map(drop);
                if refused_markup(piece, &sent) {
                    sent = send(&piece.plain, false).await.map(drop);
                }
                if let Err(e) = sent {
                    result = Err(e);
                    break;
                }
            }
            result
        }
        OutboundOp::Edit {
            message_id: id,
            message,
        } => match message_id(id) {
            Some(id) => {
                let piece = format::single(message);
                let edit = |text: &str, html: bool| {
                    let mut request = bot.edit_message_text(chat_id, id, text);
                    if html {
                        request = request.parse_mode(ParseMode::Html);
                    }
                    if let Some(markup) = keyboard(message) {
                        request = request.reply_markup(markup);
                    }
                    request
                };
                let mut edited = edit(&piece.text, piece.html).await.map(drop);
                if refused_markup(&piece, &edited) {
                    edited = edit(&piece.plain, false).await.map(drop);
                }
                edited
            }
            None => Ok(()),
        },
        OutboundOp::Delete { message_id: id } => match message_id(id) {
            Some(id) => bot.delete_message(chat_id, id).await.map(drop),
            None => Ok(()),
        },
        OutboundOp::React {
            message_id: id,
            emoji,
        } => match message_id(id) {
            Some(id) => bot
                .set_message_reaction(chat_id, id)
                .reaction(vec![ReactionType::Emoji {
                    emoji: emoji.clone(),
                }])
                .await
                .map(drop),
            None => Ok(()),
        },
    };
    if let Err(e) = result {
        tracing::warn!(plugin = %outbound.plugin, chat = ?outbound.chat.id, "telegram: a delivery failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_store::MemoryStore;

    #[test]
    fn the_ledger_remembers_handled_updates_across_loads() {
        let store = MemoryStore::default();
        let mut ledger = Ledger::load(&store, 7);
        assert_eq!(ledger.offset(), 0);
        // Webhook updates finishing out of order.
        ledger.record(100);
        ledger.record(102);
        assert!(ledger.contains(100) && ledger.contains(102));
        assert!(!ledger.contains(101));
        assert_eq!(ledger.offset(), 101);
        ledger.save(&store);

        let mut again = Ledger::load(&store, 7);
        assert!(again.contains(102) && !again.contains(101));
        again.record(101);
        assert_eq!(again.offset(), 103);
        assert!(again.above.is_empty());

        // Polling moves the offset past a whole batch.
        again.advance_to(110);
        assert!(again.contains(109) && !again.contains(110));
        assert!(!again.stale());
        // Renumbered far below: followed, not dropped as handled.
        again.advance_to(5000);
        // Within the span: an ordinary old repeat.
        again.follow_renumbering(4500);
        assert_eq!(again.offset(), 5000);
        again.follow_renumbering(5);
        assert!(!again.contains(5) && again.contains(4));
        // Another bot's ledger is its own.
        assert_eq!(Ledger::load(&store, 8).offset(), 0);
    }

    #[test]
    fn the_ledger_stays_bounded_across_a_gap() {
        let mut ledger = Ledger::load(&MemoryStore::default(), 1);
        ledger.record(10);
        for id in 12..12 + LEDGER_SPAN as i32 + 5 {
            ledger.record(id);
        }
        assert!(ledger.above.len() <= LEDGER_SPAN);
        assert!(ledger.contains(12));
    }

    fn config(text: &str) -> TelegramConfig {
        toml::from_str(text).expect("valid [telegram] section")
    }

    #[test]
    fn webhook_settings_are_checked() {
        // Read from the environment; this variable is always set.
        let base = "token_env = \"PATH\"\nmode = \"webhook\"\n";
        let error = |text: &str| match TelegramAdapter::from_config(&config(text)) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        assert!(error(base).contains("needs `listen`"), "{}", error(base));
        let http = format!(
            "{base}listen = \"127.0.0.1:0\"\npublic_url = \"http://bot.example.com/hook\"\n"
        );
        assert!(
            error(&http).contains("only to https://"),
            "{}",
            error(&http)
        );
        let missing = format!(
            "{base}listen = \"127.0.0.1:0\"\npublic_url = \"https://bot.example.com/hook\"\nsecret_token_env = \"PLUGBOARD_NO_SUCH_VARIABLE\"\n"
        );
        assert!(
            error(&missing).contains("PLUGBOARD_NO_SUCH_VARIABLE"),
            "{}",
            error(&missing)
        );
        let good = format!(
            "{base}listen = \"127.0.0.1:0\"\npublic_url = \"https://bot.example.com/hook\"\n"
        );
        assert_eq!(error(&good), "");
        assert!(toml::from_str::<TelegramConfig>("mode = \"carrier-pigeon\"").is_err());
    }

    #[test]
    fn long_texts_are_split_at_the_limit() {
        assert_eq!(split_text("short"), vec!["short"]);
        assert_eq!(split_text(""), vec![""]);
        let emoji = split_text(&"😀".repeat(MAX_TEXT));
        assert_eq!(emoji.len(), 2, "an emoji is two UTF-16 units");
        assert!(emoji.iter().all(|p| text_len(p) <= MAX_TEXT));
        let long = "é".repeat(MAX_TEXT + 10);
        let pieces = split_text(&long);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].chars().count(), MAX_TEXT);
        let lines = format!("{}\n{}", "a".repeat(MAX_TEXT - 5), "b".repeat(20));
        assert_eq!(
            split_text(&lines),
            vec!["a".repeat(MAX_TEXT - 5), "b".repeat(20)]
        );
    }

    #[test]
    fn commands_for_other_bots_are_recognised() {
        assert!(for_another_bot("/roll@OtherBot 2d6", "plugboard_bot"));
        assert!(!for_another_bot("/roll@Plugboard_Bot 2d6", "plugboard_bot"));
        assert!(!for_another_bot("/roll 2d6", "plugboard_bot"));
        assert!(!for_another_bot("hello @someone", "plugboard_bot"));
    }
}
