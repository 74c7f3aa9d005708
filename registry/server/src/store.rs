//! The registry's state: [`Registry`], a handle on the sled database and
//! the records kept in its trees (see the crate documentation for the
//! layout).

mod account;
mod catalog;
mod community;
mod owners;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use plugboard_package::{Checksum, PublicKey};
use plugboard_registry_types::IndexEntry;
use plugboard_registry_types::api::ProvidedInterface;
use semver::Version;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::Tree;
use sled::transaction::{ConflictableTransactionError, Transactional};

use crate::Config;
use crate::error::StoreError;
use crate::names::{Clash, NameKind};
use crate::rate::{AddressLimiter, Backoffs, RateLimiter};
use crate::time;
use crate::tokens::{Scope, TOKEN_PREFIX};

pub(crate) use account::{KeyRevoked, RESET_SECONDS};
pub(crate) use catalog::{Catalog, Summary};
pub(crate) use community::{
    Moderation, Ratings, Reply, ReportTarget, SESSION_SECONDS, SignUp, Uncounted,
};
pub(crate) use owners::{Invitation, Invited, Removed};

/// The registry: its sled database, its configuration and the in-memory
/// publish rate limiter. Cheap to clone; every clone shares the same state.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use plugboard_registry::{Config, Registry, Scope};
///
/// let registry = Registry::open("/var/lib/plugboard-registry".as_ref(), Config::default())?;
/// let token = registry.create_token("alice", &[Scope::Publish])?;
/// println!("alice's token, shown once: {token}");
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, plugboard_registry::app(registry)).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    users: Tree,
    tokens: Tree,
    keys: Tree,
    plugins: Tree,
    versions: Tree,
    blobs: Tree,
    downloads: Tree,
    daily: Tree,
    plugin_downloads: Tree,
    /// The clients counted today, per version: salted hashes only.
    download_clients: Tree,
    sessions: Tree,
    reviews: Tree,
    ratings: Tree,
    reports: Tree,
    audit: Tree,
    invitations: Tree,
    password_resets: Tree,
    config: Config,
    limiter: RateLimiter,
    /// The per-address request rate every request passes.
    requests: AddressLimiter,
    /// Failed sign-ins per client address and subnet.
    backoffs: Backoffs,
    /// Held while checking and writing plugin, version and owner records, so
    /// that two publishes of one name cannot both see it free.
    write_lock: Mutex<()>,
    /// Bumped by every write that changes what the catalog shows.
    generation: AtomicU64,
    catalog: RwLock<Option<Arc<Catalog>>>,
    /// Held while the catalog is rebuilt, so that one request rebuilds it.
    catalog_build: Mutex<()>,
    /// Bumped by every review change.
    ratings_generation: AtomicU64,
    ratings_cache: RwLock<Option<(u64, RatingSummaries)>>,
    /// Rendered READMEs by package sha256, and their total size.
    readmes: Mutex<(HashMap<String, Arc<str>>, usize)>,
    /// The secret the signed-in visitors' CSRF tokens and the device
    /// cookies' signatures are derived from (kept in the `meta` tree, so
    /// they survive a restart).
    csrf_key: [u8; 32],
    /// The salt of today's `download_clients` hashes and its UTC day: drawn
    /// at random for each day, and kept only in memory.
    download_salt: Mutex<Option<(u64, [u8; 32])>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// An account: made by signing up on the web pages (with a password) or by
/// `plugboard-registry token create` (without one, until the operator sets
/// it with `plugboard-registry user password`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct UserRecord {
    pub created_at: u64,
    /// The argon2id PHC string of the web password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A registry admin: moderates reports, reviews and listings.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub admin: bool,
}

/// An API token, stored under the sha256 of the token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    pub user: String,
    pub scopes: Vec<Scope>,
    pub created_at: u64,
    /// What its owner called it, to tell their tokens apart.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
}

/// The version lists, pages and metadata show of a plugin: the newest that
/// is not yanked, stable versions before pre-releases.
pub(crate) fn newest_usable<T>(versions: &[T], entry: impl Fn(&T) -> &IndexEntry) -> Option<&T> {
    versions.iter().filter(|v| !entry(v).yanked).max_by(|a, b| {
        let (a, b) = (entry(a), entry(b));
        (a.version.pre.is_empty(), &a.version).cmp(&(b.version.pre.is_empty(), &b.version))
    })
}

