//! # plugboard-registry
//!
//! The Plugboard marketplace registry server: accounts and API tokens,
//! publisher keys, signed publishing, owners, yanking, a cargo-style sparse
//! index, counted downloads, search and plugin metadata, over HTTP with
//! [axum] and an embedded [sled] database; and the marketplace's web pages
//! (browse, search, plugin and publisher pages, accounts, ratings and
//! reviews, reports and moderation), served by the same process from the
//! same store (`docs/marketplace.md`).
//!
//! The binary `plugboard-registry` runs it (`serve --data <dir> --listen
//! <addr>`) and runs the operator's commands (`token create <user> --scope
//! publish`, `user reset-link <user>`, …), while it serves too. The
//! logic lives here so that tests run the same [`app`] in-process:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use plugboard_registry::{Config, Registry};
//!
//! let registry = Registry::open("registry-data".as_ref(), Config::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("listening on http://{}", listener.local_addr()?);
//! plugboard_registry::serve(listener, registry, std::future::pending()).await?;
//! # Ok(())
//! # }
//! ```
//!
//! ## The HTTP API
//!
//! Bodies are JSON ([`plugboard_registry_types::api`]) except the package
//! (`application/gzip`) and the index (JSON lines). Write endpoints need
//! `Authorization: Bearer <token>` with the scope shown ([`Scope`]); every
//! error is `{"errors":[{"detail":"…"}]}` with a fitting status
//! ([`AppError`]). `docs/registry-api.md` has the full reference.
//!
//! | method | path | token scope | answer |
//! | --- | --- | --- | --- |
//! | `POST` | `/api/v1/keys` | publish | 201 [`Key`](api::Key) (200 if already registered) |
//! | `GET` | `/api/v1/keys` | any | [`Keys`](api::Keys) |
//! | `GET` | `/api/v1/keys/<key id>` | none | [`Key`](api::Key) |
//! | `PUT` | `/api/v1/plugins/new` | publish | 201 [`Published`](api::Published); see [`publish`] |
//! | `DELETE` | `/api/v1/plugins/<name>/<version>/yank` | yank, owner | [`Done`](api::Done) |
//! | `PUT` | `/api/v1/plugins/<name>/<version>/unyank` | yank, owner | [`Done`](api::Done) |
//! | `GET` | `/api/v1/plugins/<name>/owners` | — | [`Owners`](api::Owners) |
//! | `PUT`, `DELETE` | `/api/v1/plugins/<name>/owners` | owners, owner | [`Owners`](api::Owners) after the change (`PUT` invites) |
//! | `GET` | `/api/v1/invitations` | any | [`Invitations`](api::Invitations) of the token's account |
//! | `PUT`, `DELETE` | `/api/v1/invitations/<name>` | owners | accept or decline: [`Owners`](api::Owners) after |
//! | `GET` | `/index/<name>` | — | one [`IndexEntry`] line per version, `ETag`, 304 on `If-None-Match` |
//! | `GET` | `/api/v1/plugins/<name>/<version>/download` | — | the package, counted once per client and day (see below) |
//! | `GET` | `/api/v1/plugins?q=&category=&sort=&page=&per_page=` | — | [`SearchResults`](api::SearchResults) |
//! | `GET` | `/api/v1/plugins/<name>` | — | [`PluginInfo`](api::PluginInfo) |
//!
//! ## Request flow
//!
//! [`serve`] accepts a connection unless its client address already holds
//! [`Config::connections_per_address`] connections, and times out slow
//! heads, bodies and reads ([`Config::header_timeout`],
//! [`Config::body_timeout`], [`Config::idle_timeout`]). A request first
//! passes the address's request rate ([`Config::request_rate`], 429), then
//! axum's body limit (16 MiB, [`Limits::package`], for a
//! publish; [`Config::json_limit`] elsewhere; 413 beyond), then the
//! extractors: the [`Authed`](auth) extractor looks the bearer token's
//! sha256 up in the `tokens` tree (401 when absent or unknown), and the
//! handler checks the scope (403). Reads need no token. Handlers touch sled
//! directly; a publish runs its CPU-heavy part (signature, unpacking, the
//! component check) on the blocking pool. Checks and writes of plugin,
//! version and owner records happen under one write lock, so two publishes of
//! a new name cannot both take it. Writes that matter (publishes, yanks,
//! owners, keys, tokens) are flushed to disk before they are answered.
//!
//! ## Layers
//!
//! Storage ([`Registry`] in `store`, with `store/catalog`,
//! `store/community` and `store/owners`, the invitation rules) sits below
//! the web layer and imports nothing from it: what it needs from elsewhere
//! is domain code beside it, [`tokens`] (scopes and the token format),
//! [`password`] (the length rule and argon2id), [`names`] (the one rule for
//! new plugin and account names: reserved names and look-alikes), `time`
//! (dates and the [`Clock`]) and [`rate`] (token buckets,
//! failure delays and the per-address request rate the registry keeps and
//! the handlers take). `client` is the one rule for a client's address and
//! subnet. Above it, `server` (the connection loop, its timeouts and caps,
//! and the middleware every request passes), the JSON API (`routes`,
//! [`publish`], [`auth`]'s bearer-token extractor) and the web pages
//! (`web`: `page` for responses and layout, `session` for the visitor
//! extractor and CSRF, `account` for sign-up, sign-in (and its limits) and
//! sign-out, `owners` for owners and invitations, `settings` for a
//! publisher's own tokens, keys, password, reset link and yanks,
//! `version` for the page of one published version, `moderation`,
//! `render`, `assets`). "Did you mean" on the 404 page and in search (API
//! and page) comes from [`similar_names`], the rule `plugboard install`
//! uses too. Beside them, [`admin`]: the
//! operator's commands as requests one function runs, and the loopback
//! admin endpoint through which the binary's commands reach a running
//! server.
//!
//! ## Storage: the sled trees
//!
//! One sled database in the `--data` directory. Records are JSON; counters
//! are big-endian `u64`; `\0` separates key parts (names and versions never
//! contain it).
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `users` | user name | `{created_at, password?, admin?}` (argon2id PHC string) |
//! | `tokens` | sha256 of the token (32 bytes) | `{user, scopes, created_at, name?}` |
//! | `keys` | key id (16 hex digits) | `{user, public_key, created_at, revoked_at?}` (a revoked key signs no new publish, and stays readable so that what it signed still verifies) |
//! | `plugins` | plugin name | `{owners, created_at, updated_at, delisted?, ratings_frozen?}` |
//! | `versions` | `name\0version` | the [`IndexEntry`], publish sequence number, publisher, time, description, README, licence, links, categories, keywords, HTTP origins, commands |
//! | `blobs` | sha256 hex of the package | the package bytes |
//! | `downloads` | `name\0version` | downloads of the version |
//! | `daily` | `name\0YYYY-MM-DD\0version` | downloads of the version that UTC day |
//! | `plugin_downloads` | plugin name | downloads of all versions |
//! | `download_clients` | UTC day (big-endian `u64`) + 16 bytes of sha256(the day's salt, client address, name, version) | empty: the client was counted for that version that day |
//! | `sessions` | sha256 of the session cookie | `{user, created_at, expires_at}` |
//! | `reviews` | `plugin\0author` | `{rating, body, created_at, updated_at, hidden?, reply?, uncounted?}` (`uncounted`: why the rating does not count, decided when it was given) |
//! | `ratings` | plugin name | how many visible reviews whose rating counts gave 1…5 stars, and how many visible ones do not count |
//! | `reports` | id (big-endian `u64`) | `{target, reporter, reason, created_at, closed?}` |
//! | `audit` | id (big-endian `u64`) | `{at, by, action, target, reason}`: moderation and owner changes |
//! | `invitations` | `plugin\0invitee` | `{by, created_at}`: an invitation to own the plugin, open for 30 days |
//! | `password_resets` | sha256 of the reset link's secret | `{user, created_at}`: a one-time password reset link the operator issued, valid for an hour |
//!
//! Search, the lists of the web pages and the API's search read an
//! in-memory catalog: one summary per plugin (its newest usable version,
//! owners, rating summary), rebuilt on the first read after a write that
//! changes it (publish, yank, owners, review, listing). Downloads are read
//! in one scan per request. A plugin page reads each of its trees once
//! (versions, reviews, per-version and per-day downloads, ratings), and
//! rendered READMEs are kept by package checksum. A review and its rating
//! summary change in one transaction.
//!
//! A publish writes the blob first, then the `plugins` and `versions`
//! records in one transaction: a failure in between leaves an unreferenced
//! blob, never an index entry without its package. A download that counts
//! (`routes::uncounted` says which do: not `HEAD`, not a browser fetching
//! it for a page) records its client's salted hash and increments its three
//! counters in one transaction, unless the hash is already there: one
//! client counts once per version and UTC day. The day's salt is random and
//! lives only in memory, so the stored hashes never lead back to an
//! address; a new day (or a restart) draws a new one and forgets the old
//! hashes. Times are seconds since the Unix epoch, UTC, read from the
//! configured [`Clock`].
//!
//! [`IndexEntry`]: plugboard_registry_types::IndexEntry
//! [`similar_names`]: plugboard_registry_types::similar::similar_names
//! [`Limits::package`]: plugboard_package::Limits::package
//! [`app`]: app()
#![deny(missing_docs)]

