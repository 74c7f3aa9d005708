//! Interfaces plugins provide to each other: a dependency's version is a
//! candidate only if it provides, at a compatible version, every interface
//! the dependent imports from it; and when none does, the explanation names
//! the dependent, the interface and what the versions provide.

use plugboard_resolver::{MemoryIndex, Request, ResolveError, WitSupport, resolve};

use crate::support::*;

const API_1_0: &str = "plugins:economy/api@1.0.0";
const API_1_1: &str = "plugins:economy/api@1.1.0";
const API_1_2: &str = "plugins:economy/api@1.2.0";
const API_2_0: &str = "plugins:economy/api@2.0.0";

fn host() -> Request<'static> {
    Request::new(WitSupport::speaks(&[host_wit()]))
}

fn chosen(index: &MemoryIndex, request: &Request<'_>) -> Vec<String> {
    match resolve(index, request) {
        Ok(resolution) => resolution
            .plugins
            .iter()
            .map(|p| format!("{} {}", p.name, p.version))
            .collect(),
        Err(err) => panic!("expected a resolution, got: {err}"),
    }
}

fn explanation(index: &MemoryIndex, request: &Request<'_>) -> String {
    match resolve(index, request) {
        Ok(resolution) => panic!("expected a failure, resolved {resolution:?}"),
        Err(err @ ResolveError::NoSolution { .. }) => err.to_string(),
        Err(other) => panic!("expected NoSolution, got {other:?}"),
    }
}

fn economies() -> Vec<plugboard_registry_types::IndexEntry> {
    vec![
        entry_with("economy", "1.0.0", &[], &[API_1_0], &[]),
        entry_with("economy", "1.1.0", &[], &[API_1_1], &[]),
        entry_with("economy", "1.2.0", &[], &[API_1_2], &[]),
        entry_with("economy", "2.0.0", &[], &[API_2_0], &[]),
    ]
}

/// A leaderboard at `version`, depending on economy `req` and importing
/// `import` from it.
fn leaderboard(version: &str, req: &str, import: &str) -> plugboard_registry_types::IndexEntry {
    entry_with("leaderboard", version, &[("economy", req)], &[], &[import])
}

#[test]
fn the_newest_version_providing_a_compatible_interface_is_chosen() {
    let mut entries = economies();
    entries.push(leaderboard("1.0.0", "*", API_1_1));
    let idx = index(entries);
    // `*` allows 2.0.0, but its api@2.0.0 does not serve an import of 1.1.
    let request = host().require("leaderboard", req("^1"));
    assert_eq!(
        chosen(&idx, &request),
        ["economy 1.2.0", "leaderboard 1.0.0"]
    );

    // A newer economy that stopped providing the interface is passed over.
    let mut entries = economies();
    entries.push(entry_with("economy", "1.3.0", &[], &[], &[]));
    entries.push(leaderboard("1.0.0", "^1", API_1_0));
    let idx = index(entries);
    assert_eq!(
        chosen(&idx, &request),
        ["economy 1.2.0", "leaderboard 1.0.0"]
    );

    // Without imports, the newest matching version wins as before.
    let idx = index([
        entry_with("economy", "1.0.0", &[], &[API_1_0], &[]),
        entry_with("economy", "1.3.0", &[], &[], &[]),
        entry("leaderboard", "1.0.0", &[("economy", "^1")]),
    ]);
    assert_eq!(
        chosen(&idx, &request),
        ["economy 1.3.0", "leaderboard 1.0.0"]
    );
}

#[test]
fn a_dependent_whose_import_nothing_serves_is_passed_over() {
    let mut entries = economies();
    // 1.1.0 imports api@2.0.0 but asks for economy ^1: it can never work.
    entries.push(leaderboard("1.0.0", "^1", API_1_0));
    entries.push(leaderboard("1.1.0", "^1", API_2_0));
    let idx = index(entries);
    let request = host().require("leaderboard", req("^1"));
    assert_eq!(
        chosen(&idx, &request),
        ["economy 1.2.0", "leaderboard 1.0.0"]
    );
}

#[test]
fn no_version_provides_the_import() {
    let mut entries = economies();
    entries.push(leaderboard("2.0.0", "^1", API_2_0));
    let idx = index(entries);
    let text = explanation(&idx, &host().require("leaderboard", req("^2")));
    assert!(
        text.contains(
            "leaderboard 2.0.0 depends on economy ^1 and imports plugins:economy/api@2.0.0 from it, \
             but no version of economy matching ^1 provides plugins:economy/api@2.0.0 or a compatible version \
             (economy 1.2.0 provides plugins:economy/api@1.2.0; economy 1.1.0 provides plugins:economy/api@1.1.0; \
             economy 1.0.0 provides plugins:economy/api@1.0.0)"
        ),
        "{text}"
    );
}

#[test]
fn the_interface_clashes_with_your_request() {
    let mut entries = economies();
    entries.push(leaderboard("1.0.0", "^1", API_1_1));
    let idx = index(entries);
    let request = host()
        .require("leaderboard", req("^1"))
        .require("economy", req("=1.0.0"));
    let text = explanation(&idx, &request);
    assert!(
        text.contains(
            "leaderboard 1.0.0 depends on economy ^1 and imports plugins:economy/api@1.1.0 from it, \
             but you asked for economy =1.0.0; no usable version of economy satisfies both."
        ),
        "{text}"
    );
}

#[test]
fn an_import_no_dependency_ever_provides() {
    let idx = index([
        entry_with("economy", "1.0.0", &[], &[API_1_0], &[]),
        entry_with(
            "shop",
            "1.0.0",
            &[("economy", "^1")],
            &[],
            &[API_1_0, "acme:bank/api@1.0.0"],
        ),
    ]);
    let text = explanation(&idx, &host().require("shop", req("^1")));
    assert!(
        text.contains(
            "shop 1.0.0 imports acme:bank/api@1.0.0, which none of its dependencies (economy) \
             provides in any version the registry lists"
        ),
        "{text}"
    );
}

#[test]
fn one_version_must_provide_every_import() {
    let idx = index([
        entry_with("bank", "1.0.0", &[], &["acme:bank/api@1.0.0"], &[]),
        entry_with("bank", "1.1.0", &[], &["acme:bank/admin@1.0.0"], &[]),
        entry_with(
            "teller",
            "1.0.0",
            &[("bank", "^1")],
            &[],
            &["acme:bank/api@1.0.0", "acme:bank/admin@1.0.0"],
        ),
    ]);
    let text = explanation(&idx, &host().require("teller", req("^1")));
    assert!(
        text.contains(
            "teller 1.0.0 depends on bank ^1 and imports acme:bank/api@1.0.0 and \
             acme:bank/admin@1.0.0 from it, but no single version of bank matching ^1 provides \
             them all"
        ),
        "{text}"
    );
}
