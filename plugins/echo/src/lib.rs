//! `echo`: repeats what you say, and tells you who you are to the bot. The
//! smallest useful Plugboard plugin.

use plugboard_sdk::i18n::{Catalogs, args};
use plugboard_sdk::prelude::*;

/// What echo says itself, in every language it speaks; English when the
/// user's language has no catalog. (Parsed only when first used: the echo
/// itself never touches it. Linking it in costs a fresh instance about
/// 1.5 µs, measured in docs/benchmarks.md.)
static CATALOGS: Catalogs = Catalogs::new(
    "en",
    &[
        ("en", include_str!("../locales/en.ftl")),
        ("de", include_str!("../locales/de.ftl")),
    ],
);

/// The plugin; it keeps no state.
#[derive(Default)]
pub struct Echo;

impl Plugin for Echo {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let locale = cmd.locale.as_deref();
        if cmd.name == "whoami" {
            out.reply(whoami(&cmd.message, locale));
            return Ok(());
        }
        if cmd.raw_args.is_empty() {
            let text = CATALOGS.text(locale, "nothing", &args([]));
            return Err(Error::invalid_input(text));
        }
        out.reply(cmd.raw_args);
        Ok(())
    }
}

/// `Ann (@ann), telegram user 42, in chat -100123, topic 7`: what an owner
/// needs to name a user or chat in the config.
fn whoami(message: &Message, locale: Option<&str>) -> String {
    let platform = message.chat.platform.as_str();
    let sender = &message.sender;
    let telegram = message.telegram.as_ref();
    let discord = message.discord.as_ref();
    let handle = telegram
        .and_then(|t| t.sender_username.as_deref())
        .or(discord.map(|d| d.sender_username.as_str()))
        .map(|name| format!(" (@{name})"))
        .unwrap_or_default();
    let mut text = CATALOGS.text(
        locale,
        "who",
        &args([
            ("name", sender.display_name.as_str().into()),
            ("handle", handle.into()),
            ("platform", platform.into()),
            ("user", sender.id.as_str().into()),
            ("chat", message.chat.id.as_str().into()),
        ]),
    );
    if let Some(topic) = telegram.and_then(|t| t.thread_id) {
        text.push_str(&CATALOGS.text(locale, "topic", &args([("topic", topic.into())])));
    }
    if let Some(guild) = discord.and_then(|d| d.guild_id.as_ref()) {
        let guild = guild.as_str();
        text.push_str(&CATALOGS.text(locale, "guild", &args([("guild", guild.into())])));
    }
    text
}

plugboard_sdk::export_plugin!(Echo);
