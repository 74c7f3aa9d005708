//! Sign-in limits under attack. The attackers' browsers connect from other
//! loopback addresses (Linux routes all of 127.0.0.0/8 to `lo`), each in
//! its own /24 where the attack needs many networks.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::StatusCode;

use crate::support::{Answer, TestResult, Visitor, start};

const PASSWORD: &str = "alice's long password";

async fn sign_in(
    visitor: &mut Visitor<'_>,
    user: &str,
    password: &str,
) -> crate::support::Result<Answer> {
    visitor
        .post("/signin", &[("username", user), ("password", password)])
        .await
}

fn retry_after(answer: &Answer) -> u64 {
    answer
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The attack that locked owners out of the account-wide bucket: many
/// failed sign-ins for `alice` from forty addresses in forty networks. The
/// registry checks at most the account's budget of those passwords, yet
/// alice signs in from the browser she used before. From a browser she has
/// not used (even at her usual address) she is asked to use a known one or
/// wait, which is the price of holding a distributed guesser to the
/// account's rate.
#[tokio::test]
async fn failed_sign_ins_from_many_addresses_do_not_lock_the_owner_out() -> TestResult {
    let registry = start().await?;
    registry.registry.set_password("alice", PASSWORD)?;
    let mut laptop = Visitor::new(&registry)?;
    let first = sign_in(&mut laptop, "alice", PASSWORD).await?;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let device = first
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("pb_device="))
        .ok_or("a device cookie after signing in")?
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/signin"] {
        assert!(device.contains(flag), "{flag} in {device}");
    }
    laptop.post("/signout", &[]).await?;

    let (mut checked, mut protected) = (0, 0);
    for network in 0..40u8 {
        let address = IpAddr::V4(Ipv4Addr::new(127, 1, network, 1));
        let mut attacker = Visitor::at(&registry, address)?;
        for guess in 0..3 {
            let answer =
                sign_in(&mut attacker, "alice", &format!("guess {network} {guess}")).await?;
            match answer.status {
                StatusCode::UNPROCESSABLE_ENTITY => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    assert!(
                        answer
                            .body
                            .contains("only from browsers that signed in to it before"),
                        "{}",
                        answer.body
                    );
                    protected += 1;
                }
                other => panic!("a guess got {other}: {}", answer.body),
            }
        }
    }
    assert!(
        checked <= 21,
        "{checked} guesses were checked; the account allows 20 per 15 minutes"
    );
    assert_eq!(checked + protected, 120);

    // Alice, from the browser she signed in with before: in.
    let signed = sign_in(&mut laptop, "alice", PASSWORD).await?;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);
    assert!(laptop.page("/").await?.contains("Sign out"));

    // A mistyped password from her browser is hers to retry.
    laptop.post("/signout", &[]).await?;
    let typo = sign_in(&mut laptop, "alice", "alice's long pasword").await?;
    assert_eq!(typo.status, StatusCode::UNPROCESSABLE_ENTITY);
    let signed = sign_in(&mut laptop, "alice", PASSWORD).await?;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.body);

    // From a browser she never signed in with, the account is protected:
    // 429 before the password is checked, saying what to do.
    let mut borrowed = Visitor::new(&registry)?;
    let refused = sign_in(&mut borrowed, "alice", PASSWORD).await?;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused.body.contains("Sign in from one of those"),
        "{}",
        refused.body
    );
    assert!(retry_after(&refused) >= 1);

    // A device cookie is the account's: alice's does not open bob's limits.
    registry
        .registry
        .set_password("bob", "bob's long password!")?;
    let bob = sign_in(&mut laptop, "bob", "bob's long password!").await?;
    assert_eq!(
        bob.status,
        StatusCode::SEE_OTHER,
        "bob's account was never attacked"
    );
    Ok(())
}

/// Failures from one address earn it doubling delays, whatever accounts
/// they try; so do failures spread over one subnet (a /24), which other
/// subnets do not feel.
#[tokio::test]
async fn failures_slow_down_their_address_and_subnet() -> TestResult {
    let registry = start().await?;
    let at = |a: u8, b: u8, c: u8| Visitor::at(&registry, IpAddr::V4(Ipv4Addr::new(127, a, b, c)));

    // One address: five failures free, then 1 s, 2 s, … before the next.
    let mut guesser = at(3, 0, 1)?;
    for n in 0..6 {
        let answer = sign_in(&mut guesser, &format!("nobody-{n}"), "not the password").await?;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "failure {n}"
        );
    }
    let slowed = sign_in(&mut guesser, "nobody-6", "not the password").await?;
    assert_eq!(slowed.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&slowed), 1);
    assert!(slowed.body.contains("from your network"), "{}", slowed.body);

    // One /24: twenty failures free across its addresses, then the whole
    // subnet waits; the next /24 does not.
    for host in 1..=20u8 {
        let mut neighbour = at(4, 0, host)?;
        let answer = sign_in(
            &mut neighbour,
            &format!("nobody-{host}"),
            "not the password",
        )
        .await?;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "host {host}"
        );
    }
    let mut one_more = at(4, 0, 21)?;
    let first_failure = sign_in(&mut one_more, "nobody-21", "not the password").await?;
    assert_eq!(first_failure.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fresh_address = at(4, 0, 99)?;
    let slowed = sign_in(&mut fresh_address, "someone", "not the password").await?;
    assert_eq!(
        slowed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a new address in a subnet past its failures waits too"
    );
    let mut next_subnet = at(4, 1, 99)?;
    let fine = sign_in(&mut next_subnet, "someone", "not the password").await?;
    assert_eq!(fine.status, StatusCode::UNPROCESSABLE_ENTITY);
    Ok(())
}
