//! Checking what a plugin wants delivered, once, on this model: whatever
//! contract version a plugin speaks, its buttons, embeds, ids and emoji pass
//! through these functions after the host converted them, so the limits are
//! the same for every version and every platform (Discord's, the strictest,
//! for embeds and labels; Telegram's for callback data).
//!
//! Button ids are namespaced here too: a plugin's button `vote-1` travels as
//! `<plugin>:vote-1` ([`button_data`]), and a press finds its plugin again
//! with [`split_button_data`].

use crate::event::{Button, Embed};

/// Longest chat id, message id or platform name an action may name, in bytes.
pub const MAX_ID: usize = 256;
/// Longest reaction emoji, in bytes (a custom Discord emoji `<:name:id>`
/// fits with room to spare).
pub const MAX_EMOJI: usize = 128;
/// Longest button label, in characters (Discord's limit).
pub const MAX_BUTTON_LABEL: usize = 80;
/// Most rows of buttons under one message.
pub const MAX_BUTTON_ROWS: usize = 10;
/// Most buttons in one row.
pub const MAX_BUTTONS_PER_ROW: usize = 8;
/// Longest callback data a button may carry on any platform (Telegram's
/// limit), `<plugin>:` included.
pub const MAX_BUTTON_DATA: usize = 64;

/// Longest embed title, in characters (Discord's limit).
pub const MAX_EMBED_TITLE: usize = 256;
/// Longest embed description, in characters.
pub const MAX_EMBED_DESCRIPTION: usize = 4096;
/// Most fields in one embed.
pub const MAX_EMBED_FIELDS: usize = 25;
/// Longest embed field name, in characters.
pub const MAX_EMBED_FIELD_NAME: usize = 256;
/// Longest embed field value, in characters.
pub const MAX_EMBED_FIELD_VALUE: usize = 1024;
/// Longest embed footer, in characters.
pub const MAX_EMBED_FOOTER: usize = 2048;
/// Most characters in all texts of one embed together.
pub const MAX_EMBED_TOTAL: usize = 6000;
/// Longest embed link (`url`, `image-url`), in bytes.
pub const MAX_EMBED_URL: usize = 2048;

/// Why something a plugin wants delivered was refused. The host maps the
/// kinds to its contract's error cases (`limit-exceeded`,
/// `invalid-argument`); the text is for the plugin's author.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Over one of the limits above.
    #[error("{0}")]
    Limit(String),
    /// Not acceptable at all.
    #[error("{0}")]
    Invalid(String),
}

/// Refuses an id (`what`: "chat id", "message id", "platform name") longer
/// than [`MAX_ID`].
pub fn check_id(what: &str, id: &str) -> Result<(), Refusal> {
    if id.len() > MAX_ID {
        return Err(Refusal::Limit(format!(
            "a {what} is at most {MAX_ID} bytes; this one has {}",
            id.len()
        )));
    }
    Ok(())
}

/// Refuses a reaction emoji longer than [`MAX_EMOJI`].
pub fn check_emoji(emoji: &str) -> Result<(), Refusal> {
    if emoji.len() > MAX_EMOJI {
        return Err(Refusal::Limit(format!(
            "a reaction emoji is at most {MAX_EMOJI} bytes; this one has {}",
            emoji.len()
        )));
    }
    Ok(())
}

/// The callback data a button of `plugin` with id `id` carries:
/// `<plugin>:<id>`, refused when longer than [`MAX_BUTTON_DATA`].
pub fn button_data(plugin: &str, id: &str) -> Result<String, Refusal> {
    let data = format!("{plugin}:{id}");
    if data.len() > MAX_BUTTON_DATA {
        return Err(Refusal::Invalid(format!(
            "button id {} is too long: with the plugin's name it must fit in {MAX_BUTTON_DATA} bytes",
            plugboard_registry_types::text::quote(id)
        )));
    }
    Ok(data)
}

/// The plugin and the button id in a press's callback data, or `None` when
/// it does not have the `<plugin>:<id>` shape of [`button_data`].
pub fn split_button_data(data: &str) -> Option<(&str, &str)> {
    data.split_once(':')
}

