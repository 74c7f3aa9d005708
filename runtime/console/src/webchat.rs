//! The web chat: an adapter of its own (platform `web`) whose chats live
//! in the console's pages, so that the signed-in owner can try a plugin
//! in the browser, with its buttons, embeds and Markdown shown as a
//! platform would show them, and no platform account.
//!
//! [`web_chat`] makes the two halves: the [`WebChatAdapter`] the bot runs
//! like any other (it serves beside the platforms: when their input ends,
//! it stops too), and the [`WebChat`] the pages use to say something in a
//! chat, press a button, and read a chat's transcript. Saying something
//! waits until the bot has handled it and performed its answers, so a
//! page shown afterwards shows them (no script needed).
//!
//! Whoever speaks here is the owner (as on the console). Chats are named
//! by the owner (`chat-1` unless another is chosen), at most
//! [`MAX_CHATS`] of them, each keeping its last [`MAX_LINES`] lines in
//! memory only.
//!
//! What it must not touch: the pages themselves (`web`), and what the
//! bot decides about an event.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plugboard_adapter::markdown;
use plugboard_adapter::{
    Adapter, AdapterFuture, AdapterIo, Inbox, InboxSlot, inbox_of, serve_beside,
};
use plugboard_model::event::{
    ButtonPress, Chat, ChatKind, Embed, Event, Message, Outbound, OutboundOp, Outgoing, Platform,
    TextFormat, User,
};

/// Most chats the web chat keeps.
pub const MAX_CHATS: usize = 20;
/// Lines kept per chat.
pub const MAX_LINES: usize = 200;
/// Different reactions kept on one line.
const MAX_REACTIONS: usize = 20;
/// Longest message the owner may send, in bytes.
pub const MAX_TEXT: usize = 4096;
/// How long a page waits for the bot to answer.
const PATIENCE: Duration = Duration::from_secs(15);

/// The id of the web chat's one user, the signed-in owner.
pub const OWNER: &str = "owner";

/// Why something said in the web chat was not taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebChatError {
    /// The chat's name is not one the web chat takes.
    #[error("`{0}` is not a chat name: use 1 to 32 lowercase letters, digits and `-`, like chat-2")]
    BadChat(String),
    /// Too many chats already.
    #[error("the web chat keeps {MAX_CHATS} chats at most; use one of them")]
    TooManyChats,
    /// The message is empty or too long.
    #[error("say something of at most {MAX_TEXT} bytes")]
    BadText,
    /// The bot is not taking events (not started yet, or stopping).
    #[error("the bot is not taking messages right now (starting or stopping)")]
    NotRunning,
    /// The bot did not answer in time; its answers show when they come.
    #[error("the bot has not finished answering yet; reload the page to see its answer")]
    Slow,
    /// No message of this chat has that button.
    #[error("that button is no longer there; reload the page")]
    NoButton,
}

/// One line of a chat.
#[derive(Debug, Clone)]
pub struct Line {
    /// The message's id.
    pub id: String,
    /// Whether the bot said it.
    pub from_bot: bool,
    /// The plugin that sent it, for the bot's lines.
    pub plugin: String,
    /// Its text, when plain (the page escapes it).
    pub text: String,
    /// Its text as safe HTML (everything not markup escaped), when it is
    /// Markdown.
    pub html: Option<String>,
    /// Its card, as safe HTML.
    pub embed: Option<String>,
    /// Rows of buttons: label and callback data.
    pub buttons: Vec<Vec<(String, String)>>,
    /// Reactions the bot added.
    pub reactions: Vec<String>,
    /// Whether the bot edited it.
    pub edited: bool,
}

#[derive(Default)]
struct Chats {
    lines: HashMap<String, VecDeque<Line>>,
}

struct Shared {
    inbox: InboxSlot,
    chats: Mutex<Chats>,
    next_id: AtomicU64,
}

