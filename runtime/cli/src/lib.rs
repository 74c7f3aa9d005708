//! # plugboard (the command-line interface)
//!
//! The `plugboard` binary: `run`, `grant`, `revoke`, `resume`,
//! `plugins list`, and the package commands (`install`, `update`, `remove`,
//! `outdated`, `search`, `publish`, `login`, `key`, `plugin`). Its `main.rs`
//! only parses the command line; each command has a file under
//! `src/commands/`, and does its work through the crates below it:
//! [`plugboard_bot`] (config, discovery, running the bot),
//! [`plugboard_packages`] (the package manager), [`plugboard_host`], the
//! adapter crates and [`plugboard_store`].
//!
//! This library part holds what commands share and tests read:
//!
//! * [`logging`]: the log, with outside text kept inside its fields.
//!
//! The listing `plugboard plugins list` prints, and the admin API the
//! commands reach a running bot through, are in `plugboard_console`.
//!
//! What it must not hold: logic another front end (the owner console) would
//! need; that belongs in the crates below.
#![deny(missing_docs)]

pub mod logging;
