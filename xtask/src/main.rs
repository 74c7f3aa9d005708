//! Project automation, run as `cargo xtask <command>`.
//!
//! * `cargo xtask demo`: builds the plugins and starts the demo bot on the console.
//! * `cargo xtask test`: builds every plugin (official and test-only), sets up
//!   the browser tools and runs all tests.
//! * `cargo xtask plugins`: only builds the plugin components and stages them.
//! * `cargo xtask bench`: runs the throughput benchmark.
//! * `cargo xtask registry`: starts a local marketplace registry and publishes
//!   the official plugins to it, so a bot can `plugboard install` them.
//! * `cargo xtask browser-setup`: installs what the registry's browser tests
//!   need: Debian's `chromium` and `chromium-driver` (when missing) and
//!   axe-core (pinned) under `target/web-tools/`.
//! * `cargo xtask screenshots`: runs the browser tests (the marketplace's
//!   and the owner console's) with
//!   `PLUGBOARD_SCREENSHOTS=docs/images`, refreshing the documentation images.
//!
//! Each command does its own setup: it adds the `wasm32-wasip2` target with
//! rustup when it is missing, and installs the browser tools when it runs the
//! browser tests. Built plugins are staged the way an installed
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
        "browser-setup" => browser_setup(),
        "screenshots" => screenshots(rest),
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
  test [args…]     build every plugin, set up the browser tools and run all tests
                   (extra args go to `cargo test`)
  plugins          build the plugin components into target/plugins and target/test-plugins
  bench            run the throughput benchmark (release build)
  registry [--listen ADDR]
                   start a local registry (default 127.0.0.1:8787, data in
                   target/registry-demo) with the official plugins published;
                   runs until Ctrl-C
  browser-setup    install what the browser tests need: chromium and chromium-driver
                   with apt-get (when /usr/bin/chromium or /usr/bin/chromedriver is
                   missing) and axe-core into target/web-tools with npm
  screenshots [args…]
                   run the registry's and the owner console's browser tests with
                   PLUGBOARD_SCREENSHOTS=docs/images,
                   refreshing the documentation screenshots (extra args go to the
                   test binary, e.g. a test name filter)
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
    /// The plugins it depends on (`[dependencies]` in plugin.toml).
    dependencies: Vec<String>,
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
            let dependencies = manifest
                .get("dependencies")
                .and_then(|d| d.as_table())
                .map(|d| d.keys().cloned().collect())
                .unwrap_or_default();
            found.push(PluginCrate {
                dir,
                package,
                name,
                test_only,
                dependencies,
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
        "plugboard",
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
    browser_setup()?;
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
        "plugboard",
        "--bench",
        "throughput",
        "--bench",
        "isolation",
        "--bench",
        "calls",
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
        "plugboard",
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
        // Dependencies first: the registry refuses a plugin whose
        // dependency it does not have yet.
        let official: Vec<&PluginCrate> = plugins.iter().filter(|p| !p.test_only).collect();
        let graph: Vec<(&str, Vec<&str>)> = official
            .iter()
            .map(|p| {
                let deps = p.dependencies.iter().map(String::as_str).collect();
                (p.name.as_str(), deps)
            })
            .collect();
        let (order, cycles) = plugboard_registry_types::graph::dependency_order(&graph);
        if let Some(cycle) = cycles.first() {
            bail!(
                "the official plugins depend on each other in a circle: {}",
                cycle.join(" → ")
            );
        }
        for p in order.into_iter().map(|i| official[i]) {
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

/// Debian's Chromium, where the browser test harness looks by default.
const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver, where the browser test harness looks by default.
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The axe-core release the accessibility checks run (bump deliberately: new
/// rules can fail pages that passed).
const AXE_VERSION: &str = "4.14.1";

/// Installs what the registry's browser tests (`registry/server/tests/browser`)
/// need: Chromium and chromedriver, and axe-core under `target/web-tools`.
/// Each part is skipped when already present; `PLUGBOARD_CHROMIUM`,
/// `PLUGBOARD_CHROMEDRIVER` and `PLUGBOARD_AXE` point the tests at other
/// copies, and are then only checked.
fn browser_setup() -> Result<()> {
    ensure_chromium()?;
    ensure_axe()
}

/// A tool path from the environment variable `var`, if set; relative paths
/// are resolved against the workspace root, as the browser tests do.
fn tool_override(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|path| !path.is_empty())
        .map(|path| root().join(path))
}

/// Installs Debian's `chromium` and `chromium-driver` with apt-get when
/// `/usr/bin/chromium` or `/usr/bin/chromedriver` is missing.
fn ensure_chromium() -> Result<()> {
    let mut missing = Vec::new();
    for (var, default, package) in [
        ("PLUGBOARD_CHROMIUM", CHROMIUM, "chromium"),
        ("PLUGBOARD_CHROMEDRIVER", CHROMEDRIVER, "chromium-driver"),
    ] {
        match tool_override(var) {
            Some(path) if path.is_file() => {}
            Some(path) => bail!("{var} points at {}, which does not exist", path.display()),
            None if Path::new(default).is_file() => {}
            None => missing.push(package),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let packages = missing.join(" ");
    if !Path::new("/usr/bin/apt-get").exists() {
        bail!(
            "the browser tests need {packages}, and there is no apt-get to install them: \
             install Chromium and a matching chromedriver, and point PLUGBOARD_CHROMIUM \
             and PLUGBOARD_CHROMEDRIVER at them"
        );
    }
    eprintln!("xtask: installing {packages} with apt-get for the browser tests");
    if apt_get(&["install", "-y", "--no-install-recommends"], &missing).is_err() {
        // A fresh machine (or container) may have no package lists yet.
        eprintln!("xtask: apt-get install failed; updating the package lists and retrying");
        apt_get(&["update"], &[]).context("apt-get update failed")?;
        apt_get(&["install", "-y", "--no-install-recommends"], &missing).with_context(|| {
            format!(
                "could not install {packages} (on Ubuntu, where chromium is a snap, \
                 install Chrome and chromedriver instead and point PLUGBOARD_CHROMIUM \
                 and PLUGBOARD_CHROMEDRIVER at them)"
            )
        })?;
    }
    for path in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(path).is_file() {
            bail!("apt-get installed {packages}, but {path} is still missing");
        }
    }
    Ok(())
}

/// Runs `apt-get <args> <packages>` non-interactively, through sudo unless
/// this is root.
fn apt_get(args: &[&str], packages: &[&str]) -> Result<()> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .context("could not run `id -u`")?;
    let is_root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let mut cmd = if is_root {
        Command::new("env")
    } else {
        if Command::new("sudo").arg("--version").output().is_err() {
            bail!(
                "installing packages needs root, and sudo is not installed: run \
                 `apt-get install chromium chromium-driver` as root"
            );
        }
        let mut sudo = Command::new("sudo");
        sudo.arg("env");
        sudo
    };
    cmd.args(["DEBIAN_FRONTEND=noninteractive", "apt-get"]);
    cmd.args(args).args(packages);
    run(cmd)
}

/// Installs axe-core [`AXE_VERSION`] into `target/web-tools` with npm, unless
/// that version is already there.
fn ensure_axe() -> Result<()> {
    if let Some(path) = tool_override("PLUGBOARD_AXE") {
        if !path.is_file() {
            bail!(
                "PLUGBOARD_AXE points at {}, which does not exist",
                path.display()
            );
        }
        return Ok(());
    }
    let prefix = root().join("target").join("web-tools");
    let package = prefix.join("node_modules").join("axe-core");
    if axe_installed(&package)? {
        return Ok(());
    }
    if Command::new("npm").arg("--version").output().is_err() {
        bail!(
            "npm is needed to install axe-core {AXE_VERSION} for the browser tests: install \
             Node.js and npm (Debian: `apt-get install npm`), or point PLUGBOARD_AXE at an \
             axe.min.js"
        );
    }
    eprintln!(
        "xtask: installing axe-core {AXE_VERSION} into {} with npm",
        prefix.display()
    );
    std::fs::create_dir_all(&prefix).with_context(|| format!("creating {}", prefix.display()))?;
    let mut cmd = Command::new("npm");
    cmd.arg("install")
        .arg("--prefix")
        .arg(&prefix)
        .args(["--no-audit", "--no-fund", "--no-save", "--no-progress"])
        .arg(format!("axe-core@{AXE_VERSION}"));
    run(cmd).with_context(|| format!("installing axe-core {AXE_VERSION} with npm"))?;
    if !axe_installed(&package)? {
        bail!(
            "npm finished, but {} does not hold axe-core {AXE_VERSION}",
            package.display()
        );
    }
    Ok(())
}

/// Whether `package` (a `node_modules/axe-core` directory) holds
/// `axe.min.js` of version [`AXE_VERSION`].
fn axe_installed(package: &Path) -> Result<bool> {
    let manifest = package.join("package.json");
    if !manifest.is_file() || !package.join("axe.min.js").is_file() {
        return Ok(false);
    }
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    Ok(json_string(&text, "version") == Some(AXE_VERSION))
}

/// The string value of the first `"key": "value"` pair in a JSON text; enough
/// for the top-level fields of a `package.json`, which come first.
fn json_string<'a>(json: &'a str, key: &str) -> Option<&'a str> {
    let quoted = format!("\"{key}\"");
    let after_key = &json[json.find(&quoted)? + quoted.len()..];
    let value = after_key.trim_start().strip_prefix(':')?.trim_start();
    let value = value.strip_prefix('"')?;
    value.get(..value.find('"')?)
}

/// Runs the registry's and the owner console's browser tests with
/// `PLUGBOARD_SCREENSHOTS=docs/images`,
/// so the screenshots they take land in the documentation.
fn screenshots(args: &[String]) -> Result<()> {
    browser_setup()?;
    let mut cmd = cargo();
    cmd.env("PLUGBOARD_SCREENSHOTS", "docs/images");
    cmd.args([
        "test",
        "-p",
        "plugboard-registry",
        "--test",
        "browser",
        "--",
    ]);
    cmd.args(args);
    run(cmd)?;
    // The owner console's pages, served by a bot running the plugins.
    build_plugins()?;
    let mut cmd = cargo();
    cmd.env("PLUGBOARD_SCREENSHOTS", "docs/images");
    cmd.args(["test", "-p", "plugboard", "--test", "browser", "--"]);
    cmd.args(args);
    run(cmd)?;
    eprintln!("xtask: screenshots written to docs/images");
    Ok(())
}
