//! Integration tests of the resolver, one module per topic.

mod explanations;
mod lockfile;
mod oracle;
mod requirements;
mod resolution;
mod support;
