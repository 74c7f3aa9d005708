//! Assembling and running a bot: store, engine, plugins, router, adapters,
//! and the dispatch workers between them.
//!
//! ```text
//! adapter ──Inbox──▶ Dispatcher: queue per chat ──▶ Router ──▶ plugins
//!    ▲                                                    │
//!    └────────────── outbox (per platform) ◀──────────────┘ (after KV is flushed)
//! ```
//!
//! The dispatcher (`dispatch` module) gives ordering and backpressure. The
//! scheduler submits plugins' due schedules as ticks into the same queues,
//! like one more adapter that holds no inbox. The bot stops when
//! every adapter has dropped its inbox (end of input or shutdown) and the
//! events already accepted have been handled.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use plugboard_adapter::{Adapter, AdapterIo, Inbox, flush};
use plugboard_host::engine::{CacheOutcome, EngineError, PluginEngine};
use plugboard_host::link::{self, Link, Providers};
use plugboard_host::plugin::{
    LoadError, LoadedPlugin, PluginSettings, Target, load_plugin, read_manifest,
};
use plugboard_model::event::{Event, Platform};
use plugboard_people::People;
use plugboard_schedule::{Clock, SystemClock, Timetable};
use plugboard_store::{Durable, RuntimeMeta, SledStore, Store, StoreError};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::access::Access;
use crate::config::BotConfig;
use crate::control::{AdapterStats, Control, LoadNotes, Restart};
use crate::discovery::{all_plugin_dirs, engine_options, installed};
use crate::dispatch::{Dispatcher, Entrance, OpenInputs, Route};
use crate::installed::{INSTALLED_FILE, Installed};
use crate::router::Router;

/// Why a bot could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BotError {
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine could not be created.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// No adapter is configured.
    #[error("no adapter is enabled; enable one in the config, e.g. `[console] enabled = true`")]
    NoAdapter,
    /// Two adapters serve the same account of a platform.
    #[error(
        "two adapters serve the account `{account}` of `{platform}`; give each account its own \
         `name` (`[[{platform}]] name = \"…\"`)"
    )]
    DuplicateAdapter {
        /// The platform.
        platform: String,
        /// The account name both use.
        account: String,
    },
}

/// What happened to each plugin at startup.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Plugins that loaded: name, version, and whether the compile cache was hit.
    pub loaded: Vec<(String, semver::Version, CacheOutcome)>,
    /// Plugins that were refused, each with its reason.
    pub refused: Vec<LoadError>,
    /// Plugins skipped because the config disables them.
    pub disabled: Vec<String>,
    /// Loaded plugins that ask for permissions the owner has not granted:
    /// they run, but the host calls needing those permissions are refused.
    pub missing_grants: Vec<(String, Vec<plugboard_registry_types::Permission>)>,
}

