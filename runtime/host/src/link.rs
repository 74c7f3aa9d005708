//! Plugins that call each other: a plugin exports an interface of its own
//! (its manifest's `provides`), another imports it (`imports`), and the
//! host links each import to the provider's export.
//!
//! wasmtime cannot link one component's export into another's import, and
//! each plugin keeps its own `Store` (a trap poisons the store it happens
//! in), so every call crosses the host: the dependent's import is a host
//! function (`func_new_async`) that copies the arguments as
//! [`Val`]s into an instance of the provider, in the provider's store, under
//! the provider's grants, memory, CPU budget and KV, and copies the result
//! back. What this module decides:
//!
//! * **Shapes** (`provided`, [`imported`]): only plain values cross
//!   (resources, streams and futures are handles into one store and are
//!   refused at load), and every provided function returns
//!   `result<_, string>`, so that a failure of the provider (a trap, a
//!   budget, its deadline) reaches the caller as an error value, never as a
//!   trap of the caller.
//! * **Types** ([`check_link`]): each function a dependent imports must have
//!   exactly the type the provider exports, checked at load.
//! * **Calls** ([`define_imports`]): the provider is looked up by name in
//!   [`Providers`] on each call, so replacing it (an update under a running
//!   bot) relinks its dependents; a call never outlives the caller's
//!   deadline, and a call chain that comes back to a plugin already on it
//!   is refused.
//!
//! It must not decide load order or which dependency provides what: the
//! bot does, from the manifests, and hands each dependent its [`Link`]s.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

use plugboard_registry_types::Manifest;
use plugboard_registry_types::interfaces::{InterfaceName, check_component_interfaces};
use wasmtime::component::types::{ComponentFunc, ComponentItem, Type};
use wasmtime::component::{Component, ComponentExportIndex, Linker, Val};

use crate::plugin::LoadedPlugin;
use crate::state::HostState;

/// Most plugins one call chain may pass through (A calls B calls C …).
pub const MAX_CALL_DEPTH: usize = 4;

/// The plugins that provide interfaces, by name, as the running bot has
/// them now. Dependents look their provider up here on every call.
#[derive(Default)]
pub struct Providers {
    plugins: RwLock<HashMap<String, Weak<LoadedPlugin>>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plugins = self.plugins.read().unwrap_or_else(|p| p.into_inner());
        f.debug_set().entries(plugins.keys()).finish()
    }
}

impl Providers {
    /// An empty set, to be shared by every plugin of one bot.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Makes `plugins` the providers from now on (those that provide
    /// nothing are skipped); calls already running finish where they
    /// started.
    pub fn replace(&self, plugins: &[Arc<LoadedPlugin>]) {
        let map = plugins
            .iter()
            .filter(|p| !p.manifest().provides.is_empty())
            .map(|p| (p.name().to_owned(), Arc::downgrade(p)))
            .collect();
        *self.plugins.write().unwrap_or_else(|p| p.into_inner()) = map;
    }

    fn get(&self, name: &str) -> Option<Arc<LoadedPlugin>> {
        self.plugins
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .and_then(Weak::upgrade)
    }
}

/// One interface a dependent imports, and the plugin the bot chose to
/// provide it (one of its dependencies).
#[derive(Clone)]
pub struct Link {
    /// The interface as the dependent imports it.
    pub interface: InterfaceName,
    /// The provider as loaded now (its exported types are checked against
    /// the import at load).
    pub provider: Arc<LoadedPlugin>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} from {}", self.interface, self.provider.name())
    }
}

/// The functions of one interface a component exports or imports.
#[derive(Clone)]
pub struct InterfaceFuncs {
    /// The interface.
    pub name: InterfaceName,
    /// `name` without its version, what a call names it by.
    pub unversioned: String,
    /// Each function, by name, with its type (and, when exported, where
    /// it is).
    pub funcs: HashMap<String, (ComponentFunc, Option<ComponentExportIndex>)>,
}

