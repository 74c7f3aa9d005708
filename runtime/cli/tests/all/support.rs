//! Shared helpers: where the built plugins are, and a bot wired to the
//! in-process adapter.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use plugboard_adapter::memory::{MemoryAdapter, MemoryHandle};
use plugboard_bot::bot::{Bot, LoadReport};
use plugboard_bot::config::BotConfig;
use plugboard_host::engine::{EngineOptions, PluginEngine};
use plugboard_model::event::{Outbound, OutboundOp};
use tokio::task::JoinHandle;

/// Generous bound for one answer; only a hung bot ever reaches it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Config turning the rate limits off, for tests that send many commands
/// at once about something else.
pub const NO_RATE_LIMITS: &str =
    "[people.rate]\nuser_command = \"none\"\nuser_plugin = \"none\"\nchat = \"none\"\n";

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn staged(kind: &str) -> PathBuf {
    let dir = root().join("target").join(kind);
    assert!(
        dir.join("echo").join("plugin.wasm").exists()
            || dir.join("hostile").join("plugin.wasm").exists(),
        "{} has no built plugins: run `cargo xtask test` (or `cargo xtask plugins` before `cargo test`)",
        dir.display()
    );
    dir
}

/// The official plugins, staged by `cargo xtask plugins`.
pub fn plugins_dir() -> PathBuf {
    staged("plugins")
}

/// The test-only plugins, staged by `cargo xtask plugins`.
pub fn test_plugins_dir() -> PathBuf {
    staged("test-plugins")
}

/// The official `echo` as built for contract 0.1.0, frozen (its README
/// says why; `contract::the_frozen_0_1_echo_is_the_one_recorded` checks it).
pub fn frozen_echo_0_1_dir() -> PathBuf {
    root().join("runtime/cli/tests/fixtures/echo-0.1.0")
}

/// A compile cache shared by all tests (entries are keyed by content).
pub fn shared_cache() -> PathBuf {
    root().join("target").join("plugboard-test-cache")
}

/// An engine like the bot's, with the shared cache.
pub fn engine() -> Result<PluginEngine> {
    Ok(PluginEngine::new(&EngineOptions {
        max_instances: 64,
        max_memory_bytes: 64 << 20,
        cache_dir: Some(shared_cache()),
    })?)
}

/// TOML for a plugin_dirs list.
pub fn dirs_toml(dirs: &[&Path]) -> String {
    let quoted: Vec<String> = dirs
        .iter()
        .map(|d| format!("{:?}", d.display().to_string()))
        .collect();
    format!("[{}]", quoted.join(", "))
}

/// Writes `dir/plugboard.toml`: data in `dir/data`, the shared cache, the
/// plugins of `plugin_dirs`, then `sections`.
pub fn write_config(dir: &Path, plugin_dirs: &[&Path], sections: &str) -> Result<PathBuf> {
    let path = dir.join("plugboard.toml");
    std::fs::write(
        &path,
        format!(
            "[runtime]\ndata_dir = \"data\"\ncache_dir = {:?}\nplugin_dirs = {}\n\n{sections}",
            shared_cache().display().to_string(),
            dirs_toml(plugin_dirs),
        ),
    )?;
    Ok(path)
}

/// Starts `plugboard run` on a config written in `dir` by [`write_config`]
/// with the official plugins and the adapter `sections`. `env` is set and the proxy variables removed, so that the
/// fakes on 127.0.0.1 are reached directly; the process dies with the handle.
pub fn plugboard_run(
    dir: &Path,
    sections: &str,
    env: &[(&str, &str)],
) -> Result<tokio::process::Child> {
    let config = write_config(dir, &[&plugins_dir()], sections)?;
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugboard"));
    command.args(["run", "--config"]).arg(&config);
    for (name, value) in env {
        command.env(name, value);
    }
    for proxy in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        command.env_remove(proxy);
    }
    Ok(command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?)
}

/// A bot running in a task until [`Running::stop`].
pub struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    done: JoinHandle<Result<(), plugboard_bot::bot::BotError>>,
}

impl Running {
    /// Runs `bot`, with `memory` after the adapters it already has.
    pub fn spawn(mut bot: Bot, memory: Option<MemoryAdapter>) -> Self {
        if let Some(memory) = memory {
            bot.add_adapter(Box::new(memory));
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(bot.run(async move {
            let _ = stopped.await;
        }));
        Self { stop, done }
    }

    /// Asks the bot to stop and waits until it has, cleanly.
    pub async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.done).await???;
        Ok(())
    }
}

/// A running bot on the in-process adapter.
pub struct TestBot {
    pub handle: MemoryHandle,
    pub report: LoadReport,
    pub router: Arc<plugboard_bot::router::Router>,
    running: JoinHandle<Result<(), plugboard_bot::bot::BotError>>,
    pub data: Arc<tempfile::TempDir>,
}

