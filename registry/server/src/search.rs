//! Search over the [`Catalog`](crate::store::Catalog), shared by the API
//! (`GET /api/v1/plugins`) and the web pages (`/search`, categories, the
//! home page's lists, publisher pages). A query's words match names,
//! descriptions, keywords and categories; [`Listing::did_you_mean`] adds
//! close names by the shared rule.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Arc;

use plugboard_registry_types::api::SearchSort;
use plugboard_registry_types::similar::similar_names;

use crate::store::{Catalog, RatingSummaries, Ratings, Summary};

/// Most words of a query that count; the rest are ignored.
pub(crate) const MAX_WORDS: usize = 8;
/// Longest query that counts, in bytes; the rest is ignored.
pub(crate) const MAX_QUERY: usize = 200;

/// What to look for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// The query, trimmed, lowercased and cut to [`MAX_QUERY`] bytes: a
    /// plugin with exactly this name comes first.
    pub needle: String,
    /// Distinct words of the needle (at most [`MAX_WORDS`]), each of which
    /// must be in the name, the description, a keyword or a category.
    pub words: Vec<String>,
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
    /// A filter for the words of `query`, in `sort` order.
    pub fn query(query: &str, sort: SearchSort) -> Self {
        let mut needle = query.trim().to_lowercase();
        if needle.len() > MAX_QUERY {
            let mut end = MAX_QUERY;
            while !needle.is_char_boundary(end) {
                end -= 1;
            }
            needle.truncate(end);
        }
        let mut words: Vec<String> = Vec::new();
        for word in needle.split_whitespace() {
            if words.len() == MAX_WORDS {
                break;
            }
            if !words.iter().any(|w| w == word) {
                words.push(word.to_owned());
            }
        }
        Filter {
            needle,
            words,
            sort,
            ..Filter::default()
        }
    }

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
        self.words.iter().all(|word| {
            plugin.name.contains(word.as_str())
                || plugin.description_lower.contains(word.as_str())
                || plugin.keywords.iter().any(|k| k.contains(word.as_str()))
                || plugin.categories.iter().any(|c| c.contains(word.as_str()))
        })
    }
}

/// What lists and search read: the catalog and every plugin's downloads
/// and rating summary ([`Registry::listing`](crate::store::Registry::listing)).
pub(crate) struct Listing {
    pub catalog: Arc<Catalog>,
    pub downloads: HashMap<String, u64>,
    pub ratings: RatingSummaries,
}

impl Listing {
    pub fn downloads_of(&self, name: &str) -> u64 {
        self.downloads.get(name).copied().unwrap_or(0)
    }

    pub fn ratings_of(&self, name: &str) -> Ratings {
        self.ratings.get(name).copied().unwrap_or_default()
    }

    /// The listed (not delisted) plugins `filter` accepts, in its order,
    /// an exact name match first.
    pub fn find(&self, filter: &Filter) -> Vec<&Summary> {
        let mut hits: Vec<&Summary> = self
            .catalog
            .listed()
            .filter(|p| filter.accepts(p))
            .collect();
        match filter.sort {
            SearchSort::Recent => hits.sort_by(|a, b| {
                (Reverse(a.updated_at), &a.name).cmp(&(Reverse(b.updated_at), &b.name))
            }),
            SearchSort::Name => hits.sort_by(|a, b| a.name.cmp(&b.name)),
            SearchSort::Rating => hits.sort_by(|a, b| {
                self.ratings_of(&b.name)
                    .ranking_score()
                    .total_cmp(&self.ratings_of(&a.name).ranking_score())
                    .then_with(|| self.downloads_of(&b.name).cmp(&self.downloads_of(&a.name)))
                    .then_with(|| a.name.cmp(&b.name))
            }),
            _ => hits.sort_by(|a, b| {
                (Reverse(self.downloads_of(&a.name)), &a.name)
                    .cmp(&(Reverse(self.downloads_of(&b.name)), &b.name))
            }),
        }
        // Stable: the exact name match moves to the front, the rest keep their order.
        hits.sort_by_key(|p| p.name != filter.needle);
        hits
    }

    /// "Did you mean": listed plugin names close to the query
    /// ([`similar_names`], the rule the 404 page and `plugboard install`
    /// use), leaving out those already among `hits`.
    pub fn did_you_mean(&self, filter: &Filter, hits: &[&Summary]) -> Vec<String> {
        if filter.needle.is_empty() {
            return Vec::new();
        }
        let mut names = similar_names(
            &filter.needle,
            self.catalog.listed().map(|p| p.name.as_str()),
        );
        names.retain(|name| !hits.iter().any(|hit| hit.name == *name));
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_bounded_and_deduplicated() {
        let filter = Filter::query("  Dice  dice ROLL ", SearchSort::default());
        assert_eq!(filter.needle, "dice  dice roll");
        assert_eq!(filter.words, ["dice", "roll"]);
        let long = ". ".repeat(40_000);
        let filter = Filter::query(&long, SearchSort::default());
        assert!(filter.needle.len() <= MAX_QUERY);
        assert_eq!(filter.words, ["."]);
        let many: String = (0..50).map(|i| format!("w{i} ")).collect();
        assert_eq!(
            Filter::query(&many, SearchSort::default()).words.len(),
            MAX_WORDS
        );
        let wide = "é".repeat(150);
        assert!(Filter::query(&wide, SearchSort::default()).needle.len() <= MAX_QUERY);
    }
}
