//! `plugboard grant`, `revoke` and `resume`: the owner's decisions about a
//! plugin, written to the bot's store while the bot is stopped.

use std::path::Path;

use anyhow::{Context, Result};
use plugboard_bot::config::BotConfig;
use plugboard_registry_types::Permission;
use plugboard_store::{Durable, PluginState, SledStore};

use crate::GrantArgs;

/// `plugboard resume`: clears a suspension recorded in the bot's store.
pub fn resume(plugin: &str, config_path: &Path) -> Result<()> {
    let config = BotConfig::load(config_path)?;
    let store = SledStore::open(&config.data_dir().join("store")).context(
        "the store is in use: while the bot runs, send `/plugboard resume <plugin>` on its console",
    )?;
    match store.suspension(plugin)? {
        Some(reason) => {
            store.set_suspension(plugin, None)?;
            store.flush()?;
            // The reason quotes the plugin: shown escaped, on one line.
            println!(
                "Resumed `{plugin}` (it was suspended: {}); it runs when the bot starts.",
                plugboard_registry_types::text::escape(&reason, false)
            );
        }
        None => println!("`{plugin}` is not suspended."),
    }
    Ok(())
}

/// `plugboard grant` / `plugboard revoke`: changes the grants stored in the
/// bot's store. The bot must be stopped (the store is single-process); the
/// change takes effect at its next start.
pub fn change_grants(args: GrantArgs, grant: bool) -> Result<()> {
    let config = BotConfig::load(&args.config.config)?;
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
    let mut wanted = Vec::new();
    for name in &args.permissions {
        let permission = name.parse::<Permission>().map_err(anyhow::Error::msg)?;
        if grant && !manifest.wants(permission) {
            anyhow::bail!(
                "`{}` does not ask for `{permission}` in its plugin.toml; a grant it does not ask for has no effect",
                manifest.name
            );
        }
        wanted.push(permission);
    }
    let store = SledStore::open(&config.data_dir().join("store"))
        .context("stop the bot before changing grants")?;
    let mut grants = store.grants(&manifest.name)?;
    for permission in &wanted {
        if grant {
            grants.insert(*permission);
        } else {
            grants.remove(permission);
        }
    }
    store.set_grants(&manifest.name, &grants)?;
    store.flush()?;
    let names: Vec<&str> = wanted.iter().map(|p| p.as_str()).collect();
    let verb = if grant { "Granted" } else { "Revoked" };
    if !grant {
        let in_config = config.plugin(&manifest.name).grants;
        for permission in wanted.iter().filter(|p| in_config.contains(p)) {
            eprintln!(
                "warning: `{permission}` is also granted in {} ([plugins.{}] grants); remove it there too",
                args.config.config.display(),
                manifest.name
            );
        }
    }
    println!(
        "{verb} {} for `{}`; it takes effect when the bot starts.",
        names.join(", "),
        manifest.name
    );
    for permission in &wanted {
        if grant {
            println!("  {permission}: {}", permission.describe());
        }
    }
    Ok(())
}
