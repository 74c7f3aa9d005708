//! Platform adapters: the contract and the console and in-process adapters
//! come from `plugboard-adapter`; Telegram and Discord live here until they
//! move to crates of their own.

pub use plugboard_adapter::*;

pub mod discord;
pub mod telegram;
