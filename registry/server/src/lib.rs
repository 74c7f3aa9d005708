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
//! <addr>`) and creates tokens (`token create <user> --scope publish`). The
//! logic lives here so that tests run the same [`app`] in-process:
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use plugboard_registry::{Config, Registry, app};
//!
//! let registry = Registry::open("registry-data".as_ref(), Config::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! println!("listening on http://{}", listener.local_addr()?);
//! axum::serve(listener, app(registry)).await?;
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
//! | `PUT`, `DELETE` | `/api/v1/plugins/<name>/owners` | owners, owner | [`Owners`](api::Owners) after the change |
//! | `GET` | `/index/<name>` | — | one [`IndexEntry`] line per version, `ETag`, 304 on `If-None-Match` |
//! | `GET` | `/api/v1/plugins/<name>/<version>/download` | — | the package, counted |
//! | `GET` | `/api/v1/plugins?q=&category=&sort=&page=&per_page=` | — | [`SearchResults`](api::SearchResults) |
//! | `GET` | `/api/v1/plugins/<name>` | — | [`PluginInfo`](api::PluginInfo) |
//!
//! ## Request flow
//!
//! A request passes axum's body limit (16 MiB, [`Limits::package`], for a
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
//! Storage ([`Registry`] in `store`, with `store/catalog` and
//! `store/community`) sits below the web layer and imports nothing from it:
//! what it needs from elsewhere is domain code beside it, [`tokens`] (scopes
//! and the token format), [`password`] (the length rule and argon2id) and
//! [`rate`] (token buckets the registry keeps and the handlers take). Above
//! it, the JSON API (`routes`, [`publish`], [`auth`]'s bearer-token
//! extractor) and the web pages (`web`: `page` for responses and layout,
//! `session` for the visitor extractor and CSRF, `account` for sign-up,
//! sign-in and sign-out, `moderation`, `render`, `assets`).
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
//! | `tokens` | sha256 of the token (32 bytes) | `{user, scopes, created_at}` |
//! | `keys` | key id (16 hex digits) | `{user, public_key, created_at}` |
//! | `plugins` | plugin name | `{owners, created_at, updated_at, delisted?}` |
//! | `versions` | `name\0version` | the [`IndexEntry`], publish sequence number, publisher, time, description, README, licence, links, categories, keywords, HTTP origins, commands |
//! | `blobs` | sha256 hex of the package | the package bytes |
//! | `downloads` | `name\0version` | downloads of the version |
//! | `daily` | `name\0YYYY-MM-DD\0version` | downloads of the version that UTC day |
//! | `plugin_downloads` | plugin name | downloads of all versions |
//! | `sessions` | sha256 of the session cookie | `{user, created_at, expires_at}` |
//! | `reviews` | `plugin\0author` | `{rating, body, created_at, updated_at, hidden?, reply?}` |
//! | `ratings` | plugin name | how many visible reviews gave 1…5 stars |
//! | `reports` | id (big-endian `u64`) | `{target, reporter, reason, created_at, closed?}` |
//! | `audit` | id (big-endian `u64`) | `{at, admin, action, target, reason}` |
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
//! blob, never an index entry without its package. A download increments its
//! three counters in one transaction. Times are seconds since the Unix
//! epoch, UTC.
//!
//! [`IndexEntry`]: plugboard_registry_types::IndexEntry
//! [`Limits::package`]: plugboard_package::Limits::package
//! [`app`]: app()
#![deny(missing_docs)]

pub mod auth;
mod error;
mod interfaces;
pub mod names;
pub mod password;
pub mod publish;
pub mod rate;
mod routes;
mod search;
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
pub use rate::RateLimit;
pub use routes::{DEFAULT_PER_PAGE, DOWNLOAD_DAYS, MAX_PER_PAGE};
pub use store::{MAX_USER_LEN, Registry, Revoked, TokenInfo, check_user_name, token_id};
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
    /// How often one client address may try to sign in (or sign up), and
    /// how many failed sign-ins one account may have from one address: 10
    /// per 5 minutes. An account also refuses sign-ins after ten times as
    /// many failures from everywhere.
    pub signin_rate: RateLimit,
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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            json_limit: 64 << 10,
            publish_rate: RateLimit::new(10, Duration::from_secs(60)),
            signin_rate: RateLimit::new(10, Duration::from_secs(300)),
            write_rate: RateLimit::new(30, Duration::from_secs(60)),
            behind_proxy: false,
            secure_cookies: false,
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
        .route("/index/{name}", get(routes::index))
        .merge(web::routes())
        .fallback(web::fallback)
        .method_not_allowed_fallback(web::method_not_allowed)
        .layer(DefaultBodyLimit::max(json_limit))
        .with_state(registry)
}

/// Serves [`app`] on `listener` until `shutdown` completes, then finishes
/// the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = app(registry).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
