//! The `.tar.gz` itself: reproducible packing and hardened unpacking.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::read::GzDecoder;
use flate2::{Compression, GzBuilder};
use plugboard_registry_types::Manifest;

use crate::contents::{FileKind, text};
use crate::{Checksum, Contents, Icon, PackageError, PublicKey, Signature};

/// The extension of package files: a package for `echo` 0.1.0 is saved as
/// `echo-0.1.0.plugboard.tar.gz`. It is an ordinary `.tar.gz` that `tar -tzf`
/// lists; the `.plugboard` part tells it apart from a source tarball.
pub const PACKAGE_EXTENSION: &str = ".plugboard.tar.gz";

/// Room for tar headers, padding and end-of-archive blocks on top of
/// [`Limits::total`] when bounding the decompressed stream.
const TAR_OVERHEAD: u64 = 64 << 10;

/// Size caps for packing and unpacking, in bytes.
///
/// Unpacking counts bytes as it decompresses, so a package that claims small
/// sizes in its headers but inflates to more (a gzip bomb) is stopped at the
/// caps, not after. Packing applies the same caps, so a package that packs
/// also unpacks. To change a cap, start from the defaults:
///
/// ```
/// let mut limits = plugboard_package::Limits::default();
/// limits.component = 64 << 20;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The compressed package: 16 MiB.
    pub package: u64,
    /// `plugin.toml`: 64 KiB.
    pub manifest: u64,
    /// `plugin.wasm`: 32 MiB.
    pub component: u64,
    /// `README.md`: 1 MiB.
    pub readme: u64,
    /// `icon.png` or `icon.svg`: 1 MiB.
    pub icon: u64,
    /// All files together, uncompressed: 40 MiB.
    pub total: u64,
}

impl Default for Limits {
    fn default() -> Self {
        const KIB: u64 = 1 << 10;
        const MIB: u64 = 1 << 20;
        Self {
            package: 16 * MIB,
            manifest: 64 * KIB,
            component: 32 * MIB,
            readme: MIB,
            icon: MIB,
            total: 40 * MIB,
        }
    }
}

/// A built package: its bytes, their checksum and the files inside.
#[derive(Clone, PartialEq, Eq)]
pub struct Package {
    bytes: Vec<u8>,
    checksum: Checksum,
    contents: Contents,
}

impl Package {
    /// The `.tar.gz` bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The `.tar.gz` bytes, taken out of the package.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The SHA-256 of [`bytes`](Self::bytes): the package's identity.
    pub fn checksum(&self) -> &Checksum {
        &self.checksum
    }

    /// The packed files.
    pub fn contents(&self) -> &Contents {
        &self.contents
    }

    /// The manifest inside.
    pub fn manifest(&self) -> &Manifest {
        self.contents.manifest()
    }

    /// The package's file name, `<name>-<version>.plugboard.tar.gz`; see
    /// [`PACKAGE_EXTENSION`].
    pub fn file_name(&self) -> String {
        let manifest = self.manifest();
        format!("{}-{}{PACKAGE_EXTENSION}", manifest.name, manifest.version)
    }

    /// Writes the package into `dir` under its [file name](Self::file_name),
    /// replacing any file of that name, and returns the file's path.
    pub fn write_to_dir(&self, dir: &Path) -> Result<PathBuf, PackageError> {
        let path = dir.join(self.file_name());
        fs::write(&path, &self.bytes).map_err(|e| PackageError::io("write", &path, e))?;
        Ok(path)
    }
}

impl std::fmt::Debug for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Package")
            .field("bytes", &self.bytes.len())
            .field("checksum", &self.checksum)
            .field("contents", &self.contents)
            .finish()
    }
}

/// Packs the plugin directory `dir` (see [`Contents::read_dir`]) with the
/// default [`Limits`]: what `plugboard plugin package <dir>` does.
pub fn pack(dir: &Path) -> Result<Package, PackageError> {
    let limits = Limits::default();
    Contents::read_dir(dir, &limits)?.pack(&limits)
}

