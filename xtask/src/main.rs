//! Project automation, run as `cargo xtask <command>`.
//!
//! * `cargo xtask demo`: builds the plugins and starts the demo bot on the console.
//! * `cargo xtask test`: builds every plugin (official and test-only) and runs all tests.
//! * `cargo xtask plugins`: only builds the plugin components and stages them.
//! * `cargo xtask bench`: runs the throughput benchmark.
//! * `cargo xtask registry`: starts a local marketplace registry and publishes
//!   the official plugins to it, so a bot can `plugboard install` them.
//!
//! Each command does its own setup: it adds the `wasm32-wasip2` target with
//! rustup when it is missing. Built plugins are staged the way an installed
//! package looks (`<name>/plugin.toml` + `<name>/plugin.wasm`) under
//! `target/plugins/` (official) and `target/test-plugins/` (test-only).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const WASM_TARGET: &str = "wasm32-wasip2";
const PLUGIN_PROFILE: &str = "plugin";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    match task {
        "plugins" => build_plugins().map(drop),
        "demo" => demo(rest),
        "test" => test(rest),
        "bench" => bench(rest),
        "registry" => registry(rest),
        "help" | "--help" | "-h" => {
            println!("{}", HELP.trim());
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{}", HELP.trim()),
    }
}

const HELP: &str = "
usage: cargo xtask <task> [args]

tasks:
  demo [args…]     build the plugins and start the demo bot on the console
                   (extra args go to `plugboard run`)
  test [args…]     build every plugin and run all tests (extra args go to `cargo test`)
  plugins          build the plugin components into target/plugins and target/test-plugins
  bench            run the throughput benchmark (release build)
  registry [--listen ADDR]
                   start a local registry (default 127.0.0.1:8787, data in
                   target/registry-demo) with the official plugins published;
                   runs until Ctrl-C
";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(mut cmd: Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// Adds the wasm target when the toolchain lacks it.
fn ensure_wasm_target() -> Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("could not run rustc")?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(WASM_TARGET)
        .exists()
    {
        return Ok(());
    }
    eprintln!("xtask: adding the {WASM_TARGET} target with rustup");
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", WASM_TARGET]);
    run(cmd).context("the wasm32-wasip2 target is missing and rustup could not add it")
}

/// A plugin crate under `plugins/`: its package name, the manifest's name, and
/// whether it is test-only.
struct PluginCrate {
    dir: PathBuf,
    package: String,
    name: String,
    test_only: bool,
}

fn read_toml(path: &Path) -> Result<toml::Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse::<toml::Table>()
        .with_context(|| format!("parsing {}", path.display()))
}

fn find_plugins() -> Result<Vec<PluginCrate>> {
    let mut found = Vec::new();
    let plugins = root().join("plugins");
    for (base, test_only) in [(plugins.clone(), false), (plugins.join("testing"), true)] {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&base)
            .with_context(|| format!("reading {}", base.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("plugin.toml").exists() && p.join("Cargo.toml").exists())
            .collect();
        dirs.sort();
        for dir in dirs {
            let cargo_toml = read_toml(&dir.join("Cargo.toml"))?;
            let package = cargo_toml
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str())
                .with_context(|| format!("{}: no package name", dir.display()))?
                .to_owned();
            let manifest = read_toml(&dir.join("plugin.toml"))?;
            let name = manifest
                .get("name")
                .and_then(|n| n.as_str())
                .with_context(|| format!("{}/plugin.toml: no `name`", dir.display()))?
                .to_owned();
            found.push(PluginCrate {
                dir,
                package,
                name,
                test_only,
            });
        }
    }
    Ok(found)
}

/// Builds every plugin crate for wasm32-wasip2 and stages it as
/// `target/{plugins,test-plugins}/<name>/{plugin.toml,plugin.wasm}`.
fn build_plugins() -> Result<Vec<PluginCrate>> {
    ensure_wasm_target()?;
    let plugins = find_plugins()?;
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--target",
        WASM_TARGET,
        "--profile",
        PLUGIN_PROFILE,
    ]);
    for p in &plugins {
        cmd.args(["-p", &p.package]);
    }
    run(cmd).context("building the plugin components")?;

    let target = root().join("target");
    for p in &plugins {
        let artifact = target
            .join(WASM_TARGET)
            .join(PLUGIN_PROFILE)
            .join(format!("{}.wasm", p.package.replace('-', "_")));
        let stage = target
            .join(if p.test_only {
                "test-plugins"
            } else {
                "plugins"
            })
            .join(&p.name);
        std::fs::create_dir_all(&stage).with_context(|| format!("creating {}", stage.display()))?;
        copy(&artifact, &stage.join("plugin.wasm"))?;
        copy(&p.dir.join("plugin.toml"), &stage.join("plugin.toml"))?;
        let readme = p.dir.join("README.md");
        if readme.exists() {
            copy(&readme, &stage.join("README.md"))?;
        }
    }
    eprintln!(
        "xtask: staged {} plugins in target/plugins and target/test-plugins",
        plugins.len()
    );
    Ok(plugins)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn demo(args: &[String]) -> Result<()> {
    build_plugins()?;
    let mut cmd = cargo();
    cmd.args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "plugboard-runtime",
        "--bin",
        "plugboard",
        "--",
    ]);
    cmd.args(["run", "--config", "examples/demo/plugboard.toml"]);
    cmd.args(args);
    run(cmd)
}

