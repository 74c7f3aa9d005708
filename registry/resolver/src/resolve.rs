//! The request, the PubGrub dependency provider, and the resolution.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;

use plugboard_registry_types::IndexEntry;
use plugboard_registry_types::index::imports_from;
use plugboard_registry_types::interfaces::InterfaceName;
use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics,
    PubGrubError,
};
use semver::{Version, VersionReq};

use crate::error::ChecksumMismatch;
use crate::lockfile::{LockedPlugin, Lockfile};
use crate::requirement::{VersionSet, requirement_set, set_where};
use crate::{Index, ResolveError, explain};

/// Which locked plugins may move to other versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Update {
    /// `plugboard install`: keep every locked version that still satisfies
    /// the requirements.
    #[default]
    Nothing,
    /// `plugboard update`: ignore the lockfile, take the newest versions
    /// allowed.
    All,
    /// `plugboard update poll`: take the newest allowed versions of these
    /// plugins; keep the others locked where that still works.
    Only(BTreeSet<String>),
}

/// The WIT versions this host can load plugins for.
///
/// A version built against a WIT version the host does not support is never
/// chosen, and when that leaves a plugin without candidates the explanation
/// says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitSupport {
    rule: WitRule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum WitRule {
    Host(Vec<Version>),
    Req(VersionReq),
}

impl WitSupport {
    /// A host that implements these versions of the `plugboard:plugin` WIT
    /// package. Whether a plugin built against WIT `w` loads on such a host
    /// is decided by the one rule of
    /// [`contract::loads_on`](plugboard_registry_types::contract::loads_on)
    /// (a plugin built against `0.1.3` loads on a `0.1.0` host, not on
    /// `0.2.0`).
    pub fn speaks(host: &[Version]) -> Self {
        Self {
            rule: WitRule::Host(host.to_vec()),
        }
    }

    /// Plugins whose WIT version matches `req`.
    pub fn matching(req: VersionReq) -> Self {
        Self {
            rule: WitRule::Req(req),
        }
    }

    /// Every WIT version (tests, tools that only inspect).
    pub fn any() -> Self {
        Self::matching(VersionReq::STAR)
    }

    /// Whether a plugin built against `wit` loads on this host.
    pub fn supports(&self, wit: &Version) -> bool {
        match &self.rule {
            WitRule::Req(req) => req.matches(wit),
            WitRule::Host(hosts) => plugboard_registry_types::contract::loads_on_any(wit, hosts),
        }
    }
}

impl fmt::Display for WitSupport {
    /// What the host speaks, for messages: `0.1`, `0.1 and 0.2`, `^0.1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.rule {
            WitRule::Req(req) => write!(f, "{req}"),
            WitRule::Host(hosts) if hosts.is_empty() => f.write_str("no WIT version"),
            WitRule::Host(hosts) => {
                let names: Vec<String> = hosts.iter().map(wit_text).collect();
                f.write_str(&names.join(" and "))
            }
        }
    }
}

/// A WIT version as people write it: `0.1` for `0.1.0`.
pub(crate) fn wit_text(v: &Version) -> String {
    if v.patch == 0 && v.pre.is_empty() && v.build.is_empty() {
        format!("{}.{}", v.major, v.minor)
    } else {
        v.to_string()
    }
}

/// What to resolve: the plugins the owner wants, the host's WIT support, the
/// lockfile, and what may change.
///
/// List every plugin the owner installed explicitly, not only the new ones
/// (use [`VersionReq::STAR`] when they gave no requirement): plugins that only
/// something else needed drop out of the resolution once nothing needs them.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    plugins: BTreeMap<String, VersionReq>,
    wit: WitSupport,
    lock: Option<&'a Lockfile>,
    update: Update,
}

impl<'a> Request<'a> {
    /// A request for nothing yet, on a host with this WIT support.
    pub fn new(wit: WitSupport) -> Self {
        Self {
            plugins: BTreeMap::new(),
            wit,
            lock: None,
            update: Update::Nothing,
        }
    }

