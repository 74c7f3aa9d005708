//! `plugboard plugins list`: the plugins a config points at, loaded as the
//! bot would load them but against a scratch store, shown as a table or JSON.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use plugboard_bot::bot::load_plugins;
use plugboard_bot::config::BotConfig;
use plugboard_bot::discovery::engine_options;
use plugboard_cli::listing::{Listing, PluginRow};
use plugboard_host::engine::PluginEngine;
use plugboard_store::{MemoryStore, PluginState, SledStore};

pub fn list(config_path: PathBuf, json: bool) -> Result<()> {
    let config = BotConfig::load(&config_path)?;
    let engine = PluginEngine::new(&engine_options(&config))?;
    // Plugins are started against a scratch store (listing changes nothing),
    // holding a copy of the grants stored with `plugboard grant`.
    let scratch = MemoryStore::default();
    let mut note = None;
    let store_dir = config.data_dir().join("store");
    // A bot that never ran has no store; listing must not create one.
    let opened = match store_dir.exists() {
        true => SledStore::open(&store_dir).map(Some),
        false => Ok(None),
    };
    match opened {
        Ok(None) => {}
        Ok(Some(store)) => {
            for (plugin, grants) in store.all_grants()? {
                scratch.set_grants(&plugin, &grants)?;
            }
            for (plugin, reason) in store.all_suspensions()? {
                scratch.set_suspension(&plugin, Some(&reason))?;
            }
        }
        Err(e) => {
            note = Some(format!(
                "grants given with `plugboard grant` and suspensions are not shown (is the bot running?): {e}"
            ))
        }
    }
    let (plugins, report) = load_plugins(&config, &engine, Arc::new(scratch));
    let installed = plugboard_bot::installed::Installed::load(&config.data_dir())?;
    let installed_root = plugboard_bot::installed::Installed::root(&config.data_dir());
    // Run each plugin's init once, so that a configuration it refuses shows here.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let disabled: Vec<Option<String>> = runtime.block_on(async {
        let mut disabled = Vec::new();
        for plugin in &plugins {
            disabled.push(plugin.start().await.err().map(|f| f.to_string()));
        }
        disabled
    });
    let assignment =
        plugboard_model::commands::assign(plugins.iter().map(|p| p.manifest()), &config.commands);
    let mut listing = Listing {
        disabled_in_config: report.disabled.clone(),
        not_loaded: report.refused.iter().map(ToString::to_string).collect(),
        command_conflicts: assignment
            .conflicts
            .iter()
            .map(ToString::to_string)
            .collect(),
        unmatched_command_map: assignment
            .unmatched
            .iter()
            .map(ToString::to_string)
            .collect(),
        note,
        ..Listing::default()
    };
    for (index, (plugin, disabled)) in plugins.iter().zip(disabled).enumerate() {
        let m = plugin.manifest();
        let missing = plugin.missing_grants();
        let mut row = PluginRow::new(index, m, &assignment, |p| !missing.contains(&p));
        row.registry = installed
            .get(&m.name)
            .filter(|_| plugin.dir().starts_with(&installed_root))
            .map(|p| p.registry.clone());
        (row.status, row.reason) = match (disabled, plugin.suspended()) {
            (Some(reason), _) => ("disabled", Some(reason)),
            (None, Some(reason)) => ("suspended", Some(reason)),
            (None, None) => ("ok", None),
        };
        listing.plugins.push(row);
    }
    match json {
        true => println!("{}", listing.to_json()),
        false => print!("{}", listing.to_text()),
    }
    Ok(())
}
