//! `echo`: repeats what you say, and tells you who you are to the bot. The
//! smallest useful Plugboard plugin.

use plugboard_sdk::prelude::*;

/// The plugin; it keeps no state.
#[derive(Default)]
pub struct Echo;

impl Plugin for Echo {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        if cmd.name == "whoami" {
            out.reply(whoami(&cmd.message));
            return Ok(());
        }
        if cmd.raw_args.is_empty() {
            return Err(Error::invalid_input("nothing to echo; usage: /echo <text>"));
        }
        out.reply(cmd.raw_args);
        Ok(())
    }
}

/// `Ann (@ann), telegram user 42, in chat -100123, topic 7`: what an owner
/// needs to name a user or chat in the config.
fn whoami(message: &Message) -> String {
    let platform = message.chat.platform.as_str();
    let sender = &message.sender;
    let mut text = sender.display_name.clone();
    let telegram = message.telegram.as_ref();
    if let Some(username) = telegram.and_then(|t| t.sender_username.as_ref()) {
        text.push_str(&format!(" (@{username})"));
    }
    let discord = message.discord.as_ref();
    if let Some(discord) = discord {
        text.push_str(&format!(" (@{})", discord.sender_username));
    }
    text.push_str(&format!(
        ", {platform} user {}, in chat {}",
        sender.id, message.chat.id
    ));
    if let Some(topic) = telegram.and_then(|t| t.thread_id) {
        text.push_str(&format!(", topic {topic}"));
    }
    if let Some(guild) = discord.and_then(|d| d.guild_id.as_ref()) {
        text.push_str(&format!(", guild {guild}"));
    }
    text
}

plugboard_sdk::export_plugin!(Echo);
