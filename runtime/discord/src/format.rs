//! Plugin text as Discord shows it.
//!
//! Discord renders its own Markdown dialect, close to CommonMark: bold,
//! italics, strikethrough, code, fenced blocks, quotes, lists, headings and
//! masked links all read the same. So:
//!
//! * **Markdown** texts are passed through as written;
//! * **plain** texts are escaped: every character Discord would read as
//!   markup (`` \ * _ ~ ` | < [ ] ``, and `#`, `-`, `>`, `1.` at the start of a
//!   line) gets a backslash, so the text shows exactly as written. Web
//!   addresses are left alone, or Discord would no longer recognise them.
//!
//! Either way `@everyone` and `@here` get an invisible zero-width space after
//! the `@`, and every message goes out with `allowed_mentions` that pings no
//! role, nobody for `@everyone`, and no user except the author of the message
//! being answered: a plugin (or a user whose words a plugin repeats) cannot
//! make the bot ping a crowd. The one exception is a plugin holding the
//! `mention-everyone` permission ([`Mentions::everyone`]): its `@everyone`
//! and `@here` are left intact and allowed to notify.
//!
//! A message's [`Embed`] becomes a Discord embed ([`embed`]) on the last
//! piece of the message.
//!
//! Texts longer than Discord's limit are split, preferring top-level
//! Markdown blocks and line breaks; buttons become action rows of at most
//! five buttons each.

use serde_json::{Value, json};

use plugboard_adapter::markdown::blocks;
use plugboard_model::event::{Button, Embed, Outgoing, TextFormat};

/// Discord's limit on the text of one message, in characters.
pub const MAX_TEXT: usize = 2000;
/// Most action rows under one message.
pub const MAX_ROWS: usize = 5;
/// Most buttons in one action row.
pub const MAX_BUTTONS_PER_ROW: usize = 5;
/// Longest button label, in characters.
pub const MAX_LABEL: usize = 80;
/// Longest `custom_id` of a button, in characters.
pub const MAX_CUSTOM_ID: usize = 100;

/// A zero-width space: put after an `@`, it keeps `@everyone` from being
/// read as a mention.
const ZERO_WIDTH_SPACE: char = '\u{200B}';

/// Who a message may notify beyond what `allowed_mentions` always allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mentions {
    /// `@everyone` and `@here` notify (the plugin holds `mention-everyone`).
    pub everyone: bool,
}

impl Mentions {
    /// Defuses `@everyone` and `@here` in `text` unless they may notify.
    fn apply(self, text: String) -> String {
        match self.everyone {
            true => text,
            false => neutralise_everyone(&text),
        }
    }
}

/// Backslash-escapes Discord's markup in `text`, leaving web addresses as
/// they are, and defuses `@everyone` and `@here`.
pub fn escape_plain(text: &str) -> String {
    neutralise_everyone(&escape_markup(text))
}

/// Backslash-escapes Discord's markup in `text`, leaving web addresses as
/// they are.
fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        escape_line(line, &mut out);
    }
    out
}

fn escape_line(line: &str, out: &mut String) {
    // Block markup is only markup at the start of a line (after spaces).
    let body = line.trim_start_matches(' ');
    out.push_str(&line[..line.len() - body.len()]);
    let digits = body.chars().take_while(char::is_ascii_digit).count();
    let rest = if body.starts_with(['#', '-', '>', '+']) {
        out.push('\\');
        body
    } else if digits > 0 && body[digits..].starts_with(". ") {
        out.push_str(&body[..digits]);
        out.push('\\');
        &body[digits..]
    } else {
        body
    };
    let mut words = rest.split(' ').peekable();
    while let Some(word) = words.next() {
        if word.starts_with("http://") || word.starts_with("https://") {
            out.push_str(word);
        } else {
            for c in word.chars() {
                if matches!(c, '\\' | '*' | '_' | '~' | '`' | '|' | '<' | '[' | ']') {
                    out.push('\\');
                }
                out.push(c);
            }
        }
        if words.peek().is_some() {
            out.push(' ');
        }
    }
}

