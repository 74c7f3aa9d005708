//! The plugin's private key-value store (needs the `kv` permission).
//!
//! Values are serde values stored as JSON. Keys are plain strings; [`Scope`]
//! prefixes them so that data of one chat or one user stays apart:
//!
//! ```no_run
//! use plugboard_sdk::{kv, Chat, Result};
//!
//! fn count(chat: &Chat) -> Result<u64> {
//!     let scope = kv::Scope::chat(chat);
//!     let n = scope.get::<u64>("count")?.unwrap_or(0) + 1;
//!     scope.set("count", &n)?;
//!     Ok(n)
//! }
//! ```

use plugboard_args::scope::escape;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::plugboard::plugin::kv as host;
use crate::error::from_host;
use crate::{Chat, Error, Platform, Result, User};

/// A key prefix inside the plugin's store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    prefix: String,
}

impl Scope {
    /// The whole store of the plugin, no prefix.
    pub fn global() -> Self {
        Self::default()
    }

    /// Keys private to one chat.
    pub fn chat(chat: &Chat) -> Self {
        Self {
            prefix: plugboard_args::scope::chat_prefix(chat.platform.as_str(), &chat.id),
        }
    }

    /// Keys private to one user, following them across platforms when their
    /// accounts are linked. `platform` is where the user was seen (the
    /// event's chat platform); it keeps apart unlinked accounts that happen
    /// to share an id on different platforms.
    pub fn user(user: &User, platform: &Platform) -> Self {
        Self {
            prefix: plugboard_args::scope::user_prefix(
                platform.as_str(),
                &user.id,
                user.global_id.as_deref(),
            ),
        }
    }

    /// A sub-scope: `name/` appended to this scope's prefix (`/` and `%`
    /// in `name` are escaped, so scopes never overlap).
    pub fn nested(&self, name: &str) -> Self {
        Self {
            prefix: format!("{}{}/", self.prefix, escape(name)),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Reads and deserializes the value under `key`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::failed(format!("kv value under `{key}` does not decode: {e}"))),
        }
    }

    /// Serializes and stores `value` under `key`.
    pub fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value)?;
        self.set_raw(key, &bytes)
    }

    /// Reads the raw bytes under `key`.
    pub fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>> {
        host::get(&self.key(key)).map_err(from_host)
    }

    /// Stores raw bytes under `key`.
    pub fn set_raw(&self, key: &str, value: &[u8]) -> Result<()> {
        host::set(&self.key(key), value).map_err(from_host)
    }

    /// Removes `key`; returns whether it existed.
    pub fn delete(&self, key: &str) -> Result<bool> {
        host::delete(&self.key(key)).map_err(from_host)
    }

    /// The keys of this scope that start with `prefix`, without the scope's
    /// own prefix, in byte order.
    pub fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        let keys = host::list_keys(&self.key(prefix)).map_err(from_host)?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.strip_prefix(&self.prefix).map(str::to_owned))
            .collect())
    }
}

/// Reads a value from the plugin-wide scope; see [`Scope::get`].
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    Scope::global().get(key)
}

/// Stores a value in the plugin-wide scope; see [`Scope::set`].
pub fn set<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<()> {
    Scope::global().set(key, value)
}

/// Removes a key from the plugin-wide scope; see [`Scope::delete`].
pub fn delete(key: &str) -> Result<bool> {
    Scope::global().delete(key)
}

/// Lists keys of the plugin-wide scope; see [`Scope::keys`].
pub fn keys(prefix: &str) -> Result<Vec<String>> {
    Scope::global().keys(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatKind;

    #[test]
    fn scopes_cannot_reach_into_each_other() {
        let chat = |id: &str| Chat {
            platform: Platform::Telegram,
            id: id.into(),
            kind: ChatKind::Group,
            title: None,
        };
        // A chat id with a slash cannot impersonate a nested scope of another chat.
        assert_eq!(
            Scope::chat(&chat("1/notes")).prefix,
            "chat/telegram/1%2Fnotes/"
        );
        assert_eq!(
            Scope::chat(&chat("1")).nested("notes").prefix,
            "chat/telegram/1/notes/"
        );
        assert_eq!(Scope::chat(&chat("a%2Fb")).prefix, "chat/telegram/a%252Fb/");
        let user = User {
            id: "7".into(),
            global_id: None,
            display_name: "u".into(),
            locale: None,
            is_bot: false,
        };
        let global = Platform::Other("global".into());
        assert_eq!(Scope::user(&user, &global).prefix, "user/global/7/");
        let linked = User {
            global_id: Some("7".into()),
            ..user
        };
        assert_eq!(Scope::user(&linked, &global).prefix, "user-global/7/");
    }
}
