//! The wasmtime engine: configuration, the on-disk cache of compiled
//! components, and contract-version checks.
//!
//! One [`PluginEngine`] serves every plugin. It uses the pooling instance
//! allocator (instantiation reuses pre-mapped memory slots, so a fresh
//! instance costs microseconds), async support (plugins run on tokio and
//! yield on every epoch tick), and epoch interruption (the CPU budget).
//!
//! Compiling a component takes tens of milliseconds; loading a compiled one is
//! an `mmap`. The cache keys each artifact by the SHA-256 of the component and
//! by the engine's compatibility hash (wasmtime version and every setting that
//! affects code generation), so a second start never recompiles and an upgrade
//! never loads stale code.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Instant;

use semver::Version;
use sha2::{Digest, Sha256};
/// A compiled component, as [`PluginEngine::load`] returns it.
pub use wasmtime::component::Component;
use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use plugboard_registry_types::contract;

use crate::sandbox::EPOCH_TICK;
use crate::state::HostState;
use crate::{v0_1, v0_2};

pub use plugboard_registry_types::contract::WIT_PACKAGE;

/// Bytes of each pooled memory and table kept resident between instances.
const KEEP_RESIDENT: usize = 256 << 10;

/// Sizing of the engine, shared by all plugins.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Most plugin instances alive at once, across all plugins.
    pub max_instances: u32,
    /// The largest memory budget of any plugin, in bytes (sizes pool slots).
    pub max_memory_bytes: usize,
    /// Where compiled components are cached; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            max_instances: 1_000,
            max_memory_bytes: 64 << 20,
            cache_dir: None,
        }
    }
}

/// Why the engine or a component could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// wasmtime refused the configuration.
    #[error("cannot configure the WebAssembly engine: {0}")]
    Config(String),
    /// The bytes are not a valid WebAssembly component.
    #[error(
        "not a valid WebAssembly component: {0}. Build plugins with `cargo build --target wasm32-wasip2` (components, not core modules)"
    )]
    Compile(String),
    /// The component does not export the Plugboard handler at all.
    #[error(
        "the component does not export `{WIT_PACKAGE}/handler`; is it a Plugboard plugin built with plugboard-sdk?"
    )]
    NotAPlugin,
    /// The component targets a contract version this host does not speak.
    #[error(
        "the component was built against {WIT_PACKAGE}@{found}, but this plugboard speaks {WIT_PACKAGE}@{supported}. Rebuild the plugin with a plugboard-sdk for {newest}, or run a plugboard that supports {found}"
    )]
    IncompatibleContract {
        /// The component's version.
        found: Version,
        /// What the host speaks.
        supported: String,
        /// The newest of those.
        newest: String,
    },
    /// Linking the component's imports failed.
    #[error("the component needs imports this host does not provide: {0}")]
    Link(String),
}

/// Where a component came from when it was loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheOutcome {
    /// Loaded from the on-disk cache.
    Hit,
    /// Compiled now (and written to the cache when one is configured).
    Compiled,
}

/// The engine, its linker and its cache.
pub struct PluginEngine {
    engine: Engine,
    linker: Linker<HostState>,
    cache_dir: Option<PathBuf>,
}

