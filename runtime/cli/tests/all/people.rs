//! People across platforms: `/link` joins two accounts into one person,
//! and what plugins keep for that person follows them.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use plugboard_adapter::memory::{MemoryAdapter, MemoryHandle};
use plugboard_bot::bot::Bot;
use plugboard_bot::config::BotConfig;
use plugboard_people::{ATTEMPT_WINDOW_MS, CODE_TTL_MS, People};
use plugboard_schedule::{Clock, ManualClock};
use plugboard_store::{PeopleRecords, SledStore};

use crate::support::{PATIENCE, dirs_toml, link_code, plugins_dir, shared_cache, text_of};

/// A bot on two in-process platforms, `alpha` and `beta`, on a clock
/// that moves when told.
struct TwoPlatforms {
    alpha: MemoryHandle,
    beta: MemoryHandle,
    clock: Arc<ManualClock>,
    running: tokio::task::JoinHandle<Result<(), plugboard_bot::bot::BotError>>,
    data: tempfile::TempDir,
}

impl TwoPlatforms {
    fn start(plugin_dirs: &[&Path]) -> Result<Self> {
        Self::start_with(plugin_dirs, "")
    }

    /// [`TwoPlatforms::start`], with `extra` TOML in the config.
    fn start_with(plugin_dirs: &[&Path], extra: &str) -> Result<Self> {
        let data = tempfile::tempdir()?;
        let text = format!(
            "[runtime]\ndata_dir = {:?}\ncache_dir = {:?}\nplugin_dirs = {}\nmax_instances = 64\n\n\
             [plugins.notes]\ngrants = [\"kv\"]\n\n{extra}",
            data.path().join("data").display().to_string(),
            shared_cache().display().to_string(),
            dirs_toml(plugin_dirs),
        );
        // On disk too, for the CLI.
        std::fs::write(data.path().join("test.toml"), &text)?;
        let config = BotConfig::parse(&text, Path::new("test.toml"), data.path().to_path_buf())?;
        let clock = Arc::new(ManualClock::at(1_800_000_000_000));
        let (mut bot, report) =
            Bot::from_config_with_clock(&config, Arc::clone(&clock) as Arc<dyn Clock>)?;
        anyhow::ensure!(report.refused.is_empty(), "{:?}", report.refused);
        let (alpha_adapter, alpha) = MemoryAdapter::new("alpha");
        let (beta_adapter, beta) = MemoryAdapter::new("beta");
        bot.add_adapter(Box::new(alpha_adapter));
        bot.add_adapter(Box::new(beta_adapter));
        let running = tokio::spawn(bot.run(std::future::pending()));
        Ok(Self {
            alpha,
            beta,
            clock,
            running,
            data,
        })
    }

    async fn stop(mut self) -> Result<tempfile::TempDir> {
        for handle in [&mut self.alpha, &mut self.beta] {
            handle.close();
        }
        for handle in [&mut self.alpha, &mut self.beta] {
            while tokio::time::timeout(PATIENCE, handle.recv())
                .await?
                .is_some()
            {}
        }
        self.running.await??;
        Ok(self.data)
    }
}

/// Says `text` as `user` in a private chat of `on`, and returns the answer.
async fn ask(on: &mut MemoryHandle, user: &str, text: &str) -> Result<String> {
    if !on.say(&format!("dm-{user}"), user, text).await {
        bail!("the bot stopped listening");
    }
    let answer = tokio::time::timeout(PATIENCE, on.recv())
        .await
        .context("no answer")?
        .context("the bot stopped")?;
    Ok(text_of(&answer))
}

