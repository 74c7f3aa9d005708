use crate::{
    Action, Button, ChatRef, DeleteMessage, EditMessage, Outgoing, React, SendMessage, TextFormat,
};

/// The actions a plugin takes in answer to one event, performed by the host in
/// the order they were added.
#[derive(Debug, Default)]
pub struct Response {
    actions: Vec<Action>,
}

impl Response {
    /// An empty response.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replies in the event's chat with plain text.
    pub fn reply(&mut self, text: impl Into<String>) {
        self.reply_with(Outgoing::text(text));
    }

    /// Replies in the event's chat with a prepared message (markdown, buttons).
    pub fn reply_with(&mut self, message: Outgoing) {
        self.actions.push(Action::Reply(message));
    }

    /// Sends a message to another chat (needs the `send-any-chat` permission).
    pub fn send(&mut self, to: ChatRef, message: Outgoing) {
        self.actions.push(Action::Send(SendMessage { to, message }));
    }

    /// Replaces the content of a message the bot sent in the event's chat.
    pub fn edit(&mut self, message_id: impl Into<String>, message: Outgoing) {
        self.actions.push(Action::Edit(EditMessage {
            chat: None,
            message_id: message_id.into(),
            message,
        }));
    }

    /// Reacts with `emoji` to a message in the event's chat.
    pub fn react(&mut self, message_id: impl Into<String>, emoji: impl Into<String>) {
        self.actions.push(Action::React(React {
            chat: None,
            message_id: message_id.into(),
            emoji: emoji.into(),
        }));
    }

    /// Deletes a message in the event's chat.
    pub fn delete(&mut self, message_id: impl Into<String>) {
        self.actions.push(Action::Delete(DeleteMessage {
            chat: None,
            message_id: message_id.into(),
        }));
    }

    /// Adds any action.
    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    /// The actions added so far.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// Consumes the response, returning its actions.
    pub fn into_actions(self) -> Vec<Action> {
        self.actions
    }
}

impl Outgoing {
    /// A plain-text message.
    pub fn text(text: impl Into<String>) -> Self {
        Outgoing {
            text: text.into(),
            format: TextFormat::Plain,
            buttons: Vec::new(),
        }
    }

    /// A Markdown (CommonMark) message, rendered by each platform in its own
    /// syntax. Escape text that comes from users with
    /// [`markdown::escape`](crate::markdown::escape).
    pub fn markdown(text: impl Into<String>) -> Self {
        Outgoing {
            format: TextFormat::Markdown,
            ..Outgoing::text(text)
        }
    }

    /// Adds a row of buttons under the message.
    pub fn with_buttons(mut self, row: impl IntoIterator<Item = Button>) -> Self {
        self.buttons.push(row.into_iter().collect());
        self
    }
}

impl Button {
    /// A button labelled `label`; pressing it sends `id` back in a button-press event.
    pub fn new(id: impl Into<String>, label: impl Into<String>) -> Self {
        Button {
            id: id.into(),
            label: label.into(),
        }
    }
}
