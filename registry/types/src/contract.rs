//! The `plugboard:plugin` contract seen from outside the WIT: its package
//! name, the export that marks a component as a plugin, and the one rule
//! deciding whether a plugin built against contract version `X` runs on a
//! host that speaks version `Y`.
//!
//! Everything that answers that question calls [`loads_on`]: the runtime's
//! engine when it loads a component, the loader when it compares a
//! component with its manifest, the resolver when it picks versions to
//! install, and the package validator when it packs or unpacks a plugin. So
//! `plugboard install` never accepts what `plugboard run` refuses, nor the
//! other way round.
//!
//! # The rule
//!
//! A plugin built against `X` loads on a host speaking `Y` when
//!
//! 1. both are on one *release line*, the versions the component model's
//!    linker treats as compatible: the same major version; for `0.x` the
//!    same minor too; for `0.0.x` the same patch too; and a pre-release
//!    (`0.2.0-rc.1`) is a line of its own, equal only to itself;
//! 2. and `X`'s minor is no newer than `Y`'s, because a newer minor may
//!    import functions the host lacks. Patch numbers do not matter: a patch
//!    release of the contract changes documentation, never functions, so a
//!    plugin built against `0.1.7` loads on a `0.1.0` host and the other way
//!    round.
//!
//! ```
//! use plugboard_registry_types::contract::loads_on;
//! use semver::Version;
//!
//! let v = |s: &str| Version::parse(s).unwrap();
//! assert!(loads_on(&v("0.1.7"), &v("0.1.0")));
//! assert!(!loads_on(&v("0.2.0"), &v("0.1.0")));
//! assert!(loads_on(&v("1.2.0"), &v("1.3.0")));
//! assert!(!loads_on(&v("1.3.0"), &v("1.2.0")));
//! ```

use semver::Version;

/// The WIT package every plugin is built against.
pub const WIT_PACKAGE: &str = "plugboard:plugin";

/// The start of the export every plugin component has, up to its version:
/// `plugboard:plugin/handler@0.1.0`.
pub const HANDLER_EXPORT_PREFIX: &str = "plugboard:plugin/handler@";

/// The contract version named by a component export such as
/// `plugboard:plugin/handler@0.1.0`, or `None` when `export` is not the
/// plugin handler or its version does not parse.
pub fn handler_version(export: &str) -> Option<Version> {
    Version::parse(export.strip_prefix(HANDLER_EXPORT_PREFIX)?).ok()
}

/// Whether a plugin built against contract `built` runs on a host that
/// speaks contract `host`. See the [module documentation](self) for the rule.
pub fn loads_on(built: &Version, host: &Version) -> bool {
    same_line(built, host) && built.minor <= host.minor
}

/// Whether a plugin built against `built` runs on a host that speaks every
/// version in `hosts` (one [`bindgen!`]-generated module per version).
///
/// [`bindgen!`]: https://docs.rs/wasmtime/latest/wasmtime/component/macro.bindgen.html
pub fn loads_on_any(built: &Version, hosts: &[Version]) -> bool {
    hosts.iter().any(|host| loads_on(built, host))
}

/// Whether `a` and `b` are on one release line (see the rule).
fn same_line(a: &Version, b: &Version) -> bool {
    if !a.pre.is_empty() || !b.pre.is_empty() {
        return (a.major, a.minor, a.patch, &a.pre) == (b.major, b.minor, b.patch, &b.pre);
    }
    match (a.major, a.minor) {
        (0, 0) => b.major == 0 && b.minor == 0 && a.patch == b.patch,
        (0, minor) => b.major == 0 && b.minor == minor,
        (major, _) => b.major == major,
    }
}

/// The versions a host speaking `host` loads, as people write them:
/// `0.1.x`, `1.x up to 1.3`, `0.2.0-rc.1`.
pub fn line_text(host: &Version) -> String {
    if !host.pre.is_empty() || (host.major, host.minor) == (0, 0) {
        host.to_string()
    } else if host.major == 0 {
        format!("0.{}.x", host.minor)
    } else if host.minor == 0 {
        format!("{}.0.x", host.major)
    } else {
        format!("{}.x up to {}.{}", host.major, host.major, host.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row per case: (built, host, loads).
    const TABLE: &[(&str, &str, bool)] = &[
        // Same version.
        ("0.1.0", "0.1.0", true),
        ("1.2.3", "1.2.3", true),
        // Older and newer patch, both ways: patch numbers never matter.
        ("0.1.0", "0.1.7", true),
        ("0.1.7", "0.1.0", true),
        ("1.2.0", "1.2.9", true),
        ("1.2.9", "1.2.0", true),
        // Older minor on the same line loads; a newer minor does not.
        ("1.1.0", "1.3.0", true),
        ("1.4.0", "1.3.0", false),
        // For 0.x the minor is the line: neither direction loads.
        ("0.1.0", "0.2.0", false),
        ("0.2.0", "0.1.0", false),
        // For 0.0.x every patch is its own line.
        ("0.0.1", "0.0.1", true),
        ("0.0.1", "0.0.2", false),
        // Another major never loads, either way.
        ("1.0.0", "0.1.0", false),
        ("0.1.0", "1.0.0", false),
        ("2.0.0", "1.9.0", false),
        ("1.0.0", "2.0.0", false),
        // Pre-releases load only on exactly themselves.
        ("0.2.0-rc.1", "0.2.0-rc.1", true),
        ("0.2.0-rc.1", "0.2.0-rc.2", false),
        ("0.2.0-rc.1", "0.2.0", false),
        ("0.2.0", "0.2.0-rc.1", false),
        ("1.1.0-beta", "1.2.0", false),
        // Build metadata is ignored.
        ("0.1.0+abc", "0.1.0", true),
    ];

    #[test]
    fn the_contract_rule_answers_every_row_of_the_table() {
        for &(built, host, expected) in TABLE {
            let b = Version::parse(built).expect("built version");
            let h = Version::parse(host).expect("host version");
            assert_eq!(loads_on(&b, &h), expected, "built {built}, host {host}");
        }
    }

    #[test]
    fn a_host_speaking_two_versions_loads_what_either_loads() {
        let hosts = [Version::new(0, 1, 0), Version::new(0, 2, 0)];
        assert!(loads_on_any(&Version::new(0, 1, 4), &hosts));
        assert!(loads_on_any(&Version::new(0, 2, 0), &hosts));
        assert!(!loads_on_any(&Version::new(0, 3, 0), &hosts));
        assert!(!loads_on_any(&Version::new(0, 1, 0), &[]));
    }

    #[test]
    fn handler_versions_are_read_from_export_names_only() {
        assert_eq!(
            handler_version("plugboard:plugin/handler@0.1.2"),
            Some(Version::new(0, 1, 2))
        );
        assert_eq!(handler_version("plugboard:plugin/handler@x"), None);
        assert_eq!(handler_version("plugboard:plugin/host@0.1.0"), None);
        assert_eq!(handler_version("other:plugin/handler@0.1.0"), None);
    }

    #[test]
    fn lines_are_written_as_people_write_them() {
        assert_eq!(line_text(&Version::new(0, 1, 3)), "0.1.x");
        assert_eq!(line_text(&Version::new(1, 0, 0)), "1.0.x");
        assert_eq!(line_text(&Version::new(1, 3, 0)), "1.x up to 1.3");
        assert_eq!(line_text(&Version::new(0, 0, 4)), "0.0.4");
        let rc = Version::parse("0.2.0-rc.1").expect("pre-release");
        assert_eq!(line_text(&rc), "0.2.0-rc.1");
    }
}
