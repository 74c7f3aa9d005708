use crate::{
    Action, Button, ChatRef, DeleteMessage, EditMessage, Embed, EmbedField, Outgoing, React,
    SendMessage, TextFormat,
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
        self.push(Action::Reply(message));
    }

    /// Sends a message to another chat (needs the `send-any-chat` permission).
    pub fn send(&mut self, to: ChatRef, message: Outgoing) {
        self.push(Action::Send(SendMessage { to, message }));
    }

    /// Replaces the content of a message the bot sent in the event's chat.
    pub fn edit(&mut self, message_id: impl Into<String>, message: Outgoing) {
        self.push(Action::Edit(EditMessage {
            chat: None,
            message_id: message_id.into(),
            message,
        }));
    }

    /// Reacts with `emoji` to a message in the event's chat.
    pub fn react(&mut self, message_id: impl Into<String>, emoji: impl Into<String>) {
        self.push(Action::React(React {
            chat: None,
            message_id: message_id.into(),
            emoji: emoji.into(),
        }));
    }

    /// Deletes a message in the event's chat.
    pub fn delete(&mut self, message_id: impl Into<String>) {
        self.push(Action::Delete(DeleteMessage {
            chat: None,
            message_id: message_id.into(),
        }));
    }

    /// Adds any action.
    pub fn push(&mut self, action: Action) {
        // Most answers are one action: room for exactly one means the list
        // is handed to the host without being reallocated to fit.
        if self.actions.capacity() == 0 {
            self.actions.reserve_exact(1);
        }
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
            embed: None,
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

    /// Attaches a card to the message: a real embed on Discord, text below
    /// the message on Telegram and the console. The text may be empty when
    /// the card says it all.
    ///
    /// ```
    /// use plugboard_sdk::{Embed, Outgoing};
    ///
    /// let message = Outgoing::text("").with_embed(
    ///     Embed::new()
    ///         .title("Weather in Lisbon")
    ///         .description("**Sunny**, 24 °C")
    ///         .field("Wind", "12 km/h")
    ///         .color(0xF5A623),
    /// );
    /// assert_eq!(message.embed.map(|e| e.fields.len()), Some(1));
    /// ```
    pub fn with_embed(mut self, embed: Embed) -> Self {
        self.embed = Some(embed);
        self
    }
}

/// Building an [`Embed`]. The host refuses (with an error the plugin sees,
/// or failing the event for a returned action) embeds beyond Discord's
/// limits: title 256 characters, description 4,096, at most 25 fields with
/// names of 256 and values of 1,024, footer 2,048, and 6,000 for all texts
/// together; `url` and `image_url` must be `http(s)://` addresses.
impl Embed {
    /// An empty card; add parts with the other methods.
    pub fn new() -> Self {
        Embed {
            title: None,
            description: None,
            url: None,
            color: None,
            fields: Vec::new(),
            footer: None,
            image_url: None,
        }
    }

    /// Sets the heading (plain text).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the body (Markdown; escape user text with
    /// [`markdown::escape`](crate::markdown::escape)).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Makes the title a link to `url` (`http://` or `https://`).
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Sets the colour of the card's edge, `0xRRGGBB` (shown on Discord only).
    pub fn color(mut self, rgb: u32) -> Self {
        self.color = Some(rgb);
        self
    }

    /// Adds a field on a line of its own: `name` is plain text, `value`
    /// Markdown.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(EmbedField {
            name: name.into(),
            value: value.into(),
            inline: false,
        });
        self
    }

    /// Adds a field that Discord may show beside its neighbours.
    pub fn inline_field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.push(EmbedField {
            name: name.into(),
            value: value.into(),
            inline: true,
        });
        self
    }

    /// Sets the small line under the card (plain text).
    pub fn footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// Shows the image at `url` (`http://` or `https://`) in the card.
    pub fn image(mut self, url: impl Into<String>) -> Self {
        self.image_url = Some(url.into());
        self
    }
}

impl Default for Embed {
    fn default() -> Self {
        Embed::new()
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