    /// Asks for plugin `name` at a version matching `req` (`install
    /// poll@^1`). Asking twice for one name keeps both requirements.
    pub fn require(mut self, name: impl Into<String>, req: VersionReq) -> Self {
        let name = name.into();
        match self.plugins.get_mut(&name) {
            Some(existing) if existing != &req => {
                existing.comparators.extend(req.comparators);
            }
            Some(_) => {}
            None => {
                self.plugins.insert(name, req);
            }
        }
        self
    }

    /// Resolves with `lock`, the current `plugboard.lock`.
    pub fn with_lock(mut self, lock: &'a Lockfile) -> Self {
        self.lock = Some(lock);
        self
    }

    /// What may move away from the lockfile; [`Update::Nothing`] unless set.
    pub fn update(mut self, update: Update) -> Self {
        self.update = update;
        self
    }

    /// The requested plugins and their requirements.
    pub fn plugins(&self) -> &BTreeMap<String, VersionReq> {
        &self.plugins
    }

    pub(crate) fn wit(&self) -> &WitSupport {
        &self.wit
    }

    fn updating(&self, name: &str) -> bool {
        match &self.update {
            Update::Nothing => false,
            Update::All => true,
            Update::Only(names) => names.contains(name),
        }
    }
}

/// The chosen plugins, dependencies before the plugins that use them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolution {
    /// The registry every plugin comes from.
    pub registry: String,
    /// The chosen plugins in install order: each after all of its
    /// dependencies (ties by name; members of a dependency cycle by name).
    pub plugins: Vec<Resolved>,
}

/// One chosen plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// Its name.
    pub name: String,
    /// The chosen version.
    pub version: Version,
    /// The index entry of that version: sha256, signature, permissions, WIT.
    pub entry: IndexEntry,
    /// The chosen versions of its dependencies, by name.
    pub dependencies: Vec<(String, Version)>,
}

impl Resolution {
    /// The chosen plugin called `name`.
    pub fn get(&self, name: &str) -> Option<&Resolved> {
        self.plugins.iter().find(|p| p.name == name)
    }

    /// The lockfile that records this resolution.
    pub fn to_lockfile(&self) -> Lockfile {
        Lockfile::new(self.plugins.iter().map(|p| {
            LockedPlugin::new(
                p.name.clone(),
                p.version.clone(),
                self.registry.clone(),
                p.entry.sha256.clone(),
                p.dependencies.clone(),
            )
        }))
    }
}

/// Chooses a version of every plugin in `request` and of everything they
/// depend on, reading `index` lazily.
///
/// Fails with [`ResolveError::NoSolution`] and a readable explanation when
/// the requirements cannot all hold, [`ResolveError::UnknownPlugin`] when a
/// requested plugin does not exist, and the lock errors when a locked entry
/// disagrees with the registry.
pub fn resolve<I: Index + ?Sized>(
    index: &I,
    request: &Request<'_>,
) -> Result<Resolution, ResolveError> {
    let provider = Provider::new(index, request);
    // Unknown requested plugins get a direct answer rather than a proof.
    for name in request.plugins.keys() {
        if provider.package(name)?.entries.is_empty() {
            return Err(ResolveError::UnknownPlugin {
                name: name.clone(),
                registry: index.registry_name().to_owned(),
                suggestions: index.similar_names(name),
            });
        }
    }
    match pubgrub::resolve(&provider, Pkg::Root, ROOT_VERSION) {
        Ok(selected) => provider.resolution(selected.into_iter().collect()),
        Err(PubGrubError::NoSolution(tree)) => Err(ResolveError::NoSolution {
            explanation: explain::explain(&provider, &tree),
        }),
        Err(
            PubGrubError::ErrorRetrievingDependencies { source, .. }
            | PubGrubError::ErrorChoosingVersion { source, .. }
            | PubGrubError::ErrorInShouldCancel(source),
        ) => Err(source),
    }
}

const ROOT_VERSION: Version = Version::new(0, 0, 0);

/// A package as PubGrub sees it: the owner's request, or a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Pkg {
    Root,
    Plugin(String),
}

impl fmt::Display for Pkg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pkg::Root => f.write_str("your request"),
            Pkg::Plugin(name) => f.write_str(name),
        }
    }
}

/// Why a listed version cannot be chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// Built against a WIT version the host does not speak.
    Wit(Version),
    /// Yanked, and not pinned by the lockfile.
    Yanked,
}