/// How many bytes of a token's sha256 make its id (12 hex digits).
const TOKEN_ID_BYTES: usize = 6;

/// An API token as the operator sees it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The first 12 hex digits of the token's sha256: enough to name it in
    /// `token revoke`, useless to use it.
    pub id: String,
    /// Whose it is.
    pub user: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was made, in seconds since the Unix epoch.
    pub created_at: u64,
    /// What its owner called it (empty for the operator's tokens).
    pub name: String,
}

impl TokenInfo {
    /// When it was made, as RFC 3339 (UTC).
    pub fn created(&self) -> String {
        time::rfc3339(self.created_at)
    }
}

/// The id [`Registry::tokens`] shows for `token`.
pub fn token_id(token: &str) -> String {
    hex::encode(&token_hash(token)[..TOKEN_ID_BYTES])
}

/// What [`Registry::revoke_token`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revoked {
    /// The token is gone: requests with it are refused from now on.
    Revoked(TokenInfo),
    /// No token has that id.
    NotFound,
    /// That many tokens have ids starting so: give more digits.
    Ambiguous(usize),
}

/// A publisher key, stored under its key id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyRecord {
    pub user: String,
    pub public_key: String,
    pub created_at: u64,
    /// When its owner revoked it: publishes signed with it are refused
    /// from then on, and it stays readable so that the versions it signed
    /// still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

/// A plugin name and who owns it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PluginRecord {
    pub owners: Vec<String>,
    pub created_at: u64,
    pub updated_at: u64,
    /// Hidden from browsing and search by a moderator; still installable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delisted: bool,
    /// Set while moderators froze the plugin's ratings: ratings given or
    /// changed meanwhile are kept and do not count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratings_frozen: Option<Moderation>,
}

/// One published version: its index entry and what the marketplace shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    /// Publish order across the registry; index lines are sorted by it.
    pub seq: u64,
    pub entry: IndexEntry,
    pub published_at: u64,
    pub published_by: String,
    pub description: String,
    pub readme: String,
    pub license: Option<String>,
    pub homepage: Option<String>,
    pub repository: Option<String>,
    pub categories: Vec<String>,
    pub keywords: Vec<String>,
    /// The origins the `http` permission reaches (the manifest's `http`).
    #[serde(default)]
    pub http: Vec<String>,
    /// The commands the plugin answers.
    #[serde(default)]
    pub commands: Vec<CommandInfo>,
    /// The interfaces the version provides (the manifest's `provides`),
    /// each with its WIT, decoded from the component once at publish.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<ProvidedInterface>,
}

/// Every plugin's rating summary, by name.
pub(crate) type RatingSummaries = Arc<HashMap<String, Ratings>>;

/// A version record's index entry and date, read without the rest.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct VersionRow {
    pub seq: u64,
    pub entry: IndexEntry,
    pub published_at: u64,
}

/// A command as the plugin page lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CommandInfo {
    pub name: String,
    pub help: String,
    /// How to call it, as the manifest writes it (`/roll [NdM[+K]]`);
    /// absent from records written before registries kept it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<String>,
}

/// What [`Registry::add_key`] did.
pub(crate) enum KeyAdded {
    New(KeyRecord),
    Already(KeyRecord),
    OtherUser,
    /// The account revoked this key before: it cannot come back.
    Revoked,
}

/// Longest user name, in bytes.
pub const MAX_USER_LEN: usize = 39;

/// Checks a user name: lowercase `a-z0-9-`, starting with a letter, at most
/// [`MAX_USER_LEN`] bytes.
pub fn check_user_name(name: &str) -> Result<(), StoreError> {
    let problem = if name.is_empty() || name.len() > MAX_USER_LEN {
        Some(format!("use 1 to {MAX_USER_LEN} characters, like `alice`"))
    } else if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        Some("use lowercase letters a-z, digits and `-`, starting with a letter".into())
    } else {
        None
    };
    match problem {
        Some(problem) => Err(StoreError::InvalidUser {
            name: name.to_owned(),
            problem,
        }),
        None => Ok(()),
    }
}

fn corrupt(tree: &'static str, problem: impl ToString) -> StoreError {
    StoreError::Corrupt {
        tree,
        problem: problem.to_string(),
    }
}

fn decode<T: DeserializeOwned>(tree: &'static str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(tree, e))
}

