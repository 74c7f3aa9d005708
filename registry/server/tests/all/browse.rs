//! Search and the plugin metadata endpoint.

use plugboard_registry::api::{PluginInfo, SearchResults};
use plugboard_registry_types::Permission;
use reqwest::StatusCode;

use crate::support::{Result, TestRegistry, TestResult, assert_error, plugin, start};

async fn search(registry: &TestRegistry, query: &str) -> Result<SearchResults> {
    registry.get_json(&format!("/api/v1/plugins?{query}")).await
}

fn names(results: &SearchResults) -> Vec<&str> {
    results.plugins.iter().map(|p| p.name.as_str()).collect()
}

/// echo (3 downloads, from three client addresses), dice (1), notes (0, categories), poll (0, keyword
/// `echo`), published in that order.
async fn marketplace() -> Result<TestRegistry> {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    registry.publish_ok(&alice, &plugin("dice").pack()?).await?;
    registry
        .publish_ok(
            &alice,
            &plugin("notes")
                .line("categories = [\"productivity\", \"storage\"]")
                .line("keywords = [\"memo\"]")
                .pack()?,
        )
        .await?;
    registry
        .publish_ok(
            &alice,
            &plugin("poll")
                .line("categories = [\"productivity\"]")
                .line("keywords = [\"echo-chamber\"]")
                .pack()?,
        )
        .await?;
    for (name, clients) in [("echo", 3), ("dice", 1)] {
        registry.downloads_from(name, "0.1.0", clients).await?;
    }
    Ok(registry)
}

#[tokio::test]
async fn search_by_query_category_sort_and_page() -> TestResult {
    let registry = marketplace().await?;

    let all = search(&registry, "").await?;
    assert_eq!(
        names(&all),
        ["echo", "dice", "notes", "poll"],
        "by downloads"
    );
    assert_eq!(all.meta.total, 4);
    let echo = &all.plugins[0];
    assert_eq!(echo.downloads, 3);
    assert_eq!(echo.version.to_string(), "0.1.0");
    assert_eq!(echo.description, "Repeats what you say.");

    let by_name = search(&registry, "sort=name").await?;
    assert_eq!(names(&by_name), ["dice", "echo", "notes", "poll"]);
    let recent = search(&registry, "sort=recent").await?;
    assert_eq!(recent.plugins.len(), 4);

    // q matches names, descriptions and keywords, case-insensitively; an
    // exact name match comes first whatever the order.
    let echo = search(&registry, "q=ECHO&sort=name").await?;
    assert_eq!(names(&echo), ["echo", "poll"]);
    let by_description = search(&registry, "q=Buttons").await?;
    assert_eq!(names(&by_description), ["poll"]);
    let by_keyword = search(&registry, "q=memo").await?;
    assert_eq!(names(&by_keyword), ["notes"]);
    let exact_first = search(&registry, "q=poll&sort=name").await?;
    assert_eq!(names(&exact_first)[0], "poll");

    let category = search(&registry, "category=productivity&sort=name").await?;
    assert_eq!(names(&category), ["notes", "poll"]);
    assert_eq!(category.plugins[0].categories, ["productivity", "storage"]);

    let page1 = search(&registry, "sort=name&per_page=3").await?;
    let page2 = search(&registry, "sort=name&per_page=3&page=2").await?;
    assert_eq!(names(&page1), ["dice", "echo", "notes"]);
    assert_eq!(names(&page2), ["poll"]);
    assert_eq!(
        (page2.meta.total, page2.meta.page, page2.meta.per_page),
        (4, 2, 3)
    );
    let beyond = search(&registry, "page=9").await?;
    assert!(beyond.plugins.is_empty());

    for (query, needle) in [
        ("sort=stars", "unknown sort `stars`"),
        ("page=0", "`page` counts from 1"),
        ("per_page=1000", "`per_page` is 1 to 100"),
        ("page=two", "page"),
    ] {
        let response = registry.get(&format!("/api/v1/plugins?{query}")).await?;
        assert_error(response, StatusCode::BAD_REQUEST, &[needle]).await?;
    }
    Ok(())
}

