//! Loading plugins and running one event through one plugin.
//!
//! A plugin on disk is a directory holding `plugin.toml` (its [`Manifest`])
//! and `plugin.wasm` (a component), the same layout an installed package has.
//! [`load_plugin`] validates both, checks the contract version, links the
//! imports once into an `InstancePre`, and returns a [`LoadedPlugin`].
//!
//! [`LoadedPlugin::handle`] runs one event: it takes a warm instance from the
//! plugin's idle list (or instantiates a fresh one from the pool and calls its
//! `init`), arms the event's CPU budget and deadline, calls `handle`, and turns
//! the returned actions into deliveries. A failure that may have left the
//! instance in a bad state (trap, budget, deadline) discards the instance.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use plugboard_registry_types::interfaces::InterfaceName;
use plugboard_registry_types::{Manifest, ManifestError, contract};
use wasmtime::component::{ComponentExportIndex, Val};
use wasmtime::{Store, UpdateDeadline};

use crate::engine::{
    CacheOutcome, EngineError, PluginEngine, newest_contract, supported, supported_versions,
};
use crate::link::{self, InterfaceFuncs, Link, Providers};
use crate::sandbox::{EPOCH_TICK, Failure, Limits};
use crate::state::{
    ActionContext, ConfigState, HostState, HttpState, KvState, LogState, PluginShared,
};
use crate::{v0_1, v0_2};
use plugboard_model::event::{ChatRef, Event, Outbound};
use plugboard_store::Store as DataStore;

/// Most idle instances kept per plugin.
const MAX_IDLE: usize = 16;
/// Epoch ticks an event runs at full speed before it is throttled.
const FREE_TICKS: u64 = 2;
/// Ticks a throttled event sleeps after each tick it runs (25% duty cycle).
const THROTTLE_PAUSE_TICKS: u32 = 3;

/// Why a plugin directory could not be loaded. Each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is malformed or breaks a rule.
    #[error("{path}: {source}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: ManifestError,
    },
    /// The manifest asks for a contract version this host does not speak.
    #[error(
        "{path}: `wit = \"{found}\"` is a contract version this plugboard does not speak (it speaks {supported}); rebuild the plugin against plugboard-sdk for {newest}"
    )]
    ManifestContract {
        /// The manifest file.
        path: PathBuf,
        /// The declared version.
        found: semver::Version,
        /// What the host speaks.
        supported: String,
        /// The newest of those.
        newest: String,
    },
    /// The manifest and the component disagree on the contract version.
    #[error(
        "{path}: plugin.toml says `wit = \"{declared}\"` but the component was built against {found}; fix `wit` in plugin.toml or rebuild the component"
    )]
    ContractMismatch {
        /// The component file.
        path: PathBuf,
        /// What the manifest says.
        declared: semver::Version,
        /// What the component exports.
        found: semver::Version,
    },
    /// The component is invalid, incompatible or cannot be linked.
    #[error("{path}: {source}")]
    Component {
        /// The component file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: EngineError,
    },
    /// The plugin's stored data could not be read.
    #[error("cannot read the stored data of `{plugin}`: {source}")]
    Store {
        /// The plugin.
        plugin: String,
        /// The cause.
        #[source]
        source: plugboard_store::StoreError,
    },
    /// The owner's settings for this plugin are wrong.
    #[error("[plugins.{plugin}] in the config: {problem}")]
    Settings {
        /// The plugin.
        plugin: String,
        /// What is wrong.
        problem: String,
    },
    /// The owner's configuration of this plugin does not fit the settings
    /// it declares.
    #[error(
        "[plugins.{plugin}.config] in the config: {}",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Config {
        /// The plugin.
        plugin: String,
        /// Each wrong value, with its fix.
        problems: Vec<plugboard_registry_types::settings::SettingProblem>,
    },
    /// The interfaces the plugin provides or imports do not fit its
    /// manifest, its dependencies or each other.
    #[error("plugin `{plugin}`: {problem}")]
    Link {
        /// The plugin.
        plugin: String,
        /// What is wrong, naming the interfaces and plugins involved.
        problem: String,
    },
    /// The owner's limits for this plugin do not parse.
    #[error("[plugins.{plugin}.limits] in the config: {problem}")]
    Limits {
        /// The plugin.
        plugin: String,
        /// What is wrong.
        problem: String,
    },
}

impl LoadError {
    /// The plugin the error is about, when it names one by name rather
    /// than by file (its stored data, its settings, its limits).
    pub fn plugin(&self) -> Option<&str> {
        match self {
            LoadError::Store { plugin, .. }
            | LoadError::Settings { plugin, .. }
            | LoadError::Config { plugin, .. }
            | LoadError::Link { plugin, .. }
            | LoadError::Limits { plugin, .. } => Some(plugin),
            _ => None,
        }
    }

