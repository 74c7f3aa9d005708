//! `plugboard.lock`: its exact text, round trips, refusals that name the
//! line, and the download check.

use plugboard_resolver::lockfile::LOCKFILE_NAME;
use plugboard_resolver::{LockedPlugin, Lockfile, LockfileError, Request, WitSupport, resolve};

use crate::support::*;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn sample() -> Result<Lockfile> {
    let idx = index([
        entry("poll", "1.2.0", &[("economy", "^1.2")]),
        entry("economy", "1.3.0", &[]),
        entry("dice", "0.4.1", &[]),
    ]);
    let request = Request::new(WitSupport::speaks(&[host_wit()]))
        .require("poll", req("^1"))
        .require("dice", req("*"));
    Ok(resolve(&idx, &request)?.to_lockfile())
}

#[test]
fn exact_text_sorted_by_name() -> Result {
    let text = sample()?.to_toml();
    let expected = format!(
        r#"# This file is written by plugboard; do not edit it by hand.
version = 1

[[plugin]]
name = "dice"
version = "0.4.1"
registry = "default"
sha256 = "{}"
dependencies = []

[[plugin]]
name = "economy"
version = "1.3.0"
registry = "default"
sha256 = "{}"
dependencies = []

[[plugin]]
name = "poll"
version = "1.2.0"
registry = "default"
sha256 = "{}"
dependencies = ["economy 1.3.0"]
"#,
        sha_of("dice", &v("0.4.1")),
        sha_of("economy", &v("1.3.0")),
        sha_of("poll", &v("1.2.0")),
    );
    assert_eq!(text, expected);
    assert_eq!(Lockfile::parse(&text)?, sample()?);
    Ok(())
}

#[test]
fn save_and_load() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(LOCKFILE_NAME);
    assert_eq!(Lockfile::load(&path)?, None);
    let lock = sample()?;
    lock.save(&path)?;
    assert_eq!(Lockfile::load(&path)?, Some(lock.clone()));
    let poll = lock.get("poll").ok_or("poll missing")?;
    assert_eq!(poll.dependency_pairs(), [("economy", v("1.3.0"))]);
    Ok(())
}

#[test]
fn refusals_name_the_problem() -> Result {
    let good = sample()?.to_toml();
    let cases: Vec<(String, &str)> = vec![
        (
            good.replace("name = \"economy\"", "name = economy"),
            "plugboard.lock line 12 is broken",
        ),
        (
            good.replace("version = 1", "version = 2"),
            "has format version 2",
        ),
        (
            good.replace("name = \"economy\"", "name = \"dice\""),
            "the entry for `dice` appears twice",
        ),
        (
            good.replace(&sha_of("poll", &v("1.2.0")), "abc"),
            "has sha256 `abc`, which is not 64 lowercase hex digits",
        ),
        (
            good.replace("\"economy 1.3.0\"", "\"economy\""),
            "dependency `economy` is not written as \"name version\"",
        ),
        (
            good.replace(
                "registry = \"default\"\nsha256",
                "registry = \"default\"\nchecksum = \"x\"\nsha256",
            ),
            "unknown field `checksum`",
        ),
    ];
    for (text, needle) in cases {
        let err = Lockfile::parse(&text).expect_err(needle).to_string();
        assert!(err.contains(needle), "{needle} not in: {err}");
    }
    Ok(())
}

#[test]
fn downloads_are_checked_against_the_lock() -> Result {
    let mut lock = sample()?;
    let poll = v("1.2.0");
    lock.check_download("poll", &poll, &sha_of("poll", &poll))?;
    let err = lock
        .check_download("poll", &poll, &"0".repeat(64))
        .expect_err("tampered");
    assert!(matches!(err, LockfileError::PackageChecksum { .. }));
    assert!(
        err.to_string()
            .contains("was tampered with; it was not installed"),
        "{err}"
    );
    let err = lock
        .check_download("poll", &v("1.3.0"), &"0".repeat(64))
        .expect_err("not locked");
    assert!(matches!(err, LockfileError::NotLocked { .. }));

    lock.insert(LockedPlugin::new(
        "alpha",
        v("0.1.0"),
        "default",
        "f".repeat(64),
        [],
    ));
    assert_eq!(lock.plugins()[0].name, "alpha");
    assert!(lock.remove("alpha").is_some() && lock.get("alpha").is_none());
    Ok(())
}
