//! `plugboard plugin new`: a project of its own that builds into a plugin
//! the bot loads, with and without an interface for other plugins.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};

use crate::cli::plugboard;
use crate::support::{TestBot, root};

/// Runs `plugboard plugin new <args>` and returns (success, stdout + stderr).
fn plugin_new(args: &[&str]) -> Result<(bool, String)> {
    let out = plugboard().args(["plugin", "new"]).args(args).output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.success(), text))
}

/// Builds the project in `project` as its README says, offline, and puts
/// the component where the bot looks for it.
fn build(project: &Path, crate_name: &str) -> Result<()> {
    // Shared across runs (and kept warm): the SDK builds once.
    let target = root().join("target").join("scaffold");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "--offline"])
        .current_dir(project)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()?;
    ensure!(
        out.status.success(),
        "building {} failed:\n{}",
        project.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let wasm = target
        .join("wasm32-wasip2")
        .join("release")
        .join(format!("{crate_name}.wasm"));
    std::fs::copy(&wasm, project.join("plugin.wasm"))
        .with_context(|| format!("copying {}", wasm.display()))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_new_projects_build_and_load_with_and_without_a_provided_interface() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let parent = dir.path().display().to_string();
    let (ok, text) = plugin_new(&["hello-there", "--dir", &parent])?;
    ensure!(ok, "{text}");
    assert!(text.contains("cargo build --release"), "{text}");
    let (ok, text) = plugin_new(&["greeter", "--provides", "--dir", &parent])?;
    ensure!(ok, "{text}");
    let manifest = std::fs::read_to_string(dir.path().join("greeter/plugin.toml"))?;
    assert!(
        manifest.contains("provides = [\"plugins:greeter/api@0.1.0\"]"),
        "{manifest}"
    );

    // What is refused, and why.
    let (ok, text) = plugin_new(&["greeter", "--dir", &parent])?;
    assert!(!ok && text.contains("already exists"), "{text}");
    let (ok, text) = plugin_new(&["Bad_Name", "--dir", &parent])?;
    assert!(!ok && text.contains("the plugin name"), "{text}");
    let (ok, text) = plugin_new(&["x-2d", "--provides", "--dir", &parent])?;
    assert!(!ok && text.contains("cannot name a WIT package"), "{text}");

    build(&dir.path().join("hello-there"), "hello_there")?;
    build(&dir.path().join("greeter"), "greeter")?;
    let mut bot = TestBot::start(&[dir.path()], "")?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    assert_eq!(bot.ask("c", "/hello-there.hello Ann").await?, "Hello, Ann!");
    assert_eq!(bot.ask("c", "/greeter.hello Bob").await?, "Hello, Bob!");
    bot.stop().await?;
    Ok(())
}
