//! How a command reaches a 0.2 plugin: its name, raw arguments and locale
//! only. The SDK splits the arguments itself (with `plugboard-args`, the
//! rule the host uses) and reads the message through `current-event` when
//! the plugin asks for it. Every other event has one shape in all versions
//! (`event_to_wit` in `src/shared/convert.rs`).

use plugboard_model::event;

use super::wit;

/// A command as 0.2 has it.
pub(super) fn command(c: &event::Command) -> wit::Command {
    wit::Command {
        name: c.name.clone(),
        raw_args: c.raw_args.clone(),
        locale: c.message.sender.locale.clone(),
    }
}
