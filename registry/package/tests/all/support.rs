//! Where the staged plugins are, and plugin directories made from them.

use std::fs;
use std::path::{Path, PathBuf};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The staged plugin `name`: `target/plugins/<name>` or, for test-only
/// plugins, `target/test-plugins/<name>`, holding plugin.toml and plugin.wasm.
pub fn staged(kind: &str, name: &str) -> PathBuf {
    let dir = root().join("target").join(kind).join(name);
    assert!(
        dir.join("plugin.wasm").exists(),
        "{} has no plugin.wasm: run `cargo xtask test` (or `cargo xtask plugins` before `cargo test`)",
        dir.display()
    );
    dir
}

/// Names of the official plugins that were staged.
pub fn official_plugins() -> Vec<String> {
    let dir = staged("plugins", "echo").join("..");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("read target/plugins")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("plugin.wasm").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A fresh plugin directory with the staged plugin's files and a README
/// (staged plugins need not have one).
pub fn plugin_dir(from: &Path) -> Result<tempfile::TempDir, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    for file in ["plugin.toml", "plugin.wasm"] {
        fs::copy(from.join(file), dir.path().join(file))?;
    }
    let readme = from.join("README.md");
    if readme.exists() {
        fs::copy(readme, dir.path().join("README.md"))?;
    } else {
        fs::write(dir.path().join("README.md"), "# A plugin\n\nFor tests.\n")?;
    }
    Ok(dir)
}
