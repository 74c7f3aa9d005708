//! # plugboard-resolver
//!
//! Chooses which version of every plugin to install, given what the bot owner
//! asked for, what the registry's index offers, which WIT versions the host
//! speaks, and what `plugboard.lock` already pins, and explains in plain
//! words when no choice works.
//!
//! Data enters as a [`Request`] (the plugins the owner wants, each with a
//! cargo-style requirement, the host's [`WitSupport`], an optional
//! [`Lockfile`] and what to [`Update`]) and an [`Index`] that answers "which
//! versions of `economy` exist?" with the registry's sparse index lines
//! ([`IndexEntry`]). It leaves as a [`Resolution`], the chosen plugins with
//! dependencies before dependents, which becomes the next `plugboard.lock`;
//! or as a [`ResolveError`] whose message says what conflicts and what to do.
//!
//! ```
//! use plugboard_registry_types::IndexEntry;
//! use plugboard_resolver::{resolve, MemoryIndex, Request, WitSupport};
//! use semver::Version;
//!
//! let wit = Version::new(0, 1, 0);
//! let mut index = MemoryIndex::new("default");
//! let mut poll = IndexEntry::new("poll", "1.2.0".parse()?, wit.clone(), "aa".repeat(32));
//! poll.deps.insert("economy".into(), "^1.2".parse()?);
//! index.add(poll);
//! for v in ["1.1.0", "1.3.0", "2.0.0"] {
//!     index.add(IndexEntry::new("economy", v.parse()?, wit.clone(), "bb".repeat(32)));
//! }
//!
//! let request = Request::new(WitSupport::speaks(&[wit])).require("poll", "^1".parse()?);
//! let resolution = resolve(&index, &request)?;
//! let chosen: Vec<String> = resolution.plugins.iter()
//!     .map(|p| format!("{} {}", p.name, p.version))
//!     .collect();
//! assert_eq!(chosen, ["economy 1.3.0", "poll 1.2.0"]);
//!
//! let lock = resolution.to_lockfile();
//! assert!(lock.to_toml().contains("dependencies = [\"economy 1.3.0\"]"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## How resolution works
//!
//! Choosing versions so that every requirement holds is NP-complete in general
//! (it encodes SAT), so the question is not whether to search but how to
//! search well and, above all, how to say *why* when the search fails. We use
//! PubGrub (the [`pubgrub`] crate, the algorithm of Dart's `pub`, uv and
//! Poetry's successor solvers). PubGrub is a conflict-driven solver: it picks
//! a version for one package at a time, and when the choices contradict each
//! other it does not merely backtrack, it *learns* a new fact ("poll 1.2.0
//! together with economy 1.x cannot work") and records how that fact was
//! derived. When the root request itself becomes impossible, the record of
//! derivations is a proof of impossibility, and that proof is what we print.
//!
//! ### Versions and requirements
//!
//! Versions are [`semver::Version`], and requirements are
//! [`semver::VersionReq`], the crate cargo itself uses: `^1.2`, bare `1.2`
//! (caret), `~1.2`, `1.*`, `=1.2.3`, `>=1.2, <1.5` and friends. PubGrub wants
//! version *sets* it can intersect and complement, so every requirement must
//! become a set. A symbolic translation (`^1.2` is `[1.2.0, 2.0.0)`) is not
//! exact: cargo's rule that a pre-release such as `1.5.0-beta` matches only a
//! requirement that names a pre-release of the same `1.5.0` makes the true set
//! an interval with infinitely many holes, which a union of ranges cannot
//! express. But the resolver never needs the set outside the versions the
//! index lists, and those are finite and known before we translate. So a
//! requirement on `economy` becomes the union of runs of *known* versions of
//! `economy` that [`VersionReq::matches`](semver::VersionReq::matches) accepts, each run
//! written as `[first, last]` (see [`requirement_set`]). It is exact on every
//! version that can be chosen, by construction, and it stays compact: a
//! typical caret requirement is one run.
//!
//! The price is that the set no longer looks like the requirement, so error
//! messages cannot just print it. We keep, next to the solver, the original
//! requirement text for every set we handed it, and the explanation prints
//! `economy ^1.2` whenever a set contains exactly the known versions that
//! requirement does; a set PubGrub derived by intersection is printed as the
//! known versions it holds (`economy 1.3.0 or 1.4.0`).
//!
//! ### What makes a version unusable
//!
//! A version stays in the requirement sets even when it cannot be installed,
//! so that a failure can name it. Two things make a version unusable: its
//! component was built against a WIT version the host does not speak
//! ([`WitSupport`]), or it was yanked and the lockfile does not pin exactly
//! it. The solver's `choose_version` skips unusable versions; when a set has
//! no usable version left, PubGrub records "no version of economy in this
//! set", and the explanation says why each one was refused ("economy 2.0.0
//! needs WIT 0.3, this host speaks WIT 0.1").
//!
//! ### Interfaces
//!
//! A plugin may import WIT interfaces that its dependencies provide (the
//! index entries' `imports` and `provides`). An interface's version is
//! treated as cargo treats a crate's: an import of
//! `plugins:economy/api@1.1.0` is served by `api@1.1.x` or any later `1.y`,
//! by the one rule of
//! [`InterfaceName::satisfies`](plugboard_registry_types::interfaces::InterfaceName::satisfies).
//! The imports a dependent takes from a dependency are those whose
//! interface some version of that dependency provides
//! ([`imports_from`](plugboard_registry_types::index::imports_from)), and
//! the dependent's requirement on it becomes the versions that match the
//! requirement *and* provide every one of those imports, so a version that
//! dropped or broke the interface is never a candidate. An import that no
//! dependency provides at any version makes the dependent's version
//! unavailable. The explanation names the dependent, the interface and
//! what the versions within the requirement provide.
//!
//! ### The lockfile
//!
//! [`Lockfile`] (`plugboard.lock`) pins every installed plugin's version,
//! registry and sha256. On `install` ([`Update::Nothing`]) the solver prefers
//! the locked version of a package whenever it is allowed, so installing a new
//! plugin does not move the others; if the locked versions already satisfy
//! everything, the result is exactly the lockfile. [`Update::All`] ignores the
//! lockfile and takes the newest versions allowed; [`Update::Only`] ignores it
//! for the named plugins, decides them first so they get their newest
//! allowed version, and keeps the others locked where that still works.
//!
//! Every locked package the solver reaches is checked against the index:
//! same registry, the version still listed, and the same sha256. A mismatch
//! is refused, not repaired, because it means someone changed the lockfile or
//! the registry; updating that plugin drops the pin deliberately.
//!
//! ### Explanations
//!
//! On failure PubGrub's derivation tree is rendered by
//! [`pubgrub::DefaultStringReporter`]'s walk (shared sub-proofs get numbered
//! and referenced) with our own wording: requirements in cargo syntax, the
//! root spoken of as "you asked for", unknown plugins with a suggested
//! spelling, unusable versions with their reason. Before the walk we print
//! a headline, as cargo and uv do: the requirements that clash, one line
//! each (at most three; beyond that only the proof reads well), such as
//! "poll 1.2.0 depends on economy ^2, but you asked for economy ^1.0; no
//! usable version of economy satisfies both." The walk below it is the proof.
//!
//! ### Fetching
//!
//! The index is read lazily: a plugin's versions are fetched the first time
//! the solver needs them, i.e. when it is requested or when a candidate
//! version of something else depends on it, and cached for the rest of the
//! resolution. An [`Index`] can therefore be backed by HTTP with an on-disk
//! cache without downloading the whole registry.
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::convert::Infallible;

