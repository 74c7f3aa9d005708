//! Hostile plugins: every attack fails only its own event, with a clear
//! reason, and the bot keeps answering.

use std::sync::Arc;

use anyhow::{Context, Result};
use plugboard_runtime::event::{Chat, ChatKind, Command, Event, Message, Platform, User};
use plugboard_runtime::plugin::{LoadedPlugin, PluginSettings, load_plugin};
use plugboard_runtime::sandbox::{Failure, Limits};
use plugboard_runtime::store::MemoryStore;

use crate::support::{TestBot, engine, plugins_dir, test_plugins_dir};

fn tight_limits() -> Limits {
    Limits {
        memory_mib: 32,
        cpu_ms: 200,
        deadline_ms: 3_000,
        ..Limits::default()
    }
}

fn command(name: &str) -> Event {
    let chat = Chat {
        platform: Platform::Console,
        id: "c".into(),
        kind: ChatKind::Direct,
        title: None,
    };
    Event::Command(Command {
        name: name.into(),
        args: Vec::new(),
        raw_args: String::new(),
        message: Message {
            id: "1".into(),
            chat,
            sender: User::new("u", "u"),
            text: format!("/{name}"),
            reply_to: None,
            mentions: Vec::new(),
            attachments: Vec::new(),
            timestamp_ms: 0,
        },
    })
}

fn load_hostile(engine: &plugboard_runtime::engine::PluginEngine) -> Result<LoadedPlugin> {
    let settings = |_: &_| {
        Ok(PluginSettings {
            config: Default::default(),
            limits: tight_limits(),
        })
    };
    Ok(load_plugin(
        &test_plugins_dir().join("hostile"),
        engine,
        Arc::new(MemoryStore::default()),
        settings,
    )?)
}

async fn attack(plugin: &LoadedPlugin, name: &str) -> Result<Failure> {
    let event = command(name);
    let chat = event.chat().to_ref();
    match plugin.handle(&event, &chat, Some("1")).await {
        Ok(handled) => anyhow::bail!("/{name} was not contained: {:?}", handled.outbound),
        Err(failure) => Ok(failure),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_attack_fails_with_its_own_reason() -> Result<()> {
    let engine = engine()?;
    let plugin = load_hostile(&engine)?;

    assert_eq!(
        attack(&plugin, "spin").await?,
        Failure::CpuBudget { cpu_ms: 200 }
    );
    assert_eq!(
        attack(&plugin, "hog").await?,
        Failure::Memory { memory_mib: 32 }
    );
    match attack(&plugin, "boom").await? {
        Failure::Trap(message) => assert!(
            message.contains("hostile plugin panics on purpose"),
            "{message}"
        ),
        other => panic!("a panic must be a trap, got {other:?}"),
    }
    match attack(&plugin, "recurse").await? {
        Failure::Trap(message) => assert!(message.contains("stack overflow"), "{message}"),
        other => panic!("unbounded recursion must be a trap, got {other:?}"),
    }
    match attack(&plugin, "kvpeek").await? {
        Failure::Failed(message) => {
            assert!(
                message.contains("permission denied") && message.contains("`kv`"),
                "{message}"
            )
        }
        other => panic!("KV without the permission must be refused, got {other:?}"),
    }
    // Each poisoned instance was thrown away; the plugin still works.
    assert_eq!(attack(&plugin, "boom").await?.reason(), "trap");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_event_is_answered_after_every_attack() -> Result<()> {
    let limits = "[limits]\nmemory_mib = 32\ncpu_ms = 200\ndeadline_ms = 3000\n";
    let mut bot = TestBot::start(&[&plugins_dir(), &test_plugins_dir()], limits)?;
    let refused: Vec<String> = bot.report.refused.iter().map(|e| e.to_string()).collect();
    assert!(
        refused.iter().all(|e| e.contains("wit-future")),
        "{refused:?}"
    );
    for attack in ["spin", "hog", "boom", "recurse"] {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_plugin_does_not_block_other_chats() -> Result<()> {
    // One chat is stuck on a looping plugin for its whole CPU budget; another
    // chat is answered meanwhile, because the plugin yields on every tick.
    let limits = "[limits]\ncpu_ms = 4000\ndeadline_ms = 8000\n";
    let mut bot = TestBot::start(&[&plugins_dir(), &test_plugins_dir()], limits)?;
    assert!(bot.handle.say("stuck", "u", "/spin").await);
    let echo = bot
        .ask("free", "/echo meanwhile")
        .await
        .context("other chat")?;
    assert_eq!(echo, "meanwhile");
    let failed = bot.next().await?;
    assert_eq!(failed.chat.id, "stuck");
    bot.stop().await?;
    Ok(())
}
