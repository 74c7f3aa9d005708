//! The runtime's own platform-neutral model of what happens in chats and what
//! plugins want done.
//!
//! Adapters produce [`Event`]s and consume [`Outbound`] deliveries; the host
//! turns events into the WIT types of whichever contract version a plugin was
//! built against, so this model can grow without breaking old plugins.

use std::fmt;
use std::sync::Arc;

/// A chat platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    /// The local console (stdin/stdout).
    Console,
    /// Telegram.
    Telegram,
    /// Discord.
    Discord,
    /// Any other adapter, by name (the in-process test adapter uses this).
    Other(Arc<str>),
}

impl Platform {
    /// The platform's lowercase name, as used in config and logs.
    pub fn as_str(&self) -> &str {
        match self {
            Platform::Console => "console",
            Platform::Telegram => "telegram",
            Platform::Discord => "discord",
            Platform::Other(name) => name,
        }
    }
}

/// The name of the console's web chat (`plugboard-console`), an adapter
/// of the owner's like the console.
pub const WEB_CHAT: &str = "web";

impl Platform {
    /// The console's web chat, where the signed-in owner tries plugins.
    pub fn web_chat() -> Platform {
        Platform::Other(WEB_CHAT.into())
    }

    /// Whether chats here are the owner's own (the console on the bot's
    /// terminal, the web chat behind the admin token): whoever speaks
    /// there is the owner.
    pub fn is_owners(&self) -> bool {
        match self {
            Platform::Console => true,
            Platform::Other(name) => &**name == WEB_CHAT,
            Platform::Telegram | Platform::Discord => false,
        }
    }

    /// The platform a name from [`Platform::as_str`] stands for; a name
    /// this version does not know is [`Platform::Other`].
    pub fn from_name(name: &str) -> Platform {
        match name {
            "console" => Platform::Console,
            "telegram" => Platform::Telegram,
            "discord" => Platform::Discord,
            other => Platform::Other(other.into()),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user account on a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The platform's id for the account.
    pub id: String,
    /// The cross-platform id, when the person linked accounts (shared:
    /// set on every event of a linked person).
    pub global_id: Option<std::sync::Arc<str>>,
    /// The name to address the user by.
    pub display_name: String,
    /// BCP 47 language tag, when known.
    pub locale: Option<String>,
    /// Whether the account is a bot.
    pub is_bot: bool,
}

impl User {
    /// A human user with just an id and a name.
    pub fn new(id: impl Into<String>, display_name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            global_id: None,
            display_name: display_name.into(),
            locale: None,
            is_bot: false,
        }
    }
}

/// What kind of conversation a chat is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChatKind {
    /// One-to-one with the bot.
    Direct,
    /// A group.
    Group,
    /// A broadcast channel.
    Channel,
}

/// A conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// Where the chat lives.
    pub platform: Platform,
    /// The platform's id for the chat.
    pub id: String,
    /// What kind of chat.
    pub kind: ChatKind,
    /// Title of groups and channels.
    pub title: Option<String>,
    /// The chat's language as a BCP 47 tag, when the platform sets one for
    /// the whole chat (a Discord community server's preferred language):
    /// what a command is answered in when its sender's language is unknown.
    pub locale: Option<String>,
}

impl Chat {
    /// The address of this chat.
    pub fn to_ref(&self) -> ChatRef {
        ChatRef {
            platform: self.platform.clone(),
            id: self.id.clone(),
        }
    }

    /// Whether `chat` addresses this chat.
    pub fn is(&self, chat: &ChatRef) -> bool {
        self.platform == chat.platform && self.id == chat.id
    }
}

/// The address of a chat.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChatRef {
    /// The platform.
    pub platform: Platform,
    /// The platform's id for the chat.
    pub id: String,
}

/// How [`ChatRef::private_with`] marks the private chat with a user: no
/// platform's chat id starts with it.
const PRIVATE_PREFIX: &str = "@private:";

impl ChatRef {
    /// The private chat of the bot with user `user` on `platform`, which
    /// the adapter finds (Telegram: the user's id; Discord: the direct
    /// message channel it opens). Only the host addresses it, for what must
    /// not be said in a group (a link code).
    pub fn private_with(platform: Platform, user: &str) -> Self {
        Self {
            platform,
            id: format!("{PRIVATE_PREFIX}{user}"),
        }
    }

