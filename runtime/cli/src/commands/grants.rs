//! `plugboard grant`, `revoke` and `resume`: the owner's decisions about a
//! plugin. Taken by the running bot through its admin API when it runs
//! (effective at once), else written to its store (effective at its next
//! start); either way by the same rule (`plugboard_bot::grants`) and
//! recorded in the audit log.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use plugboard_bot::config::BotConfig;
use plugboard_bot::grants::GrantChange;
use plugboard_console::client::AdminClient;
use plugboard_store::{Durable, PluginState, SledStore};

use crate::GrantArgs;

/// Who the audit log says acted: the user running the CLI.
fn actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

/// Writes an audit entry into a stopped bot's store.
fn audit(store: &Arc<SledStore>, action: &str, plugin: &str, detail: &str) -> Result<()> {
    super::people_of(store)
        .record(&actor(), action, plugin, detail)
        .context("the change was made but the audit log could not record it")?;
    store.flush()?;
    Ok(())
}

/// `plugboard resume`: lifts a circuit breaker's suspension.
pub fn resume(plugin: &str, config_path: &Path) -> Result<()> {
    let config = BotConfig::load(config_path)?;
    let (reason, when) = match AdminClient::find(&config)? {
        Some(bot) => {
            let resumed = bot.resume(plugin)?;
            (
                resumed.reason.filter(|_| resumed.resumed),
                "it runs again now",
            )
        }
        None => {
            let store = super::stopped_store(&config)?;
            let reason = store.suspension(plugin)?;
            if reason.is_some() {
                store.set_suspension(plugin, None)?;
                store.flush()?;
                audit(&store, "resume", plugin, "")?;
            }
            (reason, "it runs when the bot starts")
        }
    };
    match reason {
        // The reason quotes the plugin: shown escaped, on one line.
        Some(reason) => println!(
            "Resumed `{plugin}` (it was suspended: {}); {when}.",
            plugboard_registry_types::text::escape(&reason, false)
        ),
        None => println!("`{plugin}` is not suspended."),
    }
    Ok(())
}

/// `plugboard grant` / `plugboard revoke`.
pub fn change_grants(args: GrantArgs, grant: bool) -> Result<()> {
    let config = BotConfig::load(&args.config.config)?;
    let (change, when) = match AdminClient::find(&config)? {
        Some(bot) => (
            bot.change_grants(&args.plugin, &args.permissions, grant)?,
            "it takes effect now",
        ),
        None => {
            let manifest = plugboard_bot::discovery::plugin_dirs(&config)
                .into_iter()
                .filter_map(|dir| plugboard_host::plugin::read_manifest(&dir).ok())
                .find(|m| m.name == args.plugin)
                .with_context(|| {
                    format!(
                        "no plugin named `{}` in the plugin directories of {}; `plugboard plugins list` shows what is installed",
                        args.plugin,
                        args.config.config.display()
                    )
                })?;
            let store = super::stopped_store(&config)?;
            let change = plugboard_bot::grants::change(
                &config,
                &*store,
                &manifest,
                &args.permissions,
                grant,
            )?;
            audit(&store, change.action(), &change.plugin, &change.detail())?;
            (change, "it takes effect when the bot starts")
        }
    };
    report(&change, when, &args.config.config);
    Ok(())
}

/// Says what changed, the same whichever way it was made.
fn report(change: &GrantChange, when: &str, config_path: &Path) {
    for permission in &change.still_in_config {
        eprintln!(
            "warning: `{permission}` is also granted in {} ([plugins.{}] grants); remove it there too",
            config_path.display(),
            change.plugin
        );
    }
    let verb = if change.grant { "Granted" } else { "Revoked" };
    println!(
        "{verb} {} for `{}`; {when}.",
        change.detail(),
        change.plugin
    );
    if change.grant {
        for permission in &change.permissions {
            println!("  {permission}: {}", permission.describe());
        }
    }
}
