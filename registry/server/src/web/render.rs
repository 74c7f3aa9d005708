//! Turning store records into what the pages show: READMEs as sanitised
//! HTML, the downloads chart as inline SVG, dates, counts and stars.

use std::fmt::Write as _;

use pulldown_cmark::{Event, Options, Parser, html};

use crate::time;

/// Renders a README (CommonMark with tables, strikethrough and task lists)
/// to HTML and sanitises it with ammonia: scripts, styles, event handler
/// attributes, `javascript:` and other unknown URL schemes, forms and
/// frames are removed; links get `rel="noopener noreferrer nofollow"`.
/// An image whose address is a package download
/// ([`is_download_url`](crate::routes::is_download_url)) loses its `src`
/// (its alt text stays): every visitor's browser would fetch the package.
/// The download handler does not count such fetches anyway
/// ([`uncounted`](crate::routes::uncounted)); this spares the bytes.
///
/// Task list items (`- [x] done`) keep their boxes: a checkbox that cannot
/// be changed, labelled "done" or "to do" for screen readers. Every
/// `<input>` that survives sanitising is made such a disabled checkbox,
/// whatever the README's own HTML said it was.
pub(crate) fn readme(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES;
    let mut unsafe_html = String::with_capacity(markdown.len() * 3 / 2);
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::TaskListMarker(done) => Event::InlineHtml(
            if done {
                "<input checked aria-label=\"done\"> "
            } else {
                "<input aria-label=\"to do\"> "
            }
            .into(),
        ),
        other => other,
    });
    html::push_html(&mut unsafe_html, events);
    let clean = ammonia::Builder::default()
        .add_tags(["input"])
        .add_tag_attributes("input", ["checked", "aria-label"])
        .set_tag_attribute_value("input", "type", "checkbox")
        .set_tag_attribute_value("input", "disabled", "")
        .link_rel(Some("noopener noreferrer nofollow"))
        .url_schemes(["http", "https", "mailto"].into())
        .attribute_filter(|element, attribute, value| {
            let download =
                element == "img" && attribute == "src" && crate::routes::is_download_url(value);
            (!download).then_some(value.into())
        })
        .clean(&unsafe_html)
        .to_string();
    with_image_alts(&clean)
}

/// Gives every `<img>` without an `alt` an empty one: the publisher said
/// nothing about the image, so screen readers skip it rather than read its
/// file name. `html` is ammonia's output, whose tags are serialised as
/// `<img attr="…">`.
fn with_image_alts(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("<img") {
        let (before, tag) = rest.split_at(at + "<img".len());
        out.push_str(before);
        let end = tag.find('>').unwrap_or(tag.len());
        if !tag[..end].contains(" alt=") {
            out.push_str(" alt=\"\"");
        }
        rest = tag;
    }
    out.push_str(rest);
    out
}

/// `2026-11-25`.
pub(crate) fn date(secs: u64) -> String {
    time::date(time::day_of(secs))
}

/// `1,234,567`.
pub(crate) fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count of something, the pages' one rule for plurals: `1 download`,
/// `0 downloads`, `1,234 downloads`. `noun` is singular and takes an `s`
/// (every noun the pages count does).
pub(crate) fn plural(n: u64, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", count(n))
}

/// A length of time in the largest whole unit that fits: `7 days`,
/// `1 day`, `12 hours`, `30 minutes`, `45 seconds`.
pub(crate) fn span(duration: std::time::Duration) -> String {
    let secs = duration.as_secs();
    let (n, unit) = [(86_400, "day"), (3_600, "hour"), (60, "minute")]
        .into_iter()
        .find(|(size, _)| secs >= *size && secs.is_multiple_of(*size))
        .map_or((secs, "second"), |(size, unit)| (secs / size, unit));
    plural(n, unit)
}

/// `★★★★☆` for a mean rating, rounded to whole stars.
pub(crate) fn stars(average: f64) -> String {
    let full = average.round().clamp(0.0, 5.0) as usize;
    "★".repeat(full) + &"☆".repeat(5 - full)
}