    /// The user whose private chat this is, for an address made by
    /// [`ChatRef::private_with`].
    pub fn private_user(&self) -> Option<&str> {
        self.id.strip_prefix(PRIVATE_PREFIX)
    }
}

/// A file or media attached to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Coarse kind: `image`, `video`, `audio`, `file`, `sticker`, …
    pub kind: String,
    /// Original file name.
    pub file_name: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Where the host can fetch it.
    pub url: Option<String>,
}

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The platform's id of the message.
    pub id: String,
    /// Where it was posted.
    pub chat: Chat,
    /// Who wrote it.
    pub sender: User,
    /// Its text or caption.
    pub text: String,
    /// The message it replies to.
    pub reply_to: Option<String>,
    /// Users mentioned.
    pub mentions: Vec<User>,
    /// Attached media.
    pub attachments: Vec<Attachment>,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// Details only Telegram has.
    pub telegram: Option<Box<TelegramMessage>>,
    /// Details only Discord has.
    pub discord: Option<Box<DiscordMessage>>,
}

/// The parts of a Discord message that have no platform-neutral place.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DiscordMessage {
    /// The guild (server) of the channel; `None` in direct messages.
    pub guild_id: Option<String>,
    /// The sender's unique username, without `@`.
    pub sender_username: String,
    /// The sender's nickname in the guild.
    pub sender_nick: Option<String>,
    /// The ids of the sender's roles in the guild.
    pub sender_roles: Vec<String>,
    /// For a slash command, the interaction id (also the message id).
    pub interaction_id: Option<String>,
}

impl Message {
    /// A message with just these parts, sent now: no reply, mentions,
    /// attachments or platform details.
    pub fn new(id: impl Into<String>, chat: Chat, sender: User, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            chat,
            sender,
            text: text.into(),
            reply_to: None,
            mentions: Vec::new(),
            attachments: Vec::new(),
            timestamp_ms: now_ms(),
            telegram: None,
            discord: None,
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// The parts of a Telegram message that have no platform-neutral place.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TelegramMessage {
    /// The forum topic the message belongs to, in supergroups with topics.
    pub thread_id: Option<i32>,
    /// The sender's @username, without the `@`.
    pub sender_username: Option<String>,
    /// The chat's @username, for public groups and channels.
    pub chat_username: Option<String>,
    /// The album the message is part of.
    pub media_group_id: Option<String>,
    /// Whether the message was forwarded from elsewhere.
    pub is_forwarded: bool,
    /// The inline bot the message was sent through, by username.
    pub via_bot: Option<String>,
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Lower-cased name without prefix or `@bot` suffix.
    pub name: String,
    /// Arguments split on whitespace, double-quoted groups kept together.
    pub args: Vec<String>,
    /// Everything after the name, trimmed.
    pub raw_args: String,
    /// The message that carried it.
    pub message: Message,
}

/// A press of a button a plugin sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonPress {
    /// The callback data as the platform returned it: `<plugin>:<button id>`
    /// (see [`crate::outgoing::button_data`]).
    pub data: String,
    /// Who pressed.
    pub user: User,
    /// Where the button's message lives.
    pub chat: Chat,
    /// The message carrying the button.
    pub message_id: String,
}

/// A reaction added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    /// Where the message lives.
    pub chat: Chat,
    /// The message reacted to.
    pub message_id: String,
    /// Who reacted.
    pub user: User,
    /// The emoji.
    pub emoji: String,
    /// Added (true) or removed (false).
    pub added: bool,
}

/// Someone joined or left a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The chat.
    pub chat: Chat,
    /// The user.
    pub user: User,
}

/// Something that happened on a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message; the router decides whether it is a command.
    Message(Message),
    /// A command the platform parsed itself (e.g. a Discord slash command).
    Command(Command),
    /// An edited message.
    Edited(Message),
    /// A button press.
    ButtonPress(ButtonPress),
    /// A reaction.
    Reaction(Reaction),
    /// A user joined.
    MemberJoined(Membership),
    /// A user left.
    MemberLeft(Membership),
    /// A plugin's schedule fired (made by the bot's scheduler, delivered to
    /// the plugin that set the schedule only).
    Tick(Tick),
    /// A verified webhook delivery, for the plugin that declares it only.
    Webhook(Box<Webhook>),
}

