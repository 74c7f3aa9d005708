//! Tokens the owner gives other programs (a CI job, a monitoring system)
//! to send a message through the bot: each names the chats it may send
//! to, and nothing else. Kept in the store as digests: the token itself
//! is shown once, when it is made.
//!
//! What it must not touch: HTTP (the console serves `/api/v1/send`), and
//! delivering (the dispatcher does).

use plugboard_store::{RuntimeMeta, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where the tokens are kept in the store's runtime records.
const KEY: &str = "api-tokens";
/// What every token starts with, so that a leaked one is recognisable.
pub const PREFIX: &str = "pbt_";
/// Most tokens kept.
pub const MAX_TOKENS: usize = 100;
/// Most chats one token may name.
pub const MAX_CHATS: usize = 50;

/// A token, as the owner sees it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    /// Its id, to revoke it by.
    pub id: String,
    /// What it is for, in the owner's words.
    pub name: String,
    /// The chats it may send to, as `platform:id`.
    pub chats: Vec<String>,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// The sha256 of the token, hex.
    #[serde(default)]
    digest: String,
}

impl ApiToken {
    /// Whether it may send to `chat` (`platform:id`).
    pub fn allows(&self, chat: &str) -> bool {
        self.chats.iter().any(|c| c == chat)
    }
}

/// Why a token could not be made or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What the owner asked for is not a token.
    #[error("{0}")]
    Invalid(String),
    /// The stored tokens do not parse.
    #[error("the stored API tokens are damaged: {0}")]
    Damaged(String),
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn load(store: &dyn RuntimeMeta) -> Result<Vec<ApiToken>, TokenError> {
    match store.meta_get(KEY)? {
        None => Ok(Vec::new()),
        Some(bytes) => {
            serde_json::from_slice(&bytes).map_err(|e| TokenError::Damaged(e.to_string()))
        }
    }
}

fn save(store: &dyn RuntimeMeta, tokens: &[ApiToken]) -> Result<(), TokenError> {
    let bytes = serde_json::to_vec(tokens).map_err(|e| TokenError::Damaged(e.to_string()))?;
    store.meta_set(KEY, &bytes)?;
    store.flush()?;
    Ok(())
}

/// The tokens, oldest first.
pub fn list(store: &dyn RuntimeMeta) -> Result<Vec<ApiToken>, TokenError> {
    load(store)
}

/// Makes a token named `name` that may send to `chats`, checked by
/// `check_chat` (the rule the owner's other chat names follow). Returns
/// it and the token itself, shown only now.
pub fn create(
    store: &dyn RuntimeMeta,
    name: &str,
    chats: &[String],
    check_chat: impl Fn(&str) -> Result<(), String>,
    now_ms: u64,
) -> Result<(ApiToken, String), TokenError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 80 || name.chars().any(char::is_control) {
        return Err(TokenError::Invalid(
            "name the token in one line of at most 80 characters (what uses it: \"ci\", \"grafana\")".into(),
        ));
    }
    if chats.is_empty() || chats.len() > MAX_CHATS {
        return Err(TokenError::Invalid(format!(
            "name 1 to {MAX_CHATS} chats it may send to, as platform:id (telegram:-1001234567890)"
        )));
    }
    for chat in chats {
        check_chat(chat).map_err(TokenError::Invalid)?;
    }
    let mut tokens = load(store)?;
    if tokens.len() >= MAX_TOKENS {
        return Err(TokenError::Invalid(format!(
            "there are {MAX_TOKENS} tokens already; revoke one first"
        )));
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|e| TokenError::Invalid(format!("no randomness for a token: {e}")))?;
    let secret = format!("{PREFIX}{}", hex::encode(random));
    let token = ApiToken {
        id: hex::encode(&random[..4]),
        name: name.to_owned(),
        chats: chats.to_vec(),
        created_ms: now_ms,
        digest: digest(&secret),
    };
    tokens.push(token.clone());
    save(store, &tokens)?;
    Ok((token, secret))
}

/// Revokes token `id`; whether there was one.
pub fn revoke(store: &dyn RuntimeMeta, id: &str) -> Result<Option<ApiToken>, TokenError> {
    let mut tokens = load(store)?;
    let Some(at) = tokens.iter().position(|t| t.id == id) else {
        return Ok(None);
    };
    let gone = tokens.remove(at);
    save(store, &tokens)?;
    Ok(Some(gone))
}

/// The token `presented` is, if it is one.
pub fn find(store: &dyn RuntimeMeta, presented: &str) -> Result<Option<ApiToken>, TokenError> {
    if !presented.starts_with(PREFIX) {
        return Ok(None);
    }
    // Digests compared, not tokens: how long a comparison takes says
    // nothing about the token.
    let presented = digest(presented);
    Ok(load(store)?.into_iter().find(|t| t.digest == presented))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_shown_once_kept_as_a_digest_found_by_itself_only_and_revoked() {
        let store = plugboard_store::MemoryStore::default();
        let ok = |_: &str| Ok(());
        let (made, secret) = create(&store, "ci", &["telegram:-100".into()], ok, 1).expect("made");
        assert!(secret.starts_with(PREFIX) && secret.len() == PREFIX.len() + 64);
        let kept = store.meta_get(KEY).expect("read").expect("kept");
        assert!(!String::from_utf8_lossy(&kept).contains(&secret[PREFIX.len()..]));
        assert_eq!(find(&store, &secret).expect("read"), Some(made.clone()));
        assert_eq!(find(&store, "pbt_0000").expect("read"), None);
        assert!(made.allows("telegram:-100") && !made.allows("telegram:-101"));
        let refused = create(&store, "x", &[], ok, 1).expect_err("no chats");
        assert!(
            refused.to_string().contains("name 1 to 50 chats"),
            "{refused}"
        );
        assert_eq!(revoke(&store, &made.id).expect("revoked"), Some(made));
        assert_eq!(find(&store, &secret).expect("read"), None);
    }
}