impl Contents {
    /// Packs the files into a reproducible `.tar.gz`: entries sorted by name,
    /// each a regular file with mode 0644, owner and group 0 with empty
    /// names, and modification time 0; a gzip header without timestamp or
    /// file name. The same files give the same bytes, and so the same
    /// checksum, on every machine running the same build of this crate (the
    /// compressor's output is part of the build).
    ///
    /// Refuses files over their cap in `limits`, and a package over
    /// [`Limits::package`].
    pub fn pack(self, limits: &Limits) -> Result<Package, PackageError> {
        let files = self.files();
        let mut total = 0u64;
        for (kind, bytes) in &files {
            let size = bytes.len() as u64;
            let limit = kind.limit(limits);
            if size > limit {
                return Err(PackageError::EntryTooLarge {
                    entry: kind.name().to_owned(),
                    size,
                    limit,
                    packing: true,
                });
            }
            total += size;
            if total > limits.total {
                return Err(PackageError::TotalTooLarge {
                    entry: format!("`{}`", kind.name()),
                    limit: limits.total,
                    packing: true,
                });
            }
        }

        let build_error = |e| PackageError::io("build", "the package archive", e);
        let gzip = GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), Compression::best());
        let mut tar = tar::Builder::new(gzip);
        for (kind, bytes) in &files {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_mtime(0);
            header.set_username("").map_err(build_error)?;
            header.set_groupname("").map_err(build_error)?;
            tar.append_data(&mut header, kind.name(), *bytes)
                .map_err(build_error)?;
        }
        let bytes = tar
            .into_inner()
            .and_then(|gzip| gzip.finish())
            .map_err(build_error)?;

        let size = bytes.len() as u64;
        if size > limits.package {
            return Err(PackageError::PackageTooLarge {
                size,
                limit: limits.package,
                packing: true,
            });
        }
        Ok(Package {
            checksum: Checksum::of(&bytes),
            bytes,
            contents: self,
        })
    }
}

/// Checks a downloaded package against the checksum and signature its index
/// entry (or lockfile) promises, and only then unpacks it: the size cap
/// first, then the sha256, then the signature over it, then [`unpack`].
pub fn unpack_verified(
    bytes: &[u8],
    expected: &Checksum,
    publisher: &PublicKey,
    signature: &Signature,
    limits: &Limits,
) -> Result<Contents, PackageError> {
    check_package_size(bytes, limits)?;
    let actual = Checksum::of(bytes);
    if actual != *expected {
        return Err(PackageError::ChecksumMismatch {
            expected: expected.to_string(),
            actual: actual.to_string(),
        });
    }
    publisher.verify(&actual, signature)?;
    unpack(bytes, limits)
}

/// Unpacks a package into memory, refusing anything but the package format.
///
/// Each of these is refused with an error naming the entry: an absolute
/// path; a path with a `..` component; a symbolic or hard link; a directory,
/// device, fifo or any other entry that is not a regular file (directories
/// are refused rather than skipped: the format has none, so a directory
/// entry means the archive was not made by the packer); a name other than
/// `plugin.toml`, `plugin.wasm`, `README.md`, `icon.png` and `icon.svg`
/// exactly (so `./plugin.toml` is refused too); a name that appears twice;
/// both icons; a file over its cap; files together over [`Limits::total`];
/// and a missing `plugin.toml`, `plugin.wasm` or `README.md`. The bytes must
/// be gzip, the whole gzip stream is read so its checksum is checked, and
/// what it inflates to is bounded by the caps, headers included. Finally the
/// files must pass [`Contents::new`]'s checks.
///
/// Nothing touches the disk: write the result out with
/// [`Contents::write_to`]. This does not check signatures; a client should
/// use [`unpack_verified`].
pub fn unpack(bytes: &[u8], limits: &Limits) -> Result<Contents, PackageError> {
    check_package_size(bytes, limits)?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(PackageError::Corrupt {
            problem: "it does not start with the gzip signature".into(),
        });
    }
    let tripped = Rc::new(Cell::new(false));
    let stream = Bounded {
        inner: GzDecoder::new(bytes),
        remaining: limits.total.saturating_add(TAR_OVERHEAD),
        tripped: Rc::clone(&tripped),
    };
    let mut archive = tar::Archive::new(stream);
    let mut reader = EntryReader {
        limits,
        tripped: &tripped,
        files: Vec::new(),
        seen: BTreeSet::new(),
        total: 0,
        last: None,
    };
    reader.read_all(&mut archive)?;

    // Read the rest of the gzip stream (tar padding) so that a damaged gzip
    // trailer, which carries the CRC, is noticed.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| reader.error(e, "the end of the archive"))?;

    let mut manifest = None;
    let mut component = None;
    let mut readme = None;
    let mut icon = None;
    for (kind, bytes) in reader.files {
        match kind {
            FileKind::Manifest => manifest = Some(text(kind, bytes)?),
            FileKind::Component => component = Some(bytes),
            FileKind::Readme => readme = Some(text(kind, bytes)?),
            FileKind::Icon(icon_kind) => {
                if icon.is_some() {
                    return Err(PackageError::TwoIcons {
                        place: "the package".into(),
                    });
                }
                icon = Some(Icon::new(icon_kind, bytes)?);
            }
        }
    }
    let missing = |kind: FileKind| PackageError::MissingEntry { entry: kind.name() };
    Contents::new(
        manifest.ok_or_else(|| missing(FileKind::Manifest))?,
        component.ok_or_else(|| missing(FileKind::Component))?,
        readme.ok_or_else(|| missing(FileKind::Readme))?,
        icon,
    )
}