/// Everything the index says about one plugin, as one resolution uses it.
#[derive(Debug)]
pub(crate) struct Package {
    /// Every version, ascending.
    pub(crate) entries: Vec<IndexEntry>,
    /// The versions of `entries`, for set arithmetic.
    pub(crate) versions: Vec<Version>,
    /// Why each entry cannot be chosen, if it cannot.
    pub(crate) unusable: Vec<Option<Unusable>>,
    /// The locked version, when the lockfile pins one that this resolution
    /// honours.
    pub(crate) locked: Option<Version>,
}

impl Package {
    fn position(&self, version: &Version) -> Option<usize> {
        self.versions.binary_search(version).ok()
    }

    fn usable(&self, i: usize) -> bool {
        self.unusable.get(i).is_some_and(Option::is_none)
    }
}

/// The original text of a requirement we turned into a set, for messages.
#[derive(Debug)]
pub(crate) struct Label {
    pub(crate) name: String,
    pub(crate) set: VersionSet,
    pub(crate) text: String,
}

pub(crate) struct Provider<'r, I: Index + ?Sized> {
    pub(crate) index: &'r I,
    pub(crate) request: &'r Request<'r>,
    pub(crate) packages: RefCell<BTreeMap<String, Rc<Package>>>,
    pub(crate) labels: RefCell<Vec<Label>>,
}

impl<'r, I: Index + ?Sized> Provider<'r, I> {
    fn new(index: &'r I, request: &'r Request<'r>) -> Self {
        Self {
            index,
            request,
            packages: RefCell::new(BTreeMap::new()),
            labels: RefCell::new(Vec::new()),
        }
    }

    fn registry(&self) -> &str {
        self.index.registry_name()
    }

    /// The plugin's versions, fetched on first use and checked against the
    /// lockfile.
    pub(crate) fn package(&self, name: &str) -> Result<Rc<Package>, ResolveError> {
        if let Some(package) = self.packages.borrow().get(name) {
            return Ok(Rc::clone(package));
        }
        let registry = self.registry().to_owned();
        let mut entries = self
            .index
            .versions(name)
            .map_err(|source| ResolveError::Index {
                name: name.to_owned(),
                registry: registry.clone(),
                source: Box::new(source),
            })?;
        let broken = |problem: String| ResolveError::BadIndex {
            name: name.to_owned(),
            registry: registry.clone(),
            problem,
        };
        if let Some(other) = entries.iter().find(|e| e.name != name) {
            return Err(broken(format!("it contains an entry for `{}`", other.name)));
        }
        entries.sort_by(|a, b| a.version.cmp(&b.version));
        if let Some(pair) = entries.windows(2).find(|w| w[0].version == w[1].version) {
            return Err(broken(format!(
                "it lists version {} twice",
                pair[0].version
            )));
        }
        let versions: Vec<Version> = entries.iter().map(|e| e.version.clone()).collect();

        let locked = match self.request.lock.and_then(|lock| lock.get(name)) {
            Some(pin) if !self.request.updating(name) => {
                Some(self.check_pin(pin, &entries, &registry)?)
            }
            _ => None,
        };
        let unusable = entries
            .iter()
            .map(|e| {
                if !self.request.wit.supports(&e.wit) {
                    Some(Unusable::Wit(e.wit.clone()))
                } else if e.yanked && locked.as_ref() != Some(&e.version) {
                    Some(Unusable::Yanked)
                } else {
                    None
                }
            })
            .collect();
        let package = Rc::new(Package {
            entries,
            versions,
            unusable,
            locked,
        });
        self.packages
            .borrow_mut()
            .insert(name.to_owned(), Rc::clone(&package));
        Ok(package)
    }

