//! The web pages over real HTTP without a browser: what each page holds,
//! cookies and headers, CSRF, the sign-in rate limit, reviews, reports and
//! moderation. The browser tests (`tests/browser`) drive the same pages in
//! Chromium.

use std::time::Duration;

use plugboard_registry::{Config, RateLimit};
use reqwest::StatusCode;

use crate::support::{
    Result, TestRegistry, TestResult, Visitor, plugin, start_with, start_with_alice_and_bob,
    test_plugin,
};

/// A registry with alice's `echo` (the notes component: kv; two categories) and bob's
/// permission-free `dice`.
async fn marketplace() -> Result<TestRegistry> {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;
    let echo = plugin("notes")
        .name("echo")
        .line("categories = [\"fun\", \"tools\"]")
        .line("keywords = [\"repeat\"]")
        .readme("# Echo\n\nSays what you say. <script>alert('readme')</script>\n")
        .pack()?;
    registry.publish_ok(&alice, &echo).await?;
    registry
        .publish_ok(
            &bob,
            &plugin("dice").line("categories = [\"games\"]").pack()?,
        )
        .await?;
    Ok(registry)
}

#[tokio::test]
async fn pages_show_the_catalog_with_safe_headers() -> TestResult {
    let registry = marketplace().await?;
    let mut visitor = Visitor::new(&registry)?;

    let home = visitor.get("/").await?;
    assert_eq!(home.status, StatusCode::OK);
    assert!(
        home.body.contains("href=\"/plugins/echo\""),
        "{}",
        home.body
    );
    assert!(home.body.contains("href=\"/categories/games\""));
    let csp = home.headers["content-security-policy"].to_str()?;
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let csrf = home
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("pb_csrf="));
    let csrf = csrf.ok_or("the first page sets the CSRF cookie")?;
    assert!(
        csrf.contains("HttpOnly") && csrf.contains("SameSite=Strict"),
        "{csrf}"
    );
    assert!(
        !csrf.contains("Secure"),
        "no Secure over plain HTTP: {csrf}"
    );

    // Fingerprinted assets, cached for a year; other names are 404.
    let css = home
        .body
        .split("href=\"/static/style.")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("the page links its stylesheet")?;
    let asset = registry.get(&format!("/static/style.{css}")).await?;
    assert_eq!(asset.status(), StatusCode::OK);
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        registry.get("/static/style.css").await?.status(),
        StatusCode::NOT_FOUND
    );

    let found = visitor.page("/search?q=repeat").await?;
    assert!(
        found.contains("/plugins/echo") && !found.contains("/plugins/dice"),
        "{found}"
    );
    let free = visitor.page("/search?free=1").await?;
    assert!(
        free.contains("/plugins/dice") && !free.contains("/plugins/echo"),
        "{free}"
    );
    let games = visitor.page("/categories/games").await?;
    assert!(games.contains("/plugins/dice") && !games.contains("/plugins/echo"));
    let fragment = visitor.page("/search?q=dice&fragment=1").await?;
    assert!(
        !fragment.contains("<html") && fragment.contains("/plugins/dice"),
        "{fragment}"
    );

    let page = visitor.page("/plugins/echo").await?;
    assert!(page.contains("plugboard install echo"));
    assert!(
        page.contains("store data in its own private key-value store"),
        "permissions in words"
    );
    assert!(page.contains("Says what you say."));
    assert!(
        !page.contains("<script>alert"),
        "README scripts are removed"
    );
    assert!(page.contains("href=\"/users/alice\""));
    let publisher = visitor.page("/users/bob").await?;
    assert!(publisher.contains("/plugins/dice") && !publisher.contains("/plugins/echo"));

    // Powerful permissions are marked; `kv` is not; `http` names its origins.
    let carl = registry.publisher("carl").await?;
    let weather = test_plugin("hostile")
        .name("weather")
        .description("Forecasts and storm alerts.")
        .without_commands()
        .pack()?;
    registry.publish_ok(&carl, &weather).await?;
    let page = visitor.page("/plugins/weather").await?;
    assert!(page.contains("Forecasts and storm alerts."));
    assert!(!page.contains("Commands"), "no commands, no section");
    assert_eq!(page.matches("class=\"perm powerful\"").count(), 2, "{page}");
    assert_eq!(page.matches("class=\"perm\"").count(), 1, "kv");
    assert!(page.contains("<code>http://127.0.0.1:*</code>"), "{page}");

    let missing = visitor.get("/plugins/ech0").await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.body.contains("Did you mean") && missing.body.contains("href=\"/plugins/echo\"")
    );
    let signout = visitor.get("/signout").await?;
    assert_eq!(signout.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(signout.body.contains("<html"), "a page, not JSON");
    let api = registry.get("/api/v1/nothing-here").await?;
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert!(
        api.text().await?.starts_with("{\"errors\""),
        "the API keeps JSON errors"
    );
    Ok(())
}

