//! Tests of the harness itself, against tiny pages served from the test (no
//! registry code): if these fail, the browser set-up is broken, not the
//! marketplace pages.
//!
//! The pages are served with a strict Content-Security-Policy like the
//! registry's, to show that axe injection and the clipboard work under it.

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::harness::Browser;

const CSP: &str = "default-src 'self'; img-src 'self' data:";

const CSS: &str = "
body { margin: 0; font: 16px/1.5 sans-serif; color: #111; background: #fff; }
main { padding: 1rem; }
.wide { width: 600px; height: 20px; background: #ccc; }
.fluid { max-width: 100%; overflow-wrap: anywhere; }
";

const COPY_JS: &str = "
const button = document.getElementById('copy');
button.addEventListener('click', () => {
  navigator.clipboard.writeText(button.dataset.copy).then(
    () => { button.textContent = 'Copied'; },
    (e) => { button.textContent = 'Copy failed: ' + e; },
  );
});
";

const PIXEL_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="#36c"/></svg>"##;

/// A complete page around `body`.
fn page(title: &str, body: &str) -> Response {
    let html = format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/site.css">
</head>
<body>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>"#
    );
    ([(header::CONTENT_SECURITY_POLICY, CSP)], Html(html)).into_response()
}

/// Serves the test pages on 127.0.0.1 and returns the base URL.
async fn serve() -> String {
    let app = Router::new()
        .route(
            "/clean",
            get(|| async { page("Clean", "<p>Nothing to see here.</p>") }),
        )
        .route(
            "/missing-alt",
            get(|| async { page("Missing alt", r#"<p><img src="/pixel.svg"></p>"#) }),
        )
        .route(
            "/wide",
            get(|| async { page("Wide", r#"<div class="wide"></div>"#) }),
        )
        .route(
            "/fluid",
            get(|| async {
                page(
                    "Fluid",
                    r#"<p class="fluid">https://registry.example/plugins/a-very-long-plugin-name-that-must-wrap-on-small-screens</p>
<p><img class="fluid" src="/pixel.svg" alt="A blue square" width="600" height="600"></p>"#,
                )
            }),
        )
        .route(
            "/copy",
            get(|| async {
                page(
                    "Copy",
                    r#"<button id="copy" type="button" data-copy="plugboard install dice">Copy</button>
<script src="/copy.js"></script>"#,
                )
            }),
        )
        .route(
            "/site.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css")], CSS) }),
        )
        .route(
            "/copy.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript")], COPY_JS) }),
        )
        .route(
            "/pixel.svg",
            get(|| async { ([(header::CONTENT_TYPE, "image/svg+xml")], PIXEL_SVG) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a port for the test pages");
    let addr = listener.local_addr().expect("the test server's address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_reports_a_missing_alt_text_as_serious() -> anyhow::Result<()> {
    let base = serve().await;
    let browser = Browser::start().await?;
    browser.goto(&format!("{base}/missing-alt")).await?;
    let violations = browser.axe().await?;
    let serious = Browser::serious(&violations);
    let image_alt = serious
        .iter()
        .find(|v| v.id == "image-alt")
        .unwrap_or_else(|| {
            panic!(
                "no serious image-alt violation in:\n{}",
                report(&violations)
            )
        });
    assert!(
        image_alt.nodes.iter().any(|n| n.contains("pixel.svg")),
        "the violation should name the image: {image_alt}"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_passes_a_clean_page() -> anyhow::Result<()> {
    let base = serve().await;
    let browser = Browser::start().await?;
    browser.goto(&format!("{base}/clean")).await?;
    let violations = browser.axe().await?;
    assert!(
        Browser::serious(&violations).is_empty(),
        "serious violations on a clean page:\n{}",
        report(&violations)
    );
    // Running it again reuses the injected axe.
    browser.assert_accessible("the clean page").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn horizontal_scroll_is_detected_on_a_phone_viewport() -> anyhow::Result<()> {
    let base = serve().await;
    let browser = Browser::start().await?;
    browser.set_viewport(360, 740).await?;
    let inner = browser
        .eval("return [window.innerWidth, window.innerHeight];")
        .await?;
    assert_eq!(inner, serde_json::json!([360, 740]));

    browser.goto(&format!("{base}/wide")).await?;
    assert!(
        browser.has_horizontal_scroll().await?,
        "a 600px box at 360px"
    );
    let culprits = browser.overflowing_elements().await?;
    assert!(
        culprits.iter().any(|c| c.starts_with("div.wide")),
        "the wide box should be named: {culprits:?}"
    );

    browser.goto(&format!("{base}/fluid")).await?;
    assert!(
        !browser.has_horizontal_scroll().await?,
        "the fluid page overflows: {:?}",
        browser.overflowing_elements().await?
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipboard_text_returns_what_the_page_copied() -> anyhow::Result<()> {
    let base = serve().await;
    let browser = Browser::start().await?;
    browser.goto(&format!("{base}/copy")).await?;
    browser.grant_clipboard().await?;
    browser.click("#copy").await?;
    browser
        .wait_until("document.getElementById('copy').textContent !== 'Copy'")
        .await?;
    assert_eq!(browser.text("#copy").await?, "Copied");
    assert_eq!(browser.clipboard_text().await?, "plugboard install dice");
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshot_writes_a_png() -> anyhow::Result<()> {
    let base = serve().await;
    let browser = Browser::start().await?;
    browser.goto(&format!("{base}/clean")).await?;
    let path = browser.screenshot("harness-smoke").await?;
    let bytes = std::fs::read(&path)?;
    // Not a documentation image: do not leave it in $PLUGBOARD_SCREENSHOTS.
    std::fs::remove_file(&path)?;
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        path.display()
    );
    assert!(path.ends_with("harness-smoke.png"), "{}", path.display());
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpers_find_fill_and_wait() -> anyhow::Result<()> {
    let base = serve().await;
    let browser = Browser::start().await?;
    browser.goto(&format!("{base}/clean")).await?;
    assert_eq!(browser.title().await?, "Clean");
    assert_eq!(browser.text("h1").await?, "Clean");
    assert_eq!(browser.count("p").await?, 1);
    assert_eq!(browser.attr("html", "lang").await?.as_deref(), Some("en"));
    browser
        .eval(
            "setTimeout(() => {
               const input = document.createElement('input');
               input.id = 'late';
               input.value = 'old';
               document.querySelector('main').append(input);
             }, 100);",
        )
        .await?;
    browser.wait_for("#late").await?;
    browser.fill("#late", "new value").await?;
    let value = browser
        .eval("return document.getElementById('late').value;")
        .await?;
    assert_eq!(value, "new value");
    let missing = browser.find("#absent").await;
    assert!(missing.is_err(), "finding a missing element must fail");
    browser.close().await
}

/// Violations for an assertion message.
fn report(violations: &[crate::harness::Violation]) -> String {
    crate::harness::report(violations)
}