/// Refuses more than [`MAX_BUTTON_ROWS`] rows or [`MAX_BUTTONS_PER_ROW`]
/// buttons in a row, before anything is converted.
pub fn check_button_grid(rows: usize, widest: usize) -> Result<(), Refusal> {
    if rows > MAX_BUTTON_ROWS || widest > MAX_BUTTONS_PER_ROW {
        return Err(Refusal::Limit(format!(
            "a message has at most {MAX_BUTTON_ROWS} rows of at most {MAX_BUTTONS_PER_ROW} buttons"
        )));
    }
    Ok(())
}

/// Refuses a button whose label is longer than [`MAX_BUTTON_LABEL`]
/// characters.
pub fn check_button(button: &Button) -> Result<(), Refusal> {
    let label = button.label.chars().count();
    if label > MAX_BUTTON_LABEL {
        return Err(Refusal::Limit(format!(
            "a button label is at most {MAX_BUTTON_LABEL} characters; this one has {label}"
        )));
    }
    Ok(())
}

/// Checks an embed against Discord's limits, so that it renders on every
/// platform.
pub fn check_embed(e: &Embed) -> Result<(), Refusal> {
    fn within(what: &str, text: &str, max: usize) -> Result<usize, Refusal> {
        let n = text.chars().count();
        if n > max {
            return Err(Refusal::Limit(format!(
                "an embed's {what} is at most {max} characters; this one has {n}"
            )));
        }
        Ok(n)
    }
    fn link(what: &str, url: Option<&str>) -> Result<(), Refusal> {
        let Some(url) = url else { return Ok(()) };
        let scheme_ok = ["http://", "https://"].iter().any(|s| {
            url.get(..s.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(s))
        });
        if !scheme_ok
            || url.len() > MAX_EMBED_URL
            || url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'))
        {
            return Err(Refusal::Invalid(format!(
                "an embed's {what} must be an http:// or https:// address of at most {MAX_EMBED_URL} bytes, without spaces or `<` `>`"
            )));
        }
        Ok(())
    }
    if e.fields.len() > MAX_EMBED_FIELDS {
        return Err(Refusal::Limit(format!(
            "an embed has at most {MAX_EMBED_FIELDS} fields; this one has {}",
            e.fields.len()
        )));
    }
    let mut total = 0;
    if let Some(title) = &e.title {
        total += within("title", title, MAX_EMBED_TITLE)?;
    }
    if let Some(description) = &e.description {
        total += within("description", description, MAX_EMBED_DESCRIPTION)?;
    }
    if let Some(footer) = &e.footer {
        total += within("footer", footer, MAX_EMBED_FOOTER)?;
    }
    for f in &e.fields {
        if f.name.trim().is_empty() || f.value.trim().is_empty() {
            return Err(Refusal::Invalid(
                "an embed field needs a name and a value that are not empty".into(),
            ));
        }
        total += within("field name", &f.name, MAX_EMBED_FIELD_NAME)?;
        total += within("field value", &f.value, MAX_EMBED_FIELD_VALUE)?;
    }
    if total > MAX_EMBED_TOTAL {
        return Err(Refusal::Limit(format!(
            "an embed's texts together are at most {MAX_EMBED_TOTAL} characters; this one has {total}"
        )));
    }
    if e.color.is_some_and(|c| c > 0xFF_FFFF) {
        return Err(Refusal::Invalid(
            "an embed's color is 0xRRGGBB, at most 0xFFFFFF".into(),
        ));
    }
    link("url", e.url.as_deref())?;
    link("image-url", e.image_url.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_data_round_trips_and_is_capped() {
        let data = button_data("poll", "vote-1").expect("fits");
        assert_eq!(data, "poll:vote-1");
        assert_eq!(split_button_data(&data), Some(("poll", "vote-1")));
        assert_eq!(split_button_data("no-prefix"), None);
        let long = "x".repeat(MAX_BUTTON_DATA);
        assert!(matches!(
            button_data("poll", &long),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn ids_and_emoji_are_capped_in_bytes() {
        assert!(check_id("chat id", &"1".repeat(MAX_ID)).is_ok());
        assert!(check_id("chat id", &"1".repeat(MAX_ID + 1)).is_err());
        assert!(check_emoji(&"é".repeat(MAX_EMOJI / 2)).is_ok());
        assert!(check_emoji(&"é".repeat(MAX_EMOJI / 2 + 1)).is_err());
    }
}
