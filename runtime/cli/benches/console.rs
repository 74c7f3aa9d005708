//! The owner console's server time with 50 plugins and a year of usage.
//!
//! Run with: `RUST_LIB_BACKTRACE=0 cargo bench -p plugboard --bench console`
//! (after `cargo xtask plugins`, which stages `target/plugins/`).
//!
//! Stages 50 plugins, `bench-0` … `bench-49`, made from the staged `dice`,
//! `echo`, `notes` and `poll` in turn (the same components under other
//! names), and writes a year of usage into the bot's store through
//! [`People`] on a clock moved a day at a time: each plugin's commands run
//! every day for 365 days, as a busy bot's would (18,250 usage records).
//! Then it starts the bot from that directory with an in-process adapter,
//! signs in to the console's pages, and times each page and API call
//! in-process through the router (the server's time: routing, the
//! session, reading the bot and the store, rendering; no network),
//! `--iterations=N` (default 200) times each, after 10 untimed calls.
//! Prints the median, the 99th percentile and the max per path.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use plugboard_adapter::memory::MemoryAdapter;
use plugboard_bot::bot::Bot;
use plugboard_bot::config::BotConfig;
use plugboard_console::auth::AdminToken;
use plugboard_console::server::{Extras, app};
use plugboard_people::People;
use plugboard_schedule::{Clock, ManualClock};
use tower::ServiceExt;

const PLUGINS: usize = 50;
const DAYS: u64 = 365;
const DAY_MS: u64 = 86_400_000;
const BASES: [(&str, &[&str]); 4] = [
    ("dice", &["roll"]),
    ("echo", &["echo"]),
    ("notes", &["remember", "recall", "forget"]),
    ("poll", &["poll"]),
];
const TOKEN: &str = "bench-admin-token-0123456789abcdef";

fn staged(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/plugins")
        .join(name)
}

fn main() -> Result<()> {
    let iterations: usize = std::env::args()
        .find_map(|a| a.strip_prefix("--iterations=").and_then(|v| v.parse().ok()))
        .unwrap_or(200);
    let dir = tempfile::tempdir()?;
    let plugins = dir.path().join("plugins");
    for i in 0..PLUGINS {
        let (base, _) = BASES[i % BASES.len()];
        let from = staged(base);
        let to = plugins.join(format!("bench-{i}"));
        std::fs::create_dir_all(&to)?;
        std::fs::copy(from.join("plugin.wasm"), to.join("plugin.wasm"))
            .with_context(|| format!("{} (run `cargo xtask plugins` first)", from.display()))?;
        let manifest = std::fs::read_to_string(from.join("plugin.toml"))?;
        let renamed = manifest.replacen(
            &format!("name = \"{base}\""),
            &format!("name = \"bench-{i}\""),
            1,
        );
        ensure!(renamed != manifest, "{base}'s manifest names it otherwise");
        std::fs::write(to.join("plugin.toml"), renamed)?;
    }
    let text = "[runtime]\ndata_dir = \"data\"\nplugin_dirs = [\"plugins\"]\n";
    let config_path = dir.path().join("plugboard.toml");
    std::fs::write(&config_path, text)?;
    let config = BotConfig::load(&config_path)?;

    // A year of usage, written as the bot writes it.
    let seeded = Instant::now();
    {
        let store = Arc::new(plugboard_store::SledStore::open(
            &config.data_dir().join("store"),
        )?);
        let now = plugboard_schedule::SystemClock.now_ms();
        let clock = Arc::new(ManualClock::at(now - (DAYS - 1) * DAY_MS));
        let people = People::new(store, Arc::clone(&clock) as Arc<dyn Clock>);
        for _ in 0..DAYS {
            for i in 0..PLUGINS {
                let (_, commands) = BASES[i % BASES.len()];
                for command in commands {
                    for _ in 0..3 {
                        people.count_use(&format!("bench-{i}"), command, false)?;
                    }
                    people.count_use(&format!("bench-{i}"), command, true)?;
                }
            }
            people.flush_counts()?;
            clock.advance(DAY_MS);
        }
        let (_, rows) = people.usage_of_days(DAYS)?;
        eprintln!(
            "seeded {} usage records over {DAYS} days in {:.1} s",
            rows.len(),
            seeded.elapsed().as_secs_f64()
        );
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (mut bot, report) = Bot::from_config(&config)?;
        ensure!(
            report.loaded.len() == PLUGINS,
            "loaded {} plugins",
            report.loaded.len()
        );
        let (adapter, handle) = MemoryAdapter::new("bench");
        bot.add_adapter(Box::new(adapter));
        let control = Arc::clone(bot.control());
        let running = tokio::spawn(bot.run(std::future::pending()));
        // Some traffic for the overview to count.
        for i in 0..100 {
            handle.say("chat-1", "ann", &format!("/echo {i}")).await;
        }
        let console = app(control, AdminToken::new("BENCH", TOKEN)?, Extras::default());
        let cookie = sign_in(&console).await?;
        println!(
            "console server time, {PLUGINS} plugins, {DAYS} days of usage, {iterations} calls each"
        );
        println!(
            "{:<28} {:>10} {:>10} {:>10}",
            "path", "median ms", "p99 ms", "max ms"
        );
        for path in [
            "/",
            "/plugins",
            "/usage",
            "/usage?days=365",
            "/audit",
            "/api/v1/status",
            "/api/v1/plugins",
            "/api/v1/usage?days=365",
            "/metrics",
        ] {
            let mut times = Vec::with_capacity(iterations);
            for round in 0..iterations + 10 {
                let mut request = Request::get(path).header(header::COOKIE, &cookie);
                if !path.starts_with("/usage")
                    && !path.starts_with("/plugins")
                    && path != "/"
                    && path != "/audit"
                {
                    request = request.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
                }
                let started = Instant::now();
                let response = console
                    .clone()
                    .oneshot(request.body(Body::empty())?)
                    .await?;
                let status = response.status();
                let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
                let took = started.elapsed();
                ensure!(
                    status == StatusCode::OK,
                    "{path}: {status}: {}",
                    String::from_utf8_lossy(&body)
                );
                if round >= 10 {
                    times.push(took);
                }
            }
            times.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1_000.0;
            let p99 = times[(times.len() * 99 / 100).min(times.len() - 1)];
            println!(
                "{path:<28} {:>10.2} {:>10.2} {:>10.2}",
                ms(times[times.len() / 2]),
                ms(p99),
                ms(times[times.len() - 1])
            );
        }
        drop(handle);
        running.abort();
        anyhow::Ok(())
    })?;
    Ok(())
}

/// Signs in to the pages as a browser does; returns the cookie to send.
async fn sign_in(console: &axum::Router) -> Result<String> {
    let page = console
        .clone()
        .oneshot(Request::get("/signin").body(Body::empty())?)
        .await?;
    let pre = page
        .headers()
        .get(header::SET_COOKIE)
        .context("no pre-session cookie")?
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    let html = String::from_utf8(
        axum::body::to_bytes(page.into_body(), usize::MAX)
            .await?
            .to_vec(),
    )?;
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("no csrf field")?;
    let signed = console
        .clone()
        .oneshot(
            Request::post("/signin")
                .header(header::COOKIE, &pre)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("csrf={csrf}&token={TOKEN}")))?,
        )
        .await?;
    let session = signed
        .headers()
        .get(header::SET_COOKIE)
        .context("not signed in")?
        .to_str()?
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok(format!("{pre}; {session}"))
}
