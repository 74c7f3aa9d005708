//! Test-only provider for the `calls` benchmark
//! (`runtime/cli/benches/calls.rs`): exports
//! `plugboard-bench:calls/api@1.0.0`, whose `add-one` is as small as a
//! provided function can be, so that timing it from `call-bench-user`
//! measures the crossing itself.

use plugboard_sdk::prelude::*;

// The interface it provides (wit/calls.wit).
plugboard_sdk::interfaces!({ path: "wit", world: "provider" });

use exports::plugboard_bench::calls::api;

/// The plugin; it handles no events.
#[derive(Default)]
pub struct CallBench;

impl Plugin for CallBench {}

impl api::Guest for CallBench {
    fn add_one(x: i64) -> Result<i64, String> {
        x.checked_add(1)
            .ok_or_else(|| format!("add-one: {x} + 1 overflows s64"))
    }
}

// The handler, and `api` implemented above (in WebAssembly builds only).
plugboard_sdk::export_plugin!(CallBench, provides);
