//! The resolver against a brute-force oracle on small random registries:
//! whenever some choice of versions satisfies everything, the resolver finds
//! a valid one; whenever it reports no solution, none exists; and locked
//! versions that still work are kept. The seeded registries also provide
//! and import interfaces: a solution must give every import a dependency
//! version that provides it at a compatible version.

use std::collections::BTreeMap;

use plugboard_registry_types::IndexEntry;
use plugboard_registry_types::index::imports_from;
use plugboard_resolver::{
    Index, LockedPlugin, Lockfile, MemoryIndex, Request, ResolveError, Update, WitSupport, resolve,
};
use proptest::prelude::{ProptestConfig, Strategy, prop, prop_assert_eq, proptest};
use semver::{Version, VersionReq};

use crate::support::*;

const NAMES: &[&str] = &["alpha", "beta", "gamma", "delta"];
const VERSIONS: &[&str] = &["0.1.0", "0.1.1", "1.0.0", "1.1.0", "1.2.0-beta", "2.0.0"];
const REQS: &[&str] = &[
    "*",
    "^1",
    "^0.1",
    "~1.1",
    ">=1.1",
    "<2",
    "=1.0.0",
    "^2",
    ">1.0.0, <2.1.0",
    "^1.2.0-beta",
];

/// Versions of the interface each plugin may provide (`plugins:<name>/api`).
const INTERFACE_VERSIONS: &[&str] = &["0.1.0", "1.0.0", "1.1.0", "2.0.0"];

struct Case {
    index: MemoryIndex,
    roots: BTreeMap<String, VersionReq>,
    lock: Option<Lockfile>,
}

fn random_case(rng: &mut Rng) -> Case {
    let mut index = MemoryIndex::new("default");
    let mut all: Vec<IndexEntry> = Vec::new();
    for name in NAMES {
        for version in VERSIONS {
            if !rng.chance(45) {
                continue;
            }
            let mut deps = Vec::new();
            for _ in 0..rng.below(3) {
                let dep = *rng.pick(NAMES);
                if dep != *name {
                    deps.push((dep, *rng.pick(REQS)));
                }
            }
            let mut e = entry(name, version, &deps);
            e.yanked = rng.chance(10);
            if rng.chance(10) {
                e.wit = Version::new(0, 3, 0);
            }
            if rng.chance(85) {
                let v = rng.pick(INTERFACE_VERSIONS);
                e.provides.push(format!("plugins:{name}/api@{v}"));
            }
            for dep in e.deps.keys().cloned().collect::<Vec<_>>() {
                if rng.chance(30) {
                    let v = rng.pick(INTERFACE_VERSIONS);
                    e.imports.push(format!("plugins:{dep}/api@{v}"));
                }
            }
            if rng.chance(3) {
                e.imports.push("plugins:nobody/api@1.0.0".into());
            }
            all.push(e);
        }
    }
    for e in &all {
        index.add(e.clone());
    }
    let mut roots = BTreeMap::new();
    for _ in 0..rng.below(2) + 1 {
        roots.insert((*rng.pick(NAMES)).to_owned(), req(rng.pick::<&str>(REQS)));
    }
    let lock = rng.chance(50).then(|| {
        Lockfile::new(NAMES.iter().filter_map(|name| {
            let versions: Vec<&IndexEntry> = all.iter().filter(|e| e.name == *name).collect();
            if versions.is_empty() || rng.chance(20) {
                return None;
            }
            let e = *rng.pick(&versions);
            Some(LockedPlugin::new(
                e.name.clone(),
                e.version.clone(),
                "default",
                e.sha256.clone(),
                [],
            ))
        }))
    });
    Case { index, roots, lock }
}

/// Which versions the oracle may choose: WIT supported, and not yanked
/// unless locked at exactly that version.
fn usable(case: &Case, e: &IndexEntry, lock_honoured: bool) -> bool {
    let locked = lock_honoured
        && case
            .lock
            .as_ref()
            .and_then(|l| l.get(&e.name))
            .is_some_and(|p| p.version == e.version);
    e.wit == host_wit() && (!e.yanked || locked)
}

