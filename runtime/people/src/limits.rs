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
    #[error("slow down: try again in {}", wait(*retry_after_ms))]
    Rate {
        /// When a use is allowed again, from now.
        retry_after_ms: u64,
    },
    /// A daily quota.
    #[error("you have used /{command} {quota} times today; it resets at midnight UTC, in {}", wait(*retry_after_ms))]
    Quota {
        /// The command, as typed.
        command: String,
        /// The quota.
        quota: u64,
        /// Until midnight UTC, from now.
        retry_after_ms: u64,
    },
}

/// A wait in words: `12 s`, `3 min`, `5 h`.
fn wait(ms: u64) -> String {
    let s = ms.div_ceil(1_000).max(1);
    if s < 120 {
        format!("{s} s")
    } else if s < 7_200 {
        format!("{} min", s.div_ceil(60))
    } else {
        format!("{} h", s.div_ceil(3_600))
    }
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

/// The daily quotas of one bot, by plugin and command, so that a lookup
/// by `plugin` and `command` formats nothing.
#[derive(Debug, Default)]
pub(crate) struct QuotaIndex {
    by_plugin: HashMap<String, PluginQuotas, foldhash::fast::RandomState>,
}

#[derive(Debug, Default)]
struct PluginQuotas {
    /// The plugin's own quota (`plugin`).
    whole: Option<u64>,
    /// Its commands' (`plugin.command`).
    commands: HashMap<String, u64, foldhash::fast::RandomState>,
}

impl QuotaIndex {
    /// Indexes quotas keyed `plugin` or `plugin.command`.
    pub(crate) fn new(quotas: &BTreeMap<String, u64>) -> Self {
        let mut index = Self::default();
        for (key, &quota) in quotas {
            match key.split_once('.') {
                Some((plugin, command)) => {
                    let plugin = index.by_plugin.entry(plugin.to_owned()).or_default();
                    plugin.commands.insert(command.to_owned(), quota);
                }
                None => index.by_plugin.entry(key.clone()).or_default().whole = Some(quota),
            }
        }
        index
    }

    /// The quota of `plugin`'s `command` (or of the whole plugin, for
    /// `None`), if one is set.
    fn get(&self, plugin: &str, command: Option<&str>) -> Option<u64> {
        let quotas = self.by_plugin.get(plugin)?;
        match command {
            Some(command) => quotas.commands.get(command).copied(),
            None => quotas.whole,
        }
    }

    fn is_empty(&self) -> bool {
        self.by_plugin.is_empty()
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
    buckets: ByHash<Bucket>,
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
}

impl Counts {
    /// Today's `YYYY-MM-DD`; a new day starts with the day's counts only.
    fn today(&mut self, now: u64) -> String {
        let number = now / DAY_MS;
        match &self.day {
            Some((n, text)) if *n == number => text.clone(),
            _ => {
                let text = day_of(now);
                self.day = Some((number, text.clone()));
                text
            }
        }
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
        let now = self.clock.now_ms();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let admitted =
            self.check_limits(&mut counts, now, facts, roles, chat, plugin, command, typed)?;
        // The decision stands even if the count cannot be written now.
        if let Err(e) = self.count_locked(&mut counts, plugin, command, admitted.is_err(), now) {
            tracing::error!("cannot count a command: {e}");
        }
        Ok(admitted)
    }

    /// [`People::admit`] under the lock of the counts, without counting.
    #[allow(clippy::too_many_arguments)]
    fn check_limits(
        &self,
        counts: &mut Counts,
        now: u64,
        facts: &AccountFacts,
        roles: &std::collections::BTreeSet<Role>,
        chat: (&str, &str),
        plugin: &str,
        command: &str,
        typed: &str,
    ) -> Result<Result<(), LimitRefusal>, LinkError> {
        let limits = &self.limits;
        let h = &self.hasher;
        let account = &facts.account;
        // A person's accounts share their buckets.
        let (who_a, who_b) = match &facts.person {
            Some(person) => ("person", person.as_str()),
            None => (account.platform.as_str(), account.user.as_str()),
        };
        let buckets = [
            (
                limits.user_command,
                key_of(h, &["uc", who_a, who_b, plugin, command]),
            ),
            (limits.user_plugin, key_of(h, &["up", who_a, who_b, plugin])),
            (limits.chat, key_of(h, &["c", chat.0, chat.1])),
            (limits.bot, key_of(h, &["b"])),
        ];
        // Rate limits first: each says how long until it allows one more.
        let mut wait_ms = None;
        for (rate, key) in &buckets {
            let Some(rate) = rate else { continue };
            let tokens = refill(counts.buckets.get(key).copied(), *rate, now);
            if tokens < 1_000 {
                // Until the missing part of a token has dripped in.
                let missing = (1_000 - tokens).saturating_mul(rate.per_ms);
                let wait = missing.div_ceil(u64::from(rate.count) * 1_000).max(1);
                wait_ms = Some(wait_ms.map_or(wait, |w: u64| w.max(wait)));
            }
        }
        if let Some(retry_after_ms) = wait_ms {
            return Ok(Err(LimitRefusal::Rate { retry_after_ms }));
        }
        // The command's quota and the plugin's, each counted per account
        // and summed over the person's accounts: linking and unlinking
        // again starts no new day.
        let mut quotas = [None; 2];
        if !self.quotas.is_empty() || !self.role_quotas.is_empty() {
            let day = now / DAY_MS;
            for (slot, counted) in quotas.iter_mut().zip([Some(command), None]) {
                let Some(quota) = self.quota_for(roles, plugin, counted) else {
                    continue;
                };
                let mut used = 0u64;
                let mut own = None;
                for each in &facts.accounts {
                    let parts = [
                        "q",
                        &each.platform,
                        &each.user,
                        plugin,
                        counted.unwrap_or(""),
                    ];
                    let hash = key_of(h, &parts) ^ day;
                    if !counts.quotas.contains_key(&hash) {
                        let today = counts.today(now);
                        let name = match counted {
                            Some(command) => format!("{plugin}.{command}"),
                            None => plugin.to_owned(),
                        };
                        let key = format!("quota/{today}/{each}/{name}");
                        let stored: u64 = self.read(&key)?.unwrap_or(0);
                        let counted = Counted {
                            key,
                            value: stored,
                            dirty: false,
                        };
                        counts.quotas.insert(hash, counted);
                    }
                    used = used.saturating_add(counts.quotas.get(&hash).map_or(0, |c| c.value));
                    if each == account {
                        own = Some(hash);
                    }
                }
                if used >= quota {
                    return Ok(Err(LimitRefusal::Quota {
                        command: typed.to_owned(),
                        quota,
                        retry_after_ms: DAY_MS - now % DAY_MS,
                    }));
                }
                *slot = own;
            }
        }
        // Allowed: take one use from each.
        for (rate, key) in buckets {
            let Some(rate) = rate else { continue };
            let tokens = refill(counts.buckets.get(&key).copied(), rate, now);
            counts.buckets.insert(
                key,
                Bucket {
                    milli: tokens.saturating_sub(1_000),
                    at_ms: now,
                },
            );
        }
        if counts.buckets.len() > MAX_BUCKETS {
            prune(&mut counts.buckets, limits, now);
        }
        for hash in quotas.into_iter().flatten() {
            if let Some(counted) = counts.quotas.get_mut(&hash) {
                counted.value += 1;
                counted.dirty = true;
            }
            counts.dirty = true;
        }
        Ok(Ok(()))
    }

    /// The daily quota of `plugin`'s `command` (the whole plugin's for
    /// `None`) for someone holding `roles`: the highest their roles give,
    /// else the default.
    fn quota_for(
        &self,
        roles: &std::collections::BTreeSet<Role>,
        plugin: &str,
        command: Option<&str>,
    ) -> Option<u64> {
        let by_role = self
            .role_quotas
            .iter()
            .filter(|(role, _)| roles.contains(role))
            .filter_map(|(_, quotas)| quotas.get(plugin, command))
            .max();
        by_role.or_else(|| self.quotas.get(plugin, command))
    }

    /// Counts one run (`refused`: one refusal) of `plugin`'s `command`
    /// that [`People::admit`] did not see (refused for a role, or run by an
    /// owner, whom no limit holds back).
    pub fn count_use(&self, plugin: &str, command: &str, refused: bool) -> Result<(), LinkError> {
        let now = self.clock.now_ms();
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        self.count_locked(&mut counts, plugin, command, refused, now)
    }

    fn count_locked(
        &self,
        counts: &mut Counts,
        plugin: &str,
        command: &str,
        refused: bool,
        now: u64,
    ) -> Result<(), LinkError> {
        let hash = key_of(&self.hasher, &["u", plugin, command]) ^ (now / DAY_MS);
        if !counts.usage.contains_key(&hash) {
            let today = counts.today(now);
            let key = format!("usage/{today}/{plugin}/{command}");
            let stored: Usage = self.read(&key)?.unwrap_or_default();
            let counted = Counted {
                key,
                value: stored,
                dirty: false,
            };
            counts.usage.insert(hash, counted);
        }
        self.count_into(counts, hash, refused, now)
    }

    fn count_into(
        &self,
        counts: &mut Counts,
        hash: u64,
        refused: bool,
        now: u64,
    ) -> Result<(), LinkError> {
        if let Some(counted) = counts.usage.get_mut(&hash) {
            match refused {
                true => counted.value.refused += 1,
                false => counted.value.ran += 1,
            }
            counted.dirty = true;
        }
        counts.dirty = true;
        if now.saturating_sub(counts.flushed_ms) >= FLUSH_MS {
            self.write_counts(counts, now)?;
        }
        Ok(())
    }

    /// Writes every count not yet in the store.
    pub fn flush_counts(&self) -> Result<(), LinkError> {
        let now = self.clock.now_ms();
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
        Ok(())
    }

    /// Usage per plugin, command and day, days from `since` (`YYYY-MM-DD`)
    /// on, oldest first.
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

/// The tokens (thousandths) of a bucket at `now`: full when new.
fn refill(bucket: Option<Bucket>, rate: Rate, now: u64) -> u64 {
    let full = u64::from(rate.count) * 1_000;
    match bucket {
        None => full,
        Some(b) => {
            let elapsed = now.saturating_sub(b.at_ms);
            let added = elapsed.saturating_mul(full) / rate.per_ms.max(1);
            b.milli.saturating_add(added).min(full)
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
