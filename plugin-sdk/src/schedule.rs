//! Timers that wake the plugin later (needs the `schedule` permission).
//!
//! A schedule has an id the plugin chooses, fires once or repeatedly, and
//! carries a payload; each fire arrives as a [`Tick`] in
//! [`Plugin::on_tick`](crate::Plugin::on_tick), in the chat it was set for,
//! so `out.reply(…)` answers where the schedule was asked for. Schedules are
//! kept by the host across restarts, and each fire is delivered at most once.
//!
//! ```no_run
//! use std::time::Duration;
//! use plugboard_sdk::prelude::*;
//! use plugboard_sdk::schedule::Timer;
//!
//! #[derive(Default)]
//! struct Tea;
//!
//! impl Plugin for Tea {
//!     fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
//!         Timer::after("tea", Duration::from_secs(180)).payload(&"Tea is ready")?.set()?;
//!         out.reply("I'll tell you in 3 minutes.");
//!         Ok(())
//!     }
//!
//!     fn on_tick(&mut self, tick: Tick, out: &mut Response) -> Result<()> {
//!         out.reply(tick.payload_as::<String>()?);
//!         Ok(())
//!     }
//! }
//! ```
//!
//! The owner bounds how many schedules a plugin keeps (`max_schedules`) and
//! how often one may repeat (`schedule_min_interval_ms`, a minute by
//! default); a refusal is an [`Error`] whose text names the
//! limit.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::plugboard::plugin::schedule as host;
use crate::error::from_host;
use crate::{ChatRef, Error, Result, Tick};

pub use host::{Cron, LocalNow, LocalTime, Missed, Scheduled, When};

/// A schedule to set: build it, then [`Timer::set`] it.
#[derive(Debug, Clone)]
pub struct Timer {
    inner: host::Timer,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Timer {
    /// A schedule that fires as `when` says.
    pub fn new(id: impl Into<String>, when: When) -> Self {
        Self {
            inner: host::Timer {
                id: id.into(),
                when,
                missed: Missed::FireOnce,
                payload: Vec::new(),
                chat: None,
            },
        }
    }

    /// Fires once, `delay` from now.
    pub fn after(id: impl Into<String>, delay: Duration) -> Self {
        Self::new(id, When::AfterMs(millis(delay)))
    }

    /// Fires once, at a wall-clock time in a zone (see [`now_in`] to
    /// compute "tomorrow at 9:00").
    pub fn at_local(id: impl Into<String>, time: LocalTime) -> Self {
        Self::new(id, When::AtLocal(time))
    }

    /// Fires every `interval`, the first time one interval from now.
    pub fn every(id: impl Into<String>, interval: Duration) -> Self {
        Self::new(id, When::EveryMs(millis(interval)))
    }

    /// Fires at the minutes a five-field cron expression names
    /// (`"0 9 * * MON"`), read in the IANA time zone `zone`.
    pub fn cron(
        id: impl Into<String>,
        expression: impl Into<String>,
        zone: impl Into<String>,
    ) -> Self {
        Self::new(
            id,
            When::Cron(Cron {
                expression: expression.into(),
                zone: zone.into(),
            }),
        )
    }

    /// Attaches a serde value, handed back in every tick
    /// ([`Tick::payload_as`]); at most 4 KiB as JSON.
    pub fn payload<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self> {
        self.inner.payload = serde_json::to_vec(value)
            .map_err(|e| Error::failed(format!("cannot encode the payload: {e}")))?;
        Ok(self)
    }

    /// Attaches raw bytes, handed back in every tick; at most 4 KiB.
    pub fn payload_bytes(mut self, bytes: Vec<u8>) -> Self {
        self.inner.payload = bytes;
        self
    }

    /// Drops fires that fell due while the bot was down, instead of firing
    /// once when it is back (the default).
    pub fn skip_missed(mut self) -> Self {
        self.inner.missed = Missed::Skip;
        self
    }

    /// Ticks belong to `chat` instead of the chat of the event being
    /// handled (needs `send-any-chat` unless it is that chat; required in
    /// `configure`, which runs outside any event).
    pub fn in_chat(mut self, chat: ChatRef) -> Self {
        self.inner.chat = Some(chat);
        self
    }

    /// Sets the schedule, replacing one with the same id; returns its first
    /// fire in milliseconds since the Unix epoch.
    pub fn set(self) -> Result<u64> {
        host::set(&self.inner).map_err(from_host)
    }
}

/// Cancels the schedule `id`; returns whether it existed.
pub fn cancel(id: &str) -> Result<bool> {
    host::cancel(id).map_err(from_host)
}

/// The plugin's schedules, ordered by id.
pub fn list() -> Result<Vec<Scheduled>> {
    host::list().map_err(from_host)
}

/// The current wall-clock time in an IANA time zone (`"Europe/Berlin"`).
pub fn now_in(zone: &str) -> Result<LocalNow> {
    host::now_in(zone).map_err(from_host)
}

impl Tick {
    /// The payload set with [`Timer::payload`], decoded.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.payload).map_err(|e| {
            Error::failed(format!(
                "the payload of schedule `{}` does not decode: {e}",
                self.id
            ))
        })
    }
}
