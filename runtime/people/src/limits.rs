//! Rate limits, daily quotas and usage counts: one person cannot drain a
//! plugin or the bot, premium people can get more, and the owner sees what
//! is used.
//!
//! * **Rate limits** are token buckets ([`Rate`]) per user and command,
//!   per user and plugin, per chat, and for the whole bot; kept in memory
//!   (a restart forgives).
//! * **Daily quotas** count a person's uses of a command or a plugin per
//!   UTC day, with higher quotas for a role; the counts are kept in the
//!   store (a restart does not forgive).
//! * **Usage** counts every command run and refused, per plugin, command
//!   and UTC day, in the store, for `plugboard usage`.
//!
//! Counts are written to the store in batches, at most every
//! [`FLUSH_MS`] and when [`People::flush_counts`] is called (the bot does
//! at shutdown): a crash loses at most that much counting.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::str::FromStr;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{AccountFacts, LinkError, People, Role};

/// How often counts are written to the store, at most.
pub const FLUSH_MS: u64 = 5_000;
/// Milliseconds in a (UTC) day.
const DAY_MS: u64 = 86_400_000;
/// Past days' quota counts deleted per flush, at most.
const PRUNE_BATCH: usize = 10_000;
/// Buckets kept before idle, full ones are dropped.
const MAX_BUCKETS: usize = 100_000;

/// A rate: `count` uses per `per_ms`, refilled evenly (`10/minute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Uses allowed in a burst, and per period.
    pub count: u32,
    /// The period, in milliseconds.
    pub per_ms: u64,
}

impl FromStr for Rate {
    type Err = String;

    /// Parses `N/second`, `N/minute`, `N/hour` or `N/day`.
    fn from_str(text: &str) -> Result<Self, String> {
        let problem = || {
            format!(
                "{text:?} is not a rate; write it like \"10/minute\" (per second, minute, hour or day)"
            )
        };
        let (count, unit) = text.split_once('/').ok_or_else(problem)?;
        let count: u32 = count.trim().parse().map_err(|_| problem())?;
        let per_ms = match unit.trim() {
            "second" | "s" => 1_000,
            "minute" | "min" | "m" => 60_000,
            "hour" | "h" => 3_600_000,
            "day" | "d" => DAY_MS,
            _ => return Err(problem()),
        };
        if count == 0 {
            return Err(format!(
                "{text:?} allows nothing; leave the limit out to have none"
            ));
        }
        Ok(Rate { count, per_ms })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per_ms {
            1_000 => "second",
            60_000 => "minute",
            3_600_000 => "hour",
            _ => "day",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

/// The limits of one bot (from its config).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// One person, one command.
    pub user_command: Option<Rate>,
    /// One person, one plugin.
    pub user_plugin: Option<Rate>,
    /// One chat, every plugin.
    pub chat: Option<Rate>,
    /// The whole bot.
    pub bot: Option<Rate>,
    /// Daily quotas per person: by `plugin.command` or by `plugin`.
    pub quotas: BTreeMap<String, u64>,
    /// Higher (or lower) daily quotas for people holding a role, by the
    /// same keys; the highest quota among a person's roles applies.
    pub role_quotas: BTreeMap<Role, BTreeMap<String, u64>>,
}

/// Why a command was refused by a limit; its message says when to retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitRefusal {
    /// A rate limit.
    #[error("slow down: try again in {}", crate::in_words(*retry_after_ms))]
    Rate {
        /// When a use is allowed again, from now.
        retry_after_ms: u64,
    },
    /// A daily quota.
    #[error("you have used /{command} {quota} times today; it resets at midnight UTC, in {}", crate::in_words(*retry_after_ms))]
    Quota {
        /// The command, as typed.
        command: String,
        /// The quota.
        quota: u64,
        /// Until midnight UTC, from now.
        retry_after_ms: u64,
    },
}

/// One token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens, in thousandths.
    milli: u64,
    /// When they were counted.
    at_ms: u64,
}

/// What one UTC day of one plugin's command saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Times it ran.
    pub ran: u64,
    /// Times it was refused (role, rate or quota).
    pub refused: u64,
}

/// Most usage rows of settled days kept in memory (about 100 bytes each).
pub const MAX_SETTLED_ROWS: usize = 200_000;

