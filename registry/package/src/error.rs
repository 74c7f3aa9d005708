//! [`PackageError`]: everything that can go wrong packing, unpacking,
//! checking or signing a package.

use std::io;
use std::path::PathBuf;

use plugboard_registry_types::ManifestError;
use plugboard_registry_types::interfaces::InterfaceMismatch;
use semver::Version;

/// Why a package could not be built, unpacked, checked or verified.
///
/// Every message names the file, entry or value at fault and says what to do
/// about it, so that the CLI and the registry can show it as it is. Messages
/// carry their cause's text themselves (no [`std::error::Error::source`]
/// chain), so printing an error once shows everything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// Reading or writing a file on disk failed.
    #[error("could not {action} `{}`: {error}", path.display())]
    Io {
        /// What was being done, e.g. `read` or `create`.
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },

    /// A file that every package needs is missing from the plugin directory.
    #[error(
        "`{}` has no `{file}`: a plugin directory needs plugin.toml, plugin.wasm and README.md \
         (icon.png or icon.svg is optional){}",
        dir.display(),
        missing_hint(file)
    )]
    MissingFile {
        /// The directory being packed.
        dir: PathBuf,
        /// The missing file's name.
        file: &'static str,
    },

    /// A package or plugin directory holds both `icon.png` and `icon.svg`.
    #[error("{place} holds both icon.png and icon.svg; keep only one of them")]
    TwoIcons {
        /// Where: the plugin directory or "the package".
        place: String,
    },

    /// `plugin.toml` is not a valid manifest.
    #[error("invalid plugin.toml: {error}")]
    Manifest {
        /// What the manifest rules refused.
        error: ManifestError,
    },

    /// A text file (`plugin.toml`, `README.md`, `icon.svg`) is not UTF-8.
    #[error("`{file}` is not valid UTF-8 text; save it as UTF-8")]
    NotUtf8 {
        /// The file's name.
        file: &'static str,
    },

    /// `icon.png` does not start with the PNG signature.
    #[error(
        "`icon.png` is not a PNG image (it lacks the PNG signature); convert it to PNG or remove it"
    )]
    NotPng,

    /// `plugin.wasm` is a core WebAssembly module rather than a component.
    #[error(
        "plugin.wasm is a core WebAssembly module, not a component: build the plugin with \
         `cargo build --target wasm32-wasip2` (wasm32-wasip1 and wasm32-unknown-unknown produce core modules)"
    )]
    NotAComponent,

    /// `plugin.wasm` is not WebAssembly at all, or fails validation.
    #[error(
        "plugin.wasm is not a valid WebAssembly component ({problem}); rebuild it with \
         `cargo build --target wasm32-wasip2`"
    )]
    InvalidWasm {
        /// What the validator refused.
        problem: String,
    },

    /// The component does not export the `plugboard:plugin/handler` interface.
    #[error(
        "plugin.wasm does not export `plugboard:plugin/handler`, so it is not a Plugboard plugin: \
         build it with plugboard-sdk and `plugboard_sdk::export_plugin!`"
    )]
    NotAPlugin,

    /// The component was built against a contract version that the
    /// manifest's `wit` does not describe.
    #[error(
        "plugin.toml says wit = \"{}.{}\" but plugin.wasm was built against plugboard:plugin@{component}: \
         set wit = \"{}.{}\" in plugin.toml, or rebuild the plugin with a plugboard-sdk for {}.{}",
        manifest.major, manifest.minor, component.major, component.minor, manifest.major, manifest.minor
    )]
    WitMismatch {
        /// The manifest's `wit`.
        manifest: Version,
        /// The version in the component's `plugboard:plugin/handler@…` export.
        component: Version,
    },

    /// The component's own interfaces disagree with the manifest's
    /// `provides` or `imports` (see
    /// [`check_component_interfaces`](plugboard_registry_types::interfaces::check_component_interfaces)).
    #[error("plugin.wasm does not match plugin.toml: {error}")]
    Interfaces {
        /// Which interface disagrees, and how to fix it.
        error: InterfaceMismatch,
    },

    /// The compressed package is larger than [`Limits::package`](crate::Limits::package).
    #[error(
        "the package is {}, over the {} limit for a compressed package; {}",
        human(*size), human(*limit), shrink_hint(*packing)
    )]
    PackageTooLarge {
        /// The package's size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
        /// Whether this was found while packing (rather than unpacking).
        packing: bool,
    },

    /// The bytes are not a readable `.tar.gz`.
    #[error(
        "the package is not a valid .tar.gz ({problem}); download it again, or rebuild it with \
         `plugboard plugin package`"
    )]
    Corrupt {
        /// What the gzip or tar reader refused.
        problem: String,
    },

    /// An entry's path is absolute.
    #[error(
        "`{entry}` in the package is an absolute path: entry paths must be plain file names; \
         refusing to unpack"
    )]
    AbsolutePath {
        /// The entry's path as written in the archive.
        entry: String,
    },

    /// An entry's path has a `..` component.
    #[error(
        "`{entry}` in the package climbs out with `..`: entry paths must be plain file names; \
         refusing to unpack"
    )]
    ParentDir {
        /// The entry's path as written in the archive.
        entry: String,
    },

    /// An entry is a symbolic or hard link.
    #[error(
        "`{entry}` in the package is a {kind} to `{target}`: packages hold regular files only; \
         refusing to unpack"
    )]
    Link {
        /// The entry's path.
        entry: String,
        /// `symbolic link` or `hard link`.
        kind: &'static str,
        /// Where the link points.
        target: String,
    },

    /// An entry is a directory, device, fifo or other non-regular file.
    #[error(
        "`{entry}` in the package is a {kind}: packages hold regular files only; refusing to unpack"
    )]
    NotAFile {
        /// The entry's path.
        entry: String,
        /// What it is instead, e.g. `directory` or `character device`.
        kind: String,
    },

    /// An entry's name is not one a package may hold.
    #[error(
        "`{entry}` in the package is not a file a package may hold (only plugin.toml, plugin.wasm, \
         README.md, icon.png and icon.svg, at the top level); refusing to unpack"
    )]
    UnexpectedEntry {
        /// The entry's path.
        entry: String,
    },

    /// Two entries have the same name.
    #[error("`{entry}` appears twice in the package; refusing to unpack an ambiguous package")]
    DuplicateEntry {
        /// The repeated name.
        entry: String,
    },

    /// A file is larger than its limit in [`Limits`](crate::Limits).
    #[error(
        "`{entry}` is {}, over the {} limit for it; {}",
        human(*size), human(*limit), shrink_hint(*packing)
    )]
    EntryTooLarge {
        /// The file's name.
        entry: String,
        /// Its size in bytes (as declared, or as counted while reading).
        size: u64,
        /// The limit in bytes.
        limit: u64,
        /// Whether this was found while packing (rather than unpacking).
        packing: bool,
    },

    /// The files together are larger than [`Limits::total`](crate::Limits::total).
    #[error(
        "the package's files add up to more than {} (reached at {entry}); {}",
        human(*limit), if *packing { "make them smaller before packing" } else {
            "refusing to unpack what may be a compression bomb"
        }
    )]
    TotalTooLarge {
        /// Where the limit was crossed: an entry's name in backquotes, or a
        /// description such as "the tar headers".
        entry: String,
        /// The limit in bytes.
        limit: u64,
        /// Whether this was found while packing (rather than unpacking).
        packing: bool,
    },

    /// The package lacks a file every package needs.
    #[error(
        "the package has no `{entry}`: every package holds plugin.toml, plugin.wasm and README.md; \
         rebuild it with `plugboard plugin package`"
    )]
    MissingEntry {
        /// The missing file's name.
        entry: &'static str,
    },

    /// The package's sha256 is not the one expected (from the index or a lockfile).
    #[error(
        "the package's sha256 is {actual} but {expected} was expected: the download is corrupt \
         or was tampered with; refusing to unpack"
    )]
    ChecksumMismatch {
        /// The sha256 the index or lockfile promised, in hex.
        expected: String,
        /// The sha256 of the bytes at hand, in hex.
        actual: String,
    },

    /// The signature does not verify under the given public key.
    #[error(
        "the signature over sha256 {checksum} does not verify with publisher key {key_id}: the package \
         was altered or signed with another key; refusing to unpack"
    )]
    BadSignature {
        /// The signed sha256, in hex.
        checksum: String,
        /// The [key id](crate::PublicKey::key_id) of the key tried.
        key_id: String,
    },

    /// A key-possession proof does not verify.
    #[error(
        "the proof of possession for publisher key {key_id} does not verify: it must be the key's \
         signature made for this very API token (`plugboard key register` makes it)"
    )]
    BadKeyProof {
        /// The [key id](crate::PublicKey::key_id) of the key.
        key_id: String,
    },

    /// A checksum, public key, signature or key file could not be parsed.
    #[error("invalid {what}: {problem}")]
    InvalidText {
        /// What was being parsed, e.g. `public key`.
        what: &'static str,
        /// What is wrong with it and what was expected.
        problem: String,
    },

    /// [`SigningKey::save`](crate::SigningKey::save) found a file in the way.
    #[error(
        "`{}` already exists; refusing to overwrite a signing key: move it away or save to another path",
        path.display()
    )]
    KeyFileExists {
        /// The existing file.
        path: PathBuf,
    },

    /// The operating system could not supply randomness for a new key.
    #[error("could not get randomness from the operating system to generate a key: {problem}")]
    Randomness {
        /// The operating system's error.
        problem: String,
    },
}

