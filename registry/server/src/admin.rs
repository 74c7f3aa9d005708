//! The operator's commands (`plugboard-registry token …`, `user …`,
//! `admin …`) as [`Request`]s that [`execute`] runs on a [`Registry`]:
//! the one place their rules live, whether the command opened the store
//! itself or a running server runs it.
//!
//! The store allows one process, so while `serve` runs, the commands reach
//! it through the **admin endpoint**: a second listener on a loopback port
//! of its own (never the public one, so a proxy in front never forwards to
//! it), serving only `POST /admin/v1/run` ([`router`]). `serve` writes the
//! endpoint's URL and a random secret to `<data>/admin-endpoint.json`
//! (mode 0600, [`EndpointFile`]); a request must carry the secret as
//! `Authorization: Bearer <secret>`, so only someone who can read the data
//! directory can use it. A command finds the file, sends its [`Request`]
//! as JSON and gets a [`Reply`] (or `{"errors":[{"detail":"…"}]}`); when
//! there is no file, or nothing answers at its URL, it opens the store
//! itself.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, header};
use axum::routing::post;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, StoreError};
use crate::store::{Registry, Revoked, token_hash};
use crate::tokens::Scope;

/// The file in the data directory that names a running server's admin
/// endpoint.
pub const ENDPOINT_FILE: &str = "admin-endpoint.json";

/// The path of the admin endpoint's one route.
pub const RUN_PATH: &str = "/admin/v1/run";

/// An operator's command.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Request {
    /// `token create`: a token for `user` (created if needed).
    CreateToken {
        /// The user name.
        user: String,
        /// What it may do; empty for every scope.
        scopes: Vec<Scope>,
        /// The operator checked that a web account of that name is the
        /// person they mean.
        existing: bool,
    },
    /// `token list`.
    ListTokens {
        /// Only this user's tokens.
        user: Option<String>,
    },
    /// `token revoke`.
    RevokeToken {
        /// The token's id, or its first 8 or more hex digits.
        id: String,
    },
    /// `admin grant` and `admin revoke`.
    SetAdmin {
        /// An existing user.
        user: String,
        /// Grant (or take away) the admin role.
        admin: bool,
    },
    /// `user password`.
    SetPassword {
        /// The user (created if needed).
        user: String,
        /// The new password.
        password: String,
    },
    /// `user reset-link`: a one-time password reset link.
    ResetLink {
        /// An existing user.
        user: String,
    },
}

/// A token as `token list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    /// Its id.
    pub id: String,
    /// Whose it is.
    pub user: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was made, RFC 3339.
    pub created_at: String,
    /// What its owner called it.
    #[serde(default)]
    pub name: String,
}

/// What a [`Request`] did.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Reply {
    /// A new token, shown this once.
    Token {
        /// The token.
        token: String,
        /// Its id.
        id: String,
        /// Whose it is.
        user: String,
        /// What it may do.
        scopes: Vec<Scope>,
    },
    /// The tokens, oldest first.
    Tokens {
        /// The tokens.
        tokens: Vec<TokenRow>,
    },
    /// A revoked token.
    Revoked {
        /// Its id.
        id: String,
        /// Whose it was.
        user: String,
    },
    /// A user's admin role changed.
    Admin {
        /// The user.
        user: String,
        /// Whether they are an admin now.
        admin: bool,
    },
    /// A password was set.
    Password {
        /// The user.
        user: String,
    },
    /// A password reset link: the path on the registry's site.
    ResetLink {
        /// The user.
        user: String,
        /// `/reset-password/<secret>`.
        path: String,
        /// How long it works, in minutes.
        minutes: u64,
    },
}

