//! Integration tests of the resolver, one module per topic.

mod explanations;
mod interfaces;
mod lockfile;
mod oracle;
mod requirements;
mod resolution;
mod support;
