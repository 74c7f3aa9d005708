//! `leaderboard`: `/top`, the people with the most points. It keeps no
//! data of its own: it asks `economy` through the interface economy
//! provides (`plugins:economy/api@1.0.0`), a call that runs inside economy.

use plugboard_sdk::prelude::*;

// Calls into economy (its wit/ folder, and this plugin's world importing it).
plugboard_sdk::interfaces!({
    path: ["../economy/wit", "wit"],
    world: "plugins:leaderboard/leaderboard",
});

use plugins::economy::api;

/// Most places `/top` lists.
const MAX_PLACES: u32 = 25;

/// The plugin; it keeps no state.
#[derive(Default)]
pub struct Leaderboard;

impl Plugin for Leaderboard {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let count = match cmd.args.first() {
            None => 10,
            Some(n) => n
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PLACES).contains(n))
                .ok_or_else(|| {
                    Error::invalid_input(format!(
                        "usage: /top [count], count from 1 to {MAX_PLACES}"
                    ))
                })?,
        };
        // A failure inside economy arrives here as an error value, never
        // as a crash of this plugin.
        let top = match api::top(count) {
            Ok(top) => top,
            Err(why) => {
                out.reply(format!("The leaderboard is not available right now: {why}"));
                return Ok(());
            }
        };
        if top.is_empty() {
            out.reply("Nobody has points yet: try /daily.");
            return Ok(());
        }
        let lines: Vec<String> = top
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}. {}: {}", i + 1, a.name, a.balance))
            .collect();
        out.reply(lines.join("\n"));
        Ok(())
    }
}

plugboard_sdk::export_plugin!(Leaderboard);
