//! Talking to a registry: the sparse index (with ETag caching), package
//! downloads (verified and cached by sha256), publisher keys, search and
//! publishing.
//!
//! The client is blocking (`reqwest::blocking`): it serves the CLI, and the
//! resolver asks for index files one at a time. Everything it fetches is
//! cached under `<cache_dir>/`, so an install that was done once can be done
//! again offline: an index that cannot be refreshed is read from the cache
//! with a warning, and a package whose sha256 is cached is never downloaded
//! again.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plugboard_package::{Checksum, PublicKey, Signature, SigningKey};
use plugboard_registry_types::api::{
    ErrorBody, KEY_ID_HEADER, Key, NewKey, Published, SIGNATURE_HEADER, SearchResults,
};
use plugboard_registry_types::{IndexEntry, parse_index_lines};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use url::Url;

use crate::InstallError;
use plugboard_bot::installed::write_atomically;

/// How long one request may take before the registry is called unreachable.
const TIMEOUT: Duration = Duration::from_secs(60);

/// One registry, by name, with its caches.
#[derive(Debug, Clone)]
pub struct RegistryClient {
    name: String,
    base: Url,
    http: Client,
    /// `<cache_dir>/registries/<name>-<hash of the URL>`: two configs may
    /// give the same name to different registries.
    cache: PathBuf,
    /// `<cache_dir>/downloads`, shared by every registry (content-addressed).
    downloads: PathBuf,
}

/// What registering `key` on an account sends: its public half and a
/// proof that its holder made it for `token` (a signature of the token's
/// sha256), also pasted on the marketplace's account page.
pub fn key_proof(key: &SigningKey, token: &str) -> NewKey {
    NewKey {
        public_key: key.public_key().to_string(),
        proof: key
            .prove_possession(&Checksum::of(token.as_bytes()))
            .to_string(),
    }
}

impl RegistryClient {
    /// A client for the registry called `name` at `url`, caching under
    /// `cache_dir`.
    pub fn new(name: &str, url: &str, cache_dir: &Path) -> Result<Self, InstallError> {
        let bad = |problem: String| InstallError::BadUrl {
            registry: name.to_owned(),
            url: url.to_owned(),
            problem,
        };
        let mut base = Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("only http and https are supported".into()));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = Client::builder()
            .timeout(TIMEOUT)
            .user_agent(concat!("plugboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| bad(format!("cannot build an HTTP client: {e}")))?;
        let url_hash = plugboard_package::sha256_hex(base.as_str().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            base,
            http,
            cache: cache_dir
                .join("registries")
                .join(format!("{name}-{}", &url_hash[..12])),
            downloads: cache_dir.join("downloads"),
        })
    }

