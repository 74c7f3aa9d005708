//! Does `plugin.wasm` agree with `plugin.toml`?
//!
//! A plugin's manifest says which version of the `plugboard:plugin` WIT
//! contract the plugin was built against (`wit = "0.1"`). The registry and the
//! resolver trust that field to decide which hosts can run the plugin without
//! loading the component, so the packer and the unpacker check it against the
//! component itself:
//!
//! 1. The bytes must be a WebAssembly *component*, not a core module (what
//!    `wasm32-wasip1` or `wasm32-unknown-unknown` produce), and must pass
//!    [`wasmparser`]'s validator.
//! 2. The component must export an instance named
//!    `plugboard:plugin/handler@X.Y.Z`: that is how the component model names
//!    an exported WIT interface (`namespace:package/interface@version`), and
//!    the version is the contract the SDK was built against.
//! 3. That version must be one the manifest's `wit` describes, by
//!    [`contract_matches`]: the same release line, meaning the same major
//!    version, or for `0.x` the same minor (semver's rule that `0.1` and `0.2`
//!    are incompatible, as cargo's caret requirements have it); and a minor no
//!    newer than the manifest's. The second half matters from `1.x` on: a
//!    component built against `1.3` may use interfaces that `1.3` added, so a
//!    manifest saying `1.0` would let a `1.2` host install a plugin it then
//!    refuses to load. The patch number is ignored, as the runtime ignores it.
//! 4. The component's own interfaces must be the ones the manifest names:
//!    every top-level exported instance outside the host's namespaces is
//!    listed in `provides` and every `provides` entry is exported; every
//!    such imported instance is listed in `imports`. The rule is
//!    [`check_component_interfaces`], the same function the runtime calls
//!    when it loads a plugin.

use plugboard_registry_types::interfaces::check_component_interfaces;
use plugboard_registry_types::{Manifest, contract};
use semver::Version;
use wasmparser::{
    ComponentExternalKind, ComponentTypeRef, Parser, Payload, Validator, WasmFeatures,
};

use crate::PackageError;

pub use plugboard_registry_types::contract::HANDLER_EXPORT_PREFIX;

/// Checks that `wasm` is a valid component exporting
/// `plugboard:plugin/handler` at a version `manifest.wit` describes (see
/// [`contract_matches`]) and exporting and importing the interfaces the
/// manifest names (see [`check_component_interfaces`]), and returns the
/// contract version.
pub fn check_component(wasm: &[u8], manifest: &Manifest) -> Result<Version, PackageError> {
    let names = top_level_names(wasm)?;
    let exported = handler_versions(&names);
    let Some(found) = exported.iter().find(|v| contract_matches(&manifest.wit, v)) else {
        return Err(match exported.into_iter().next() {
            Some(component) => PackageError::WitMismatch {
                manifest: manifest.wit.clone(),
                component,
            },
            None => PackageError::NotAPlugin,
        });
    };
    let exports: Vec<&str> = names.exports.iter().map(String::as_str).collect();
    let imports: Vec<&str> = names.imports.iter().map(String::as_str).collect();
    check_component_interfaces(manifest, &exports, &imports)
        .map_err(|error| PackageError::Interfaces { error })?;
    Ok(found.clone())
}

/// The `plugboard:plugin` contract version a component was built against,
/// read from its `plugboard:plugin/handler@…` export. Checks that `wasm` is a
/// valid component that exports the handler.
pub fn component_contract(wasm: &[u8]) -> Result<Version, PackageError> {
    handler_versions(&top_level_names(wasm)?)
        .into_iter()
        .next()
        .ok_or(PackageError::NotAPlugin)
}

/// Whether a manifest declaring contract `declared` describes a component
/// built against contract `built`: whether the component loads on every host
/// that speaks `declared`, by the one rule of [`contract::loads_on`]. See
/// the [module documentation](self) for why.
pub fn contract_matches(declared: &Version, built: &Version) -> bool {
    plugboard_registry_types::contract::loads_on(built, declared)
}

/// The names of a component's top-level exports and imports.
struct TopLevelNames {
    /// Every export, whatever its kind, in export order.
    all_exports: Vec<String>,
    /// The exported instances (interfaces).
    exports: Vec<String>,
    /// The imported instances (interfaces).
    imports: Vec<String>,
}

/// The versions of every top-level `plugboard:plugin/handler@…` export, in
/// export order.
fn handler_versions(names: &TopLevelNames) -> Vec<Version> {
    // The validator has already checked that the version is semver.
    names
        .all_exports
        .iter()
        .filter_map(|name| contract::handler_version(name))
        .collect()
}

