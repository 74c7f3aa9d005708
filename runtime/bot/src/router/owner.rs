//! The owner's command, `/plugboard status` and `/plugboard resume
//! <plugin>`, accepted on the console only (the owner's own terminal).

use plugboard_host::plugin::Target;
use plugboard_registry_types::text::escape;

use super::Router;

/// Who the audit log says acted on the console (the owner's own terminal).
const CONSOLE_ACTOR: &str = "console:console";

/// The owner's command on the console: `/plugboard status`, `/plugboard resume <plugin>`.
pub const OWNER_COMMAND: &str = "plugboard";

impl Router {
    /// Runs an owner command (`/plugboard …`, accepted on the console only,
    /// which is the owner's own terminal) and returns the answer.
    pub fn owner_command(&self, args: &[String]) -> String {
        let find = |name: &str| {
            self.plugins.iter().find_map(|t| match t {
                Target::Wasm(p) if p.name() == name => Some(p),
                _ => None,
            })
        };
        match args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            ["status"] | [] => {
                let mut lines = Vec::new();
                for target in &self.plugins {
                    let Target::Wasm(plugin) = target else {
                        lines.push(format!("{}: native", target.name()));
                        continue;
                    };
                    let (events, failures) = plugin.stats();
                    // Reasons quote the plugin: one line each, whatever they hold.
                    let state = match (plugin.disabled(), plugin.suspended()) {
                        (Some(reason), _) => format!("disabled: {}", escape(reason, false)),
                        (None, Some(reason)) => format!("suspended: {}", escape(&reason, false)),
                        (None, None) => "ok".into(),
                    };
                    let mut dropped = match plugin.logs_dropped() {
                        0 => String::new(),
                        n => format!(", {n} log lines dropped"),
                    };
                    if let n @ 1.. = plugin.refused_calls() {
                        dropped.push_str(&format!(", {n} host calls refused"));
                    }
                    lines.push(format!(
                        "{} {}: {state} ({events} events, {failures} failed{dropped})",
                        plugin.name(),
                        plugin.manifest().version
                    ));
                }
                if lines.is_empty() {
                    "No plugins are loaded.".into()
                } else {
                    lines.join("\n")
                }
            }
            ["resume", name] => {
                let Some(plugin) = find(name) else {
                    return format!("No plugin named `{name}` is loaded.");
                };
                let people = self.access.as_ref().map(|a| &**a.people());
                match crate::control::resume(plugin, people, CONSOLE_ACTOR) {
                    Ok(Some(_)) => format!("Resumed `{name}`."),
                    Ok(None) => format!("`{name}` is not suspended."),
                    Err(e) => format!("Resumed `{name}`, but: {e}"),
                }
            }
            _ => format!("usage: /{OWNER_COMMAND} status | /{OWNER_COMMAND} resume <plugin>"),
        }
    }
}