/// The downloads-per-day chart: one bar per day, `days` values oldest
/// first, with its axes labelled (the day's count at the top of the
/// vertical one, 0 at its foot; the first and last day under the bars), a
/// caption with the total, and a title for screen readers. Bars of days
/// with downloads are at least 2 units high of 48, so one download among
/// hundreds still shows; days without stay empty above the baseline.
pub(crate) fn downloads_chart(days: &[(String, u64)]) -> String {
    const HEIGHT: u64 = 48;
    let width = days.len() * 4;
    let peak = days.iter().map(|(_, n)| *n).max().unwrap_or(0);
    let total: u64 = days.iter().map(|(_, n)| *n).sum();
    let (first, last) = match (days.first(), days.last()) {
        (Some((first, _)), Some((last, _))) => (first.as_str(), last.as_str()),
        _ => ("", ""),
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<figure class=\"chart-box\"><div class=\"chart-y\" aria-hidden=\"true\">\
         <span>{}</span><span>0</span></div>\
         <svg class=\"chart\" viewBox=\"0 0 {width} {HEIGHT}\" preserveAspectRatio=\"none\" \
         role=\"img\" aria-labelledby=\"chart-title\"><title id=\"chart-title\">Downloads per \
         day from {first} to {last}: {} in all, at most {} in one day</title>",
        count(peak),
        count(total),
        count(peak)
    );
    for (i, (date, n)) in days.iter().enumerate() {
        let height = if peak == 0 {
            0
        } else {
            (n * HEIGHT).div_ceil(peak).max(if *n > 0 { 2 } else { 0 })
        };
        let _ = write!(
            svg,
            "<rect x=\"{}\" y=\"{}\" width=\"3\" height=\"{height}\"><title>{date}: {}</title></rect>",
            i * 4,
            HEIGHT - height,
            plural(*n, "download")
        );
    }
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"0\" y1=\"{HEIGHT}\" x2=\"{width}\" y2=\"{HEIGHT}\" \
         vector-effect=\"non-scaling-stroke\"></line></svg>\
         <div class=\"chart-x\" aria-hidden=\"true\"><span>{first}</span><span>{last}</span></div>\
         <figcaption class=\"muted small\">{} in the last {} days (UTC), at most {} in one day.</figcaption>\
         </figure>",
        plural(total, "download"),
        days.len(),
        count(peak)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_keeps_markdown_and_drops_active_content() {
        let html = readme(
            "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2)) \
             <img src=x onerror=alert(3)> <a href=\"https://ok.example\" onclick=\"alert(4)\">ok</a>\n\n\
             | a | b |\n|---|---|\n| 1 | 2 |\n",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        for bad in ["<script", "alert(1)", "javascript:", "onerror", "onclick"] {
            assert!(!html.contains(bad), "{bad} survived: {html}");
        }
        assert!(html.contains("href=\"https://ok.example\""), "{html}");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
        assert!(html.contains("<img alt=\"\" src=\"x\">"), "{html}");
        let described = readme("![a cat](https://example.com/cat.png)");
        assert!(
            described.contains("alt=\"a cat\"") && !described.contains("alt=\"\""),
            "{described}"
        );
    }

    #[test]
    fn readme_task_lists_keep_their_boxes_and_quotes_stay() {
        let html = readme("- [x] rolls dice\n- [ ] rolls fate dice\n\n> A quote.\n");
        assert_eq!(html.matches("checked").count(), 1, "{html}");
        assert!(html.contains("aria-label=\"done\""), "{html}");
        assert_eq!(html.matches("type=\"checkbox\"").count(), 2, "{html}");
        assert_eq!(html.matches("disabled").count(), 2, "{html}");
        assert!(html.contains("aria-label=\"to do\""), "{html}");
        assert!(html.contains("<blockquote>"), "{html}");
        // A README's own input becomes the same harmless box.
        let own =
            readme("<input type=\"text\" name=\"password\" value=\"x\" onfocus=\"alert(1)\">");
        assert!(
            own.contains("type=\"checkbox\"") && own.contains("disabled"),
            "{own}"
        );
        for bad in ["text", "password", "onfocus", "value="] {
            assert!(!own.contains(bad), "{bad} survived: {own}");
        }
    }

    #[test]
    fn readme_images_of_downloads_lose_their_address() {
        let html = readme(
            "![downloads](/api/v1/plugins/dice/0.1.0/download) \
             <img src=\"HTTPS://registry.example/api/v1/plugins/dice/0.1.0/%64ownload\" alt=\"x\"> \
             ![badge](https://img.example/badge.svg) \
             [the package](/api/v1/plugins/dice/0.1.0/download)",
        );
        assert_eq!(html.matches("src=").count(), 1, "only the badge's: {html}");
        assert!(html.contains("<img alt=\"downloads\">"), "{html}");
        assert!(
            html.contains("src=\"https://img.example/badge.svg\""),
            "{html}"
        );
        // A link is a person's choice: it stays.
        assert!(
            html.contains("href=\"/api/v1/plugins/dice/0.1.0/download\""),
            "{html}"
        );
    }

    #[test]
    fn image_alts_are_added_only_to_tags() {
        // ammonia (html5ever) escapes `<` and `>` inside attribute values,
        // which `with_image_alts` relies on: pin it.
        let html = readme(
            "<a title=\"<img src=x onmouseover=alert(1)>\" href=\"https://a.example\">t</a>",
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&lt;img"), "{html}");
        assert_eq!(
            with_image_alts("<p><img src=\"a\"> <img alt=\"b\" src=\"c\"></p>"),
            "<p><img alt=\"\" src=\"a\"> <img alt=\"b\" src=\"c\"></p>"
        );
    }

    #[test]
    fn counts_and_stars() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(stars(4.4), "★★★★☆");
        assert_eq!(stars(0.0), "☆☆☆☆☆");
        for (n, text) in [
            (0, "0 downloads"),
            (1, "1 download"),
            (2, "2 downloads"),
            (1000, "1,000 downloads"),
        ] {
            assert_eq!(plural(n, "download"), text);
        }
    }

    #[test]
    fn spans_of_time() {
        use std::time::Duration;
        for (secs, text) in [
            (7 * 86_400, "7 days"),
            (86_400, "1 day"),
            (36 * 3_600, "36 hours"),
            (90 * 60, "90 minutes"),
            (45, "45 seconds"),
            (1, "1 second"),
            (0, "0 seconds"),
        ] {
            assert_eq!(span(Duration::from_secs(secs)), text);
        }
    }

    #[test]
    fn chart_scales_bars_to_the_peak() {
        let svg = downloads_chart(&[("2026-11-24".into(), 2), ("2026-11-25".into(), 4)]);
        assert!(svg.contains("height=\"24\""), "{svg}");
        assert!(svg.contains("height=\"48\""), "{svg}");
        assert!(svg.contains("6 in all"), "{svg}");
        assert!(
            svg.contains("<span>4</span><span>0</span>"),
            "y axis: {svg}"
        );
        assert!(
            svg.contains("<span>2026-11-24</span><span>2026-11-25</span>"),
            "x axis: {svg}"
        );
        assert!(svg.contains("6 downloads in the last 2 days"), "{svg}");
        // One download among a hundred still shows.
        let svg = downloads_chart(&[("2026-11-24".into(), 1), ("2026-11-25".into(), 100)]);
        assert!(
            svg.contains("height=\"2\"><title>2026-11-24: 1 download<"),
            "{svg}"
        );
    }
}
