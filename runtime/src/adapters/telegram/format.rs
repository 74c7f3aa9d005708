//! Plugin text as Telegram shows it.
//!
//! Plain text is sent without a parse mode, so Telegram shows it exactly as
//! written: nothing to escape. Markdown is rendered by [`markdown`] to the
//! HTML subset of Telegram's `parse_mode = HTML`, everything else escaped.
//! The visible text is what Telegram's length limit counts, and what is sent
//! instead should Telegram refuse the markup. Texts longer than the limit are
//! split between top-level blocks (paragraphs, lists, code blocks), never
//! inside a tag.

use crate::adapters::markdown::{self, blocks};

use super::{MAX_TEXT, split_text};
use crate::event::{Outgoing, TextFormat};

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
/// visible characters.
pub fn pieces(message: &Outgoing) -> Vec<Piece> {
    if message.format == TextFormat::Plain {
        return split_text(&message.text)
            .into_iter()
            .map(Piece::plain)
            .collect();
    }
    let whole = piece(&message.text);
    if whole.plain.chars().count() <= MAX_TEXT {
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
        if candidate.plain.chars().count() <= MAX_TEXT {
            start = Some(from);
            end = block.end;
            continue;
        }
        if let Some(from) = start {
            out.push(piece(&message.text[from..end]));
        }
        let alone = piece(&message.text[block.clone()]);
        if alone.plain.chars().count() <= MAX_TEXT {
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
    let plain = match message.format {
        TextFormat::Plain => message.text.clone(),
        TextFormat::Markdown => piece(&message.text).plain,
    };
    Piece::plain(plain.chars().take(MAX_TEXT).collect())
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
        };
        let pieces = super::pieces(&huge);
        assert_eq!(pieces.len(), 2);
        assert!(pieces.iter().all(|p| !p.html));
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
