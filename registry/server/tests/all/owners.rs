//! Owners: listing, adding, removing, and what ownership allows.

use plugboard_registry::Scope;
use plugboard_registry::api::Owners;
use reqwest::{Method, StatusCode};

use crate::support::{TestRegistry, TestResult, assert_error, plugin, start};

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

async fn owners(registry: &TestRegistry) -> Result<Vec<String>, reqwest::Error> {
    let owners: Owners = registry
        .client
        .get(registry.url("/api/v1/plugins/echo/owners"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(owners.users)
}

#[tokio::test]
async fn owners_add_and_remove() -> TestResult {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    let bob = registry.publisher("bob").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    assert_eq!(owners(&registry).await?, ["alice"]);

    // Bob is not an owner yet: he can neither publish nor add himself.
    let response = change(&registry, Method::PUT, &bob.token, &["bob"]).await?;
    assert_error(response, StatusCode::FORBIDDEN, &["not an owner of `echo`"]).await?;

    // The scope is needed, and the users must exist.
    let publish_only = registry.registry.create_token("alice", &[Scope::Publish])?;
    let response = change(&registry, Method::PUT, &publish_only, &["bob"]).await?;
    assert_error(
        response,
        StatusCode::FORBIDDEN,
        &["lacks the `owners` scope"],
    )
    .await?;
    let response = change(&registry, Method::PUT, &alice.token, &["carol"]).await?;
    assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        &["no account `carol`", "token create carol"],
    )
    .await?;
    let response = change(&registry, Method::PUT, &alice.token, &[]).await?;
    assert_error(response, StatusCode::BAD_REQUEST, &["`users` is empty"]).await?;

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
    let response = registry
        .publish(&alice, &plugin("echo").version("0.3.0").pack()?)
        .await?;
    assert_error(response, StatusCode::FORBIDDEN, &["`echo` belongs to bob"]).await?;

    // The last owner stays.
    let response = change(&registry, Method::DELETE, &bob.token, &["bob"]).await?;
    assert_error(response, StatusCode::CONFLICT, &["without owners"]).await?;
    assert_eq!(owners(&registry).await?, ["bob"]);
    Ok(())
}
