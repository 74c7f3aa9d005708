//! The `plugboard` binary, exactly as an owner runs it.

use std::io::Write;
use std::process::Stdio;

use anyhow::{Context, Result};

use crate::support::{plugins_dir, write_config};

pub(crate) use crate::console_bot::{console_process, plugboard};

/// Runs `plugboard run` with `input` on stdin; returns (stdout, stderr).
pub(crate) fn run_console(config: &std::path::Path, input: &str) -> Result<(String, String)> {
    let mut child = console_process(config)
        .stderr(Stdio::piped())
        .spawn()
        .context("starting plugboard")?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(input.as_bytes())?;
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8(out.stdout)?;
    let stderr = String::from_utf8(out.stderr)?;
    anyhow::ensure!(
        out.status.success(),
        "plugboard failed: {}\n{stderr}",
        out.status
    );
    Ok((stdout, stderr))
}

/// Writes a console bot config over `dirs` (plus `extra` TOML) into `dir`.
fn console_config(
    dir: &std::path::Path,
    dirs: &[&std::path::Path],
    extra: &str,
) -> Result<std::path::PathBuf> {
    write_config(dir, dirs, &format!("[console]\nenabled = true\n\n{extra}"))
}

fn demo_config(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    console_config(
        dir,
        &[&plugins_dir()],
        "[plugins.notes]\ngrants = [\"kv\"]\n",
    )
}

#[test]
fn console_demo_answers_and_remembers_across_runs() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = demo_config(dir.path())?;

    let (stdout, stderr) = run_console(&config, "/echo hello\n/roll 2d6\n/remember color teal\n")?;
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(lines[0], "hello");
    let total: u32 = lines[1]
        .rsplit_once("= ")
        .and_then(|(_, n)| n.parse().ok())
        .with_context(|| format!("no total in {:?}", lines[1]))?;
    assert!((2..=12).contains(&total), "{}", lines[1]);
    assert_eq!(lines[2], "Remembered `color`.");

    let (stdout, stderr) = run_console(&config, "/recall color\n")?;
    assert_eq!(stdout.trim_end(), "teal", "stderr: {stderr}");
    Ok(())
}

#[test]
fn plugins_list_shows_commands_and_permissions() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = demo_config(dir.path())?;
    let out = plugboard()
        .args(["plugins", "list", "--config"])
        .arg(&config)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout)?;
    for expected in ["echo", "dice", "notes", "/roll", "/remember", "kv"] {
        assert!(
            stdout.contains(expected),
            "missing {expected} in:\n{stdout}"
        );
    }
    Ok(())
}

#[test]
fn help_is_available_everywhere() -> Result<()> {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["plugins", "--help"],
        &["plugins", "list", "--help"],
    ] {
        let out = plugboard().args(args).output()?;
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8(out.stdout)?.contains("Usage"), "{args:?}");
    }
    Ok(())
}

