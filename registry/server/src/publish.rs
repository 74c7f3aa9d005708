//! `PUT /api/v1/plugins/new`: publishing a version.
//!
//! The request carries the package file as its body (at most
//! [`Limits::package`](plugboard_package::Limits::package), 16 MiB by
//! default) and two headers:
//!
//! ```text
//! PUT /api/v1/plugins/new
//! Authorization: Bearer pbr_…                 (a token with the `publish` scope)
//! X-Plugboard-Signature: <128 hex digits>     (ed25519 over the package's sha256)
//! X-Plugboard-Key-Id: <16 hex digits>         (a key registered on the token's account)
//! Content-Type: application/gzip
//!
//! <the .plugboard.tar.gz bytes>
//! ```
//!
//! The checks run cheapest first and each failure has its own status:
//!
//! 1. the token (401) and its `publish` scope (403), then the token's rate
//!    limit (429 with `Retry-After`);
//! 2. the body size (413) and the two headers (400);
//! 3. the key: registered on this account (403), and the signature over the
//!    body's sha256 verifies with it (422);
//! 4. the package unpacks with exactly the checks a client makes when it
//!    installs ([`plugboard_package::unpack`]): archive shape, sizes,
//!    manifest, component, and the component's interfaces against
//!    `provides` and `imports` (422 with the unpacker's message); then the
//!    WIT of each interface in `provides` is decoded from the component, to
//!    be stored with the version for the plugin page;
//! 5. under the registry's write lock: for a new name, not reserved (422)
//!    and not confusable with another owner's plugin (409), both by
//!    [`names::clash`](crate::names::clash); for an existing
//!    name, the user is an owner (403); the version is new (409, whatever
//!    the bytes); every dependency names a plugin here with a version, not
//!    yanked, that matches the requirement (422); every interface in
//!    `imports` is provided, at a compatible version, by such a version of
//!    the dependency it comes from (422, naming the interface, the
//!    dependency and what its versions provide);
//! 6. the package bytes are stored under their sha256, then the plugin and
//!    version records in one transaction, then the database is flushed, and
//!    only then is the publish answered (201 with [`Published`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use plugboard_package::{Checksum, PackageError, PublicKey, Signature, unpack};
use plugboard_registry_types::IndexEntry;
use plugboard_registry_types::api::{KEY_ID_HEADER, Published, SIGNATURE_HEADER};

use crate::auth::{Authed, Scope};
use crate::error::AppError;
use crate::names::{Clash, NameKind, clash};
use crate::store::{CommandInfo, PluginRecord, Registry, VersionRecord};

/// The handler.
pub(crate) async fn publish(
    State(registry): State<Registry>,
    authed: Authed,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Published>), AppError> {
    authed.require(Scope::Publish)?;
    let rate = registry.config().publish_rate;
    registry
        .limiter()
        .take(&authed.token_hash, rate)
        .map_err(|wait| {
            AppError::too_many_requests(
                format!(
                    "this token may publish {} times per {} seconds; try again in {wait} seconds",
                    rate.burst,
                    rate.per.as_secs()
                ),
                wait,
            )
        })?;
    let body =
        body.map_err(|rejection| body_error(&rejection, registry.config().limits.package))?;
    let signature: Signature = header(&headers, SIGNATURE_HEADER)?.parse().map_err(
        |e: PackageError| {
            AppError::bad_request(format!(
                "{e} in the {SIGNATURE_HEADER} header; send the signature `plugboard plugin sign` \
                 printed"
            ))
        },
    )?;
    let key_id = header(&headers, KEY_ID_HEADER)?.to_owned();
    let published = tokio::task::spawn_blocking(move || {
        publish_blocking(&registry, &authed.user, &body, &signature, &key_id)
    })
    .await
    .map_err(|e| AppError::internal(format!("the publish task failed ({e}); try again")))??;
    tracing::info!(
        name = %published.name,
        version = %published.version,
        sha256 = %published.sha256,
        "published"
    );
    Ok((StatusCode::CREATED, Json(published)))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Result<&'h str, AppError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            AppError::bad_request(format!(
                "the `{name}` header is missing; a publish sends the package as the body with \
                 `{SIGNATURE_HEADER}: <signature hex>` and `{KEY_ID_HEADER}: <key id>`"
            ))
        })
}

fn body_error(rejection: &BytesRejection, limit: u64) -> AppError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the package is larger than this registry's limit of {} MiB for a compressed \
                 package; make plugin.wasm smaller (build with the `plugin` profile) or trim the \
                 README and icon",
                limit >> 20
            ),
        )
    } else {
        AppError::new(
            rejection.status(),
            format!("could not read the request body: {}", rejection.body_text()),
        )
    }
}

