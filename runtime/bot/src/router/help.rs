//! `/help`, answered by the host from the manifests unless the owner gave
//! the name to a plugin.

use plugboard_registry_types::text::escape;

use super::Router;

impl Router {
    /// The `/help` text, built from the manifests: each command under the
    /// name that reaches it, and commands that lost their name to another
    /// plugin under their qualified name (`/evil.remember`).
    pub fn help_text(&self) -> String {
        let mut lines = Vec::new();
        let mut line = |shown: String, usage: Option<&String>, help: &str| {
            let usage = usage.cloned().unwrap_or(shown);
            lines.push(match help.is_empty() {
                true => usage,
                false => format!("{usage} — {help}"),
            });
        };
        for (name, (index, command)) in &self.catalog.assignment.routes {
            let Some(spec) = self.plugins[*index].manifest().command(command) else {
                continue;
            };
            // The manifest's usage shows the command's own name.
            let usage = spec.usage.as_ref().filter(|_| name == command);
            line(format!("/{name}"), usage, &spec.help);
        }
        for (index, plugin) in self.plugins.iter().enumerate() {
            for spec in &plugin.manifest().commands {
                if self.catalog.assignment.is_shadowed(index, &spec.name) {
                    line(
                        format!("/{}.{}", plugin.name(), spec.name),
                        None,
                        &spec.help,
                    );
                }
            }
        }
        if lines.is_empty() {
            return "No plugins with commands are loaded.".into();
        }
        lines.sort();
        // Manifests cannot hold control characters; this keeps it so.
        let text = format!("Commands:\n{}", lines.join("\n"));
        escape(&text, true).into_owned()
    }
}
