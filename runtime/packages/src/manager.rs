//! Install, update and remove, as plans: [`Manager::plan_install`] (or
//! `plan_update`, `plan_remove`) resolves and says what would change;
//! [`Manager::fetch`] downloads and verifies what is new; [`Manager::apply`]
//! switches to the new set in one step. Nothing on disk changes before
//! `apply`, and `apply` changes what the bot loads only in its last step.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;

use plugboard_package::{Checksum, Contents, Limits, Signature, unpack_verified};
use plugboard_registry_types::{IndexEntry, Manifest, Permission};
use plugboard_resolver::{Lockfile, Request, Update, WitSupport, resolve};
use semver::{Version, VersionReq};

use crate::client::RegistryClient;
use crate::{DEFAULT_REGISTRY, InstallError};
use plugboard_bot::config::BotConfig;
use plugboard_bot::discovery::{engine_options, local_plugin_dirs};
use plugboard_bot::installed::{
    Installed, InstalledPlugin, PREVIOUS_LOCKFILE, PackagesLock, write_atomically,
};
use plugboard_host::engine::{Component as CompiledComponent, PluginEngine, host_contracts};
use plugboard_host::link::{self, InterfaceFuncs};
use plugboard_host::plugin::read_manifest;
use plugboard_registry_types::interfaces::InterfaceName;

/// The lockfile's name, next to the config file.
pub use plugboard_bot::discovery::LOCKFILE;

/// One change a plan makes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A plugin that was not installed.
    Install {
        /// Its name.
        name: String,
        /// The version to install.
        version: Version,
        /// The permissions it asks for (granted by applying the plan).
        permissions: Vec<Permission>,
        /// Whether it comes only as a dependency of another plugin.
        dependency: bool,
    },
    /// An installed plugin moving to another version.
    Update {
        /// Its name.
        name: String,
        /// The installed version.
        from: Version,
        /// The new version.
        to: Version,
        /// Permissions the new version asks for that the old one did not.
        new_permissions: Vec<Permission>,
        /// Whether the new version is signed by another publisher key than
        /// the installed one (a rotated key, or someone else).
        new_key: bool,
    },
    /// An installed plugin going away (removed, or no longer needed).
    Remove {
        /// Its name.
        name: String,
        /// The installed version.
        version: Version,
    },
}

impl Change {
    /// The permissions the owner grants by applying this change.
    pub fn asks(&self) -> &[Permission] {
        match self {
            Change::Install { permissions, .. } => permissions,
            Change::Update {
                new_permissions, ..
            } => new_permissions,
            Change::Remove { .. } => &[],
        }
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Install {
                name,
                version,
                dependency,
                ..
            } => {
                write!(f, "install {name} {version}")?;
                if *dependency {
                    f.write_str(" (a dependency)")?;
                }
                Ok(())
            }
            Change::Update {
                name,
                from,
                to,
                new_key,
                ..
            } => {
                let how = if to > from { "update" } else { "downgrade" };
                write!(f, "{how} {name} {from} -> {to}")?;
                if *new_key {
                    f.write_str(
                        " (warning: signed with another publisher key than the installed version)",
                    )?;
                }
                Ok(())
            }
            Change::Remove { name, version } => write!(f, "remove {name} {version}"),
        }
    }
}

/// What an operation would do, and what it needs to do it.
#[derive(Debug)]
pub struct Plan {
    /// The changes, dependencies first; empty when no plugin changes.
    pub changes: Vec<Change>,
    /// Whether the record changes anyway (a new requirement that the
    /// installed version already meets).
    pub requirements_changed: bool,
    next: Installed,
    lock: Lockfile,
    /// Index entries of the packages to fetch, with their directories.
    wanted: Vec<(IndexEntry, String)>,
    fetched: Vec<(String, Contents)>,
}

