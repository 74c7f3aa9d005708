//! The account pages: sign up, sign in, sign out.
//!
//! ## Sign-in limits that cannot lock an owner out
//!
//! Limits on guessing passwords must not become a way to keep the real
//! owner out. An account-wide block does exactly that: whoever fails often
//! enough for an account, from however many addresses, blocks it. So the
//! limits here are shaped by who is trying:
//!
//! * A browser that signed in to the account before holds a **device
//!   cookie** (`pb_device`: the user name, a random device id and a keyed
//!   signature; set at every sign-in and sign-up, sent back to `/signin`
//!   only). Its attempts count only against its own budget
//!   ([`Config::device_signin_rate`]): failures from anywhere else, or for
//!   the account as a whole, never stop it.
//! * Any other browser counts against its **address** and its **subnet**
//!   ([`crate::client`]: IPv4 /24, IPv6 /56): every attempt takes from the
//!   address's bucket ([`Config::signin_rate`]), and failures earn
//!   exponential delays per address and per subnet
//!   ([`Config::signin_backoff`]), so more addresses in one network buy an
//!   attacker nothing; and against the **account's** failures from such
//!   browsers ([`Config::account_signin_rate`]): past that, the account
//!   takes sign-ins only from its known browsers until the bucket refills.
//!   A distributed guesser is thus held to the account's rate, and the
//!   owner signs in from a browser they used before.
//!
//! Past a limit the answer is 429 with `Retry-After`, before the password
//! is checked.
//!
//! [`Config::device_signin_rate`]: crate::Config::device_signin_rate
//! [`Config::signin_rate`]: crate::Config::signin_rate
//! [`Config::signin_backoff`]: crate::Config::signin_backoff
//! [`Config::account_signin_rate`]: crate::Config::account_signin_rate

use std::sync::LazyLock;

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::page::{Layout, WebError, see_other, url_encode};
use super::session::{CsrfOnly, SESSION_COOKIE, Visitor, posted, same};
use crate::error::StoreError;
use crate::names::{Clash, NameKind};
use crate::password::{check_password, dummy_hash, hash_password, verify_password};
use crate::rate::Backoff;
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
            "There were too many sign-in attempts from your network. Wait {wait} seconds, then \
             try again."
        ),
        wait,
    )
}

/// How a sign-in attempt is limited: a browser that signed in to the
/// account before by its own budget, any other by its address, its subnet
/// and the account's failures from such browsers.
enum Gate {
    Known {
        device: [u8; 32],
    },
    Unknown {
        attempts: [u8; 32],
        address: [u8; 32],
        subnet: [u8; 32],
        account: [u8; 32],
    },
}

/// The device cookie's value for `user` and the device id `device`.
fn device_value(registry: &Registry, user: &str, device: &str) -> String {
    format!("{user}.{device}.{}", registry.device_mac(user, device))
}

/// The device id in `cookie` when it is a device cookie the registry made
/// for `user`.
fn known_device(registry: &Registry, cookie: &str, user: &str) -> Option<String> {
    let mut parts = cookie.split('.');
    let (Some(name), Some(device), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let plausible =
        name == user && device.len() == 32 && device.bytes().all(|b| b.is_ascii_hexdigit());
    (plausible && same(mac, &registry.device_mac(user, device))).then(|| device.to_owned())
}

fn gate(registry: &Registry, visitor: &Visitor, username: &str) -> Gate {
    let known = visitor
        .device
        .as_deref()
        .and_then(|cookie| known_device(registry, cookie, username));
    match known {
        Some(device) => Gate::Known {
            device: token_hash(&format!("signin-device:{device}")),
        },
        None => Gate::Unknown {
            attempts: token_hash(&format!("signin-client:{}", visitor.client.address_key())),
            address: token_hash(&format!(
                "signin-failures-address:{}",
                visitor.client.address_key()
            )),
            subnet: token_hash(&format!(
                "signin-failures-subnet:{}",
                visitor.client.subnet_key()
            )),
            account: token_hash(&format!("signin-failures-account:{username}")),
        },
    }
}

/// The subnet's backoff: four times the address's free failures.
fn subnet_backoff(registry: &Registry) -> Backoff {
    let address = registry.config().signin_backoff;
    Backoff {
        free: address.free.saturating_mul(4),
        ..address
    }
}

/// One attempt, refused (429) when a limit of its gate is reached.
fn admit_signin(registry: &Registry, gate: &Gate) -> Result<(), WebError> {
    let config = registry.config();
    match gate {
        Gate::Known { device } => registry
            .limiter()
            .peek(device, config.device_signin_rate)
            .map_err(|wait| {
                WebError::too_many(
                    "Too many attempts",
                    format!(
                        "There were too many failed sign-ins from this browser. Wait {wait} \
                         seconds, then try again."
                    ),
                    wait,
                )
            }),
        Gate::Unknown {
            attempts,
            address,
            subnet,
            account,
        } => {
            registry
                .limiter()
                .take(attempts, config.signin_rate)
                .map_err(too_many)?;
            let backoffs = registry.backoffs();
            backoffs
                .check(address, config.signin_backoff)
                .map_err(too_many)?;
            backoffs
                .check(subnet, subnet_backoff(registry))
                .map_err(too_many)?;
            registry
                .limiter()
                .peek(account, config.account_signin_rate)
                .map_err(|wait| {
                    WebError::too_many(
                        "This account is protected for now",
                        format!(
                            "This account had many failed sign-ins lately, so for now it \
                             accepts them only from browsers that signed in to it before. Sign \
                             in from one of those, or wait {wait} seconds and try again."
                        ),
                        wait,
                    )
                })
        }
    }
}

/// Counts a failed sign-in against its gate.
fn count_failure(registry: &Registry, gate: &Gate) {
    let config = registry.config();
    // An empty bucket is what the next attempt will be refused for.
    match gate {
        Gate::Known { device } => {
            let _ = registry.limiter().take(device, config.device_signin_rate);
        }
        Gate::Unknown {
            address,
            subnet,
            account,
            ..
        } => {
            registry.backoffs().fail(address, config.signin_backoff);
            registry.backoffs().fail(subnet, subnet_backoff(registry));
            let _ = registry.limiter().take(account, config.account_signin_rate);
        }
    }
}

/// At most one password hash per core at a time: each takes 19 MiB and a
/// core for tens of milliseconds, so a burst of sign-ins waits its turn
/// instead of exhausting memory.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
});

