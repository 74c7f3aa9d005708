//! The marketplace pages in headless Chromium: a visitor searching,
//! reading and copying the install command; an account rating and
//! reviewing; a fresh account's rating that does not count and a
//! moderator freezing ratings; a README image of a download that counts
//! nothing; a hostile README; a form without its CSRF token; a moderator
//! hiding a review; accessibility (axe-core) and a phone-width layout. The
//! home, search and plugin screenshots in `docs/images/` come from here
//! (`cargo xtask screenshots`).

use anyhow::{Result, ensure};
use fantoccini::Locator;

use crate::harness::Browser;
use crate::support::{TestRegistry, Visitor, plugin, start_with_alice_and_bob, test_plugin};

/// A README that tries every way to run script in the page.
const HOSTILE_README: &str = r#"# Echo

Repeats what you say, for testing bots.

<script>window.__xss = 'script';</script>
<img src="x" onerror="window.__xss = 'onerror'">
<a href="https://example.com" onclick="window.__xss = 'onclick'">a link with a handler</a>
<iframe src="javascript:parent.__xss = 'iframe'"></iframe>
<svg onload="window.__xss = 'svg'"><circle r="4"></circle></svg>
<form action="https://evil.example"><button>Win</button></form>

[a javascript link](javascript:window.__xss='link')

## Usage

```
/echo hello
```
"#;

