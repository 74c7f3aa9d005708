//! `plugboard plugin …`: commands for plugin authors (`plugin new`,
//! `plugin package`).

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;

/// `plugboard plugin …`: commands for plugin authors.
#[derive(Subcommand)]
pub enum PluginCommand {
    /// Start a plugin project of its own: Cargo.toml, plugin.toml, a first
    /// command, a README; with `--provides`, an interface other plugins
    /// call.
    New {
        /// The plugin's name (`a-z0-9-`, starting with a letter).
        name: String,
        /// Also provide a WIT interface of its own to other plugins.
        #[arg(long)]
        provides: bool,
        /// The folder to create the project in (the current one when
        /// absent).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The SDK's folder, for a path dependency (found beside this
        /// plugboard's sources when absent; else taken from crates.io).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
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
        PluginCommand::New {
            name,
            provides,
            dir,
            sdk,
        } => {
            let parent = dir.unwrap_or_else(|| PathBuf::from("."));
            let project = super::scaffold::new_plugin(&name, &parent, provides, sdk)?;
            println!(
                "Created {}. Next:\n  cd {}\n  cargo build --release\n  cp target/wasm32-wasip2/release/{}.wasm plugin.wasm",
                project.display(),
                project.display(),
                name.replace('-', "_")
            );
            Ok(())
        }
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
