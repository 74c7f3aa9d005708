//! Hostile plugins against the host's bounds on what they control: bytes
//! per event, command names, text reaching the terminal and the log, the
//! plugin listing, exits, and the CPU budget's accounting. The attackers are
//! `plugins/testing/hostile` (SDK) and `plugins/testing/raw` (raw
//! wit-bindgen, for what the SDK would not let a plugin do).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use plugboard_host::plugin::{LoadedPlugin, PluginSettings, load_plugin};
use plugboard_host::sandbox::{Failure, Limits};
use plugboard_registry_types::text::is_unsafe;
use plugboard_registry_types::{Manifest, Permission};
use plugboard_store::MemoryStore;

#[path = "../../benches/support/attacks.rs"]
mod attacks;

use attacks::{BYTE_ATTACKS, status_kib};

use crate::cli::{plugboard, run_console};
use crate::sandbox::{attack, run, tight_limits};
use crate::support::{TestBot, engine, plugins_dir, test_plugins_dir, write_config};

fn load_with(name: &str, limits: Limits, grants: &[Permission]) -> Result<LoadedPlugin> {
    let engine = engine()?;
    let settings = |_: &_| {
        Ok(PluginSettings {
            limits: limits.clone(),
            grants: grants.iter().copied().collect(),
            http_allow_private: vec![
                plugboard_host::http::Cidr::parse("127.0.0.0/8")
                    .map_err(anyhow::Error::msg)
                    .expect("a valid range"),
            ],
            ..Default::default()
        })
    };
    Ok(load_plugin(
        &test_plugins_dir().join(name),
        &engine,
        Arc::new(MemoryStore::default()),
        settings,
    )?)
}

fn budget(max_event_bytes: u64) -> Limits {
    Limits {
        max_event_bytes,
        ..tight_limits()
    }
}

/// Text every line of `text` must not hold: a control character (other
/// than the line breaks themselves), DEL, C1, a bidi override.
fn assert_inert(what: &str, text: &str) {
    if let Some(bad) = text.chars().find(|&c| c != '\n' && is_unsafe(c)) {
        panic!("{what} holds U+{:04X}: {text:?}", bad as u32);
    }
}

// ---- bytes per event ----

#[tokio::test]
async fn returned_actions_over_the_event_byte_budget_fail_the_event() -> Result<()> {
    let plugin = load_with("hostile", budget(100_000), &[])?;
    let out = run(&plugin, "budget 5 15000")
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(out.len(), 5, "75,000 bytes fit in 100,000");
    let failure = attack(&plugin, "budget 10 15000").await?;
    assert_eq!(
        failure,
        Failure::SizeBudget {
            max_event_bytes: 100_000
        }
    );
    Ok(())
}

#[tokio::test]
async fn sends_over_the_event_byte_budget_are_refused_with_limit_exceeded() -> Result<()> {
    let plugin = load_with("hostile", budget(100_000), &[])?;
    let out = run(&plugin, "sendbudget 10 15000")
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    // Six sends of 15,001 bytes (text and chat id) fit; the seventh does not.
    let last = out.last().context("an answer")?;
    assert_eq!(out.len(), 7, "six sends and the plugin's answer: {out:?}");
    assert!(
        last.starts_with("refused after 6: limit exceeded: this event may make the host hold or deliver at most 100000 bytes"),
        "{last}"
    );
    assert_eq!(
        run(&plugin, "sendbudget 6 15000")
            .await
            .map(|out| out.len()),
        Ok(7),
        "six sends and the answer fit"
    );
    Ok(())
}

#[tokio::test]
async fn aliased_strings_are_refused_before_the_host_copies_them() -> Result<()> {
    // 1,000 returned replies that all point at one 8 MiB string, and one
    // send whose 1,000 button labels do: each would be 8 GB on the host.
    let plugin = load_with("raw", budget(1 << 20), &[])?;
    for line in ["alias", "aliassend"] {
        let failure = attack(&plugin, line).await?;
        assert_eq!(
            failure,
            Failure::SizeBudget {
                max_event_bytes: 1 << 20
            },
            "/{line}"
        );
        assert_eq!(run(&plugin, "ok").await, Ok(vec!["raw ok".to_owned()]));
    }
    Ok(())
}