/// The name of the platform webhooks come from (they come from no chat:
/// their event's chat is `webhook:<plugin>/<name>`, which no adapter but
/// the webhook receiver serves).
pub const WEBHOOKS: &str = "webhook";

/// A verified request to `POST /hooks/<plugin>/<name>` (see
/// [`Event::Webhook`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// The plugin that declares it: the only one it goes to.
    pub plugin: String,
    /// Its name in the plugin's manifest.
    pub name: String,
    /// The sender's id for this delivery, when it sent one.
    pub delivery: Option<String>,
    /// The body's media type, when given.
    pub content_type: Option<String>,
    /// The headers that say what happened, lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body, as sent.
    pub body: Vec<u8>,
    /// `webhook:<plugin>/<name>`: deliveries of one webhook are handled in
    /// order.
    pub chat: Chat,
}

impl Webhook {
    /// The chat a webhook's events belong to.
    pub fn chat_of(plugin: &str, name: &str) -> Chat {
        Chat {
            platform: Platform::Other(WEBHOOKS.into()),
            id: format!("{plugin}/{name}"),
            kind: ChatKind::Direct,
            title: None,
            locale: None,
        }
    }
}

/// A scheduled timer that fired (see [`Event::Tick`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// The plugin that set the schedule: the only one the tick goes to.
    pub plugin: String,
    /// The id the plugin gave the schedule.
    pub id: String,
    /// The bytes the plugin attached to the schedule.
    pub payload: Vec<u8>,
    /// When the fire was due, in milliseconds since the Unix epoch.
    pub scheduled_ms: u64,
    /// When the scheduler fired it, in milliseconds since the Unix epoch
    /// (later than `scheduled_ms` when it was due while the bot was down).
    pub fired_ms: u64,
    /// The chat the schedule was set for; its ticks stay in order with the
    /// chat's other events, and a reply goes there.
    pub chat: Chat,
    /// Whether that chat was another than the one the schedule was set
    /// from (which took `send-any-chat`): then the tick is delivered only
    /// while the plugin still holds that permission.
    pub foreign_chat: bool,
}

impl Event {
    /// The chat the event belongs to; events of one chat are handled in order.
    pub fn chat(&self) -> &Chat {
        match self {
            Event::Message(m) | Event::Edited(m) => &m.chat,
            Event::Command(c) => &c.message.chat,
            Event::ButtonPress(b) => &b.chat,
            Event::Reaction(r) => &r.chat,
            Event::MemberJoined(m) | Event::MemberLeft(m) => &m.chat,
            Event::Tick(t) => &t.chat,
            Event::Webhook(w) => &w.chat,
        }
    }

    /// Who caused the event, for those a person causes (a tick has no
    /// sender).
    pub fn sender(&self) -> Option<&User> {
        match self {
            Event::Message(m) | Event::Edited(m) => Some(&m.sender),
            Event::Command(c) => Some(&c.message.sender),
            Event::ButtonPress(b) => Some(&b.user),
            Event::Reaction(r) => Some(&r.user),
            Event::MemberJoined(m) | Event::MemberLeft(m) => Some(&m.user),
            Event::Tick(_) | Event::Webhook(_) => None,
        }
    }

    /// [`Event::sender`], to change (a tick has no sender).
    pub fn sender_mut(&mut self) -> Option<&mut User> {
        match self {
            Event::Message(m) | Event::Edited(m) => Some(&mut m.sender),
            Event::Command(c) => Some(&mut c.message.sender),
            Event::ButtonPress(b) => Some(&mut b.user),
            Event::Reaction(r) => Some(&mut r.user),
            Event::MemberJoined(m) | Event::MemberLeft(m) => Some(&mut m.user),
            Event::Tick(_) | Event::Webhook(_) => None,
        }
    }

    /// A short name of the event's kind, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Message(_) => "message",
            Event::Command(_) => "command",
            Event::Edited(_) => "edited",
            Event::ButtonPress(_) => "button-press",
            Event::Reaction(_) => "reaction",
            Event::MemberJoined(_) => "member-joined",
            Event::MemberLeft(_) => "member-left",
            Event::Tick(_) => "tick",
            Event::Webhook(_) => "webhook",
        }
    }
}

