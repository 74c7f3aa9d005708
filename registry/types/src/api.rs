//! The registry's HTTP API: request and response bodies shared by the
//! registry server (`plugboard-registry`) and its clients.
//!
//! Every body is JSON. The endpoints are described in `docs/registry-api.md`
//! and in the server crate's documentation; in short:
//!
//! | method and path | body in | body out |
//! | --- | --- | --- |
//! | `POST /api/v1/keys` | [`NewKey`] | [`Key`] |
//! | `GET /api/v1/keys` | | [`Keys`] |
//! | `GET /api/v1/keys/<key id>` | | [`Key`] |
//! | `PUT /api/v1/plugins/new` | the package bytes, with [`SIGNATURE_HEADER`] and [`KEY_ID_HEADER`] | [`Published`] |
//! | `DELETE /api/v1/plugins/<name>/<version>/yank`, `PUT …/unyank` | | [`Done`] |
//! | `GET`, `PUT`, `DELETE /api/v1/plugins/<name>/owners` | [`Owners`] (`PUT` invites, `DELETE` removes) | [`Owners`] |
//! | `GET /api/v1/invitations` | | [`Invitations`] |
//! | `PUT`, `DELETE /api/v1/invitations/<name>` (accept, decline) | | [`Owners`] |
//! | `GET /api/v1/plugins?q=&category=&sort=&page=&per_page=` | | [`SearchResults`] |
//! | `GET /api/v1/plugins/<name>` | | [`PluginInfo`] |
//! | `GET /api/v1/plugins/<name>/<version>/download` | | the package bytes |
//! | `GET /index/<name>` | | one [`IndexEntry`](crate::IndexEntry) JSON line per version |
//!
//! Every error is answered with an HTTP error status and an [`ErrorBody`]:
//!
//! ```
//! use plugboard_registry_types::api::ErrorBody;
//!
//! let body: ErrorBody = serde_json::from_str(
//!     r#"{"errors":[{"detail":"version 0.1.0 of `echo` already exists; bump `version`"}]}"#,
//! )?;
//! assert_eq!(body.message(), "version 0.1.0 of `echo` already exists; bump `version`");
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! Times are UTC, written as RFC 3339 (`2025-06-01T12:00:00Z`); dates as
//! `YYYY-MM-DD`. Readers ignore fields they do not know, so the registry can
//! add fields without breaking older clients.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::manifest::Permission;

/// The header carrying the publisher's ed25519 signature over the package's
/// sha256, as 128 hex digits, on `PUT /api/v1/plugins/new`.
pub const SIGNATURE_HEADER: &str = "x-plugboard-signature";

/// The header naming, on `PUT /api/v1/plugins/new`, which of the
/// publisher's registered keys made the signature (its 16-hex-digit key id).
pub const KEY_ID_HEADER: &str = "x-plugboard-key-id";

/// The body of every error response: `{"errors":[{"detail":"…"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong; usually one entry.
    pub errors: Vec<ErrorDetail>,
}

/// One error: a message that names the problem and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// The message, ready to show to a person.
    pub detail: String,
}

impl ErrorBody {
    /// A body with one error.
    pub fn new(detail: impl Into<String>) -> Self {
        Self {
            errors: vec![ErrorDetail {
                detail: detail.into(),
            }],
        }
    }

    /// All the messages, joined with `; `.
    pub fn message(&self) -> String {
        let details: Vec<&str> = self.errors.iter().map(|e| e.detail.as_str()).collect();
        details.join("; ")
    }
}

/// The answer to requests that only succeed or fail, such as yanking:
/// `{"ok":true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    /// Always `true`; failures are error responses.
    pub ok: bool,
}

/// `POST /api/v1/keys`: registers a publisher's ed25519 public key on the
/// token's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    /// The public key as 64 hex digits.
    pub public_key: String,
    /// The key's proof of possession for the API token sending it: an
    /// ed25519 signature (128 hex digits) over `plugboard-key-v1:`, the
    /// token's 32-byte SHA-256 and the 32 key bytes.
    #[serde(default)]
    pub proof: String,
}

/// A publisher key registered on an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    /// The key's short id: the first 16 hex digits of the sha256 of its bytes.
    pub key_id: String,
    /// The public key as 64 hex digits.
    pub public_key: String,
    /// When it was registered.
    pub created_at: String,
    /// When its owner revoked it, if they did: the registry refuses new
    /// publishes signed with it, and keeps it so that what it signed
    /// before still verifies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// `GET /api/v1/keys`: the keys registered on the token's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keys {
    /// Oldest first.
    pub keys: Vec<Key>,
}

/// The answer to a successful publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The plugin's name.
    pub name: String,
    /// The version now published.
    pub version: Version,
    /// The package's sha256, as 64 lowercase hex digits.
    pub sha256: String,
    /// Things the registry accepted but the publisher may want to fix.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// A plugin's owners: `GET` answers with them; `PUT` invites the `users`
/// in the request (each becomes an owner when they accept) and `DELETE`
/// removes them (and withdraws their invitations), and both answer with
/// the owners and invitations after the change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owners {
    /// User names: the owners in answers, the users to invite or remove in
    /// requests.
    pub users: Vec<String>,
    /// The users invited to own the plugin who have not answered yet (in
    /// answers only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invited: Vec<String>,
}

/// An invitation to own a plugin, as its invitee sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    /// The plugin's name.
    pub plugin: String,
    /// The owner who sent it.
    pub invited_by: String,
    /// When it was sent (RFC 3339).
    pub created_at: String,
    /// Until when it can be accepted (RFC 3339).
    pub expires_at: String,
}

