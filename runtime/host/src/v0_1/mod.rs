//! Bindings and host implementation for `plugboard:plugin@0.1.x`: one file
//! per WIT interface the host implements (`config`, `http`, `kv`, `logging`,
//! `messaging`) and `convert` between the WIT types and [`plugboard_model`].
//! Every import checks the permission it needs and answers a refusal with a
//! guest-visible `host-error`, never a trap.

use plugboard_registry_types::Permission;
use semver::Version;

use crate::state::HostState;

mod config;
mod convert;
mod http;
mod kv;
mod logging;
mod messaging;

/// What `bindgen!` generates from `wit/` (documented in the WIT itself).
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "plugin",
        imports: { "plugboard:plugin/http.fetch": async },
        exports: { default: async },
    });
}
pub use bindings::*;

pub use plugboard::plugin::types as wit;
use wit::HostError;

/// The contract version these bindings were generated from.
pub fn version() -> Version {
    Version::new(0, 1, 0)
}

/// Adds this version's imports to `linker`.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)
}

impl wit::Host for HostState {}

impl HostState {
    /// Refuses (and counts) a call needing `permission` unless the manifest
    /// asks for it and the owner granted it; the refusal says which of the
    /// two is missing.
    fn require(&self, permission: Permission) -> Result<(), HostError> {
        if self.plugin.granted(permission) {
            return Ok(());
        }
        let name = &self.plugin.name;
        self.plugin
            .refused_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(plugin = %name, %permission, "host call refused: permission not granted");
        Err(HostError::PermissionDenied(
            if self.plugin.manifest.wants(permission) {
                format!(
                    "this needs the `{permission}` permission, which the bot owner has not granted \
                 (`plugboard grant {name} {permission}`)"
                )
            } else {
                format!(
                    "this needs the `{permission}` permission; declare it in plugin.toml's `permissions`"
                )
            },
        ))
    }
}

pub use convert::{ActionContext, action_bytes, actions_from_wit, event_to_wit};
