//! Packing and unpacking, with synthetic components and hand-made hostile
//! archives. The real plugins are exercised in `tests/all/`.

use std::io::Write as _;

use flate2::write::GzEncoder;
use tar::{EntryType, Header};

use super::*;
use crate::component::tests::plugin_component;
use crate::{IconKind, SigningKey};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const MANIFEST: &str = "# A test plugin.\n\
    name = \"echo\"\nversion = \"1.2.3\"\ndescription = \"Repeats what you say.\"\nwit = \"0.1\"\n\n\
    [dependencies]\neconomy = \"^1.2\"\n";
const README: &str = "# echo\n\nRepeats what you say.\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n not really the rest of a png";

/// A plugin directory with the required files.
fn plugin_dir() -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    fs::write(dir.path().join("plugin.toml"), MANIFEST)?;
    fs::write(dir.path().join("plugin.wasm"), plugin_component("0.1.0"))?;
    fs::write(dir.path().join("README.md"), README)?;
    Ok(dir)
}

fn contents() -> Result<Contents, PackageError> {
    Contents::new(
        MANIFEST.into(),
        plugin_component("0.1.0"),
        README.into(),
        None,
    )
}

// ---- hand-made archives ----

/// A tar header for `name` (written raw, so that absolute and `..` paths get
/// through) of type `kind` and `size` bytes.
fn header(name: &str, kind: EntryType, size: u64) -> Header {
    let mut header = Header::new_gnu();
    let raw = &mut header.as_old_mut().name;
    raw[..name.len()].copy_from_slice(name.as_bytes());
    header.set_entry_type(kind);
    header.set_size(size);
    header.set_mode(0o644);
    header.set_cksum();
    header
}

struct Raw {
    tar: tar::Builder<Vec<u8>>,
}

impl Raw {
    fn new() -> Self {
        Self {
            tar: tar::Builder::new(Vec::new()),
        }
    }

    fn file(mut self, name: &str, data: &[u8]) -> Self {
        self.tar
            .append(&header(name, EntryType::Regular, data.len() as u64), data)
            .expect("append to a Vec");
        self
    }

    fn special(mut self, name: &str, kind: EntryType, link: Option<&str>) -> Self {
        let mut h = header(name, kind, 0);
        if let Some(link) = link {
            h.set_link_name(link).expect("short link name");
            h.set_cksum();
        }
        self.tar.append(&h, &[][..]).expect("append to a Vec");
        self
    }

    /// The required files, valid.
    fn valid(self) -> Self {
        self.file("README.md", README.as_bytes())
            .file("plugin.toml", MANIFEST.as_bytes())
            .file("plugin.wasm", &plugin_component("0.1.0"))
    }

    fn gz(self) -> Vec<u8> {
        gzip(&self.tar.into_inner().expect("finish a Vec"))
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(bytes).expect("write to a Vec");
    gz.finish().expect("finish a Vec")
}

fn refused(bytes: &[u8]) -> PackageError {
    refused_with(bytes, &Limits::default())
}

fn refused_with(bytes: &[u8], limits: &Limits) -> PackageError {
    unpack(bytes, limits).expect_err("the package must be refused")
}

/// Asserts that the error's message names `entry` in backquotes.
fn names(err: &PackageError, entry: &str) {
    let text = err.to_string();
    assert!(
        text.contains(&format!("`{entry}`")),
        "`{entry}` not named in: {text}"
    );
}

// ---- packing ----

#[test]
fn packing_is_reproducible() -> TestResult {
    let a = plugin_dir()?;
    let first = pack(a.path())?;
    let again = pack(a.path())?;
    assert_eq!(first.bytes(), again.bytes());

    // Another directory, other times and permissions: the same bytes.
    let b = plugin_dir()?;
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    for name in ["plugin.toml", "plugin.wasm", "README.md"] {
        let file = fs::File::options().write(true).open(b.path().join(name))?;
        file.set_modified(old)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(fs::Permissions::from_mode(0o755))?;
        }
    }
    fs::write(b.path().join("Cargo.toml"), "ignored")?;
    let other = pack(b.path())?;
    assert_eq!(first.bytes(), other.bytes());
    assert_eq!(first.checksum(), other.checksum());
    assert_eq!(*first.checksum(), Checksum::of(first.bytes()));

