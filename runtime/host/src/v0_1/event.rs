//! How a command reaches a 0.1 plugin: whole, with its message and its
//! split arguments. Every other event has one shape in all versions
//! (`event_to_wit` in `src/shared/convert.rs`).

use plugboard_model::event;

use super::convert::message;
use super::wit;

/// A command as 0.1 has it: with its split arguments and its whole message.
pub(super) fn command(c: &event::Command) -> wit::Command {
    wit::Command {
        name: c.name.clone(),
        args: c.args.clone(),
        raw_args: c.raw_args.clone(),
        message: message(&c.message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v0_1::event_to_wit;

    #[test]
    fn a_tick_in_the_model_reaches_the_contract_with_its_fields() {
        let tick = event::Event::Tick(event::Tick {
            name: "daily".into(),
            scheduled_ms: 1_700_000_000_000,
            chat: event::Chat {
                platform: event::Platform::Console,
                id: "console".into(),
                kind: event::ChatKind::Direct,
                title: None,
            },
        });
        match event_to_wit(&tick) {
            wit::Event::Tick(t) => {
                assert_eq!(
                    (t.name.as_str(), t.scheduled_ms),
                    ("daily", 1_700_000_000_000)
                );
            }
            other => panic!("not a tick: {other:?}"),
        }
    }
}
