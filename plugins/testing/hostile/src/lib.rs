//! Test-only plugin used by the runtime's sandbox tests. Every command is an
//! attack; the runtime must contain each one to the event that triggered it.

use std::hint::black_box;

use plugboard_sdk::prelude::*;

/// The attacker.
#[derive(Default)]
pub struct Hostile;

impl Plugin for Hostile {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        match cmd.name.as_str() {
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "hog" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![0xA5; 1 << 20]));
                }
            }
            "boom" => panic!("hostile plugin panics on purpose"),
            "recurse" => {
                out.reply(format!("{}", recurse(black_box(1))));
            }
            "kvpeek" => {
                let keys = kv::keys("")?;
                out.reply(format!("saw {} keys", keys.len()));
            }
            _ => {}
        }
        Ok(())
    }
}

#[allow(unconditional_recursion, reason = "the attack is unbounded recursion")]
fn recurse(depth: u64) -> u64 {
    let padding = black_box([depth; 64]);
    recurse(depth + 1).wrapping_add(padding[(depth % 64) as usize])
}

plugboard_sdk::export_plugin!(Hostile);
