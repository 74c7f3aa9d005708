//! `plugboard plugin …`: commands for plugin authors (`plugin package`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

/// `plugboard plugin …`: commands for plugin authors.
#[derive(Subcommand)]
pub enum PluginCommand {
    /// Build the package of a plugin directory (plugin.toml, plugin.wasm,
    /// README.md, optional icon), reproducibly.
    Package {
        /// The plugin directory.
        dir: PathBuf,
        /// Where to write the package; the plugin directory when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `plugboard plugin …`.
pub fn plugin(command: PluginCommand) -> Result<()> {
    match command {
        PluginCommand::Package { dir, out } => {
            let package = plugboard_package::pack(&dir)?;
            let out = out.unwrap_or_else(|| dir.clone());
            let path = package.write_to_dir(&out)?;
            println!(
                "{} ({} bytes, sha256 {})",
                path.display(),
                package.bytes().len(),
                package.checksum()
            );
            Ok(())
        }
    }
}