fn check_package_size(bytes: &[u8], limits: &Limits) -> Result<(), PackageError> {
    let size = bytes.len() as u64;
    if size > limits.package {
        return Err(PackageError::PackageTooLarge {
            size,
            limit: limits.package,
            packing: false,
        });
    }
    Ok(())
}

/// Walks the archive's entries, checking each before reading it.
struct EntryReader<'a> {
    limits: &'a Limits,
    tripped: &'a Cell<bool>,
    files: Vec<(FileKind, Vec<u8>)>,
    seen: BTreeSet<&'static str>,
    total: u64,
    /// The last entry whose header was read, for error messages.
    last: Option<String>,
}

impl EntryReader<'_> {
    fn read_all<R: Read>(&mut self, archive: &mut tar::Archive<R>) -> Result<(), PackageError> {
        let entries = archive
            .entries()
            .map_err(|e| self.error(e, "the first tar header"))?;
        for entry in entries {
            let entry = entry.map_err(|e| {
                let place = match &self.last {
                    Some(last) => format!("the tar header after `{last}`"),
                    None => "the first tar header".to_owned(),
                };
                self.error(e, &place)
            })?;
            self.read_entry(entry)?;
        }
        Ok(())
    }

    fn read_entry<R: Read>(&mut self, mut entry: tar::Entry<'_, R>) -> Result<(), PackageError> {
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        self.last = Some(name.clone());
        check_path(&name)?;

        let header = entry.header();
        let entry_type = header.entry_type();
        let not_a_file = |kind: &str| PackageError::NotAFile {
            entry: name.clone(),
            kind: kind.to_owned(),
        };
        match entry_type {
            tar::EntryType::Regular => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                return Err(PackageError::Link {
                    entry: name,
                    kind: if entry_type == tar::EntryType::Symlink {
                        "symbolic link"
                    } else {
                        "hard link"
                    },
                    target,
                });
            }
            tar::EntryType::Directory => return Err(not_a_file("directory")),
            tar::EntryType::Char => return Err(not_a_file("character device")),
            tar::EntryType::Block => return Err(not_a_file("block device")),
            tar::EntryType::Fifo => return Err(not_a_file("named pipe (fifo)")),
            tar::EntryType::GNUSparse => return Err(not_a_file("sparse file")),
            tar::EntryType::XGlobalHeader => return Err(not_a_file("pax global header")),
            other => {
                return Err(not_a_file(&format!(
                    "tar entry of type `{}`",
                    char::from(other.as_byte()).escape_default()
                )));
            }
        }

        let kind = FileKind::from_name(&name).ok_or_else(|| PackageError::UnexpectedEntry {
            entry: name.clone(),
        })?;
        if !self.seen.insert(kind.name()) {
            return Err(PackageError::DuplicateEntry { entry: name });
        }

        let limit = kind.limit(self.limits);
        let too_large = |size| PackageError::EntryTooLarge {
            entry: name.clone(),
            size,
            limit,
            packing: false,
        };
        let over_total = || PackageError::TotalTooLarge {
            entry: format!("`{name}`"),
            limit: self.limits.total,
            packing: false,
        };
        // The declared size lets us refuse early; the count below is what
        // actually bounds memory.
        let declared = entry.size();
        if declared > limit {
            return Err(too_large(declared));
        }
        if self.total.saturating_add(declared) > self.limits.total {
            return Err(over_total());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
        (&mut entry)
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| self.error(e, &format!("`{name}`")))?;
        let size = bytes.len() as u64;
        if size > limit {
            return Err(too_large(size));
        }
        self.total += size;
        if self.total > self.limits.total {
            return Err(over_total());
        }
        self.files.push((kind, bytes));
        Ok(())
    }

    /// Turns a read error at `place` into the right refusal: the stream
    /// bound tripped, or the archive is damaged.
    fn error(&self, error: io::Error, place: &str) -> PackageError {
        if self.tripped.get() {
            PackageError::TotalTooLarge {
                entry: place.to_owned(),
                limit: self.limits.total,
                packing: false,
            }
        } else {
            PackageError::Corrupt {
                problem: format!("at {place}: {error}"),
            }
        }
    }
}

/// Refuses absolute paths and `..` components (with `/` or `\` as
/// separators, so that no platform's reading of the name escapes).
fn check_path(name: &str) -> Result<(), PackageError> {
    let bytes = name.as_bytes();
    let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if name.starts_with(['/', '\\']) || drive {
        return Err(PackageError::AbsolutePath {
            entry: name.to_owned(),
        });
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Err(PackageError::ParentDir {
            entry: name.to_owned(),
        });
    }
    Ok(())
}

/// A reader that yields at most `remaining` bytes and then fails, noting in
/// `tripped` that it did, if the inner reader has more.
struct Bounded<R> {
    inner: R,
    remaining: u64,
    tripped: Rc<Cell<bool>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.tripped.set(true);
            return Err(io::Error::other("the package inflates past its size limit"));
        }
        let max = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..max])?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
