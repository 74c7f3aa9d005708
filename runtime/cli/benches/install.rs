//! Installing 10 plugins from a registry on loopback.
//!
//! Run with: `RUST_LIB_BACKTRACE=0 cargo bench -p plugboard --bench install`
//! (after `cargo xtask plugins`, which stages `target/plugins/`).
//!
//! Starts the real registry ([`plugboard_registry::serve`]) on 127.0.0.1:0
//! in this process and publishes 10 plugins, `bench-0` … `bench-9`, made from
//! the staged `dice`, `echo`, `notes` and `poll` components in turn. Each
//! component gets a custom section naming its plugin, so that the ten are
//! ten different components for the compile cache (which is keyed by the
//! component's sha256), as ten real plugins would be.
//!
//! Then it times what `plugboard install --yes bench-0 … bench-9` does, with
//! the same calls: [`Manager::open`], [`Manager::plan_install`] (index
//! fetches and resolution), [`Manager::fetch`] (download, checksum,
//! signature, unpacking with component validation and contract check) and
//! [`Manager::apply`] (writing the package directories, the lockfile and the
//! installation record: the switch), into a fresh bot directory each time;
//! then, separately, [`Manager::warm_compile_cache`], which the command runs
//! right after the switch (compiling the new components on every core so the
//! bot's load is a cache hit). Three cases:
//!
//! - **cold**: empty download cache, index cache and compile cache;
//! - **warm compile cache**: the compile cache holds the ten components, the
//!   download and index caches are empty (a second bot of the same user);
//! - **all caches warm**: reinstalling into a new bot with one cache.
//!
//! `--iterations=N` (default 5) runs per case; prints min, median and max of
//! the total and the median of each step.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use plugboard_bot::config::BotConfig;
use plugboard_package::SigningKey;
use plugboard_packages::{Installed, Manager, RegistryClient};
use plugboard_registry::{Config, RateLimit, Registry, Scope};
use semver::VersionReq;

const PLUGINS: usize = 10;
const BASES: [&str; 4] = ["dice", "echo", "notes", "poll"];

