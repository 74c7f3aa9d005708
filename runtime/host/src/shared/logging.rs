//! `plugboard:plugin/logging`: plugin log lines, rate-limited, cut and
//! escaped into the bot's log.

use super::plugboard;
use super::wit;
use crate::state::{HostState, MAX_LOG_LINE};

impl plugboard::plugin::logging::Host for HostState {
    fn log(&mut self, level: wit::LogLevel, message: String) {
        let plugin = &*self.plugin.name;
        let per_sec = self.plugin.limits.log_lines_per_sec;
        let admitted = self
            .plugin
            .log
            .budget
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(per_sec);
        match admitted {
            None => return,
            Some(0) => {}
            Some(dropped) => tracing::warn!(
                plugin,
                dropped,
                per_sec,
                "dropped log lines of a plugin over its limit"
            ),
        }
        // A field of bounded length, never part of the log line's own
        // text: recorded with `Debug`, it is quoted and escaped, so a
        // plugin can neither forge a line nor a field.
        let message = self.plugin.redact(&message);
        let text = plugboard_model::text::truncate(&message, MAX_LOG_LINE);
        match level {
            wit::LogLevel::Trace => tracing::trace!(plugin, text = ?text, "plugin log"),
            wit::LogLevel::Debug => tracing::debug!(plugin, text = ?text, "plugin log"),
            wit::LogLevel::Info => tracing::info!(plugin, text = ?text, "plugin log"),
            wit::LogLevel::Warn => tracing::warn!(plugin, text = ?text, "plugin log"),
            wit::LogLevel::Error => tracing::error!(plugin, text = ?text, "plugin log"),
        }
    }
}
