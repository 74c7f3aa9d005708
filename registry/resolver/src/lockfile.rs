//! `plugboard.lock`: the exact plugins a bot runs.
//!
//! Written after every successful install or update, read before the next
//! one. It pins each plugin's version, the registry it came from, and the
//! sha256 of its package, so that installing on another machine, or again
//! after a registry change, gives byte-for-byte the same plugins or a loud
//! refusal. TOML, sorted by name, one `[[plugin]]` table per plugin, so diffs
//! of it in version control read well:
//!
//! ```toml
//! # This file is written by plugboard; do not edit it by hand.
//! version = 1
//!
//! [[plugin]]
//! name = "economy"
//! version = "1.3.0"
//! registry = "default"
//! sha256 = "bbbb…"
//! dependencies = []
//!
//! [[plugin]]
//! name = "poll"
//! version = "1.2.0"
//! registry = "default"
//! sha256 = "aaaa…"
//! dependencies = ["economy 1.3.0"]
//! ```
//!
//! Two checks guard against tampering: the resolver compares every locked
//! entry it reaches with the registry's index
//! ([`ResolveError::ChecksumMismatch`](crate::ResolveError::ChecksumMismatch)),
//! and the client compares each downloaded package with the lockfile
//! ([`Lockfile::check_download`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use plugboard_registry_types::index::is_sha256_hex;
use plugboard_registry_types::manifest::check_name;
use semver::Version;
use serde::{Deserialize, Serialize};

/// The lockfile's name, next to `plugboard.toml`.
pub const LOCKFILE_NAME: &str = "plugboard.lock";

/// The format version this crate reads and writes.
pub const LOCKFILE_VERSION: u32 = 1;

const HEADER: &str = "# This file is written by plugboard; do not edit it by hand.\n";

/// A parsed `plugboard.lock`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockfile {
    /// The locked plugins, sorted by name, each name once.
    plugins: Vec<LockedPlugin>,
}

/// One plugin pinned by the lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LockedPlugin {
    /// The plugin's name.
    pub name: String,
    /// The installed version.
    pub version: Version,
    /// The registry it came from.
    pub registry: String,
    /// The sha256 of its package file, 64 lowercase hex digits.
    pub sha256: String,
    /// The plugins it uses, as `"name version"`, sorted.
    #[serde(default)]
    pub dependencies: Vec<String>,
}

impl LockedPlugin {
    /// A locked plugin; `dependencies` are `(name, version)` pairs.
    pub fn new(
        name: impl Into<String>,
        version: Version,
        registry: impl Into<String>,
        sha256: impl Into<String>,
        dependencies: impl IntoIterator<Item = (String, Version)>,
    ) -> Self {
        let mut dependencies: Vec<String> = dependencies
            .into_iter()
            .map(|(name, version)| format!("{name} {version}"))
            .collect();
        dependencies.sort();
        Self {
            name: name.into(),
            version,
            registry: registry.into(),
            sha256: sha256.into(),
            dependencies,
        }
    }

    /// The dependencies as `(name, version)` pairs.
    pub fn dependency_pairs(&self) -> Vec<(&str, Version)> {
        self.dependencies
            .iter()
            .filter_map(|d| parse_dependency(d).ok())
            .collect()
    }
}

fn parse_dependency(text: &str) -> Result<(&str, Version), String> {
    let (name, version) = text.split_once(' ').ok_or_else(|| {
        format!("dependency `{text}` is not written as \"name version\", like \"economy 1.2.3\"")
    })?;
    check_name(name).map_err(|p| format!("dependency `{text}`: the name {p}"))?;
    let version = Version::parse(version)
        .map_err(|e| format!("dependency `{text}`: `{version}` is not a version ({e})"))?;
    Ok((name, version))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLockfile {
    version: u32,
    #[serde(default, rename = "plugin")]
    plugins: Vec<LockedPlugin>,
}

/// Why `plugboard.lock` was refused or could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockfileError {
    /// Not TOML, or not the lockfile's shape.
    #[error(
        "{LOCKFILE_NAME}{} is broken: {message}; restore it from version control, or delete it and \
         run `plugboard install` to write a new one",
        line.map(|l| format!(" line {l}")).unwrap_or_default()
    )]
    Syntax {
        /// The 1-based line, when known.
        line: Option<usize>,
        /// What the TOML parser says.
        message: String,
    },
    /// Written by a newer (or older, incompatible) plugboard.
    #[error(
        "{LOCKFILE_NAME} has format version {found}, and this plugboard reads version \
         {LOCKFILE_VERSION}; upgrade plugboard, or delete the lockfile to write a new one"
    )]
    FormatVersion {
        /// The version found.
        found: i64,
    },
    /// An entry's values break the rules.
    #[error(
        "{LOCKFILE_NAME}: the entry for `{name}` {problem}; restore the file from version control, or \
         run `plugboard update {name}` to write the entry anew"
    )]
    Invalid {
        /// The plugin.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write {}; check the directory's permissions and free space", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A downloaded package does not have the locked sha256.
    #[error(
        "the downloaded package of {name} {version} has sha256 {actual}, but {LOCKFILE_NAME} says \
         {locked}; the download or the registry was tampered with; it was not installed"
    )]
    PackageChecksum {
        /// The plugin.
        name: String,
        /// The version.
        version: Version,
        /// The sha256 in the lockfile.
        locked: String,
        /// The sha256 of the downloaded bytes.
        actual: String,
    },
    /// A package was downloaded that the lockfile does not pin.
    #[error(
        "{name} {version} is not in {LOCKFILE_NAME}; resolve before downloading so the lockfile \
         records what is installed"
    )]
    NotLocked {
        /// The plugin.
        name: String,
        /// The version.
        version: Version,
    },
}