/// The invitations of the token's account that wait for an answer
/// (`GET /api/v1/invitations`), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitations {
    /// The open invitations.
    pub invitations: Vec<Invitation>,
}

/// The order of search results (`sort=` in the query). An exact name match
/// comes first whatever the order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SearchSort {
    /// Most downloaded first (the default).
    #[default]
    Downloads,
    /// Most recently published first.
    Recent,
    /// Alphabetical by name.
    Name,
    /// Best rated first (the mean of the reviews, pulled towards three stars
    /// while there are few).
    Rating,
}

impl SearchSort {
    /// Every order, for error messages.
    pub const ALL: &'static [SearchSort] = &[
        SearchSort::Downloads,
        SearchSort::Recent,
        SearchSort::Name,
        SearchSort::Rating,
    ];

    /// The name used in the query string.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchSort::Downloads => "downloads",
            SearchSort::Recent => "recent",
            SearchSort::Name => "name",
            SearchSort::Rating => "rating",
        }
    }
}

impl fmt::Display for SearchSort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SearchSort {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        SearchSort::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<&str> = SearchSort::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown sort `{text}`; use one of: {}", known.join(", "))
            })
    }
}

/// `GET /api/v1/plugins`: one page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The plugins on this page.
    pub plugins: Vec<SearchHit>,
    /// Paging information.
    pub meta: SearchMeta,
    /// Plugin names close to the query that it did not find ("did you
    /// mean"), closest first; empty when there are none. Absent from older
    /// registries' answers.
    #[serde(default)]
    pub did_you_mean: Vec<String>,
}

/// Paging information for [`SearchResults`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchMeta {
    /// How many plugins matched, over all pages.
    pub total: u64,
    /// This page's number, from 1.
    pub page: u32,
    /// The page size.
    pub per_page: u32,
}

/// One plugin in [`SearchResults`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The plugin's name.
    pub name: String,
    /// The newest version that is not yanked (stable versions before
    /// pre-releases).
    pub version: Version,
    /// That version's one-line description.
    pub description: String,
    /// Downloads of all versions.
    pub downloads: u64,
    /// When a version was last published.
    pub updated_at: String,
    /// That version's categories.
    #[serde(default)]
    pub categories: Vec<String>,
}

/// `GET /api/v1/plugins/<name>`: everything the marketplace page shows.
/// The descriptive fields come from the newest version that is not yanked
/// (or the newest version, when all are yanked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// The plugin's name.
    pub name: String,
    /// The newest version that is not yanked, if any.
    pub latest: Option<Version>,
    /// The one-line description.
    pub description: String,
    /// The README, Markdown.
    pub readme: String,
    /// The SPDX licence expression, if given.
    pub license: Option<String>,
    /// Where to read more, if given.
    pub homepage: Option<String>,
    /// Where the source lives, if given.
    pub repository: Option<String>,
    /// Marketplace categories.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Search keywords.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The users who may publish, yank and manage owners.
    pub owners: Vec<String>,
    /// When the first version was published.
    pub created_at: String,
    /// When a version was last published.
    pub updated_at: String,
    /// Every version, newest first, yanked ones included.
    pub versions: Vec<VersionInfo>,
    /// Download counts.
    pub downloads: Downloads,
    /// The interfaces the shown version provides to other plugins, with
    /// their WIT.
    #[serde(default)]
    pub provides: Vec<ProvidedInterface>,
    /// The interfaces the shown version imports, with the dependency that
    /// provides each.
    #[serde(default)]
    pub imports: Vec<ImportedInterface>,
    /// The listed plugins whose newest usable version depends on this one,
    /// by name.
    #[serde(default)]
    pub used_by: Vec<String>,
}

/// An interface a plugin provides, in [`PluginInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvidedInterface {
    /// `namespace:package/interface@version`.
    pub name: String,
    /// The interface's WIT, decoded from the component when the version was
    /// published (doc comments included when the component carries them);
    /// absent when it could not be decoded.
    #[serde(default)]
    pub wit: Option<String>,
}

/// An interface a plugin imports, in [`PluginInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedInterface {
    /// `namespace:package/interface@version`.
    pub name: String,
    /// The dependency that provides it, when one of the plugin's
    /// dependencies provides it in some published version.
    #[serde(default)]
    pub provider: Option<String>,
}

/// One version in [`PluginInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// The version.
    pub version: Version,
    /// Whether it was yanked.
    pub yanked: bool,
    /// When it was published.
    pub published_at: String,
    /// Who published it.
    pub published_by: String,
    /// The `plugboard:plugin` WIT version it was built against.
    pub wit: Version,
    /// The permissions it asks for.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Its dependencies.
    #[serde(default)]
    pub deps: BTreeMap<String, VersionReq>,
    /// The interfaces it provides to other plugins.
    #[serde(default)]
    pub provides: Vec<String>,
    /// The interfaces of its dependencies it imports.
    #[serde(default)]
    pub imports: Vec<String>,
    /// The package's sha256.
    pub sha256: String,
    /// How many times it was downloaded.
    pub downloads: u64,
}

/// Download counts of a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Downloads {
    /// All versions, all time.
    pub total: u64,
    /// All versions, per UTC day, over the last 90 days (today included),
    /// oldest first; days without downloads are left out.
    pub per_day: Vec<DayDownloads>,
}

/// Downloads on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayDownloads {
    /// The UTC date, `YYYY-MM-DD`.
    pub date: String,
    /// Downloads of all versions that day.
    pub downloads: u64,
}
