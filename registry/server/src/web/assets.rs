//! The stylesheet, the script and the favicon, served under names that
//! carry a hash of their content (`/static/style.<hash>.css`), so that
//! browsers may keep them for a year: a new build changes the name.
//! `/favicon.ico`, which browsers ask for by that name, redirects to the
//! favicon.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plugboard_package::sha256_hex;

const CSS: &str = include_str!("../../static/style.css");
const JS: &str = include_str!("../../static/app.js");
const FAVICON: &str = include_str!("../../static/favicon.svg");

struct Asset {
    path: String,
    body: &'static str,
    content_type: &'static str,
}

fn fingerprinted(
    stem: &str,
    extension: &str,
    body: &'static str,
    content_type: &'static str,
) -> Asset {
    let hash = sha256_hex(body.as_bytes());
    Asset {
        path: format!("/static/{stem}.{}.{extension}", &hash[..16]),
        body,
        content_type,
    }
}

static ASSETS: LazyLock<[Asset; 3]> = LazyLock::new(|| {
    [
        fingerprinted("style", "css", CSS, "text/css; charset=utf-8"),
        fingerprinted("app", "js", JS, "text/javascript; charset=utf-8"),
        fingerprinted("favicon", "svg", FAVICON, "image/svg+xml"),
    ]
});

/// The stylesheet's URL path.
pub(crate) fn css_path() -> &'static str {
    &ASSETS[0].path
}

/// The script's URL path.
pub(crate) fn js_path() -> &'static str {
    &ASSETS[1].path
}

/// The favicon's URL path.
pub(crate) fn favicon_path() -> &'static str {
    &ASSETS[2].path
}

/// `GET /favicon.ico`: a redirect to the favicon, for browsers and tools
/// that ask by the old name instead of reading the page's `<link>`.
pub(crate) async fn favicon() -> Response {
    axum::response::Redirect::permanent(favicon_path()).into_response()
}

/// `GET /static/<name>`: an asset by its fingerprinted name, cacheable
/// forever; any other name is 404 (an old name after an upgrade included:
/// the page that asked for it is stale).
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    let wanted = format!("/static/{name}");
    match ASSETS.iter().find(|a| a.path == wanted) {
        Some(asset) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(asset.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            asset.body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
