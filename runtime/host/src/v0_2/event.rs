//! How a command and a tick reach a 0.2 plugin: its name, raw arguments and locale
//! only, lowered straight from the router's event without copying them
//! ([`Lowered`]). The SDK splits the arguments itself (with `plugboard-args`,
//! the rule the host uses) and reads the message through `current-event`
//! only when the plugin asks for it. A tick carries its schedule's id,
//! payload, times and chat. Every other event has one shape in all versions
//! (`event_to_wit` in `src/shared/convert.rs`).

use plugboard_model::event;
use wasmtime::component::{ComponentType, Lower};

use super::convert::platform;
use super::wit;

/// `wit::Event` as the host lowers it into a 0.2 plugin: the same WIT
/// shape (wasmtime checks it against each component, see
/// `super::Pre`), but a command's strings are borrowed from the router's
/// event instead of copied into an owned record first.
///
/// Every case but a command is boxed: the event is lowered from inside
/// the call's future, and each future around it (down to the
/// dispatcher's task) is as large as the largest case; a command, the
/// hot one, is three borrowed strings.
#[derive(ComponentType, Lower)]
#[component(variant)]
pub(crate) enum Lowered<'a> {
    #[component(name = "message")]
    Message(Box<wit::Message>),
    #[component(name = "command")]
    Command(CommandRef<'a>),
    #[component(name = "edited")]
    Edited(Box<wit::Message>),
    #[component(name = "button-press")]
    ButtonPress(Box<wit::ButtonPress>),
    #[component(name = "reaction")]
    Reaction(Box<wit::Reaction>),
    #[component(name = "member-joined")]
    MemberJoined(Box<wit::Membership>),
    #[component(name = "member-left")]
    MemberLeft(Box<wit::Membership>),
    #[component(name = "tick")]
    Tick(Box<wit::Tick>),
}

/// `wit::Command`, borrowed.
#[derive(ComponentType, Lower)]
#[component(record)]
pub(crate) struct CommandRef<'a> {
    name: &'a str,
    #[component(name = "raw-args")]
    raw_args: &'a str,
    locale: Option<&'a str>,
}

/// A command as 0.2 has it: the sender's language, else the chat's (the
/// sender is read through `current-event`, so `_plugin` is not needed).
pub(super) fn command<'e>(
    c: &'e event::Command,
    _plugin: &crate::state::PluginShared,
) -> CommandRef<'e> {
    CommandRef {
        name: &c.name,
        raw_args: &c.raw_args,
        locale: c
            .message
            .sender
            .locale
            .as_deref()
            .or(c.message.chat.locale.as_deref()),
    }
}

/// A tick as 0.2 has it.
pub(super) fn tick(t: &event::Tick) -> wit::Tick {
    wit::Tick {
        id: t.id.clone(),
        payload: t.payload.clone(),
        scheduled_ms: t.scheduled_ms,
        fired_ms: t.fired_ms,
        chat: chat_ref(&t.chat),
    }
}

/// The address of a chat (what a tick and a listed schedule carry).
pub(super) fn chat_ref(c: &event::Chat) -> wit::ChatRef {
    wit::ChatRef {
        platform: platform(&c.platform),
        id: c.id.clone(),
    }
}