fn encode<T: Serialize>(tree: &'static str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| corrupt(tree, e))
}

fn get<T: DeserializeOwned>(
    tree: &Tree,
    name: &'static str,
    key: impl AsRef<[u8]>,
) -> Result<Option<T>, StoreError> {
    tree.get(key)?.map(|bytes| decode(name, &bytes)).transpose()
}

fn counter(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

fn increment(old: Option<&[u8]>) -> Option<Vec<u8>> {
    Some(counter(old).saturating_add(1).to_be_bytes().to_vec())
}

/// `name\0` — the prefix of a plugin's keys in the per-version trees.
fn prefix(name: &str) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    key
}

fn version_key(name: &str, version: &Version) -> Vec<u8> {
    let mut key = prefix(name);
    key.extend_from_slice(version.to_string().as_bytes());
    key
}

fn daily_key(name: &str, day: u64, version: &Version) -> Vec<u8> {
    let mut key = prefix(name);
    key.extend_from_slice(time::date(day).as_bytes());
    key.push(0);
    key.extend_from_slice(version.to_string().as_bytes());
    key
}

/// The hash under which a token is stored.
pub(crate) fn token_hash(token: &str) -> [u8; 32] {
    *Checksum::of(token.as_bytes()).as_bytes()
}

/// The CSRF key from the `meta` tree, made on first use.
fn csrf_key(db: &sled::Db) -> Result<[u8; 32], StoreError> {
    let meta = db.open_tree("meta")?;
    if let Some(key) = meta.get("csrf-key")?
        && let Ok(key) = <[u8; 32]>::try_from(key.as_ref())
    {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| StoreError::Randomness(e.to_string()))?;
    meta.insert("csrf-key", &key[..])?;
    meta.flush()?;
    Ok(key)
}

impl Registry {
    /// Opens (or creates) the registry database in `dir`.
    ///
    /// sled locks the directory: only one process can have it open, so stop
    /// a running server before creating tokens from the command line.
    pub fn open(dir: &Path, config: Config) -> Result<Self, StoreError> {
        let db = sled::open(dir)?;
        let csrf_key = csrf_key(&db)?;
        let tree = |name: &str| db.open_tree(name);
        let inner = Inner {
            users: tree("users")?,
            tokens: tree("tokens")?,
            keys: tree("keys")?,
            plugins: tree("plugins")?,
            versions: tree("versions")?,
            blobs: tree("blobs")?,
            downloads: tree("downloads")?,
            daily: tree("daily")?,
            plugin_downloads: tree("plugin_downloads")?,
            download_clients: tree("download_clients")?,
            sessions: tree("sessions")?,
            reviews: tree("reviews")?,
            ratings: tree("ratings")?,
            reports: tree("reports")?,
            audit: tree("audit")?,
            invitations: tree("invitations")?,
            password_resets: tree("password_resets")?,
            db,
            limiter: RateLimiter::default(),
            requests: AddressLimiter::new(config.request_rate),
            backoffs: Backoffs::default(),
            config,
            write_lock: Mutex::new(()),
            generation: AtomicU64::new(0),
            catalog: RwLock::new(None),
            catalog_build: Mutex::new(()),
            ratings_generation: AtomicU64::new(0),
            ratings_cache: RwLock::new(None),
            readmes: Mutex::new((HashMap::new(), 0)),
            csrf_key,
            download_salt: Mutex::new(None),
        };
        // Hashes made with a salt that is gone can never match again.
        inner.download_clients.clear()?;
        let registry = Self {
            inner: Arc::new(inner),
        };
        registry.sweep_sessions()?;
        Ok(registry)
    }

    /// The configuration the registry was opened with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Seconds since the Unix epoch, now, by the configured
    /// [`Clock`](crate::Clock).
    pub(crate) fn now(&self) -> u64 {
        self.inner.config.clock.now()
    }

    pub(crate) fn limiter(&self) -> &RateLimiter {
        &self.inner.limiter
    }

    pub(crate) fn request_limiter(&self) -> &AddressLimiter {
        &self.inner.requests
    }

    pub(crate) fn backoffs(&self) -> &Backoffs {
        &self.inner.backoffs
    }