impl Plan {
    /// Whether the plan changes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && !self.requirements_changed
    }

    /// Every permission the plan grants, by plugin.
    pub fn permissions(&self) -> Vec<(&str, &[Permission])> {
        self.changes
            .iter()
            .filter(|c| !c.asks().is_empty())
            .map(|c| match c {
                Change::Install { name, .. }
                | Change::Update { name, .. }
                | Change::Remove { name, .. } => (name.as_str(), c.asks()),
            })
            .collect()
    }
}

/// A plugin with a newer version out, for `plugboard outdated`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outdated {
    /// Its name.
    pub name: String,
    /// The installed version.
    pub installed: Version,
    /// The newest version the owner's requirement allows.
    pub compatible: Option<Version>,
    /// The newest version this host can run.
    pub latest: Option<Version>,
}

/// Installs, updates and removes the registry plugins of one bot.
pub struct Manager {
    config: BotConfig,
    client: RegistryClient,
    data_dir: PathBuf,
    lock_path: PathBuf,
    installed: Installed,
    lock: Lockfile,
    /// Held from reading the record to writing the new one.
    _guard: PackagesLock,
}

impl Manager {
    /// A manager for the bot of `config`, using the registry called
    /// `registry` (`default` when `None`) from the config's `[registries]`.
    pub fn open(config: &BotConfig, registry: Option<&str>) -> Result<Self, InstallError> {
        let name = registry.unwrap_or(DEFAULT_REGISTRY);
        let url = config
            .registries
            .get(name)
            .ok_or_else(|| InstallError::UnknownRegistry(name.to_owned()))?;
        let client = RegistryClient::new(name, url, &config.cache_dir())?;
        let data_dir = config.data_dir();
        let guard = Installed::lock(&data_dir)?;
        let installed = Installed::load(&data_dir)?;
        if let Some(other) = installed.plugins.iter().find(|p| p.registry != name) {
            return Err(InstallError::Refused(format!(
                "{} is installed from registry `{}`; one bot installs from one registry, so use \
                 `--registry {}`",
                other.name, other.registry, other.registry
            )));
        }
        let lock_path = config.resolve(std::path::Path::new(LOCKFILE));
        let lock = Lockfile::load(&lock_path)?.unwrap_or_default();
        Ok(Self {
            config: config.clone(),
            client,
            data_dir,
            lock_path,
            installed,
            lock,
            _guard: guard,
        })
    }

    /// The registry client.
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// The current installation record.
    pub fn installed(&self) -> &Installed {
        &self.installed
    }

    /// The requirements the owner asked for, as recorded.
    fn requested(&self) -> Result<BTreeMap<String, VersionReq>, InstallError> {
        self.installed
            .plugins
            .iter()
            .filter_map(|p| p.requested.as_ref().map(|r| (p, r)))
            .map(|(p, req)| {
                req.parse().map(|req| (p.name.clone(), req)).map_err(|e| {
                    InstallError::Refused(format!(
                        "the installation record asks for {} {req:?}, which is not a version \
                         requirement ({e}); reinstall it with `plugboard install {}`",
                        p.name, p.name
                    ))
                })
            })
            .collect()
    }

    /// Plans installing `wanted` (name and requirement) beside what is
    /// installed, honouring the lockfile.
    pub fn plan_install(&self, wanted: &[(String, VersionReq)]) -> Result<Plan, InstallError> {
        let mut requested = self.requested()?;
        for (name, req) in wanted {
            self.refuse_local_copy(name)?;
            requested.insert(name.clone(), req.clone());
        }
        self.plan(requested, Update::Nothing)
    }

    /// Plans updating `names` (everything when empty) to the newest versions
    /// their requirements allow.
    pub fn plan_update(&self, names: &[String]) -> Result<Plan, InstallError> {
        let update = if names.is_empty() {
            Update::All
        } else {
            for name in names {
                if self.installed.get(name).is_none() {
                    return Err(not_installed(name));
                }
            }
            Update::Only(names.iter().cloned().collect())
        };
        self.plan(self.requested()?, update)
    }

