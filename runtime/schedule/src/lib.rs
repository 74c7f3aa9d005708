//! # plugboard-schedule
//!
//! Plugins' durable timers. A plugin sets a schedule (an id, when it fires,
//! a payload, the chat it is for) through the host's `schedule` interface;
//! the [`Timetable`] checks it against the owner's quotas, keeps it in the
//! store and in memory, and its [`Timetable::run`] loop turns each due fire
//! into a [`Tick`] for the bot to deliver through the same per-chat queues as
//! messages.
//!
//! Delivery is at most once: a fire's new state (the next due time, or the
//! one-shot's removal) is written and flushed *before* its tick is handed
//! on, so a bot killed after delivering it never delivers it again. A fire
//! that fell due while the bot was not running fires once at start or is
//! skipped, as the schedule's [`Missed`] policy says.
//!
//! What this crate must not touch: plugins, wasmtime, platforms, the
//! router. It knows schedules, time and the store; who gets a tick is the
//! bot's business, who may set a schedule the host's.
#![deny(missing_docs)]

mod clock;
mod table;
mod when;

pub use clock::{Clock, ManualClock, Sleep, SystemClock};
pub use table::{Quota, Scheduled, Timer, Timetable};
pub use when::{LocalNow, LocalTime, Missed, When, local_now, zone};

pub use plugboard_model::event::Tick;
use plugboard_store::StoreError;

/// The most bytes a schedule's id may have.
pub const MAX_ID_BYTES: usize = 128;
/// The most bytes a schedule's payload may have.
pub const MAX_PAYLOAD_BYTES: usize = 4096;

/// Why a schedule was refused (or could not be kept).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The id is empty, too long or has control characters.
    #[error(
        "a schedule id must be 1 to {MAX_ID_BYTES} bytes without control characters; got {len} bytes"
    )]
    BadId {
        /// Its length in bytes.
        len: usize,
    },
    /// The payload is too large.
    #[error("the payload is {len} bytes; a schedule carries at most {MAX_PAYLOAD_BYTES}")]
    PayloadTooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// The plugin has as many schedules as it may.
    #[error(
        "the plugin has {max} schedules, as many as it may; cancel one first (the owner can raise `max_schedules`)"
    )]
    TooMany {
        /// The quota.
        max: u32,
    },
    /// The schedule would repeat more often than the owner allows.
    #[error(
        "a schedule may repeat at most every {min_ms} ms (the owner's `schedule_min_interval_ms`); this one repeats after {interval_ms} ms"
    )]
    TooFrequent {
        /// The interval asked for (the shortest gap, for cron).
        interval_ms: u64,
        /// The owner's minimum.
        min_ms: u64,
    },
    /// The cron expression does not parse.
    #[error(
        "`{expression}` is not a cron expression this host reads ({problem}); use five fields, minute hour day-of-month month day-of-week, e.g. `0 9 * * MON`"
    )]
    BadCron {
        /// The expression.
        expression: String,
        /// What the parser said.
        problem: String,
    },
    /// The cron expression names no future minute.
    #[error("the cron expression `{expression}` never fires")]
    Never {
        /// The expression.
        expression: String,
    },
    /// The time zone is unknown.
    #[error(
        "`{zone}` is not a time zone this host knows; use an IANA name such as `Europe/Berlin` or `UTC`"
    )]
    BadZone {
        /// The name given.
        zone: String,
    },
    /// A one-shot's time has passed.
    #[error("the time {ms} (ms since the Unix epoch) is in the past by {late_ms} ms")]
    InPast {
        /// The time asked for.
        ms: u64,
        /// How long ago it was.
        late_ms: u64,
    },
    /// A wall-clock time that does not exist.
    #[error("{time} does not exist in {zone}: {why}")]
    NoSuchTime {
        /// The time, as written.
        time: String,
        /// The zone.
        zone: String,
        /// Why.
        why: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ScheduleError {
    /// Whether the refusal is a quota (as opposed to a malformed request
    /// or a failure of the host).
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            ScheduleError::TooMany { .. }
                | ScheduleError::TooFrequent { .. }
                | ScheduleError::PayloadTooLarge { .. }
        )
    }

    /// Whether the host, not the request, is at fault.
    pub fn is_host_failure(&self) -> bool {
        matches!(self, ScheduleError::Store(_))
    }
}