impl PackageError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, error: io::Error) -> Self {
        Self::Io {
            action,
            path: path.into(),
            error,
        }
    }
}

fn missing_hint(file: &str) -> &'static str {
    match file {
        "plugin.wasm" => {
            "; build the component with `cargo build --target wasm32-wasip2 --release` and copy it there"
        }
        "README.md" => "; write a README.md that tells bot owners what the plugin does",
        _ => "",
    }
}

fn shrink_hint(packing: bool) -> &'static str {
    if packing {
        "make it smaller before packing"
    } else {
        "refusing to unpack"
    }
}

/// Renders a byte count for people: `512 bytes`, `64 KiB`, `1.5 MiB`.
pub(crate) fn human(bytes: u64) -> String {
    const KIB: u64 = 1 << 10;
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    let (unit, name) = match bytes {
        b if b >= GIB => (GIB, "GiB"),
        b if b >= MIB => (MIB, "MiB"),
        b if b >= KIB => (KIB, "KiB"),
        _ => return format!("{bytes} bytes"),
    };
    if bytes.is_multiple_of(unit) {
        format!("{} {name}", bytes / unit)
    } else {
        // One decimal is plenty for an error message.
        format!("{:.1} {name}", bytes as f64 / unit as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human(0), "0 bytes");
        assert_eq!(human(1023), "1023 bytes");
        assert_eq!(human(64 << 10), "64 KiB");
        assert_eq!(human(3 << 19), "1.5 MiB");
        assert_eq!(human(32 << 20), "32 MiB");
        assert_eq!(human(5 << 30), "5 GiB");
    }
}