pub use plugboard_registry_types::IndexEntry;

mod error;
mod explain;
pub mod lockfile;
mod requirement;
mod resolve;

pub use error::{ChecksumMismatch, ResolveError};
pub use lockfile::{LockedPlugin, Lockfile, LockfileError};
pub use requirement::{VersionSet, requirement_set};
pub use resolve::{Request, Resolution, Resolved, Update, WitSupport, resolve};

/// Where the resolver reads the registry's sparse index.
///
/// The client implements it over HTTP with its offline cache; tests and tools
/// use [`MemoryIndex`]. The resolver calls [`Index::versions`] at most once
/// per plugin and resolution.
pub trait Index {
    /// Why reading the index failed (network, cache, a malformed file).
    type Error: std::error::Error + Send + Sync + 'static;

    /// The registry's name as the lockfile records it, e.g. `default`.
    fn registry_name(&self) -> &str;

    /// Every published version of `name`, yanked ones included, in any order.
    /// An unknown plugin is an empty list, not an error.
    fn versions(&self, name: &str) -> Result<Vec<IndexEntry>, Self::Error>;

    /// Names close to `name`, for "did you mean" hints when `name` is unknown.
    /// The default knows none.
    fn similar_names(&self, name: &str) -> Vec<String> {
        let _ = name;
        Vec::new()
    }
}

impl<T: Index + ?Sized> Index for &T {
    type Error = T::Error;

    fn registry_name(&self) -> &str {
        (**self).registry_name()
    }

    fn versions(&self, name: &str) -> Result<Vec<IndexEntry>, Self::Error> {
        (**self).versions(name)
    }

    fn similar_names(&self, name: &str) -> Vec<String> {
        (**self).similar_names(name)
    }
}

/// An [`Index`] held in memory: for tests, fixtures and tools that already
/// downloaded what they need.
#[derive(Debug, Clone, Default)]
pub struct MemoryIndex {
    registry: String,
    plugins: BTreeMap<String, Vec<IndexEntry>>,
}

impl MemoryIndex {
    /// An empty index of the registry called `registry`.
    pub fn new(registry: impl Into<String>) -> Self {
        Self {
            registry: registry.into(),
            plugins: BTreeMap::new(),
        }
    }

    /// Adds one version, replacing an entry with the same name and version.
    pub fn add(&mut self, entry: IndexEntry) {
        let versions = self.plugins.entry(entry.name.clone()).or_default();
        versions.retain(|e| e.version != entry.version);
        versions.push(entry);
    }

    /// The entry for `name` at `version`, to change it (yank it, alter its
    /// checksum) in a test.
    pub fn get_mut(&mut self, name: &str, version: &semver::Version) -> Option<&mut IndexEntry> {
        self.plugins
            .get_mut(name)?
            .iter_mut()
            .find(|e| &e.version == version)
    }
}

impl Index for MemoryIndex {
    type Error = Infallible;

    fn registry_name(&self) -> &str {
        &self.registry
    }

    fn versions(&self, name: &str) -> Result<Vec<IndexEntry>, Infallible> {
        Ok(self.plugins.get(name).cloned().unwrap_or_default())
    }

    fn similar_names(&self, name: &str) -> Vec<String> {
        similar_names(name, self.plugins.keys().map(String::as_str))
    }
}

/// The names in `known` close to `name`, closest first; what
/// [`Index::similar_names`] implementations use. The one rule lives in
/// [`plugboard_registry_types::similar`], shared with the registry's pages.
pub use plugboard_registry_types::similar::similar_names;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let known = ["economy", "echo", "poll", "dice"];
        assert_eq!(similar_names("ecnomy", known), ["economy"]);
        assert_eq!(similar_names("pol", known), ["poll"]);
        assert!(similar_names("weather", known).is_empty());
    }
}