/// The home page's example: a category's name finds the plugins in it, and
/// a misspelt name gets "did you mean" from the rule the 404 page and
/// `plugboard install` use, in the API and on the page.
#[tokio::test]
async fn search_finds_categories_and_suggests_close_names() -> TestResult {
    let registry = marketplace().await?;
    let alice = registry.publisher("alice").await?;
    for name in ["guard", "antispam"] {
        registry
            .publish_ok(
                &alice,
                &plugin("poll")
                    .name(name)
                    .line("categories = [\"moderation\"]")
                    .pack()?,
            )
            .await?;
    }

    let moderation = search(&registry, "q=moderation&sort=name").await?;
    assert_eq!(names(&moderation), ["antispam", "guard"]);
    assert!(moderation.did_you_mean.is_empty());
    let both = search(&registry, "q=productivity%20memo").await?;
    assert_eq!(names(&both), ["notes"], "every word, each in any field");

    for typo in ["dcie", "dise", "DCIE"] {
        let typo_results = search(&registry, &format!("q={typo}")).await?;
        assert!(typo_results.plugins.is_empty(), "{typo}");
        assert_eq!(typo_results.did_you_mean, ["dice"], "{typo}");
    }
    let found = search(&registry, "q=dice").await?;
    assert_eq!(names(&found), ["dice"]);
    assert!(found.did_you_mean.is_empty(), "no suggestion of a result");

    let page = registry.get("/search?q=moderation").await?.text().await?;
    assert!(page.contains("2 plugins"), "{page}");
    assert!(
        page.contains("href=\"/plugins/guard\"") && page.contains("href=\"/plugins/antispam\"")
    );
    let page = registry.get("/search?q=dcie").await?.text().await?;
    assert!(
        page.contains("Did you mean <a href=\"/plugins/dice\">dice</a>?"),
        "{page}"
    );
    let fragment = registry
        .get("/search?q=dcie&fragment=1")
        .await?
        .text()
        .await?;
    assert!(fragment.contains("href=\"/plugins/dice\""), "{fragment}");
    let missing = registry.get("/plugins/dcie").await?;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.text().await?.contains("href=\"/plugins/dice\""));
    Ok(())
}

#[tokio::test]
async fn metadata_has_readme_versions_owners_and_downloads() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    registry
        .publish_ok(&alice, &plugin("notes").readme("# Notes v1\n").pack()?)
        .await?;
    registry
        .publish_ok(
            &alice,
            &plugin("notes")
                .version("0.2.0")
                .readme("# Notes v2\n")
                .line("homepage = \"https://example.com/notes\"")
                .line("categories = [\"productivity\"]")
                .line("keywords = [\"memo\", \"kv\"]")
                .pack()?,
        )
        .await?;
    registry
        .download("notes", "0.1.0")
        .await?
        .error_for_status()?;

    let info: PluginInfo = registry.get_json("/api/v1/plugins/notes").await?;
    assert_eq!(info.name, "notes");
    assert_eq!(
        info.latest.as_ref().map(|v| v.to_string()),
        Some("0.2.0".into())
    );
    assert_eq!(info.readme, "# Notes v2\n");
    assert_eq!(info.license.as_deref(), Some("MIT OR Apache-2.0"));
    assert_eq!(info.homepage.as_deref(), Some("https://example.com/notes"));
    assert_eq!(
        info.repository.as_deref(),
        Some("https://github.com/plugboard/plugboard"),
        "the official manifest's"
    );
    assert_eq!(info.categories, ["productivity"]);
    assert_eq!(info.keywords, ["memo", "kv"]);
    assert_eq!(info.owners, ["alice"]);
    let versions: Vec<String> = info
        .versions
        .iter()
        .map(|v| v.version.to_string())
        .collect();
    assert_eq!(versions, ["0.2.0", "0.1.0"], "newest first");
    let v1 = &info.versions[1];
    assert!(!v1.yanked);
    assert_eq!(v1.published_by, "alice");
    assert_eq!(v1.wit.to_string(), "0.2.0");
    assert_eq!(v1.permissions, [Permission::Kv]);
    assert_eq!(v1.downloads, 1);
    assert!(
        v1.published_at.ends_with('Z') && v1.published_at.len() == 20,
        "{}",
        v1.published_at
    );
    assert_eq!(info.downloads.total, 1);
    assert_eq!(info.downloads.per_day.len(), 1);
    Ok(())
}
