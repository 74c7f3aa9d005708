//! Answering interactions (slash commands and button presses) in time.
//!
//! Discord wants an answer to every interaction within three seconds, or
//! the user sees "This interaction failed". The adapter keeps each open
//! interaction here while its event is handled:
//!
//! * when the plugin's answer arrives before [`DEFER_AFTER`], it *is* the
//!   interaction's answer: a reply to a slash command goes out as the
//!   response message (callback type 4), an edit of a pressed button's
//!   message as the updated message (type 7);
//! * otherwise the adapter defers at [`DEFER_AFTER`] (type 5, "Bot is
//!   thinking…", for commands; type 6 for buttons) and the answer, when it
//!   comes, edits the deferred response (commands) or the message (buttons);
//! * an event handled without any answer is closed off: a command gets a
//!   short "Done." only its user sees (or its "thinking" response is
//!   deleted), a button press is acknowledged without change.
//!
//! Further replies to the same command go out as follow-up messages. Every
//! transition of one interaction holds its lock across the HTTP call, so the
//! timer and the answer never both respond.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use serenity::http::Http;
use serenity::model::id::InteractionId;
use tokio::sync::oneshot;

/// How long the adapter waits for a plugin's answer before deferring.
pub const DEFER_AFTER: Duration = Duration::from_secs(2);

/// Message flag: only the user who invoked the command sees the message.
const EPHEMERAL: u64 = 1 << 6;

/// What an interaction was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A slash command; plugins reply to the message id `id`.
    Command,
    /// A button press on a message; plugins edit that message.
    Component {
        /// The message's channel.
        channel: String,
        /// The message.
        message: String,
    },
}

/// Where an interaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not answered yet.
    Waiting,
    /// Deferred; the answer edits the original response or message.
    Deferred,
    /// Answered.
    Answered,
}

/// One open interaction.
#[derive(Debug)]
pub(crate) struct Open {
    id: InteractionId,
    token: String,
    kind: Kind,
    state: tokio::sync::Mutex<State>,
    // Set once answered, for lookups that must not wait for `state`.
    answered: AtomicBool,
}

/// The open interactions of one adapter.
#[derive(Debug, Default)]
pub(crate) struct Interactions {
    open: Mutex<Vec<Arc<Open>>>,
}

/// What answering with a message did.
pub(crate) enum Answer {
    /// The interaction took the message.
    Done,
    /// The interaction was answered already: send the message another way.
    AlreadyAnswered,
}

impl Interactions {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Open>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens an interaction; it is answered, deferred and closed as
    /// described in the module docs, and forgotten once `handled` completes.
    pub(crate) fn open(
        self: &Arc<Self>,
        http: Arc<Http>,
        id: InteractionId,
        token: String,
        kind: Kind,
        handled: oneshot::Receiver<()>,
    ) {
        let open = Arc::new(Open {
            id,
            token,
            kind,
            state: tokio::sync::Mutex::new(State::Waiting),
            answered: AtomicBool::new(false),
        });
        self.list().push(Arc::clone(&open));
        let interactions = Arc::clone(self);
        tokio::spawn(async move {
            let mut handled = handled;
            tokio::select! {
                _ = &mut handled => {}
                _ = tokio::time::sleep(DEFER_AFTER) => {
                    open.defer(&http).await;
                    let _ = handled.await;
                }
            }
            open.close(&http).await;
            interactions.list().retain(|o| !Arc::ptr_eq(o, &open));
        });
    }

    /// The open slash command whose interaction id (also its message id) is `id`.
    pub(crate) fn open_command(&self, id: &str) -> Option<Arc<Open>> {
        self.list()
            .iter()
            .find(|o| o.kind == Kind::Command && o.id.to_string() == id)
            .cloned()
    }

    /// The oldest unanswered press of a button on `message` in `channel`.
    pub(crate) fn open_component(&self, channel: &str, message: &str) -> Option<Arc<Open>> {
        self.list()
            .iter()
            .find(|o| {
                !o.answered.load(Ordering::Acquire)
                    && matches!(&o.kind, Kind::Component { channel: c, message: m } if c == channel && m == message)
            })
            .cloned()
    }
}

impl Open {
    async fn callback(&self, http: &Http, body: &Value) -> serenity::Result<()> {
        http.create_interaction_response(self.id, &self.token, body, Vec::new())
            .await
    }

    /// Defers, unless answered already.
    async fn defer(&self, http: &Http) {
        let mut state = self.state.lock().await;
        if *state != State::Waiting {
            return;
        }
        let kind = match self.kind {
            Kind::Command => 5,
            Kind::Component { .. } => 6,
        };
        match self.callback(http, &json!({ "type": kind })).await {
            Ok(()) => *state = State::Deferred,
            Err(e) => tracing::warn!("discord: cannot defer an interaction: {e}"),
        }
    }

    /// Closes an interaction whose event was handled without an answer.
    async fn close(&self, http: &Http) {
        let mut state = self.state.lock().await;
        let result = match (*state, &self.kind) {
            (State::Answered, _) | (State::Deferred, Kind::Component { .. }) => Ok(()),
            (State::Waiting, Kind::Command) => {
                let body = json!({
                    "type": 4,
                    "data": {"content": "Done.", "flags": EPHEMERAL, "allowed_mentions": {"parse": []}},
                });
                self.callback(http, &body).await
            }
            (State::Waiting, Kind::Component { .. }) => {
                self.callback(http, &json!({ "type": 6 })).await
            }
            (State::Deferred, Kind::Command) => {
                http.delete_original_interaction_response(&self.token).await
            }
        };
        if let Err(e) = result {
            tracing::warn!("discord: cannot close an interaction: {e}");
        }
        *state = State::Answered;
        self.answered.store(true, Ordering::Release);
    }

    /// Answers with a message (`body`: content, components, mentions): the
    /// response to a command, or the new content of a pressed button's
    /// message.
    pub(crate) async fn answer(
        &self,
        http: &Http,
        body: serde_json::Map<String, Value>,
    ) -> serenity::Result<Answer> {
        let mut state = self.state.lock().await;
        let result = match (*state, &self.kind) {
            (State::Answered, _) => return Ok(Answer::AlreadyAnswered),
            (State::Waiting, Kind::Command) => {
                self.callback(http, &json!({"type": 4, "data": body})).await
            }
            (State::Waiting, Kind::Component { .. }) => {
                self.callback(http, &json!({"type": 7, "data": body})).await
            }
            (State::Deferred, Kind::Command) => http
                .edit_original_interaction_response(&self.token, &body, Vec::new())
                .await
                .map(drop),
            (State::Deferred, Kind::Component { .. }) => return Ok(Answer::AlreadyAnswered),
        };
        // Answered or not, the interaction is not tried again: a second
        // attempt would fail the same way or answer twice.
        *state = State::Answered;
        self.answered.store(true, Ordering::Release);
        result.map(|()| Answer::Done)
    }

    /// Sends `body` as a follow-up message of an answered command.
    pub(crate) async fn follow_up(
        &self,
        http: &Http,
        body: &serde_json::Map<String, Value>,
    ) -> serenity::Result<()> {
        http.create_followup_message(&self.token, body, Vec::new())
            .await
            .map(drop)
    }
}
