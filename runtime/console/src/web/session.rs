//! Who is at the console's pages: a session begun by signing in with the
//! admin token, and the CSRF token its forms carry.
//!
//! The session cookie holds 32 random bytes (the console keeps only their
//! SHA-256), `HttpOnly; SameSite=Strict; Path=/`, `Secure` when the
//! request came through a TLS proxy (`X-Forwarded-Proto: https`). Sessions
//! live in memory for [`SESSION_HOURS`] hours, or until the bot stops or
//! the owner signs out. Every form carries the session's CSRF token,
//! compared on each POST; a POST the browser marks as coming from another
//! site (`Sec-Fetch-Site`, `Origin`) is refused too. Before signing in, the
//! sign-in form's own token is a double-submit cookie.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};

/// How long a session lasts.
pub(crate) const SESSION_HOURS: u64 = 12;
const SESSION_COOKIE: &str = "plugboard_console";
const PRE_COOKIE: &str = "plugboard_console_csrf";
/// Sessions kept at once; the oldest go first beyond it.
const MAX_SESSIONS: usize = 64;

struct Session {
    csrf: String,
    expires: Instant,
    /// What the next page should tell the owner (set by a form's answer).
    notice: Option<Notice>,
}

/// A message for the next page.
#[derive(Debug, Clone)]
pub(crate) enum Notice {
    /// Something was done.
    Done(String),
    /// Something was refused.
    Refused(String),
}

/// The sessions of signed-in browsers.
#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    /// When the recent wrong sign-ins happened, oldest first.
    wrong: Mutex<std::collections::VecDeque<Instant>>,
}

/// Wrong sign-ins allowed per [`WRONG_WINDOW`], from anyone: guessing a
/// token of 24 random characters is hopeless anyway, and this keeps a
/// flood of guesses from filling the log.
const WRONG_PER_WINDOW: usize = 10;
const WRONG_WINDOW: Duration = Duration::from_secs(60);

/// A visitor of a page: signed in or not, the CSRF token of their forms,
/// and what to tell them.
#[derive(Debug)]
pub(crate) struct Visitor {
    pub(crate) signed_in: bool,
    pub(crate) csrf: String,
    /// A fresh sign-in CSRF cookie to set.
    pub(crate) set_cookie: Option<HeaderValue>,
    pub(crate) notice: Option<Notice>,
    key: Option<[u8; 32]>,
    cross_site: bool,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    // The OS's generator fails only on a broken system; then no session
    // can be made safely, and an empty token matches nothing.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    hex::encode(bytes)
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn secure(headers: &HeaderMap) -> &'static str {
    let behind_tls = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if behind_tls { "; Secure" } else { "" }
}

/// Whether the browser says the request comes from another site.
fn cross_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|s| s != "same-origin" && s != "none") {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => {
            let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            origin_host != host
        }
        _ => false,
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    digest(a) == digest(b)
}

impl Sessions {
    /// How long until another sign-in may be tried, when too many wrong
    /// ones came in the last minute.
    pub(crate) fn signin_wait(&self, now: Instant) -> Option<Duration> {
        let mut wrong = self.wrong.lock().unwrap_or_else(|p| p.into_inner());
        while wrong
            .front()
            .is_some_and(|at| now.duration_since(*at) >= WRONG_WINDOW)
        {
            wrong.pop_front();
        }
        let oldest = *wrong.front()?;
        (wrong.len() >= WRONG_PER_WINDOW)
            .then(|| WRONG_WINDOW.saturating_sub(now.duration_since(oldest)))
    }

    /// Counts a wrong sign-in at `now`.
    pub(crate) fn wrong_signin(&self, now: Instant) {
        self.wrong
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(now);
    }

