//! Counted downloads: per version and UTC day, once per client (its
//! address hashed with a daily salt), `HEAD` and browser fetches made for a
//! page not counted, and README images of download URLs dropped.

use std::time::Duration;

use plugboard_package::Checksum;
use plugboard_registry::Config;
use plugboard_registry::api::PluginInfo;
use reqwest::StatusCode;

use crate::support::{
    Result, TestRegistry, TestResult, assert_error, client_at, local_address, plugin, start,
    start_with,
};

/// What headless Chromium 148 sends for `<img src="/api/v1/plugins/…/download">`
/// on a registry page (captured from the real browser; `Host` and
/// `Referer` are added per test).
const CHROMIUM_IMAGE: &[(&str, &str)] = &[
    ("connection", "keep-alive"),
    ("sec-ch-ua-platform", "\"Linux\""),
    (
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
         HeadlessChrome/148.0.0.0 Safari/537.36",
    ),
    (
        "sec-ch-ua",
        "\"Not/A)Brand\";v=\"99\", \"Chromium\";v=\"148\"",
    ),
    ("sec-ch-ua-mobile", "?0"),
    (
        "accept",
        "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    ),
    ("sec-fetch-site", "same-origin"),
    ("sec-fetch-mode", "no-cors"),
    ("sec-fetch-dest", "image"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("accept-language", "en-US,en;q=0.9"),
];

async fn info(registry: &TestRegistry, name: &str) -> Result<PluginInfo> {
    registry.get_json(&format!("/api/v1/plugins/{name}")).await
}

/// Each version's downloads, newest version first.
fn per_version(info: &PluginInfo) -> Vec<(String, u64)> {
    info.versions
        .iter()
        .map(|v| (v.version.to_string(), v.downloads))
        .collect()
}

/// Each day's downloads, oldest first.
fn per_day(info: &PluginInfo) -> Vec<u64> {
    info.downloads.per_day.iter().map(|d| d.downloads).collect()
}

#[tokio::test]
async fn downloads_are_counted_per_version_and_day() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    registry
        .publish_ok(&alice, &plugin("echo").version("0.2.0").pack()?)
        .await?;

    // Twelve clients at once, each on its own address.
    let mut tasks = Vec::new();
    for i in 0..12u8 {
        let client = client_at(local_address(i + 1))?;
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
    let response = registry.download("echo", "9.9.9").await?;
    assert_error(
        response,
        StatusCode::NOT_FOUND,
        &["`echo` has no version 9.9.9"],
    )
    .await?;

    let info = info(&registry, "echo").await?;
    assert_eq!(info.downloads.total, 12);
    assert_eq!(
        per_version(&info),
        [("0.2.0".to_owned(), 8), ("0.1.0".to_owned(), 4)]
    );
    assert_eq!(info.downloads.per_day.len(), 1, "{:?}", info.downloads);
    let today = &info.downloads.per_day[0];
    assert_eq!(today.downloads, 12);
    assert_eq!(Some(today.date.as_str()), info.updated_at.get(..10));
    Ok(())
}

#[tokio::test]
async fn thirty_downloads_from_one_address_on_one_day_count_once() -> TestResult {
    let config = Config::default();
    let clock = config.clock.clone();
    let registry = start_with(config).await?;
    let alice = registry.publisher("alice").await?;
    let package = plugin("echo").pack()?;
    registry.publish_ok(&alice, &package).await?;
    registry
        .publish_ok(&alice, &plugin("echo").version("0.2.0").pack()?)
        .await?;

    // Thirty at once from 127.0.0.1: every one gets the whole package.
    let url = registry.url("/api/v1/plugins/echo/0.1.0/download");
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let (client, url) = (registry.client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            client
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await
        }));
    }
    for task in tasks {
        let bytes = task.await??;
        assert_eq!(Checksum::of(&bytes), *package.checksum());
    }
    // HEAD answers like GET, without a body, and never counts.
    for _ in 0..5 {
        let head = registry.client.head(&url).send().await?;
        assert_eq!(head.status(), StatusCode::OK);
    }
    let once = info(&registry, "echo").await?;
    assert_eq!(once.downloads.total, 1, "{:?}", once.downloads);
    assert_eq!(
        per_version(&once),
        [("0.2.0".to_owned(), 0), ("0.1.0".to_owned(), 1)]
    );
    assert_eq!(per_day(&once), [1]);

    // Another version, or another address, is another download.
    registry
        .download("echo", "0.2.0")
        .await?
        .error_for_status()?;
    registry
        .download("echo", "0.2.0")
        .await?
        .error_for_status()?;
    client_at(local_address(2))?
        .get(&url)
        .send()
        .await?
        .error_for_status()?;
    let three = info(&registry, "echo").await?;
    assert_eq!(
        per_version(&three),
        [("0.2.0".to_owned(), 1), ("0.1.0".to_owned(), 2)]
    );

    // The next UTC day (by the registry's clock) the same address counts
    // again, once.
    clock.advance(Duration::from_secs(24 * 60 * 60));
    for _ in 0..3 {
        registry
            .download("echo", "0.1.0")
            .await?
            .error_for_status()?;
    }
    let next_day = info(&registry, "echo").await?;
    assert_eq!(next_day.downloads.total, 4);
    assert_eq!(per_day(&next_day), [3, 1]);
    Ok(())
}

