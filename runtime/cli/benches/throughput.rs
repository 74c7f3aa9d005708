//! Throughput of the event path: router → plugin → deliveries.
//!
//! Run with: `cargo xtask bench` (builds the plugins, then runs this with
//! `RUST_LIB_BACKTRACE=0` in the release profile).
//!
//! Measures, on one thread (a current-thread tokio runtime):
//!
//! 1. events/s through the real router to the `echo` component, instance reused;
//! 2. the same router calling a native Rust echo handler (the upper bound);
//! 3. events/s to `echo` with a fresh instance per event;
//! 4. µs per plugin call (`LoadedPlugin::handle`, reused and fresh), without the router.
//!
//! Prints a Markdown table for `docs/benchmarks.md`.
//!
//! `--seconds=N` sets the length of each measurement (default 3).
//! `--profile` and `--profile-fresh` run only the reused-instance or the
//! fresh-instance path through the router, `--profile-call` only the
//! reused-instance call without the router, `--profile-e2e` and
//! `--profile-e2e-wasm` only the end-to-end path with the native or the
//! component echo, for `perf record`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use plugboard_bot::router::Router;
use plugboard_host::engine::{EngineOptions, PluginEngine};
use plugboard_host::plugin::{
    Handled, LoadedPlugin, NativePlugin, PluginSettings, Target, load_plugin,
};
use plugboard_host::sandbox::{Failure, Limits};
use plugboard_model::event::{ChatRef, Command, Event, Outbound, OutboundOp, Outgoing};
use plugboard_registry_types::Manifest;
use plugboard_store::MemoryStore;

/// The native twin of the `echo` component.
struct NativeEcho {
    manifest: Manifest,
    name: Arc<str>,
}

impl NativePlugin for NativeEcho {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn handle(
        &self,
        event: &Event,
        chat: &ChatRef,
        reply_to: Option<&str>,
    ) -> Result<Handled, Failure> {
        let Event::Command(cmd) = event else {
            return Ok(Handled::default());
        };
        if cmd.raw_args.is_empty() {
            return Err(Failure::InvalidInput(
                "nothing to echo; usage: /echo <text>".into(),
            ));
        }
        Ok(Handled {
            outbound: vec![Outbound {
                chat: chat.clone(),
                op: OutboundOp::Send {
                    message: Outgoing::text(cmd.raw_args.clone()),
                    reply_to: reply_to.map(str::to_owned),
                },
                plugin: Arc::clone(&self.name),
                mention_everyone: false,
                receipt: Default::default(),
            }],
            store_written: false,
        })
    }
}

#[path = "support/events.rs"]
mod events;
use events::message;

struct Measured {
    per_event: Duration,
}

impl Measured {
    fn per_sec(&self) -> f64 {
        1.0 / self.per_event.as_secs_f64()
    }
    fn micros(&self) -> f64 {
        self.per_event.as_secs_f64() * 1e6
    }
}

/// Runs `f` for about `budget`, after a warm-up; best of 3 rounds.
async fn measure<F, Fut>(budget: Duration, mut f: F) -> Measured
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..500 {
        f().await;
    }
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let mut n: u32 = 0;
        while started.elapsed() < budget / 3 {
            for _ in 0..200 {
                f().await;
            }
            n += 200;
        }
        best = best.min(started.elapsed() / n);
    }
    Measured { per_event: best }
}

fn load(engine: &PluginEngine, dir: &Path, reuse: bool) -> Result<LoadedPlugin> {
    let limits = Limits {
        reuse_instances: reuse,
        ..Limits::default()
    };
    let settings = |_: &Manifest| {
        Ok(PluginSettings {
            config: Default::default(),
            limits,
            ..Default::default()
        })
    };
    Ok(load_plugin(
        dir,
        engine,
        Arc::new(MemoryStore::default()),
        settings,
    )?)
}

/// Rounds of people off and on, alternated.
const PEOPLE_ROUNDS: usize = 15;

