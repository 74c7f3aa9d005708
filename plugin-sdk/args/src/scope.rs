//! Where the SDK keeps a chat's and a user's data in a plugin's KV store:
//! key prefixes. The host moves a user's data when they link accounts
//! (see `plugboard-people`), so both sides build the prefixes here.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;

/// Escapes `%` and `/` so that an id can never reach into another scope.
pub fn escape(id: &str) -> Cow<'_, str> {
    if id.contains(['%', '/']) {
        id.replace('%', "%25").replace('/', "%2F").into()
    } else {
        id.into()
    }
}

/// The prefix of a chat's keys: `chat/<platform>/<chat id>/`.
pub fn chat_prefix(platform: &str, chat: &str) -> String {
    format!("chat/{}/{}/", escape(platform), escape(chat))
}

/// The prefix of a user's keys: `user-global/<global id>/` for a user
/// whose accounts are linked (the id the host gives this plugin), else
/// `user/<platform>/<user id>/`.
pub fn user_prefix(platform: &str, user: &str, global: Option<&str>) -> String {
    match global {
        Some(global) => format!("user-global/{}/", escape(global)),
        None => format!("user/{}/{}/", escape(platform), escape(user)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_reach_into_another_scope() {
        assert_eq!(chat_prefix("telegram", "-100/5"), "chat/telegram/-100%2F5/");
        assert_eq!(user_prefix("discord", "7", None), "user/discord/7/");
        assert_eq!(
            user_prefix("discord", "7", Some("p%1")),
            "user-global/p%251/"
        );
    }
}