    // A different file gives a different package.
    fs::write(b.path().join("README.md"), "# echo\n\nChanged.\n")?;
    assert_ne!(pack(b.path())?.checksum(), first.checksum());
    Ok(())
}

#[test]
fn packed_headers_are_normalised() -> TestResult {
    let dir = plugin_dir()?;
    fs::write(dir.path().join("icon.png"), PNG)?;
    let package = pack(dir.path())?;
    let bytes = package.bytes();
    // gzip: no flags (so no file name), mtime 0, OS "unknown".
    assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0]);
    assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
    assert_eq!(bytes[9], 255);

    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let mut names = Vec::new();
    for entry in archive.entries()? {
        let entry = entry?;
        let h = entry.header();
        names.push(String::from_utf8(entry.path_bytes().into_owned())?);
        assert_eq!(h.entry_type(), EntryType::Regular);
        assert_eq!(h.mode()?, 0o644);
        assert_eq!((h.uid()?, h.gid()?, h.mtime()?), (0, 0, 0));
        assert_eq!(h.username_bytes(), Some(&b""[..]));
        assert_eq!(h.groupname_bytes(), Some(&b""[..]));
    }
    assert_eq!(
        names,
        ["README.md", "icon.png", "plugin.toml", "plugin.wasm"]
    );
    Ok(())
}

#[test]
fn package_file_names() -> TestResult {
    let dir = plugin_dir()?;
    let package = pack(dir.path())?;
    assert_eq!(package.file_name(), "echo-1.2.3.plugboard.tar.gz");
    let out = tempfile::tempdir()?;
    let path = package.write_to_dir(out.path())?;
    assert_eq!(path, out.path().join("echo-1.2.3.plugboard.tar.gz"));
    assert_eq!(fs::read(&path)?, package.bytes());
    Ok(())
}

#[test]
fn packing_names_missing_files() -> TestResult {
    for (missing, hint) in [
        ("plugin.toml", ""),
        ("plugin.wasm", "wasm32-wasip2"),
        ("README.md", "README.md that tells"),
    ] {
        let dir = plugin_dir()?;
        fs::remove_file(dir.path().join(missing))?;
        let err = pack(dir.path()).expect_err(missing);
        assert!(
            matches!(&err, PackageError::MissingFile { file, .. } if *file == missing),
            "{err:?}"
        );
        names(&err, missing);
        assert!(err.to_string().contains(hint), "{err}");
    }
    Ok(())
}

