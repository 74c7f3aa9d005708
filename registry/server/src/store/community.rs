//! The people side of the store: web accounts and sessions, reviews and
//! their rating summaries, reports, moderation and the audit log.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional};

use super::{Registry, UserRecord, corrupt, decode, encode, get, prefix, token_hash};
use crate::error::StoreError;
use crate::names::Clash;

/// How long a web session lasts: 30 days.
pub(crate) const SESSION_SECONDS: u64 = 30 * 24 * 60 * 60;

/// A signed-in browser, stored under the sha256 of its cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub user: String,
    pub created_at: u64,
    pub expires_at: u64,
}

/// One person's review of one plugin, stored under `plugin\0author`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReviewRecord {
    /// 1 to 5 stars.
    pub rating: u8,
    pub body: String,
    pub created_at: u64,
    pub updated_at: u64,
    /// Set when a moderator hid the review: it no longer shows or counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Moderation>,
    /// An owner's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    /// Why the rating does not count toward the plugin's shown rating,
    /// decided by [`rating_uncounted`] when the rating was given or last
    /// changed; `None` (and every review written before the rule) counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncounted: Option<Uncounted>,
}

/// Why a rating does not count toward a plugin's shown rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Uncounted {
    /// Its account was younger than
    /// [`Config::rating_min_account_age`](crate::Config::rating_min_account_age).
    NewAccount,
    /// Moderators had frozen the plugin's ratings.
    Frozen,
}

/// Whether a rating given now counts toward the plugin's shown rating, and
/// if not why: the one rule, which [`Registry::put_review`] applies and the
/// plugin page explains. A rating counts when the plugin's ratings are not
/// frozen and its account is at least `min_age` seconds old (an account
/// made in the future by a moved clock is as new as can be).
pub(crate) fn rating_uncounted(
    account_created_at: u64,
    now: u64,
    min_age: u64,
    frozen: bool,
) -> Option<Uncounted> {
    if frozen {
        Some(Uncounted::Frozen)
    } else if now.saturating_sub(account_created_at) < min_age || account_created_at > now {
        Some(Uncounted::NewAccount)
    } else {
        None
    }
}

/// Who did a moderation action, when and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Moderation {
    pub by: String,
    pub at: u64,
    pub reason: String,
}

/// An owner's answer to a review.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Reply {
    pub by: String,
    pub body: String,
    pub at: u64,
}

/// The visible ratings of a plugin: how many of those that count gave 1,
/// 2, … 5 stars, and how many do not count. The average, the count and the
/// ranking are of those that count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ratings {
    pub counts: [u64; 5],
    /// Visible reviews whose rating does not count ([`Uncounted`]).
    #[serde(default)]
    pub uncounted: u64,
}

impl Ratings {
    /// How many ratings count.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The mean, or `None` without ratings.
    pub fn average(&self) -> Option<f64> {
        let count = self.count();
        (count > 0).then(|| {
            let sum: u64 = (1..=5).zip(self.counts).map(|(stars, n)| stars * n).sum();
            sum as f64 / count as f64
        })
    }

    /// The mean pulled towards 3 stars by two phantom votes, so that one
    /// five-star review does not top a hundred four-star ones.
    pub fn ranking_score(&self) -> f64 {
        let count = self.count() as f64;
        let sum: u64 = (1..=5).zip(self.counts).map(|(stars, n)| stars * n).sum();
        (sum as f64 + 6.0) / (count + 2.0)
    }

    /// Adds (`sign` 1) or takes away (-1) a visible review.
    fn add(&mut self, review: &ReviewRecord, sign: i8) {
        let slot = if review.uncounted.is_some() {
            Some(&mut self.uncounted)
        } else {
            usize::from(review.rating)
                .checked_sub(1)
                .and_then(|i| self.counts.get_mut(i))
        };
        if let Some(slot) = slot {
            *slot = if sign > 0 {
                slot.saturating_add(1)
            } else {
                slot.saturating_sub(1)
            };
        }
    }
}

/// What a report is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub(crate) enum ReportTarget {
    Plugin { plugin: String },
    Review { plugin: String, author: String },
}

/// A visitor's report of a plugin or a review, stored under its id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReportRecord {
    pub target: ReportTarget,
    pub reporter: String,
    pub reason: String,
    pub created_at: u64,
    /// How a moderator closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed: Option<Moderation>,
}

