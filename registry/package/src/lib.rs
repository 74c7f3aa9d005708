//! # plugboard-package
//!
//! The plugin package format: how a plugin travels from its author's
//! machine, through the registry, to a bot.
//!
//! ## The format
//!
//! A package is a gzip-compressed tar archive, saved as
//! `<name>-<version>.plugboard.tar.gz` ([`PACKAGE_EXTENSION`]), holding
//! exactly these regular files at the top level:
//!
//! | file | required | what | default cap |
//! | --- | --- | --- | --- |
//! | `plugin.toml` | yes | the [`Manifest`] | 64 KiB |
//! | `plugin.wasm` | yes | the component (`wasm32-wasip2`) | 32 MiB |
//! | `README.md` | yes | what the plugin does, UTF-8 Markdown | 1 MiB |
//! | `icon.png` or `icon.svg` | no, at most one | the marketplace icon | 1 MiB |
//!
//! together at most 40 MiB uncompressed and 16 MiB compressed ([`Limits`]).
//! The manifest must agree with the component: the component must export
//! `plugboard:plugin/handler@X.Y.Z` for a contract version the manifest's
//! `wit` describes, and the interfaces it exports to and imports from other
//! plugins must be the ones the manifest's `provides` and `imports` name
//! (see [`check_component`] and the [`component`] module).
//! Dependencies are declared in the manifest as
//! `[dependencies] economy = "^1.2"`, cargo's requirement syntax.
//!
//! ## How data enters and leaves
//!
//! * **Packing** ([`pack`], or [`Contents::read_dir`] then
//!   [`Contents::pack`]) reads a plugin directory, checks everything, and
//!   builds the archive *reproducibly*: entries sorted by name, mode 0644,
//!   owner 0, modification time 0, a gzip header without time or name. The
//!   same files give the same bytes, so anyone can rebuild a package and
//!   compare checksums.
//! * **Identity and signing** ([`Checksum`], [`SigningKey`], [`PublicKey`],
//!   [`Signature`]): a package is named by the SHA-256 of its bytes, and its
//!   publisher signs `plugboard-package-v1:` followed by that digest with
//!   ed25519. The registry's index carries checksum, signature and key id for
//!   every version. The formats are in the [`signing`] module.
//! * **Unpacking** ([`unpack_verified`], or [`unpack`] for bytes already
//!   trusted) checks size, checksum and signature before it looks inside, then
//!   reads the archive into memory ([`Contents`]) refusing absolute paths,
//!   `..`, links, devices, directories, duplicates, unexpected names and
//!   anything over its cap, counting bytes as they inflate. Nothing touches
//!   the disk until the installer calls [`Contents::write_to`] on a staging
//!   directory.
//!
//! Every failure is a [`PackageError`] whose message names the file or entry
//! and what to do.
//!
//! ## Example
//!
//! ```
//! use std::path::Path;
//! use plugboard_package::{Limits, PackageError, SigningKey, pack, unpack_verified};
//!
//! fn publish_then_install(plugin_dir: &Path, staging: &Path) -> Result<(), PackageError> {
//!     // The author: `plugboard plugin package <dir>`, then publish.
//!     let package = pack(plugin_dir)?;
//!     let key = SigningKey::generate()?;
//!     let signature = key.sign(package.checksum());
//!     println!(
//!         "{}: sha256 {} signed by key {}",
//!         package.file_name(),
//!         package.checksum(),
//!         key.public_key().key_id()
//!     );
//!
//!     // A bot owner's client, with checksum, signature and key from the index.
//!     let contents = unpack_verified(
//!         package.bytes(),
//!         package.checksum(),
//!         &key.public_key(),
//!         &signature,
//!         &Limits::default(),
//!     )?;
//!     assert_eq!(contents.manifest().name, package.manifest().name);
//!     contents.write_to(staging)
//! }
//! ```
//!
//! [`Manifest`]: plugboard_registry_types::Manifest
#![deny(missing_docs)]

mod archive;
pub mod component;
mod contents;
mod error;
pub mod signing;

pub use archive::{Limits, PACKAGE_EXTENSION, Package, pack, unpack, unpack_verified};
pub use component::{check_component, component_contract};
pub use contents::{COMPONENT_FILE, Contents, Icon, IconKind, MANIFEST_FILE, README_FILE};
pub use error::PackageError;
pub use signing::{
    Checksum, KEY_PROOF_CONTEXT, PublicKey, Signature, SigningKey, key_proof_message, sha256_hex,
};
