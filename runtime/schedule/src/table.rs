//! Every plugin's schedules: kept in the store, indexed by due time in
//! memory, fired by [`Timetable::run`].

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use plugboard_model::event::{Chat, ChatKind, Platform, Tick};
use plugboard_store::{Schedules, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::{Clock, MAX_ID_BYTES, MAX_PAYLOAD_BYTES, Missed, ScheduleError, When};

/// A schedule a plugin asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    /// The plugin's own id for it; setting an id again replaces the schedule.
    pub id: String,
    /// When it fires.
    pub when: When,
    /// What happens to a fire missed while the bot was down.
    pub missed: Missed,
    /// Bytes handed back in every tick.
    pub payload: Vec<u8>,
    /// The chat its ticks belong to.
    pub chat: Chat,
    /// Whether that chat is another than the one the schedule was set from
    /// (see [`Tick::foreign_chat`]).
    pub foreign_chat: bool,
}

/// A schedule as kept: what was asked for and when it fires next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled {
    /// What the plugin asked for.
    pub timer: Timer,
    /// The next fire, in milliseconds since the Unix epoch.
    pub next_ms: u64,
}

/// The owner's bounds on one plugin's schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Schedules the plugin may have at once.
    pub max_schedules: u32,
    /// The shortest interval a repeating schedule may have.
    pub min_interval_ms: u64,
}

/// How long the loop waits after the store failed before trying again.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Fires taken from the index in one pass (the rest follow at once).
const BATCH: usize = 256;

/// The stored form of a schedule (JSON; `v` for later changes).
#[derive(Serialize, Deserialize)]
struct Record {
    v: u32,
    when: When,
    missed: Missed,
    payload: Vec<u8>,
    platform: String,
    chat: String,
    kind: String,
    title: Option<String>,
    next_ms: u64,
    #[serde(default)]
    foreign_chat: bool,
}

fn kind_name(kind: ChatKind) -> &'static str {
    match kind {
        ChatKind::Direct => "direct",
        ChatKind::Group => "group",
        ChatKind::Channel => "channel",
    }
}

impl Record {
    fn of(scheduled: &Scheduled) -> Vec<u8> {
        let timer = &scheduled.timer;
        let record = Record {
            v: 1,
            when: timer.when.clone(),
            missed: timer.missed,
            payload: timer.payload.clone(),
            platform: timer.chat.platform.as_str().to_owned(),
            chat: timer.chat.id.clone(),
            kind: kind_name(timer.chat.kind).to_owned(),
            title: timer.chat.title.clone(),
            next_ms: scheduled.next_ms,
            foreign_chat: timer.foreign_chat,
        };
        // Plain data: serialising it cannot fail.
        serde_json::to_vec(&record).unwrap_or_default()
    }

    fn decode(id: &str, bytes: &[u8]) -> Result<Scheduled, serde_json::Error> {
        let record: Record = serde_json::from_slice(bytes)?;
        let kind = match record.kind.as_str() {
            "direct" => ChatKind::Direct,
            "channel" => ChatKind::Channel,
            _ => ChatKind::Group,
        };
        Ok(Scheduled {
            timer: Timer {
                id: id.to_owned(),
                when: record.when,
                missed: record.missed,
                payload: record.payload,
                chat: Chat {
                    platform: Platform::from_name(&record.platform),
                    id: record.chat,
                    kind,
                    title: record.title,
                    locale: None,
                },
                foreign_chat: record.foreign_chat,
            },
            next_ms: record.next_ms,
        })
    }
}

type Key = (String, String);

#[derive(Default)]
struct Index {
    /// Every schedule by (plugin, id).
    entries: BTreeMap<Key, Scheduled>,
    /// (next fire, plugin, id), earliest first.
    due: BTreeSet<(u64, String, String)>,
}

impl Index {
    fn insert(&mut self, plugin: &str, scheduled: Scheduled) {
        // The old due entry goes first: a replacement due at the same
        // moment has the same tuple, which must stay.
        self.remove(plugin, &scheduled.timer.id);
        self.due.insert((
            scheduled.next_ms,
            plugin.to_owned(),
            scheduled.timer.id.clone(),
        ));
        self.entries
            .insert((plugin.to_owned(), scheduled.timer.id.clone()), scheduled);
    }

