//! A store in memory only.

use std::collections::BTreeSet;

use plugboard_registry_types::Permission;

use crate::{
    Durable, PeopleRecords, PluginKv, PluginState, RuntimeMeta, Schedules, StoreError,
    decode_grants, encode_grants, kv_key, split_key,
};

/// A store in memory only: for tests, benchmarks and commands that must not
/// touch the bot's data (such as `plugboard plugins list`).
#[derive(Default)]
pub struct MemoryStore {
    kv: std::sync::Mutex<std::collections::BTreeMap<Vec<u8>, Vec<u8>>>,
    grants: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    suspended: std::sync::Mutex<std::collections::BTreeMap<String, String>>,
    meta: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    schedules: std::sync::Mutex<std::collections::BTreeMap<Vec<u8>, Vec<u8>>>,
    people: std::sync::Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<Vec<u8>, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.kv
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl PluginKv for MemoryStore {
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
}

impl PluginState for MemoryStore {
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
}

impl RuntimeMeta for MemoryStore {
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
}

impl Schedules for MemoryStore {
    fn schedule_put(&self, plugin: &str, id: &str, record: &[u8]) -> Result<(), StoreError> {
        let mut schedules = self.schedules.lock().unwrap_or_else(|p| p.into_inner());
        schedules.insert(kv_key(plugin, id), record.to_vec());
        Ok(())
    }

    fn schedule_delete(&self, plugin: &str, id: &str) -> Result<bool, StoreError> {
        let mut schedules = self.schedules.lock().unwrap_or_else(|p| p.into_inner());
        Ok(schedules.remove(&kv_key(plugin, id)).is_some())
    }

    fn schedules(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
        let schedules = self.schedules.lock().unwrap_or_else(|p| p.into_inner());
        Ok(schedules
            .iter()
            .map(|(key, record)| {
                let (plugin, id) = split_key(key);
                (plugin, id, record.clone())
            })
            .collect())
    }
}

impl Durable for MemoryStore {
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl PeopleRecords for MemoryStore {
    fn people_get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.people).get(key).cloned())
    }

    fn people_set(&self, key: &str, record: &[u8]) -> Result<(), StoreError> {
        lock(&self.people).insert(key.to_owned(), record.to_vec());
        Ok(())
    }

    fn people_delete(&self, key: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.people).remove(key).is_some())
    }

    fn people_scan(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        use std::ops::Bound;
        let start = match after {
            Some(after) if after >= prefix => Bound::Excluded(after.to_owned()),
            _ => Bound::Included(prefix.to_owned()),
        };
        Ok(lock(&self.people)
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// Locks a map; a panic while holding it cannot leave it half-written.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
