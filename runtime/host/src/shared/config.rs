//! `plugboard:plugin/config`: the owner's configuration of the plugin.

use super::plugboard;
use crate::state::HostState;

impl plugboard::plugin::config::Host for HostState {
    fn get_all(&mut self) -> String {
        self.plugin.config.json.clone()
    }

    fn get(&mut self, key: String) -> Option<String> {
        self.plugin.config.values.get(&key).map(|v| v.to_string())
    }
}