fn test(args: &[String]) -> Result<()> {
    build_plugins()?;
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]);
    cmd.args(args);
    run(cmd)
}

fn bench(args: &[String]) -> Result<()> {
    build_plugins()?;
    let mut cmd = cargo();
    cmd.env("RUST_LIB_BACKTRACE", "0");
    cmd.args([
        "bench",
        "-p",
        "plugboard-runtime",
        "--bench",
        "throughput",
        "--bench",
        "isolation",
        "--",
    ]);
    cmd.args(args);
    run(cmd)
}

/// Starts `plugboard-registry` on a fresh data directory, publishes the
/// official plugins through the real `plugboard publish`, and serves until
/// interrupted.
fn registry(args: &[String]) -> Result<()> {
    use std::io::BufRead;

    let listen = match args {
        [] => "127.0.0.1:8787".to_owned(),
        [flag, addr] if flag == "--listen" => addr.clone(),
        _ => bail!("usage: cargo xtask registry [--listen ADDR]"),
    };
    let plugins = build_plugins()?;
    let mut build = cargo();
    build.args([
        "build",
        "--release",
        "-p",
        "plugboard-runtime",
        "-p",
        "plugboard-registry",
        "--bins",
    ]);
    run(build).context("building plugboard and plugboard-registry")?;
    let bin = root().join("target").join("release");
    let plugboard = bin.join("plugboard");
    let server = bin.join("plugboard-registry");

    let data = root().join("target").join("registry-demo");
    if data.exists() {
        std::fs::remove_dir_all(&data).with_context(|| format!("removing {}", data.display()))?;
    }
    std::fs::create_dir_all(&data)?;
    // Tokens are created while the server is stopped (sled has one owner).
    let token = Command::new(&server)
        .arg("--data")
        .arg(data.join("store"))
        .args(["token", "create", "demo"])
        .output()
        .context("running plugboard-registry token create")?;
    if !token.status.success() {
        bail!(
            "plugboard-registry token create failed: {}",
            String::from_utf8_lossy(&token.stderr)
        );
    }
    let token = String::from_utf8_lossy(&token.stdout).trim().to_owned();

    let mut child = Command::new(&server)
        .arg("--data")
        .arg(data.join("store"))
        .args(["serve", "--listen", &listen])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("starting plugboard-registry serve")?;
    let mut first = String::new();
    if let Some(stdout) = child.stdout.take() {
        std::io::BufReader::new(stdout).read_line(&mut first)?;
    }
    let Some(url) = first
        .trim()
        .strip_prefix("listening on ")
        .map(str::to_owned)
    else {
        let _ = child.kill();
        bail!("plugboard-registry did not start: {first:?}");
    };
    let publisher = data.join("publisher.toml");
    std::fs::write(
        &publisher,
        format!("[runtime]\ndata_dir = \"publisher-data\"\n\n[registries]\ndefault = {url:?}\n"),
    )?;
    let key = data.join("signing.key");
    let publish = || -> Result<()> {
        let cli = |args: &[&str]| {
            let mut cmd = Command::new(&plugboard);
            cmd.args(args)
                .env("PLUGBOARD_REGISTRY_TOKEN", &token)
                .env("PLUGBOARD_HOME", data.join("home"));
            cmd
        };
        let key_arg = key.display().to_string();
        let config_arg = publisher.display().to_string();
        run(cli(&["key", "generate", &key_arg]))?;
        run(cli(&[
            "key",
            "register",
            "--key",
            &key_arg,
            "--config",
            &config_arg,
        ]))?;
        for p in plugins.iter().filter(|p| !p.test_only) {
            let dir = root().join("target").join("plugins").join(&p.name);
            let dir = dir.display().to_string();
            run(cli(&[
                "publish",
                &dir,
                "--key",
                &key_arg,
                "--config",
                &config_arg,
            ]))?;
        }
        Ok(())
    };
    if let Err(e) = publish() {
        let _ = child.kill();
        return Err(e);
    }
    eprintln!(
        "\nxtask: a registry with the official plugins is serving at {url}\n\
         In another terminal, install and run a fresh bot from it:\n\
         \n    cd examples/registry\n    ../../target/release/plugboard install dice\n    \
         ../../target/release/plugboard run\n\n\
         (examples/registry/plugboard.toml points at {url}). Ctrl-C stops the registry.\n"
    );
    let status = child.wait()?;
    if !status.success() {
        bail!("plugboard-registry stopped: {status}");
    }
    Ok(())
}
