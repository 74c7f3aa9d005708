//! Packing, unpacking and verifying the real plugin components.

use std::fs;

use plugboard_package::{Limits, PackageError, SigningKey, pack, unpack, unpack_verified};
use semver::Version;

use crate::support::{TestResult, official_plugins, plugin_dir, staged};

#[test]
fn every_official_plugin_packs_and_unpacks() -> TestResult {
    let names = official_plugins();
    assert!(names.iter().any(|n| n == "echo"), "{names:?}");
    for name in names {
        let dir = plugin_dir(&staged("plugins", &name))?;
        let package = pack(dir.path()).map_err(|e| format!("packing {name}: {e}"))?;
        let manifest = package.manifest();
        assert_eq!(manifest.name, name);
        // The marketplace shows these; the demo registry should not look empty.
        assert!(!manifest.categories.is_empty(), "{name}: categories");
        assert!(!manifest.keywords.is_empty(), "{name}: keywords");
        assert!(manifest.repository.is_some(), "{name}: repository");
        assert_eq!(package.contents().contract().major, 0, "{name}");
        let contents = unpack(package.bytes(), &Limits::default())?;
        assert_eq!(&contents, package.contents(), "{name}");
    }
    Ok(())
}

#[test]
fn echo_round_trip_through_signing_and_staging() -> TestResult {
    let source = staged("plugins", "echo");
    let dir = plugin_dir(&source)?;
    let package = pack(dir.path())?;
    assert_eq!(package.file_name(), "echo-0.1.0.plugboard.tar.gz");
    assert_eq!(package.contents().contract(), &Version::new(0, 2, 0));

    // Reproducible from another copy of the same files.
    let again = pack(plugin_dir(&source)?.path())?;
    assert_eq!(again.bytes(), package.bytes());

    let key = SigningKey::generate()?;
    let signature = key.sign(package.checksum());
    let contents = unpack_verified(
        package.bytes(),
        package.checksum(),
        &key.public_key(),
        &signature,
        &Limits::default(),
    )?;

    let stage = tempfile::tempdir()?;
    contents.write_to(stage.path())?;
    for file in ["plugin.toml", "plugin.wasm", "README.md"] {
        assert_eq!(
            fs::read(stage.path().join(file))?,
            fs::read(dir.path().join(file))?,
            "{file}"
        );
    }
    Ok(())
}

#[test]
fn a_component_for_another_contract_is_refused() -> TestResult {
    // wit-future's manifest says 0.1, its component exports handler@1.0.0.
    let dir = plugin_dir(&staged("test-plugins", "wit-future"))?;
    let err = pack(dir.path()).expect_err("manifest and component disagree");
    match &err {
        PackageError::WitMismatch {
            manifest,
            component,
        } => {
            assert_eq!(*manifest, Version::new(0, 1, 0));
            assert_eq!(*component, Version::new(1, 0, 0));
        }
        other => panic!("expected WitMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("wit = \"0.1\""), "{text}");
    assert!(text.contains("plugboard:plugin@1.0.0"), "{text}");

    // Telling the truth in the manifest makes it packable.
    let manifest = fs::read_to_string(dir.path().join("plugin.toml"))?;
    fs::write(
        dir.path().join("plugin.toml"),
        manifest.replace("wit = \"0.1\"", "wit = \"1.0\""),
    )?;
    let package = pack(dir.path())?;
    assert_eq!(package.contents().contract(), &Version::new(1, 0, 0));
    Ok(())
}

/// Rewrites the staged plugin's plugin.toml in a fresh plugin directory.
fn with_manifest(
    kind: &str,
    name: &str,
    edit: impl Fn(&str) -> String,
) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let dir = plugin_dir(&staged(kind, name))?;
    let manifest = fs::read_to_string(dir.path().join("plugin.toml"))?;
    let edited = edit(&manifest);
    assert_ne!(
        edited, manifest,
        "the edit of {name}'s plugin.toml changed nothing"
    );
    fs::write(dir.path().join("plugin.toml"), edited)?;
    Ok(dir)
}

#[test]
fn real_providers_and_dependents_must_name_their_interfaces() -> TestResult {
    // The staged economy exports plugins:economy/api@1.0.0 and says so.
    let economy = pack(plugin_dir(&staged("plugins", "economy"))?.path())?;
    assert_eq!(economy.manifest().provides, ["plugins:economy/api@1.0.0"]);

    let cases = [
        (
            with_manifest("plugins", "economy", |m| {
                m.replace("provides = [\"plugins:economy/api@1.0.0\"]\n", "")
            })?,
            "the component exports `plugins:economy/api@1.0.0`, which plugin.toml does not list in `provides`; add it to provides, or stop exporting it",
        ),
        (
            with_manifest("plugins", "economy", |m| {
                m.replace("api@1.0.0", "api@1.1.0")
            })?,
            "does not list in `provides`",
        ),
        (
            with_manifest("plugins", "echo", |m| {
                format!("provides = [\"plugins:echo/api@1.0.0\"]\n{m}")
            })?,
            "plugin.toml says it provides plugins:echo/api@1.0.0 but the component does not export it; export the interface in the plugin's WIT world",
        ),
        (
            with_manifest("plugins", "leaderboard", |m| {
                m.replace("imports = [\"plugins:economy/api@1.0.0\"]\n", "")
            })?,
            "the component imports `plugins:economy/api@1.0.0`, which plugin.toml does not list in `imports`",
        ),
    ];
    for (dir, expected) in cases {
        let err = pack(dir.path()).expect_err("manifest and component disagree");
        assert!(matches!(err, PackageError::Interfaces { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(expected), "`{expected}` not in: {text}");
    }
    Ok(())
}

#[test]
fn staged_test_plugins_agree_with_their_manifests() -> TestResult {
    // wit-future disagrees on purpose (see above); every other test plugin,
    // providers and dependents included, must pack as it is staged.
    let dir = staged("test-plugins", "hostile").join("..");
    let mut packed = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "wit-future" || !path.join("plugin.wasm").exists() {
            continue;
        }
        pack(plugin_dir(&path)?.path()).map_err(|e| format!("packing {name}: {e}"))?;
        packed.push(name);
    }
    assert!(packed.iter().any(|n| n == "bad-economy"), "{packed:?}");
    Ok(())
}
