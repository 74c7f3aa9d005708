//! `plugboard:plugin/kv`: the plugin's own key-value namespace, with its
//! quota.

use plugboard_registry_types::Permission;
use plugboard_store::KvUsage;

use super::plugboard;
use super::wit::HostError;
use crate::state::{HostState, MAX_KV_KEY, MAX_KV_LIST, MAX_KV_VALUE};

/// Refuses a key longer than the limit.
fn check_key(key: &str) -> Result<(), HostError> {
    if key.len() > MAX_KV_KEY {
        return Err(HostError::InvalidArgument(format!(
            "a key is at most {MAX_KV_KEY} bytes; this one has {}",
            key.len()
        )));
    }
    Ok(())
}

fn storage(e: plugboard_store::StoreError) -> HostError {
    tracing::error!("kv store error: {e}");
    HostError::Other(format!("storage failed: {e}"))
}

impl plugboard::plugin::kv::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, HostError> {
        self.require(Permission::Kv)?;
        check_key(&key)?;
        self.plugin
            .store
            .kv_get(&self.plugin.name, &key)
            .map_err(storage)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), HostError> {
        self.require(Permission::Kv)?;
        if key.is_empty() {
            return Err(HostError::InvalidArgument("the key is empty".into()));
        }
        check_key(&key)?;
        if value.len() > MAX_KV_VALUE {
            return Err(HostError::LimitExceeded(format!(
                "a value is at most {MAX_KV_VALUE} bytes; this one has {}",
                value.len()
            )));
        }
        let plugin = &self.plugin;
        let limits = &plugin.limits;
        // Held across the read and the write: instances of one plugin
        // running in parallel cannot overshoot the quota together.
        let mut usage = plugin.kv.usage();
        let old = plugin.store.kv_get(&plugin.name, &key).map_err(storage)?;
        let old_bytes = old.as_ref().map_or(0, |v| (key.len() + v.len()) as u64);
        let keys = usage.keys + u64::from(old.is_none());
        let bytes = usage.bytes - old_bytes.min(usage.bytes) + (key.len() + value.len()) as u64;
        if keys > limits.kv_max_keys {
            return Err(HostError::LimitExceeded(format!(
                "the plugin's store holds at most {} keys; delete some first",
                limits.kv_max_keys
            )));
        }
        if bytes > limits.kv_max_bytes {
            return Err(HostError::LimitExceeded(format!(
                "the plugin's store holds at most {} bytes of keys and values; delete some first",
                limits.kv_max_bytes
            )));
        }
        plugin
            .store
            .kv_set(&plugin.name, &key, &value)
            .map_err(storage)?;
        *usage = KvUsage { keys, bytes };
        self.event.store_written = true;
        Ok(())
    }

    fn delete(&mut self, key: String) -> Result<bool, HostError> {
        self.require(Permission::Kv)?;
        check_key(&key)?;
        let plugin = &self.plugin;
        let mut usage = plugin.kv.usage();
        let old = plugin.store.kv_get(&plugin.name, &key).map_err(storage)?;
        let existed = plugin
            .store
            .kv_delete(&plugin.name, &key)
            .map_err(storage)?;
        if let Some(old) = old.filter(|_| existed) {
            usage.keys = usage.keys.saturating_sub(1);
            usage.bytes = usage.bytes.saturating_sub((key.len() + old.len()) as u64);
        }
        self.event.store_written |= existed;
        Ok(existed)
    }

    fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, HostError> {
        self.require(Permission::Kv)?;
        check_key(&prefix)?;
        self.plugin
            .store
            .kv_keys(&self.plugin.name, &prefix, MAX_KV_LIST)
            .map_err(storage)
    }
}
