//! Plugins that use each other: what the registry checks at publish
//! (the component exports what `provides` claims; a dependent's `imports`
//! are served by a published version of its dependency), and where
//! `provides`, `imports` and "used by" show (index, JSON API, plugin page).

use plugboard_registry::api::PluginInfo;
use plugboard_registry_types::parse_index_lines;
use reqwest::StatusCode;

use crate::support::{
    Publisher, TestRegistry, TestResult, Visitor, plugin, start, synthetic_plugin,
};

const API: &str = "plugins:economy/api@1.0.0";

/// Publishes the real economy and leaderboard, both at 1.0.0.
async fn publish_the_pair(registry: &TestRegistry, alice: &Publisher) -> TestResult {
    registry
        .publish_ok(alice, &plugin("economy").version("1.0.0").pack()?)
        .await?;
    registry
        .publish_ok(alice, &plugin("leaderboard").version("1.0.0").pack()?)
        .await?;
    Ok(())
}

#[tokio::test]
async fn provides_and_imports_reach_the_index_the_api_and_the_page() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    publish_the_pair(&registry, &alice).await?;

    let economy = parse_index_lines(&registry.index("economy").await?)?;
    assert_eq!(economy[0].provides, [API]);
    assert!(economy[0].imports.is_empty());
    let leaderboard = parse_index_lines(&registry.index("leaderboard").await?)?;
    assert_eq!(leaderboard[0].imports, [API]);
    assert!(leaderboard[0].provides.is_empty());
    // Plugins without interfaces keep their index lines as before.
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    let echo = registry.index("echo").await?;
    assert!(
        !echo.contains("provides") && !echo.contains("imports"),
        "{echo}"
    );

    let info: PluginInfo = registry.get_json("/api/v1/plugins/economy").await?;
    assert_eq!(info.provides.len(), 1);
    assert_eq!(info.provides[0].name, API);
    let wit = info.provides[0].wit.as_deref().ok_or("no WIT decoded")?;
    for needle in [
        "package plugins:economy@1.0.0;",
        "interface api {",
        "balance: func(user: string) -> result<s64, string>;",
        "record account {",
    ] {
        assert!(wit.contains(needle), "`{needle}` not in:\n{wit}");
    }
    // Only the provided interface, not the plugin's whole world.
    assert!(!wit.contains("handler") && !wit.contains("world"), "{wit}");
    assert!(
        wit.starts_with("package plugins:economy@1.0.0;\n\ninterface api {\n"),
        "{wit}"
    );
    assert_eq!(info.used_by, ["leaderboard"]);
    assert_eq!(info.versions[0].provides, [API]);
    assert!(info.imports.is_empty());

    let info: PluginInfo = registry.get_json("/api/v1/plugins/leaderboard").await?;
    assert_eq!(info.imports.len(), 1);
    assert_eq!(info.imports[0].name, API);
    assert_eq!(info.imports[0].provider.as_deref(), Some("economy"));
    assert_eq!(info.versions[0].imports, [API]);
    assert!(info.provides.is_empty() && info.used_by.is_empty());

    let mut visitor = Visitor::new(&registry)?;
    let page = visitor.page("/plugins/economy").await?;
    for needle in [
        r#"<h2 id="provides-heading">Provides</h2>"#,
        "<code>plugins:economy/api@1.0.0</code>",
        // The WIT is escaped, not markup.
        "balance: func(user: string) -&#62; result&#60;s64, string&#62;;",
        r#"<h2 id="used-by-heading">Used by</h2>"#,
        r#"<a href="/plugins/leaderboard">leaderboard</a>"#,
    ] {
        assert!(page.contains(needle), "`{needle}` not in the economy page");
    }
    let page = visitor.page("/plugins/leaderboard").await?;
    for needle in [
        r#"<h2 id="imports-heading">Imports</h2>"#,
        r#"<code>plugins:economy/api@1.0.0</code> from <a href="/plugins/economy">economy</a>"#,
        "No listed plugin depends on leaderboard.",
    ] {
        assert!(
            page.contains(needle),
            "`{needle}` not in the leaderboard page"
        );
    }
    assert!(
        !page.contains("provides-heading"),
        "leaderboard provides nothing"
    );
    Ok(())
}

#[tokio::test]
async fn a_component_must_export_what_plugin_toml_provides() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    // Packing would refuse it too; build the package by hand around the
    // check, as a hostile publisher would.
    let echo = plugin("echo").pack()?;
    let contents = echo.contents();
    let manifest = format!(
        "provides = [\"plugins:echo/api@1.0.0\"]\n{}",
        contents.manifest_toml()
    );
    let bytes = raw_package(&manifest, contents.component())?;
    let signature = alice.key.sign(&plugboard_package::Checksum::of(&bytes));
    let response = registry
        .publish_raw(
            Some(&alice.token),
            bytes,
            &signature.to_string(),
            &alice.key.public_key().key_id(),
        )
        .await?;
    crate::support::assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        &[
            "plugin.toml says it provides plugins:echo/api@1.0.0 but the component does not export it",
            "export the interface in the plugin's WIT world",
        ],
    )
    .await?;
    let response = registry.get("/index/echo").await?;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    Ok(())
}

