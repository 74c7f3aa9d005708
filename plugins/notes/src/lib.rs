//! `notes`: remembers short notes in the plugin's key-value store, so they
//! survive restarts: a group's notes belong to the group; in a private
//! chat they are the person's, and follow them to the accounts they linked
//! on other platforms.

use plugboard_sdk::ChatKind;
use plugboard_sdk::i18n::{Catalogs, args};
use plugboard_sdk::kv::Scope;
use plugboard_sdk::markdown;
use plugboard_sdk::prelude::*;

/// The answers in every language notes speaks; English when the user's
/// language has no catalog.
static CATALOGS: Catalogs = Catalogs::new(
    "en",
    &[
        ("en", include_str!("../locales/en.ftl")),
        ("de", include_str!("../locales/de.ftl")),
    ],
);

/// Longest key accepted, in bytes.
const MAX_KEY: usize = 64;
/// Longest note accepted, in bytes.
const MAX_NOTE: usize = 2_000;
/// Most notes `/notes` shows (an embed holds at most 25 fields).
const MAX_LISTED: usize = 20;
/// Most characters of a note `/notes` shows.
const MAX_PREVIEW: usize = 100;

/// Where the notes of the chat a message was sent in live: the group's,
/// or in a private chat the sender's (the SDK's `user` scope, which follows
/// a person across linked accounts). Notes an earlier version kept for a
/// private chat move to the sender's on first use.
fn notes_of(message: &Message) -> Result<Scope> {
    let chat = Scope::chat(&message.chat).nested("notes");
    if message.chat.kind != ChatKind::Direct {
        return Ok(chat);
    }
    let mine = Scope::user(&message.sender, &message.chat.platform).nested("notes");
    for key in chat.keys("")? {
        // A note of the same name the sender already has wins; the older
        // one stays where it was rather than being lost.
        if let Some(text) = chat.get::<String>(&key)?
            && mine.get::<String>(&key)?.is_none()
        {
            mine.set(&key, &text)?;
            chat.delete(&key)?;
        }
    }
    Ok(mine)
}

/// The plugin; its state lives in KV.
#[derive(Default)]
pub struct Notes;

impl Plugin for Notes {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let notes = notes_of(&cmd.message)?;
        let locale = cmd.locale.as_deref();
        let say = |id: &str, key: &str| CATALOGS.text(locale, id, &args([("key", key.into())]));
        match cmd.name.as_str() {
            "remember" => {
                let key = key_arg(&cmd)?;
                let text = cmd.rest(1);
                if text.is_empty() {
                    return Err(Error::invalid_input(say("nothing-to-remember", "")));
                }
                if text.len() > MAX_NOTE {
                    let max = args([("max", MAX_NOTE.into())]);
                    return Err(Error::invalid_input(
                        CATALOGS.text(locale, "too-long", &max),
                    ));
                }
                notes.set(&key, text)?;
                out.reply(say("remembered", &key));
            }
            "recall" => {
                let key = key_arg(&cmd)?;
                match notes.get::<String>(&key)? {
                    Some(text) => out.reply(text),
                    None => out.reply(say("unknown", &key)),
                }
            }
            "forget" => {
                let key = key_arg(&cmd)?;
                match notes.delete(&key)? {
                    true => out.reply(say("forgot", &key)),
                    false => out.reply(say("unknown", &key)),
                }
            }
            "notes" => {
                let keys = notes.keys("")?;
                if keys.is_empty() {
                    out.reply(say("empty", ""));
                    return Ok(());
                }
                // A card: one field per note, its text cut short.
                let count = args([("count", keys.len().into())]);
                let mut card = Embed::new().title(CATALOGS.text(locale, "title", &count));
                for key in keys.iter().take(MAX_LISTED) {
                    let text: String = notes.get(key)?.unwrap_or_default();
                    card = card.field(key, markdown::escape(&preview(&text)));
                }
                if keys.len() > MAX_LISTED {
                    let more = keys.len() - MAX_LISTED;
                    let more = args([("more", more.into())]);
                    card = card.footer(CATALOGS.text(locale, "more", &more));
                }
                out.reply_with(Outgoing::text("").with_embed(card));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The first [`MAX_PREVIEW`] characters of `text`, on one line.
fn preview(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_PREVIEW) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None if line.is_empty() => "…".into(),
        None => line,
    }
}

fn key_arg(cmd: &Command) -> Result<String> {
    let key: String = cmd.arg(0, "key")?;
    let key = key.to_lowercase();
    if key.len() > MAX_KEY || key.contains('/') {
        let max = args([("max", MAX_KEY.into())]);
        let text = CATALOGS.text(cmd.locale.as_deref(), "bad-key", &max);
        return Err(Error::invalid_input(text));
    }
    Ok(key)
}

plugboard_sdk::export_plugin!(Notes);