/// Keeps `@everyone` and `@here` from reading as mentions.
pub fn neutralise_everyone(text: &str) -> String {
    text.replace("@everyone", &format!("@{ZERO_WIDTH_SPACE}everyone"))
        .replace("@here", &format!("@{ZERO_WIDTH_SPACE}here"))
}

/// The texts of the messages `message` becomes, each within [`MAX_TEXT`].
pub fn pieces(message: &Outgoing, mentions: Mentions) -> Vec<String> {
    match message.format {
        TextFormat::Plain => split(&mentions.apply(escape_markup(&message.text)), MAX_TEXT),
        TextFormat::Markdown => {
            let text = mentions.apply(message.text.clone());
            if text.chars().count() <= MAX_TEXT {
                return vec![text];
            }
            // Group top-level blocks into pieces that fit; a block too long
            // on its own is split by lines.
            let mut out = Vec::new();
            let mut current = String::new();
            for block in blocks(&text) {
                let block = text[block].trim_end();
                let joined = if current.is_empty() {
                    block.to_owned()
                } else {
                    format!("{current}\n\n{block}")
                };
                if joined.chars().count() <= MAX_TEXT {
                    current = joined;
                    continue;
                }
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                if block.chars().count() <= MAX_TEXT {
                    current = block.to_owned();
                } else {
                    out.extend(split(block, MAX_TEXT));
                }
            }
            if !current.is_empty() || out.is_empty() {
                out.push(current);
            }
            out
        }
    }
}

/// The text for an edit: one piece, cut to the limit if needed.
pub fn single(message: &Outgoing, mentions: Mentions) -> String {
    let mut all = pieces(message, mentions);
    let first = all.swap_remove(0);
    if all.is_empty() {
        return first;
    }
    let mut cut: String = first.chars().take(MAX_TEXT - 1).collect();
    if trailing_backslashes(&cut) % 2 == 1 {
        cut.pop();
    }
    cut.push('…');
    cut
}

fn trailing_backslashes(text: &str) -> usize {
    text.chars().rev().take_while(|&c| c == '\\').count()
}

/// Splits `text` into pieces of at most `limit` characters, preferring line
/// breaks, never between a backslash and the character it escapes.
pub fn split(text: &str, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while rest.chars().count() > limit {
        let end = rest
            .char_indices()
            .nth(limit)
            .map_or(rest.len(), |(i, _)| i);
        let mut cut = rest[..end].rfind('\n').filter(|&i| i > 0).unwrap_or(end);
        if trailing_backslashes(&rest[..cut]) % 2 == 1 {
            cut -= 1;
        }
        if cut == 0 {
            cut = end;
        }
        pieces.push(rest[..cut].to_owned());
        rest = rest[cut..].trim_start_matches('\n');
    }
    if !rest.is_empty() || pieces.is_empty() {
        pieces.push(rest.to_owned());
    }
    pieces
}

/// `allowed_mentions` for every message: no `@everyone` (unless
/// `mentions.everyone`), no roles, no users, except the author of the
/// message answered when `reply`.
pub fn allowed_mentions(reply: bool, mentions: Mentions) -> Value {
    let parse: &[&str] = match mentions.everyone {
        true => &["everyone"],
        false => &[],
    };
    json!({ "parse": parse, "replied_user": reply })
}

