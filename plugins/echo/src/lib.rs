//! `echo`: repeats what you say. The smallest useful Plugboard plugin.

use plugboard_sdk::prelude::*;

/// The plugin; it keeps no state.
#[derive(Default)]
pub struct Echo;

impl Plugin for Echo {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        if cmd.raw_args.is_empty() {
            return Err(Error::invalid_input("nothing to echo; usage: /echo <text>"));
        }
        out.reply(cmd.raw_args);
        Ok(())
    }
}

plugboard_sdk::export_plugin!(Echo);
