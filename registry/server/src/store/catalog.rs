//! [`Catalog`]: one summary per plugin, kept in memory and rebuilt after a
//! write that changes it (publish, yank, owners, listing), so that browsing
//! and search read no version records; and the rating summaries, cached
//! apart because reviews change far more often than plugins.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use plugboard_registry_types::IndexEntry;
use plugboard_registry_types::manifest::Permission;
use semver::Version;
use serde::Deserialize;

use super::{RatingSummaries, Registry, counter, decode, newest_usable, prefix};
use crate::error::StoreError;
use crate::search::Listing;

/// What lists and search show of a plugin: its newest usable version's
/// details (not yanked, stable before pre-releases).
#[derive(Debug, Clone)]
pub(crate) struct Summary {
    pub name: String,
    pub version: Version,
    pub description: String,
    /// `description`, lowercased once for search.
    pub description_lower: String,
    pub categories: Vec<String>,
    pub keywords: Vec<String>,
    pub wit: Version,
    pub permissions: Vec<Permission>,
    pub owners: Vec<String>,
    pub updated_at: u64,
    pub delisted: bool,
    /// The names of the plugins this version depends on.
    pub deps: Vec<String>,
}

/// Every plugin with a usable version, by name, as of one store generation.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub(super) generation: u64,
    pub plugins: Vec<Summary>,
}

impl Catalog {
    /// The plugins visitors may browse: not delisted.
    pub fn listed(&self) -> impl Iterator<Item = &Summary> {
        self.plugins.iter().filter(|p| !p.delisted)
    }
}

/// A version record without the README, for the catalog.
#[derive(Clone, Deserialize)]
struct VersionSummary {
    entry: IndexEntry,
    description: String,
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

/// How many bytes of rendered READMEs are kept.
const READMES_KEPT: usize = 64 << 20;

impl Registry {
    /// Marks the catalog out of date; every write of plugin, version or
    /// listing records calls it.
    pub(crate) fn touch(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Marks the cached rating summaries out of date.
    pub(crate) fn touch_ratings(&self) {
        self.inner.ratings_generation.fetch_add(1, Ordering::AcqRel);
    }

    fn cached_catalog(&self, generation: u64) -> Option<Arc<Catalog>> {
        self.inner
            .catalog
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .filter(|c| c.generation == generation)
    }

    /// The catalog, rebuilt first if a write happened since it was built.
    /// One caller rebuilds; the others wait for its result.
    pub(crate) fn catalog(&self) -> Result<Arc<Catalog>, StoreError> {
        let generation = self.inner.generation.load(Ordering::Acquire);
        if let Some(catalog) = self.cached_catalog(generation) {
            return Ok(catalog);
        }
        let _building = self
            .inner
            .catalog_build
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let generation = self.inner.generation.load(Ordering::Acquire);
        if let Some(catalog) = self.cached_catalog(generation) {
            return Ok(catalog);
        }
        let built = Arc::new(self.build_catalog(generation)?);
        *self
            .inner
            .catalog
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Arc::clone(&built));
        Ok(built)
    }

    /// Every plugin's rating summary, cached until the next review change.
    pub(crate) fn rating_summaries(&self) -> Result<RatingSummaries, StoreError> {
        let generation = self.inner.ratings_generation.load(Ordering::Acquire);
        if let Some((cached, ratings)) = self
            .inner
            .ratings_cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            && *cached == generation
        {
            return Ok(Arc::clone(ratings));
        }
        let ratings = Arc::new(self.all_ratings()?);
        *self
            .inner
            .ratings_cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some((generation, Arc::clone(&ratings)));
        Ok(ratings)
    }

    /// What lists and search need: the catalog, every plugin's downloads
    /// and rating summary.
    pub(crate) fn listing(&self) -> Result<Listing, StoreError> {
        Ok(Listing {
            catalog: self.catalog()?,
            downloads: self.all_downloads()?,
            ratings: self.rating_summaries()?,
        })
    }

    fn build_catalog(&self, generation: u64) -> Result<Catalog, StoreError> {
        let mut plugins = Vec::new();
        for (name, plugin) in self.plugins()? {
            let versions = self
                .inner
                .versions
                .scan_prefix(prefix(&name))
                .map(|item| decode::<VersionSummary>("versions", &item?.1))
                .collect::<Result<Vec<_>, _>>()?;
            let Some(newest) = newest_usable(&versions, |v| &v.entry).cloned() else {
                continue;
            };
            plugins.push(Summary {
                version: newest.entry.version,
                description_lower: newest.description.to_lowercase(),
                description: newest.description,
                categories: newest.categories,
                keywords: newest.keywords,
                wit: newest.entry.wit,
                permissions: newest.entry.permissions,
                owners: plugin.owners,
                updated_at: plugin.updated_at,
                delisted: plugin.delisted,
                deps: newest.entry.deps.keys().cloned().collect(),
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
        if let Some(html) = cache().0.get(sha256) {
            return Arc::clone(html);
        }
        // Rendered outside the lock: other pages need not wait for it.
        let html: Arc<str> = render().into();
        let mut cache = cache();
        let (readmes, bytes) = &mut *cache;
        if *bytes + html.len() > READMES_KEPT {
            readmes.clear();
            *bytes = 0;
        }
        if readmes
            .insert(sha256.to_owned(), Arc::clone(&html))
            .is_none()
        {
            *bytes += html.len();
        }
        html
    }
}
