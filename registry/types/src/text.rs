//! Neutralising text that someone else controls before a person reads it.
//!
//! Plugin manifests, plugin replies and error messages, and what platform
//! users type all end up on the owner's terminal and in the bot's log. A
//! control character there is an attack: an escape sequence can retitle the
//! window, clear the screen or recolour what follows; a carriage return or a
//! newline can forge a table row or a whole log line; a bidirectional
//! override can make text read differently from what it is.
//!
//! This module is the one rule for all of them: [`is_unsafe`] says which
//! characters are never shown raw, [`escape`] replaces each with a visible
//! escape (`\u{1b}`), and [`quote`] cuts and escapes a piece of bad input
//! for an error message. Everything that prints or logs outside text calls
//! these, so the rule cannot drift between the console, the log, `/help`
//! and `plugboard plugins list`.
//!
//! ```
//! use plugboard_registry_types::text::{escape, quote};
//!
//! assert_eq!(escape("a\x1b[2Jb", false), "a\\u{1b}[2Jb");
//! assert_eq!(escape("two\nlines", true), "two\nlines");
//! assert_eq!(escape("two\nlines", false), "two\\nlines");
//! assert_eq!(quote("x\ny"), "`x\\ny`");
//! ```

use std::borrow::Cow;

/// Longest piece of bad input an error message quotes, in characters.
pub const MAX_QUOTED: usize = 64;

/// Whether `c` must never reach a terminal or a log raw: C0 controls
/// (`U+0000`–`U+001F`, newline included), `DEL`, C1 controls
/// (`U+0080`–`U+009F`, which some terminals read as escape sequences), the
/// Unicode line and paragraph separators, and every bidirectional control:
/// the overrides and isolates (`U+202A`–`U+202E`, `U+2066`–`U+2069`) and
/// the marks (`U+200E`, `U+200F`, `U+061C`), which reorder how a line
/// reads. (Zero-width joiners stay: emoji are made of them.)
pub fn is_unsafe(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
    )
}

/// `text` with every [unsafe](is_unsafe) character replaced by its escape:
/// `\n`, `\r`, `\t` and `\u{..}` for the others (a backslash itself is left
/// alone). With `multiline`, newlines are kept as line breaks. Borrows when
/// there is nothing to replace.
pub fn escape(text: &str, multiline: bool) -> Cow<'_, str> {
    let keep = |c: char| !is_unsafe(c) || (multiline && c == '\n');
    if text.chars().all(keep) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if keep(c) {
            out.push(c);
        } else {
            push_escaped(&mut out, c);
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // Writing to a String cannot fail.
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// `text` cut to at most `max` characters, with `…` in place of the rest
/// when it was longer.
pub fn cut(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((end, _)) => {
            let keep = text[..end]
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(end, |(i, _)| i);
            Cow::Owned(format!("{}…", &text[..keep]))
        }
    }
}

/// `text` [escaped](escape) to one line of at most `max` characters: cut
/// before escaping, so a long text costs little, and after, so escapes
/// cannot widen it. For table cells and other outside text on one line.
pub fn one_line(text: &str, max: usize) -> String {
    cut(&escape(&cut(text, max), false), max).into_owned()
}

/// Bad input quoted for an error message: cut to [`MAX_QUOTED`] characters,
/// [escaped](escape) to one line, in backticks.
pub fn quote(text: &str) -> String {
    format!("`{}`", escape(&cut(text, MAX_QUOTED), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unsafe_character_is_escaped_and_nothing_else() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            let shown = escape(&c.to_string(), false).into_owned();
            if is_unsafe(c) {
                assert!(shown.starts_with('\\'), "{c:?} shown as {shown:?}");
                assert!(!shown.chars().any(is_unsafe), "{c:?} shown as {shown:?}");
            } else {
                assert_eq!(shown, c.to_string());
            }
        }
        let cases = [
            ("\x1b]0;pwned\x07", false, "\\u{1b}]0;pwned\\u{7}"),
            ("a\rb\tc\x7f", false, "a\\rb\\tc\\u{7f}"),
            ("\u{9b}2J", false, "\\u{9b}2J"),
            ("\u{202e}txt", false, "\\u{202e}txt"),
            ("line\nline", true, "line\nline"),
            ("line\r\nline", true, "line\\r\nline"),
            ("é ü 🎲 \\", false, "é ü 🎲 \\"),
        ];
        for (text, multiline, expected) in cases {
            assert_eq!(escape(text, multiline), expected, "{text:?}");
        }
    }

    #[test]
    fn cuts_count_characters() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("éééé", 3), "éé…");
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abc", 0), "…");
        assert_eq!(quote(&"x".repeat(100)).chars().count(), MAX_QUOTED + 2);
        assert_eq!(quote("bad\nname"), "`bad\\nname`");
    }
}