/// Loads every plugin the config points at, each after the plugins it
/// depends on; refusals are reported, not fatal. Plugins set their
/// schedules in `timetable` (none: refused) and ask about senders' roles
/// through `roles` (none: refused); a plugin that calls another
/// finds it in `providers` at run time (the caller updates it with
/// [`Providers::replace`] once it runs the plugins).
pub fn load_plugins(
    config: &BotConfig,
    engine: &PluginEngine,
    store: Arc<dyn Store>,
    timetable: Option<&Arc<Timetable>>,
    roles: Option<&Arc<Access>>,
    providers: &Arc<Providers>,
) -> (Vec<Arc<LoadedPlugin>>, LoadReport) {
    let mut plugins: Vec<Arc<LoadedPlugin>> = Vec::new();
    let mut report = LoadReport::default();
    // Read once: which directories to load, and the permissions accepted
    // at install, which count as grants.
    let installed = installed(config);
    let mut dirs = Vec::new();
    for dir in all_plugin_dirs(config, &installed) {
        let manifest = read_manifest(&dir).ok();
        // A disabled plugin is skipped before its component is even read.
        if let Some(manifest) = &manifest
            && !config.plugin(&manifest.name).enabled
        {
            report.disabled.push(manifest.name.clone());
            continue;
        }
        dirs.push((dir, manifest));
    }
    let (dirs, cycles) = dependency_order(dirs);
    // Why each plugin that was tried did not load, for its dependents.
    let mut not_loaded: HashMap<String, String> = cycles
        .iter()
        .filter_map(|e| Some((e.plugin()?.to_owned(), e.to_string())))
        .collect();
    report.refused.extend(cycles);
    for (dir, manifest) in dirs {
        let settings = |manifest: &plugboard_registry_types::Manifest| {
            let links = links_of(manifest, &plugins, &not_loaded)?;
            let section = config.plugin(&manifest.name);
            let limits = config
                .limits
                .with_overrides(&section.limits)
                .map_err(|problem| LoadError::Limits {
                    plugin: manifest.name.clone(),
                    problem,
                })?;
            // Checked against the settings the plugin declares, with the
            // defaults filled in, before its `init` ever runs.
            let values = plugboard_registry_types::settings::resolve(
                &manifest.config,
                &section.config,
                &|source| crate::config::read_secret(config, source),
            )
            .map_err(|problems| LoadError::Config {
                plugin: manifest.name.clone(),
                problems,
            })?;
            let secrets = manifest
                .config
                .iter()
                .filter(|(_, setting)| setting.secret)
                .filter_map(|(key, _)| values.get(key)?.as_str().map(str::to_owned))
                .collect();
            let grants = crate::grants::held(config, &*store, &installed, manifest, &dir).map_err(
                |source| LoadError::Store {
                    plugin: manifest.name.clone(),
                    source,
                },
            )?;
            for extra in grants.iter().filter(|p| !manifest.wants(**p)) {
                tracing::warn!(
                    plugin = %manifest.name,
                    "`{extra}` is granted to `{}`, which does not ask for it; the grant has no effect",
                    manifest.name
                );
            }
            let http_allow_private = section
                .http_allow_private
                .iter()
                .map(|c| plugboard_host::http::Cidr::parse(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|problem| LoadError::Settings {
                    plugin: manifest.name.clone(),
                    problem: format!("http_allow_private: {problem}"),
                })?;
            Ok(PluginSettings {
                config: values,
                limits,
                grants,
                http_allow_private,
                secrets,
                timetable: timetable.cloned(),
                roles: roles.map(|r| Arc::clone(r) as Arc<dyn plugboard_host::roles::RoleOracle>),
                links,
                providers: Some(Arc::clone(providers)),
            })
        };
        let loaded = load_plugin(&dir, engine, Arc::clone(&store), settings);
        if let (Err(e), Some(manifest)) = (&loaded, &manifest) {
            not_loaded.insert(manifest.name.clone(), e.to_string());
        }
        match loaded {
            Ok(plugin) if plugins.iter().any(|p| p.name() == plugin.name()) => {
                report.refused.push(LoadError::Manifest {
                    path: dir.join("plugin.toml"),
                    source: plugboard_registry_types::ManifestError::Invalid {
                        field: "name".into(),
                        problem: format!(
                            "`{}` is already loaded from another directory; remove one copy",
                            plugin.name()
                        ),
                    },
                });
            }
            Ok(plugin) => {
                let missing = plugin.missing_grants();
                if !missing.is_empty() {
                    report
                        .missing_grants
                        .push((plugin.name().to_owned(), missing));
                }
                report.loaded.push((
                    plugin.name().to_owned(),
                    plugin.manifest().version.clone(),
                    plugin.cache,
                ));
                plugins.push(Arc::new(plugin));
            }
            Err(e) => report.refused.push(e),
        }
    }
    (plugins, report)
}

/// Puts plugin directories in load order (dependencies first); plugins on
/// a dependency cycle are refused, naming the cycle.
fn dependency_order(
    dirs: Vec<(PathBuf, Option<plugboard_registry_types::Manifest>)>,
) -> (
    Vec<(PathBuf, Option<plugboard_registry_types::Manifest>)>,
    Vec<LoadError>,
) {
    let graph: Vec<(&str, Vec<&str>)> = dirs
        .iter()
        .map(|(_, m)| match m {
            Some(m) => (
                m.name.as_str(),
                m.dependencies.keys().map(String::as_str).collect(),
            ),
            // Unreadable: loaded (and refused with its own error) last.
            None => ("", Vec::new()),
        })
        .collect();
    let (order, cycles) = plugboard_registry_types::graph::dependency_order(&graph);
    let refused: Vec<LoadError> = cycles
        .iter()
        .flat_map(|cycle| {
            let path = cycle.join(" → ");
            cycle[..cycle.len() - 1].iter().map(move |name| LoadError::Link {
                plugin: (*name).to_owned(),
                problem: format!(
                    "its dependencies form a cycle ({path}); plugins cannot depend on each other in a circle: remove one of these dependencies"
                ),
            })
        })
        .collect();
    let mut slots: Vec<Option<_>> = dirs.into_iter().map(Some).collect();
    let ordered = order.into_iter().filter_map(|i| slots[i].take()).collect();
    (ordered, refused)
}

/// The providers of the interfaces `manifest` imports, chosen among its
/// loaded dependencies by [`link::choose_provider`]. A dependency that did
/// not load refuses the dependent with its reason; one that is missing
/// altogether is left for the host to name.
fn links_of(
    manifest: &plugboard_registry_types::Manifest,
    loaded: &[Arc<LoadedPlugin>],
    not_loaded: &HashMap<String, String>,
) -> Result<Vec<Link>, LoadError> {
    let find = |name: &str| loaded.iter().find(|p| p.name() == name);
    let dependency = |name: &str| match (find(name), not_loaded.get(name)) {
        (Some(plugin), _) => Ok(Some(plugin.manifest())),
        (None, Some(why)) => Err(why.clone()),
        (None, None) => Ok(None),
    };
    let mut links = Vec::new();
    for interface in manifest.imported_interfaces() {
        let chosen = link::choose_provider(manifest, &interface, &dependency).map_err(|e| {
            LoadError::Link {
                plugin: manifest.name.clone(),
                problem: e.0,
            }
        })?;
        if let Some(provider) = chosen.and_then(|m| find(&m.name)) {
            links.push(Link {
                interface,
                provider: Arc::clone(provider),
            });
        }
    }
    Ok(links)
}

/// A bot ready to run.
pub struct Bot {
    router: Arc<Router>,
    /// The router new events go through, swapped on reload.
    routes: watch::Sender<Arc<Router>>,
    /// What the owner's tools see of it.
    control: Arc<Control>,
    /// The dispatcher's bound on events accepted but not yet handled.
    capacity: Arc<tokio::sync::Semaphore>,
    store: Arc<dyn Store>,
    /// Each adapter with the name of its account.
    adapters: Vec<(Arc<str>, Box<dyn Adapter>)>,
    workers: usize,
    queue: usize,
    /// What a bot built from a config needs to reload its plugins.
    reload: Option<Arc<Reload>>,
    /// The plugins' schedules, fired while the bot runs.
    timetable: Option<Arc<Timetable>>,
}

/// Loads a new plugin set when the installation record changes.
struct Reload {
    /// Told what each new plugin set's loading said.
    control: Arc<Control>,
    /// The config, shared with `control` (settings changed from the
    /// console replace it).
    config: Arc<RwLock<BotConfig>>,
    engine: PluginEngine,
    timetable: Arc<Timetable>,
    /// The plugins other plugins call, as the running set has them.
    providers: Arc<Providers>,
    /// Who is who across platforms and who may do what, for every router
    /// and plugin.
    access: Arc<Access>,
}

impl Bot {
    /// Opens the store, creates the engine and loads the plugins of `config`.
    /// Adapters are added with [`Bot::add_adapter`].
    pub fn from_config(config: &BotConfig) -> Result<(Bot, LoadReport), BotError> {
        Self::from_config_with_clock(config, Arc::new(SystemClock))
    }

    /// Like [`Bot::from_config`], with schedules on `clock` instead of the
    /// system's (tests move a manual clock across days).
    pub fn from_config_with_clock(
        config: &BotConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<(Bot, LoadReport), BotError> {
        let data = config.data_dir();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(&data.join("store"))?);
        let people = Arc::new(
            People::new(
                Arc::clone(&store) as Arc<dyn plugboard_store::PeopleRecords>,
                Arc::clone(&clock),
            )
            .with_owners(config.people.owner_accounts())
            .with_code_ttl(config.people.link_code_ttl_ms())
            .with_limits(config.people.limits()),
        );
        let access = Arc::new(Access::new(people, &config.people));
        let timetable = Arc::new(Timetable::open(
            Arc::clone(&store) as Arc<dyn plugboard_store::Schedules>,
            clock,
        )?);
        // Loaded plugins keep the engine (and its epoch ticker) alive.
        let engine = PluginEngine::new(&engine_options(config))?;
        let providers = Providers::new();
        let (plugins, report) = load_plugins(
            config,
            &engine,
            Arc::clone(&store),
            Some(&timetable),
            Some(&access),
            &providers,
        );
        providers.replace(&plugins);
        let targets = plugins.into_iter().map(Target::Wasm).collect();
        let router = Router::with_commands(
            targets,
            config.runtime.command_prefixes.clone(),
            &config.commands,
        )
        .with_access(Arc::clone(&access));
        let shared = Arc::new(RwLock::new(config.clone()));
        let mut bot = Bot::assemble(
            Arc::new(router),
            store,
            config.runtime.workers,
            config.runtime.queue,
            Some(Arc::clone(&shared)),
        );
        bot.timetable = Some(Arc::clone(&timetable));
        bot.control.set_load_notes(LoadNotes::of(&report));
        bot.reload = Some(Arc::new(Reload {
            control: Arc::clone(&bot.control),
            config: shared,
            engine,
            timetable,
            providers,
            access,
        }));
        Ok((bot, report))
    }

    /// A bot over an existing router and store, with `workers` dispatch
    /// queues of `queue` events each.
    pub fn new(router: Arc<Router>, store: Arc<dyn Store>, workers: usize, queue: usize) -> Bot {
        Self::assemble(router, store, workers, queue, None)
    }

    fn assemble(
        router: Arc<Router>,
        store: Arc<dyn Store>,
        workers: usize,
        queue: usize,
        config: Option<Arc<RwLock<BotConfig>>>,
    ) -> Bot {
        let queue = queue.max(1);
        let (routes, watching) = watch::channel(Arc::clone(&router));
        let capacity = Arc::new(tokio::sync::Semaphore::new(queue));
        let control = Arc::new(Control::new(
            watching,
            Arc::clone(&store),
            config,
            Arc::clone(&capacity),
            queue,
        ));
        Bot {
            router,
            routes,
            control,
            capacity,
            store,
            adapters: Vec::new(),
            workers: workers.max(1),
            queue,
            reload: None,
            timetable: None,
        }
    }

    /// What the owner's tools (the admin API) see of the bot and steer,
    /// before it runs, while it runs and after.
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// Adds an adapter: its platform's only account, named after the
    /// platform.
    pub fn add_adapter(&mut self, adapter: Box<dyn Adapter>) {
        let name = Arc::from(adapter.platform().as_str());
        self.adapters.push((name, adapter));
    }

    /// Adds an adapter serving the account `name` of its platform: one of
    /// several bot accounts on the same platform. A delivery answering an
    /// event goes out through the account the event came in on; anything
    /// else through the account that last heard from its chat, else the
    /// platform's first account (its default).
    pub fn add_account(&mut self, name: &str, adapter: Box<dyn Adapter>) {
        self.adapters.push((Arc::from(name), adapter));
    }

    /// The router (and through it, the plugins).
    pub fn router(&self) -> &Arc<Router> {
        &self.router
    }

    /// Runs until every adapter's input has ended (or `shutdown` completes
    /// and the adapters stop), then finishes the events already accepted and
    /// returns.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), BotError> {
        if self.adapters.is_empty() {
            return Err(BotError::NoAdapter);
        }
        let mut accounts = HashSet::new();
        for (name, adapter) in &self.adapters {
            if !accounts.insert((adapter.platform(), Arc::clone(name))) {
                return Err(BotError::DuplicateAdapter {
                    platform: adapter.platform().to_string(),
                    account: name.to_string(),
                });
            }
        }
        for (plugin, failure) in self.router.start().await {
            tracing::error!(
                plugin,
                reason = ?failure.to_string(),
                "plugin disabled until its configuration is fixed"
            );
        }
        for target in self.router.plugins() {
            if let Target::Wasm(plugin) = target
                && let Some(reason) = plugin.suspended()
            {
                let name = plugin.name();
                tracing::warn!(
                    plugin = name,
                    reason = ?reason,
                    "plugin still suspended; resume it with `/plugboard resume <plugin>`"
                );
            }
        }
        let (stop_tx, stop_rx) = watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        let stopper = {
            let stop_tx = Arc::clone(&stop_tx);
            tokio::spawn(async move {
                shutdown.await;
                tracing::info!("shutting down: finishing the events already received");
                let _ = stop_tx.send(true);
            })
        };

        // Adapters that can say who administers a chat tell the router.
        if let Some(access) = self.router.access() {
            for (_, adapter) in &self.adapters {
                if let Some(standing) = adapter.standing() {
                    access.add_standing(&adapter.platform(), standing);
                }
            }
        }
        let mut routes: HashMap<Platform, Vec<Route>> = HashMap::new();
        let mut receivers = Vec::new();
        for (name, adapter) in &self.adapters {
            let (outbox, rx) = mpsc::channel(self.queue);
            let stats = Arc::new(AdapterStats::new(adapter.platform(), Arc::clone(name)));
            self.control.add_adapter(Arc::clone(&stats));
            let accounts = routes.entry(adapter.platform()).or_default();
            receivers.push((rx, Arc::clone(&stats), accounts.len()));
            accounts.push(Route { outbox, stats });
        }
        // From here on only the dispatcher holds the outbox senders: when the
        // last inbox and the last queued event are gone, the outboxes close.
        let dispatcher = Arc::new(Dispatcher::new(
            self.routes,
            Arc::clone(&self.store),
            routes,
            self.control.sightings().clone(),
            self.capacity,
            self.workers,
        ));
        let mut adapters = JoinSet::new();
        // The inputs that keep the bot running; the adapters beside them
        // (see `Adapter::beside`) stop once the last of these has ended.
        let open = Arc::new(OpenInputs {
            count: std::sync::atomic::AtomicUsize::new(
                self.adapters.iter().filter(|(_, a)| !a.beside()).count(),
            ),
            stop: Arc::clone(&stop_tx),
        });
        for ((account, adapter), (rx, stats, via)) in self.adapters.into_iter().zip(receivers) {
            let platform = adapter.platform();
            let keeps = (!adapter.beside()).then(|| Arc::clone(&open));
            let health = Arc::clone(&stats.health);
            let stopped = Arc::clone(&health);
            let sink = Entrance {
                dispatcher: Arc::clone(&dispatcher),
                via,
                stats,
                keeps,
            };
            let io = AdapterIo {
                inbox: Inbox::new(Arc::new(sink)),
                outbox: rx,
                shutdown: stop_rx.clone(),
                store: Arc::clone(&self.store) as Arc<dyn RuntimeMeta>,
                plugins: dispatcher.watch_catalog(),
                health,
            };
            adapters.spawn(async move {
                match adapter.run(io).await {
                    Ok(()) => stopped.down("stopped"),
                    Err(e) => {
                        tracing::error!(%platform, %account, "adapter stopped: {e}");
                        stopped.down(format!("stopped: {e}"));
                    }
                }
            });
        }
        let watcher = self.reload.clone().map(|reload| {
            let (restarts, requests) = mpsc::channel(4);
            self.control.set_restarts(Some(restarts));
            // A weak reference: the watcher must not keep the outboxes open.
            tokio::spawn(reload.watch(
                Arc::downgrade(&dispatcher),
                Arc::clone(&self.store),
                requests,
                stop_rx.clone(),
            ))
        });
        let scheduler = self.timetable.clone().map(|timetable| {
            // A weak reference, like the watcher's.
            tokio::spawn(fire_ticks(timetable, Arc::downgrade(&dispatcher)))
        });
        self.control.set_dispatcher(Arc::downgrade(&dispatcher));
        drop(dispatcher);
        self.control.set_ready(true);
        let control = Arc::clone(&self.control);
        let mut stopping = stop_rx.clone();
        let unready = tokio::spawn(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
            control.set_ready(false);
        });

        drop(open);
        while let Some(joined) = adapters.join_next().await {
            if let Err(e) = joined {
                tracing::error!("an adapter task failed: {e}");
            }
        }
        stopper.abort();
        unready.abort();
        self.control.set_ready(false);
        if let Some(scheduler) = scheduler {
            scheduler.abort();
            let _ = scheduler.await;
        }
        self.control.set_restarts(None);
        if let Some(watcher) = watcher {
            // It holds the store and the engine: gone before `run` returns,
            // so the next bot can open the same data directory.
            watcher.abort();
            let _ = watcher.await;
        }
        if let Some(reload) = &self.reload
            && let Err(e) = reload.access.people().flush_counts()
        {
            tracing::error!("cannot write the last usage counts: {e}");
        }
        flush(Arc::clone(&self.store) as Arc<dyn Durable>).await;
        Ok(())
    }
}