/// The next delivery on `on`.
async fn next(on: &mut MemoryHandle) -> Result<plugboard_model::event::Outbound> {
    tokio::time::timeout(PATIENCE, on.recv())
        .await
        .context("no delivery")?
        .context("the bot stopped")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_code_joins_two_platforms_notes_follow_the_person_and_unlink_splits_them()
-> Result<()> {
    let mut bot = TwoPlatforms::start(&[&plugins_dir()])?;
    let (alpha, beta) = (&mut bot.alpha, &mut bot.beta);
    assert_eq!(
        ask(alpha, "ann", "/remember color teal").await?,
        "Remembered `color`."
    );
    assert_eq!(
        ask(beta, "b-ann", "/recall color").await?,
        "I don't remember anything about `color`."
    );

    let answer = ask(alpha, "ann", "/link").await?;
    let code = link_code(&answer)?;
    assert!(
        answer.ends_with(&format!("On your other account, send me: /link {code}")),
        "{answer}"
    );
    assert_eq!(
        ask(beta, "b-ann", &format!("/link {}", code.to_lowercase())).await?,
        "Linked: this account and alpha:ann are one person now. What plugins keep for you follows you on each of them; /unlink undoes it."
    );
    // ann hears of it, privately, where the code came from.
    let notice = next(alpha).await?;
    assert_eq!(notice.chat.private_user(), Some("ann"));
    assert_eq!(
        text_of(&notice),
        "Your link code was used: this account and beta:b-ann are one person now. If that was not you, send /unlink here."
    );
    // ann's note came along, and both accounts see the same notes.
    assert_eq!(ask(beta, "b-ann", "/recall color").await?, "teal");
    assert_eq!(
        ask(beta, "b-ann", "/remember size 42").await?,
        "Remembered `size`."
    );
    assert_eq!(ask(alpha, "ann", "/recall size").await?, "42");
    // Someone else's private notes stay theirs.
    assert_eq!(
        ask(beta, "bob", "/recall color").await?,
        "I don't remember anything about `color`."
    );

    // A code works once.
    assert_eq!(
        ask(beta, "bob", &format!("/link {code}")).await?,
        "That code is not valid (a code works once); ask for a new one with /link on your other account."
    );
    // A code expires after ten minutes.
    let stale = link_code(&ask(alpha, "carol", "/link").await?)?;
    bot.clock.advance(CODE_TTL_MS);
    assert_eq!(
        ask(beta, "b-carol", &format!("/link {stale}")).await?,
        "That code has expired (codes work for 10 minutes); ask for a new one with /link."
    );
    // Guessing is cut short: five wrong codes, then a pause.
    let fresh = link_code(&ask(alpha, "carol", "/link").await?)?;
    for _ in 0..5 {
        let guessed = ask(beta, "mallory", "/link ABCDEFGH").await?;
        assert!(guessed.starts_with("That code is not valid"), "{guessed}");
    }
    assert_eq!(
        ask(beta, "mallory", &format!("/link {fresh}")).await?,
        "Too many wrong codes; try again in 10 minutes."
    );
    bot.clock.advance(ATTEMPT_WINDOW_MS);
    // (fresh has expired by now; carol asks again.)
    let again = link_code(&ask(alpha, "carol", "/link").await?)?;
    assert!(
        ask(beta, "mallory", &format!("/link {again}"))
            .await?
            .starts_with("Linked: this account and alpha:carol")
    );
    assert_eq!(next(alpha).await?.chat.private_user(), Some("carol"));

    assert_eq!(
        ask(beta, "b-ann", "/unlink").await?,
        "Unlinked: this account stands alone again. What plugins kept for you while linked stays with your other account."
    );
    assert_eq!(
        ask(beta, "b-ann", "/recall color").await?,
        "I don't remember anything about `color`."
    );
    assert_eq!(ask(alpha, "ann", "/recall size").await?, "42");
    assert_eq!(
        ask(beta, "b-ann", "/unlink").await?,
        "This account is not linked to any other."
    );
    let data = bot.stop().await?;

    // Every link and unlink is in the audit log, with who and when.
    let store = Arc::new(SledStore::open(&data.path().join("data").join("store"))?);
    let people = People::new(
        store as Arc<dyn PeopleRecords>,
        Arc::new(ManualClock::at(0)) as Arc<dyn Clock>,
    );
    let audit: Vec<(String, String)> = people
        .audit(None, 100)?
        .into_iter()
        .map(|(_, e)| (e.actor, e.action))
        .collect();
    let expected = [
        ("beta:b-ann", "link"),
        ("beta:mallory", "link"),
        ("beta:b-ann", "unlink"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(audit, expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_code_asked_for_in_a_group_is_sent_privately_and_works() -> Result<()> {
    let mut bot = TwoPlatforms::start(&[&plugins_dir()])?;
    let mut event = bot.alpha.message("group", "ann", "/link");
    if let plugboard_model::event::Event::Message(message) = &mut event {
        message.chat.kind = plugboard_model::event::ChatKind::Group;
    }
    anyhow::ensure!(bot.alpha.send(event).await, "the bot stopped");
    let mut next = async || -> Result<plugboard_model::event::Outbound> {
        tokio::time::timeout(PATIENCE, bot.alpha.recv())
            .await?
            .context("the bot stopped")
    };
    let in_group = next().await?;
    assert_eq!(in_group.chat.id, "group");
    assert_eq!(
        text_of(&in_group),
        "I sent you a link code in a private message. If it does not arrive, send /link to me in a private chat."
    );
    let private = next().await?;
    assert_eq!(private.chat.private_user(), Some("ann"));
    let code = link_code(&text_of(&private))?;
    assert!(
        ask(&mut bot.beta, "b-ann", &format!("/link {code}"))
            .await?
            .starts_with("Linked: this account and alpha:ann")
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_need_their_role_owners_give_roles_and_a_banned_person_is_ignored() -> Result<()> {
    // dice's /roll needs `admin` by its manifest here; the owner opens it
    // to everyone in carl's chat, and makes /forget a moderators' command.
    let staged = tempfile::tempdir()?;
    let dice = plugins_dir().join("dice");
    let manifest = std::fs::read_to_string(dice.join("plugin.toml"))?
        .replace("name = \"roll\"\n", "name = \"roll\"\nrole = \"admin\"\n");
    crate::loading::copy_plugin(&dice, &staged.path().join("dice"), Some(&manifest))?;
    crate::loading::copy_plugin(
        &plugins_dir().join("notes"),
        &staged.path().join("notes"),
        None,
    )?;
    let mut bot = TwoPlatforms::start_with(
        &[staged.path()],
        "[people]\nowners = [\"alpha:boss\"]\n\n[people.commands]\nforget = \"moderator\"\n\n\
         [people.chats.\"alpha:dm-carl\".commands]\nroll = \"everyone\"\n",
    )?;
    let (alpha, beta) = (&mut bot.alpha, &mut bot.beta);
    let rolled = |answer: &str| answer.starts_with("🎲");

    assert_eq!(
        ask(beta, "dan", "/roll").await?,
        "You need the `admin` role for /roll."
    );
    assert!(rolled(&ask(alpha, "boss", "/roll").await?), "the owner may");
    assert!(
        rolled(&ask(alpha, "carl", "/roll").await?),
        "opened in carl's chat"
    );
    assert_eq!(
        ask(alpha, "carl", "/forget x").await?,
        "You need the `moderator` role for /forget."
    );
    assert_eq!(
        ask(alpha, "boss", "/role give alpha:carl moderator").await?,
        "alpha:carl is moderator now."
    );
    assert_eq!(
        ask(alpha, "carl", "/forget x").await?,
        "I don't remember anything about `x`."
    );
    assert_eq!(
        ask(alpha, "carl", "/role give beta:dan admin").await?,
        "Only owners can do that."
    );
    assert_eq!(
        ask(alpha, "carl", "/role give beta:dan premium").await?,
        "Only admins can do that."
    );
    assert_eq!(
        ask(alpha, "carl", "/roles").await?,
        "You have these roles: moderator."
    );
    assert_eq!(
        ask(alpha, "carl", "/ban alpha:boss").await?,
        "You cannot ban alpha:boss: their role is as high as yours."
    );
    assert_eq!(
        ask(alpha, "carl", "/ban @dan spamming").await?,
        "I cannot tell who @dan is: mention them so that the app links the name, or write their platform:id, like telegram:42."
    );
    assert_eq!(
        ask(alpha, "boss", "/role give Beta:dan premium").await?,
        "Beta:dan is not platform:id; write it like telegram:42 (the platform in lowercase)."
    );
    assert_eq!(
        ask(alpha, "carl", "/ban beta:dan spamming").await?,
        "beta:dan is banned: the bot ignores them on every account they linked."
    );
    // dan is ignored: the next answer on beta is eve's.
    anyhow::ensure!(beta.say("dm-dan", "dan", "/recall x").await, "stopped");
    assert_eq!(
        ask(beta, "eve", "/recall x").await?,
        "I don't remember anything about `x`."
    );
    assert_eq!(
        ask(alpha, "boss", "/unban beta:dan").await?,
        "beta:dan is no longer banned."
    );
    assert_eq!(
        ask(beta, "dan", "/recall x").await?,
        "I don't remember anything about `x`."
    );
    let data = bot.stop().await?;

    let store = Arc::new(SledStore::open(&data.path().join("data").join("store"))?);
    let people = People::new(
        store as Arc<dyn PeopleRecords>,
        Arc::new(ManualClock::at(0)) as Arc<dyn Clock>,
    );
    let audit: Vec<(String, String, String, String)> = people
        .audit(None, 100)?
        .into_iter()
        .map(|(_, e)| (e.actor, e.action, e.subject, e.detail))
        .collect();
    let expected: Vec<(String, String, String, String)> = [
        ("alpha:boss", "role", "alpha:carl", "+moderator"),
        ("alpha:carl", "ban", "beta:dan", "spamming"),
        ("alpha:boss", "unban", "beta:dan", ""),
    ]
    .iter()
    .map(|(a, b, c, d)| ((*a).into(), (*b).into(), (*c).into(), (*d).into()))
    .collect();
    assert_eq!(audit, expected);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_given_to_an_alias_of_a_command_holds_it_under_every_name() -> Result<()> {
    // The owner calls notes' /remember also /r, and makes /r a
    // moderators' command: typing /remember must not get round it.
    let mut bot = TwoPlatforms::start_with(
        &[&plugins_dir()],
        "[commands]\nr = \"notes.remember\"\n\n\
         [people]\nowners = [\"alpha:boss\"]\n\n[people.commands]\nr = \"moderator\"\n",
    )?;
    let alpha = &mut bot.alpha;
    // (The refusal names the command as the plugin's, unqualified.)
    for (typed, name) in [
        ("/r k v", "/r"),
        ("/remember k v", "/remember"),
        ("/notes.remember k v", "/remember"),
    ] {
        assert_eq!(
            ask(alpha, "carl", typed).await?,
            format!("You need the `moderator` role for {name}."),
            "{typed}"
        );
    }
    assert_eq!(
        ask(alpha, "boss", "/remember k v").await?,
        "Remembered `k`."
    );
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_says_when_to_retry_premium_gets_a_higher_quota_and_usage_is_counted()
-> Result<()> {
    let mut bot = TwoPlatforms::start_with(
        &[&plugins_dir()],
        "[people]\nowners = [\"alpha:boss\"]\n\n\
         [people.rate]\nuser_command = \"2/minute\"\nuser_plugin = \"none\"\nchat = \"none\"\n\n\
         [people.quotas]\n\"dice.roll\" = 3\n\n[people.role_quotas.premium]\n\"dice.roll\" = 5\n",
    )?;
    let minute = 60_000;
    let (alpha, clock) = (&mut bot.alpha, &bot.clock);
    let rolled = |answer: &str| answer.starts_with("🎲");
    for _ in 0..2 {
        assert!(rolled(&ask(alpha, "ann", "/roll").await?));
    }
    assert_eq!(
        ask(alpha, "ann", "/roll").await?,
        "Slow down: try again in 30 seconds."
    );
    assert!(rolled(&ask(alpha, "bob", "/roll").await?), "bob is served");
    clock.advance(minute);
    assert!(rolled(&ask(alpha, "ann", "/roll").await?), "the third of 3");
    clock.advance(minute);
    let over = ask(alpha, "ann", "/roll").await?;
    assert!(
        over.starts_with("You have used /roll 3 times today; it resets at midnight UTC, in "),
        "{over}"
    );
    assert_eq!(
        ask(alpha, "boss", "/role give alpha:ann premium").await?,
        "alpha:ann is premium now."
    );
    for _ in 0..2 {
        assert!(rolled(&ask(alpha, "ann", "/roll").await?), "premium gets 5");
        clock.advance(minute);
    }
    assert!(
        ask(alpha, "ann", "/roll")
            .await?
            .starts_with("You have used /roll 5 times")
    );
    let data = bot.stop().await?;

    // ann ran 5 and was refused 3 times, bob ran once; the owner's /role
    // counts under the host's own name.
    let out = crate::cli::plugboard()
        .args(["usage", "--json", "--config"])
        .arg(data.path().join("test.toml"))
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        rows,
        serde_json::json!([
            {"day": "2027-01-15", "plugin": "dice", "command": "roll", "ran": 6, "refused": 3},
            {"day": "2027-01-15", "plugin": "plugboard", "command": "role", "ran": 1, "refused": 0}
        ])
    );
    let out = crate::cli::plugboard()
        .args(["usage", "--config"])
        .arg(data.path().join("test.toml"))
        .output()?;
    let table = String::from_utf8(out.stdout)?;
    assert_eq!(
        table,
        "day         plugin     command  ran  refused\n2027-01-15  dice       /roll      6        3\n2027-01-15  plugboard  /role      1        0\n"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn button_presses_count_against_the_plugins_rate_limit_and_are_dropped_past_it() -> Result<()>
{
    use plugboard_model::event::{ButtonPress, Event, OutboundOp, User};
    let mut bot = TwoPlatforms::start_with(
        &[&plugins_dir()],
        "[people]\nowners = [\"alpha:boss\"]\n\n\
         [people.rate]\nuser_command = \"none\"\nuser_plugin = \"3/minute\"\nchat = \"none\"\n\n\
         [plugins.poll]\ngrants = [\"kv\"]\n",
    )?;
    let alpha = &mut bot.alpha;
    // A poll in a group: one use of ann's three.
    assert!(
        alpha
            .say("group", "ann", "/poll Lunch? | Pizza | Salad")
            .await
    );
    let poll = next(alpha).await?;
    let OutboundOp::Send { message, .. } = &poll.op else {
        bail!("not a poll: {poll:?}");
    };
    let pizza = message
        .buttons
        .first()
        .and_then(|row| row.first())
        .with_context(|| format!("the poll has buttons: {:?}", message.text))?
        .id
        .clone();
    let press = |on: &MemoryHandle, user: &str| {
        Event::ButtonPress(ButtonPress {
            data: pizza.clone(),
            user: User::new(user, user),
            chat: on.chat("group"),
            message_id: "1".into(),
        })
    };
    // Two presses are served (each edits the poll)...
    for _ in 0..2 {
        assert!(alpha.send(press(alpha, "ann")).await);
        assert!(matches!(next(alpha).await?.op, OutboundOp::Edit { .. }));
    }
    // ...the third of the minute is dropped without a word, while bob's
    // press and the owner's are served.
    assert!(alpha.send(press(alpha, "ann")).await);
    assert!(alpha.send(press(alpha, "bob")).await);
    assert!(alpha.send(press(alpha, "boss")).await);
    for presser in ["bob", "boss"] {
        let edited = next(alpha).await?;
        assert!(
            matches!(edited.op, OutboundOp::Edit { .. }),
            "{presser}: {edited:?}"
        );
    }
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), alpha.recv())
            .await
            .is_err(),
        "ann's third press got no answer"
    );
    // A minute later ann may press again.
    bot.clock.advance(60_000);
    assert!(bot.alpha.send(press(&bot.alpha, "ann")).await);
    assert!(matches!(
        next(&mut bot.alpha).await?.op,
        OutboundOp::Edit { .. }
    ));
    bot.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_turn_a_plugin_off_in_one_chat_or_allow_only_some_and_other_chats_keep_them()
-> Result<()> {
    let mut bot =
        TwoPlatforms::start_with(&[&plugins_dir()], "[people]\nowners = [\"alpha:boss\"]\n")?;
    let alpha = &mut bot.alpha;
    assert_eq!(
        ask(alpha, "ann", "/plugins off dice").await?,
        "Only admins can do that."
    );
    let listed = ask(alpha, "boss", "/plugins off dice").await?;
    assert!(
        listed.starts_with("On in this chat: ") && listed.ends_with(". Off: dice."),
        "{listed}"
    );
    assert_eq!(
        ask(alpha, "boss", "/roll 1d6").await?,
        "/roll is turned off in this chat (`dice`); its admins can turn it on with /plugins on dice."
    );
    // Another chat keeps it.
    assert!(ask(alpha, "ann", "/roll 1d6").await?.starts_with("🎲"));
    assert_eq!(
        ask(alpha, "boss", "/plugins off nope").await?,
        "No plugin named `nope` is loaded; /plugins lists them."
    );
    let only = ask(alpha, "boss", "/plugins only notes dice").await?;
    assert!(
        only.starts_with("On in this chat: dice, notes. Off: "),
        "{only}"
    );
    assert_eq!(
        ask(alpha, "boss", "/remember k v").await?,
        "Remembered `k`."
    );
    assert!(
        ask(alpha, "boss", "/echo hi")
            .await?
            .starts_with("/echo is turned off in this chat (`echo`)")
    );
    let all = ask(alpha, "boss", "/plugins all").await?;
    assert!(all.starts_with("Every plugin serves this chat: "), "{all}");
    assert_eq!(ask(alpha, "boss", "/echo hi").await?, "hi");
    let data = bot.stop().await?;

    let store = Arc::new(SledStore::open(&data.path().join("data").join("store"))?);
    let people = People::new(
        store as Arc<dyn PeopleRecords>,
        Arc::new(plugboard_schedule::SystemClock),
    );
    let changes: Vec<(String, String, String)> = people
        .audit(None, 10)?
        .into_iter()
        .filter(|(_, e)| e.action == "chat-plugins")
        .map(|(_, e)| (e.actor, e.subject, e.detail))
        .collect();
    let entry = |detail: &str| {
        (
            "alpha:boss".to_owned(),
            "alpha:dm-boss".to_owned(),
            detail.to_owned(),
        )
    };
    assert_eq!(
        changes,
        [entry("off dice"), entry("only dice notes"), entry("all")]
    );
    Ok(())
}
