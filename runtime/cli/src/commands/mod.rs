//! One module per command, or per family of commands sharing one flow
//! (`install`, `update` and `remove`; `grant`, `revoke` and `resume`), and
//! `registry` for what the package commands share.

pub mod audit;
pub mod grants;
pub mod install;
pub mod key;
pub mod login;
pub mod outdated;
pub mod plugin;
pub mod plugins;
pub mod publish;
pub mod registry;
pub mod run;
pub mod scaffold;
pub mod search;
pub mod usage;