/// How outgoing text is formatted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TextFormat {
    /// Shown as written.
    #[default]
    Plain,
    /// Plugboard's Markdown subset, rendered per platform.
    Markdown,
}

/// An inline button. By the time it reaches an adapter its `id` is the
/// callback data to send to the platform (`<plugin>:<id>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    /// Callback data.
    pub id: String,
    /// Label.
    pub label: String,
}

/// Content of a message to send or an edit.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outgoing {
    /// The text.
    pub text: String,
    /// How to read it.
    pub format: TextFormat,
    /// Rows of buttons.
    pub buttons: Vec<Vec<Button>>,
    /// A card shown with the message (an embed on Discord, text elsewhere).
    pub embed: Option<Box<Embed>>,
}

/// A rich card attached to a message. By the time it reaches an adapter
/// the host has checked it against Discord's limits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Embed {
    /// The heading, plain text.
    pub title: Option<String>,
    /// The body, Markdown.
    pub description: Option<String>,
    /// Where the title links to (`http(s)://`).
    pub url: Option<String>,
    /// The edge colour, `0xRRGGBB`.
    pub color: Option<u32>,
    /// Name and value pairs.
    pub fields: Vec<EmbedField>,
    /// A small line under the card, plain text.
    pub footer: Option<String>,
    /// An image shown in the card (`http(s)://`).
    pub image_url: Option<String>,
}

/// One name and value pair of an [`Embed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedField {
    /// The name, plain text.
    pub name: String,
    /// The value, Markdown.
    pub value: String,
    /// Whether it may be shown beside its neighbours.
    pub inline: bool,
}

impl Outgoing {
    /// Plain text, no buttons.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    /// Plugboard's Markdown, no buttons.
    pub fn markdown(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            format: TextFormat::Markdown,
            ..Self::default()
        }
    }
}

impl From<String> for Outgoing {
    /// Plain text ([`Outgoing::text`]).
    fn from(text: String) -> Self {
        Outgoing::text(text)
    }
}

/// What an adapter is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundOp {
    /// Send a message, optionally as a reply.
    Send {
        /// The content.
        message: Outgoing,
        /// The message it answers.
        reply_to: Option<String>,
    },
    /// Edit a message the bot sent.
    Edit {
        /// The message.
        message_id: String,
        /// The new content.
        message: Outgoing,
    },
    /// React to a message.
    React {
        /// The message.
        message_id: String,
        /// The emoji.
        emoji: String,
    },
    /// Delete a message.
    Delete {
        /// The message.
        message_id: String,
    },
}

/// One delivery for an adapter: an operation on a chat, on behalf of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    /// The target chat.
    pub chat: ChatRef,
    /// What to do.
    pub op: OutboundOp,
    /// The plugin that asked for it (`plugboard` for the host's own messages).
    pub plugin: Arc<str>,
    /// Whether `@everyone` and `@here` in the message may notify people:
    /// only when the plugin asks for the `mention-everyone` permission and
    /// the owner granted it. Adapters defuse them otherwise.
    pub mention_everyone: bool,
    /// Held until the delivery has been performed (or given up): drop it
    /// then. See [`Receipt`].
    pub receipt: Receipt,
}

/// Tells an adapter that waits for an event's full effect (Telegram stores
/// its update offset only then) that the event's deliveries are done.
///
/// The dispatcher hands a clone to every delivery of a tracked event; when
/// the last clone is dropped, after the adapters performed the deliveries,
/// the waiting adapter is told. Untracked events carry an empty receipt.
/// Receipts take no part in comparisons.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    // Never read: dropping the last clone closes the channel, which is the
    // signal.
    _done: Option<Arc<tokio::sync::oneshot::Sender<()>>>,
}

impl Receipt {
    /// A receipt that completes `done` once it and all its clones are dropped.
    pub fn new(done: tokio::sync::oneshot::Sender<()>) -> Self {
        Self {
            _done: Some(Arc::new(done)),
        }
    }
}

impl PartialEq for Receipt {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Receipt {}
