//! # plugboard-host
//!
//! The WebAssembly host: everything between a platform-neutral event and a
//! plugin component running in wasmtime.
//!
//! * [`engine`]: the wasmtime engine (pooling, epochs), the compile cache,
//!   and the contract versions this host speaks (decided by
//!   [`plugboard_registry_types::contract`]).
//! * [`sandbox`]: per-plugin budgets (memory, CPU, deadline, actions,
//!   bytes) and the failures they produce.
//! * [`state`]: one instance's host-side state, shared by every contract
//!   version.
//! * [`v0_1`], [`v0_2`]: one module per contract version the host speaks,
//!   each with its own `bindgen!`. What the versions share (the host side
//!   of `kv`, `config`, `logging`, `messaging`, `http`, the conversions of
//!   shared records, the calls into `handler`) is written once in
//!   `src/shared/` and compiled into each version's module with `#[path]`,
//!   so a fix lands in every version; each module adds only what is its
//!   own (how a command is shaped, imports new in that version).
//! * [`plugin`]: loading a plugin directory, instance pools, the circuit
//!   breaker, and running one event through a plugin.
//! * [`http`]: outbound HTTP for plugins, restricted to granted origins and
//!   public addresses.
//! * [`roles`]: the question whether an event's sender holds a role,
//!   asked by plugins and answered by the bot.
//! * [`link`]: plugins that call each other: the shapes and types of the
//!   interfaces they provide and import, and the host functions that carry
//!   a call from one plugin's store into another's.
//!
//! Data enters as [`plugboard_model::Event`]s and leaves as
//! [`plugboard_model::Outbound`] deliveries and
//! [`Failure`](sandbox::Failure)s; plugin KV and grants go through the
//! [`plugboard_store`] traits.
//!
//! What it must not touch: platforms and adapters, routing (which plugin
//! gets an event is the bot's decision), configuration files. It never
//! depends on the bot.
#![deny(missing_docs)]

pub mod engine;
pub mod http;
pub mod link;
pub mod plugin;
pub mod roles;
pub mod sandbox;
pub mod state;
pub mod v0_1;
pub mod v0_2;
