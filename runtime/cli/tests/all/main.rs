//! Integration tests of the runtime, compiled into one binary, one module per
//! topic. Plugins are the real components built from `plugins/` by
//! `cargo xtask plugins` (which `cargo xtask test` runs first).

mod achievements;
mod cli;
mod console;
mod console_bot;
mod contract;
mod discord;
mod hardening;
mod http;
mod linking;
mod loading;
mod packages;
mod people;
mod publishing;
mod roles;
mod routing;
mod sandbox;
mod scaffold;
mod schedule;
mod support;
mod telegram;
