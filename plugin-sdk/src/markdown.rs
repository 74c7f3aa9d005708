//! Writing Markdown messages safely.
//!
//! [`Outgoing::markdown`](crate::Outgoing::markdown) texts are CommonMark:
//! `**bold**`, `*italic*`, `` `code` ``, `[links](https://…)`, lists, quotes.
//! Text that comes from users (a poll question, a name) must not turn into
//! markup: pass it through [`escape`] before putting it in a Markdown message.
//!
//! ```
//! use plugboard_sdk::{markdown, Outgoing};
//!
//! let question = "*Pizza* or [salad](javascript:x)?";
//! let message = Outgoing::markdown(format!("📊 **{}**", markdown::escape(question)));
//! assert_eq!(message.text, r"📊 **\*Pizza\* or \[salad\]\(javascript:x\)?**");
//! ```

/// Escapes `text` so that Markdown shows it exactly as written: every ASCII
/// punctuation character that CommonMark could read as markup gets a
/// backslash.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '{'
                | '}'
                | '['
                | ']'
                | '<'
                | '>'
                | '('
                | ')'
                | '#'
                | '+'
                | '-'
                | '.'
                | '!'
                | '|'
                | '~'
                | '&'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
