//! Isolation: how much of the healthy plugins' throughput survives while a
//! hostile plugin loops on every event it gets.
//!
//! Run with: `cargo xtask bench` (or, after `cargo xtask plugins`,
//! `RUST_LIB_BACKTRACE=0 cargo bench -p plugboard --bench isolation`).
//!
//! The bot runs on a 2-thread tokio runtime with the `echo` plugin and the
//! test-only `hostile` plugin, default limits. Echo commands are sent over 64
//! chats with up to 512 in flight, for `--seconds=N` (default 5) per scenario:
//!
//! 1. alone;
//! 2. while 4 other chats keep the hostile plugin busy with `/spin` (an
//!    endless loop) all the time: each failed `/spin` is replaced at once.
//!
//! Reports echo events/s in both and their ratio (target ≥ 0.8).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use plugboard_adapter::memory::MemoryAdapter;
use plugboard_bot::bot::Bot;
use plugboard_bot::config::BotConfig;

const ECHO_CHATS: usize = 64;
const IN_FLIGHT: usize = 512;
const HOSTILE_CHATS: usize = 4;
const SPINS_QUEUED_PER_CHAT: usize = 2;

/// Echo events/s over `duration`, with or without the hostile load.
async fn scenario(config: &BotConfig, hostile: bool, duration: Duration) -> Result<(f64, usize)> {
    let (mut bot, report) = Bot::from_config(config)?;
    anyhow::ensure!(
        report.refused.is_empty(),
        "plugins refused: {:?}",
        report.refused
    );
    let (adapter, mut handle) = MemoryAdapter::new("bench");
    bot.add_adapter(Box::new(adapter));
    let running = tokio::spawn(bot.run(std::future::pending()));

    let mut spins_failed = 0;
    if hostile {
        for i in 0..HOSTILE_CHATS {
            for _ in 0..SPINS_QUEUED_PER_CHAT {
                anyhow::ensure!(
                    handle.say(&format!("hostile-{i}"), "h", "/spin").await,
                    "bot stopped"
                );
            }
        }
    }
    let chats: Vec<String> = (0..ECHO_CHATS).map(|i| format!("chat-{i}")).collect();
    let (mut sent, mut echoed) = (0usize, 0usize);
    let started = Instant::now();
    while started.elapsed() < duration {
        while sent - echoed < IN_FLIGHT {
            let event = handle.message(&chats[sent % ECHO_CHATS], "u", "/echo hello, plugboard");
            anyhow::ensure!(handle.send(event).await, "bot stopped");
            sent += 1;
        }
        let delivery = handle.recv().await.context("bot stopped")?;
        if delivery.chat.id.starts_with("hostile-") {
            spins_failed += 1;
            anyhow::ensure!(
                handle.say(&delivery.chat.id, "h", "/spin").await,
                "bot stopped"
            );
        } else {
            echoed += 1;
        }
    }
    let rate = echoed as f64 / started.elapsed().as_secs_f64();
    handle.close();
    running.abort();
    Ok((rate, spins_failed))
}

fn main() -> Result<()> {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix("--seconds=").and_then(|s| s.parse().ok()))
        .unwrap_or(5);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let echo = root.join("target/plugins/echo");
    let hostile = root.join("target/test-plugins/hostile");
    anyhow::ensure!(
        echo.join("plugin.wasm").exists() && hostile.join("plugin.wasm").exists(),
        "run `cargo xtask bench` (it builds the plugins first)"
    );
    let data = tempfile::tempdir()?;
    // Each scenario gets its own store: the first bot's may still be open.
    let config = |name: &str| {
        let text = format!(
            // The breaker would suspend `hostile` after 5 failures; keep it
            // looping for the whole measurement instead.
            "[runtime]\ndata_dir = {:?}\nplugin_dirs = [{:?}, {:?}]\n\n\
             [plugins.hostile.limits]\nbreaker_failures = 0\n",
            data.path().join(name).display().to_string(),
            echo.display().to_string(),
            hostile.display().to_string(),
        );
        BotConfig::parse(
            &text,
            Path::new("isolation.toml"),
            data.path().to_path_buf(),
        )
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("runtime")?;
    let duration = Duration::from_secs(seconds);
    let (alone, _) = rt.block_on(scenario(&config("alone")?, false, duration))?;
    let (attacked, spins) = rt.block_on(scenario(&config("attacked")?, true, duration))?;

    println!("| scenario | echo events/s (2 threads) |");
    println!("|---|---:|");
    println!("| echo alone | {alone:.0} |");
    println!(
        "| echo while `hostile` loops on every event ({HOSTILE_CHATS} chats, {spins} `/spin` events failed) | {attacked:.0} |"
    );
    println!();
    println!("ratio: {:.2} (target ≥ 0.80)", attacked / alone);
    println!(
        "RUST_BACKTRACE={:?} RUST_LIB_BACKTRACE={:?}",
        std::env::var("RUST_BACKTRACE").ok(),
        std::env::var("RUST_LIB_BACKTRACE").ok()
    );
    Ok(())
}
