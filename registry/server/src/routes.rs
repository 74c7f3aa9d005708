//! The handlers other than publishing: keys, yank, owners, the sparse
//! index, downloads, search and plugin metadata.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use plugboard_package::{Checksum, PackageError, PublicKey, Signature, sha256_hex};
use plugboard_registry_types::api::{
    DayDownloads, Done, Downloads, Invitation, Invitations, Key, Keys, NewKey, Owners, PluginInfo,
    SearchHit, SearchMeta, SearchResults, SearchSort, VersionInfo,
};
use plugboard_registry_types::manifest::check_name;
use semver::Version;
use serde::Deserialize;

use crate::auth::{Authed, Scope};
use crate::client::Client;
use crate::error::AppError;
use crate::search::Filter;
use crate::store::{
    Invited, KeyAdded, KeyRecord, PluginRecord, Registry, Removed, VersionRecord, newest_usable,
};
use crate::time;

/// How many days of per-day downloads the metadata endpoint shows.
pub const DOWNLOAD_DAYS: u64 = 90;
/// The largest `per_page` a search accepts.
pub const MAX_PER_PAGE: u32 = 100;
/// The `per_page` of a search that does not say.
pub const DEFAULT_PER_PAGE: u32 = 20;

fn no_plugin(name: &str) -> AppError {
    AppError::not_found(format!(
        "no plugin named `{name}` on this registry; check the spelling, or search with \
         `GET /api/v1/plugins?q={name}`"
    ))
}

/// 404 for paths whose name could not be a plugin's, before any lookup.
fn plausible(name: &str) -> Result<(), AppError> {
    check_name(name).map_err(|_| no_plugin(name))
}

fn parse_version(name: &str, text: &str) -> Result<Version, AppError> {
    text.parse().map_err(|e| {
        AppError::bad_request(format!(
            "`{text}` is not a version of `{name}` ({e}); write a full semver version like 1.2.3"
        ))
    })
}

pub(crate) fn key_json(key_id: String, record: KeyRecord) -> Key {
    Key {
        key_id,
        public_key: record.public_key,
        created_at: time::rfc3339(record.created_at),
        revoked_at: record.revoked_at.map(time::rfc3339),
    }
}

/// `POST /api/v1/keys`.
pub(crate) async fn add_key(
    State(registry): State<Registry>,
    authed: Authed,
    body: Result<Json<NewKey>, JsonRejection>,
) -> Result<(StatusCode, Json<Key>), AppError> {
    authed.require(Scope::Publish)?;
    let Json(body) = body?;
    let (status, key) = register_key(&registry, &authed.user, &body, &[authed.token_hash])?;
    Ok((status, Json(key)))
}

/// Registers the key of `body` on `user`'s account, the one rule for the
/// API and the web page: the key must parse, and `body.proof` must be its
/// proof of possession for one of `tokens` (sha256 of API tokens of
/// `user`). 201 and the key when it is new, 200 when it was registered
/// already.
pub(crate) fn register_key(
    registry: &Registry,
    user: &str,
    body: &NewKey,
    tokens: &[[u8; 32]],
) -> Result<(StatusCode, Key), AppError> {
    let key: PublicKey = body.public_key.trim().parse().map_err(|e: PackageError| {
        AppError::bad_request(format!(
            "{e}; send the public key `plugboard plugin keygen` printed, as 64 hex digits"
        ))
    })?;
    let proof: Signature = body.proof.trim().parse().map_err(|e: PackageError| {
        AppError::unprocessable(format!(
            "the key's proof of possession is missing or malformed ({e}): send `proof`, the \
             key's signature over `plugboard-key-v1:` + sha256(token) + key (`plugboard key \
             register` does it)"
        ))
    })?;
    let mut verified = Err(AppError::unprocessable(
        "the key's proof of possession was made for no API token of this account; make it \
         with one of your tokens (`plugboard key register` does it)",
    ));
    for token in tokens {
        match key.verify_possession(&Checksum::from_bytes(*token), &proof) {
            Ok(()) => {
                verified = Ok(());
                break;
            }
            Err(e) => verified = Err(AppError::unprocessable(e.to_string())),
        }
    }
    verified?;
    match registry.add_key(user, &key)? {
        KeyAdded::New(record) => {
            registry.audit(user, "add-key", &key.key_id(), "")?;
            Ok((StatusCode::CREATED, key_json(key.key_id(), record)))
        }
        KeyAdded::Already(record) => Ok((StatusCode::OK, key_json(key.key_id(), record))),
        KeyAdded::OtherUser => Err(AppError::conflict(format!(
            "key `{}` is registered on another account, and a key belongs to one account; \
             generate a new key pair for yourself and register its public key",
            key.key_id()
        ))),
        KeyAdded::Revoked => Err(AppError::conflict(revoked_key(&key.key_id()))),
    }
}