    /// The signature of a device cookie: a keyed hash of the user and the
    /// device id, nested (`H(key, H(key, message))`) so that it cannot be
    /// extended.
    pub(crate) fn device_mac(&self, user: &str, device: &str) -> String {
        let key = &self.inner.csrf_key;
        let mut input = Vec::with_capacity(32 + 8 + user.len() + device.len());
        input.extend_from_slice(key);
        input.extend_from_slice(b"device\0");
        input.extend_from_slice(user.as_bytes());
        input.push(0);
        input.extend_from_slice(device.as_bytes());
        let inner = Checksum::of(&input);
        let mut outer = Vec::with_capacity(64);
        outer.extend_from_slice(key);
        outer.extend_from_slice(inner.as_bytes());
        hex::encode(Checksum::of(&outer).as_bytes())
    }

    /// The CSRF token of the session `session`: a keyed hash of it, so that
    /// nobody without the session can make one.
    pub(crate) fn csrf_token(&self, session: &str) -> String {
        let mut input = Vec::with_capacity(32 + 5 + session.len());
        input.extend_from_slice(&self.inner.csrf_key);
        input.extend_from_slice(b"csrf:");
        input.extend_from_slice(session.as_bytes());
        hex::encode(Checksum::of(&input).as_bytes())
    }

    /// Why `name` may not be a new account's name, if it may not: the
    /// [`names::clash`](crate::names::clash) rule against the reserved names
    /// and every account. Every way an account is made asks it, under the
    /// write lock.
    pub(crate) fn user_name_clash(&self, name: &str) -> Result<Option<Clash>, StoreError> {
        let names = self
            .inner
            .users
            .iter()
            .keys()
            .map(|key| key.map(|key| String::from_utf8_lossy(&key).into_owned()))
            .collect::<Result<Vec<String>, _>>()?;
        Ok(crate::names::clash(name, names.iter().map(String::as_str)))
    }

    /// [`Registry::user_name_clash`] as the error the operator's commands
    /// answer.
    fn check_new_user(&self, name: &str) -> Result<(), StoreError> {
        match self.user_name_clash(name)? {
            None => Ok(()),
            Some(clash) => Err(StoreError::InvalidUser {
                name: name.to_owned(),
                problem: clash.explain(name, NameKind::User),
            }),
        }
    }

    /// Creates an API token for `user` with `scopes`, creating the user if
    /// needed (refused when the name is reserved or reads like another
    /// account's, see [`crate::names`]), and returns the token. Only its
    /// sha256 is stored, so this is the one time anyone sees it.
    pub fn create_token(&self, user: &str, scopes: &[Scope]) -> Result<String, StoreError> {
        self.create_named_token(user, scopes, "")
    }

