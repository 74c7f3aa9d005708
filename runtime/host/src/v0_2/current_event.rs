//! `plugboard:plugin/current-event` (since 0.2): what the event being
//! handled carries beyond what `handle` received.

use plugboard_model::event::Event;

use super::convert::message;
use super::plugboard;
use super::wit;
use crate::state::HostState;

impl plugboard::plugin::current_event::Host for HostState {
    fn message(&mut self) -> Option<wit::Message> {
        let plugin = &self.plugin;
        match self.event.current.as_deref()? {
            Event::Command(c) => Some(message(&c.message, plugin)),
            Event::Message(m) | Event::Edited(m) => Some(message(m, plugin)),
            Event::ButtonPress(_)
            | Event::Reaction(_)
            | Event::MemberJoined(_)
            | Event::MemberLeft(_)
            | Event::Tick(_)
            | Event::Webhook(_) => None,
        }
    }
}
