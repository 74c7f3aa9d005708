//! Events through the real router to real plugins and back.

use anyhow::{Context, Result};
use plugboard_host::plugin::Target;
use plugboard_model::event::OutboundOp;

use crate::support::{TestBot, plugins_dir, test_plugins_dir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_reach_the_plugins_that_declared_them() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], "")?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    assert_eq!(bot.ask("c1", "/echo hello   world").await?, "hello   world");
    assert_eq!(bot.ask("c1", "!echo bang").await?, "bang");
    assert_eq!(bot.ask("c1", "/ECHO@SomeBot loud").await?, "loud");
    let roll = bot.ask("c1", "/roll d20+3").await?;
    assert!(roll.starts_with("🎲 1d20+3: "), "{roll}");
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_plugins_own_explanation() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], "")?;
    let answer = bot.ask("c1", "/roll 2x6").await?;
    assert!(
        answer.contains("`2x6` is not a dice roll") && answer.contains("2d6"),
        "{answer}"
    );
    let answer = bot.ask("c1", "/echo").await?;
    assert!(answer.contains("usage: /echo <text>"), "{answer}");
    let answer = bot.ask("c1", "/recall").await?;
    assert!(answer.contains("missing <key>"), "{answer}");
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_and_unknown_commands() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], "")?;
    let help = bot.ask("c1", "/help").await?;
    for line in [
        "/echo <text> — Repeats <text> back to you.",
        "/remember <key> <text>",
        "/roll",
    ] {
        assert!(help.contains(line), "missing {line} in {help}");
    }
    let unknown = bot.ask("c1", "/frobnicate now").await?;
    assert_eq!(
        unknown,
        "Unknown command /frobnicate. Send /help to see what I can do."
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_no_plugin_owns_reaches_message_subscribers_instead_of_unknown() -> Result<()> {
    let hostile = test_plugins_dir().join("hostile");
    let mut bot = TestBot::start(&[&plugins_dir(), &hostile], "")?;
    // `hostile` reads messages and answers those that look like commands.
    assert_eq!(
        bot.ask("c1", "/frobnicate now").await?,
        "heard /frobnicate now"
    );
    // A command a plugin owns still goes to that plugin only.
    assert_eq!(bot.ask("c1", "/echo hi").await?, "hi");
    // A subscriber that only reacts has not answered: the user still learns
    // the command is unknown.
    assert!(bot.handle.say("c1", "u", "/peek").await);
    let reaction = bot.next().await?;
    assert!(
        matches!(&reaction.op, OutboundOp::React { emoji, .. } if emoji == "👀"),
        "{reaction:?}"
    );
    assert_eq!(
        crate::support::text_of(&bot.next().await?),
        "Unknown command /peek. Send /help to see what I can do."
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_one_chat_are_answered_in_order() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], crate::support::NO_RATE_LIMITS)?;
    for i in 0..200 {
        let chat = if i % 2 == 0 { "even" } else { "odd" };
        assert!(bot.handle.say(chat, "u", &format!("/echo {i}")).await);
    }
    let mut even = Vec::new();
    let mut odd = Vec::new();
    for _ in 0..200 {
        let delivery = bot.next().await?;
        let n: u32 = crate::support::text_of(&delivery).parse()?;
        if delivery.chat.id == "even" {
            even.push(n)
        } else {
            odd.push(n)
        }
    }
    assert_eq!(even, (0..200).step_by(2).collect::<Vec<_>>());
    assert_eq!(odd, (1..200).step_by(2).collect::<Vec<_>>());
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_survive_a_restart_and_a_groups_notes_stay_in_that_group() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], "")?;
    assert_eq!(
        bot.ask_group("kitchen", "/remember color deep teal")
            .await?,
        "Remembered `color`."
    );
    assert_eq!(
        bot.ask_group("garage", "/recall color").await?,
        "I don't remember anything about `color`."
    );
    // In private chats the notes are the user's, whichever chat.
    assert_eq!(
        bot.ask("dm-1", "/remember size 42").await?,
        "Remembered `size`."
    );
    assert_eq!(bot.ask("dm-2", "/recall size").await?, "42");
    assert_eq!(
        bot.ask_group("kitchen", "/recall size").await?,
        "I don't remember anything about `size`."
    );
    let data = bot.stop().await?;
    // A private chat's note as notes kept it before notes were personal.
    {
        use plugboard_store::{Durable as _, PluginKv as _};
        let store = plugboard_store::SledStore::open(&data.path().join("data").join("store"))?;
        store.kv_set("notes", "chat/test/dm-old/notes/legacy", b"\"kept\"")?;
        store.flush()?;
    }

    let mut bot = TestBot::start_in(data, &[&plugins_dir()], "")?;
    assert_eq!(
        bot.ask_group("kitchen", "/recall color").await?,
        "deep teal"
    );
    // Moved to its writer on first use, then theirs in every private chat.
    assert_eq!(bot.ask("dm-old", "/recall legacy").await?, "kept");
    assert_eq!(bot.ask("dm-1", "/recall legacy").await?, "kept");
    // `/notes` answers with a card: one field per note.
    bot.say_group("kitchen", "/notes").await?;
    let listed = bot.next().await?;
    let OutboundOp::Send { message, .. } = &listed.op else {
        anyhow::bail!("not a message: {listed:?}");
    };
    let card = message.embed.as_deref().context("an embed")?;
    assert_eq!(card.title.as_deref(), Some("📒 Notes (1)"));
    assert_eq!(
        (card.fields[0].name.as_str(), card.fields[0].value.as_str()),
        ("color", "deep teal")
    );
    assert_eq!(
        bot.ask_group("kitchen", "/forget color").await?,
        "Forgot `color`."
    );
    assert_eq!(
        bot.ask_group("kitchen", "/recall color").await?,
        "I don't remember anything about `color`."
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_instance_per_event_gives_the_same_answers() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], "[limits]\nreuse_instances = false\n")?;
    for i in 0..5 {
        assert_eq!(
            bot.ask("c", &format!("/echo fresh {i}")).await?,
            format!("fresh {i}")
        );
    }
    for target in bot.router.plugins() {
        let Target::Wasm(plugin) = target else {
            continue;
        };
        assert_eq!(
            plugin.idle_instances(),
            0,
            "{} kept an instance with reuse off",
            plugin.name()
        );
    }
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_settings_reach_the_plugin_with_defaults_and_wrong_values_are_refused_at_load()
-> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], "[plugins.dice.config]\nmax_dice = 3\n")?;
    assert_eq!(
        bot.ask("c", "/roll 4d6").await?,
        "I roll at most 3 dice at once."
    );
    assert!(bot.ask("c", "/roll 3d6").await?.starts_with("🎲 3d6: "));
    // Beyond the parser's own limit too, the owner's limit is what is said.
    assert_eq!(
        bot.ask("c", "/roll 101d6").await?,
        "I roll at most 3 dice at once."
    );
    bot.stop().await?;

    // Nothing set: dice has no default of its own, so the host's default
    // (100, from plugin.toml) is what lets it start and roll 100 dice.
    let mut bot = TestBot::start(&[&plugins_dir()], "")?;
    assert!(bot.ask("c", "/roll 100d6").await?.starts_with("🎲 100d6: "));
    bot.stop().await?;

    // Out of bounds, or a typo: refused at load with the fix; the rest load.
    for (config, expected) in [
        (
            "max_dice = 0",
            "[plugins.dice.config] in the config: `max_dice` = `0` is below the minimum of 1; \
             it must be an integer from 1 to 100",
        ),
        (
            "max_die = 3",
            "[plugins.dice.config] in the config: `max_die` is not a setting of this plugin; \
             did you mean `max_dice`? its settings are `max_dice`",
        ),
    ] {
        let extra = format!("[plugins.dice.config]\n{config}\n");
        let mut bot = TestBot::start(&[&plugins_dir()], &extra)?;
        let refused: Vec<String> = bot.report.refused.iter().map(|e| e.to_string()).collect();
        assert_eq!(refused, [expected]);
        assert_eq!(bot.ask("c", "/echo fine").await?, "fine");
        assert!(bot.router.plugins().iter().all(|t| t.name() != "dice"));
        bot.stop().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_adapters_for_one_account_are_refused_with_the_name_to_give() -> Result<()> {
    use plugboard_adapter::memory::MemoryAdapter;
    use plugboard_bot::bot::{Bot, BotError};
    use plugboard_bot::router::Router;
    use plugboard_store::MemoryStore;
    use std::sync::Arc;

    let router = Arc::new(Router::new(Vec::new(), vec!["/".into()]));
    let mut bot = Bot::new(router, Arc::new(MemoryStore::default()), 4, 16);
    bot.add_adapter(Box::new(MemoryAdapter::new("twin").0));
    bot.add_adapter(Box::new(MemoryAdapter::new("twin").0));
    let err = bot
        .run(std::future::pending())
        .await
        .expect_err("must refuse");
    assert!(
        matches!(err, BotError::DuplicateAdapter { ref platform, ref account }
            if platform == "twin" && account == "twin"),
        "{err}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embeds_beyond_discords_limits_are_refused_to_the_plugin() -> Result<()> {
    let mut bot = TestBot::start(&[&test_plugins_dir()], "")?;
    let answer = bot.ask("c", "/bigembed").await?;
    let (fields, link) = answer.split_once('\n').context("two refusals")?;
    assert!(
        fields.ends_with("limit exceeded: an embed has at most 25 fields; this one has 26"),
        "{fields}"
    );
    assert!(
        link.contains("invalid argument: an embed's url must be an http:// or https:// address"),
        "{link}"
    );
    bot.stop().await?;
    Ok(())
}
