//! Resolution behaviour: newest versions, install order, the lockfile's
//! preference, yanked versions, WIT support, tamper checks, index errors.

use std::collections::BTreeSet;

use crate::support::*;
use plugboard_registry_types::IndexEntry;
use plugboard_resolver::{
    Index, Lockfile, MemoryIndex, Request, Resolution, ResolveError, Update, WitSupport, resolve,
};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn host() -> Request<'static> {
    Request::new(WitSupport::speaks(&[host_wit()]))
}

fn chosen(resolution: &Resolution) -> Vec<String> {
    resolution
        .plugins
        .iter()
        .map(|p| format!("{} {}", p.name, p.version))
        .collect()
}

fn shop() -> MemoryIndex {
    index([
        entry("poll", "1.0.0", &[("economy", "^1.0")]),
        entry("poll", "1.1.0", &[("economy", "^1.2")]),
        entry("poll", "2.0.0", &[("economy", "^2")]),
        entry("economy", "1.0.0", &[("ledger", "^0.1")]),
        entry("economy", "1.2.0", &[("ledger", "^0.1")]),
        entry("economy", "1.3.0", &[("ledger", "^0.1")]),
        entry("economy", "1.5.0-beta.1", &[("ledger", "^0.1")]),
        entry("economy", "2.0.0", &[("ledger", "^0.2")]),
        entry("ledger", "0.1.0", &[]),
        entry("ledger", "0.1.4", &[]),
        entry("ledger", "0.2.0", &[]),
        entry("dice", "1.0.0", &[]),
    ])
}

#[test]
fn newest_allowed_versions_in_install_order() -> Result {
    let resolution = resolve(
        &shop(),
        &host().require("poll", req("^1")).require("dice", req("*")),
    )?;
    assert_eq!(
        chosen(&resolution),
        ["dice 1.0.0", "ledger 0.1.4", "economy 1.3.0", "poll 1.1.0"]
    );
    let poll = resolution.get("poll").ok_or("poll missing")?;
    assert_eq!(poll.dependencies, [("economy".to_owned(), v("1.3.0"))]);
    assert_eq!(poll.entry.sha256, sha_of("poll", &v("1.1.0")));
    Ok(())
}

#[test]
fn pre_releases_only_when_asked_for() -> Result {
    let plain = resolve(&shop(), &host().require("economy", req("^1")))?;
    assert_eq!(plain.get("economy").map(|p| &p.version), Some(&v("1.3.0")));
    let beta = resolve(&shop(), &host().require("economy", req("^1.5.0-beta")))?;
    assert_eq!(
        beta.get("economy").map(|p| &p.version),
        Some(&v("1.5.0-beta.1"))
    );
    Ok(())
}

fn lock_of(resolution: &Resolution) -> Lockfile {
    resolution.to_lockfile()
}

