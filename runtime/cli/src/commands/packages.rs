//! The package commands of the `plugboard` CLI: `install`, `update`,
//! `remove`, `outdated`, `search`, `publish`, `login`, `key`, and
//! `plugin package`. The work is done by `plugboard_packages`; this
//! module parses arguments, asks the owner to accept permissions, draws
//! progress bars and prints text or `--json`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use plugboard_bot::config::BotConfig;
use plugboard_cli::listing::render_table;
use plugboard_package::SigningKey;
use plugboard_packages::manager::Outdated;
use plugboard_packages::{Change, Manager, Plan, RegistryClient};
use plugboard_registry_types::text::{escape, one_line};
use semver::VersionReq;
use serde_json::json;

/// The environment variable holding a registry API token.
pub const TOKEN_ENV: &str = "PLUGBOARD_REGISTRY_TOKEN";

/// Options every package command takes.
#[derive(Args)]
pub struct Common {
    /// The configuration file.
    #[arg(
        long,
        short,
        env = "PLUGBOARD_CONFIG",
        default_value = "plugboard.toml"
    )]
    pub config: PathBuf,
    /// The registry to use, by its name under `[registries]`.
    #[arg(long)]
    pub registry: Option<String>,
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `plugboard install`.
#[derive(Args)]
pub struct InstallArgs {
    /// Plugins to install: `poll`, `poll@^1.2`, `poll@1.2.3` (cargo's
    /// requirement syntax; a bare version means `^version`).
    #[arg(required = true)]
    pub plugins: Vec<String>,
    /// Accept the permissions the plugins ask for without asking.
    #[arg(long, short)]
    pub yes: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard update`.
#[derive(Args)]
pub struct UpdateArgs {
    /// Plugins to update; all when none are named.
    pub plugins: Vec<String>,
    /// Accept new permissions without asking.
    #[arg(long, short)]
    pub yes: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard remove`.
#[derive(Args)]
pub struct RemoveArgs {
    /// Plugins to remove.
    #[arg(required = true)]
    pub plugins: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard search`.
#[derive(Args)]
pub struct SearchArgs {
    /// Words to look for in names, descriptions and keywords.
    pub query: String,
    /// The page of results, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard publish`.
#[derive(Args)]
pub struct PublishArgs {
    /// A plugin directory (packed first) or a `.plugboard.tar.gz` package.
    pub path: PathBuf,
    /// The signing key file (`plugboard key generate`).
    #[arg(long, env = "PLUGBOARD_SIGNING_KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard key …`.
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Make a new ed25519 signing key and save it (mode 0600).
    Generate {
        /// Where to save it.
        file: PathBuf,
    },
    /// Register the key's public half on your registry account.
    Register {
        /// The signing key file.
        #[arg(long, env = "PLUGBOARD_SIGNING_KEY")]
        key: PathBuf,
        #[command(flatten)]
        common: Common,
    },
}

/// `plugboard plugin …`: commands for plugin authors.
#[derive(Subcommand)]
pub enum PluginCommand {
    /// Build the package of a plugin directory (plugin.toml, plugin.wasm,
    /// README.md, optional icon), reproducibly.
    Package {
        /// The plugin directory.
        dir: PathBuf,
        /// Where to write the package; the plugin directory when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Parses `name` or `name@requirement`.
pub fn parse_spec(spec: &str) -> Result<(String, VersionReq)> {
    let (name, req) = match spec.split_once('@') {
        Some((name, req)) => (name, req.trim()),
        None => (spec, "*"),
    };
    plugboard_registry_types::manifest::check_name(name)
        .map_err(|problem| anyhow::anyhow!("`{name}` is not a plugin name: it {problem}"))?;
    let req: VersionReq = req.parse().with_context(|| {
        format!("`{req}` in `{spec}` is not a version requirement; write e.g. `{name}@^1.2`")
    })?;
    Ok((name.to_owned(), req))
}

fn manager(common: &Common) -> Result<Manager> {
    let config = BotConfig::load(&common.config)?;
    Ok(Manager::open(&config, common.registry.as_deref())?)
}

/// `plugboard install`.
pub fn install(args: InstallArgs) -> Result<()> {
    let wanted = args
        .plugins
        .iter()
        .map(|s| parse_spec(s))
        .collect::<Result<Vec<_>>>()?;
    let manager = manager(&args.common)?;
    let plan = manager.plan_install(&wanted)?;
    carry_out(&manager, plan, args.yes, args.common.json)
}

/// `plugboard update`.
pub fn update(args: UpdateArgs) -> Result<()> {
    let manager = manager(&args.common)?;
    let plan = manager.plan_update(&args.plugins)?;
    carry_out(&manager, plan, args.yes, args.common.json)
}

/// `plugboard remove`.
pub fn remove(args: RemoveArgs) -> Result<()> {
    let manager = manager(&args.common)?;
    let plan = manager.plan_remove(&args.plugins)?;
    carry_out(&manager, plan, true, args.common.json)
}

/// Shows the plan, asks for the permissions, fetches, and switches.
fn carry_out(manager: &Manager, mut plan: Plan, yes: bool, json: bool) -> Result<()> {
    if plan.is_empty() {
        if json {
            println!("{}", json!({ "changes": [] }));
        } else {
            println!("nothing to do: the installed plugins already match");
        }
        return Ok(());
    }
    if !json {
        for change in &plan.changes {
            // Names and versions come from the registry: shown escaped.
            println!("{}", escape(&change.to_string(), false));
        }
        if plan.changes.is_empty() {
            println!("the installed versions already meet the new requirements; recording them");
        }
    }
    let asks = plan.permissions();
    if !asks.is_empty() {
        if !json {
            println!();
            for (name, permissions) in &asks {
                println!("{name} asks to:");
                for p in *permissions {
                    println!("  - {} ({p})", p.describe());
                }
            }
        }
        if !yes {
            let terminal = std::io::stdin().is_terminal() && !json;
            if !terminal {
                bail!(
                    "these plugins ask for permissions; run again with --yes to grant them, or \
                     interactively to be asked"
                );
            }
            print!("Grant these permissions and go ahead? [y/N] ");
            std::io::stdout().flush().ok();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                bail!("nothing was changed");
            }
        }
    }
    let bars = indicatif::MultiProgress::new();
    if json || !std::io::stderr().is_terminal() {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut current: Option<(String, indicatif::ProgressBar)> = None;
    let style =
        indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:30}] {bytes}/{total_bytes}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    manager.fetch(&mut plan, &mut |name, got, total| {
        let fresh = current.as_ref().is_none_or(|(n, _)| n != name);
        if fresh {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = bars.add(indicatif::ProgressBar::new(total.unwrap_or(0)));
            bar.set_style(style.clone());
            bar.set_prefix(name.to_owned());
            current = Some((name.to_owned(), bar));
        }
        if let Some((_, bar)) = &current {
            bar.set_position(got);
        }
    })?;
    if let Some((_, bar)) = current.take() {
        bar.finish();
    }
    let changes = plan.changes.clone();
    manager.apply(plan)?;
    // After the switch: compile what is new, so the bot loads it at once.
    for problem in manager.warm_compile_cache() {
        // The problem quotes the component (names in it are the publisher's).
        eprintln!(
            "warning: {}; the bot will refuse this plugin (a running bot puts the previous \
             plugins back)",
            escape(&problem.to_string(), false)
        );
    }
    if json {
        let list: Vec<serde_json::Value> = changes.iter().map(change_json).collect();
        println!("{}", json!({ "changes": list }));
    } else {
        println!(
            "done. A running `plugboard run` picks the new plugin set up by itself; otherwise it \
             loads at the next start."
        );
    }
    Ok(())
}

fn change_json(change: &Change) -> serde_json::Value {
    match change {
        Change::Install {
            name,
            version,
            permissions,
            dependency,
        } => json!({
            "action": "install", "name": name, "version": version.to_string(),
            "permissions": permissions, "dependency": dependency,
        }),
        Change::Update {
            name,
            from,
            to,
            new_permissions,
            new_key,
        } => json!({
            "action": "update", "name": name, "from": from.to_string(), "to": to.to_string(),
            "permissions": new_permissions, "new_key": new_key,
        }),
        Change::Remove { name, version } => json!({
            "action": "remove", "name": name, "version": version.to_string(),
        }),
        _ => json!({ "action": "unknown" }),
    }
}

/// `plugboard outdated`.
pub fn outdated(common: Common) -> Result<()> {
    let manager = manager(&common)?;
    let found = manager.outdated()?;
    let show = |v: &Option<semver::Version>| v.as_ref().map_or("-".into(), ToString::to_string);
    if common.json {
        let list: Vec<serde_json::Value> = found
            .iter()
            .map(|o: &Outdated| {
                json!({"name": o.name, "installed": o.installed.to_string(),
                       "compatible": show(&o.compatible), "latest": show(&o.latest)})
            })
            .collect();
        println!("{}", json!({ "outdated": list }));
    } else if found.is_empty() {
        println!("every installed plugin is up to date");
    } else {
        let mut rows = vec![["NAME", "INSTALLED", "COMPATIBLE", "LATEST"].map(String::from)];
        rows.extend(found.iter().map(|o| {
            [
                o.name.clone(),
                o.installed.to_string(),
                show(&o.compatible),
                show(&o.latest),
            ]
        }));
        print!("{}", render_table(&rows, &[32, 24, 24, 24]));
        println!("\n`plugboard update` installs the COMPATIBLE versions.");
    }
    Ok(())
}

/// `plugboard search`.
pub fn search(args: SearchArgs) -> Result<()> {
    let client = client(&args.common)?;
    let results = client.search(&args.query, args.page)?;
    if args.common.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(());
    }
    if results.plugins.is_empty() {
        println!("no plugins match {:?}", args.query);
        return Ok(());
    }
    for hit in &results.plugins {
        // What a registry says is shown escaped and cut, line by line.
        println!(
            "{} {} ({} downloads)\n    {}",
            one_line(&hit.name, 64),
            one_line(&hit.version.to_string(), 64),
            hit.downloads,
            one_line(&hit.description, 300)
        );
    }
    let shown = u64::from(results.meta.page) * u64::from(results.meta.per_page);
    if shown < results.meta.total {
        println!(
            "\n{} more; see the next page with --page {}",
            results.meta.total - shown,
            results.meta.page + 1
        );
    }
    Ok(())
}

fn client(common: &Common) -> Result<RegistryClient> {
    let config = BotConfig::load(&common.config)?;
    let name = common
        .registry
        .as_deref()
        .unwrap_or(plugboard_packages::DEFAULT_REGISTRY);
    let url = config
        .registries
        .get(name)
        .ok_or_else(|| plugboard_packages::InstallError::UnknownRegistry(name.to_owned()))?;
    Ok(RegistryClient::new(name, url, &config.cache_dir())?)
}

/// Where `plugboard login` keeps tokens: `$PLUGBOARD_HOME/credentials.toml`,
/// else `~/.config/plugboard/credentials.toml`.
fn credentials_path() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("PLUGBOARD_HOME") {
        return Ok(PathBuf::from(home).join("credentials.toml"));
    }
    let base = match std::env::var_os("XDG_CONFIG_HOME") {
        Some(dir) => PathBuf::from(dir),
        None => {
            PathBuf::from(std::env::var_os("HOME").context("HOME is not set; set PLUGBOARD_HOME")?)
                .join(".config")
        }
    };
    Ok(base.join("plugboard").join("credentials.toml"))
}