    /// [`Registry::create_token`] with a name its owner tells it by.
    pub(crate) fn create_named_token(
        &self,
        user: &str,
        scopes: &[Scope],
        name: &str,
    ) -> Result<String, StoreError> {
        check_user_name(user)?;
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| StoreError::Randomness(e.to_string()))?;
        let token = format!("{}{}", TOKEN_PREFIX, hex::encode(secret));
        secret.fill(0);
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let now = self.now();
        let record = TokenRecord {
            user: user.to_owned(),
            scopes,
            created_at: now,
            name: name.to_owned(),
        };
        let user_record = encode(
            "users",
            &UserRecord {
                created_at: now,
                ..UserRecord::default()
            },
        )?;
        let token_record = encode("tokens", &record)?;
        let hash = token_hash(&token);
        let inner = &self.inner;
        let _lock = self.write_lock();
        if !self.user_exists(user)? {
            self.check_new_user(user)?;
        }
        (&inner.users, &inner.tokens).transaction(|(users, tokens)| {
            if users.get(user.as_bytes())?.is_none() {
                users.insert(user.as_bytes(), user_record.clone())?;
            }
            tokens.insert(&hash[..], token_record.clone())?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        inner.db.flush()?;
        Ok(token)
    }

    /// Every API token (of `user`, when given), oldest first, as `token
    /// list` shows them.
    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<TokenInfo>, StoreError> {
        let mut tokens = Vec::new();
        for item in self.inner.tokens.iter() {
            let (hash, bytes) = item?;
            let record: TokenRecord = decode("tokens", &bytes)?;
            if user.is_none_or(|u| u == record.user) {
                tokens.push(TokenInfo {
                    id: hex::encode(&hash[..TOKEN_ID_BYTES.min(hash.len())]),
                    user: record.user,
                    scopes: record.scopes,
                    created_at: record.created_at,
                    name: record.name,
                });
            }
        }
        tokens.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(tokens)
    }

    /// Revokes the token whose id (see [`TokenInfo::id`]) is or starts with
    /// `id` (at least 8 hex digits).
    pub fn revoke_token(&self, id: &str) -> Result<Revoked, StoreError> {
        let mut id = id.trim().to_ascii_lowercase();
        if id.len() < 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Revoked::NotFound);
        }
        // A whole sha256 (or any longer id) names the token by its id.
        id.truncate(TOKEN_ID_BYTES * 2);
        let matching: Vec<TokenInfo> = self
            .tokens(None)?
            .into_iter()
            .filter(|t| t.id.starts_with(&id))
            .collect();
        let [token] = matching.as_slice() else {
            return Ok(if matching.is_empty() {
                Revoked::NotFound
            } else {
                Revoked::Ambiguous(matching.len())
            });
        };
        let prefix = hex::decode(&token.id).map_err(|e| corrupt("tokens", e))?;
        let hashes: Vec<sled::IVec> = self
            .inner
            .tokens
            .scan_prefix(&prefix)
            .keys()
            .collect::<Result<_, _>>()?;
        for hash in hashes {
            self.inner.tokens.remove(hash)?;
        }
        self.inner.tokens.flush()?;
        Ok(Revoked::Revoked(token.clone()))
    }

    /// Whether an account named `user` exists.
    pub fn user_exists(&self, user: &str) -> Result<bool, StoreError> {
        Ok(self.inner.users.contains_key(user.as_bytes())?)
    }

    pub(crate) fn token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        get(&self.inner.tokens, "tokens", hash)
    }

    pub(crate) fn add_key(&self, user: &str, key: &PublicKey) -> Result<KeyAdded, StoreError> {
        let key_id = key.key_id();
        let record = KeyRecord {
            user: user.to_owned(),
            public_key: key.to_string(),
            created_at: self.now(),
            revoked_at: None,
        };
        let bytes = encode("keys", &record)?;
        let result = self.inner.keys.compare_and_swap(
            key_id.as_bytes(),
            None as Option<&[u8]>,
            Some(bytes),
        )?;
        match result {
            Ok(()) => {
                self.inner.keys.flush()?;
                Ok(KeyAdded::New(record))
            }
            Err(cas) => {
                let existing: KeyRecord =
                    decode("keys", cas.current.as_deref().unwrap_or_default())?;
                Ok(if existing.user == user && existing.revoked_at.is_some() {
                    KeyAdded::Revoked
                } else if existing.user == user {
                    KeyAdded::Already(existing)
                } else {
                    KeyAdded::OtherUser
                })
            }
        }
    }

    pub(crate) fn key(&self, key_id: &str) -> Result<Option<KeyRecord>, StoreError> {
        get(&self.inner.keys, "keys", key_id)
    }

    pub(crate) fn keys_of(&self, user: &str) -> Result<Vec<(String, KeyRecord)>, StoreError> {
        let mut keys = Vec::new();
        for item in self.inner.keys.iter() {
            let (id, bytes) = item?;
            let record: KeyRecord = decode("keys", &bytes)?;
            if record.user == user {
                keys.push((String::from_utf8_lossy(&id).into_owned(), record));
            }
        }
        keys.sort_by_key(|(_, k)| k.created_at);
        Ok(keys)
    }

    pub(crate) fn plugin(&self, name: &str) -> Result<Option<PluginRecord>, StoreError> {
        get(&self.inner.plugins, "plugins", name)
    }

    pub(crate) fn plugins(&self) -> Result<Vec<(String, PluginRecord)>, StoreError> {
        self.inner
            .plugins
            .iter()
            .map(|item| {
                let (name, bytes) = item?;
                Ok((
                    String::from_utf8_lossy(&name).into_owned(),
                    decode("plugins", &bytes)?,
                ))
            })
            .collect()
    }

    /// A plugin's versions in publish order.
    pub(crate) fn versions(&self, name: &str) -> Result<Vec<VersionRecord>, StoreError> {
        let mut versions = self
            .inner
            .versions
            .scan_prefix(prefix(name))
            .map(|item| decode::<VersionRecord>("versions", &item?.1))
            .collect::<Result<Vec<_>, _>>()?;
        versions.sort_by_key(|v| v.seq);
        Ok(versions)
    }

    /// A plugin's versions in publish order, without decoding the rest of
    /// the version records (READMEs, descriptions).
    pub(crate) fn version_rows(&self, name: &str) -> Result<Vec<VersionRow>, StoreError> {
        let mut rows = self
            .inner
            .versions
            .scan_prefix(prefix(name))
            .map(|item| decode::<VersionRow>("versions", &item?.1))
            .collect::<Result<Vec<_>, _>>()?;
        rows.sort_by_key(|row| row.seq);
        Ok(rows)
    }

    /// A plugin's index entries in publish order.
    pub(crate) fn index_entries(&self, name: &str) -> Result<Vec<IndexEntry>, StoreError> {
        Ok(self
            .version_rows(name)?
            .into_iter()
            .map(|row| row.entry)
            .collect())
    }

    pub(crate) fn version(
        &self,
        name: &str,
        version: &Version,
    ) -> Result<Option<VersionRecord>, StoreError> {
        get(&self.inner.versions, "versions", version_key(name, version))
    }

    /// Locks out other writers of plugin, version and owner records.
    pub(crate) fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.inner
            .write_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn next_seq(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.generate_id()?)
    }

    /// Stores a new version: the package bytes first (under their sha256),
    /// then the plugin and version records in one transaction, then flushes.
    /// A failure before the transaction leaves at most an unreferenced blob.
    pub(crate) fn commit_version(
        &self,
        name: &str,
        plugin: &PluginRecord,
        version: &VersionRecord,
        package: &[u8],
    ) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner
            .blobs
            .insert(version.entry.sha256.as_bytes(), package)?;
        let plugin_bytes = encode("plugins", plugin)?;
        let version_bytes = encode("versions", version)?;
        let key = version_key(name, &version.entry.version);
        (&inner.plugins, &inner.versions).transaction(|(plugins, versions)| {
            plugins.insert(name.as_bytes(), plugin_bytes.clone())?;
            versions.insert(key.clone(), version_bytes.clone())?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        inner.db.flush()?;
        self.touch();
        Ok(())
    }

    /// Rewrites a version record (to flip `yanked`). Hold the write lock.
    pub(crate) fn put_version(
        &self,
        name: &str,
        version: &VersionRecord,
    ) -> Result<(), StoreError> {
        let key = version_key(name, &version.entry.version);
        self.inner
            .versions
            .insert(key, encode("versions", version)?)?;
        self.inner.versions.flush()?;
        self.touch();
        Ok(())
    }

    /// Rewrites a plugin record (to change owners). Hold the write lock.
    pub(crate) fn put_plugin(&self, name: &str, plugin: &PluginRecord) -> Result<(), StoreError> {
        self.inner
            .plugins
            .insert(name.as_bytes(), encode("plugins", plugin)?)?;
        self.inner.plugins.flush()?;
        self.touch();
        Ok(())
    }

    /// Yanks or unyanks a version under the write lock: `None` when there is
    /// no such version, else whether the flag changed.
    pub(crate) fn set_yanked(
        &self,
        name: &str,
        version: &Version,
        yanked: bool,
    ) -> Result<Option<bool>, StoreError> {
        let _lock = self.write_lock();
        let Some(mut record) = self.version(name, version)? else {
            return Ok(None);
        };
        if record.entry.yanked == yanked {
            return Ok(Some(false));
        }
        record.entry.yanked = yanked;
        self.put_version(name, &record)?;
        Ok(Some(true))
    }

    /// Delists a plugin (or lists it again) under the write lock: `None`
    /// when there is no such plugin, else whether the flag changed.
    pub(crate) fn set_delisted(
        &self,
        name: &str,
        delisted: bool,
    ) -> Result<Option<bool>, StoreError> {
        let _lock = self.write_lock();
        let Some(mut plugin) = self.plugin(name)? else {
            return Ok(None);
        };
        if plugin.delisted == delisted {
            return Ok(Some(false));
        }
        plugin.delisted = delisted;
        self.put_plugin(name, &plugin)?;
        Ok(Some(true))
    }

    /// Freezes a plugin's ratings (`Some`: who, when and why) or thaws them
    /// (`None`) under the write lock: `None` when there is no such plugin,
    /// else whether that changed anything.
    pub(crate) fn set_ratings_frozen(
        &self,
        name: &str,
        frozen: Option<Moderation>,
    ) -> Result<Option<bool>, StoreError> {
        let _lock = self.write_lock();
        let Some(mut plugin) = self.plugin(name)? else {
            return Ok(None);
        };
        if plugin.ratings_frozen.is_some() == frozen.is_some() {
            return Ok(Some(false));
        }
        plugin.ratings_frozen = frozen;
        self.put_plugin(name, &plugin)?;
        Ok(Some(true))
    }

    /// Downloads of each of a plugin's versions, in one scan.
    pub(crate) fn downloads_by_version(
        &self,
        name: &str,
    ) -> Result<HashMap<String, u64>, StoreError> {
        let skip = name.len() + 1;
        self.inner
            .downloads
            .scan_prefix(prefix(name))
            .map(|item| {
                let (key, value) = item?;
                let version = key
                    .get(skip..)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .ok_or_else(|| corrupt("downloads", "a key is too short"))?;
                Ok((version, counter(Some(&value))))
            })
            .collect()
    }

    pub(crate) fn blob(&self, sha256: &str) -> Result<Option<sled::IVec>, StoreError> {
        Ok(self.inner.blobs.get(sha256.as_bytes())?)
    }

    /// Counts a download of `name` `version` by `client` (its address as
    /// [`Client::address_key`](crate::client::Client::address_key) writes
    /// it), unless that client was counted for that version today (UTC, by
    /// the registry's clock); whether it counted. A counted download
    /// increments the version's total, the day's count for the version and
    /// the plugin's total, in the transaction that remembers the client, so
    /// simultaneous downloads by one client count once.
    ///
    /// The client is remembered as a salted hash
    /// ([`download_client_key`](Self::download_client_key)), never as its
    /// address.
    pub(crate) fn count_download(
        &self,
        name: &str,
        version: &Version,
        client: &str,
    ) -> Result<bool, StoreError> {
        let inner = &self.inner;
        let day = time::day_of(self.now());
        let client_key = self.download_client_key(day, client, name, version)?;
        let version_key = version_key(name, version);
        let daily_key = daily_key(name, day, version);
        let counted = (
            &inner.download_clients,
            &inner.downloads,
            &inner.daily,
            &inner.plugin_downloads,
        )
            .transaction(|(clients, downloads, daily, totals)| {
                if clients.insert(client_key.as_slice(), &[][..])?.is_some() {
                    return Ok(false);
                }
                for (tree, key) in [
                    (downloads, version_key.as_slice()),
                    (daily, daily_key.as_slice()),
                    (totals, name.as_bytes()),
                ] {
                    let old = tree.get(key)?;
                    if let Some(new) = increment(old.as_deref()) {
                        tree.insert(key, new)?;
                    }
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(true)
            })?;
        Ok(counted)
    }

    /// The key that stands for `client` downloading `name` `version` on
    /// `day` in the `download_clients` tree: the day (8 bytes, big-endian)
    /// and the first 16 bytes of the sha256 of the day's salt, the client,
    /// the name and the version. The salt is random, drawn for each day and
    /// never written to disk, so the stored hashes cannot be turned back
    /// into addresses (not even by trying every IPv4 address), and tell
    /// nothing once the day is over.
    fn download_client_key(
        &self,
        day: u64,
        client: &str,
        name: &str,
        version: &Version,
    ) -> Result<Vec<u8>, StoreError> {
        let salt = self.download_salt(day)?;
        let version = version.to_string();
        let mut input = Vec::with_capacity(64 + client.len() + name.len() + version.len());
        input.extend_from_slice(&salt);
        input.extend_from_slice(b"download\0");
        for part in [client, name, version.as_str()] {
            input.extend_from_slice(part.as_bytes());
            input.push(0);
        }
        let hash = Checksum::of(&input);
        let mut key = day.to_be_bytes().to_vec();
        key.extend_from_slice(&hash.as_bytes()[..16]);
        Ok(key)
    }

    /// The salt of `day`'s client hashes, drawn when the day is first seen;
    /// a new day also forgets the clients of the days before.
    fn download_salt(&self, day: u64) -> Result<[u8; 32], StoreError> {
        let mut current = self
            .inner
            .download_salt
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((salt_day, salt)) = *current
            && salt_day == day
        {
            return Ok(salt);
        }
        let mut salt = [0u8; 32];
        getrandom::fill(&mut salt).map_err(|e| StoreError::Randomness(e.to_string()))?;
        let previous = current.replace((day, salt));
        drop(current);
        if previous.is_some() {
            self.forget_download_clients_before(day);
        }
        Ok(salt)
    }

    /// Removes the `download_clients` entries of the days before `day`, on
    /// a thread of its own: a busy day leaves many, and the download that
    /// started the new day should not wait for them.
    fn forget_download_clients_before(&self, day: u64) {
        let tree = self.inner.download_clients.clone();
        let end = day.to_be_bytes();
        let sweep = move || {
            for key in tree.range(..end).keys() {
                let removed = key.and_then(|key| tree.remove(key));
                if let Err(error) = removed {
                    tracing::warn!("could not forget an earlier day's download clients: {error}");
                    return;
                }
            }
        };
        if let Err(error) = std::thread::Builder::new()
            .name("download-clients-sweep".into())
            .spawn(sweep)
        {
            tracing::warn!("could not start forgetting earlier days' download clients: {error}");
        }
    }

    pub(crate) fn version_downloads(
        &self,
        name: &str,
        version: &Version,
    ) -> Result<u64, StoreError> {
        let bytes = self.inner.downloads.get(version_key(name, version))?;
        Ok(counter(bytes.as_deref()))
    }

    pub(crate) fn plugin_downloads(&self, name: &str) -> Result<u64, StoreError> {
        let bytes = self.inner.plugin_downloads.get(name.as_bytes())?;
        Ok(counter(bytes.as_deref()))
    }

    /// Downloads of all versions per date, from day `first` on, oldest first.
    pub(crate) fn daily_downloads(
        &self,
        name: &str,
        first: u64,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let mut start = prefix(name);
        start.extend_from_slice(time::date(first).as_bytes());
        let mut end = name.as_bytes().to_vec();
        end.push(1);
        let mut days: BTreeMap<String, u64> = BTreeMap::new();
        for item in self.inner.daily.range(start..end) {
            let (key, value) = item?;
            let date = key
                .get(name.len() + 1..name.len() + 11)
                .map(|d| String::from_utf8_lossy(d).into_owned())
                .ok_or_else(|| corrupt("daily", "a key is too short"))?;
            *days.entry(date).or_default() += counter(Some(&value));
        }
        Ok(days.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn downloads_count_once_per_client_version_and_day() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Password(e.to_string()))?;
        let config = Config::default();
        let clock = config.clock.clone();
        let registry = Registry::open(dir.path(), config)?;
        let (v1, v2) = (Version::new(0, 1, 0), Version::new(0, 2, 0));
        let count =
            |version: &Version, client: &str| registry.count_download("dice", version, client);
        assert!(count(&v1, "192.0.2.1")?, "the first");
        assert!(!count(&v1, "192.0.2.1")?, "the same client again");
        assert!(count(&v2, "192.0.2.1")?, "another version");
        assert!(count(&v1, "192.0.2.2")?, "another client");
        assert_eq!(registry.plugin_downloads("dice")?, 3);
        assert_eq!(registry.version_downloads("dice", &v1)?, 2);

        // Only salted hashes are kept: no address, in keys or values.
        let keys: Vec<sled::IVec> = registry
            .inner
            .download_clients
            .iter()
            .keys()
            .collect::<Result<_, _>>()?;
        assert_eq!(keys.len(), 3);
        for key in &keys {
            assert_eq!(key.len(), 24);
            assert!(!key.windows(9).any(|w| w == b"192.0.2.1"), "{key:?}");
        }

        // The next day the client counts again, and yesterday's hashes go.
        clock.advance(Duration::from_secs(86_400));
        assert!(count(&v1, "192.0.2.1")?, "a new day");
        assert!(!count(&v1, "192.0.2.1")?);
        assert_eq!(registry.version_downloads("dice", &v1)?, 3);
        let today = time::day_of(registry.now()).to_be_bytes();
        let deadline = Instant::now() + Duration::from_secs(30);
        while registry
            .inner
            .download_clients
            .range(..today)
            .next()
            .is_some()
        {
            assert!(
                Instant::now() < deadline,
                "yesterday's hashes were never forgotten"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(registry.inner.download_clients.len(), 1);
        Ok(())
    }
}
