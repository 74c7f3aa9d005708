//! # plugboard-model
//!
//! The platform-neutral model every other part of the runtime speaks:
//!
//! * [`event`]: what happens in chats ([`Event`]) and what plugins want done
//!   there ([`Outbound`]), as adapters produce and consume them;
//! * [`commands`]: which plugin owns which command name, decided once from
//!   the manifests and the owner's `[commands]` table, and the [`Catalog`]
//!   of loaded plugins that adapters may see;
//! * [`outgoing`]: the limits on what plugins want delivered (ids, emoji,
//!   buttons and their callback data, embeds), checked once on this model
//!   whatever contract version a plugin speaks;
//! * [`text`]: command parsing, argument splitting, cutting text to a budget.
//!
//! Data enters as values built by adapters (events) or by the host (outbound
//! messages, from a plugin's WIT actions) and leaves the same way: this
//! crate only defines and checks them.
//!
//! What it must not touch: wasmtime and the WIT bindings (the host converts
//! to and from this model, one module per contract version), platform
//! clients (teloxide, serenity), storage and I/O of any kind.
#![deny(missing_docs)]

pub mod commands;
pub mod event;
pub mod outgoing;
pub mod text;

pub use commands::Catalog;
pub use event::*;