/// An embed as Discord takes it. The host checked it against Discord's
/// limits; the title and field names are plain text (escaped here), the
/// description and field values Markdown, the footer shown as is (Discord
/// reads no markup there). Embeds never notify anyone.
pub fn embed(embed: &Embed) -> Value {
    let mut out = serde_json::Map::new();
    let mut put = |key: &str, value: Value| {
        out.insert(key.into(), value);
    };
    if let Some(title) = embed.title.as_deref().filter(|t| !t.is_empty()) {
        put("title", json!(escape_markup(title)));
    }
    if let Some(description) = embed.description.as_deref().filter(|d| !d.is_empty()) {
        put("description", json!(description));
    }
    if let Some(url) = &embed.url {
        put("url", json!(url));
    }
    if let Some(color) = embed.color {
        put("color", json!(color));
    }
    if !embed.fields.is_empty() {
        let fields: Vec<Value> = embed
            .fields
            .iter()
            .map(|f| json!({"name": escape_markup(&f.name), "value": f.value, "inline": f.inline}))
            .collect();
        put("fields", Value::Array(fields));
    }
    if let Some(footer) = embed.footer.as_deref().filter(|f| !f.is_empty()) {
        put("footer", json!({ "text": footer }));
    }
    if let Some(image) = &embed.image_url {
        put("image", json!({ "url": image }));
    }
    Value::Object(out)
}

/// The action rows for `buttons`, within Discord's limits (what does not
/// fit is dropped, with a warning).
pub fn components(buttons: &[Vec<Button>]) -> Value {
    let total: usize = buttons.iter().map(Vec::len).sum();
    let rows: Vec<Value> = buttons
        .iter()
        .filter(|row| !row.is_empty())
        .take(MAX_ROWS)
        .map(|row| {
            let buttons: Vec<Value> = row
                .iter()
                .filter(|b| {
                    let fits = b.id.chars().count() <= MAX_CUSTOM_ID;
                    if !fits {
                        tracing::warn!(id = %b.id, "discord: a button id is longer than 100 characters; dropping the button");
                    }
                    fits
                })
                .take(MAX_BUTTONS_PER_ROW)
                .map(|b| {
                    let mut label: String = b.label.chars().take(MAX_LABEL).collect();
                    if label.trim().is_empty() {
                        label = "·".into();
                    }
                    // Style 2: a grey "secondary" button.
                    json!({"type": 2, "style": 2, "label": label, "custom_id": b.id})
                })
                .collect();
            json!({"type": 1, "components": buttons})
        })
        .collect();
    let shown: usize = rows
        .iter()
        .map(|r| r["components"].as_array().map_or(0, Vec::len))
        .sum();
    if shown < total {
        tracing::warn!(
            "discord: a message has {total} buttons; Discord shows at most {MAX_ROWS} rows of {MAX_BUTTONS_PER_ROW}, so {} were dropped",
            total - shown
        );
    }
    Value::Array(rows)
}

/// What goes into one message besides its text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// Rows of buttons.
    pub buttons: &'a [Vec<Button>],
    /// The card, if any.
    pub embed: Option<&'a Embed>,
    /// Whether the message answers another, whose author is then notified.
    pub reply: bool,
    /// Who else may be notified.
    pub mentions: Mentions,
}

