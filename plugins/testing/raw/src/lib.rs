//! Test-only plugin built on the raw WIT bindings instead of the SDK, so it
//! can hand the host values no safe Rust would build: many strings that alias
//! one large buffer. A host that copies each string separately would need
//! gigabytes; the runtime must bound the size of what it lifts first.

use std::mem::ManuallyDrop;

mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit/0.1",
        world: "plugin",
    });
}

/// WASI's random interface, imported directly: the SDK and std only ever ask
/// for a few bytes.
mod wasi_random {
    wit_bindgen::generate!({
        inline: r#"
            package wasi:random@0.2.0;

            interface random {
                get-random-bytes: func(len: u64) -> list<u8>;
                get-random-u64: func() -> u64;
            }

            world take {
                import random;
            }
        "#,
        world: "take",
    });
}

use bindings::exports::plugboard::plugin::handler::Guest;
use bindings::plugboard::plugin::messaging;
use bindings::plugboard::plugin::types::{
    Action, Button, ChatRef, Event, HostError, Outgoing, PluginError, TextFormat,
};

/// Size of the one buffer every aliased string points into.
const BUFFER: usize = 8 << 20;
/// How many strings alias it.
const COPIES: usize = 1_000;

/// What the host answered to the send tried from `init` (`initsend`
/// reports it).
static INIT_SEND: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// The guest.
pub struct Raw;

impl Guest for Raw {
    fn init(_config: String) -> Result<(), PluginError> {
        // Tries to send outside any event: nothing could deliver it.
        let to = ChatRef {
            platform: bindings::plugboard::plugin::types::Platform::Console,
            id: "console".into(),
        };
        let answer = match messaging::send(&to, &plain("from init".into())) {
            Ok(()) => "sent".to_owned(),
            Err(e) => host_error_text(e),
        };
        *INIT_SEND.lock().unwrap_or_else(|p| p.into_inner()) = answer;
        Ok(())
    }

    fn handle(event: Event) -> Result<Vec<Action>, PluginError> {
        let Event::Command(cmd) = event else {
            return Ok(vec![]);
        };
        Ok(match cmd.name.as_str() {
            // Reports what the host answered to the send tried from init.
            "initsend" => {
                let answer = INIT_SEND.lock().unwrap_or_else(|p| p.into_inner()).clone();
                vec![Action::Reply(plain(answer))]
            }
            // Asks the host for 60 MiB of random bytes in one call: host
            // memory and CPU the plugin's budgets would not see.
            "random" => {
                let bytes = wasi_random::wasi::random::random::get_random_bytes(60 << 20);
                vec![Action::Reply(plain(format!("got {} bytes", bytes.len())))]
            }
            // Returns 1,000 replies whose texts all point at one 8 MiB buffer.
            "alias" => {
                let texts = aliases();
                texts
                    .into_iter()
                    .map(|text| Action::Reply(plain(text)))
                    .collect()
            }
            // Sends one message with 1,000 buttons whose labels all point at
            // one 8 MiB buffer, and replies with the host's answer.
            "aliassend" => {
                let to = ChatRef {
                    platform: cmd.message.chat.platform.clone(),
                    id: cmd.message.chat.id.clone(),
                };
                let row = aliases()
                    .into_iter()
                    .enumerate()
                    .map(|(i, label)| Button {
                        id: format!("a{i}"),
                        label,
                    })
                    .collect();
                // Never dropped: freeing the aliased labels would free one
                // buffer 1,000 times.
                let message = ManuallyDrop::new(Outgoing {
                    buttons: vec![row],
                    ..plain(String::new())
                });
                let answer = match messaging::send(&to, &message) {
                    Ok(()) => "sent".to_owned(),
                    Err(err) => host_error_text(err),
                };
                vec![Action::Reply(plain(answer))]
            }
            // A control: replies "raw ok".
            "ok" => vec![Action::Reply(plain("raw ok".to_owned()))],
            _ => vec![],
        })
    }
}

/// A plain-text message without buttons or embed.
fn plain(text: String) -> Outgoing {
    Outgoing {
        text,
        format: TextFormat::Plain,
        buttons: vec![],
        embed: None,
    }
}

/// [`COPIES`] strings that all own the same leaked [`BUFFER`]-byte buffer of
/// `a`s.
///
/// Deliberately unsound: `String::from_raw_parts` hands each string ownership
/// of the same allocation. That aliasing is the attack of this hostile test
/// plugin; the strings are never mutated, and the caller either leaks them or
/// hands them to the host (whose post-return may free the buffer more than
/// once, inside this throwaway instance).
fn aliases() -> Vec<String> {
    let buffer = ManuallyDrop::new(vec![b'a'; BUFFER]);
    let (ptr, len, cap) = (buffer.as_ptr().cast_mut(), buffer.len(), buffer.capacity());
    (0..COPIES)
        // SAFETY: not upheld on purpose (see above); the bytes are valid
        // UTF-8 and live for the rest of the instance.
        .map(|_| unsafe { String::from_raw_parts(ptr, len, cap) })
        .collect()
}

/// The text of a host refusal, prefixed with its kind.
fn host_error_text(err: HostError) -> String {
    match err {
        HostError::PermissionDenied(m) => format!("permission denied: {m}"),
        HostError::LimitExceeded(m) => format!("limit exceeded: {m}"),
        HostError::InvalidArgument(m) => format!("invalid argument: {m}"),
        HostError::Other(m) => m,
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Raw with_types_in bindings);
