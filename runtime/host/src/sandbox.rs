//! Per-plugin budgets and how a breach is told apart from an ordinary failure.
//!
//! Every plugin instance runs in its own wasmtime `Store` with:
//!
//! * a memory budget for all its linear memories and tables together,
//!   enforced by [`MemoryBudget`] (a `ResourceLimiter`);
//! * a CPU budget per event, counted in epoch ticks of [`EPOCH_TICK`]: the
//!   engine's epoch advances on a timer thread and the store's epoch callback
//!   yields to the async executor on every tick (so a busy plugin never holds
//!   a worker thread for long) and traps once the event's ticks are used up.
//!   After its first two ticks an event is throttled: it sleeps after every
//!   tick it runs, three ticks times the number of the plugin's events
//!   throttled at that moment, so all of one plugin's long-running events
//!   together get about a quarter of a core and a looping plugin leaves the
//!   rest of the machine to the other chats;
//! * a wall-clock deadline per event that also covers time spent waiting in
//!   host calls, enforced with a timer around the call (armed only if the call waits);
//! * a cap on the number of actions one event may return.
//!
//! A breach fails that one event for that one plugin; the instance is thrown
//! away (it may be in any state) and the next event gets a fresh one.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How often the engine's epoch advances: the granularity of the CPU budget.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Room on top of `max_event_bytes` for wasmtime's accounting of what it
/// copies out of a plugin (see [`Limits::copy_budget`]).
pub const COPY_SLACK: usize = 64 * 1024;

/// Budgets for one plugin. `[limits]` in `plugboard.toml` sets the defaults;
/// `[plugins.<name>.limits]` overrides single fields for one plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Memory of one instance (all its memories and tables together), in MiB.
    pub memory_mib: u32,
    /// CPU time one event may use inside the plugin, in milliseconds. When an
    /// event needs a new instance, starting it (instantiation and `init`) has
    /// a budget of its own.
    pub cpu_ms: u64,
    /// Wall-clock time one event may take, host calls included, in
    /// milliseconds; starting a new instance has a deadline of its own.
    pub deadline_ms: u64,
    /// Actions one event may return.
    pub max_actions: u32,
    /// Bytes of text in one outgoing message.
    pub max_message_bytes: u32,
    /// Bytes one event may make the host hold or deliver: every string and
    /// list of the actions it returns and the messages it sends (texts,
    /// buttons, embeds, ids, emoji) and of its HTTP requests, counted as
    /// they are produced. Also the most one host call or the returned
    /// actions may copy out of the plugin at once.
    pub max_event_bytes: u64,
    /// Keep an instance between events (fast) instead of a fresh one per
    /// event (stateless). An instance that crashed or hit a budget is always
    /// discarded.
    pub reuse_instances: bool,
    /// Instances of this plugin alive at once (events of different chats it
    /// handles in parallel); further events wait for one to be free.
    pub max_instances: u32,
    /// Circuit breaker: suspend the plugin when this many of its last
    /// `breaker_window` events failed (0 disables the breaker). Wrong user
    /// input does not count as a failure.
    pub breaker_failures: u32,
    /// Circuit breaker: how many recent events are considered.
    pub breaker_window: u32,
    /// Keys the plugin may keep in its KV store.
    pub kv_max_keys: u64,
    /// Bytes of keys and values the plugin may keep in its KV store.
    pub kv_max_bytes: u64,
    /// Log lines per second the plugin may write (bursts up to the same
    /// number); further lines are dropped and counted.
    pub log_lines_per_sec: u32,
    /// Schedules (timers) the plugin may keep at once.
    pub max_schedules: u32,
    /// The shortest interval a repeating schedule may have, in milliseconds
    /// (cron expressions can repeat at most once a minute anyway).
    pub schedule_min_interval_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mib: 64,
            cpu_ms: 1_000,
            deadline_ms: 5_000,
            max_actions: 32,
            max_message_bytes: 16 * 1024,
            max_event_bytes: 2 << 20,
            reuse_instances: true,
            max_instances: 16,
            breaker_failures: 5,
            breaker_window: 10,
            kv_max_keys: 10_000,
            kv_max_bytes: 16 << 20,
            log_lines_per_sec: 20,
            max_schedules: 1_000,
            schedule_min_interval_ms: 60_000,
        }
    }
}

impl Limits {
    /// The bounds on the plugin's schedules.
    pub fn schedule_quota(&self) -> plugboard_schedule::Quota {
        plugboard_schedule::Quota {
            max_schedules: self.max_schedules,
            min_interval_ms: self.schedule_min_interval_ms,
        }
    }

    /// The memory budget in bytes.
    pub fn memory_bytes(&self) -> usize {
        (self.memory_mib as usize).saturating_mul(1 << 20)
    }

    /// The CPU budget in epoch ticks (at least one).
    pub fn cpu_ticks(&self) -> u64 {
        (self.cpu_ms / EPOCH_TICK.as_millis() as u64).max(1)
    }

