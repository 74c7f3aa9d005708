//! The seam through which a plugin asks whether the sender of the event
//! it is handling holds a role (the `people` interface, since 0.2). The
//! host only carries the question: who holds which role is the bot's
//! business (its people, the owner's config, what the platform says about
//! chat administrators), answered by a [`RoleOracle`] the bot hands in.

use std::future::Future;
use std::pin::Pin;

use plugboard_model::event::Event;
use plugboard_registry_types::roles::Role;

/// Why a role could not be checked (the store failed, the platform did
/// not answer); the plugin sees a `host-error`, the owner the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot tell the sender's roles: {0}")]
pub struct RoleCheckError(pub String);

/// What [`RoleOracle::sender_has`] returns.
pub type RoleFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, RoleCheckError>> + Send + 'a>>;

/// Answers whether the sender of an event holds a role, in that event's
/// chat (a Telegram chat administrator is `admin` only in their chat when
/// the owner maps it so).
pub trait RoleOracle: Send + Sync + std::fmt::Debug + 'static {
    /// Whether the sender of `event` holds `role`, or a role above it
    /// (see [`Role::satisfied_by`]); `false` for an event nobody sent.
    fn sender_has<'a>(&'a self, event: &'a Event, role: &'a Role) -> RoleFuture<'a>;
}
