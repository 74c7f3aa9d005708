//! # plugboard-people
//!
//! Who is who across platforms. One process serves Telegram and Discord,
//! but a person has an account on each: this crate joins accounts into a
//! **person** when the person proves owning both, and keeps the **audit
//! log** of who did what to whom.
//!
//! * An [`Account`] is a platform and that platform's user id
//!   (`telegram:42`).
//! * Linking: [`People::issue_code`] gives one account a one-time
//!   [`LinkCode`] (random, eight characters from an alphabet without
//!   look-alikes, valid for [`CODE_TTL_MS`], one live code per account);
//!   [`People::redeem`] on another account joins both into one person.
//!   A code works once; failed attempts are limited per account
//!   ([`MAX_FAILED_ATTEMPTS`] per [`ATTEMPT_WINDOW_MS`]), so guessing a code
//!   is hopeless (2⁴⁰ codes, five guesses per ten minutes).
//!   [`People::unlink`] takes an account out of its person again.
//! * Roles ([`People::roles_of`], [`People::give_role`],
//!   [`People::take_role`]): what each account was given, and
//!   [`Role::Owner`] for the owners the config names; a person holds the
//!   roles of all their accounts.
//! * Bans ([`People::ban`], [`People::is_banned`]): a banned person is
//!   banned on every account they had linked when banned.
//! * Limits ([`People::admit`]): rate limits and daily quotas, higher for
//!   a role; usage per plugin, command and day ([`People::count_use`],
//!   [`People::usage`]).
//! * Chats ([`People::chat_plugins`], [`People::change_chat_plugins`]):
//!   the plugins a chat's admins turned off there, or the only ones they
//!   let answer.
//! * Every link, unlink, role change, ban and chat setting is written to the audit log
//!   ([`People::record`], [`People::audit`]).
//!
//! What it must not touch: events, routing, plugins, platforms. It is told
//! which account asks, and answers with facts and typed refusals; the
//! runtime decides what to say to the user. It stores through
//! [`PeopleRecords`] only, under keys it owns:
//!
//! | key | record |
//! |---|---|
//! | `account/<platform>/<user>` | the person a linked account belongs to |
//! | `person/<id>` | the person's accounts |
//! | `code/<code>` | the account that asked for the code, and its expiry |
//! | `code-of/<account>` | that account's live code |
//! | `attempts/<account>` | the account's recent failed attempts |
//! | `roles/<account>` | the roles the account was given |
//! | `ban/<account>` | who banned the account, when and why |
//! | `chat/<platform>/<chat id>` | the plugins turned off in the chat, or the only ones allowed |
//! | `quota/<day>/<account>/<plugin[.command]>` | an account's uses against a daily quota (a person's are summed over their accounts); deleted once their day is over |
//! | `usage/<day>/<plugin>/<command>` | runs and refusals of a command that day |
//! | `audit/<ms, 20 digits>/<sequence, 10 digits>` | one audit entry |

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use plugboard_schedule::Clock;
use plugboard_store::{PeopleRecords, StoreError};
use serde::{Deserialize, Serialize};

pub use plugboard_registry_types::roles::Role;

mod access;
mod chats;
mod limits;
pub use access::{Ban, RoleError};
pub use chats::{ChatChange, ChatPlugins};
pub use limits::{FLUSH_MS, LimitRefusal, Limits, Rate, Usage, UsageRow, day_of};

/// How long a link code works: ten minutes.
pub const CODE_TTL_MS: u64 = 10 * 60 * 1000;
/// Failed link attempts one account may make per [`ATTEMPT_WINDOW_MS`].
pub const MAX_FAILED_ATTEMPTS: u32 = 5;
/// The window failed attempts are counted in: ten minutes.
pub const ATTEMPT_WINDOW_MS: u64 = 10 * 60 * 1000;
/// Characters a link code is made of: no `0`/`O` nor `1`/`I`, so that a
/// code copied by hand is not mistaken.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Characters in a link code (8 × 5 bits = 40 bits).
pub const CODE_LEN: usize = 8;
/// Most accounts one person may join.
pub const MAX_ACCOUNTS: usize = 16;
/// Accounts whose person is remembered in memory; past this the cache
/// starts over (every lookup then reads the store once more).
const CACHE_LIMIT: usize = 100_000;

