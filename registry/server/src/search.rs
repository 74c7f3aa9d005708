//! Search over the [`Catalog`](crate::store::Catalog), shared by the API
//! (`GET /api/v1/plugins`) and the web pages (`/search`, categories).

use std::cmp::Reverse;
use std::collections::HashMap;

use plugboard_registry_types::api::SearchSort;

use crate::store::Summary;

/// What to look for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// Words to find in the name, description or keywords (lowercased);
    /// empty finds everything.
    pub needle: String,
    pub category: Option<String>,
    /// Only plugins built against this WIT `major.minor`.
    pub wit: Option<(u64, u64)>,
    /// Only plugins that ask for no permissions.
    pub permission_free: bool,
    /// Only plugins owned by this user.
    pub owner: Option<String>,
    pub sort: SearchSort,
}

impl Filter {
    fn accepts(&self, plugin: &Summary) -> bool {
        if let Some(category) = &self.category
            && !plugin.categories.contains(category)
        {
            return false;
        }
        if let Some((major, minor)) = self.wit
            && (plugin.wit.major, plugin.wit.minor) != (major, minor)
        {
            return false;
        }
        if self.permission_free && !plugin.permissions.is_empty() {
            return false;
        }
        if let Some(owner) = &self.owner
            && !plugin.owners.contains(owner)
        {
            return false;
        }
        self.needle.split_whitespace().all(|word| {
            plugin.name.contains(word)
                || plugin.description.to_lowercase().contains(word)
                || plugin.keywords.iter().any(|k| k.contains(word))
        })
    }
}

/// The listed plugins `filter` accepts, in its order, an exact name match
/// first; `downloads` holds every plugin's total.
pub(crate) fn find<'a>(
    plugins: impl Iterator<Item = &'a Summary>,
    downloads: &HashMap<String, u64>,
    filter: &Filter,
) -> Vec<&'a Summary> {
    let mut hits: Vec<&Summary> = plugins.filter(|p| filter.accepts(p)).collect();
    let downloads_of = |p: &Summary| downloads.get(&p.name).copied().unwrap_or(0);
    match filter.sort {
        SearchSort::Recent => hits.sort_by(|a, b| {
            (Reverse(a.updated_at), &a.name).cmp(&(Reverse(b.updated_at), &b.name))
        }),
        SearchSort::Name => hits.sort_by(|a, b| a.name.cmp(&b.name)),
        SearchSort::Rating => hits.sort_by(|a, b| {
            b.ratings
                .ranking_score()
                .total_cmp(&a.ratings.ranking_score())
                .then_with(|| downloads_of(b).cmp(&downloads_of(a)))
                .then_with(|| a.name.cmp(&b.name))
        }),
        _ => hits.sort_by(|a, b| {
            (Reverse(downloads_of(a)), &a.name).cmp(&(Reverse(downloads_of(b)), &b.name))
        }),
    }
    let needle = filter.needle.trim();
    // Stable: the exact name match moves to the front, the rest keep their order.
    hits.sort_by_key(|p| p.name != needle);
    hits
}
