//! The package manager end to end: the real `plugboard` binary installs,
//! updates and removes plugins from a real registry server
//! (`plugboard-registry`) on 127.0.0.1, and a running bot picks the changes
//! up.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use plugboard_package::SigningKey;
use plugboard_packages::{Installed, RegistryClient};
use plugboard_registry::{Config, Registry, Scope};

use crate::support::{PATIENCE, plugins_dir, shared_cache, test_plugins_dir};

/// A registry server with one publisher, `ann`.
pub(crate) struct Market {
    pub(crate) url: String,
    pub(crate) token: String,
    key: SigningKey,
    /// Stops the server when dropped.
    runtime: Option<tokio::runtime::Runtime>,
    dir: tempfile::TempDir,
}

/// Serves `registry` on a free port of 127.0.0.1 until the runtime is
/// dropped; its URL, with a trailing slash.
pub(crate) fn serve(registry: Registry) -> Result<(tokio::runtime::Runtime, String)> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}/", listener.local_addr()?);
    runtime.spawn(plugboard_registry::serve(
        listener,
        registry,
        std::future::pending(),
    ));
    Ok((runtime, url))
}

impl Market {
    pub(crate) fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let registry = Registry::open(&dir.path().join("registry"), Config::default())?;
        let token = registry.create_token("ann", Scope::ALL)?;
        let (runtime, url) = serve(registry)?;
        let key = SigningKey::generate()?;
        let market = Self {
            url,
            token,
            key,
            runtime: Some(runtime),
            dir,
        };
        market.client()?.register_key(&market.key, &market.token)?;
        Ok(market)
    }

    pub(crate) fn client(&self) -> Result<RegistryClient> {
        Ok(RegistryClient::new(
            "default",
            &self.url,
            &self.dir.path().join("publisher-cache"),
        )?)
    }

    /// Publishes the component of official plugin `base` (or test plugin
    /// `testing/<name>`) as `name` `version`, depending on `deps`.
    pub(crate) fn publish(
        &self,
        base: &str,
        name: &str,
        version: &str,
        deps: &[(&str, &str)],
    ) -> Result<()> {
        self.publish_edited(base, name, version, deps, |_, _| Ok(()))
    }

    /// [`Market::publish`], with `edit` changing the component and the
    /// manifest before packing.
    pub(crate) fn publish_edited(
        &self,
        base: &str,
        name: &str,
        version: &str,
        deps: &[(&str, &str)],
        edit: impl FnOnce(&mut Vec<u8>, &mut toml::Table) -> Result<()>,
    ) -> Result<()> {
        let dir = tempfile::tempdir()?;
        let from = match base.strip_prefix("testing/") {
            Some(test) => test_plugins_dir().join(test),
            None => plugins_dir().join(base),
        };
        let mut wasm = std::fs::read(from.join("plugin.wasm"))?;
        let mut manifest: toml::Table =
            std::fs::read_to_string(from.join("plugin.toml"))?.parse()?;
        edit(&mut wasm, &mut manifest)?;
        std::fs::write(dir.path().join("plugin.wasm"), wasm)?;
        manifest.insert("name".into(), name.into());
        manifest.insert("version".into(), version.into());
        let mut dependencies = toml::Table::new();
        for (dep, req) in deps {
            dependencies.insert((*dep).into(), (*req).into());
        }
        manifest.insert("dependencies".into(), dependencies.into());
        std::fs::write(dir.path().join("plugin.toml"), toml::to_string(&manifest)?)?;
        std::fs::write(
            dir.path().join("README.md"),
            format!("# {name}\n\nA test plugin.\n"),
        )?;
        let package = plugboard_package::pack(dir.path())?;
        self.client()?
            .publish(package.bytes(), &self.key, &self.token)
            .with_context(|| format!("publishing {name} {version}"))?;
        Ok(())
    }

    /// Stops the server (for offline tests).
    fn stop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for Market {
    fn drop(&mut self) {
        // Also dropped inside async tests, where blocking is not allowed.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A bot directory: `plugboard.toml` pointing at the market, no local
/// plugins.
pub(crate) struct BotDir {
    dir: tempfile::TempDir,
}

impl BotDir {
    pub(crate) fn new(market: &Market, extra: &str) -> Result<Self> {
        Self::new_for(&market.url, &shared_cache(), extra)
    }

    /// A bot directory for the registry at `url`, caching in `cache`.
    pub(crate) fn new_for(url: &str, cache: &Path, extra: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::write(
            dir.path().join("plugboard.toml"),
            format!(
                "[runtime]\ndata_dir = \"data\"\ncache_dir = {:?}\nplugin_dirs = []\nmax_instances = 64\n\n\
                 [registries]\ndefault = {:?}\n\n{extra}",
                cache.display().to_string(),
                url,
            ),
        )?;
        Ok(Self { dir })
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.dir.path().join("plugboard.toml")
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn lockfile(&self) -> Result<String> {
        Ok(std::fs::read_to_string(
            self.dir.path().join("plugboard.lock"),
        )?)
    }

    pub(crate) fn installed(&self) -> Result<Vec<(String, String)>> {
        Ok(Installed::load(&self.data())?
            .plugins
            .iter()
            .map(|p| (p.name.clone(), p.version.to_string()))
            .collect())
    }

    /// Runs `plugboard <args> --config <this config>`.
    fn run(&self, market: &Market, args: &[&str]) -> Result<Output> {
        self.run_with(&market.token, args)
    }

    fn run_with(&self, token: &str, args: &[&str]) -> Result<Output> {
        let output = Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(args)
            .arg("--config")
            .arg(self.config())
            .env("PLUGBOARD_REGISTRY_TOKEN", token)
            .env("PLUGBOARD_HOME", self.dir.path().join("home"))
            .env("PLUGBOARD_LOG", "warn")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .stdin(Stdio::null())
            .output()?;
        Ok(output)
    }

    /// Runs a command that must succeed (returns its stdout) or fail
    /// (returns its stderr).
    pub(crate) fn expect(&self, token: &str, args: &[&str], success: bool) -> Result<String> {
        let output = self.run_with(token, args)?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        ensure!(
            output.status.success() == success,
            "plugboard {args:?} {}:\n{stdout}\n{stderr}",
            if success { "failed" } else { "succeeded" }
        );
        Ok(if success { stdout } else { stderr })
    }

    pub(crate) fn ok(&self, market: &Market, args: &[&str]) -> Result<String> {
        self.expect(&market.token, args, true)
    }

    pub(crate) fn refused(&self, market: &Market, args: &[&str]) -> Result<String> {
        self.expect(&market.token, args, false)
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

#[test]
fn install_resolves_dependencies_and_explains_conflicts() -> Result<()> {
    let market = Market::start()?;
    market.publish("dice", "economy", "1.0.0", &[])?;
    market.publish("dice", "economy", "2.0.0", &[])?;
    market.publish("echo", "shop", "1.0.0", &[("economy", "^1")])?;
    market.publish("echo", "bank", "1.0.0", &[("economy", "^2")])?;
    let bot = BotDir::new(&market, "")?;

    let out = bot.ok(&market, &["install", "shop"])?;
    assert!(
        out.contains("install economy 1.0.0 (a dependency)"),
        "{out}"
    );
    assert!(out.contains("install shop 1.0.0"), "{out}");
    assert_eq!(
        bot.installed()?,
        pairs(&[("economy", "1.0.0"), ("shop", "1.0.0")])
    );
    let lock = bot.lockfile()?;
    assert!(lock.contains("name = \"economy\""), "{lock}");
    assert!(
        lock.contains("dependencies = [\"economy 1.0.0\"]"),
        "{lock}"
    );

    // bank needs economy ^2, shop needs ^1: refused, with the reason.
    let refused = bot.refused(&market, &["install", "bank"])?;
    assert!(refused.contains("economy ^2"), "{refused}");
    assert!(refused.contains("economy ^1"), "{refused}");
    assert_eq!(bot.installed()?.len(), 2, "nothing changed");

    let refused = bot.refused(&market, &["remove", "economy"])?;
    assert!(refused.contains("shop depends on it"), "{refused}");

    let refused = bot.refused(&market, &["install", "shpo"])?;
    assert!(refused.contains("no plugin named `shpo`"), "{refused}");
    assert!(
        refused.contains("shop"),
        "suggests the close name: {refused}"
    );

    // Removing shop takes the dependency nobody needs any more with it.
    let out = bot.ok(&market, &["remove", "shop"])?;
    assert!(out.contains("remove economy 1.0.0"), "{out}");
    assert!(bot.installed()?.is_empty());
    Ok(())
}

#[test]
fn an_install_that_would_share_a_command_is_refused_until_the_owner_decides() -> Result<()> {
    let market = Market::start()?;
    market.publish("echo", "greet", "1.0.0", &[])?;
    market.publish("echo", "parrot", "1.0.0", &[])?;
    let bot = BotDir::new(&market, "")?;
    bot.ok(&market, &["install", "greet"])?;
    let refused = bot.refused(&market, &["install", "parrot"])?;
    for expected in [
        "both `greet` and `parrot` declare /echo",
        "both `greet` and `parrot` declare /whoami",
        "add `echo = \"parrot\"` (or \"greet\") under [commands]",
        "Nothing was installed.",
    ] {
        assert!(
            refused.contains(expected),
            "expected {expected:?} in: {refused}"
        );
    }
    assert_eq!(bot.installed()?, pairs(&[("greet", "1.0.0")]));
    // The owner decides both names; the install goes through.
    let mut config = std::fs::read_to_string(bot.config())?;
    config.push_str("\n[commands]\necho = \"parrot\"\nwhoami = \"greet\"\n");
    std::fs::write(bot.config(), config)?;
    bot.ok(&market, &["install", "parrot"])?;
    assert_eq!(
        bot.installed()?,
        pairs(&[("greet", "1.0.0"), ("parrot", "1.0.0")])
    );
    Ok(())
}

/// Rewrites every `plugboard:plugin/<interface>@0.1.0` name in `wasm` to
/// `@0.1.1` (same length, so the component stays valid): the component a
/// plugin-sdk for contract 0.1.1 would build.
fn rebuild_for_contract_0_1_1(wasm: &mut [u8]) -> Result<usize> {
    const FROM: &[u8] = b"@0.1.0";
    let mut renamed = 0;
    let mut at = 0;
    while let Some(offset) = wasm[at..].windows(FROM.len()).position(|w| w == FROM) {
        let end = at + offset;
        let start = wasm[..end]
            .iter()
            .rposition(|&b| !(b.is_ascii_alphanumeric() || b":/-_.".contains(&b)))
            .map_or(0, |i| i + 1);
        if wasm[start..end].starts_with(b"plugboard:plugin/") {
            wasm[end + FROM.len() - 1] = b'1';
            renamed += 1;
        }
        at = end + FROM.len();
    }
    ensure!(renamed > 0, "no plugboard:plugin names found");
    Ok(renamed)
}

#[test]
fn a_plugin_built_for_contract_0_1_1_installs_and_loads_on_this_host() -> Result<()> {
    let market = Market::start()?;
    market.publish_edited("echo", "echo", "1.0.0", &[], |wasm, manifest| {
        // The frozen 0.1.0 echo answers every command like `/echo`.
        *wasm = std::fs::read(crate::support::frozen_echo_0_1_dir().join("plugin.wasm"))?;
        rebuild_for_contract_0_1_1(wasm)?;
        manifest.insert("wit".into(), "0.1.1".into());
        Ok(())
    })?;
    let bot = BotDir::new(&market, "[console]\nenabled = true\n")?;
    bot.ok(&market, &["install", "echo"])?;
    assert_eq!(bot.installed()?, pairs(&[("echo", "1.0.0")]));
    // `plugboard run` loads it and it answers.
    let (stdout, stderr) = crate::cli::run_console(&bot.config(), "/echo built for 0.1.1\n")?;
    assert_eq!(stdout.trim_end(), "built for 0.1.1", "stderr: {stderr}");
    let listing = bot.ok(&market, &["plugins", "list", "--json"])?;
    let rows: serde_json::Value = serde_json::from_str(&listing)?;
    let plugins = rows["plugins"].as_array().context("plugins")?;
    assert_eq!(plugins.len(), 1, "{listing}");
    assert_eq!(plugins[0]["name"], "echo", "{listing}");
    assert_eq!(plugins[0]["status"], "ok", "{listing}");
    assert_eq!(rows["not_loaded"], serde_json::json!([]), "{listing}");
    Ok(())
}

#[test]
fn permissions_are_shown_and_must_be_accepted() -> Result<()> {
    let market = Market::start()?;
    market.publish("poll", "poll", "1.0.0", &[])?;
    let bot = BotDir::new(&market, "")?;

    let output = bot.run(&market, &["install", "poll"])?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stdout.contains("poll asks to:"), "{stdout}");
    assert!(stdout.contains("key-value store (kv)"), "{stdout}");
    assert!(stderr.contains("--yes"), "{stderr}");
    assert!(bot.installed()?.is_empty(), "nothing installed");

    let out = bot.ok(&market, &["install", "poll", "--yes", "--json"])?;
    let json: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(json["changes"][0]["action"], "install");
    assert_eq!(json["changes"][0]["permissions"][0], "kv");
    let record = Installed::load(&bot.data())?;
    assert_eq!(
        record.grants("poll"),
        &[plugboard_registry_types::Permission::Kv]
    );

    let listed = bot.ok(&market, &["plugins", "list"])?;
    assert!(listed.contains("1.0.0 (from default)"), "{listed}");
    Ok(())
}

#[test]
fn outdated_and_update_follow_the_requirements() -> Result<()> {
    let market = Market::start()?;
    market.publish("echo", "greet", "1.0.0", &[])?;
    let bot = BotDir::new(&market, "")?;
    bot.ok(&market, &["install", "greet@^1"])?;
    market.publish("echo", "greet", "1.1.0", &[])?;
    market.publish("echo", "greet", "2.0.0", &[])?;

    let out = bot.ok(&market, &["outdated", "--json"])?;
    let json: serde_json::Value = serde_json::from_str(&out)?;
    assert_eq!(json["outdated"][0]["installed"], "1.0.0");
    assert_eq!(json["outdated"][0]["compatible"], "1.1.0");
    assert_eq!(json["outdated"][0]["latest"], "2.0.0");

    // `install` honours the lockfile: still 1.0.0.
    bot.ok(&market, &["install", "greet@^1"])?;
    assert_eq!(bot.installed()?, pairs(&[("greet", "1.0.0")]));

    let out = bot.ok(&market, &["update"])?;
    assert!(out.contains("update greet 1.0.0 -> 1.1.0"), "{out}");
    assert_eq!(bot.installed()?, pairs(&[("greet", "1.1.0")]));
    assert!(bot.lockfile()?.contains("version = \"1.1.0\""));
    let out = bot.ok(&market, &["update"])?;
    assert!(out.contains("nothing to do"), "{out}");
    Ok(())
}

#[test]
fn a_tampered_lockfile_is_refused_and_a_reinstall_works_offline() -> Result<()> {
    let mut market = Market::start()?;
    market.publish("echo", "greet", "1.0.0", &[])?;
    market.publish("dice", "roller", "1.0.0", &[])?;
    let bot = BotDir::new(&market, "")?;
    bot.ok(&market, &["install", "greet"])?;

    let lock_path = bot.dir.path().join("plugboard.lock");
    let lock = std::fs::read_to_string(&lock_path)?;
    let sha = lock
        .lines()
        .find_map(|l| l.strip_prefix("sha256 = \""))
        .and_then(|l| l.strip_suffix('"'))
        .context("a sha256 line")?
        .to_owned();
    std::fs::write(&lock_path, lock.replace(&sha, &"0".repeat(64)))?;
    let refused = bot.refused(&market, &["install", "roller"])?;
    assert!(refused.contains("plugboard.lock"), "{refused}");
    assert!(bot.installed()?.iter().all(|(n, _)| n != "roller"));
    std::fs::write(&lock_path, lock)?;

    // Everything needed is cached: the index, the key and the package.
    bot.ok(&market, &["remove", "greet"])?;
    market.stop();
    bot.ok(&market, &["install", "greet"])?;
    assert_eq!(bot.installed()?, pairs(&[("greet", "1.0.0")]));
    Ok(())
}

/// Asks `/echo <word>` until the bot answers it with `<word>`.
async fn wait_for_echo(bot: &mut crate::support::TestBot, word: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answer = bot.ask("c", &format!("/echo {word}")).await?;
        if answer == word {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the bot never answered /echo {word}; last answer: {answer}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work).await?
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_bot_switches_live_and_rolls_back_a_broken_update() -> Result<()> {
    let market = blocking(Market::start).await?;
    let market = std::sync::Arc::new(market);
    {
        let market = std::sync::Arc::clone(&market);
        blocking(move || {
            market.publish("echo", "parrot", "1.0.0", &[])?;
            // 1.1.0 is the dice component, which refuses `max_dice = 0`.
            market.publish("dice", "parrot", "1.1.0", &[])
        })
        .await?;
    }
    let extra = format!(
        "[registries]\ndefault = {:?}\n\n[plugins.parrot.config]\nmax_dice = 0\n",
        market.url
    );
    let mut bot = crate::support::TestBot::start(&[], &extra)?;
    let bot_dir = bot.data.path().to_path_buf();
    let config = bot_dir.join("test.toml");
    std::fs::write(
        &config,
        format!(
            "[runtime]\ndata_dir = {:?}\ncache_dir = {:?}\nplugin_dirs = []\nmax_instances = 64\n\n{extra}",
            bot_dir.join("data").display().to_string(),
            shared_cache().display().to_string(),
        ),
    )?;
    let cli = {
        let market = std::sync::Arc::clone(&market);
        move |args: &'static [&'static str]| {
            let market = std::sync::Arc::clone(&market);
            let config = config.clone();
            blocking(move || cli_ok(&market, &config, args))
        }
    };

    cli(&["install", "parrot@=1.0.0"]).await?;
    wait_for_echo(&mut bot, "hello").await?;

    let out = cli(&["install", "parrot@^1"]).await?;
    assert!(out.contains("recording them"), "{out}");
    let out = cli(&["update", "parrot"]).await?;
    assert!(out.contains("update parrot 1.0.0 -> 1.1.0"), "{out}");
    // The bot loads 1.1.0 beside 1.0.0, sees it fail to start, keeps 1.0.0
    // and restores the previous record.
    let data = bot_dir.join("data");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let record = Installed::load(&data)?;
        if record
            .get("parrot")
            .is_some_and(|p| p.version.to_string() == "1.0.0")
        {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the record was not rolled back: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The lockfile went back with the record.
    let lock = std::fs::read_to_string(bot_dir.join("plugboard.lock"))?;
    assert!(lock.contains("version = \"1.0.0\""), "{lock}");
    wait_for_echo(&mut bot, "still here").await?;
    // Kept: the data directory goes with the last handle.
    let _data = bot.stop().await?;
    // The install is in the audit log; the update that was rolled back is
    // not (nothing changed).
    let store = plugboard_store::SledStore::open(&data.join("store"))?;
    let people = plugboard_people::People::new(
        std::sync::Arc::new(store) as std::sync::Arc<dyn plugboard_store::PeopleRecords>,
        std::sync::Arc::new(plugboard_schedule::SystemClock),
    );
    let changes: Vec<(String, String, String, String)> = people
        .audit_tail(None, 100)?
        .into_iter()
        .filter(|e| ["install", "update", "remove"].contains(&e.action.as_str()))
        .map(|e| (e.actor, e.action, e.subject, e.detail))
        .collect();
    assert_eq!(
        changes,
        [(
            "packages".to_owned(),
            "install".to_owned(),
            "parrot".to_owned(),
            "1.0.0".to_owned()
        )]
    );
    Ok(())
}

pub(crate) fn cli_ok(market: &Market, config: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(args)
        .arg("--config")
        .arg(config)
        .arg("--yes")
        .env("PLUGBOARD_REGISTRY_TOKEN", &market.token)
        .env("PLUGBOARD_LOG", "warn")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .stdin(Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "plugboard {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

/// A registry that serves whatever the test crafted: index lines, package
/// bytes and keys. The client must trust none of it.
pub(crate) struct Rogue {
    pub(crate) url: String,
    pub(crate) key: SigningKey,
    served: std::sync::Arc<std::sync::Mutex<Served>>,
    _runtime: tokio::runtime::Runtime,
}

#[derive(Default)]
struct Served {
    index: String,
    package: Vec<u8>,
    public_key: String,
}

impl Rogue {
    pub(crate) fn start() -> Result<Self> {
        use axum::extract::State;
        use axum::routing::get;
        type Shared = std::sync::Arc<std::sync::Mutex<Served>>;
        fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Served> {
            s.lock().unwrap_or_else(|p| p.into_inner())
        }
        let key = SigningKey::generate()?;
        let served: Shared = Default::default();
        lock(&served).public_key = key.public_key().to_string();
        let app = axum::Router::new()
            .route(
                "/index/{name}",
                get(|State(s): State<Shared>| async move { lock(&s).index.clone() }),
            )
            .route(
                "/api/v1/plugins/{name}/{version}/download",
                get(|State(s): State<Shared>| async move { lock(&s).package.clone() }),
            )
            .route(
                "/api/v1/keys/{id}",
                get(
                    |State(s): State<Shared>, axum::extract::Path(id): axum::extract::Path<String>| async move {
                        serde_json::json!({
                            "key_id": id, "public_key": lock(&s).public_key, "created_at": "2026-01-01T00:00:00Z"
                        })
                        .to_string()
                    },
                ),
            )
            .with_state(std::sync::Arc::clone(&served));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("http://{}/", listener.local_addr()?);
        runtime.spawn(async move { axum::serve(listener, app).await });
        Ok(Self {
            url,
            key,
            served,
            _runtime: runtime,
        })
    }

    /// Serves `package` as `echo 1.0.0`, listed with the checksum and
    /// signature of `listed` (the same bytes unless a test lies), signed by
    /// `signer`.
    fn serve(&self, listed: &[u8], package: Vec<u8>, signer: &SigningKey) -> Result<()> {
        self.serve_as("echo", "0.1.0", listed, package, signer)
    }

    /// [`Rogue::serve`], as `name` 1.0.0 for contract `wit`.
    pub(crate) fn serve_as(
        &self,
        name: &str,
        wit: &str,
        listed: &[u8],
        package: Vec<u8>,
        signer: &SigningKey,
    ) -> Result<()> {
        let checksum = plugboard_package::Checksum::of(listed);
        let mut entry = plugboard_registry_types::IndexEntry::new(
            name,
            "1.0.0".parse()?,
            wit.parse()?,
            checksum.to_string(),
        );
        entry.signature = signer.sign(&checksum).to_string();
        entry.key_id = self.key.public_key().key_id();
        let mut served = self.served.lock().unwrap_or_else(|p| p.into_inner());
        served.index = format!("{}\n", entry.to_line());
        served.package = package;
        Ok(())
    }
}

/// A gzip tarball of `entries`, written byte by byte so that names the tar
/// crate's safe API refuses (`../x`) can be made.
pub(crate) fn tarball(entries: &[(&str, tar::EntryType, &[u8])]) -> Result<Vec<u8>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for (name, kind, data) in entries {
        let mut header = tar::Header::new_gnu();
        let raw = &mut header.as_old_mut().name;
        raw[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(*kind);
        header.set_mode(0o644);
        if *kind == tar::EntryType::Symlink {
            header.set_link_name("/etc/passwd")?;
            header.set_size(0);
            header.set_cksum();
            builder.append(&header, std::io::empty())?;
        } else {
            header.set_size(data.len() as u64);
            header.set_cksum();
            builder.append(&header, *data)?;
        }
    }
    Ok(builder.into_inner()?.finish()?)
}

#[test]
fn hostile_packages_from_a_rogue_registry_change_nothing() -> Result<()> {
    let rogue = Rogue::start()?;
    // Its own cache: verified downloads are reused by sha256, and this test
    // serves different bytes under one name.
    let cache = tempfile::tempdir()?;
    let bot = BotDir::new_for(&rogue.url, cache.path(), "")?;
    let echo = plugins_dir().join("echo");
    let manifest = std::fs::read(echo.join("plugin.toml"))?;
    let manifest =
        String::from_utf8(manifest)?.replace("0.1.0\"\ndescription", "1.0.0\"\ndescription");
    let wasm = std::fs::read(echo.join("plugin.wasm"))?;
    let regular = tar::EntryType::Regular;
    let good = tarball(&[
        ("README.md", regular, b"# echo\n"),
        ("plugin.toml", regular, manifest.as_bytes()),
        ("plugin.wasm", regular, &wasm),
    ])?;
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 1;
    let slip = tarball(&[
        ("../evil.txt", regular, b"owned"),
        ("plugin.toml", regular, manifest.as_bytes()),
        ("plugin.wasm", regular, &wasm),
    ])?;
    let linked = tarball(&[
        ("README.md", regular, b"# echo\n"),
        ("plugin.toml", regular, manifest.as_bytes()),
        ("plugin.wasm", tar::EntryType::Symlink, b""),
    ])?;
    let zeros = vec![0u8; 48 << 20];
    let bomb = tarball(&[
        ("README.md", regular, b"# echo\n"),
        ("plugin.toml", regular, manifest.as_bytes()),
        ("plugin.wasm", regular, &zeros),
    ])?;
    let stranger = SigningKey::generate()?;

    // What is wrong, the bytes the index lists, the bytes served, the
    // signer, and what the refusal must mention.
    type Case<'a> = (&'a str, &'a [u8], Vec<u8>, &'a SigningKey, &'a str);
    let cases: [Case<'_>; 5] = [
        ("one flipped byte", &good, flipped, &rogue.key, "sha256"),
        (
            "signed by another key",
            &good,
            good.clone(),
            &stranger,
            "signature",
        ),
        (
            "a `..` path",
            &slip,
            slip.clone(),
            &rogue.key,
            "../evil.txt",
        ),
        ("a symlink", &linked, linked.clone(), &rogue.key, "link"),
        (
            "48 MiB inflated",
            &bomb,
            bomb.clone(),
            &rogue.key,
            "plugin.wasm",
        ),
    ];
    for (what, listed, served, signer, expected) in cases {
        rogue.serve(listed, served, signer)?;
        let refused = bot
            .expect("", &["install", "echo", "--yes"], false)
            .with_context(|| format!("serving a package with {what}"))?;
        assert!(
            refused.contains(expected),
            "{what}: the error should mention {expected:?}: {refused}"
        );
        assert!(
            bot.installed()?.is_empty(),
            "{what}: something was installed"
        );
        let packages = Installed::root(&bot.data());
        let unpacked = std::fs::read_dir(&packages)
            // The lock file that serialises package commands may exist.
            .map(|dir| dir.flatten().filter(|e| e.file_name() != ".lock").count())
            .unwrap_or(0);
        assert_eq!(
            unpacked,
            0,
            "{what}: files were written in {}",
            packages.display()
        );
        assert!(!bot.dir.path().join("evil.txt").exists());
        assert!(!bot.data().join("evil.txt").exists());
    }

    // The same registry serving the honest package installs it.
    rogue.serve(&good, good.clone(), &rogue.key)?;
    bot.expect("", &["install", "echo", "--yes"], true)?;
    assert_eq!(bot.installed()?, pairs(&[("echo", "1.0.0")]));
    Ok(())
}

#[test]
fn a_yanked_version_is_skipped_unless_locked() -> Result<()> {
    let market = Market::start()?;
    market.publish("echo", "greet", "1.0.0", &[])?;
    market.publish("echo", "greet", "1.1.0", &[])?;
    let locked = BotDir::new(&market, "")?;
    locked.ok(&market, &["install", "greet"])?;
    assert_eq!(locked.installed()?, pairs(&[("greet", "1.1.0")]));

    let yank = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()?
        .delete(format!("{}api/v1/plugins/greet/1.1.0/yank", market.url))
        .bearer_auth(&market.token)
        .send()?;
    ensure!(yank.status().is_success(), "yank: {}", yank.status());

    let fresh = BotDir::new(&market, "")?;
    fresh.ok(&market, &["install", "greet"])?;
    assert_eq!(fresh.installed()?, pairs(&[("greet", "1.0.0")]));

    // The bot with the lockfile reinstalls what it locked, yanked or not.
    std::fs::remove_dir_all(locked.data())?;
    locked.ok(&market, &["install", "greet"])?;
    assert_eq!(locked.installed()?, pairs(&[("greet", "1.1.0")]));
    Ok(())
}