impl Shared {
    fn chats(&self) -> std::sync::MutexGuard<'_, Chats> {
        self.chats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn inbox(&self) -> Option<Inbox> {
        inbox_of(&self.inbox)
    }

    fn next_id(&self) -> String {
        self.next_id.fetch_add(1, Ordering::Relaxed).to_string()
    }
}

/// The web chat's adapter, for the bot.
pub struct WebChatAdapter {
    shared: Arc<Shared>,
}

/// The web chat as the pages use it.
#[derive(Clone)]
pub struct WebChat {
    shared: Arc<Shared>,
}

/// The web chat's two halves.
pub fn web_chat() -> (WebChatAdapter, WebChat) {
    let shared = Arc::new(Shared {
        inbox: InboxSlot::default(),
        chats: Mutex::new(Chats::default()),
        next_id: AtomicU64::new(1),
    });
    (
        WebChatAdapter {
            shared: Arc::clone(&shared),
        },
        WebChat { shared },
    )
}

/// Whether `name` may name a web chat.
pub fn is_chat_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn chat(name: &str) -> Chat {
    Chat {
        platform: Platform::web_chat(),
        id: name.to_owned(),
        kind: ChatKind::Direct,
        title: None,
        locale: None,
    }
}

fn owner() -> User {
    let mut user = User::new(OWNER, "Owner");
    user.locale = Some("en".into());
    user
}

/// `message`'s text (plain, or as safe HTML when it is Markdown), and its
/// card.
fn shown(message: &Outgoing) -> (String, Option<String>, Option<String>) {
    let (text, html) = match message.format {
        TextFormat::Plain => (message.text.clone(), None),
        TextFormat::Markdown => (String::new(), Some(markdown::render(&message.text).html)),
    };
    let embed = message.embed.as_deref().map(card);
    (text, html, embed)
}

fn card(embed: &Embed) -> String {
    markdown::render(&markdown::embed_markdown(embed)).html
}

fn buttons(message: &Outgoing) -> Vec<Vec<(String, String)>> {
    message
        .buttons
        .iter()
        .map(|row| {
            row.iter()
                .map(|b| (b.label.clone(), b.id.clone()))
                .collect()
        })
        .collect()
}

impl WebChat {
    /// The chats so far, by name.
    pub fn chats(&self) -> Vec<String> {
        let mut names: Vec<String> = self.shared.chats().lines.keys().cloned().collect();
        names.sort();
        names
    }

