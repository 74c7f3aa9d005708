//! Integration tests: the package format with the real plugin components
//! from `plugins/`, staged by `cargo xtask plugins` (or `cargo xtask test`).

mod real_plugins;
mod support;
