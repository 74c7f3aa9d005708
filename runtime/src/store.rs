//! Durable state: the [`Store`] trait and its embedded default, [`SledStore`].
//!
//! Keyspaces are separate trees so that one concern can never read another's
//! keys: `kv` holds plugin key-value data, namespaced per plugin with the
//! plugin's name and a NUL byte (which a plugin name cannot contain), so a
//! plugin asking for any prefix only ever sees its own keys.

use std::collections::BTreeSet;
use std::path::Path;

use plugboard_registry_types::Permission;

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
        source: sled::Error,
    },
    /// A read or write failed.
    #[error("store {operation} failed: {source}")]
    Io {
        /// What was attempted.
        operation: &'static str,
        /// The cause.
        #[source]
        source: sled::Error,
    },
}

/// Storage used by the runtime. Implementations must be safe to share across
/// threads; writes must become durable at the latest when [`Store::flush`]
/// returns.
pub trait Store: Send + Sync + 'static {
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
    /// The permissions the owner granted `plugin` with `plugboard grant`.
    fn grants(&self, plugin: &str) -> Result<BTreeSet<Permission>, StoreError>;
    /// Replaces the permissions granted to `plugin`.
    fn set_grants(&self, plugin: &str, grants: &BTreeSet<Permission>) -> Result<(), StoreError>;
    /// Reads a runtime value (adapter offsets and the like).
    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Writes a runtime value.
    fn meta_set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    /// Why the circuit breaker suspended `plugin`, if it did and the owner
    /// has not resumed it.
    fn suspension(&self, plugin: &str) -> Result<Option<String>, StoreError>;
    /// Records (`Some`) or clears (`None`) a plugin's suspension.
    fn set_suspension(&self, plugin: &str, reason: Option<&str>) -> Result<(), StoreError>;
    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;
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

/// How much of its KV quota a plugin uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvUsage {
    /// Number of keys.
    pub keys: u64,
    /// Bytes of all keys and values together.
    pub bytes: u64,
}

/// The embedded default store: one sled database in a directory.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    kv: sled::Tree,
    grants: sled::Tree,
    suspended: sled::Tree,
    meta: sled::Tree,
}

impl SledStore {
    /// Every suspended plugin, with the reason.
    pub fn all_suspensions(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut all = Vec::new();
        for entry in self.suspended.iter() {
            let (plugin, reason) = entry.map_err(io("read"))?;
            all.push((
                String::from_utf8_lossy(&plugin).into_owned(),
                String::from_utf8_lossy(&reason).into_owned(),
            ));
        }
        Ok(all)
    }

    /// Every plugin's stored grants.
    pub fn all_grants(&self) -> Result<Vec<(String, BTreeSet<Permission>)>, StoreError> {
        let mut all = Vec::new();
        for entry in self.grants.iter() {
            let (plugin, bytes) = entry.map_err(io("read"))?;
            let plugin = String::from_utf8_lossy(&plugin).into_owned();
            let grants = decode_grants(&plugin, &bytes);
            all.push((plugin, grants));
        }
        Ok(all)
    }

    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            path: dir.display().to_string(),
            source,
        };
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(8 << 20)
            .open()
            .map_err(open_err)?;
        let kv = db.open_tree("kv").map_err(open_err)?;
        let grants = db.open_tree("grants").map_err(open_err)?;
        let suspended = db.open_tree("suspended").map_err(open_err)?;
        let meta = db.open_tree("meta").map_err(open_err)?;
        Ok(Self {
            db,
            kv,
            grants,
            suspended,
            meta,
        })
    }
}

fn kv_key(plugin: &str, key: &str) -> Vec<u8> {
    let mut full = Vec::with_capacity(plugin.len() + 1 + key.len());
    full.extend_from_slice(plugin.as_bytes());
    full.push(0);
    full.extend_from_slice(key.as_bytes());
    full
}

fn io(operation: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
    move |source| StoreError::Io { operation, source }
}

