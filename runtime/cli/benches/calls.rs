//! Cost of one call from a plugin: into another plugin, into the host, and
//! inside the plugin itself, all with one `s64`-sized value in and out.
//!
//! Run with: `cargo xtask bench` (builds the plugins, then runs this with
//! the others, `RUST_LIB_BACKTRACE=0`, release profile), or, after
//! `cargo xtask plugins`:
//! `RUST_LIB_BACKTRACE=0 cargo bench -p plugboard --bench calls`.
//!
//! Loads the test-only plugins `call-bench` (provides
//! `plugboard-bench:calls/api@1.0.0`, `add-one: func(x: s64) -> result<s64,
//! string>`) and `call-bench-user` (imports it) the way a bot does
//! (`Bot::from_config`, which links the import to the provider, then
//! `Router::start`), on one thread (a current-thread tokio runtime). Each
//! timed event is `/calls <kind> <n>` handed to the user plugin
//! (`Target::handle`, the router's call), which makes `n` calls of one
//! kind (see `plugins/testing/call-bench-user`):
//!
//! * `cross`: `add-one` in `call-bench`, through the host's link, the
//!   provider keeping warm instances (the default);
//! * `cross-fresh`: the same against a second bot whose provider has
//!   `reuse_instances = false` (a new instance and its `init` per call);
//! * `host`: the contract's `config.get` of an unset key (string in, `none`
//!   out), the cheapest call of contract 0.2 carrying a small value;
//! * `wasi`: WASI's monotonic clock, the bare host trampoline;
//! * `local`: a plain `#[inline(never)]` function in the plugin.
//!
//! Per call = (t(n) − t(0)) / n, where t is the median event time of
//! `--events=N` (default 25) events at `n` and as many at 0, interleaved;
//! one such figure per kind per run, the kinds interleaved within a run;
//! `--runs=N` runs (default 7), reported as median and min–max.
//! `--kinds=cross,local` measures only those kinds (for `perf record`).
//!
//! Both bots use the default limits otherwise. `n` is chosen per kind so that the calls of one event take about
//! `--event-ms=N` (default 4) ms: an event that runs past two epoch ticks
//! (10 to 15 ms) is throttled by the sandbox (it sleeps three ticks per
//! tick it runs), which would be timed as call cost. The bench stops when
//! an event's median reaches 10 ms. The CPU budget (1 s) and deadline (5 s)
//! are the defaults, far above that.
//!
//! Every answer is checked (`<kind> <n> <n>`: each call fed its result to
//! the next), a failed event stops the bench with its reason, and the
//! provider's own event counter must grow by exactly `n` per `cross` event
//! with no failures: a call that did not happen, or failed, cannot pass.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use plugboard_bot::bot::Bot;
use plugboard_bot::config::BotConfig;
use plugboard_host::plugin::{LoadedPlugin, Target};
use plugboard_model::event::{Command, Event, Outbound, OutboundOp};

/// One measured kind of call.
struct Kind {
    /// Its name for `--kinds=`.
    id: &'static str,
    /// The kind `/calls` makes.
    arg: &'static str,
    /// Whether the provider runs each call in a fresh instance
    /// (`reuse_instances = false`).
    fresh: bool,
    /// Its row in the table.
    name: &'static str,
}

/// The kinds of call, in the order they are measured within a run.
const KINDS: [Kind; 5] = [
    Kind {
        id: "cross",
        arg: "cross",
        fresh: false,
        name: "cross-plugin: `add-one` of `call-bench` through the host's link (warm provider instance)",
    },
    Kind {
        id: "cross-fresh",
        arg: "cross",
        fresh: true,
        name: "cross-plugin, provider with `reuse_instances = false` (instance + `init` per call)",
    },
    Kind {
        id: "host",
        arg: "host",
        fresh: false,
        name: "host import: contract 0.2 `config.get` of an unset key",
    },
    Kind {
        id: "wasi",
        arg: "wasi",
        fresh: false,
        name: "host import: WASI `monotonic-clock.now` (`Instant::now`)",
    },
    Kind {
        id: "local",
        arg: "local",
        fresh: false,
        name: "in-plugin: `#[inline(never)]` function",
    },
];

/// Above this an event may have been throttled (two free epoch ticks of 5 ms).
const THROTTLE_FREE: Duration = Duration::from_millis(10);

