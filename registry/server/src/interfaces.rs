//! The interfaces plugins provide to each other, as the registry checks and
//! shows them.
//!
//! * At publish, [`check_imports`] refuses a plugin whose `imports` no
//!   published, not yanked version of its dependencies (within the
//!   requirement) serves, by the same rules the resolver applies
//!   ([`imports_from`], [`IndexEntry::provides_for`]); and
//!   [`provided_wit`] decodes the WIT of each interface the plugin provides
//!   from its component, once, to store with the version.
//! * The plugin page and `GET /api/v1/plugins/<name>` show what a plugin
//!   provides (with that WIT), what it imports and from which dependency
//!   ([`imported`]), and which plugins use it ([`used_by`]).

use plugboard_registry_types::api::{ImportedInterface, ProvidedInterface};
use plugboard_registry_types::index::{describe_provided, imports_from};
use plugboard_registry_types::{IndexEntry, Manifest};
use wit_component::{DecodedWasm, Output, WitPrinter};

use crate::error::{AppError, StoreError};
use crate::store::Registry;

/// Refuses `manifest` when one of its `imports` is not served: every
/// import must come from a dependency that provides its interface in some
/// published version, and a published, not yanked version of that
/// dependency within the requirement must provide it at a compatible
/// version. The error names the interface, the dependency and what its
/// versions provide.
pub(crate) fn check_imports(registry: &Registry, manifest: &Manifest) -> Result<(), AppError> {
    let imports = manifest.imported_interfaces();
    if imports.is_empty() {
        return Ok(());
    }
    let name = &manifest.name;
    let mut served = vec![false; imports.len()];
    for (dep, req) in &manifest.dependencies {
        let entries = registry.index_entries(dep)?;
        let usable: Vec<&IndexEntry> = entries
            .iter()
            .filter(|e| !e.yanked && req.matches(&e.version))
            .collect();
        let from = imports_from(&imports, &entries);
        for wanted in &from {
            if let Some(i) = imports.iter().position(|i| i == *wanted) {
                served[i] = true;
            }
        }
        // One version must serve them all, as the resolver will choose one.
        if from.is_empty()
            || usable
                .iter()
                .any(|e| from.iter().all(|w| e.provides_for(w)))
        {
            continue;
        }
        let fix = format!(
            "publish {dep} first (a version that provides it), or change `imports` or the \
             requirement in [dependencies]"
        );
        return Err(AppError::unprocessable(
            match from
                .iter()
                .find(|w| !usable.iter().any(|e| e.provides_for(w)))
            {
                Some(wanted) => format!(
                    "`{name}` imports {wanted}, but no published version of {dep} matching {req} \
                     provides it ({}); {fix}",
                    describe_provided(&usable, wanted)
                ),
                None => {
                    let list: Vec<String> = from.iter().map(ToString::to_string).collect();
                    format!(
                        "`{name}` imports {}, but no single published version of {dep} matching \
                         {req} provides them all; {fix}",
                        list.join(" and ")
                    )
                }
            },
        ));
    }
    if let Some(i) = served.iter().position(|s| !s) {
        let deps: Vec<&str> = manifest.dependencies.keys().map(String::as_str).collect();
        return Err(AppError::unprocessable(format!(
            "`{name}` imports {}, but none of its dependencies ({}) provides it in any published \
             version; add the plugin that provides it to [dependencies] and publish it first",
            imports[i],
            deps.join(", ")
        )));
    }
    Ok(())
}

/// The interfaces `manifest` provides, each with its WIT decoded from
/// `component` (the checked `plugin.wasm`): the package line and the one
/// interface, doc comments included when the component carries them. An
/// interface whose WIT cannot be decoded is kept without it.
pub(crate) fn provided_wit(component: &[u8], manifest: &Manifest) -> Vec<ProvidedInterface> {
    if manifest.provides.is_empty() {
        return Vec::new();
    }
    let decoded = match wit_component::decode(component) {
        Ok(decoded @ DecodedWasm::Component(..)) => Some(decoded),
        Ok(DecodedWasm::WitPackage(..)) => None,
        Err(error) => {
            tracing::warn!(
                plugin = %manifest.name,
                "the component's WIT could not be decoded: {error:#}"
            );
            None
        }
    };
    manifest
        .provides
        .iter()
        .map(|name| ProvidedInterface {
            name: name.clone(),
            wit: decoded
                .as_ref()
                .and_then(|decoded| print_interface(decoded, name)),
        })
        .collect()
}

/// `package namespace:package@version;` and the interface `name`
/// (`namespace:package/interface@version`) as WIT, or `None` when the
/// component has no such interface.
fn print_interface(decoded: &DecodedWasm, name: &str) -> Option<String> {
    let resolve = decoded.resolve();
    let (id, interface) = resolve
        .interfaces
        .iter()
        .find(|(id, _)| resolve.id_of(*id).as_deref() == Some(name))?;
    let package = &resolve.packages[interface.package?];
    let mut printer = WitPrinter::default();
    printer.print_package_outer(package).ok()?;
    printer.output.semicolon();
    printer.output.newline();
    printer
        .print_interface_outer(resolve, id, interface.name.as_deref()?)
        .ok()?;
    printer.output.indent_start();
    printer.print_interface(resolve, id).ok()?;
    printer.output.indent_end();
    Some(printer.output.to_string())
}

/// The interfaces `entry` imports, each with the dependency that provides
/// it (by [`imports_from`]: the first, by name, that provides it in some
/// published version).
pub(crate) fn imported(
    registry: &Registry,
    entry: &IndexEntry,
) -> Result<Vec<ImportedInterface>, StoreError> {
    let imports = entry.imported_interfaces();
    let mut providers: Vec<Option<String>> = vec![None; imports.len()];
    for dep in entry.deps.keys() {
        if providers.iter().all(Option::is_some) {
            break;
        }
        let entries = registry.index_entries(dep)?;
        for wanted in imports_from(&imports, &entries) {
            if let Some(i) = imports.iter().position(|i| i == wanted) {
                providers[i].get_or_insert_with(|| dep.clone());
            }
        }
    }
    Ok(imports
        .iter()
        .zip(providers)
        .map(|(name, provider)| ImportedInterface {
            name: name.to_string(),
            provider,
        })
        .collect())
}

/// The listed plugins whose newest usable version depends on `name`, by
/// name.
pub(crate) fn used_by(registry: &Registry, name: &str) -> Result<Vec<String>, StoreError> {
    let catalog = registry.catalog()?;
    let mut users: Vec<String> = catalog
        .listed()
        .filter(|p| p.deps.iter().any(|d| d == name))
        .map(|p| p.name.clone())
        .collect();
    users.sort();
    Ok(users)
}