/// The usage of days that can no longer change, as read once.
pub(crate) struct Settled {
    /// The first day read.
    since: String,
    /// The first day not included (yesterday, when read).
    before: String,
    /// The rows, in the store's order (by day).
    rows: Vec<UsageRow>,
}

/// A row of `plugboard usage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRow {
    /// The UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The plugin.
    pub plugin: String,
    /// The command, as the plugin declares it.
    pub command: String,
    /// What it saw.
    #[serde(flatten)]
    pub usage: Usage,
}

/// The daily quotas of one bot, by the [`thing_key`] of what they count
/// (a plugin, or one of its commands), so that a lookup hashes no string.
#[derive(Debug, Default)]
pub(crate) struct QuotaIndex {
    by_thing: ByHash<u64>,
}

impl QuotaIndex {
    /// Indexes quotas keyed `plugin` or `plugin.command`.
    pub(crate) fn new(
        hasher: &foldhash::quality::RandomState,
        quotas: &BTreeMap<String, u64>,
    ) -> Self {
        let by_thing = quotas
            .iter()
            .map(|(key, &quota)| {
                let thing = match key.split_once('.') {
                    Some((plugin, command)) => thing_key(hasher, plugin, Some(command)),
                    None => thing_key(hasher, key, None),
                };
                (thing, quota)
            })
            .collect();
        Self { by_thing }
    }

    /// The quota of what `thing` ([`thing_key`]) names, if one is set.
    fn get(&self, thing: u64) -> Option<u64> {
        self.by_thing.get(&thing).copied()
    }

    fn is_empty(&self) -> bool {
        self.by_thing.is_empty()
    }
}

/// Hashes a key that is already a keyed hash ([`key_of`]) by using it as
/// it is.
#[derive(Default)]
pub(crate) struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used for the u64 keys; anything else folds in.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map keyed by [`key_of`] hashes.
type ByHash<V> = HashMap<u64, V, BuildHasherDefault<Prehashed>>;

/// A count kept in memory, with the store key it is written under.
#[derive(Debug, Clone)]
struct Counted<T> {
    key: String,
    value: T,
    dirty: bool,
}

/// Counts waiting to be written. Keyed by a hash of what they count, so
/// that admitting a command formats no string (a key is formatted once per
/// day and thing counted).
#[derive(Default)]
pub(crate) struct Counts {
    /// Per person (or account) and command or plugin, and per chat.
    buckets: ByHash<Bucket>,
    /// The whole bot's.
    bot: Option<Bucket>,
    /// Quota uses, read from the store first.
    quotas: ByHash<Counted<u64>>,
    /// Usage, read from the store first.
    usage: ByHash<Counted<Usage>>,
    /// Whether something is not written yet.
    dirty: bool,
    flushed_ms: u64,
    /// The UTC day (days since the epoch) the counts are for, and its
    /// `YYYY-MM-DD`.
    day: Option<(u64, String)>,
    /// The day (days since the epoch) older quota counts were deleted on.
    pruned_day: Option<u64>,
}

/// Today's `YYYY-MM-DD`, kept in `day` (days since the epoch and the
/// text); a new day starts with the day's counts only.
fn today(day: &mut Option<(u64, String)>, now: u64) -> String {
    let number = now / DAY_MS;
    match day {
        Some((n, text)) if *n == number => text.clone(),
        _ => day.insert((number, day_of(now))).1.clone(),
    }
}

pub(crate) type CountsLock = Mutex<Counts>;

/// A hash of `parts`, with the people's own keys (not predictable from
/// outside, so nobody can aim two keys at one bucket).
pub(crate) fn key_of(hasher: &foldhash::quality::RandomState, parts: &[&str]) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = hasher.build_hasher();
    for part in parts {
        part.hash(&mut h);
    }
    h.finish()
}

/// The keyed hash of a plugin (`command` `None`) or of one of its
/// commands: what a quota, a bucket or a usage count is about.
pub(crate) fn thing_key(
    hasher: &foldhash::quality::RandomState,
    plugin: &str,
    command: Option<&str>,
) -> u64 {
    use std::hash::BuildHasher;
    hasher.hash_one((plugin, command))
}

/// What a count keyed by [`mix`] counts (so that two kinds never share a
/// key).
#[derive(Hash)]
enum Kind {
    UserCommand,
    UserPlugin,
    Quota,
    Usage,
}