    fn remove(&mut self, plugin: &str, id: &str) -> Option<Scheduled> {
        let old = self.entries.remove(&(plugin.to_owned(), id.to_owned()))?;
        self.due
            .remove(&(old.next_ms, plugin.to_owned(), id.to_owned()));
        Some(old)
    }

    fn of(&self, plugin: &str) -> impl Iterator<Item = &Scheduled> {
        self.entries
            .range((plugin.to_owned(), String::new())..)
            .take_while(move |((p, _), _)| p == plugin)
            .map(|(_, scheduled)| scheduled)
    }
}

/// Every plugin's schedules: checks, keeps and fires them.
pub struct Timetable {
    store: Arc<dyn Schedules>,
    clock: Arc<dyn Clock>,
    index: Mutex<Index>,
    /// Woken when a schedule is set or cancelled, so the loop re-plans.
    changed: Notify,
    /// When the timetable was opened: fires due before it were missed
    /// while the bot was down.
    opened_ms: u64,
}

impl std::fmt::Debug for Timetable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timetable")
            .field("schedules", &self.index().entries.len())
            .field("opened_ms", &self.opened_ms)
            .finish_non_exhaustive()
    }
}

impl Timetable {
    /// Loads the stored schedules. A record this version cannot read is
    /// logged and left in the store untouched.
    pub fn open(store: Arc<dyn Schedules>, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        let mut index = Index::default();
        for (plugin, id, bytes) in store.schedules()? {
            match Record::decode(&id, &bytes) {
                Ok(scheduled) => index.insert(&plugin, scheduled),
                Err(e) => tracing::warn!(plugin, id, "ignoring a stored schedule: {e}"),
            }
        }
        let opened_ms = clock.now_ms();
        Ok(Self {
            store,
            clock,
            index: Mutex::new(index),
            changed: Notify::new(),
            opened_ms,
        })
    }

    /// The clock the timetable runs on.
    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    fn index(&self) -> MutexGuard<'_, Index> {
        // Index updates cannot panic half-way; a poisoned lock holds
        // consistent data.
        self.index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets (or replaces) `plugin`'s schedule `timer.id`, as asked at
    /// `now_ms` (read once from [`Timetable::clock`] by the caller, who may
    /// have turned a delay into a time with it); returns its first fire.
    /// Written to the store, durable once the store is flushed (the bot
    /// flushes before it delivers the answers of the event that set it).
    pub fn set(
        &self,
        plugin: &str,
        timer: Timer,
        quota: Quota,
        now_ms: u64,
    ) -> Result<u64, ScheduleError> {
        let id_len = timer.id.len();
        if id_len == 0 || id_len > MAX_ID_BYTES || timer.id.chars().any(char::is_control) {
            return Err(ScheduleError::BadId { len: id_len });
        }
        if timer.payload.len() > MAX_PAYLOAD_BYTES {
            return Err(ScheduleError::PayloadTooLarge {
                len: timer.payload.len(),
            });
        }
        let next_ms = timer.when.first(now_ms, quota.min_interval_ms)?;
        let mut index = self.index();
        let replaces = index
            .entries
            .contains_key(&(plugin.to_owned(), timer.id.clone()));
        if !replaces && index.of(plugin).count() >= quota.max_schedules as usize {
            return Err(ScheduleError::TooMany {
                max: quota.max_schedules,
            });
        }
        let scheduled = Scheduled { timer, next_ms };
        self.store
            .schedule_put(plugin, &scheduled.timer.id, &Record::of(&scheduled))?;
        index.insert(plugin, scheduled);
        drop(index);
        self.changed.notify_one();
        Ok(next_ms)
    }

