//! Test-only caller for the `calls` benchmark
//! (`runtime/cli/benches/calls.rs`). `/calls <kind> <n>` makes `n` calls
//! of one kind, each feeding the previous result into the next so that
//! none can be skipped, and answers `<kind> <n> <sum>` (the sum is `n`
//! when every call did its job):
//!
//! * `cross`: `add-one` of `call-bench`, another plugin (through the host);
//! * `host`: the contract's `config.get` of a key the owner did not set
//!   (a short string in, `none` out; needs no permission);
//! * `wasi`: WASI's monotonic clock (`Instant::now`), the bare host
//!   trampoline with no arguments;
//! * `local`: a plain function of this plugin, never inlined.
//!
//! A failed cross call fails the event, naming the reason.

use std::hint::black_box;
use std::time::Instant;

use plugboard_sdk::bindings::plugboard::plugin::config;
use plugboard_sdk::prelude::*;

// Calls into call-bench (its wit/ folder, and this plugin's world importing it).
plugboard_sdk::interfaces!({
    path: ["../call-bench/wit", "wit"],
    world: "plugboard-bench:call-bench-user/user",
});

use plugboard_bench::calls::api;

/// A configuration key nobody sets: `config.get` answers `none`.
const UNSET_KEY: &str = "call-bench-unset";

/// The in-plugin twin of `add-one`.
#[inline(never)]
fn add_one(x: i64) -> i64 {
    black_box(x).wrapping_add(1)
}

/// Makes `n` calls of `kind`; returns their sum (`n` when all worked).
fn run(kind: &str, n: u64) -> Result<i64> {
    let mut acc: i64 = 0;
    match kind {
        "cross" => {
            for _ in 0..n {
                acc = api::add_one(black_box(acc)).map_err(|why| {
                    Error::failed(format!("add-one failed after {acc} calls: {why}"))
                })?;
            }
        }
        "host" => {
            for _ in 0..n {
                let value = config::get(black_box(UNSET_KEY));
                acc += i64::from(value.is_none());
            }
        }
        "wasi" => {
            let start = Instant::now();
            for _ in 0..n {
                acc += i64::from(black_box(Instant::now()) >= start);
            }
        }
        "local" => {
            for _ in 0..n {
                acc = add_one(black_box(acc));
            }
        }
        other => {
            return Err(Error::invalid_input(format!(
                "unknown kind `{other}`; usage: /calls <cross|host|wasi|local> <n>"
            )));
        }
    }
    Ok(acc)
}

/// The plugin; it keeps no state.
#[derive(Default)]
pub struct CallBenchUser;

impl Plugin for CallBenchUser {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let usage = "usage: /calls <cross|host|wasi|local> <n>";
        let (Some(kind), Some(n)) = (cmd.args.first(), cmd.args.get(1)) else {
            return Err(Error::invalid_input(usage));
        };
        let n: u64 = n
            .parse()
            .map_err(|_| Error::invalid_input(format!("`{n}` is not a count; {usage}")))?;
        let sum = run(kind, n)?;
        out.reply(format!("{kind} {n} {sum}"));
        Ok(())
    }
}

plugboard_sdk::export_plugin!(CallBenchUser);