/// The key of a `kind` of count about `who` and `what` (keyed hashes
/// already), on `day` where it is daily: hashing three numbers, no string.
fn mix(hasher: &foldhash::quality::RandomState, kind: Kind, who: u64, what: u64, day: u64) -> u64 {
    use std::hash::BuildHasher;
    hasher.hash_one((kind, who, what, day))
}

/// `YYYY-MM-DD` of the UTC day `ms` falls in.
pub fn day_of(ms: u64) -> String {
    plugboard_registry_types::dates::date(ms / DAY_MS)
}

impl People {
    /// Whether some daily quota depends on the roles a person holds.
    pub fn has_role_quotas(&self) -> bool {
        !self.role_quotas.is_empty()
    }

    /// Whether the account of `facts` (holding `roles`) may run `plugin`'s
    /// command `command` (typed as `typed`) in the chat `chat` (platform
    /// and id) now: every rate limit and the daily quotas are checked, and
    /// a use is taken from each only when all allow it. The command is
    /// counted for [`People::usage`], run or refused.
    pub fn admit(
        &self,
        facts: &AccountFacts,
        roles: &std::collections::BTreeSet<Role>,
        chat: (&str, &str),
        plugin: &str,
        command: &str,
        typed: &str,
    ) -> Result<Result<(), LimitRefusal>, LinkError> {
        let now = self.clock.coarse_now_ms();
        let asked = Asked {
            facts,
            keys: self.keys_of(facts),
            roles,
            chat,
            plugin,
            command: Some(command),
            of_command: thing_key(&self.hasher, plugin, Some(command)),
            of_plugin: thing_key(&self.hasher, plugin, None),
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let admitted = self.check_limits(&mut counts, now, &asked, typed)?;
        // The decision stands even if the count cannot be written now.
        let counted = self.count_locked(
            &mut counts,
            asked.of_command,
            plugin,
            command,
            admitted.is_err(),
            now,
        );
        if let Err(e) = counted {
            tracing::error!("cannot count a command: {e}");
        }
        Ok(admitted)
    }

    /// Whether the account of `facts` may press one of `plugin`'s buttons
    /// in the chat `chat` now. A press is no command: it is held back by
    /// the rate limits per person and plugin, per chat and for the bot,
    /// not by a command's limit or a daily quota, and it is not counted
    /// as usage.
    pub fn admit_press(
        &self,
        facts: &AccountFacts,
        chat: (&str, &str),
        plugin: &str,
    ) -> Result<(), LimitRefusal> {
        let now = self.clock.coarse_now_ms();
        let roles = std::collections::BTreeSet::new();
        let asked = Asked {
            facts,
            keys: self.keys_of(facts),
            roles: &roles,
            chat,
            plugin,
            command: None,
            of_command: 0,
            of_plugin: thing_key(&self.hasher, plugin, None),
        };
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        // Without quotas nothing is read from the store, so nothing fails.
        self.check_limits(&mut counts, now, &asked, "")
            .unwrap_or(Ok(()))
    }

    /// [`People::admit`] under the lock of the counts, without counting
    /// the use: every bucket and quota is looked up once, a use taken
    /// from each as it allows it, and given back if a later one refuses.
    fn check_limits(
        &self,
        counts: &mut Counts,
        now: u64,
        asked: &Asked<'_>,
        typed: &str,
    ) -> Result<Result<(), LimitRefusal>, LinkError> {
        let limits = &self.limits;
        let h = &self.hasher;
        let who = asked.keys.who;
        let buckets = [
            (
                limits.user_command.filter(|_| asked.command.is_some()),
                mix(h, Kind::UserCommand, who, asked.of_command, 0),
            ),
            (
                limits.user_plugin,
                mix(h, Kind::UserPlugin, who, asked.of_plugin, 0),
            ),
            (limits.chat, key_of(h, &["c", asked.chat.0, asked.chat.1])),
        ];
        let mut taken = [None; 3];
        // Rate limits first: each says how long until it allows one more.
        let mut wait_ms = None;
        for ((rate, key), taken) in buckets.iter().zip(&mut taken) {
            let Some(rate) = rate else { continue };
            let bucket = counts
                .buckets
                .entry(*key)
                .or_insert_with(|| Bucket::full(*rate, now));
            if bucket.take_or_wait(*rate, now, &mut wait_ms) {
                *taken = Some(*key);
            }
        }
        let mut bot_taken = false;
        if let Some(rate) = limits.bot {
            let bucket = counts.bot.get_or_insert_with(|| Bucket::full(rate, now));
            bot_taken = bucket.take_or_wait(rate, now, &mut wait_ms);
        }
        let give_back = |counts: &mut Counts| {
            for key in taken.into_iter().flatten() {
                if let Some(bucket) = counts.buckets.get_mut(&key) {
                    bucket.milli = bucket.milli.saturating_add(1_000);
                }
            }
            if bot_taken && let Some(bucket) = &mut counts.bot {
                bucket.milli = bucket.milli.saturating_add(1_000);
            }
        };
        if let Some(retry_after_ms) = wait_ms {
            give_back(counts);
            return Ok(Err(LimitRefusal::Rate { retry_after_ms }));
        }
        if counts.buckets.len() > MAX_BUCKETS {
            prune(&mut counts.buckets, limits, now);
        }
        // The command's quota and the plugin's, each counted per account
        // and summed over the person's accounts: linking and unlinking
        // again starts no new day.
        let Some(asked_command) = asked.command else {
            return Ok(Ok(()));
        };
        if self.quotas.is_empty() && self.role_quotas.is_empty() {
            return Ok(Ok(()));
        }
        let day = now / DAY_MS;
        let mut quota_taken = [None; 2];
        let things = [
            (asked.of_command, Some(asked_command)),
            (asked.of_plugin, None),
        ];
        for (slot, (thing, command)) in things.into_iter().enumerate() {
            let Some(quota) = self.quota_for(asked.roles, thing) else {
                continue;
            };
            let mut used = 0u64;
            let accounts = asked.facts.accounts.iter().zip(&asked.keys.accounts);
            for (index, (each, &account)) in accounts.enumerate() {
                let hash = mix(h, Kind::Quota, account, thing, day);
                let uses = match counts.quotas.entry(hash) {
                    Entry::Occupied(uses) => Ok(uses.into_mut()),
                    Entry::Vacant(vacant) => {
                        let today = today(&mut counts.day, now);
                        let name = match command {
                            Some(command) => format!("{}.{command}", asked.plugin),
                            None => asked.plugin.to_owned(),
                        };
                        let key = format!("quota/{today}/{each}/{name}");
                        self.read::<u64>(&key).map(|stored| {
                            vacant.insert(Counted {
                                key,
                                value: stored.unwrap_or(0),
                                dirty: false,
                            })
                        })
                    }
                };
                let uses = match uses {
                    Ok(uses) => uses,
                    Err(e) => {
                        undo_quotas(counts, &quota_taken);
                        give_back(counts);
                        return Err(e);
                    }
                };
                used = used.saturating_add(uses.value);
                if index == asked.keys.own {
                    // Taken now, given back below if a quota refuses.
                    uses.value += 1;
                    uses.dirty = true;
                    quota_taken[slot] = Some(hash);
                }
            }
            if used >= quota {
                undo_quotas(counts, &quota_taken);
                give_back(counts);
                return Ok(Err(LimitRefusal::Quota {
                    command: typed.to_owned(),
                    quota,
                    retry_after_ms: DAY_MS - now % DAY_MS,
                }));
            }
        }
        counts.dirty = true;
        Ok(Ok(()))
    }

    /// The daily quota of `thing` (a plugin or one of its commands, by
    /// [`thing_key`]) for someone holding `roles`: the highest their
    /// roles give, else the default.
    fn quota_for(&self, roles: &std::collections::BTreeSet<Role>, thing: u64) -> Option<u64> {
        let by_role = self
            .role_quotas
            .iter()
            .filter(|(role, _)| roles.contains(role))
            .filter_map(|(_, quotas)| quotas.get(thing))
            .max();
        by_role.or_else(|| self.quotas.get(thing))
    }

    /// Counts one run (`refused`: one refusal) of `plugin`'s `command`
    /// that [`People::admit`] did not see (refused for a role, or run by an
    /// owner, whom no limit holds back).
    pub fn count_use(&self, plugin: &str, command: &str, refused: bool) -> Result<(), LinkError> {
        let now = self.clock.coarse_now_ms();
        let thing = thing_key(&self.hasher, plugin, Some(command));
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        self.count_locked(&mut counts, thing, plugin, command, refused, now)
    }

    /// Counts a use of `plugin`'s `command` (`thing`, by [`thing_key`]).
    fn count_locked(
        &self,
        counts: &mut Counts,
        thing: u64,
        plugin: &str,
        command: &str,
        refused: bool,
        now: u64,
    ) -> Result<(), LinkError> {
        let hash = mix(&self.hasher, Kind::Usage, 0, thing, now / DAY_MS);
        let usage = match counts.usage.entry(hash) {
            Entry::Occupied(usage) => usage.into_mut(),
            Entry::Vacant(vacant) => {
                let today = today(&mut counts.day, now);
                let key = format!("usage/{today}/{plugin}/{command}");
                let stored: Usage = self.read(&key)?.unwrap_or_default();
                vacant.insert(Counted {
                    key,
                    value: stored,
                    dirty: false,
                })
            }
        };
        match refused {
            true => usage.value.refused += 1,
            false => usage.value.ran += 1,
        }
        usage.dirty = true;
        counts.dirty = true;
        if now.saturating_sub(counts.flushed_ms) >= FLUSH_MS {
            self.write_counts(counts, now)?;
        }
        Ok(())
    }

    /// Writes every count not yet in the store.
    pub fn flush_counts(&self) -> Result<(), LinkError> {
        let now = self.clock.coarse_now_ms();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        self.write_counts(&mut counts, now)
    }

    fn write_counts(&self, counts: &mut Counts, now: u64) -> Result<(), LinkError> {
        counts.flushed_ms = now;
        if !std::mem::take(&mut counts.dirty) {
            return Ok(());
        }
        for counted in counts.usage.values_mut().filter(|c| c.dirty) {
            self.write(&counted.key, &counted.value)?;
            counted.dirty = false;
        }
        for counted in counts.quotas.values_mut().filter(|c| c.dirty) {
            self.write(&counted.key, &counted.value)?;
            counted.dirty = false;
        }
        // Yesterday's counts are in the store: forget them here.
        let today = day_of(now);
        let of_today = |key: &str| key.split('/').nth(1) == Some(today.as_str());
        counts.usage.retain(|_, c| of_today(&c.key));
        counts.quotas.retain(|_, c| of_today(&c.key));
        if counts.pruned_day != Some(now / DAY_MS) && self.prune_quotas(&today)? {
            counts.pruned_day = Some(now / DAY_MS);
        }
        Ok(())
    }

    /// Deletes the quota counts of days before `today` (`YYYY-MM-DD`): a
    /// quota is daily, so they decide nothing any more (usage, the owner's
    /// history, stays). At most [`PRUNE_BATCH`] at a time, so that the
    /// counts' lock is not held long; whether all are gone.
    fn prune_quotas(&self, today: &str) -> Result<bool, LinkError> {
        let page = self.records.people_scan("quota/", None, PRUNE_BATCH)?;
        let mut deleted = 0;
        for (key, _) in &page {
            let day = key.split('/').nth(1).unwrap_or_default();
            if day >= today {
                return Ok(true);
            }
            self.records.people_delete(key)?;
            deleted += 1;
        }
        if deleted > 0 {
            tracing::debug!(deleted, "forgot the quota counts of past days");
        }
        Ok(page.len() < PRUNE_BATCH)
    }

    /// The usage counted in the last `days` UTC days, today included,
    /// with what is still in memory written first; and the first day.
    ///
    /// Days before yesterday never change again (a count goes to the day
    /// it happens on, and is written within [`FLUSH_MS`]): they are read
    /// from the store once and kept (up to `MAX_SETTLED_ROWS` rows), so
    /// that a long span reads only yesterday's and today's.
    pub fn usage_of_days(&self, days: u64) -> Result<(String, Vec<UsageRow>), LinkError> {
        let now = self.clock.now_ms();
        let back = days.saturating_sub(1).saturating_mul(DAY_MS);
        let since = day_of(now.saturating_sub(back));
        let recent = day_of(now.saturating_sub(DAY_MS));
        self.flush_counts()?;
        if since >= recent {
            let rows = self.usage(&since)?;
            return Ok((since, rows));
        }
        let mut settled = self.settled.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = settled
            .as_ref()
            .is_some_and(|s| s.before == recent && s.since <= since);
        if !fresh {
            let mut rows = self.usage(&since)?;
            rows.retain(|row| row.day < recent);
            *settled = (rows.len() <= MAX_SETTLED_ROWS).then(|| Settled {
                since: since.clone(),
                before: recent.clone(),
                rows,
            });
            if settled.is_none() {
                drop(settled);
                let rows = self.usage(&since)?;
                return Ok((since, rows));
            }
        }
        let kept = settled.as_ref().map_or(&[][..], |s| &s.rows[..]);
        let from = kept.partition_point(|row| row.day < since);
        let mut rows = kept[from..].to_vec();
        drop(settled);
        rows.extend(self.usage(&recent)?);
        Ok((since, rows))
    }

    /// The usage counted from the UTC day `since` (`YYYY-MM-DD`) on, as
    /// stored (see [`People::flush_counts`]).
    pub fn usage(&self, since: &str) -> Result<Vec<UsageRow>, LinkError> {
        let mut rows = Vec::new();
        let mut after = Some(format!("usage/{since}"));
        loop {
            let page = self
                .records
                .people_scan("usage/", after.as_deref(), 1_000)?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, bytes) in page {
                let mut parts = key.splitn(4, '/').skip(1);
                let (Some(day), Some(plugin), Some(command)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                if day < since {
                    continue;
                }
                rows.push(UsageRow {
                    day: day.to_owned(),
                    plugin: plugin.to_owned(),
                    command: command.to_owned(),
                    usage: crate::decode(&key, &bytes)?,
                });
            }
        }
        Ok(rows)
    }
}

impl Bucket {
    /// A bucket of `rate` that is full at `now`.
    fn full(rate: Rate, now: u64) -> Self {
        Bucket {
            milli: u64::from(rate.count) * 1_000,
            at_ms: now,
        }
    }