fn arg(name: &str, default: u64) -> u64 {
    std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix(name).and_then(|s| s.parse().ok()))
        .unwrap_or(default)
}

/// `/calls <kind> <n>` from a direct chat.
fn command(kind: &str, n: u64) -> Arc<Event> {
    Arc::new(Event::Command(Command {
        name: "calls".into(),
        args: vec![kind.into(), n.to_string()],
        raw_args: format!("{kind} {n}"),
        message: events::message(&format!("/calls {kind} {n}")),
    }))
}

#[path = "support/events.rs"]
mod events;

/// The two plugins as the bot loaded them.
struct Plugins {
    user: Target,
    provider: Arc<LoadedPlugin>,
    /// Holds the set of providers the user's calls look up (dropping the
    /// bot makes every cross call fail with "not running").
    _bot: Bot,
}

impl Plugins {
    /// Times one `/calls <kind> <n>` and checks its answer (and, for
    /// `cross`, that the provider ran exactly `n` calls, all successful).
    async fn event(&self, kind: &str, n: u64) -> Result<Duration> {
        let event = command(kind, n);
        let chat = event.chat().to_ref();
        let before = self.provider.stats();
        let started = Instant::now();
        let handled = self.user.handle(&event, &chat, None).await;
        let elapsed = started.elapsed();
        let handled = handled.map_err(|failure| {
            anyhow::anyhow!("`/calls {kind} {n}` failed, nothing is reported: {failure}")
        })?;
        let expected = format!("{kind} {n} {n}");
        match handled.outbound.as_slice() {
            [
                Outbound {
                    op: OutboundOp::Send { message, .. },
                    ..
                },
            ] if message.text == expected => {}
            other => bail!("`/calls {kind} {n}`: expected the answer `{expected}`, got {other:?}"),
        }
        let after = self.provider.stats();
        let calls = if kind == "cross" { n } else { 0 };
        ensure!(
            after.0 - before.0 == calls && after.1 == before.1,
            "`/calls {kind} {n}`: the provider counted {} calls ({} failed), expected {calls} (0 failed)",
            after.0 - before.0,
            after.1 - before.1,
        );
        black_box(handled);
        Ok(elapsed)
    }

    /// The median time of `/calls <kind> <n>` and of `/calls <kind> 0`
    /// over `events` of each, interleaved.
    async fn pair(&self, kind: &str, n: u64, events: u64) -> Result<(Duration, Duration)> {
        let (mut full, mut empty) = (Vec::new(), Vec::new());
        for _ in 0..events {
            empty.push(self.event(kind, 0).await?);
            full.push(self.event(kind, n).await?);
        }
        Ok((median(&mut full), median(&mut empty)))
    }

    /// An `n` whose calls take about `target` per event.
    async fn calibrate(&self, kind: &str, target: Duration) -> Result<u64> {
        let mut n: u64 = 64;
        loop {
            let (full, empty) = self.pair(kind, n, 5).await?;
            let calls = full.saturating_sub(empty);
            if calls >= target / 4 {
                let scaled = n as f64 * target.as_secs_f64() / calls.as_secs_f64();
                return Ok((scaled as u64).max(1));
            }
            ensure!(n < 1 << 40, "`{kind}` calls take no measurable time");
            n *= 4;
        }
    }
}