impl PluginEngine {
    /// Builds the engine and starts its epoch ticker thread (it stops when the
    /// engine is dropped).
    pub fn new(options: &EngineOptions) -> Result<Self, EngineError> {
        let mut pool = PoolingAllocationConfig::default();
        let instances = options.max_instances.max(1);
        pool.total_component_instances(instances)
            .total_core_instances(instances.saturating_mul(4))
            .total_memories(instances.saturating_mul(2))
            .total_tables(instances.saturating_mul(4))
            .total_stacks(instances)
            .max_memory_size(options.max_memory_bytes)
            .max_core_instances_per_component(32)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            // Reset the first pages of a recycled slot with memset instead of
            // madvise: a plugin built with a small stack touches little more,
            // so a fresh instance takes no page faults there (measured: a
            // fresh instance per event drops from ~33 µs to ~14 µs).
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(KEEP_RESIDENT);

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(512 << 10)
            .async_stack_size(1 << 20)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| EngineError::Config(format!("{e:#}")))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| EngineError::Config(format!("{e:#}")))?;
        v0_1::add_to_linker(&mut linker).map_err(|e| EngineError::Config(format!("{e:#}")))?;
        v0_2::add_to_linker(&mut linker).map_err(|e| EngineError::Config(format!("{e:#}")))?;

        start_epoch_ticker(&engine);
        Ok(Self {
            engine,
            linker,
            cache_dir: options.cache_dir.clone(),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker holding every host import.
    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// Compiles `wasm`, or loads it from the cache.
    pub fn load(&self, wasm: &[u8]) -> Result<(Component, CacheOutcome), EngineError> {
        let Some(dir) = &self.cache_dir else {
            return Ok((self.compile(wasm)?, CacheOutcome::Compiled));
        };
        let path = dir.join(format!("{}.cwasm", self.cache_key(wasm)));
        if writable_by_others(dir) {
            tracing::warn!(
                dir = %dir.display(),
                "the compile cache is writable by other users; not loading from it (chmod 700 it to use the cache)"
            );
        } else if path.exists() {
            // SAFETY: deserializing runs the artifact's machine code. The
            // directory is created private to the bot's user and is not read
            // when others can write it, so it only holds artifacts that this
            // bot (or another of the same user) serialized; wasmtime checks
            // the engine-compatibility header before using one.
            match unsafe { Component::deserialize_file(&self.engine, &path) } {
                Ok(component) => return Ok((component, CacheOutcome::Hit)),
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    "ignoring an unusable cached component, recompiling: {e:#}"
                ),
            }
        }
        let component = self.compile(wasm)?;
        if let Err(e) = write_cache(dir, &path, &component) {
            tracing::warn!(path = %path.display(), "could not write the compile cache: {e}");
        }
        Ok((component, CacheOutcome::Compiled))
    }

    fn compile(&self, wasm: &[u8]) -> Result<Component, EngineError> {
        let started = Instant::now();
        let component = Component::new(&self.engine, wasm)
            .map_err(|e| EngineError::Compile(format!("{e:#}")))?;
        tracing::debug!(elapsed = ?started.elapsed(), bytes = wasm.len(), "compiled component");
        Ok(component)
    }

    fn cache_key(&self, wasm: &[u8]) -> String {
        // SHA-256 rather than std's DefaultHasher, whose output may change
        // between Rust releases and would orphan every cache entry.
        let mut engine_hash = Sha256Hasher(Sha256::new());
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut engine_hash);
        env!("CARGO_PKG_VERSION").hash(&mut engine_hash);
        let engine_digest = engine_hash.0.finalize();
        format!(
            "{}-{}",
            hex::encode(Sha256::digest(wasm)),
            hex::encode(&engine_digest[..8])
        )
    }

    /// Finds the contract version a component was built against and checks
    /// that this host speaks it.
    pub fn check_contract(&self, component: &Component) -> Result<Version, EngineError> {
        let ty = component.component_type();
        let found = ty
            .exports(&self.engine)
            .find_map(|(name, _)| contract::handler_version(name))
            .ok_or(EngineError::NotAPlugin)?;
        if supported(&found) {
            Ok(found)
        } else {
            Err(EngineError::IncompatibleContract {
                found,
                supported: supported_versions(),
                newest: newest_contract(),
            })
        }
    }
}

/// Feeds `Hash` implementations into SHA-256.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        // Only `write` is used; the digest is read with `finalize`.
        0
    }
}

/// The contract versions this host speaks, one per `bindgen!` module.
pub fn host_contracts() -> Vec<Version> {
    vec![v0_1::version(), v0_2::version()]
}

/// Whether this host can run a plugin built against contract `version`, by
/// the one rule of [`contract::loads_on`].
pub fn supported(version: &Version) -> bool {
    contract::loads_on_any(version, &host_contracts())
}

/// The contract versions this host speaks, for messages (`0.1.x and 0.2.x`).
pub fn supported_versions() -> String {
    let lines: Vec<String> = host_contracts().iter().map(contract::line_text).collect();
    lines.join(" and ")
}

/// The newest contract line this host speaks, the one to rebuild a plugin
/// for (`0.2.x`).
pub fn newest_contract() -> String {
    host_contracts()
        .iter()
        .max()
        .map(contract::line_text)
        .unwrap_or_default()
}

fn write_cache(dir: &Path, path: &Path, component: &Component) -> std::io::Result<()> {
    let bytes = component
        .serialize()
        .map_err(|e| std::io::Error::other(format!("{e:#}")))?;
    create_private_dir(dir)?;
    // Written under a temporary name (mode 0600) and renamed into place, so a
    // reader never sees half an artifact.
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Creates `dir` readable and writable by the bot's user only.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Whether other users could have written the cache directory. Artifacts
/// there are native code: such a directory is never loaded from.
fn writable_by_others(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(dir) {
            Ok(meta) => meta.permissions().mode() & 0o022 != 0,
            Err(_) => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        false
    }
}

fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("plugboard-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the epoch ticker; CPU budgets will not be enforced: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_host_loads_the_0_1_and_0_2_lines_only() {
        for loads in ["0.1.0", "0.1.7", "0.2.0", "0.2.3"] {
            assert!(
                supported(&Version::parse(loads).expect("version")),
                "{loads}"
            );
        }
        for refused in ["0.0.1", "0.3.0", "1.0.0", "0.2.0-rc.1"] {
            assert!(
                !supported(&Version::parse(refused).expect("version")),
                "{refused}"
            );
        }
        assert_eq!(supported_versions(), "0.1.x and 0.2.x");
        assert_eq!(newest_contract(), "0.2.x");
    }
}
