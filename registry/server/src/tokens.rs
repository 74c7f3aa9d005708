//! API token scopes and the token format. A token is `pbr_` followed by 64
//! hex digits (32 random bytes from the operating system); the store keeps
//! only its sha256. The web side (the `Authed` extractor) lives in
//! [`crate::auth`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What every token starts with, so that secret scanners can spot leaked ones.
pub const TOKEN_PREFIX: &str = "pbr_";

/// What a token may do. Reading (index, downloads, search) needs no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Scope {
    /// Publish new plugins and versions, and register publisher keys.
    Publish,
    /// Yank and unyank versions.
    Yank,
    /// Add and remove a plugin's owners.
    Owners,
}

impl Scope {
    /// Every scope.
    pub const ALL: &'static [Scope] = &[Scope::Publish, Scope::Yank, Scope::Owners];

    /// The scope's name, as `--scope` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Publish => "publish",
            Scope::Yank => "yank",
            Scope::Owners => "owners",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Scope::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("unknown scope `{text}`; the scopes are publish, yank, owners"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_by_name() {
        assert_eq!("yank".parse::<Scope>(), Ok(Scope::Yank));
        assert!("root".parse::<Scope>().is_err());
    }
}