    /// The registry's name in the config.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry's base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    fn endpoint(&self, path: &str) -> Url {
        // `path` is built from checked plugin names and versions only.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    fn network(&self, url: &Url, e: impl std::fmt::Display) -> InstallError {
        InstallError::Network {
            registry: self.name.clone(),
            url: url.to_string(),
            message: e.to_string(),
        }
    }

    /// Turns an error status into an [`InstallError::Http`] carrying the
    /// registry's own explanation.
    fn check(&self, url: &Url, response: Response) -> Result<Response, InstallError> {
        let status = response.status();
        if status.is_success() || status == StatusCode::NOT_MODIFIED {
            return Ok(response);
        }
        let text = String::from_utf8_lossy(&read_capped(response, 64 << 10).unwrap_or_default())
            .into_owned();
        // The registry's words, on one line and cut: a hostile registry
        // cannot fill or forge lines of the owner's terminal with them.
        let detail = serde_json::from_str::<ErrorBody>(&text)
            .map(|body| body.message())
            .unwrap_or_else(|_| text.trim().to_owned());
        let detail = plugboard_registry_types::text::one_line(&detail, 300);
        Err(InstallError::Http {
            registry: self.name.clone(),
            url: url.to_string(),
            status: status.as_u16(),
            detail,
        })
    }

    /// Every published version of `plugin` (empty when there is no such
    /// plugin), refreshed with `If-None-Match`; read from the cache when the
    /// registry cannot be reached.
    pub fn index(&self, plugin: &str) -> Result<Vec<IndexEntry>, InstallError> {
        if plugboard_registry_types::manifest::check_name(plugin).is_err() {
            return Ok(Vec::new()); // not a name any registry can hold
        }
        let url = self.endpoint(&format!("index/{plugin}"));
        let body_path = self.cache.join("index").join(plugin);
        let etag_path = self.cache.join("index").join(format!("{plugin}.etag"));
        let cached = std::fs::read_to_string(&body_path).ok();
        let mut request = self.http.get(url.clone());
        if cached.is_some()
            && let Ok(etag) = std::fs::read_to_string(&etag_path)
        {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag.trim());
        }
        let response = match request.send() {
            Ok(response) => response,
            Err(e) => {
                return match cached {
                    Some(text) => {
                        tracing::warn!(
                            "registry `{}` unreachable ({e}); using the cached index of `{plugin}`",
                            self.name
                        );
                        self.parse_index(plugin, &text)
                    }
                    None => Err(self.network(&url, e)),
                };
            }
        };
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        let response = self.check(&url, response)?;
        if response.status() == StatusCode::NOT_MODIFIED
            && let Some(text) = cached
        {
            return self.parse_index(plugin, &text);
        }
        let etag = response
            .headers()
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = self.text(&url, response, MAX_INDEX)?;
        let entries = self.parse_index(plugin, &text)?;
        // The cache is an optimisation: failing to write it is not an error.
        let _ = write_atomically(&body_path, text.as_bytes());
        match etag {
            Some(etag) => {
                let _ = write_atomically(&etag_path, etag.as_bytes());
            }
            None => {
                let _ = std::fs::remove_file(&etag_path);
            }
        }
        Ok(entries)
    }

    fn parse_index(&self, plugin: &str, text: &str) -> Result<Vec<IndexEntry>, InstallError> {
        let entries = parse_index_lines(text).map_err(|e| {
            InstallError::Refused(format!(
                "registry `{}` sent a broken index for `{plugin}`: {e}",
                self.name
            ))
        })?;
        if let Some(stranger) = entries.iter().find(|e| e.name != plugin) {
            return Err(InstallError::Refused(format!(
                "registry `{}` sent the index of `{}` when asked for `{plugin}`",
                self.name, stranger.name
            )));
        }
        Ok(entries)
    }

    /// The package of `entry`: from the download cache when its sha256 is
    /// there, else downloaded with `progress(received, total)` calls. The
    /// bytes returned always hash to `entry.sha256`.
    pub fn download(
        &self,
        entry: &IndexEntry,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<Vec<u8>, InstallError> {
        let cached = self.downloads.join(format!(
            "{}{}",
            entry.sha256,
            plugboard_package::PACKAGE_EXTENSION
        ));
        if let Ok(bytes) = std::fs::read(&cached) {
            if Checksum::of(&bytes).to_string() == entry.sha256 {
                return Ok(bytes);
            }
            let _ = std::fs::remove_file(&cached); // damaged; fetch again
        }
        let url = self.endpoint(&format!(
            "api/v1/plugins/{}/{}/download",
            entry.name, entry.version
        ));
        let response = self
            .http
            .get(url.clone())
            .send()
            .map_err(|e| self.network(&url, e))?;
        let mut response = self.check(&url, response)?;
        let total = response.content_length();
        let limit = plugboard_package::Limits::default().package;
        let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(limit) as usize);
        let mut chunk = [0u8; 64 * 1024];
        loop {
            let n = response
                .read(&mut chunk)
                .map_err(|e| self.network(&url, e))?;
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..n]);
            if bytes.len() as u64 > limit {
                return Err(InstallError::Refused(format!(
                    "{} {} from registry `{}` is larger than the {limit}-byte package limit; refusing it",
                    entry.name, entry.version, self.name
                )));
            }
            progress(bytes.len() as u64, total);
        }
        let actual = Checksum::of(&bytes).to_string();
        if actual != entry.sha256 {
            return Err(InstallError::Refused(format!(
                "{} {} from registry `{}` has sha256 {actual}, but its index says {}; the download \
                 was damaged or tampered with; nothing was installed",
                entry.name, entry.version, self.name, entry.sha256
            )));
        }
        let _ = write_atomically(&cached, &bytes);
        Ok(bytes)
    }

    /// The publisher key `key_id` (cached; the id is checked against the
    /// key, so the cache cannot be swapped under it).
    pub fn public_key(&self, key_id: &str) -> Result<PublicKey, InstallError> {
        let valid_id = key_id.len() == 16 && key_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid_id {
            return Err(InstallError::Refused(format!(
                "registry `{}` names the signing key {key_id:?}, which is not a key id",
                self.name
            )));
        }
        let path = self.cache.join("keys").join(key_id);
        let parse = |text: &str| {
            text.trim()
                .parse::<PublicKey>()
                .ok()
                .filter(|key| key.key_id() == key_id)
        };
        if let Some(key) = std::fs::read_to_string(&path).ok().and_then(|t| parse(&t)) {
            return Ok(key);
        }
        let url = self.endpoint(&format!("api/v1/keys/{key_id}"));
        let response = self
            .http
            .get(url.clone())
            .send()
            .map_err(|e| self.network(&url, e))?;
        let key: Key = self.json(&url, self.check(&url, response)?)?;
        let public = parse(&key.public_key).ok_or_else(|| {
            InstallError::Refused(format!(
                "registry `{}` answered key {key_id} with a key whose id differs; refusing it",
                self.name
            ))
        })?;
        let _ = write_atomically(&path, key.public_key.as_bytes());
        Ok(public)
    }

    /// Searches the registry.
    pub fn search(&self, query: &str, page: u32) -> Result<SearchResults, InstallError> {
        let mut url = self.endpoint("api/v1/plugins");
        url.query_pairs_mut()
            .append_pair("q", query)
            .append_pair("page", &page.max(1).to_string());
        let response = self
            .http
            .get(url.clone())
            .send()
            .map_err(|e| self.network(&url, e))?;
        self.json(&url, self.check(&url, response)?)
    }

    /// Registers `key`'s public half on the account of `token`.
    pub fn register_key(&self, key: &SigningKey, token: &str) -> Result<Key, InstallError> {
        let url = self.endpoint("api/v1/keys");
        let body = key_proof(key, token);
        let response = self
            .http
            .post(url.clone())
            .bearer_auth(token)
            .json(&body)
            .send()
            .map_err(|e| self.network(&url, e))?;
        self.json(&url, self.check(&url, response)?)
    }

    /// Publishes a package signed with `key`.
    pub fn publish(
        &self,
        package: &[u8],
        key: &SigningKey,
        token: &str,
    ) -> Result<Published, InstallError> {
        let signature: Signature = key.sign(&Checksum::of(package));
        let url = self.endpoint("api/v1/plugins/new");
        let response = self
            .http
            .put(url.clone())
            .bearer_auth(token)
            .header(SIGNATURE_HEADER, signature.to_string())
            .header(KEY_ID_HEADER, key.public_key().key_id())
            .header(reqwest::header::CONTENT_TYPE, "application/gzip")
            .body(package.to_vec())
            .send()
            .map_err(|e| self.network(&url, e))?;
        self.json(&url, self.check(&url, response)?)
    }
}