    /// Who is visiting, from the request's headers.
    pub(crate) fn visitor(&self, headers: &HeaderMap) -> Visitor {
        let cross_site = cross_site(headers);
        if let Some(value) = cookie(headers, SESSION_COOKIE) {
            let key = digest(value);
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            map.retain(|_, s| s.expires > now);
            if let Some(session) = map.get_mut(&key) {
                return Visitor {
                    signed_in: true,
                    csrf: session.csrf.clone(),
                    set_cookie: None,
                    notice: session.notice.take(),
                    key: Some(key),
                    cross_site,
                };
            }
        }
        let (csrf, set_cookie) = match cookie(headers, PRE_COOKIE) {
            Some(value) if value.len() == 64 => (value.to_owned(), None),
            _ => {
                let fresh = random_hex();
                let cookie = format!(
                    "{PRE_COOKIE}={fresh}; Path=/; HttpOnly; SameSite=Strict{}",
                    secure(headers)
                );
                (fresh, HeaderValue::from_str(&cookie).ok())
            }
        };
        Visitor {
            signed_in: false,
            csrf,
            set_cookie,
            notice: None,
            key: None,
            cross_site,
        }
    }

    /// Begins a session; returns the cookie that carries it.
    pub(crate) fn begin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let value = random_hex();
        if value.is_empty() {
            return None;
        }
        let lifetime = Duration::from_secs(SESSION_HOURS * 3600);
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(
            digest(&value),
            Session {
                csrf: random_hex(),
                expires: Instant::now() + lifetime,
                notice: None,
            },
        );
        let cookie = format!(
            "{SESSION_COOKIE}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}",
            lifetime.as_secs(),
            secure(headers)
        );
        HeaderValue::from_str(&cookie).ok()
    }

    /// Ends `visitor`'s session; returns the cookie that forgets it.
    pub(crate) fn end(&self, visitor: &Visitor) -> HeaderValue {
        if let Some(key) = visitor.key {
            self.map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        }
        HeaderValue::from_static("plugboard_console=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict")
    }

    /// Leaves `notice` for `visitor`'s next page.
    pub(crate) fn tell(&self, visitor: &Visitor, notice: Notice) {
        if let Some(key) = visitor.key
            && let Some(session) = self
                .map
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(&key)
        {
            session.notice = Some(notice);
        }
    }
}

impl Visitor {
    /// Whether a form's `csrf` field is this visitor's token, from this
    /// site.
    pub(crate) fn posted(&self, csrf: &str) -> bool {
        !self.cross_site && !self.csrf.is_empty() && constant_time_eq(csrf, &self.csrf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn ten_wrong_sign_ins_in_a_minute_hold_the_next_until_the_first_is_a_minute_old() {
        let sessions = Sessions::default();
        let start = Instant::now();
        for i in 0..WRONG_PER_WINDOW as u64 {
            assert_eq!(sessions.signin_wait(start + Duration::from_secs(i)), None);
            sessions.wrong_signin(start + Duration::from_secs(i));
        }
        let wait = sessions.signin_wait(start + Duration::from_secs(20));
        assert_eq!(wait, Some(Duration::from_secs(40)));
        assert_eq!(sessions.signin_wait(start + Duration::from_secs(60)), None);
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_forms_need_its_token_from_this_site() {
        let sessions = Sessions::default();
        let begun = sessions.begin(&HeaderMap::new()).expect("cookie");
        let value = begun
            .to_str()
            .expect("ascii")
            .split(';')
            .next()
            .expect("pair")
            .to_owned();
        assert!(
            begun
                .to_str()
                .expect("ascii")
                .contains("HttpOnly; SameSite=Strict")
        );
        let visitor = sessions.visitor(&headers(&[("cookie", &value), ("host", "127.0.0.1:8470")]));
        assert!(visitor.signed_in);
        assert!(visitor.posted(&visitor.csrf.clone()));
        assert!(!visitor.posted("forged"));
        let from_elsewhere = sessions.visitor(&headers(&[
            ("cookie", &value),
            ("host", "127.0.0.1:8470"),
            ("origin", "https://evil.example"),
        ]));
        assert!(!from_elsewhere.posted(&from_elsewhere.csrf.clone()));
        let cross = sessions.visitor(&headers(&[
            ("cookie", &value),
            ("sec-fetch-site", "cross-site"),
        ]));
        assert!(!cross.posted(&cross.csrf.clone()));
        sessions.end(&visitor);
        assert!(!sessions.visitor(&headers(&[("cookie", &value)])).signed_in);
        let stranger = sessions.visitor(&headers(&[("cookie", "plugboard_console=guess")]));
        assert!(!stranger.signed_in);
        assert!(
            stranger.set_cookie.is_some(),
            "a sign-in token cookie is set"
        );
    }
}