fn valid(case: &Case, chosen: &BTreeMap<String, Version>) -> bool {
    let roots_ok = case
        .roots
        .iter()
        .all(|(n, r)| chosen.get(n).is_some_and(|v| r.matches(v)));
    roots_ok
        && chosen.iter().all(|(name, version)| {
            let Ok(entries) = case.index.versions(name);
            entries
                .iter()
                .find(|e| &e.version == version)
                .is_some_and(|e| {
                    e.deps
                        .iter()
                        .all(|(d, r)| chosen.get(d).is_some_and(|v| r.matches(v)))
                        && imports_served(case, e, chosen)
                })
        })
}

/// Whether every import of `e` comes from some dependency (one that
/// provides its interface at any version) and the chosen version of each
/// such dependency provides it at a compatible version.
fn imports_served(case: &Case, e: &IndexEntry, chosen: &BTreeMap<String, Version>) -> bool {
    e.imported_interfaces().iter().all(|wanted| {
        let mut sources = 0;
        let all_serve = e.deps.keys().all(|dep| {
            let Ok(versions) = case.index.versions(dep);
            if imports_from(std::slice::from_ref(wanted), &versions).is_empty() {
                return true;
            }
            sources += 1;
            chosen.get(dep).is_some_and(|v| {
                versions
                    .iter()
                    .find(|d| &d.version == v)
                    .is_some_and(|d| d.provides_for(wanted))
            })
        });
        all_serve && sources > 0
    })
}

/// Tries every assignment of "absent or one usable version" to every plugin
/// and returns the valid ones.
fn oracle_solutions(case: &Case, lock_honoured: bool) -> Vec<BTreeMap<String, Version>> {
    let mut solutions = Vec::new();
    let options: Vec<(String, Vec<Option<Version>>)> = NAMES
        .iter()
        .map(|name| {
            let Ok(entries) = case.index.versions(name);
            let mut opts = vec![None];
            opts.extend(
                entries
                    .iter()
                    .filter(|e| usable(case, e, lock_honoured))
                    .map(|e| Some(e.version.clone())),
            );
            ((*name).to_owned(), opts)
        })
        .collect();
    let mut counters = vec![0usize; options.len()];
    loop {
        let chosen: BTreeMap<String, Version> = options
            .iter()
            .zip(&counters)
            .filter_map(|((name, opts), &i)| opts[i].clone().map(|v| (name.clone(), v)))
            .collect();
        if valid(case, &chosen) {
            solutions.push(chosen);
        }
        // Next assignment, odometer style.
        let mut k = 0;
        loop {
            if k == counters.len() {
                return solutions;
            }
            counters[k] += 1;
            if counters[k] < options[k].1.len() {
                break;
            }
            counters[k] = 0;
            k += 1;
        }
    }
}

fn request<'a>(case: &'a Case, update: Update) -> Request<'a> {
    let mut request = Request::new(WitSupport::speaks(&[host_wit()])).update(update);
    for (name, r) in &case.roots {
        request = request.require(name.clone(), r.clone());
    }
    if let Some(lock) = &case.lock {
        request = request.with_lock(lock);
    }
    request
}

