//! Resolution speed over synthetic indexes.
//!
//! Run with: `RUST_LIB_BACKTRACE=0 cargo bench -p plugboard-resolver --bench resolve`
//!
//! Two measurements, each timing the whole [`resolve`] call (reading the
//! in-memory index, PubGrub, building the resolution or the explanation):
//!
//! 1. **50 roots over 10,000 versions**: 500 plugins × 20 versions
//!    (`1.0.0`–`1.9.0`, `2.0.0`–`2.9.0`), each depending on up to three
//!    lower-numbered plugins with caret requirements (`^2.3`; one in eight
//!    lags a major behind, so some choices must back off), and a request for
//!    50 of the top 200 plugins. The generator is seeded, so every run
//!    resolves the same index.
//! 2. **The worst conflict**: layers of plugins where every version of a
//!    plugin pins the same version of two plugins in the next layer, and
//!    every version of the bottom layer needs a `base` major that the
//!    request rules out. PubGrub has to refute every version of every
//!    plugin separately (no two versions fail for the same reason), and the
//!    proof it leaves, rendered by `explain`, has a line per refutation.
//!    The default shape (8 layers × 8 plugins × 20 versions, 1,300
//!    versions) is the largest whose explanation still reads as a
//!    proof; `--depth=`, `--width=`, `--versions=` change it.
//!
//! Each measurement runs `--iterations=N` times (default 30) after one
//! warm-up and prints min, median, p95 and max. `--print-explanation`
//! prints the conflict's explanation and exits.

use std::hint::black_box;
use std::time::{Duration, Instant};

use plugboard_registry_types::IndexEntry;
use plugboard_resolver::{Index, MemoryIndex, Request, ResolveError, WitSupport, resolve};
use semver::{Version, VersionReq};

/// Conflict shapes measured by default: (layers, plugins per layer,
/// versions per plugin).
const SHAPES: [(u64, u64, u64); 4] = [(8, 8, 20), (25, 20, 20), (50, 2, 100), (2, 2, 1000)];

fn main() {
    let iterations: usize = arg("iterations").unwrap_or(30);
    let shapes = match (arg("depth"), arg("width"), arg("versions")) {
        (None, None, None) => SHAPES.to_vec(),
        (depth, width, versions) => vec![(
            depth.unwrap_or(8),
            width.unwrap_or(8),
            versions.unwrap_or(20),
        )],
    };
    if std::env::args().any(|a| a == "--print-explanation") {
        let (depth, width, versions) = shapes[0];
        let (index, request) = conflict(depth, width, versions);
        match resolve(&index, &request) {
            Err(e) => println!("{e}"),
            Ok(_) => println!("unexpectedly resolved"),
        }
        return;
    }

    let (index, request, total) = synthetic();
    let resolution = resolve(&index, &request).expect("the synthetic index resolves");
    let held_back = resolution
        .plugins
        .iter()
        .filter(|p| {
            let newest = index
                .versions(&p.name)
                .into_iter()
                .flatten()
                .map(|e| e.version)
                .max();
            newest.as_ref() != Some(&p.version)
        })
        .count();
    println!(
        "50 roots over {total} versions (500 plugins): {} plugins chosen, {held_back} of them \
         below their newest version",
        resolution.plugins.len()
    );
    report(
        "resolve, 50 roots / 10,000 versions",
        time(iterations, || {
            black_box(resolve(&index, &request).expect("resolves"));
        }),
    );

    for (depth, width, versions) in shapes {
        let (index, request) = conflict(depth, width, versions);
        let explanation = match resolve(&index, &request) {
            Err(ResolveError::NoSolution { explanation }) => explanation,
            other => panic!("expected no solution, got {other:?}"),
        };
        println!(
            "conflict {depth} layers × {width} plugins × {versions} versions ({} versions in \
             all): explanation of {} lines, {} bytes",
            depth * width * versions + versions + 2,
            explanation.lines().count(),
            explanation.len()
        );
        report(
            "  resolve to NoSolution incl. explanation",
            time(iterations, || {
                black_box(resolve(&index, &request).expect_err("conflicts"));
            }),
        );
    }
}

/// `--name=value` from the command line (cargo bench adds `--bench`).
fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let prefix = format!("--{name}=");
    std::env::args().find_map(|a| a.strip_prefix(&prefix).and_then(|v| v.parse().ok()))
}

