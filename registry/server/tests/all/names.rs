//! Look-alike names: one rule (`plugboard_registry::names::clash`) for new
//! plugin names and new account names, against the reserved names and the
//! existing ones, with an error that names the look-alike and the fix.

use reqwest::StatusCode;

use crate::support::{TestResult, Visitor, local_address, plugin, start_with_alice_and_bob};

#[tokio::test]
async fn look_alike_plugin_and_user_names_are_refused() -> TestResult {
    let (registry, alice, bob) = start_with_alice_and_bob().await?;
    registry.publish_ok(&alice, &plugin("dice").pack()?).await?;
    registry
        .publish_ok(&alice, &plugin("echo").name("webhook").pack()?)
        .await?;

    // Plugins: beside alice's `dice` and `webhook`, and the reserved `admin`.
    for (name, status, like) in [
        ("clice", StatusCode::CONFLICT, "the existing plugin `dice`"),
        ("d1ce", StatusCode::CONFLICT, "the existing plugin `dice`"),
        (
            "vvebhook",
            StatusCode::CONFLICT,
            "the existing plugin `webhook`",
        ),
        (
            "adm1n",
            StatusCode::UNPROCESSABLE_ENTITY,
            "is reserved (it reads like `admin`",
        ),
    ] {
        let message = registry
            .publish_refused(
                &bob,
                &plugin("dice").name(name).pack()?,
                status,
                &[
                    &format!("the name `{name}`"),
                    like,
                    "choose another `name` in plugin.toml",
                ],
            )
            .await?;
        assert!(message.contains("`cl` reads as `d`"), "{message}");
    }
    // A name that only resembles one loosely is fine, and so is an owner's
    // look-alike of their own plugin.
    registry
        .publish_ok(&bob, &plugin("dice").name("dicey").pack()?)
        .await?;
    registry
        .publish_ok(&alice, &plugin("dice").name("d1ce").pack()?)
        .await?;

    // Accounts: beside the account `alice` and the reserved `admin`, on the
    // sign-up page…
    for (n, (name, like)) in [
        ("a1ice", "the existing account `alice`"),
        ("aiice", "the existing account `alice`"),
        ("adm1n", "is reserved (it reads like `admin`"),
        ("admin", "`admin` is reserved"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut visitor = Visitor::at(&registry, local_address(10 + n as u8))?;
        let answer = visitor
            .post(
                "/signup",
                &[
                    ("username", name),
                    ("password", "a long enough password"),
                    ("next", "/"),
                ],
            )
            .await?;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(
            answer.body.contains(like) && answer.body.contains("choose another user name"),
            "{name}: {}",
            answer.body
        );
        assert!(!visitor.cookies.contains_key("pb_session"), "{name}");
        assert!(!registry.registry.user_exists(name)?, "{name}");
    }
    let mut visitor = Visitor::at(&registry, local_address(20))?;
    visitor.sign_up("alicia").await?;

    // …and through the operator's commands.
    let error = registry
        .registry
        .create_token("a1ice", plugboard_registry::Scope::ALL)
        .err()
        .ok_or("a token for a1ice")?;
    assert!(
        error.to_string().contains("the existing account `alice`"),
        "{error}"
    );
    let error = registry
        .registry
        .set_password("vvebhook", "a long enough password");
    assert!(error.is_ok(), "no account reads like `webhook`: {error:?}");
    let error = registry
        .registry
        .set_password("b0b", "a long enough password")
        .err()
        .ok_or("a password for b0b")?;
    assert!(
        error.to_string().contains("the existing account `bob`"),
        "{error}"
    );
    // Existing accounts are never refused.
    registry
        .registry
        .create_token("alice", plugboard_registry::Scope::ALL)?;
    Ok(())
}