/// A registry with alice's `echo` (the notes component, so it asks for
/// `kv`), bob's `dice` and a few more, some downloads, and reviews of
/// `dice` by two accounts.
async fn marketplace() -> Result<TestRegistry> {
    let (registry, alice, bob) = start_with_alice_and_bob()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let packages = [
        (
            &alice,
            plugin("notes")
                .name("echo")
                .line("categories = [\"tools\", \"fun\"]")
                .line("keywords = [\"repeat\"]")
                .readme(HOSTILE_README),
        ),
        (
            &bob,
            plugin("dice")
                .line("categories = [\"games\", \"fun\"]")
                .readme("# Dice\n\nRolls dice: `/roll 2d6`.\n"),
        ),
        (
            &bob,
            plugin("poll")
                .line("categories = [\"tools\"]")
                .readme("# Poll\n\nQuick polls with buttons.\n"),
        ),
        (
            &alice,
            plugin("notes")
                .line("categories = [\"tools\"]")
                .readme("# Notes\n\nA notebook per chat.\n"),
        ),
        // Asks for the powerful permissions, for their warning style.
        (
            &bob,
            test_plugin("hostile")
                .name("weather")
                .description("Weather forecasts for any city, and storm alerts for the whole server.")
                .without_commands()
                .line("categories = [\"tools\"]")
                .readme("# Weather\n\nAsks a weather service for the forecast: `/weather Lisbon`.\nStorm alerts mention everyone.\n"),
        ),
    ];
    for (publisher, spec) in packages {
        let package = spec.pack().map_err(|e| anyhow::anyhow!("{e}"))?;
        registry
            .publish_ok(publisher, &package)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    // A client counts once per version and day: each download comes from
    // another address.
    for (name, clients) in [("dice", 7), ("echo", 3), ("poll", 2)] {
        registry
            .downloads_from(name, "0.1.0", clients)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut reviewers = Vec::new();
    for user in ["carol", "dave"] {
        let mut visitor = Visitor::new(&registry).map_err(|e| anyhow::anyhow!("{e}"))?;
        visitor
            .sign_up(user)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        reviewers.push(visitor);
    }
    // Their ratings count: their accounts are older than the 7 days asked.
    age_accounts(&registry);
    for (visitor, (rating, text)) in reviewers.iter_mut().zip([
        (
            "5",
            "Does exactly what it says. <img src=x onerror=\"window.__xss='review'\">",
        ),
        ("4", "Good, though I wanted exploding dice."),
    ]) {
        visitor
            .post(
                "/plugins/dice/reviews",
                &[("rating", rating), ("body", text)],
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(registry)
}

/// Moves the registry's clock 8 days on, so that every account made so far
/// is old enough for its ratings to count (7 days by default).
fn age_accounts(registry: &TestRegistry) {
    registry
        .registry
        .config()
        .clock
        .advance(std::time::Duration::from_secs(8 * 24 * 60 * 60));
}

/// Waits until the page's `selector` text satisfies `done`.
async fn wait_text(
    browser: &Browser,
    selector: &str,
    done: impl Fn(&str) -> bool,
) -> Result<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let now = browser.text(selector).await.unwrap_or_default();
        if done(&now) {
            return Ok(now);
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "`{selector}` never got there; it shows: {now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

async fn sign_up(browser: &Browser, registry: &TestRegistry, user: &str) -> Result<()> {
    browser.goto(&registry.url("/signup")).await?;
    browser.fill("#username", user).await?;
    browser.fill("#password", "a long enough password").await?;
    browser.click("form.stack button[type=submit]").await?;
    wait_text(browser, "nav.account", |t| t.contains("Sign out")).await?;
    Ok(())
}

async fn sign_out(browser: &Browser) -> Result<()> {
    browser.click("nav.account button").await?;
    wait_text(browser, "nav.account", |t| t.contains("Sign in")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_finds_a_plugin_reads_it_and_copies_the_install_command() -> Result<()> {
    let registry = marketplace().await?;
    let browser = Browser::start().await?;
    browser.goto(&registry.url("/")).await?;
    browser.screenshot("marketplace-home").await?;

    browser.fill("#home-q", "repeat").await?;
    browser.click(".big-search button").await?;
    let results = wait_text(&browser, "#results", |t| t.contains("echo")).await?;
    ensure!(
        !results.contains("dice"),
        "only echo has the keyword: {results}"
    );

    // Search as you type: the results follow the words without a submit.
    browser.fill("#q", "dic").await?;
    let results = wait_text(&browser, "#results", |t| {
        t.contains("dice") && !t.contains("echo")
    })
    .await?;
    ensure!(
        browser
            .client()
            .current_url()
            .await?
            .as_str()
            .contains("q=dic"),
        "the address follows: {results}"
    );
    browser.goto(&registry.url("/search?q=")).await?;
    wait_text(&browser, "#results", |t| t.contains("5 plugins")).await?;
    browser.screenshot("marketplace-search").await?;

    browser.fill("#q", "echo").await?;
    wait_text(&browser, "#results", |t| t.starts_with("1 plugin")).await?;
    browser.click("#results a.plugin-link").await?;
    wait_text(&browser, "h1", |t| t.starts_with("echo")).await?;
    ensure!(
        browser
            .text(".readme")
            .await?
            .contains("Repeats what you say")
    );
    let permissions = browser.text(".permissions").await?;
    ensure!(
        permissions.contains("store data in its own private key-value store"),
        "{permissions}"
    );
    ensure!(browser.text("#install-command").await? == "plugboard install echo");

    browser.grant_clipboard().await?;
    browser.click("button.copy").await?;
    wait_text(&browser, "#copy-status", |t| t.contains("Copied")).await?;
    ensure!(browser.clipboard_text().await? == "plugboard install echo");

    // Powerful permissions stand out, with the web addresses `http` reaches.
    browser.goto(&registry.url("/plugins/weather")).await?;
    let powerful = browser.find_all(".perm.powerful").await?;
    ensure!(
        powerful.len() == 2,
        "http and mention-everyone are powerful, kv is not"
    );
    let permissions = browser.text(".permissions").await?;
    ensure!(permissions.contains("http://127.0.0.1:*"), "{permissions}");
    browser.goto(&registry.url("/plugins/dice")).await?;
    browser.screenshot("marketplace-plugin").await?;
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_readme_and_review_are_inert() -> Result<()> {
    let registry = marketplace().await?;
    let browser = Browser::start().await?;
    for page in ["/plugins/echo", "/plugins/dice"] {
        browser.goto(&registry.url(page)).await?;
        browser.wait_for(".readme").await?;
        let found = browser
            .eval(
                "const readme = document.querySelector('.readme');
                 const handlers = [...document.querySelectorAll('.readme *, .reviews *')]
                   .flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'));
                 return {
                   xss: window.__xss === undefined ? null : String(window.__xss),
                   scripts: readme.querySelectorAll('script, iframe, form, object, embed').length,
                   jsLinks: readme.querySelectorAll('a[href^=\"javascript\"]').length,
                   handlers,
                 };",
            )
            .await?;
        ensure!(found["xss"].is_null(), "script ran on {page}: {found}");
        ensure!(
            found["scripts"] == 0 && found["jsLinks"] == 0,
            "active content left on {page}: {found}"
        );
        ensure!(
            found["handlers"].as_array().is_some_and(|h| h.is_empty()),
            "{found}"
        );
    }
    // Clicking what was a javascript: link runs nothing either.
    browser.goto(&registry.url("/plugins/echo")).await?;
    if let Ok(link) = browser
        .client()
        .find(Locator::LinkText("a javascript link"))
        .await
    {
        link.click().await?;
    }
    let xss = browser
        .eval("return window.__xss === undefined ? null : String(window.__xss);")
        .await?;
    ensure!(xss.is_null(), "{xss}");
    browser.goto(&registry.url("/plugins/dice")).await?;
    ensure!(
        browser.text("#review-carol").await?.contains("<img src=x"),
        "the review shows the markup as text"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readme_image_of_a_download_counts_nothing_in_chromium() -> Result<()> {
    let (registry, _, bob) = start_with_alice_and_bob()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let download = "/api/v1/plugins/dice/0.1.0/download";
    let readme = format!(
        "# Dice\n\n![downloads]({download})\n\n<img src=\"{}{download}\" alt=\"absolute\">\n",
        registry.url
    );
    let package = plugin("dice")
        .readme(&readme)
        .pack()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    registry
        .publish_ok(&bob, &package)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let total = || async {
        let info: plugboard_registry::api::PluginInfo = registry
            .get_json("/api/v1/plugins/dice")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        anyhow::Ok(info.downloads.total)
    };

    let browser = Browser::start().await?;
    browser.goto(&registry.url("/plugins/dice")).await?;
    browser.wait_for(".readme").await?;
    let sources = browser
        .eval(
            "return [...document.querySelectorAll('.readme img')].map(i => i.getAttribute('src'));",
        )
        .await?;
    ensure!(
        sources == serde_json::json!([null, null]),
        "the README's images of the package lost their address: {sources}"
    );
    // Whatever still makes the browser fetch the package (an image added
    // by a script, an old page, another site's image or fetch) is served
    // and not counted.
    let fetched = browser
        .eval_async(&format!(
            "const done = arguments[arguments.length - 1];
             const image = new Promise(resolve => {{
               const img = new Image();
               img.onload = img.onerror = resolve;
               img.src = '{download}?image';
               document.body.append(img);
             }});
             const fetched = fetch('{download}?fetch').then(r => r.status);
             Promise.all([image, fetched]).then(([_, status]) => done({{
               fetch: status,
               image: performance.getEntriesByName(location.origin + '{download}?image')
                 .map(e => e.responseStatus),
             }}));"
        ))
        .await?;
    ensure!(
        fetched == serde_json::json!({"fetch": 200, "image": [200]}),
        "the browser got the package both ways: {fetched}"
    );
    browser.goto(&registry.url("/plugins/dice")).await?;
    ensure!(browser.text("#downloads-total").await? == "0");
    ensure!(total().await? == 0);

    // A client asking for the package counts: the zero was the browser's.
    registry
        .download("dice", "0.1.0")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    ensure!(total().await? == 1);
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_up_rating_and_reviewing_update_the_summary() -> Result<()> {
    let registry = marketplace().await?;
    let browser = Browser::start().await?;
    browser.goto(&registry.url("/plugins/poll")).await?;
    ensure!(browser.text("#reviews").await?.contains("No reviews yet"));
    sign_up(&browser, &registry, "erin").await?;
    age_accounts(&registry);
    browser.goto(&registry.url("/plugins/poll")).await?;
    browser.click("label[for=rating-4]").await?;
    browser
        .fill("#review-body", "Our club votes on everything with it.")
        .await?;
    browser.click(".review-form button[type=submit]").await?;
    wait_text(&browser, "#rating-average", |t| t == "4.0").await?;
    ensure!(browser.text("#rating-count").await? == "1");
    ensure!(
        browser
            .text("#review-erin")
            .await?
            .contains("Our club votes")
    );

    // The form comes back filled in; a second post edits the one review.
    ensure!(
        browser
            .wait_for("#rating-4")
            .await?
            .prop("checked")
            .await?
            .as_deref()
            == Some("true")
    );
    browser.click("label[for=rating-2]").await?;
    browser.click(".review-form button[type=submit]").await?;
    wait_text(&browser, "#rating-average", |t| t == "2.0").await?;
    ensure!(
        browser.text("#rating-count").await? == "1",
        "still one review"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_posted_without_its_csrf_token_is_refused() -> Result<()> {
    let registry = marketplace().await?;
    let browser = Browser::start().await?;
    sign_up(&browser, &registry, "frank").await?;
    browser.goto(&registry.url("/plugins/poll")).await?;
    browser.click("label[for=rating-1]").await?;
    browser
        .eval("document.querySelector('.review-form input[name=csrf]').remove();")
        .await?;
    browser.click(".review-form button[type=submit]").await?;
    wait_text(&browser, "h1", |t| t == "This form cannot be accepted").await?;
    browser.goto(&registry.url("/plugins/poll")).await?;
    ensure!(
        browser.text("#reviews").await?.contains("No reviews yet"),
        "nothing was stored"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_hides_a_reported_review_and_the_audit_log_shows_it() -> Result<()> {
    let registry = marketplace().await?;
    let browser = Browser::start().await?;
    sign_up(&browser, &registry, "troll").await?;
    browser.goto(&registry.url("/plugins/poll")).await?;
    browser.click("label[for=rating-1]").await?;
    browser.fill("#review-body", "BUY CHEAP FOLLOWERS").await?;
    browser.click(".review-form button[type=submit]").await?;
    wait_text(&browser, "#review-troll", |t| t.contains("BUY CHEAP")).await?;
    sign_out(&browser).await?;

    sign_up(&browser, &registry, "grace").await?;
    browser.goto(&registry.url("/plugins/poll")).await?;
    browser.click("#review-troll details summary").await?;
    browser.fill("#report-troll", "spam").await?;
    browser
        .click("#review-troll details button[type=submit]")
        .await?;
    wait_text(&browser, ".plugin-head", |t| {
        t.contains("the moderators will look at your report")
    })
    .await?;
    sign_out(&browser).await?;

    registry
        .registry
        .set_password("moderator", "a long enough password")?;
    ensure!(registry.registry.set_admin("moderator", true)?);
    browser.goto(&registry.url("/signin?next=/admin")).await?;
    browser.fill("#username", "moderator").await?;
    browser.fill("#password", "a long enough password").await?;
    browser.click("form.stack button[type=submit]").await?;
    let queue = wait_text(&browser, "main", |t| t.contains("Open reports (1)")).await?;
    ensure!(
        queue.contains("BUY CHEAP FOLLOWERS") && queue.contains("spam"),
        "{queue}"
    );
    browser
        .fill(".report input[name=reason]", "advertising")
        .await?;
    browser
        .click(".report button[formaction='/admin/hide-review']")
        .await?;
    let log = wait_text(&browser, "#audit-log", |t| t.contains("hide-review")).await?;
    ensure!(
        log.contains("moderator")
            && log.contains("review of poll by troll")
            && log.contains("advertising"),
        "{log}"
    );
    ensure!(browser.text("main").await?.contains("Open reports (0)"));

    let public = registry
        .get("/plugins/poll")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .text()
        .await?;
    ensure!(
        !public.contains("BUY CHEAP") && public.contains("No reviews yet"),
        "hidden for visitors"
    );
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_pages_pass_axe_and_fit_a_phone() -> Result<()> {
    let registry = marketplace().await?;
    registry
        .registry
        .set_password("moderator", "a long enough password")?;
    ensure!(registry.registry.set_admin("moderator", true)?);
    let browser = Browser::start().await?;
    let pages = [
        "/",
        "/search?q=e",
        "/categories",
        "/categories/tools",
        "/plugins/echo",
        "/plugins/dice",
        "/plugins/weather",
        "/users/bob",
        "/signin",
        "/signup",
        "/plugins/dise",
    ];
    let check = |signed_in: bool| {
        let browser = &browser;
        let registry = &registry;
        async move {
            let mut failures = Vec::new();
            let mut paths: Vec<&str> = pages.to_vec();
            if signed_in {
                paths.push("/admin");
            }
            for width in [1280, 360] {
                browser.set_viewport(width, 800).await?;
                for path in &paths {
                    browser.goto(&registry.url(path)).await?;
                    browser.wait_for("main").await?;
                    let violations = browser.axe().await?;
                    for violation in Browser::serious(&violations) {
                        failures.push(format!("{path} at {width}px: {violation}"));
                    }
                    if browser.has_horizontal_scroll().await? {
                        let wide = browser.overflowing_elements().await?;
                        failures.push(format!(
                            "{path} scrolls sideways at {width}px: {}",
                            wide.join(", ")
                        ));
                    }
                }
            }
            browser.set_viewport(1280, 900).await?;
            anyhow::Ok(failures)
        }
    };
    let mut failures = check(false).await?;
    browser.goto(&registry.url("/signin")).await?;
    browser.fill("#username", "moderator").await?;
    browser.fill("#password", "a long enough password").await?;
    browser.click("form.stack button[type=submit]").await?;
    wait_text(&browser, "nav.account", |t| t.contains("Sign out")).await?;
    failures.extend(check(true).await?);
    browser.set_viewport(360, 800).await?;
    browser.goto(&registry.url("/plugins/dice")).await?;
    browser.screenshot("marketplace-plugin-phone").await?;

    // The dark theme (the system's setting) must be as readable.
    browser.set_viewport(1280, 900).await?;
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
        )
        .await?;
    for path in [
        "/",
        "/search?q=e",
        "/plugins/weather",
        "/plugins/dice",
        "/admin",
    ] {
        browser.goto(&registry.url(path)).await?;
        browser.wait_for("main").await?;
        let dark = browser
            .eval("return matchMedia('(prefers-color-scheme: dark)').matches;")
            .await?;
        ensure!(
            dark == serde_json::Value::Bool(true),
            "the dark theme is not emulated"
        );
        for violation in Browser::serious(&browser.axe().await?) {
            failures.push(format!("{path} in the dark theme: {violation}"));
        }
    }
    browser.goto(&registry.url("/plugins/weather")).await?;
    browser.screenshot("marketplace-plugin-dark").await?;
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": "light" }] }),
        )
        .await?;
    browser.goto(&registry.url("/plugins/weather")).await?;
    browser.screenshot("marketplace-plugin-permissions").await?;
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_and_its_dependent_link_each_other_pass_axe_and_fit_a_phone() -> Result<()> {
    let (registry, alice, _bob) = start_with_alice_and_bob()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for spec in [
        plugin("economy").version("1.0.0"),
        plugin("leaderboard").version("1.0.0"),
    ] {
        let package = spec.pack().map_err(|e| anyhow::anyhow!("{e}"))?;
        registry
            .publish_ok(&alice, &package)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let browser = Browser::start().await?;

    // From the provider's WIT to its dependent and back.
    browser.goto(&registry.url("/plugins/economy")).await?;
    let provides = browser.text("section.provides").await?;
    ensure!(
        provides.contains("plugins:economy/api@1.0.0")
            && provides.contains("balance: func(user: string) -> result<s64, string>;"),
        "the Provides section shows the WIT: {provides}"
    );
    browser
        .click("section[aria-labelledby=used-by-heading] a[href='/plugins/leaderboard']")
        .await?;
    wait_text(&browser, "h1", |t| t.starts_with("leaderboard")).await?;
    browser
        .click("section[aria-labelledby=imports-heading] a[href='/plugins/economy']")
        .await?;
    wait_text(&browser, "h1", |t| t.starts_with("economy")).await?;

    let mut failures = Vec::new();
    for (width, dark) in [(1280, false), (360, false), (360, true)] {
        browser.set_viewport(width, 800).await?;
        let scheme = if dark { "dark" } else { "light" };
        browser
            .cdp(
                "Emulation.setEmulatedMedia",
                serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
            )
            .await?;
        for path in ["/plugins/economy", "/plugins/leaderboard"] {
            browser.goto(&registry.url(path)).await?;
            browser.wait_for("main").await?;
            for violation in Browser::serious(&browser.axe().await?) {
                failures.push(format!("{path} at {width}px ({scheme}): {violation}"));
            }
            if width == 360 && !dark && path == "/plugins/economy" {
                browser
                    .eval(
                        "document.querySelector('section.provides').scrollIntoView(); return true;",
                    )
                    .await?;
                browser
                    .screenshot("marketplace-plugin-provides-phone")
                    .await?;
            }
            if browser.has_horizontal_scroll().await? {
                let wide = browser.overflowing_elements().await?;
                failures.push(format!(
                    "{path} scrolls sideways at {width}px: {}",
                    wide.join(", ")
                ));
            }
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    browser.close().await
}

/// Signs in `user` (with the password the tests give everyone) on the
/// sign-in page.
async fn sign_in(browser: &Browser, registry: &TestRegistry, user: &str) -> Result<()> {
    browser.goto(&registry.url("/signin")).await?;
    browser.fill("#username", user).await?;
    browser.fill("#password", "a long enough password").await?;
    browser.click("form.stack button[type=submit]").await?;
    wait_text(browser, "nav.account", |t| t.contains("Sign out")).await?;
    Ok(())
}

/// Runs axe on the current page at 1280 px and 360 px, and checks that it
/// does not scroll sideways on the phone; the problems found, by `page`.
async fn audit_page(browser: &Browser, registry: &TestRegistry, path: &str) -> Result<Vec<String>> {
    let mut failures = Vec::new();
    for width in [1280, 360] {
        browser.set_viewport(width, 800).await?;
        browser.goto(&registry.url(path)).await?;
        browser.wait_for("main").await?;
        for violation in Browser::serious(&browser.axe().await?) {
            failures.push(format!("{path} at {width}px: {violation}"));
        }
        if browser.has_horizontal_scroll().await? {
            let wide = browser.overflowing_elements().await?;
            failures.push(format!(
                "{path} scrolls sideways at {width}px: {}",
                wide.join(", ")
            ));
        }
    }
    browser.set_viewport(1280, 900).await?;
    Ok(failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_accounts_rating_and_frozen_ratings_show_on_pages_that_pass_axe() -> Result<()> {
    // dice: carol's 5 and dave's 4 count (their accounts are old).
    let registry = marketplace().await?;
    let browser = Browser::start().await?;
    sign_up(&browser, &registry, "sock").await?;
    browser.goto(&registry.url("/plugins/dice")).await?;
    ensure!(browser.text("#rating-average").await? == "4.5");
    browser.click("label[for=rating-1]").await?;
    browser.click(".review-form button[type=submit]").await?;
    wait_text(&browser, "#my-review-uncounted", |t| {
        t.contains("does not count yet")
    })
    .await?;
    ensure!(browser.text("#rating-average").await? == "4.5");
    ensure!(browser.text("#rating-count").await? == "2");
    ensure!(
        browser
            .text("#review-sock")
            .await?
            .contains("not counted: the account was new")
    );
    ensure!(
        browser
            .text("#rating-rule")
            .await?
            .contains("at least 7 days old")
    );
    let mut failures = audit_page(&browser, &registry, "/plugins/dice").await?;
    sign_out(&browser).await?;

    registry
        .registry
        .set_password("moderator", "a long enough password")?;
    ensure!(registry.registry.set_admin("moderator", true)?);
    sign_in(&browser, &registry, "moderator").await?;
    browser.goto(&registry.url("/plugins/dice")).await?;
    browser.fill("#freeze-reason", "rating bombing").await?;
    browser.click("#freeze-ratings").await?;
    wait_text(&browser, "#audit-log", |t| t.contains("freeze-ratings")).await?;
    browser.goto(&registry.url("/plugins/dice")).await?;
    let frozen = browser.text("#ratings-frozen").await?;
    ensure!(frozen.contains("Moderators froze"), "{frozen}");
    ensure!(browser.text("#freeze-ratings").await? == "Unfreeze ratings");
    failures.extend(audit_page(&browser, &registry, "/plugins/dice").await?);
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_invites_and_the_invitee_accepts_on_pages_that_pass_axe() -> Result<()> {
    let registry = marketplace().await?;
    registry
        .registry
        .set_password("alice", "a long enough password")?;
    let browser = Browser::start().await?;
    sign_in(&browser, &registry, "alice").await?;
    browser.goto(&registry.url("/plugins/echo")).await?;
    browser.click("a[href='/plugins/echo/owners']").await?;
    browser.wait_for("#invite-user").await?;
    browser.fill("#invite-user", "carol").await?;
    browser
        .click("form[action='/plugins/echo/owners/invite'] button")
        .await?;
    wait_text(&browser, "#invited", |t| t.contains("carol")).await?;
    ensure!(
        !browser.text("#owners").await?.contains("carol"),
        "invited is not an owner"
    );
    let mut failures = audit_page(&browser, &registry, "/plugins/echo/owners").await?;
    sign_out(&browser).await?;

    // carol signed up in `marketplace()` with the tests' password.
    sign_in(&browser, &registry, "carol").await?;
    browser.click("nav.account a[href='/invitations']").await?;
    wait_text(&browser, "#invitation-echo", |t| t.contains("alice")).await?;
    failures.extend(audit_page(&browser, &registry, "/invitations").await?);
    browser
        .click("#invitation-echo button[formaction='/invitations/echo/accept']")
        .await?;
    let owners = wait_text(&browser, "#owners", |t| t.contains("carol")).await?;
    ensure!(owners.contains("alice"), "{owners}");
    browser.goto(&registry.url("/invitations")).await?;
    browser.wait_for("#no-invitations").await?;
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    browser.close().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publisher_makes_a_token_yanks_and_resets_a_password_on_pages_that_pass_axe() -> Result<()>
{
    let registry = marketplace().await?;
    registry
        .registry
        .set_password("alice", "a long enough password")?;
    let browser = Browser::start().await?;
    sign_in(&browser, &registry, "alice").await?;
    browser.click("nav.account a[href='/account']").await?;
    browser.wait_for("#token-name").await?;
    browser.fill("#token-name", "laptop").await?;
    browser.click("label[for=scope-yank]").await?;
    browser
        .click("form[action='/account/tokens'] button[type=submit]")
        .await?;
    let shown = wait_text(&browser, "#new-token", |t| t.contains("pbr_")).await?;
    ensure!(shown.contains("publish, yank"), "{shown}");
    let mut failures = Vec::new();
    for violation in Browser::serious(&browser.axe().await?) {
        failures.push(format!("/account with a new token: {violation}"));
    }
    failures.extend(audit_page(&browser, &registry, "/account").await?);
    let listed = browser.text("#token-list").await?;
    ensure!(
        listed.contains("laptop") && !listed.contains("pbr_"),
        "{listed}"
    );

    // The owner's yank form on the plugin page, open.
    browser.goto(&registry.url("/plugins/echo")).await?;
    browser.click("#yank-tools summary").await?;
    browser
        .fill("#yank-reason", "prints the wrong thing")
        .await?;
    browser
        .click("#yank-tools button:not([formaction])")
        .await?;
    wait_text(&browser, ".versions", |t| t.contains("yanked")).await?;
    failures.extend(audit_page(&browser, &registry, "/plugins/echo").await?);
    sign_out(&browser).await?;

    // The page of an operator's password reset link.
    let reply = plugboard_registry::admin::execute(
        &registry.registry,
        plugboard_registry::admin::Request::ResetLink {
            user: "alice".into(),
        },
    )?;
    let plugboard_registry::admin::Reply::ResetLink { path, .. } = reply else {
        anyhow::bail!("not a reset link: {reply:?}");
    };
    failures.extend(audit_page(&browser, &registry, &path).await?);
    browser
        .fill("#password", "alice's brand new password")
        .await?;
    browser.click("form.stack button[type=submit]").await?;
    browser.wait_for("#username").await?;
    failures.extend(audit_page(&browser, &registry, &path).await?);
    ensure!(
        browser.text("main").await?.contains("does not work"),
        "a used link says so"
    );
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    browser.close().await
}

/// Where `css`'s first element sits in the page: its top and left edges.
async fn position(browser: &Browser, css: &str) -> Result<(f64, f64)> {
    let script = format!(
        "const r = document.querySelector({css:?}).getBoundingClientRect(); \
         return [r.top + window.scrollY, r.left];"
    );
    let value = browser.eval(&script).await?;
    let pair = value
        .as_array()
        .and_then(|a| Some((a.first()?.as_f64()?, a.get(1)?.as_f64()?)));
    pair.ok_or_else(|| anyhow::anyhow!("no position for {css}: {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_pages_and_the_phone_layout_pass_axe() -> Result<()> {
    let registry = marketplace().await?;
    let bob = registry
        .publisher("bob")
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let package = plugin("notes")
        .name("dice")
        .version("0.2.0")
        .line("categories = [\"games\", \"fun\"]")
        .readme(
            "# Dice 0.2\n\n- [x] rolls dice\n- [ ] rolls fate dice\n\n> Exploding dice are next.\n",
        )
        .pack()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    registry
        .publish_ok(&bob, &package)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let browser = Browser::start().await?;

    // From the plugin page's version list to a version page.
    browser.goto(&registry.url("/plugins/dice")).await?;
    browser
        .click("table.versions a[href='/plugins/dice/0.1.0']")
        .await?;
    wait_text(&browser, "h1", |t| {
        t.starts_with("dice") && t.contains("0.1.0")
    })
    .await?;
    browser.goto(&registry.url("/plugins/dice/0.2.0")).await?;
    let diff = browser.text("section.permissions").await?;
    ensure!(diff.contains("new in 0.2.0"), "kv is new: {diff}");
    ensure!(
        browser
            .count(".readme input[type=checkbox][disabled]")
            .await?
            == 2
            && browser
                .count(".readme input[type=checkbox]:checked")
                .await?
                == 1,
        "the task list keeps its two boxes, one ticked"
    );
    let quote = browser
        .eval(
            "return getComputedStyle(document.querySelector('.readme blockquote')).borderLeftStyle;",
        )
        .await?;
    ensure!(
        quote == serde_json::json!("solid"),
        "the quote is styled: {quote}"
    );
    browser.screenshot("marketplace-version").await?;

    let mut failures = Vec::new();
    let pages = [
        "/plugins/dice/0.2.0",
        "/plugins/dice/0.1.0",
        "/plugins/dice",
        "/search?q=dcie",
        "/search?q=e",
    ];
    for (width, scheme) in [(1280, "light"), (360, "light"), (360, "dark")] {
        browser.set_viewport(width, 800).await?;
        browser
            .cdp(
                "Emulation.setEmulatedMedia",
                serde_json::json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] }),
            )
            .await?;
        for path in pages {
            browser.goto(&registry.url(path)).await?;
            browser.wait_for("main").await?;
            for violation in Browser::serious(&browser.axe().await?) {
                failures.push(format!("{path} at {width}px ({scheme}): {violation}"));
            }
            if browser.has_horizontal_scroll().await? {
                let wide = browser.overflowing_elements().await?;
                failures.push(format!(
                    "{path} scrolls sideways at {width}px: {}",
                    wide.join(", ")
                ));
            }
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));

    // On a phone: results before the filters, the facts before the reviews.
    browser.set_viewport(360, 800).await?;
    browser.goto(&registry.url("/search?q=e")).await?;
    let (results, _) = position(&browser, "#results").await?;
    let (filters, _) = position(&browser, "#search-form").await?;
    ensure!(
        results < filters,
        "results at {results}, filters at {filters}"
    );
    browser.goto(&registry.url("/plugins/dice")).await?;
    let (facts, _) = position(&browser, "#about-heading").await?;
    let (reviews, _) = position(&browser, "#reviews").await?;
    let (readme, _) = position(&browser, "section.readme").await?;
    ensure!(
        readme < facts && facts < reviews,
        "README at {readme}, facts at {facts}, reviews at {reviews}"
    );
    // Wide: filters left of the results, facts right of the reviews, which
    // follow the README.
    browser.set_viewport(1280, 900).await?;
    browser.goto(&registry.url("/search?q=e")).await?;
    let (_, results_left) = position(&browser, "#results").await?;
    let (_, filters_left) = position(&browser, "#search-form").await?;
    ensure!(filters_left < results_left, "filters beside the results");
    browser.goto(&registry.url("/plugins/dice")).await?;
    let (_, facts_left) = position(&browser, "#about-heading").await?;
    let (reviews_top, reviews_left) = position(&browser, "#reviews").await?;
    let (readme_top, _) = position(&browser, "section.readme").await?;
    ensure!(
        reviews_left < facts_left && readme_top < reviews_top,
        "reviews under the README, facts beside them"
    );
    browser.close().await
}
