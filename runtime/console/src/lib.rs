//! # plugboard-console
//!
//! The owner's way into a running bot: the admin listener `plugboard run`
//! starts when the config has an `[admin]` section, and the CLI's client of
//! it.
//!
//! * [`server`]: the listener (loopback by default): `/healthz` and
//!   `/readyz` for supervisors, `/metrics` for Prometheus, and the JSON
//!   admin API under `/api/v1` (described by `/api/v1/openapi.json`), all
//!   but the two health checks behind the owner's token ([`auth`]).
//! * [`hooks`]: incoming webhooks (`POST /hooks/<plugin>/<name>`),
//!   verified with the owner's secret, delivered through an adapter of
//!   their own.
//! * [`metrics`]: the Prometheus exposition, read at scrape time from the
//!   counters the bot keeps anyway, so that being watched costs the event
//!   path nothing.
//! * [`api`]: the admin API's requests and answers, the same types on both
//!   ends.
//! * [`client`]: the CLI's side: find the running bot, ask it, or say that
//!   it is not running so the CLI falls back to the store.
//! * [`listing`]: what `plugboard plugins list` shows, from the running bot
//!   or from a scratch load, rendered the same way.
//! * [`live`]: the live stream of events and deliveries over a
//!   WebSocket.
//! * [`logbook`]: the bot's recent log lines, for the log page.
//! * [`webchat`]: the web chat, an adapter whose chats are pages, where
//!   the owner tries plugins in the browser.
//! * `web`: the owner's pages on the same listener (sign in with the token,
//!   overview, plugins, usage, audit log, log), plain HTML forms with
//!   sessions and CSRF tokens.
//!
//! What it owns: HTTP, the token, the wire format. What it must not touch:
//! the decisions themselves (granting, resuming, who holds what), which
//! live in [`plugboard_bot`] ([`Control`](plugboard_bot::control::Control))
//! so that the CLI on a stopped bot and the API on a running one take
//! them the same way; wasmtime and the platforms.
#![deny(missing_docs)]

pub mod api;
pub mod auth;
pub mod client;
pub mod hooks;
pub mod listing;
pub mod live;
pub mod logbook;
pub mod metrics;
pub mod server;
mod web;
pub mod webchat;

/// The file in the data directory that holds the admin listener's address
/// while the bot runs (the CLI reads it to find the bot, whatever port it
/// got).
pub const ADDRESS_FILE: &str = "admin-address";
