//! Hostile plugins: every attack fails only its own event, with a clear
//! reason, and the bot keeps answering.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use plugboard_host::plugin::{LoadedPlugin, PluginSettings, load_plugin};
use plugboard_host::sandbox::{Failure, Limits};
use plugboard_model::event::{Chat, ChatKind, Command, Event, Message, Platform, User};
use plugboard_registry_types::Permission;
use plugboard_store::{MemoryStore, Store};

use crate::support::{TestBot, engine, plugins_dir, test_plugins_dir, text_of};

pub(crate) fn tight_limits() -> Limits {
    Limits {
        memory_mib: 32,
        cpu_ms: 200,
        deadline_ms: 1_500,
        // Each attack is checked on its own; the breaker has its own test.
        breaker_failures: 0,
        ..Limits::default()
    }
}

/// A command event from a line such as `fetch http://x/`.
pub(crate) fn command(line: &str) -> Event {
    let (name, raw) = line.split_once(' ').unwrap_or((line, ""));
    let chat = Chat {
        platform: Platform::Console,
        id: "c".into(),
        kind: ChatKind::Direct,
        title: None,
        locale: None,
    };
    Event::Command(Command {
        name: name.into(),
        args: raw.split_whitespace().map(str::to_owned).collect(),
        raw_args: raw.into(),
        message: Message::new("1", chat, User::new("u", "u"), format!("/{line}")),
    })
}

fn load_from(
    dir: &Path,
    engine: &plugboard_host::engine::PluginEngine,
    store: Arc<dyn Store>,
) -> Result<LoadedPlugin> {
    load_granting(dir, engine, store, &[Permission::Kv])
}

fn load_granting(
    dir: &Path,
    engine: &plugboard_host::engine::PluginEngine,
    store: Arc<dyn Store>,
    grants: &[Permission],
) -> Result<LoadedPlugin> {
    let settings = |_: &_| {
        Ok(PluginSettings {
            config: Default::default(),
            limits: tight_limits(),
            grants: grants.iter().copied().collect(),
            ..Default::default()
        })
    };
    Ok(load_plugin(dir, engine, store, settings)?)
}

pub(crate) async fn run(plugin: &LoadedPlugin, name: &str) -> Result<Vec<String>, Failure> {
    let event = Arc::new(command(name));
    let chat = event.chat().to_ref();
    let handled = plugin.handle(&event, &chat, Some("1")).await?;
    Ok(handled.outbound.iter().map(text_of).collect())
}

