//! One module per command (or family of commands).

pub mod grants;
pub mod packages;
pub mod plugins;
pub mod run;