#[tokio::test]
async fn forms_need_the_csrf_token() -> TestResult {
    let registry = marketplace().await?;
    let mut visitor = Visitor::new(&registry)?;
    visitor.get("/").await?;
    let fields = [
        ("username", "mallory"),
        ("password", "a long enough password"),
    ];
    let without = visitor.post_raw("/signup", &fields).await?;
    assert_eq!(without.status, StatusCode::FORBIDDEN, "{}", without.body);
    assert!(without.body.contains("security token"), "{}", without.body);
    let zeros = "0".repeat(64);
    let forged = [("csrf", zeros.as_str()), fields[0], fields[1]];
    let forged = visitor.post_raw("/signup", &forged).await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        !registry.registry.user_exists("mallory")?,
        "nothing was created"
    );

    visitor.sign_up("carol").await?;
    let review = visitor
        .post_raw("/plugins/echo/reviews", &[("rating", "1")])
        .await?;
    assert_eq!(
        review.status,
        StatusCode::FORBIDDEN,
        "signed in, still needs the token"
    );
    // Signed in, the cookie's token is not enough: the token is the session's.
    let cookie = visitor.cookies["pb_csrf"].clone();
    let planted = [("csrf", cookie.as_str()), ("rating", "1")];
    let planted = visitor.post_raw("/plugins/echo/reviews", &planted).await?;
    assert_eq!(planted.status, StatusCode::FORBIDDEN);
    // A browser that says the form came from another site is refused too.
    let csrf = visitor.csrf().await?;
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "https://evil.example"),
    ] {
        let request = visitor
            .client
            .post(registry.url("/plugins/echo/reviews"))
            .header(header, value)
            .form(&[("csrf", csrf.as_str()), ("rating", "1")]);
        let answer = visitor.answer(request).await?;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{header}: {value}");
    }
    let page = visitor.page("/plugins/echo").await?;
    assert!(page.contains("No reviews yet"));
    Ok(())
}

