//! # plugboard-packages
//!
//! The package manager client: installing, updating and removing plugins
//! from a marketplace registry. It reads the bot's config and finds plugin
//! directories through [`plugboard_bot::discovery`] (the same functions the
//! bot uses), writes the installation record and the lockfile, and checks
//! that what it installs loads on this host ([`plugboard_host`]). It never
//! runs the bot: a running bot notices the new record by itself.
//!
//! What it must not touch: the bot's store, the router, adapters.
//!
//! `plugboard install poll` goes through four steps, each of which either
//! completes or leaves everything as it was:
//!
//! 1. **Resolve.** The plugins the owner asked for (recorded with the
//!    installation, plus the new request) are handed to the PubGrub resolver
//!    ([`plugboard_resolver`]) over the registry's sparse index, with this
//!    host's WIT version as a constraint and `plugboard.lock` as a preference.
//!    Conflicts come back as a plain-English explanation.
//! 2. **Fetch and verify** ([`client`]). Each package that is not installed
//!    yet is downloaded (or taken from the download cache, keyed by sha256,
//!    so a reinstall works offline), its sha256 checked against the index and
//!    the lockfile, its ed25519 signature checked against the publisher's
//!    key, and only then unpacked, in memory, by the hardened unpacker, which
//!    validates the component and its contract version.
//! 3. **Show.** The caller shows the plan, with the permissions each new
//!    plugin asks for; accepting them grants them (they are recorded with the
//!    installation).
//! 4. **Switch** ([`Manager::apply`]). New packages are written to fresh,
//!    never-reused directories under `<data_dir>/packages/`; then the
//!    lockfile; then the installation record [`Installed`] is replaced in one
//!    atomic rename. That rename is the switch: a running bot notices it,
//!    loads the new set beside the old one, and swaps it in (events already
//!    running finish on the old plugins). If a new plugin fails to load or
//!    initialise, the bot keeps the old set and puts the previous record
//!    back. Right after the switch the CLI compiles the new components into
//!    the compile cache on every core ([`Manager::warm_compile_cache`]), so
//!    the bot's load is a cache hit.
//!
//! On disk:
//!
//! ```text
//! plugboard.lock                      next to plugboard.toml: exact versions and sha256
//! <data_dir>/packages/installed.toml  the installation record (what the bot loads)
//! <data_dir>/packages/installed.previous.toml   the record before the last change
//! <data_dir>/packages/<name>-<version>-<sha256 prefix>/   unpacked packages
//! <cache_dir>/downloads/<sha256>.plugboard.tar.gz         verified downloads
//! <cache_dir>/registries/<registry>-<url hash>/index/<name>   sparse index cache (+ ETag)
//! ```

use std::path::PathBuf;

pub mod client;
pub mod manager;

pub use client::{RegistryClient, key_proof};
pub use manager::{Change, Manager, Plan};
pub use plugboard_bot::installed::{self, Installed, InstalledPlugin, RecordError};

/// Why a package operation failed. Every message names the problem and what
/// to do; nothing installed is changed when one is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// The config names no such registry.
    #[error(
        "no registry named `{0}` in the config; add it under `[registries]`, e.g. `{0} = \"https://registry.example.com\"`"
    )]
    UnknownRegistry(String),
    /// A registry URL is not a URL.
    #[error("registry `{registry}`: {url:?} is not an http(s) URL: {problem}")]
    BadUrl {
        /// The registry's name.
        registry: String,
        /// What the config says.
        url: String,
        /// Why it is refused.
        problem: String,
    },
    /// The registry could not be reached.
    #[error("cannot reach registry `{registry}` at {url}: {message}")]
    Network {
        /// The registry's name.
        registry: String,
        /// The URL asked for.
        url: String,
        /// What failed.
        message: String,
    },
    /// The registry answered with an error.
    #[error("registry `{registry}` refused {url} ({status}): {detail}")]
    Http {
        /// The registry's name.
        registry: String,
        /// The URL asked for.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The registry's explanation.
        detail: String,
    },
    /// No versions could be chosen.
    #[error(transparent)]
    Resolve(#[from] plugboard_resolver::ResolveError),
    /// The lockfile could not be read or written, or disagrees.
    #[error(transparent)]
    Lockfile(#[from] plugboard_resolver::LockfileError),
    /// A package failed verification or unpacking.
    #[error("{name} {version}: {problem}")]
    Package {
        /// The plugin.
        name: String,
        /// Its version.
        version: semver::Version,
        /// What the package check said (in the message, not a source of
        /// its own, so that a report of the error chain says it once).
        problem: Box<plugboard_package::PackageError>,
    },
    /// The component in a package cannot run on this host.
    #[error("{name} {version} does not load on this host: {message}")]
    Unloadable {
        /// The plugin.
        name: String,
        /// Its version.
        version: semver::Version,
        /// The engine's reason.
        message: String,
    },
    /// The request makes no sense as asked; the text says why and what to do.
    #[error("{0}")]
    Refused(String),
    /// The installation record could not be read or written.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl InstallError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| InstallError::Io { path, source }
    }
}

/// The registry used when none is named.
pub const DEFAULT_REGISTRY: &str = "default";