    /// The tamper check: a pinned version must come from this registry, be
    /// listed, and have the listed sha256.
    fn check_pin(
        &self,
        pin: &LockedPlugin,
        entries: &[IndexEntry],
        registry: &str,
    ) -> Result<Version, ResolveError> {
        if pin.registry != registry {
            return Err(ResolveError::OtherRegistry {
                name: pin.name.clone(),
                locked: pin.registry.clone(),
                registry: registry.to_owned(),
            });
        }
        let entry = entries
            .iter()
            .find(|e| e.version == pin.version)
            .ok_or_else(|| ResolveError::LockedVersionMissing {
                name: pin.name.clone(),
                version: pin.version.clone(),
                registry: registry.to_owned(),
            })?;
        if !entry.sha256.eq_ignore_ascii_case(&pin.sha256) {
            return Err(ResolveError::ChecksumMismatch(Box::new(ChecksumMismatch {
                name: pin.name.clone(),
                version: pin.version.clone(),
                registry: registry.to_owned(),
                locked: pin.sha256.clone(),
                published: entry.sha256.clone(),
            })));
        }
        Ok(pin.version.clone())
    }

    /// `req` on plugin `name` as a set, remembering its text for messages.
    fn requirement(&self, name: &str, req: &VersionReq) -> Result<VersionSet, ResolveError> {
        let package = self.package(name)?;
        let set = requirement_set(req, &package.versions);
        self.labels.borrow_mut().push(Label {
            name: name.to_owned(),
            set: set.clone(),
            text: req.to_string(),
        });
        Ok(set)
    }

    /// `req` on plugin `name`, narrowed to the versions that provide every
    /// interface in `imports` at a compatible version (the imports a
    /// dependent takes from `name`), remembering its text for messages.
    fn requirement_providing(
        &self,
        name: &str,
        req: &VersionReq,
        imports: &[&InterfaceName],
    ) -> Result<VersionSet, ResolveError> {
        let package = self.package(name)?;
        let set = set_where(&package.versions, |version| {
            req.matches(version)
                && package
                    .position(version)
                    .and_then(|i| package.entries.get(i))
                    .is_some_and(|entry| imports.iter().all(|i| entry.provides_for(i)))
        });
        let names: Vec<String> = imports.iter().map(ToString::to_string).collect();
        self.labels.borrow_mut().push(Label {
            name: name.to_owned(),
            set: set.clone(),
            text: format!("{req} providing {}", names.join(" and ")),
        });
        Ok(set)
    }

    fn resolution(&self, selected: BTreeMap<Pkg, Version>) -> Result<Resolution, ResolveError> {
        let chosen: BTreeMap<&str, &Version> = selected
            .iter()
            .filter_map(|(pkg, v)| match pkg {
                Pkg::Root => None,
                Pkg::Plugin(name) => Some((name.as_str(), v)),
            })
            .collect();
        let mut plugins: BTreeMap<&str, Resolved> = BTreeMap::new();
        for (&name, &version) in &chosen {
            let package = self.package(name)?;
            let entry = package
                .position(version)
                .and_then(|i| package.entries.get(i))
                .cloned()
                .ok_or_else(|| ResolveError::BadIndex {
                    name: name.to_owned(),
                    registry: self.registry().to_owned(),
                    problem: format!("version {version} vanished during resolution"),
                })?;
            let dependencies = entry
                .deps
                .keys()
                .filter_map(|dep| {
                    chosen
                        .get(dep.as_str())
                        .map(|v| (dep.clone(), (*v).clone()))
                })
                .collect();
            plugins.insert(
                name,
                Resolved {
                    name: name.to_owned(),
                    version: version.clone(),
                    entry,
                    dependencies,
                },
            );
        }
        Ok(Resolution {
            registry: self.registry().to_owned(),
            plugins: install_order(plugins),
        })
    }
}

/// Dependencies first (Kahn's algorithm), ties by name; a cycle's members
/// follow by name once nothing else is ready.
fn install_order(mut plugins: BTreeMap<&str, Resolved>) -> Vec<Resolved> {
    let mut order = Vec::with_capacity(plugins.len());
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while !plugins.is_empty() {
        let ready: Vec<&str> = plugins
            .iter()
            .filter(|(_, p)| {
                p.dependencies
                    .iter()
                    .all(|(dep, _)| placed.contains(dep) || dep == &p.name)
            })
            .map(|(name, _)| *name)
            .collect();
        let next: Vec<&str> = if ready.is_empty() {
            plugins.keys().take(1).copied().collect()
        } else {
            ready
        };
        for name in next {
            if let Some(p) = plugins.remove(name) {
                placed.insert(p.name.clone());
                order.push(p);
            }
        }
    }
    order
}

