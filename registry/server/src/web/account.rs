//! The account pages: sign up, sign in, sign out. Sign-in attempts are
//! rate limited per client address, and failures per account (see
//! [`Config::signin_rate`](crate::Config::signin_rate)).

use std::sync::LazyLock;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::page::{Layout, WebError, see_other, url_encode};
use super::session::{CsrfOnly, SESSION_COOKIE, Visitor, posted};
use crate::error::StoreError;
use crate::password::{check_password, dummy_hash, hash_password, verify_password};
use crate::rate::RateLimit;
use crate::store::{Registry, SESSION_SECONDS, SignUp, check_user_name, token_hash};

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
    let fresh = visitor.with_fresh_csrf()?;
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

posted!(AccountForm);

#[cfg(test)]
mod tests {
    use super::*;

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
}
