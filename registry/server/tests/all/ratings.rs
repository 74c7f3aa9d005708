//! Ratings that resist bombing: only accounts old enough count toward the
//! shown rating, the rule is on the page, and moderators freeze the ratings
//! of a plugin under attack (audited). Time passes by the registry's
//! clock, not by sleeping.

use std::time::Duration;

use plugboard_registry::Config;
use reqwest::StatusCode;

use crate::support::{
    Result, TestRegistry, TestResult, Visitor, local_address, plugin, start_with,
};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The shown average and how many ratings count, from the plugin page.
fn shown(page: &str) -> Option<(String, String)> {
    let between = |start: &str, end: &str| {
        let rest = page.split(start).nth(1)?;
        Some(rest.split(end).next()?.to_owned())
    };
    Some((
        between("<strong id=\"rating-average\">", "<")?,
        between("<span id=\"rating-count\">", "<")?,
    ))
}

/// A visitor from `127.0.0.<address>` who signs up as `name`.
async fn account<'a>(registry: &'a TestRegistry, name: &str, address: u8) -> Result<Visitor<'a>> {
    let mut visitor = Visitor::at(registry, local_address(address))?;
    visitor.sign_up(name).await?;
    Ok(visitor)
}

async fn rate(visitor: &mut Visitor<'_>, stars: &str, body: &str) -> Result<()> {
    let answer = visitor
        .post(
            "/plugins/echo/reviews",
            &[("rating", stars), ("body", body)],
        )
        .await?;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    Ok(())
}

#[tokio::test]
async fn twelve_fresh_accounts_cannot_move_a_plugins_shown_rating() -> TestResult {
    let config = Config::default();
    let clock = config.clock.clone();
    let registry = start_with(config).await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;

    // Three people whose accounts are older than the default 7 days.
    let mut fans = Vec::new();
    for (n, name) in ["erin", "frank", "grace"].into_iter().enumerate() {
        fans.push(account(&registry, name, 1 + n as u8).await?);
    }
    clock.advance(8 * DAY);
    for fan in &mut fans {
        rate(fan, "5", "Works well.").await?;
    }
    let page = registry.get("/plugins/echo").await?.text().await?;
    assert_eq!(shown(&page), Some(("5.0".into(), "3".into())), "{page}");
    assert!(
        page.contains("Only ratings from accounts at least 7 days old"),
        "the rule is next to the rating: {page}"
    );

    // Twelve accounts made a moment ago, from twelve addresses, rate it 1.
    let mut bombers = Vec::new();
    for n in 0..12u8 {
        let mut bomber = account(&registry, &format!("sock{n}"), 10 + n).await?;
        rate(&mut bomber, "1", "Terrible!").await?;
        bombers.push(bomber);
    }
    let page = registry.get("/plugins/echo").await?.text().await?;
    assert_eq!(shown(&page), Some(("5.0".into(), "3".into())), "{page}");
    assert!(
        page.contains("12 more reviews below do not count"),
        "{page}"
    );
    assert_eq!(
        page.matches("not counted: the account was new when it rated")
            .count(),
        12,
        "each bomb is shown, marked"
    );
    // Lists and the best-rated order read the same summary.
    let search = registry.get("/search?sort=rating").await?.text().await?;
    assert!(search.contains("5.0 ★"), "{search}");
    let mine = bombers[0].page("/plugins/echo").await?;
    assert!(
        mine.contains("Your rating shows but does not count yet"),
        "{mine}"
    );

    // A moderator freezes the ratings: the page says so, the audit log
    // has it, and once the bombers' accounts are old, what they rate
    // still does not count.
    let mut moderator = account(&registry, "mod", 40).await?;
    assert!(registry.registry.set_admin("mod", true)?);
    let frozen = moderator
        .post(
            "/admin/freeze-ratings",
            &[("plugin", "echo"), ("reason", "rating bombing")],
        )
        .await?;
    assert_eq!(frozen.status, StatusCode::SEE_OTHER, "{}", frozen.body);
    let audit = moderator.page("/admin").await?;
    assert!(
        audit.contains("freeze-ratings</td><td>ratings of echo</td><td>rating bombing"),
        "{audit}"
    );
    clock.advance(8 * DAY);
    for bomber in &mut bombers {
        rate(bomber, "1", "Still terrible!").await?;
    }
    let page = registry.get("/plugins/echo").await?.text().await?;
    assert!(page.contains("id=\"ratings-frozen\""), "{page}");
    assert_eq!(shown(&page), Some(("5.0".into(), "3".into())), "{page}");
    assert_eq!(
        page.matches("not counted: given while the ratings were frozen")
            .count(),
        12
    );

    // Thawed, an old account's new rating counts again: the rule is the
    // account's age, not who it is.
    let thawed = moderator
        .post(
            "/admin/unfreeze-ratings",
            &[("plugin", "echo"), ("reason", "attack over")],
        )
        .await?;
    assert_eq!(thawed.status, StatusCode::SEE_OTHER, "{}", thawed.body);
    rate(&mut bombers[0], "1", "I mean it.").await?;
    let page = registry.get("/plugins/echo").await?.text().await?;
    assert!(!page.contains("id=\"ratings-frozen\""), "{page}");
    assert_eq!(shown(&page), Some(("4.0".into(), "4".into())), "{page}");
    assert!(
        moderator
            .page("/admin")
            .await?
            .contains("unfreeze-ratings</td><td>ratings of echo</td><td>attack over")
    );
    Ok(())
}

#[tokio::test]
async fn only_moderators_freeze_ratings() -> TestResult {
    let registry = start_with(Config::default()).await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    let mut carol = account(&registry, "carol", 1).await?;
    let refused = carol
        .post(
            "/admin/freeze-ratings",
            &[("plugin", "echo"), ("reason", "because")],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        !carol
            .page("/plugins/echo")
            .await?
            .contains("ratings-frozen")
    );

    let mut moderator = account(&registry, "mod", 2).await?;
    assert!(registry.registry.set_admin("mod", true)?);
    assert!(
        moderator
            .page("/plugins/echo")
            .await?
            .contains("Freeze ratings")
    );
    let missing = moderator
        .post(
            "/admin/freeze-ratings",
            &[("plugin", "nothing"), ("reason", "x")],
        )
        .await?;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let no_reason = moderator
        .post("/admin/freeze-ratings", &[("plugin", "echo")])
        .await?;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}