/// Hands every due schedule's tick to the dispatcher, in the queue of the
/// chat it was set for, until the dispatcher is gone.
async fn fire_ticks(timetable: Arc<Timetable>, dispatcher: std::sync::Weak<Dispatcher>) {
    let open = || dispatcher.strong_count() > 0;
    let fire = |tick| {
        let dispatcher = dispatcher.upgrade();
        async move {
            match dispatcher {
                Some(dispatcher) => dispatcher
                    .submit(Event::Tick(tick), None, None)
                    .await
                    .is_ok(),
                None => false,
            }
        }
    };
    timetable.run(open, fire).await;
}

/// Who the audit log says changed the installed plugins: the package
/// manager, run by whoever may write the bot's data directory.
const PACKAGES_ACTOR: &str = "packages";

/// How often the installation record is checked for changes.
const RELOAD_POLL: std::time::Duration = std::time::Duration::from_millis(500);

impl Reload {
    /// The config as it is now.
    fn config(&self) -> BotConfig {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_config(&self, config: BotConfig) {
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = config;
    }

    /// Watches the installation record and swaps in each new plugin set;
    /// takes the owner's settings changes from `restarts`.
    async fn watch(
        self: Arc<Self>,
        dispatcher: std::sync::Weak<Dispatcher>,
        store: Arc<dyn Store>,
        mut restarts: mpsc::Receiver<Restart>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let data_dir = self.config().data_dir();
        let record = Installed::root(&data_dir).join(INSTALLED_FILE);
        let mut seen = std::fs::read(&record).ok();
        loop {
            let restart = tokio::select! {
                _ = tokio::time::sleep(RELOAD_POLL) => None,
                Some(restart) = restarts.recv() => Some(restart),
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            let Some(dispatcher) = dispatcher.upgrade() else {
                return;
            };
            if let Some(Restart {
                config,
                plugin,
                reply,
            }) = restart
            {
                let before = self.config();
                self.set_config(config);
                let started = self.swap(&dispatcher, &store, Swap::Restart(&plugin)).await;
                if started.is_err() {
                    self.set_config(before);
                }
                let _ = reply.send(started);
                continue;
            }
            let now = std::fs::read(&record).ok();
            if now == seen {
                continue;
            }
            seen = now;
            // What a failed swap says is logged there.
            let _ = self.swap(&dispatcher, &store, Swap::Installed).await;
        }
    }

    /// Records in the audit log what a swap from `old` changed: `fresh`
    /// plugins installed or updated (from the version `old` ran), and the
    /// `removed` ones.
    fn audit_changes(&self, old: &Router, fresh: &[Arc<LoadedPlugin>], removed: &[String]) {
        let people = self.access.people();
        let record = |action: &str, subject: &str, detail: String| {
            if let Err(e) = people.record(PACKAGES_ACTOR, action, subject, &detail) {
                tracing::error!("cannot record a plugin change in the audit log: {e}");
            }
        };
        for plugin in fresh {
            let version = &plugin.manifest().version;
            match old.plugins().iter().find(|t| t.name() == plugin.name()) {
                Some(before) => {
                    let was = &before.manifest().version;
                    record("update", plugin.name(), format!("{was} → {version}"));
                }
                None => record("install", plugin.name(), version.to_string()),
            }
        }
        for name in removed {
            record("remove", name, String::new());
        }
        if let Err(e) = people.flush() {
            tracing::error!("cannot write the audit log: {e}");
        }
    }

    /// Loads the plugin set the record and config now describe beside the
    /// running one and swaps it in: running plugins are kept but for new
    /// or changed ones (and the one a [`Swap::Restart`] names). If one of
    /// those fails to load or start, keeps the running set (after an
    /// installation, restoring the previous record) and says why.
    async fn swap(
        self: &Arc<Self>,
        dispatcher: &Dispatcher,
        store: &Arc<dyn Store>,
        why: Swap<'_>,
    ) -> Result<(), String> {
        let config = self.config();
        let data_dir = config.data_dir();
        let installed_root = Installed::root(&data_dir);
        let old = dispatcher.router();
        // Compiling and reading files blocks: off the async threads.
        let loading = {
            let this = Arc::clone(self);
            let store = Arc::clone(store);
            let config = config.clone();
            tokio::task::spawn_blocking(move || {
                load_plugins(
                    &config,
                    &this.engine,
                    store,
                    Some(&this.timetable),
                    Some(&this.access),
                    &this.providers,
                )
            })
        };
        let (plugins, report) = match loading.await {
            Ok(loaded) => loaded,
            Err(e) => {
                tracing::error!("loading the new plugin set failed: {e}");
                return Err(format!("loading the plugins failed: {e}"));
            }
        };
        // A registry plugin refused by file (its manifest, its component)
        // or by name (its settings or limits in the config) fails the swap.
        let installed = Installed::load(&data_dir).unwrap_or_default();
        let restarted = match why {
            Swap::Restart(plugin) => Some(plugin),
            Swap::Installed => None,
        };
        let mut failures: Vec<String> = report
            .refused
            .iter()
            .filter(|e| match restarted {
                // A restart fails for the restarted plugin only: another
                // one refused (a broken install) stays as it was.
                Some(restarted) => e.plugin() == Some(restarted),
                None => {
                    e.path().is_some_and(|p| p.starts_with(&installed_root))
                        || e.plugin().is_some_and(|name| installed.get(name).is_some())
                }
            })
            .map(ToString::to_string)
            .collect();
        let mut targets = Vec::new();
        let mut fresh = Vec::new();
        let mut fresh_plugins = Vec::new();
        for plugin in plugins {
            let running = old.plugins().iter().find(|t| match t {
                Target::Wasm(p) => p.dir() == plugin.dir() && Some(p.name()) != restarted,
                Target::Native(_) => false,
            });
            match running {
                Some(target) => targets.push(target.clone()),
                None => {
                    if let Err(failure) = plugin.start().await
                        && restarted.is_none_or(|r| r == plugin.name())
                    {
                        failures.push(format!("{}: {failure}", plugin.name()));
                    }
                    fresh.push(format!("{} {}", plugin.name(), plugin.manifest().version));
                    fresh_plugins.push(Arc::clone(&plugin));
                    targets.push(Target::Wasm(plugin));
                }
            }
        }
        if !failures.is_empty() {
            let failures = failures.join("; ");
            if let Swap::Restart(plugin) = why {
                tracing::error!(
                    "`{plugin}` does not start with its new settings; it runs on with the old ones: {failures}"
                );
                return Err(failures);
            }
            tracing::error!(
                "the new plugin set does not load; keeping the running plugins: {failures}"
            );
            let rolled_back =
                tokio::task::spawn_blocking(move || crate::discovery::roll_back(&config)).await;
            match rolled_back {
                Ok(Ok(true)) => {
                    tracing::warn!("restored the previous installation record and lockfile")
                }
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    tracing::error!("cannot restore the previous installation record: {e}")
                }
                Err(e) => tracing::error!("restoring the previous installation record failed: {e}"),
            }
            return Err(failures);
        }
        let router = Router::with_commands(
            targets,
            config.runtime.command_prefixes.clone(),
            &config.commands,
        )
        .with_access(Arc::clone(&self.access));
        let removed: Vec<String> = old
            .plugins()
            .iter()
            .filter(|t| router.plugins().iter().all(|n| n.name() != t.name()))
            .map(|t| t.name().to_owned())
            .collect();
        let running: Vec<Arc<LoadedPlugin>> = router
            .plugins()
            .iter()
            .filter_map(|t| match t {
                Target::Wasm(p) => Some(Arc::clone(p)),
                Target::Native(_) => None,
            })
            .collect();
        // Dependents call the new providers from now on; before the router
        // swap, so that no call finds the old provider already dropped and
        // the new one not yet listed (the new ones have started).
        self.providers.replace(&running);
        dispatcher.replace_router(Arc::new(router));
        self.control.set_load_notes(LoadNotes::of(&report));
        if let Swap::Restart(plugin) = why {
            tracing::info!(plugin, "plugin restarted with its new settings");
            // Anything else new came from an install that landed meanwhile.
            fresh_plugins.retain(|p| p.name() != plugin);
        }
        self.audit_changes(&old, &fresh_plugins, &removed);
        tracing::info!(
            "plugins reloaded: new {}; removed {}",
            if fresh.is_empty() {
                "none".into()
            } else {
                fresh.join(", ")
            },
            if removed.is_empty() {
                "none".into()
            } else {
                removed.join(", ")
            },
        );
        Ok(())
    }
}

/// Why the plugin set is loaded again.
#[derive(Clone, Copy)]
enum Swap<'a> {
    /// The installation record changed.
    Installed,
    /// The owner changed this plugin's settings: it starts again.
    Restart(&'a str),
}
