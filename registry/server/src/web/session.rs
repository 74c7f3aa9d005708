//! Who is visiting: the [`Visitor`] extractor (session and CSRF cookies)
//! and the [`Posted`] forms it checks.
//!
//! Cookies: `pb_session` holds a random session token (the store keeps its
//! sha256), `HttpOnly; SameSite=Lax`; `pb_csrf` holds a random token,
//! `HttpOnly; SameSite=Strict`. Every form carries a CSRF token in a hidden
//! field, compared in constant time on every POST: signed in, a keyed hash
//! of the session ([`Registry::csrf_token`]); signed out, the `pb_csrf`
//! cookie's value (the double-submit pattern). A POST the browser marks as
//! coming from another site (`Sec-Fetch-Site`, `Origin`) is refused too.
//! Cookies are `Secure` when
//! [`Config::secure_cookies`](crate::Config::secure_cookies) is set or the
//! request came through a proxy with `X-Forwarded-Proto: https`.

use askama::Template;
use axum::Form;
use axum::extract::FromRequestParts;
use axum::extract::rejection::FormRejection;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::assets;
use super::page::{Layout, SignedIn, WebError, html, see_other};
use crate::client::Client;
use crate::error::StoreError;
use crate::store::{Registry, SESSION_SECONDS};

pub(crate) const SESSION_COOKIE: &str = "pb_session";
const CSRF_COOKIE: &str = "pb_csrf";
/// The signed device cookie a browser gets when it signs in (see
/// `account`), sent back to `/signin` only.
pub(crate) const DEVICE_COOKIE: &str = "pb_device";
/// How long a browser stays a known device: a year.
pub(crate) const DEVICE_SECONDS: u64 = 365 * 24 * 60 * 60;
/// The visitor of a page: who is signed in, and the CSRF token their forms
/// carry.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    pub user: Option<SignedIn>,
    pub(super) session: Option<String>,
    pub csrf: String,
    /// The CSRF cookie must be (re)sent with the response.
    new_csrf: bool,
    /// The browser says the request comes from another site.
    cross_site: bool,
    secure: bool,
    /// The client, for rate limits.
    pub(super) client: Client,
    /// The device cookie's value, when the browser sent a plausible one
    /// (`account` checks its signature).
    pub(super) device: Option<String>,
    /// The path and query of the request, to come back after signing in.
    pub here: String,
}

fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

/// Whether the browser says the request comes from another site or
/// origin: `Sec-Fetch-Site` (sent by current browsers), else an `Origin`
/// whose host is not the `Host` asked for.
fn cross_site(headers: &HeaderMap) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match (header("origin"), header("host")) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_none_or(|(_, authority)| !authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

fn is_token(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

fn random_token() -> Result<String, WebError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        tracing::error!("no randomness for a token: {e}");
        WebError::internal()
    })?;
    Ok(hex::encode(bytes))
}

/// Compares two strings in time that depends only on their lengths.
pub(super) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl FromRequestParts<Registry> for Visitor {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, registry: &Registry) -> Result<Self, WebError> {
        let mut session = None;
        let mut csrf = None;
        let mut device = None;
        for (name, value) in cookies(&parts.headers) {
            match name {
                SESSION_COOKIE if is_token(value) => session = Some(value.to_owned()),
                CSRF_COOKIE if is_token(value) => csrf = Some(value.to_owned()),
                DEVICE_COOKIE
                    if value.len() <= 200
                        && value
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
                {
                    device = Some(value.to_owned());
                }
                _ => {}
            }
        }
        let mut user = None;
        if let Some(token) = &session {
            let registry = registry.clone();
            let token = token.clone();
            let found = tokio::task::spawn_blocking(move || -> Result<_, StoreError> {
                let Some(record) = registry.session(&token)? else {
                    return Ok(None);
                };
                Ok(registry.user(&record.user)?.map(|u| SignedIn {
                    name: record.user,
                    admin: u.admin,
                }))
            })
            .await
            .map_err(|_| WebError::internal())??;
            user = found;
        }
        if user.is_none() {
            session = None;
        }
        let new_csrf = csrf.is_none();
        let mut csrf = match csrf {
            Some(csrf) => csrf,
            None => random_token()?,
        };
        // A signed-in visitor's token is bound to the session, so a cookie
        // planted by another host (or a network attacker) cannot match it.
        let session_csrf = session.as_deref().map(|s| registry.csrf_token(s));
        if let Some(token) = &session_csrf {
            csrf = token.clone();
        }
        let forwarded_https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
        let client = Client::of_parts(parts, registry.config().behind_proxy);
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        Ok(Visitor {
            user,
            session,
            csrf,
            new_csrf: new_csrf && session_csrf.is_none(),
            cross_site: cross_site(&parts.headers),
            secure: registry.config().secure_cookies || forwarded_https,
            client,
            device,
            here,
        })
    }
}

