//! Platform adapters: the contract and the console and in-process adapters
//! come from `plugboard-adapter`, Telegram and Discord from their crates.

pub use plugboard_adapter::*;
pub use plugboard_discord as discord;
pub use plugboard_telegram as telegram;