    /// The lines of chat `name`, oldest first.
    pub fn transcript(&self, name: &str) -> Vec<Line> {
        self.shared
            .chats()
            .lines
            .get(name)
            .map(|lines| lines.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds `line` to chat `name`, making the chat if there is room.
    fn add(&self, name: &str, line: Line) -> Result<(), WebChatError> {
        let mut chats = self.shared.chats();
        if !chats.lines.contains_key(name) && chats.lines.len() >= MAX_CHATS {
            return Err(WebChatError::TooManyChats);
        }
        let lines = chats.lines.entry(name.to_owned()).or_default();
        lines.push_back(line);
        while lines.len() > MAX_LINES {
            lines.pop_front();
        }
        Ok(())
    }

    /// Hands `event` to the bot and waits until it is handled and its
    /// answers are in the transcript.
    async fn submit(&self, event: Event) -> Result<(), WebChatError> {
        let inbox = self.shared.inbox().ok_or(WebChatError::NotRunning)?;
        let handled = inbox
            .submit_tracked(event)
            .await
            .map_err(|_| WebChatError::NotRunning)?;
        drop(inbox);
        match tokio::time::timeout(PATIENCE, handled).await {
            Ok(_) => Ok(()),
            Err(_) => Err(WebChatError::Slow),
        }
    }

    /// The owner says `text` in chat `name`.
    pub async fn say(&self, name: &str, text: &str) -> Result<(), WebChatError> {
        if !is_chat_name(name) {
            return Err(WebChatError::BadChat(
                plugboard_registry_types::text::one_line(name, 40),
            ));
        }
        let text = text.trim();
        if text.is_empty() || text.len() > MAX_TEXT {
            return Err(WebChatError::BadText);
        }
        let id = self.shared.next_id();
        self.add(
            name,
            Line {
                id: id.clone(),
                from_bot: false,
                plugin: String::new(),
                text: text.to_owned(),
                html: None,
                embed: None,
                buttons: Vec::new(),
                reactions: Vec::new(),
                edited: false,
            },
        )?;
        let message = Message::new(id, chat(name), owner(), text);
        self.submit(Event::Message(message)).await
    }

    /// The owner presses the button with callback `data` on message
    /// `message_id` of chat `name`.
    pub async fn press(
        &self,
        name: &str,
        message_id: &str,
        data: &str,
    ) -> Result<(), WebChatError> {
        let there = self
            .shared
            .chats()
            .lines
            .get(name)
            .and_then(|lines| lines.iter().find(|l| l.id == message_id))
            .is_some_and(|line| line.buttons.iter().flatten().any(|(_, d)| d == data));
        if !there {
            return Err(WebChatError::NoButton);
        }
        let press = ButtonPress {
            data: data.to_owned(),
            user: owner(),
            chat: chat(name),
            message_id: message_id.to_owned(),
        };
        self.submit(Event::ButtonPress(press)).await
    }

    /// Performs one delivery on the transcript: only in a chat the owner
    /// opened (a plugin sending elsewhere on `web` makes no chat).
    fn perform(&self, outbound: &Outbound) {
        let name = outbound.chat.id.as_str();
        if !self.shared.chats().lines.contains_key(name) {
            tracing::debug!(
                chat = ?name,
                "web chat: a delivery to a chat nobody opened is dropped"
            );
            return;
        }
        match &outbound.op {
            OutboundOp::Send { message, .. } => {
                let (text, html, embed) = shown(message);
                let line = Line {
                    id: self.shared.next_id(),
                    from_bot: true,
                    plugin: outbound.plugin.to_string(),
                    text,
                    html,
                    embed,
                    buttons: buttons(message),
                    reactions: Vec::new(),
                    edited: false,
                };
                if let Err(e) = self.add(name, line) {
                    tracing::warn!(chat = name, "web chat: a message is dropped: {e}");
                }
            }
            OutboundOp::Edit {
                message_id,
                message,
            } => self.change(name, message_id, |line| {
                let (text, html, embed) = shown(message);
                line.text = text;
                line.html = html;
                line.embed = embed;
                line.buttons = buttons(message);
                line.edited = true;
            }),
            OutboundOp::React { message_id, emoji } => self.change(name, message_id, |line| {
                if !line.reactions.contains(emoji) && line.reactions.len() < MAX_REACTIONS {
                    line.reactions.push(emoji.clone());
                }
            }),
            OutboundOp::Delete { message_id } => {
                if let Some(lines) = self.shared.chats().lines.get_mut(name) {
                    lines.retain(|line| &line.id != message_id);
                }
            }
        }
    }

    fn change(&self, name: &str, message_id: &str, change: impl FnOnce(&mut Line)) {
        let mut chats = self.shared.chats();
        let line = chats
            .lines
            .get_mut(name)
            .and_then(|lines| lines.iter_mut().find(|l| l.id == message_id));
        if let Some(line) = line {
            change(line);
        }
    }
}

impl Adapter for WebChatAdapter {
    fn platform(&self) -> Platform {
        Platform::web_chat()
    }

    fn beside(&self) -> bool {
        true
    }

    fn run(self: Box<Self>, io: AdapterIo) -> AdapterFuture {
        let chat = WebChat {
            shared: Arc::clone(&self.shared),
        };
        Box::pin(async move {
            serve_beside(io, &self.shared.inbox, |outbound| chat.perform(outbound)).await
        })
    }
}