    /// The file the error is about, when it names one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            LoadError::Io { path, .. }
            | LoadError::Manifest { path, .. }
            | LoadError::ManifestContract { path, .. }
            | LoadError::ContractMismatch { path, .. }
            | LoadError::Component { path, .. } => Some(path),
            LoadError::Store { .. }
            | LoadError::Settings { .. }
            | LoadError::Config { .. }
            | LoadError::Link { .. }
            | LoadError::Limits { .. } => None,
        }
    }
}

/// How the owner configured one plugin.
#[derive(Debug, Clone, Default)]
pub struct PluginSettings {
    /// The plugin's configuration (`[plugins.<name>.config]`), as JSON.
    pub config: serde_json::Map<String, serde_json::Value>,
    /// Its budgets, defaults and overrides merged.
    pub limits: Limits,
    /// The permissions the owner granted it.
    pub grants: std::collections::BTreeSet<plugboard_registry_types::Permission>,
    /// Special address ranges its HTTP requests may reach anyway
    /// (`http_allow_private`).
    pub http_allow_private: Vec<crate::http::Cidr>,
    /// The values of its secret settings, never shown in what the host
    /// writes about the plugin.
    pub secrets: Vec<String>,
    /// The bot's timetable, for the `schedule` interface (none: every
    /// schedule is refused).
    pub timetable: Option<Arc<plugboard_schedule::Timetable>>,
    /// Who holds which role, for the `people` interface (none: every
    /// question is refused).
    pub roles: Option<Arc<dyn crate::roles::RoleOracle>>,
    /// For each interface it imports from another plugin, the provider
    /// the bot chose (see [`crate::link`]).
    pub links: Vec<Link>,
    /// Where its calls to other plugins find their provider at run time
    /// (none: a plugin that imports an interface does not load).
    pub providers: Option<Arc<Providers>>,
}

/// Counters of one plugin.
#[derive(Default)]
struct Stats {
    events: AtomicU64,
    failures: AtomicU64,
    /// Epoch ticks that found the plugin running: its CPU time, sampled
    /// every [`EPOCH_TICK`].
    cpu_ticks: AtomicU64,
}

/// The outcomes of a plugin's recent events, and whether it is suspended.
#[derive(Default)]
struct Breaker {
    /// `true` for a failed event, newest last; at most `breaker_window` long.
    recent: VecDeque<bool>,
    /// How many of `recent` are `true`.
    failures: usize,
    suspended: Option<String>,
}

impl Breaker {
    /// Records one outcome; returns the reason when this one trips the breaker.
    fn record<T>(
        &mut self,
        failed: bool,
        result: &Result<T, Failure>,
        limits: &Limits,
    ) -> Option<String> {
        let (threshold, window) = (limits.breaker_failures, limits.breaker_window.max(1));
        if threshold == 0 {
            return None;
        }
        self.recent.push_back(failed);
        self.failures += usize::from(failed);
        while self.recent.len() > window as usize {
            if self.recent.pop_front() == Some(true) {
                self.failures -= 1;
            }
        }
        let failures = self.failures;
        if failures < threshold as usize || self.suspended.is_some() {
            return None;
        }
        let last = match result {
            Err(failure) => plugboard_model::text::truncate(
                &failure.to_string(),
                plugboard_model::text::MAX_ERROR_TEXT,
            )
            .into_owned(),
            Ok(_) => String::new(),
        };
        let reason = format!(
            "it failed {failures} of its last {} events (the last: {last})",
            self.recent.len()
        );
        self.suspended = Some(reason.clone());
        Some(reason)
    }
}

/// A component linked against the contract version it was built for.
enum Pre {
    V0_1(v0_1::Pre),
    V0_2(v0_2::Pre),
}

/// An instance's exports, in its contract version's bindings.
enum Bindings {
    V0_1(v0_1::Exports),
    V0_2(v0_2::Exports),
}

struct Warm {
    store: Store<HostState>,
    bindings: Bindings,
}

/// A plugin ready to handle events.
pub struct LoadedPlugin {
    shared: Arc<PluginShared>,
    dir: PathBuf,
    pre: Pre,
    engine: wasmtime::Engine,
    idle: Mutex<Vec<Warm>>,
    // One permit per instance that may be alive at once.
    instances: tokio::sync::Semaphore,
    breaker: Mutex<Breaker>,
    /// Whether the breaker holds a suspension: read without its lock on
    /// every event.
    tripped: AtomicBool,
    stats: Stats,
    disabled: std::sync::OnceLock<String>,
    /// Whether the component came from the compile cache.
    pub cache: CacheOutcome,
    /// The interfaces it provides to other plugins (its `provides`), with
    /// where each function is.
    provided: Vec<InterfaceFuncs>,
    /// The interfaces of other plugins it imports.
    imports: Vec<InterfaceFuncs>,
}