/// Why a plugin's interfaces do not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LinkError(pub String);

/// Whether an import or export name belongs to the host (WASI, the
/// Plugboard contract) rather than to another plugin; meaningful after
/// [`check_component_interfaces`], which refuses a name that is neither.
fn is_host(name: &str) -> bool {
    name.parse::<InterfaceName>()
        .map_or(true, |n| n.is_reserved())
}

/// The interfaces a provider exports, each with its functions: each
/// carries only plain values, and every function returns
/// `result<_, string>`. Call it through [`check_provided`], which first
/// checks the names against the manifest.
fn provided(
    engine: &wasmtime::Engine,
    component: &Component,
    manifest: &Manifest,
) -> Result<Vec<InterfaceFuncs>, LinkError> {
    let declared = manifest.provided_interfaces();
    let ty = component.component_type();
    let mut out = Vec::new();
    for (export, item) in ty.exports(engine) {
        if is_host(export) {
            continue;
        }
        // Every export is listed (checked by `check_component_interfaces`).
        let Some(name) = declared.iter().find(|d| d.to_string() == export) else {
            continue;
        };
        let ComponentItem::ComponentInstance(instance) = &item.ty else {
            return Err(LinkError(format!(
                "`{export}` is exported as a bare item; export it as a WIT interface"
            )));
        };
        let Some((_, instance_index)) = component.get_export(None, export) else {
            return Err(LinkError(format!(
                "`{export}` cannot be found in the component"
            )));
        };
        let mut funcs = HashMap::new();
        for (func, f) in instance.exports(engine) {
            let ComponentItem::ComponentFunc(f) = f.ty else {
                if matches!(f.ty, ComponentItem::Type(_)) {
                    continue;
                }
                return Err(LinkError(format!(
                    "`{export}` exports `{func}`, which is not a function; an interface other plugins call holds functions and plain types only (no resources)"
                )));
            };
            let at = format!("`{export}#{func}`");
            check_shape(&f).map_err(|problem| LinkError(format!("{at} {problem}")))?;
            let index = component
                .get_export_index(Some(&instance_index), func)
                .ok_or_else(|| LinkError(format!("{at} cannot be found in the component")))?;
            funcs.insert(func.to_owned(), (f, Some(index)));
        }
        out.push(InterfaceFuncs {
            unversioned: name.unversioned(),
            name: name.clone(),
            funcs,
        });
    }
    Ok(out)
}

/// The interfaces of other plugins a component imports, with the
/// functions it imports from each.
pub fn imported(
    engine: &wasmtime::Engine,
    component: &Component,
) -> Result<Vec<InterfaceFuncs>, LinkError> {
    let ty = component.component_type();
    let mut out = Vec::new();
    for (import, item) in ty.imports(engine) {
        if is_host(import) {
            continue;
        }
        let Ok(name) = import.parse::<InterfaceName>() else {
            continue;
        };
        let ComponentItem::ComponentInstance(instance) = &item.ty else {
            return Err(LinkError(format!(
                "`{import}` is imported as a bare item; import it as a WIT interface"
            )));
        };
        let mut funcs = HashMap::new();
        for (func, f) in instance.exports(engine) {
            match f.ty {
                ComponentItem::ComponentFunc(f) => {
                    funcs.insert(func.to_owned(), (f, None));
                }
                ComponentItem::Type(_) => {}
                _ => {
                    return Err(LinkError(format!(
                        "`{import}#{func}` is not a function; plugins exchange functions and plain types only"
                    )));
                }
            }
        }
        out.push(InterfaceFuncs {
            unversioned: name.unversioned(),
            name,
            funcs,
        });
    }
    Ok(out)
}

/// A provider as linking sees it: its manifest, and the interfaces its
/// component exports (from `provided`).
#[derive(Clone, Copy)]
pub struct Offer<'a> {
    /// The provider's manifest.
    pub manifest: &'a Manifest,
    /// What its component exports.
    pub provided: &'a [InterfaceFuncs],
}

