//! [`Contents`]: the files of a package, checked and held in memory.

use std::fmt;
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use plugboard_registry_types::Manifest;
use semver::Version;

use crate::{Limits, PackageError, check_component};

/// The manifest's file name in a package and in a plugin directory.
pub const MANIFEST_FILE: &str = "plugin.toml";
/// The component's file name.
pub const COMPONENT_FILE: &str = "plugin.wasm";
/// The README's file name.
pub const README_FILE: &str = "README.md";

/// The format of a plugin's optional icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IconKind {
    /// `icon.png`, a PNG image.
    Png,
    /// `icon.svg`, an SVG image. A web page showing it should do so through
    /// `<img>` (or with a restrictive `Content-Security-Policy`), since SVG
    /// may carry scripts.
    Svg,
}

impl IconKind {
    /// Every icon format.
    pub const ALL: &'static [IconKind] = &[IconKind::Png, IconKind::Svg];

    /// The file name the icon has in a package: `icon.png` or `icon.svg`.
    pub fn file_name(self) -> &'static str {
        match self {
            IconKind::Png => "icon.png",
            IconKind::Svg => "icon.svg",
        }
    }

    /// The media type to serve it with.
    pub fn media_type(self) -> &'static str {
        match self {
            IconKind::Png => "image/png",
            IconKind::Svg => "image/svg+xml",
        }
    }
}

/// A plugin's icon: `icon.png` or `icon.svg`.
#[derive(Clone, PartialEq, Eq)]
pub struct Icon {
    kind: IconKind,
    bytes: Vec<u8>,
}

impl Icon {
    /// The PNG signature every PNG file starts with.
    const PNG_SIGNATURE: &'static [u8] = b"\x89PNG\r\n\x1a\n";

    /// An icon, after a sanity check of its format: a PNG must start with
    /// the PNG signature, an SVG must be UTF-8 text.
    pub fn new(kind: IconKind, bytes: Vec<u8>) -> Result<Self, PackageError> {
        match kind {
            IconKind::Png if !bytes.starts_with(Self::PNG_SIGNATURE) => {
                return Err(PackageError::NotPng);
            }
            IconKind::Svg if std::str::from_utf8(&bytes).is_err() => {
                return Err(PackageError::NotUtf8 { file: "icon.svg" });
            }
            _ => {}
        }
        Ok(Self { kind, bytes })
    }

    /// The icon's format.
    pub fn kind(&self) -> IconKind {
        self.kind
    }

    /// The image file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for Icon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Icon")
            .field("kind", &self.kind)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// The files of a package, in memory and checked: the manifest is valid,
/// the component agrees with it (see [`check_component`]), the README is
/// UTF-8 and the icon, if any, looks like its format.
///
/// [`pack`](crate::pack) builds one from a plugin directory and packs it;
/// [`unpack`](crate::unpack) returns one; [`Contents::write_to`] writes one
/// out for the runtime to load.
#[derive(Clone, PartialEq, Eq)]
pub struct Contents {
    manifest: Manifest,
    manifest_toml: String,
    component: Vec<u8>,
    contract: Version,
    readme: String,
    icon: Option<Icon>,
}

/// One of the files a package may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Manifest,
    Component,
    Readme,
    Icon(IconKind),
}

impl FileKind {
    pub(crate) const ALL: [FileKind; 5] = [
        FileKind::Manifest,
        FileKind::Component,
        FileKind::Readme,
        FileKind::Icon(IconKind::Png),
        FileKind::Icon(IconKind::Svg),
    ];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            FileKind::Manifest => MANIFEST_FILE,
            FileKind::Component => COMPONENT_FILE,
            FileKind::Readme => README_FILE,
            FileKind::Icon(kind) => kind.file_name(),
        }
    }

    pub(crate) fn limit(self, limits: &Limits) -> u64 {
        match self {
            FileKind::Manifest => limits.manifest,
            FileKind::Component => limits.component,
            FileKind::Readme => limits.readme,
            FileKind::Icon(_) => limits.icon,
        }
    }
}

impl Contents {
    /// Checks and assembles a package's files: parses `manifest_toml`
    /// (see [`Manifest::from_toml`]) and checks that `component` agrees with
    /// it. Size limits are checked when packing and unpacking, not here.
    pub fn new(
        manifest_toml: String,
        component: Vec<u8>,
        readme: String,
        icon: Option<Icon>,
    ) -> Result<Self, PackageError> {
        let manifest = Manifest::from_toml(&manifest_toml)
            .map_err(|error| PackageError::Manifest { error })?;
        let contract = check_component(&component, &manifest)?;
        Ok(Self {
            manifest,
            manifest_toml,
            component,
            contract,
            readme,
            icon,
        })
    }