    /// The most one host call (or the returned actions) may copy out of a
    /// plugin: the event's byte budget plus room for the host's own
    /// bookkeeping of what it copies (wasmtime counts lists by the size of
    /// their host-side elements).
    pub fn copy_budget(&self) -> usize {
        usize::try_from(self.max_event_bytes)
            .unwrap_or(usize::MAX)
            .saturating_add(COPY_SLACK)
    }

    /// Refuses a message text longer than `max_message_bytes`.
    pub fn check_text_len(&self, text: &str) -> Result<(), String> {
        let max = self.max_message_bytes as usize;
        if text.len() > max {
            return Err(format!(
                "a message is at most {max} bytes; this one has {}",
                text.len()
            ));
        }
        Ok(())
    }

    /// The wall-clock deadline.
    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    /// Applies the fields set in `overrides` on top of these limits.
    pub fn with_overrides(&self, overrides: &toml::Table) -> Result<Limits, String> {
        let mut merged = toml::Table::try_from(self).map_err(|e| e.to_string())?;
        for (key, value) in overrides {
            merged.insert(key.clone(), value.clone());
        }
        merged
            .try_into()
            .map_err(|e: toml::de::Error| e.to_string())
    }
}

/// A token bucket for a plugin's log lines.
#[derive(Debug)]
pub struct LogBudget {
    tokens: f64,
    last: std::time::Instant,
    /// Lines dropped since the last one let through.
    pending_drops: u64,
    /// Lines dropped in all.
    pub dropped: u64,
}

impl LogBudget {
    /// A full bucket.
    pub fn new(per_sec: u32) -> Self {
        Self {
            tokens: f64::from(per_sec),
            last: std::time::Instant::now(),
            pending_drops: 0,
            dropped: 0,
        }
    }

    /// Takes one line's token. `Some(n)` lets the line through, `n` being
    /// the lines dropped just before it (to report); `None` drops it.
    pub fn take(&mut self, per_sec: u32) -> Option<u64> {
        let now = std::time::Instant::now();
        let rate = f64::from(per_sec);
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * rate).min(rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Some(std::mem::take(&mut self.pending_drops))
        } else {
            self.pending_drops += 1;
            self.dropped += 1;
            None
        }
    }
}

/// Tracks the memory of one instance and refuses growth past the budget.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: usize,
    used: usize,
    /// Set when a growth was refused, so a later trap can be explained.
    pub exceeded: bool,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            used: 0,
            exceeded: false,
        }
    }

    /// Bytes in use by all memories and tables of the instance.
    pub fn used(&self) -> usize {
        self.used
    }

    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let extra = desired.saturating_sub(current);
        match self.used.checked_add(extra) {
            Some(total) if total <= self.limit => {
                self.used = total;
                true
            }
            _ => {
                self.exceeded = true;
                false
            }
        }
    }
}

impl wasmtime::ResourceLimiter for MemoryBudget {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Table elements are pointer-sized; count them against the same budget.
        let size = std::mem::size_of::<usize>();
        Ok(self.grow(current.saturating_mul(size), desired.saturating_mul(size)))
    }
}

/// Why one event failed in one plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The plugin said the user's input was wrong; the text is for the user.
    InvalidInput(String),
    /// The plugin reported a failure of its own.
    Failed(String),
    /// The plugin used more CPU time than its budget.
    CpuBudget {
        /// The budget, in milliseconds.
        cpu_ms: u64,
    },
    /// The event took longer than the wall-clock deadline.
    Deadline {
        /// The deadline, in milliseconds.
        deadline_ms: u64,
    },
    /// The plugin tried to use more memory than its budget.
    Memory {
        /// The budget, in MiB.
        memory_mib: u32,
    },
    /// The plugin trapped (a panic, an `unreachable`, a stack overflow, …).
    Trap(String),
    /// The plugin returned more actions than allowed.
    TooManyActions {
        /// How many it returned.
        returned: usize,
        /// The cap.
        max: u32,
    },
    /// The plugin returned an action it may not take (a message too long, a
    /// chat it may not write to, a button id too long).
    BadAction(String),
    /// The plugin tried to make the host hold or deliver more bytes for one
    /// event than its budget.
    SizeBudget {
        /// The budget, in bytes.
        max_event_bytes: u64,
    },
    /// The plugin ended its own instance (WASI `exit`), with this status.
    Exited(i32),
    /// The plugin is disabled (its `init` refused the configuration at startup).
    Disabled(String),
    /// The plugin's circuit breaker suspended it after repeated failures.
    Suspended(String),
    /// The plugin could not be instantiated (e.g. its `init` failed, or the
    /// instance pool is exhausted).
    Instantiate(String),
    /// A call from another plugin was refused before it ran (a call chain
    /// that comes back to this plugin, or one too deep, or a function it
    /// does not export).
    CallRefused(String),
}