/// Loads both plugins as a bot does and starts them; `fresh`: the
/// provider keeps no warm instances.
async fn load(provider_dir: &Path, user_dir: &Path, data: &Path, fresh: bool) -> Result<Plugins> {
    let text = format!(
        "[runtime]\ndata_dir = {:?}\nplugin_dirs = [{:?}, {:?}]\n\n\
         [plugins.call-bench.limits]\nreuse_instances = {}\n",
        data.display().to_string(),
        provider_dir.display().to_string(),
        user_dir.display().to_string(),
        !fresh,
    );
    let config = BotConfig::parse(&text, Path::new("calls.toml"), data.into())?;
    let (bot, report) = Bot::from_config(&config)?;
    ensure!(report.refused.is_empty(), "refused: {:?}", report.refused);
    let router = Arc::clone(bot.router());
    let failed = router.start().await;
    ensure!(failed.is_empty(), "did not start: {failed:?}");
    let find = |name: &str| {
        router
            .plugins()
            .iter()
            .find(|t| t.name() == name)
            .cloned()
            .with_context(|| format!("`{name}` is not loaded"))
    };
    let user = find("call-bench-user")?;
    let Target::Wasm(provider) = find("call-bench")? else {
        bail!("`call-bench` is not a component");
    };
    ensure!(
        provider.limits().reuse_instances != fresh,
        "the provider's `reuse_instances` is not {}",
        !fresh
    );
    Ok(Plugins {
        user,
        provider,
        _bot: bot,
    })
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn median_f(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn main() -> Result<()> {
    let runs = arg("--runs=", 7).max(1);
    let events = arg("--events=", 25).max(1);
    let target = Duration::from_millis(arg("--event-ms=", 4).max(1));
    let only: Option<String> = std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix("--kinds=").map(str::to_owned));
    let chosen: Vec<usize> = (0..KINDS.len())
        .filter(|&i| {
            only.as_ref()
                .is_none_or(|o| o.split(',').any(|k| k == KINDS[i].id))
        })
        .collect();
    ensure!(
        !chosen.is_empty(),
        "--kinds= names none of {:?}",
        KINDS.map(|k| k.id)
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let provider_dir = root.join("target/test-plugins/call-bench");
    let user_dir = root.join("target/test-plugins/call-bench-user");
    ensure!(
        provider_dir.join("plugin.wasm").exists() && user_dir.join("plugin.wasm").exists(),
        "run `cargo xtask bench` (it builds the plugins first) or `cargo xtask plugins`"
    );
    let data = tempfile::tempdir()?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    let (ns, per_call, empties) = rt.block_on(async {
        let warm = load(&provider_dir, &user_dir, &data.path().join("warm"), false).await?;
        let fresh = load(&provider_dir, &user_dir, &data.path().join("fresh"), true).await?;
        let plugins = |kind: &Kind| if kind.fresh { &fresh } else { &warm };
        // Warm both plugins (instances, caches, branch predictors).
        for &i in &chosen {
            let kind = &KINDS[i];
            plugins(kind).pair(kind.arg, 100, 20).await?;
        }
        let mut ns = vec![0; KINDS.len()];
        for &i in &chosen {
            let kind = &KINDS[i];
            ns[i] = plugins(kind).calibrate(kind.arg, target).await?;
        }
        let mut per_call = vec![Vec::new(); KINDS.len()];
        let mut empties = vec![Vec::new(); KINDS.len()];
        for _ in 0..runs {
            for &i in &chosen {
                let kind = &KINDS[i];
                let (full, empty) = plugins(kind).pair(kind.arg, ns[i], events).await?;
                ensure!(
                    full < THROTTLE_FREE,
                    "`/calls {} {}` took {full:?}, long enough to be throttled; lower --event-ms",
                    kind.arg,
                    ns[i]
                );
                let calls = full.saturating_sub(empty);
                per_call[i].push(calls.as_secs_f64() * 1e9 / ns[i] as f64);
                empties[i].push(empty.as_secs_f64() * 1e6);
            }
        }
        Ok((ns, per_call, empties))
    })?;

    println!(
        "{runs} runs; per run and kind, the median of {events} events with n calls and {events} with none (interleaved); per call = (t(n) - t(0)) / n"
    );
    println!();
    println!(
        "| call (one small value in, one out) | n per event | ns per call, median | min – max | t(0) µs |"
    );
    println!("|---|---:|---:|---:|---:|");
    let mut medians = vec![f64::NAN; KINDS.len()];
    for &i in &chosen {
        let samples = &per_call[i];
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let med = median_f(samples);
        medians[i] = med;
        println!(
            "| {} | {} | {med:.1} | {min:.1} – {max:.1} | {:.1} |",
            KINDS[i].name,
            ns[i],
            median_f(&empties[i])
        );
    }
    println!();
    let of = |id: &str| KINDS.iter().position(|k| k.id == id).map(|i| medians[i]);
    if let (Some(cross), Some(host), Some(local)) = (of("cross"), of("host"), of("local"))
        && chosen.len() == KINDS.len()
    {
        println!(
            "cross / host (config.get): {:.1}×; cross / local: {:.0}×",
            cross / host,
            cross / local
        );
    }
    println!(
        "RUST_BACKTRACE={:?} RUST_LIB_BACKTRACE={:?}",
        std::env::var("RUST_BACKTRACE").ok(),
        std::env::var("RUST_LIB_BACKTRACE").ok()
    );
    Ok(())
}
