//! A publisher's own account: revoking their tokens and keys, changing
//! their password, and the one-time password reset links the operator
//! issues. Every change is written to the audit log here, so the web pages
//! and the operator's commands log the same way.

use serde::{Deserialize, Serialize};

use super::community::random_token;
use super::{KeyRecord, Registry, TOKEN_ID_BYTES, TokenInfo, decode, encode, get, token_hash};
use crate::error::StoreError;

/// How long a password reset link works: an hour.
pub(crate) const RESET_SECONDS: u64 = 60 * 60;

/// A password reset link, stored under the sha256 of its secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ResetRecord {
    user: String,
    created_at: u64,
}

impl ResetRecord {
    fn live(&self, now: u64) -> bool {
        now < self.created_at.saturating_add(RESET_SECONDS)
    }
}

/// What [`Registry::revoke_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRevoked {
    Revoked,
    /// It was revoked before.
    Already,
    /// The account has no key with that id.
    NotFound,
}

impl Registry {
    /// Revokes `user`'s token whose id (see [`TokenInfo::id`]) is `id`:
    /// `None` when `user` has no such token. Another account's token is
    /// never touched, whatever its id.
    pub(crate) fn revoke_token_of(
        &self,
        user: &str,
        id: &str,
    ) -> Result<Option<TokenInfo>, StoreError> {
        let Some(token) = self.tokens(Some(user))?.into_iter().find(|t| t.id == id) else {
            return Ok(None);
        };
        let prefix = hex::decode(&token.id).unwrap_or_default();
        if prefix.len() != TOKEN_ID_BYTES {
            return Ok(None);
        }
        for item in self.inner.tokens.scan_prefix(&prefix) {
            let (hash, bytes) = item?;
            let record: super::TokenRecord = decode("tokens", &bytes)?;
            if record.user == user {
                self.inner.tokens.remove(hash)?;
            }
        }
        self.inner.tokens.flush()?;
        self.audit(user, "revoke-token", &format!("{user}/{}", token.id), "")?;
        Ok(Some(token))
    }

    /// Revokes `user`'s publisher key `key_id`: publishes signed with it
    /// are refused from now on, and it stays readable so that the versions
    /// it signed still verify.
    pub(crate) fn revoke_key(&self, user: &str, key_id: &str) -> Result<KeyRevoked, StoreError> {
        let Some(mut record) = get::<KeyRecord>(&self.inner.keys, "keys", key_id)? else {
            return Ok(KeyRevoked::NotFound);
        };
        if record.user != user {
            return Ok(KeyRevoked::NotFound);
        }
        if record.revoked_at.is_some() {
            return Ok(KeyRevoked::Already);
        }
        record.revoked_at = Some(self.now());
        self.inner
            .keys
            .insert(key_id.as_bytes(), encode("keys", &record)?)?;
        self.inner.keys.flush()?;
        self.audit(user, "revoke-key", key_id, "")?;
        Ok(KeyRevoked::Revoked)
    }

    /// Sets `user`'s password to the argon2id PHC string `hash` and ends
    /// every session of theirs but `keep` (the cookie value of the browser
    /// that changed it); `false` when there is no such user.
    pub(crate) fn change_password(
        &self,
        user: &str,
        hash: String,
        keep: Option<&str>,
        why: &str,
    ) -> Result<bool, StoreError> {
        if !self.update_user(user, false, |record| record.password = Some(hash))? {
            return Ok(false);
        }
        let kept = keep.map(token_hash);
        let sessions: Vec<sled::IVec> = self
            .inner
            .sessions
            .iter()
            .filter_map(|item| match item {
                Ok((key, bytes)) => {
                    let mine = decode::<super::community::SessionRecord>("sessions", &bytes)
                        .is_ok_and(|s| s.user == user);
                    let keep = kept.is_some_and(|k| k[..] == key[..]);
                    (mine && !keep).then_some(Ok(key))
                }
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<_, _>>()?;
        for key in sessions {
            self.inner.sessions.remove(key)?;
        }
        self.inner.sessions.flush()?;
        self.audit(user, "change-password", user, why)?;
        Ok(true)
    }

    /// A new one-time password reset secret for `user`, valid for
    /// [`RESET_SECONDS`]: `None` when there is no such user. Only its
    /// sha256 is stored.
    pub(crate) fn create_reset(&self, user: &str, by: &str) -> Result<Option<String>, StoreError> {
        if !self.user_exists(user)? {
            return Ok(None);
        }
        let secret = random_token()?;
        let record = ResetRecord {
            user: user.to_owned(),
            created_at: self.now(),
        };
        self.inner
            .password_resets
            .insert(token_hash(&secret), encode("password_resets", &record)?)?;
        self.inner.password_resets.flush()?;
        self.audit(by, "issue-reset-link", user, "")?;
        Ok(Some(secret))
    }

    /// The user a live reset secret is for.
    pub(crate) fn reset_user(&self, secret: &str) -> Result<Option<String>, StoreError> {
        let record: Option<ResetRecord> = get(
            &self.inner.password_resets,
            "password_resets",
            token_hash(secret),
        )?;
        Ok(record.filter(|r| r.live(self.now())).map(|r| r.user))
    }

    /// Uses a reset secret once: sets its user's password to `hash` and
    /// ends all their sessions; the user, or `None` when the secret is
    /// unknown, used or expired. Removing the record is what uses it, so
    /// two requests with one link cannot both succeed.
    pub(crate) fn use_reset(
        &self,
        secret: &str,
        hash: String,
    ) -> Result<Option<String>, StoreError> {
        let Some(bytes) = self.inner.password_resets.remove(token_hash(secret))? else {
            return Ok(None);
        };
        self.inner.password_resets.flush()?;
        let record: ResetRecord = decode("password_resets", &bytes)?;
        if !record.live(self.now()) {
            return Ok(None);
        }
        let changed = self.change_password(&record.user, hash, None, "reset link")?;
        Ok(changed.then_some(record.user))
    }
}

impl Registry {
    /// The sha256 of every API token of `user`: what a key's proof of
    /// possession pasted on the web may be made for.
    pub(crate) fn token_hashes_of(&self, user: &str) -> Result<Vec<[u8; 32]>, StoreError> {
        let mut hashes = Vec::new();
        for item in self.inner.tokens.iter() {
            let (hash, bytes) = item?;
            let record: super::TokenRecord = decode("tokens", &bytes)?;
            if record.user == user
                && let Ok(hash) = <[u8; 32]>::try_from(hash.as_ref())
            {
                hashes.push(hash);
            }
        }
        Ok(hashes)
    }
}
