//! The live stream: the events and deliveries the bot sees, as JSON text
//! messages over a WebSocket (`/api/v1/stream` with the token, `/live/socket`
//! for the signed-in pages), filtered by plugin and chat. What people said
//! is left out unless the watcher asks for it (`text=true`).
//!
//! Each message is one [`Sighting`] as JSON
//! (`{"kind":"event","event":"command","platform":"telegram","chat":"42",…}`),
//! or `{"kind":"lagged","missed":N}` when the watcher fell behind and the
//! oldest were dropped. Watching costs the bot nothing while nobody does.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use plugboard_bot::control::Control;
use plugboard_bot::sightings::Sighting;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

/// What a watcher asks to see.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StreamQuery {
    /// Only what this plugin sent or is sent.
    pub plugin: Option<String>,
    /// Only this chat, as `platform:id`.
    pub chat: Option<String>,
    /// Include what was said (message text, commands as typed, what the
    /// bot answered).
    pub text: bool,
}

impl StreamQuery {
    /// Whether `sighting` passes the filters.
    fn passes(&self, sighting: &Sighting) -> bool {
        let plugin = self.plugin.as_deref().filter(|p| !p.is_empty());
        let chat = self.chat.as_deref().filter(|c| !c.is_empty());
        plugin.is_none_or(|p| sighting.plugin() == Some(p))
            && chat.is_none_or(|c| sighting.chat() == c)
    }

    /// `sighting` as the watcher sees it, if it passes.
    fn show(&self, sighting: &Sighting) -> Option<String> {
        if !self.passes(sighting) {
            return None;
        }
        let shown = match self.text {
            true => serde_json::to_string(sighting),
            false => serde_json::to_string(&sighting.clone().without_text()),
        };
        shown.ok()
    }
}

/// Streams what `control` sees to `socket` until the watcher leaves or
/// the bot stops.
pub(crate) async fn stream(mut socket: WebSocket, control: Arc<Control>, query: StreamQuery) {
    let mut sightings = control.sightings().watch();
    drop(control);
    loop {
        tokio::select! {
            seen = sightings.recv() => {
                let text = match seen {
                    Ok(sighting) => match query.show(&sighting) {
                        Some(text) => text,
                        None => continue,
                    },
                    Err(RecvError::Lagged(missed)) => format!("{{\"kind\":\"lagged\",\"missed\":{missed}}}"),
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                // The watcher says nothing; anything but a close is ignored.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_model::event::{Chat, ChatKind, Event, Message as ChatMessage, Platform, User};

    fn said(text: &str) -> Sighting {
        let chat = Chat {
            platform: Platform::Telegram,
            id: "42".into(),
            kind: ChatKind::Direct,
            title: None,
            locale: None,
        };
        let message = ChatMessage::new("1", chat, User::new("7", "Ann"), text);
        Sighting::of_event(&Event::Message(message), Some("telegram"))
    }

    #[test]
    fn what_was_said_is_shown_only_when_asked_for_and_filters_hold() {
        let seen = said("my secret plan");
        let hidden = StreamQuery::default().show(&seen).expect("passes");
        assert!(!hidden.contains("secret"), "{hidden}");
        assert!(hidden.contains("\"chat\":\"42\""), "{hidden}");
        let asked = StreamQuery {
            text: true,
            ..StreamQuery::default()
        };
        assert!(
            asked
                .show(&seen)
                .expect("passes")
                .contains("my secret plan")
        );
        let other_chat = StreamQuery {
            chat: Some("telegram:43".into()),
            ..StreamQuery::default()
        };
        assert!(other_chat.show(&seen).is_none());
        let this_chat = StreamQuery {
            chat: Some("telegram:42".into()),
            ..StreamQuery::default()
        };
        assert!(this_chat.show(&seen).is_some());
        let a_plugin = StreamQuery {
            plugin: Some("dice".into()),
            ..StreamQuery::default()
        };
        assert!(a_plugin.show(&seen).is_none(), "a message is no plugin's");
    }
}