#[test]
fn install_keeps_locked_versions_and_update_moves_them() -> Result {
    let mut idx = index([
        entry("poll", "1.0.0", &[("economy", "^1.0")]),
        entry("economy", "1.0.0", &[]),
        entry("dice", "1.0.0", &[]),
    ]);
    let lock = lock_of(&resolve(&idx, &host().require("poll", req("*")))?);
    // New releases appear.
    idx.add(entry("poll", "1.1.0", &[("economy", "^1.1")]));
    idx.add(entry("economy", "1.1.0", &[]));
    idx.add(entry("economy", "1.2.0", &[]));

    // Installing another plugin moves nothing.
    let install = host()
        .require("poll", req("*"))
        .require("dice", req("*"))
        .with_lock(&lock);
    assert_eq!(
        chosen(&resolve(&idx, &install)?),
        ["dice 1.0.0", "economy 1.0.0", "poll 1.0.0"]
    );
    // Updating everything takes the newest.
    let all = host()
        .require("poll", req("*"))
        .with_lock(&lock)
        .update(Update::All);
    assert_eq!(
        chosen(&resolve(&idx, &all)?),
        ["economy 1.2.0", "poll 1.1.0"]
    );
    // Updating economy alone keeps poll locked.
    let only = |names: &[&str]| Update::Only(names.iter().map(|s| (*s).to_owned()).collect());
    let economy = host()
        .require("poll", req("*"))
        .with_lock(&lock)
        .update(only(&["economy"]));
    assert_eq!(
        chosen(&resolve(&idx, &economy)?),
        ["economy 1.2.0", "poll 1.0.0"]
    );
    // Updating poll alone moves economy only as far as poll needs.
    let poll = host()
        .require("poll", req("*"))
        .with_lock(&lock)
        .update(only(&["poll"]));
    assert_eq!(
        chosen(&resolve(&idx, &poll)?),
        ["economy 1.2.0", "poll 1.1.0"]
    );
    // A requirement the lock no longer meets moves that plugin.
    let stricter = host().require("poll", req("^1.1")).with_lock(&lock);
    // (economy's pin 1.0.0 is outside what poll 1.1.0 allows, so it takes the newest.)
    assert_eq!(
        chosen(&resolve(&idx, &stricter)?),
        ["economy 1.2.0", "poll 1.1.0"]
    );
    // Plugins nothing needs any more drop out.
    let dropped = host().require("dice", req("*")).with_lock(&lock);
    assert_eq!(chosen(&resolve(&idx, &dropped)?), ["dice 1.0.0"]);
    Ok(())
}

#[test]
fn yanked_versions_only_when_locked() -> Result {
    let mut idx = index([
        entry("economy", "1.0.0", &[]),
        entry("economy", "1.1.0", &[]),
    ]);
    let lock = lock_of(&resolve(&idx, &host().require("economy", req("^1")))?);
    idx.get_mut("economy", &v("1.1.0"))
        .ok_or("no entry")?
        .yanked = true;

    let fresh = resolve(&idx, &host().require("economy", req("^1")))?;
    assert_eq!(chosen(&fresh), ["economy 1.0.0"]);
    let locked = resolve(&idx, &host().require("economy", req("^1")).with_lock(&lock))?;
    assert_eq!(chosen(&locked), ["economy 1.1.0"]);
    let updated = host()
        .require("economy", req("^1"))
        .with_lock(&lock)
        .update(Update::All);
    assert_eq!(chosen(&resolve(&idx, &updated)?), ["economy 1.0.0"]);
    Ok(())
}

#[test]
fn versions_for_other_wit_versions_are_skipped() -> Result {
    let mut newer = entry("economy", "1.1.0", &[]);
    newer.wit = v("0.2.0");
    let idx = index([entry("economy", "1.0.0", &[]), newer]);
    let old_host = resolve(&idx, &host().require("economy", req("^1")))?;
    assert_eq!(chosen(&old_host), ["economy 1.0.0"]);
    let new_host =
        Request::new(WitSupport::speaks(&[v("0.1.0"), v("0.2.0")])).require("economy", req("^1"));
    assert_eq!(chosen(&resolve(&idx, &new_host)?), ["economy 1.1.0"]);
    Ok(())
}

#[test]
fn wit_compatibility_lines() {
    let host = WitSupport::speaks(&[v("0.1.3"), v("1.2.0")]);
    for (wit, ok) in [
        ("0.1.0", true),
        ("0.1.3", true),
        // Patch numbers never matter (the one contract rule, shared with
        // the runtime's loader): a plugin built against 0.1.4 loads on 0.1.3.
        ("0.1.4", true),
        ("0.2.0", false),
        ("0.0.1", false),
        ("1.0.0", true),
        ("1.2.0", true),
        ("1.3.0", false),
        ("2.0.0", false),
    ] {
        assert_eq!(host.supports(&v(wit)), ok, "{wit}");
    }
    assert_eq!(host.to_string(), "0.1.3 and 1.2");
    assert!(WitSupport::matching(req("^0.1")).supports(&v("0.1.9")));
    assert!(WitSupport::any().supports(&v("9.0.0")));
}

