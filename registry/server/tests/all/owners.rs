//! Owners: listing, inviting, accepting and declining, removing, what
//! ownership allows, and the audit log of every change; over the API and
//! the web pages.

use plugboard_registry::Scope;
use plugboard_registry::api::{Invitations, Owners};
use reqwest::{Method, StatusCode};

use crate::support::{
    Publisher, Result, TestRegistry, TestResult, Visitor, assert_error, plugin,
    start_with_alice_and_bob,
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
    Ok(echo_owners(registry).await?.users)
}

async fn echo_owners(registry: &TestRegistry) -> Result<Owners> {
    registry.get_json("/api/v1/plugins/echo/owners").await
}

/// `PUT` (accept) or `DELETE` (decline) `/api/v1/invitations/echo`.
async fn answer(
    registry: &TestRegistry,
    method: Method,
    token: &str,
) -> Result<reqwest::Response, reqwest::Error> {
    registry
        .client
        .request(method, registry.url("/api/v1/invitations/echo"))
        .bearer_auth(token)
        .send()
        .await
}

async fn invitations(registry: &TestRegistry, token: &str) -> Result<Invitations> {
    Ok(registry
        .client
        .get(registry.url("/api/v1/invitations"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?)
}

/// A registry where alice published `echo`, with bob and carol as publishers.
async fn echo_by_alice() -> Result<(TestRegistry, Publisher, Publisher, Publisher)> {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;
    let carol = registry.publisher("carol").await?;
    registry.publish_ok(&alice, &plugin("echo").pack()?).await?;
    Ok((registry, alice, bob, carol))
}

#[tokio::test]
async fn an_invitation_must_be_accepted_before_an_account_becomes_owner() -> TestResult {
    let (registry, alice, bob, _carol) = echo_by_alice().await?;
    assert_eq!(owners(&registry).await?, ["alice"]);

    let publish_only = registry.registry.create_token("alice", &[Scope::Publish])?;
    for (token, users, status, needles) in [
        // Bob is not an owner: he can neither publish nor invite himself.
        (
            &bob.token,
            &["bob"][..],
            StatusCode::FORBIDDEN,
            &["not an owner of `echo`", "invite you"][..],
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
            &["bob", "dave"],
            StatusCode::UNPROCESSABLE_ENTITY,
            &["no account `dave`"],
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
    assert!(
        echo_owners(&registry).await?.invited.is_empty(),
        "a refused request invites nobody, not even the valid names in it"
    );

    // Alice invites bob: bob is invited, not an owner.
    let response = change(&registry, Method::PUT, &alice.token, &["bob"]).await?;
    assert_eq!(response.status(), StatusCode::OK);
    let after: Owners = response.json().await?;
    assert_eq!(
        (after.users, after.invited),
        (vec!["alice".to_owned()], vec!["bob".to_owned()])
    );
    assert_eq!(owners(&registry).await?, ["alice"]);
    registry
        .publish_refused(
            &bob,
            &plugin("echo").version("0.2.0").pack()?,
            StatusCode::FORBIDDEN,
            &["`echo` belongs to alice"],
        )
        .await?;
    let yank = registry
        .client
        .delete(registry.url("/api/v1/plugins/echo/0.1.0/yank"))
        .bearer_auth(&bob.token)
        .send()
        .await?;
    assert_error(yank, StatusCode::FORBIDDEN, &["not an owner of `echo`"]).await?;

    // Bob sees the invitation and accepts it: now he owns echo.
    let open = invitations(&registry, &bob.token).await?.invitations;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        (open[0].plugin.as_str(), open[0].invited_by.as_str()),
        ("echo", "alice")
    );
    let accepted = answer(&registry, Method::PUT, &bob.token).await?;
    assert_eq!(accepted.status(), StatusCode::OK);
    let after: Owners = accepted.json().await?;
    assert_eq!(after.users, ["alice", "bob"]);
    assert!(after.invited.is_empty());
    assert!(
        invitations(&registry, &bob.token)
            .await?
            .invitations
            .is_empty()
    );
    registry
        .publish_ok(&bob, &plugin("echo").version("0.2.0").pack()?)
        .await?;
    // An invitation is answered once.
    let again = answer(&registry, Method::PUT, &bob.token).await?;
    assert_error(
        again,
        StatusCode::NOT_FOUND,
        &["no open invitation to own `echo`"],
    )
    .await?;

    // Bob removes alice; the last owner stays.
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
    let response = change(&registry, Method::DELETE, &bob.token, &["bob"]).await?;
    assert_error(response, StatusCode::CONFLICT, &["without owners"]).await?;
    assert_eq!(owners(&registry).await?, ["bob"]);
    Ok(())
}

#[tokio::test]
async fn a_declined_or_withdrawn_invitation_changes_nothing() -> TestResult {
    let (registry, alice, bob, carol) = echo_by_alice().await?;
    let response = change(&registry, Method::PUT, &alice.token, &["bob", "carol"]).await?;
    assert_eq!(response.json::<Owners>().await?.invited, ["bob", "carol"]);

    // Carol declines: she is not an owner, and cannot accept afterwards.
    let declined = answer(&registry, Method::DELETE, &carol.token).await?;
    assert_eq!(declined.status(), StatusCode::OK);
    let after = echo_owners(&registry).await?;
    assert_eq!(
        (after.users, after.invited),
        (vec!["alice".to_owned()], vec!["bob".to_owned()])
    );
    let late = answer(&registry, Method::PUT, &carol.token).await?;
    assert_error(late, StatusCode::NOT_FOUND, &["no open invitation"]).await?;
    assert_eq!(owners(&registry).await?, ["alice"]);

    // Alice withdraws bob's invitation: he cannot accept it any more.
    let response = change(&registry, Method::DELETE, &alice.token, &["bob"]).await?;
    let after: Owners = response.json().await?;
    assert_eq!(
        (after.users, after.invited),
        (vec!["alice".to_owned()], vec![])
    );
    let late = answer(&registry, Method::PUT, &bob.token).await?;
    assert_error(late, StatusCode::NOT_FOUND, &["no open invitation"]).await?;
    assert_eq!(owners(&registry).await?, ["alice"]);

    // Nobody accepts an invitation they never got.
    let uninvited = answer(&registry, Method::PUT, &carol.token).await?;
    assert_error(uninvited, StatusCode::NOT_FOUND, &["no open invitation"]).await?;
    Ok(())
}

/// The same rules on the web pages: alice invites bob and carol on echo's
/// owners page; bob accepts and carol declines on their invitations pages;
/// alice cannot leave while she is the last owner, bob can remove her
/// once he owns echo; forms without the CSRF token are refused; and the
/// moderators' audit log shows every change.
#[tokio::test]
async fn owners_and_invitations_on_the_web_pages_are_audited() -> TestResult {
    let (registry, _alice, _bob, _carol) = echo_by_alice().await?;
    let mut pages = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let password = format!("{name}'s long password");
        registry.registry.set_password(name, &password)?;
        let mut visitor = Visitor::new(&registry)?;
        let signed = visitor
            .post("/signin", &[("username", name), ("password", &password)])
            .await?;
        assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
        pages.push(visitor);
    }
    let [alice, bob, carol] = &mut pages[..] else {
        return Err("three visitors".into());
    };

    // Only owners open the owners page; the plugin page links it for them.
    assert!(
        alice
            .page("/plugins/echo")
            .await?
            .contains("/plugins/echo/owners")
    );
    assert!(
        !bob.page("/plugins/echo")
            .await?
            .contains("/plugins/echo/owners")
    );
    assert_eq!(
        bob.get("/plugins/echo/owners").await?.status,
        StatusCode::FORBIDDEN
    );
    let forged = bob
        .post("/plugins/echo/owners/invite", &[("user", "bob")])
        .await?;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "bob cannot invite himself"
    );

    // The last owner cannot leave.
    let leave = alice
        .post("/plugins/echo/owners/remove", &[("user", "alice")])
        .await?;
    assert_eq!(leave.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(leave.body.contains("last owner"), "{}", leave.body);

    // A form without its CSRF token is refused.
    let no_csrf = alice
        .post_raw("/plugins/echo/owners/invite", &[("user", "bob")])
        .await?;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    for name in ["bob", "carol"] {
        let sent = alice
            .post("/plugins/echo/owners/invite", &[("user", name)])
            .await?;
        assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    }
    let page = alice.page("/plugins/echo/owners").await?;
    assert!(
        page.contains("Withdraw bob&#39;s invitation")
            || page.contains("Withdraw bob's invitation"),
        "{page}"
    );
    assert_eq!(owners(&registry).await?, ["alice"], "invited is not owner");

    // Bob accepts on his page (not without the CSRF token), carol declines.
    let invited = bob.page("/invitations").await?;
    assert!(invited.contains("invitation-echo"), "{invited}");
    let no_csrf = bob.post_raw("/invitations/echo/accept", &[]).await?;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    assert_eq!(owners(&registry).await?, ["alice"]);
    let accepted = bob.post("/invitations/echo/accept", &[]).await?;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    assert_eq!(accepted.location(), "/plugins/echo/owners");
    assert_eq!(owners(&registry).await?, ["alice", "bob"]);
    let declined = carol.post("/invitations/echo/decline", &[]).await?;
    assert_eq!(declined.status, StatusCode::SEE_OTHER);
    assert!(carol.page("/invitations").await?.contains("no-invitations"));
    assert_eq!(owners(&registry).await?, ["alice", "bob"]);
    let late = carol.post("/invitations/echo/accept", &[]).await?;
    assert_eq!(late.status, StatusCode::NOT_FOUND);

    // Bob removes alice, then cannot leave himself.
    let removed = bob
        .post("/plugins/echo/owners/remove", &[("user", "alice")])
        .await?;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(owners(&registry).await?, ["bob"]);
    let leave = bob
        .post("/plugins/echo/owners/remove", &[("user", "bob")])
        .await?;
    assert_eq!(leave.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(owners(&registry).await?, ["bob"]);

    // The audit log, on the moderators' page.
    let mut moderator = Visitor::new(&registry)?;
    moderator.sign_up("mod").await?;
    assert!(registry.registry.set_admin("mod", true)?);
    let log = moderator.page("/admin").await?;
    for entry in [
        "<td>alice</td><td>invite-owner</td><td>plugin echo</td><td>invited bob</td>",
        "<td>alice</td><td>invite-owner</td><td>plugin echo</td><td>invited carol</td>",
        "<td>bob</td><td>accept-invitation</td><td>plugin echo</td><td>invited by alice</td>",
        "<td>carol</td><td>decline-invitation</td><td>plugin echo</td><td>invited by alice</td>",
        "<td>bob</td><td>remove-owner</td><td>plugin echo</td><td>removed alice</td>",
    ] {
        assert!(log.contains(entry), "{entry} not in the audit log:\n{log}");
    }
    Ok(())
}
