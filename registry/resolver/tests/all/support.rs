//! Fixtures: index entries, a seeded random generator.

use plugboard_registry_types::IndexEntry;
use plugboard_resolver::MemoryIndex;
use semver::{Version, VersionReq};

/// The WIT version the fixture host speaks.
pub fn host_wit() -> Version {
    Version::new(0, 1, 0)
}

pub fn v(text: &str) -> Version {
    Version::parse(text).expect("fixture version")
}

pub fn req(text: &str) -> VersionReq {
    VersionReq::parse(text).expect("fixture requirement")
}

/// A deterministic, valid sha256 for a fixture package.
pub fn sha_of(name: &str, version: &Version) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("{name}@{version}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}").repeat(4)
}

/// An index entry built against the host's WIT with these dependencies.
pub fn entry(name: &str, version: &str, deps: &[(&str, &str)]) -> IndexEntry {
    let version = v(version);
    let sha = sha_of(name, &version);
    let mut e = IndexEntry::new(name, version, host_wit(), sha);
    for (dep, r) in deps {
        e.deps.insert((*dep).to_owned(), req(r));
    }
    e
}

pub fn index(entries: impl IntoIterator<Item = IndexEntry>) -> MemoryIndex {
    let mut index = MemoryIndex::new("default");
    for e in entries {
        index.add(e);
    }
    index
}

/// xorshift64*: a fixed-seed generator, so failures reproduce.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 0..n
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// [`entry`] that also provides and imports these interfaces.
pub fn entry_with(
    name: &str,
    version: &str,
    deps: &[(&str, &str)],
    provides: &[&str],
    imports: &[&str],
) -> IndexEntry {
    let mut e = entry(name, version, deps);
    e.provides = provides.iter().map(|p| (*p).to_owned()).collect();
    e.imports = imports.iter().map(|i| (*i).to_owned()).collect();
    e
}
