//! The exact texts of "no solution" explanations, one golden file per
//! conflict shape in `tests/snapshots/`. Run with `BLESS=1` to rewrite them
//! after an intended wording change, and review the diff.

use std::path::PathBuf;

use plugboard_resolver::{MemoryIndex, Request, WitSupport, resolve};

use crate::support::*;

fn host() -> Request<'static> {
    Request::new(WitSupport::speaks(&[host_wit()]))
}

fn assert_snapshot(name: &str, index: &MemoryIndex, request: &Request<'_>) {
    let actual = match resolve(index, request) {
        Ok(resolution) => panic!("{name}: expected a failure, resolved {resolution:?}"),
        Err(err) => format!("{err}\n"),
    };
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        actual,
        expected,
        "{name}: the explanation changed; if that is intended, run with BLESS=1 and review {}",
        path.display()
    );
}

#[test]
fn a_dependency_against_your_request() {
    let idx = index([
        entry("poll", "1.2.0", &[("economy", "^2")]),
        entry("economy", "1.0.0", &[]),
        entry("economy", "1.3.0", &[]),
        entry("economy", "2.0.0", &[]),
    ]);
    let request = host()
        .require("poll", req("^1"))
        .require("economy", req("^1.0"));
    assert_snapshot("dependency_vs_request", &idx, &request);
}

#[test]
fn two_plugins_need_different_majors() {
    let idx = index([
        entry("poll", "1.0.0", &[("economy", "^1")]),
        entry("poll", "1.1.0", &[("economy", "^1")]),
        entry("shop", "0.3.0", &[("economy", "^2")]),
        entry("economy", "1.0.0", &[]),
        entry("economy", "1.3.0", &[]),
        entry("economy", "2.0.0", &[]),
        entry("economy", "2.1.0", &[]),
    ]);
    let request = host().require("poll", req("*")).require("shop", req("*"));
    assert_snapshot("two_plugins", &idx, &request);
}

#[test]
fn only_versions_for_another_wit_or_yanked() {
    let mut needs_new_wit = entry("economy", "2.0.0", &[]);
    needs_new_wit.wit = v("0.3.0");
    let mut yanked = entry("economy", "2.1.0", &[]);
    yanked.yanked = true;
    let idx = index([
        entry("poll", "1.2.0", &[("economy", "^2")]),
        entry("economy", "1.0.0", &[]),
        needs_new_wit,
        yanked,
    ]);
    assert_snapshot("wit_and_yanked", &idx, &host().require("poll", req("^1")));

    let mut only_new = entry("economy", "2.0.0", &[]);
    only_new.wit = v("0.3.0");
    let idx = index([only_new]);
    assert_snapshot("wit_only", &idx, &host().require("economy", req("^2")));
}

#[test]
fn a_dependency_that_does_not_exist() {
    let idx = index([
        entry("poll", "1.2.0", &[("ecnomy", "^2")]),
        entry("economy", "1.0.0", &[]),
    ]);
    assert_snapshot(
        "unknown_dependency",
        &idx,
        &host().require("poll", req("^1")),
    );
    assert_snapshot(
        "unknown_request",
        &idx,
        &host().require("ecnomy", req("^1")),
    );
}

#[test]
fn a_requirement_nothing_matches() {
    let idx = index([
        entry("economy", "1.0.0", &[]),
        entry("economy", "1.1.0", &[]),
    ]);
    assert_snapshot("no_match", &idx, &host().require("economy", req("^5")));
}

#[test]
fn a_conflict_two_levels_down() {
    let idx = index([
        entry("a", "1.0.0", &[("b", "^1"), ("c", "^1")]),
        entry("b", "1.0.0", &[("d", "=1.0.0")]),
        entry("b", "1.1.0", &[("d", "=1.1.0")]),
        entry("c", "1.0.0", &[("d", "^2")]),
        entry("d", "1.0.0", &[]),
        entry("d", "1.1.0", &[]),
        entry("d", "2.0.0", &[]),
    ]);
    assert_snapshot("deep", &idx, &host().require("a", req("*")));
}

#[test]
fn every_version_of_a_plugin_fails_differently() {
    let idx = index([
        entry("poll", "1.0.0", &[("economy", "^1"), ("ledger", "^2")]),
        entry("poll", "1.1.0", &[("economy", "^1.1")]),
        entry("poll", "2.0.0", &[("economy", "^2")]),
        entry("economy", "1.0.0", &[]),
        entry("economy", "1.1.0", &[]),
        entry("ledger", "1.0.0", &[]),
    ]);
    let request = host()
        .require("poll", req("*"))
        .require("economy", req("=1.0.0"));
    assert_snapshot("many_versions", &idx, &request);
}