#[tokio::test]
async fn wasi_random_bytes_are_capped_before_the_host_allocates_them() -> Result<()> {
    let plugin = load_with("raw", tight_limits(), &[])?;
    match attack(&plugin, "random").await? {
        Failure::Trap(why) => assert!(
            why.starts_with("requested len 62914560 exceeds limit 65536"),
            "{why}"
        ),
        other => bail!("/random: {other}"),
    }
    assert_eq!(run(&plugin, "ok").await, Ok(vec!["raw ok".to_owned()]));
    Ok(())
}

#[tokio::test]
async fn a_send_from_init_is_refused_not_silently_lost() -> Result<()> {
    let plugin = load_with("raw", tight_limits(), &[Permission::SendAnyChat])?;
    assert_eq!(
        run(&plugin, "initsend").await,
        Ok(vec![
            "invalid argument: messages can be sent only while handling an event, not from init"
                .to_owned()
        ])
    );
    Ok(())
}

#[tokio::test]
async fn every_field_of_an_action_is_capped() -> Result<()> {
    let plugin = load_with("hostile", tight_limits(), &[])?;
    for (line, expected) in [
        ("bigfields", "a reaction emoji is at most 128 bytes"),
        ("bigid", "a message id is at most 256 bytes"),
        ("biglabels", "a button label is at most 80 characters"),
    ] {
        match attack(&plugin, line).await? {
            Failure::BadAction(why) => assert!(why.contains(expected), "/{line}: {why}"),
            other => bail!("/{line}: {other}"),
        }
    }
    Ok(())
}

/// Answers every request with `204` after reading its whole body.
async fn sink() -> Result<std::net::SocketAddr> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&seen[..end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while seen.len() < end + 4 + length {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    seen.drain(..end + 4 + length);
                    let reply = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
                    if socket.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(addr)
}

#[tokio::test]
async fn http_requests_count_against_the_event_byte_budget() -> Result<()> {
    let addr = sink().await?;
    let plugin = load_with("hostile", tight_limits(), &[Permission::Http])?;
    // Three bodies of 900 KiB: the third crosses the default 2 MiB.
    let out = run(
        &plugin,
        &format!("post http://127.0.0.1:{}/ 900 3", addr.port()),
    )
    .await
    .map_err(|f| anyhow::anyhow!("{f}"))?;
    let answer = out.first().context("an answer")?;
    assert!(
        answer.starts_with("refused after 2: limit exceeded: this event may make the host hold or deliver at most 2097152 bytes"),
        "{answer}"
    );
    Ok(())
}

// ---- exits and failure reasons ----

#[tokio::test]
async fn an_exit_is_a_clean_failure_with_its_status() -> Result<()> {
    let plugin = load_with("hostile", tight_limits(), &[])?;
    assert_eq!(attack(&plugin, "exit").await?, Failure::Exited(0));
    // WASI 0.2's `exit` carries success or failure only: any other status
    // arrives as 1.
    assert_eq!(attack(&plugin, "exit 3").await?, Failure::Exited(1));
    // From 300 frames deep, still the reason, no backtrace.
    assert_eq!(attack(&plugin, "deepexit").await?, Failure::Exited(1));
    assert_eq!(
        Failure::Exited(3).to_string(),
        "exited with status 3",
        "no backtrace, no `crashed`"
    );
    Ok(())
}

#[tokio::test]
async fn a_crash_reason_comes_before_its_backtrace() -> Result<()> {
    let plugin = load_with("hostile", tight_limits(), &[])?;
    let Failure::Trap(text) = attack(&plugin, "boom").await? else {
        bail!("/boom is a trap");
    };
    let reason = text.find("unreachable").context("the trap named")?;
    let printed = text
        .find("hostile plugin panics on purpose")
        .context("the panic message kept")?;
    let at = text.find("; at: ").context("the backtrace kept, cut")?;
    assert!(reason < printed && printed < at, "{text}");
    // The router cuts failures to 1,000 bytes for the log and the user.
    assert!(
        plugboard_model::text::truncate(&text, plugboard_model::text::MAX_ERROR_TEXT)
            .contains("unreachable")
    );
    Ok(())
}

// ---- CPU accounting ----

#[tokio::test]
async fn cpu_budget_counts_host_calls_that_work_but_not_waits() -> Result<()> {
    let limits = Limits {
        cpu_ms: 200,
        deadline_ms: 5_000,
        ..tight_limits()
    };
    let plugin = load_with("hostile", limits, &[Permission::Kv])?;
    // A loop of KV reads: the host works for the plugin all along.
    assert_eq!(
        attack(&plugin, "kvspin").await?,
        Failure::CpuBudget { cpu_ms: 200 }
    );
    // Sleeping 1.5 s (a WASI wait) is not CPU: within 200 ms of budget.
    assert_eq!(
        run(&plugin, "nap 1500").await,
        Ok(vec!["napped 1500 ms".to_owned()])
    );
    Ok(())
}

// ---- command ownership ----

/// A plugin directory named `name` holding the echo component under a
/// manifest that declares `commands` (the component answers any command
/// with its arguments, so whatever reaches it shows).
fn impostor(root: &Path, name: &str, commands: &[&str]) -> Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir)?;
    std::fs::copy(
        plugins_dir().join("echo").join("plugin.wasm"),
        dir.join("plugin.wasm"),
    )?;
    let mut manifest = format!(
        "name = \"{name}\"\nversion = \"1.0.0\"\ndescription = \"Repeats what it gets.\"\nwit = \"0.2\"\n"
    );
    for command in commands {
        manifest.push_str(&format!(
            "[[commands]]\nname = \"{command}\"\nhelp = \"Not what you think.\"\n"
        ));
    }
    std::fs::write(dir.join("plugin.toml"), manifest)?;
    Ok(dir)
}

