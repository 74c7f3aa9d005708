//! The embedded default store: one sled database in a directory, one tree
//! per concern.

use std::collections::BTreeSet;
use std::path::Path;

use plugboard_registry_types::Permission;

use crate::{
    Durable, KvUsage, PeopleRecords, PluginKv, PluginState, RuntimeMeta, Schedules, StoreError,
    decode_grants, encode_grants, kv_key, split_key,
};

/// The embedded default store: one sled database in a directory.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    kv: sled::Tree,
    grants: sled::Tree,
    suspended: sled::Tree,
    meta: sled::Tree,
    schedules: sled::Tree,
    people: sled::Tree,
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

    /// Opens (or creates) the store in `dir`, waiting up to
    /// 2 s while another handle still holds it (see `LOCK_PATIENCE`).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let open_err = |source: sled::Error| StoreError::Open {
            path: dir.display().to_string(),
            source: Box::new(source),
        };
        let db = open_waiting(dir).map_err(open_err)?;
        let kv = db.open_tree("kv").map_err(open_err)?;
        let grants = db.open_tree("grants").map_err(open_err)?;
        let suspended = db.open_tree("suspended").map_err(open_err)?;
        let meta = db.open_tree("meta").map_err(open_err)?;
        let schedules = db.open_tree("schedules").map_err(open_err)?;
        let people = db.open_tree("people").map_err(open_err)?;
        Ok(Self {
            db,
            kv,
            grants,
            suspended,
            meta,
            schedules,
            people,
        })
    }
}

/// How long [`SledStore::open`] waits for a store whose lock is still
/// held: sled lets go of its file lock from a background thread a moment
/// after the last handle is dropped, so a store closed and opened again
/// in one process (or by a process that is just exiting) would otherwise
/// be refused as "in use".
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// Opens the sled database in `dir`, waiting up to [`LOCK_PATIENCE`] while
/// its lock is held.
fn open_waiting(dir: &Path) -> Result<sled::Db, sled::Error> {
    let started = std::time::Instant::now();
    loop {
        let opened = sled::Config::new().path(dir).cache_capacity(8 << 20).open();
        match opened {
            Err(sled::Error::Io(e)) if is_locked(&e) && started.elapsed() < LOCK_PATIENCE => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Whether sled refused to open because another handle holds the lock:
/// sled 0.34 reports it as `ErrorKind::Other` with this message
/// (`Config::try_lock` in its `config.rs`), the OS error inside the text.
fn is_locked(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.to_string().starts_with("could not acquire lock on ")
}

fn io(operation: &'static str) -> impl FnOnce(sled::Error) -> StoreError {
    move |source| StoreError::Io {
        operation,
        source: Box::new(source),
    }
}

impl PluginKv for SledStore {
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
}

impl PluginState for SledStore {
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
}

impl RuntimeMeta for SledStore {
    fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.meta.get(key).map_err(io("read"))?.map(|v| v.to_vec()))
    }

    fn meta_set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.meta.insert(key, value).map_err(io("write")).map(drop)
    }
}

impl Schedules for SledStore {
    fn schedule_put(&self, plugin: &str, id: &str, record: &[u8]) -> Result<(), StoreError> {
        self.schedules
            .insert(kv_key(plugin, id), record)
            .map_err(io("write"))
            .map(drop)
    }

    fn schedule_delete(&self, plugin: &str, id: &str) -> Result<bool, StoreError> {
        Ok(self
            .schedules
            .remove(kv_key(plugin, id))
            .map_err(io("delete"))?
            .is_some())
    }

    fn schedules(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        let mut all = Vec::new();
        for entry in self.schedules.iter() {
            let (key, record) = entry.map_err(io("read"))?;
            let (plugin, id) = split_key(&key);
            all.push((plugin, id, record.to_vec()));
        }
        Ok(all)
    }
}

impl PeopleRecords for SledStore {
    fn people_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .people
            .get(key)
            .map_err(io("read"))?
            .map(|v| v.to_vec()))
    }

    fn people_set(&self, key: &str, record: &[u8]) -> Result<(), StoreError> {
        self.people
            .insert(key, record)
            .map_err(io("write"))
            .map(drop)
    }

    fn people_delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.people.remove(key).map_err(io("delete"))?.is_some())
    }

    fn people_scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let range = match after {
            Some(after) if after >= prefix => self
                .people
                .range::<&str, _>((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded)),
            _ => self.people.range::<&str, _>(prefix..),
        };
        let mut found = Vec::new();
        for entry in range.take(limit) {
            let (key, record) = entry.map_err(io("read"))?;
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            found.push((String::from_utf8_lossy(&key).into_owned(), record.to_vec()));
        }
        Ok(found)
    }
}

impl Durable for SledStore {
    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map_err(io("flush"))?;
        Ok(())
    }

    fn size_on_disk(&self) -> Option<u64> {
        self.db.size_on_disk().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn opening_a_store_waits_for_a_handle_let_go_of_within_two_seconds() -> anyhow::Result<()> {
        // sled lets go of its lock from a background thread a moment after
        // the last handle is dropped; here another thread holds it 300 ms.
        let dir = tempfile::tempdir()?;
        let held = SledStore::open(dir.path())?;
        held.kv_set("notes", "k", b"v")?;
        held.flush()?;
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            drop(held);
        });
        let store = SledStore::open(dir.path())?;
        assert_eq!(store.kv_get("notes", "k")?, Some(b"v".to_vec()));
        releaser
            .join()
            .map_err(|_| anyhow::anyhow!("the releasing thread panicked"))?;
        Ok(())
    }

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
            store.schedule_put("remind", "r1", b"record")?;
            store.schedule_put("remind", "r2", b"gone")?;
            assert!(store.schedule_delete("remind", "r2")?);
            store.flush()?;
        }
        let store = SledStore::open(dir.path())?;
        assert_eq!(store.kv_get("notes", "color")?, Some(b"teal".to_vec()));
        assert_eq!(store.grants("notes")?, grants);
        assert_eq!(store.grants("dice")?, grants, "unknown names are skipped");
        assert!(store.grants("echo")?.is_empty());
        assert_eq!(
            store.schedules()?,
            vec![("remind".into(), "r1".into(), b"record".to_vec())]
        );
        Ok(())
    }

    #[test]
    fn people_scans_stay_in_their_prefix_and_page_after_a_key() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let sled = SledStore::open(dir.path())?;
        let memory = MemoryStore::default();
        let stores: [&dyn PeopleRecords; 2] = [&sled, &memory];
        for store in stores {
            for key in ["audit/1", "audit/2", "audit/3", "auditx", "account/a", "b"] {
                store.people_set(key, key.as_bytes())?;
            }
            let keys = |found: Vec<(String, Vec<u8>)>| -> Vec<String> {
                found.into_iter().map(|(k, _)| k).collect()
            };
            assert_eq!(
                keys(store.people_scan("audit/", None, 10)?),
                ["audit/1", "audit/2", "audit/3"]
            );
            assert_eq!(
                keys(store.people_scan("audit/", Some("audit/1"), 1)?),
                ["audit/2"]
            );
            assert!(store.people_scan("audit/", Some("audit/3"), 10)?.is_empty());
            assert!(store.people_delete("b")?);
            assert!(!store.people_delete("b")?);
            assert_eq!(store.people_get("account/a")?, Some(b"account/a".to_vec()));
        }
        Ok(())
    }
}