/// Validates `wasm` as a component and reads the names of its top-level
/// exports and imports.
fn top_level_names(wasm: &[u8]) -> Result<TopLevelNames, PackageError> {
    if Parser::is_core_wasm(wasm) {
        return Err(PackageError::NotAComponent);
    }
    if !Parser::is_component(wasm) {
        return Err(PackageError::InvalidWasm {
            problem: "it does not start with the WebAssembly component header".into(),
        });
    }
    // Every feature: this check is about shape and contract version, and the
    // runtime's compiler has the last word on which features it supports.
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(wasm)
        .map_err(|e| PackageError::InvalidWasm {
            problem: e.to_string(),
        })?;

    // Nested modules and components have export and import sections of
    // their own; only the outermost component's count.
    let invalid = |e: wasmparser::BinaryReaderError| PackageError::InvalidWasm {
        problem: e.to_string(),
    };
    let mut depth = 0usize;
    let mut names = TopLevelNames {
        all_exports: Vec::new(),
        exports: Vec::new(),
        imports: Vec::new(),
    };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(exports) if depth == 0 => {
                for export in exports {
                    let export = export.map_err(invalid)?;
                    let name = export.name.name.to_owned();
                    if export.kind == ComponentExternalKind::Instance {
                        names.exports.push(name.clone());
                    }
                    names.all_exports.push(name);
                }
            }
            Payload::ComponentImportSection(imports) if depth == 0 => {
                for import in imports {
                    let import = import.map_err(invalid)?;
                    if matches!(import.ty, ComponentTypeRef::Instance(_)) {
                        names.imports.push(import.name.name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use plugboard_registry_types::interfaces::InterfaceMismatch;
    use wasm_encoder::{
        Component, ComponentExportKind, ComponentExportSection, ComponentImportSection,
        ComponentInstanceSection, ComponentTypeRef, ComponentTypeSection, InstanceType,
        ModuleSection,
    };

    /// A minimal component: empty instances exported under `names`, plus a
    /// nested core module whose own exports must not count.
    pub(crate) fn component_exporting(names: &[&str]) -> Vec<u8> {
        component_with(names, &[])
    }

    /// As [`component_exporting`], also importing empty instances named
    /// `imports`.
    pub(crate) fn component_with(names: &[&str], imports: &[&str]) -> Vec<u8> {
        let mut component = Component::new();
        if !imports.is_empty() {
            let mut types = ComponentTypeSection::new();
            types.instance(&InstanceType::new());
            component.section(&types);
            let mut section = ComponentImportSection::new();
            for name in imports {
                section.import(*name, ComponentTypeRef::Instance(0));
            }
            component.section(&section);
        }
        component.section(&ModuleSection(&wasm_encoder::Module::new()));
        let mut instances = ComponentInstanceSection::new();
        for _ in names {
            instances.export_items(Vec::<(&str, ComponentExportKind, u32)>::new());
        }
        component.section(&instances);
        let mut exports = ComponentExportSection::new();
        for (i, name) in names.iter().enumerate() {
            let index = u32::try_from(i).expect("few exports");
            exports.export(*name, ComponentExportKind::Instance, index, None);
        }
        component.section(&exports);
        component.finish()
    }

    pub(crate) fn plugin_component(version: &str) -> Vec<u8> {
        component_exporting(&[&format!("{HANDLER_EXPORT_PREFIX}{version}")])
    }

    fn v(text: &str) -> Version {
        Version::parse(text).expect("test version")
    }

    #[test]
    fn reads_the_contract_version() -> Result<(), PackageError> {
        assert_eq!(component_contract(&plugin_component("0.1.0"))?, v("0.1.0"));
        let two = component_exporting(&[
            "plugboard:plugin/other@9.0.0",
            "plugboard:plugin/handler@1.4.2",
        ]);
        assert_eq!(component_contract(&two)?, v("1.4.2"));
        Ok(())
    }

    #[test]
    fn core_modules_are_refused_with_the_fix() {
        let err = component_contract(&wasm_encoder::Module::new().finish())
            .expect_err("a core module is not a plugin");
        assert!(matches!(err, PackageError::NotAComponent), "{err:?}");
        assert!(err.to_string().contains("--target wasm32-wasip2"), "{err}");
    }

    #[test]
    fn garbage_and_broken_components_are_refused() {
        let err = component_contract(b"#!/bin/sh\necho hi\n").expect_err("not wasm");
        assert!(matches!(err, PackageError::InvalidWasm { .. }), "{err:?}");

        let mut truncated = plugin_component("0.1.0");
        truncated.truncate(truncated.len() - 3);
        let err = component_contract(&truncated).expect_err("truncated");
        assert!(matches!(err, PackageError::InvalidWasm { .. }), "{err:?}");
    }

    #[test]
    fn components_without_the_handler_are_not_plugins() {
        for names in [&[][..], &["wasi:cli/run@0.2.0"][..]] {
            let err = component_contract(&component_exporting(names)).expect_err("no handler");
            assert!(
                matches!(err, PackageError::NotAPlugin),
                "{names:?}: {err:?}"
            );
        }
    }

    #[test]
    fn contract_rule() {
        let cases = [
            ("0.1.0", "0.1.0", true),
            ("0.1.0", "0.1.7", true),
            ("0.1.5", "0.1.0", true),
            ("0.1.0", "0.2.0", false),
            ("0.2.0", "0.1.0", false),
            ("0.1.0", "1.0.0", false),
            ("1.0.0", "1.0.3", true),
            ("1.3.0", "1.0.0", true),
            ("1.0.0", "1.3.0", false),
            ("1.0.0", "2.0.0", false),
            ("2.0.0", "1.0.0", false),
        ];
        for (declared, built, expected) in cases {
            assert_eq!(
                contract_matches(&v(declared), &v(built)),
                expected,
                "declared {declared}, built {built}"
            );
        }
    }

    fn manifest(wit: &str) -> Manifest {
        Manifest::from_toml(&format!(
            "name = \"echo\"\nversion = \"0.1.0\"\ndescription = \"d\"\nwit = \"{wit}\"\n"
        ))
        .expect("test manifest")
    }

    #[test]
    fn the_manifest_must_agree_with_the_component() -> Result<(), PackageError> {
        assert_eq!(
            check_component(&plugin_component("0.1.0"), &manifest("0.1"))?,
            v("0.1.0")
        );
        let err = check_component(&plugin_component("1.0.0"), &manifest("0.1"))
            .expect_err("1.0 component, 0.1 manifest");
        assert!(
            matches!(&err, PackageError::WitMismatch { manifest, component }
                if *manifest == v("0.1.0") && *component == v("1.0.0")),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("wit = \"0.1\""), "{text}");
        assert!(text.contains("plugboard:plugin@1.0.0"), "{text}");
        assert!(text.contains("set wit = \"1.0\""), "{text}");
        Ok(())
    }

    fn manifest_with(extra: &str) -> Manifest {
        Manifest::from_toml(&format!(
            "name = \"stats\"\nversion = \"1.0.0\"\ndescription = \"d\"\nwit = \"0.2\"\n{extra}\n[dependencies]\neconomy = \"^1\"\n"
        ))
        .expect("test manifest")
    }

    #[test]
    fn the_components_interfaces_must_be_the_manifests() -> Result<(), PackageError> {
        const HANDLER: &str = "plugboard:plugin/handler@0.2.0";
        let both = manifest_with(
            "provides = [\"acme:stats/api@1.0.0\"]\nimports = [\"plugins:economy/api@1.0.0\"]",
        );
        let agreeing = component_with(
            &[HANDLER, "acme:stats/api@1.0.0"],
            &["wasi:cli/stdout@0.2.6", "plugins:economy/api@1.0.0"],
        );
        assert_eq!(check_component(&agreeing, &both)?, v("0.2.0"));

        let cases = [
            (
                component_with(&[HANDLER], &[]),
                InterfaceMismatch::ProvidedNotExported {
                    name: "acme:stats/api@1.0.0".into(),
                },
            ),
            (
                component_with(
                    &[HANDLER, "acme:stats/api@1.0.0", "acme:stats/admin@1.0.0"],
                    &[],
                ),
                InterfaceMismatch::ExportNotProvided {
                    name: "acme:stats/admin@1.0.0".into(),
                },
            ),
            (
                component_with(
                    &[HANDLER, "acme:stats/api@1.0.0"],
                    &["plugins:economy/api@2.0.0"],
                ),
                InterfaceMismatch::ImportNotListed {
                    name: "plugins:economy/api@2.0.0".into(),
                },
            ),
        ];
        for (wasm, expected) in cases {
            let err = check_component(&wasm, &both).expect_err("disagrees");
            match &err {
                PackageError::Interfaces { error } => assert_eq!(error, &expected),
                other => panic!("expected {expected:?}, got {other:?}"),
            }
            assert!(
                err.to_string()
                    .starts_with("plugin.wasm does not match plugin.toml: "),
                "{err}"
            );
        }

        // A name outside the host's namespaces that is no interface name.
        let err = check_component(&component_with(&[HANDLER, "stats"], &[]), &both)
            .expect_err("bare export");
        let text = err.to_string();
        assert!(
            text.contains("exports `stats`, which is not a versioned WIT interface name"),
            "{text}"
        );
        // The contract is checked first.
        let err = check_component(
            &component_with(&["plugboard:plugin/handler@0.1.0"], &[]),
            &both,
        )
        .expect_err("wrong contract");
        assert!(matches!(err, PackageError::WitMismatch { .. }), "{err:?}");
        Ok(())
    }
}