/// The token for `client`'s registry: `$PLUGBOARD_REGISTRY_TOKEN`, else the
/// one saved by `plugboard login`.
fn token(client: &RegistryClient) -> Result<String> {
    if let Ok(token) = std::env::var(TOKEN_ENV) {
        // Trimmed as the registry trims it: the key's proof of possession
        // signs the token's sha256.
        return Ok(token.trim().to_owned());
    }
    let path = credentials_path()?;
    let saved: toml::Table = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_default();
    saved
        .get(client.url().as_str())
        .and_then(|v| v.as_str())
        .map(|token| token.trim().to_owned())
        .with_context(|| {
            format!(
                "no API token for registry `{}`; set {TOKEN_ENV} or run `plugboard login`",
                client.name()
            )
        })
}

/// `plugboard login`: reads a token from stdin and saves it (mode 0600).
pub fn login(common: Common) -> Result<()> {
    let client = client(&common)?;
    if std::io::stdin().is_terminal() {
        eprint!(
            "API token for {} (from `plugboard-registry token create`): ",
            client.url()
        );
    }
    let mut token = String::new();
    std::io::stdin().lock().read_line(&mut token)?;
    let token = token.trim();
    if token.is_empty() {
        bail!("no token given; nothing was saved");
    }
    let path = credentials_path()?;
    let mut saved: toml::Table = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_default();
    saved.insert(client.url().to_string(), token.into());
    write_private(&path, toml::to_string(&saved)?.as_bytes())?;
    println!("saved the token for {} in {}", client.url(), path.display());
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// `plugboard key …`.
pub fn key(command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::Generate { file } => {
            let key = SigningKey::generate()?;
            key.save(&file)?;
            println!(
                "saved a new signing key in {} (key id {}). Keep it secret; register it with \
                 `plugboard key register --key {}`",
                file.display(),
                key.public_key().key_id(),
                file.display()
            );
            Ok(())
        }
        KeyCommand::Register { key, common } => {
            let client = client(&common)?;
            let signing = SigningKey::load(&key)?;
            let registered = client.register_key(&signing, &token(&client)?)?;
            if common.json {
                println!("{}", serde_json::to_string(&registered)?);
            } else {
                println!(
                    "registered key {} on registry `{}`",
                    one_line(&registered.key_id, 64),
                    client.name()
                );
            }
            Ok(())
        }
    }
}