/// One account: a platform and its user id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    /// The platform (`telegram`, `discord`, `console`).
    pub platform: String,
    /// The platform's user id.
    pub user: String,
}

impl Account {
    /// The account `user` on `platform`.
    pub fn new(platform: impl Into<String>, user: impl Into<String>) -> Self {
        Self {
            platform: platform.into(),
            user: user.into(),
        }
    }

    fn key(&self) -> String {
        format!("account/{}/{}", self.platform, self.user)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.platform, self.user)
    }
}

/// What the bot knows about one account, read from the store once and
/// kept until links, roles or bans change (see [`People::facts`]).
#[derive(Debug, Clone)]
pub struct AccountFacts {
    /// The account.
    pub account: Account,
    /// Its person, when it is linked to another account.
    pub person: Option<PersonId>,
    /// Every account of its person (the account alone when not linked).
    pub accounts: Vec<Account>,
    /// The roles its person holds: given to any of their accounts, and
    /// [`Role::Owner`] when one of them is an owner.
    pub roles: std::collections::BTreeSet<Role>,
    /// Whether the account is banned (so every event it causes is
    /// ignored).
    pub banned: bool,
    /// The keyed hashes the limits count them by, made on first use.
    keys: std::sync::OnceLock<FactKeys>,
    /// `person` as a shared string, for every event to carry.
    person_id: Option<Arc<str>>,
}

/// The keyed hashes of an [`AccountFacts`], made once per record so that
/// admitting a command hashes none of its strings.
#[derive(Debug, Clone)]
pub(crate) struct FactKeys {
    /// Whose rate limits: the person's, else the account's.
    who: u64,
    /// Each of `accounts`, for their quota counts.
    accounts: Vec<u64>,
    /// Where the account itself is in `accounts`.
    own: usize,
}

/// Facts are equal when what they say is (their hashes are derived).
impl PartialEq for AccountFacts {
    fn eq(&self, other: &Self) -> bool {
        self.account == other.account
            && self.person == other.person
            && self.accounts == other.accounts
            && self.roles == other.roles
            && self.banned == other.banned
    }
}

impl Eq for AccountFacts {}

impl AccountFacts {
    /// The person's id, shared (see [`AccountFacts::person`]).
    pub fn person_id(&self) -> Option<&Arc<str>> {
        self.person_id.as_ref()
    }

    /// An account on its own: not linked, no roles, not banned.
    pub fn alone(account: Account) -> Self {
        Self {
            accounts: vec![account.clone()],
            account,
            person: None,
            roles: Default::default(),
            banned: false,
            keys: Default::default(),
            person_id: None,
        }
    }
}

/// A person's stable id: random, the same on every linked account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(String);

impl PersonId {
    /// The id as text (`p` and twelve characters).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A code handed to one account, to be typed on another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkCode {
    /// The code (eight characters).
    pub code: String,
    /// When it stops working, in milliseconds since the Unix epoch.
    pub expires_ms: u64,
}

/// Accounts joined by a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linked {
    /// The person both accounts now belong to.
    pub person: PersonId,
    /// Every account of that person.
    pub accounts: Vec<Account>,
}

/// An account taken out of its person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlinked {
    /// The person it belonged to.
    pub person: PersonId,
    /// The person's other accounts. When only one is left, the person is
    /// dissolved and that account stands alone again too.
    pub remaining: Vec<Account>,
}

