//! The official `achievements`: it reads points from `economy` through the
//! interface economy provides, and keeps what was unlocked in its own KV.
//! Real components, staged by `cargo xtask plugins`, in a real bot.

use std::path::Path;

use anyhow::{Context, Result};
use plugboard_store::{Durable, PluginKv, SledStore};

use crate::cli::run_console;
use crate::loading::copy_plugin;
use crate::support::{TestBot, plugins_dir, test_plugins_dir, text_of, write_config};

/// Both plugins keep data: the owner granted each its own `kv`.
const GRANTS: &str =
    "[plugins.economy]\ngrants = [\"kv\"]\n\n[plugins.achievements]\ngrants = [\"kv\"]\n";

/// Asks as `user` (the memory adapter's user id and name).
async fn ask_as(bot: &mut TestBot, user: &str, text: &str) -> Result<String> {
    anyhow::ensure!(bot.handle.say("c", user, text).await, "the bot stopped");
    Ok(text_of(&bot.next().await?))
}

/// Today's UTC date, `2026-12-04`.
fn today() -> Result<String> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let now = chrono::DateTime::from_timestamp(i64::try_from(secs)?, 0)
        .context("the clock is out of chrono's range")?;
    Ok(now.date_naive().format("%Y-%m-%d").to_string())
}

