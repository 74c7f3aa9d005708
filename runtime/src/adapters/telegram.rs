//! The Telegram adapter, over teloxide's Bot API client (`teloxide-core`).
//!
//! Inbound, it long-polls `getUpdates` with its own loop so that delivery is
//! at least once: a batch's offset is stored in the bot's store only after
//! every update of the batch has been handled (the dispatcher reports it), so
//! a restart resumes at the first unhandled update and never repeats a
//! handled one. Update ids at or below the stored offset are skipped.
//!
//! Outbound goes through teloxide's `Throttle` adaptor, which keeps within
//! Telegram's per-chat and global rate limits and honours `retry_after`.
//!
//! Errors: a bad token (401) is reported once and the adapter stops, leaving
//! the other adapters running; a 429 on polling waits `retry_after`; network
//! errors, 5xx and unparseable answers are retried with backoff.
//!
//! Not yet here: webhook mode, Markdown rendering (Markdown text is sent as
//! plain text), reactions-as-events.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use teloxide_core::adaptors::throttle::{Limits, Throttle};
use teloxide_core::payloads::{
    EditMessageTextSetters, GetUpdatesSetters, SendMessageSetters, SetMessageReactionSetters,
};
use teloxide_core::requests::{Requester, RequesterExt};
use teloxide_core::types::{
    self as tg, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ReactionType,
    ReplyParameters, UpdateKind,
};
use teloxide_core::{ApiError, Bot, RequestError};
use tokio::sync::mpsc;

use super::{Adapter, AdapterError, AdapterFuture, AdapterIo, Inbox};
use crate::event::{
    ButtonPress, Chat, ChatKind, Event, Membership, Message, Outbound, OutboundOp, Outgoing,
    Platform, User,
};
use crate::store::Store;

/// Telegram's limit on the text of one message, in UTF-16 code units; we
/// split on characters, which is never longer.
pub const MAX_TEXT: usize = 4096;
/// How long one `getUpdates` call waits for updates, in seconds.
const POLL_TIMEOUT_SECS: u32 = 25;

/// `[telegram]` in `plugboard.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// The environment variable holding the bot token (never the token).
    #[serde(default = "default_token_env")]
    pub token_env: String,
    /// A self-hosted Bot API server, e.g. `http://127.0.0.1:8081`.
    #[serde(default)]
    pub api_url: Option<String>,
    /// `polling` (the only mode so far).
    #[serde(default = "default_mode")]
    pub mode: String,
}

fn default_token_env() -> String {
    "TELEGRAM_BOT_TOKEN".into()
}

fn default_mode() -> String {
    "polling".into()
}

/// The adapter.
pub struct TelegramAdapter {
    bot: Bot,
}

impl TelegramAdapter {
    /// Builds the adapter from its config section, reading the token from the
    /// environment.
    pub fn from_config(config: &TelegramConfig) -> Result<Self, AdapterError> {
        let fail = |message: String| AdapterError::Platform {
            platform: "telegram".into(),
            message,
        };
        if config.mode != "polling" {
            return Err(fail(format!(
                "mode `{}` is not supported yet; use mode = \"polling\"",
                config.mode
            )));
        }
        let token = std::env::var(&config.token_env).map_err(|_| {
            fail(format!(
                "the environment variable {} (named by `token_env`) is not set; put the token from @BotFather there",
                config.token_env
            ))
        })?;
        let mut bot = Bot::new(token);
        if let Some(url) = &config.api_url {
            let url = url
                .parse()
                .map_err(|e| fail(format!("`api_url` = {url:?} is not a URL: {e}")))?;
            bot = bot.set_api_url(url);
        }
        Ok(Self { bot })
    }

    /// An adapter for `bot` (tests and embedders).
    pub fn new(bot: Bot) -> Self {
        Self { bot }
    }
}

impl Adapter for TelegramAdapter {
    fn platform(&self) -> Platform {
        Platform::Telegram
    }