/// Why an operator's command was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The command cannot be done as asked; the message says what to do.
    #[error("{0}")]
    Refused(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `request` on `registry`.
pub fn execute(registry: &Registry, request: Request) -> Result<Reply, AdminError> {
    match request {
        Request::CreateToken {
            user,
            scopes,
            existing,
        } => {
            let scopes = if scopes.is_empty() {
                Scope::ALL.to_vec()
            } else {
                scopes
            };
            if registry.has_password(&user)? && !existing {
                return Err(AdminError::Refused(format!(
                    "`{user}` is an account someone made on the web pages; a token would let \
                     whoever signed up as `{user}` publish. If you checked that it is the person \
                     you mean, run this again with --existing; otherwise choose another name \
                     (publishers can also create their own tokens on their account page)"
                )));
            }
            let token = registry.create_token(&user, &scopes)?;
            let id = crate::store::token_id(&token);
            registry.audit("operator", "create-token", &format!("{user}/{id}"), "")?;
            Ok(Reply::Token {
                token,
                id,
                user,
                scopes,
            })
        }
        Request::ListTokens { user } => Ok(Reply::Tokens {
            tokens: registry
                .tokens(user.as_deref())?
                .into_iter()
                .map(|t| TokenRow {
                    created_at: t.created(),
                    id: t.id,
                    user: t.user,
                    scopes: t.scopes,
                    name: t.name,
                })
                .collect(),
        }),
        Request::RevokeToken { id } => match registry.revoke_token(&id)? {
            Revoked::Revoked(token) => {
                let target = format!("{}/{}", token.user, token.id);
                registry.audit("operator", "revoke-token", &target, "")?;
                Ok(Reply::Revoked {
                    id: token.id,
                    user: token.user,
                })
            }
            Revoked::Ambiguous(n) => Err(AdminError::Refused(format!(
                "{n} tokens have ids starting with `{id}`; give more of the id `token list` shows"
            ))),
            Revoked::NotFound => Err(AdminError::Refused(format!(
                "no token has the id `{id}`; `plugboard-registry token list` shows the ids \
                 (give 8 or more of their hex digits)"
            ))),
        },
        Request::SetAdmin { user, admin } => {
            if !registry.set_admin(&user, admin)? {
                return Err(AdminError::Refused(format!(
                    "there is no user `{user}`; people create accounts by signing up on the web \
                     pages, publishers get one with `plugboard-registry token create {user}`"
                )));
            }
            registry.audit(
                "operator",
                if admin { "grant-admin" } else { "revoke-admin" },
                &user,
                "",
            )?;
            Ok(Reply::Admin { user, admin })
        }
        Request::SetPassword { user, password } => {
            crate::check_password(&password).map_err(|e| AdminError::Refused(e.to_string()))?;
            registry.set_password(&user, &password)?;
            registry.audit("operator", "change-password", &user, "set by the operator")?;
            Ok(Reply::Password { user })
        }
        Request::ResetLink { user } => match registry.create_reset(&user, "operator")? {
            Some(secret) => Ok(Reply::ResetLink {
                user,
                path: format!("/reset-password/{secret}"),
                minutes: crate::store::RESET_SECONDS / 60,
            }),
            None => Err(AdminError::Refused(format!(
                "there is no user `{user}`; `plugboard-registry token list` shows the publishers"
            ))),
        },
    }
}

/// What `serve` writes to [`ENDPOINT_FILE`] in the data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointFile {
    /// The admin endpoint: `http://127.0.0.1:<port>`.
    pub url: String,
    /// The bearer secret requests must carry.
    pub secret: String,
    /// The registry's public URL, for the links the commands print.
    pub public_url: String,
}

impl EndpointFile {
    /// A new file's contents with a random secret.
    pub fn new(url: String, public_url: String) -> Result<Self, StoreError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| StoreError::Randomness(e.to_string()))?;
        Ok(Self {
            url,
            secret: hex::encode(secret),
            public_url,
        })
    }

    /// Where the file lives in the data directory `data`.
    pub fn path(data: &Path) -> PathBuf {
        data.join(ENDPOINT_FILE)
    }

    /// Writes it to `data` (readable by its owner only), replacing any
    /// earlier one at once.
    pub fn write(&self, data: &Path) -> std::io::Result<()> {
        let temporary = data.join(format!("{ENDPOINT_FILE}.new"));
        let text = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(&temporary)?, &text)?;
        std::fs::rename(&temporary, Self::path(data))
    }

    /// The file in `data`, if there is a readable one.
    pub fn read(data: &Path) -> Option<Self> {
        let bytes = std::fs::read(Self::path(data)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// The admin endpoint's router: `POST /admin/v1/run` with the bearer
/// `secret`. Serve it on a loopback address only.
pub fn router(registry: Registry, secret: String) -> Router {
    Router::new()
        .route(RUN_PATH, post(run))
        .with_state((registry, token_hash(&secret)))
}

async fn run(
    State((registry, secret)): State<(Registry, [u8; 32])>,
    headers: HeaderMap,
    body: Result<Json<Request>, JsonRejection>,
) -> Result<Json<Reply>, AppError> {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Comparing hashes keeps the comparison's time from telling the secret.
    if token_hash(sent) != secret {
        return Err(AppError::unauthorized(format!(
            "the admin endpoint needs the secret in `{ENDPOINT_FILE}` of the registry's data \
             directory"
        )));
    }
    let Json(request) = body?;
    let reply = tokio::task::spawn_blocking(move || execute(&registry, request))
        .await
        .map_err(|e| AppError::internal(format!("the command's task failed ({e})")))?;
    match reply {
        Ok(reply) => Ok(Json(reply)),
        Err(AdminError::Refused(message)) => Err(AppError::unprocessable(message)),
        Err(AdminError::Store(error)) => Err(error.into()),
    }
}