/// One moderation action or owner change, as the audit log keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    pub at: u64,
    /// Who did it: the moderator, or the owner or invitee.
    #[serde(alias = "admin")]
    pub by: String,
    pub action: String,
    pub target: String,
    pub reason: String,
}

/// What [`Registry::change_review`] does to a review.
enum Edit {
    Keep,
    Put(ReviewRecord),
    Remove,
}

/// What [`Registry::sign_up`] did.
pub(crate) enum SignUp {
    Created,
    Taken,
    /// The name is reserved or reads like another account's.
    Refused(Clash),
}

fn review_key(plugin: &str, author: &str) -> Vec<u8> {
    let mut key = prefix(plugin);
    key.extend_from_slice(author.as_bytes());
    key
}

fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

fn id_of(key: &[u8]) -> u64 {
    <[u8; 8]>::try_from(key).map_or(0, u64::from_be_bytes)
}

pub(super) fn random_token() -> Result<String, StoreError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| StoreError::Randomness(e.to_string()))?;
    Ok(hex::encode(secret))
}

impl Registry {
    pub(crate) fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        get(&self.inner.users, "users", name)
    }

    /// Creates a web account with an argon2id `password_hash`, unless the
    /// name is taken, reserved or reads like another account's
    /// ([`Registry::user_name_clash`]).
    pub(crate) fn sign_up(&self, name: &str, password_hash: String) -> Result<SignUp, StoreError> {
        let _lock = self.write_lock();
        if self.user_exists(name)? {
            return Ok(SignUp::Taken);
        }
        if let Some(clash) = self.user_name_clash(name)? {
            return Ok(SignUp::Refused(clash));
        }
        let record = UserRecord {
            created_at: self.now(),
            password: Some(password_hash),
            admin: false,
        };
        let bytes = encode("users", &record)?;
        let swapped = self.inner.users.compare_and_swap(
            name.as_bytes(),
            None as Option<&[u8]>,
            Some(bytes),
        )?;
        if swapped.is_err() {
            return Ok(SignUp::Taken);
        }
        self.inner.users.flush()?;
        Ok(SignUp::Created)
    }

    /// Changes a user's record with `change`, creating the user when
    /// `create` is set; `Ok(false)` when there is no such user.
    pub(super) fn update_user(
        &self,
        name: &str,
        create: bool,
        change: impl FnOnce(&mut UserRecord),
    ) -> Result<bool, StoreError> {
        let _lock = self.write_lock();
        let mut record = match self.user(name)? {
            Some(record) => record,
            None if create => {
                self.check_new_user(name)?;
                UserRecord {
                    created_at: self.now(),
                    ..UserRecord::default()
                }
            }
            None => return Ok(false),
        };
        change(&mut record);
        self.inner
            .users
            .insert(name.as_bytes(), encode("users", &record)?)?;
        self.inner.users.flush()?;
        Ok(true)
    }

    /// Sets a user's web password (creating the user if needed, refused
    /// for a new name like [`Registry::create_token`]'s), hashed with
    /// argon2id. Check it with [`check_password`](crate::check_password)
    /// first.
    /// Ends every session of the user: whoever knew the old password is
    /// signed out.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), StoreError> {
        super::check_user_name(name)?;
        let hash = crate::password::hash_password(password).map_err(StoreError::Password)?;
        self.update_user(name, true, |user| user.password = Some(hash))?;
        self.end_sessions_where(|session| session.user == name)
    }

    /// Removes the sessions `doomed` picks, and flushes.
    pub(super) fn end_sessions_where(
        &self,
        doomed: impl Fn(&SessionRecord) -> bool,
    ) -> Result<(), StoreError> {
        for item in self.inner.sessions.iter() {
            let (key, bytes) = item?;
            let session: SessionRecord = decode("sessions", &bytes)?;
            if doomed(&session) {
                self.inner.sessions.remove(key)?;
            }
        }
        self.inner.sessions.flush()?;
        Ok(())
    }

    /// Removes expired sessions (the registry does it when it opens).
    pub(crate) fn sweep_sessions(&self) -> Result<(), StoreError> {
        let now = self.now();
        self.end_sessions_where(|session| session.expires_at <= now)
    }

    /// Whether `name` has a web password (signed up on the pages, or given
    /// one by the operator).
    pub fn has_password(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.user(name)?.is_some_and(|u| u.password.is_some()))
    }

    /// Makes `name` a registry admin (or not); `Ok(false)` when no such
    /// user exists.
    pub fn set_admin(&self, name: &str, admin: bool) -> Result<bool, StoreError> {
        self.update_user(name, false, |user| user.admin = admin)
    }

    /// Starts a session for `user` and returns its cookie value.
    pub(crate) fn create_session(&self, user: &str) -> Result<String, StoreError> {
        let token = random_token()?;
        let now = self.now();
        let record = SessionRecord {
            user: user.to_owned(),
            created_at: now,
            expires_at: now + SESSION_SECONDS,
        };
        self.inner
            .sessions
            .insert(token_hash(&token), encode("sessions", &record)?)?;
        Ok(token)
    }

    /// The live session behind a cookie value; an expired one is removed.
    pub(crate) fn session(&self, token: &str) -> Result<Option<SessionRecord>, StoreError> {
        let hash = token_hash(token);
        let Some(record) = get::<SessionRecord>(&self.inner.sessions, "sessions", hash)? else {
            return Ok(None);
        };
        if record.expires_at <= self.now() {
            self.inner.sessions.remove(hash)?;
            return Ok(None);
        }
        Ok(Some(record))
    }

    pub(crate) fn end_session(&self, token: &str) -> Result<(), StoreError> {
        self.inner.sessions.remove(token_hash(token))?;
        self.inner.sessions.flush()?;
        Ok(())
    }

    pub(crate) fn review(
        &self,
        plugin: &str,
        author: &str,
    ) -> Result<Option<ReviewRecord>, StoreError> {
        get(&self.inner.reviews, "reviews", review_key(plugin, author))
    }

    /// A plugin's reviews, hidden ones included, newest first.
    pub(crate) fn reviews(&self, plugin: &str) -> Result<Vec<(String, ReviewRecord)>, StoreError> {
        let skip = plugin.len() + 1;
        let mut reviews = self
            .inner
            .reviews
            .scan_prefix(prefix(plugin))
            .map(|item| {
                let (key, bytes) = item?;
                let author = key
                    .get(skip..)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .ok_or_else(|| corrupt("reviews", "a key is too short"))?;
                Ok((author, decode("reviews", &bytes)?))
            })
            .collect::<Result<Vec<(String, ReviewRecord)>, StoreError>>()?;
        reviews.sort_by(|a, b| b.1.created_at.cmp(&a.1.created_at).then(a.0.cmp(&b.0)));
        Ok(reviews)
    }

    /// Changes a review with `change` (given the current one, if any) and
    /// moves its rating in the plugin's summary, in one transaction;
    /// whether anything changed. Not flushed: sled writes it out within
    /// half a second, and a review lost to a crash in that window can be
    /// written again (moderation flushes).
    fn change_review(
        &self,
        plugin: &str,
        author: &str,
        change: impl Fn(Option<ReviewRecord>) -> Edit,
    ) -> Result<bool, StoreError> {
        let key = review_key(plugin, author);
        let inner = &self.inner;
        let changed = (&inner.reviews, &inner.ratings).transaction(|(reviews, ratings)| {
            let abort = ConflictableTransactionError::Abort;
            let old: Option<ReviewRecord> = match reviews.get(&key)? {
                Some(bytes) => Some(decode("reviews", &bytes).map_err(abort)?),
                None => None,
            };
            let new = match change(old.clone()) {
                Edit::Keep => return Ok(false),
                Edit::Put(new) => Some(new),
                Edit::Remove => None,
            };
            let mut summary: Ratings = match ratings.get(plugin.as_bytes())? {
                Some(bytes) => decode("ratings", &bytes).map_err(abort)?,
                None => Ratings::default(),
            };
            if let Some(old) = old.as_ref().filter(|r| r.hidden.is_none()) {
                summary.add(old, -1);
            }
            match &new {
                Some(new) => {
                    if new.hidden.is_none() {
                        summary.add(new, 1);
                    }
                    reviews.insert(key.as_slice(), encode("reviews", new).map_err(abort)?)?;
                }
                None => {
                    reviews.remove(key.as_slice())?;
                }
            }
            ratings.insert(
                plugin.as_bytes(),
                encode("ratings", &summary).map_err(abort)?,
            )?;
            Ok(true)
        })?;
        if changed {
            self.touch_ratings();
        }
        Ok(changed)
    }

    /// Whether a rating `author` gives `plugin` now would count
    /// ([`rating_uncounted`] on the account's age and the plugin's freeze).
    pub(crate) fn rating_uncounted_now(
        &self,
        plugin: &str,
        author: &str,
    ) -> Result<Option<Uncounted>, StoreError> {
        let frozen = self
            .plugin(plugin)?
            .is_some_and(|p| p.ratings_frozen.is_some());
        let now = self.now();
        // An account that is gone is as new as can be.
        let created_at = self.user(author)?.map_or(now, |u| u.created_at);
        let min_age = self.config().rating_min_account_age.as_secs();
        Ok(rating_uncounted(created_at, now, min_age, frozen))
    }

    /// Writes `author`'s review of `plugin` (a new one, or an edit that
    /// keeps the date it was written and its reply), deciding anew whether
    /// its rating counts ([`Registry::rating_uncounted_now`]); `Ok(false)`
    /// when moderators hid the review, which then stays as it was, for the
    /// record.
    pub(crate) fn put_review(
        &self,
        plugin: &str,
        author: &str,
        rating: u8,
        body: &str,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let uncounted = self.rating_uncounted_now(plugin, author)?;
        self.change_review(plugin, author, |old| {
            Edit::Put(match old {
                Some(old) if old.hidden.is_some() => return Edit::Keep,
                Some(old) => ReviewRecord {
                    rating,
                    body: body.to_owned(),
                    updated_at: now,
                    uncounted,
                    ..old
                },
                None => ReviewRecord {
                    rating,
                    body: body.to_owned(),
                    created_at: now,
                    updated_at: now,
                    hidden: None,
                    reply: None,
                    uncounted,
                },
            })
        })
    }

    /// Deletes `author`'s own review of `plugin` (unless moderators hid
    /// it: a hidden review stays, for the record); whether one was deleted.
    pub(crate) fn delete_review(&self, plugin: &str, author: &str) -> Result<bool, StoreError> {
        let deleted = self.change_review(plugin, author, |old| match old {
            Some(review) if review.hidden.is_none() => Edit::Remove,
            _ => Edit::Keep,
        })?;
        if deleted {
            self.inner.reviews.flush()?;
        }
        Ok(deleted)
    }

    /// Sets (or clears) an owner's answer; `Ok(false)` when there is no
    /// such review.
    pub(crate) fn reply_to_review(
        &self,
        plugin: &str,
        author: &str,
        reply: Option<Reply>,
    ) -> Result<bool, StoreError> {
        self.change_review(plugin, author, |old| match old {
            Some(review) => Edit::Put(ReviewRecord {
                reply: reply.clone(),
                ..review
            }),
            None => Edit::Keep,
        })
    }

    /// Hides a review (or shows it again); `Ok(false)` when there is none.
    pub(crate) fn moderate_review(
        &self,
        plugin: &str,
        author: &str,
        hidden: Option<Moderation>,
    ) -> Result<bool, StoreError> {
        let changed = self.change_review(plugin, author, |old| match old {
            Some(review) => Edit::Put(ReviewRecord {
                hidden: hidden.clone(),
                ..review
            }),
            None => Edit::Keep,
        })?;
        // On disk before the reports are closed and the action logged.
        self.inner.db.flush()?;
        Ok(changed)
    }

    pub(crate) fn ratings(&self, plugin: &str) -> Result<Ratings, StoreError> {
        Ok(get(&self.inner.ratings, "ratings", plugin)?.unwrap_or_default())
    }

    /// Every plugin's rating summary, in one scan.
    pub(crate) fn all_ratings(&self) -> Result<HashMap<String, Ratings>, StoreError> {
        self.inner
            .ratings
            .iter()
            .map(|item| {
                let (name, bytes) = item?;
                Ok((
                    String::from_utf8_lossy(&name).into_owned(),
                    decode("ratings", &bytes)?,
                ))
            })
            .collect()
    }

    /// Files a report, unless `reporter` already has an open one about
    /// `target` (then that one's id).
    pub(crate) fn add_report(
        &self,
        target: ReportTarget,
        reporter: &str,
        reason: &str,
    ) -> Result<u64, StoreError> {
        let open = self
            .reports()?
            .into_iter()
            .find(|(_, r)| r.closed.is_none() && r.reporter == reporter && r.target == target);
        if let Some((id, _)) = open {
            return Ok(id);
        }
        let id = self.inner.db.generate_id()?;
        let record = ReportRecord {
            target,
            reporter: reporter.to_owned(),
            reason: reason.to_owned(),
            created_at: self.now(),
            closed: None,
        };
        self.inner
            .reports
            .insert(id_key(id), encode("reports", &record)?)?;
        self.inner.reports.flush()?;
        Ok(id)
    }

    /// Every report, newest first.
    pub(crate) fn reports(&self) -> Result<Vec<(u64, ReportRecord)>, StoreError> {
        self.inner
            .reports
            .iter()
            .rev()
            .map(|item| {
                let (key, bytes) = item?;
                Ok((id_of(&key), decode("reports", &bytes)?))
            })
            .collect()
    }

    /// Closes the report `id`, or every open report of `target` when `id`
    /// is `None`; returns how many it closed.
    pub(crate) fn close_reports(
        &self,
        id: Option<u64>,
        target: Option<&ReportTarget>,
        closed: &Moderation,
    ) -> Result<usize, StoreError> {
        let mut count = 0;
        for (report_id, mut report) in self.reports()? {
            let chosen =
                id.is_some_and(|id| id == report_id) || target.is_some_and(|t| *t == report.target);
            if chosen && report.closed.is_none() {
                report.closed = Some(closed.clone());
                self.inner
                    .reports
                    .insert(id_key(report_id), encode("reports", &report)?)?;
                count += 1;
            }
        }
        self.inner.reports.flush()?;
        Ok(count)
    }

    /// Writes one moderation action or owner change to the audit log.
    pub(crate) fn audit(
        &self,
        by: &str,
        action: &str,
        target: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let id = self.inner.db.generate_id()?;
        let record = AuditRecord {
            at: self.now(),
            by: by.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            reason: reason.to_owned(),
        };
        self.inner
            .audit
            .insert(id_key(id), encode("audit", &record)?)?;
        self.inner.audit.flush()?;
        Ok(())
    }

    /// The newest `limit` audit entries, newest first.
    pub(crate) fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>, StoreError> {
        self.inner
            .audit
            .iter()
            .rev()
            .take(limit)
            .map(|item| decode("audit", &item?.1))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_ratings_count() {
        const DAY: u64 = 86_400;
        let now = 100 * DAY;
        let week = 7 * DAY;
        for (created_at, min_age, frozen, expected, case) in [
            (now - 30 * DAY, week, false, None, "an old account"),
            (now - week, week, false, None, "exactly old enough"),
            (
                now - week + 1,
                week,
                false,
                Some(Uncounted::NewAccount),
                "a second short",
            ),
            (
                now,
                week,
                false,
                Some(Uncounted::NewAccount),
                "a fresh account",
            ),
            (
                now + DAY,
                week,
                false,
                Some(Uncounted::NewAccount),
                "made in the future",
            ),
            (now, 0, false, None, "no minimum age"),
            (
                now + DAY,
                0,
                false,
                Some(Uncounted::NewAccount),
                "future, no minimum",
            ),
            (
                now - 30 * DAY,
                week,
                true,
                Some(Uncounted::Frozen),
                "frozen, old account",
            ),
            (
                now,
                week,
                true,
                Some(Uncounted::Frozen),
                "frozen, fresh account",
            ),
        ] {
            assert_eq!(
                rating_uncounted(created_at, now, min_age, frozen),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn the_summary_keeps_uncounted_ratings_apart() {
        let review = |rating, uncounted| ReviewRecord {
            rating,
            body: String::new(),
            created_at: 0,
            updated_at: 0,
            hidden: None,
            reply: None,
            uncounted,
        };
        let mut ratings = Ratings::default();
        for _ in 0..3 {
            ratings.add(&review(5, None), 1);
        }
        for _ in 0..12 {
            ratings.add(&review(1, Some(Uncounted::NewAccount)), 1);
        }
        assert_eq!((ratings.count(), ratings.uncounted), (3, 12));
        assert_eq!(ratings.average(), Some(5.0));
        ratings.add(&review(1, Some(Uncounted::Frozen)), -1);
        ratings.add(&review(5, None), -1);
        assert_eq!((ratings.count(), ratings.uncounted), (2, 11));
    }
}