impl Failure {
    /// A short machine-friendly reason, for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::InvalidInput(_) => "invalid-input",
            Failure::Failed(_) => "failed",
            Failure::CpuBudget { .. } => "cpu-budget",
            Failure::Deadline { .. } => "deadline",
            Failure::Memory { .. } => "memory",
            Failure::Trap(_) => "trap",
            Failure::TooManyActions { .. } => "too-many-actions",
            Failure::BadAction(_) => "bad-action",
            Failure::SizeBudget { .. } => "size-budget",
            Failure::Exited(_) => "exited",
            Failure::Disabled(_) => "disabled",
            Failure::Suspended(_) => "suspended",
            Failure::Instantiate(_) => "instantiate",
            Failure::CallRefused(_) => "call-refused",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Failure::Failed(m) => write!(f, "plugin reported a failure: {m}"),
            Failure::CpuBudget { cpu_ms } => write!(
                f,
                "used more than its CPU budget of {cpu_ms} ms for one event (raise `cpu_ms` in its [plugins.<name>.limits] if this is expected)"
            ),
            Failure::Deadline { deadline_ms } => write!(
                f,
                "did not finish within its deadline of {deadline_ms} ms (raise `deadline_ms` in its [plugins.<name>.limits] if this is expected)"
            ),
            Failure::Memory { memory_mib } => write!(
                f,
                "tried to use more than its memory budget of {memory_mib} MiB (raise `memory_mib` in its [plugins.<name>.limits] if this is expected)"
            ),
            Failure::Trap(m) => write!(f, "crashed: {m}"),
            Failure::TooManyActions { returned, max } => {
                write!(
                    f,
                    "returned {returned} actions for one event; the limit is {max}"
                )
            }
            Failure::BadAction(m) => write!(f, "returned an action it may not take: {m}"),
            Failure::SizeBudget { max_event_bytes } => write!(
                f,
                "tried to send or return more than its budget of {max_event_bytes} bytes for one event (raise `max_event_bytes` in its [plugins.<name>.limits] if this is expected)"
            ),
            Failure::Exited(status) => write!(f, "exited with status {status}"),
            Failure::Disabled(m) => write!(f, "is disabled: {m}"),
            Failure::Suspended(m) => write!(f, "is suspended: {m}"),
            Failure::Instantiate(m) => write!(f, "could not be started: {m}"),
            Failure::CallRefused(m) => write!(f, "refused the call: {m}"),
        }
    }
}

/// Runs `call` until `deadline`, or fails with `Err(())` when it passes.
///
/// The timer is armed only if the call waits: most plugin calls finish in
/// their first poll, and registering a timer for each of them costs more
/// than the rest of the host's work around the call. A hand-written future,
/// not an `async fn`: that would hold `call` twice (as its argument and
/// pinned), doubling a future that every event allocates and moves.
pub(crate) fn within_deadline<F: Future>(
    deadline: std::time::Instant,
    call: F,
) -> WithinDeadline<F> {
    WithinDeadline {
        call,
        deadline,
        timer: None,
    }
}

pin_project_lite::pin_project! {
    /// The future of [`within_deadline`].
    pub(crate) struct WithinDeadline<F> {
        #[pin]
        call: F,
        deadline: std::time::Instant,
        // Boxed: armed only for a call that waits. Unconstrained by
        // tokio's cooperative budget (as `tokio::time::timeout` does it),
        // so that a call which spends the task's budget on every poll
        // still meets its deadline.
        timer: Option<std::pin::Pin<Box<tokio::task::Unconstrained<tokio::time::Sleep>>>>,
    }
}

impl<F: Future> Future for WithinDeadline<F> {
    type Output = Result<F::Output, ()>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        use std::task::Poll;
        let this = self.project();
        if let Poll::Ready(out) = this.call.poll(cx) {
            return Poll::Ready(Ok(out));
        }
        let deadline = *this.deadline;
        let timer = this.timer.get_or_insert_with(|| {
            Box::pin(tokio::task::unconstrained(tokio::time::sleep_until(
                deadline.into(),
            )))
        });
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(())),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_apply_field_by_field() {
        let base = Limits::default();
        let table: toml::Table =
            toml::from_str("cpu_ms = 50\nreuse_instances = false").expect("toml");
        let merged = base.with_overrides(&table).expect("merge");
        assert_eq!(merged.cpu_ms, 50);
        assert!(!merged.reuse_instances);
        assert_eq!(merged.memory_mib, base.memory_mib);
        let bad: toml::Table = toml::from_str("cpu = 50").expect("toml");
        let err = base.with_overrides(&bad).expect_err("unknown field");
        assert!(err.contains("unknown field `cpu`"), "{err}");
    }

    #[test]
    fn memory_budget_counts_all_memories() {
        let mut budget = MemoryBudget::new(10);
        assert!(budget.grow(0, 6));
        assert!(budget.grow(0, 4));
        assert!(!budget.grow(4, 5));
        assert!(budget.exceeded);
        assert_eq!(budget.used(), 10);
    }
}
