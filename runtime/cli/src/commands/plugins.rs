//! `plugboard plugins list`: the plugins a config points at, loaded as the
//! bot would load them but against a scratch store, shown as a table or JSON.
//! `plugboard plugins show <name>`: one plugin's declared settings and the
//! values the owner gave them, checked as at startup, secrets masked.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use plugboard_bot::bot::load_plugins;
use plugboard_bot::config::BotConfig;
use plugboard_bot::control::LoadNotes;
use plugboard_bot::discovery::engine_options;
use plugboard_console::client::AdminClient;
use plugboard_console::listing::Listing;
use plugboard_host::engine::PluginEngine;
use plugboard_store::{MemoryStore, PluginState, SledStore};

pub fn list(config_path: PathBuf, json: bool) -> Result<()> {
    let config = BotConfig::load(&config_path)?;
    // A running bot answers for itself: its suspensions and grants as they
    // are now.
    let listing = match AdminClient::find(&config)? {
        Some(bot) => bot.plugins()?,
        None => scratch_listing(&config)?,
    };
    match json {
        true => println!("{}", listing.to_json()),
        false => print!("{}", listing.to_text()),
    }
    Ok(())
}

/// The listing of a stopped bot: its plugins loaded as it would load them,
/// but against a scratch store (listing changes nothing).
fn scratch_listing(config: &BotConfig) -> Result<Listing> {
    let engine = PluginEngine::new(&engine_options(config))?;
    // Plugins are started against a scratch store holding a copy of the
    // grants stored with `plugboard grant`, and of the suspensions.
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
                "grants given with `plugboard grant` and suspensions are not shown (is the bot running without [admin]?): {e}"
            ))
        }
    }
    let providers = plugboard_host::link::Providers::new();
    let (plugins, report) =
        load_plugins(config, &engine, Arc::new(scratch), None, None, &providers);
    providers.replace(&plugins);
    let installed = plugboard_bot::installed::Installed::load(&config.data_dir())?;
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
    let rows = plugins
        .iter()
        .zip(disabled)
        .enumerate()
        .map(|(index, (plugin, disabled))| (index, plugin, disabled));
    let mut listing = Listing::of(
        rows,
        &assignment,
        &LoadNotes::of(&report),
        &installed,
        &config.data_dir(),
    );
    listing.note = note;
    Ok(listing)
}

pub fn show(config_path: PathBuf, name: &str, json: bool) -> Result<()> {
    use plugboard_registry_types::settings::{SecretSource, SettingValue, resolve};

    let config = BotConfig::load(&config_path)?;
    let dirs = plugboard_bot::discovery::plugin_dirs(&config);
    let manifest = dirs
        .iter()
        .filter_map(|dir| plugboard_host::plugin::read_manifest(dir).ok())
        .find(|m| m.name == name)
        .with_context(|| {
            format!(
                "no plugin named `{name}` in the plugin directories or the installed plugins; \
                 `plugboard plugins list --config {}` shows what there is",
                config_path.display()
            )
        })?;
    let section = config.plugin(name);
    let given = &section.config;
    let read_secret =
        |source: SecretSource<'_>| plugboard_bot::config::read_secret(&config, source);
    let (resolved, problems) = match resolve(&manifest.config, given, &read_secret) {
        Ok(resolved) => (resolved, Vec::new()),
        Err(problems) => (Default::default(), problems),
    };
    // What to show for each setting: a secret only says where it comes from.
    let shown = |key: &str| -> String {
        let setting = &manifest.config[key];
        if setting.secret {
            return match given.get(key).and_then(SecretSource::of) {
                Some(source) => match read_secret(source) {
                    Ok(_) => format!("(secret, from {source})"),
                    Err(why) => format!("(secret: {source}, but {why})"),
                },
                None => "(secret: not set)".to_owned(),
            };
        }
        match resolved.get(key) {
            Some(value) => value.to_string(),
            None => given
                .get(key)
                .map_or_else(|| "(not set)".to_owned(), |v| v.to_string()),
        }
    };
    if json {
        let settings: Vec<serde_json::Value> = manifest
            .config
            .iter()
            .map(|(key, setting)| {
                serde_json::json!({
                    "name": key,
                    "type": setting.kind.as_str(),
                    "description": setting.description,
                    "default": setting.default.as_ref().map(SettingValue::to_json),
                    "allowed": setting.allowed(),
                    "secret": setting.secret,
                    "value": shown(key),
                })
            })
            .collect();
        let out = serde_json::json!({
            "name": manifest.name,
            "version": manifest.version.to_string(),
            "settings": settings,
            "problems": problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "{} {}: {}",
        manifest.name, manifest.version, manifest.description
    );
    if manifest.config.is_empty() {
        println!("It declares no settings; [plugins.{name}.config] is passed to it as written.");
        return Ok(());
    }
    println!("Settings, under [plugins.{name}.config]:");
    let mut rows = vec![[
        "setting".to_owned(),
        "value".to_owned(),
        "default".to_owned(),
        "allowed".to_owned(),
        "description".to_owned(),
    ]];
    for (key, setting) in &manifest.config {
        rows.push([
            key.clone(),
            shown(key),
            setting
                .default
                .as_ref()
                .map_or_else(|| "(required)".to_owned(), |d| d.to_json().to_string()),
            setting.allowed(),
            setting.description.clone(),
        ]);
    }
    print!(
        "{}",
        plugboard_console::listing::render_table(&rows, &[40, 80, 24, 40, 120])
    );
    if !problems.is_empty() {
        println!("The bot refuses to start it:");
        for problem in &problems {
            println!(
                "  {}",
                plugboard_registry_types::text::one_line(&problem.to_string(), 400)
            );
        }
    }
    Ok(())
}
