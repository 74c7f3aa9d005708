//! Plugboard's Markdown (CommonMark, parsed by `pulldown-cmark`) as the
//! adapters show it.
//!
//! [`render`] yields two things at once: HTML in the small subset Telegram
//! understands (`<b>`, `<i>`, `<s>`, `<code>`, `<pre>`, `<a>`,
//! `<blockquote>`), and the visible text, for adapters without markup (the
//! console) and for length limits. Everything that is not markup is escaped,
//! raw HTML included, so a plugin (or a user whose words a plugin quotes)
//! cannot inject any; links keep only `http`, `https` and `mailto`
//! targets.
//!
//! Platforms without embeds show a message's [`Embed`] as text below the
//! message: [`embed_markdown`] writes it as Markdown, which then renders
//! like any other Markdown text.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use crate::event::Embed;

/// A rendering of one Markdown text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Telegram-style HTML.
    pub html: String,
    /// The visible text, without markup.
    pub plain: String,
}

fn options() -> Options {
    Options::ENABLE_STRIKETHROUGH
}

/// The byte ranges of `markdown`'s top-level blocks.
pub fn blocks(markdown: &str) -> Vec<std::ops::Range<usize>> {
    let mut depth = 0usize;
    let mut found = Vec::new();
    for (event, range) in Parser::new_ext(markdown, options()).into_offset_iter() {
        match event {
            Event::Start(_) => {
                if depth == 0 {
                    found.push(range);
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Rule if depth == 0 => found.push(range),
            _ => {}
        }
    }
    found
}

/// Renders Markdown to HTML and its visible text.
pub fn render(markdown: &str) -> Rendered {
    let mut r = Renderer::default();
    for event in Parser::new_ext(markdown, options()) {
        r.event(event);
    }
    let html = r.html.trim_end().to_owned();
    let plain = r.plain.trim_end().to_owned();
    Rendered { html, plain }
}

/// Escapes `text` so that Markdown shows it exactly as written: every
/// ASCII punctuation character CommonMark could read as markup gets a
/// backslash.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        if c.is_ascii_punctuation() {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` (one line) as a Markdown code span, shown exactly as written
/// whatever it holds: the fence is one backtick longer than the longest
/// run of them in `text`, and a space pads a text that starts or ends with
/// a backtick, or with a space at both ends (CommonMark strips one).
pub fn code(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let spaced = text.starts_with(' ') && text.ends_with(' ') && !text.trim().is_empty();
    let pad = if text.starts_with('`') || text.ends_with('`') || spaced {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// An embed as Markdown, for platforms without embeds: the title in bold
/// (a link when the embed has a `url`), the description, one
/// `**name:** value` line per field, the footer in italics and the image
/// as a link. Plain-text parts are escaped; the description and field
/// values are Markdown already. The colour is left out.
pub fn embed_markdown(embed: &Embed) -> String {
    let nonempty = |t: &Option<String>| t.clone().filter(|t| !t.trim().is_empty());
    let mut blocks = Vec::new();
    match (nonempty(&embed.title), &embed.url) {
        (Some(title), Some(url)) => blocks.push(format!("[**{}**](<{url}>)", escape(&title))),
        (Some(title), None) => blocks.push(format!("**{}**", escape(&title))),
        (None, Some(url)) => blocks.push(format!("[{}](<{url}>)", escape(url))),
        (None, None) => {}
    }
    if let Some(description) = nonempty(&embed.description) {
        blocks.push(description.trim().to_owned());
    }
    if !embed.fields.is_empty() {
        let lines: Vec<String> = embed
            .fields
            .iter()
            .map(|f| format!("**{}:** {}", escape(f.name.trim()), f.value.trim()))
            .collect();
        blocks.push(lines.join("  \n"));
    }
    if let Some(image) = &embed.image_url {
        blocks.push(format!("[{}](<{image}>)", escape(image)));
    }
    if let Some(footer) = nonempty(&embed.footer) {
        blocks.push(format!("_{}_", escape(footer.trim())));
    }
    blocks.join("\n\n")
}

#[derive(Default)]
struct Renderer {
    html: String,
    plain: String,
    /// For each open list: the next item's number, or `None` for bullets.
    lists: Vec<Option<u64>>,
    /// Whether each open link was rendered as `<a>` (a safe target).
    links: Vec<bool>,
}

impl Renderer {
    /// Visible text, escaped for HTML.
    fn text(&mut self, text: &str) {
        for c in text.chars() {
            match c {
                '<' => self.html.push_str("&lt;"),
                '>' => self.html.push_str("&gt;"),
                '&' => self.html.push_str("&amp;"),
                c => self.html.push(c),
            }
        }
        self.plain.push_str(text);
    }

    /// Markup, invisible.
    fn tag(&mut self, tag: &str) {
        self.html.push_str(tag);
    }

    /// Ends a block: one blank line before whatever comes next.
    fn block_end(&mut self) {
        if self.lists.is_empty() {
            self.text("\n\n");
        } else {
            self.text("\n");
        }
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(tag) => self.end(tag),
            Event::Text(text) => self.text(&text),
            Event::Code(code) => {
                self.tag("<code>");
                self.text(&code);
                self.tag("</code>");
            }
            // Raw HTML is shown as typed, never interpreted.
            Event::Html(text) | Event::InlineHtml(text) => self.text(&text),
            Event::SoftBreak | Event::HardBreak => self.text("\n"),
            Event::Rule => self.text("———\n\n"),
            Event::TaskListMarker(done) => self.text(if done { "☑ " } else { "☐ " }),
            Event::FootnoteReference(name) => self.text(&format!("[{name}]")),
            Event::InlineMath(text) | Event::DisplayMath(text) => self.text(&text),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        match tag {
            Tag::Strong | Tag::Heading { .. } => self.tag("<b>"),
            Tag::Emphasis => self.tag("<i>"),
            Tag::Strikethrough => self.tag("<s>"),
            Tag::BlockQuote(_) => self.tag("<blockquote>"),
            Tag::CodeBlock(kind) => match kind {
                CodeBlockKind::Fenced(lang) if is_language(&lang) => {
                    self.tag(&format!("<pre><code class=\"language-{lang}\">"));
                }
                _ => self.tag("<pre><code>"),
            },
            Tag::List(first) => {
                if !self.lists.is_empty() && !self.plain.ends_with('\n') {
                    self.text("\n");
                }
                self.lists.push(first);
            }
            Tag::Item => {
                let depth = self.lists.len().saturating_sub(1);
                self.text(&"  ".repeat(depth));
                match self.lists.last_mut() {
                    Some(Some(n)) => {
                        let marker = format!("{n}. ");
                        *n += 1;
                        self.text(&marker);
                    }
                    _ => self.text("• "),
                }
            }
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                let safe = is_safe_link(&dest_url);
                if safe {
                    self.tag("<a href=\"");
                    self.tag(&attribute(&dest_url));
                    self.tag("\">");
                }
                self.links.push(safe);
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::Strong => self.tag("</b>"),
            TagEnd::Heading(_) => {
                self.tag("</b>");
                self.block_end();
            }
            TagEnd::Emphasis => self.tag("</i>"),
            TagEnd::Strikethrough => self.tag("</s>"),
            TagEnd::BlockQuote(_) => {
                trim_newlines(self);
                self.tag("</blockquote>");
                self.block_end();
            }
            TagEnd::CodeBlock => {
                trim_newlines(self);
                self.tag("</code></pre>");
                self.block_end();
            }
            TagEnd::Paragraph => self.block_end(),
            TagEnd::List(_) => {
                self.lists.pop();
                if self.lists.is_empty() {
                    self.text("\n");
                }
            }
            TagEnd::Item if !self.plain.ends_with('\n') => self.text("\n"),
            TagEnd::Link | TagEnd::Image => {
                let opened = self.links.pop() == Some(true);
                self.tag(if opened { "</a>" } else { "" });
            }
            _ => {}
        }
    }
}

/// Drops trailing line breaks inside a block before its closing tag.
fn trim_newlines(r: &mut Renderer) {
    while r.html.ends_with('\n') && r.plain.ends_with('\n') {
        r.html.pop();
        r.plain.pop();
    }
}

fn is_language(lang: &str) -> bool {
    !lang.is_empty()
        && lang
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '#'))
}

fn is_safe_link(url: &str) -> bool {
    let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("http" | "https" | "mailto"))
}

/// Escapes a value for a double-quoted HTML attribute.
fn attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_span_shows_any_one_line_text_as_written() {
        for text in ["admin", "a`b", "``x", "*not bold* <b>", "` `"] {
            let shown = render(&code(text)).plain;
            assert_eq!(shown, text, "{}", code(text));
        }
        assert_eq!(render(&code("admin")).html, "<code>admin</code>");
        // (The visible text is trimmed at the end; the HTML keeps both spaces.)
        assert_eq!(render(&code(" a ")).html, "<code> a </code>");
    }

    fn html(markdown: &str) -> String {
        render(markdown).html
    }

    #[test]
    fn inline_styles_become_telegram_tags() {
        assert_eq!(
            html("**bold**, *it*, _it_, ~~gone~~ and `x < y`"),
            "<b>bold</b>, <i>it</i>, <i>it</i>, <s>gone</s> and <code>x &lt; y</code>"
        );
        assert_eq!(
            html("[docs](https://example.com/?a=1&b=\"2\")"),
            "<a href=\"https://example.com/?a=1&amp;b=&quot;2&quot;\">docs</a>"
        );
    }

    #[test]
    fn markup_in_text_is_escaped_and_unsafe_links_dropped() {
        assert_eq!(
            html("<b>not bold</b> & <script>x</script>"),
            "&lt;b&gt;not bold&lt;/b&gt; &amp; &lt;script&gt;x&lt;/script&gt;"
        );
        assert_eq!(html("[click](javascript:alert(1))"), "click");
        assert_eq!(render("a <i>b</i>").plain, "a <i>b</i>");
    }

    #[test]
    fn blocks_lists_and_code_are_laid_out() {
        assert_eq!(
            html("# Title\n\nText\n\n- one\n- two\n\n1. first\n2. second"),
            "<b>Title</b>\n\nText\n\n• one\n• two\n\n1. first\n2. second"
        );
        assert_eq!(
            html("```rust\nfn main() {}\n```"),
            "<pre><code class=\"language-rust\">fn main() {}</code></pre>"
        );
        assert_eq!(html("> quoted"), "<blockquote>quoted</blockquote>");
    }

    #[test]
    fn embeds_read_as_text() {
        let embed = Embed {
            title: Some("Weather <now>".into()),
            description: Some("**Sunny**".into()),
            url: Some("https://example.com/w?a=1&b=2".into()),
            color: Some(0xFF0000),
            fields: vec![
                crate::event::EmbedField {
                    name: "Wind_speed".into(),
                    value: "12 km/h".into(),
                    inline: true,
                },
                crate::event::EmbedField {
                    name: "Rain".into(),
                    value: "*none*".into(),
                    inline: false,
                },
            ],
            footer: Some("by *bot*".into()),
            image_url: Some("https://example.com/i.png".into()),
        };
        let rendered = render(&embed_markdown(&embed));
        assert_eq!(
            rendered.html,
            "<a href=\"https://example.com/w?a=1&amp;b=2\"><b>Weather &lt;now&gt;</b></a>\n\n\
             <b>Sunny</b>\n\n\
             <b>Wind_speed:</b> 12 km/h\n<b>Rain:</b> <i>none</i>\n\n\
             <a href=\"https://example.com/i.png\">https://example.com/i.png</a>\n\n\
             <i>by *bot*</i>"
        );
        assert!(
            rendered
                .plain
                .starts_with("Weather <now>\n\nSunny\n\nWind_speed: 12 km/h\n")
        );
        assert_eq!(embed_markdown(&Embed::default()), "");
    }
}