/// Reads and validates `dir/plugin.toml`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, LoadError> {
    let path = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
        path: path.clone(),
        source,
    })?;
    let manifest = Manifest::from_toml(&text).map_err(|source| LoadError::Manifest {
        path: path.clone(),
        source,
    })?;
    if !supported(&manifest.wit) {
        return Err(LoadError::ManifestContract {
            path,
            found: manifest.wit.clone(),
            supported: supported_versions(),
            newest: newest_contract(),
        });
    }
    Ok(manifest)
}

/// Loads the plugin in `dir`: manifest, component, contract check, linking.
pub fn load_plugin(
    dir: &Path,
    engine: &PluginEngine,
    store: Arc<dyn DataStore>,
    settings_for: impl FnOnce(&Manifest) -> Result<PluginSettings, LoadError>,
) -> Result<LoadedPlugin, LoadError> {
    let manifest = read_manifest(dir)?;
    let settings = settings_for(&manifest)?;
    let wasm_path = dir.join("plugin.wasm");
    let wasm = std::fs::read(&wasm_path).map_err(|source| LoadError::Io {
        path: wasm_path.clone(),
        source,
    })?;
    let component_err = |source| LoadError::Component {
        path: wasm_path.clone(),
        source,
    };
    let (component, cache) = engine.load(&wasm).map_err(component_err)?;
    let found = engine.check_contract(&component).map_err(component_err)?;
    if !contract::loads_on(&found, &manifest.wit) {
        return Err(LoadError::ContractMismatch {
            path: wasm_path,
            declared: manifest.wit.clone(),
            found,
        });
    }
    let link_err = |problem: String| LoadError::Link {
        plugin: manifest.name.clone(),
        problem,
    };
    let is_0_2 = contract::loads_on(&found, &v0_2::version());
    let offer = |interface: &InterfaceName| {
        let link = settings.links.iter().find(|l| &l.interface == interface)?;
        Some(link::Offer {
            manifest: link.provider.manifest(),
            provided: &link.provider.provided,
        })
    };
    let (provided, imports) =
        link::check_interfaces(engine.engine(), &component, &manifest, &found, &offer)
            .map_err(|e| link_err(e.0))?;
    let linked = if imports.is_empty() {
        engine.linker().instantiate_pre(&component)
    } else {
        let providers = settings.providers.as_ref().ok_or_else(|| {
            link_err("it imports interfaces of other plugins, which this host does not link".into())
        })?;
        let mut linker = engine.linker().clone();
        link::define_imports(&mut linker, &imports, &settings.links, providers)
            .map_err(|e| link_err(e.0))?;
        linker.instantiate_pre(&component)
    };
    let pre = if is_0_2 {
        linked.and_then(v0_2::Pre::new).map(Pre::V0_2)
    } else {
        linked.and_then(v0_1::Pre::new).map(Pre::V0_1)
    }
    .map_err(|e| component_err(EngineError::Link(format!("{e:#}"))))?;
    let config_json = serde_json::Value::Object(settings.config.clone()).to_string();
    let store_err = |source| LoadError::Store {
        plugin: manifest.name.clone(),
        source,
    };
    let suspended = store.suspension(&manifest.name).map_err(store_err)?;
    let kv_usage = store.kv_usage(&manifest.name).map_err(store_err)?;
    let http = if manifest.http.is_empty() {
        None
    } else {
        let origins = manifest
            .http
            .iter()
            .filter_map(|p| plugboard_registry_types::OriginPattern::parse(p).ok())
            .collect();
        let policy = Arc::new(crate::http::HttpPolicy {
            origins,
            allow_private: settings.http_allow_private.clone(),
        });
        let client =
            crate::http::client(Arc::clone(&policy)).map_err(|problem| LoadError::Settings {
                plugin: manifest.name.clone(),
                problem,
            })?;
        Some(HttpState { client, policy })
    };
    let log_budget = crate::sandbox::LogBudget::new(settings.limits.log_lines_per_sec);
    let shared = Arc::new(PluginShared {
        name: manifest.name.as_str().into(),
        manifest,
        limits: settings.limits,
        grants: crate::state::Grants::new(&settings.grants),
        store,
        throttled: Default::default(),
        refused_calls: Default::default(),
        config: ConfigState {
            json: config_json,
            values: settings.config,
        },
        kv: KvState::new(kv_usage),
        log: LogState {
            budget: Mutex::new(log_budget),
        },
        http,
        secrets: settings.secrets,
        timetable: settings.timetable,
        roles: settings.roles,
    });
    let permits = shared.limits.max_instances.max(1) as usize;
    Ok(LoadedPlugin {
        shared,
        dir: dir.to_path_buf(),
        pre,
        engine: engine.engine().clone(),
        idle: Mutex::new(Vec::new()),
        instances: tokio::sync::Semaphore::new(permits),
        tripped: AtomicBool::new(suspended.is_some()),
        breaker: Mutex::new(Breaker {
            recent: VecDeque::new(),
            failures: 0,
            suspended,
        }),
        stats: Stats::default(),
        disabled: std::sync::OnceLock::new(),
        cache,
        provided,
        imports,
    })
}

