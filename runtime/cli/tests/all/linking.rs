//! Plugins that call each other: `leaderboard` imports the interface
//! `economy` provides, the host links the two, and each call runs inside
//! the provider's own sandbox.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail, ensure};

use crate::cli::run_console;
use crate::loading::copy_plugin;
use crate::packages::{BotDir, Market, Rogue, blocking, cli_ok, tarball};
use crate::support::{PATIENCE, TestBot, plugins_dir, shared_cache, test_plugins_dir};

/// The interface economy provides, as its component names it.
const ECONOMY_API_1: &[u8] = b"plugins:economy/api@1.0.0";

/// Rewrites a component exporting `plugins:economy/api@1.0.0` into one
/// exporting (or importing) `@2.0.0`, the same functions at an
/// incompatible version: the names have the same length, so the binary
/// stays valid.
fn economy_api_2(wasm: &mut [u8]) -> Result<()> {
    let mut found = 0;
    let mut at = 0;
    while let Some(i) = wasm[at..]
        .windows(ECONOMY_API_1.len())
        .position(|w| w == ECONOMY_API_1)
    {
        let start = at + i;
        wasm[start..start + ECONOMY_API_1.len()].copy_from_slice(b"plugins:economy/api@2.0.0");
        found += 1;
        at = start + ECONOMY_API_1.len();
    }
    ensure!(found > 0, "the component does not name {ECONOMY_API_1:?}");
    Ok(())
}

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
async fn a_crash_a_loop_or_a_write_without_its_own_kv_grant_in_the_provider_is_an_error_value_for_the_caller()
-> Result<()> {
    let bad = test_plugins_dir().join("bad-economy");
    let as_economy = std::fs::read_to_string(bad.join("plugin.toml"))?
        .replace("name = \"bad-economy\"", "name = \"economy\"");
    // The caller asks for `kv` and holds it; the provider holds nothing.
    let leaderboard = plugins_dir().join("leaderboard");
    let with_kv = std::fs::read_to_string(leaderboard.join("plugin.toml"))?
        .replace("permissions = []", "permissions = [\"kv\"]");
    let plugins = stage(&[(&bad, Some(as_economy)), (&leaderboard, Some(with_kv))])?;
    let mut bot = TestBot::start(
        &[plugins.path()],
        "[plugins.economy.limits]\ncpu_ms = 100\n\n[plugins.leaderboard]\ngrants = [\"kv\"]\n",
    )?;
    assert!(
        bot.report.missing_grants.is_empty(),
        "{:?}",
        bot.report.missing_grants
    );
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
    // Writing needs economy's own `kv` grant, not its caller's.
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
        refused.iter().any(|r| r.starts_with("plugin `leaderboard`: it imports `plugins:economy/api@1.0.0`, which none of its dependencies provides")),
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
    // podium is not on the cycle, but depends on economy, which is.
    let podium = manifest(&leaderboard)?.replace("name = \"leaderboard\"", "name = \"podium\"");
    copy_plugin(&leaderboard, &cycle.path().join("podium"), Some(&podium))?;
    let bot = TestBot::start(&[cycle.path()], "")?;
    let refused = refusals(&bot);
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(
        refused.iter().any(|r| r.starts_with("plugin `podium`: it needs `economy` for `plugins:economy/api@1.0.0`, which did not load: plugin `economy`: its dependencies form a cycle")),
        "{refused:?}"
    );
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
        refused.iter().any(|r| r.contains("plugin `leaderboard`: it needs `economy` ^2 for `plugins:economy/api@1.0.0`, but `economy` 1.1.0 is installed")),
        "{refused:?}"
    );
    bot.stop().await?;

    // economy really provides api@2.0.0; leaderboard imports api@1.0.0.
    let api_2 = tempfile::tempdir()?;
    let economy_2 = api_2.path().join("economy");
    copy_plugin(
        &economy,
        &economy_2,
        Some(
            &manifest(&economy)?
                .replace("api@1.0.0", "api@2.0.0")
                .replace("version = \"1.1.0\"", "version = \"1.5.0\""),
        ),
    )?;
    let mut wasm = std::fs::read(economy_2.join("plugin.wasm"))?;
    economy_api_2(&mut wasm)?;
    std::fs::write(economy_2.join("plugin.wasm"), wasm)?;
    copy_plugin(&leaderboard, &api_2.path().join("leaderboard"), None)?;
    let bot = TestBot::start(&[api_2.path()], "")?;
    let refused = refusals(&bot);
    assert!(
        refused.iter().any(|r| r == "plugin `leaderboard`: it imports `plugins:economy/api@1.0.0`, but `economy` 1.5.0 provides `plugins:economy/api@2.0.0`, which is not compatible with it; install a version of `economy` whose `plugins:economy/api` is compatible with 1.0.0"),
        "{refused:?}"
    );
    assert_eq!(refused.len(), 1, "economy itself loads: {refused:?}");
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