impl<I: Index + ?Sized> DependencyProvider for Provider<'_, I> {
    type P = Pkg;
    type V = Version;
    type VS = VersionSet;
    type M = String;
    type Err = ResolveError;
    /// Packages being updated first (so they reach their newest version
    /// before locked neighbours are fixed), then the most conflicted, then
    /// the fewest candidates.
    type Priority = (u8, u32, Reverse<usize>);

    fn prioritize(
        &self,
        package: &Pkg,
        range: &VersionSet,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        let name = match package {
            Pkg::Root => return (u8::MAX, 0, Reverse(0)),
            Pkg::Plugin(name) => name,
        };
        let class = if self.request.updating(name) { 2 } else { 1 };
        let candidates = self.packages.borrow().get(name).map_or(usize::MAX, |p| {
            (0..p.versions.len())
                .filter(|&i| p.usable(i) && range.contains(&p.versions[i]))
                .count()
        });
        (class, stats.conflict_count(), Reverse(candidates))
    }

    fn choose_version(
        &self,
        package: &Pkg,
        range: &VersionSet,
    ) -> Result<Option<Version>, ResolveError> {
        let name = match package {
            Pkg::Root => return Ok(Some(ROOT_VERSION)),
            Pkg::Plugin(name) => name,
        };
        let p = self.package(name)?;
        if let Some(locked) = &p.locked
            && range.contains(locked)
            && p.position(locked).is_some_and(|i| p.usable(i))
        {
            return Ok(Some(locked.clone()));
        }
        Ok((0..p.versions.len())
            .rev()
            .find(|&i| p.usable(i) && range.contains(&p.versions[i]))
            .map(|i| p.versions[i].clone()))
    }

    fn get_dependencies(
        &self,
        package: &Pkg,
        version: &Version,
    ) -> Result<Dependencies<Pkg, VersionSet, String>, ResolveError> {
        let (deps, imports): (Vec<(String, VersionReq)>, Vec<InterfaceName>) = match package {
            Pkg::Root => (
                self.request
                    .plugins
                    .iter()
                    .map(|(n, r)| (n.clone(), r.clone()))
                    .collect(),
                Vec::new(),
            ),
            Pkg::Plugin(name) => {
                let p = self.package(name)?;
                let entry = p.position(version).and_then(|i| p.entries.get(i));
                match entry {
                    Some(entry) => (
                        entry
                            .deps
                            .iter()
                            .map(|(n, r)| (n.clone(), r.clone()))
                            .collect(),
                        entry.imported_interfaces(),
                    ),
                    None => return Ok(Dependencies::Unavailable("is not listed".into())),
                }
            }
        };
        // An interface's version is chosen like a plugin's: only versions of
        // a dependency that provide, at a compatible version, every
        // interface the dependent imports from it are candidates.
        let mut constraints = Vec::with_capacity(deps.len());
        let mut served = vec![false; imports.len()];
        let mut all_known = true;
        for (name, req) in &deps {
            let dependency = self.package(name)?;
            all_known &= !dependency.entries.is_empty();
            let from = imports_from(&imports, &dependency.entries);
            for (i, wanted) in imports.iter().enumerate() {
                served[i] |= from.contains(&wanted);
            }
            let set = if from.is_empty() {
                self.requirement(name, req)?
            } else {
                self.requirement_providing(name, req, &from)?
            };
            constraints.push((Pkg::Plugin(name.clone()), set));
        }
        // An import no dependency provides at any version: this version
        // cannot work (unless a dependency is unknown, which the
        // explanation then names instead).
        if all_known && let Some(i) = served.iter().position(|s| !s) {
            let names: Vec<&str> = deps.iter().map(|(n, _)| n.as_str()).collect();
            return Ok(Dependencies::Unavailable(if names.is_empty() {
                format!(
                    "imports {}, but has no dependency to provide it",
                    imports[i]
                )
            } else {
                format!(
                    "imports {}, which none of its dependencies ({}) provides in any version the registry lists",
                    imports[i],
                    names.join(", ")
                )
            }));
        }
        Ok(Dependencies::Available(DependencyConstraints::from_iter(
            constraints,
        )))
    }
}