/// Why a link or unlink was refused. Each says what to do instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Too many failed attempts from this account lately.
    #[error("too many wrong codes; try again in {}", in_words(*retry_after_ms))]
    TooManyAttempts {
        /// When the account may try again, from now.
        retry_after_ms: u64,
    },
    /// No live code is this one (never issued, or already used).
    #[error(
        "that code is not valid (a code works once); ask for a new one with /link on your other account"
    )]
    UnknownCode,
    /// The code was valid, but has expired.
    #[error("that code has expired (codes work for {}); ask for a new one with /link", in_words(*works_for_ms))]
    Expired {
        /// How long codes work (see [`People::with_code_ttl`]).
        works_for_ms: u64,
    },
    /// The code belongs to the account typing it.
    #[error("that is this account's own code: type it on your other account")]
    OwnCode,
    /// The two accounts already belong to one person.
    #[error("these accounts are already linked")]
    AlreadyLinked,
    /// The account typing the code belongs to another person already.
    #[error("this account is already linked to other accounts; send /unlink here first")]
    LinkedElsewhere,
    /// The person has as many accounts as allowed.
    #[error("a person can link at most {MAX_ACCOUNTS} accounts")]
    TooManyAccounts,
    /// The account is not linked to any other.
    #[error("this account is not linked to any other")]
    NotLinked,
    /// The system's random source failed.
    #[error("cannot make a random code: {0}")]
    Randomness(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record could not be read.
    #[error("the people record `{key}` is damaged: {problem}")]
    Damaged {
        /// The record's key.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Every action the audit log records.
pub const AUDIT_ACTIONS: &[&str] = &[
    "link",
    "unlink",
    "role",
    "ban",
    "unban",
    "chat-plugins",
    "grant",
    "revoke",
    "resume",
    "install",
    "update",
    "remove",
    "config",
    "api-token",
];

/// Refuses an action the audit log never records (a filter with a typo
/// would otherwise find nothing), naming the ones it does.
pub fn check_audit_action(action: &str) -> Result<(), String> {
    match AUDIT_ACTIONS.contains(&action) {
        true => Ok(()),
        false => Err(format!(
            "{action:?} is not an action the audit log records; use one of {}",
            AUDIT_ACTIONS.join(", ")
        )),
    }
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Who did it: an account (`telegram:42`; `console:console` on the
    /// console), `admin:api` through the admin API, `admin:web` on the
    /// console's pages, `cli:<user>` with the command line on a stopped
    /// bot, `packages` for plugins installed, updated or removed while the
    /// bot ran.
    pub actor: String,
    /// What: `link`, `unlink`, `role`, `ban`, `unban`, `chat-plugins`,
    /// `grant`, `revoke`, `resume`, `install`, `update`, `remove`,
    /// `config` or `api-token` (see [`AUDIT_ACTIONS`]).
    pub action: String,
    /// To whom or what (a person, an account, a plugin).
    pub subject: String,
    /// Anything else worth knowing, in words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Serialize, Deserialize)]
struct PersonRecord {
    accounts: Vec<Account>,
}

#[derive(Serialize, Deserialize)]
struct AccountRecord {
    person: PersonId,
}

#[derive(Serialize, Deserialize)]
struct CodeRecord {
    account: Account,
    expires_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct Attempts {
    since_ms: u64,
    failures: u32,
}

/// Accounts, persons, link codes and the audit log of one bot.
pub struct People {
    records: Arc<dyn PeopleRecords>,
    clock: Arc<dyn Clock>,
    /// The facts of each account looked up lately, found by the hash of
    /// its parts (so a lookup builds no [`Account`]).
    facts: RwLock<hashbrown::HashTable<Arc<AccountFacts>>>,
    /// Held by every change, so that two links cannot interleave.
    changing: Mutex<()>,
    /// Orders audit entries written in the same millisecond.
    sequence: AtomicU64,
    /// The bot's owners, from the config.
    owners: Vec<Account>,
    /// How long a link code works.
    code_ttl_ms: u64,
    /// Rate limits and daily quotas, from the config.
    limits: Limits,
    /// The quotas of `limits`, indexed.
    quotas: limits::QuotaIndex,
    /// The quotas per role of `limits`, indexed.
    role_quotas: Vec<(Role, limits::QuotaIndex)>,
    /// Buckets, quota and usage counts not yet written.
    counts: limits::CountsLock,
    /// Counts the changes of links, roles and bans (see [`People::changed`]).
    generation: AtomicU64,
    /// Keys the counts by hash, with keys of its own.
    hasher: foldhash::quality::RandomState,
    /// Every chat's plugin settings, read from the store on first use.
    chats: RwLock<Option<chats::ChatTable>>,
    /// Whether `chats` is read and no chat has settings (most bots): then
    /// a lookup takes no lock. Set and cleared under `chats`' write lock.
    no_chat_settings: AtomicBool,
    /// Usage of days that can no longer change, read once.
    settled: Mutex<Option<limits::Settled>>,
}

impl People {
    /// People kept in `records`, with time from `clock`.
    pub fn new(records: Arc<dyn PeopleRecords>, clock: Arc<dyn Clock>) -> Self {
        Self {
            records,
            clock,
            facts: RwLock::default(),
            changing: Mutex::new(()),
            sequence: AtomicU64::new(0),
            owners: Vec::new(),
            code_ttl_ms: CODE_TTL_MS,
            limits: Limits::default(),
            quotas: limits::QuotaIndex::default(),
            role_quotas: Vec::new(),
            counts: limits::CountsLock::default(),
            hasher: foldhash::quality::RandomState::default(),
            generation: AtomicU64::new(0),
            chats: RwLock::default(),
            no_chat_settings: AtomicBool::new(false),
            settled: Mutex::new(None),
        }
    }

    /// The same, with `limits` as the rate limits and quotas.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.quotas = limits::QuotaIndex::new(&self.hasher, &limits.quotas);
        self.role_quotas = limits
            .role_quotas
            .iter()
            .map(|(role, quotas)| {
                let index = limits::QuotaIndex::new(&self.hasher, quotas);
                (role.clone(), index)
            })
            .collect();
        self.limits = limits;
        self
    }

    /// The same, with link codes working for `ttl_ms` instead of
    /// [`CODE_TTL_MS`] (at least a second).
    pub fn with_code_ttl(mut self, ttl_ms: u64) -> Self {
        self.code_ttl_ms = ttl_ms.max(1_000);
        self
    }

    /// How long a link code works, in milliseconds.
    pub fn code_ttl_ms(&self) -> u64 {
        self.code_ttl_ms
    }

    /// The same, with `owners` as the bot's owners (they hold
    /// [`Role::Owner`] on every account of their person).
    pub fn with_owners(mut self, owners: Vec<Account>) -> Self {
        self.owners = owners;
        self
    }

    /// What the bot knows about the account `user` on `platform`: cheap
    /// once read (a hash of the parts and a read lock, no allocation).
    pub fn facts(&self, platform: &str, user: &str) -> Result<Arc<AccountFacts>, LinkError> {
        let hash = self.facts_hash(platform, user);
        let same = |f: &Arc<AccountFacts>| f.account.platform == platform && f.account.user == user;
        if let Some(known) = self
            .facts
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .find(hash, same)
        {
            return Ok(Arc::clone(known));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let facts = Arc::new(self.read_facts(Account::new(platform, user))?);
        let mut cache = self.facts.write().unwrap_or_else(|p| p.into_inner());
        // Not if a change came between the read and now: it would stay.
        if self.generation.load(Ordering::Acquire) == generation {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            if cache.find(hash, same).is_none() {
                let rehash =
                    |f: &Arc<AccountFacts>| self.facts_hash(&f.account.platform, &f.account.user);
                cache.insert_unique(hash, Arc::clone(&facts), rehash);
            }
        }
        Ok(facts)
    }

    /// The keyed hashes of `facts`, made on first use.
    fn keys_of<'a>(&self, facts: &'a AccountFacts) -> &'a FactKeys {
        facts.keys.get_or_init(|| {
            let of = |a: &Account| self.facts_hash(&a.platform, &a.user);
            let accounts: Vec<u64> = facts.accounts.iter().map(of).collect();
            let own = facts
                .accounts
                .iter()
                .position(|a| *a == facts.account)
                .unwrap_or(usize::MAX);
            let who = match &facts.person {
                Some(person) => limits::key_of(&self.hasher, &["person", person.as_str()]),
                None => of(&facts.account),
            };
            FactKeys { who, accounts, own }
        })
    }

    fn facts_hash(&self, platform: &str, user: &str) -> u64 {
        use std::hash::BuildHasher;
        self.hasher.hash_one((platform, user))
    }

    /// [`AccountFacts`] of `account`, from the store.
    fn read_facts(&self, account: Account) -> Result<AccountFacts, LinkError> {
        let person = self
            .read::<AccountRecord>(&account.key())?
            .map(|r| r.person);
        let mut accounts = match &person {
            Some(person) => self.accounts_of(person)?,
            None => Vec::new(),
        };
        if !accounts.contains(&account) {
            accounts.push(account.clone());
        }
        let roles = self.read_roles(&accounts)?;
        let banned = self.ban_of(&account)?.is_some();
        Ok(AccountFacts {
            person_id: person.as_ref().map(|p| Arc::from(p.as_str())),
            account,
            person,
            accounts,
            roles,
            banned,
            keys: Default::default(),
        })
    }

    /// The person `account` belongs to, if it is linked to another account.
    pub fn person_of(&self, account: &Account) -> Result<Option<PersonId>, LinkError> {
        Ok(self.facts(&account.platform, &account.user)?.person.clone())
    }

    /// Every account of `person`.
    pub fn accounts_of(&self, person: &PersonId) -> Result<Vec<Account>, LinkError> {
        Ok(self
            .read::<PersonRecord>(&person_key(person))?
            .map(|r| r.accounts)
            .unwrap_or_default())
    }

    /// A new one-time code for `account`, replacing its previous one.
    pub fn issue_code(&self, account: &Account) -> Result<LinkCode, LinkError> {
        let _changing = self.lock();
        let expires_ms = self.clock.now_ms().saturating_add(self.code_ttl_ms);
        if let Some(old) = self.read_string(&code_of_key(account))? {
            self.records.people_delete(&code_key(&old))?;
        }
        let code = loop {
            let code = random_code()?;
            // 2⁴⁰ codes: a collision with a live one is rare, but possible.
            if self.records.people_get(&code_key(&code))?.is_none() {
                break code;
            }
        };
        self.write(
            &code_key(&code),
            &CodeRecord {
                account: account.clone(),
                expires_ms,
            },
        )?;
        self.records
            .people_set(&code_of_key(account), code.as_bytes())?;
        Ok(LinkCode { code, expires_ms })
    }

    /// Joins `account` to the account that was given `code`: both belong
    /// to one person from now on (the code's account's person, when it has
    /// one). The code stops working whatever the outcome, except when the
    /// attempt is refused for too many wrong codes.
    pub fn redeem(&self, account: &Account, code: &str) -> Result<Linked, LinkError> {
        let _changing = self.change();
        let now = self.clock.now_ms();
        let attempts_key = format!("attempts/{account}");
        let mut attempts = self
            .read::<Attempts>(&attempts_key)?
            .filter(|a| now.saturating_sub(a.since_ms) < ATTEMPT_WINDOW_MS)
            .unwrap_or(Attempts {
                since_ms: now,
                failures: 0,
            });
        if attempts.failures >= MAX_FAILED_ATTEMPTS {
            return Err(LinkError::TooManyAttempts {
                retry_after_ms: (attempts.since_ms + ATTEMPT_WINDOW_MS).saturating_sub(now),
            });
        }
        let code = normalise(code);
        let key = code_key(&code);
        let found = match self.read::<CodeRecord>(&key)? {
            Some(record) if record.expires_ms <= now => Err(LinkError::Expired {
                works_for_ms: self.code_ttl_ms,
            }),
            Some(record) if record.account == *account => Err(LinkError::OwnCode),
            Some(record) => Ok(record.account),
            None => Err(LinkError::UnknownCode),
        };
        // A banned person's code is as good as none.
        let found = match found {
            Ok(issuer) if self.is_banned(&issuer)? => Err(LinkError::UnknownCode),
            other => other,
        };
        let issuer = match found {
            Ok(issuer) => issuer,
            Err(refusal) => {
                if matches!(refusal, LinkError::UnknownCode | LinkError::Expired { .. }) {
                    attempts.failures += 1;
                    self.write(&attempts_key, &attempts)?;
                }
                if matches!(refusal, LinkError::Expired { .. }) {
                    self.forget_code(&code)?;
                }
                return Err(refusal);
            }
        };
        // Used up first: whatever happens next, it never works twice.
        self.forget_code(&code)?;
        let theirs = self.read::<AccountRecord>(&issuer.key())?.map(|r| r.person);
        let mine = self
            .read::<AccountRecord>(&account.key())?
            .map(|r| r.person);
        if mine.is_some() && mine == theirs {
            return Err(LinkError::AlreadyLinked);
        }
        if mine.is_some() {
            return Err(LinkError::LinkedElsewhere);
        }
        let person = match theirs {
            Some(person) => person,
            None => PersonId(format!("p{}", random_chars(12)?.to_ascii_lowercase())),
        };
        let mut accounts = self.accounts_of(&person)?;
        if accounts.is_empty() {
            accounts.push(issuer.clone());
        }
        if accounts.len() >= MAX_ACCOUNTS {
            return Err(LinkError::TooManyAccounts);
        }
        accounts.push(account.clone());
        // The person first, then the accounts pointing at it: a crash in
        // between leaves a person no account points at, never an account
        // pointing at nothing.
        self.write(
            &person_key(&person),
            &PersonRecord {
                accounts: accounts.clone(),
            },
        )?;
        for linked in [&issuer, account] {
            self.write(
                &linked.key(),
                &AccountRecord {
                    person: person.clone(),
                },
            )?;
        }
        self.records.people_delete(&attempts_key)?;
        self.changed();
        self.record(
            &account.to_string(),
            "link",
            person.as_str(),
            &format!("{account} joined {issuer}"),
        )?;
        Ok(Linked { person, accounts })
    }

    /// Takes `account` out of its person. A person left with one account
    /// is dissolved: that account stands alone again.
    pub fn unlink(&self, account: &Account) -> Result<Unlinked, LinkError> {
        let _changing = self.change();
        let Some(person) = self
            .read::<AccountRecord>(&account.key())?
            .map(|r| r.person)
        else {
            return Err(LinkError::NotLinked);
        };
        let mut accounts = self.accounts_of(&person)?;
        accounts.retain(|a| a != account);
        let remaining = accounts.clone();
        let mut gone = vec![account.clone()];
        if accounts.len() <= 1 {
            gone.append(&mut accounts);
            self.records.people_delete(&person_key(&person))?;
        } else {
            self.write(&person_key(&person), &PersonRecord { accounts })?;
        }
        for leaving in &gone {
            self.records.people_delete(&leaving.key())?;
        }
        self.changed();
        self.record(&account.to_string(), "unlink", person.as_str(), "")?;
        Ok(Unlinked { person, remaining })
    }

    /// Makes every record written so far (the audit log's entries among
    /// them) durable.
    pub fn flush(&self) -> Result<(), LinkError> {
        Ok(self.records.flush()?)
    }

    /// Writes an audit entry, now.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        subject: &str,
        detail: &str,
    ) -> Result<(), LinkError> {
        let at_ms = self.clock.now_ms();
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let entry = AuditEntry {
            at_ms,
            actor: actor.to_owned(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_owned(),
        };
        self.write(&format!("audit/{at_ms:020}/{sequence:010}"), &entry)
    }

    /// The last `last` audit entries (of `action` only, when given),
    /// oldest first.
    pub fn audit_tail(
        &self,
        action: Option<&str>,
        last: usize,
    ) -> Result<Vec<AuditEntry>, LinkError> {
        let mut kept = std::collections::VecDeque::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.audit(after.as_deref(), 1_000)?;
            let Some((position, _)) = page.last() else {
                break;
            };
            after = Some(position.clone());
            for (_, entry) in page {
                if action.is_some_and(|a| a != entry.action) {
                    continue;
                }
                if kept.len() == last {
                    kept.pop_front();
                }
                if last > 0 {
                    kept.push_back(entry);
                }
            }
        }
        Ok(kept.into())
    }

    /// Up to `limit` audit entries, oldest first, after the one whose
    /// position is `after` (from the start when `None`). Each comes with
    /// its position, to page on from.
    pub fn audit(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, AuditEntry)>, LinkError> {
        let after = after.map(|a| format!("audit/{a}"));
        self.records
            .people_scan("audit/", after.as_deref(), limit)?
            .into_iter()
            .map(|(key, bytes)| {
                let entry = decode(&key, &bytes)?;
                let position = key.trim_start_matches("audit/").to_owned();
                Ok((position, entry))
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.changing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds the lock of changes; when dropped, however the change ended
    /// (a store write may fail halfway), every cache starts over, so that
    /// what did reach the store is what the bot goes by.
    fn change(&self) -> Change<'_> {
        Change {
            people: self,
            _lock: self.lock(),
        }
    }

    /// After a change of links, roles or bans (written to the store):
    /// every cache starts over, and a lookup that read the store before
    /// the change does not fill a cache with what it read.
    pub(crate) fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.facts
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        let mut chats = self.chats.write().unwrap_or_else(|p| p.into_inner());
        *chats = None;
        self.no_chat_settings.store(false, Ordering::Release);
    }

    fn forget_code(&self, code: &str) -> Result<(), LinkError> {
        if let Some(record) = self.read::<CodeRecord>(&code_key(code))? {
            self.records.people_delete(&code_of_key(&record.account))?;
        }
        self.records.people_delete(&code_key(code))?;
        Ok(())
    }

    fn read<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<Option<T>, LinkError> {
        self.records
            .people_get(key)?
            .map(|bytes| decode(key, &bytes))
            .transpose()
    }

    fn read_string(&self, key: &str) -> Result<Option<String>, LinkError> {
        Ok(self
            .records
            .people_get(key)?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    fn write<T: Serialize>(&self, key: &str, record: &T) -> Result<(), LinkError> {
        let bytes = serde_json::to_vec(record).map_err(|e| LinkError::Damaged {
            key: key.to_owned(),
            problem: e.to_string(),
        })?;
        self.records.people_set(key, &bytes)?;
        Ok(())
    }
}

/// See [`People::change`].
struct Change<'a> {
    people: &'a People,
    _lock: std::sync::MutexGuard<'a, ()>,
}

impl Drop for Change<'_> {
    fn drop(&mut self) {
        // Runs before the lock is released.
        self.people.changed();
    }
}

/// A span in words, rounded up to a whole unit: seconds under two
/// minutes (`1 second`, `90 seconds`) unless it is one minute exactly,
/// minutes under two hours (`10 minutes`), else hours (`5 hours`). The
/// one rule for every wait and lifetime the bot tells people.
pub fn in_words(ms: u64) -> String {
    let s = ms.div_ceil(1_000).max(1);
    let (n, unit) = match s {
        60 => (1, "minute"),
        s if s < 120 => (s, "second"),
        s if s < 7_200 => (s.div_ceil(60), "minute"),
        s => (s.div_ceil(3_600), "hour"),
    };
    match n {
        1 => format!("1 {unit}"),
        n => format!("{n} {unit}s"),
    }
}

fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, LinkError> {
    serde_json::from_slice(bytes).map_err(|e| LinkError::Damaged {
        key: key.to_owned(),
        problem: e.to_string(),
    })
}

fn person_key(person: &PersonId) -> String {
    format!("person/{person}")
}

fn code_key(code: &str) -> String {
    format!("code/{code}")
}

fn code_of_key(account: &Account) -> String {
    format!("code-of/{account}")
}

/// A code as typed: case and spaces or dashes in it do not matter.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn random_code() -> Result<String, LinkError> {
    random_chars(CODE_LEN)
}

/// `n` random characters of the code alphabet, without bias (32 divides
/// 256).
fn random_chars(n: usize) -> Result<String, LinkError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| LinkError::Randomness(e.to_string()))?;
    Ok(bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(b % 32)]))
        .collect())
}

#[cfg(test)]
mod tests;
