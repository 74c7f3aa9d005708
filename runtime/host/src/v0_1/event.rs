//! How a command reaches a 0.1 plugin: whole, with its message and its
//! split arguments; a tick as a name and a time (0.1 plugins cannot set
//! schedules, but a tick has a shape in every version). Every other event has one shape in all versions
//! (`event_to_wit` in `src/shared/convert.rs`).

use plugboard_model::event;

use super::convert::message;
use super::wit;
use crate::state::PluginShared;

/// An event as the host lowers it into a 0.1 plugin: owned, message and
/// all.
pub(crate) type Lowered<'a> = wit::Event;

/// A command as 0.1 has it: with its split arguments and its whole message.
pub(super) fn command(c: &event::Command, plugin: &PluginShared) -> wit::Command {
    wit::Command {
        name: c.name.clone(),
        args: c.args.clone(),
        raw_args: c.raw_args.clone(),
        message: message(&c.message, plugin),
    }
}

/// A tick as 0.1 has it: the schedule's id is its `name`.
pub(super) fn tick(t: &event::Tick) -> wit::Tick {
    wit::Tick {
        name: t.id.clone(),
        scheduled_ms: t.scheduled_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tick_reaches_a_0_1_plugin_with_its_id_as_name() {
        let fired = event::Tick {
            plugin: "digest".into(),
            id: "daily".into(),
            payload: Vec::new(),
            scheduled_ms: 1_700_000_000_000,
            fired_ms: 1_700_000_000_005,
            chat: event::Chat {
                platform: event::Platform::Console,
                id: "console".into(),
                kind: event::ChatKind::Direct,
                title: None,
                locale: None,
            },
            foreign_chat: false,
        };
        let t = tick(&fired);
        assert_eq!(
            (t.name.as_str(), t.scheduled_ms),
            ("daily", 1_700_000_000_000)
        );
    }
}
