//! Memory under byte attacks: the bot's peak resident memory while hostile
//! plugins, in many chats at once, try to make the host hold or deliver
//! more than their budgets allow.
//!
//! Run with: `cargo xtask plugins`, then
//! `RUST_LIB_BACKTRACE=0 cargo bench -p plugboard --bench byte_attack`
//! (`--chats=N`, default 32; `--rounds=N`, default 5).
//!
//! The bot runs the test-only `hostile` and `raw` plugins with
//! `memory_mib = 32` and the default `max_event_bytes` (2 MiB), on a
//! 2-thread runtime. Every chat sends, each round, every byte attack found:
//! 1,000 replies aliasing one 8 MiB string, one send with 1,000 labels
//! aliasing one, 32 replies and 40 sends of 16,000 bytes, over-long button
//! labels, emoji and ids, a 10 MB reply, 1,000 replies, 1,000 sends; then a
//! control command whose answer closes the round. Reports the process's
//! resident memory at rest (plugins loaded, one instance warm per chat) and
//! its peak (`VmHWM`) under attack, beside the bound the limits give.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use plugboard_adapter::memory::MemoryAdapter;
use plugboard_bot::bot::Bot;
use plugboard_bot::config::BotConfig;
use plugboard_host::sandbox::Limits;

#[path = "support/attacks.rs"]
mod attacks;

use attacks::{BYTE_ATTACKS as ATTACKS, status_kib};

fn arg(name: &str, default: usize) -> usize {
    std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix(name).and_then(|s| s.parse().ok()))
        .unwrap_or(default)
}

fn main() -> Result<()> {
    let chats = arg("--chats=", 32);
    let rounds = arg("--rounds=", 5);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let hostile = root.join("target/test-plugins/hostile");
    let raw = root.join("target/test-plugins/raw");
    anyhow::ensure!(
        hostile.join("plugin.wasm").exists() && raw.join("plugin.wasm").exists(),
        "run `cargo xtask plugins` first"
    );
    let data = tempfile::tempdir()?;
    let text = format!(
        "[runtime]\ndata_dir = {:?}\nplugin_dirs = [{:?}, {:?}]\n\n\
         [limits]\nmemory_mib = 32\nbreaker_failures = 0\n",
        data.path().join("data").display().to_string(),
        hostile.display().to_string(),
        raw.display().to_string(),
    );
    let config = BotConfig::parse(&text, Path::new("byte_attack.toml"), data.path().into())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("runtime")?;
    let (rest, peak, seconds, answers) = rt.block_on(async {
        let (mut bot, report) = Bot::from_config(&config)?;
        anyhow::ensure!(report.refused.is_empty(), "{:?}", report.refused);
        let (adapter, mut handle) = MemoryAdapter::new("bench");
        bot.add_adapter(Box::new(adapter));
        let running = tokio::spawn(bot.run(std::future::pending()));
        let names: Vec<String> = (0..chats).map(|i| format!("chat-{i}")).collect();
        // At rest: every chat answered once, so instances are warm.
        for chat in &names {
            anyhow::ensure!(handle.say(chat, "u", "/ok").await, "bot stopped");
        }
        for _ in &names {
            handle.recv().await.context("bot stopped")?;
        }
        let rest = status_kib(None, "VmRSS:")?;
        let started = Instant::now();
        let mut answers = 0usize;
        for _ in 0..rounds {
            for chat in &names {
                for attack in ATTACKS {
                    anyhow::ensure!(handle.say(chat, "u", attack).await, "bot stopped");
                }
                anyhow::ensure!(handle.say(chat, "u", "/ok").await, "bot stopped");
            }
            let mut closed = 0;
            while closed < chats {
                let delivery = handle.recv().await.context("bot stopped")?;
                answers += 1;
                if let plugboard_model::event::OutboundOp::Send { message, .. } = &delivery.op
                    && message.text == "raw ok"
                {
                    closed += 1;
                }
            }
        }
        let peak = status_kib(None, "VmHWM:")?;
        handle.close();
        running.abort();
        anyhow::Ok((rest, peak, started.elapsed().as_secs_f64(), answers))
    })?;
    let limits = Limits {
        memory_mib: 32,
        ..Limits::default()
    };
    // Events at once: one per chat, at most `workers` (64), each with at
    // most one copy in flight and one budget held.
    let events = chats.min(64) as u64;
    let per_event = 2 * limits.copy_budget() as u64;
    let instances = 2 * chats.min(limits.max_instances as usize) as u64;
    println!("| what | MiB |");
    println!("|---|---:|");
    println!(
        "| resident at rest ({chats} chats answered, 2 plugins) | {} |",
        rest / 1024
    );
    println!(
        "| peak under attack ({rounds} rounds × {chats} chats × {} attacks, {answers} answers, {seconds:.1} s) | {} |",
        ATTACKS.len(),
        peak / 1024
    );
    println!(
        "| growth over rest | {} |",
        peak.saturating_sub(rest) / 1024
    );
    println!(
        "| bound from the limits: {instances} instances × {} MiB + {events} events × 2 × {} MiB | {} |",
        limits.memory_mib,
        limits.copy_budget() >> 20,
        (instances * u64::from(limits.memory_mib) * (1 << 20) + events * per_event) >> 20
    );
    Ok(())
}