#[test]
fn plugboard_install_leaderboard_pulls_in_economy_and_the_pair_answers_in_one_run() -> Result<()> {
    let market = Market::start()?;
    market.publish("economy", "economy", "1.0.0", &[])?;
    market.publish("leaderboard", "leaderboard", "1.0.0", &[("economy", "^1")])?;
    let bot = BotDir::new(&market, "[console]\nenabled = true\n")?;
    let out = bot.ok(&market, &["install", "leaderboard", "--yes"])?;
    assert!(
        out.contains("install economy 1.0.0 (a dependency)"),
        "{out}"
    );
    assert!(out.contains("install leaderboard 1.0.0"), "{out}");
    let (stdout, stderr) = run_console(
        &bot.config(),
        "/top\n/daily\n/give bob 30\n/balance\n/top\n",
    )?;
    let lines: Vec<&str> = stdout.lines().collect();
    // `--yes` granted economy what it asks for, `roles` too, and the
    // console is the owner's, who holds every role: `premium`'s bonus.
    assert_eq!(
        lines,
        [
            "Nobody has points yet: try /daily.",
            "+200 points. You have 200 points.",
            "Gave 30 points to bob. You have 170 points.",
            "You have 170 points.",
            "1. console: 170",
            "2. console:bob: 30",
        ],
        "stderr: {stderr}"
    );
    Ok(())
}

/// Asks `text` until the answer is `expected`.
async fn wait_for_answer(bot: &mut TestBot, text: &str, expected: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answer = bot.ask("c", text).await?;
        if answer == expected {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the bot never answered {text} with {expected:?}; last answer: {answer:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compatible_economy_update_relinks_the_running_leaderboard_and_an_incompatible_one_is_refused()
-> Result<()> {
    let market = Arc::new(blocking(Market::start).await?);
    {
        let market = Arc::clone(&market);
        blocking(move || {
            market.publish("economy", "economy", "1.0.0", &[])?;
            market.publish("leaderboard", "leaderboard", "1.0.0", &[("economy", "^1")])
        })
        .await?;
    }
    let extra = format!("[registries]\ndefault = {:?}\n", market.url);
    let mut bot = TestBot::start(&[], &extra)?;
    let config = bot.data.path().join("test.toml");
    std::fs::write(
        &config,
        format!(
            "[runtime]\ndata_dir = {:?}\ncache_dir = {:?}\nplugin_dirs = []\nmax_instances = 64\n\n{extra}",
            bot.data.path().join("data").display().to_string(),
            shared_cache().display().to_string(),
        ),
    )?;
    let cli = |args: &'static [&'static str]| {
        let market = Arc::clone(&market);
        let config = config.clone();
        blocking(move || cli_ok(&market, &config, args))
    };

    cli(&["install", "leaderboard"]).await?;
    wait_for_answer(&mut bot, "/top", "Nobody has points yet: try /daily.").await?;
    assert_eq!(
        bot.ask("c", "/daily").await?,
        "+100 points. You have 100 points."
    );

    // 1.1.0 keeps the interface (it is the test stand-in, which answers
    // `top(3)` with how often it was called).
    {
        let market = Arc::clone(&market);
        blocking(move || market.publish("testing/bad-economy", "economy", "1.1.0", &[])).await?;
    }
    let out = cli(&["update", "economy"]).await?;
    assert!(out.contains("update economy 1.0.0 -> 1.1.0"), "{out}");
    // The running leaderboard now calls the new economy: no restart.
    wait_for_answer(&mut bot, "/top 3", "1. call 1: 1").await?;

    // 2.0.0 provides the interface at an incompatible version.
    {
        let market = Arc::clone(&market);
        blocking(move || {
            market.publish_edited("economy", "economy", "2.0.0", &[], |wasm, manifest| {
                economy_api_2(wasm)?;
                manifest.insert(
                    "provides".into(),
                    toml::Value::Array(vec!["plugins:economy/api@2.0.0".into()]),
                );
                Ok(())
            })
        })
        .await?;
    }
    let config_path = config.clone();
    let refused = blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
            .args(["install", "economy@^2", "--yes", "--config"])
            .arg(&config_path)
            .env("PLUGBOARD_LOG", "warn")
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .stdin(std::process::Stdio::null())
            .output()?;
        ensure!(!out.status.success(), "installing economy 2 succeeded");
        Ok(String::from_utf8_lossy(&out.stderr).into_owned())
    })
    .await?;
    assert!(
        refused.contains("leaderboard 1.0.0 depends on economy ^1")
            && refused.contains("plugins:economy/api@1.0.0"),
        "{refused}"
    );
    // Nothing changed: the same economy instance answers.
    assert_eq!(bot.ask("c", "/top 3").await?, "1. call 2: 1");
    bot.stop().await?;
    Ok(())
}