/// What one event produced in one plugin.
#[derive(Debug, Default)]
pub struct Handled {
    /// Deliveries, in order: messages sent through the host during the call,
    /// then the returned actions.
    pub outbound: Vec<Outbound>,
    /// Whether the plugin wrote to the store, KV data or schedules (which
    /// must be flushed before the deliveries go out).
    pub store_written: bool,
}

impl LoadedPlugin {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The name as a shared string.
    pub fn name_arc(&self) -> Arc<str> {
        Arc::clone(&self.shared.name)
    }

    /// Its manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.shared.manifest
    }

    /// Its budgets.
    pub fn limits(&self) -> &Limits {
        &self.shared.limits
    }

    /// Permissions its manifest asks for that the owner has not granted.
    pub fn missing_grants(&self) -> Vec<plugboard_registry_types::Permission> {
        let m = &self.shared.manifest;
        m.permissions
            .iter()
            .copied()
            .filter(|p| !self.shared.grants.contains(*p))
            .collect()
    }

    /// The permissions the owner granted it, now.
    pub fn grants(&self) -> std::collections::BTreeSet<plugboard_registry_types::Permission> {
        self.shared.grants.to_set()
    }

    /// From now on the plugin holds exactly `grants` (of what its manifest
    /// asks for): host calls already running keep what they were checked
    /// against, the next ones see the change.
    pub fn set_grants(
        &self,
        grants: &std::collections::BTreeSet<plugboard_registry_types::Permission>,
    ) {
        self.shared.grants.replace(grants);
    }

    /// Whether the plugin holds `permission`: its manifest asks for it and
    /// the owner granted it.
    pub fn holds(&self, permission: plugboard_registry_types::Permission) -> bool {
        self.shared.granted(permission)
    }

    /// The global id this plugin sees for the person `person`: the
    /// person's id with the `identity` permission, else an id of its own
    /// (see [`crate::state::global_id_for`]).
    pub fn global_id(&self, person: &str) -> String {
        self.shared.global_id(person)
    }

    /// Moves the plugin's KV keys under the prefix `from` to the same keys
    /// under `to` (a user's data following them to the person they linked
    /// to), keeping its KV accounting right. A key that already exists
    /// under `to` wins: the one under `from` stays where it was. Returns
    /// how many keys moved.
    pub fn move_kv_prefix(
        &self,
        from: &str,
        to: &str,
    ) -> Result<usize, plugboard_store::StoreError> {
        if from == to {
            return Ok(0);
        }
        let store = &self.shared.store;
        let name = self.name();
        // Held throughout, like a `set`: no event's write interleaves.
        let mut usage = self.shared.kv.usage();
        let mut moved = 0;
        for key in store.kv_keys(name, from, usize::MAX)? {
            let Some(rest) = key.strip_prefix(from) else {
                continue;
            };
            let target = format!("{to}{rest}");
            if target.len() > crate::state::MAX_KV_KEY {
                tracing::warn!(
                    plugin = name,
                    key = %key,
                    "a linked user's key would be too long under the person's scope; left where it is"
                );
                continue;
            }
            let Some(value) = store.kv_get(name, &key)? else {
                continue;
            };
            if store.kv_get(name, &target)?.is_some() {
                continue;
            }
            store.kv_set(name, &target, &value)?;
            store.kv_delete(name, &key)?;
            usage.bytes = usage
                .bytes
                .saturating_sub(key.len() as u64)
                .saturating_add(target.len() as u64);
            moved += 1;
        }
        Ok(moved)
    }

    /// The interfaces it provides to other plugins, with where each
    /// function is.
    pub fn provided(&self) -> &[InterfaceFuncs] {
        &self.provided
    }

    /// The interfaces of other plugins it imports.
    pub fn imports(&self) -> &[InterfaceFuncs] {
        &self.imports
    }

    /// The directory it was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Instances kept warm right now.
    pub fn idle_instances(&self) -> usize {
        self.idle.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Starts one instance and runs its `init`, which checks the owner's
    /// configuration; the instance is kept warm. A failure disables the
    /// plugin: every later event fails at once with [`Failure::Disabled`].
    pub async fn start(&self) -> Result<(), Failure> {
        let _instance = self.instance_permit().await?;
        match self.instantiate().await {
            Ok(warm) => {
                self.return_instance(warm);
                Ok(())
            }
            Err(failure) => {
                let _ = self.disabled.set(failure.to_string());
                Err(failure)
            }
        }
    }

    async fn instance_permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, Failure> {
        // The semaphore is never closed; a closed one would mean shutdown.
        self.instances
            .acquire()
            .await
            .map_err(|_| Failure::Instantiate("the plugin is shutting down".into()))
    }

    /// Why the plugin is disabled, if it is.
    pub fn disabled(&self) -> Option<&str> {
        self.disabled.get().map(String::as_str)
    }

    fn arm(&self, store: &mut Store<HostState>) {
        let data = store.data_mut();
        data.cpu.ticks_left = self.shared.limits.cpu_ticks();
        data.cpu.deadline = std::time::Instant::now() + self.shared.limits.deadline();
        data.cpu.ticks_used = 0;
        data.cpu.exhausted = false;
        data.budget.exceeded = false;
        data.event.bytes = 0;
        store.set_epoch_deadline(1);
    }

    /// Creates a fresh instance and runs its `init`.
    async fn instantiate(&self) -> Result<Warm, Failure> {
        let mut store = Store::new(&self.engine, HostState::new(Arc::clone(&self.shared)));
        store.limiter(|s| &mut s.budget);
        // What one host call, or the returned actions, may copy out of the
        // plugin before the host even sees it: aliased strings are copied
        // once per alias, so without this a plugin could make the host
        // allocate many times its own memory.
        store.set_hostcall_fuel(self.shared.limits.copy_budget());
        store.set_max_component_handles(crate::state::MAX_HANDLES);
        store.epoch_deadline_callback(|mut ctx| {
            let data = ctx.data_mut();
            if data.cpu.ticks_left == 0 {
                data.cpu.exhausted = true;
                return Err(wasmtime::format_err!("CPU budget exhausted"));
            }
            data.cpu.ticks_left -= 1;
            data.cpu.ticks_used += 1;
            if data.cpu.ticks_used <= FREE_TICKS {
                return Ok(UpdateDeadline::Yield(1));
            }
            // Still running: from now on the plugin's throttled events share a
            // quarter of a core, so a looping plugin cannot starve the other
            // chats however many of its events run at once.
            let throttled = data.begin_throttle();
            let pause = EPOCH_TICK * THROTTLE_PAUSE_TICKS * throttled;
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::time::sleep(pause)),
            ))
        });
        self.arm(&mut store);
        let limits = &self.shared.limits;
        let config = &self.shared.config.json;
        let deadline = store.data().cpu.deadline;
        let started = crate::sandbox::within_deadline(deadline, async {
            wasmtime::Result::Ok(match &self.pre {
                Pre::V0_1(pre) => {
                    let bindings = v0_1::instantiate(pre, &mut store).await?;
                    let init = v0_1::call::init(&bindings, &mut store, config).await?;
                    (Bindings::V0_1(bindings), init)
                }
                Pre::V0_2(pre) => {
                    let bindings = v0_2::instantiate(pre, &mut store).await?;
                    let init = v0_2::call::init(&bindings, &mut store, config).await?;
                    (Bindings::V0_2(bindings), init)
                }
            })
        })
        .await;
        store.data_mut().end_throttle();
        match started {
            Err(_) => Err(Failure::Deadline {
                deadline_ms: limits.deadline_ms,
            }),
            Ok(Err(e)) => Err(match classify(&store, &e) {
                Failure::Trap(m) => Failure::Instantiate(m),
                other => other,
            }),
            Ok(Ok((_, Err(refused)))) => Err(refused),
            Ok(Ok((bindings, Ok(())))) => Ok(Warm { store, bindings }),
        }
    }

    fn take_instance(&self) -> Option<Warm> {
        if !self.shared.limits.reuse_instances {
            return None;
        }
        self.idle.lock().ok().and_then(|mut idle| idle.pop())
    }

    fn return_instance(&self, warm: Warm) {
        if !self.shared.limits.reuse_instances {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE.min(self.shared.limits.max_instances as usize)
        {
            idle.push(warm);
        }
    }

    /// Runs `event` through the plugin. `chat` is the event's chat and
    /// `reply_to` the message a reply answers.
    ///
    /// Every outcome feeds the plugin's circuit breaker: a plugin that fails
    /// `breaker_failures` of its last `breaker_window` events is suspended
    /// (each later event fails at once with [`Failure::Suspended`]) until
    /// [`LoadedPlugin::resume`].
    pub async fn handle(
        &self,
        event: &Arc<Event>,
        chat: &ChatRef,
        reply_to: Option<&str>,
    ) -> Result<Handled, Failure> {
        self.ready()?;
        let result = self.run_event(event, chat, reply_to).await;
        self.account(&result);
        result
    }

    /// Calls `interface#func`, one of the functions the plugin provides to
    /// other plugins, on behalf of the plugins in `chain` (outermost first),
    /// in an instance of its own under its own budgets; the call ends by
    /// `caller_deadline` at the latest. Returns the results and whether it
    /// wrote to the store. Counts like an event for the circuit breaker.
    pub(crate) async fn call_export(
        &self,
        interface: &str,
        func: &str,
        params: &[Val],
        results: usize,
        caller_deadline: std::time::Instant,
        chain: Arc<[Arc<str>]>,
    ) -> Result<(Vec<Val>, bool), Failure> {
        let path = || {
            let mut names: Vec<&str> = chain.iter().map(|p| &**p).collect();
            names.push(self.name());
            names.join(" → ")
        };
        if chain.iter().any(|p| **p == *self.name()) {
            return Err(Failure::CallRefused(format!(
                "the calls {} come back to `{}`, which is already running; plugins may not call back into their callers",
                path(),
                self.name()
            )));
        }
        if chain.len() >= crate::link::MAX_CALL_DEPTH {
            return Err(Failure::CallRefused(format!(
                "the calls {} pass through more than {} plugins",
                path(),
                crate::link::MAX_CALL_DEPTH
            )));
        }
        let index = self
            .provided
            .iter()
            .find(|p| p.unversioned == interface)
            .and_then(|p| p.funcs.get(func))
            .and_then(|(_, index)| *index)
            .ok_or_else(|| {
                Failure::CallRefused(format!("it does not export `{interface}#{func}`"))
            })?;
        self.ready()?;
        let result = self
            .run_call(index, params, results, caller_deadline, chain)
            .await;
        // Time the caller did not leave is not the provider's failure:
        // it neither counts against its breaker nor blames its deadline.
        if let Err(Failure::CallRefused(_)) = &result {
            return result;
        }
        self.account(&result);
        result
    }

    /// Refuses work while the plugin is disabled or suspended.
    fn ready(&self) -> Result<(), Failure> {
        if let Some(reason) = self.disabled.get() {
            return Err(Failure::Disabled(reason.clone()));
        }
        if self.tripped.load(Ordering::Acquire)
            && let Some(reason) = self.breaker().suspended.clone()
        {
            return Err(Failure::Suspended(reason));
        }
        Ok(())
    }

    /// Counts an outcome and feeds it to the circuit breaker, suspending
    /// the plugin (durably) when it trips.
    fn account<T>(&self, result: &Result<T, Failure>) {
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        let failed = match result {
            Ok(_) | Err(Failure::InvalidInput(_)) => false,
            Err(_) => {
                self.stats.failures.fetch_add(1, Ordering::Relaxed);
                true
            }
        };
        let tripped = self.breaker().record(failed, result, &self.shared.limits);
        if let Some(reason) = tripped {
            self.tripped.store(true, Ordering::Release);
            tracing::error!(
                plugin = self.name(),
                reason = ?reason,
                "plugin suspended by its circuit breaker; resume it with `/plugboard resume <plugin>` \
                 on the console or, with the bot stopped, `plugboard resume <plugin>`"
            );
            // Kept across restarts until the owner resumes the plugin.
            if let Err(e) = self.shared.store.set_suspension(self.name(), Some(&reason)) {
                tracing::error!(plugin = self.name(), "cannot record the suspension: {e}");
            }
        }
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // Recording an outcome cannot leave the breaker half-updated.
        self.breaker.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why the plugin is suspended by its circuit breaker, if it is.
    pub fn suspended(&self) -> Option<String> {
        self.breaker().suspended.clone()
    }

    /// Lifts a suspension and forgets the recent failures. Returns why the
    /// plugin was suspended, if it was.
    pub fn resume(&self) -> Option<String> {
        let was = {
            let mut breaker = self.breaker();
            breaker.recent.clear();
            breaker.failures = 0;
            self.tripped.store(false, Ordering::Release);
            breaker.suspended.take()
        };
        if let Err(e) = self.shared.store.set_suspension(self.name(), None) {
            tracing::error!(
                plugin = self.name(),
                "cannot clear the recorded suspension: {e}"
            );
        }
        was
    }

    /// Events handled and failed so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.stats.events.load(Ordering::Relaxed),
            self.stats.failures.load(Ordering::Relaxed),
        )
    }

    /// The CPU time the plugin used since it was loaded, sampled: every
    /// [`EPOCH_TICK`] (5 ms) that finds it running counts a whole tick.
    /// Exact in the long run, not for one short call.
    pub fn cpu_time(&self) -> std::time::Duration {
        let ticks = self.stats.cpu_ticks.load(Ordering::Relaxed);
        EPOCH_TICK.saturating_mul(u32::try_from(ticks).unwrap_or(u32::MAX))
    }

    /// Host calls refused so far (missing grant, HTTP policy).
    pub fn refused_calls(&self) -> u64 {
        self.shared.refused_calls.load(Ordering::Relaxed)
    }

    /// Log lines dropped by the plugin's rate limit so far.
    pub fn logs_dropped(&self) -> u64 {
        self.shared
            .log
            .budget
            .lock()
            .map(|b| b.dropped)
            .unwrap_or(0)
    }

    async fn run_event(
        &self,
        event: &Arc<Event>,
        chat: &ChatRef,
        reply_to: Option<&str>,
    ) -> Result<Handled, Failure> {
        let _instance = self.instance_permit().await?;
        let mut warm = match self.take_instance() {
            Some(warm) => warm,
            // Boxed: a rare path whose large future would otherwise make
            // every call's future as large (1.7 KB instead of 0.5 KB).
            None => Box::pin(self.instantiate()).await?,
        };
        self.arm(&mut warm.store);
        {
            let data = warm.store.data_mut();
            // `sent` is empty here: every call's queue is taken right after it
            // returns, and `init` cannot send.
            data.event.current = Some(Arc::clone(event));
            data.event.store_written = false;
            data.output.clear();
        }
        let ctx = ActionContext { chat, reply_to };
        let limits = &self.shared.limits;
        let deadline = warm.store.data().cpu.deadline;
        let store = &mut warm.store;
        let call = async {
            match &warm.bindings {
                // Boxed: the frozen contract's larger future would make
                // every call's as large.
                Bindings::V0_1(b) => Box::pin(v0_1::call::handle(b, store, event, &ctx)).await,
                Bindings::V0_2(b) => v0_2::call::handle(b, store, event, &ctx).await,
            }
        };
        let called = crate::sandbox::within_deadline(deadline, call).await;
        let data = warm.store.data_mut();
        data.end_throttle();
        if data.cpu.ticks_used > 0 {
            self.stats
                .cpu_ticks
                .fetch_add(data.cpu.ticks_used, Ordering::Relaxed);
        }
        data.event.current = None;
        match called {
            Err(_) => Err(Failure::Deadline {
                deadline_ms: limits.deadline_ms,
            }),
            Ok(Err(trap)) => Err(classify(&warm.store, &trap)),
            Ok(Ok(outcome)) => {
                self.return_instance(warm);
                outcome
            }
        }
    }
}