#[tokio::test]
async fn a_second_plugin_declaring_a_command_receives_nothing_of_it() -> Result<()> {
    let root = tempfile::tempdir()?;
    let evil = impostor(root.path(), "evil", &["remember", "echo"])?;
    let mut bot = TestBot::start(&[&plugins_dir(), &evil], "")?;
    assert_eq!(
        bot.ask("c", "/remember pin 1234").await?,
        "Remembered `pin`."
    );
    // Had evil got it, its answer ("pin 1234") would come next.
    assert_eq!(bot.ask("c", "/echo marker").await?, "marker");
    assert_eq!(bot.ask("c", "/recall pin").await?, "1234");
    // Reachable only when asked for by name.
    assert_eq!(bot.ask("c", "/evil.remember hi").await?, "hi");
    let conflicts = &bot.router.assignment().conflicts;
    assert_eq!(conflicts.len(), 2, "{conflicts:?}");
    assert!(conflicts.iter().all(|c| c.shadowed == "evil"));
    let help = bot.ask("c", "/help").await?;
    assert!(
        help.contains("/evil.remember — Not what you think."),
        "{help}"
    );
    assert!(help.contains("/remember <key> <text>"), "{help}");
    bot.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_owner_maps_commands_and_may_give_help_away() -> Result<()> {
    let root = tempfile::tempdir()?;
    let evil = impostor(root.path(), "evil", &["remember", "menu"])?;
    let mut bot = TestBot::start(
        &[&plugins_dir(), &evil],
        "[commands]\nremember = \"evil\"\nhelp = \"evil.menu\"\nsay = \"echo.echo\"\n",
    )?;
    assert_eq!(bot.ask("c", "/remember pin 1234").await?, "pin 1234");
    assert_eq!(
        bot.ask("c", "/notes.remember k v").await?,
        "Remembered `k`."
    );
    assert_eq!(bot.ask("c", "/help me").await?, "me");
    assert_eq!(bot.ask("c", "/say hi").await?, "hi");
    bot.stop().await?;
    Ok(())
}

#[tokio::test]
async fn help_and_the_other_reserved_names_cannot_be_declared() -> Result<()> {
    let root = tempfile::tempdir()?;
    let mut dirs = Vec::new();
    for reserved in ["help", "plugboard", "start", "link"] {
        dirs.push(impostor(
            root.path(),
            &format!("takes-{reserved}"),
            &[reserved],
        )?);
    }
    let dir_refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let mut bot = TestBot::start(&dir_refs, "")?;
    assert_eq!(bot.report.refused.len(), 4, "{:?}", bot.report.refused);
    for refused in &bot.report.refused {
        assert!(
            refused.to_string().contains("is reserved for the host"),
            "{refused}"
        );
    }
    assert!(
        bot.ask("c", "/help")
            .await?
            .starts_with("No plugins with commands")
    );
    bot.stop().await?;
    Ok(())
}

// ---- the terminal and the log ----

#[test]
fn no_escape_sequence_reaches_the_console_or_the_log_and_no_line_is_forged() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let root = tempfile::tempdir()?;
    // A manifest refused for a hostile name: its error quotes the name.
    let forged = root.path().join("forged");
    std::fs::create_dir_all(&forged)?;
    std::fs::write(
        forged.join("plugin.toml"),
        "name = \"x\\nFAKE INFO plugin resumed by the owner\\u001b[2J\"\nversion = \"1.0.0\"\n\
         description = \"d\"\nwit = \"0.1\"\n",
    )?;
    let config = write_config(
        dir.path(),
        &[&plugins_dir(), &test_plugins_dir().join("hostile"), &forged],
        "[console]\nenabled = true\n\n[plugins.hostile.limits]\nbreaker_failures = 2\n\
         breaker_window = 2\n",
    )?;
    // Two failures quoting escape sequences suspend it: the reason is
    // plugin text too, shown by /plugboard status and plugboard resume.
    let input = "/escape\n/escapebuttons\n/escapefail\n/echo \u{1b}]0;user\u{7}\n\
                 /escapefail\n/plugboard status\n";
    let (stdout, stderr) = run_console(&config, input)?;
    assert_inert("stdout", &stdout);
    assert_inert("stderr", &stderr);
    assert!(
        stdout.contains(
            r"before\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\rCR\ttab\u{7f}del\u{9b}c1\u{202e}bidi"
        ),
        "{stdout}"
    );
    // The reply's own line break is kept on the console (it is a
    // multi-line reply), but nowhere else.
    assert!(stdout.contains("\nFAKE 2026"), "{stdout}");
    assert!(stdout.contains(r"[ok\u{1b}[2J] [no\nFAKE]"), "{stdout}");
    assert!(stdout.contains(r"\u{1b}]0;user\u{7}"), "{stdout}");
    for line in stderr.lines() {
        assert!(
            !line.starts_with("FAKE") && !line.contains(" FAKE INFO plugin resumed"),
            "a forged log line: {line}"
        );
    }
    assert!(stderr.contains(r#"text="before\u{1b}]0;pwned"#), "{stderr}");
    assert!(
        stderr.contains(r"x\nFAKE INFO plugin resumed by the owner\u{1b}[2J"),
        "{stderr}"
    );
    let status = stdout
        .lines()
        .find(|l| l.starts_with("hostile 0.1.0: suspended"))
        .context("the status line")?;
    assert!(status.contains(r"bidi\nFAKE 2026"), "one line: {status}");
    let resumed = plugboard()
        .args(["resume", "hostile", "--config"])
        .arg(&config)
        .output()?;
    let resumed = String::from_utf8(resumed.stdout)?;
    assert_inert("plugboard resume", &resumed);
    assert_eq!(resumed.lines().count(), 1, "{resumed}");
    assert!(
        resumed.contains("it was suspended: it failed 2 of its last 2 events"),
        "{resumed}"
    );
    Ok(())
}

// ---- plugins list ----

/// A deterministic generator for the fuzz-style test (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A bound on a length: `usual`, or in a hostile manifest now and then
    /// `over` (beyond what the loader accepts).
    fn up_to(&mut self, hostile: bool, usual: u64, over: u64) -> u64 {
        let bound = match hostile && self.below(8) == 0 {
            true => over,
            false => usual,
        };
        self.below(bound + 1)
    }

    /// In a hostile manifest, true one time in `n`.
    fn odds(&mut self, hostile: bool, n: u64) -> bool {
        hostile && self.below(n) == 0
    }

    /// A string of `len` characters drawn from everything a TOML
    /// basic string can hold: ASCII, controls, wide and combining
    /// characters, bidi overrides.
    fn text(&mut self, len: u64, hostile: bool) -> String {
        const POOL: &[char] = &[
            'a', 'Z', '0', ' ', '-', '_', '.', '/', '\\', 'é', '🎲', '表', '"', '\n', '\r', '\t',
            '\u{1b}', '\u{7}', '\u{7f}', '\u{9b}', '\u{202e}', '\u{2028}', '\u{301}',
        ];
        // Printable text (so manifests load), or anything.
        let pool = match hostile {
            true => POOL,
            false => &POOL[..12],
        };
        (0..len)
            .map(|_| pool[self.below(pool.len() as u64) as usize])
            .collect()
    }
}

fn toml_string(text: &str) -> String {
    // serde_json's string escapes are valid TOML basic-string escapes.
    serde_json::to_string(text).unwrap_or_default()
}

#[test]
fn plugins_list_renders_any_manifest_the_loader_accepts() -> Result<()> {
    use plugboard_console::listing::{COLUMN_WIDTHS, Listing, NOTE_WIDTH, PluginRow};
    use plugboard_model::commands::{CommandMap, assign};
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..300 {
        let mut manifests = Vec::new();
        for p in 0..rng.below(4) + 1 {
            // One manifest in four tries what the loader must refuse:
            // control characters, over-long texts, too many commands.
            let hostile = rng.below(4) == 0;
            let version = match rng.below(3) {
                0 => "1.0.0".to_owned(),
                1 => {
                    let len = rng.up_to(hostile, 50, 80);
                    format!("1.0.0-{}", "a".repeat(len as usize))
                }
                _ => format!(
                    "0.{}.{}+{}",
                    rng.below(1000),
                    rng.below(1000),
                    rng.below(1 << 40)
                ),
            };
            let (len, bad) = (rng.up_to(hostile, 90, 400), rng.odds(hostile, 4));
            let description = rng.text(len, bad);
            let mut text = format!(
                "name = \"p{p}\"\nversion = \"{version}\"\ndescription = {}\nwit = \"0.1\"\npermissions = [\"kv\"]\n",
                toml_string(&description),
            );
            let commands = rng.up_to(hostile, 100, 110);
            for c in 0..commands {
                let spread = if rng.below(2) == 0 { 5 } else { 200 };
                let name = format!("c{}", rng.below(spread) + c * 1000);
                let (len, bad) = (rng.up_to(hostile, 60, 220), rng.odds(hostile, 20));
                let help = rng.text(len, bad);
                let (len, bad) = (rng.up_to(hostile, 30, 120), rng.odds(hostile, 20));
                let usage = rng.text(len, bad);
                text.push_str(&format!(
                    "[[commands]]\nname = \"{name}\"\nhelp = {}\nusage = {}\n",
                    toml_string(&help),
                    toml_string(&usage),
                ));
            }
            match Manifest::from_toml(&text) {
                Ok(m) => {
                    accepted += 1;
                    manifests.push(m);
                }
                Err(e) => {
                    refused += 1;
                    assert_inert("a refusal", &e.to_string().replace('\n', " "));
                }
            }
        }
        let assignment = assign(&manifests, &CommandMap::default());
        let listing = Listing {
            plugins: manifests
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let granted = rng.next().is_multiple_of(2);
                    PluginRow::new(i, m, &assignment, |_| granted)
                })
                .collect(),
            command_conflicts: assignment
                .conflicts
                .iter()
                .map(ToString::to_string)
                .collect(),
            not_loaded: vec![rng.text(5_000, true)],
            ..Listing::default()
        };
        let text = listing.to_text();
        assert_inert("the table", &text);
        let widest = COLUMN_WIDTHS.iter().sum::<usize>() + 2 * COLUMN_WIDTHS.len();
        for line in text.lines() {
            assert!(line.chars().count() <= widest.max(NOTE_WIDTH + 1), "{line}");
        }
        let json: serde_json::Value = serde_json::from_str(&listing.to_json())?;
        assert_eq!(
            json["plugins"].as_array().map(Vec::len),
            Some(manifests.len()),
            "the JSON keeps every plugin"
        );
        for (row, m) in json["plugins"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(&manifests)
        {
            assert_eq!(row["description"].as_str(), Some(m.description.as_str()));
        }
    }
    assert!(
        accepted > 100 && refused > 50,
        "{accepted} accepted, {refused} refused"
    );
    Ok(())
}