/// Which of `manifest`'s dependencies provides `interface`: the first, in
/// name order, whose manifest provides a version that satisfies it.
/// `dependency(name)` gives a dependency's manifest as the caller has it
/// (`Ok(None)`: not there; `Err(why)`: there, but it failed). An error
/// when the dependency that provides it does so at an incompatible
/// version; `Ok(None)` when no dependency provides it at all
/// ([`check_interfaces`] names that). The one rule for the bot at load and
/// the package manager at install.
pub fn choose_provider<'a>(
    manifest: &Manifest,
    interface: &InterfaceName,
    dependency: &dyn Fn(&str) -> Result<Option<&'a Manifest>, String>,
) -> Result<Option<&'a Manifest>, LinkError> {
    // A dependency that provides the interface at another major version.
    let mut incompatible = None;
    for (name, wanted) in &manifest.dependencies {
        let provider = match dependency(name) {
            Ok(Some(provider)) => provider,
            Ok(None) => continue,
            Err(why) => {
                return Err(LinkError(format!(
                    "it needs `{name}` for `{interface}`, which did not load: {why}"
                )));
            }
        };
        let provided = provider.provided_interfaces();
        if !provided.iter().any(|p| p.satisfies(interface)) {
            if let Some(other) = provided
                .iter()
                .find(|p| p.unversioned() == interface.unversioned())
            {
                incompatible.get_or_insert_with(|| {
                    format!(
                        "it imports `{interface}`, but `{name}` {} provides `{other}`, which is not compatible with it; install a version of `{name}` whose `{}` is compatible with {}",
                        provider.version,
                        interface.unversioned(),
                        interface.version
                    )
                });
            }
            continue;
        }
        let version = &provider.version;
        if !wanted.matches(version) {
            return Err(LinkError(format!(
                "it needs `{name}` {wanted} for `{interface}`, but `{name}` {version} is installed; update one of them"
            )));
        }
        return Ok(Some(provider));
    }
    incompatible.map_or(Ok(None), |why| Err(LinkError(why)))
}

/// Checks a component's own interfaces against its manifest, and each
/// interface it imports against the provider `offer` gives for it (the
/// one [`choose_provider`] chose; `None`: nobody provides it). Returns
/// what it provides and what it imports. `contract`: the contract version
/// the component speaks (providing needs 0.2 or later).
pub fn check_interfaces<'a>(
    engine: &wasmtime::Engine,
    component: &Component,
    manifest: &Manifest,
    contract: &semver::Version,
    offer: &dyn Fn(&InterfaceName) -> Option<Offer<'a>>,
) -> Result<(Vec<InterfaceFuncs>, Vec<InterfaceFuncs>), LinkError> {
    let provided = check_provided(engine, component, manifest, contract)?;
    let imports = check_imports(engine, component, offer)?;
    Ok((provided, imports))
}

/// The provider's half of [`check_interfaces`]: the component's own
/// interface names checked against its manifest by the registry's rule
/// ([`check_component_interfaces`]: what it exports is what `provides`
/// lists, what it imports from plugins is what `imports` lists), then
/// what it provides (see `provided`).
pub fn check_provided(
    engine: &wasmtime::Engine,
    component: &Component,
    manifest: &Manifest,
    contract: &semver::Version,
) -> Result<Vec<InterfaceFuncs>, LinkError> {
    let ty = component.component_type();
    let exports: Vec<&str> = ty.exports(engine).map(|(name, _)| name).collect();
    let imports: Vec<&str> = ty.imports(engine).map(|(name, _)| name).collect();
    check_component_interfaces(manifest, &exports, &imports)
        .map_err(|e| LinkError(e.to_string()))?;
    if manifest.provides.is_empty() {
        return Ok(Vec::new());
    }
    if !plugboard_registry_types::contract::loads_on(contract, &crate::v0_2::version()) {
        return Err(LinkError(format!(
            "`provides` needs contract {}; rebuild the plugin with the current plugboard-sdk",
            crate::v0_2::version()
        )));
    }
    provided(engine, component, manifest)
}

