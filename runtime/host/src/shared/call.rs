//! Calling a contract version's `handler` exports: `init` and `handle`, and
//! turning what they return into the version-neutral outcome the plugin
//! runner works with.
//!
//! Compiled once per contract version (from `src/shared/`): `super` is that
//! version's module, whose `event_to_wit` decides how an event is shaped
//! for it and whose `call_handle` lowers it.

use plugboard_model::event::Event;
use wasmtime::Store;

use super::{Exports, wit};
use crate::plugin::Handled;
use crate::sandbox::Failure;
use crate::state::{ActionContext, HostState};

/// What a plugin's own error means to the runner, its secrets hidden.
fn failure(e: wit::PluginError, store: &Store<HostState>) -> Failure {
    let plugin = &store.data().plugin;
    match e {
        wit::PluginError::InvalidInput(m) => Failure::InvalidInput(plugin.redact(&m).into_owned()),
        wit::PluginError::Failed(m) => Failure::Failed(plugin.redact(&m).into_owned()),
    }
}

/// Runs `init` with the owner's configuration (as JSON). The outer error is
/// a trap (the instance is lost); the inner one is the plugin refusing the
/// configuration.
pub(crate) async fn init(
    exports: &Exports,
    store: &mut Store<HostState>,
    config: &str,
) -> wasmtime::Result<Result<(), Failure>> {
    let refused = super::bindings(exports)
        .plugboard_plugin_handler()
        .call_init(&mut *store, config)
        .await?;
    Ok(refused.map_err(|e| {
        let (wit::PluginError::InvalidInput(why) | wit::PluginError::Failed(why)) = e;
        let why = store.data().plugin.redact(&why);
        Failure::Instantiate(format!(
            "its init refused the configuration: {}",
            plugboard_model::text::truncate(&why, plugboard_model::text::MAX_ERROR_TEXT)
        ))
    }))
}

/// Runs `handle` and turns its answer into deliveries: the messages the
/// plugin sent during the call, then its returned actions, checked against
/// the plugin's limits and grants. The outer error is a trap (the instance
/// is lost); the inner one a failure the instance survives.
pub(crate) async fn handle(
    exports: &Exports,
    store: &mut Store<HostState>,
    event: &Event,
    ctx: &ActionContext<'_>,
) -> wasmtime::Result<Result<Handled, Failure>> {
    let called = match super::event_to_wit(event, &store.data().plugin) {
        Ok(lowered) => super::call_handle(exports, &mut *store, &lowered).await,
        Err(hook) => super::call_webhook(exports, &mut *store, hook).await,
    };
    // Taken now, so that no failure path leaves it in an idle instance.
    let sent = std::mem::take(&mut store.data_mut().event.sent);
    let actions = match called? {
        Ok(actions) => actions,
        Err(e) => return Ok(Err(failure(e, store))),
    };
    let limits = &store.data().plugin.limits;
    // Messages queued through the host count against the same cap.
    let total = actions.len() + sent.len();
    if total > limits.max_actions as usize {
        return Ok(Err(Failure::TooManyActions {
            returned: total,
            max: limits.max_actions,
        }));
    }
    let returned: usize = actions.iter().map(super::convert::action_bytes).sum();
    if store.data_mut().charge(returned).is_err() {
        let max_event_bytes = store.data().plugin.limits.max_event_bytes;
        return Ok(Err(Failure::SizeBudget { max_event_bytes }));
    }
    let data = store.data();
    let returned = match super::convert::actions_from_wit(actions, data, ctx) {
        Ok(returned) => returned,
        Err(why) => return Ok(Err(Failure::BadAction(why))),
    };
    // Sent messages go first; most events send none.
    let outbound = if sent.is_empty() {
        returned
    } else {
        let mut outbound = sent;
        outbound.extend(returned);
        outbound
    };
    let handled = Handled {
        outbound,
        store_written: data.event.store_written,
    };
    Ok(Ok(handled))
}
