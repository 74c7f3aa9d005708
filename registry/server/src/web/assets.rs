//! The stylesheet and the script, served under names that carry a hash of
//! their content (`/static/style.<hash>.css`), so that browsers may keep
//! them for a year: a new build changes the name.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use plugboard_package::sha256_hex;

const CSS: &str = include_str!("../../static/style.css");
const JS: &str = include_str!("../../static/app.js");

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

static ASSETS: LazyLock<[Asset; 2]> = LazyLock::new(|| {
    [
        fingerprinted("style", "css", CSS, "text/css; charset=utf-8"),
        fingerprinted("app", "js", JS, "text/javascript; charset=utf-8"),
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
