//! API tokens are shown once and stored only as hashes.

use anyhow::Result;
use plugboard_registry::{Config, Registry, Scope};

/// Every byte of every file under `dir`.
fn all_bytes(dir: &std::path::Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            bytes.extend(all_bytes(&path)?);
        } else {
            bytes.extend(std::fs::read(&path)?);
        }
    }
    Ok(bytes)
}

/// Opens the store in `dir` again. sled lets go of its directory lock when
/// the last of its background I/O threads drops its handle, which on a busy
/// machine can come a moment after the `Registry` was dropped: retry for a
/// few seconds (a "did not hang" limit, not a speed claim).
async fn reopen(dir: &std::path::Path) -> Result<Registry> {
    let mut tries = 0;
    loop {
        match Registry::open(dir, Config::default()) {
            Ok(registry) => return Ok(registry),
            Err(error) if tries < 100 && error.to_string().contains("could not acquire lock") => {
                tries += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn tokens_are_not_stored_in_plaintext() -> Result<()> {
    let data = tempfile::tempdir()?;
    let token = {
        let registry = Registry::open(data.path(), Config::default())?;
        let token = registry.create_token("ann", Scope::ALL)?;
        assert!(registry.user_exists("ann")?);
        token
        // Dropping the registry closes the store and flushes it to disk.
    };
    let secret = token.trim_start_matches("pbr_");
    assert_eq!(secret.len(), 64, "{token}");
    let stored = all_bytes(data.path())?;
    assert!(!stored.is_empty(), "the store wrote nothing");
    assert!(
        !contains(&stored, token.as_bytes()),
        "the token is stored as is"
    );
    assert!(
        !contains(&stored, secret.as_bytes()),
        "the token's hex is stored"
    );
    let raw = hex::decode(secret)?;
    assert!(!contains(&stored, &raw), "the token's bytes are stored");

    // The store still knows the token: it authenticates after a reopen.
    let registry = reopen(data.path()).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/v1/keys", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, plugboard_registry::app(registry)).await });
    let client = reqwest::Client::builder().no_proxy().build()?;
    let ok = client.get(&url).bearer_auth(&token).send().await?;
    assert_eq!(ok.status(), 200);
    let wrong = client
        .get(&url)
        .bearer_auth(format!("pbr_{}", "0".repeat(64)))
        .send()
        .await?;
    assert_eq!(wrong.status(), 401);
    Ok(())
}
