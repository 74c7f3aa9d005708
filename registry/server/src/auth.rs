//! The `Authed` extractor: the API token of a request, checked against the
//! store. Scopes and the token format are in [`crate::tokens`].
//!
//! A token is `pbr_` followed by 64 hex digits (32 random bytes from the
//! operating system). The registry stores only its sha256, in the `tokens`
//! tree, with the user and the scopes; the token itself is shown once, when
//! it is created. Clients send it as `Authorization: Bearer <token>`.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::store::{Registry, token_hash};
pub use crate::tokens::{Scope, TOKEN_PREFIX};

/// The user behind a valid `Authorization: Bearer` token. As an extractor
/// it answers 401 when the header is missing or the token unknown.
#[derive(Debug, Clone)]
pub(crate) struct Authed {
    pub user: String,
    pub scopes: Vec<Scope>,
    pub token_hash: [u8; 32],
}

impl Authed {
    /// 403 unless the token has `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), AppError> {
        if self.scopes.contains(&scope) {
            return Ok(());
        }
        let have: Vec<&str> = self.scopes.iter().map(|s| s.as_str()).collect();
        Err(AppError::forbidden(format!(
            "this token lacks the `{scope}` scope (it has: {}); create one that has it on your \
             account page (`/account`), or ask the operator for one \
             (`plugboard-registry token create {} --scope {scope}`)",
            if have.is_empty() {
                "none".into()
            } else {
                have.join(", ")
            },
            self.user
        )))
    }
}

impl FromRequestParts<Registry> for Authed {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, registry: &Registry) -> Result<Self, AppError> {
        let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            AppError::unauthorized(
                "this request needs an API token: send `Authorization: Bearer <token>`; create \
                 one on your account page (`/account`) of the registry's web pages",
            )
        })?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| {
                AppError::unauthorized(
                    "the Authorization header is not `Bearer <token>`; send the token as \
                     `Authorization: Bearer pbr_…`",
                )
            })?;
        let hash = token_hash(token);
        let record = registry.token(&hash)?.ok_or_else(|| {
            AppError::unauthorized(
                "this registry does not know the API token (mistyped, revoked, or made for \
                 another registry); create a new one on your account page (`/account`)",
            )
        })?;
        Ok(Authed {
            user: record.user,
            scopes: record.scopes,
            token_hash: hash,
        })
    }
}
