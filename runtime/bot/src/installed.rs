//! The installation record, `<data_dir>/packages/installed.toml`: which
//! registry plugins are installed, from where, in which directory, which of
//! them the owner asked for (the rest came as dependencies), and which
//! permissions the owner accepted for each.
//!
//! The bot loads the plugins it lists (besides `runtime.plugin_dirs`), and
//! treats the accepted permissions as grants. Replacing the file is the one
//! atomic step of every install, update and remove; the record before the
//! last change is kept as `installed.previous.toml` for rollback.

use std::path::{Path, PathBuf};

use plugboard_registry_types::Permission;
use semver::Version;
use serde::{Deserialize, Serialize};

/// Why the installation record could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record is damaged or of another format; the text says what to do.
    #[error("{0}")]
    Refused(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl RecordError {
    /// Wraps an I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| RecordError::Io { path, source }
    }
}

/// Writes `bytes` to `path` durably, all or nothing: a temporary file in
/// the same directory, synced, then renamed over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RecordError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(RecordError::io(dir))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(RecordError::io(dir))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(RecordError::io(path))?;
    tmp.as_file().sync_all().map_err(RecordError::io(path))?;
    tmp.persist(path)
        .map_err(|e| RecordError::io(path)(e.error))?;
    Ok(())
}

/// The record's file name, under `<data_dir>/packages/`.
pub const INSTALLED_FILE: &str = "installed.toml";
/// The record before the last change.
pub const PREVIOUS_FILE: &str = "installed.previous.toml";
/// The lock file that serialises package operations, under the root.
const LOCK_FILE: &str = ".lock";
/// The lockfile (`plugboard.lock`) as it was before the last change.
pub const PREVIOUS_LOCKFILE: &str = "plugboard.lock.previous";

/// Exclusive hold of `<data_dir>/packages/.lock`: one install, update,
/// remove or rollback at a time. Released when dropped.
#[derive(Debug)]
pub struct PackagesLock {
    _file: std::fs::File,
}

/// The record's format version.
const FORMAT: u32 = 1;

/// The installed registry plugins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installed {
    /// Format version, `1`.
    pub version: u32,
    /// The plugins, sorted by name.
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<InstalledPlugin>,
}

impl Default for Installed {
    fn default() -> Self {
        Self {
            version: FORMAT,
            plugins: Vec::new(),
        }
    }
}

/// One installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledPlugin {
    /// Its name.
    pub name: String,
    /// The installed version.
    pub version: Version,
    /// The registry it came from.
    pub registry: String,
    /// The sha256 of its package.
    pub sha256: String,
    /// The publisher key that signed it.
    pub key_id: String,
    /// Its directory under `<data_dir>/packages/`.
    pub dir: String,
    /// The requirement the owner asked for (`"^1"`, `"*"`), or none when it
    /// was installed only as a dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// The permissions it asks for, which the owner accepted at install.
    #[serde(default)]
    pub permissions: Vec<Permission>,
}

impl Installed {
    /// `<data_dir>/packages`.
    pub fn root(data_dir: &Path) -> PathBuf {
        data_dir.join("packages")
    }

    /// Waits for, then holds, the packages lock.
    pub fn lock(data_dir: &Path) -> Result<PackagesLock, RecordError> {
        let root = Self::root(data_dir);
        std::fs::create_dir_all(&root).map_err(RecordError::io(&root))?;
        let path = root.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(RecordError::io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::warn!("another plugboard command is changing the plugins; waiting for it");
                file.lock().map_err(RecordError::io(&path))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(RecordError::io(path)(e)),
        }
        Ok(PackagesLock { _file: file })
    }

    /// Reads the record (empty when there is none).
    pub fn load(data_dir: &Path) -> Result<Self, RecordError> {
        Self::load_file(&Self::root(data_dir).join(INSTALLED_FILE))
    }

