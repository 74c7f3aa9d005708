//! # plugboard-store
//!
//! The bot's durable state, behind narrow traits by concern, so that each
//! part of the runtime can be handed only the state it needs:
//!
//! * [`PluginKv`]: plugins' key-value data, namespaced per plugin (what a
//!   plugin's `kv` host calls reach);
//! * [`PluginState`]: what the owner decided about each plugin, its grants
//!   and its circuit-breaker suspension;
//! * [`RuntimeMeta`]: the runtime's own values, such as adapters' update
//!   offsets and ledgers (all an adapter is given);
//! * [`Schedules`]: plugins' timers, as records the scheduler encodes;
//! * [`PeopleRecords`]: who is who across platforms (linked accounts,
//!   link codes, the audit log), as records `plugboard-people` encodes;
//! * [`Durable`]: making every write so far durable, shared by all three.
//!
//! [`Store`] is all of them together, implemented by the embedded default
//! [`SledStore`] (one directory, no server) and by [`MemoryStore`] (tests,
//! benchmarks, commands that must not touch the bot's data). Errors are
//! [`StoreError`], which names the operation and carries the backend's cause
//! without tying callers to the backend.
//!
//! What this crate must not touch: events, plugins, wasmtime, platforms. It
//! stores bytes and grants under names it is given; what they mean belongs
//! to its callers.
//!
//! Keyspaces are separate, so that one concern can never read another's
//! keys: plugin KV keys are the plugin's name, a NUL byte (which a plugin
//! name cannot contain) and the key, so a plugin asking for any prefix only
//! ever sees its own keys.
#![deny(missing_docs)]

use std::collections::BTreeSet;

use plugboard_registry_types::Permission;

mod memory;
mod sled_store;

pub use memory::MemoryStore;
pub use sled_store::SledStore;

/// The cause of a failed operation, as the backend reported it.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory could not be opened.
    #[error(
        "cannot open the store in {path}: {source}. Check that the directory is writable and that no other plugboard process uses it"
    )]
    Open {
        /// The directory.
        path: String,
        /// The cause.
        #[source]
        source: Cause,
    },
    /// A read or write failed.
    #[error("store {operation} failed: {source}")]
    Io {
        /// What was attempted.
        operation: &'static str,
        /// The cause.
        #[source]
        source: Cause,
    },
}

/// Making writes durable. Writes of every concern must be durable at the
/// latest when [`Durable::flush`] returns.
pub trait Durable: Send + Sync + 'static {
    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;

    /// Bytes the store takes on disk, for a store that lives on one (for
    /// the owner's metrics).
    fn size_on_disk(&self) -> Option<u64> {
        None
    }
}