#[tokio::test]
async fn a_readme_image_pointing_at_a_download_url_counts_nothing() -> TestResult {
    let registry = start().await?;
    let bob = registry.publisher("bob").await?;
    let download = "/api/v1/plugins/dice/0.1.0/download";
    let readme = format!(
        "# Dice\n\n![downloads]({download})\n\n<img src=\"{}{download}\" alt=\"absolute\">\n\n\
         ![a badge](https://img.example/dice.svg)\n",
        registry.url
    );
    registry
        .publish_ok(&bob, &plugin("dice").readme(&readme).pack()?)
        .await?;

    // The page shows the images' alt text, and no image of the package.
    let page = registry.get("/plugins/dice").await?.text().await?;
    assert!(page.contains("<img alt=\"downloads\">"), "{page}");
    assert!(page.contains("<img alt=\"absolute\">"), "{page}");
    assert!(
        page.contains("src=\"https://img.example/dice.svg\""),
        "{page}"
    );
    assert!(!page.contains(&format!("src=\"{download}")), "{page}");
    assert!(
        !page.contains(&format!("src=\"{}{download}", registry.url)),
        "{page}"
    );

    // Thirty visitors whose browsers load such an image anyway (an old
    // page, another site, a redirect): served, not counted.
    let referer = registry.url("/plugins/dice");
    for n in 2..32 {
        let mut request = client_at(local_address(n))?.get(registry.url(download));
        for (name, value) in CHROMIUM_IMAGE {
            request = request.header(*name, *value);
        }
        let response = request.header("referer", &referer).send().await?;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!response.bytes().await?.is_empty());
    }
    // The same image on another site's page.
    for n in 32..35 {
        let mut request = client_at(local_address(n))?.get(registry.url(download));
        for (name, value) in CHROMIUM_IMAGE {
            let value = if *name == "sec-fetch-site" {
                "cross-site"
            } else {
                value
            };
            request = request.header(*name, value);
        }
        request.send().await?.error_for_status()?;
    }
    let info = info(&registry, "dice").await?;
    assert_eq!(info.downloads.total, 0, "{:?}", info.downloads);
    let page = registry.get("/plugins/dice").await?.text().await?;
    assert!(page.contains("<strong id=\"downloads-total\">0</strong>"));

    // `plugboard install` from one of those addresses counts: the zero
    // above is the browsers', not the addresses'.
    client_at(local_address(2))?
        .get(registry.url(download))
        .header("user-agent", "plugboard/0.1.0")
        .header("accept", "*/*")
        .send()
        .await?
        .error_for_status()?;
    assert_eq!(
        registry
            .get_json::<PluginInfo>("/api/v1/plugins/dice")
            .await?
            .downloads
            .total,
        1
    );
    Ok(())
}