    fn load_file(path: &Path) -> Result<Self, RecordError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(RecordError::io(path)(e)),
        };
        let installed: Installed = toml::from_str(&text).map_err(|e| {
            RecordError::Refused(format!(
                "{} is damaged: {}; restore it from {PREVIOUS_FILE} next to it, or delete it and \
                 run `plugboard install` again",
                path.display(),
                e.to_string().trim_end()
            ))
        })?;
        if installed.version != FORMAT {
            return Err(RecordError::Refused(format!(
                "{} has format {}, this plugboard reads format {FORMAT}; upgrade plugboard",
                path.display(),
                installed.version
            )));
        }
        Ok(installed)
    }

    /// Replaces the record in one atomic rename, keeping the current one as
    /// the previous record.
    pub fn save(&self, data_dir: &Path) -> Result<(), RecordError> {
        let root = Self::root(data_dir);
        let current = root.join(INSTALLED_FILE);
        if let Ok(old) = std::fs::read(&current) {
            write_atomically(&root.join(PREVIOUS_FILE), &old)?;
        }
        let mut sorted = self.clone();
        sorted.plugins.sort_by(|a, b| a.name.cmp(&b.name));
        let text = toml::to_string_pretty(&sorted)
            .map_err(|e| RecordError::Refused(format!("cannot write the record: {e}")))?;
        let header = "# Written by `plugboard install/update/remove`; edit with those commands.\n";
        write_atomically(&current, format!("{header}{text}").as_bytes())
    }

    /// Puts the previous record back (after a change the running bot could
    /// not load). Returns whether there was one.
    pub fn roll_back(data_dir: &Path) -> Result<bool, RecordError> {
        let root = Self::root(data_dir);
        let previous = root.join(PREVIOUS_FILE);
        match std::fs::read(&previous) {
            Ok(bytes) => {
                write_atomically(&root.join(INSTALLED_FILE), &bytes)?;
                std::fs::remove_file(&previous).map_err(RecordError::io(&previous))?;
                Ok(true)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(RecordError::io(previous)(e)),
        }
    }

    /// The plugin called `name`.
    pub fn get(&self, name: &str) -> Option<&InstalledPlugin> {
        self.plugins.iter().find(|p| p.name == name)
    }

    /// The directories of the installed plugins.
    pub fn plugin_dirs(&self, data_dir: &Path) -> Vec<PathBuf> {
        let root = Self::root(data_dir);
        self.plugins.iter().map(|p| root.join(&p.dir)).collect()
    }

    /// The permissions the owner accepted for `name` at install.
    pub fn grants(&self, name: &str) -> &[Permission] {
        self.get(name).map_or(&[], |p| &p.permissions)
    }

    /// Removes package directories that neither this record nor the previous
    /// one uses (old versions, staging left by a crash).
    pub fn collect_garbage(&self, data_dir: &Path) {
        let root = Self::root(data_dir);
        let previous = Self::load_file(&root.join(PREVIOUS_FILE)).unwrap_or_default();
        let keep: std::collections::HashSet<&str> = self
            .plugins
            .iter()
            .chain(&previous.plugins)
            .map(|p| p.dir.as_str())
            .collect();
        let Ok(entries) = std::fs::read_dir(&root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if entry.path().is_dir()
                && !keep.contains(name.as_ref())
                && let Err(e) = std::fs::remove_dir_all(entry.path())
            {
                tracing::warn!("cannot remove {}: {e}", entry.path().display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(name: &str, version: &str) -> InstalledPlugin {
        InstalledPlugin {
            name: name.into(),
            version: version.parse().expect("version"),
            registry: "default".into(),
            sha256: "ab".repeat(32),
            key_id: "0123456789abcdef".into(),
            dir: format!("{name}-{version}"),
            requested: Some("^1".into()),
            permissions: vec![Permission::Kv],
        }
    }

    #[test]
    fn records_round_trip_and_roll_back() -> Result<(), RecordError> {
        let data = tempfile::tempdir().map_err(RecordError::io("tempdir"))?;
        assert_eq!(Installed::load(data.path())?, Installed::default());
        let first = Installed {
            version: FORMAT,
            plugins: vec![plugin("poll", "1.0.0")],
        };
        first.save(data.path())?;
        assert_eq!(Installed::load(data.path())?, first);
        assert_eq!(first.grants("poll"), &[Permission::Kv]);
        assert!(first.grants("other").is_empty());

        let second = Installed {
            version: FORMAT,
            plugins: vec![plugin("poll", "1.1.0"), plugin("dice", "1.0.0")],
        };
        second.save(data.path())?;
        let loaded = Installed::load(data.path())?;
        assert_eq!(loaded.plugins[0].name, "dice", "sorted by name");
        assert!(Installed::roll_back(data.path())?);
        assert_eq!(Installed::load(data.path())?, first);
        assert!(!Installed::roll_back(data.path())?);
        Ok(())
    }

    #[test]
    fn a_damaged_record_is_refused_with_the_fix() -> Result<(), RecordError> {
        let data = tempfile::tempdir().map_err(RecordError::io("tempdir"))?;
        let root = Installed::root(data.path());
        std::fs::create_dir_all(&root).map_err(RecordError::io(&root))?;
        std::fs::write(root.join(INSTALLED_FILE), "version = [").map_err(RecordError::io(&root))?;
        let message = Installed::load(data.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.contains("is damaged"), "{message}");
        assert!(message.contains(PREVIOUS_FILE), "{message}");
        Ok(())
    }
}