/// Why a revoked key cannot be registered again.
pub(crate) fn revoked_key(key_id: &str) -> String {
    format!(
        "key `{key_id}` was revoked on your account, and a revoked key stays revoked; generate \
         a new key with `plugboard key generate` and register it"
    )
}

/// `GET /api/v1/keys`.
pub(crate) async fn list_keys(
    State(registry): State<Registry>,
    authed: Authed,
) -> Result<Json<Keys>, AppError> {
    let keys = registry
        .keys_of(&authed.user)?
        .into_iter()
        .map(|(id, record)| key_json(id, record))
        .collect();
    Ok(Json(Keys { keys }))
}

/// `GET /api/v1/keys/<key id>`: a publisher key, public, so that clients
/// can verify the signatures the index names.
pub(crate) async fn get_key(
    State(registry): State<Registry>,
    Path(key_id): Path<String>,
) -> Result<Json<Key>, AppError> {
    match registry.key(&key_id)? {
        Some(record) => Ok(Json(key_json(key_id, record))),
        None => Err(AppError::not_found(format!(
            "no publisher key with id `{key_id}` in this registry"
        ))),
    }
}

/// 403 unless `user` owns `plugin`.
fn require_owner(name: &str, plugin: &PluginRecord, user: &str) -> Result<(), AppError> {
    if plugin.owners.iter().any(|o| o == user) {
        return Ok(());
    }
    Err(AppError::forbidden(format!(
        "you (`{user}`) are not an owner of `{name}`; its owners are {}. Ask one of them to \
         invite you (`PUT /api/v1/plugins/{name}/owners`), then accept with `PUT \
         /api/v1/invitations/{name}`",
        plugin.owners.join(", ")
    )))
}

