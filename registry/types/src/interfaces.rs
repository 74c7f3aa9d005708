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
//!
//! [`check_component_interfaces`] is the one rule for whether a component's
//! own export and import names agree with its manifest: the packer, the
//! registry and the runtime all call it.
//!
//! ```
//! use plugboard_registry_types::Manifest;
//! use plugboard_registry_types::interfaces::{InterfaceMismatch, check_component_interfaces};
//!
//! let manifest = Manifest::from_toml(r#"
//!     name = "economy"
//!     version = "1.0.0"
//!     description = "Points."
//!     wit = "0.2"
//!     provides = ["plugins:economy/api@1.0.0"]
//! "#)?;
//! let exports = ["plugboard:plugin/handler@0.2.0", "plugins:economy/api@1.0.0"];
//! let imports = ["wasi:cli/stdout@0.2.6"];
//! check_component_interfaces(&manifest, &exports, &imports)?;
//!
//! let err = check_component_interfaces(&manifest, &exports[..1], &imports)
//!     .expect_err("api not exported");
//! assert!(matches!(err, InterfaceMismatch::ProvidedNotExported { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use semver::{Version, VersionReq};

use crate::manifest::Manifest;

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

/// Whether an export or import name belongs to the host (WASI, the
/// Plugboard contract) rather than to a plugin: its namespace, the part
/// before the first `:`, is one of [`RESERVED_NAMESPACES`], with or
/// without a version (`wasi:cli/stdout@0.2.6`, `plugboard:plugin/handler@0.2.0`).
pub fn is_host_name(name: &str) -> bool {
    name.split_once(':')
        .is_some_and(|(namespace, _)| RESERVED_NAMESPACES.contains(&namespace))
}

/// Why a component's own interface names disagree with its manifest; see
/// [`check_component_interfaces`]. Every message names the interface and
/// the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InterfaceMismatch {
    /// The component exports an interface `provides` does not list.
    #[error(
        "the component exports `{name}`, which plugin.toml does not list in `provides`; add it to provides, or stop exporting it"
    )]
    ExportNotProvided {
        /// The export's name, as the component has it.
        name: String,
    },
    /// `provides` lists an interface the component does not export.
    #[error(
        "plugin.toml says it provides {name} but the component does not export it; export the interface in the plugin's WIT world"
    )]
    ProvidedNotExported {
        /// The interface, as `provides` lists it.
        name: String,
    },
    /// The component imports another plugin's interface that `imports`
    /// does not list.
    #[error(
        "the component imports `{name}`, which plugin.toml does not list in `imports`; add it to imports, and the plugin that provides it to [dependencies]"
    )]
    ImportNotListed {
        /// The import's name, as the component has it.
        name: String,
    },
    /// An export or import outside the host's namespaces whose name is not
    /// `namespace:package/interface@version`.
    #[error(
        "the component {} `{name}`, which is not a versioned WIT interface name: it {problem} (plugins {} whole interfaces of WIT packages with a version, such as `package acme:stats@1.0.0;`)",
        if *exported { "exports" } else { "imports" },
        if *exported { "export" } else { "import" }
    )]
    NotAnInterface {
        /// The name, as the component has it (cut to 100 characters).
        name: String,
        /// Whether it is an export (else an import).
        exported: bool,
        /// What is wrong with it.
        problem: String,
    },
}

/// Whether a component's interface names agree with its manifest, given
/// the names of its top-level exported and imported instances (such as
/// `plugins:economy/api@1.0.0`, `wasi:cli/stdout@0.2.6`,
/// `plugboard:plugin/handler@0.2.0`):
///
/// * names in the host's namespaces ([`is_host_name`]) are skipped;
/// * every other name must be a versioned interface name
///   ([`InterfaceName`]), else [`InterfaceMismatch::NotAnInterface`];
/// * every other export must be listed in `provides`
///   ([`InterfaceMismatch::ExportNotProvided`]), and every `provides` entry
///   must be exported ([`InterfaceMismatch::ProvidedNotExported`]);
/// * every other import must be listed in `imports`
///   ([`InterfaceMismatch::ImportNotListed`]). An interface listed in
///   `imports` that the component does not import is allowed: a plugin
///   that stops calling an interface loses the import when it is built.
///
/// Names are compared exactly, version included. The first disagreement
/// found is returned, exports before imports.
pub fn check_component_interfaces(
    manifest: &Manifest,
    exports: &[&str],
    imports: &[&str],
) -> Result<(), InterfaceMismatch> {
    let provided = manifest.provided_interfaces();
    let listed_imports = manifest.imported_interfaces();
    let mut exported = Vec::new();
    for &name in exports {
        let Some(interface) = plugin_interface(name, true)? else {
            continue;
        };
        if !provided.contains(&interface) {
            return Err(InterfaceMismatch::ExportNotProvided {
                name: name.to_owned(),
            });
        }
        exported.push(interface);
    }
    if let Some(missing) = provided.iter().find(|p| !exported.contains(p)) {
        return Err(InterfaceMismatch::ProvidedNotExported {
            name: missing.to_string(),
        });
    }
    for &name in imports {
        let Some(interface) = plugin_interface(name, false)? else {
            continue;
        };
        if !listed_imports.contains(&interface) {
            return Err(InterfaceMismatch::ImportNotListed {
                name: name.to_owned(),
            });
        }
    }
    Ok(())
}

