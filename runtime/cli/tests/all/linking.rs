//! Plugins that call each other: `leaderboard` imports the interface
//! `economy` provides, the host links the two, and each call runs inside
//! the provider's own sandbox.

use std::path::Path;

use anyhow::Result;

use crate::loading::copy_plugin;
use crate::support::{TestBot, plugins_dir, test_plugins_dir};

/// A directory holding copies of `plugins` (source directory, and the
/// manifest to write instead of its own).
fn stage(plugins: &[(&Path, Option<String>)]) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    for (from, manifest) in plugins {
        let name = from
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("plugin");
        copy_plugin(from, &dir.path().join(name), manifest.as_deref())?;
    }
    Ok(dir)
}

/// Asks as `user` (the memory adapter's user id and name).
async fn ask_as(bot: &mut TestBot, user: &str, text: &str) -> Result<String> {
    anyhow::ensure!(bot.handle.say("c", user, text).await, "the bot stopped");
    Ok(crate::support::text_of(&bot.next().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn give_balance_and_top_work_across_economy_and_leaderboard() -> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], "[plugins.economy]\ngrants = [\"kv\"]\n")?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    assert_eq!(
        ask_as(&mut bot, "alice", "/top").await?,
        "Nobody has points yet: try /daily."
    );
    assert_eq!(
        ask_as(&mut bot, "alice", "/daily").await?,
        "+100 points. You have 100 points."
    );
    assert_eq!(
        ask_as(&mut bot, "bob", "/daily").await?,
        "+100 points. You have 100 points."
    );
    assert_eq!(
        ask_as(&mut bot, "alice", "/daily").await?,
        "You already collected today's bonus; come back tomorrow (UTC)."
    );
    assert_eq!(
        ask_as(&mut bot, "alice", "/give bob 30").await?,
        "Gave 30 points to bob. You have 70 points."
    );
    assert_eq!(
        ask_as(&mut bot, "bob", "/balance").await?,
        "You have 130 points."
    );
    let refused = ask_as(&mut bot, "alice", "/give bob 500").await?;
    assert!(
        refused.starts_with("not enough points: alice has 70"),
        "{refused}"
    );
    // leaderboard has no data of its own: the list comes from economy,
    // which has not met carol.
    assert_eq!(
        ask_as(&mut bot, "carol", "/top").await?,
        "1. bob: 130\n2. alice: 70"
    );
    assert_eq!(ask_as(&mut bot, "carol", "/top 1").await?, "1. bob: 130");
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_a_loop_or_a_refused_write_in_the_provider_is_an_error_value_for_the_caller()
-> Result<()> {
    let bad = test_plugins_dir().join("bad-economy");
    let as_economy = std::fs::read_to_string(bad.join("plugin.toml"))?
        .replace("name = \"bad-economy\"", "name = \"economy\"");
    let plugins = stage(&[
        (&bad, Some(as_economy)),
        (&plugins_dir().join("leaderboard"), None),
    ])?;
    let mut bot = TestBot::start(
        &[plugins.path()],
        "[plugins.economy.limits]\ncpu_ms = 100\n",
    )?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    assert_eq!(bot.ask("c", "/top 3").await?, "1. call 1: 1");
    let crashed = bot.ask("c", "/top 7").await?;
    assert!(
        crashed.starts_with("The leaderboard is not available right now: `economy` crashed")
            && crashed.contains("economy fell over"),
        "{crashed}"
    );
    // The crashed instance was replaced; the caller kept working.
    assert_eq!(bot.ask("c", "/top 3").await?, "1. call 1: 1");
    let looped = bot.ask("c", "/top 13").await?;
    assert!(
        looped.contains("`economy` used more than its CPU budget of 100 ms"),
        "{looped}"
    );
    // Writing needs economy's own `kv` grant, whatever its caller holds.
    let write = bot.ask("c", "/top 21").await?;
    assert!(write.contains("kv"), "{write}");
    assert!(!write.contains("went through"), "{write}");
    // A refused write is an error the provider survives: same instance.
    assert_eq!(bot.ask("c", "/top 3").await?, "1. call 2: 1");
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_provider_a_cycle_and_an_incompatible_version_are_refused_by_name() -> Result<()>
{
    let economy = plugins_dir().join("economy");
    let leaderboard = plugins_dir().join("leaderboard");
    let manifest = |dir: &Path| std::fs::read_to_string(dir.join("plugin.toml"));
    let refusals = |bot: &TestBot| -> Vec<String> {
        bot.report.refused.iter().map(ToString::to_string).collect()
    };

    // leaderboard alone: nothing provides what it imports.
    let alone = stage(&[(&leaderboard, None), (&plugins_dir().join("echo"), None)])?;
    let mut bot = TestBot::start(&[alone.path()], "")?;
    let refused = refusals(&bot);
    assert!(
        refused.iter().any(|r| r.starts_with("plugin `leaderboard`: it imports `plugins:economy/api@1.0.0`, which none of its loaded dependencies provides")),
        "{refused:?}"
    );
    assert_eq!(bot.ask("c", "/echo still here").await?, "still here");
    bot.stop().await?;

    // economy depends on leaderboard, which depends on economy.
    let cyclic = manifest(&economy)?.replacen(
        "[[commands]]",
        "[dependencies]\nleaderboard = \"^1\"\n\n[[commands]]",
        1,
    );
    let cycle = stage(&[(&economy, Some(cyclic)), (&leaderboard, None)])?;
    let bot = TestBot::start(&[cycle.path()], "")?;
    let refused = refusals(&bot);
    assert_eq!(refused.len(), 2, "{refused:?}");
    for name in ["economy", "leaderboard"] {
        assert!(
            refused.iter().any(|r| r
                .starts_with(&format!("plugin `{name}`: its dependencies form a cycle"))
                && (r.contains("economy → leaderboard → economy")
                    || r.contains("leaderboard → economy → leaderboard"))),
            "{refused:?}"
        );
    }
    bot.stop().await?;

    // leaderboard wants economy 2, economy 1.0.0 is there.
    let wants_2 = manifest(&leaderboard)?.replace("economy = \"^1\"", "economy = \"^2\"");
    let old = stage(&[(&economy, None), (&leaderboard, Some(wants_2))])?;
    let bot = TestBot::start(&[old.path()], "")?;
    let refused = refusals(&bot);
    assert!(
        refused.iter().any(|r| r.contains("plugin `leaderboard`: it needs `economy` ^2 for `plugins:economy/api@1.0.0`, but `economy` 1.0.0 is installed")),
        "{refused:?}"
    );
    bot.stop().await?;

    // economy claims a version of the interface its component does not export.
    let claims_2 = manifest(&economy)?.replace("api@1.0.0", "api@2.0.0");
    let wrong = stage(&[(&economy, Some(claims_2)), (&leaderboard, None)])?;
    let bot = TestBot::start(&[wrong.path()], "")?;
    let refused = refusals(&bot);
    assert!(
        refused.iter().any(|r| r.starts_with("plugin `economy`: the component exports `plugins:economy/api@1.0.0`, which plugin.toml does not list in `provides`")),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|r| r.starts_with("plugin `leaderboard`: it needs `economy` for `plugins:economy/api@1.0.0`, which did not load")),
        "{refused:?}"
    );
    bot.stop().await?;
    Ok(())
}
