//! Plugin text as Telegram shows it.
//!
//! Plain text is sent without a parse mode, so Telegram shows it exactly as
//! written: nothing to escape. Markdown is rendered by [`markdown`] to the
//! HTML subset of Telegram's `parse_mode = HTML`, everything else escaped.
//! The visible text is what Telegram's length limit counts, and what is sent
//! instead should Telegram refuse the markup. Texts longer than the limit are
//! split between top-level blocks (paragraphs, lists, code blocks), never
//! inside a tag.
//!
//! Telegram has no embeds: a message's [`Embed`](plugboard_model::event::Embed) is
//! shown as HTML text below it (see [`markdown::embed_markdown`]), in the
//! same message when both fit, else in a message of its own.

use plugboard_adapter::markdown::{self, blocks};

use crate::{MAX_TEXT, split_text, text_len, utf16_prefix};
use plugboard_model::event::{Outgoing, TextFormat};

/// One message's worth of text, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The text to send.
    pub text: String,
    /// Whether `text` is Telegram HTML (else plain text).
    pub html: bool,
    /// The visible text of an HTML piece, sent instead if Telegram refuses
    /// the markup.
    pub plain: String,
}

impl Piece {
    fn plain(text: String) -> Self {
        Self {
            text: text.clone(),
            html: false,
            plain: text,
        }
    }
}

/// Splits `message` into the pieces to send, each within [`MAX_TEXT`]
/// visible characters; its embed, as text, comes last.
pub fn pieces(message: &Outgoing) -> Vec<Piece> {
    let mut out = text_pieces(message);
    let Some(embed) = &message.embed else {
        return out;
    };
    let card = Outgoing {
        text: markdown::embed_markdown(embed),
        format: TextFormat::Markdown,
        ..Outgoing::default()
    };
    let mut card = text_pieces(&card).into_iter();
    let Some(first) = card.next() else {
        return out;
    };
    match out.pop() {
        None => out.push(first),
        Some(last) if last.plain.trim().is_empty() => out.push(first),
        Some(last) if text_len(&last.plain) + 2 + text_len(&first.plain) <= MAX_TEXT => {
            out.push(join(last, first));
        }
        Some(last) => out.extend([last, first]),
    }
    out.extend(card);
    out
}

/// One piece of `above`, a blank line, and `below` (HTML).
fn join(above: Piece, below: Piece) -> Piece {
    let html = match above.html {
        true => above.text,
        false => escape_html(&above.text),
    };
    Piece {
        text: format!("{html}\n\n{}", below.text),
        html: true,
        plain: format!("{}\n\n{}", above.plain, below.plain),
    }
}

/// Escapes plain text for Telegram's HTML.
fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The pieces of `message`'s text alone.
fn text_pieces(message: &Outgoing) -> Vec<Piece> {
    if message.format == TextFormat::Plain {
        return split_text(&message.text)
            .into_iter()
            .map(Piece::plain)
            .collect();
    }
    let whole = piece(&message.text);
    if text_len(&whole.plain) <= MAX_TEXT {
        return vec![whole];
    }
    // Too long: group top-level blocks into pieces that fit; a single block
    // too long on its own is sent as plain text, split by lines.
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut end = 0;
    for block in blocks(&message.text) {
        let from = start.unwrap_or(block.start);
        let candidate = piece(&message.text[from..block.end]);
        if text_len(&candidate.plain) <= MAX_TEXT {
            start = Some(from);
            end = block.end;
            continue;
        }
        if let Some(from) = start {
            out.push(piece(&message.text[from..end]));
        }
        let alone = piece(&message.text[block.clone()]);
        if text_len(&alone.plain) <= MAX_TEXT {
            start = Some(block.start);
            end = block.end;
        } else {
            out.extend(split_text(&alone.plain).into_iter().map(Piece::plain));
            start = None;
        }
    }
    if let Some(from) = start {
        out.push(piece(&message.text[from..end]));
    }
    out
}

/// The message's text for an edit: one piece, cut to the limit if needed.
pub fn single(message: &Outgoing) -> Piece {
    let mut all = pieces(message);
    if all.len() == 1 {
        return all.remove(0);
    }
    let mut plain = match message.format {
        TextFormat::Plain => message.text.clone(),
        TextFormat::Markdown => piece(&message.text).plain,
    };
    if let Some(embed) = &message.embed {
        if !plain.trim().is_empty() {
            plain.push_str("\n\n");
        }
        plain.push_str(&piece(&markdown::embed_markdown(embed)).plain);
    }
    Piece::plain(plain[..utf16_prefix(&plain, MAX_TEXT)].to_owned())
}

/// A Markdown text as one HTML piece.
fn piece(markdown: &str) -> Piece {
    let rendered = markdown::render(markdown);
    Piece {
        text: rendered.html,
        html: true,
        plain: rendered.plain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_markdown_is_split_between_blocks() {
        let paragraph = format!("**{}**", "a".repeat(3000));
        let text = format!("{paragraph}\n\n{paragraph}\n\n{paragraph}");
        let message = Outgoing {
            text,
            format: TextFormat::Markdown,
            buttons: Vec::new(),
            embed: None,
        };
        let pieces = pieces(&message);
        assert_eq!(pieces.len(), 3);
        for piece in &pieces {
            assert!(piece.html);
            assert_eq!(piece.text, format!("<b>{}</b>", "a".repeat(3000)));
        }
        let huge = Outgoing {
            text: "b".repeat(MAX_TEXT * 2),
            format: TextFormat::Markdown,
            buttons: Vec::new(),
            embed: None,
        };
        let pieces = super::pieces(&huge);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| !p.html));
    }

    #[test]
    fn an_embed_becomes_text_below_the_message() {
        use plugboard_model::event::{Embed, EmbedField};
        let embed = Embed {
            title: Some("Notes".into()),
            fields: vec![EmbedField {
                name: "color".into(),
                value: "teal".into(),
                inline: false,
            }],
            ..Embed::default()
        };
        let message = Outgoing {
            embed: Some(Box::new(embed.clone())),
            ..Outgoing::text("a < b")
        };
        assert_eq!(
            pieces(&message),
            vec![Piece {
                text: "a &lt; b\n\n<b>Notes</b>\n\n<b>color:</b> teal".into(),
                html: true,
                plain: "a < b\n\nNotes\n\ncolor: teal".into(),
            }]
        );
        let alone = Outgoing {
            embed: Some(Box::new(embed.clone())),
            ..Outgoing::text("")
        };
        assert_eq!(pieces(&alone).len(), 1);
        assert_eq!(pieces(&alone)[0].plain, "Notes\n\ncolor: teal");
        // A long text: the card follows in a message of its own.
        let long = Outgoing {
            embed: Some(Box::new(embed)),
            ..Outgoing::text("x".repeat(MAX_TEXT))
        };
        let pieces = pieces(&long);
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[1].text, "<b>Notes</b>\n\n<b>color:</b> teal");
        assert!(text_len(&single(&long).plain) <= MAX_TEXT);
    }

    #[test]
    fn plain_text_is_sent_as_is() {
        let message = Outgoing::text("<b>*literal*</b>");
        assert_eq!(
            pieces(&message),
            vec![Piece {
                text: "<b>*literal*</b>".into(),
                html: false,
                plain: "<b>*literal*</b>".into(),
            }]
        );
    }
}
