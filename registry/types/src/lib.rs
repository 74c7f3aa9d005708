//! # plugboard-registry-types
//!
//! The vocabulary shared by everything that reads or writes Plugboard plugin
//! packages: the runtime that loads plugins, the `plugboard` CLI that packages
//! and installs them, and the registry server that publishes them.
//!
//! For now it holds the plugin manifest, [`Manifest`], parsed from a
//! `plugin.toml` and validated with the same rules everywhere:
//!
//! ```
//! use plugboard_registry_types::Manifest;
//!
//! let manifest = Manifest::from_toml(r#"
//!     name = "echo"
//!     version = "0.1.0"
//!     description = "Repeats what you say."
//!     wit = "0.1"
//!
//!     [[commands]]
//!     name = "echo"
//!     help = "Repeats <text> back to you."
//! "#).unwrap();
//! assert_eq!(manifest.name, "echo");
//! assert_eq!(manifest.wit.to_string(), "0.1.0");
//! ```
#![deny(missing_docs)]

pub mod api;
pub mod contract;
pub mod dates;
pub mod graph;
pub mod index;
pub mod interfaces;
pub mod manifest;
pub mod roles;
pub mod settings;
pub mod similar;
pub mod text;

pub use index::{IndexEntry, IndexLineError, parse_index_lines};
pub use manifest::{
    CommandOption, CommandSpec, EventKind, Manifest, ManifestError, OptionKind, OriginPattern,
    Permission,
};