    /// Plans removing `names`, and whatever only they needed.
    pub fn plan_remove(&self, names: &[String]) -> Result<Plan, InstallError> {
        let mut requested = self.requested()?;
        for name in names {
            if self.installed.get(name).is_none() {
                return Err(not_installed(name));
            }
            requested.remove(name);
        }
        let plan = self.plan(requested, Update::Nothing)?;
        for name in names {
            if let Some(user) = plan.next.plugins.iter().find(|p| p.name == *name) {
                let users: Vec<&str> = plan
                    .lock
                    .plugins()
                    .iter()
                    .filter(|l| l.dependency_pairs().iter().any(|(d, _)| d == name))
                    .map(|l| l.name.as_str())
                    .collect();
                return Err(InstallError::Refused(format!(
                    "cannot remove {} {}: {} depend{} on it; remove {} too, or keep it",
                    user.name,
                    user.version,
                    users.join(", "),
                    if users.len() == 1 { "s" } else { "" },
                    users.join(" and ")
                )));
            }
        }
        Ok(plan)
    }

    /// A plugin of the same name in the config's `plugin_dirs` would clash.
    fn refuse_local_copy(&self, name: &str) -> Result<(), InstallError> {
        for dir in local_plugin_dirs(&self.config) {
            if read_manifest(&dir).is_ok_and(|m| m.name == name) {
                return Err(InstallError::Refused(format!(
                    "a plugin named `{name}` is already loaded from {}; remove it from \
                     `runtime.plugin_dirs` (or that directory) before installing `{name}` from a registry",
                    dir.display()
                )));
            }
        }
        Ok(())
    }