#[test]
fn tampered_lockfiles_are_refused() -> Result {
    let idx = shop();
    let good = lock_of(&resolve(&idx, &host().require("dice", req("*")))?);
    let tampered = Lockfile::parse(
        &good
            .to_toml()
            .replace(&sha_of("dice", &v("1.0.0")), &"e".repeat(64)),
    )?;
    let err = resolve(&idx, &host().require("dice", req("*")).with_lock(&tampered))
        .expect_err("tampered");
    assert_eq!(
        err.to_string(),
        format!(
            "plugboard.lock says dice 1.0.0 has sha256 {}, the registry `default` says {}; someone \
             changed the lockfile or the registry; delete the entry with `plugboard update dice` if \
             you trust the registry",
            "e".repeat(64),
            sha_of("dice", &v("1.0.0"))
        )
    );
    // Updating that plugin drops the pin deliberately.
    let update = host()
        .require("dice", req("*"))
        .with_lock(&tampered)
        .update(Update::Only(BTreeSet::from(["dice".to_owned()])));
    assert_eq!(chosen(&resolve(&idx, &update)?), ["dice 1.0.0"]);

    let missing = Lockfile::parse(&good.to_toml().replace("1.0.0", "1.0.9"))?;
    let err =
        resolve(&idx, &host().require("dice", req("*")).with_lock(&missing)).expect_err("missing");
    assert!(
        matches!(err, ResolveError::LockedVersionMissing { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("pins dice 1.0.9, but registry `default` does not list")
    );

    let moved = Lockfile::parse(&good.to_toml().replace("\"default\"", "\"mirror\""))?;
    let err = resolve(&idx, &host().require("dice", req("*")).with_lock(&moved))
        .expect_err("other registry");
    assert!(
        err.to_string().contains("comes from registry `mirror`"),
        "{err}"
    );
    Ok(())
}

#[test]
fn unknown_plugins_get_suggestions() {
    let err = resolve(&shop(), &host().require("ecnomy", req("*"))).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "no plugin named `ecnomy` in registry `default`; did you mean `economy`?"
    );
    let err = resolve(&shop(), &host().require("weather", req("*"))).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "no plugin named `weather` in registry `default`; check the spelling, or search with \
         `plugboard search`"
    );
}

/// An index whose every read fails, like a registry that is down.
struct Offline;

#[derive(Debug, thiserror::Error)]
#[error("connection refused")]
struct Refused;

impl Index for Offline {
    type Error = Refused;

    fn registry_name(&self) -> &str {
        "default"
    }

    fn versions(&self, _: &str) -> std::result::Result<Vec<IndexEntry>, Refused> {
        Err(Refused)
    }
}

#[test]
fn index_errors_name_the_plugin_and_keep_the_cause() {
    let err = resolve(&Offline, &host().require("poll", req("*"))).expect_err("offline");
    assert!(
        err.to_string()
            .starts_with("cannot read the index of `poll` from registry `default`")
    );
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("connection refused"));
}

#[test]
fn broken_indexes_are_refused() {
    struct Liar;
    impl Index for Liar {
        type Error = std::convert::Infallible;
        fn registry_name(&self) -> &str {
            "default"
        }
        fn versions(&self, _: &str) -> std::result::Result<Vec<IndexEntry>, Self::Error> {
            Ok(vec![entry("other", "1.0.0", &[])])
        }
    }
    let err = resolve(&Liar, &host().require("poll", req("*"))).expect_err("liar");
    assert!(
        err.to_string().contains("contains an entry for `other`"),
        "{err}"
    );
}

#[test]
fn dependency_cycles_resolve() -> Result {
    let idx = index([
        entry("a", "1.0.0", &[("b", "^1")]),
        entry("b", "1.0.0", &[("a", "^1")]),
    ]);
    let resolution = resolve(&idx, &host().require("a", req("*")))?;
    assert_eq!(chosen(&resolution), ["a 1.0.0", "b 1.0.0"]);
    Ok(())
}