    /// Reads a plugin directory: `plugin.toml`, `plugin.wasm` and
    /// `README.md`, which must be there, and `icon.png` or `icon.svg`, which
    /// may. Any other file in the directory is ignored. Files over their
    /// limit in `limits` are refused before they are read.
    pub fn read_dir(dir: &Path, limits: &Limits) -> Result<Self, PackageError> {
        let required = |kind: FileKind| -> Result<Vec<u8>, PackageError> {
            read_file(dir, kind, limits)?.ok_or_else(|| PackageError::MissingFile {
                dir: dir.to_owned(),
                file: kind.name(),
            })
        };
        let manifest = required(FileKind::Manifest)?;
        let component = required(FileKind::Component)?;
        let readme = required(FileKind::Readme)?;
        let mut icon = None;
        for &kind in IconKind::ALL {
            if let Some(bytes) = read_file(dir, FileKind::Icon(kind), limits)? {
                if icon.is_some() {
                    return Err(PackageError::TwoIcons {
                        place: format!("`{}`", dir.display()),
                    });
                }
                icon = Some(Icon::new(kind, bytes)?);
            }
        }
        Self::new(
            text(FileKind::Manifest, manifest)?,
            component,
            text(FileKind::Readme, readme)?,
            icon,
        )
    }

    /// The parsed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest's text, exactly as packed (comments included).
    pub fn manifest_toml(&self) -> &str {
        &self.manifest_toml
    }

    /// The component's bytes.
    pub fn component(&self) -> &[u8] {
        &self.component
    }

    /// The `plugboard:plugin` contract version the component was built
    /// against, read from its exports.
    pub fn contract(&self) -> &Version {
        &self.contract
    }

    /// The README, Markdown.
    pub fn readme(&self) -> &str {
        &self.readme
    }

    /// The icon, if the plugin has one.
    pub fn icon(&self) -> Option<&Icon> {
        self.icon.as_ref()
    }

    /// The files by name, sorted by name (byte order), as they are packed.
    pub(crate) fn files(&self) -> Vec<(FileKind, &[u8])> {
        let mut files = vec![
            (FileKind::Manifest, self.manifest_toml.as_bytes()),
            (FileKind::Component, &self.component[..]),
            (FileKind::Readme, self.readme.as_bytes()),
        ];
        if let Some(icon) = &self.icon {
            files.push((FileKind::Icon(icon.kind), &icon.bytes[..]));
        }
        files.sort_by_key(|(kind, _)| kind.name().as_bytes());
        files
    }

    /// Writes the files into `dir` (created if missing) under their package
    /// names: `plugin.toml`, `plugin.wasm`, `README.md` and the icon, and
    /// nothing else.
    ///
    /// Meant for a fresh staging directory that the installer then renames
    /// into place. It refuses to replace or write through anything already
    /// there (including a symbolic link planted under one of these names).
    pub fn write_to(&self, dir: &Path) -> Result<(), PackageError> {
        fs::create_dir_all(dir).map_err(|e| PackageError::io("create directory", dir, e))?;
        for (kind, bytes) in self.files() {
            let path = dir.join(kind.name());
            let mut file = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|e| PackageError::io("create", &path, e))?;
            file.write_all(bytes)
                .and_then(|()| file.sync_all())
                .map_err(|e| PackageError::io("write", &path, e))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contents")
            .field("name", &self.manifest.name)
            .field("version", &self.manifest.version)
            .field("contract", &self.contract)
            .field("component", &self.component.len())
            .field("readme", &self.readme.len())
            .field("icon", &self.icon)
            .finish_non_exhaustive()
    }
}

/// Converts a text file's bytes into a string, naming the file if they are
/// not UTF-8.
pub(crate) fn text(kind: FileKind, bytes: Vec<u8>) -> Result<String, PackageError> {
    String::from_utf8(bytes).map_err(|_| PackageError::NotUtf8 { file: kind.name() })
}

/// Reads `dir/<kind's name>` if it exists, refusing it if it is over its
/// limit (judged by its metadata first, so a huge file is never read).
fn read_file(dir: &Path, kind: FileKind, limits: &Limits) -> Result<Option<Vec<u8>>, PackageError> {
    let path: PathBuf = dir.join(kind.name());
    let file = match fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(PackageError::io("open", &path, e)),
    };
    let limit = kind.limit(limits);
    let too_large = |size| PackageError::EntryTooLarge {
        entry: kind.name().to_owned(),
        size,
        limit,
        packing: true,
    };
    let size = file
        .metadata()
        .map_err(|e| PackageError::io("read", &path, e))?
        .len();
    if size > limit {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    // The file may grow while we read; never read more than the limit allows.
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| PackageError::io("read", &path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(Some(bytes))
}