/// Runs `f` once to warm up, then `iterations` times, stopping early after
/// 10 s once it has 3 samples; the samples, sorted.
fn time(iterations: usize, mut f: impl FnMut()) -> Vec<Duration> {
    f();
    let begun = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < iterations.max(1)
        && (samples.len() < 3 || begun.elapsed() < Duration::from_secs(10))
    {
        let started = Instant::now();
        f();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

fn report(what: &str, samples: Vec<Duration>) {
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what}: min {:.2} ms, median {:.2} ms, p95 {:.2} ms, max {:.2} ms ({} runs)",
        ms(samples[0]),
        ms(at(0.5)),
        ms(at(0.95)),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn wit() -> Version {
    Version::new(0, 1, 0)
}

fn host() -> Request<'static> {
    Request::new(WitSupport::speaks(&[wit()]))
}

fn entry(name: &str, version: Version, deps: Vec<(String, VersionReq)>) -> IndexEntry {
    let sha = format!("{:064x}", fnv(&format!("{name}@{version}")));
    let mut e = IndexEntry::new(name, version, wit(), sha);
    e.deps.extend(deps);
    e
}

fn req(text: &str) -> VersionReq {
    text.parse().expect("bench requirement")
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// xorshift64*, fixed seed: the same index on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

const PLUGINS: u64 = 500;
const VERSIONS: u64 = 20;
const ROOTS: usize = 50;

/// 500 plugins × 20 versions and a request for 50 of them.
fn synthetic() -> (MemoryIndex, Request<'static>, u64) {
    let mut rng = Rng(0x5eed_0f91);
    let name = |i: u64| format!("plugin-{i:03}");
    let mut index = MemoryIndex::new("default");
    let mut total = 0;
    for i in 0..PLUGINS {
        // Which lower plugins it uses; a dependency added in a later
        // version stays.
        let picks: Vec<(u64, u64)> = if i < 10 {
            Vec::new()
        } else {
            (0..rng.below(4))
                .map(|_| (rng.below(i), rng.below(VERSIONS)))
                .collect()
        };
        for vi in 0..VERSIONS {
            let major = 1 + vi / 10;
            let version = Version::new(major, vi % 10, 0);
            let deps = picks
                .iter()
                .filter(|(_, since)| *since <= vi)
                .map(|&(dep, _)| {
                    let lag = major == 2 && rng.below(8) == 0;
                    let dep_major = if lag { 1 } else { major };
                    let minor = rng.below(6);
                    (name(dep), req(&format!("^{dep_major}.{minor}")))
                })
                .collect();
            index.add(entry(&name(i), version, deps));
            total += 1;
        }
    }
    let mut request = host();
    let mut roots = std::collections::BTreeSet::new();
    while roots.len() < ROOTS {
        roots.insert(PLUGINS - 200 + rng.below(200));
    }
    for (n, i) in roots.into_iter().enumerate() {
        let r = match n % 5 {
            0 => "^1",
            1 => "^2.2",
            _ => "*",
        };
        request = request.require(name(i), req(r));
    }
    (index, request, total)
}

/// `depth` layers of `width` plugins with `versions` majors each. Version
/// `v` of `layer-i-k` needs `layer-(i+1)-k` and `layer-(i+1)-(k+1)` at
/// major `v`; version `v` of the bottom layer needs `base ^(v+2)`, while the
/// request asks for `base ^1` and every top-layer plugin.
fn conflict(depth: u64, width: u64, versions: u64) -> (MemoryIndex, Request<'static>) {
    let name = |i: u64, k: u64| format!("layer-{i}-{k}");
    let mut index = MemoryIndex::new("default");
    for v in 1..=versions + 2 {
        index.add(entry("base", Version::new(v, 0, 0), Vec::new()));
    }
    for i in 0..depth {
        for k in 0..width {
            for v in 1..=versions {
                let deps = if i + 1 == depth {
                    vec![("base".to_owned(), req(&format!("^{}", v + 2)))]
                } else {
                    vec![
                        (name(i + 1, k), req(&format!("^{v}"))),
                        (name(i + 1, (k + 1) % width), req(&format!("^{v}"))),
                    ]
                };
                index.add(entry(&name(i, k), Version::new(v, 0, 0), deps));
            }
        }
    }
    let mut request = host().require("base", req("^1"));
    for k in 0..width {
        request = request.require(name(0, k), VersionReq::STAR);
    }
    (index, request)
}