#[test]
fn plugins_list_reports_conflicts_in_its_table_and_json() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let root = tempfile::tempdir()?;
    let evil = impostor(root.path(), "evil", &["remember"])?;
    let config = write_config(dir.path(), &[&plugins_dir(), &evil], "")?;
    let out = plugboard()
        .args(["plugins", "list", "--config"])
        .arg(&config)
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout)?;
    let evil_row = table
        .lines()
        .find(|l| l.starts_with("evil "))
        .context("evil's row")?;
    assert!(evil_row.contains("/evil.remember (taken)"), "{evil_row}");
    assert!(
        table.contains("both `notes` and `evil` declare /remember; `notes` answers it"),
        "{table}"
    );
    let out = plugboard()
        .args(["plugins", "list", "--json", "--config"])
        .arg(&config)
        .output()?;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let evil = json["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "evil"))
        .context("evil in the JSON")?;
    assert_eq!(evil["commands"][0]["reached_as"], serde_json::json!([]));
    assert_eq!(evil["commands"][0]["qualified"], "evil.remember");
    assert_eq!(json["command_conflicts"].as_array().map(Vec::len), Some(1));
    Ok(())
}

// ---- memory under the worst attack found ----

/// What `plugboard run` may hold beyond its plugins' budgets: the binary,
/// wasmtime's compiled code and runtime, tokio, sled (measured and
/// explained in docs/permissions-and-limits.md).
pub const RSS_ALLOWANCE_MIB: u64 = 96;