/// The JSON body of a message: content, buttons, embed, mention rules. An
/// edit without an embed removes the one the message had.
pub fn body(text: &str, extras: Extras<'_>) -> serde_json::Map<String, Value> {
    let mut body = serde_json::Map::new();
    body.insert("content".into(), Value::String(text.to_owned()));
    body.insert("components".into(), components(extras.buttons));
    let embeds: Vec<Value> = extras.embed.map(embed).into_iter().collect();
    body.insert("embeds".into(), Value::Array(embeds));
    body.insert(
        "allowed_mentions".into(),
        allowed_mentions(extras.reply, extras.mentions),
    );
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_escaped_and_links_kept() {
        assert_eq!(
            escape_plain("*not bold* and _x_ ~~y~~ `c` ||s|| <@1> [a](b)"),
            "\\*not bold\\* and \\_x\\_ \\~\\~y\\~\\~ \\`c\\` \\|\\|s\\|\\| \\<@1> \\[a\\](b)"
        );
        assert_eq!(
            escape_plain("# title\n- item\n> quote\n12. twelve"),
            "\\# title\n\\- item\n\\> quote\n12\\. twelve"
        );
        assert_eq!(
            escape_plain("see https://example.com/a_b_c now"),
            "see https://example.com/a_b_c now"
        );
        assert_eq!(escape_plain("a\\b"), "a\\\\b");
    }

    #[test]
    fn everyone_never_pings() {
        let text = escape_plain("hi @everyone and @here");
        assert!(
            !text.contains("@everyone") && !text.contains("@here"),
            "{text}"
        );
        let markdown = Outgoing {
            text: "**@everyone**".into(),
            format: TextFormat::Markdown,
            buttons: Vec::new(),
            embed: None,
        };
        assert_eq!(
            pieces(&markdown, Mentions::default()),
            vec!["**@\u{200B}everyone**"]
        );
        assert_eq!(
            allowed_mentions(false, Mentions::default())["parse"],
            json!([])
        );
        // Granted: intact, and allowed to notify.
        let granted = Mentions { everyone: true };
        assert_eq!(pieces(&markdown, granted), vec!["**@everyone**"]);
        assert_eq!(
            pieces(&Outgoing::text("hi @here *x*"), granted),
            vec!["hi @here \\*x\\*"]
        );
        assert_eq!(
            allowed_mentions(true, granted)["parse"],
            json!(["everyone"])
        );
    }

    #[test]
    fn long_texts_are_split_at_the_limit() {
        let long = Outgoing::text("é".repeat(MAX_TEXT + 10));
        let none = Mentions::default();
        let pieces = pieces(&long, none);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0].chars().count(), MAX_TEXT);
        // Never between a backslash and what it escapes.
        let stars = Outgoing::text("*".repeat(MAX_TEXT));
        for piece in super::pieces(&stars, none) {
            assert!(piece.chars().count() <= MAX_TEXT);
            assert_eq!(trailing_backslashes(&piece) % 2, 0, "{piece}");
            assert!(piece.starts_with('\\'));
        }
        let paragraph = format!("**{}**", "a".repeat(1500));
        let markdown = Outgoing {
            text: format!("{paragraph}\n\n{paragraph}"),
            format: TextFormat::Markdown,
            buttons: Vec::new(),
            embed: None,
        };
        assert_eq!(
            super::pieces(&markdown, none),
            vec![paragraph.clone(), paragraph]
        );
        assert!(single(&long, none).chars().count() <= MAX_TEXT);
    }

    #[test]
    fn buttons_fit_discords_limits() {
        let row: Vec<Button> = (0..7)
            .map(|i| Button {
                id: format!("poll:{i}"),
                label: format!("Option {i}"),
            })
            .collect();
        let rows = components(&vec![row; 7]);
        let rows = rows.as_array().expect("rows");
        assert_eq!(rows.len(), MAX_ROWS);
        assert_eq!(rows[0]["components"].as_array().map(Vec::len), Some(5));
        assert_eq!(rows[0]["components"][1]["custom_id"], "poll:1");
        assert_eq!(components(&[]), json!([]));
    }

    #[test]
    fn embeds_become_discord_embeds() {
        let card = Embed {
            title: Some("*Weather*".into()),
            description: Some("**Sunny**".into()),
            url: Some("https://example.com/w".into()),
            color: Some(0xF5A623),
            fields: vec![plugboard_model::event::EmbedField {
                name: "Wind_speed".into(),
                value: "12 km/h".into(),
                inline: true,
            }],
            footer: Some("*as is*".into()),
            image_url: None,
        };
        assert_eq!(
            embed(&card),
            json!({
                "title": "\\*Weather\\*", "description": "**Sunny**",
                "url": "https://example.com/w", "color": 0xF5A623,
                "fields": [{"name": "Wind\\_speed", "value": "12 km/h", "inline": true}],
                "footer": {"text": "*as is*"},
            })
        );
        let extras = Extras {
            embed: Some(&card),
            ..Extras::default()
        };
        assert_eq!(body("", extras)["embeds"].as_array().map(Vec::len), Some(1));
        assert_eq!(body("x", Extras::default())["embeds"], json!([]));
    }
}
