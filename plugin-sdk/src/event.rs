//! The events a plugin receives, as Rust types.
//!
//! Most types are the contract's own records, re-exported from the
//! bindings. A [`Command`] is the SDK's: since contract 0.2 the host sends
//! only a command's name, raw arguments and locale, and the SDK splits the
//! arguments itself and reads the message behind the command from the host
//! the first time the plugin looks at it ([`LazyMessage`]). A plugin that
//! answers `/echo hi` therefore never copies the message at all.

use std::cell::{Cell, OnceCell};
use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

use crate::bindings::plugboard::plugin::types as wit;
use crate::{ButtonPress, Chat, ChatKind, Membership, Message, Platform, Reaction, Tick, User};

/// Something that happened, delivered to a plugin that subscribed to it.
#[derive(Debug, Clone)]
pub enum Event {
    /// A message that is not a command (needs `events = ["message"]`).
    Message(Message),
    /// A command the plugin declared in its manifest.
    Command(Command),
    /// A message was edited; carries the new version (needs `events = ["edited"]`).
    Edited(Message),
    /// A button the plugin sent was pressed.
    ButtonPress(ButtonPress),
    /// A reaction was added or removed (needs `events = ["reaction"]`).
    Reaction(Reaction),
    /// A user joined a chat (needs `events = ["member-joined"]`).
    MemberJoined(Membership),
    /// A user left a chat (needs `events = ["member-left"]`).
    MemberLeft(Membership),
    /// A scheduled timer fired.
    Tick(Tick),
}

/// A command such as `/roll 2d6`, `!roll 2d6` or a Discord slash command.
#[derive(Debug, Clone)]
pub struct Command {
    /// The command's name without prefix or bot mention, lower-cased (`roll`).
    pub name: String,
    /// The arguments split on whitespace, with double-quoted groups kept
    /// together (the host's rule, from `plugboard-args`).
    pub args: Vec<String>,
    /// Everything after the command name, exactly as typed (trimmed).
    pub raw_args: String,
    /// The language to answer in (BCP 47, such as `en` or `pt-BR`), when
    /// the platform tells it.
    pub locale: Option<String>,
    /// The message that carried the command. Read from the host the first
    /// time it is used; use it like a [`Message`] (`cmd.message.chat.id`).
    pub message: LazyMessage,
}

impl Command {
    /// A command as the host would deliver it, for tests and for plugins
    /// that build commands themselves.
    pub fn new(name: impl Into<String>, raw_args: impl Into<String>, message: Message) -> Self {
        let raw_args = raw_args.into();
        Command {
            name: name.into(),
            args: plugboard_args::split_args(&raw_args),
            locale: message.sender.locale.clone(),
            raw_args,
            message: LazyMessage::from(message),
        }
    }
}

thread_local! {
    /// Counts `handle` calls: a [`LazyMessage`] may read from the host only
    /// during the call that delivered it.
    static CALL: Cell<u64> = const { Cell::new(0) };
}

/// The message behind a [`Command`], read from the host on first use.
///
/// It dereferences to [`Message`], so `cmd.message.sender.id` reads like a
/// field. A command kept past the event that delivered it (in a plugin's
/// field) has its message read before the event ends, so it never reads a
/// later event's message.
#[derive(Clone)]
pub struct LazyMessage {
    cell: Rc<OnceCell<Message>>,
    call: u64,
}

impl LazyMessage {
    fn pending() -> Self {
        LazyMessage {
            cell: Rc::new(OnceCell::new()),
            call: CALL.get(),
        }
    }

    /// Whether the message was read from the host (or given) already.
    pub fn is_loaded(&self) -> bool {
        self.cell.get().is_some()
    }

    fn load(&self) -> &Message {
        self.cell.get_or_init(|| {
            let current = self.call == CALL.get();
            current
                .then(read_current_message)
                .flatten()
                .unwrap_or_else(unknown_message)
        })
    }
}

impl From<Message> for LazyMessage {
    fn from(message: Message) -> Self {
        LazyMessage {
            cell: Rc::new(OnceCell::from(message)),
            call: 0,
        }
    }
}

impl Deref for LazyMessage {
    type Target = Message;

    fn deref(&self) -> &Message {
        self.load()
    }
}

impl fmt::Debug for LazyMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.cell.get() {
            Some(message) => message.fmt(f),
            None => f.write_str("LazyMessage(not read yet)"),
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn read_current_message() -> Option<Message> {
    crate::bindings::plugboard::plugin::current_event::message()
}

/// Outside WebAssembly (a plugin's native unit tests) there is no host:
/// build commands with [`Command::new`], whose message is given.
#[cfg(not(target_arch = "wasm32"))]
fn read_current_message() -> Option<Message> {
    None
}

/// What a message reads as when the host has none for it (it always has
/// one for a command during its event).
fn unknown_message() -> Message {
    Message {
        id: String::new(),
        chat: Chat {
            platform: Platform::Other("unknown".into()),
            id: String::new(),
            kind: ChatKind::Direct,
            title: None,
        },
        sender: User {
            id: String::new(),
            global_id: None,
            display_name: String::new(),
            locale: None,
            is_bot: false,
        },
        text: String::new(),
        reply_to: None,
        mentions: Vec::new(),
        attachments: Vec::new(),
        timestamp_ms: 0,
        telegram: None,
        discord: None,
    }
}

/// Starts a `handle` call: lazy messages of earlier calls stop reading.
pub(crate) fn begin_call() {
    CALL.set(CALL.get().wrapping_add(1));
}

/// Ends a `handle` call: a lazy message the plugin kept past it (in a
/// field) is read now, while the host still has its event.
pub(crate) fn end_call(kept: Option<LazyMessage>) {
    if let Some(lazy) = kept
        && Rc::strong_count(&lazy.cell) > 1
    {
        lazy.load();
    }
}

/// Turns the contract's event into the SDK's; also returns the command's
/// lazy message, for [`end_call`].
pub(crate) fn deliver(event: wit::Event) -> (Event, Option<LazyMessage>) {
    let mut lazy = None;
    let event = match event {
        wit::Event::Command(c) => {
            let message = LazyMessage::pending();
            lazy = Some(message.clone());
            Event::Command(Command {
                args: plugboard_args::split_args(&c.raw_args),
                name: c.name,
                raw_args: c.raw_args,
                locale: c.locale,
                message,
            })
        }
        wit::Event::Message(m) => Event::Message(m),
        wit::Event::Edited(m) => Event::Edited(m),
        wit::Event::ButtonPress(b) => Event::ButtonPress(b),
        wit::Event::Reaction(r) => Event::Reaction(r),
        wit::Event::MemberJoined(m) => Event::MemberJoined(m),
        wit::Event::MemberLeft(m) => Event::MemberLeft(m),
        wit::Event::Tick(t) => Event::Tick(t),
    };
    (event, lazy)
}