fn main() -> Result<()> {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.strip_prefix("--seconds=").and_then(|s| s.parse().ok()))
        .unwrap_or(3);
    let budget = Duration::from_secs(seconds);
    // `--profile` runs only the reused-instance call, for `perf record`.
    let profile = std::env::args().any(|a| a == "--profile");
    let profile_fresh = std::env::args().any(|a| a == "--profile-fresh");
    let profile_call = std::env::args().any(|a| a == "--profile-call");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let echo_dir = root.join("target/plugins/echo");
    anyhow::ensure!(
        echo_dir.join("plugin.wasm").exists(),
        "run `cargo xtask bench` (it builds the plugins first)"
    );

    let engine = PluginEngine::new(&EngineOptions {
        max_instances: 64,
        max_memory_bytes: 64 << 20,
        cache_dir: None,
    })?;
    let reused = load(&engine, &echo_dir, true)?;
    let fresh = load(&engine, &echo_dir, false)?;
    let with_people = load(&engine, &echo_dir, true)?;
    let manifest = reused.manifest().clone();
    let prefixes = vec!["/".to_string()];
    let wasm_router = Arc::new(Router::new(vec![Target::from(reused)], prefixes.clone()));
    let fresh_router = Arc::new(Router::new(vec![Target::from(fresh)], prefixes.clone()));
    // The same echo with people on: who sent it (a person lookup and the
    // ban list), the roles it needs and the sender holds, four rate
    // limits and two daily quotas (set so high that nothing is refused),
    // and usage counted.
    let high: plugboard_people::Rate = "1000000/second".parse().map_err(anyhow::Error::msg)?;
    let limits = plugboard_people::Limits {
        user_command: Some(high),
        user_plugin: Some(high),
        chat: Some(high),
        bot: Some(high),
        quotas: [
            ("echo".to_owned(), u64::MAX),
            ("echo.echo".to_owned(), u64::MAX),
        ]
        .into(),
        role_quotas: Default::default(),
    };
    let people = plugboard_people::People::new(
        Arc::new(MemoryStore::default()),
        Arc::new(plugboard_schedule::SystemClock),
    )
    .with_limits(limits);
    // The sender is a person of two accounts (the bench's and one on
    // another platform): the quotas sum over both, and every event
    // carries the person's id.
    let sender = plugboard_people::Account::new("bench", "u");
    let code = people.issue_code(&sender).map_err(anyhow::Error::msg)?;
    let other = plugboard_people::Account::new("elsewhere", "u2");
    people
        .redeem(&other, &code.code)
        .map_err(anyhow::Error::msg)?;
    let access = Arc::new(plugboard_bot::access::Access::new(
        Arc::new(people),
        &Default::default(),
    ));
    let people_router = Arc::new(
        Router::new(vec![Target::from(with_people)], prefixes.clone())
            .with_access(Arc::clone(&access)),
    );
    let native = NativeEcho {
        name: manifest.name.as_str().into(),
        manifest,
    };
    let native = Arc::new(native);
    let native_router = Arc::new(Router::new(
        vec![Target::Native(Arc::clone(&native) as _)],
        prefixes.clone(),
    ));
    // The native echo with people on: what people cost, without a plugin
    // call's noise around it.
    let native_people_router =
        Arc::new(Router::new(vec![Target::Native(native)], prefixes).with_access(access));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("runtime")?;
    let event = Event::Message(message("/echo hello, plugboard"));
    // People are timed with the sender of the end-to-end rows, on a
    // platform (the console is the owner's terminal, whom no limit holds
    // back).
    let platform_event = {
        let mut m = message("/echo hello, plugboard");
        m.chat.platform = plugboard_model::event::Platform::Other("bench".into());
        m.sender.id = "u".into();
        Event::Message(m)
    };

    let route_event = |router: &Arc<Router>, event: &Event| {
        let event = event.clone();
        let router = Arc::clone(router);
        move || {
            let event = event.clone();
            let router = Arc::clone(&router);
            async move {
                let out = router.dispatch(event).await;
                // Time only the success path: a failing plugin would also
                // produce one delivery (the host's apology).
                assert!(
                    matches!(
                        out.outbound.as_slice(),
                        [Outbound { op: OutboundOp::Send { message, .. }, .. }]
                            if message.text == "hello, plugboard"
                    ),
                    "unexpected answer: {:?}",
                    out.outbound
                );
                black_box(out);
            }
        }
    };
    let route = |router: &Arc<Router>| route_event(router, &event);
    let route_people = |router: &Arc<Router>| route_event(router, &platform_event);

    // The end-to-end profiles run before the router's rows, so that a
    // profile of one holds nothing of the other.
    let end_to_end = |router: &Arc<Router>| -> Result<Measured> {
        // `E2E_EVENTS` sets it outright (to profile one path for longer).
        let events = std::env::var("E2E_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000 * seconds as usize);
        rt.block_on(async {
            let mut bot = plugboard_bot::bot::Bot::new(
                Arc::clone(router),
                Arc::new(MemoryStore::default()),
                64,
                256,
            );
            let (adapter, mut handle) = plugboard_adapter::memory::MemoryAdapter::new("bench");
            bot.add_adapter(Box::new(adapter));
            let running = tokio::spawn(bot.run(std::future::pending()));
            let started = Instant::now();
            let mut received = 0;
            let chats: Vec<String> = (0..64).map(|i| format!("chat-{i}")).collect();
            let mut sent = 0;
            while received < events {
                // Keep up to 512 events in flight, spread over 64 chats.
                while sent < events && sent - received < 512 {
                    let event =
                        handle.message(&chats[sent % chats.len()], "u", "/echo hello, plugboard");
                    anyhow::ensure!(handle.send(event).await, "bot stopped");
                    sent += 1;
                }
                let delivery = handle.recv().await.context("bot stopped")?;
                // An echo, never a refusal or an error: those would be
                // timed as if they were the path being measured.
                let echoed = matches!(&delivery.op, plugboard_model::event::OutboundOp::Send { message, .. }
                    if message.text == "hello, plugboard");
                anyhow::ensure!(echoed, "not an echo: {delivery:?}");
                received += 1;
            }
            let elapsed = started.elapsed();
            handle.close();
            running.abort();
            Ok(Measured {
                per_event: elapsed / events as u32,
            })
        })
    };
    if std::env::args().any(|a| a == "--profile-e2e") {
        let m = end_to_end(&native_router)?;
        println!("end to end, native: {:.2} µs", m.micros());
        return Ok(());
    }
    if std::env::args().any(|a| a == "--profile-e2e-wasm") {
        let m = end_to_end(&wasm_router)?;
        println!("end to end, echo component: {:.2} µs", m.micros());
        return Ok(());
    }
    if std::env::args().any(|a| a == "--profile-e2e-native-people") {
        for _ in 0..5 {
            let off = end_to_end(&native_router)?;
            let on = end_to_end(&native_people_router)?;
            println!(
                "end to end, native echo, people off/on: {:.2}/{:.2} µs",
                off.micros(),
                on.micros()
            );
        }
        return Ok(());
    }
    if std::env::args().any(|a| a == "--profile-e2e-people") {
        let m = end_to_end(&people_router)?;
        println!(
            "end to end, echo component, people on: {:.2} µs",
            m.micros()
        );
        return Ok(());
    }
    let (wasm, native, fresh_routed, call_reused, call_fresh) = rt.block_on(async {
        let cmd_event = Arc::new(Event::Command(Command {
            name: "echo".into(),
            args: vec!["hello,".into(), "plugboard".into()],
            raw_args: "hello, plugboard".into(),
            message: message("/echo hello, plugboard"),
        }));
        // Shared, not cloned, per call: only the call itself is timed.
        let chat = Arc::new(cmd_event.chat().to_ref());
        let direct = |target: &Target| {
            let target = target.clone();
            let event = Arc::clone(&cmd_event);
            let chat = Arc::clone(&chat);
            move || {
                let target = target.clone();
                let event = Arc::clone(&event);
                let chat = Arc::clone(&chat);
                async move {
                    let handled = target.handle(&event, &chat, Some("42")).await;
                    let handled = handled.expect("the echo plugin must succeed");
                    black_box(handled.outbound.len());
                }
            }
        };
        if std::env::var_os("SIZES").is_some() {
            let f = people_router.dispatch((*cmd_event).clone());
            eprintln!(
                "Router::dispatch future: {} bytes",
                std::mem::size_of_val(&f)
            );
            let t = &wasm_router.plugins()[0];
            let f = t.handle(&cmd_event, &chat, None);
            eprintln!("Target::handle future: {} bytes", std::mem::size_of_val(&f));
            if let Target::Wasm(p) = t {
                let f = p.handle(&cmd_event, &chat, None);
                eprintln!(
                    "LoadedPlugin::handle future: {} bytes",
                    std::mem::size_of_val(&f)
                );
            }
        }
        if profile_call {
            let m = measure(budget, direct(&wasm_router.plugins()[0])).await;
            println!("echo component call only, reused: {:.2} µs", m.micros());
            std::process::exit(0);
        }
        if profile_fresh {
            let m = measure(budget, route(&fresh_router)).await;
            println!("router → echo component, fresh: {:.2} µs", m.micros());
            std::process::exit(0);
        }
        if profile {
            let m = measure(budget, route(&wasm_router)).await;
            println!("router → echo component, reused: {:.2} µs", m.micros());
            std::process::exit(0);
        }
        if std::env::args().any(|a| a == "--profile-native-platform") {
            // The same sender as `--profile-native-people`, people off.
            let m = measure(budget, route_people(&native_router)).await;
            println!("router → native echo, people off: {:.3} µs", m.micros());
            std::process::exit(0);
        }
        if std::env::args().any(|a| a == "--profile-native-people") {
            let m = measure(budget, route_people(&native_people_router)).await;
            println!("router → native echo, people on: {:.3} µs", m.micros());
            std::process::exit(0);
        }
        if std::env::args().any(|a| a == "--profile-people") {
            // The router alone, people off and on, alternated: the cost of
            // people without the queues' noise.
            for _ in 0..5 {
                let off = measure(budget, route_people(&wasm_router)).await;
                let on = measure(budget, route_people(&people_router)).await;
                let native_off = measure(budget, route_people(&native_router)).await;
                let native_on = measure(budget, route_people(&native_people_router)).await;
                println!(
                    "router → echo component, people off/on: {:.3}/{:.3} µs; \
                     router → native echo, people off/on: {:.3}/{:.3} µs",
                    off.micros(),
                    on.micros(),
                    native_off.micros(),
                    native_on.micros()
                );
            }
            std::process::exit(0);
        }
        let wasm = measure(budget, route(&wasm_router)).await;
        let native = measure(budget, route(&native_router)).await;
        let fresh_routed = measure(budget, route(&fresh_router)).await;

        let call_reused = measure(budget, direct(&wasm_router.plugins()[0])).await;
        let call_fresh = measure(budget, direct(&fresh_router.plugins()[0])).await;
        (wasm, native, fresh_routed, call_reused, call_fresh)
    });

    let e2e_native = end_to_end(&native_router)?;
    // People on beside off, alternated over 15 rounds (medians): one
    // run after the other would also time the order, and this machine's
    // speed drifts by tens of percent between rounds.
    let mut off = Vec::new();
    let mut on = Vec::new();
    for _ in 0..PEOPLE_ROUNDS {
        off.push(end_to_end(&wasm_router)?.per_event);
        on.push(end_to_end(&people_router)?.per_event);
    }
    let median = |mut runs: Vec<Duration>| {
        runs.sort();
        Measured {
            per_event: runs[runs.len() / 2],
        }
    };
    // Each round's on/off, so that a slow stretch of the machine, which
    // hits both of a round, cancels out.
    let mut paired: Vec<f64> = off
        .iter()
        .zip(&on)
        .map(|(off, on)| off.as_secs_f64() / on.as_secs_f64())
        .collect();
    paired.sort_by(f64::total_cmp);
    let paired_median = paired[paired.len() / 2];
    let rounds: Vec<String> = off
        .iter()
        .zip(&on)
        .map(|(off, on)| {
            format!(
                "{:.2}/{:.2}",
                off.as_secs_f64() * 1e6,
                on.as_secs_f64() * 1e6
            )
        })
        .collect();
    let e2e_wasm = median(off);
    let e2e_people = median(on);

    println!("| path | events/s (1 thread) | µs/event |");
    println!("|---|---:|---:|");
    let row =
        |name: &str, m: &Measured| println!("| {name} | {:.0} | {:.2} |", m.per_sec(), m.micros());
    row(
        "end to end (in-process adapter → queues → router → delivery), native echo",
        &e2e_native,
    );
    row(
        "end to end (in-process adapter → queues → router → delivery), echo component",
        &e2e_wasm,
    );
    row(
        "end to end, echo component, people on (identity, roles, limits, usage)",
        &e2e_people,
    );
    row("router → native Rust echo", &native);
    row("router → echo component, reused instance", &wasm);
    row(
        "router → echo component, fresh instance per event",
        &fresh_routed,
    );
    row(
        "echo component call only (`LoadedPlugin::handle`), reused instance",
        &call_reused,
    );
    row(
        "echo component instantiate + init + call, fresh instance",
        &call_fresh,
    );
    println!();
    println!(
        "WASM / native events/s: end to end {:.1}%, router only {:.1}%",
        100.0 * e2e_wasm.per_sec() / e2e_native.per_sec(),
        100.0 * wasm.per_sec() / native.per_sec()
    );
    println!(
        "people on / off, end to end events/s ({PEOPLE_ROUNDS} alternated rounds): \
         {:.1}% by the medians, {:.1}% by the median round; rounds, µs/event off/on: {}",
        100.0 * e2e_people.per_sec() / e2e_wasm.per_sec(),
        100.0 * paired_median,
        rounds.join(", ")
    );
    println!(
        "RUST_BACKTRACE={:?} RUST_LIB_BACKTRACE={:?}",
        std::env::var("RUST_BACKTRACE").ok(),
        std::env::var("RUST_LIB_BACKTRACE").ok()
    );
    Ok(())
}