/// Everything after the request is read: verify, unpack, check, store.
fn publish_blocking(
    registry: &Registry,
    user: &str,
    bytes: &[u8],
    signature: &Signature,
    key_id: &str,
) -> Result<Published, AppError> {
    let not_yours = || {
        AppError::forbidden(format!(
            "key id `{key_id}` is not registered on your account `{user}`; register your public \
             key with `POST /api/v1/keys` and sign with its secret key"
        ))
    };
    let key = registry.key(key_id)?.ok_or_else(not_yours)?;
    if key.user != user {
        return Err(not_yours());
    }
    if key.revoked_at.is_some() {
        return Err(AppError::forbidden(format!(
            "key `{key_id}` was revoked on your account `{user}`, so it signs no new versions; \
             generate a new key with `plugboard key generate` and register it"
        )));
    }
    let public_key: PublicKey = key.public_key.parse().map_err(|e| {
        AppError::internal(format!("the stored key `{key_id}` does not parse ({e})"))
    })?;
    let checksum = Checksum::of(bytes);
    public_key
        .verify(&checksum, signature)
        .map_err(|e| AppError::unprocessable(e.to_string()))?;
    let contents = unpack(bytes, &registry.config().limits).map_err(|e| match e {
        PackageError::PackageTooLarge { .. } => {
            AppError::new(StatusCode::PAYLOAD_TOO_LARGE, e.to_string())
        }
        e => AppError::unprocessable(e.to_string()),
    })?;
    let manifest = contents.manifest();
    let name = manifest.name.as_str();
    let version = &manifest.version;
    if !version.build.is_empty() {
        // Requirements ignore build metadata: `1.0.0+x` beside `1.0.0` would
        // let the bytes behind `=1.0.0` change.
        return Err(AppError::unprocessable(format!(
            "version {version} carries build metadata (`+{}`), which version requirements              ignore; publish it as a new version without `+…`",
            version.build
        )));
    }

    // Outside the write lock: decoding a large component takes a moment.
    let interfaces = crate::interfaces::provided_wit(contents.component(), manifest);

    let _lock = registry.write_lock();
    let now = registry.now();
    let plugin = match registry.plugin(name)? {
        Some(mut plugin) => {
            if !plugin.owners.iter().any(|o| o == user) {
                return Err(AppError::forbidden(format!(
                    "`{name}` belongs to {}; only its owners may publish versions of it. Ask an \
                     owner to invite you (`PUT /api/v1/plugins/{name}/owners`) and accept with \
                     `PUT /api/v1/invitations/{name}`, or choose another name",
                    plugin.owners.join(", ")
                )));
            }
            if registry.version(name, version)?.is_some() {
                return Err(AppError::conflict(format!(
                    "version {version} of `{name}` is already published, and published versions \
                     never change; bump `version` in plugin.toml and publish again"
                )));
            }
            plugin.updated_at = now;
            plugin
        }
        None => {
            // Look-alikes of the publisher's own plugins are allowed.
            let others: Vec<String> = registry
                .plugins()?
                .into_iter()
                .filter(|(_, record)| !record.owners.iter().any(|o| o == user))
                .map(|(other, _)| other)
                .collect();
            match clash(name, others.iter().map(String::as_str)) {
                None => {}
                Some(found @ Clash::Reserved { .. }) => {
                    return Err(AppError::unprocessable(
                        found.explain(name, NameKind::Plugin),
                    ));
                }
                Some(found) => {
                    return Err(AppError::conflict(found.explain(name, NameKind::Plugin)));
                }
            }
            PluginRecord {
                owners: vec![user.to_owned()],
                created_at: now,
                updated_at: now,
                delisted: false,
                ratings_frozen: None,
            }
        }
    };
    for (dep, req) in &manifest.dependencies {
        let versions = registry.versions(dep)?;
        if versions.is_empty() {
            return Err(AppError::unprocessable(format!(
                "`{name}` depends on `{dep}`, which is not published on this registry; publish \
                 `{dep}` first, or remove it from [dependencies] in plugin.toml"
            )));
        }
        if !versions
            .iter()
            .any(|v| !v.entry.yanked && req.matches(&v.entry.version))
        {
            let listed: Vec<String> = versions
                .iter()
                .map(|v| {
                    let yanked = if v.entry.yanked { " (yanked)" } else { "" };
                    format!("{}{yanked}", v.entry.version)
                })
                .collect();
            return Err(AppError::unprocessable(format!(
                "`{name}` requires `{dep}` {req}, but no published version that is not yanked \
                 matches (published: {}); change the requirement in [dependencies]",
                listed.join(", ")
            )));
        }
    }

    crate::interfaces::check_imports(registry, manifest)?;

    let entry = IndexEntry::from_manifest(
        manifest,
        checksum.to_string(),
        signature.to_string(),
        key_id.to_owned(),
    );
    let record = VersionRecord {
        seq: registry.next_seq()?,
        entry,
        published_at: now,
        published_by: user.to_owned(),
        description: manifest.description.clone(),
        readme: contents.readme().to_owned(),
        license: manifest.license.clone(),
        homepage: manifest.homepage.clone(),
        repository: manifest.repository.clone(),
        categories: manifest.categories.clone(),
        keywords: manifest.keywords.clone(),
        http: manifest.http.clone(),
        commands: manifest
            .commands
            .iter()
            .map(|c| CommandInfo {
                name: c.name.clone(),
                help: c.help.clone(),
                usage: c.usage.clone(),
            })
            .collect(),
        interfaces,
    };
    registry.commit_version(name, &plugin, &record, bytes)?;

    let mut warnings = Vec::new();
    if manifest.license.is_none() {
        warnings.push(
            "plugin.toml has no `license`; bot owners may not be able to use the plugin without \
             one — add an SPDX expression like license = \"MIT OR Apache-2.0\""
                .to_owned(),
        );
    }
    Ok(Published {
        name: name.to_owned(),
        version: version.clone(),
        sha256: checksum.to_string(),
        warnings,
    })
}