#[test]
fn packing_checks_manifest_and_component() -> TestResult {
    let dir = plugin_dir()?;
    fs::write(
        dir.path().join("plugin.toml"),
        MANIFEST.replace("wit = \"0.1\"", "wit = \"0.2\""),
    )?;
    let err = pack(dir.path()).expect_err("wit mismatch");
    assert!(matches!(err, PackageError::WitMismatch { .. }), "{err:?}");

    let dir = plugin_dir()?;
    fs::write(
        dir.path().join("plugin.wasm"),
        wasm_encoder::Module::new().finish(),
    )?;
    let err = pack(dir.path()).expect_err("core module");
    assert!(err.to_string().contains("--target wasm32-wasip2"), "{err}");

    let dir = plugin_dir()?;
    fs::write(
        dir.path().join("plugin.toml"),
        MANIFEST.replace("name = \"echo\"", "name = \"Echo\""),
    )?;
    let err = pack(dir.path()).expect_err("bad manifest");
    assert!(matches!(err, PackageError::Manifest { .. }), "{err:?}");
    assert!(err.to_string().contains("`name`"), "{err}");

    let dir = plugin_dir()?;
    fs::write(dir.path().join("README.md"), b"\xff\xfe")?;
    let err = pack(dir.path()).expect_err("binary readme");
    assert!(
        matches!(err, PackageError::NotUtf8 { file: "README.md" }),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn packing_checks_icons() -> TestResult {
    let dir = plugin_dir()?;
    fs::write(dir.path().join("icon.png"), PNG)?;
    fs::write(dir.path().join("icon.svg"), "<svg/>")?;
    let err = pack(dir.path()).expect_err("two icons");
    assert!(matches!(err, PackageError::TwoIcons { .. }), "{err:?}");

    fs::remove_file(dir.path().join("icon.svg"))?;
    fs::write(dir.path().join("icon.png"), "<svg/>")?;
    let err = pack(dir.path()).expect_err("svg named png");
    assert!(matches!(err, PackageError::NotPng), "{err:?}");
    Ok(())
}

#[test]
fn packing_applies_the_limits() -> TestResult {
    let dir = plugin_dir()?;
    let limits = Limits {
        readme: 8,
        ..Limits::default()
    };
    let err = Contents::read_dir(dir.path(), &limits).expect_err("readme over 8 bytes");
    assert!(
        matches!(&err, PackageError::EntryTooLarge { entry, packing: true, .. } if entry == "README.md"),
        "{err:?}"
    );
    assert!(err.to_string().contains("8 bytes limit"), "{err}");

    let limits = Limits {
        total: 100,
        ..Limits::default()
    };
    let err = contents()?.pack(&limits).expect_err("over the total");
    assert!(
        matches!(err, PackageError::TotalTooLarge { packing: true, .. }),
        "{err:?}"
    );

    let limits = Limits {
        package: 100,
        ..Limits::default()
    };
    let err = contents()?.pack(&limits).expect_err("over the package cap");
    assert!(
        matches!(err, PackageError::PackageTooLarge { packing: true, .. }),
        "{err:?}"
    );
    Ok(())
}

// ---- unpacking what was packed ----

#[test]
fn round_trip() -> TestResult {
    let dir = plugin_dir()?;
    fs::write(
        dir.path().join("icon.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )?;
    let package = pack(dir.path())?;
    let contents = unpack(package.bytes(), &Limits::default())?;
    assert_eq!(&contents, package.contents());
    assert_eq!(contents.manifest_toml(), MANIFEST, "comments survive");
    assert_eq!(
        contents.manifest().dependencies["economy"].to_string(),
        "^1.2"
    );
    assert_eq!(contents.component(), plugin_component("0.1.0"));
    assert_eq!(contents.contract().to_string(), "0.1.0");
    assert_eq!(contents.readme(), README);
    assert_eq!(contents.icon().map(Icon::kind), Some(IconKind::Svg));

    let stage = tempfile::tempdir()?;
    let target = stage.path().join("echo");
    contents.write_to(&target)?;
    let mut written: Vec<String> = fs::read_dir(&target)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    written.sort();
    assert_eq!(
        written,
        ["README.md", "icon.svg", "plugin.toml", "plugin.wasm"]
    );
    assert_eq!(fs::read(target.join("plugin.wasm"))?, contents.component());
    assert_eq!(fs::read_to_string(target.join("plugin.toml"))?, MANIFEST);
    // Reading the written directory packs to the same package.
    assert_eq!(pack(&target)?.bytes(), package.bytes());

    // Nothing already in the staging directory is overwritten.
    let err = contents.write_to(&target).expect_err("files exist");
    assert!(
        matches!(
            err,
            PackageError::Io {
                action: "create",
                ..
            }
        ),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn verified_unpacking() -> TestResult {
    let package = contents()?.pack(&Limits::default())?;
    let key = SigningKey::from_seed(&[5; 32]);
    let signature = key.sign(package.checksum());
    let limits = Limits::default();
    let contents = unpack_verified(
        package.bytes(),
        package.checksum(),
        &key.public_key(),
        &signature,
        &limits,
    )?;
    assert_eq!(&contents, package.contents());

    let mut tampered = package.bytes().to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let err = unpack_verified(
        &tampered,
        package.checksum(),
        &key.public_key(),
        &signature,
        &limits,
    )
    .expect_err("tampered bytes");
    assert!(
        matches!(err, PackageError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&package.checksum().to_string()),
        "{err}"
    );

    let other = SigningKey::from_seed(&[6; 32]).public_key();
    let err = unpack_verified(
        package.bytes(),
        package.checksum(),
        &other,
        &signature,
        &limits,
    )
    .expect_err("wrong key");
    assert!(matches!(err, PackageError::BadSignature { .. }), "{err:?}");

    // Signatures are checked before the archive is looked at: a hostile
    // archive with a matching checksum but a bad signature is refused as
    // unsigned, not unpacked.
    let hostile = Raw::new()
        .valid()
        .special("evil", EntryType::Symlink, Some("/etc/passwd"))
        .gz();
    let err = unpack_verified(
        &hostile,
        &Checksum::of(&hostile),
        &key.public_key(),
        &signature,
        &limits,
    )
    .expect_err("unsigned hostile archive");
    assert!(matches!(err, PackageError::BadSignature { .. }), "{err:?}");
    Ok(())
}

#[test]
fn entry_order_does_not_matter() -> TestResult {
    let bytes = Raw::new()
        .file("plugin.wasm", &plugin_component("0.1.0"))
        .file("plugin.toml", MANIFEST.as_bytes())
        .file("icon.png", PNG)
        .file("README.md", README.as_bytes())
        .gz();
    let contents = unpack(&bytes, &Limits::default())?;
    assert_eq!(contents.icon().map(Icon::bytes), Some(PNG));
    Ok(())
}

// ---- hostile archives ----

#[test]
fn refuses_absolute_paths() {
    for name in [
        "/etc/passwd",
        "/plugin.toml",
        "\\plugin.toml",
        "C:\\evil.dll",
        "c:plugin.toml",
    ] {
        let err = refused(&Raw::new().valid().file(name, b"x").gz());
        assert!(
            matches!(&err, PackageError::AbsolutePath { entry } if entry == name),
            "{name}: {err:?}"
        );
        names(&err, name);
        assert!(err.to_string().contains("plain file names"), "{err}");
    }
}

#[test]
fn refuses_parent_directories() {
    for name in ["../evil", "..", "a/../plugin.toml", "..\\evil"] {
        let err = refused(&Raw::new().file(name, b"x").valid().gz());
        assert!(
            matches!(&err, PackageError::ParentDir { entry } if entry == name),
            "{name}: {err:?}"
        );
        names(&err, name);
    }
}

#[test]
fn refuses_links() {
    let err = refused(
        &Raw::new()
            .valid()
            .special("icon.png", EntryType::Symlink, Some("/etc/shadow"))
            .gz(),
    );
    assert!(
        matches!(&err, PackageError::Link { entry, kind: "symbolic link", target }
            if entry == "icon.png" && target == "/etc/shadow"),
        "{err:?}"
    );
    names(&err, "icon.png");
    names(&err, "/etc/shadow");

    let err = refused(
        &Raw::new()
            .valid()
            .special("icon.svg", EntryType::Link, Some("plugin.toml"))
            .gz(),
    );
    assert!(
        matches!(
            &err,
            PackageError::Link {
                kind: "hard link",
                ..
            }
        ),
        "{err:?}"
    );
    names(&err, "icon.svg");
}

#[test]
fn refuses_devices_fifos_and_directories() {
    for (kind, word) in [
        (EntryType::Char, "character device"),
        (EntryType::Block, "block device"),
        (EntryType::Fifo, "fifo"),
        (EntryType::Directory, "directory"),
        (EntryType::new(b'Z'), "type `Z`"),
    ] {
        let err = refused(&Raw::new().special("README.md", kind, None).valid().gz());
        assert!(
            matches!(&err, PackageError::NotAFile { entry, .. } if entry == "README.md"),
            "{kind:?}: {err:?}"
        );
        assert!(err.to_string().contains(word), "{kind:?}: {err}");
    }
    // Also a directory that tar tools write first.
    let err = refused(
        &Raw::new()
            .special("./", EntryType::Directory, None)
            .valid()
            .gz(),
    );
    names(&err, "./");
}

#[test]
fn refuses_duplicates() {
    let err = refused(
        &Raw::new()
            .valid()
            .file("plugin.toml", b"name = \"other\"")
            .gz(),
    );
    assert!(
        matches!(&err, PackageError::DuplicateEntry { entry } if entry == "plugin.toml"),
        "{err:?}"
    );
    names(&err, "plugin.toml");
}

#[test]
fn refuses_two_icons() {
    let err = refused(
        &Raw::new()
            .valid()
            .file("icon.png", PNG)
            .file("icon.svg", b"<svg/>")
            .gz(),
    );
    assert!(matches!(err, PackageError::TwoIcons { .. }), "{err:?}");
}

#[test]
fn refuses_unexpected_names() {
    for name in [
        "notes.txt",
        "./plugin.toml",
        "sub/plugin.wasm",
        "plugin.toml/",
        "PLUGIN.TOML",
        "install.sh",
    ] {
        let err = refused(&Raw::new().valid().file(name, b"x").gz());
        assert!(
            matches!(&err, PackageError::UnexpectedEntry { entry } if entry == name),
            "{name}: {err:?}"
        );
        names(&err, name);
    }
}

#[test]
fn refuses_missing_files() {
    let wasm = plugin_component("0.1.0");
    let cases = [
        (
            "plugin.toml",
            Raw::new()
                .file("README.md", README.as_bytes())
                .file("plugin.wasm", &wasm),
        ),
        (
            "plugin.wasm",
            Raw::new()
                .file("README.md", README.as_bytes())
                .file("plugin.toml", MANIFEST.as_bytes()),
        ),
        (
            "README.md",
            Raw::new()
                .file("plugin.toml", MANIFEST.as_bytes())
                .file("plugin.wasm", &wasm),
        ),
    ];
    for (missing, raw) in cases {
        let err = refused(&raw.gz());
        assert!(
            matches!(&err, PackageError::MissingEntry { entry } if *entry == missing),
            "{err:?}"
        );
        names(&err, missing);
    }
    let err = refused(&Raw::new().gz());
    assert!(
        matches!(
            err,
            PackageError::MissingEntry {
                entry: "plugin.toml"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn refuses_oversized_entries() -> TestResult {
    // A README of 2 MiB of zeros: a few KiB compressed, over its 1 MiB cap.
    let big = vec![0u8; 2 << 20];
    let bytes = Raw::new().valid().file("icon.png", &big).gz();
    assert!(bytes.len() < 64 << 10, "{} bytes", bytes.len());
    let err = refused(&bytes);
    assert!(
        matches!(&err, PackageError::EntryTooLarge { entry, size, limit, packing: false }
            if entry == "icon.png" && *size == 2 << 20 && *limit == 1 << 20),
        "{err:?}"
    );
    names(&err, "icon.png");
    assert!(
        err.to_string().contains("2 MiB, over the 1 MiB limit"),
        "{err}"
    );
    Ok(())
}

#[test]
fn refuses_oversized_totals() {
    let limits = Limits {
        total: 1000,
        ..Limits::default()
    };
    let bytes = Raw::new()
        .file("README.md", &[b'a'; 600])
        .file("plugin.toml", MANIFEST.as_bytes())
        .file("icon.svg", &[b'b'; 600])
        .gz();
    let err = refused_with(&bytes, &limits);
    assert!(
        matches!(&err, PackageError::TotalTooLarge { entry, packing: false, .. } if entry == "`icon.svg`"),
        "{err:?}"
    );
    names(&err, "icon.svg");
}

#[test]
fn gzip_bombs_are_stopped_while_inflating() {
    // A GNU long-name header whose "name" is 4 MiB of zeros: the tar reader
    // would buffer it whole, before any entry is seen. The stream bound
    // stops it at the total cap plus header room.
    let mut long_name = Header::new_gnu();
    long_name.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    long_name.set_entry_type(EntryType::GNULongName);
    long_name.set_size(4 << 20);
    long_name.set_cksum();
    let mut tar = tar::Builder::new(Vec::new());
    tar.append(&long_name, &vec![0u8; 4 << 20][..])
        .expect("append");
    tar.append(&header("README.md", EntryType::Regular, 1), &b"x"[..])
        .expect("append");
    let bytes = gzip(&tar.into_inner().expect("finish"));
    assert!(bytes.len() < 64 << 10, "{} bytes", bytes.len());

    let limits = Limits {
        total: 1 << 20,
        ..Limits::default()
    };
    let err = refused_with(&bytes, &limits);
    assert!(
        matches!(err, PackageError::TotalTooLarge { packing: false, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("compression bomb"), "{err}");

    // Trailing inflated data after the archive counts too.
    let mut tar = Raw::new().valid().tar.into_inner().expect("finish");
    tar.extend(std::iter::repeat_n(0u8, 2 << 20));
    let err = refused_with(&gzip(&tar), &limits);
    assert!(
        matches!(&err, PackageError::TotalTooLarge { entry, .. } if entry == "the end of the archive"),
        "{err:?}"
    );
}

#[test]
fn refuses_what_is_not_a_tar_gz() {
    let good = Raw::new().valid().gz();
    // Damage in the middle of the deflate stream.
    let mut corrupt = good.clone();
    let middle = corrupt.len() / 2;
    for byte in &mut corrupt[middle..middle + 16] {
        *byte ^= 0x5a;
    }
    // A damaged CRC in the gzip trailer, which only a full read notices.
    let mut bad_crc = good.clone();
    let crc = bad_crc.len() - 8;
    bad_crc[crc] ^= 1;
    let cases: [(&str, Vec<u8>); 6] = [
        ("corrupt", corrupt),
        ("bad crc", bad_crc),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("garbage", b"<html>502 Bad Gateway</html>".to_vec()),
        ("empty", Vec::new()),
        (
            "plain tar",
            Raw::new().valid().tar.into_inner().expect("finish"),
        ),
    ];
    for (what, bytes) in cases {
        let err = refused(&bytes);
        assert!(
            matches!(err, PackageError::Corrupt { .. }),
            "{what}: {err:?}"
        );
        assert!(
            err.to_string().contains("not a valid .tar.gz"),
            "{what}: {err}"
        );
    }
    // Gzip of something that is not tar.
    let err = refused(&gzip(&[b'x'; 2000]));
    assert!(matches!(err, PackageError::Corrupt { .. }), "{err:?}");
}

#[test]
fn refuses_oversized_packages_before_reading() {
    let bytes = Raw::new().valid().gz();
    let limits = Limits {
        package: bytes.len() as u64 - 1,
        ..Limits::default()
    };
    let err = refused_with(&bytes, &limits);
    assert!(
        matches!(err, PackageError::PackageTooLarge { packing: false, .. }),
        "{err:?}"
    );
}

#[test]
fn refuses_disagreeing_contents() {
    let bytes = Raw::new()
        .file("README.md", README.as_bytes())
        .file("plugin.toml", MANIFEST.as_bytes())
        .file("plugin.wasm", &plugin_component("1.0.0"))
        .gz();
    let err = refused(&bytes);
    assert!(matches!(err, PackageError::WitMismatch { .. }), "{err:?}");

    let bytes = Raw::new()
        .file("README.md", b"\xc3\x28")
        .file("plugin.toml", MANIFEST.as_bytes())
        .file("plugin.wasm", &plugin_component("0.1.0"))
        .gz();
    let err = refused(&bytes);
    assert!(
        matches!(err, PackageError::NotUtf8 { file: "README.md" }),
        "{err:?}"
    );
}