/// `name` parsed, or `None` for a host name.
fn plugin_interface(
    name: &str,
    exported: bool,
) -> Result<Option<InterfaceName>, InterfaceMismatch> {
    if is_host_name(name) {
        return Ok(None);
    }
    name.parse()
        .map(Some)
        .map_err(|problem| InterfaceMismatch::NotAnInterface {
            name: crate::text::escape(&crate::text::cut(name, 100), false).into_owned(),
            exported,
            problem,
        })
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

    fn manifest(extra: &str) -> Manifest {
        Manifest::from_toml(&format!(
            "name = \"stats\"\nversion = \"1.0.0\"\ndescription = \"d\"\nwit = \"0.2\"\n{extra}\n[dependencies]\neconomy = \"^1\"\n"
        ))
        .expect("test manifest")
    }

    /// One row of the agreement table: a manifest's extra lines, the
    /// component's export and import names, and the answer.
    struct Case {
        manifest: &'static str,
        exports: &'static [&'static str],
        imports: &'static [&'static str],
        expected: Result<(), InterfaceMismatch>,
    }

    #[test]
    fn component_interfaces_must_agree_with_the_manifest() {
        const HANDLER: &str = "plugboard:plugin/handler@0.2.0";
        const STDOUT: &str = "wasi:cli/stdout@0.2.6";
        const BOTH: &str = r#"provides = ["acme:stats/api@1.0.0"]
imports = ["plugins:economy/api@1.0.0"]"#;
        let not_an_interface = |name: &str, exported: bool, problem: &str| {
            Err(InterfaceMismatch::NotAnInterface {
                name: name.into(),
                exported,
                problem: format!(
                    "{problem}; write it as `namespace:package/interface@version`, e.g. `plugins:economy/api@1.0.0`"
                ),
            })
        };
        let cases = [
            Case {
                manifest: "",
                exports: &[HANDLER],
                imports: &[STDOUT],
                expected: Ok(()),
            },
            // Host names are skipped, versioned or not.
            Case {
                manifest: "",
                exports: &[HANDLER, "wasi:cli/run"],
                imports: &["wasi:io/error", "plugboard:plugin/kv@0.2.0"],
                expected: Ok(()),
            },
            Case {
                manifest: BOTH,
                exports: &[HANDLER, "acme:stats/api@1.0.0"],
                imports: &[STDOUT, "plugins:economy/api@1.0.0"],
                expected: Ok(()),
            },
            // Listed in `imports` but not imported: allowed.
            Case {
                manifest: BOTH,
                exports: &[HANDLER, "acme:stats/api@1.0.0"],
                imports: &[],
                expected: Ok(()),
            },
            Case {
                manifest: "",
                exports: &[HANDLER, "acme:stats/api@1.0.0"],
                imports: &[],
                expected: Err(InterfaceMismatch::ExportNotProvided {
                    name: "acme:stats/api@1.0.0".into(),
                }),
            },
            // Versions are compared exactly.
            Case {
                manifest: BOTH,
                exports: &[HANDLER, "acme:stats/api@1.1.0"],
                imports: &[],
                expected: Err(InterfaceMismatch::ExportNotProvided {
                    name: "acme:stats/api@1.1.0".into(),
                }),
            },
            Case {
                manifest: BOTH,
                exports: &[HANDLER],
                imports: &[],
                expected: Err(InterfaceMismatch::ProvidedNotExported {
                    name: "acme:stats/api@1.0.0".into(),
                }),
            },
            Case {
                manifest: BOTH,
                exports: &[HANDLER, "acme:stats/api@1.0.0"],
                imports: &["plugins:economy/api@2.0.0"],
                expected: Err(InterfaceMismatch::ImportNotListed {
                    name: "plugins:economy/api@2.0.0".into(),
                }),
            },
            Case {
                manifest: "",
                exports: &[HANDLER, "run"],
                imports: &[],
                expected: not_an_interface("run", true, "has no version"),
            },
            Case {
                manifest: "",
                exports: &[HANDLER],
                imports: &["acme:stats/api"],
                expected: not_an_interface("acme:stats/api", false, "has no version"),
            },
        ];
        for case in cases {
            let at = format!("{:?} {:?} {:?}", case.manifest, case.exports, case.imports);
            let actual =
                check_component_interfaces(&manifest(case.manifest), case.exports, case.imports);
            assert_eq!(actual, case.expected, "{at}");
        }
    }

    #[test]
    fn mismatches_name_the_interface_and_the_fix() {
        let cases = [
            (
                InterfaceMismatch::ExportNotProvided {
                    name: "acme:stats/api@1.0.0".into(),
                },
                "the component exports `acme:stats/api@1.0.0`, which plugin.toml does not list in `provides`; add it to provides, or stop exporting it",
            ),
            (
                InterfaceMismatch::ProvidedNotExported {
                    name: "acme:stats/api@1.0.0".into(),
                },
                "plugin.toml says it provides acme:stats/api@1.0.0 but the component does not export it; export the interface in the plugin's WIT world",
            ),
            (
                InterfaceMismatch::ImportNotListed {
                    name: "plugins:economy/api@2.0.0".into(),
                },
                "the component imports `plugins:economy/api@2.0.0`, which plugin.toml does not list in `imports`; add it to imports, and the plugin that provides it to [dependencies]",
            ),
            (
                InterfaceMismatch::NotAnInterface {
                    name: "run".into(),
                    exported: true,
                    problem: "has no version".into(),
                },
                "the component exports `run`, which is not a versioned WIT interface name: it has no version (plugins export whole interfaces of WIT packages with a version, such as `package acme:stats@1.0.0;`)",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
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
