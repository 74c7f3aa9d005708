//! The one rule for "did you mean": which known plugin names are close to
//! one that was asked for.
//!
//! `plugboard install` (through the resolver's `Index::similar_names`), the
//! registry's 404 page and its search (API and page) all call
//! [`similar_names`], so a typo gets the same suggestion everywhere.
//!
//! ```
//! use plugboard_registry_types::similar::similar_names;
//!
//! let known = ["dice", "echo", "economy"];
//! assert_eq!(similar_names("dcie", known), ["dice"]);
//! assert!(similar_names("weather", known).is_empty());
//! ```

use crate::manifest::MAX_NAME_LEN;

/// Most names [`similar_names`] returns.
pub const MAX_SIMILAR: usize = 3;

/// The names in `known` within a small edit distance of `name` (a third of
/// its length, at least one edit; an adjacent swap counts as one), closest
/// first, then by name; at most [`MAX_SIMILAR`], never `name` itself.
///
/// `name` is compared lowercased, as plugin names are. A `name` more than
/// half again as long as the longest plugin name ([`MAX_NAME_LEN`]) is
/// further from every plugin name than the limit allows, so it has no
/// similar names and costs nothing to compare.
pub fn similar_names<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    if name.chars().count() > MAX_NAME_LEN * 3 / 2 {
        return Vec::new();
    }
    let wanted = name.to_lowercase();
    let length = wanted.chars().count();
    let limit = (length / 3).max(1);
    let mut close: Vec<(usize, &str)> = known
        .into_iter()
        .filter(|k| *k != name)
        // At least the difference in length apart: skip the far ones
        // without comparing them.
        .filter(|k| k.chars().count().abs_diff(length) <= limit)
        .map(|k| (edit_distance(&wanted, k), k))
        .filter(|(d, _)| *d <= limit)
        .collect();
    close.sort_unstable();
    close.dedup();
    close
        .into_iter()
        .take(MAX_SIMILAR)
        .map(|(_, k)| k.to_owned())
        .collect()
}

/// Levenshtein distance, counting an adjacent swap as one edit (optimal
/// string alignment).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for (i, row) in d.chunks_mut(width).enumerate() {
        row[0] = i;
    }
    for (j, cell) in d.iter_mut().take(width).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        let known = [
            "economy", "echo", "poll", "dice", "weather", "webhook", "dice-pro",
        ];
        let table: &[(&str, &[&str])] = &[
            ("dcie", &["dice"]),
            ("dise", &["dice"]),
            ("DCIE", &["dice"]),
            ("wether", &["weather"]),
            ("ecnomy", &["economy"]),
            ("ech0", &["echo"]),
            ("pol", &["poll"]),
            ("dice", &[]),
            ("moderation", &[]),
            ("", &[]),
        ];
        for (name, expected) in table {
            assert_eq!(similar_names(name, known), *expected, "{name}");
        }
        let long = "d".repeat(MAX_NAME_LEN * 2);
        assert!(similar_names(&long, known).is_empty());
    }

    #[test]
    fn distances() {
        for (a, b, d) in [
            ("abc", "acb", 1),
            ("abc", "abc", 0),
            ("", "abc", 3),
            ("kitten", "sitting", 3),
        ] {
            assert_eq!(edit_distance(a, b), d, "{a} {b}");
        }
    }
}