/// `DELETE /api/v1/plugins/<name>/<version>/yank`.
pub(crate) async fn yank(
    State(registry): State<Registry>,
    authed: Authed,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Done>, AppError> {
    blocking(move || set_yanked(&registry, &authed, &name, &version, true)).await
}

/// `PUT /api/v1/plugins/<name>/<version>/unyank`.
pub(crate) async fn unyank(
    State(registry): State<Registry>,
    authed: Authed,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Done>, AppError> {
    blocking(move || set_yanked(&registry, &authed, &name, &version, false)).await
}

/// Runs store work that takes the write lock (and flushes) off the async
/// threads, so a long publish never parks them.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::internal(format!("the request's task failed ({e}); try again")))?
}

fn set_yanked(
    registry: &Registry,
    authed: &Authed,
    name: &str,
    version: &str,
    yanked: bool,
) -> Result<Json<Done>, AppError> {
    authed.require(Scope::Yank)?;
    let version = parse_version(name, version)?;
    let plugin = registry.plugin(name)?.ok_or_else(|| no_plugin(name))?;
    require_owner(name, &plugin, &authed.user)?;
    match registry.set_yanked(name, &version, yanked)? {
        None => Err(AppError::not_found(format!(
            "`{name}` has no version {version}; `GET /index/{name}` lists the published versions"
        ))),
        Some(changed) => {
            if changed {
                tracing::info!(%name, %version, yanked, by = %authed.user, "yank flag changed");
            }
            Ok(Json(Done { ok: true }))
        }
    }
}

/// A plugin's owners and the users invited to join them, for answers.
fn owners_of(registry: &Registry, name: &str, plugin: PluginRecord) -> Result<Owners, AppError> {
    Ok(Owners {
        users: plugin.owners,
        invited: registry
            .invitations_to(name)?
            .into_iter()
            .map(|i| i.invitee)
            .collect(),
    })
}

/// `GET /api/v1/plugins/<name>/owners`.
pub(crate) async fn owners(
    State(registry): State<Registry>,
    Path(name): Path<String>,
) -> Result<Json<Owners>, AppError> {
    let plugin = registry.plugin(&name)?.ok_or_else(|| no_plugin(&name))?;
    Ok(Json(owners_of(&registry, &name, plugin)?))
}

/// `PUT /api/v1/plugins/<name>/owners`: invites the users.
pub(crate) async fn add_owners(
    State(registry): State<Registry>,
    authed: Authed,
    Path(name): Path<String>,
    body: Result<Json<Owners>, JsonRejection>,
) -> Result<Json<Owners>, AppError> {
    blocking(move || invite_owners(&registry, &authed, &name, body)).await
}

/// `DELETE /api/v1/plugins/<name>/owners`.
pub(crate) async fn remove_owners(
    State(registry): State<Registry>,
    authed: Authed,
    Path(name): Path<String>,
    body: Result<Json<Owners>, JsonRejection>,
) -> Result<Json<Owners>, AppError> {
    blocking(move || remove_owners_of(&registry, &authed, &name, body)).await
}

/// The users a `PUT` or `DELETE` of owners names, after the scope check.
fn named_users(
    authed: &Authed,
    body: Result<Json<Owners>, JsonRejection>,
) -> Result<Vec<String>, AppError> {
    authed.require(Scope::Owners)?;
    let Json(Owners { users, .. }) = body?;
    if users.is_empty() {
        return Err(AppError::bad_request(
            "`users` is empty; list the user names to invite or remove, like {\"users\":[\"bob\"]}",
        ));
    }
    Ok(users)
}

fn invite_owners(
    registry: &Registry,
    authed: &Authed,
    name: &str,
    body: Result<Json<Owners>, JsonRejection>,
) -> Result<Json<Owners>, AppError> {
    let users = named_users(authed, body)?;
    let plugin = registry.plugin(name)?.ok_or_else(|| no_plugin(name))?;
    require_owner(name, &plugin, &authed.user)?;
    // Every name first, so that a mistyped one invites nobody.
    for user in &users {
        if !registry.user_exists(user)? {
            return Err(AppError::unprocessable(format!(
                "there is no account `{user}` on this registry; they create one by signing up \
                 on the registry's web pages (or the operator with `plugboard-registry token \
                 create {user}`), then you invite them"
            )));
        }
    }
    for user in &users {
        match registry.invite_owner(name, &authed.user, user)? {
            Invited::Sent => {
                tracing::info!(%name, invitee = %user, by = %authed.user, "owner invited");
            }
            Invited::AlreadyOwner => {}
            Invited::NoSuchPlugin => return Err(no_plugin(name)),
            Invited::NoSuchUser | Invited::NotOwner => {
                return Err(AppError::conflict(format!(
                    "the owners of `{name}` or the account `{user}` changed meanwhile; look at \
                     `GET /api/v1/plugins/{name}/owners` and try again"
                )));
            }
        }
    }
    let plugin = registry.plugin(name)?.ok_or_else(|| no_plugin(name))?;
    Ok(Json(owners_of(registry, name, plugin)?))
}

fn remove_owners_of(
    registry: &Registry,
    authed: &Authed,
    name: &str,
    body: Result<Json<Owners>, JsonRejection>,
) -> Result<Json<Owners>, AppError> {
    let users = named_users(authed, body)?;
    match registry.remove_owners(name, &authed.user, &users)? {
        Removed::Done(owners) => {
            tracing::info!(%name, ?owners, by = %authed.user, "owners changed");
            let plugin = registry.plugin(name)?.ok_or_else(|| no_plugin(name))?;
            Ok(Json(owners_of(registry, name, plugin)?))
        }
        Removed::LastOwner => Err(AppError::conflict(format!(
            "removing {} would leave `{name}` without owners; invite another owner and wait \
             until they accept first",
            users.join(", ")
        ))),
        Removed::NoSuchPlugin => Err(no_plugin(name)),
        Removed::NotOwner => {
            let plugin = registry.plugin(name)?.ok_or_else(|| no_plugin(name))?;
            require_owner(name, &plugin, &authed.user)?;
            Err(AppError::conflict(format!(
                "the owners of `{name}` changed meanwhile; try again"
            )))
        }
    }
}

/// `GET /api/v1/invitations`: the token's account's open invitations.
pub(crate) async fn invitations(
    State(registry): State<Registry>,
    authed: Authed,
) -> Result<Json<Invitations>, AppError> {
    let invitations = registry
        .invitations_for(&authed.user)?
        .into_iter()
        .map(|i| Invitation {
            plugin: i.plugin,
            invited_by: i.record.by.clone(),
            created_at: time::rfc3339(i.record.created_at),
            expires_at: time::rfc3339(i.record.expires_at()),
        })
        .collect();
    Ok(Json(Invitations { invitations }))
}

/// `PUT /api/v1/invitations/<name>`: accepts an invitation.
pub(crate) async fn accept_invitation(
    State(registry): State<Registry>,
    authed: Authed,
    Path(name): Path<String>,
) -> Result<Json<Owners>, AppError> {
    blocking(move || answer_invitation(&registry, &authed, &name, true)).await
}

/// `DELETE /api/v1/invitations/<name>`: declines an invitation.
pub(crate) async fn decline_invitation(
    State(registry): State<Registry>,
    authed: Authed,
    Path(name): Path<String>,
) -> Result<Json<Owners>, AppError> {
    blocking(move || answer_invitation(&registry, &authed, &name, false)).await
}

fn answer_invitation(
    registry: &Registry,
    authed: &Authed,
    name: &str,
    accept: bool,
) -> Result<Json<Owners>, AppError> {
    authed.require(Scope::Owners)?;
    let Some(plugin) = registry.answer_invitation(name, &authed.user, accept)? else {
        return Err(AppError::not_found(format!(
            "you (`{}`) have no open invitation to own `{name}`; `GET /api/v1/invitations` \
             lists yours (an invitation can be answered for 30 days; ask an owner to invite \
             you again)",
            authed.user
        )));
    };
    tracing::info!(%name, user = %authed.user, accept, "invitation answered");
    Ok(Json(owners_of(registry, name, plugin)?))
}

/// `GET /index/<name>`: the sparse index file, with a strong ETag.
pub(crate) async fn index(
    State(registry): State<Registry>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    plausible(&name)?;
    let entries = registry.index_entries(&name)?;
    if entries.is_empty() {
        return Err(no_plugin(&name));
    }
    let mut body = String::new();
    for entry in &entries {
        body.push_str(&entry.to_line());
        body.push('\n');
    }
    let etag = format!("\"{}\"", sha256_hex(body.as_bytes()));
    let etag_value = HeaderValue::from_str(&etag)
        .map_err(|e| AppError::internal(format!("the ETag is not a header value ({e})")))?;
    let cache = (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if none_match(&headers, &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), cache],
        )
            .into_response());
    }
    Ok((
        [
            (header::ETAG, etag_value),
            cache,
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
        ],
        body,
    )
        .into_response())
}