impl RegistryClient {
    /// A response body as UTF-8 text, refusing more than `limit` bytes.
    fn text(&self, url: &Url, response: Response, limit: u64) -> Result<String, InstallError> {
        let bytes = read_capped(response, limit).map_err(|e| self.network(url, e))?;
        String::from_utf8(bytes).map_err(|_| {
            InstallError::Refused(format!(
                "registry `{}` answered {url} with text that is not UTF-8",
                self.name
            ))
        })
    }

    /// A JSON response body of at most [`MAX_JSON`] bytes.
    fn json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
        response: Response,
    ) -> Result<T, InstallError> {
        let text = self.text(url, response, MAX_JSON)?;
        serde_json::from_str(&text).map_err(|e| {
            InstallError::Refused(format!(
                "registry `{}` answered {url} with JSON this plugboard does not understand: {e}",
                self.name
            ))
        })
    }
}

/// The largest index file the client reads.
const MAX_INDEX: u64 = 8 << 20;
/// The largest other JSON answer the client reads.
const MAX_JSON: u64 = 1 << 20;

/// Reads at most `limit` bytes of `response`; more is an error.
fn read_capped(response: Response, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    response.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "the answer is larger than {limit} bytes"
        )));
    }
    Ok(bytes)
}

impl plugboard_resolver::Index for RegistryClient {
    type Error = InstallError;

    fn registry_name(&self) -> &str {
        &self.name
    }

    fn versions(&self, name: &str) -> Result<Vec<IndexEntry>, InstallError> {
        self.index(name)
    }

    fn similar_names(&self, name: &str) -> Vec<String> {
        // Names containing the word, and the most downloaded ones: a typo
        // rarely matches as a substring.
        let mut known = Vec::new();
        for query in [name, ""] {
            if let Ok(results) = self.search(query, 1) {
                known.extend(results.plugins.into_iter().map(|p| p.name));
            }
        }
        plugboard_resolver::similar_names(name, known.iter().map(String::as_str))
    }
}
