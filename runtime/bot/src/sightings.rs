//! What the dispatcher sees go by, for the owner's live stream: each event
//! as it is taken up and each delivery as it is handed to an adapter.
//!
//! Nothing is made unless someone watches: the dispatcher asks
//! [`Sightings::watched`] (one atomic load) before it builds a
//! [`Sighting`]. A watcher that falls behind loses the oldest sightings,
//! never slows the bot.
//!
//! What it must not touch: deciding what a watcher may see (the console
//! hides message text unless the owner asks for it).

use std::sync::Arc;

use plugboard_model::event::{Event, Outbound, OutboundOp, now_ms};
use plugboard_model::text::truncate;
use serde::Serialize;
use tokio::sync::broadcast;

/// How many sightings a watcher may fall behind by before it loses the
/// oldest.
const BACKLOG: usize = 512;

/// Longest text a sighting carries, in bytes.
const MAX_TEXT: usize = 500;

/// One thing the dispatcher saw.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Sighting {
    /// An event, as it is taken up.
    Event {
        /// Milliseconds since the Unix epoch.
        at_ms: u64,
        /// `message`, `command`, `button`, `tick`… ([`Event::kind`]).
        event: &'static str,
        /// The platform.
        platform: String,
        /// The account it came in on (none for the bot's own events).
        #[serde(skip_serializing_if = "Option::is_none")]
        account: Option<String>,
        /// The chat's id.
        chat: String,
        /// Who sent it: `<user id> (<name>)`.
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        /// The plugin it is for, when it is for one only (a tick).
        #[serde(skip_serializing_if = "Option::is_none")]
        plugin: Option<String>,
        /// What was said (a message's text, a command as typed, a
        /// button's data).
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// A delivery, as it is handed to its adapter.
    Delivery {
        /// Milliseconds since the Unix epoch.
        at_ms: u64,
        /// `send`, `edit`, `react` or `delete`.
        op: &'static str,
        /// The platform.
        platform: String,
        /// The chat's id.
        chat: String,
        /// The plugin that asked for it (`plugboard` for the bot's own).
        plugin: String,
        /// What it says.
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
}

fn cut(text: &str) -> String {
    truncate(text, MAX_TEXT).into_owned()
}

impl Sighting {
    /// `event`, come in on `account`.
    pub fn of_event(event: &Event, account: Option<&str>) -> Self {
        let chat = event.chat();
        let (plugin, text) = match event {
            Event::Message(m) | Event::Edited(m) => (None, Some(cut(&m.text))),
            Event::Command(c) => (None, Some(cut(&c.message.text))),
            Event::ButtonPress(p) => (None, Some(cut(&p.data))),
            Event::Reaction(r) => (None, Some(cut(&r.emoji))),
            Event::Tick(t) => (Some(t.plugin.clone()), Some(cut(&t.id))),
            Event::Webhook(w) => (
                Some(w.plugin.clone()),
                // Only the start of a body of up to a mebibyte is read.
                Some(cut(&String::from_utf8_lossy(
                    &w.body[..w.body.len().min(MAX_TEXT + 4)],
                ))),
            ),
            Event::MemberJoined(_) | Event::MemberLeft(_) => (None, None),
        };
        Sighting::Event {
            at_ms: now_ms(),
            event: event.kind(),
            platform: chat.platform.to_string(),
            account: account.map(str::to_owned),
            chat: chat.id.clone(),
            user: event
                .sender()
                .map(|u| format!("{} ({})", u.id, u.display_name)),
            plugin,
            text,
        }
    }

    /// `outbound`, handed to its adapter.
    pub fn of_delivery(outbound: &Outbound) -> Self {
        let (op, text) = match &outbound.op {
            OutboundOp::Send { message, .. } => ("send", Some(cut(&message.text))),
            OutboundOp::Edit { message, .. } => ("edit", Some(cut(&message.text))),
            OutboundOp::React { emoji, .. } => ("react", Some(cut(emoji))),
            OutboundOp::Delete { .. } => ("delete", None),
        };
        Sighting::Delivery {
            at_ms: now_ms(),
            op,
            platform: outbound.chat.platform.to_string(),
            chat: outbound.chat.id.clone(),
            plugin: outbound.plugin.to_string(),
            text,
        }
    }

    /// The platform and chat it happened in, as `platform:id`.
    pub fn chat(&self) -> String {
        match self {
            Sighting::Event { platform, chat, .. } | Sighting::Delivery { platform, chat, .. } => {
                format!("{platform}:{chat}")
            }
        }
    }

    /// The plugin it is from or for, when one is named.
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Sighting::Event { plugin, .. } => plugin.as_deref(),
            Sighting::Delivery { plugin, .. } => Some(plugin),
        }
    }

    /// The same without what was said.
    pub fn without_text(mut self) -> Self {
        match &mut self {
            Sighting::Event { text, .. } | Sighting::Delivery { text, .. } => *text = None,
        }
        self
    }
}

/// Where sightings go: to every watcher, or nowhere when nobody watches.
#[derive(Debug, Clone)]
pub struct Sightings {
    sender: broadcast::Sender<Arc<Sighting>>,
}

impl Default for Sightings {
    fn default() -> Self {
        Self {
            sender: broadcast::Sender::new(BACKLOG),
        }
    }
}

impl Sightings {
    /// Whether anyone watches (worth making a sighting for).
    pub fn watched(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Tells every watcher.
    pub fn tell(&self, sighting: Sighting) {
        let _ = self.sender.send(Arc::new(sighting));
    }

    /// Watches from now on.
    pub fn watch(&self) -> broadcast::Receiver<Arc<Sighting>> {
        self.sender.subscribe()
    }
}
