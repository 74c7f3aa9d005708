//! Bindings and host implementation for `plugboard:plugin@0.2.x`.
//!
//! The host side of the imports every version shares (`config`, `http`,
//! `kv`, `logging`, `messaging`), the conversions of the shared records and
//! the calls into `handler` are compiled from `src/shared/` into this
//! module. What is 0.2's own: `event.rs`, the lean shape of an event (a
//! command is its name, arguments and locale; the message behind it is
//! read through `current-event` only by plugins that need it);
//! `schedule.rs`, the plugin's durable timers; and `people.rs`, whether
//! the sender holds a role. Every import checks the permission
//! it needs and answers a refusal with a guest-visible `host-error`, never
//! a trap.

// `src/shared/` is compiled once per contract version on purpose: each
// version's module gives it its own `bindgen!` types.
#![allow(clippy::duplicate_mod)]

use std::sync::atomic::{AtomicBool, Ordering};

use semver::Version;
use wasmtime::Store;
use wasmtime::component::{ComponentExportIndex, Func, InstancePre, TypedFunc};

use crate::state::HostState;

#[path = "../shared/call.rs"]
pub(crate) mod call;
#[path = "../shared/config.rs"]
mod config;
#[path = "../shared/convert.rs"]
mod convert;
mod current_event;
mod event;
#[path = "../shared/http.rs"]
mod http;
#[path = "../shared/kv.rs"]
mod kv;
#[path = "../shared/logging.rs"]
mod logging;
#[path = "../shared/messaging.rs"]
mod messaging;
mod people;
mod schedule;

/// What `bindgen!` generates from `wit/0.2/` (documented in the WIT itself).
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/0.2",
        world: "plugin",
        imports: {
            "plugboard:plugin/http.fetch": async,
            "plugboard:plugin/people.sender-has-role": async,
        },
        exports: { default: async },
    });
}
pub use bindings::*;

/// The `webhooks` export of `plugin-with-webhooks` (the rest of the world
/// is `bindings`' own types).
#[allow(missing_docs)]
mod webhook_bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/0.2",
        world: "plugin-with-webhooks",
        with: {
            "plugboard:plugin/types": super::bindings::plugboard::plugin::types,
            "plugboard:plugin/logging": super::bindings::plugboard::plugin::logging,
            "plugboard:plugin/kv": super::bindings::plugboard::plugin::kv,
            "plugboard:plugin/config": super::bindings::plugboard::plugin::config,
            "plugboard:plugin/messaging": super::bindings::plugboard::plugin::messaging,
            "plugboard:plugin/http": super::bindings::plugboard::plugin::http,
            "plugboard:plugin/current-event": super::bindings::plugboard::plugin::current_event,
            "plugboard:plugin/schedule": super::bindings::plugboard::plugin::schedule,
            "plugboard:plugin/people": super::bindings::plugboard::plugin::people,
        },
        exports: { default: async },
    });
}
use webhook_bindings::exports::plugboard::plugin::webhooks;

pub use plugboard::plugin::types as wit;

/// The contract version these bindings were generated from.
pub fn version() -> Version {
    Version::new(0, 2, 0)
}

/// Adds this version's imports to `linker`.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)
}

impl wit::Host for HostState {}

pub(crate) use convert::event_to_wit;
pub use convert::{action_bytes, actions_from_wit};

/// What `handle` returns.
type Handled = Result<Vec<wit::Action>, wit::PluginError>;

/// `handle` as the host calls it: with a [`event::Lowered`] event.
type HandleFunc<'a> = TypedFunc<(&'a event::Lowered<'a>,), (Handled,)>;

/// A 0.2 component linked and ready to instantiate, with where its
/// `handle` is (called directly, not through bindgen's `call_handle`, so
/// that a command's strings are lowered without being copied first).
pub(crate) struct Pre {
    instance_pre: InstancePre<HostState>,
    indices: PluginIndices,
    /// Where its `webhooks` export is, when it has one.
    webhooks: Option<webhooks::GuestIndices>,
    handle: ComponentExportIndex,
    /// Whether `handle`'s type was checked against [`HandleFunc`] (on the
    /// first instance: every instance of a component has the same types).
    checked: AtomicBool,
}

