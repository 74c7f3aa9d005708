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

use std::sync::Arc;

use anyhow::Context as _;
use plugboard_bot::config::BotConfig;
use plugboard_people::People;
use plugboard_schedule::SystemClock;
use plugboard_store::{PeopleRecords, SledStore};

/// The store of a bot that is not running (a running one with `[admin]` is
/// asked through its admin API instead); one without an admin API keeps
/// it to itself, and this says so.
pub(crate) fn stopped_store(config: &BotConfig) -> anyhow::Result<Arc<SledStore>> {
    let store = SledStore::open(&config.data_dir().join("store")).context(
        "the store is in use by a running bot without an admin API: stop it, or add [admin] to its config and restart it",
    )?;
    Ok(Arc::new(store))
}

/// The people records (audit log, usage) in a stopped bot's `store`.
pub(crate) fn people_of(store: &Arc<SledStore>) -> People {
    People::new(
        Arc::clone(store) as Arc<dyn PeopleRecords>,
        Arc::new(SystemClock),
    )
}
