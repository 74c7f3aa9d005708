//! The sparse index (ETag, 304, yanking).

use plugboard_registry::Scope;
use plugboard_registry::api::{Done, PluginInfo};
use plugboard_registry_types::parse_index_lines;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};

use crate::support::{
    Publisher, Result, TestRegistry, TestResult, assert_error, plugin, start,
    start_with_alice_and_bob,
};

/// `GET /index/echo` with `If-None-Match: etags`.
async fn index_if_none_match(registry: &TestRegistry, etags: &str) -> Result<reqwest::Response> {
    Ok(registry
        .client
        .get(registry.url("/index/echo"))
        .header(IF_NONE_MATCH, etags)
        .send()
        .await?)
}

#[tokio::test]
async fn index_has_a_strong_etag_and_answers_304() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;

    let first = registry.get("/index/echo").await?;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()[ETAG].to_str()?.to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    let body = first.text().await?;
    assert_eq!(
        etag,
        format!("\"{}\"", plugboard_package::sha256_hex(body.as_bytes()))
    );

    let cached = index_if_none_match(&registry, &etag).await?;
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cached.headers()[ETAG].to_str()?, etag);
    assert!(cached.bytes().await?.is_empty());

    let listed = index_if_none_match(&registry, &format!("\"stale\", W/{etag}")).await?;
    assert_eq!(
        listed.status(),
        StatusCode::NOT_MODIFIED,
        "a list, weakly compared"
    );

    registry
        .publish_ok(&alice, &plugin("echo").version("0.2.0").pack()?)
        .await?;
    let changed = index_if_none_match(&registry, &etag).await?;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[ETAG].to_str()?, etag);
    assert_eq!(changed.text().await?.lines().count(), 2);
    Ok(())
}

#[tokio::test]
async fn unknown_names_are_404_with_a_json_error() -> TestResult {
    let registry = start().await?;
    for (path, needle) in [
        ("/index/nothing", "no plugin named `nothing`"),
        ("/api/v1/plugins/nothing", "no plugin named `nothing`"),
        (
            "/api/v1/plugins/nothing/owners",
            "no plugin named `nothing`",
        ),
        (
            "/api/v1/plugins/nothing/1.0.0/download",
            "no plugin named `nothing`",
        ),
        ("/index/echo%00x", "no plugin named"),
        (
            "/api/v1/no/such/thing",
            "no endpoint `GET /api/v1/no/such/thing`",
        ),
    ] {
        let response = registry.get(path).await?;
        assert_error(response, StatusCode::NOT_FOUND, &[needle]).await?;
    }
    Ok(())
}

async fn set_yank(
    registry: &TestRegistry,
    who: &Publisher,
    version: &str,
    yanked: bool,
) -> Result<reqwest::Response, reqwest::Error> {
    let url = if yanked {
        registry.url(&format!("/api/v1/plugins/echo/{version}/yank"))
    } else {
        registry.url(&format!("/api/v1/plugins/echo/{version}/unyank"))
    };
    let request = if yanked {
        registry.client.delete(url)
    } else {
        registry.client.put(url)
    };
    request.bearer_auth(&who.token).send().await
}

#[tokio::test]
async fn yank_shows_in_the_index_and_unyank_reverts_it() -> TestResult {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    registry
        .publish_ok(&alice, &plugin("echo").version("0.2.0").pack()?)
        .await?;

    let response = set_yank(&registry, &alice, "0.2.0", true).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Done>().await?, Done { ok: true });
    let entries = parse_index_lines(&registry.index("echo").await?)?;
    let yanked: Vec<bool> = entries.iter().map(|e| e.yanked).collect();
    assert_eq!(yanked, [false, true]);

    // Yanked versions still download, for lockfiles that pin them.
    let download = registry.download("echo", "0.2.0").await?;
    assert_eq!(download.status(), StatusCode::OK);
    let info: PluginInfo = registry.get_json("/api/v1/plugins/echo").await?;
    assert_eq!(info.latest.map(|v| v.to_string()), Some("0.1.0".into()));

    // Only owners, only with the yank scope, only existing versions.
    let publish_only = Publisher {
        token: registry.registry.create_token("alice", &[Scope::Publish])?,
        key: alice.key.clone(),
    };
    for (who, version, status, needles) in [
        (
            &bob,
            "0.1.0",
            StatusCode::FORBIDDEN,
            &["not an owner of `echo`", "alice"][..],
        ),
        (
            &publish_only,
            "0.1.0",
            StatusCode::FORBIDDEN,
            &["lacks the `yank` scope"],
        ),
        (
            &alice,
            "0.3.0",
            StatusCode::NOT_FOUND,
            &["`echo` has no version 0.3.0"],
        ),
        (
            &alice,
            "latest",
            StatusCode::BAD_REQUEST,
            &["`latest` is not a version"],
        ),
    ] {
        let response = set_yank(&registry, who, version, true).await?;
        assert_error(response, status, needles).await?;
    }

    let response = set_yank(&registry, &alice, "0.2.0", false).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let entries = parse_index_lines(&registry.index("echo").await?)?;
    assert!(entries.iter().all(|e| !e.yanked));
    Ok(())
}