/// Whether `If-None-Match` lists `etag` (or `*`), comparing weakly as
/// RFC 9110 says for this header.
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// `GET /api/v1/plugins/<name>/<version>/download` (and `HEAD`): the
/// package, counted once per client, version and day when [`uncounted`]
/// finds nothing against it.
pub(crate) async fn download(
    State(registry): State<Registry>,
    Path((name, version)): Path<(String, String)>,
    parts: Parts,
) -> Result<Response, AppError> {
    plausible(&name)?;
    let version = parse_version(&name, &version)?;
    let record = registry.version(&name, &version)?.ok_or_else(|| {
        if matches!(registry.plugin(&name), Ok(None)) {
            no_plugin(&name)
        } else {
            AppError::not_found(format!(
                "`{name}` has no version {version}; `GET /index/{name}` lists the published \
                 versions"
            ))
        }
    })?;
    let sha256 = &record.entry.sha256;
    let bytes = registry.blob(sha256)?.ok_or_else(|| {
        AppError::internal(format!(
            "the package of `{name}` {version} (sha256 {sha256}) is missing from the store"
        ))
    })?;
    match uncounted(&parts.method, &parts.headers) {
        Some(why) => tracing::debug!(%name, %version, why, "download not counted"),
        None => {
            let client = Client::of_parts(&parts, registry.config().behind_proxy);
            // A failed count must not cost the client its package.
            if let Err(error) = registry.count_download(&name, &version, &client.address_key()) {
                tracing::error!(%name, %version, "could not count a download: {error}");
            }
        }
    }
    let disposition = format!("attachment; filename=\"{name}-{version}.plugboard.tar.gz\"");
    let disposition = HeaderValue::from_str(&disposition)
        .map_err(|e| AppError::internal(format!("bad Content-Disposition ({e})")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/gzip"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes.to_vec(),
    )
        .into_response())
}