/// Runs `check` with today's date, and again with the date after the
/// action if midnight (UTC) passed meanwhile.
fn on_either_day(before: &str, after: &str, check: impl Fn(&str) -> bool) -> bool {
    check(before) || check(after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn achievements_unlock_at_economy_thresholds_list_their_day_and_the_next_and_are_announced_once()
-> Result<()> {
    let mut bot = TestBot::start(&[&plugins_dir()], GRANTS)?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    assert_eq!(
        ask_as(&mut bot, "alice", "/achievements").await?,
        "Your achievements (0 points):\n\
         You have no achievements yet.\n\
         Next: Pocket Money (100 points), 100 points to go."
    );

    let before = today()?;
    ask_as(&mut bot, "alice", "/daily").await?;
    let first = ask_as(&mut bot, "alice", "/achievements").await?;
    let after = today()?;
    let unlocked_100 = |day: &str| format!("✓ Pocket Money (100 points), since {day}");
    assert!(
        on_either_day(&before, &after, |day| first
            == format!(
                "🎉 New achievement: Pocket Money (100 points)!\n\
                 Your achievements (100 points):\n\
                 {}\n\
                 Next: Saver (500 points), 400 points to go.",
                unlocked_100(day)
            )),
        "{first}"
    );
    let day = if first.contains(&unlocked_100(&before)) {
        before
    } else {
        after
    };
    // Asked again: listed, not announced a second time.
    assert_eq!(
        ask_as(&mut bot, "alice", "/achievements").await?,
        format!(
            "Your achievements (100 points):\n{}\nNext: Saver (500 points), 400 points to go.",
            unlocked_100(&day)
        )
    );

    // Four friends give alice their daily bonus: 500 points.
    for friend in ["bob", "carol", "dave", "erin"] {
        ask_as(&mut bot, friend, "/daily").await?;
        let gave = ask_as(&mut bot, friend, "/give alice 100").await?;
        assert_eq!(gave, "Gave 100 points to alice. You have 0 points.");
    }
    let second = ask_as(&mut bot, "alice", "/achievements").await?;
    assert!(
        second.starts_with(
            "🎉 New achievement: Saver (500 points)!\nYour achievements (500 points):\n"
        ) && second.contains(&unlocked_100(&day))
            && second.contains("✓ Saver (500 points), since ")
            && second.ends_with("Next: Four Digits (1000 points), 500 points to go."),
        "{second}"
    );
    assert_eq!(second.matches("🎉").count(), 1, "{second}");

    // Spending points takes no achievement back, and announces nothing.
    ask_as(&mut bot, "alice", "/give bob 450").await?;
    let spent = ask_as(&mut bot, "alice", "/achievements").await?;
    assert!(
        spent.starts_with("Your achievements (50 points):\n")
            && spent.contains(&unlocked_100(&day))
            && spent.contains("✓ Saver (500 points), since ")
            && spent.ends_with("Next: Four Digits (1000 points), 950 points to go."),
        "{spent}"
    );
    assert!(!spent.contains("🎉"), "{spent}");
    // bob's own list is his: 450 points, one unlock, announced to him.
    let bob = ask_as(&mut bot, "bob", "/achievements").await?;
    assert!(
        bob.starts_with(
            "🎉 New achievement: Pocket Money (100 points)!\nYour achievements (450 points):\n"
        ) && !bob.contains("Saver (500 points), since"),
        "{bob}"
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlock_survives_a_restart_of_plugboard_run_and_is_not_announced_again() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = write_config(
        dir.path(),
        &[&plugins_dir()],
        &format!("[console]\nenabled = true\n\n{GRANTS}"),
    )?;
    let before = today()?;
    let (first, stderr) = run_console(&config, "/daily\n/achievements\n")?;
    let after = today()?;
    assert!(
        on_either_day(&before, &after, |day| first
            == format!(
                "+100 points. You have 100 points.\n\
                 🎉 New achievement: Pocket Money (100 points)!\n\
                 Your achievements (100 points):\n\
                 ✓ Pocket Money (100 points), since {day}\n\
                 Next: Saver (500 points), 400 points to go.\n"
            )),
        "{first}\nstderr: {stderr}"
    );
    // A new process on the same data: the unlock and its day are kept.
    let (second, stderr) = run_console(&config, "/achievements\n")?;
    let unlocked_line = first
        .lines()
        .find(|l| l.starts_with("✓ "))
        .context("no unlocked line")?;
    assert_eq!(
        second,
        format!(
            "Your achievements (100 points):\n{unlocked_line}\nNext: Saver (500 points), 400 points to go.\n"
        ),
        "stderr: {stderr}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn achievements_never_reads_economys_kv_and_writes_its_unlocks_only_into_its_own()
-> Result<()> {
    let data = std::sync::Arc::new(tempfile::tempdir()?);
    let store_dir = data.path().join("data").join("store");
    // Forged unlocks under the key achievements uses, in economy's KV: if
    // achievements could read economy's data, alice would have them all.
    let forged = br#"{"pocket-money":0,"saver":0,"four-digits":0,"tycoon":0}"#;
    {
        let store = SledStore::open(&store_dir)?;
        store.kv_set("economy", "unlocked/test:alice", forged)?;
        store.flush()?;
    }
    let mut bot = TestBot::start_in(data, &[&plugins_dir()], GRANTS)?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    assert_eq!(
        ask_as(&mut bot, "alice", "/achievements").await?,
        "Your achievements (0 points):\n\
         You have no achievements yet.\n\
         Next: Pocket Money (100 points), 100 points to go."
    );
    ask_as(&mut bot, "alice", "/daily").await?;
    let unlocked = ask_as(&mut bot, "alice", "/achievements").await?;
    assert!(
        unlocked.starts_with("🎉 New achievement: Pocket Money (100 points)!"),
        "{unlocked}"
    );
    let _data = bot.stop().await?;

    let store = SledStore::open(&store_dir)?;
    // achievements holds its unlock and nothing of economy's...
    assert_eq!(
        store.kv_keys("achievements", "", 100)?,
        ["unlocked/test:alice"]
    );
    let own = store
        .kv_get("achievements", "unlocked/test:alice")?
        .context("achievements stored no unlock")?;
    let own: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&own)?;
    assert_eq!(own.keys().collect::<Vec<_>>(), ["pocket-money"]);
    // ...and economy's data, forged key included, is as economy left it.
    assert_eq!(
        store.kv_keys("economy", "", 100)?,
        ["accounts/test:alice", "unlocked/test:alice"]
    );
    assert_eq!(
        store.kv_get("economy", "unlocked/test:alice")?.as_deref(),
        Some(&forged[..])
    );
    Ok(())
}

/// A directory holding `economy` (from `economy_dir`, with `manifest`
/// instead of its own) and the official `achievements`.
fn stage_with_achievements(
    economy_dir: &Path,
    manifest: Option<&str>,
) -> Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    copy_plugin(economy_dir, &dir.path().join("economy"), manifest)?;
    copy_plugin(
        &plugins_dir().join("achievements"),
        &dir.path().join("achievements"),
        None,
    )?;
    Ok(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_or_a_crash_inside_economy_is_a_clear_answer_from_achievements_and_the_next_call_works()
-> Result<()> {
    // economy without its `kv` grant refuses to read balances.
    let official = stage_with_achievements(&plugins_dir().join("economy"), None)?;
    let mut bot = TestBot::start(
        &[official.path()],
        "[plugins.achievements]\ngrants = [\"kv\"]\n",
    )?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    let refused = ask_as(&mut bot, "alice", "/achievements").await?;
    assert!(
        refused.starts_with("Achievements are not available right now: economy did not answer (")
            && refused.contains("`kv` permission"),
        "{refused}"
    );
    bot.stop().await?;

    // A stand-in economy that panics when asked about `crash`.
    let bad = test_plugins_dir().join("bad-economy");
    let as_economy = std::fs::read_to_string(bad.join("plugin.toml"))?
        .replace("name = \"bad-economy\"", "name = \"economy\"");
    let staged = stage_with_achievements(&bad, Some(&as_economy))?;
    let mut bot = TestBot::start(
        &[staged.path()],
        "[plugins.achievements]\ngrants = [\"kv\"]\n",
    )?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    let crashed = ask_as(&mut bot, "crash", "/achievements").await?;
    assert!(
        crashed.starts_with(
            "Achievements are not available right now: economy did not answer (`economy` crashed"
        ) && crashed.contains("economy fell over reading test:crash"),
        "{crashed}"
    );
    // achievements kept working, and economy's crashed instance was
    // replaced: its first call again.
    assert_eq!(
        ask_as(&mut bot, "alice", "/achievements").await?,
        "Your achievements (1 point):\n\
         You have no achievements yet.\n\
         Next: Pocket Money (100 points), 99 points to go."
    );
    bot.stop().await?;
    Ok(())
}