fn main() -> Result<()> {
    let iterations: usize = std::env::args()
        .find_map(|a| a.strip_prefix("--iterations=").and_then(|v| v.parse().ok()))
        .unwrap_or(5);

    let work = tempfile::tempdir()?;
    let mut config = Config::default();
    config.publish_rate = RateLimit::new(1000, Duration::from_secs(60));
    // One load generator on one address: the per-address request rate
    // would time 429s instead of the server.
    config.request_rate = RateLimit::new(0, Duration::from_secs(10));
    let registry = Registry::open(&work.path().join("registry"), config)?;
    let token = registry.create_token("bench", Scope::ALL)?;
    let server = tokio::runtime::Runtime::new()?;
    let listener = server.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/", listener.local_addr()?);
    server.spawn(plugboard_registry::serve(
        listener,
        registry,
        std::future::pending(),
    ));

    let publisher = RegistryClient::new("default", &url, &work.path().join("publisher-cache"))?;
    let key = SigningKey::generate()?;
    publisher.register_key(&key, &token)?;
    let mut wasm_bytes = 0;
    for i in 0..PLUGINS {
        wasm_bytes += publish(&publisher, &key, &token, BASES[i % BASES.len()], i)?;
    }
    let wanted: Vec<(String, VersionReq)> = (0..PLUGINS)
        .map(|i| (format!("bench-{i}"), VersionReq::STAR))
        .collect();
    println!(
        "install {PLUGINS} plugins ({} KiB of components) from {url}, {iterations} runs per case",
        wasm_bytes >> 10
    );
    println!();
    println!(
        "| case | min | median | max | open | plan | fetch | apply | then compile | with compile, median |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");

    let cold = (0..iterations)
        .map(|_| {
            let cache = tempfile::tempdir()?;
            install(&url, cache.path(), &wanted)
        })
        .collect::<Result<Vec<_>>>()?;
    row("cold (no caches)", cold);

    let shared = tempfile::tempdir()?;
    install(&url, shared.path(), &wanted)?; // fills the compile cache
    let warm_compile = (0..iterations)
        .map(|_| {
            for dir in ["downloads", "registries"] {
                std::fs::remove_dir_all(shared.path().join(dir))?;
            }
            install(&url, shared.path(), &wanted)
        })
        .collect::<Result<Vec<_>>>()?;
    row("warm compile cache, cold download cache", warm_compile);

    let warm = (0..iterations)
        .map(|_| install(&url, shared.path(), &wanted))
        .collect::<Result<Vec<_>>>()?;
    row("all caches warm", warm);

    server.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// Publishes staged plugin `base` as `bench-<i>` 1.0.0, its component
/// made unique with a custom section; returns the component's size.
fn publish(
    client: &RegistryClient,
    key: &SigningKey,
    token: &str,
    base: &str,
    i: usize,
) -> Result<usize> {
    let name = format!("bench-{i}");
    let from = staged(base);
    let dir = tempfile::tempdir()?;
    let mut wasm = std::fs::read(from.join("plugin.wasm"))?;
    append_custom_section(&mut wasm, "plugboard-bench", name.as_bytes());
    std::fs::write(dir.path().join("plugin.wasm"), &wasm)?;
    let mut manifest: toml::Table = std::fs::read_to_string(from.join("plugin.toml"))?.parse()?;
    manifest.insert("name".into(), name.as_str().into());
    manifest.insert("version".into(), "1.0.0".into());
    std::fs::write(dir.path().join("plugin.toml"), toml::to_string(&manifest)?)?;
    std::fs::write(
        dir.path().join("README.md"),
        format!("# {name}\n\nA plugin for the install benchmark.\n"),
    )?;
    let package = plugboard_package::pack(dir.path())?;
    client
        .publish(package.bytes(), key, token)
        .with_context(|| format!("publishing {name}"))?;
    Ok(wasm.len())
}

/// Appends a custom section (id 0) to a component or module.
fn append_custom_section(wasm: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut content = Vec::new();
    leb128(&mut content, name.len());
    content.extend_from_slice(name.as_bytes());
    content.extend_from_slice(data);
    wasm.push(0);
    leb128(wasm, content.len());
    wasm.extend_from_slice(&content);
}

fn leb128(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The staged plugin `name`: `target/plugins/<name>`.
fn staged(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/plugins")
        .join(name);
    assert!(
        dir.join("plugin.wasm").exists(),
        "{} has no plugin.wasm: run `cargo xtask plugins` first",
        dir.display()
    );
    dir
}

/// The time of each step of one install into a fresh bot directory.
struct Steps {
    open: Duration,
    plan: Duration,
    fetch: Duration,
    apply: Duration,
    /// The compile-cache warm-up after the switch.
    compile: Duration,
}

impl Steps {
    fn total(&self) -> Duration {
        self.open + self.plan + self.fetch + self.apply
    }
}

/// `plugboard install --yes <wanted>` into a new bot that caches in `cache`.
fn install(url: &str, cache: &Path, wanted: &[(String, VersionReq)]) -> Result<Steps> {
    let bot = tempfile::tempdir()?;
    let text = format!(
        "[runtime]\ndata_dir = \"data\"\ncache_dir = {:?}\nplugin_dirs = []\n\n\
         [registries]\ndefault = {url:?}\n",
        cache.display().to_string()
    );
    let path = bot.path().join("plugboard.toml");
    std::fs::write(&path, &text)?;
    let config = BotConfig::parse(&text, &path, bot.path().to_path_buf())?;

    let started = Instant::now();
    let manager = Manager::open(&config, None)?;
    let open = started.elapsed();
    let started = Instant::now();
    let mut plan = manager.plan_install(wanted)?;
    let plan_time = started.elapsed();
    ensure!(
        plan.changes.len() == PLUGINS,
        "expected {PLUGINS} installs, planned {}",
        plan.changes.len()
    );
    let started = Instant::now();
    manager.fetch(&mut plan, &mut |_, _, _| {})?;
    let fetch = started.elapsed();
    let started = Instant::now();
    manager.apply(plan)?;
    let apply = started.elapsed();
    let started = Instant::now();
    let problems = manager.warm_compile_cache();
    let compile = started.elapsed();
    ensure!(problems.is_empty(), "{problems:?}");
    drop(manager); // it holds the packages lock

    let installed = Installed::load(&config.data_dir())?.plugins.len();
    ensure!(installed == PLUGINS, "{installed} plugins installed");
    Ok(Steps {
        open,
        plan: plan_time,
        fetch,
        apply,
        compile,
    })
}

fn row(case: &str, runs: Vec<Steps>) {
    let median = |f: &dyn Fn(&Steps) -> Duration| {
        let mut v: Vec<Duration> = runs.iter().map(f).collect();
        v.sort();
        v[v.len() / 2]
    };
    let mut totals: Vec<Duration> = runs.iter().map(Steps::total).collect();
    totals.sort();
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!(
        "| {case} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        ms(totals[0]),
        ms(totals[totals.len() / 2]),
        ms(totals[totals.len() - 1]),
        ms(median(&|s| s.open)),
        ms(median(&|s| s.plan)),
        ms(median(&|s| s.fetch)),
        ms(median(&|s| s.apply)),
        ms(median(&|s| s.compile)),
        ms(median(&|s| s.total() + s.compile)),
    );
}
