//! The CLI's side of the admin API: find the running bot of a config and
//! ask it, or learn that it is not running (then the CLI works on the
//! store, as before the bot started).
//!
//! The bot is looked for at the address in `<data_dir>/admin-address`
//! (written while it runs, with its process id: the file of a process
//! that is gone is ignored), else at `[admin] listen`. Nobody answering
//! there means the bot is stopped; anything else (a refusal, a wrong
//! token, a bot that answers garbage) is an error naming the problem, never
//! a silent fallback that would change the store behind a running bot.

use std::net::SocketAddr;
use std::time::Duration;

use plugboard_bot::config::BotConfig;
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder};
use serde::de::DeserializeOwned;

use crate::api::{ApiError, AuditEntry, GrantChange, Permissions, Resumed, Status, UsageReport};
use crate::auth::AdminToken;
use crate::listing::Listing;

/// Why the running bot could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The bot runs with an admin API, but the CLI has no token for it.
    #[error(
        "the bot is running (its admin API answers at {addr}); set {var} to the bot's admin token so that this command can reach it"
    )]
    NoToken {
        /// Where the bot answers.
        addr: SocketAddr,
        /// The variable to set.
        var: String,
    },
    /// The bot refused the request.
    #[error("the running bot refused: {0}")]
    Refused(String),
    /// The bot refused the token.
    #[error(
        "the running bot refused the admin token in {var}: it is not the token the bot was started with"
    )]
    WrongToken {
        /// The variable holding it.
        var: String,
    },
    /// The request failed on the way, or the answer was not understood.
    #[error("cannot talk to the running bot at {addr}: {problem}")]
    Transport {
        /// Where.
        addr: SocketAddr,
        /// What happened.
        problem: String,
    },
}

/// A connection to a running bot's admin API.
pub struct AdminClient {
    http: Client,
    base: String,
    addr: SocketAddr,
    token: String,
    var: String,
}

/// How long to wait for the bot: it answers from memory, or after one
/// store flush.
const TIMEOUT: Duration = Duration::from_secs(30);
/// How long to wait for a connection on loopback before deciding nobody
/// listens.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

impl AdminClient {
    /// The running bot of `config`, when it has an admin API that answers;
    /// `Ok(None)` when nobody answers (the bot is stopped, or runs without
    /// `[admin]`).
    pub fn find(config: &BotConfig) -> Result<Option<AdminClient>, ClientError> {
        let Some(admin) = &config.admin else {
            return Ok(None);
        };
        let written = std::fs::read_to_string(config.data_dir().join(crate::ADDRESS_FILE)).ok();
        let addr = written
            .as_deref()
            .and_then(written_address)
            .unwrap_or(admin.listen);
        if addr.port() == 0 || std::net::TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).is_err()
        {
            return Ok(None);
        }
        let var = admin.token_env.clone();
        let token = match AdminToken::from_env(&var) {
            Ok(_) => std::env::var(&var).unwrap_or_default().trim().to_owned(),
            Err(_) => return Err(ClientError::NoToken { addr, var }),
        };
        let http = Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| ClientError::Transport {
                addr,
                problem: e.to_string(),
            })?;
        Ok(Some(AdminClient {
            http,
            base: format!("http://{addr}/api/v1"),
            addr,
            token,
            var,
        }))
    }

    /// Where the bot answers.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET /status`.
    pub fn status(&self) -> Result<Status, ClientError> {
        self.send(self.http.get(format!("{}/status", self.base)))
    }

    /// `GET /plugins`.
    pub fn plugins(&self) -> Result<Listing, ClientError> {
        self.send(self.http.get(format!("{}/plugins", self.base)))
    }

    /// `POST /plugins/{plugin}/grant` or `/revoke`.
    pub fn change_grants(
        &self,
        plugin: &str,
        permissions: &[String],
        grant: bool,
    ) -> Result<GrantChange, ClientError> {
        let verb = if grant { "grant" } else { "revoke" };
        let body = Permissions {
            permissions: permissions.to_vec(),
        };
        self.send(
            self.http
                .post(format!("{}/plugins/{}/{verb}", self.base, segment(plugin)))
                .json(&body),
        )
    }

    /// `POST /plugins/{plugin}/resume`.
    pub fn resume(&self, plugin: &str) -> Result<Resumed, ClientError> {
        self.send(
            self.http
                .post(format!("{}/plugins/{}/resume", self.base, segment(plugin))),
        )
    }

    /// `GET /audit`.
    pub fn audit(&self, action: Option<&str>, last: usize) -> Result<Vec<AuditEntry>, ClientError> {
        let mut query = vec![("last", last.to_string())];
        if let Some(action) = action {
            query.push(("action", action.to_owned()));
        }
        self.send(self.http.get(format!("{}/audit", self.base)).query(&query))
    }

    /// `GET /usage`.
    pub fn usage(&self, days: u64) -> Result<UsageReport, ClientError> {
        self.send(
            self.http
                .get(format!("{}/usage", self.base))
                .query(&[("days", days)]),
        )
    }

    fn send<T: DeserializeOwned>(&self, request: RequestBuilder) -> Result<T, ClientError> {
        let transport = |problem: String| ClientError::Transport {
            addr: self.addr,
            problem,
        };
        let response = request
            .bearer_auth(&self.token)
            .send()
            .map_err(|e| transport(e.to_string()))?;
        let status = response.status();
        let body = response.bytes().map_err(|e| transport(e.to_string()))?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(ClientError::WrongToken {
                var: self.var.clone(),
            });
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<ApiError>(&body)
                .map(|e| e.error)
                .unwrap_or_else(|_| format!("HTTP {status}"));
            return Err(ClientError::Refused(message));
        }
        serde_json::from_slice(&body)
            .map_err(|e| transport(format!("its answer is not what this CLI expects ({e})")))
    }
}

/// The address in an address file, unless the process that wrote it is
/// gone (a bot that crashed leaves its file behind, and its port may be
/// another program's by now: the token must not go there).
fn written_address(file: &str) -> Option<SocketAddr> {
    let mut words = file.split_whitespace();
    let addr = words.next()?.parse().ok()?;
    let pid: u32 = words.next()?.parse().ok()?;
    let proc = std::path::Path::new("/proc");
    if proc.is_dir() && !proc.join(pid.to_string()).exists() {
        return None;
    }
    Some(addr)
}

/// A plugin name as one path segment. Names the loader accepts are
/// lowercase letters, digits and dashes; anything else is percent-encoded
/// so that it cannot reach another path.
fn segment(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_file_counts_only_while_its_process_lives() {
        let here = format!("127.0.0.1:8470 {}\n", std::process::id());
        assert_eq!(
            written_address(&here),
            Some(SocketAddr::from(([127, 0, 0, 1], 8470)))
        );
        if std::path::Path::new("/proc").is_dir() {
            assert_eq!(written_address("127.0.0.1:8470 4294967"), None);
        }
        assert_eq!(written_address("127.0.0.1:8470"), None, "no process id");
        assert_eq!(written_address("garbage 1"), None);
    }

    #[test]
    fn a_plugin_name_stays_one_path_segment() {
        assert_eq!(segment("notes"), "notes");
        assert_eq!(segment("../admin"), "%2E%2E%2Fadmin");
        assert_eq!(segment("a b?c#d"), "a%20b%3Fc%23d");
    }
}