    /// Takes a use unless an earlier bucket refused already (`wait_ms` is
    /// set); a refusal raises `wait_ms` to this bucket's wait. Whether a
    /// use was taken (to give back if a later check refuses).
    fn take_or_wait(&mut self, rate: Rate, now: u64, wait_ms: &mut Option<u64>) -> bool {
        let take = wait_ms.is_none();
        match self.take(rate, now, take) {
            Ok(()) => take,
            Err(wait) => {
                *wait_ms = Some(wait_ms.map_or(wait, |w| w.max(wait)));
                false
            }
        }
    }

    /// Refills the bucket to `now` and takes a use from it if it holds one
    /// and `take` says so; else how long until it holds one.
    fn take(&mut self, rate: Rate, now: u64, take: bool) -> Result<(), u64> {
        let full = u64::from(rate.count) * 1_000;
        let tokens = if self.milli >= full || now <= self.at_ms {
            // Full, or no time passed (a burst): nothing to add, and no
            // division on the busy path.
            self.milli.min(full)
        } else {
            let added = (now - self.at_ms).saturating_mul(full) / rate.per_ms.max(1);
            self.milli.saturating_add(added).min(full)
        };
        if tokens < 1_000 {
            // Until the missing part of a token has dripped in.
            let missing = (1_000 - tokens).saturating_mul(rate.per_ms);
            return Err(missing.div_ceil(full).max(1));
        }
        if take {
            self.milli = tokens - 1_000;
            self.at_ms = now;
        }
        Ok(())
    }
}

/// What [`People::admit`] is asked about, hashed once.
struct Asked<'a> {
    facts: &'a AccountFacts,
    keys: &'a crate::FactKeys,
    roles: &'a std::collections::BTreeSet<Role>,
    chat: (&'a str, &'a str),
    plugin: &'a str,
    /// The command, or `None` for a button press.
    command: Option<&'a str>,
    /// [`thing_key`] of the command and of the plugin.
    of_command: u64,
    of_plugin: u64,
}

/// Gives back the quota uses taken (`counted`, by key) for a command that
/// is refused after all.
fn undo_quotas(counts: &mut Counts, counted: &[Option<u64>]) {
    for hash in counted.iter().flatten() {
        if let Some(uses) = counts.quotas.get_mut(hash) {
            uses.value = uses.value.saturating_sub(1);
        }
    }
}

/// Drops the buckets that are full again (as good as new).
fn prune(buckets: &mut ByHash<Bucket>, limits: &Limits, now: u64) {
    let longest = [
        limits.user_command,
        limits.user_plugin,
        limits.chat,
        limits.bot,
    ]
    .into_iter()
    .flatten()
    .map(|r| r.per_ms)
    .max()
    .unwrap_or(0);
    buckets.retain(|_, b| now.saturating_sub(b.at_ms) < longest);
}
