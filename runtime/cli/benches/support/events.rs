//! The event the benches send: a message in the console's direct chat.

use plugboard_model::event::{Chat, ChatKind, Message, Platform, User};

/// A message from the bench user in the console's direct chat.
pub fn message(text: &str) -> Message {
    let chat = Chat {
        platform: Platform::Console,
        id: "bench".into(),
        kind: ChatKind::Direct,
        title: None,
        locale: None,
    };
    Message::new("42", chat, User::new("u1", "bench user"), text)
}
