//! Shared helpers: where the built plugins are, and a bot wired to the
//! in-process adapter.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use plugboard_runtime::adapters::memory::{MemoryAdapter, MemoryHandle};
use plugboard_runtime::bot::{Bot, LoadReport};
use plugboard_runtime::config::BotConfig;
use plugboard_runtime::engine::{EngineOptions, PluginEngine};
use plugboard_runtime::event::{Outbound, OutboundOp};
use tokio::task::JoinHandle;

/// Generous bound for one answer; only a hung bot ever reaches it.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
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

/// A running bot on the in-process adapter.
pub struct TestBot {
    pub handle: MemoryHandle,
    pub report: LoadReport,
    pub router: Arc<plugboard_runtime::router::Router>,
    running: JoinHandle<Result<(), plugboard_runtime::bot::BotError>>,
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
        let text = format!(
            "[runtime]\ndata_dir = {:?}\ncache_dir = {:?}\nplugin_dirs = {}\nmax_instances = 64\nworkers = 8\n\n\
             [plugins.notes]\ngrants = [\"kv\"]\n\n[plugins.hostile]\ngrants = [\"kv\"]\n\n{extra}",
            data.path().join("data").display().to_string(),
            shared_cache().display().to_string(),
            dirs_toml(plugin_dirs),
        );
        let config = BotConfig::parse(&text, Path::new("test.toml"), data.path().to_path_buf())?;
        let (mut bot, report) = Bot::from_config(&config)?;
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