/// Plugins' key-value data, each plugin in its own namespace.
pub trait PluginKv: Durable {
    /// Reads a plugin's key.
    fn kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes a plugin's key.
    fn kv_set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Removes a plugin's key; returns whether it existed.
    fn kv_delete(&self, plugin: &str, key: &str) -> Result<bool, StoreError>;
    /// Lists up to `limit` of a plugin's keys starting with `prefix`, in byte order.
    fn kv_keys(&self, plugin: &str, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError>;
    /// Counts a plugin's keys and the bytes of its keys and values.
    fn kv_usage(&self, plugin: &str) -> Result<KvUsage, StoreError> {
        let mut usage = KvUsage::default();
        for key in self.kv_keys(plugin, "", usize::MAX)? {
            if let Some(value) = self.kv_get(plugin, &key)? {
                usage.keys += 1;
                usage.bytes += (key.len() + value.len()) as u64;
            }
        }
        Ok(usage)
    }
}

/// What the owner decided about each plugin.
pub trait PluginState: Durable {
    /// The permissions the owner granted `plugin` with `plugboard grant`.
    fn grants(&self, plugin: &str) -> Result<BTreeSet<Permission>, StoreError>;
    /// Replaces the permissions granted to `plugin`.
    fn set_grants(&self, plugin: &str, grants: &BTreeSet<Permission>) -> Result<(), StoreError>;
    /// Why the circuit breaker suspended `plugin`, if it did and the owner
    /// has not resumed it.
    fn suspension(&self, plugin: &str) -> Result<Option<String>, StoreError>;
    /// Records (`Some`) or clears (`None`) a plugin's suspension.
    fn set_suspension(&self, plugin: &str, reason: Option<&str>) -> Result<(), StoreError>;
}

/// The runtime's own values: adapter offsets, ledgers and the like, under
/// keys their owners choose (by convention `<platform>.<what>`).
pub trait RuntimeMeta: Durable {
    /// Reads a runtime value.
    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes a runtime value.
    fn meta_set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
}

/// Plugins' timers: one opaque record per plugin and schedule id. The
/// scheduler decides what a record holds; the store only keeps it.
pub trait Schedules: Durable {
    /// Stores (or replaces) the record of `plugin`'s schedule `id`.
    fn schedule_put(&self, plugin: &str, id: &str, record: &[u8]) -> Result<(), StoreError>;
    /// Removes `plugin`'s schedule `id`; returns whether it existed.
    fn schedule_delete(&self, plugin: &str, id: &str) -> Result<bool, StoreError>;
    /// Every stored schedule as (plugin, id, record), ordered by plugin and id.
    fn schedules(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError>;
}

/// Records about people (accounts, persons, link codes, the audit log),
/// in a keyspace of their own, ordered by key. `plugboard-people` decides
/// what keys and records mean.
pub trait PeopleRecords: Durable {
    /// Reads a record.
    fn people_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes (or replaces) a record.
    fn people_set(&self, key: &str, record: &[u8]) -> Result<(), StoreError>;
    /// Removes a record; returns whether it existed.
    fn people_delete(&self, key: &str) -> Result<bool, StoreError>;
    /// Up to `limit` records whose keys start with `prefix` and come after
    /// `after` (all when `None`), in key order.
    fn people_scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
}

/// Every concern together: what the bot opens and hands out in parts.
/// Implementations must be safe to share across threads.
pub trait Store: PluginKv + PluginState + RuntimeMeta + Schedules + PeopleRecords {}

impl<T: PluginKv + PluginState + RuntimeMeta + Schedules + PeopleRecords> Store for T {}

/// How much of its KV quota a plugin uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvUsage {
    /// Number of keys.
    pub keys: u64,
    /// Bytes of all keys and values together.
    pub bytes: u64,
}

/// A plugin's key in the shared KV keyspace: name, NUL, key.
fn kv_key(plugin: &str, key: &str) -> Vec<u8> {
    let mut full = Vec::with_capacity(plugin.len() + 1 + key.len());
    full.extend_from_slice(plugin.as_bytes());
    full.push(0);
    full.extend_from_slice(key.as_bytes());
    full
}

/// Splits a key made by [`kv_key`] back into plugin and key.
fn split_key(full: &[u8]) -> (String, String) {
    let at = full.iter().position(|b| *b == 0).unwrap_or(full.len());
    let rest = full.get(at + 1..).unwrap_or_default();
    (
        String::from_utf8_lossy(&full[..at]).into_owned(),
        String::from_utf8_lossy(rest).into_owned(),
    )
}

/// Encodes grants as their names, one per line (readable, and tolerant of
/// names a later version adds).
fn encode_grants(grants: &BTreeSet<Permission>) -> Vec<u8> {
    let names: Vec<&str> = grants.iter().map(|p| p.as_str()).collect();
    names.join("\n").into_bytes()
}

fn decode_grants(plugin: &str, bytes: &[u8]) -> BTreeSet<Permission> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .filter(|l| !l.is_empty())
        .filter_map(|name| {
            let found = name.parse::<Permission>();
            if let Err(why) = &found {
                tracing::warn!(plugin, "ignoring a stored grant: {why}");
            }
            found.ok()
        })
        .collect()
}
