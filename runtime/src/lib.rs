//! # plugboard-runtime
//!
//! The Plugboard bot runtime: one process that connects to chat platforms,
//! turns every update into one platform-neutral [`event::Event`], and routes
//! it to plugins, WebAssembly components sandboxed by wasmtime.
//!
//! How data flows:
//!
//! ```text
//! platform ──adapter──▶ Event ──router──▶ plugin instance (wasmtime)
//!    ▲                                         │ actions
//!    └───────────adapter◀──────Outbound────────┘
//! ```
//!
//! The rooms:
//!
//! * [`config`] — `plugboard.toml`.
//! * [`engine`] — wasmtime configuration, the compile cache, contract versions.
//! * [`host`] — the WIT bindings (`bindgen!`, once per contract version) and
//!   the host imports plugins call.
//! * [`sandbox`] — per-plugin budgets (memory, CPU, deadline, actions) and failures.
//! * [`plugin`] — loading a plugin directory and running one event through it.
//! * [`router`] — command parsing and dispatch to plugins.
//! * [`commands`] — which plugin owns which command.
//! * [`logging`] — the log, with outside text kept inside its fields.
//! * [`listing`] — `plugboard plugins list`: rows, tables of any width, JSON.
//! * [`adapters`] — platforms (console, in-process).
//! * [`store`] — durable state (sled).
//! * [`bot`] — wiring it all and running it.
//!
//! Embedding a bot with the in-process adapter:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use plugboard_runtime::{adapters::memory::MemoryAdapter, bot::Bot, config::BotConfig};
//!
//! let config = BotConfig::load("plugboard.toml".as_ref())?;
//! let (mut bot, _report) = Bot::from_config(&config)?;
//! let (adapter, mut handle) = MemoryAdapter::new("test");
//! bot.add_adapter(Box::new(adapter));
//! let running = tokio::spawn(bot.run(std::future::pending()));
//! handle.say("chat-1", "alice", "/echo hi").await;
//! let reply = handle.recv().await;
//! handle.close();
//! running.await??;
//! # Ok(()) }
//! ```

pub mod adapters;
pub mod listing;
pub mod logging;
pub use plugboard_bot::{bot, config, discovery, router};
pub use plugboard_host::{engine, http, plugin, sandbox};
pub use plugboard_model::{commands, event};
pub use plugboard_packages as packages;
/// The host-side state and contract-version modules.
pub mod host {
    pub use plugboard_host::state::*;
    pub use plugboard_host::v0_1;
}
pub use plugboard_store as store;
