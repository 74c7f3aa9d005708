//! `plugboard:plugin/messaging`: messages sent during an event, held until
//! it ends.

use std::sync::Arc;

use plugboard_model::event;
use plugboard_registry_types::Permission;

use super::convert::{chat_ref_bytes, chat_ref_from_wit, outgoing_bytes, outgoing_from_wit};
use super::plugboard;
use super::wit::{self, HostError};
use crate::state::HostState;

impl plugboard::plugin::messaging::Host for HostState {
    fn send(&mut self, to: wit::ChatRef, message: wit::Outgoing) -> Result<(), HostError> {
        if self.event.current.is_none() {
            // Nothing would deliver it: `init` runs outside any event.
            return Err(HostError::InvalidArgument(
                "messages can be sent only while handling an event, not from init".into(),
            ));
        }
        let max_actions = self.plugin.limits.max_actions as usize;
        if self.event.sent.len() >= max_actions {
            return Err(HostError::LimitExceeded(format!(
                "at most {max_actions} messages and actions per event"
            )));
        }
        let size = chat_ref_bytes(&to) + outgoing_bytes(&message);
        let to = chat_ref_from_wit(to)?;
        self.require_chat(&to)?;
        self.plugin
            .limits
            .check_text_len(&message.text)
            .map_err(HostError::LimitExceeded)?;
        let message = outgoing_from_wit(message, &self.plugin.name)?;
        // Held from here until the event ends.
        self.charge(size)
            .map_err(|e| HostError::LimitExceeded(e.to_string()))?;
        self.event.sent.push(event::Outbound {
            chat: to,
            op: event::OutboundOp::Send {
                message,
                reply_to: None,
            },
            plugin: Arc::clone(&self.plugin.name),
            mention_everyone: self.plugin.granted(Permission::MentionEveryone),
            receipt: Default::default(),
        });
        Ok(())
    }
}
