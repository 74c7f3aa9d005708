//! Requirements as version sets over the versions the index knows.

use std::ops::Bound;

use semver::{Version, VersionReq};

/// The version sets the solver works with: unions of intervals of versions.
pub type VersionSet = pubgrub::Ranges<Version>;

/// The set of `known` versions that `req` accepts, as PubGrub sees it.
///
/// `known` must be sorted ascending without repeats (the versions the index
/// lists for one plugin). The result contains exactly the versions of `known`
/// that [`VersionReq::matches`] accepts, so it follows cargo's rules for caret,
/// tilde, wildcards, comparison lists and pre-releases without restating them;
/// it says nothing useful about versions outside `known`. Each run of
/// consecutive accepted versions becomes one interval `[first, last]`.
///
/// ```
/// use plugboard_resolver::requirement_set;
/// use semver::{Version, VersionReq};
///
/// let known: Vec<Version> = ["1.0.0", "1.2.0", "1.3.0-beta", "1.3.0", "2.0.0"]
///     .iter().map(|v| v.parse()).collect::<Result<_, _>>()?;
/// let set = requirement_set(&"^1.2".parse::<VersionReq>()?, &known);
/// // Cargo does not let `^1.2` pick `1.3.0-beta`, so it splits the run.
/// assert_eq!(set.to_string(), "1.2.0 | 1.3.0");
/// assert!(!set.contains(&"1.3.0-beta".parse()?));
/// let set = requirement_set(&"^1.0".parse::<VersionReq>()?, &known[..3]);
/// assert_eq!(set.to_string(), ">=1.0.0, <=1.2.0");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn requirement_set(req: &VersionReq, known: &[Version]) -> VersionSet {
    set_where(known, |version| req.matches(version))
}

/// The set of `known` versions (sorted ascending) that `keep` accepts, each
/// run of consecutive accepted versions as one interval, so that versions
/// in between that `keep` refuses stay out.
pub(crate) fn set_where(known: &[Version], keep: impl Fn(&Version) -> bool) -> VersionSet {
    let mut set = VersionSet::empty();
    let mut run: Option<(&Version, &Version)> = None;
    for version in known {
        if keep(version) {
            run = Some(match run {
                Some((first, _)) => (first, version),
                None => (version, version),
            });
        } else if let Some((first, last)) = run.take() {
            set = set.union(&interval(first, last));
        }
    }
    if let Some((first, last)) = run {
        set = set.union(&interval(first, last));
    }
    set
}

/// `[first, last]`, written as a single point when the two are one version
/// (`1.2.0` rather than `>=1.2.0, <=1.2.0` when displayed).
fn interval(first: &Version, last: &Version) -> VersionSet {
    if first == last {
        VersionSet::singleton(first.clone())
    } else {
        VersionSet::from_range_bounds::<_, Version>((
            Bound::Included(first.clone()),
            Bound::Included(last.clone()),
        ))
    }
}

/// The versions of `known` (sorted ascending) that `set` contains, in one
/// merge-like pass over both.
pub(crate) fn members<'a>(set: &VersionSet, known: &'a [Version]) -> Vec<&'a Version> {
    known
        .iter()
        .zip(set.contains_many(known.iter()))
        .filter_map(|(v, inside)| inside.then_some(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(list: &[&str]) -> Vec<Version> {
        let mut v: Vec<Version> = list
            .iter()
            .map(|s| Version::parse(s).expect("test version"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn cargo_shapes() {
        let known = versions(&[
            "0.0.3",
            "0.0.4",
            "0.2.3",
            "0.2.9",
            "0.3.0",
            "1.0.0",
            "1.2.0",
            "1.2.3",
            "1.2.9",
            "1.3.0-alpha.1",
            "1.3.0",
            "1.9.9",
            "2.0.0-rc.1",
            "2.0.0",
        ]);
        let cases: &[(&str, &[&str])] = &[
            ("^1.2.3", &["1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
            ("1.2.3", &["1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
            ("^0.2.3", &["0.2.3", "0.2.9"]),
            ("^0.0.3", &["0.0.3"]),
            (
                "^1",
                &["1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"],
            ),
            ("^0", &["0.0.3", "0.0.4", "0.2.3", "0.2.9", "0.3.0"]),
            ("^0.0", &["0.0.3", "0.0.4"]),
            ("~1.2", &["1.2.0", "1.2.3", "1.2.9"]),
            ("~1.2.3", &["1.2.3", "1.2.9"]),
            (
                "1.*",
                &["1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"],
            ),
            ("1.2.*", &["1.2.0", "1.2.3", "1.2.9"]),
            ("=1.2.3", &["1.2.3"]),
            (">1.9.9", &["2.0.0"]),
            ("<0.2.3", &["0.0.3", "0.0.4"]),
            (">=1.2.3, <1.3", &["1.2.3", "1.2.9"]),
            ("^1.3.0-alpha", &["1.3.0-alpha.1", "1.3.0", "1.9.9"]),
            (">=2.0.0-rc.1", &["2.0.0-rc.1", "2.0.0"]),
            ("^2", &["2.0.0"]),
        ];
        for (req, expected) in cases {
            let req: VersionReq = req.parse().expect("test requirement");
            let set = requirement_set(&req, &known);
            let got: Vec<String> = members(&set, &known)
                .iter()
                .map(|v| v.to_string())
                .collect();
            assert_eq!(&got, expected, "{req}");
        }
        let star = requirement_set(&VersionReq::STAR, &known);
        assert!(members(&star, &known).iter().all(|v| v.pre.is_empty()));
    }
}
