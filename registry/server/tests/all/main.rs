//! Integration tests of the registry server over real HTTP: each test starts
//! the app on 127.0.0.1:0 in-process (or the real binary, in `binary`) and
//! talks to it with reqwest, publishing packages packed from the real plugin
//! components staged by `cargo xtask plugins`.

mod binary;
mod browse;
mod downloads;
mod hardening;
mod index;
mod interfaces;
mod names;
mod owners;
mod publish;
mod ratings;
mod selfservice;
mod signin;
mod support;
mod tokens;
mod versions;
mod web;