    /// Cancels `plugin`'s schedule `id`; returns whether there was one.
    /// Durable once the store is flushed, as for [`Timetable::set`].
    pub fn cancel(&self, plugin: &str, id: &str) -> Result<bool, ScheduleError> {
        let mut index = self.index();
        if !index
            .entries
            .contains_key(&(plugin.to_owned(), id.to_owned()))
        {
            return Ok(false);
        }
        // The store first: a failed delete leaves the schedule as it was.
        self.store.schedule_delete(plugin, id)?;
        index.remove(plugin, id);
        drop(index);
        self.changed.notify_one();
        Ok(true)
    }

    /// `plugin`'s schedules, by id.
    pub fn list(&self, plugin: &str) -> Vec<Scheduled> {
        self.index().of(plugin).cloned().collect()
    }

    /// Fires every due schedule, then sleeps until the next one is due (or
    /// a schedule changes); hands each tick to `fire`, in due order.
    /// Returns when `open` says the bot no longer takes ticks (checked
    /// before any fire is recorded, so none is recorded and then dropped)
    /// or `fire` refuses one.
    pub async fn run<F, Fut>(&self, open: impl Fn() -> bool, mut fire: F)
    where
        F: FnMut(Tick) -> Fut,
        Fut: Future<Output = bool>,
    {
        loop {
            if !open() {
                return;
            }
            let now = self.clock.now_ms();
            let ticks = match self.take_due(now) {
                Ok(ticks) => ticks,
                Err(e) => {
                    tracing::error!("cannot record fired schedules; retrying: {e}");
                    tokio::time::sleep(STORE_RETRY).await;
                    continue;
                }
            };
            // On disk before anyone hears of them, off the async threads;
            // until then they wait (a lost tick would be a lost fire).
            while !ticks.is_empty() {
                let store = Arc::clone(&self.store);
                match tokio::task::spawn_blocking(move || store.flush()).await {
                    Ok(Ok(())) => break,
                    Ok(Err(e)) => tracing::error!("cannot flush fired schedules; retrying: {e}"),
                    Err(e) => tracing::error!("flushing fired schedules failed; retrying: {e}"),
                }
                tokio::time::sleep(STORE_RETRY).await;
            }
            for tick in ticks {
                if !fire(tick).await {
                    return;
                }
            }
            // A batch left due fires behind: the next one is in the past,
            // and the sleep below returns at once.
            let next = self.index().due.first().map(|(ms, _, _)| *ms);
            tokio::select! {
                _ = self.changed.notified() => {}
                _ = self.clock.sleep_until(next.unwrap_or(u64::MAX)) => {}
            }
        }
    }