impl LoadedPlugin {
    async fn run_call(
        &self,
        index: ComponentExportIndex,
        params: &[Val],
        results: usize,
        caller_deadline: std::time::Instant,
        chain: Arc<[Arc<str>]>,
    ) -> Result<(Vec<Val>, bool), Failure> {
        let _instance = self.instance_permit().await?;
        let mut warm = match self.take_instance() {
            Some(warm) => warm,
            None => Box::pin(self.instantiate()).await?,
        };
        self.arm(&mut warm.store);
        let Bindings::V0_2(exports) = &warm.bindings else {
            return Err(Failure::CallRefused(
                "it is built for contract 0.1, which cannot provide interfaces".into(),
            ));
        };
        let instance = exports.instance;
        {
            let data = warm.store.data_mut();
            data.event.chain = chain;
            data.event.store_written = false;
            data.output.clear();
            data.cpu.deadline = data.cpu.deadline.min(caller_deadline);
        }
        let limits = &self.shared.limits;
        let deadline = warm.store.data().cpu.deadline;
        let cut_by_caller = deadline >= caller_deadline;
        let Some(func) = instance.get_func(&mut warm.store, index) else {
            return Err(Failure::CallRefused("its instance lost the export".into()));
        };
        let mut out = vec![Val::Bool(false); results];
        let called = crate::sandbox::within_deadline(
            deadline,
            func.call_async(&mut warm.store, params, &mut out),
        )
        .await;
        let data = warm.store.data_mut();
        data.end_throttle();
        if data.cpu.ticks_used > 0 {
            self.stats
                .cpu_ticks
                .fetch_add(data.cpu.ticks_used, Ordering::Relaxed);
        }
        data.event.chain = Arc::default();
        let written = data.event.store_written;
        match called {
            Err(_) if cut_by_caller => Err(Failure::CallRefused(
                "its caller's deadline ran out before it finished".into(),
            )),
            Err(_) => Err(Failure::Deadline {
                deadline_ms: limits.deadline_ms,
            }),
            Ok(Err(trap)) => Err(classify(&warm.store, &trap)),
            Ok(Ok(())) => {
                self.return_instance(warm);
                Ok((out, written))
            }
        }
    }
}