pub(crate) async fn attack(plugin: &LoadedPlugin, name: &str) -> Result<Failure> {
    match run(plugin, name).await {
        Ok(out) => anyhow::bail!("/{name} was not contained: {} deliveries", out.len()),
        Err(failure) => Ok(failure),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_attack_fails_with_its_own_reason() -> Result<()> {
    let engine = engine()?;
    let plugin = load_from(
        &test_plugins_dir().join("hostile"),
        &engine,
        Arc::new(MemoryStore::default()),
    )?;

    assert_eq!(
        attack(&plugin, "spin").await?,
        Failure::CpuBudget { cpu_ms: 200 }
    );
    assert_eq!(
        attack(&plugin, "hog").await?,
        Failure::Memory { memory_mib: 32 }
    );
    match attack(&plugin, "boom").await? {
        Failure::Trap(message) => {
            assert!(
                message.contains("hostile plugin panics on purpose"),
                "{message}"
            )
        }
        other => panic!("a panic must be a trap, got {other:?}"),
    }
    // Every instance above was poisoned and thrown away.
    assert_eq!(plugin.idle_instances(), 0);
    match attack(&plugin, "recurse").await? {
        Failure::Trap(message) => assert!(message.contains("stack overflow"), "{message}"),
        other => panic!("unbounded recursion must be a trap, got {other:?}"),
    }
    assert_eq!(
        attack(&plugin, "sleep").await?,
        Failure::Deadline { deadline_ms: 1_500 },
        "a host call that never returns is cut at the deadline"
    );
    assert_eq!(
        attack(&plugin, "flood").await?,
        Failure::TooManyActions {
            returned: 1_000,
            max: 32
        }
    );
    match attack(&plugin, "sendflood").await? {
        Failure::Failed(message) => {
            assert!(
                message.contains("limit exceeded") && message.contains("at most 32"),
                "{message}"
            )
        }
        other => panic!("queued messages must be capped, got {other:?}"),
    }
    // 10 MB is refused before the host copies it (over the event's byte
    // budget), not merely after (over the message size).
    assert_eq!(
        attack(&plugin, "bigmsg").await?,
        Failure::SizeBudget {
            max_event_bytes: Limits::default().max_event_bytes
        },
        "a 10 MB message must be refused"
    );
    // The plugin still works after all of that.
    assert_eq!(
        run(&plugin, "kvpeek")
            .await
            .map_err(|f| anyhow::anyhow!("{f}"))?,
        vec!["saw 0 keys"]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_never_sees_another_plugins_keys() -> Result<()> {
    let engine = engine()?;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    store.kv_set("notes", "chat/console/c/notes/color", b"\"teal\"")?;
    store.kv_set("hostile-twin", "secret", b"1")?;
    let plugin = load_from(
        &test_plugins_dir().join("hostile"),
        &engine,
        Arc::clone(&store),
    )?;
    let seen = run(&plugin, "kvpeek")
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(seen, vec!["saw 0 keys"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_without_the_permission_is_refused_not_trapped() -> Result<()> {
    let engine = engine()?;
    // Asked for in the manifest, but not granted by the owner.
    let hostile = test_plugins_dir().join("hostile");
    let plugin = load_granting(&hostile, &engine, Arc::new(MemoryStore::default()), &[])?;
    assert_eq!(
        plugin.missing_grants(),
        vec![
            Permission::Kv,
            Permission::Http,
            Permission::MentionEveryone
        ]
    );
    match attack(&plugin, "kvpeek").await? {
        Failure::Failed(message) => assert!(
            message.contains("permission denied")
                && message.contains("`plugboard grant hostile kv`"),
            "{message}"
        ),
        other => panic!("KV without the grant must be refused, got {other:?}"),
    }
    // A refusal is an ordinary error: the instance is kept.
    assert_eq!(plugin.idle_instances(), 1);

    // Granted, but not asked for: the same component with a manifest
    // without `kv`.
    let dir = tempfile::tempdir()?;
    std::fs::copy(hostile.join("plugin.wasm"), dir.path().join("plugin.wasm"))?;
    let manifest = std::fs::read_to_string(hostile.join("plugin.toml"))?;
    let stripped = manifest.replacen("permissions = [\"kv\", ", "permissions = [", 1);
    assert_ne!(stripped, manifest);
    std::fs::write(dir.path().join("plugin.toml"), stripped)?;
    let plugin = load_granting(
        dir.path(),
        &engine,
        Arc::new(MemoryStore::default()),
        &[Permission::Kv],
    )?;
    match attack(&plugin, "kvpeek").await? {
        Failure::Failed(message) => assert!(
            message.contains("permission denied") && message.contains("declare it in plugin.toml"),
            "{message}"
        ),
        other => panic!("KV the manifest does not ask for must be refused, got {other:?}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_event_is_answered_after_every_attack() -> Result<()> {
    let limits =
        "[limits]\nmemory_mib = 32\ncpu_ms = 200\ndeadline_ms = 1500\nbreaker_failures = 0\n";
    let mut bot = TestBot::start(&[&plugins_dir(), &test_plugins_dir()], limits)?;
    let refused: Vec<String> = bot.report.refused.iter().map(|e| e.to_string()).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].contains("wit-future"), "{refused:?}");
    for attack in [
        "spin",
        "hog",
        "boom",
        "recurse",
        "sleep",
        "flood",
        "sendflood",
        "bigmsg",
        "kvflood",
        "fetch http://localhost:9/",
    ] {
        let answer = bot.ask("c", &format!("/{attack}")).await?;
        assert_eq!(
            answer, "Sorry, `hostile` could not handle that.",
            "/{attack}"
        );
        let echo = bot.ask("c", &format!("/echo after {attack}")).await?;
        assert_eq!(echo, format!("after {attack}"));
    }
    bot.stop().await?;
    Ok(())
}

// One runtime thread: the other chats are answered only because the looping
// plugin yields to the executor on every epoch tick and every chat has its
// own queue.
#[tokio::test(flavor = "current_thread")]
async fn a_spinning_plugin_does_not_block_other_chats() -> Result<()> {
    let limits = "[limits]\ncpu_ms = 1000\ndeadline_ms = 6000\n";
    let mut bot = TestBot::start(&[&plugins_dir(), &test_plugins_dir()], limits)?;
    assert!(bot.handle.say("stuck", "u", "/spin").await);
    for i in 0..5 {
        assert!(
            bot.handle
                .say(&format!("free-{i}"), "u", &format!("/echo {i}"))
                .await
        );
    }
    // All five answers arrive while the plugin is still spinning in "stuck";
    // its failure comes last, when its CPU budget runs out.
    let mut order = Vec::new();
    for _ in 0..6 {
        let delivery = bot.next().await.context("a delivery")?;
        order.push(format!("{}: {}", delivery.chat.id, text_of(&delivery)));
    }
    let mut answers = order[..5].to_vec();
    answers.sort();
    let expected: Vec<String> = (0..5).map(|i| format!("free-{i}: {i}")).collect();
    assert_eq!(answers, expected, "order: {order:?}");
    assert_eq!(order[5], "stuck: Sorry, `hostile` could not handle that.");
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_quotas_stop_a_flood_and_spare_other_plugins() -> Result<()> {
    let engine = engine()?;
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    store.kv_set("hostile", "already-there", b"12345")?;
    let by_keys = |max_keys, max_bytes| {
        let limits = Limits {
            kv_max_keys: max_keys,
            kv_max_bytes: max_bytes,
            ..tight_limits()
        };
        let settings = move |_: &_| {
            Ok(PluginSettings {
                config: Default::default(),
                limits,
                grants: [Permission::Kv].into(),
                ..Default::default()
            })
        };
        load_plugin(
            &test_plugins_dir().join("hostile"),
            &engine,
            Arc::clone(&store),
            settings,
        )
    };

    // A key quota: the existing key counts too.
    let plugin = by_keys(50, u64::MAX)?;
    match attack(&plugin, "kvflood").await? {
        Failure::Failed(message) => assert!(message.contains("at most 50 keys"), "{message}"),
        other => panic!("the flood must hit the key quota, got {other:?}"),
    }
    assert_eq!(store.kv_usage("hostile")?.keys, 50);

    // A byte quota, counted from what is stored when the plugin loads.
    let plugin = by_keys(u64::MAX, 60_000)?;
    match attack(&plugin, "kvflood").await? {
        Failure::Failed(message) => assert!(message.contains("at most 60000 bytes"), "{message}"),
        other => panic!("the flood must hit the byte quota, got {other:?}"),
    }
    let usage = store.kv_usage("hostile")?;
    assert!(usage.bytes <= 60_000, "{usage:?}");

    // Other plugins' quotas are their own.
    store.kv_set("notes", "fine", b"1")?;
    assert_eq!(store.kv_usage("notes")?.keys, 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_floods_are_rate_limited() -> Result<()> {
    let engine = engine()?;
    let plugin = load_from(
        &test_plugins_dir().join("hostile"),
        &engine,
        Arc::new(MemoryStore::default()),
    )?;
    let answer = run(&plugin, "logflood")
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(answer, vec!["logged"]);
    // The default budget lets a burst of 20 through; the rest is dropped.
    let dropped = plugin.logs_dropped();
    assert!((9_900..=9_980).contains(&dropped), "dropped {dropped}");
    Ok(())
}
