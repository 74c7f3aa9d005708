//! `plugboard login`: save a registry API token (read from stdin).

use std::io::{BufRead, IsTerminal};

use anyhow::{Result, bail};

use super::registry::{Common, client, credentials_path, write_private};

/// `plugboard login`: reads a token from stdin and saves it (mode 0600).
pub fn login(common: Common) -> Result<()> {
    let client = client(&common)?;
    if std::io::stdin().is_terminal() {
        eprint!(
            "API token for {} (from `plugboard-registry token create`): ",
            client.url()
        );
    }
    let mut token = String::new();
    std::io::stdin().lock().read_line(&mut token)?;
    let token = token.trim();
    if token.is_empty() {
        bail!("no token given; nothing was saved");
    }
    let path = credentials_path()?;
    let mut saved: toml::Table = std::fs::read_to_string(&path)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_default();
    saved.insert(client.url().to_string(), token.into());
    write_private(&path, toml::to_string(&saved)?.as_bytes())?;
    println!("saved the token for {} in {}", client.url(), path.display());
    Ok(())
}
