//! Refusing bad plugins at startup with a message naming the file and the
//! problem, while the good ones load.

use std::path::Path;

use anyhow::Result;

use crate::support::{TestBot, plugins_dir, test_plugins_dir};

/// Copies a staged plugin into `to`, with `manifest` instead of its own.
pub(crate) fn copy_plugin(from: &Path, to: &Path, manifest: Option<&str>) -> Result<()> {
    std::fs::create_dir_all(to)?;
    std::fs::copy(from.join("plugin.wasm"), to.join("plugin.wasm"))?;
    match manifest {
        Some(text) => std::fs::write(to.join("plugin.toml"), text)?,
        None => drop(std::fs::copy(
            from.join("plugin.toml"),
            to.join("plugin.toml"),
        )?),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_plugins_are_refused_and_the_rest_load() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let echo = plugins_dir().join("echo");
    copy_plugin(
        &echo,
        &dir.path().join("a-broken-toml"),
        Some("name = \"broken\nversion = 1"),
    )?;
    copy_plugin(
        &echo,
        &dir.path().join("b-bad-name"),
        Some("name = \"Bad_Name\"\nversion = \"0.1.0\"\ndescription = \"x\"\nwit = \"0.1\"\n"),
    )?;
    copy_plugin(
        &echo,
        &dir.path().join("c-future-manifest"),
        Some(
            "name = \"future-manifest\"\nversion = \"0.1.0\"\ndescription = \"x\"\nwit = \"2.0\"\n",
        ),
    )?;
    copy_plugin(
        &test_plugins_dir().join("wit-future"),
        &dir.path().join("d-wit-future"),
        None,
    )?;
    copy_plugin(
        &echo,
        &dir.path().join("e-garbage"),
        Some("name = \"garbage\"\nversion = \"0.1.0\"\ndescription = \"x\"\nwit = \"0.1\"\n"),
    )?;
    std::fs::write(
        dir.path().join("e-garbage").join("plugin.wasm"),
        b"\0asm not really",
    )?;
    copy_plugin(&echo, &dir.path().join("f-echo"), None)?;

    let mut bot = TestBot::start(&[dir.path()], "")?;
    let refused: Vec<String> = bot.report.refused.iter().map(|e| e.to_string()).collect();
    let expect = [
        ("a-broken-toml/plugin.toml", "TOML"),
        (
            "b-bad-name/plugin.toml",
            "`name` `Bad_Name` must start with a lowercase letter",
        ),
        (
            "c-future-manifest/plugin.toml",
            "`wit = \"2.0.0\"` is a contract version this plugboard does not speak (it speaks 0.1.x and 0.2.x); rebuild the plugin against plugboard-sdk for 0.2.x",
        ),
        (
            "d-wit-future/plugin.wasm",
            "built against plugboard:plugin@1.0.0, but this plugboard speaks plugboard:plugin@0.1.x and 0.2.x. Rebuild the plugin with a plugboard-sdk for 0.2.x",
        ),
        ("e-garbage/plugin.wasm", "not a valid WebAssembly component"),
    ];
    assert_eq!(refused.len(), expect.len(), "{refused:#?}");
    for ((file, problem), message) in expect.iter().zip(&refused) {
        assert!(message.contains(file), "expected {file} in: {message}");
        assert!(
            message.contains(problem),
            "expected `{problem}` in: {message}"
        );
    }
    assert_eq!(bot.report.loaded.len(), 1);
    assert_eq!(bot.ask("c", "/echo still here").await?, "still here");
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_plugins_are_skipped_and_bad_limits_named() -> Result<()> {
    let extra = "[plugins.dice]\nenabled = false\n\n[plugins.notes.limits]\ncpu = 5\n";
    let mut bot = TestBot::start(&[&plugins_dir()], extra)?;
    assert_eq!(bot.report.disabled, vec!["dice".to_string()]);
    let refused: Vec<String> = bot.report.refused.iter().map(|e| e.to_string()).collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].contains("[plugins.notes.limits]") && refused[0].contains("unknown field `cpu`"),
        "{}",
        refused[0]
    );
    assert_eq!(
        bot.ask("c", "/roll").await?,
        "Unknown command /roll. Send /help to see what I can do."
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_second_start_uses_the_compile_cache() -> Result<()> {
    use plugboard_host::engine::CacheOutcome;
    let dir = tempfile::tempdir()?;
    let cache = dir.path().join("cache");
    let options = plugboard_host::engine::EngineOptions {
        max_instances: 8,
        max_memory_bytes: 64 << 20,
        cache_dir: Some(cache.clone()),
    };
    let wasm = std::fs::read(plugins_dir().join("echo").join("plugin.wasm"))?;
    let first = plugboard_host::engine::PluginEngine::new(&options)?;
    assert_eq!(first.load(&wasm)?.1, CacheOutcome::Compiled);
    drop(first);
    let second = plugboard_host::engine::PluginEngine::new(&options)?;
    assert_eq!(second.load(&wasm)?.1, CacheOutcome::Hit);
    // A corrupt cache entry is ignored and replaced, never trusted.
    for entry in std::fs::read_dir(&cache)? {
        std::fs::write(entry?.path(), b"corrupt")?;
    }
    assert_eq!(second.load(&wasm)?.1, CacheOutcome::Compiled);
    assert_eq!(second.load(&wasm)?.1, CacheOutcome::Hit);
    Ok(())
}