#[tokio::test]
async fn reviews_update_the_summary_and_owners_answer() -> TestResult {
    let registry = marketplace().await?;
    let mut carol = Visitor::new(&registry)?;
    carol.sign_up("carol").await?;
    // Ratings count from accounts at least 7 days old (tests/all/ratings.rs).
    registry
        .registry
        .config()
        .clock
        .advance(Duration::from_secs(8 * 24 * 60 * 60));
    let session = carol.get("/").await?.set_cookies().join("\n");
    assert!(
        session.is_empty() || !session.contains("pb_session"),
        "no new session per page"
    );

    let posted = carol
        .post(
            "/plugins/echo/reviews",
            &[("rating", "4"), ("body", "Nice <b>echo</b>")],
        )
        .await?;
    assert_eq!(posted.status, StatusCode::SEE_OTHER);
    assert_eq!(posted.location(), "/plugins/echo#reviews");
    let page = carol.page("/plugins/echo").await?;
    assert!(
        page.contains("<strong id=\"rating-average\">4.0</strong>"),
        "{page}"
    );
    assert!(
        page.contains("Nice &#60;b&#62;echo&#60;/b&#62;"),
        "review text is escaped: {page}"
    );

    // One review per person: posting again edits it.
    carol
        .post(
            "/plugins/echo/reviews",
            &[("rating", "2"), ("body", "Changed my mind")],
        )
        .await?;
    let page = carol.page("/plugins/echo").await?;
    assert!(
        page.contains("<strong id=\"rating-average\">2.0</strong>"),
        "{page}"
    );
    assert!(page.contains("<span id=\"rating-count\">1</span>"));
    assert!(!page.contains("Nice &#60;b&#62;"));
    // Deleting it takes it out of the summary; posting again starts anew.
    let deleted = carol.post("/plugins/echo/reviews/delete", &[]).await?;
    assert_eq!(deleted.location(), "/plugins/echo#reviews");
    let page = carol.page("/plugins/echo").await?;
    assert!(page.contains("No reviews yet") && !page.contains("Changed my mind"));
    carol
        .post(
            "/plugins/echo/reviews",
            &[("rating", "2"), ("body", "Changed my mind")],
        )
        .await?;
    let bad = carol
        .post("/plugins/echo/reviews", &[("rating", "6")])
        .await?;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // alice owns echo: she answers, and cannot rate it.
    registry
        .registry
        .set_password("alice", "alice's long password")?;
    let mut alice = Visitor::new(&registry)?;
    let signed = alice
        .post(
            "/signin",
            &[("username", "alice"), ("password", "alice's long password")],
        )
        .await?;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    let own = alice
        .post("/plugins/echo/reviews", &[("rating", "5")])
        .await?;
    assert_eq!(own.status, StatusCode::FORBIDDEN);
    let reply = alice
        .post(
            "/plugins/echo/reviews/carol/reply",
            &[("body", "Fixed in 0.2")],
        )
        .await?;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert!(carol.page("/plugins/echo").await?.contains("Fixed in 0.2"));
    let not_owner = carol
        .post("/plugins/echo/reviews/carol/reply", &[("body", "me too")])
        .await?;
    assert_eq!(not_owner.status, StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn sign_in_is_rate_limited_and_sessions_end() -> TestResult {
    let mut config = Config::default();
    config.signin_rate = RateLimit::new(3, Duration::from_secs(600));
    let registry = start_with(config).await?;
    registry
        .registry
        .set_password("dave", "dave's long password")?;
    let mut visitor = Visitor::new(&registry)?;
    for _ in 0..3 {
        let wrong = visitor
            .post(
                "/signin",
                &[("username", "dave"), ("password", "wrong password!")],
            )
            .await?;
        assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(wrong.body.contains("do not match"), "{}", wrong.body);
    }
    let limited = visitor
        .post(
            "/signin",
            &[("username", "dave"), ("password", "dave's long password")],
        )
        .await?;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));

    // Another registry process (fresh limits) signs in; the session cookie
    // is HttpOnly and Lax, Secure behind a TLS proxy.
    let registry = start_with(Config::default()).await?;
    registry
        .registry
        .set_password("dave", "dave's long password")?;
    let mut visitor = Visitor::new(&registry)?;
    let csrf = visitor.csrf().await?;
    let request = visitor
        .client
        .post(registry.url("/signin"))
        .header("x-forwarded-proto", "https")
        .header("sec-fetch-site", "same-origin")
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "dave"),
            ("password", "dave's long password"),
            ("next", "/\t/evil.example"),
        ]);
    let signed = visitor.answer(request).await?;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location(), "/", "never redirected off the site");
    let cookie = signed
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("pb_session="))
        .ok_or("a session cookie")?
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert_ne!(
        visitor.cookies["pb_csrf"], csrf,
        "signing in renews the CSRF token"
    );
    assert!(visitor.page("/").await?.contains("Sign out"));
    let out = visitor.post("/signout", &[]).await?;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(visitor.page("/").await?.contains("Sign in"));

    // A new password ends every session of the account.
    let again = visitor
        .post(
            "/signin",
            &[("username", "dave"), ("password", "dave's long password")],
        )
        .await?;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    assert!(visitor.page("/").await?.contains("Sign out"));
    registry
        .registry
        .set_password("dave", "dave's new long password")?;
    assert!(visitor.page("/").await?.contains("Sign in"));
    Ok(())
}

