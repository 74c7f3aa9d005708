//! Version pages and the plugin page's details over real HTTP: each
//! version's README, date, publisher, contract, permissions diff and
//! signature; command usage; counts in words; the favicon.

use plugboard_registry_types::IndexEntry;
use reqwest::StatusCode;

use crate::support::{Result, TestRegistry, TestResult, Visitor, plugin, start_with_alice_and_bob};

/// alice's `relay`: 0.1.0 asks for nothing (the echo component), 0.2.0 for
/// `kv` (the notes component), 0.3.0 for nothing again; one download of
/// 0.2.0.
async fn relay() -> Result<TestRegistry> {
    let (registry, alice, _bob) = start_with_alice_and_bob().await?;
    for (from, version) in [("echo", "0.1.0"), ("notes", "0.2.0"), ("echo", "0.3.0")] {
        let package = plugin(from)
            .name("relay")
            .version(version)
            .readme(&format!("# Relay {version}\n\nThe {version} README.\n"))
            .pack()?;
        registry.publish_ok(&alice, &package).await?;
    }
    registry
        .download("relay", "0.2.0")
        .await?
        .error_for_status()?;
    Ok(registry)
}

fn entry(index: &str, version: &str) -> Result<IndexEntry> {
    for line in index.lines() {
        let entry: IndexEntry = serde_json::from_str(line)?;
        if entry.version.to_string() == version {
            return Ok(entry);
        }
    }
    Err(format!("no {version} in {index}").into())
}

#[tokio::test]
async fn version_pages_show_their_readme_publisher_contract_diff_and_signature() -> TestResult {
    let registry = relay().await?;
    let mut visitor = Visitor::new(&registry)?;
    let index = registry.index("relay").await?;

    let plugin_page = visitor.page("/plugins/relay").await?;
    for version in ["0.1.0", "0.2.0", "0.3.0"] {
        assert!(
            plugin_page.contains(&format!("<a href=\"/plugins/relay/{version}\">")),
            "the versions table links {version}"
        );
    }

    let page = visitor.page("/plugins/relay/0.2.0").await?;
    assert!(page.contains("The 0.2.0 README."), "that version's README");
    assert!(!page.contains("The 0.3.0 README."));
    assert!(page.contains("by <a href=\"/users/alice\">alice</a>"));
    assert!(
        page.contains("<code>plugboard:plugin@0.2.0</code>"),
        "{page}"
    );
    assert!(page.contains("plugboard install relay@=0.2.0"));
    assert!(page.contains("Compared with <a href=\"/plugins/relay/0.1.0\">0.1.0</a>"));
    assert!(page.contains("<code>kv</code> <span class=\"badge new\">new in 0.2.0</span>"));
    assert!(
        page.contains("<dd id=\"version-downloads\">1 download</dd>"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/plugins/relay/0.3.0\""),
        "points at the newest"
    );
    let signed = entry(&index, "0.2.0")?;
    assert!(!signed.key_id.is_empty() && !signed.signature.is_empty());
    assert!(page.contains(&format!(
        "<code class=\"hash\" id=\"version-sha256\">{}</code>",
        signed.sha256
    )));
    assert!(page.contains(&format!(
        "<a href=\"/api/v1/keys/{0}\"><code id=\"version-key-id\">{0}</code></a>",
        signed.key_id
    )));
    assert!(page.contains(&signed.signature));
    assert!(page.contains("How to verify") && page.contains("plugboard-package-v1:"));
    // The key link answers with the key that verifies it.
    let key = registry
        .get(&format!("/api/v1/keys/{}", signed.key_id))
        .await?;
    assert_eq!(key.status(), StatusCode::OK);

    let newer = visitor.page("/plugins/relay/0.3.0").await?;
    assert!(newer.contains("No longer asks for"), "{newer}");
    assert!(newer.contains("<del>") && newer.contains("<code>kv</code>"));
    assert!(newer.contains("This version asks for no permissions."));
    assert!(newer.contains("<dd id=\"version-downloads\">0 downloads</dd>"));
    let first = visitor.page("/plugins/relay/0.1.0").await?;
    assert!(!first.contains("Compared with"), "nothing before the first");
    assert!(!first.contains("badge new"));

    for missing in [
        "/plugins/relay/9.9.9",
        "/plugins/relay/latest",
        "/plugins/relya/0.1.0",
    ] {
        let answer = visitor.get(missing).await?;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{missing}");
    }
    let typo = visitor.get("/plugins/relya/0.1.0").await?;
    assert!(
        typo.body.contains("href=\"/plugins/relay\""),
        "did you mean"
    );
    // The owners page, a fixed path beside the version pages, still answers.
    let owners = visitor.get("/plugins/relay/owners").await?;
    assert_ne!(owners.status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn pages_show_command_usage_counts_in_words_and_a_favicon() -> TestResult {
    let registry = relay().await?;
    let mut visitor = Visitor::new(&registry)?;
    let dice = registry.publisher("carl").await?;
    registry.publish_ok(&dice, &plugin("dice").pack()?).await?;

    // The manifest's usage string, beside the help, on both pages.
    for path in ["/plugins/dice", "/plugins/dice/0.1.0"] {
        let page = visitor.page(path).await?;
        assert!(
            page.contains(
                "<dt><code>/roll</code></dt><dd><code class=\"usage\">/roll [NdM[+K]]</code>"
            ),
            "{path}: {page}"
        );
    }

    let home = visitor.page("/").await?;
    assert!(home.contains("2 plugins for"), "{home}");
    let relay_user = visitor.page("/users/alice").await?;
    assert!(
        relay_user.contains("1 plugin · 1 download</p>"),
        "{relay_user}"
    );
    let carl = visitor.page("/users/carl").await?;
    assert!(carl.contains("1 plugin · 0 downloads</p>"), "{carl}");
    let search = visitor.page("/search?q=relay").await?;
    assert!(
        search.contains("1 plugin<") && search.contains("<span>1 download</span>"),
        "{search}"
    );

    // The chart says what its axes are and how many.
    let page = visitor.page("/plugins/relay").await?;
    assert!(page.contains("class=\"chart-y\""), "{page}");
    assert!(page.contains("1 download in the last 90 days"), "{page}");

    // Every page names its favicon; the old name redirects to it.
    assert!(home.contains("<link rel=\"icon\" href=\"/static/favicon."));
    let icon = registry.get("/favicon.ico").await?;
    assert_eq!(icon.status(), StatusCode::OK);
    assert!(
        icon.url().path().starts_with("/static/favicon."),
        "{}",
        icon.url()
    );
    assert_eq!(
        icon.headers().get("content-type").map(|v| v.as_bytes()),
        Some(&b"image/svg+xml"[..])
    );
    assert!(icon.text().await?.starts_with("<svg"));
    Ok(())
}
