//! Publishers on their own: the account page's tokens, keys and password,
//! yanking from the plugin page, and the acceptance flow of issue 19 item
//! 7 (sign up, create a token and register a key on the web, publish),
//! with the server running throughout.

use plugboard_package::{Checksum, SigningKey};
use plugboard_registry::api::{Keys, NewKey};
use reqwest::StatusCode;

use crate::support::{Publisher, TestResult, Visitor, plugin, start};

/// Signs `visitor` in as `name` with `password`, insisting that it works.
async fn sign_in(visitor: &mut Visitor<'_>, name: &str, password: &str) -> TestResult {
    let answer = visitor
        .post("/signin", &[("username", name), ("password", password)])
        .await?;
    assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
    Ok(())
}

/// The token the account page shows once after creating one.
fn shown_token(body: &str) -> Option<String> {
    let rest = body.split("id=\"token-secret\">").nth(1)?;
    Some(rest.split('<').next()?.to_owned())
}

#[tokio::test]
async fn a_new_publisher_signs_up_makes_a_token_and_key_on_the_web_and_publishes() -> TestResult {
    let registry = start().await?;
    let mut carol = Visitor::new(&registry)?;
    carol.sign_up("carol").await?;

    // A token that may only publish, made on the account page.
    let made = carol
        .post("/account/tokens", &[("name", "laptop"), ("publish", "on")])
        .await?;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let token = shown_token(&made.body).ok_or("the new token is shown")?;
    assert!(token.starts_with("pbr_") && token.len() == 68, "{token}");
    let id = plugboard_registry::token_id(&token);
    // Listed by name and scope afterwards, never again in full.
    let page = carol.page("/account").await?;
    assert!(page.contains("laptop") && page.contains(&id), "{page}");
    assert!(page.contains("may publish"), "{page}");
    assert!(!page.contains(&token), "the secret is shown only once");

    // The key: the request `plugboard key register` sends, with that token.
    let key = SigningKey::generate()?;
    let registered = registry.register_key(&token, &key).await?;
    assert_eq!(registered.status(), StatusCode::CREATED);
    let page = carol.page("/account").await?;
    assert!(page.contains(&key.public_key().key_id()), "{page}");

    // Published with the web-made token and key, and installable.
    let carol_publisher = Publisher { token, key };
    let package = plugin("dice").name("carols-dice").pack()?;
    registry.publish_ok(&carol_publisher, &package).await?;
    let index = registry.index("carols-dice").await?;
    assert!(index.contains("\"version\":\"0.1.0\""), "{index}");

    // The token may publish, nothing else: the scopes chosen on the page.
    let yank = registry
        .client
        .delete(registry.url("/api/v1/plugins/carols-dice/0.1.0/yank"))
        .bearer_auth(&carol_publisher.token)
        .send()
        .await?;
    assert_eq!(yank.status(), StatusCode::FORBIDDEN);

    // Revoked on the page: refused from then on.
    let revoked = carol
        .post(&format!("/account/tokens/{id}/revoke"), &[])
        .await?;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let after = registry
        .client
        .get(registry.url("/api/v1/keys"))
        .bearer_auth(&carol_publisher.token)
        .send()
        .await?;
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn keys_are_pasted_with_a_proof_and_revoked_on_the_web() -> TestResult {
    let registry = start().await?;
    let mut dave = Visitor::new(&registry)?;
    dave.sign_up("dave").await?;
    let made = dave
        .post(
            "/account/tokens",
            &[("name", "ci"), ("publish", "on"), ("yank", "on")],
        )
        .await?;
    let token = shown_token(&made.body).ok_or("the new token is shown")?;
    let key = SigningKey::generate()?;
    let body = |proof_token: &str| -> serde_json::Result<String> {
        serde_json::to_string(&NewKey {
            public_key: key.public_key().to_string(),
            proof: key
                .prove_possession(&Checksum::of(proof_token.as_bytes()))
                .to_string(),
        })
    };

    // A proof made for someone else's token proves nothing here.
    let foreign = dave
        .post("/account/keys", &[("key", &body("pbr_not-daves")?)])
        .await?;
    assert_eq!(foreign.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        foreign.body.contains("id=\"keys-error\""),
        "{}",
        foreign.body
    );
    let junk = dave.post("/account/keys", &[("key", "not json")]).await?;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);

    let pasted = dave
        .post("/account/keys", &[("key", &body(&token)?)])
        .await?;
    assert_eq!(pasted.status, StatusCode::SEE_OTHER, "{}", pasted.body);
    let keys: Keys = registry
        .client
        .get(registry.url("/api/v1/keys"))
        .bearer_auth(&token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let key_id = key.public_key().key_id();
    assert_eq!(keys.keys.len(), 1);
    assert_eq!(keys.keys[0].key_id, key_id);

    let publisher = Publisher { token, key };
    registry
        .publish_ok(&publisher, &plugin("dice").name("daves-dice").pack()?)
        .await?;

    // Revoked: no new publishes, and the key stays readable for what it signed.
    let revoked = dave
        .post(&format!("/account/keys/{key_id}/revoke"), &[])
        .await?;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let refused = registry
        .publish(
            &publisher,
            &plugin("dice").name("daves-dice").version("0.2.0").pack()?,
        )
        .await?;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let kept = registry.get(&format!("/api/v1/keys/{key_id}")).await?;
    assert_eq!(kept.status(), StatusCode::OK);
    let again = registry
        .register_key(&publisher.token, &publisher.key)
        .await?;
    assert_eq!(again.status(), StatusCode::CONFLICT);

    // Another account cannot revoke dave's keys or tokens.
    let mut eve = Visitor::new(&registry)?;
    eve.sign_up("eve").await?;
    let id = plugboard_registry::token_id(&publisher.token);
    let theirs = eve
        .post(&format!("/account/tokens/{id}/revoke"), &[])
        .await?;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let still = registry
        .client
        .get(registry.url("/api/v1/keys"))
        .bearer_auth(&publisher.token)
        .send()
        .await?;
    assert_eq!(still.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn passwords_change_with_the_current_one_and_forms_need_csrf() -> TestResult {
    let registry = start().await?;
    let mut frank = Visitor::new(&registry)?;
    frank.sign_up("frank").await?;
    let mut other_browser = Visitor::new(&registry)?;
    sign_in(&mut other_browser, "frank", "a long enough password").await?;

    let wrong = frank
        .post(
            "/account/password",
            &[
                ("current", "not the password"),
                ("password", "a new long password"),
            ],
        )
        .await?;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong.body.contains("id=\"password-error\""),
        "{}",
        wrong.body
    );

    let forged = frank
        .post_raw(
            "/account/password",
            &[
                ("csrf", "0".repeat(64).as_str()),
                ("current", "a long enough password"),
                ("password", "a new long password"),
            ],
        )
        .await?;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let forged_token = frank
        .post_raw("/account/tokens", &[("name", "x"), ("publish", "on")])
        .await?;
    assert_eq!(forged_token.status, StatusCode::FORBIDDEN);

    let changed = frank
        .post(
            "/account/password",
            &[
                ("current", "a long enough password"),
                ("password", "a new long password"),
            ],
        )
        .await?;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    // This browser stays signed in; the other one is signed out.
    assert!(frank.page("/account").await?.contains("Signed in as"));
    let elsewhere = other_browser.get("/account").await?;
    assert_eq!(elsewhere.status, StatusCode::SEE_OTHER);
    let mut fresh = Visitor::new(&registry)?;
    sign_in(&mut fresh, "frank", "a new long password").await?;
    Ok(())
}

#[tokio::test]
async fn owners_yank_and_unyank_from_the_plugin_page_with_a_reason() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    registry.publish_ok(&alice, &plugin("dice").pack()?).await?;
    registry
        .registry
        .set_password("alice", "a long enough password")?;
    let mut owner = Visitor::new(&registry)?;
    sign_in(&mut owner, "alice", "a long enough password").await?;
    let page = owner.page("/plugins/dice").await?;
    assert!(page.contains("id=\"yank-tools\""), "owners see the form");

    let yanked = owner
        .post(
            "/plugins/dice/versions/yank",
            &[("version", "0.1.0"), ("reason", "rolls only ones")],
        )
        .await?;
    assert_eq!(yanked.status, StatusCode::SEE_OTHER, "{}", yanked.body);
    assert!(registry.index("dice").await?.contains("\"yanked\":true"));
    let no_reason = owner
        .post(
            "/plugins/dice/versions/unyank",
            &[("version", "0.1.0"), ("reason", " ")],
        )
        .await?;
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unyanked = owner
        .post(
            "/plugins/dice/versions/unyank",
            &[("version", "0.1.0"), ("reason", "fixed by a dependency")],
        )
        .await?;
    assert_eq!(unyanked.status, StatusCode::SEE_OTHER, "{}", unyanked.body);
    assert!(registry.index("dice").await?.contains("\"yanked\":false"));

    // Anyone else is refused, and does not see the form.
    let mut mallory = Visitor::new(&registry)?;
    mallory.sign_up("mallory").await?;
    assert!(
        !mallory
            .page("/plugins/dice")
            .await?
            .contains("id=\"yank-tools\"")
    );
    let refused = mallory
        .post(
            "/plugins/dice/versions/yank",
            &[("version", "0.1.0"), ("reason", "spite")],
        )
        .await?;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(registry.index("dice").await?.contains("\"yanked\":false"));
    Ok(())
}
