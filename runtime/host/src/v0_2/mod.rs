//! Bindings and host implementation for `plugboard:plugin@0.2.x`.
//!
//! The host side of the imports every version shares (`config`, `http`,
//! `kv`, `logging`, `messaging`), the conversions of the shared records and
//! the calls into `handler` are compiled from `src/shared/` into this
//! module. What is 0.2's own: `event.rs`, the lean shape of an event (a
//! command is its name, arguments and locale; the message behind it is
//! read through `current-event` only by plugins that need it), and
//! `schedule.rs`, the plugin's durable timers. Every import checks the permission
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
mod schedule;

/// What `bindgen!` generates from `wit/0.2/` (documented in the WIT itself).
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/0.2",
        world: "plugin",
        imports: { "plugboard:plugin/http.fetch": async },
        exports: { default: async },
    });
}
pub use bindings::*;

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

pub use convert::{action_bytes, actions_from_wit, event_to_wit};