    /// Takes up to [`BATCH`] schedules due at `now`, writes their next
    /// state to the store (the caller flushes it before handing the ticks
    /// on), and returns the ticks to deliver.
    fn take_due(&self, now: u64) -> Result<Vec<Tick>, StoreError> {
        let mut index = self.index();
        let due: Vec<(u64, String, String)> = index
            .due
            .iter()
            .take_while(|(ms, _, _)| *ms <= now)
            .take(BATCH)
            .cloned()
            .collect();
        let mut ticks = Vec::with_capacity(due.len());
        let mut failed = None;
        for (due_ms, plugin, id) in due {
            let Some(mut scheduled) = index.remove(&plugin, &id) else {
                continue;
            };
            let missed = due_ms < self.opened_ms;
            let next = scheduled.timer.when.following(due_ms, now);
            let written = match next {
                Some(next_ms) => {
                    scheduled.next_ms = next_ms;
                    self.store
                        .schedule_put(&plugin, &id, &Record::of(&scheduled))
                }
                None => {
                    if scheduled.timer.when.repeats() {
                        tracing::warn!(plugin, id, "a stored schedule no longer parses; ending it");
                    }
                    self.store.schedule_delete(&plugin, &id).map(drop)
                }
            };
            if let Err(e) = written {
                // Not fired, so not lost: it stays due and is retried; the
                // fires recorded before it still go out.
                scheduled.next_ms = due_ms;
                index.insert(&plugin, scheduled);
                failed = Some(e);
                break;
            }
            let timer = match next {
                Some(_) => {
                    let timer = scheduled.timer.clone();
                    index.insert(&plugin, scheduled);
                    timer
                }
                None => scheduled.timer,
            };
            if missed && timer.missed == Missed::Skip {
                tracing::info!(
                    plugin,
                    id,
                    due_ms,
                    "skipping a fire missed while the bot was down"
                );
                continue;
            }
            ticks.push(Tick {
                plugin,
                id: timer.id,
                payload: timer.payload,
                scheduled_ms: due_ms,
                fired_ms: now,
                chat: timer.chat,
                foreign_chat: timer.foreign_chat,
            });
        }
        match failed {
            Some(e) if ticks.is_empty() => Err(e),
            Some(e) => {
                tracing::error!("cannot record a fired schedule; it stays due: {e}");
                Ok(ticks)
            }
            None => Ok(ticks),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ManualClock;
    use plugboard_store::MemoryStore;

    fn chat() -> Chat {
        Chat {
            platform: Platform::Telegram,
            id: "42".into(),
            kind: ChatKind::Direct,
            title: None,
            locale: None,
        }
    }

    fn timer(id: &str, when: When) -> Timer {
        Timer {
            id: id.into(),
            when,
            missed: Missed::FireOnce,
            payload: b"tea".to_vec(),
            chat: chat(),
            foreign_chat: false,
        }
    }

    const QUOTA: Quota = Quota {
        max_schedules: 2,
        min_interval_ms: 1_000,
    };

    #[test]
    fn records_survive_reopening_and_quotas_are_refused_by_name() -> anyhow::Result<()> {
        let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
        let clock = Arc::new(ManualClock::at(1_000));
        let table = Timetable::open(store.clone(), clock.clone())?;
        assert_eq!(
            table.set(
                "remind",
                timer("a", When::At { ms: 5_000 }),
                QUOTA,
                clock.now_ms()
            )?,
            5_000
        );
        table.set(
            "remind",
            timer("b", When::Every { interval_ms: 2_000 }),
            QUOTA,
            clock.now_ms(),
        )?;
        // Replacing an id does not count against the quota.
        table.set(
            "remind",
            timer("b", When::Every { interval_ms: 3_000 }),
            QUOTA,
            clock.now_ms(),
        )?;
        let third = table.set(
            "remind",
            timer("c", When::At { ms: 9_000 }),
            QUOTA,
            clock.now_ms(),
        );
        assert!(matches!(third, Err(ScheduleError::TooMany { max: 2 })));
        let often = table.set(
            "other",
            timer("x", When::Every { interval_ms: 10 }),
            QUOTA,
            clock.now_ms(),
        );
        assert!(matches!(often, Err(ScheduleError::TooFrequent { .. })));
        let reopened = Timetable::open(store, clock)?;
        let kept = reopened.list("remind");
        assert_eq!(kept.len(), 2);
        assert_eq!(
            kept[1].timer,
            timer("b", When::Every { interval_ms: 3_000 })
        );
        assert_eq!(kept[1].next_ms, 4_000);
        assert!(reopened.list("other").is_empty());
        Ok(())
    }

    /// A store that remembers whether a write is waiting for a flush.
    #[derive(Default)]
    struct Watched {
        inner: MemoryStore,
        dirty: std::sync::atomic::AtomicBool,
    }

    impl plugboard_store::Durable for Watched {
        fn flush(&self) -> Result<(), StoreError> {
            self.dirty.store(false, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    impl Schedules for Watched {
        fn schedule_put(&self, plugin: &str, id: &str, record: &[u8]) -> Result<(), StoreError> {
            self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
            self.inner.schedule_put(plugin, id, record)
        }
        fn schedule_delete(&self, plugin: &str, id: &str) -> Result<bool, StoreError> {
            self.dirty.store(true, std::sync::atomic::Ordering::SeqCst);
            self.inner.schedule_delete(plugin, id)
        }
        fn schedules(&self) -> Result<Vec<(String, String, Vec<u8>)>, StoreError> {
            self.inner.schedules()
        }
    }

    #[tokio::test]
    async fn due_fires_are_recorded_and_flushed_before_they_are_handed_on() -> anyhow::Result<()> {
        let store: Arc<Watched> = Arc::new(Watched::default());
        let clock = Arc::new(ManualClock::at(0));
        let table = Arc::new(Timetable::open(store.clone(), clock.clone())?);
        table.set(
            "remind",
            timer("once", When::At { ms: 100 }),
            QUOTA,
            clock.now_ms(),
        )?;
        table.set(
            "remind",
            timer("every", When::Every { interval_ms: 1_000 }),
            QUOTA,
            clock.now_ms(),
        )?;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let running = {
            let table = Arc::clone(&table);
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                table
                    .run(
                        || true,
                        |tick| {
                            // What the store holds at the moment of the
                            // hand-over, and whether it is on disk.
                            let stored = store.schedules().map(|all| all.len()).unwrap_or(99);
                            let dirty = store.dirty.load(std::sync::atomic::Ordering::SeqCst);
                            let sent = tx.send((tick, stored, dirty)).is_ok();
                            async move { sent }
                        },
                    )
                    .await
            })
        };
        clock.set(150);
        let (tick, stored, dirty) = rx.recv().await.expect("a tick");
        assert!(!dirty, "handed on before the store was flushed");
        assert_eq!(
            (tick.id.as_str(), tick.scheduled_ms, tick.fired_ms),
            ("once", 100, 150)
        );
        assert_eq!(tick.payload, b"tea");
        assert_eq!(
            stored, 1,
            "the one-shot is gone from the store before it is delivered"
        );
        clock.set(3_500);
        let (tick, _, dirty) = rx.recv().await.expect("a tick");
        assert!(!dirty);
        assert_eq!((tick.id.as_str(), tick.scheduled_ms), ("every", 1_000));
        assert_eq!(
            table.list("remind")[0].next_ms,
            4_000,
            "one fire for three missed"
        );
        assert!(table.cancel("remind", "every")?);
        assert!(!table.cancel("remind", "every")?);
        clock.set(10_000);
        tokio::task::yield_now().await;
        assert!(rx.try_recv().is_err());
        running.abort();
        Ok(())
    }

    #[test]
    fn setting_an_id_again_for_the_same_moment_keeps_it_due() -> anyhow::Result<()> {
        let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
        let clock = Arc::new(ManualClock::at(0));
        let table = Timetable::open(store, clock.clone())?;
        for _ in 0..2 {
            table.set("digest", timer("daily", When::At { ms: 500 }), QUOTA, 0)?;
        }
        let ticks = table.take_due(500)?;
        assert_eq!(ticks.len(), 1);
        assert_eq!(ticks[0].id, "daily");
        Ok(())
    }

    #[tokio::test]
    async fn fires_missed_while_down_follow_their_policy() -> anyhow::Result<()> {
        let store: Arc<MemoryStore> = Arc::new(MemoryStore::default());
        let clock = Arc::new(ManualClock::at(0));
        {
            let table = Timetable::open(store.clone(), clock.clone())?;
            table.set(
                "remind",
                timer("fire", When::At { ms: 100 }),
                QUOTA,
                clock.now_ms(),
            )?;
            let mut skip = timer("skip", When::At { ms: 100 });
            skip.missed = Missed::Skip;
            table.set("remind", skip, QUOTA, clock.now_ms())?;
            let mut repeating = timer("hourly", When::Every { interval_ms: 1_000 });
            repeating.missed = Missed::Skip;
            table.set("other", repeating, QUOTA, clock.now_ms())?;
        }
        // The bot was down from 0 to 5 000.
        clock.set(5_000);
        let table = Timetable::open(store.clone(), clock.clone())?;
        let ticks = table.take_due(clock.now_ms())?;
        assert_eq!(ticks.len(), 1);
        assert_eq!((ticks[0].id.as_str(), ticks[0].scheduled_ms), ("fire", 100));
        // The skipped one-shot is gone; the skipped interval goes on.
        assert!(table.list("remind").is_empty());
        let left = table.list("other");
        assert_eq!(left.len(), 1);
        assert_eq!(
            (left[0].timer.id.as_str(), left[0].next_ms),
            ("hourly", 6_000)
        );
        assert_eq!(store.schedules()?.len(), 1);
        Ok(())
    }
}