/// Runs `work` (a password hash or check) on the blocking pool, one per core.
pub(super) async fn hashing<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WebError> {
    let _permit = HASHING.acquire().await.map_err(|_| WebError::internal())?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| WebError::internal())
}

/// A page answer that signs `user` in: a new session cookie (and a new
/// CSRF token, so a token seen before signing in is worth nothing after).
/// The browser becomes a known device of `user` (it keeps its device id
/// when it already was one).
fn signed_in(
    registry: &Registry,
    visitor: &Visitor,
    user: &str,
    next: &str,
) -> Result<Response, WebError> {
    let token = registry.create_session(user)?;
    let mut response = see_other(safe_next(next));
    let fresh = visitor.with_fresh_csrf()?;
    let device = match visitor
        .device
        .as_deref()
        .and_then(|cookie| known_device(registry, cookie, user))
    {
        Some(device) => device,
        None => random_device()?,
    };
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        visitor.cookie(SESSION_COOKIE, &token, SESSION_SECONDS, "Lax"),
    );
    headers.append(header::SET_COOKIE, fresh.csrf_cookie());
    headers.append(
        header::SET_COOKIE,
        visitor.device_cookie(&device_value(registry, user, &device)),
    );
    Ok(response)
}

/// A new device id: 16 random bytes in hex.
fn random_device() -> Result<String, WebError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        tracing::error!("no randomness for a device id: {e}");
        WebError::internal()
    })?;
    Ok(hex::encode(bytes))
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
    let gate = gate(&registry, &visitor, &username);
    admit_signin(&registry, &gate)?;
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
        count_failure(&registry, &gate);
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
        Ok(()) => match registry.user_name_clash(&username)? {
            Some(clash) => Some(refused_name(&username, &clash)),
            None => check_password(&form.password)
                .err()
                .map(|error| format!("Password: {error}.")),
        },
    };
    if let Some(problem) = problem {
        return Ok(form_error(&visitor, &form, true, problem));
    }
    let limit = registry.config().signin_rate;
    let key = token_hash(&format!("signup-client:{}", visitor.client.address_key()));
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
        SignUp::Refused(clash) => Ok(form_error(
            &visitor,
            &form,
            true,
            refused_name(&username, &clash),
        )),
        SignUp::Created => {
            tracing::info!(user = %username, "account created");
            signed_in(&registry, &visitor, &username, &form.next)
        }
    }
}

/// The sign-up form's words for a user name [`names::clash`] refuses.
///
/// [`names::clash`]: crate::names::clash
fn refused_name(username: &str, clash: &Clash) -> String {
    let mut words = clash.explain(username, NameKind::User);
    if let Some(first) = words.get(..1) {
        words = first.to_uppercase() + &words[1..];
    }
    format!("User name: {words}.")
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
    fn device_cookies_are_the_registrys_and_the_accounts() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Password(e.to_string()))?;
        let registry = Registry::open(dir.path(), crate::Config::default())?;
        let device = "0123456789abcdef0123456789abcdef";
        let good = device_value(&registry, "alice", device);
        assert_eq!(
            known_device(&registry, &good, "alice").as_deref(),
            Some(device)
        );
        let mac = registry.device_mac("alice", device);
        for bad in [
            // Another account's cookie, or one moved to another account.
            device_value(&registry, "bob", device),
            format!("bob.{device}.{mac}"),
            // A changed id or signature, or parts missing or added.
            format!("alice.{}.{mac}", "f".repeat(32)),
            format!("alice.{device}.{}", "0".repeat(64)),
            format!("alice.{device}"),
            format!("{good}.x"),
            format!("alice.short.{mac}"),
            String::new(),
        ] {
            assert_eq!(known_device(&registry, &bad, "alice"), None, "{bad}");
        }
        Ok(())
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
}