/// The dependent's half of [`check_interfaces`]: what the component
/// imports, each checked against the provider `offer` gives for it. Call
/// [`check_provided`] on the component first: it checks the names.
pub fn check_imports<'a>(
    engine: &wasmtime::Engine,
    component: &Component,
    offer: &dyn Fn(&InterfaceName) -> Option<Offer<'a>>,
) -> Result<Vec<InterfaceFuncs>, LinkError> {
    let imports = imported(engine, component)?;
    for import in &imports {
        let Some(offer) = offer(&import.name) else {
            return Err(LinkError(format!(
                "it imports `{}`, which none of its dependencies provides; add the plugin that provides it to `dependencies` and install it",
                import.name
            )));
        };
        let provider = &offer.manifest.name;
        let Some(export) = offer
            .provided
            .iter()
            .find(|p| p.name.satisfies(&import.name))
        else {
            return Err(LinkError(format!(
                "it imports `{}`, which `{provider}` {} does not provide; it provides {}",
                import.name,
                offer.manifest.version,
                if offer.manifest.provides.is_empty() {
                    "nothing".to_owned()
                } else {
                    offer.manifest.provides.join(", ")
                }
            )));
        };
        check_link(import, provider, export)?;
    }
    Ok(imports)
}

/// A provided function's shape: synchronous, plain values only, one
/// `result<_, string>` result.
fn check_shape(f: &ComponentFunc) -> Result<(), String> {
    if f.async_() {
        return Err("is an `async func`; functions other plugins call must be synchronous".into());
    }
    for (param, ty) in f.params() {
        check_plain(&ty).map_err(|problem| format!("takes `{param}`, which {problem}"))?;
    }
    let mut results = f.results();
    let ok = results.len() == 1
        && matches!(results.next(), Some(Type::Result(r))
            if matches!(r.err(), Some(Type::String))
                && r.ok().as_ref().map_or(Ok(()), check_plain).is_ok());
    if !ok {
        return Err(
            "must return `result<T, string>` (T plain values): a failure of the provider reaches its caller as the error".into(),
        );
    }
    Ok(())
}

/// Refuses values that are handles into one store (resources, futures,
/// streams): they mean nothing in another plugin's store.
fn check_plain(ty: &Type) -> Result<(), String> {
    match ty {
        Type::Own(_) | Type::Borrow(_) => {
            Err("is a resource; resources cannot cross plugins (each has its own store): pass an id instead".into())
        }
        Type::Future(_) | Type::Stream(_) | Type::ErrorContext => {
            Err("is a future, stream or error-context, which cannot cross plugins".into())
        }
        Type::List(l) => check_plain(&l.ty()),
        Type::FixedLengthList(l) => check_plain(&l.ty()),
        Type::Map(m) => check_plain(&m.key()).and_then(|()| check_plain(&m.value())),
        Type::Record(r) => r.fields().try_for_each(|f| check_plain(&f.ty)),
        Type::Tuple(t) => t.types().try_for_each(|t| check_plain(&t)),
        Type::Variant(v) => v
            .cases()
            .try_for_each(|c| c.ty.as_ref().map_or(Ok(()), check_plain)),
        Type::Option(o) => check_plain(&o.ty()),
        Type::Result(r) => {
            r.ok().as_ref().map_or(Ok(()), check_plain)?;
            r.err().as_ref().map_or(Ok(()), check_plain)
        }
        _ => Ok(()),
    }
}