/// Why a download request is not counted, or `None` when it counts: the
/// one rule for what a download is (docs/registry-api.md, "Download").
/// A download counts when someone asked for the package: a client like
/// `plugboard install` or curl, or a person who opened the link. It does
/// not count when a browser fetched it on a page's behalf, which any page
/// (a README image, another site) can make every visitor's browser do:
///
/// * a request other than `GET` (`HEAD` reads the headers only);
/// * from a browser that sends fetch metadata (`Sec-Fetch-*`, which pages
///   cannot set): anything but a navigation its user started
///   (`Sec-Fetch-Mode: navigate` with `Sec-Fetch-User: ?1`), so images,
///   scripts, `fetch()` calls, frames and script-driven navigations do not
///   count;
/// * from a browser without fetch metadata: an `Accept` that asks for an
///   image, audio, video or a style sheet rather than the package
///   (`application/gzip`), or a `Referer` on this registry's own host (a
///   registry page embedding it; README links send no `Referer`).
///
/// What counts is then counted once per client, version and UTC day
/// ([`Registry::count_download`]).
pub(crate) fn uncounted(method: &Method, headers: &HeaderMap) -> Option<&'static str> {
    if method != Method::GET {
        return Some("not a GET");
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let metadata = [
        "sec-fetch-site",
        "sec-fetch-mode",
        "sec-fetch-dest",
        "sec-fetch-user",
    ];
    if metadata.iter().any(|name| headers.contains_key(*name)) {
        let navigation =
            header("sec-fetch-mode").is_some_and(|m| m.eq_ignore_ascii_case("navigate"));
        let by_user = header("sec-fetch-user") == Some("?1");
        return (!(navigation && by_user))
            .then_some("a browser fetched it for a page, not at its user's request");
    }
    let accepted: Vec<String> = header("accept")
        .unwrap_or_default()
        .split(',')
        .filter_map(|item| item.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase())
        .collect();
    let page_resource = accepted.iter().any(|media| {
        ["image/", "audio/", "video/"]
            .iter()
            .any(|kind| media.starts_with(kind))
            || media == "text/css"
    });
    if page_resource && !accepted.iter().any(|media| media == "application/gzip") {
        return Some("the client asked for an image or another page resource");
    }
    let referer_host = header("referer").and_then(|referer| {
        let (_, rest) = referer.split_once("://")?;
        rest.split(['/', '?', '#']).next()
    });
    let own_host = |host: &str| {
        ["host", "x-forwarded-host"]
            .iter()
            .filter_map(|name| header(name))
            .any(|own| own.eq_ignore_ascii_case(host))
    };
    if referer_host.is_some_and(own_host) {
        return Some("a page of this registry asked for it");
    }
    None
}