impl Pre {
    /// Looks up the exports of a linked component.
    pub(crate) fn new(instance_pre: InstancePre<HostState>) -> wasmtime::Result<Self> {
        let indices = PluginIndices::new(&instance_pre)?;
        let interface = format!("{}/handler@{}", crate::engine::WIT_PACKAGE, version());
        let component = instance_pre.component();
        let handle = component
            .get_export_index(None, &interface)
            .and_then(|i| component.get_export_index(Some(&i), "handle"))
            .ok_or_else(|| wasmtime::format_err!("no export `{interface}#handle`"))?;
        let webhooks = webhooks::GuestIndices::new(&instance_pre).ok();
        Ok(Pre {
            instance_pre,
            indices,
            webhooks,
            handle,
            checked: AtomicBool::new(false),
        })
    }
}

/// A 0.2 instance's exports.
pub(crate) struct Exports {
    plugin: Plugin,
    /// Its `webhooks`, when it exports them.
    webhooks: Option<webhooks::Guest>,
    handle: Func,
    /// The instance itself, for the interfaces it provides to other
    /// plugins (see `crate::link`).
    pub(crate) instance: wasmtime::component::Instance,
}

/// Instantiates a 0.2 component (its `init` not run yet).
pub(crate) async fn instantiate(
    pre: &Pre,
    store: &mut Store<HostState>,
) -> wasmtime::Result<Exports> {
    let instance = pre.instance_pre.instantiate_async(&mut *store).await?;
    let plugin = pre.indices.load(&mut *store, &instance)?;
    let handle = if pre.checked.load(Ordering::Acquire) {
        instance
            .get_func(&mut *store, pre.handle)
            .ok_or_else(|| wasmtime::format_err!("the instance lost its `handle` export"))?
    } else {
        let typed: HandleFunc<'static> = instance.get_typed_func(&mut *store, pre.handle)?;
        pre.checked.store(true, Ordering::Release);
        *typed.func()
    };
    let webhooks = match &pre.webhooks {
        Some(indices) => Some(indices.load(&mut *store, &instance)?),
        None => None,
    };
    Ok(Exports {
        plugin,
        webhooks,
        handle,
        instance,
    })
}

/// The bindings of an instance's exports.
pub(crate) fn bindings(exports: &Exports) -> &Plugin {
    &exports.plugin
}

/// Calls `handle-webhook` with `hook`; a plugin that exports no
/// `webhooks` fails the delivery with the reason.
pub(crate) async fn call_webhook(
    exports: &Exports,
    store: &mut Store<HostState>,
    hook: &plugboard_model::event::Webhook,
) -> wasmtime::Result<Handled> {
    let Some(guest) = &exports.webhooks else {
        return Ok(Err(wit::PluginError::Failed(format!(
            "its manifest declares the webhook `{}`, but its component exports no `webhooks` \
             (build it with the SDK's `on_webhook`, or export the world `plugin-with-webhooks`)",
            hook.name
        ))));
    };
    let hook = webhooks::Webhook {
        name: hook.name.clone(),
        delivery: hook.delivery.clone(),
        content_type: hook.content_type.clone(),
        headers: hook.headers.clone(),
        body: hook.body.clone(),
    };
    guest.call_handle_webhook(store, &hook).await
}

/// Calls `handle` with `event` lowered in place.
pub(crate) async fn call_handle(
    exports: &Exports,
    store: &mut Store<HostState>,
    event: &event::Lowered<'_>,
) -> wasmtime::Result<Handled> {
    // SAFETY: `instantiate` checked this component's `handle` against
    // `HandleFunc<'static>` before any instance's `handle` was kept; all
    // instances of one component share its types, and a lifetime does not
    // change the component type a Rust type stands for.
    // By reference: the call's future then holds 8 bytes of it, not the
    // whole event (every future around it, down to the dispatcher's task,
    // is as large as the largest inside it, and is moved and allocated per
    // event).
    let handle: HandleFunc<'_> = unsafe { TypedFunc::new_unchecked(exports.handle) };
    let (handled,) = handle.call_async(store, (event,)).await?;
    Ok(handled)
}
