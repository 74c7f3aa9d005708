//! What the package commands share: the options every one takes, the
//! package manager and registry client a config describes, and the API
//! token (from the environment or `plugboard login`).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use plugboard_bot::config::BotConfig;
use plugboard_packages::{Manager, RegistryClient};

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

pub(crate) fn manager(common: &Common) -> Result<Manager> {
    let config = BotConfig::load(&common.config)?;
    Ok(Manager::open(&config, common.registry.as_deref())?)
}

pub(crate) fn client(common: &Common) -> Result<RegistryClient> {
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
pub(crate) fn credentials_path() -> Result<PathBuf> {
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
pub(crate) fn token(client: &RegistryClient) -> Result<String> {
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

pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
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