/// `plugboard publish`.
pub fn publish(args: PublishArgs) -> Result<()> {
    let client = client(&args.common)?;
    let bytes = if args.path.is_dir() {
        plugboard_package::pack(&args.path)?.into_bytes()
    } else {
        let bytes = std::fs::read(&args.path)
            .with_context(|| format!("cannot read {}", args.path.display()))?;
        // The registry checks it too; checking here gives the error sooner.
        plugboard_package::unpack(&bytes, &plugboard_package::Limits::default())?;
        bytes
    };
    let key = SigningKey::load(&args.key)?;
    let published = client.publish(&bytes, &key, &token(&client)?)?;
    if args.common.json {
        println!("{}", serde_json::to_string(&published)?);
    } else {
        println!(
            "published {} {} to registry `{}`",
            one_line(&published.name, 64),
            one_line(&published.version.to_string(), 64),
            client.name()
        );
        for warning in &published.warnings {
            println!("warning: {}", escape(warning, false));
        }
    }
    Ok(())
}

/// `plugboard plugin …`.
pub fn plugin(command: PluginCommand) -> Result<()> {
    match command {
        PluginCommand::Package { dir, out } => {
            let package = plugboard_package::pack(&dir)?;
            let out = out.unwrap_or_else(|| dir.clone());
            let path = package.write_to_dir(&out)?;
            println!(
                "{} ({} bytes, sha256 {})",
                path.display(),
                package.bytes().len(),
                package.checksum()
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_like_cargo() -> Result<()> {
        assert_eq!(parse_spec("poll")?, ("poll".into(), VersionReq::STAR));
        assert_eq!(parse_spec("poll@1.2")?.1, "^1.2".parse()?);
        assert_eq!(parse_spec("poll@=1.2.3")?.1, "=1.2.3".parse()?);
        assert!(parse_spec("Poll").is_err());
        assert!(parse_spec("poll@banana").is_err());
        Ok(())
    }
}