/// Checks what a dependent imports from one interface against what its
/// provider exports: every imported function exists there with the same
/// type.
pub fn check_link(
    import: &InterfaceFuncs,
    provider: &str,
    export: &InterfaceFuncs,
) -> Result<(), LinkError> {
    for (func, (want, _)) in &import.funcs {
        let at = format!("`{}#{func}`", import.name);
        let Some((have, _)) = export.funcs.get(func) else {
            return Err(LinkError(format!(
                "imports {at}, but `{provider}` ({}) does not export `{func}`; update `{provider}` or the plugin",
                export.name
            )));
        };
        // Plain values only on the provider's side (checked at its load);
        // the same check here keeps `Type`'s comparison off resources.
        check_shape(want).map_err(|problem| LinkError(format!("imports {at}, which {problem}")))?;
        let same = want.params().len() == have.params().len()
            && want
                .params()
                .zip(have.params())
                .all(|((an, a), (bn, b))| an == bn && a == b)
            && want.results().len() == have.results().len()
            && want.results().zip(have.results()).all(|(a, b)| a == b);
        if !same {
            return Err(LinkError(format!(
                "imports {at} with a type that `{provider}` ({}) does not export; they were built against different versions of the interface",
                export.name
            )));
        }
    }
    Ok(())
}

/// Defines a host function in `linker` for every function `plugin`
/// imports through `links`: each call goes to the provider the bot has
/// now (looked up in `providers`), and a failure comes back as the
/// function's error value.
pub fn define_imports(
    linker: &mut Linker<HostState>,
    imports: &[InterfaceFuncs],
    links: &[Link],
    providers: &Arc<Providers>,
) -> Result<(), LinkError> {
    for import in imports {
        let Some(link) = links.iter().find(|l| l.interface == import.name) else {
            continue;
        };
        let provider_name = link.provider.name().to_owned();
        let interface: Arc<str> = import.unversioned.as_str().into();
        let mut instance = linker
            .instance(&import.name.to_string())
            .map_err(|e| LinkError(format!("cannot link `{}`: {e:#}", import.name)))?;
        for func in import.funcs.keys() {
            let providers = Arc::downgrade(providers);
            let provider_name = provider_name.clone();
            let interface = Arc::clone(&interface);
            let func_name: Arc<str> = func.as_str().into();
            instance
                .func_new_async(func, move |store, ty, params, results| {
                    let providers = providers.clone();
                    let provider_name = provider_name.clone();
                    let interface = Arc::clone(&interface);
                    let func_name = Arc::clone(&func_name);
                    Box::new(async move {
                        let mut store = store;
                        let caller = store.data();
                        let deadline = caller.cpu.deadline;
                        let mut chain = caller.event.chain.to_vec();
                        chain.push(Arc::clone(&caller.plugin.name));
                        let provider = providers.upgrade().and_then(|p| p.get(&provider_name));
                        let outcome = match provider {
                            None => Err(format!("`{provider_name}` is not running")),
                            Some(provider) => provider
                                .call_export(
                                    &interface,
                                    &func_name,
                                    params,
                                    results.len(),
                                    deadline,
                                    chain.into(),
                                )
                                .await
                                .map_err(|failure| format!("`{provider_name}` {failure}")),
                        };
                        match outcome {
                            Ok((values, written)) if values.len() == results.len() => {
                                // The caller's event flushes the store once
                                // before its answers go out.
                                store.data_mut().event.store_written |= written;
                                results.clone_from_slice(&values);
                                Ok(())
                            }
                            Ok(_) => error_value(
                                &ty,
                                results,
                                format!("`{provider_name}` returned the wrong number of results"),
                            ),
                            Err(why) => error_value(&ty, results, why),
                        }
                    })
                })
                .map_err(|e| LinkError(format!("cannot link `{}#{func}`: {e:#}", import.name)))?;
        }
    }
    Ok(())
}

/// Answers a call with its error value (every linked function returns
/// `result<_, string>`, checked at load).
fn error_value(ty: &ComponentFunc, results: &mut [Val], why: String) -> wasmtime::Result<()> {
    let is_result = matches!(ty.results().next(), Some(Type::Result(_)));
    match results.first_mut() {
        Some(slot) if is_result => {
            *slot = Val::Result(Err(Some(Box::new(Val::String(why)))));
            Ok(())
        }
        _ => Err(wasmtime::format_err!(why)),
    }
}
