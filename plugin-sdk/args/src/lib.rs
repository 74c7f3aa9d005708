//! # plugboard-args
//!
//! Conventions the host and the plugin SDK must share exactly:
//!
//! * How a command's arguments are split: on whitespace, with `"double
//!   quoted groups"` kept together. The host (`plugboard-model`) and the
//!   SDK both call these functions, so what `/help` documents, what a 0.1
//!   plugin receives as `args` and what a 0.2 plugin's SDK computes from
//!   `raw-args` never differ.
//! * Where the SDK keeps a chat's and a user's KV data ([`scope`]), which
//!   the host needs when it moves a user's data to their linked person.
//! * Whom a Discord mention in a command's text names ([`mention_id`]),
//!   for the host's `/ban @someone` and a plugin's `/give @someone`.
//!
//! What it must not touch: anything beyond these pure functions over text.
//! It has no dependencies, because every plugin built with the SDK links
//! it.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

pub mod scope;

use alloc::string::String;
use alloc::vec::Vec;

/// Splits arguments on whitespace, keeping `"double quoted groups"` together
/// (the quotes themselves are dropped).
///
/// ```
/// assert_eq!(plugboard_args::split_args(r#"color "deep teal""#), ["color", "deep teal"]);
/// ```
pub fn split_args(raw: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut rest = raw.trim_start();
    while !rest.is_empty() {
        let end = token_end(rest);
        let token = &rest[..end];
        // One allocation per argument; quotes are dropped where there are any.
        args.push(if token.contains('"') {
            token.chars().filter(|&c| c != '"').collect()
        } else {
            String::from(token)
        });
        rest = rest[end..].trim_start();
    }
    args
}

/// Where the argument at the start of `text` ends: at the first whitespace
/// outside double quotes, or at the end.
fn token_end(text: &str) -> usize {
    let mut in_quotes = false;
    text.char_indices()
        .find(|&(_, c)| {
            if c == '"' {
                in_quotes = !in_quotes;
            }
            c.is_whitespace() && !in_quotes
        })
        .map_or(text.len(), |(i, _)| i)
}

/// The raw text after the first `skip` arguments of `raw`, spacing inside
/// preserved, counted the way [`split_args`] counts them.
///
/// ```
/// assert_eq!(plugboard_args::rest(r#""my color" deep  teal "#, 1), "deep  teal");
/// ```
pub fn rest(raw: &str, skip: usize) -> &str {
    let mut text = raw.trim_start();
    for _ in 0..skip {
        text = text[token_end(text)..].trim_start();
    }
    text.trim_end()
}

/// The user id a Discord mention written in a command's text names
/// (`<@123>`, or `<@!123>` for a nickname), if `arg` is one. The id is in
/// the text itself, so it names exactly whom the user meant, whoever else
/// the message happens to ping (a reply pings the author it answers).
///
/// ```
/// assert_eq!(plugboard_args::mention_id("<@420000000000000042>"), Some("420000000000000042"));
/// assert_eq!(plugboard_args::mention_id("<@!42>"), Some("42"));
/// assert_eq!(plugboard_args::mention_id("@ann"), None);
/// assert_eq!(plugboard_args::mention_id("<@&7>"), None); // a role, not a user
/// ```
pub fn mention_id(arg: &str) -> Option<&str> {
    let inner = arg.strip_prefix("<@")?.strip_suffix('>')?;
    let id = inner.strip_prefix('!').unwrap_or(inner);
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `rest(n)` returns splits into exactly the arguments after the
    /// `n`th, for every `n`.
    #[test]
    fn rest_agrees_with_split_args() {
        for raw in [
            "color deep teal",
            "  color\t deep  teal  ",
            r#""my color" deep teal"#,
            r#"a"b c"d e"#,
            r#""" x"#,
            r#"x "unterminated quote"#,
            "ünïcode\u{2003}em space",
            "",
        ] {
            let args = split_args(raw);
            for skip in 0..=args.len() {
                assert_eq!(
                    split_args(rest(raw, skip)),
                    args[skip..],
                    "rest({skip}) of {raw:?}"
                );
            }
        }
    }

    /// The splitting as it was first written, character by character: the
    /// rule the faster [`split_args`] must keep.
    fn reference(raw: &str) -> Vec<String> {
        let mut args = Vec::new();
        let mut current = String::new();
        let (mut in_quotes, mut has_token) = (false, false);
        for c in raw.chars() {
            match c {
                '"' => {
                    in_quotes = !in_quotes;
                    has_token = true;
                }
                c if c.is_whitespace() && !in_quotes => {
                    if has_token {
                        args.push(core::mem::take(&mut current));
                        has_token = false;
                    }
                }
                c => {
                    current.push(c);
                    has_token = true;
                }
            }
        }
        if has_token {
            args.push(current);
        }
        args
    }

    #[test]
    fn split_args_matches_the_reference_on_every_short_string_of_tricky_characters() {
        let alphabet = ['a', ' ', '"', '\t', '\u{2003}', 'é'];
        let mut raw = String::new();
        // Every string of up to five characters over the alphabet.
        let mut counters = [0usize; 5];
        for len in 0..=counters.len() {
            let total = alphabet.len().pow(len as u32);
            for n in 0..total {
                raw.clear();
                let mut n = n;
                for counter in counters.iter_mut().take(len) {
                    *counter = n % alphabet.len();
                    n /= alphabet.len();
                    raw.push(alphabet[*counter]);
                }
                assert_eq!(split_args(&raw), reference(&raw), "{raw:?}");
            }
        }
    }

    #[test]
    fn quoted_groups_stay_together_and_empty_quotes_count() {
        assert_eq!(split_args(r#"a "b c" d"#), ["a", "b c", "d"]);
        assert_eq!(split_args(r#""" x"#), ["", "x"]);
        assert_eq!(split_args("  "), [] as [&str; 0]);
    }
}
