//! `plugboard`: run a bot, inspect its plugins.
//!
//! Run with: `plugboard run --config examples/demo/plugboard.toml`

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use plugboard_registry_types::Permission;
use plugboard_runtime::adapters::console::ConsoleAdapter;
use plugboard_runtime::adapters::discord::DiscordAdapter;
use plugboard_runtime::adapters::telegram::TelegramAdapter;
use plugboard_runtime::bot::{Bot, LoadReport, load_plugins};
use plugboard_runtime::config::BotConfig;
use plugboard_runtime::discovery::engine_options;
use plugboard_runtime::engine::{CacheOutcome, PluginEngine};
use plugboard_runtime::listing::{Listing, PluginRow};
use plugboard_runtime::store::{Durable, MemoryStore, PluginState, SledStore};

#[path = "cli/packages.rs"]
mod packages_cli;

/// Plugboard: a bot runtime with WebAssembly plugins.
#[derive(Parser)]
#[command(name = "plugboard", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Top,
}

#[derive(Subcommand)]
enum Top {
    /// Run the bot until its input ends or it receives Ctrl-C / SIGTERM.
    Run(ConfigArg),
    /// Grant a plugin permissions it asks for in its manifest.
    Grant(GrantArgs),
    /// Take permissions back from a plugin.
    Revoke(GrantArgs),
    /// Resume a plugin its circuit breaker suspended (with the bot stopped;
    /// while it runs, send `/plugboard resume <plugin>` on its console).
    Resume {
        /// The plugin's name.
        plugin: String,
        #[command(flatten)]
        config: ConfigArg,
    },
    /// Inspect installed plugins.
    Plugins {
        #[command(subcommand)]
        command: PluginsCommand,
    },
    /// Install plugins from a registry, with what they depend on.
    Install(packages_cli::InstallArgs),
    /// Update registry plugins within their requirements (all when none
    /// are named).
    Update(packages_cli::UpdateArgs),
    /// Remove registry plugins, and what only they needed.
    Remove(packages_cli::RemoveArgs),
    /// Show registry plugins that have newer versions.
    Outdated(packages_cli::Common),
    /// Search a registry.
    Search(packages_cli::SearchArgs),
    /// Publish a plugin to a registry, signed with your key.
    Publish(packages_cli::PublishArgs),
    /// Save a registry API token (read from stdin).
    Login(packages_cli::Common),
    /// Manage the signing key you publish with.
    Key {
        #[command(subcommand)]
        command: packages_cli::KeyCommand,
    },
    /// Commands for plugin authors.
    Plugin {
        #[command(subcommand)]
        command: packages_cli::PluginCommand,
    },
}

/// A plugin and permissions, for `grant` and `revoke`.
#[derive(Args)]
struct GrantArgs {
    /// The plugin's name.
    plugin: String,
    /// Permissions, e.g. `kv` or `send-any-chat`.
    #[arg(required = true)]
    permissions: Vec<String>,
    #[command(flatten)]
    config: ConfigArg,
}

/// Where the bot's configuration is.
#[derive(Args)]
struct ConfigArg {
    /// The configuration file.
    #[arg(
        long,
        short,
        env = "PLUGBOARD_CONFIG",
        default_value = "plugboard.toml"
    )]
    config: PathBuf,
}

