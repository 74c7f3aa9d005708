//! A plugin instance's host-side state, shared by every contract version:
//! WASI context, resource table, budgets, queued sends, the plugin's grants
//! and KV usage, and its captured output.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use plugboard_registry_types::{Manifest, Permission};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::sandbox::{Limits, LogBudget, MemoryBudget};
use plugboard_model::event::{ChatRef, Event, Outbound};
use plugboard_store::{KvUsage, Store};

/// Longest KV key, in bytes.
pub const MAX_KV_KEY: usize = 512;
/// Largest KV value, in bytes.
pub const MAX_KV_VALUE: usize = 64 * 1024;
/// Most keys one `list-keys` call returns.
pub const MAX_KV_LIST: usize = 1_000;
/// Longest log line a plugin may write, in bytes; longer ones are cut.
pub const MAX_LOG_LINE: usize = 2_000;
/// Bytes of a plugin's stdout/stderr kept to explain a crash.
pub const CAPTURED_OUTPUT: usize = 4 * 1024;
/// Most random bytes one WASI `get-random-bytes` call returns: the host
/// fills the buffer before the plugin's memory limits apply, so a bigger
/// one would be host memory and CPU outside every budget.
pub const MAX_RANDOM_BYTES: u64 = 64 * 1024;
/// Most host resources (WASI streams, pollables, …) one instance may hold
/// at once: each is host memory outside the plugin's memory budget.
pub const MAX_HANDLES: usize = 1_000;

/// The guest's stdout and stderr: keeps only the last [`CAPTURED_OUTPUT`]
/// bytes written during the current event, so a crash report can quote the
/// panic message. Writes never fail, however much a plugin prints.
#[derive(Clone, Default)]
pub struct OutputTail {
    buffer: Arc<Mutex<VecDeque<u8>>>,
    /// Whether anything was written since the last [`OutputTail::clear`]:
    /// most events print nothing, and then clearing takes no lock.
    written: Arc<AtomicBool>,
}

impl OutputTail {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u8>> {
        // Appending bytes cannot leave the buffer inconsistent.
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets what was written so far.
    pub fn clear(&self) {
        if self.written.swap(false, Ordering::Relaxed) {
            self.lock().clear();
        }
    }