/// Whether `url` (absolute, protocol-relative or relative to any page)
/// points at a package download of a Plugboard registry: a path ending in
/// `plugins/<name>/<version>/download`, read leniently, as a browser or a
/// lenient server might (tabs and newlines dropped, `\` as `/`,
/// percent-escapes decoded, case ignored, `.` and `..` resolved, query and
/// fragment ignored). The README renderer drops images with such a URL.
pub(crate) fn is_download_url(url: &str) -> bool {
    let cleaned: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c })
        .collect();
    let decoded = percent_decode(&cleaned).to_ascii_lowercase();
    let target = decoded.split(['?', '#']).next().unwrap_or_default();
    let after_authority = |rest: &str| rest.find('/').map_or("", |at| &rest[at..]).to_owned();
    let path = match target.split_once("://") {
        Some((scheme, rest)) if !scheme.contains('/') => after_authority(rest),
        _ => match target.strip_prefix("//") {
            Some(rest) => after_authority(rest),
            None => target.to_owned(),
        },
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment.trim() {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    matches!(segments.as_slice(), [.., "plugins", _, _, "download"])
}

/// `text` with `%XX` escapes decoded (invalid UTF-8 replaced).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The newest version that is not yanked, stable versions before pre-releases.
fn latest(versions: &[VersionRecord]) -> Option<&VersionRecord> {
    newest_usable(versions, |v| &v.entry)
}

/// The query of `GET /api/v1/plugins`.
#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    #[serde(default)]
    q: String,
    category: Option<String>,
    sort: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// `GET /api/v1/plugins?q=&category=&sort=&page=&per_page=`.
pub(crate) async fn search(
    State(registry): State<Registry>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<SearchResults>, AppError> {
    let Query(query) = query?;
    let sort: SearchSort = match query.sort.as_deref() {
        None | Some("") => SearchSort::default(),
        Some(text) => text.parse().map_err(AppError::bad_request)?,
    };
    let page = query.page.unwrap_or(1);
    let per_page = query.per_page.unwrap_or(DEFAULT_PER_PAGE);
    if page == 0 || per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(AppError::bad_request(format!(
            "`page` counts from 1 and `per_page` is 1 to {MAX_PER_PAGE}; got page={page}, \
             per_page={per_page}"
        )));
    }
    let filter = Filter {
        category: query.category,
        ..Filter::query(&query.q, sort)
    };
    let listing = registry.listing()?;
    let hits = listing.find(&filter);
    let did_you_mean = listing.did_you_mean(&filter, &hits);
    let total = hits.len() as u64;
    let skip = usize::try_from(u64::from(page - 1) * u64::from(per_page)).unwrap_or(usize::MAX);
    let plugins = hits
        .into_iter()
        .skip(skip)
        .take(per_page as usize)
        .map(|p| SearchHit {
            name: p.name.clone(),
            version: p.version.clone(),
            description: p.description.clone(),
            downloads: listing.downloads_of(&p.name),
            updated_at: time::rfc3339(p.updated_at),
            categories: p.categories.clone(),
        })
        .collect();
    Ok(Json(SearchResults {
        plugins,
        meta: SearchMeta {
            total,
            page,
            per_page,
        },
        did_you_mean,
    }))
}

/// `GET /api/v1/plugins/<name>`.
pub(crate) async fn metadata(
    State(registry): State<Registry>,
    Path(name): Path<String>,
) -> Result<Json<PluginInfo>, AppError> {
    plausible(&name)?;
    let plugin = registry.plugin(&name)?.ok_or_else(|| no_plugin(&name))?;
    let mut versions = registry.versions(&name)?;
    versions.sort_by(|a, b| b.entry.version.cmp(&a.entry.version));
    let latest_version = latest(&versions).map(|v| v.entry.version.clone());
    let shown = latest(&versions)
        .or_else(|| versions.first())
        .ok_or_else(|| AppError::internal(format!("`{name}` has an owner record but no versions")))?
        .clone();
    let today = time::day_of(registry.now());
    let first_day = today.saturating_sub(DOWNLOAD_DAYS - 1);
    let per_day = registry
        .daily_downloads(&name, first_day)?
        .into_iter()
        .map(|(date, downloads)| DayDownloads { date, downloads })
        .collect();
    let imports = crate::interfaces::imported(&registry, &shown.entry)?;
    let used_by = crate::interfaces::used_by(&registry, &name)?;
    let mut version_infos = Vec::with_capacity(versions.len());
    for v in versions {
        version_infos.push(VersionInfo {
            downloads: registry.version_downloads(&name, &v.entry.version)?,
            version: v.entry.version,
            yanked: v.entry.yanked,
            published_at: time::rfc3339(v.published_at),
            published_by: v.published_by,
            wit: v.entry.wit,
            permissions: v.entry.permissions,
            deps: v.entry.deps,
            provides: v.entry.provides,
            imports: v.entry.imports,
            sha256: v.entry.sha256,
        });
    }
    Ok(Json(PluginInfo {
        downloads: Downloads {
            total: registry.plugin_downloads(&name)?,
            per_day,
        },
        name,
        latest: latest_version,
        description: shown.description,
        readme: shown.readme,
        license: shown.license,
        homepage: shown.homepage,
        repository: shown.repository,
        categories: shown.categories,
        keywords: shown.keywords,
        owners: plugin.owners,
        created_at: time::rfc3339(plugin.created_at),
        updated_at: time::rfc3339(plugin.updated_at),
        versions: version_infos,
        provides: shown.interfaces,
        imports,
        used_by,
    }))
}

/// Any path the API does not have.
pub(crate) async fn not_found(method: Method, uri: Uri) -> AppError {
    AppError::not_found(format!(
        "this registry has no endpoint `{method} {}`; docs/registry-api.md lists them",
        uri.path()
    ))
}

/// A known path with a method it does not take.
pub(crate) async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "`{}` does not take {method}; docs/registry-api.md lists the methods of each path",
            uri.path()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers Chromium sends for an `<img>` on a registry page.
    const CHROMIUM_IMAGE: &[(&str, &str)] = &[
        (
            "accept",
            "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
        ),
        ("referer", "https://registry.example/plugins/dice"),
        ("sec-fetch-dest", "image"),
        ("sec-fetch-mode", "no-cors"),
        ("sec-fetch-site", "same-origin"),
        ("host", "registry.example"),
    ];

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            let name = header::HeaderName::from_bytes(name.as_bytes()).expect("a header name");
            map.append(name, HeaderValue::from_str(value).expect("a header value"));
        }
        map
    }

    #[test]
    fn what_counts_as_a_download() {
        let navigation_by_user: &[(&str, &str)] = &[
            ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
            ("sec-fetch-dest", "document"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-user", "?1"),
        ];
        let host = ("host", "registry.example");
        for (method, pairs, counts, case) in [
            (Method::GET, &[][..], true, "a bare client"),
            (
                Method::GET,
                &[("accept", "*/*"), ("user-agent", "plugboard/0.1.0")][..],
                true,
                "plugboard install",
            ),
            (
                Method::GET,
                &[("accept", "application/gzip, image/png")][..],
                true,
                "asks for the package first of all",
            ),
            (Method::HEAD, &[][..], false, "HEAD"),
            (Method::POST, &[][..], false, "not a GET"),
            (
                Method::GET,
                CHROMIUM_IMAGE,
                false,
                "a README image in Chromium",
            ),
            (
                Method::GET,
                &[
                    ("sec-fetch-dest", "image"),
                    ("sec-fetch-mode", "no-cors"),
                    ("sec-fetch-site", "cross-site"),
                ][..],
                false,
                "an image on another site",
            ),
            (
                Method::GET,
                &[
                    ("sec-fetch-dest", "empty"),
                    ("sec-fetch-mode", "cors"),
                    ("sec-fetch-site", "cross-site"),
                ][..],
                false,
                "fetch() from another site",
            ),
            (
                Method::GET,
                &[
                    ("sec-fetch-dest", "iframe"),
                    ("sec-fetch-mode", "navigate"),
                    ("sec-fetch-site", "cross-site"),
                ][..],
                false,
                "a frame",
            ),
            (
                Method::GET,
                &[
                    ("sec-fetch-dest", "document"),
                    ("sec-fetch-mode", "navigate"),
                    ("sec-fetch-site", "cross-site"),
                ][..],
                false,
                "a navigation a script started",
            ),
            (
                Method::GET,
                navigation_by_user,
                true,
                "a person opens the link",
            ),
            (
                Method::GET,
                &[("accept", "image/webp,*/*")][..],
                false,
                "an image in a browser without fetch metadata",
            ),
            (
                Method::GET,
                &[("accept", "text/css,*/*;q=0.1")][..],
                false,
                "a style sheet",
            ),
            (
                Method::GET,
                &[
                    ("accept", "*/*"),
                    ("referer", "https://registry.example/plugins/dice"),
                    host,
                ][..],
                false,
                "a registry page embeds it",
            ),
            (
                Method::GET,
                &[
                    ("accept", "*/*"),
                    ("referer", "https://REGISTRY.example:443/"),
                    ("host", "elsewhere.example"),
                    ("x-forwarded-host", "registry.example:443"),
                ][..],
                false,
                "a registry page behind a proxy",
            ),
            (
                Method::GET,
                &[
                    ("accept", "*/*"),
                    ("referer", "https://blog.example/post"),
                    host,
                ][..],
                true,
                "a link on another site, in an old browser",
            ),
        ] {
            let why = uncounted(&method, &headers(pairs));
            assert_eq!(why.is_none(), counts, "{case}: {why:?}");
        }
    }

    #[test]
    fn download_urls_are_recognised_however_written() {
        for url in [
            "/api/v1/plugins/dice/0.1.0/download",
            "https://registry.example/api/v1/plugins/dice/0.1.0/download",
            "//registry.example/api/v1/plugins/dice/0.1.0/download?x=1#y",
            "api/v1/plugins/dice/0.1.0/download",
            "../../api/v1/plugins/dice/0.1.0/download/",
            "/API/V1/Plugins/Dice/0.1.0/Download",
            "/api/v1/plugins/dice/0.1.0/%64ownload",
            "/api/v1/plugins/dice/0.1.0/download/./",
            "/api/v1/plugins/dice/0.1.0/x/../download",
            "\\api\\v1\\plugins\\dice\\0.1.0\\download",
            "/api/v1/plugins/dice/0.1.0/down\tload",
            "http://127.0.0.1:8080/api//v1/plugins/dice/0.1.0//download",
        ] {
            assert!(is_download_url(url), "{url}");
        }
        for url in [
            "https://img.shields.io/badge/downloads-100-green",
            "https://example.com/download",
            "https://github.com/o/r/releases/download/v1/screenshot.png",
            "/api/v1/plugins/dice",
            "/api/v1/plugins/dice/0.1.0/download.png",
            "data:image/png;base64,AAAA",
            "/plugins/dice",
            "%zz/%4",
            "",
        ] {
            assert!(!is_download_url(url), "{url}");
        }
    }
}