#[test]
fn a_missing_config_is_a_clear_error() -> Result<()> {
    let out = plugboard()
        .args(["run", "--config", "/nonexistent/plugboard.toml"])
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr)?;
    assert!(
        stderr.contains("/nonexistent/plugboard.toml") && stderr.contains("--config"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn a_failing_plugin_is_suspended_and_the_owner_resumes_it() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = console_config(
        dir.path(),
        &[&plugins_dir(), &crate::support::test_plugins_dir()],
        "[plugins.hostile.limits]\nbreaker_failures = 3\nbreaker_window = 5\n",
    )?;
    let input = "/boom\n/echo one\n/boom\n/boom\n/boom\n/echo two\n/plugboard status\n\
                 /plugboard resume hostile\n/plugboard resume hostile\n/boom\n";
    let (stdout, stderr) = run_console(&config, input)?;
    let lines: Vec<&str> = stdout.lines().collect();
    let sorry = "Sorry, hostile could not handle that.";
    let away = "Sorry, hostile is not available right now.";
    assert_eq!(
        &lines[..6],
        &[sorry, "one", sorry, sorry, away, "two"],
        "{stdout}"
    );
    let status = lines
        .iter()
        .find(|l| l.starts_with("hostile 0.1.0: "))
        .context("status line")?;
    assert!(
        status.contains("suspended: it failed 3 of its last 3 events")
            && status.contains("(3 events, 3 failed)"),
        "{status}"
    );
    assert!(lines.contains(&"Resumed `hostile`."), "{stdout}");
    assert!(lines.contains(&"`hostile` is not suspended."), "{stdout}");
    assert_eq!(
        lines.last(),
        Some(&sorry),
        "after resuming, the plugin runs again: {stdout}"
    );
    assert!(
        stderr.contains("plugin suspended by its circuit breaker")
            && stderr.contains(r#"plugin="hostile" reason="it failed 3 of its last 3 events"#),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn grants_are_given_and_taken_back_by_the_owner() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // No grants in the config: `notes` loads, but its KV calls are refused.
    let path = console_config(dir.path(), &[&plugins_dir()], "")?;
    let list = || -> Result<String> {
        let out = plugboard()
            .args(["plugins", "list", "--config"])
            .arg(&path)
            .output()?;
        Ok(String::from_utf8(out.stdout)?)
    };
    let listed = list()?;
    assert!(listed.contains("kv (not granted)"), "{listed}");
    assert!(
        listed.contains("notes: not granted kv; grant with `plugboard grant notes kv`"),
        "{listed}"
    );
    let (stdout, stderr) = run_console(&path, "/remember color teal\n")?;
    assert_eq!(
        stdout.trim_end(),
        "Sorry, notes could not handle that.",
        "{stderr}"
    );
    assert!(
        stderr.contains("which the bot owner has not granted"),
        "{stderr}"
    );

    let grant = plugboard()
        .args(["grant", "notes", "kv", "--config"])
        .arg(&path)
        .output()?;
    assert!(
        grant.status.success(),
        "{}",
        String::from_utf8_lossy(&grant.stderr)
    );
    assert!(String::from_utf8(grant.stdout)?.contains("Granted kv for `notes`"));
    let listed = list()?;
    assert!(!listed.contains("notes: not granted"), "{listed}");
    assert!(
        listed.contains("poll: not granted kv"),
        "other plugins keep their own grants: {listed}"
    );
    let (stdout, _) = run_console(&path, "/remember color teal\n/recall color\n")?;
    assert_eq!(stdout, "Remembered `color`.\nteal\n");

    // Mistakes are named, with the fix.
    let bad = plugboard()
        .args(["grant", "echo", "kv", "--config"])
        .arg(&path)
        .output()?;
    assert!(String::from_utf8(bad.stderr)?.contains("`echo` does not ask for `kv`"));
    let bad = plugboard()
        .args(["grant", "notes", "root", "--config"])
        .arg(&path)
        .output()?;
    assert!(
        String::from_utf8(bad.stderr)?
            .contains("unknown permission `root`; the permissions are: kv, send-any-chat")
    );
    let bad = plugboard()
        .args(["grant", "nope", "kv", "--config"])
        .arg(&path)
        .output()?;
    assert!(String::from_utf8(bad.stderr)?.contains("no plugin named `nope`"));

    let revoke = plugboard()
        .args(["revoke", "notes", "kv", "--config"])
        .arg(&path)
        .output()?;
    assert!(revoke.status.success());
    let (stdout, _) = run_console(&path, "/recall color\n")?;
    assert_eq!(stdout.trim_end(), "Sorry, notes could not handle that.");
    Ok(())
}

#[test]
fn a_suspension_lasts_across_restarts_until_resumed() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = console_config(
        dir.path(),
        &[&plugins_dir(), &crate::support::test_plugins_dir()],
        "[plugins.hostile.limits]\nbreaker_failures = 2\nbreaker_window = 2\n",
    )?;
    let sorry = "Sorry, hostile could not handle that.";
    let away = "Sorry, hostile is not available right now.";
    let (stdout, _) = run_console(&config, "/boom\n/boom\n")?;
    assert_eq!(stdout, format!("{sorry}\n{sorry}\n"));

    let out = plugboard()
        .args(["plugins", "list", "--config"])
        .arg(&config)
        .output()?;
    let listed = String::from_utf8(out.stdout)?;
    assert!(
        listed.contains("suspended: it failed 2 of its last 2 events"),
        "{listed}"
    );
    assert!(
        listed.contains("resume with `plugboard resume hostile`"),
        "{listed}"
    );

    let (stdout, stderr) = run_console(&config, "/boom\n")?;
    assert_eq!(stdout.trim_end(), away, "still suspended after a restart");
    assert!(
        stderr.contains(r#"plugin still suspended; resume it with `/plugboard resume <plugin>` plugin="hostile""#),
        "{stderr}"
    );

    let out = plugboard()
        .args(["resume", "hostile", "--config"])
        .arg(&config)
        .output()?;
    assert!(String::from_utf8(out.stdout)?.contains("Resumed `hostile`"));
    let (stdout, _) = run_console(&config, "/boom\n")?;
    assert_eq!(stdout.trim_end(), sorry, "runs again once resumed");
    Ok(())
}

#[test]
fn plugins_show_lists_settings_masks_secrets_and_names_wrong_values() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // The echo component under a manifest that declares three settings.
    let plugin = dir.path().join("weather");
    std::fs::create_dir_all(&plugin)?;
    std::fs::copy(
        plugins_dir().join("echo").join("plugin.wasm"),
        plugin.join("plugin.wasm"),
    )?;
    std::fs::write(
        plugin.join("plugin.toml"),
        r#"name = "weather"
version = "1.0.0"
description = "Says the weather."
wit = "0.2"

[[commands]]
name = "weather"
help = "Says the weather."

[config.api_token]
type = "string"
description = "The weather service's token."
secret = true

[config.units]
type = "string"
description = "How temperatures are shown."
choices = ["metric", "imperial"]
default = "metric"

[config.days]
type = "integer"
description = "Days of forecast."
default = 3
min = 1
max = 7
"#,
    )?;
    let config = console_config(
        dir.path(),
        &[&plugin],
        "[plugins.weather.config]\napi_token = { env = \"PB_TEST_WEATHER_TOKEN\" }\ndays = 9\n",
    )?;
    let show = |json: bool| -> Result<String> {
        let mut cmd = plugboard();
        cmd.args(["plugins", "show", "weather", "--config"])
            .arg(&config)
            .env("PB_TEST_WEATHER_TOKEN", "s3cret-value");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output()?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    };
    let text = show(false)?;
    assert!(!text.contains("s3cret-value"), "{text}");
    for expected in [
        "(secret, from the environment variable `PB_TEST_WEATHER_TOKEN`)",
        "\"metric\"",
        "one of `metric`, `imperial`",
        "an integer from 1 to 7",
        "`days` = `9` is above the maximum of 7; it must be an integer from 1 to 7",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
    let json: serde_json::Value = serde_json::from_str(&show(true)?)?;
    assert!(!json.to_string().contains("s3cret-value"));
    assert_eq!(json["settings"].as_array().map(Vec::len), Some(3));
    assert_eq!(json["problems"].as_array().map(Vec::len), Some(1));

    // The bot refuses it at startup for the same reason, and says so.
    let (stdout, stderr) = run_console(&config, "/weather\n")?;
    assert!(
        stderr.contains("`days` = `9` is above the maximum of 7"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret-value"), "{stderr}");
    assert!(stdout.contains("Unknown command /weather"), "{stdout}");

    // Valid now, the secret read from a file. The echo component refuses an
    // empty /weather with "nothing to echo; …": with the secret being
    // "nothing", the host hides it in what reaches the user and the log.
    std::fs::write(dir.path().join("token.txt"), "nothing\n")?;
    let config = console_config(
        dir.path(),
        &[&plugin],
        "[plugins.weather.config]\napi_token = { file = \"token.txt\" }\n",
    )?;
    let (stdout, stderr) = run_console(&config, "/weather\n")?;
    assert_eq!(
        stdout.trim_end(),
        "(secret) to echo; usage: /echo <text>",
        "stderr: {stderr}"
    );
    Ok(())
}
