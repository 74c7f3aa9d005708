//! [`Catalog`]: one summary per listed plugin, kept in memory and rebuilt
//! after a write that changes it, so that browsing and search read no
//! version records.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use plugboard_registry_types::IndexEntry;
use plugboard_registry_types::manifest::Permission;
use semver::Version;
use serde::Deserialize;

use super::community::Ratings;
use super::{Registry, counter, decode, prefix};
use crate::error::StoreError;

/// What lists and search show of a plugin: its newest usable version's
/// details (not yanked, stable before pre-releases).
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub name: String,
    pub version: Version,
    pub description: String,
    pub categories: Vec<String>,
    pub keywords: Vec<String>,
    pub wit: Version,
    pub permissions: Vec<Permission>,
    pub owners: Vec<String>,
    pub updated_at: u64,
    pub delisted: bool,
    pub ratings: Ratings,
}

/// Every plugin with a usable version, by name, as of one store generation.
#[derive(Debug)]
pub(crate) struct Catalog {
    generation: u64,
    pub plugins: Vec<Summary>,
}

impl Catalog {
    /// The plugins visitors may browse: not delisted.
    pub fn listed(&self) -> impl Iterator<Item = &Summary> {
        self.plugins.iter().filter(|p| !p.delisted)
    }
}

/// A version record without the README, for the catalog.
#[derive(Deserialize)]
struct VersionSummary {
    seq: u64,
    entry: IndexEntry,
    description: String,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

/// How many rendered READMEs are kept.
const READMES_KEPT: usize = 512;

impl Registry {
    /// Marks the catalog out of date; every write of plugin, version,
    /// review or listing records calls it.
    pub(crate) fn touch(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The catalog, rebuilt first if a write happened since it was built.
    pub(crate) fn catalog(&self) -> Result<Arc<Catalog>, StoreError> {
        let generation = self.inner.generation.load(Ordering::Acquire);
        let cached = self
            .inner
            .catalog
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        if let Some(catalog) = cached.filter(|c| c.generation == generation) {
            return Ok(catalog);
        }
        let built = Arc::new(self.build_catalog(generation)?);
        let mut slot = self
            .inner
            .catalog
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.as_ref().is_none_or(|c| c.generation <= generation) {
            *slot = Some(Arc::clone(&built));
        }
        Ok(built)
    }

    fn build_catalog(&self, generation: u64) -> Result<Catalog, StoreError> {
        let ratings = self.all_ratings()?;
        let mut plugins = Vec::new();
        for (name, plugin) in self.plugins()? {
            let mut newest: Option<VersionSummary> = None;
            let mut last_seq = 0;
            for item in self.inner.versions.scan_prefix(prefix(&name)) {
                let version: VersionSummary = decode("versions", &item?.1)?;
                last_seq = last_seq.max(version.seq);
                let better = !version.entry.yanked
                    && newest.as_ref().is_none_or(|n| {
                        (version.entry.version.pre.is_empty(), &version.entry.version)
                            > (n.entry.version.pre.is_empty(), &n.entry.version)
                    });
                if better {
                    newest = Some(version);
                }
            }
            let Some(newest) = newest else { continue };
            plugins.push(Summary {
                version: newest.entry.version,
                description: newest.description,
                categories: newest.categories,
                keywords: newest.keywords,
                wit: newest.entry.wit,
                permissions: newest.entry.permissions,
                owners: plugin.owners,
                updated_at: plugin.updated_at,
                delisted: plugin.delisted,
                ratings: ratings.get(&name).copied().unwrap_or_default(),
                name,
            });
        }
        Ok(Catalog {
            generation,
            plugins,
        })
    }

    /// Every plugin's total downloads, in one scan (they change too often
    /// to live in the catalog).
    pub(crate) fn all_downloads(&self) -> Result<HashMap<String, u64>, StoreError> {
        self.inner
            .plugin_downloads
            .iter()
            .map(|item| {
                let (name, value) = item?;
                Ok((
                    String::from_utf8_lossy(&name).into_owned(),
                    counter(Some(&value)),
                ))
            })
            .collect()
    }

    /// The README of the package `sha256` as HTML, rendered by `render` the
    /// first time and kept (a version's README never changes).
    pub(crate) fn rendered_readme(
        &self,
        sha256: &str,
        render: impl FnOnce() -> String,
    ) -> Arc<str> {
        let cache = || {
            self.inner
                .readmes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        };
        if let Some(html) = cache().get(sha256) {
            return Arc::clone(html);
        }
        // Rendered outside the lock: other pages need not wait for it.
        let html: Arc<str> = render().into();
        let mut cache = cache();
        if cache.len() >= READMES_KEPT {
            cache.clear();
        }
        cache.insert(sha256.to_owned(), Arc::clone(&html));
        html
    }
}