fn check(case: &Case, update: Update, seed: u64) -> Option<BTreeMap<String, Version>> {
    let honoured = update == Update::Nothing;
    let expected = !oracle_solutions(case, honoured).is_empty();
    match resolve(&case.index, &request(case, update)) {
        Ok(resolution) => {
            let chosen: BTreeMap<String, Version> = resolution
                .plugins
                .iter()
                .map(|p| (p.name.clone(), p.version.clone()))
                .collect();
            assert!(valid(case, &chosen), "seed {seed}: invalid {chosen:?}");
            for p in &resolution.plugins {
                assert!(
                    usable(case, &p.entry, honoured),
                    "seed {seed}: unusable {}",
                    p.name
                );
            }
            assert!(
                expected,
                "seed {seed}: the oracle found no solution, resolver {chosen:?}"
            );
            Some(chosen)
        }
        Err(ResolveError::NoSolution { explanation }) => {
            assert!(
                !expected,
                "seed {seed}: resolver found none:\n{explanation}"
            );
            assert!(!explanation.trim().is_empty());
            None
        }
        Err(ResolveError::UnknownPlugin { .. }) => {
            assert!(
                !expected,
                "seed {seed}: unknown root but the oracle found a solution"
            );
            None
        }
        Err(other) => panic!("seed {seed}: {other}"),
    }
}

#[test]
fn resolver_agrees_with_brute_force() {
    let mut solved = 0;
    let mut unsolvable = 0;
    let mut lock_kept = 0;
    for seed in 1..=600u64 {
        let mut rng = Rng::new(seed * 0x9e37_79b9);
        let case = random_case(&mut rng);
        let installed = check(&case, Update::Nothing, seed);
        match &installed {
            Some(_) => solved += 1,
            None => unsolvable += 1,
        }
        // Without a lock, `update` is a fresh resolution.
        let updated = check(&case, Update::All, seed);
        if case.lock.is_none() {
            assert_eq!(installed, updated, "seed {seed}");
        }
        // A lockfile that pins any valid solution is kept exactly, even when
        // newer versions would work too.
        let solutions = oracle_solutions(&case, true);
        if !solutions.is_empty() {
            let pinned = solutions[rng.below(solutions.len() as u64) as usize].clone();
            let lock = Lockfile::new(pinned.iter().map(|(name, version)| {
                LockedPlugin::new(
                    name.clone(),
                    version.clone(),
                    "default",
                    sha_of(name, version),
                    [],
                )
            }));
            let relocked = Case {
                index: case.index.clone(),
                roots: case.roots.clone(),
                lock: Some(lock),
            };
            let chosen = check(&relocked, Update::Nothing, seed).unwrap_or_default();
            for (name, version) in &chosen {
                assert_eq!(Some(version), pinned.get(name), "seed {seed}: moved {name}");
            }
            lock_kept += 1;
        }
    }
    // The generator must exercise every branch.
    assert!(
        solved > 100 && unsolvable > 50 && lock_kept > 20,
        "{solved} {unsolvable} {lock_kept}"
    );
}

/// A chain of providers and dependents (alpha imports from beta, beta
/// from gamma, gamma from delta) whose versions provide and import
/// interfaces at random versions, so that the interfaces, not the
/// requirements, decide.
fn random_chain(rng: &mut Rng) -> Case {
    const LOOSE: &[&str] = &["*", "^1", ">=0.1", "^0.1", "^2"];
    let mut index = MemoryIndex::new("default");
    for (i, name) in NAMES.iter().enumerate() {
        let below = NAMES.get(i + 1);
        for version in VERSIONS {
            if !rng.chance(60) {
                continue;
            }
            let deps: Vec<(&str, &str)> =
                below.map(|d| (*d, *rng.pick(LOOSE))).into_iter().collect();
            let mut e = entry(name, version, &deps);
            e.yanked = rng.chance(5);
            if rng.chance(80) {
                let v = rng.pick(INTERFACE_VERSIONS);
                e.provides.push(format!("plugins:{name}/api@{v}"));
            }
            if let Some(dep) = below
                && rng.chance(80)
            {
                let v = rng.pick(INTERFACE_VERSIONS);
                e.imports.push(format!("plugins:{dep}/api@{v}"));
            }
            index.add(e);
        }
    }
    let roots = BTreeMap::from([("alpha".to_owned(), req("*"))]);
    Case {
        index,
        roots,
        lock: None,
    }
}