#[test]
fn the_bot_stays_within_its_ceilings_under_every_byte_attack() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = write_config(
        dir.path(),
        &[
            &test_plugins_dir().join("hostile"),
            &test_plugins_dir().join("raw"),
        ],
        "[console]\nenabled = true\n\n[limits]\nmemory_mib = 32\nbreaker_failures = 0\n\
         deadline_ms = 20000\ncpu_ms = 5000\n",
    )?;
    let mut child = crate::cli::console_process(&config)
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
    for round in 0..5 {
        for attack in BYTE_ATTACKS {
            writeln!(stdin, "{attack}")?;
        }
        writeln!(stdin, "/ok round {round}")?;
        stdin.flush()?;
        // Read until the control answer of this round shows up.
        let mut line = String::new();
        loop {
            line.clear();
            ensure!(stdout.read_line(&mut line)? > 0, "the bot stopped");
            if line.starts_with("raw ok") {
                break;
            }
        }
    }
    let peak_mib = status_kib(Some(child.id()), "VmHWM:")? / 1024;
    drop(stdin);
    let status = child.wait()?;
    ensure!(status.success(), "{status}");
    // Two plugins, one instance each (one chat), each within its memory
    // budget; per event at most one copy of the byte budget in flight and
    // one held.
    let ceiling = 2 * 32 + 2 * 2 * 2 + RSS_ALLOWANCE_MIB;
    eprintln!("peak RSS under attack: {peak_mib} MiB (ceiling {ceiling} MiB)");
    assert!(
        peak_mib <= ceiling,
        "peak RSS {peak_mib} MiB > {ceiling} MiB"
    );
    Ok(())
}