    /// The last non-empty lines written, joined with ` | `.
    pub fn last_lines(&self, count: usize) -> String {
        let bytes: Vec<u8> = self.lock().iter().copied().collect();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        lines[lines.len().saturating_sub(count)..].join(" | ")
    }
}

impl IsTerminal for OutputTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputTail {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl tokio::io::AsyncWrite for OutputTail {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bytes: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut buffer = self.lock();
        let keep = &bytes[bytes.len().saturating_sub(CAPTURED_OUTPUT)..];
        let overflow = (buffer.len() + keep.len()).saturating_sub(CAPTURED_OUTPUT);
        buffer.drain(..overflow);
        buffer.extend(keep);
        self.written.store(true, Ordering::Relaxed);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An event would cross its byte budget (`max_event_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "this event may make the host hold or deliver at most {max} bytes; {used} are used and this needs {wanted} more"
)]
pub struct EventBytesExceeded {
    /// The budget.
    pub max: u64,
    /// Bytes counted before.
    pub used: u64,
    /// Bytes refused.
    pub wanted: u64,
}

/// What the `config` interface answers: the owner's configuration of the
/// plugin.
pub struct ConfigState {
    /// As a JSON object, for `init` and `config.get-all`.
    pub json: String,
    /// Parsed, for `config.get`.
    pub values: serde_json::Map<String, serde_json::Value>,
}

/// The `kv` interface's accounting: keys and bytes the plugin holds, checked
/// against its quota on every write.
pub struct KvState {
    usage: Mutex<KvUsage>,
}

impl KvState {
    /// Accounting that starts from `usage` (read from the store at load).
    pub fn new(usage: KvUsage) -> Self {
        Self {
            usage: Mutex::new(usage),
        }
    }

    pub(crate) fn usage(&self) -> std::sync::MutexGuard<'_, KvUsage> {
        // Updated with one assignment; a poisoned lock holds consistent data.
        self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The `logging` interface's rate limit.
pub struct LogState {
    /// Lines admitted and dropped.
    pub budget: Mutex<LogBudget>,
}

/// The `http` interface's client and the policy its connector enforces;
/// present only when the manifest asks for `http`.
#[derive(Clone)]
pub struct HttpState {
    /// The client, whose connector checks every address against `policy`.
    pub client: reqwest::Client,
    /// The origins and address ranges allowed.
    pub policy: Arc<crate::http::HttpPolicy>,
}

/// What every instance of one plugin shares: who it is, what the owner
/// decided, and one part per host interface that keeps state across
/// instances.
pub struct PluginShared {
    /// The plugin's name (its KV namespace and log tag).
    pub name: Arc<str>,
    /// Its manifest.
    pub manifest: Manifest,
    /// Its budgets.
    pub limits: Limits,
    /// The permissions the owner granted it (changed while it runs).
    pub grants: Grants,
    /// Where its KV data and its suspension live.
    pub store: Arc<dyn Store>,
    /// Events of this plugin currently throttled (see [`crate::sandbox`]).
    pub throttled: AtomicU32,
    /// Host calls refused for lack of a permission or by the HTTP policy.
    pub refused_calls: AtomicU64,
    /// For the `config` interface.
    pub config: ConfigState,
    /// For the `kv` interface.
    pub kv: KvState,
    /// For the `logging` interface.
    pub log: LogState,
    /// For the `http` interface.
    pub http: Option<HttpState>,
    /// The values of its secret settings, hidden from every text the host
    /// writes about it (see [`PluginShared::redact`]).
    pub secrets: Vec<String>,
    /// For the `schedule` interface: the bot's timetable, absent when the
    /// host runs without a scheduler (then every `set` is refused).
    pub timetable: Option<Arc<plugboard_schedule::Timetable>>,
    /// For the `people` interface: who holds which role, absent when the
    /// host runs without people (then every question is refused).
    pub roles: Option<Arc<dyn crate::roles::RoleOracle>>,
}

impl PluginShared {
    /// `text` with every secret setting's value replaced by `(secret)`:
    /// for what the plugin says or prints that reaches logs, listings and
    /// users (a library's error message may quote the value it failed on).
    pub fn redact<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let mut text = std::borrow::Cow::Borrowed(text);
        for secret in self.secrets.iter().filter(|s| !s.is_empty()) {
            if text.contains(secret.as_str()) {
                text = std::borrow::Cow::Owned(text.replace(secret.as_str(), "(secret)"));
            }
        }
        text
    }

    /// The global id this plugin sees for the person `person` (see
    /// [`global_id_for`]).
    pub(crate) fn global_id(&self, person: &str) -> String {
        global_id_for(&self.name, self.granted(Permission::Identity), person)
    }

    /// A plugin holds a permission when its manifest asks for it and the
    /// owner granted it.
    pub(crate) fn granted(&self, permission: Permission) -> bool {
        self.manifest.wants(permission) && self.grants.contains(permission)
    }

    /// Refuses (and counts) a call needing `permission` unless the plugin
    /// holds it; the refusal says which of the two steps is missing. Every
    /// contract version turns it into its `permission-denied`.
    pub(crate) fn require(&self, permission: Permission) -> Result<(), Denied> {
        if self.granted(permission) {
            return Ok(());
        }
        let name = &self.name;
        self.refused_calls.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(plugin = %name, %permission, "host call refused: permission not granted");
        Err(Denied(if self.manifest.wants(permission) {
            format!(
                "this needs the `{permission}` permission, which the bot owner has not granted \
                 (`plugboard grant {name} {permission}`)"
            )
        } else {
            format!(
                "this needs the `{permission}` permission; declare it in plugin.toml's `permissions`"
            )
        }))
    }
}

/// The permissions the owner granted a plugin, read on every host call
/// that needs one and replaced whole when the owner changes them (the
/// admin API's `grant`), without stopping the plugin.
#[derive(Debug, Default)]
pub struct Grants(AtomicU32);

impl Grants {
    /// The set `permissions`.
    pub fn new<'a>(permissions: impl IntoIterator<Item = &'a Permission>) -> Self {
        let grants = Grants::default();
        grants.replace(permissions);
        grants
    }

    /// Whether `permission` is granted.
    pub fn contains(&self, permission: Permission) -> bool {
        self.0.load(Ordering::Relaxed) & permission.bit() != 0
    }

    /// From now on, exactly `permissions` are granted.
    pub fn replace<'a>(&self, permissions: impl IntoIterator<Item = &'a Permission>) {
        let bits = permissions.into_iter().fold(0, |bits, p| bits | p.bit());
        self.0.store(bits, Ordering::Relaxed);
    }

    /// The permissions granted now.
    pub fn to_set(&self) -> std::collections::BTreeSet<Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(|p| self.contains(*p))
            .collect()
    }
}

/// A host call refused for a permission the plugin does not hold; the text
/// names the permission and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

/// Where a relative action lands: the event's chat and the message to answer.
pub struct ActionContext<'a> {
    /// The event's chat.
    pub chat: &'a ChatRef,
    /// The message a `reply` answers, if the event has one.
    pub reply_to: Option<&'a str>,
}

/// The CPU accounting of the running event (see [`crate::sandbox`]).
pub(crate) struct Cpu {
    /// Epoch ticks the event may still run.
    pub(crate) ticks_left: u64,
    /// Epoch ticks it has run.
    pub(crate) ticks_used: u64,
    /// Whether it is counted among its plugin's throttled events.
    pub(crate) throttled: bool,
    /// When its wall-clock deadline passes.
    pub(crate) deadline: std::time::Instant,
    /// Whether it ran out of ticks (its trap is a CPU failure).
    pub(crate) exhausted: bool,
}

/// What the running event has produced so far, for the interfaces that add
/// to it (`messaging`, `kv`, `http`) and for the plugin that collects it.
#[derive(Default)]
pub(crate) struct EventScope {
    /// The event being handled (its chat decides where a send needs no
    /// permission; `current-event` reads the rest since contract 0.2);
    /// `None` outside an event, during `init`.
    pub(crate) current: Option<Arc<Event>>,
    /// The plugins whose calls led here, outermost first (empty for an
    /// event): a call between plugins that would come back to one of
    /// them is refused (see [`crate::link`]).
    pub(crate) chain: Arc<[Arc<str>]>,
    /// Messages sent with `messaging.send`, delivered when the event ends.
    pub(crate) sent: Vec<Outbound>,
    /// Bytes this event has made the host hold or deliver so far (see
    /// `Limits::max_event_bytes`).
    pub(crate) bytes: u64,
    /// Whether it wrote to the store, KV data or schedules (flushed before
    /// its deliveries).
    pub(crate) store_written: bool,
}

/// The data of one plugin instance's `Store`: what every instance of the
/// plugin shares, then per-concern state.
pub struct HostState {
    pub(crate) plugin: Arc<PluginShared>,
    /// The memory budget (wasmtime's resource limiter).
    pub(crate) budget: MemoryBudget,
    pub(crate) cpu: Cpu,
    pub(crate) event: EventScope,
    /// What the guest printed, for crash reports.
    pub(crate) output: OutputTail,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    /// State for a new instance of `plugin`. The guest's WASI world is empty:
    /// no arguments, environment, files or sockets; stdout and stderr are
    /// captured to explain crashes.
    pub fn new(plugin: Arc<PluginShared>) -> Self {
        let output = OutputTail::default();
        let wasi = wasmtime_wasi::WasiCtxBuilder::new()
            .stdout(output.clone())
            .stderr(output.clone())
            .max_random_size(MAX_RANDOM_BYTES)
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HANDLES);
        let budget = MemoryBudget::new(plugin.limits.memory_bytes());
        Self {
            plugin,
            budget,
            cpu: Cpu {
                ticks_left: 0,
                ticks_used: 0,
                throttled: false,
                deadline: std::time::Instant::now(),
                exhausted: false,
            },
            event: EventScope::default(),
            output,
            wasi,
            table,
        }
    }

    /// See [`PluginShared::require`].
    pub(crate) fn require(&self, permission: Permission) -> Result<(), Denied> {
        self.plugin.require(permission)
    }

    /// Whether the plugin may address `to` from this event: its own chat
    /// needs nothing, any other chat `send-any-chat`. One rule for
    /// messages sent and for schedules set.
    pub(crate) fn require_chat(&self, to: &ChatRef) -> Result<(), Denied> {
        let own_chat = self
            .event
            .current
            .as_deref()
            .is_some_and(|current| current.chat().is(to));
        if own_chat {
            return Ok(());
        }
        self.require(Permission::SendAnyChat)
    }

    /// Counts this event among its plugin's throttled events; returns how
    /// many are throttled now.
    pub(crate) fn begin_throttle(&mut self) -> u32 {
        if !self.cpu.throttled {
            self.cpu.throttled = true;
            self.plugin.throttled.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.plugin.throttled.load(Ordering::Relaxed).max(1)
        }
    }

    /// Ends this event's throttling, if it was throttled.
    pub(crate) fn end_throttle(&mut self) {
        if std::mem::take(&mut self.cpu.throttled) {
            self.plugin.throttled.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Counts `bytes` more against the event's byte budget; refuses (and
    /// counts nothing) when they would cross it.
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), EventBytesExceeded> {
        let max = self.plugin.limits.max_event_bytes;
        let total = self.event.bytes.saturating_add(bytes as u64);
        if total > max {
            return Err(EventBytesExceeded {
                max,
                used: self.event.bytes,
                wanted: bytes as u64,
            });
        }
        self.event.bytes = total;
        Ok(())
    }

    /// The tail of what the guest printed during this event, for crash reports.
    pub fn output_tail(&self) -> String {
        self.output.last_lines(3)
    }
}

impl Drop for HostState {
    fn drop(&mut self) {
        // An instance discarded mid-event (deadline, trap) still counted.
        self.end_throttle();
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The global id plugin `plugin` sees for person `person`: the person's id
/// itself with the `identity` permission (`identity`), else an id of the
/// plugin's own, `g` and 20 characters of SHA-256 over the plugin's name
/// and the person's id: stable, so the plugin's `user` KV scope follows
/// the person, but different in every plugin and not the person's id, so
/// plugins without `identity` cannot match their users with each other.
pub fn global_id_for(plugin: &str, identity: bool, person: &str) -> String {
    use sha2::Digest as _;
    if identity {
        return person.to_owned();
    }
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let digest = sha2::Sha256::new()
        .chain_update(plugin.as_bytes())
        .chain_update([0])
        .chain_update(person.as_bytes())
        .finalize();
    let mut id = String::with_capacity(21);
    id.push('g');
    id.extend(
        digest
            .iter()
            .take(20)
            .map(|b| char::from(ALPHABET[usize::from(b % 32)])),
    );
    id
}

#[cfg(test)]
mod tests {
    use super::global_id_for;

    #[test]
    fn a_person_has_one_id_with_identity_and_one_per_plugin_without() {
        assert_eq!(global_id_for("notes", true, "pabc"), "pabc");
        let notes = global_id_for("notes", false, "pabc");
        assert_eq!(notes, global_id_for("notes", false, "pabc"), "stable");
        assert_ne!(notes, global_id_for("dice", false, "pabc"));
        assert_ne!(notes, global_id_for("notes", false, "pabd"));
        assert_eq!(notes.len(), 21);
        assert!(notes.starts_with('g'));
        // The plugin name and the person cannot be shifted into each other.
        assert_ne!(
            global_id_for("ab", false, "c"),
            global_id_for("a", false, "bc")
        );
    }
}
