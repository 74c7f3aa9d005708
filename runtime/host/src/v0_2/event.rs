//! How a command and a tick reach a 0.2 plugin: its name, raw arguments and locale
//! only. The SDK splits the arguments itself (with `plugboard-args`, the
//! rule the host uses) and reads the message through `current-event` when
//! the plugin asks for it. A tick carries its schedule's id, payload, times
//! and chat. Every other event has one shape in all versions (`event_to_wit`
//! in `src/shared/convert.rs`).

use plugboard_model::event;

use super::convert::platform;
use super::wit;

/// A command as 0.2 has it.
pub(super) fn command(c: &event::Command) -> wit::Command {
    wit::Command {
        name: c.name.clone(),
        raw_args: c.raw_args.clone(),
        locale: c
            .message
            .sender
            .locale
            .as_ref()
            .or(c.message.chat.locale.as_ref())
            .cloned(),
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