#[tokio::test]
async fn moderators_hide_reviews_delist_plugins_and_the_audit_log_shows_it() -> TestResult {
    let registry = marketplace().await?;
    let mut troll = Visitor::new(&registry)?;
    troll.sign_up("troll").await?;
    troll
        .post(
            "/plugins/dice/reviews",
            &[("rating", "1"), ("body", "spam spam spam")],
        )
        .await?;
    let mut carol = Visitor::new(&registry)?;
    carol.sign_up("carol").await?;
    let reported = carol
        .post(
            "/plugins/dice/reports",
            &[("author", "troll"), ("reason", "spam")],
        )
        .await?;
    assert_eq!(reported.location(), "/plugins/dice?reported=1#reviews");
    carol
        .post("/plugins/echo/reports", &[("reason", "malware")])
        .await?;

    // Not a moderator: no admin page.
    assert_eq!(carol.get("/admin").await?.status, StatusCode::FORBIDDEN);
    assert_eq!(
        Visitor::new(&registry)?.get("/admin").await?.location(),
        "/signin?next=/admin"
    );
    let forbidden = carol
        .post(
            "/admin/hide-review",
            &[("plugin", "dice"), ("author", "troll"), ("reason", "x")],
        )
        .await?;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);

    let mut admin = Visitor::new(&registry)?;
    admin.sign_up("mod").await?;
    assert!(registry.registry.set_admin("mod", true)?);
    let queue = admin.page("/admin").await?;
    assert!(
        queue.contains("spam spam spam") && queue.contains("malware"),
        "{queue}"
    );
    let hidden = admin
        .post(
            "/admin/hide-review",
            &[
                ("plugin", "dice"),
                ("author", "troll"),
                ("reason", "spam review"),
            ],
        )
        .await?;
    assert_eq!(hidden.status, StatusCode::SEE_OTHER, "{}", hidden.body);
    let page = carol.page("/plugins/dice").await?;
    assert!(!page.contains("spam spam spam"), "hidden from visitors");
    assert!(page.contains("No reviews yet"), "and from the summary");
    assert!(
        admin
            .page("/plugins/dice")
            .await?
            .contains("hidden by mod: spam review")
    );
    // Its author can neither edit nor delete it any more: it stays, for the record.
    let edit = troll
        .post(
            "/plugins/dice/reviews",
            &[("rating", "5"), ("body", "all good now")],
        )
        .await?;
    assert_eq!(edit.status, StatusCode::FORBIDDEN, "{}", edit.body);
    let delete = troll.post("/plugins/dice/reviews/delete", &[]).await?;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    let own = troll.page("/plugins/dice").await?;
    assert!(own.contains("review-hidden-note") && !own.contains("Delete your review"));
    assert!(
        admin
            .page("/plugins/dice")
            .await?
            .contains("spam spam spam"),
        "the hidden text is kept"
    );
    assert!(
        carol
            .page("/plugins/dice")
            .await?
            .contains("No reviews yet")
    );

    admin
        .post(
            "/admin/delist",
            &[("plugin", "echo"), ("reason", "malware confirmed")],
        )
        .await?;
    assert!(!carol.page("/search").await?.contains("/plugins/echo"));
    assert!(!carol.page("/").await?.contains("/plugins/echo"));
    let api: serde_json::Value = registry.get_json("/api/v1/plugins").await?;
    assert_eq!(api["meta"]["total"], 1, "{api}");
    assert!(
        carol
            .page("/plugins/echo")
            .await?
            .contains("removed this plugin from the listings")
    );
    admin
        .post(
            "/admin/yank",
            &[
                ("plugin", "dice"),
                ("version", "0.1.0"),
                ("reason", "broken"),
            ],
        )
        .await?;
    assert!(registry.index("dice").await?.contains("\"yanked\":true"));

    let log = admin.page("/admin").await?;
    let audit = log.split("id=\"audit-log\"").nth(1).ok_or("an audit log")?;
    for entry in [
        "hide-review</td><td>review of dice by troll</td><td>spam review",
        "delist</td><td>plugin echo</td><td>malware confirmed",
        "yank</td><td>dice 0.1.0</td><td>broken",
    ] {
        assert!(audit.contains(entry), "{entry} in {audit}");
    }
    assert!(
        log.contains("Open reports (0)"),
        "both reports closed by the actions"
    );

    // Reporting the hidden review, or one that never was, is thanked the
    // same way and files nothing: the answer tells nothing.
    for author in ["troll", "nobody"] {
        let again = carol
            .post(
                "/plugins/dice/reports",
                &[("author", author), ("reason", "still spam")],
            )
            .await?;
        assert_eq!(again.location(), "/plugins/dice?reported=1#reviews");
    }
    assert!(admin.page("/admin").await?.contains("Open reports (0)"));
    Ok(())
}
