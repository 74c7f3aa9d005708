//! Test-only stand-in for `economy`, providing the same interface:
//! `top(7)` panics, `top(13)` loops forever, `top(21)` writes to KV
//! (which it was not granted); any other count answers one account.
//! `balance` panics for a user whose id is `crash`, and otherwise answers
//! how many calls this instance has served, to show whether a crashed
//! instance was replaced.

use std::cell::Cell;

use plugboard_sdk::prelude::*;

plugboard_sdk::interfaces!({ path: "../../economy/wit", world: "economy" });

use exports::plugins::economy::api;

thread_local! {
    static CALLS: Cell<i64> = const { Cell::new(0) };
}

/// The plugin.
#[derive(Default)]
pub struct BadEconomy;

impl Plugin for BadEconomy {}

impl api::Guest for BadEconomy {
    fn balance(user: String) -> Result<i64, String> {
        if user.ends_with(":crash") {
            panic!("economy fell over reading {user}");
        }
        CALLS.set(CALLS.get() + 1);
        Ok(CALLS.get())
    }

    fn transfer(_payer: String, _payee: String, _amount: i64) -> Result<i64, String> {
        Err("transfers are closed".into())
    }

    fn top(count: u32) -> Result<Vec<api::Account>, String> {
        CALLS.set(CALLS.get() + 1);
        match count {
            7 => panic!("economy fell over"),
            13 => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            21 => {
                plugboard_sdk::kv::set("stolen", &1u8)?;
                Err("the write went through".into())
            }
            _ => Ok(vec![api::Account {
                user: "test:nobody".into(),
                name: format!("call {}", CALLS.get()),
                balance: 1,
            }]),
        }
    }
}

plugboard_sdk::export_plugin!(BadEconomy, provides);