#[test]
fn a_cycle_a_missing_export_and_an_incompatible_interface_are_refused_at_install_by_name()
-> Result<()> {
    let market = Market::start()?;
    // ring-a 1.1.0 depends on ring-b, which depends on ring-a.
    market.publish("echo", "ring-a", "1.0.0", &[])?;
    market.publish("dice", "ring-b", "1.0.0", &[("ring-a", "^1")])?;
    market.publish("echo", "ring-a", "1.1.0", &[("ring-b", "^1")])?;
    let bot = BotDir::new(&market, "")?;
    let refused = bot.refused(&market, &["install", "ring-b", "--yes"])?;
    assert!(
        refused.contains("these plugins depend on each other in a circle: ring-")
            && (refused.contains("ring-a → ring-b → ring-a")
                || refused.contains("ring-b → ring-a → ring-b")),
        "{refused}"
    );
    assert!(bot.installed()?.is_empty());

    // economy 1.1.0 provides the interface at 2.0.0: the resolver keeps
    // leaderboard on 1.0.0, and asking for 1.1.0 is refused by name.
    market.publish("economy", "economy", "1.0.0", &[])?;
    market.publish("leaderboard", "leaderboard", "1.0.0", &[("economy", "^1")])?;
    market.publish_edited("economy", "economy", "1.1.0", &[], |wasm, manifest| {
        economy_api_2(wasm)?;
        let provides = vec![toml::Value::from("plugins:economy/api@2.0.0")];
        manifest.insert("provides".into(), provides.into());
        Ok(())
    })?;
    let out = bot.ok(&market, &["install", "leaderboard", "--yes"])?;
    assert!(
        out.contains("install economy 1.0.0 (a dependency)"),
        "{out}"
    );
    let refused = bot.refused(&market, &["install", "economy@=1.1.0", "--yes"])?;
    assert!(
        refused.contains("leaderboard 1.0.0") && refused.contains("plugins:economy/api@1.0.0"),
        "{refused}"
    );
    let installed = bot.installed()?;
    assert!(
        installed.contains(&("economy".into(), "1.0.0".into())),
        "{installed:?}"
    );

    // A package whose component does not export what plugin.toml
    // provides, from a registry that does not check.
    let rogue = Rogue::start()?;
    let cache = tempfile::tempdir()?;
    let victim = BotDir::new_for(&rogue.url, cache.path(), "")?;
    let economy = plugins_dir().join("economy");
    let manifest =
        std::fs::read_to_string(economy.join("plugin.toml"))?.replace("api@1.0.0", "api@2.0.0");
    let wasm = std::fs::read(economy.join("plugin.wasm"))?;
    let regular = tar::EntryType::Regular;
    let package = tarball(&[
        ("README.md", regular, b"# economy\n"),
        ("plugin.toml", regular, manifest.as_bytes()),
        ("plugin.wasm", regular, &wasm),
    ])?;
    rogue.serve_as("economy", "0.2.0", &package, package.clone(), &rogue.key)?;
    let refused = victim.expect("", &["install", "economy", "--yes"], false)?;
    assert!(
        refused.contains("economy 1.0.0: plugin.wasm does not match plugin.toml: the component exports `plugins:economy/api@1.0.0`, which plugin.toml does not list in `provides`"),
        "{refused}"
    );
    assert_eq!(
        refused.matches("does not match").count(),
        1,
        "said once: {refused}"
    );
    assert!(victim.installed()?.is_empty());
    Ok(())
}
