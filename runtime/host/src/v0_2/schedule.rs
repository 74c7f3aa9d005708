//! `plugboard:plugin/schedule` (since 0.2): the plugin's durable timers,
//! kept by the bot's [`Timetable`](plugboard_schedule::Timetable).

use plugboard_model::event::{Chat, ChatKind, Event};
use plugboard_registry_types::Permission;
use plugboard_schedule::{self as schedule, ScheduleError};

use super::convert::chat_ref_from_wit;
use super::event::chat_ref;
use super::plugboard::plugin::schedule as wit;
use super::wit::HostError;
use crate::state::HostState;

fn refused(e: ScheduleError) -> HostError {
    if e.is_host_failure() {
        tracing::error!("schedule store error: {e}");
        HostError::Other(format!("storage failed: {e}"))
    } else if e.is_limit() {
        HostError::LimitExceeded(e.to_string())
    } else {
        HostError::InvalidArgument(e.to_string())
    }
}

fn when_from_wit(when: wit::When, now_ms: u64) -> schedule::When {
    match when {
        wit::When::AfterMs(ms) => schedule::When::At {
            ms: now_ms.saturating_add(ms),
        },
        wit::When::AtMs(ms) => schedule::When::At { ms },
        wit::When::AtLocal(t) => schedule::When::AtLocal(schedule::LocalTime {
            year: t.year,
            month: t.month,
            day: t.day,
            hour: t.hour,
            minute: t.minute,
            zone: t.zone,
        }),
        wit::When::EveryMs(interval_ms) => schedule::When::Every { interval_ms },
        wit::When::Cron(c) => schedule::When::Cron {
            expression: c.expression,
            zone: c.zone,
        },
    }
}

fn when_to_wit(when: &schedule::When) -> wit::When {
    match when {
        schedule::When::At { ms } => wit::When::AtMs(*ms),
        schedule::When::AtLocal(t) => wit::When::AtLocal(wit::LocalTime {
            year: t.year,
            month: t.month,
            day: t.day,
            hour: t.hour,
            minute: t.minute,
            zone: t.zone.clone(),
        }),
        schedule::When::Every { interval_ms } => wit::When::EveryMs(*interval_ms),
        schedule::When::Cron { expression, zone } => wit::When::Cron(wit::Cron {
            expression: expression.clone(),
            zone: zone.clone(),
        }),
    }
}

fn missed_from_wit(missed: wit::Missed) -> schedule::Missed {
    match missed {
        wit::Missed::FireOnce => schedule::Missed::FireOnce,
        wit::Missed::Skip => schedule::Missed::Skip,
    }
}

fn missed_to_wit(missed: schedule::Missed) -> wit::Missed {
    match missed {
        schedule::Missed::FireOnce => wit::Missed::FireOnce,
        schedule::Missed::Skip => wit::Missed::Skip,
    }
}

impl HostState {
    fn timetable(&self) -> Result<&plugboard_schedule::Timetable, HostError> {
        self.require(Permission::Schedule)?;
        self.plugin.timetable.as_deref().ok_or_else(|| {
            HostError::Other("this host runs without a scheduler; schedules are unavailable".into())
        })
    }

    /// Makes a schedule change durable before anyone hears of it: during an
    /// event, with the flush before its deliveries (one flush however many
    /// changes); in `init`, at once.
    fn wrote_schedule(&mut self) -> Result<(), HostError> {
        if self.event.current.is_some() {
            self.event.store_written = true;
            return Ok(());
        }
        self.plugin
            .store
            .flush()
            .map_err(|e| refused(ScheduleError::Store(e)))
    }

    /// The chat a schedule's ticks belong to: the one named (which the
    /// plugin must be allowed to address) or the current event's; and
    /// whether addressing it took `send-any-chat` (a tick in a foreign chat
    /// passes that on to the schedules it sets there).
    fn schedule_chat(&self, named: Option<super::wit::ChatRef>) -> Result<(Chat, bool), HostError> {
        let current = self.event.current.as_deref();
        let inherited = matches!(current, Some(Event::Tick(t)) if t.foreign_chat);
        let current = current.map(Event::chat);
        let Some(named) = named else {
            let chat = current.cloned().ok_or_else(|| {
                HostError::InvalidArgument(
                    "a schedule set outside an event (in init) must name its chat".into(),
                )
            })?;
            return Ok((chat, inherited));
        };
        let to = chat_ref_from_wit(named)?;
        self.require_chat(&to)?;
        Ok(match current {
            Some(chat) if chat.is(&to) => (chat.clone(), inherited),
            // Its kind is unknown from an address alone.
            _ => {
                let chat = Chat {
                    platform: to.platform,
                    id: to.id,
                    kind: ChatKind::Group,
                    title: None,
                    locale: None,
                };
                (chat, true)
            }
        })
    }
}

impl super::plugboard::plugin::schedule::Host for HostState {
    fn set(&mut self, timer: wit::Timer) -> Result<u64, HostError> {
        self.timetable()?;
        let (chat, foreign_chat) = self.schedule_chat(timer.chat)?;
        let table = self.timetable()?;
        let now_ms = table.clock().now_ms();
        let timer = schedule::Timer {
            id: timer.id,
            when: when_from_wit(timer.when, now_ms),
            missed: missed_from_wit(timer.missed),
            payload: timer.payload,
            chat,
            foreign_chat,
        };
        let quota = self.plugin.limits.schedule_quota();
        let first = table
            .set(&self.plugin.name, timer, quota, now_ms)
            .map_err(refused)?;
        self.wrote_schedule()?;
        Ok(first)
    }

    fn cancel(&mut self, id: String) -> Result<bool, HostError> {
        let existed = self
            .timetable()?
            .cancel(&self.plugin.name, &id)
            .map_err(refused)?;
        if existed {
            self.wrote_schedule()?;
        }
        Ok(existed)
    }

    fn list(&mut self) -> Result<Vec<wit::Scheduled>, HostError> {
        let table = self.timetable()?;
        Ok(table
            .list(&self.plugin.name)
            .into_iter()
            .map(|s| wit::Scheduled {
                when: when_to_wit(&s.timer.when),
                missed: missed_to_wit(s.timer.missed),
                chat: chat_ref(&s.timer.chat),
                id: s.timer.id,
                payload: s.timer.payload,
                next_ms: s.next_ms,
            })
            .collect())
    }

    fn now_in(&mut self, zone: String) -> Result<wit::LocalNow, HostError> {
        let now_ms = match self.plugin.timetable.as_deref() {
            Some(table) => table.clock().now_ms(),
            None => plugboard_schedule::Clock::now_ms(&plugboard_schedule::SystemClock),
        };
        let now = schedule::local_now(now_ms, &zone).map_err(refused)?;
        Ok(wit::LocalNow {
            year: now.year,
            month: now.month,
            day: now.day,
            hour: now.hour,
            minute: now.minute,
            second: now.second,
            weekday: now.weekday,
            offset_minutes: now.offset_minutes,
            unix_ms: now.unix_ms,
        })
    }
}
