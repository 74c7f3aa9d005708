//! Owners: listing, adding, removing, and what ownership allows.

use plugboard_registry::Scope;
use plugboard_registry::api::Owners;
use reqwest::{Method, StatusCode};

use crate::support::{
    Result, TestRegistry, TestResult, assert_error, plugin, start_with_alice_and_bob,
};

async fn change(
    registry: &TestRegistry,
    method: Method,
    token: &str,
    users: &[&str],
) -> Result<reqwest::Response, reqwest::Error> {
    registry
        .client
        .request(method, registry.url("/api/v1/plugins/echo/owners"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "users": users }))
        .send()
        .await
}

async fn owners(registry: &TestRegistry) -> Result<Vec<String>> {
    let owners: Owners = registry.get_json("/api/v1/plugins/echo/owners").await?;
    Ok(owners.users)
}

#[tokio::test]
async fn owners_add_and_remove() -> TestResult {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    assert_eq!(owners(&registry).await?, ["alice"]);

    let publish_only = registry.registry.create_token("alice", &[Scope::Publish])?;
    for (token, users, status, needles) in [
        // Bob is not an owner yet: he can neither publish nor add himself.
        (
            &bob.token,
            &["bob"][..],
            StatusCode::FORBIDDEN,
            &["not an owner of `echo`"][..],
        ),
        // The scope is needed, and the users must exist.
        (
            &publish_only,
            &["bob"],
            StatusCode::FORBIDDEN,
            &["lacks the `owners` scope"],
        ),
        (
            &alice.token,
            &["carol"],
            StatusCode::UNPROCESSABLE_ENTITY,
            &["no account `carol`", "token create carol"],
        ),
        (
            &alice.token,
            &[],
            StatusCode::BAD_REQUEST,
            &["`users` is empty"],
        ),
    ] {
        let response = change(&registry, Method::PUT, token, users).await?;
        assert_error(response, status, needles).await?;
    }

    let response = change(&registry, Method::PUT, &alice.token, &["bob"]).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Owners>().await?.users, ["alice", "bob"]);

    // Now Bob publishes versions, and removes Alice.
    registry
        .publish_ok(&bob, &plugin("echo").version("0.2.0").pack()?)
        .await?;
    let response = change(&registry, Method::DELETE, &bob.token, &["alice"]).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(owners(&registry).await?, ["bob"]);
    registry
        .publish_refused(
            &alice,
            &plugin("echo").version("0.3.0").pack()?,
            StatusCode::FORBIDDEN,
            &["`echo` belongs to bob"],
        )
        .await?;

    // The last owner stays.
    let response = change(&registry, Method::DELETE, &bob.token, &["bob"]).await?;
    assert_error(response, StatusCode::CONFLICT, &["without owners"]).await?;
    assert_eq!(owners(&registry).await?, ["bob"]);
    Ok(())
}