#[derive(Subcommand)]
enum PluginsCommand {
    /// List the plugins the configuration points at, with their commands,
    /// permissions, command conflicts, and why any of them cannot be loaded.
    List {
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON (every value whole) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    plugboard_runtime::logging::init();
    let result = match cli.command {
        Top::Run(ConfigArg { config }) => run(config),
        Top::Grant(args) => change_grants(args, true),
        Top::Revoke(args) => change_grants(args, false),
        Top::Resume { plugin, config } => resume(&plugin, &config.config),
        Top::Plugins {
            command:
                PluginsCommand::List {
                    config: ConfigArg { config },
                    json,
                },
        } => list(config, json),
        Top::Install(args) => packages_cli::install(args),
        Top::Update(args) => packages_cli::update(args),
        Top::Remove(args) => packages_cli::remove(args),
        Top::Outdated(common) => packages_cli::outdated(common),
        Top::Search(args) => packages_cli::search(args),
        Top::Publish(args) => packages_cli::publish(args),
        Top::Login(common) => packages_cli::login(common),
        Top::Key { command } => packages_cli::key(command),
        Top::Plugin { command } => packages_cli::plugin(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Errors quote files, manifests and servers: shown escaped.
            let shown = format!("{e:#}");
            eprintln!(
                "error: {}",
                plugboard_registry_types::text::escape(&shown, true)
            );
            ExitCode::FAILURE
        }
    }
}

fn log_report(report: &LoadReport) {
    for (name, version, cache) in &report.loaded {
        let how = match cache {
            CacheOutcome::Hit => "from the compile cache",
            CacheOutcome::Compiled => "compiled",
        };
        tracing::info!(plugin = %name, %version, "loaded plugin ({how})");
    }
    for name in &report.disabled {
        tracing::info!(plugin = %name, "plugin disabled in the config");
    }
    for refused in &report.refused {
        // Bad input in it is quoted and escaped where the error is made.
        tracing::error!(error = %refused, "refused a plugin");
    }
    for (name, missing) in &report.missing_grants {
        let names: Vec<&str> = missing.iter().map(|p| p.as_str()).collect();
        tracing::warn!(
            plugin = %name,
            missing = %names.join(","),
            "plugin asks for permissions it was not granted: the calls that need them are refused; \
             grant them with `plugboard grant <plugin> <permission>…`"
        );
    }
}

fn run(config_path: PathBuf) -> Result<()> {
    let config = BotConfig::load(&config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("plugboard")
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let (mut bot, report) = Bot::from_config(&config)?;
        log_report(&report);
        if config.console.enabled {
            bot.add_adapter(Box::new(ConsoleAdapter::stdio()));
        }
        if let Some(telegram) = &config.telegram {
            match TelegramAdapter::from_config(telegram) {
                Ok(adapter) => bot.add_adapter(Box::new(adapter)),
                // Reported once; the other adapters still run.
                Err(e) => tracing::error!("not starting the Telegram adapter: {e}"),
            }
        }
        if let Some(discord) = &config.discord {
            let manifests = bot.router().plugins().iter().map(|p| p.manifest());
            match DiscordAdapter::from_config(discord, manifests) {
                Ok(adapter) => {
                    // Registered as routed from the first time: the owner's
                    // [commands] decide names and owners.
                    adapter.commands().follow(bot.router().catalog());
                    bot.add_adapter(Box::new(adapter));
                }
                // Reported once; the other adapters still run.
                Err(e) => tracing::error!("not starting the Discord adapter: {e}"),
            }
        }
        bot.run(shutdown_signal()).await?;
        anyhow::Ok(())
    });
    // Reading stdin blocks a thread that cannot be interrupted; don't wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    result
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn list(config_path: PathBuf, json: bool) -> Result<()> {
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
    let installed = plugboard_runtime::packages::Installed::load(&config.data_dir())?;
    let installed_root = plugboard_runtime::packages::Installed::root(&config.data_dir());
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
        plugboard_runtime::commands::assign(plugins.iter().map(|p| p.manifest()), &config.commands);
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

/// `plugboard resume`: clears a suspension recorded in the bot's store.
fn resume(plugin: &str, config_path: &std::path::Path) -> Result<()> {
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
fn change_grants(args: GrantArgs, grant: bool) -> Result<()> {
    let config = BotConfig::load(&args.config.config)?;
    let manifest = plugboard_runtime::discovery::plugin_dirs(&config)
        .into_iter()
        .filter_map(|dir| plugboard_runtime::plugin::read_manifest(&dir).ok())
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
