//! Who is visiting: the [`Visitor`] extractor (session and CSRF cookies),
//! the page and error responses, and the account pages (sign up, sign in,
//! sign out).
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
//! request came through a proxy with `X-Forwarded-Proto: https`. Sign-in
//! attempts are rate limited per client address, and failures per account
//! (see [`Config::signin_rate`](crate::Config::signin_rate)).

use std::net::{IpAddr, SocketAddr};
use std::sync::LazyLock;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::assets;
use crate::auth::RateLimit;
use crate::error::StoreError;
use crate::store::{Registry, SESSION_SECONDS, SignUp, check_user_name, token_hash};

const SESSION_COOKIE: &str = "pb_session";
const CSRF_COOKIE: &str = "pb_csrf";
/// Shortest password accepted at sign-up, in characters.
pub const MIN_PASSWORD: usize = 10;
/// Longest password accepted, in bytes (argon2 hashes any length; this
/// bounds the work a request can ask for).
pub const MAX_PASSWORD: usize = 256;

/// A signed-in person.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub name: String,
    pub admin: bool,
}

/// The visitor of a page: who is signed in, and the CSRF token their forms
/// carry.
#[derive(Debug, Clone)]
pub(crate) struct Visitor {
    pub user: Option<SignedIn>,
    session: Option<String>,
    pub csrf: String,
    /// The CSRF cookie must be (re)sent with the response.
    new_csrf: bool,
    /// The browser says the request comes from another site.
    cross_site: bool,
    secure: bool,
    /// The client's address, for rate limits.
    client: String,
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

/// The client's address for rate limits: the connection's peer, or the
/// last `X-Forwarded-For` entry behind a proxy; IPv6 by its /64 (one
/// host usually has a whole /64).
fn client_of(parts: &Parts, behind_proxy: bool) -> String {
    let forwarded = behind_proxy
        .then(|| {
            parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .last()
                .and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        })
        .flatten();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    match forwarded.or(peer) {
        Some(IpAddr::V6(ip)) => {
            let s = ip.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(ip) => ip.to_string(),
        None => "unknown".to_owned(),
    }
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
fn same(a: &str, b: &str) -> bool {
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
        for (name, value) in cookies(&parts.headers) {
            match name {
                SESSION_COOKIE if is_token(value) => session = Some(value.to_owned()),
                CSRF_COOKIE if is_token(value) => csrf = Some(value.to_owned()),
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
        let client = client_of(parts, registry.config().behind_proxy);
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
            here,
        })
    }
}

impl Visitor {
    /// The layout every page shares.
    pub fn layout(&self, title: impl Into<String>) -> Layout {
        Layout {
            title: title.into(),
            user: self.user.clone(),
            csrf: self.csrf.clone(),
            q: String::new(),
            css: assets::css_path(),
            js: assets::js_path(),
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

    fn cookie(&self, name: &str, value: &str, max_age: u64, same_site: &str) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!(
            "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite={same_site}{secure}"
        );
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    fn csrf_cookie(&self) -> HeaderValue {
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

fn see_other(to: &str) -> Response {
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

posted!(AccountForm, CsrfOnly);

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
    fn anonymous(title: &str) -> Self {
        Layout {
            title: title.to_owned(),
            user: None,
            csrf: String::new(),
            q: String::new(),
            css: assets::css_path(),
            js: assets::js_path(),
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

/// Where to go after signing in: a path on this site, never another site.
/// Only a path of URL characters is kept (no whitespace or control
/// characters, which browsers strip, turning `/\t/evil` into `//evil`; no
/// backslashes, which they read as slashes).
fn safe_next(next: &str) -> &str {
    let url_char = |b: u8| b.is_ascii_alphanumeric() || b"-._~/?=&%#+:@!$'()*,;".contains(&b);
    let plain = next.len() <= 2048 && next.bytes().all(url_char);
    if plain && next.starts_with('/') && !next.starts_with("//") {
        next
    } else {
        "/"
    }
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    l: Layout,
    signup: bool,
    username: String,
    /// Where to go afterwards, for the hidden field…
    next: String,
    /// …and percent-encoded for links.
    next_q: String,
    error: Option<String>,
}

/// `?next=` of the account pages.
#[derive(Debug, Deserialize)]
pub(crate) struct Next {
    #[serde(default)]
    next: String,
}

/// The sign-in and sign-up forms.
#[derive(Debug, Deserialize)]
pub(crate) struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

fn account_page(visitor: &Visitor, signup: bool, next: &str) -> AccountPage {
    AccountPage {
        l: visitor.layout(if signup {
            "Create an account"
        } else {
            "Sign in"
        }),
        signup,
        username: String::new(),
        next: safe_next(next).to_owned(),
        next_q: url_encode(safe_next(next)),
        error: None,
    }
}

/// `GET /signin`.
pub(crate) async fn signin_page(visitor: Visitor, Query(next): Query<Next>) -> Response {
    visitor.page(StatusCode::OK, &account_page(&visitor, false, &next.next))
}

/// `GET /signup`.
pub(crate) async fn signup_page(visitor: Visitor, Query(next): Query<Next>) -> Response {
    visitor.page(StatusCode::OK, &account_page(&visitor, true, &next.next))
}

fn too_many(wait: u64) -> WebError {
    WebError::too_many(
        "Too many attempts",
        format!(
            "There were too many attempts from here or for this account. Wait {wait} seconds, \
             then try again."
        ),
        wait,
    )
}

/// The sign-in limits' buckets: every attempt from the client; failures
/// for the account from this client; failures for the account from
/// anywhere (ten times looser, so that nobody locks an owner out alone).
fn signin_buckets(
    registry: &Registry,
    visitor: &Visitor,
    username: &str,
) -> [([u8; 32], RateLimit); 3] {
    let limit = registry.config().signin_rate;
    let loose = RateLimit::new(limit.burst.saturating_mul(10), limit.per);
    [
        (
            token_hash(&format!("signin-client:{}", visitor.client)),
            limit,
        ),
        (
            token_hash(&format!("signin-failures:{username}:{}", visitor.client)),
            limit,
        ),
        (token_hash(&format!("signin-failures:{username}")), loose),
    ]
}

/// One attempt of the client, refused when any sign-in bucket is empty.
fn admit_signin(registry: &Registry, visitor: &Visitor, username: &str) -> Result<(), WebError> {
    let [(client, limit), failures @ ..] = signin_buckets(registry, visitor, username);
    registry.limiter().take(&client, limit).map_err(too_many)?;
    for (key, limit) in failures {
        registry.limiter().peek(&key, limit).map_err(too_many)?;
    }
    Ok(())
}

/// Counts a failed sign-in against the account.
fn count_failure(registry: &Registry, visitor: &Visitor, username: &str) {
    let [_, failures @ ..] = signin_buckets(registry, visitor, username);
    for (key, limit) in failures {
        // An empty bucket is what the next attempt will be refused for.
        let _ = registry.limiter().take(&key, limit);
    }
}

/// At most one password hash per core at a time: each takes 19 MiB and a
/// core for tens of milliseconds, so a burst of sign-ins waits its turn
/// instead of exhausting memory.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
});

/// Runs `work` (a password hash or check) on the blocking pool, one per core.
async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    let _permit = HASHING.acquire().await.map_err(|_| WebError::internal())?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| WebError::internal())
}

/// A page answer that signs `user` in: a new session cookie (and a new
/// CSRF token, so a token seen before signing in is worth nothing after).
fn signed_in(
    registry: &Registry,
    visitor: &Visitor,
    user: &str,
    next: &str,
) -> Result<Response, WebError> {
    let token = registry.create_session(user)?;
    let mut response = see_other(safe_next(next));
    let fresh = Visitor {
        csrf: random_token()?,
        ..visitor.clone()
    };
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        visitor.cookie(SESSION_COOKIE, &token, SESSION_SECONDS, "Lax"),
    );
    headers.append(header::SET_COOKIE, fresh.csrf_cookie());
    Ok(response)
}

fn form_error(visitor: &Visitor, form: &AccountForm, signup: bool, error: String) -> Response {
    let page = AccountPage {
        username: form.username.clone(),
        error: Some(error),
        ..account_page(visitor, signup, &form.next)
    };
    visitor.page(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// Checks a new password against the length rules.
pub fn check_password(password: &str) -> Result<(), StoreError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(StoreError::Password(format!(
            "use {MIN_PASSWORD} to {MAX_PASSWORD} characters; a few unrelated words make a good one"
        )));
    }
    Ok(())
}

/// A PHC string to verify against when the account does not exist, so that
/// a wrong name takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2
/// passes) and a random salt.
pub(crate) fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::PasswordHasher as _;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::PasswordVerifier as _;
    use argon2::password_hash::phc::PasswordHash;
    PasswordHash::new(phc).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// `POST /signin`.
pub(crate) async fn signin(
    State(registry): State<Registry>,
    visitor: Visitor,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Result<Response, WebError> {
    let form = visitor.accept(form)?;
    let username = form.username.trim().to_lowercase();
    admit_signin(&registry, &visitor, &username)?;
    let password = form.password.clone();
    let (store, name) = (registry.clone(), username.clone());
    let valid = hashing(move || -> Result<bool, StoreError> {
        let phc = store.user(&name)?.and_then(|u| u.password);
        let known = phc.is_some();
        let ok = verify_password(&password, phc.as_deref().unwrap_or(dummy_hash()));
        Ok(known && ok)
    })
    .await??;
    if !valid {
        count_failure(&registry, &visitor, &username);
        return Ok(form_error(
            &visitor,
            &form,
            false,
            "That user name and password do not match an account here. Check both, or create \
             an account."
                .into(),
        ));
    }
    signed_in(&registry, &visitor, &username, &form.next)
}

/// `POST /signup`.
pub(crate) async fn signup(
    State(registry): State<Registry>,
    visitor: Visitor,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Result<Response, WebError> {
    let form = visitor.accept(form)?;
    let username = form.username.trim().to_owned();
    let problem = match check_user_name(&username) {
        Err(error) => Some(format!("User name: {error}.")),
        Ok(()) if crate::names::reserved(&username).is_some() => Some(format!(
            "User name: `{username}` is reserved; choose another."
        )),
        Ok(()) => check_password(&form.password)
            .err()
            .map(|error| format!("Password: {error}.")),
    };
    if let Some(problem) = problem {
        return Ok(form_error(&visitor, &form, true, problem));
    }
    let limit = registry.config().signin_rate;
    let key = token_hash(&format!("signup-client:{}", visitor.client));
    registry.limiter().take(&key, limit).map_err(too_many)?;
    let password = form.password.clone();
    let hash = hashing(move || hash_password(&password))
        .await?
        .map_err(|e| {
            tracing::error!("password hashing failed: {e}");
            WebError::internal()
        })?;
    match registry.sign_up(&username, hash)? {
        SignUp::Taken => Ok(form_error(
            &visitor,
            &form,
            true,
            format!("User name: `{username}` is taken; choose another."),
        )),
        SignUp::Created => {
            tracing::info!(user = %username, "account created");
            signed_in(&registry, &visitor, &username, &form.next)
        }
    }
}

/// The forms that carry nothing but their CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /signout`.
pub(crate) async fn signout(
    State(registry): State<Registry>,
    visitor: Visitor,
    form: Result<Form<CsrfOnly>, FormRejection>,
) -> Result<Response, WebError> {
    visitor.accept(form)?;
    if let Some(token) = &visitor.session {
        registry.end_session(token)?;
    }
    let mut response = see_other("/");
    response.headers_mut().append(
        header::SET_COOKIE,
        visitor.cookie(SESSION_COOKIE, "", 0, "Lax"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(headers: &[(&str, &str)], peer: Option<&str>) -> Parts {
        let mut request = axum::http::Request::builder().uri("/");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let (mut parts, ()) = request.body(()).expect("a request").into_parts();
        if let Some(peer) = peer {
            let peer: SocketAddr = peer.parse().expect("an address");
            parts.extensions.insert(ConnectInfo(peer));
        }
        parts
    }

    #[test]
    fn clients_are_the_peer_unless_behind_a_proxy() {
        let forwarded = [("x-forwarded-for", "203.0.113.9, 198.51.100.7")];
        let direct = parts(&forwarded, Some("192.0.2.1:5000"));
        assert_eq!(
            client_of(&direct, false),
            "192.0.2.1",
            "the header is not trusted"
        );
        assert_eq!(
            client_of(&direct, true),
            "198.51.100.7",
            "the proxy's entry"
        );
        let garbage = parts(
            &[("x-forwarded-for", "not an address")],
            Some("192.0.2.1:5000"),
        );
        assert_eq!(client_of(&garbage, true), "192.0.2.1");
        let v6 = parts(&[], Some("[2001:db8:1:2:3:4:5:6]:443"));
        assert_eq!(client_of(&v6, false), "2001:db8:1:2::/64");
        assert_eq!(client_of(&parts(&[], None), false), "unknown");
    }

    #[test]
    fn only_well_formed_cookies_count() {
        let token = "ab".repeat(32);
        let headers = parts(
            &[(
                "cookie",
                &format!("pb_session=short; junk; pb_csrf={token}; =x; other=1"),
            )],
            None,
        )
        .headers;
        let found: Vec<(&str, &str)> = cookies(&headers).collect();
        assert!(found.contains(&("pb_csrf", token.as_str())), "{found:?}");
        assert!(!is_token("short"));
        assert!(!is_token(&"zz".repeat(32)));
        assert!(is_token(&token));
    }

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next("/plugins/echo"), "/plugins/echo");
        assert_eq!(safe_next("/search?q=dice&page=2"), "/search?q=dice&page=2");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/\u{a0}/evil.example",
            "",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad}");
        }
    }

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
