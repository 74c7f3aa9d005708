//! `plugboard publish`: pack (when given a directory), sign and upload a
//! plugin.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use plugboard_package::SigningKey;
use plugboard_registry_types::text::{escape, one_line};

use super::registry::{Common, client, token};

/// `plugboard publish`.
#[derive(Args)]
pub struct PublishArgs {
    /// A plugin directory (packed first) or a `.plugboard.tar.gz` package.
    pub path: PathBuf,
    /// The signing key file (`plugboard key generate`).
    #[arg(long, env = "PLUGBOARD_SIGNING_KEY")]
    pub key: PathBuf,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard publish`.
pub fn publish(args: PublishArgs) -> Result<()> {
    let client = client(&args.common)?;
    let bytes = if args.path.is_dir() {
        plugboard_package::pack(&args.path)?.into_bytes()
    } else {
        let bytes = std::fs::read(&args.path)
            .with_context(|| format!("cannot read {}", args.path.display()))?;
        // The registry checks it too; checking here gives the error sooner.
        plugboard_package::unpack(&bytes, &plugboard_package::Limits::default())?;
        bytes
    };
    let key = SigningKey::load(&args.key)?;
    let published = client.publish(&bytes, &key, &token(&client)?)?;
    if args.common.json {
        println!("{}", serde_json::to_string(&published)?);
    } else {
        println!(
            "published {} {} to registry `{}`",
            one_line(&published.name, 64),
            one_line(&published.version.to_string(), 64),
            client.name()
        );
        for warning in &published.warnings {
            println!("warning: {}", escape(warning, false));
        }
    }
    Ok(())
}
