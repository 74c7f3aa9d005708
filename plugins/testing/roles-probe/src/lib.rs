//! Test-only plugin for `plugboard:plugin/people`: `/am <role>` answers
//! `yes` or `no`, whether the sender holds the role, or the host's refusal
//! as the SDK words it (`permission denied: …`, `invalid argument: …`), so
//! a test sees what reached the plugin. A tick (which nobody sent) asks
//! about the role in its payload and answers `tick: yes` or `tick: no`.

use plugboard_sdk::people::sender_has_role;
use plugboard_sdk::prelude::*;

/// What the host answered about `role`, in one word or its refusal.
fn answer(role: &str) -> String {
    match sender_has_role(role) {
        Ok(true) => "yes".into(),
        Ok(false) => "no".into(),
        Err(e) => e.message().to_owned(),
    }
}

/// The plugin; it keeps nothing.
#[derive(Default)]
pub struct Probe;

impl Plugin for Probe {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        if cmd.name == "am" {
            out.reply(answer(&cmd.raw_args));
        }
        Ok(())
    }

    fn on_tick(&mut self, tick: Tick, out: &mut Response) -> Result<()> {
        let role = String::from_utf8_lossy(&tick.payload).into_owned();
        out.reply(format!("tick: {}", answer(&role)));
        Ok(())
    }
}

plugboard_sdk::export_plugin!(Probe);
