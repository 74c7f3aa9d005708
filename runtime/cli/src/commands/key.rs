//! `plugboard key generate` and `key register`: the signing key a
//! publisher signs packages with.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use plugboard_package::SigningKey;

use plugboard_registry_types::text::one_line;

use super::registry::{Common, client, token};

/// `plugboard key …`.
#[derive(Subcommand)]
pub enum KeyCommand {
    /// Make a new ed25519 signing key and save it (mode 0600).
    Generate {
        /// Where to save it.
        file: PathBuf,
    },
    /// Register the key's public half on your registry account.
    Register {
        /// The signing key file.
        #[arg(long, env = "PLUGBOARD_SIGNING_KEY")]
        key: PathBuf,
        /// Send nothing: print what registering sends (the public key and
        /// the proof made for your token), to paste on the registry's
        /// account page.
        #[arg(long)]
        print_proof: bool,
        #[command(flatten)]
        common: Common,
    },
}

/// `plugboard key …`.
pub fn key(command: KeyCommand) -> Result<()> {
    match command {
        KeyCommand::Generate { file } => {
            let key = SigningKey::generate()?;
            key.save(&file)?;
            println!(
                "saved a new signing key in {} (key id {}). Keep it secret; register it with \
                 `plugboard key register --key {}`",
                file.display(),
                key.public_key().key_id(),
                file.display()
            );
            Ok(())
        }
        KeyCommand::Register {
            key,
            print_proof,
            common,
        } => {
            let client = client(&common)?;
            let signing = SigningKey::load(&key)?;
            if print_proof {
                let proof = plugboard_packages::key_proof(&signing, &token(&client)?);
                println!("{}", serde_json::to_string(&proof)?);
                return Ok(());
            }
            let registered = client.register_key(&signing, &token(&client)?)?;
            if common.json {
                println!("{}", serde_json::to_string(&registered)?);
            } else {
                println!(
                    "registered key {} on registry `{}`",
                    one_line(&registered.key_id, 64),
                    client.name()
                );
            }
            Ok(())
        }
    }
}
