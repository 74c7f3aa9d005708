//! Passwords: the length rule and argon2id hashing. The store hashes when
//! it creates or changes an account; the account pages verify. Nothing here
//! knows about the web.

use crate::error::StoreError;

/// Shortest password accepted at sign-up, in characters.
pub const MIN_PASSWORD: usize = 10;
/// Longest password accepted, in bytes (argon2 hashes any length; this
/// bounds the work a request can ask for).
pub const MAX_PASSWORD: usize = 256;

/// Checks a new password against the length rules.
pub fn check_password(password: &str) -> Result<(), StoreError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(StoreError::Password(format!(
            "use {MIN_PASSWORD} to {MAX_PASSWORD} characters; a few unrelated words make a good one"
        )));
    }
    Ok(())
}

/// A PHC string to verify against when the account does not exist, so that
/// a wrong name takes as long as a wrong password.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2
/// passes) and a random salt.
pub(crate) fn hash_password(password: &str) -> Result<String, String> {
    use argon2::password_hash::PasswordHasher as _;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

pub(crate) fn verify_password(password: &str, phc: &str) -> bool {
    use argon2::password_hash::PasswordVerifier as _;
    use argon2::password_hash::phc::PasswordHash;
    PasswordHash::new(phc).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// `POST /signin`.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse battery!", &hash));
        assert!(!verify_password("anything", "not a phc string"));
    }
}
