//! # plugboard-bot
//!
//! The bot: what a `plugboard.toml` describes, and running it.
//!
//! * [`config`]: `plugboard.toml`, with each platform's table parsed by its
//!   adapter crate's config type.
//! * [`discovery`]: which plugin directories a config describes, the engine
//!   options it asks for, and rolling the installation record back; the
//!   package manager uses the same functions, never the rest of the bot.
//! * [`installed`]: the installation record of registry plugins.
//! * [`grants`]: which permissions a plugin holds, and changing them.
//! * [`plugin_config`]: rewriting one plugin's settings in
//!   `plugboard.toml`, for the owner's tools.
//! * [`api_tokens`]: tokens the owner gives other programs to send a
//!   message through the bot to the chats each names.
//! * [`control`]: the running bot as the owner's tools (the admin API)
//!   see and steer it.
//! * [`sightings`]: the events and deliveries the dispatcher sees, for
//!   the owner's live stream (made only while someone watches).
//! * [`access`]: who may do what in a chat (roles, including those the
//!   platform's facts map to), for the router and for plugins asking.
//! * [`router`]: from an event to the plugins that answer it (commands,
//!   subscriptions, `/help`, the owner's `/plugboard` command).
//! * [`bot`]: assembling store, engine, plugins, router and adapters,
//!   dispatching events (in order per chat, chats in parallel, bounded
//!   queues), swapping plugin sets live when the record changes, and
//!   running the scheduler that turns plugins' due schedules
//!   ([`plugboard_schedule`]) into ticks.
//!
//! Data enters as events from adapters (through the inbox) and from the
//! scheduler, and leaves as
//! deliveries to their outboxes; plugins run in [`plugboard_host`].
//!
//! What it must not touch: wasmtime directly (the host owns it), platform
//! protocols (adapters own them), the registry (the package manager owns
//! it). No crate depends on this one except the package manager (for
//! discovery) and the CLI.
//!
//! Embedding a bot with the in-process adapter:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use plugboard_adapter::memory::MemoryAdapter;
//! use plugboard_bot::{bot::Bot, config::BotConfig};
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
#![deny(missing_docs)]

pub mod access;
pub mod api_tokens;
pub mod bot;
pub mod config;
pub mod control;
pub mod discovery;
mod dispatch;
pub mod grants;
pub mod installed;
pub mod plugin_config;
pub mod router;
pub mod sightings;
