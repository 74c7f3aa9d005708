//! Publishing: the happy path, and every way a publish is refused.

use std::time::Duration;

use plugboard_package::{Checksum, Limits, Package, SigningKey};
use plugboard_registry::api::{Keys, Published};
use plugboard_registry::{Config, RateLimit, Scope};
use plugboard_registry_types::{Permission, parse_index_lines};
use reqwest::StatusCode;
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::json;

use crate::support::{
    Publisher, TestResult, assert_error, plugin, start, start_with, start_with_alice_and_bob,
};

#[tokio::test]
async fn token_key_publish_index_download() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    let package = plugin("notes").pack()?;

    let response = registry.publish(&alice, &package).await?;
    assert_eq!(response.status(), StatusCode::CREATED);
    let published: Published = response.json().await?;
    assert_eq!(published.name, "notes");
    assert_eq!(published.version.to_string(), "0.1.0");
    assert_eq!(published.sha256, package.checksum().to_string());
    assert!(published.warnings.is_empty(), "{:?}", published.warnings);

    let index = registry.index("notes").await?;
    let entries = parse_index_lines(&index)?;
    assert_eq!(entries.len(), 1, "{index}");
    let entry = &entries[0];
    assert_eq!(entry.name, "notes");
    assert_eq!(entry.version.to_string(), "0.1.0");
    assert_eq!(entry.sha256, package.checksum().to_string());
    assert_eq!(entry.key_id, alice.key.public_key().key_id());
    assert_eq!(
        entry.signature,
        alice.key.sign(package.checksum()).to_string()
    );
    assert_eq!(entry.wit.to_string(), "0.2.0");
    assert_eq!(entry.permissions, vec![Permission::Kv]);
    assert!(!entry.yanked);

    // The client's view: download, then verify against the index entry.
    let response = registry.download("notes", "0.1.0").await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str()?,
        "application/gzip"
    );
    let bytes = response.bytes().await?;
    assert_eq!(&bytes[..], package.bytes());
    let contents = plugboard_package::unpack_verified(
        &bytes,
        &entry.sha256.parse()?,
        &alice.key.public_key(),
        &entry.signature.parse()?,
        &Limits::default(),
    )?;
    assert_eq!(contents.manifest().name, "notes");
    Ok(())
}

#[tokio::test]
async fn tokens_and_scopes_are_checked() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    let package = plugin("echo").pack()?;
    let signature = alice.key.sign(package.checksum()).to_string();
    let key_id = alice.key.public_key().key_id();

    let yank_only = registry.registry.create_token("alice", &[Scope::Yank])?;
    for (token, status, needles) in [
        (
            None,
            StatusCode::UNAUTHORIZED,
            &["needs an API token", "Authorization: Bearer"][..],
        ),
        (
            Some("pbr_0000"),
            StatusCode::UNAUTHORIZED,
            &["does not know the API token"],
        ),
        (
            Some(yank_only.as_str()),
            StatusCode::FORBIDDEN,
            &[
                "lacks the `publish` scope",
                "it has: yank",
                "--scope publish",
            ],
        ),
    ] {
        let response = registry
            .publish_raw(token, package.bytes().to_vec(), &signature, &key_id)
            .await?;
        if token.is_none() {
            assert!(response.headers().contains_key(WWW_AUTHENTICATE));
        }
        assert_error(response, status, needles).await?;
    }

    // Registering keys needs `publish` too; listing them needs any token.
    let response = registry
        .register_key(&yank_only, &SigningKey::generate()?)
        .await?;
    assert_error(response, StatusCode::FORBIDDEN, &["`publish` scope"]).await?;
    let keys: Keys = registry
        .client
        .get(registry.url("/api/v1/keys"))
        .bearer_auth(&yank_only)
        .send()
        .await?
        .json()
        .await?;
    assert_eq!(keys.keys.len(), 1);
    assert_eq!(keys.keys[0].key_id, key_id);
    Ok(())
}