impl Lockfile {
    /// A lockfile pinning `plugins`, in any order; later duplicates of a
    /// name replace earlier ones.
    pub fn new(plugins: impl IntoIterator<Item = LockedPlugin>) -> Self {
        let mut lock = Self::default();
        for plugin in plugins {
            lock.insert(plugin);
        }
        lock
    }

    /// The locked plugins, sorted by name.
    pub fn plugins(&self) -> &[LockedPlugin] {
        &self.plugins
    }

    /// The entry for `name`.
    pub fn get(&self, name: &str) -> Option<&LockedPlugin> {
        self.plugins
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.plugins[i])
    }

    /// Adds or replaces the entry for `plugin.name`.
    pub fn insert(&mut self, plugin: LockedPlugin) {
        match self
            .plugins
            .binary_search_by(|p| p.name.as_str().cmp(&plugin.name))
        {
            Ok(i) => self.plugins[i] = plugin,
            Err(i) => self.plugins.insert(i, plugin),
        }
    }

    /// Removes the entry for `name`, returning it.
    pub fn remove(&mut self, name: &str) -> Option<LockedPlugin> {
        let i = self
            .plugins
            .binary_search_by(|p| p.name.as_str().cmp(name))
            .ok()?;
        Some(self.plugins.remove(i))
    }

    /// Parses and checks the text of a `plugboard.lock`. Entries may come in
    /// any order; each name must appear once.
    pub fn parse(text: &str) -> Result<Self, LockfileError> {
        let raw: RawLockfile = toml::from_str(text).map_err(|e| {
            // A newer format may have another shape: report the version first.
            if let Ok(table) = toml::from_str::<toml::Table>(text)
                && let Some(found) = table.get("version").and_then(toml::Value::as_integer)
                && found != i64::from(LOCKFILE_VERSION)
            {
                return LockfileError::FormatVersion { found };
            }
            LockfileError::Syntax {
                line: e.span().map(|span| line_of(text, span.start)),
                message: e.message().trim_end().to_owned(),
            }
        })?;
        if raw.version != LOCKFILE_VERSION {
            return Err(LockfileError::FormatVersion {
                found: i64::from(raw.version),
            });
        }
        let mut seen = BTreeSet::new();
        for plugin in &raw.plugins {
            let invalid = |problem: String| LockfileError::Invalid {
                name: plugin.name.clone(),
                problem,
            };
            check_name(&plugin.name).map_err(|p| invalid(format!("has a name that {p}")))?;
            if !seen.insert(plugin.name.as_str()) {
                return Err(invalid(
                    "appears twice; a plugin is installed at one version".into(),
                ));
            }
            if !is_sha256_hex(&plugin.sha256) {
                return Err(invalid(format!(
                    "has sha256 `{}`, which is not 64 lowercase hex digits",
                    plugin.sha256
                )));
            }
            if plugin.registry.trim().is_empty() {
                return Err(invalid("names no registry".into()));
            }
            for dep in &plugin.dependencies {
                parse_dependency(dep).map_err(invalid)?;
            }
        }
        Ok(Self::new(raw.plugins))
    }

    /// The lockfile as TOML: a header comment, `version = 1`, then the
    /// plugins sorted by name.
    pub fn to_toml(&self) -> String {
        let raw = RawLockfile {
            version: LOCKFILE_VERSION,
            plugins: self.plugins.clone(),
        };
        // Plain strings and versions always serialize.
        let body = toml::to_string(&raw).unwrap_or_default();
        format!("{HEADER}{body}")
    }

    /// Reads `path`; `Ok(None)` when there is no such file yet.
    pub fn load(path: &Path) -> Result<Option<Self>, LockfileError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(LockfileError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Writes the lockfile to `path`, atomically: a crash leaves either the
    /// old file or the new one.
    pub fn save(&self, path: &Path) -> Result<(), LockfileError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let write_err = |source| LockfileError::Write {
            path: path.to_owned(),
            source,
        };
        std::fs::write(&tmp, self.to_toml()).map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(write_err)
    }

    /// Checks a downloaded package against the lockfile: `actual_sha256` is
    /// the hex sha256 of the bytes received for `name` at `version`.
    pub fn check_download(
        &self,
        name: &str,
        version: &Version,
        actual_sha256: &str,
    ) -> Result<(), LockfileError> {
        let locked = self
            .get(name)
            .filter(|p| &p.version == version)
            .ok_or_else(|| LockfileError::NotLocked {
                name: name.to_owned(),
                version: version.clone(),
            })?;
        if locked.sha256.eq_ignore_ascii_case(actual_sha256) {
            Ok(())
        } else {
            Err(LockfileError::PackageChecksum {
                name: name.to_owned(),
                version: version.clone(),
                locked: locked.sha256.clone(),
                actual: actual_sha256.to_owned(),
            })
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