    fn run(self: Box<Self>, io: AdapterIo) -> AdapterFuture {
        let bot = self.bot;
        let AdapterIo {
            inbox,
            outbox,
            mut shutdown,
            store,
        } = io;
        Box::pin(async move {
            let me = match bot.get_me().await {
                Ok(me) => me,
                Err(RequestError::Api(ApiError::InvalidToken)) => {
                    return Err(AdapterError::Platform {
                        platform: "telegram".into(),
                        message: "the bot token was refused (401); check the token from @BotFather in the \
                                  environment variable named by `token_env`"
                            .into(),
                    });
                }
                Err(e) => {
                    return Err(AdapterError::Platform {
                        platform: "telegram".into(),
                        message: format!("cannot reach the Bot API: {e}"),
                    });
                }
            };
            let username = me.username.clone().unwrap_or_default();
            tracing::info!("telegram: connected as @{username}");
            let sender = tokio::spawn(deliver(bot.clone().throttle(Limits::default()), outbox));
            tokio::select! {
                _ = poll(&bot, &inbox, &*store, me.id.0, &username) => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
            drop(inbox);
            // Deliveries for events already handled still go out.
            let _ = sender.await;
            Ok(())
        })
    }
}

fn offset_key(bot_id: u64) -> String {
    format!("telegram/{bot_id}/offset")
}

/// The next update id to ask for, as stored after the last handled batch.
fn stored_offset(store: &dyn Store, bot_id: u64) -> i32 {
    match store.meta_get(&offset_key(bot_id)) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).parse().unwrap_or(0),
        Ok(None) => 0,
        Err(e) => {
            tracing::error!("telegram: cannot read the stored offset: {e}");
            0
        }
    }
}

async fn poll(bot: &Bot, inbox: &Inbox, store: &dyn Store, bot_id: u64, username: &str) {
    let mut offset = stored_offset(store, bot_id);
    let mut backoff = Duration::from_millis(500);
    loop {
        let updates = match bot
            .get_updates()
            .offset(offset)
            .timeout(POLL_TIMEOUT_SECS)
            .await
        {
            Ok(updates) => {
                backoff = Duration::from_millis(500);
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
                return;
            }
            Err(e) => {
                tracing::warn!("telegram: getUpdates failed, retrying in {backoff:?}: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        let mut handled = Vec::new();
        let mut next = offset;
        for update in updates {
            let id = update.id.0 as i32;
            if id < offset {
                continue; // already handled before a restart
            }
            next = next.max(id + 1);
            for event in events_of(&update, bot, username).await {
                match inbox.submit_tracked(event).await {
                    Ok(done) => handled.push(done),
                    Err(_) => return,
                }
            }
        }
        for done in handled {
            let _ = done.await;
        }
        if next != offset {
            offset = next;
            if let Err(e) = store.meta_set(&offset_key(bot_id), offset.to_string().as_bytes()) {
                tracing::error!("telegram: cannot store the offset: {e}");
            } else if let Err(e) = store.flush() {
                tracing::error!("telegram: cannot flush the offset: {e}");
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
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
        attachments: Vec::new(),
        timestamp_ms: u64::try_from(m.date.timestamp_millis()).unwrap_or_else(|_| now_ms()),
    }
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

/// Splits `text` into pieces of at most [`MAX_TEXT`] characters, preferring
/// line breaks.
pub fn split_text(text: &str) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.chars().count() > MAX_TEXT {
        let limit = rest
            .char_indices()
            .nth(MAX_TEXT)
            .map_or(rest.len(), |(i, _)| i);
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

async fn deliver(bot: Throttle<Bot>, mut outbox: mpsc::Receiver<Outbound>) {
    while let Some(outbound) = outbox.recv().await {
        let Ok(chat_id) = outbound.chat.id.parse::<i64>() else {
            tracing::warn!(chat = %outbound.chat.id, "telegram: not a Telegram chat id; dropping a delivery");
            continue;
        };
        let chat_id = ChatId(chat_id);
        let message_id = |id: &str| id.parse::<i32>().ok().map(MessageId);
        let result = match &outbound.op {
            OutboundOp::Send { message, reply_to } => {
                let mut result = Ok(());
                let pieces = split_text(&message.text);
                let last = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    let mut request = bot.send_message(chat_id, piece);
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
                    if let Err(e) = request.await {
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
                    let text: String = message.text.chars().take(MAX_TEXT).collect();
                    let mut request = bot.edit_message_text(chat_id, id, text);
                    if let Some(markup) = keyboard(message) {
                        request = request.reply_markup(markup);
                    }
                    request.await.map(drop)
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
            tracing::warn!(plugin = %outbound.plugin, chat = %outbound.chat.id, "telegram: a delivery failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_texts_are_split_at_the_limit() {
        assert_eq!(split_text("short"), vec!["short"]);
        assert_eq!(split_text(""), vec![""]);
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