#[tokio::test]
async fn keys_belong_to_one_account() -> TestResult {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;
    let again = registry.register_key(&alice.token, &alice.key).await?;
    assert_eq!(again.status(), StatusCode::OK, "registering twice is fine");
    let stolen = registry.register_key(&bob.token, &alice.key).await?;
    assert_error(
        stolen,
        StatusCode::CONFLICT,
        &["registered on another account"],
    )
    .await?;

    for (body, status, needle) in [
        (
            json!({"public_key": "abcd"}),
            StatusCode::BAD_REQUEST,
            "expected 64 hex digits",
        ),
        (
            json!({"key": "abcd"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "public_key",
        ),
    ] {
        let response = registry.post_keys(&bob.token, &body).await?;
        assert_error(response, status, &[needle]).await?;
    }

    // Registering takes a proof of possession made for the very token: a
    // public key alone, or a proof seen on another account, is refused.
    let carol_key = SigningKey::generate()?;
    let public_key = carol_key.public_key().to_string();
    let missing = json!({ "public_key": public_key });
    let response = registry.post_keys(&bob.token, &missing).await?;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["proof of possession is missing"],
    )
    .await?;
    let replayed = json!({
        "public_key": public_key,
        "proof": carol_key.prove_possession(&Checksum::of(alice.token.as_bytes())).to_string(),
    });
    let response = registry.post_keys(&bob.token, &replayed).await?;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["does not verify", "made for this very API token"],
    )
    .await?;
    let package_signature = json!({
        "public_key": public_key,
        "proof": carol_key.sign(&Checksum::of(bob.token.as_bytes())).to_string(),
    });
    let response = registry.post_keys(&bob.token, &package_signature).await?;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a package signature is no proof"
    );
    Ok(())
}

#[tokio::test]
async fn signatures_must_verify_with_the_publishers_own_key() -> TestResult {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;
    let package = plugin("echo").pack()?;
    let alice_id = alice.key.public_key().key_id();

    // A missing header.
    let response = registry
        .client
        .put(registry.url("/api/v1/plugins/new"))
        .bearer_auth(&alice.token)
        .body(package.bytes().to_vec())
        .send()
        .await?;
    assert_error(
        response,
        StatusCode::BAD_REQUEST,
        &["x-plugboard-signature", "missing"],
    )
    .await?;

    let other = SigningKey::generate()?;
    let other_id = other.public_key().key_id();
    let sign = |key: &SigningKey, package: &Package| key.sign(package.checksum()).to_string();
    let dice = plugin("dice").pack()?;
    for (token, signature, key_id, status, needles) in [
        // Not hex.
        (
            &alice.token,
            "zz".to_owned(),
            &alice_id,
            StatusCode::BAD_REQUEST,
            &["invalid signature", "x-plugboard-signature"][..],
        ),
        // Signed with a key that is not the one named.
        (
            &alice.token,
            sign(&other, &package),
            &alice_id,
            StatusCode::UNPROCESSABLE_ENTITY,
            &["does not verify with publisher key", alice_id.as_str()],
        ),
        // Signed over other bytes.
        (
            &alice.token,
            sign(&alice.key, &dice),
            &alice_id,
            StatusCode::UNPROCESSABLE_ENTITY,
            &["does not verify"],
        ),
        // Bob signs with his key but names Alice's: the key is not his.
        (
            &bob.token,
            sign(&bob.key, &package),
            &alice_id,
            StatusCode::FORBIDDEN,
            &["not registered on your account `bob`", "POST /api/v1/keys"],
        ),
        // A key nobody registered.
        (
            &alice.token,
            sign(&other, &package),
            &other_id,
            StatusCode::FORBIDDEN,
            &["not registered"],
        ),
    ] {
        let response = registry
            .publish_raw(Some(token), package.bytes().to_vec(), &signature, key_id)
            .await?;
        assert_error(response, status, needles).await?;
    }

    assert_eq!(
        registry.get("/index/echo").await?.status(),
        StatusCode::NOT_FOUND,
        "nothing was published"
    );
    Ok(())
}

#[tokio::test]
async fn corrupt_packages_get_the_unpackers_message() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    let key_id = alice.key.public_key().key_id();
    let sign = |bytes: &[u8]| {
        alice
            .key
            .sign(&plugboard_package::Checksum::of(bytes))
            .to_string()
    };

    let junk = b"definitely not a package".to_vec();
    let package = plugin("echo").pack()?;
    let truncated = package.bytes()[..package.bytes().len() / 2].to_vec();
    for (bytes, needles) in [
        (junk, &["not a valid .tar.gz", "gzip signature"][..]),
        (truncated, &["not a valid .tar.gz"]),
    ] {
        let signature = sign(&bytes);
        let response = registry
            .publish_raw(Some(&alice.token), bytes, &signature, &key_id)
            .await?;
        assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, needles).await?;
    }
    Ok(())
}

#[tokio::test]
async fn oversized_packages_are_refused_with_413() -> TestResult {
    let mut config = Config::default();
    config.limits.package = 4096;
    let registry = start_with(config).await?;
    let alice = registry.publisher("alice").await?;
    registry
        .publish_refused(
            &alice,
            &plugin("echo").pack()?,
            StatusCode::PAYLOAD_TOO_LARGE,
            &["larger than this registry's limit"],
        )
        .await?;
    Ok(())
}

