//! The owner console in a browser.

use anyhow::{Result, ensure};

use crate::console_bot::{ConsoleBot, TOKEN};
use crate::harness::Browser;

/// The console's pages, by path and name (for screenshots).
const PAGES: &[(&str, &str)] = &[
    ("/", "console-overview"),
    ("/plugins", "console-plugins"),
    ("/plugins/dice/config", "console-settings"),
    ("/chat", "console-chat"),
    ("/live", "console-live"),
    ("/usage", "console-usage"),
    ("/audit", "console-audit"),
    ("/logs", "console-log"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_console_page_passes_axe_and_fits_a_phone_and_a_grant_and_a_setting_from_the_pages_hold()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut bot = ConsoleBot::start(
        dir.path(),
        "[plugins.hostile.limits]\nbreaker_failures = 1\nbreaker_window = 1\n\n\
         [plugins.poll]\ngrants = [\"kv\"]\n",
    )?;
    // Something for every page to show: traffic, usage, a suspension.
    bot.ask("/echo hello")?;
    bot.ask("/roll 2d6")?;
    bot.ask("/boom")?;
    let base = format!("http://{}", bot.address);
    let browser = Browser::start().await?;

    browser.goto(&format!("{base}/")).await?;
    ensure!(
        browser.current_url().await?.ends_with("/signin"),
        "signed out, the overview sends to the sign-in page"
    );
    browser.assert_accessible("sign-in").await?;
    browser.screenshot("console-signin").await?;
    browser.fill("#token", TOKEN).await?;
    browser
        .click("form[action='/signin'] button[type=submit]")
        .await?;
    browser.wait_for("#facts").await?;
    ensure!(browser.text("#state").await? == "serving");

    for (width, height) in [(1280, 900), (360, 740)] {
        browser.set_viewport(width, height).await?;
        for (path, name) in PAGES {
            browser.goto(&format!("{base}{path}")).await?;
            browser.wait_for("main h1").await?;
            browser
                .assert_accessible(&format!("{path} at {width} px"))
                .await?;
            ensure!(
                !browser.has_horizontal_scroll().await?,
                "{path} scrolls sideways at {width} px: {:?}",
                browser.overflowing_elements().await?
            );
            if width == 1280 {
                browser.screenshot(name).await?;
            }
        }
    }

    // Grant notes its kv from the page: the next command holds it.
    browser.set_viewport(1280, 900).await?;
    browser.goto(&format!("{base}/plugins")).await?;
    browser
        .click("#plugin-notes form[action='/plugins/notes/grant'] button")
        .await?;
    browser.wait_for("#notice").await?;
    let notice = browser.text("#notice").await?;
    ensure!(
        notice == "Granted kv for notes; it takes effect now.",
        "{notice}"
    );
    let remembered = bot.ask("/remember tea green")?;
    ensure!(remembered.contains("tea"), "{remembered}");
    browser.assert_accessible("plugins after a grant").await?;

    // A setting from its form: a bad value is refused at its field, a good
    // one holds at once.
    browser.click("#settings-dice").await?;
    browser.wait_for("form#settings").await?;
    browser.fill("#set-max_dice", "500").await?;
    browser.click("form#settings button[type=submit]").await?;
    browser.wait_for("#problems").await?;
    let problem = browser.text("#err-max_dice").await?;
    ensure!(
        problem.starts_with("max_dice = `500` is above the maximum of 100"),
        "{problem}"
    );
    ensure!(
        browser
            .attr("#set-max_dice", "aria-invalid")
            .await?
            .as_deref()
            == Some("true"),
        "the refused field is marked invalid"
    );
    browser.assert_accessible("settings refused").await?;
    browser.screenshot("console-settings-refused").await?;
    ensure!(bot.ask("/roll 5d6")?.starts_with("🎲 5d6"), "not saved");
    browser.fill("#set-max_dice", "3").await?;
    browser.click("form#settings button[type=submit]").await?;
    browser.wait_for("#notice").await?;
    let notice = browser.text("#notice").await?;
    ensure!(
        notice == "Saved (max_dice: default → 3); dice runs with them now.",
        "{notice}"
    );
    let refused = bot.ask("/roll 5d6")?;
    ensure!(refused == "I roll at most 3 dice at once.", "{refused}");

    // The live stream shows an event as it happens (with what was said,
    // since this page asks for it), and the answer.
    browser.goto(&format!("{base}/live?text=true")).await?;
    browser
        .wait_until("document.getElementById('live-state').textContent.startsWith('Connected')")
        .await?;
    bot.ask("/echo hello live")?;
    let row_with = |text: &str| {
        format!(
            "[...document.querySelectorAll('#stream tbody tr')].some(r => r.textContent.includes({text:?}))"
        )
    };
    browser.wait_until(&row_with("message")).await?;
    browser.wait_until(&row_with("/echo hello live")).await?;
    browser.wait_until(&row_with("send by echo")).await?;
    browser.assert_accessible("live with sightings").await?;
    browser.screenshot("console-live-stream").await?;

    // The web chat: a roll, then a poll whose button counts a vote.
    browser.goto(&format!("{base}/chat")).await?;
    say(&browser, "/roll 2d6").await?;
    let rolled = browser.text("#transcript li.bot:last-child .said").await?;
    ensure!(rolled.starts_with("🎲 2d6"), "{rolled}");
    say(&browser, "/poll Lunch? | Pizza | Sushi").await?;
    let poll = browser.text("#transcript li.bot:last-child .said").await?;
    ensure!(
        poll.contains("Pizza — 0") && poll.contains("Sushi — 0"),
        "{poll}"
    );
    submit(
        &browser,
        "#transcript li.bot:last-child .buttons form button",
    )
    .await?;
    let voted = browser.text("#transcript li.bot:last-child .said").await?;
    ensure!(
        voted.contains("Pizza — 1") && voted.contains("Sushi — 0"),
        "{voted}"
    );
    browser.assert_accessible("web chat with a poll").await?;
    browser.screenshot("console-chat-poll").await?;

    // dice turned off in the web chat only: refused there, served on the
    // console.
    browser.goto(&format!("{base}/plugins")).await?;
    browser.fill("#chat", "web:chat-1").await?;
    browser
        .eval("document.getElementById('chat-plugin').value = 'dice'; return true;")
        .await?;
    browser.click("#chat-form button[type=submit]").await?;
    browser.wait_for("#notice").await?;
    browser.goto(&format!("{base}/chat")).await?;
    say(&browser, "/roll 2d6").await?;
    let off = browser.text("#transcript li.bot:last-child .said").await?;
    ensure!(off.starts_with("/roll is turned off in this chat"), "{off}");
    let served = bot.ask("/roll 2d6")?;
    ensure!(served.starts_with("🎲 2d6"), "{served}");
    browser.close().await?;
    bot.stop()?;
    Ok(())
}

/// Says `text` in the web chat page and waits for the page after it.
async fn say(browser: &Browser, text: &str) -> Result<()> {
    browser.fill("#say", text).await?;
    submit(browser, "#say-form button[type=submit]").await
}

/// Clicks the web chat's button `css` and waits for the chat page that
/// comes after it (not the one still showing).
async fn submit(browser: &Browser, css: &str) -> Result<()> {
    browser
        .eval("document.body.dataset.before = 'yes'; return true;")
        .await?;
    browser.click(css).await?;
    browser
        .wait_until("document.body.dataset.before !== 'yes' && document.getElementById('say')")
        .await
}