impl TestBot {
    /// Starts a bot over `plugin_dirs` with `extra` TOML appended to the config.
    pub fn start(plugin_dirs: &[&Path], extra: &str) -> Result<Self> {
        Self::start_in(Arc::new(tempfile::tempdir()?), plugin_dirs, extra)
    }

    /// Like [`TestBot::start`], keeping data in `data` (to test restarts).
    pub fn start_in(
        data: Arc<tempfile::TempDir>,
        plugin_dirs: &[&Path],
        extra: &str,
    ) -> Result<Self> {
        Self::start_on(
            data,
            plugin_dirs,
            extra,
            Arc::new(plugboard_schedule::SystemClock),
        )
    }

    /// Like [`TestBot::start_in`], with schedules on `clock`.
    pub fn start_on(
        data: Arc<tempfile::TempDir>,
        plugin_dirs: &[&Path],
        extra: &str,
        clock: Arc<dyn plugboard_schedule::Clock>,
    ) -> Result<Self> {
        let text = format!(
            "[runtime]\ndata_dir = {:?}\ncache_dir = {:?}\nplugin_dirs = {}\nmax_instances = 64\nworkers = 8\n\n\
             [plugins.notes]\ngrants = [\"kv\"]\n\n[plugins.hostile]\ngrants = [\"kv\"]\n\n{extra}",
            data.path().join("data").display().to_string(),
            shared_cache().display().to_string(),
            dirs_toml(plugin_dirs),
        );
        let config = BotConfig::parse(&text, Path::new("test.toml"), data.path().to_path_buf())?;
        let (mut bot, report) = Bot::from_config_with_clock(&config, clock)?;
        let (adapter, handle) = MemoryAdapter::new("test");
        bot.add_adapter(Box::new(adapter));
        let router = Arc::clone(bot.router());
        let running = tokio::spawn(bot.run(std::future::pending()));
        Ok(Self {
            handle,
            report,
            router,
            running,
            data,
        })
    }

    /// Sends `text` in `chat` and returns the text of the first delivery.
    pub async fn ask(&mut self, chat: &str, text: &str) -> Result<String> {
        if !self.handle.say(chat, "tester", text).await {
            bail!("the bot stopped listening");
        }
        let delivery = self.next().await?;
        Ok(text_of(&delivery))
    }

    /// Sends `text` in the group chat `chat` and returns the text of the
    /// first delivery.
    pub async fn ask_group(&mut self, chat: &str, text: &str) -> Result<String> {
        self.say_group(chat, text).await?;
        let delivery = self.next().await?;
        Ok(text_of(&delivery))
    }

    /// Sends `text` in the group chat `chat`.
    pub async fn say_group(&mut self, chat: &str, text: &str) -> Result<()> {
        let mut event = self.handle.message(chat, "tester", text);
        if let plugboard_model::event::Event::Message(message) = &mut event {
            message.chat.kind = plugboard_model::event::ChatKind::Group;
        }
        if !self.handle.send(event).await {
            bail!("the bot stopped listening");
        }
        Ok(())
    }

    /// Sends `text` in `chat` from a user whose language is `locale`, and
    /// returns the text of the first delivery.
    pub async fn ask_in(&mut self, chat: &str, locale: &str, text: &str) -> Result<String> {
        let mut event = self.handle.message(chat, "tester", text);
        if let plugboard_model::event::Event::Message(message) = &mut event {
            message.sender.locale = Some(locale.to_owned());
        }
        if !self.handle.send(event).await {
            bail!("the bot stopped listening");
        }
        let delivery = self.next().await?;
        Ok(text_of(&delivery))
    }

    /// The next delivery.
    pub async fn next(&mut self) -> Result<Outbound> {
        tokio::time::timeout(PATIENCE, self.handle.recv())
            .await
            .context("no answer from the bot")?
            .context("the bot stopped")
    }

    /// Ends input and waits for the bot to stop cleanly.
    pub async fn stop(mut self) -> Result<Arc<tempfile::TempDir>> {
        self.handle.close();
        // Drain what is still in flight so the bot can finish.
        while tokio::time::timeout(PATIENCE, self.handle.recv())
            .await?
            .is_some()
        {}
        self.running.await??;
        Ok(self.data)
    }
}

/// The text an outbound delivery carries (empty for reactions and deletes).
pub fn text_of(outbound: &Outbound) -> String {
    match &outbound.op {
        OutboundOp::Send { message, .. } | OutboundOp::Edit { message, .. } => message.text.clone(),
        _ => String::new(),
    }
}

/// The code in `/link`'s answer ("Your link code is CODE …").
pub fn link_code(answer: &str) -> Result<String> {
    answer
        .strip_prefix("Your link code is ")
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .with_context(|| format!("no code in {answer:?}"))
}
