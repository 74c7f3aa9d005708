//! The events a plugin receives, as Rust types.
//!
//! Most types are the contract's own records, re-exported from the
//! bindings. A [`Command`] is the SDK's: since contract 0.2 the host sends
//! only a command's name, raw arguments and locale, and the SDK splits the
//! arguments itself and reads the message behind the command from the host
//! the first time the plugin looks at it ([`LazyMessage`]). A plugin that
//! answers `/echo hi` therefore never copies the message at all.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::ops::Deref;

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
    /// together (the host's rule, from `plugboard-args`). Split the first
    /// time they are used; use them like a `Vec<String>`
    /// (`cmd.args.first()`, `cmd.args.len()`, `&cmd.args[1..]`).
    pub args: LazyArgs,
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
            args: LazyArgs::of(&raw_args),
            locale: message.sender.locale.clone(),
            raw_args,
            message: LazyMessage::from(message),
        }
    }
}

/// A command's arguments, split from its raw text on first use.
///
/// It dereferences to `Vec<String>`, so every reading method of a vector
/// works: `cmd.args.first()`, `cmd.args.get(1)`, `cmd.args.len()`,
/// `cmd.args[0]`, `for arg in &cmd.args`. A plugin that never looks at them
/// (one that uses `raw_args`, or `rest`) never splits them.
#[derive(Clone, Default)]
pub struct LazyArgs {
    raw: String,
    split: OnceCell<Vec<String>>,
}

impl LazyArgs {
    /// The arguments of `raw_args`, not split yet.
    pub fn of(raw_args: &str) -> Self {
        LazyArgs {
            raw: raw_args.to_owned(),
            split: OnceCell::new(),
        }
    }
}

impl Deref for LazyArgs {
    type Target = Vec<String>;

    fn deref(&self) -> &Vec<String> {
        self.split
            .get_or_init(|| plugboard_args::split_args(&self.raw))
    }
}

impl<'a> IntoIterator for &'a LazyArgs {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for LazyArgs {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;

    fn into_iter(self) -> Self::IntoIter {
        let split = self.split.into_inner();
        split
            .unwrap_or_else(|| plugboard_args::split_args(&self.raw))
            .into_iter()
    }
}

impl<T: AsRef<str>> PartialEq<[T]> for LazyArgs {
    fn eq(&self, other: &[T]) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

impl<T: AsRef<str>, const N: usize> PartialEq<[T; N]> for LazyArgs {
    fn eq(&self, other: &[T; N]) -> bool {
        *self == other[..]
    }
}

impl fmt::Debug for LazyArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}

thread_local! {
    /// Counts `handle` calls: a [`LazyMessage`] reads from the host only
    /// during the call that delivered it.
    static CALL: Cell<u64> = const { Cell::new(0) };
    /// Unread lazy messages of the current call that are still alive.
    static PENDING: Cell<usize> = const { Cell::new(0) };
    /// Messages read at the end of an earlier call because unread lazy
    /// messages of that call outlived it: (call, how many, message).
    static KEPT: RefCell<Vec<(u64, usize, Message)>> = const { RefCell::new(Vec::new()) };
}

/// The message behind a [`Command`], read from the host on first use.
///
/// It dereferences to [`Message`], so `cmd.message.sender.id` reads like a
/// field. A command kept past the event that delivered it (in a plugin's
/// field) has its message read before that event ends, so it never reads
/// a later event's message. Tracking this allocates nothing.
pub struct LazyMessage {
    cell: OnceCell<Message>,
    call: u64,
    /// Counted in this thread's counters: never sent to another thread.
    _thread: std::marker::PhantomData<*const ()>,
}

impl LazyMessage {
    fn pending() -> Self {
        PENDING.set(PENDING.get() + 1);
        LazyMessage {
            cell: OnceCell::new(),
            call: CALL.get(),
            _thread: std::marker::PhantomData,
        }
    }

    /// Whether the message was read from the host (or given) already.
    pub fn is_loaded(&self) -> bool {
        self.cell.get().is_some()
    }

    /// The message itself, read from the host if it was not yet.
    pub fn into_inner(self) -> Message {
        self.load();
        // Read, so there is nothing left for `Drop` to count.
        let mut this = std::mem::ManuallyDrop::new(self);
        this.cell.take().unwrap_or_else(unknown_message)
    }

    /// Counts one more unread copy of this lazy message.
    fn count(&self, delta: isize) {
        if self.call == CALL.get() {
            PENDING.set(PENDING.get().saturating_add_signed(delta));
            return;
        }
        KEPT.with_borrow_mut(|kept| {
            if let Some(i) = kept.iter().position(|(call, ..)| *call == self.call) {
                kept[i].1 = kept[i].1.saturating_add_signed(delta);
                if kept[i].1 == 0 {
                    kept.swap_remove(i);
                }
            }
        });
    }

    fn load(&self) -> &Message {
        self.cell.get_or_init(|| {
            let message = if self.call == CALL.get() {
                read_current_message()
            } else {
                KEPT.with_borrow(|kept| {
                    kept.iter()
                        .find(|(call, ..)| *call == self.call)
                        .map(|(.., message)| message.clone())
                })
            };
            self.count(-1);
            message.unwrap_or_else(unknown_message)
        })
    }
}

impl Clone for LazyMessage {
    fn clone(&self) -> Self {
        if !self.is_loaded() {
            self.count(1);
        }
        LazyMessage {
            cell: self.cell.clone(),
            call: self.call,
            _thread: std::marker::PhantomData,
        }
    }
}

impl Drop for LazyMessage {
    fn drop(&mut self) {
        if !self.is_loaded() {
            self.count(-1);
        }
    }
}

impl From<Message> for LazyMessage {
    fn from(message: Message) -> Self {
        LazyMessage {
            cell: OnceCell::from(message),
            call: 0,
            _thread: std::marker::PhantomData,
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
/// one for a command during its event): every field empty.
pub(crate) fn unknown_message() -> Message {
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

/// Starts a `handle` call: lazy messages of earlier calls stop reading
/// from the host.
pub(crate) fn begin_call() {
    CALL.set(CALL.get().wrapping_add(1));
    PENDING.set(0);
}

/// Ends a `handle` call: if unread lazy messages outlive it (the plugin
/// kept its command in a field), the message is read now, while the host
/// still has the event, and kept for them.
pub(crate) fn end_call() {
    let pending = PENDING.replace(0);
    if pending > 0 {
        let message = read_current_message().unwrap_or_else(unknown_message);
        KEPT.with_borrow_mut(|kept| kept.push((CALL.get(), pending, message)));
    }
    // Between calls nothing is current: a copy made or dropped now counts
    // against its call's kept message.
    CALL.set(CALL.get().wrapping_add(1));
}

/// Turns the contract's event into the SDK's.
pub(crate) fn deliver(event: wit::Event) -> Event {
    match event {
        wit::Event::Command(c) => {
            let message = LazyMessage::pending();
            Event::Command(Command {
                args: LazyArgs::of(&c.raw_args),
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
    }
}
