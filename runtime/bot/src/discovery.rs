//! Plugin discovery: which plugin directories a config describes (local
//! `runtime.plugin_dirs`, then the registry plugins of the installation
//! record), the engine options it asks for, and putting back the previous
//! installation record. The bot and the package manager both call these, so
//! they never disagree about what a config loads.

use std::path::PathBuf;

use plugboard_host::engine::EngineOptions;

use crate::config::BotConfig;
use crate::installed::{
    Installed, PREVIOUS_FILE, PREVIOUS_LOCKFILE, RecordError, write_atomically,
};

/// The lockfile's name, next to the config: `plugboard.lock`.
pub const LOCKFILE: &str = plugboard_resolver::lockfile::LOCKFILE_NAME;

/// Every plugin directory under the configured plugin dirs, sorted, then
/// the registry plugins of the installation record. A configured directory
/// that itself holds a `plugin.toml` is one plugin.
pub fn plugin_dirs(config: &BotConfig) -> Vec<PathBuf> {
    all_plugin_dirs(config, &installed(config))
}

/// The installation record, or none (logged) when it cannot be read.
pub(crate) fn installed(config: &BotConfig) -> Installed {
    Installed::load(&config.data_dir()).unwrap_or_else(|e| {
        tracing::error!("not loading registry plugins: {e}");
        Installed::default()
    })
}

/// The local plugin directories, then those of `installed`.
pub(crate) fn all_plugin_dirs(config: &BotConfig, installed: &Installed) -> Vec<PathBuf> {
    let mut found = local_plugin_dirs(config);
    found.extend(installed.plugin_dirs(&config.data_dir()));
    found
}

/// The plugin directories under `runtime.plugin_dirs` only (not the
/// registry plugins).
pub fn local_plugin_dirs(config: &BotConfig) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in &config.runtime.plugin_dirs {
        let dir = config.resolve(dir);
        if dir.join("plugin.toml").exists() {
            found.push(dir);
            continue;
        }
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                let mut dirs: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.join("plugin.toml").exists())
                    .collect();
                dirs.sort();
                found.extend(dirs);
            }
            Err(e) => tracing::warn!("plugin directory {} cannot be read: {e}", dir.display()),
        }
    }
    found
}

/// The engine options a config asks for.
pub fn engine_options(config: &BotConfig) -> EngineOptions {
    let max_memory = config
        .plugins
        .values()
        .filter_map(|p| config.limits.with_overrides(&p.limits).ok())
        .map(|l| l.memory_bytes())
        .chain([config.limits.memory_bytes()])
        .max()
        .unwrap_or(64 << 20);
    EngineOptions {
        max_instances: config.runtime.max_instances,
        max_memory_bytes: max_memory,
        cache_dir: Some(config.cache_dir()),
    }
}

/// Puts back the installation record and the lockfile as they were before
/// the last change (the running bot does this when it cannot load a new
/// set). Returns whether there was a previous record.
pub fn roll_back(config: &BotConfig) -> Result<bool, RecordError> {
    let data_dir = config.data_dir();
    let _guard = Installed::lock(&data_dir)?;
    let root = Installed::root(&data_dir);
    if !root.join(PREVIOUS_FILE).exists() {
        return Ok(false);
    }
    // The lockfile first and the record last, as `apply` writes them: the
    // record is the switch, so whoever sees the old record sees the old
    // lockfile too.
    let previous = root.join(PREVIOUS_LOCKFILE);
    let lock_path = config.resolve(std::path::Path::new(LOCKFILE));
    match std::fs::read(&previous) {
        Ok(bytes) if bytes.is_empty() => {
            let _ = std::fs::remove_file(&lock_path);
        }
        Ok(bytes) => write_atomically(&lock_path, &bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(RecordError::io(previous)(e)),
    }
    let rolled_back = Installed::roll_back(&data_dir)?;
    if previous.exists() {
        std::fs::remove_file(&previous).map_err(RecordError::io(&previous))?;
    }
    Ok(rolled_back)
}
