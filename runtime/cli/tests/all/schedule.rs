//! Durable timers end to end: the official `remind` sets schedules through
//! contract 0.2's `schedule` interface, the bot's scheduler fires them as
//! ticks into the chat they were set for, across restarts and crashes, and
//! cron schedules follow a time zone's wall clock (on a manual clock).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use plugboard_model::event::{Outbound, Platform};
use plugboard_schedule::ManualClock;

use crate::cli::console_process;
use plugboard_registry_types::Permission;
use plugboard_store::{Durable, PluginState, SledStore};

use crate::support::{TestBot, plugins_dir, test_plugins_dir, text_of, write_config};

/// The owner's grant that lets `remind` set schedules.
const GRANT: &str = "[plugins.remind]\ngrants = [\"schedule\"]\n";

/// How long a negative check waits for a delivery that must not come.
const QUIET: Duration = Duration::from_secs(3);

/// Waits up to `wait` for a delivery; `None` if none came.
async fn delivery_within(bot: &mut TestBot, wait: Duration) -> Option<Outbound> {
    tokio::time::timeout(wait, bot.handle.recv())
        .await
        .ok()
        .flatten()
}

fn remind_dir() -> std::path::PathBuf {
    plugins_dir().join("remind")
}

#[tokio::test]
async fn a_reminder_set_for_two_seconds_fires_once_in_its_chat() -> Result<()> {
    let mut bot = TestBot::start(&[&remind_dir()], GRANT)?;
    assert!(bot.report.refused.is_empty(), "{:?}", bot.report.refused);
    let set = bot.ask("kitchen", "/remind 2s tea").await?;
    assert_eq!(set, "⏰ Reminder #1 in 2 s: tea");
    let fired = bot.next().await?;
    assert_eq!(text_of(&fired), "⏰ tea");
    assert_eq!(fired.chat.id, "kitchen");
    assert_eq!(fired.chat.platform, Platform::Other("test".into()));
    assert!(
        delivery_within(&mut bot, QUIET).await.is_none(),
        "a one-shot fired twice"
    );
    assert!(
        bot.ask("kitchen", "/reminders")
            .await?
            .starts_with("There are no reminders")
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test]
async fn reminders_are_listed_forgotten_and_capped_per_chat_in_the_askers_language() -> Result<()> {
    // It sets reminders up to the cap, faster than a person would.
    let config = format!("{GRANT}\n{}", crate::support::NO_RATE_LIMITS);
    let mut bot = TestBot::start(&[&remind_dir()], &config)?;
    assert_eq!(
        bot.ask("a", "/remind 10m tea").await?,
        "⏰ Reminder #1 in 10 min: tea"
    );
    assert_eq!(
        bot.ask("a", "/remind every 2h stretch").await?,
        "⏰ Reminder #2 every 2 h, first in 2 h: stretch"
    );
    assert_eq!(
        bot.ask("b", "/remind 1h other chat").await?,
        "⏰ Reminder #1 in 1 h: other chat"
    );
    let listed = bot.ask("a", "/reminders").await?;
    assert_eq!(
        listed,
        "Reminders in this chat:\n#1 in 10 min: tea\n#2 in 2 h, repeating: stretch"
    );
    assert_eq!(
        bot.ask("a", "/forget-reminder 1").await?,
        "Forgot reminder #1."
    );
    assert!(
        bot.ask("a", "/forget-reminder 1")
            .await?
            .starts_with("There is no reminder #1")
    );
    assert!(
        bot.ask("b", "/reminders")
            .await?
            .contains("#1 in 1 h: other chat")
    );
    // Refusals name the problem; the host's quota words reach the user.
    assert!(
        bot.ask("a", "/remind every 10s spam")
            .await?
            .contains("at most every 60000 ms")
    );
    assert!(
        bot.ask("a", "/remind soon tea")
            .await?
            .starts_with("Tell me when and what")
    );
    // One chat cannot take every schedule the plugin has.
    for n in 1..=25 {
        let set = bot.ask("full", &format!("/remind 1h note {n}")).await?;
        assert!(set.contains(&format!("#{n} in 1 h")), "{set}");
    }
    let refused = bot.ask("full", "/remind 1h one more").await?;
    assert!(
        refused.starts_with("This chat has 25 reminders"),
        "{refused}"
    );
    assert!(
        bot.ask("a", "/remind 400d later")
            .await?
            .contains("at most a year")
    );
    // German, from the sender's locale.
    assert_eq!(
        bot.ask_in("a", "de-DE", "/remind 5m Tee").await?,
        "⏰ Erinnerung #3 in 5 min: Tee"
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_reminder_due_while_the_bot_was_stopped_fires_once_after_restart() -> Result<()> {
    let mut bot = TestBot::start(&[&remind_dir()], GRANT)?;
    assert_eq!(
        bot.ask("c", "/remind 1s while away").await?,
        "⏰ Reminder #1 in 1 s: while away"
    );
    let data = bot.stop().await?;
    // Due while nothing runs.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut bot = TestBot::start_in(Arc::clone(&data), &[&remind_dir()], GRANT)?;
    let fired = bot.next().await?;
    assert_eq!(text_of(&fired), "⏰ while away");
    assert_eq!(fired.chat.id, "c");
    assert!(delivery_within(&mut bot, QUIET).await.is_none());
    let data = bot.stop().await?;
    let mut bot = TestBot::start_in(data, &[&remind_dir()], GRANT)?;
    assert!(
        bot.ask("c", "/reminders")
            .await?
            .starts_with("There are no reminders")
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test]
async fn schedules_of_a_plugin_whose_grant_was_revoked_stay_silent() -> Result<()> {
    let mut bot = TestBot::start(&[&remind_dir()], GRANT)?;
    assert!(
        bot.ask("c", "/remind 1s secret")
            .await?
            .contains("#1 in 1 s")
    );
    let data = bot.stop().await?;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // Restarted without the grant: the due fire is not delivered, and new
    // schedules are refused with the fix.
    let mut bot = TestBot::start_in(data, &[&remind_dir()], "")?;
    assert!(delivery_within(&mut bot, QUIET).await.is_none());
    let refused = bot.ask("c", "/remind 1m again").await?;
    assert!(
        refused.contains("plugboard grant remind schedule"),
        "{refused}"
    );
    bot.stop().await?;
    Ok(())
}

/// `plugboard run` on the console, with stdout read line by line.
struct ConsoleBot {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl ConsoleBot {
    fn start(config: &std::path::Path) -> Result<Self> {
        let mut child = console_process(config)
            .stderr(Stdio::null())
            .spawn()
            .context("starting plugboard")?;
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self { child, lines })
    }

    fn say(&mut self, text: &str) -> Result<()> {
        let stdin = self.child.stdin.as_mut().context("stdin")?;
        writeln!(stdin, "{text}")?;
        stdin.flush()?;
        Ok(())
    }

    /// The first line containing `needle` within `wait`.
    fn line_with(&self, needle: &str, wait: Duration) -> Option<String> {
        self.lines_until(needle, wait)?.pop()
    }

    /// Every line printed until one containing `needle` (included), if it
    /// comes within `wait`.
    fn lines_until(&self, needle: &str, wait: Duration) -> Option<Vec<String>> {
        let until = std::time::Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = until.checked_duration_since(std::time::Instant::now())?;
            let line = self.lines.recv_timeout(left).ok()?;
            let found = line.contains(needle);
            seen.push(line);
            if found {
                return Some(seen);
            }
        }
    }
}

impl Drop for ConsoleBot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn acknowledged_schedules_and_delivered_fires_survive_sigkill_exactly() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = write_config(
        dir.path(),
        &[&remind_dir()],
        &format!("[console]\nenabled = true\n\n{GRANT}"),
    )?;
    let patience = Duration::from_secs(30);
    // Killed right after the answer: the schedule it announced is on disk.
    let mut bot = ConsoleBot::start(&config)?;
    bot.say("/remind 1h later")?;
    bot.line_with("Reminder #1 in 1 h: later", patience)
        .context("no answer to /remind")?;
    bot.child.kill()?;
    bot.child.wait()?;
    drop(bot);
    // Killed right after a fire was delivered: it is not delivered again.
    let mut bot = ConsoleBot::start(&config)?;
    bot.say("/remind 1s kettle")?;
    bot.line_with("Reminder #2 in 1 s: kettle", patience)
        .context("no answer to the second /remind")?;
    bot.line_with("⏰ kettle", patience)
        .context("the reminder did not fire")?;
    bot.child.kill()?;
    bot.child.wait()?;
    drop(bot);
    let mut bot = ConsoleBot::start(&config)?;
    bot.say("/reminders")?;
    // Everything printed from the start: a repeated fire would come first.
    let mut printed = bot
        .lines_until("#1 in 1 h: later", patience)
        .context("the first reminder was lost")?;
    printed.extend(bot.lines_until("⏰ kettle", QUIET).unwrap_or_default());
    assert!(
        printed.iter().all(|line| !line.contains("kettle")),
        "fired again after SIGKILL, or still listed: {printed:?}"
    );
    Ok(())
}

/// Milliseconds since the Unix epoch of an RFC 3339 time.
fn utc_ms(text: &str) -> u64 {
    let at = chrono::DateTime::parse_from_rfc3339(text).expect("a test time");
    u64::try_from(at.timestamp_millis()).expect("after 1970")
}

#[tokio::test]
async fn a_cron_reminder_fires_at_nine_berlin_time_across_the_dst_change() -> Result<()> {
    // Saturday 2026-03-28 08:59 in Berlin (CET, UTC+1); the clocks go
    // forward the next night, so 9:00 on Sunday is 07:00 UTC.
    let clock = Arc::new(ManualClock::at(utc_ms("2026-03-28T07:59:00Z")));
    let mut bot = TestBot::start_on(
        Arc::new(tempfile::tempdir()?),
        &[&remind_dir()],
        &format!("{GRANT}\n[plugins.remind.config]\nzone = \"Europe/Berlin\"\n"),
        clock.clone(),
    )?;
    assert_eq!(
        bot.ask("c", "/remind every day 9:00 standup").await?,
        "⏰ Reminder #1 every day at 9:00, first in 1 min: standup"
    );
    clock.set(utc_ms("2026-03-28T07:59:59Z"));
    assert!(
        delivery_within(&mut bot, Duration::from_millis(300))
            .await
            .is_none()
    );
    clock.set(utc_ms("2026-03-28T08:00:00Z"));
    assert_eq!(text_of(&bot.next().await?), "⏰ standup");
    // Sunday: 9:00 CEST is 07:00 UTC, an hour earlier than on Saturday.
    clock.set(utc_ms("2026-03-29T06:59:59Z"));
    assert!(
        delivery_within(&mut bot, Duration::from_millis(300))
            .await
            .is_none()
    );
    clock.set(utc_ms("2026-03-29T07:00:00Z"));
    assert_eq!(text_of(&bot.next().await?), "⏰ standup");
    // A weekly one, from "tomorrow"'s arithmetic in the zone too.
    assert_eq!(
        bot.ask("c", "/remind every monday 9:00 review").await?,
        "⏰ Reminder #2 every Monday at 9:00, first in 1 d: review"
    );
    assert_eq!(
        bot.ask("c", "/remind tomorrow 9:30 coffee").await?,
        "⏰ Reminder #3 in 1 d 1 h: coffee"
    );
    // Monday 9:00 CEST: the daily and the weekly one.
    clock.set(utc_ms("2026-03-30T07:00:00Z"));
    let mut seen = vec![text_of(&bot.next().await?), text_of(&bot.next().await?)];
    seen.sort();
    assert_eq!(seen, ["⏰ review", "⏰ standup"]);
    clock.set(utc_ms("2026-03-30T07:30:00Z"));
    assert_eq!(text_of(&bot.next().await?), "⏰ coffee");
    bot.stop().await?;
    Ok(())
}

/// Stores `grants` for the test plugin `timers` in the bot's store under
/// `data`, as `plugboard grant` does.
fn grant_timers(data: &tempfile::TempDir, grants: &[Permission]) -> Result<()> {
    let store = SledStore::open(&data.path().join("data").join("store"))?;
    store.set_grants("timers", &grants.iter().copied().collect())?;
    store.flush()?;
    Ok(())
}

#[tokio::test]
async fn a_schedule_for_another_chat_needs_send_any_chat_for_as_long_as_it_fires() -> Result<()> {
    let timers = test_plugins_dir().join("timers");
    let data = Arc::new(tempfile::tempdir()?);
    grant_timers(&data, &[Permission::Schedule])?;
    let mut bot = TestBot::start_in(Arc::clone(&data), &[&timers], "")?;
    let refused = bot.ask("here", "/elsewhere there 1000").await?;
    assert!(refused.contains("`send-any-chat`"), "{refused}");
    let data = bot.stop().await?;

    grant_timers(&data, &[Permission::Schedule, Permission::SendAnyChat])?;
    let mut bot = TestBot::start_in(Arc::clone(&data), &[&timers], "")?;
    assert_eq!(
        bot.ask("here", "/elsewhere there 300").await?,
        "set for there"
    );
    let fired = bot.next().await?;
    assert_eq!(text_of(&fired), "tick to-there in there");
    assert_eq!(fired.chat.id, "there");
    assert_eq!(
        bot.ask("here", "/elsewhere there 1000").await?,
        "set for there"
    );
    let data = bot.stop().await?;

    // The grant is revoked while the second one is pending: it stays silent.
    grant_timers(&data, &[Permission::Schedule])?;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut bot = TestBot::start_in(data, &[&timers], "")?;
    assert!(delivery_within(&mut bot, QUIET).await.is_none());
    bot.stop().await?;
    Ok(())
}

#[tokio::test]
async fn plugins_never_see_or_cancel_each_others_schedules() -> Result<()> {
    let timers = test_plugins_dir().join("timers");
    let data = Arc::new(tempfile::tempdir()?);
    grant_timers(&data, &[Permission::Schedule])?;
    let mut bot = TestBot::start_in(data, &[&remind_dir(), &timers], GRANT)?;
    assert!(bot.ask("c", "/remind 1h mine").await?.contains("#1 in 1 h"));
    assert_eq!(bot.ask("c", "/myschedules").await?, "schedules: []");
    assert_eq!(
        bot.ask("c", "/unschedule test/c/1").await?,
        "cancelled test/c/1: false"
    );
    assert!(
        bot.ask("c", "/reminders")
            .await?
            .contains("#1 in 1 h: mine")
    );
    bot.stop().await?;
    Ok(())
}