pub mod admin;
pub mod auth;
mod client;
mod error;
mod interfaces;
pub mod names;
pub mod password;
pub mod publish;
pub mod rate;
mod routes;
mod search;
mod server;
mod store;
mod time;
pub mod tokens;
mod web;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, put};
use plugboard_package::Limits;
pub use plugboard_registry_types::api;

pub use error::{AppError, StoreError};
pub use password::{MAX_PASSWORD, MIN_PASSWORD, check_password};
pub use rate::{Backoff, RateLimit};
pub use routes::{DEFAULT_PER_PAGE, DOWNLOAD_DAYS, MAX_PER_PAGE};
pub use store::{MAX_USER_LEN, Registry, Revoked, TokenInfo, check_user_name, token_id};
pub use time::Clock;
pub use tokens::Scope;

/// How the registry behaves; [`Config::default`] suits a public registry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The package limits a publish is checked against, as a client checks
    /// them when it installs; `limits.package` is also the publish request's
    /// body limit.
    pub limits: Limits,
    /// The largest body of any other request, in bytes: 64 KiB.
    pub json_limit: usize,
    /// How often one token may publish: 10 per minute.
    pub publish_rate: RateLimit,
    /// How often one client address may try to sign in (failed or not)
    /// from a browser that has not signed in to the account before, and
    /// sign up: 10 per 5 minutes.
    pub signin_rate: RateLimit,
    /// The delays after failed sign-ins from browsers that have not signed
    /// in to the account before, per client address: 5 failures free, then
    /// 1 s doubling up to 15 minutes, forgotten an hour after the last
    /// failure. Per subnet (IPv4 /24, IPv6 /56) the same with four times as
    /// many free failures.
    pub signin_backoff: Backoff,
    /// How many failed sign-ins one account may have from browsers that
    /// have not signed in to it before, from everywhere: 20 per 15 minutes.
    /// Past it only a browser that signed in to the account before (it
    /// holds the signed device cookie the registry sets then) may try.
    pub account_signin_rate: RateLimit,
    /// How many failed sign-ins one such known browser may have: 10 per 15
    /// minutes. It is not subject to the limits above, so failures from
    /// elsewhere never lock the account's owner out of a browser they used
    /// before.
    pub device_signin_rate: RateLimit,
    /// How often one account may post reviews, answers and reports: 30 per
    /// minute.
    pub write_rate: RateLimit,
    /// Take the client's address for rate limits from the last entry of
    /// `X-Forwarded-For` (set it when, and only when, a proxy that sets
    /// that header stands in front of the registry; otherwise every client
    /// would share the proxy's address).
    pub behind_proxy: bool,
    /// Mark the web pages' cookies `Secure` (set it when the registry is
    /// served over TLS; a request with `X-Forwarded-Proto: https` gets
    /// them anyway).
    pub secure_cookies: bool,
    /// How long a client has to send a request's head (the request line
    /// and headers), counted from when the connection starts waiting for
    /// one: when it opens and after each answer. So it is also how long an
    /// idle keep-alive connection stays open: 10 s.
    pub header_timeout: Duration,
    /// How long a client has to send a request's whole body, counted from
    /// when the registry starts reading it: 120 s (a 16 MiB publish then
    /// needs about 1.1 Mbit/s). Past it the request fails and the
    /// connection closes.
    pub body_timeout: Duration,
    /// How long one read or write on a connection may wait without a byte
    /// moving before the connection is closed (a client that stops reading
    /// its answer, or stops sending): 60 s.
    pub idle_timeout: Duration,
    /// How many connections one client address (an IPv6 client by its /64)
    /// may hold open at once: 64; more are closed as soon as they are
    /// accepted. 0 turns the cap off. Not applied with
    /// [`behind_proxy`](Self::behind_proxy), where every connection comes
    /// from the proxy: cap connections there.
    pub connections_per_address: u32,
    /// How many requests one client address may make: 200 back to back,
    /// refilled at 20 a second. Past it the answer is 429 with
    /// `Retry-After`. A burst of 0 turns it off.
    pub request_rate: RateLimit,
    /// How old an account must be for its ratings to count toward a
    /// plugin's shown rating: 7 days. A rating counts when its account was
    /// at least this old when the rating was given or last changed (and
    /// the plugin's ratings were not frozen by a moderator); younger
    /// accounts' reviews show, marked, but do not move the average.
    /// `Duration::ZERO` counts every account's rating.
    pub rating_min_account_age: Duration,
    /// The clock the registry reads ([`Clock`]): the system's, unless a
    /// test moves it forward.
    pub clock: Clock,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            json_limit: 64 << 10,
            publish_rate: RateLimit::new(10, Duration::from_secs(60)),
            signin_rate: RateLimit::new(10, Duration::from_secs(300)),
            signin_backoff: Backoff {
                free: 5,
                first: Duration::from_secs(1),
                max: Duration::from_secs(15 * 60),
                forget: Duration::from_secs(60 * 60),
            },
            account_signin_rate: RateLimit::new(20, Duration::from_secs(15 * 60)),
            device_signin_rate: RateLimit::new(10, Duration::from_secs(15 * 60)),
            write_rate: RateLimit::new(30, Duration::from_secs(60)),
            behind_proxy: false,
            secure_cookies: false,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(60),
            connections_per_address: 64,
            request_rate: RateLimit::new(200, Duration::from_secs(10)),
            rating_min_account_age: Duration::from_secs(7 * 24 * 60 * 60),
            clock: Clock::default(),
        }
    }
}