    fn plan(
        &self,
        requested: BTreeMap<String, VersionReq>,
        update: Update,
    ) -> Result<Plan, InstallError> {
        let mut request = Request::new(WitSupport::speaks(&host_contracts()))
            .with_lock(&self.lock)
            .update(update);
        for (name, req) in &requested {
            request = request.require(name.clone(), req.clone());
        }
        let (resolved, lock) = if requested.is_empty() {
            (Vec::new(), Lockfile::default())
        } else {
            let resolution = resolve(&self.client, &request)?;
            let lock = resolution.to_lockfile();
            (resolution.plugins, lock)
        };
        // The bot loads dependencies first and refuses a cycle: so does
        // this, before anything is downloaded.
        let graph: Vec<(&str, Vec<&str>)> = resolved
            .iter()
            .map(|p| {
                let deps = p.entry.deps.keys().map(String::as_str).collect();
                (p.name.as_str(), deps)
            })
            .collect();
        let (_, cycles) = plugboard_registry_types::graph::dependency_order(&graph);
        if let Some(cycle) = cycles.first() {
            return Err(InstallError::Refused(format!(
                "these plugins depend on each other in a circle: {}; plugins cannot depend on each \
                 other in a circle, so nothing was installed (ask their publishers to break the cycle)",
                cycle.join(" → ")
            )));
        }

        let mut changes = Vec::new();
        let mut next = Installed::default();
        let mut wanted = Vec::new();
        for chosen in &resolved {
            let entry = &chosen.entry;
            let existing = self.installed.get(&chosen.name);
            let requested = requested.get(&chosen.name).map(ToString::to_string);
            let record = match existing {
                Some(old) if old.version == chosen.version && old.sha256 == entry.sha256 => {
                    InstalledPlugin {
                        requested,
                        ..old.clone()
                    }
                }
                _ => {
                    let dir = format!(
                        "{}-{}-{}",
                        chosen.name,
                        chosen.version,
                        &entry.sha256[..12.min(entry.sha256.len())]
                    );
                    changes.push(match existing {
                        Some(old) => Change::Update {
                            name: chosen.name.clone(),
                            from: old.version.clone(),
                            to: chosen.version.clone(),
                            new_permissions: entry
                                .permissions
                                .iter()
                                .filter(|p| !old.permissions.contains(p))
                                .copied()
                                .collect(),
                            new_key: old.key_id != entry.key_id,
                        },
                        None => Change::Install {
                            name: chosen.name.clone(),
                            version: chosen.version.clone(),
                            permissions: entry.permissions.clone(),
                            dependency: requested.is_none(),
                        },
                    });
                    wanted.push((entry.clone(), dir.clone()));
                    InstalledPlugin {
                        name: chosen.name.clone(),
                        version: chosen.version.clone(),
                        registry: self.client.name().to_owned(),
                        sha256: entry.sha256.clone(),
                        key_id: entry.key_id.clone(),
                        dir,
                        requested,
                        permissions: entry.permissions.clone(),
                    }
                }
            };
            next.plugins.push(record);
        }
        for old in &self.installed.plugins {
            if next.get(&old.name).is_none() {
                changes.push(Change::Remove {
                    name: old.name.clone(),
                    version: old.version.clone(),
                });
            }
        }
        let mut before = self.installed.plugins.clone();
        before.sort_by(|a, b| a.name.cmp(&b.name));
        let mut after = next.plugins.clone();
        after.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Plan {
            changes,
            requirements_changed: before != after,
            next,
            lock,
            wanted,
            fetched: Vec::new(),
        })
    }

    /// Downloads (or takes from the cache) every package the plan needs,
    /// verifies its checksum and signature, and unpacks it in memory, which
    /// validates the component and checks that it exports the contract
    /// version its manifest names. `progress(name, received, total)` is
    /// called as bytes arrive. Compiling is left to
    /// [`Manager::warm_compile_cache`] after the switch.
    pub fn fetch(
        &self,
        plan: &mut Plan,
        progress: &mut dyn FnMut(&str, u64, Option<u64>),
    ) -> Result<(), InstallError> {
        if plan.wanted.is_empty() {
            return Ok(());
        }
        for (entry, dir) in &plan.wanted {
            let package_error = |problem| InstallError::Package {
                name: entry.name.clone(),
                version: entry.version.clone(),
                problem: Box::new(problem),
            };
            let bytes = self
                .client
                .download(entry, &mut |got, total| progress(&entry.name, got, total))?;
            let checksum: Checksum = entry.sha256.parse().map_err(package_error)?;
            let signature: Signature = entry.signature.parse().map_err(package_error)?;
            let key = self.client.public_key(&entry.key_id)?;
            let contents = unpack_verified(&bytes, &checksum, &key, &signature, &Limits::default())
                .map_err(package_error)?;
            let manifest = contents.manifest();
            if manifest.name != entry.name || manifest.version != entry.version {
                return Err(InstallError::Refused(format!(
                    "the package listed as {} {} holds {} {}; registry `{}` is inconsistent, \
                     nothing was installed",
                    entry.name,
                    entry.version,
                    manifest.name,
                    manifest.version,
                    self.client.name()
                )));
            }
            let mut signed: Vec<_> = manifest.permissions.clone();
            let mut listed: Vec<_> = entry.permissions.clone();
            signed.sort();
            signed.dedup();
            listed.sort();
            listed.dedup();
            if signed != listed {
                return Err(InstallError::Refused(format!(
                    "{} {}: registry `{}` lists the permissions [{}], but the signed package asks                      for [{}]; nothing was installed",
                    entry.name,
                    entry.version,
                    self.client.name(),
                    names(&listed),
                    names(&signed)
                )));
            }
            plan.fetched.push((dir.clone(), contents));
        }
        let set = self.next_set(plan);
        self.refuse_command_conflicts(&set)?;
        self.refuse_broken_links(&set)
    }

    /// The plugins the bot would load after `plan`, in load order (local
    /// plugins, then registry plugins; disabled ones and a second plugin of
    /// one name left out, as the bot does), each with whether the plan
    /// changes it and where its component is.
    fn next_set<'p>(&self, plan: &'p Plan) -> Vec<NextPlugin<'p>> {
        let root = Installed::root(&self.data_dir);
        let mut set: Vec<NextPlugin<'p>> = Vec::new();
        let add = |set: &mut Vec<NextPlugin<'p>>, next: NextPlugin<'p>| {
            if self.config.plugin(&next.manifest.name).enabled
                && !set.iter().any(|p| p.manifest.name == next.manifest.name)
            {
                set.push(next);
            }
        };
        for dir in local_plugin_dirs(&self.config) {
            if let Ok(manifest) = read_manifest(&dir) {
                let component = Component::File(dir.join(plugboard_package::COMPONENT_FILE));
                let next = NextPlugin {
                    manifest,
                    changed: false,
                    component,
                };
                add(&mut set, next);
            }
        }
        for plugin in &plan.next.plugins {
            let fetched = plan.fetched.iter().find(|(dir, _)| *dir == plugin.dir);
            let next = match fetched {
                Some((_, contents)) => NextPlugin {
                    manifest: contents.manifest().clone(),
                    changed: true,
                    component: Component::Fetched(contents.component()),
                },
                None => {
                    let dir = root.join(&plugin.dir);
                    match read_manifest(&dir) {
                        Ok(manifest) => NextPlugin {
                            manifest,
                            changed: false,
                            component: Component::File(dir.join(plugboard_package::COMPONENT_FILE)),
                        },
                        Err(_) => continue,
                    }
                }
            };
            add(&mut set, next);
        }
        set
    }

    /// Refuses a plan that would give a command name to two plugins, one of
    /// them new or changed, unless the owner's `[commands]` table decides
    /// (see [`plugboard_model::commands`]): an install must not silently take a
    /// command from a plugin already answering it, nor lose its own.
    fn refuse_command_conflicts(&self, set: &[NextPlugin<'_>]) -> Result<(), InstallError> {
        let manifests: Vec<Manifest> = set.iter().map(|p| p.manifest.clone()).collect();
        let changed: Vec<&str> = set
            .iter()
            .filter(|p| p.changed)
            .map(|p| p.manifest.name.as_str())
            .collect();
        let assignment = plugboard_model::commands::assign(&manifests, &self.config.commands);
        let conflicts: Vec<String> = assignment
            .undecided()
            .filter(|c| {
                changed.contains(&c.owner.as_str()) || changed.contains(&c.shadowed.as_str())
            })
            .map(ToString::to_string)
            .collect();
        if conflicts.is_empty() {
            return Ok(());
        }
        Err(InstallError::Refused(format!(
            "two plugins would answer the same command:\n  {}\nNothing was installed.",
            conflicts.join("\n  ")
        )))
    }

    /// Refuses a plan after which a plugin would not link at load: for
    /// every plugin that provides or imports interfaces and that the plan
    /// changes, or whose provider it changes, compiles the components
    /// involved (into the compile cache the bot loads from) and runs the
    /// bot's own checks ([`link::choose_provider`], [`link::check_interfaces`]).
    fn refuse_broken_links(&self, set: &[NextPlugin<'_>]) -> Result<(), InstallError> {
        let by_name = |name: &str| set.iter().find(|p| p.manifest.name == name);
        let dependency = |name: &str| Ok(by_name(name).map(|p| &p.manifest));
        // Each linked plugin the plan touches, with its chosen providers.
        let mut checks: Vec<(&NextPlugin<'_>, Vec<&NextPlugin<'_>>)> = Vec::new();
        for plugin in set {
            let linked =
                !plugin.manifest.imports.is_empty() || !plugin.manifest.provides.is_empty();
            if !linked {
                continue;
            }
            // Problems of plugins the plan leaves alone are not its to refuse.
            let touched = plugin.changed
                || plugin
                    .manifest
                    .dependencies
                    .keys()
                    .any(|d| by_name(d).is_some_and(|p| p.changed));
            if !touched {
                continue;
            }
            let mut providers = Vec::new();
            for interface in plugin.manifest.imported_interfaces() {
                let chosen = link::choose_provider(&plugin.manifest, &interface, &dependency)
                    .map_err(|e| refused_link(&plugin.manifest, &e.0))?;
                if let Some(provider) = chosen.and_then(|m| by_name(&m.name))
                    && !providers
                        .iter()
                        .any(|p: &&NextPlugin<'_>| p.manifest.name == provider.manifest.name)
                {
                    providers.push(provider);
                }
            }
            checks.push((plugin, providers));
        }
        if checks.is_empty() {
            return Ok(());
        }
        let engine = PluginEngine::new(&engine_options(&self.config)).map_err(|e| {
            InstallError::Refused(format!("cannot check how the plugins link: {e}"))
        })?;
        // Compiled once each, with what it provides.
        let mut compiled: HashMap<String, (CompiledComponent, Vec<InterfaceFuncs>)> =
            HashMap::new();
        let mut compile = |plugin: &NextPlugin<'_>| -> Result<(), InstallError> {
            let name = &plugin.manifest.name;
            if compiled.contains_key(name) {
                return Ok(());
            }
            let problem = |e: &dyn std::fmt::Display| {
                refused_link(
                    &plugin.manifest,
                    &format!("its component does not load: {e}"),
                )
            };
            let wasm = plugin.component.read().map_err(|e| problem(&e))?;
            let (component, _) = engine.load(&wasm).map_err(|e| problem(&e))?;
            let contract = engine.check_contract(&component).map_err(|e| problem(&e))?;
            let provided =
                link::check_provided(engine.engine(), &component, &plugin.manifest, &contract)
                    .map_err(|e| refused_link(&plugin.manifest, &e.0))?;
            compiled.insert(name.clone(), (component, provided));
            Ok(())
        };
        for (plugin, providers) in &checks {
            for provider in providers {
                compile(provider)?;
            }
            compile(plugin)?;
        }
        for (plugin, _) in &checks {
            let Some((component, _)) = compiled.get(&plugin.manifest.name) else {
                continue;
            };
            let offer = |interface: &InterfaceName| {
                let provider =
                    link::choose_provider(&plugin.manifest, interface, &dependency).ok()??;
                let (_, provided) = compiled.get(&provider.name)?;
                Some(link::Offer {
                    manifest: provider,
                    provided,
                })
            };
            link::check_imports(engine.engine(), component, &offer)
                .map_err(|e| refused_link(&plugin.manifest, &e.0))?;
        }
        Ok(())
    }

    /// Switches to the plan's set: writes new package directories, then the
    /// lockfile, then the installation record (the switch). Call
    /// [`Manager::fetch`] first.
    pub fn apply(&self, plan: Plan) -> Result<(), InstallError> {
        if plan.fetched.len() != plan.wanted.len() {
            return Err(InstallError::Refused(
                "the plan's packages were not fetched; call `fetch` before `apply`".into(),
            ));
        }
        let root = Installed::root(&self.data_dir);
        std::fs::create_dir_all(&root).map_err(InstallError::io(&root))?;
        for (dir, contents) in &plan.fetched {
            let target = root.join(dir);
            if target.join("plugin.wasm").exists() {
                continue; // the same package, already unpacked
            }
            let staging = root.join(format!(".staging-{dir}-{}", std::process::id()));
            if staging.exists() {
                std::fs::remove_dir_all(&staging).map_err(InstallError::io(&staging))?;
            }
            std::fs::create_dir_all(&staging).map_err(InstallError::io(&staging))?;
            contents
                .write_to(&staging)
                .map_err(|problem| InstallError::Package {
                    name: contents.manifest().name.clone(),
                    version: contents.manifest().version.clone(),
                    problem: Box::new(problem),
                })?;
            std::fs::rename(&staging, &target).map_err(InstallError::io(&target))?;
        }
        // The lockfile before the change goes with the previous record (empty:
        // there was none), for a rollback.
        let old_lock = std::fs::read(&self.lock_path).unwrap_or_default();
        write_atomically(&root.join(PREVIOUS_LOCKFILE), &old_lock)?;
        plan.lock.save(&self.lock_path)?;
        plan.next.save(&self.data_dir)?;
        plan.next.collect_garbage(&self.data_dir);
        Ok(())
    }

    /// Compiles the components of the installed plugins into the compile
    /// cache, in parallel, so that the bot (running or next started) loads
    /// them at once. Returns the plugins whose component this host cannot
    /// load, each with the reason; the bot refuses those (and a running bot
    /// rolls the change back).
    pub fn warm_compile_cache(&self) -> Vec<String> {
        let installed = match Installed::load(&self.data_dir) {
            Ok(installed) => installed,
            Err(e) => return vec![e.to_string()],
        };
        let engine = match PluginEngine::new(&engine_options(&self.config)) {
            Ok(engine) => engine,
            Err(e) => return vec![e.to_string()],
        };
        let root = Installed::root(&self.data_dir);
        let work = std::sync::Mutex::new(installed.plugins.iter());
        let problems = std::sync::Mutex::new(Vec::new());
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        std::thread::scope(|scope| {
            for _ in 0..threads.min(installed.plugins.len()) {
                scope.spawn(|| {
                    loop {
                        let next = work.lock().unwrap_or_else(|p| p.into_inner()).next();
                        let Some(plugin) = next else { break };
                        let path = root
                            .join(&plugin.dir)
                            .join(plugboard_package::COMPONENT_FILE);
                        let loaded = std::fs::read(&path)
                            .map_err(|e| format!("{}: {e}", path.display()))
                            .and_then(|wasm| engine.load(&wasm).map_err(|e| e.to_string()))
                            .and_then(|(component, _)| {
                                engine.check_contract(&component).map_err(|e| e.to_string())
                            });
                        if let Err(problem) = loaded {
                            problems
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(format!("{} {}: {problem}", plugin.name, plugin.version));
                        }
                    }
                });
            }
        });
        problems.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    /// Installed plugins with newer versions in the registry.
    pub fn outdated(&self) -> Result<Vec<Outdated>, InstallError> {
        let host = WitSupport::speaks(&host_contracts());
        let mut found = Vec::new();
        for plugin in &self.installed.plugins {
            let usable: Vec<Version> = self
                .client
                .index(&plugin.name)?
                .into_iter()
                .filter(|e| !e.yanked && host.supports(&e.wit))
                .map(|e| e.version)
                .collect();
            let req = plugin
                .requested
                .as_deref()
                .and_then(|r| r.parse::<VersionReq>().ok());
            let compatible = usable
                .iter()
                .filter(|v| req.as_ref().is_none_or(|r| r.matches(v)))
                .max()
                .cloned();
            let latest = usable.iter().max().cloned();
            let newer = |v: &Option<Version>| v.as_ref().is_some_and(|v| v > &plugin.version);
            if newer(&compatible) || newer(&latest) {
                found.push(Outdated {
                    name: plugin.name.clone(),
                    installed: plugin.version.clone(),
                    compatible,
                    latest,
                });
            }
        }
        Ok(found)
    }
}

fn not_installed(name: &str) -> InstallError {
    InstallError::Refused(format!(
        "`{name}` is not installed from a registry; `plugboard plugins list` shows what is"
    ))
}

fn names(permissions: &[Permission]) -> String {
    let names: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
    names.join(", ")
}

/// A plugin of the set the bot would load after a plan.
struct NextPlugin<'p> {
    manifest: Manifest,
    /// Whether the plan installs or updates it.
    changed: bool,
    component: Component<'p>,
}

/// Where a component of the next set is.
enum Component<'p> {
    /// Already on disk (installed, or a local plugin).
    File(PathBuf),
    /// Fetched by the plan, not yet written.
    Fetched(&'p [u8]),
}

impl Component<'_> {
    fn read(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        match self {
            Component::File(path) => std::fs::read(path)
                .map(std::borrow::Cow::Owned)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
            Component::Fetched(bytes) => Ok(std::borrow::Cow::Borrowed(bytes)),
        }
    }
}

/// A plan refused because `manifest`'s plugin would not link.
fn refused_link(manifest: &Manifest, problem: &str) -> InstallError {
    InstallError::Refused(format!(
        "{} {} would not load: {problem}. Nothing was installed.",
        manifest.name, manifest.version
    ))
}
