//! The sparse index (ETag, 304, yanking) and counted downloads.

use plugboard_registry::Scope;
use plugboard_registry::api::{Done, PluginInfo};
use plugboard_registry_types::parse_index_lines;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH};

use crate::support::{Publisher, TestResult, assert_error, plugin, start};

#[tokio::test]
async fn index_has_a_strong_etag_and_answers_304() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    let url = registry.url("/index/echo");

    let first = registry.client.get(&url).send().await?;
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()[ETAG].to_str()?.to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    let body = first.text().await?;
    assert_eq!(
        etag,
        format!("\"{}\"", plugboard_package::sha256_hex(body.as_bytes()))
    );

    let cached = registry
        .client
        .get(&url)
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await?;
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(cached.headers()[ETAG].to_str()?, etag);
    assert!(cached.bytes().await?.is_empty());

    let listed = registry
        .client
        .get(&url)
        .header(IF_NONE_MATCH, format!("\"stale\", W/{etag}"))
        .send()
        .await?;
    assert_eq!(
        listed.status(),
        StatusCode::NOT_MODIFIED,
        "a list, weakly compared"
    );

    registry
        .publish_ok(&alice, &plugin("echo").version("0.2.0").pack()?)
        .await?;
    let changed = registry
        .client
        .get(&url)
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await?;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[ETAG].to_str()?, etag);
    assert_eq!(changed.text().await?.lines().count(), 2);
    Ok(())
}

#[tokio::test]
async fn unknown_names_are_404_with_a_json_error() -> TestResult {
    let registry = start().await?;
    for path in [
        "/index/nothing",
        "/api/v1/plugins/nothing",
        "/api/v1/plugins/nothing/owners",
        "/api/v1/plugins/nothing/1.0.0/download",
    ] {
        let response = registry.client.get(registry.url(path)).send().await?;
        assert_error(
            response,
            StatusCode::NOT_FOUND,
            &["no plugin named `nothing`"],
        )
        .await?;
    }
    let response = registry
        .client
        .get(registry.url("/index/echo%00x"))
        .send()
        .await?;
    assert_error(response, StatusCode::NOT_FOUND, &["no plugin named"]).await?;
    let response = registry
        .client
        .get(registry.url("/no/such/thing"))
        .send()
        .await?;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        &["no endpoint `GET /no/such/thing`"],
    )
    .await?;
    Ok(())
}

async fn set_yank(
    registry: &crate::support::TestRegistry,
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
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    let bob = registry.publisher("bob").await?;
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
    let download = registry
        .client
        .get(registry.url("/api/v1/plugins/echo/0.2.0/download"))
        .send()
        .await?;
    assert_eq!(download.status(), StatusCode::OK);
    let info: PluginInfo = registry
        .client
        .get(registry.url("/api/v1/plugins/echo"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(info.latest.map(|v| v.to_string()), Some("0.1.0".into()));

    // Only owners, only with the yank scope, only existing versions.
    let response = set_yank(&registry, &bob, "0.1.0", true).await?;
    assert_error(
        response,
        StatusCode::FORBIDDEN,
        &["not an owner of `echo`", "alice"],
    )
    .await?;
    let publish_only = Publisher {
        token: registry.registry.create_token("alice", &[Scope::Publish])?,
        key: alice.key.clone(),
    };
    let response = set_yank(&registry, &publish_only, "0.1.0", true).await?;
    assert_error(response, StatusCode::FORBIDDEN, &["lacks the `yank` scope"]).await?;
    let response = set_yank(&registry, &alice, "0.3.0", true).await?;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        &["`echo` has no version 0.3.0"],
    )
    .await?;
    let response = set_yank(&registry, &alice, "latest", true).await?;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        &["`latest` is not a version"],
    )
    .await?;

    let response = set_yank(&registry, &alice, "0.2.0", false).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let entries = parse_index_lines(&registry.index("echo").await?)?;
    assert!(entries.iter().all(|e| !e.yanked));
    Ok(())
}

#[tokio::test]
async fn downloads_are_counted_per_version_and_day() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    registry
        .publish_ok(&alice, &plugin("echo").version("0.2.0").pack()?)
        .await?;

    let mut tasks = Vec::new();
    for i in 0..12 {
        let client = registry.client.clone();
        let version = if i % 3 == 0 { "0.1.0" } else { "0.2.0" };
        let url = registry.url(&format!("/api/v1/plugins/echo/{version}/download"));
        tasks.push(tokio::spawn(async move {
            let response = client.get(url).send().await?;
            response.error_for_status()?.bytes().await
        }));
    }
    for task in tasks {
        task.await??;
    }
    let response = registry
        .client
        .get(registry.url("/api/v1/plugins/echo/9.9.9/download"))
        .send()
        .await?;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        &["`echo` has no version 9.9.9"],
    )
    .await?;

    let info: PluginInfo = registry
        .client
        .get(registry.url("/api/v1/plugins/echo"))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(info.downloads.total, 12);
    let per_version: Vec<(String, u64)> = info
        .versions
        .iter()
        .map(|v| (v.version.to_string(), v.downloads))
        .collect();
    assert_eq!(
        per_version,
        [("0.2.0".to_owned(), 8), ("0.1.0".to_owned(), 4)]
    );
    assert_eq!(info.downloads.per_day.len(), 1, "{:?}", info.downloads);
    let today = &info.downloads.per_day[0];
    assert_eq!(today.downloads, 12);
    assert_eq!(Some(today.date.as_str()), info.updated_at.get(..10));
    Ok(())
}
