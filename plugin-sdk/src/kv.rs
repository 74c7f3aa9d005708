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
            prefix: format!("chat/{}/{}/", platform_key(&chat.platform), chat.id),
        }
    }

    /// Keys private to one user, following them across platforms when their
    /// accounts are linked. `platform` is where the user was seen (the
    /// event's chat platform); it keeps apart unlinked accounts that happen
    /// to share an id on different platforms.
    pub fn user(user: &User, platform: &Platform) -> Self {
        let prefix = match &user.global_id {
            Some(global) => format!("user/global/{global}/"),
            None => format!("user/{}/{}/", platform_key(platform), user.id),
        };
        Self { prefix }
    }

    /// A sub-scope: `name/` appended to this scope's prefix.
    pub fn nested(&self, name: &str) -> Self {
        Self {
            prefix: format!("{}{name}/", self.prefix),
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

fn platform_key(platform: &Platform) -> &str {
    match platform {
        Platform::Console => "console",
        Platform::Telegram => "telegram",
        Platform::Discord => "discord",
        Platform::Other(name) => name,
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