impl Store for SledStore {
    fn kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .kv
            .get(kv_key(plugin, key))
            .map_err(io("read"))?
            .map(|v| v.to_vec()))
    }

    fn kv_set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.kv
            .insert(kv_key(plugin, key), value)
            .map_err(io("write"))?;
        Ok(())
    }

    fn kv_delete(&self, plugin: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self
            .kv
            .remove(kv_key(plugin, key))
            .map_err(io("delete"))?
            .is_some())
    }

    fn kv_keys(&self, plugin: &str, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let namespace = plugin.len() + 1;
        let mut keys = Vec::new();
        for entry in self
            .kv
            .scan_prefix(kv_key(plugin, prefix))
            .keys()
            .take(limit)
        {
            let full = entry.map_err(io("list"))?;
            keys.push(String::from_utf8_lossy(&full[namespace..]).into_owned());
        }
        Ok(keys)
    }

    fn kv_usage(&self, plugin: &str) -> Result<KvUsage, StoreError> {
        let namespace = plugin.len().saturating_add(1);
        let mut usage = KvUsage::default();
        for entry in self.kv.scan_prefix(kv_key(plugin, "")) {
            let (key, value) = entry.map_err(io("scan"))?;
            usage.keys += 1;
            usage.bytes += (key.len() - namespace + value.len()) as u64;
        }
        Ok(usage)
    }

    fn grants(&self, plugin: &str) -> Result<BTreeSet<Permission>, StoreError> {
        Ok(match self.grants.get(plugin).map_err(io("read"))? {
            Some(bytes) => decode_grants(plugin, &bytes),
            None => BTreeSet::new(),
        })
    }

    fn set_grants(&self, plugin: &str, grants: &BTreeSet<Permission>) -> Result<(), StoreError> {
        self.grants
            .insert(plugin, encode_grants(grants))
            .map_err(io("write"))?;
        Ok(())
    }

    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(key).map_err(io("read"))?.map(|v| v.to_vec()))
    }

    fn meta_set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(key, value).map_err(io("write")).map(drop)
    }

    fn suspension(&self, plugin: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .suspended
            .get(plugin)
            .map_err(io("read"))?
            .map(|r| String::from_utf8_lossy(&r).into_owned()))
    }

    fn set_suspension(&self, plugin: &str, reason: Option<&str>) -> Result<(), StoreError> {
        match reason {
            Some(reason) => self.suspended.insert(plugin, reason.as_bytes()).map(drop),
            None => self.suspended.remove(plugin).map(drop),
        }
        .map_err(io("write"))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(io("flush"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugins_do_not_see_each_other() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = SledStore::open(dir.path())?;
        store.kv_set("notes", "a", b"1")?;
        store.kv_set("notes-extra", "b", b"2")?;
        store.kv_set("note", "s\0a", b"3")?;
        assert_eq!(store.kv_keys("notes", "", 100)?, vec!["a".to_string()]);
        assert_eq!(store.kv_keys("note", "", 100)?, vec!["s\0a".to_string()]);
        assert_eq!(store.kv_get("notes-extra", "a")?, None);
        assert_eq!(
            store.kv_usage("notes-extra")?,
            KvUsage { keys: 1, bytes: 2 }
        );
        assert!(store.kv_delete("notes", "a")?);
        assert!(!store.kv_delete("notes", "a")?);
        let memory = MemoryStore::default();
        memory.kv_set("notes-extra", "b", b"2")?;
        assert_eq!(
            memory.kv_usage("notes-extra")?,
            store.kv_usage("notes-extra")?
        );
        Ok(())
    }

    #[test]
    fn survives_reopen() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let grants: BTreeSet<Permission> = [Permission::Kv].into();
        {
            let store = SledStore::open(dir.path())?;
            store.kv_set("notes", "color", b"teal")?;
            store.set_grants("notes", &grants)?;
            store.grants.insert("dice", "kv\nfuture-permission")?;
            store.flush()?;
        }
        let store = SledStore::open(dir.path())?;
        assert_eq!(store.kv_get("notes", "color")?, Some(b"teal".to_vec()));
        assert_eq!(store.grants("notes")?, grants);
        assert_eq!(store.grants("dice")?, grants, "unknown names are skipped");
        assert!(store.grants("echo")?.is_empty());
        Ok(())
    }
}

/// A store in memory only: for tests, benchmarks and commands that must not
/// touch the bot's data (such as `plugboard plugins list`).
#[derive(Default)]
pub struct MemoryStore {
    kv: std::sync::Mutex<std::collections::BTreeMap<Vec<u8>, Vec<u8>>>,
    grants: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    suspended: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    meta: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<Vec<u8>, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.kv
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn kv_get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.map().get(&kv_key(plugin, key)).cloned())
    }

    fn kv_set(&self, plugin: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.map().insert(kv_key(plugin, key), value.to_vec());
        Ok(())
    }

    fn kv_delete(&self, plugin: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.map().remove(&kv_key(plugin, key)).is_some())
    }

    fn kv_keys(&self, plugin: &str, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        let start = kv_key(plugin, prefix);
        let namespace = plugin.len() + 1;
        Ok(self
            .map()
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .take(limit)
            .map(|(k, _)| String::from_utf8_lossy(&k[namespace..]).into_owned())
            .collect())
    }

    fn grants(&self, plugin: &str) -> Result<BTreeSet<Permission>, StoreError> {
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        Ok(grants
            .get(plugin)
            .map(|b| decode_grants(plugin, b))
            .unwrap_or_default())
    }

    fn set_grants(&self, plugin: &str, grants: &BTreeSet<Permission>) -> Result<(), StoreError> {
        let mut stored = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        stored.insert(plugin.to_owned(), encode_grants(grants));
        Ok(())
    }

    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .meta
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned())
    }

    fn meta_set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut meta = self.meta.lock().unwrap_or_else(|p| p.into_inner());
        meta.insert(key.to_owned(), value.to_vec());
        Ok(())
    }

    fn suspension(&self, plugin: &str) -> Result<Option<String>, StoreError> {
        let suspended = self.suspended.lock().unwrap_or_else(|p| p.into_inner());
        Ok(suspended.get(plugin).cloned())
    }

    fn set_suspension(&self, plugin: &str, reason: Option<&str>) -> Result<(), StoreError> {
        let mut suspended = self.suspended.lock().unwrap_or_else(|p| p.into_inner());
        match reason {
            Some(reason) => suspended.insert(plugin.to_owned(), reason.to_owned()),
            None => suspended.remove(plugin),
        };
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
