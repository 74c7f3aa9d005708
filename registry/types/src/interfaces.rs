//! Interfaces that plugins provide to each other: the names written in a
//! manifest's `provides` and `imports`, and which provided version
//! satisfies which import.
//!
//! A plugin such as `economy` exports a WIT interface of its own
//! (`plugins:economy/api@1.2.0`) beside the Plugboard handler, and names
//! it in `provides`; a plugin that calls it (`leaderboard`) imports it,
//! names it in `imports`, and lists `economy` in `dependencies`. The
//! runtime links the two; this module only knows the names. A provided
//! version satisfies an import the way cargo's caret requirement does:
//! `1.2.0` serves an import of `1.0.0`, `2.0.0` does not, and below 1.0 the
//! minor version must match (`0.3.1` serves `0.3.0`, not `0.2.0`).

use std::fmt;
use std::str::FromStr;

use semver::{Version, VersionReq};

/// WIT namespaces no plugin may provide: the host's own.
pub const RESERVED_NAMESPACES: &[&str] = &["wasi", "plugboard"];

/// Most interfaces one manifest may list in `provides` or in `imports`.
pub const MAX_INTERFACES: usize = 16;

/// A versioned WIT interface name, `namespace:package/interface@version`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InterfaceName {
    /// The package's namespace (`plugins` in `plugins:economy/api@1.0.0`).
    pub namespace: String,
    /// The package's name (`economy`).
    pub package: String,
    /// The interface within the package (`api`).
    pub interface: String,
    /// The package's version (`1.0.0`).
    pub version: Version,
}

impl InterfaceName {
    /// `namespace:package/interface`, without the version.
    pub fn unversioned(&self) -> String {
        format!("{}:{}/{}", self.namespace, self.package, self.interface)
    }

    /// Whether this (provided) interface serves an import of `wanted`: the
    /// same interface, at a caret-compatible version.
    pub fn satisfies(&self, wanted: &InterfaceName) -> bool {
        self.namespace == wanted.namespace
            && self.package == wanted.package
            && self.interface == wanted.interface
            && caret(&wanted.version).matches(&self.version)
    }

    /// Whether the name lies in a namespace only the host may provide.
    pub fn is_reserved(&self) -> bool {
        RESERVED_NAMESPACES.contains(&self.namespace.as_str())
    }
}

/// `^version`, as cargo reads a bare version requirement.
fn caret(version: &Version) -> VersionReq {
    let comparator = semver::Comparator {
        op: semver::Op::Caret,
        major: version.major,
        minor: Some(version.minor),
        patch: Some(version.patch),
        pre: version.pre.clone(),
    };
    VersionReq {
        comparators: vec![comparator],
    }
}

impl fmt::Display for InterfaceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.unversioned(), self.version)
    }
}

impl FromStr for InterfaceName {
    type Err = String;

    /// Parses `namespace:package/interface@version`; the error says what
    /// is wrong and shows the expected shape.
    fn from_str(text: &str) -> Result<Self, String> {
        const SHAPE: &str =
            "write it as `namespace:package/interface@version`, e.g. `plugins:economy/api@1.0.0`";
        let (path, version) = text
            .split_once('@')
            .ok_or_else(|| format!("has no version; {SHAPE}"))?;
        let version = Version::parse(version)
            .map_err(|e| format!("has a version that is not semver ({e}); {SHAPE}"))?;
        let (package_path, interface) = path
            .split_once('/')
            .ok_or_else(|| format!("names no interface; {SHAPE}"))?;
        let (namespace, package) = package_path
            .split_once(':')
            .ok_or_else(|| format!("names no namespace; {SHAPE}"))?;
        for (what, part) in [
            ("namespace", namespace),
            ("package", package),
            ("interface", interface),
        ] {
            check_identifier(part).map_err(|problem| format!("{what} `{part}` {problem}"))?;
        }
        Ok(InterfaceName {
            namespace: namespace.into(),
            package: package.into(),
            interface: interface.into(),
            version,
        })
    }
}

/// A WIT identifier: kebab-case words of lowercase letters and digits,
/// each starting with a letter.
fn check_identifier(part: &str) -> Result<(), String> {
    let ok = !part.is_empty()
        && part.len() <= 64
        && part.split('-').all(|word| {
            word.starts_with(|c: char| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err("is not a WIT identifier: use lowercase words of letters and digits joined by `-`, each starting with a letter (at most 64 bytes)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> InterfaceName {
        text.parse().expect(text)
    }

    #[test]
    fn names_round_trip_and_bad_ones_say_the_shape() {
        let n = name("plugins:economy/api@1.2.0");
        assert_eq!(n.to_string(), "plugins:economy/api@1.2.0");
        assert_eq!(n.unversioned(), "plugins:economy/api");
        for bad in [
            "plugins:economy/api",
            "economy/api@1.0.0",
            "plugins:economy@1.0.0",
            "plugins:Economy/api@1.0.0",
            "plugins:economy/api@one",
            "plugins:economy/-api@1.0.0",
        ] {
            let err = bad.parse::<InterfaceName>().expect_err(bad);
            assert!(
                err.contains("namespace:package/interface@version")
                    || err.contains("WIT identifier"),
                "{bad}: {err}"
            );
        }
        assert!(name("wasi:cli/stdout@0.2.0").is_reserved());
        assert!(name("plugboard:plugin/kv@0.2.0").is_reserved());
        assert!(!n.is_reserved());
    }

    #[test]
    fn a_provided_version_serves_caret_compatible_imports_only() {
        let provided = name("plugins:economy/api@1.2.0");
        assert!(provided.satisfies(&name("plugins:economy/api@1.0.0")));
        assert!(provided.satisfies(&name("plugins:economy/api@1.2.0")));
        assert!(!provided.satisfies(&name("plugins:economy/api@1.3.0")));
        assert!(!provided.satisfies(&name("plugins:economy/api@2.0.0")));
        assert!(!provided.satisfies(&name("plugins:economy/admin@1.0.0")));
        let zero = name("acme:dice/roll@0.3.1");
        assert!(zero.satisfies(&name("acme:dice/roll@0.3.0")));
        assert!(!zero.satisfies(&name("acme:dice/roll@0.2.0")));
    }
}