#[tokio::test]
async fn versions_are_immutable_and_names_belong_to_owners() -> TestResult {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;

    // The same version again, as it was or with other bytes.
    for (package, needles) in [
        (
            plugin("echo"),
            &[
                "version 0.1.0 of `echo` is already published",
                "bump `version`",
            ][..],
        ),
        (plugin("echo").readme("# Changed\n"), &["already published"]),
    ] {
        registry
            .publish_refused(&alice, &package.pack()?, StatusCode::CONFLICT, needles)
            .await?;
    }

    registry
        .publish_refused(
            &bob,
            &plugin("echo").version("0.2.0").pack()?,
            StatusCode::FORBIDDEN,
            &["`echo` belongs to alice", "only its owners"],
        )
        .await?;

    registry
        .publish_ok(&alice, &plugin("echo").version("0.2.0").pack()?)
        .await?;
    let entries = parse_index_lines(&registry.index("echo").await?)?;
    let versions: Vec<String> = entries.iter().map(|e| e.version.to_string()).collect();
    assert_eq!(versions, ["0.1.0", "0.2.0"]);
    Ok(())
}

#[tokio::test]
async fn reserved_and_confusable_names_are_refused() -> TestResult {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;

    for (name, needles) in [
        (
            "admin",
            &["`admin` is reserved", "choose another `name`"][..],
        ),
        ("c0re", &["`c0re` is reserved (it reads like `core`"]),
    ] {
        registry
            .publish_refused(
                &alice,
                &plugin("echo").name(name).pack()?,
                StatusCode::UNPROCESSABLE_ENTITY,
                needles,
            )
            .await?;
    }

    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    for look_alike in ["ech0", "e-cho", "e-ch0"] {
        registry
            .publish_refused(
                &bob,
                &plugin("echo").name(look_alike).pack()?,
                StatusCode::CONFLICT,
                &[&format!("`{look_alike}`"), "existing plugin `echo`"],
            )
            .await?;
    }
    // `rn` reads as `m` the other way round too.
    registry
        .publish_ok(&bob, &plugin("dice").name("modem").pack()?)
        .await?;
    registry
        .publish_refused(
            &alice,
            &plugin("dice").name("rnodern").pack()?,
            StatusCode::CONFLICT,
            &["existing plugin `modem`"],
        )
        .await?;

    // An owner may publish look-alikes of their own plugin.
    registry
        .publish_ok(&alice, &plugin("echo").name("ech0").pack()?)
        .await?;
    Ok(())
}

#[tokio::test]
async fn publishes_are_rate_limited_per_token() -> TestResult {
    let mut config = Config::default();
    config.publish_rate = RateLimit::new(2, Duration::from_secs(60));
    let registry = start_with(config).await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    registry.publish_ok(&alice, &plugin("dice").pack()?).await?;

    let response = registry.publish(&alice, &plugin("poll").pack()?).await?;
    let retry_after: u64 = response
        .headers()
        .get(RETRY_AFTER)
        .ok_or("no Retry-After")?
        .to_str()?
        .parse()?;
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_error(
        response,
        StatusCode::TOO_MANY_REQUESTS,
        &["2 times per 60 seconds", "try again in"],
    )
    .await?;

    // Another token of the same user has its own bucket.
    let second = Publisher {
        token: registry.registry.create_token("alice", &[Scope::Publish])?,
        key: alice.key.clone(),
    };
    registry
        .publish_ok(&second, &plugin("poll").pack()?)
        .await?;
    Ok(())
}

#[tokio::test]
async fn dependencies_must_be_published_here() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;

    let unknown = plugin("poll").dep("economy", "^1.2").pack()?;
    registry
        .publish_refused(
            &alice,
            &unknown,
            StatusCode::UNPROCESSABLE_ENTITY,
            &[
                "depends on `economy`, which is not published on this registry",
                "[dependencies]",
            ],
        )
        .await?;

    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    let no_match = plugin("poll").dep("echo", "^2").pack()?;
    registry
        .publish_refused(
            &alice,
            &no_match,
            StatusCode::UNPROCESSABLE_ENTITY,
            &["requires `echo` ^2", "published: 0.1.0"],
        )
        .await?;

    registry
        .publish_ok(&alice, &plugin("poll").dep("echo", "^0.1").pack()?)
        .await?;
    let entries = parse_index_lines(&registry.index("poll").await?)?;
    assert_eq!(entries[0].deps["echo"].to_string(), "^0.1");
    Ok(())
}
