//! `plugboard`: run a bot, inspect and manage its plugins.
//!
//! Run with: `plugboard run --config examples/demo/plugboard.toml`
//!
//! This file only parses the command line; each command lives in its own
//! file under `commands/`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod commands;

use commands::registry::Common;
use commands::{
    audit, grants, install, key, login, outdated, plugin, plugins, publish, run, search, usage,
};

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
    Install(install::InstallArgs),
    /// Update registry plugins within their requirements (all when none
    /// are named).
    Update(install::UpdateArgs),
    /// Remove registry plugins, and what only they needed.
    Remove(install::RemoveArgs),
    /// Show registry plugins that have newer versions.
    Outdated(Common),
    /// Search a registry.
    Search(search::SearchArgs),
    /// Publish a plugin to a registry, signed with your key.
    Publish(publish::PublishArgs),
    /// Save a registry API token (read from stdin).
    Login(Common),
    /// Manage the signing key you publish with.
    Key {
        #[command(subcommand)]
        command: key::KeyCommand,
    },
    /// How often each command ran and was refused, per day.
    Usage(usage::UsageArgs),
    /// The people audit log: links, role changes, bans, chat settings.
    Audit(audit::AuditArgs),
    /// Commands for plugin authors.
    Plugin {
        #[command(subcommand)]
        command: plugin::PluginCommand,
    },
}

/// A plugin and permissions, for `grant` and `revoke`.
#[derive(Args)]
pub(crate) struct GrantArgs {
    /// The plugin's name.
    pub(crate) plugin: String,
    /// Permissions, e.g. `kv` or `send-any-chat`.
    #[arg(required = true)]
    pub(crate) permissions: Vec<String>,
    #[command(flatten)]
    pub(crate) config: ConfigArg,
}

/// Where the bot's configuration is.
#[derive(Args)]
pub(crate) struct ConfigArg {
    /// The configuration file.
    #[arg(
        long,
        short,
        env = "PLUGBOARD_CONFIG",
        default_value = "plugboard.toml"
    )]
    pub(crate) config: PathBuf,
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
    /// Show one plugin's settings: what it declares, the values given under
    /// `[plugins.<name>.config]` (secrets masked), and what is wrong with them.
    Show {
        /// The plugin's name.
        name: String,
        #[command(flatten)]
        config: ConfigArg,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    plugboard_cli::logging::init();
    let result = match cli.command {
        Top::Run(ConfigArg { config }) => run::run(config),
        Top::Grant(args) => grants::change_grants(args, true),
        Top::Revoke(args) => grants::change_grants(args, false),
        Top::Resume { plugin, config } => grants::resume(&plugin, &config.config),
        Top::Plugins {
            command:
                PluginsCommand::List {
                    config: ConfigArg { config },
                    json,
                },
        } => plugins::list(config, json),
        Top::Plugins {
            command:
                PluginsCommand::Show {
                    name,
                    config: ConfigArg { config },
                    json,
                },
        } => plugins::show(config, &name, json),
        Top::Install(args) => install::install(args),
        Top::Update(args) => install::update(args),
        Top::Remove(args) => install::remove(args),
        Top::Outdated(common) => outdated::outdated(common),
        Top::Search(args) => search::search(args),
        Top::Publish(args) => publish::publish(args),
        Top::Login(common) => login::login(common),
        Top::Key { command } => key::key(command),
        Top::Plugin { command } => plugin::plugin(command),
        Top::Usage(args) => usage::usage(args),
        Top::Audit(args) => audit::audit(args),
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