#[test]
fn interfaces_agree_with_brute_force() {
    let mut linked = 0;
    let mut unsolvable = 0;
    for seed in 1..=400u64 {
        let mut rng = Rng::new(seed * 0x51_7cc1_b727);
        let case = random_chain(&mut rng);
        match check(&case, Update::Nothing, seed) {
            Some(chosen) => {
                let imports = |(name, version): (&String, &Version)| {
                    let Ok(entries) = case.index.versions(name);
                    entries
                        .iter()
                        .any(|e| &e.version == version && !e.imports.is_empty())
                };
                if chosen.iter().any(imports) {
                    linked += 1;
                }
            }
            None => unsolvable += 1,
        }
    }
    // The generator must exercise both answers, with imports in play.
    assert!(linked > 50 && unsolvable > 50, "{linked} {unsolvable}");
}

/// One generated version: plugin, version, dependencies (plugin, requirement
/// indexes), yanked, built for a WIT this host does not speak.
type GenEntry = (usize, usize, Vec<(usize, usize)>, bool, bool);

/// Generated versions, roots (plugin, requirement indexes), and the
/// versions a lockfile pins (indexes into the generated ones).
type GenCase = (Vec<GenEntry>, Vec<(usize, usize)>, Option<Vec<usize>>);

fn arb_case() -> impl Strategy<Value = GenCase> {
    let entry = (
        0..NAMES.len(),
        0..VERSIONS.len(),
        prop::collection::vec((0..NAMES.len(), 0..REQS.len()), 0..3),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
    );
    (
        prop::collection::vec(entry, 0..14),
        prop::collection::vec((0..NAMES.len(), 0..REQS.len()), 1..3),
        prop::option::of(prop::collection::vec(0..64usize, 0..4)),
    )
}

fn build_case(entries: &[GenEntry], roots: &[(usize, usize)], lock: &Option<Vec<usize>>) -> Case {
    let mut index = MemoryIndex::new("default");
    let mut all: Vec<IndexEntry> = Vec::new();
    for (name, version, deps, yanked, old_wit) in entries {
        let (name, version) = (NAMES[*name], VERSIONS[*version]);
        if all
            .iter()
            .any(|e| e.name == name && e.version.to_string() == version)
        {
            continue;
        }
        let deps: Vec<(&str, &str)> = deps
            .iter()
            .filter(|(d, _)| NAMES[*d] != name)
            .map(|(d, r)| (NAMES[*d], REQS[*r]))
            .collect();
        let mut e = entry(name, version, &deps);
        e.yanked = *yanked;
        if *old_wit {
            e.wit = Version::new(0, 3, 0);
        }
        all.push(e);
    }
    for e in &all {
        index.add(e.clone());
    }
    let roots = roots
        .iter()
        .map(|(n, r)| (NAMES[*n].to_owned(), req(REQS[*r])))
        .collect();
    // The lock pins some of the generated versions (one per plugin).
    let lock = lock.as_ref().filter(|_| !all.is_empty()).map(|picks| {
        let mut pinned: BTreeMap<&str, &IndexEntry> = BTreeMap::new();
        for pick in picks {
            let e = &all[pick % all.len()];
            pinned.entry(e.name.as_str()).or_insert(e);
        }
        Lockfile::new(pinned.values().map(|e| {
            LockedPlugin::new(
                e.name.clone(),
                e.version.clone(),
                "default",
                e.sha256.clone(),
                [],
            )
        }))
    });
    Case { index, roots, lock }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The same properties as above, on registries proptest generates and
    /// shrinks to a minimal counterexample when one fails.
    #[test]
    fn generated_registries_agree_with_brute_force(
        (entries, roots, lock) in arb_case()
    ) {
        let case = build_case(&entries, &roots, &lock);
        let installed = check(&case, Update::Nothing, 0);
        let updated = check(&case, Update::All, 0);
        if case.lock.is_none() {
            prop_assert_eq!(installed, updated);
        }
    }
}