/// Explains why a call into the guest failed.
fn classify(store: &Store<HostState>, error: &wasmtime::Error) -> Failure {
    let data = store.data();
    let limits = &data.plugin.limits;
    if data.cpu.exhausted {
        return Failure::CpuBudget {
            cpu_ms: limits.cpu_ms,
        };
    }
    // What ended this call, before what may have happened earlier in it (a
    // refused memory growth the plugin survived).
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Failure::Exited(exit.0);
    }
    if copied_too_much(error) {
        return Failure::SizeBudget {
            max_event_bytes: limits.max_event_bytes,
        };
    }
    if data.budget.exceeded {
        return Failure::Memory {
            memory_mib: limits.memory_mib,
        };
    }
    // The reason first, then what the plugin printed, then where it was
    // (cut): cutting the text for a log line never cuts the reason.
    let mut message = match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::MemoryOutOfBounds) => {
            // Rust and C guests keep their stack in linear memory, below the
            // data: running off it is an out-of-bounds access.
            format!(
                "{} (likely a stack overflow from deep recursion)",
                wasmtime::Trap::MemoryOutOfBounds
            )
        }
        Some(trap) => trap.to_string(),
        None => error.root_cause().to_string(),
    };
    let printed = data.output_tail();
    if !printed.is_empty() {
        message.push_str("; it printed: ");
        message.push_str(&data.plugin.redact(&printed));
    }
    if let Some(trace) = error.downcast_ref::<wasmtime::WasmBacktrace>() {
        let trace = trace.to_string();
        let trace = trace.trim_start_matches("error while executing at wasm backtrace:");
        message.push_str("; at: ");
        message.push_str(&plugboard_model::text::truncate(
            trace
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .as_str(),
            MAX_BACKTRACE,
        ));
    }
    Failure::Trap(message)
}

