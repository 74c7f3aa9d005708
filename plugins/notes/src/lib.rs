//! `notes`: remembers short notes per chat in the plugin's key-value store,
//! so they survive restarts.

use plugboard_sdk::kv::Scope;
use plugboard_sdk::markdown;
use plugboard_sdk::prelude::*;

/// Longest key accepted, in bytes.
const MAX_KEY: usize = 64;
/// Longest note accepted, in bytes.
const MAX_NOTE: usize = 2_000;
/// Most notes `/notes` shows (an embed holds at most 25 fields).
const MAX_LISTED: usize = 20;
/// Most characters of a note `/notes` shows.
const MAX_PREVIEW: usize = 100;

/// The plugin; its state lives in KV.
#[derive(Default)]
pub struct Notes;

impl Plugin for Notes {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let notes = Scope::chat(&cmd.message.chat).nested("notes");
        match cmd.name.as_str() {
            "remember" => {
                let key = key_arg(&cmd)?;
                let text = cmd.rest(1);
                if text.is_empty() {
                    return Err(Error::invalid_input(
                        "nothing to remember; usage: /remember <key> <text>",
                    ));
                }
                if text.len() > MAX_NOTE {
                    return Err(Error::invalid_input(format!(
                        "a note holds at most {MAX_NOTE} bytes"
                    )));
                }
                notes.set(&key, text)?;
                out.reply(format!("Remembered `{key}`."));
            }
            "recall" => {
                let key = key_arg(&cmd)?;
                match notes.get::<String>(&key)? {
                    Some(text) => out.reply(text),
                    None => out.reply(format!("I don't remember anything about `{key}`.")),
                }
            }
            "forget" => {
                let key = key_arg(&cmd)?;
                if notes.delete(&key)? {
                    out.reply(format!("Forgot `{key}`."));
                } else {
                    out.reply(format!("I don't remember anything about `{key}`."));
                }
            }
            "notes" => {
                let keys = notes.keys("")?;
                if keys.is_empty() {
                    out.reply("No notes yet. Add one with /remember <key> <text>.");
                    return Ok(());
                }
                // A card: one field per note, its text cut short.
                let mut card = Embed::new().title(format!("📒 Notes ({})", keys.len()));
                for key in keys.iter().take(MAX_LISTED) {
                    let text: String = notes.get(key)?.unwrap_or_default();
                    card = card.field(key, markdown::escape(&preview(&text)));
                }
                if keys.len() > MAX_LISTED {
                    let more = keys.len() - MAX_LISTED;
                    card = card.footer(format!("and {more} more; /recall <key> shows one"));
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
        return Err(Error::invalid_input(format!(
            "a key is one word of at most {MAX_KEY} bytes, without `/`"
        )));
    }
    Ok(key)
}

plugboard_sdk::export_plugin!(Notes);
