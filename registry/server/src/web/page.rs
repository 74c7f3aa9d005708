//! What pages answer with: HTML with the security headers, the layout every
//! page shares, redirects, and error pages.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::assets;
use crate::error::StoreError;

pub(crate) fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or_else(|_| HeaderValue::from_static("/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// What pages answer with: the security headers every HTML answer carries.
pub(crate) fn html(status: StatusCode, template: &impl Template) -> Response {
    let body = match template.render() {
        Ok(body) => body,
        Err(error) => {
            tracing::error!("a page failed to render: {error}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render; try again later",
            )
                .into_response();
        }
    };
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; img-src 'self' https: data:; style-src 'self'; \
                     script-src 'self'; object-src 'none'; base-uri 'none'; \
                     frame-ancestors 'none'; form-action 'self'",
                ),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
        ],
        body,
    )
        .into_response()
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub name: String,
    pub admin: bool,
}

/// What every page's layout shows.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub title: String,
    pub user: Option<SignedIn>,
    pub csrf: String,
    /// The search box's text.
    pub q: String,
    pub css: &'static str,
    pub js: &'static str,
    /// The favicon's fingerprinted path.
    pub favicon: &'static str,
    pub here: String,
}

impl Layout {
    /// The current page, percent-encoded for `?next=`.
    pub fn next(&self) -> String {
        if self.here.starts_with("/signin") || self.here.starts_with("/signup") {
            return "/".to_owned();
        }
        url_encode(&self.here)
    }

    /// The layout of a page for someone we know nothing about (error pages).
    pub(crate) fn anonymous(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            user: None,
            csrf: String::new(),
            q: String::new(),
            css: assets::css_path(),
            js: assets::js_path(),
            favicon: assets::favicon_path(),
            here: "/".to_owned(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    l: Layout,
    heading: &'a str,
    message: &'a str,
}

/// A page that could not be shown: a status, a heading and what to do.
#[derive(Debug)]
pub(crate) enum WebError {
    Page {
        status: StatusCode,
        heading: String,
        message: String,
        retry_after: Option<u64>,
    },
    /// The page needs a signed-in user: go to the sign-in page, then `next`.
    SignIn { next: String },
}

impl WebError {
    pub fn new(status: StatusCode, heading: impl Into<String>, message: impl Into<String>) -> Self {
        WebError::Page {
            status,
            heading: heading.into(),
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "The registry could not finish this request. Try again in a moment; if it keeps \
             failing, tell the registry's operator.",
        )
    }

    pub fn bad_form(rejection: FormRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "This form could not be read",
            format!("{rejection}. Go back, check the fields and send the form again."),
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "Not allowed", message)
    }

    /// 429 with `Retry-After: wait`.
    pub fn too_many(heading: &str, message: String, wait: u64) -> Self {
        WebError::Page {
            status: StatusCode::TOO_MANY_REQUESTS,
            heading: heading.to_owned(),
            message,
            retry_after: Some(wait),
        }
    }
}

impl From<StoreError> for WebError {
    fn from(error: StoreError) -> Self {
        tracing::error!("store failure behind a page: {error}");
        WebError::internal()
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn { next } => {
                let next: String = url_encode(&next);
                see_other(&format!("/signin?next={next}"))
            }
            WebError::Page {
                status,
                heading,
                message,
                retry_after,
            } => {
                let page = ErrorPage {
                    l: Layout::anonymous(&heading),
                    heading: &heading,
                    message: &message,
                };
                let mut response = html(status, &page);
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
                response
            }
        }
    }
}

/// Percent-encodes everything but unreserved characters and `/`.
pub(crate) fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