/// The registry's HTTP API as an axum router over `registry`.
pub fn app(registry: Registry) -> Router {
    let package_limit = usize::try_from(registry.config().limits.package).unwrap_or(usize::MAX);
    let json_limit = registry.config().json_limit;
    Router::new()
        .route("/api/v1/keys", get(routes::list_keys).post(routes::add_key))
        .route("/api/v1/keys/{key_id}", get(routes::get_key))
        .route("/api/v1/plugins", get(routes::search))
        .route(
            "/api/v1/plugins/new",
            put(publish::publish).layer(DefaultBodyLimit::max(package_limit)),
        )
        .route("/api/v1/plugins/{name}", get(routes::metadata))
        .route(
            "/api/v1/plugins/{name}/owners",
            get(routes::owners)
                .put(routes::add_owners)
                .delete(routes::remove_owners),
        )
        .route(
            "/api/v1/plugins/{name}/{version}/download",
            get(routes::download),
        )
        .route(
            "/api/v1/plugins/{name}/{version}/yank",
            axum::routing::delete(routes::yank),
        )
        .route(
            "/api/v1/plugins/{name}/{version}/unyank",
            put(routes::unyank),
        )
        .route("/api/v1/invitations", get(routes::invitations))
        .route(
            "/api/v1/invitations/{name}",
            put(routes::accept_invitation).delete(routes::decline_invitation),
        )
        .route("/index/{name}", get(routes::index))
        .merge(web::routes())
        .fallback(web::fallback)
        .method_not_allowed_fallback(web::method_not_allowed)
        .layer(DefaultBodyLimit::max(json_limit))
        .layer(axum::middleware::from_fn_with_state(
            registry.clone(),
            server::guard,
        ))
        .with_state(registry)
}

/// Serves [`app`] on `listener` until `shutdown` completes, then finishes
/// the requests in flight: HTTP/1 with the timeouts and the per-address
/// connection cap of the registry's [`Config`] (the `server` module
/// explains them; `docs/registry-api.md` shows how to deploy).
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, registry, shutdown).await
}
