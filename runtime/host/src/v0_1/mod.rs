//! Bindings and host implementation for `plugboard:plugin@0.1.x`.
//!
//! The host side of the imports every version shares (`config`, `http`,
//! `kv`, `logging`, `messaging`), the conversions of the shared records and
//! the calls into `handler` are compiled from `src/shared/` into this
//! module; `event.rs` is what is 0.1's own: the whole event, message
//! included, is copied into the plugin. Every import checks the permission
//! it needs and answers a refusal with a guest-visible `host-error`, never
//! a trap.

// `src/shared/` is compiled once per contract version on purpose: each
// version's module gives it its own `bindgen!` types.
#![allow(clippy::duplicate_mod)]

use semver::Version;

use crate::state::HostState;

#[path = "../shared/call.rs"]
pub(crate) mod call;
#[path = "../shared/config.rs"]
mod config;
#[path = "../shared/convert.rs"]
mod convert;
mod event;
#[path = "../shared/http.rs"]
mod http;
#[path = "../shared/kv.rs"]
mod kv;
#[path = "../shared/logging.rs"]
mod logging;
#[path = "../shared/messaging.rs"]
mod messaging;

/// What `bindgen!` generates from `wit/0.1/` (documented in the WIT itself).
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/0.1",
        world: "plugin",
        imports: { "plugboard:plugin/http.fetch": async },
        exports: { default: async },
    });
}
pub use bindings::*;

pub use plugboard::plugin::types as wit;

/// The contract version these bindings were generated from.
pub fn version() -> Version {
    Version::new(0, 1, 0)
}

/// Adds this version's imports to `linker`.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)
}

impl wit::Host for HostState {}

pub(crate) use convert::event_to_wit;
pub use convert::{action_bytes, actions_from_wit};

/// A 0.1 component linked and ready to instantiate.
pub(crate) type Pre = PluginPre<HostState>;

/// A 0.1 instance's exports.
pub(crate) type Exports = Plugin;

/// Instantiates a 0.1 component (its `init` not run yet).
pub(crate) async fn instantiate(
    pre: &Pre,
    store: &mut wasmtime::Store<HostState>,
) -> wasmtime::Result<Exports> {
    pre.instantiate_async(store).await
}

/// The bindings of an instance's exports.
pub(crate) fn bindings(exports: &Exports) -> &Plugin {
    exports
}

/// A webhook for a 0.1 plugin: refused, as 0.1 has no `webhooks` (and the
/// host delivers a webhook only to a plugin whose manifest declares it,
/// which a 0.1 manifest cannot).
pub(crate) async fn call_webhook(
    _exports: &Exports,
    _store: &mut wasmtime::Store<HostState>,
    _hook: &plugboard_model::event::Webhook,
) -> wasmtime::Result<Result<Vec<wit::Action>, wit::PluginError>> {
    Ok(Err(wit::PluginError::Failed(
        "it is built for contract 0.1, which has no webhooks".into(),
    )))
}

/// Calls `handle` with an event lowered from its owned 0.1 record.
pub(crate) async fn call_handle(
    exports: &Exports,
    store: &mut wasmtime::Store<HostState>,
    event: &event::Lowered<'_>,
) -> wasmtime::Result<Result<Vec<wit::Action>, wit::PluginError>> {
    exports
        .plugboard_plugin_handler()
        .call_handle(store, event)
        .await
}