/// Longest wasm backtrace quoted in a failure, in bytes.
const MAX_BACKTRACE: usize = 200;

/// wasmtime's whole message when a copy out of a plugin exceeds the store's
/// hostcall fuel (its error type is private).
const HOSTCALL_FUEL_EXHAUSTED: &str = "too much data is being copied between the host and the guest: \
     fuel allocated for hostcalls has been exhausted";

/// Whether a call failed because the plugin handed the host more than
/// [`crate::sandbox::Limits::copy_budget`] in one go. Only the root cause
/// is compared, and whole: a backtrace quotes function names the plugin
/// chose, so searching the chain would let a plugin pose as this. The
/// hostile `raw` plugin's `alias` test pins the text.
fn copied_too_much(error: &wasmtime::Error) -> bool {
    error.root_cause().to_string() == HOSTCALL_FUEL_EXHAUSTED
}

/// A plugin compiled into the host instead of loaded as a component. It goes
/// through the same router, but not through the sandbox: only trusted code
/// may be native.
pub trait NativePlugin: Send + Sync + 'static {
    /// Its manifest (commands and subscriptions are routed from it).
    fn manifest(&self) -> &Manifest;

    /// Handles one event; see [`LoadedPlugin::handle`].
    fn handle(
        &self,
        event: &Event,
        chat: &ChatRef,
        reply_to: Option<&str>,
    ) -> Result<Handled, Failure>;
}

/// Something the router dispatches to.
#[derive(Clone)]
pub enum Target {
    /// A sandboxed WebAssembly plugin.
    Wasm(Arc<LoadedPlugin>),
    /// A native plugin.
    Native(Arc<dyn NativePlugin>),
}

impl Target {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.manifest().name
    }

    /// The plugin's manifest.
    pub fn manifest(&self) -> &Manifest {
        match self {
            Target::Wasm(p) => p.manifest(),
            Target::Native(p) => p.manifest(),
        }
    }

    /// Runs one event.
    pub async fn handle(
        &self,
        event: &Arc<Event>,
        chat: &ChatRef,
        reply_to: Option<&str>,
    ) -> Result<Handled, Failure> {
        match self {
            Target::Wasm(p) => p.handle(event, chat, reply_to).await,
            Target::Native(p) => p.handle(event, chat, reply_to),
        }
    }
}

impl From<LoadedPlugin> for Target {
    fn from(plugin: LoadedPlugin) -> Self {
        Target::Wasm(Arc::new(plugin))
    }
}