/// A `.tar.gz` holding plugin.toml, plugin.wasm and README.md, made
/// without the packer's checks.
fn raw_package(manifest: &str, wasm: &[u8]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("README.md", &b"# echo\n"[..]),
        ("plugin.toml", manifest.as_bytes()),
        ("plugin.wasm", wasm),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, data)?;
    }
    let tar = tar.into_inner()?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar)?;
    Ok(gz.finish()?)
}

#[tokio::test]
async fn imports_no_published_version_serves_are_refused() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    let leaderboard = || plugin("leaderboard").version("1.0.0");

    // A dependency that provides nothing at any version.
    registry
        .publish_ok(
            &alice,
            &plugin("echo").name("economy").version("1.0.0").pack()?,
        )
        .await?;
    registry
        .publish_refused(
            &alice,
            &leaderboard().pack()?,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[
                "`leaderboard` imports plugins:economy/api@1.0.0, but none of its dependencies \
                 (economy) provides it in any published version",
                "add the plugin that provides it to [dependencies]",
            ],
        )
        .await?;

    // economy 1.1.0 provides the interface; then an import of 2.0.0 is
    // not served by anything within ^1.
    registry
        .publish_ok(&alice, &plugin("economy").version("1.1.0").pack()?)
        .await?;
    registry.publish_ok(&alice, &leaderboard().pack()?).await?;
    let wants_two = synthetic_plugin(
        r#"name = "podium"
version = "1.0.0"
description = "Imports an economy api nobody published."
wit = "0.2"
imports = ["plugins:economy/api@2.0.0"]

[dependencies]
economy = "^1"
"#,
        &[],
        &["plugins:economy/api@2.0.0"],
    )?;
    registry
        .publish_refused(
            &alice,
            &wants_two,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[
                "`podium` imports plugins:economy/api@2.0.0, but no published version of economy \
                 matching ^1 provides it (economy 1.1.0 provides plugins:economy/api@1.0.0; \
                 economy 1.0.0 provides no version of plugins:economy/api); publish economy first",
            ],
        )
        .await?;

    // A yanked provider does not count: with 1.1.0 yanked, only 1.0.0 is
    // left within ^1, and it provides nothing.
    let response = registry
        .client
        .delete(registry.url("/api/v1/plugins/economy/1.1.0/yank"))
        .bearer_auth(&alice.token)
        .send()
        .await?;
    assert_eq!(response.status(), StatusCode::OK);
    registry
        .publish_refused(
            &alice,
            &leaderboard().version("1.0.1").pack()?,
            StatusCode::UNPROCESSABLE_ENTITY,
            &["no published version of economy matching ^1 provides it (economy 1.0.0 provides no version"],
        )
        .await?;
    // Nothing refused was stored.
    let leaderboards = parse_index_lines(&registry.index("leaderboard").await?)?;
    assert_eq!(leaderboards.len(), 1);
    assert_eq!(
        registry.get("/index/podium").await?.status(),
        StatusCode::NOT_FOUND
    );
    Ok(())
}

#[tokio::test]
async fn one_version_of_a_dependency_must_serve_all_its_imports() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    let bank = |version: &str, provides: &str| {
        synthetic_plugin(
            &format!(
                "name = \"bank\"\nversion = \"{version}\"\ndescription = \"Accounts.\"\nwit = \"0.2\"\nprovides = [\"{provides}\"]\n"
            ),
            &[provides],
            &[],
        )
    };
    // 1.0.0 provides the api, 1.1.0 only the admin interface.
    registry
        .publish_ok(&alice, &bank("1.0.0", "acme:bank/api@1.0.0")?)
        .await?;
    registry
        .publish_ok(&alice, &bank("1.1.0", "acme:bank/admin@1.0.0")?)
        .await?;
    let imports = ["acme:bank/api@1.0.0", "acme:bank/admin@1.0.0"];
    let dependent = |imports: &[&str]| {
        let list: Vec<String> = imports.iter().map(|i| format!("\"{i}\"")).collect();
        synthetic_plugin(
            &format!(
                "name = \"teller\"\nversion = \"1.0.0\"\ndescription = \"Uses the bank.\"\nwit = \"0.2\"\nimports = [{}]\n\n[dependencies]\nbank = \"^1\"\n",
                list.join(", ")
            ),
            &[],
            imports,
        )
    };
    registry
        .publish_refused(
            &alice,
            &dependent(&imports)?,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[
                "`teller` imports acme:bank/api@1.0.0 and acme:bank/admin@1.0.0, but no single \
               published version of bank matching ^1 provides them all",
            ],
        )
        .await?;
    // Either one alone is served, and the page links the provider.
    registry
        .publish_ok(&alice, &dependent(&imports[..1])?)
        .await?;
    let info: PluginInfo = registry.get_json("/api/v1/plugins/teller").await?;
    assert_eq!(info.imports[0].provider.as_deref(), Some("bank"));
    let info: PluginInfo = registry.get_json("/api/v1/plugins/bank").await?;
    assert_eq!(info.used_by, ["teller"]);
    // The shown version is bank 1.1.0: it provides the admin interface.
    assert_eq!(info.provides[0].name, "acme:bank/admin@1.0.0");
    Ok(())
}
