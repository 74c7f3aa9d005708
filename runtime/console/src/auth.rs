//! The owner's admin token: read from the environment, kept only as its
//! SHA-256 digest, and compared digest to digest (the time a comparison
//! takes says nothing useful about the token).

use sha2::{Digest, Sha256};

/// Shortest token accepted: 24 characters (`openssl rand -hex 16` gives 32).
pub const MIN_TOKEN_LEN: usize = 24;

/// Why the admin token cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The variable is not set.
    #[error(
        "the admin listener needs a token in the environment variable {var}; set one, e.g. `export {var}=$(openssl rand -hex 32)`"
    )]
    Missing {
        /// The variable.
        var: String,
    },
    /// The token is too short to resist guessing.
    #[error(
        "the admin token in {var} has {len} characters; use at least {MIN_TOKEN_LEN}, e.g. `export {var}=$(openssl rand -hex 32)`"
    )]
    Short {
        /// The variable.
        var: String,
        /// Its length.
        len: usize,
    },
}

/// The admin token, as its digest, and the variable it came from.
#[derive(Clone)]
pub struct AdminToken {
    digest: [u8; 32],
    var: std::sync::Arc<str>,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

impl AdminToken {
    /// The token in the environment variable `var`.
    pub fn from_env(var: &str) -> Result<Self, TokenError> {
        let token = std::env::var(var).map_err(|_| TokenError::Missing { var: var.into() })?;
        Self::new(var, token.trim())
    }

    /// `token`, read from `var` (named in errors).
    pub fn new(var: &str, token: &str) -> Result<Self, TokenError> {
        let len = token.chars().count();
        if len < MIN_TOKEN_LEN {
            return Err(TokenError::Short {
                var: var.into(),
                len,
            });
        }
        Ok(Self {
            digest: digest(token),
            var: var.into(),
        })
    }

    /// The environment variable the token came from.
    pub fn var(&self) -> &std::sync::Arc<str> {
        &self.var
    }

    /// Whether `presented` is the token.
    pub fn matches(&self, presented: &str) -> bool {
        digest(presented) == self.digest
    }

    /// Whether an `Authorization` header's value carries the token.
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        let Some(presented) = authorization.and_then(|h| h.strip_prefix("Bearer ")) else {
            return false;
        };
        self.matches(presented.trim())
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bearer_token_itself_is_admitted_and_short_tokens_are_refused() {
        let token = "0123456789abcdef01234567";
        let admin = AdminToken::new("T", token).expect("long enough");
        assert!(admin.admits(Some(&format!("Bearer {token}"))));
        assert!(!admin.admits(Some(token)));
        assert!(!admin.admits(Some(&format!("Bearer {token}x"))));
        assert!(!admin.admits(Some("Bearer ")));
        assert!(!admin.admits(None));
        assert_eq!(
            AdminToken::new("T", "short").map(|_| ()),
            Err(TokenError::Short {
                var: "T".into(),
                len: 5
            })
        );
    }
}