impl Visitor {
    /// The same visitor with a new CSRF token: after signing in, a token
    /// seen before is worth nothing.
    pub(super) fn with_fresh_csrf(&self) -> Result<Self, WebError> {
        Ok(Visitor {
            csrf: random_token()?,
            ..self.clone()
        })
    }

    /// The layout every page shares.
    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            user: self.user.clone(),
            csrf: self.csrf.clone(),
            q: String::new(),
            css: assets::css_path(),
            js: assets::js_path(),
            favicon: assets::favicon_path(),
            here: self.here.clone(),
        }
    }

    /// Reads a posted form and checks its CSRF token ([`Self::check_csrf`]).
    pub fn accept<T: Posted>(&self, form: Result<Form<T>, FormRejection>) -> Result<T, WebError> {
        let Form(form) = form.map_err(WebError::bad_form)?;
        self.check_csrf(form.csrf())?;
        Ok(form)
    }

    /// 403 unless the form's CSRF token is the visitor's (the session's,
    /// or the cookie's when signed out) and the browser does not say the
    /// form came from another site.
    pub fn check_csrf(&self, sent: &str) -> Result<(), WebError> {
        if self.cross_site {
            return Err(WebError::forbidden(
                "This form was sent from another site, so it was refused. Open this site \
                 yourself and send the form from its own page. (Operators: a proxy in front \
                 of the registry must pass the original Host header.)",
            ));
        }
        if !self.new_csrf && same(sent, &self.csrf) {
            return Ok(());
        }
        Err(WebError::new(
            StatusCode::FORBIDDEN,
            "This form cannot be accepted",
            "The form was sent without its security token, with an expired one, or from \
             another site. Go back, reload the page and send the form again.",
        ))
    }

    /// The signed-in user, or a redirect to the sign-in page that comes
    /// back to `back`.
    pub fn require_user(&self, back: &str) -> Result<&SignedIn, WebError> {
        self.user.as_ref().ok_or_else(|| WebError::SignIn {
            next: back.to_owned(),
        })
    }

    pub(super) fn cookie(
        &self,
        name: &str,
        value: &str,
        max_age: u64,
        same_site: &str,
    ) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
        );
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The device cookie with `value`: sent back to `/signin` only,
    /// `HttpOnly; SameSite=Strict`, for a year.
    pub(super) fn device_cookie(&self, value: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!(
            "{DEVICE_COOKIE}={value}; Path=/signin; Max-Age={DEVICE_SECONDS}; HttpOnly; \
             SameSite=Strict{secure}"
        );
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub(super) fn csrf_cookie(&self) -> HeaderValue {
        self.cookie(CSRF_COOKIE, &self.csrf, SESSION_SECONDS, "Strict")
    }

    /// A rendered page, with the CSRF cookie when it is new.
    pub fn page(&self, status: StatusCode, template: &impl Template) -> Response {
        let mut response = html(status, template);
        if self.new_csrf {
            response
                .headers_mut()
                .append(header::SET_COOKIE, self.csrf_cookie());
        }
        response
    }

    /// `303 See Other` to `to` (after a form was handled).
    pub fn redirect(&self, to: &str) -> Response {
        see_other(to)
    }
}

/// A form with its CSRF token.
pub(crate) trait Posted {
    fn csrf(&self) -> &str;
}

/// Implements [`Posted`] for forms with a `csrf` field.
macro_rules! posted {
    ($($form:ty),*) => {$(
        impl $crate::web::session::Posted for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    )*};
}
pub(crate) use posted;

posted!(CsrfOnly);

/// The forms that carry nothing but their CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)]) -> Parts {
        let mut request = axum::http::Request::builder().uri("/");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (parts, ()) = request.body(()).expect("a request").into_parts();
        parts
    }

    #[test]
    fn only_well_formed_cookies_count() {
        let token = "ab".repeat(32);
        let headers = parts(&[(
            "cookie",
            &format!("pb_session=short; junk; pb_csrf={token}; =x; other=1"),
        )])
        .headers;
        let found: Vec<(&str, &str)> = cookies(&headers).collect();
        assert!(found.contains(&("pb_csrf", token.as_str())), "{found:?}");
        assert!(!is_token("short"));
        assert!(!is_token(&"zz".repeat(32)));
        assert!(is_token(&token));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
