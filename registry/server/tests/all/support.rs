//! A registry on 127.0.0.1:0, publishers with tokens and keys, and packages
//! made from the staged plugins.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use plugboard_package::{Checksum, Package, SigningKey, pack};
use plugboard_registry::api::{ErrorBody, KEY_ID_HEADER, Key, NewKey, SIGNATURE_HEADER};
use plugboard_registry::{Config, Registry, Scope};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;
pub type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The staged official plugin `name`: `target/plugins/<name>`.
pub fn staged(name: &str) -> PathBuf {
    let dir = root().join("target/plugins").join(name);
    assert!(
        dir.join("plugin.wasm").exists(),
        "{} has no plugin.wasm: run `cargo xtask test` (or `cargo xtask plugins` before `cargo test`)",
        dir.display()
    );
    dir
}

/// A running registry and a client for it.
pub struct TestRegistry {
    pub url: String,
    pub client: reqwest::Client,
    pub registry: Registry,
    _data: tempfile::TempDir,
}

/// Starts a registry with the default configuration.
pub async fn start() -> Result<TestRegistry> {
    start_with(Config::default()).await
}

/// Starts a registry with `config` on 127.0.0.1:0, serving in a task.
pub async fn start_with(config: Config) -> Result<TestRegistry> {
    let data = tempfile::tempdir()?;
    let registry = Registry::open(data.path(), config)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let serving = registry.clone();
    tokio::spawn(plugboard_registry::serve(
        listener,
        serving,
        std::future::pending(),
    ));
    let client = reqwest::Client::builder().no_proxy().build()?;
    Ok(TestRegistry {
        url,
        client,
        registry,
        _data: data,
    })
}

/// Starts a registry with two publishers, alice and bob.
pub async fn start_with_alice_and_bob() -> Result<(TestRegistry, Publisher, Publisher)> {
    let registry = start().await?;
    let alice = registry.publisher("alice").await?;
    let bob = registry.publisher("bob").await?;
    Ok((registry, alice, bob))
}

/// A user with a token and a registered signing key.
pub struct Publisher {
    pub token: String,
    pub key: SigningKey,
}

impl TestRegistry {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// A user with an all-scopes token and a freshly registered key.
    pub async fn publisher(&self, user: &str) -> Result<Publisher> {
        let token = self.registry.create_token(user, Scope::ALL)?;
        let key = SigningKey::generate()?;
        let response = self.register_key(&token, &key).await?;
        assert_eq!(response.status(), StatusCode::CREATED, "registering a key");
        let body: Key = response.json().await?;
        assert_eq!(body.key_id, key.public_key().key_id());
        Ok(Publisher { token, key })
    }

    pub async fn register_key(&self, token: &str, key: &SigningKey) -> Result<reqwest::Response> {
        let key = NewKey {
            public_key: key.public_key().to_string(),
            proof: key
                .prove_possession(&Checksum::of(token.as_bytes()))
                .to_string(),
        };
        self.post_keys(token, &key).await
    }

    /// `POST /api/v1/keys` with any JSON `body`.
    pub async fn post_keys(
        &self,
        token: &str,
        body: &impl serde::Serialize,
    ) -> Result<reqwest::Response> {
        Ok(self
            .client
            .post(self.url("/api/v1/keys"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await?)
    }

    /// Publishes `package` as `publisher`, signed with their key.
    pub async fn publish(
        &self,
        publisher: &Publisher,
        package: &Package,
    ) -> Result<reqwest::Response> {
        let signature = publisher.key.sign(package.checksum());
        self.publish_raw(
            Some(&publisher.token),
            package.bytes().to_vec(),
            &signature.to_string(),
            &publisher.key.public_key().key_id(),
        )
        .await
    }

    /// Publishes `package` and insists that it works.
    pub async fn publish_ok(&self, publisher: &Publisher, package: &Package) -> Result<()> {
        let response = self.publish(publisher, package).await?;
        let status = response.status();
        let text = response.text().await?;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "publishing {package:?}: {text}"
        );
        Ok(())
    }

    /// Publishes `package` and insists that it is refused with `status` and
    /// a message containing every needle.
    pub async fn publish_refused(
        &self,
        publisher: &Publisher,
        package: &Package,
        status: StatusCode,
        needles: &[&str],
    ) -> Result<String> {
        let response = self.publish(publisher, package).await?;
        assert_error(response, status, needles).await
    }

    pub async fn publish_raw(
        &self,
        token: Option<&str>,
        body: Vec<u8>,
        signature: &str,
        key_id: &str,
    ) -> Result<reqwest::Response> {
        let mut request = self
            .client
            .put(self.url("/api/v1/plugins/new"))
            .header(SIGNATURE_HEADER, signature)
            .header(KEY_ID_HEADER, key_id)
            .header("content-type", "application/gzip")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Ok(request.send().await?)
    }

    /// `GET path`, whatever the answer.
    pub async fn get(&self, path: &str) -> Result<reqwest::Response> {
        Ok(self.client.get(self.url(path)).send().await?)
    }

    /// `GET path` as JSON, insisting on success.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        Ok(self.get(path).await?.error_for_status()?.json().await?)
    }

    /// `GET /api/v1/plugins/<name>/<version>/download`, whatever the answer.
    pub async fn download(&self, name: &str, version: &str) -> Result<reqwest::Response> {
        self.get(&format!("/api/v1/plugins/{name}/{version}/download"))
            .await
    }

    /// Downloads `name` `version` once from each of `clients` different
    /// client addresses ([`local_address`] 1, 2, …), insisting on success.
    /// A client counts once per version and day, so this counts `clients`.
    pub async fn downloads_from(&self, name: &str, version: &str, clients: u8) -> Result<()> {
        for n in 1..=clients {
            let url = self.url(&format!("/api/v1/plugins/{name}/{version}/download"));
            client_at(local_address(n))?
                .get(url)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
        }
        Ok(())
    }

    /// The text of `GET /index/<name>`.
    pub async fn index(&self, name: &str) -> Result<String> {
        let response = self.get(&format!("/index/{name}")).await?;
        assert_eq!(response.status(), StatusCode::OK, "index of {name}");
        Ok(response.text().await?)
    }
}

/// The `n`th loopback address, `127.0.0.<n>`: the registry counts each as
/// another client (Linux routes all of 127.0.0.0/8 to the loopback).
pub fn local_address(n: u8) -> std::net::IpAddr {
    std::net::Ipv4Addr::new(127, 0, 0, n).into()
}

/// An HTTP client whose connections come from `address`.
pub fn client_at(address: std::net::IpAddr) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .local_address(address)
        .build()?)
}

/// The status and message of an error response, checking the body's shape.
pub async fn error_of(response: reqwest::Response) -> Result<(StatusCode, String)> {
    let status = response.status();
    assert!(!status.is_success(), "expected an error, got {status}");
    let body: ErrorBody = response.json().await?;
    assert_eq!(body.errors.len(), 1, "{body:?}");
    Ok((status, body.message()))
}

/// Asserts an error response with `status` whose message contains every needle.
pub async fn assert_error(
    response: reqwest::Response,
    status: StatusCode,
    needles: &[&str],
) -> Result<String> {
    let (actual, message) = error_of(response).await?;
    assert_eq!(actual, status, "{message}");
    for needle in needles {
        assert!(message.contains(needle), "`{needle}` not in: {message}");
    }
    Ok(message)
}

/// A package made from a staged plugin, with its manifest edited.
pub struct PluginSpec {
    from: String,
    /// The staged plugin's directory.
    source: PathBuf,
    name: Option<String>,
    version: String,
    top: Vec<String>,
    deps: Vec<(String, String)>,
    readme: String,
    description: Option<String>,
    /// Keep the staged manifest's commands.
    commands: bool,
}

/// Starts a package from the staged plugin `from`, at version 0.1.0.
pub fn plugin(from: &str) -> PluginSpec {
    spec(from, staged(from))
}

fn spec(from: &str, source: PathBuf) -> PluginSpec {
    PluginSpec {
        source,
        from: from.to_owned(),
        name: None,
        version: "0.1.0".into(),
        top: Vec::new(),
        deps: Vec::new(),
        readme: format!("# {from}\n\nA plugin for the registry tests.\n"),
        description: None,
        commands: true,
    }
}

/// Starts a package from the test-only plugin `from`
/// (`target/test-plugins/<from>`), at version 0.1.0.
pub fn test_plugin(from: &str) -> PluginSpec {
    let source = root().join("target/test-plugins").join(from);
    assert!(
        source.join("plugin.wasm").exists(),
        "{} has no plugin.wasm: run `cargo xtask test` (or `cargo xtask plugins` before `cargo test`)",
        source.display()
    );
    spec(from, source)
}

impl PluginSpec {
    /// Publishes under another name (the component does not care).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    pub fn version(mut self, version: &str) -> Self {
        self.version = version.to_owned();
        self
    }

    /// Adds a top-level line to plugin.toml, e.g. `keywords = ["x"]`, in
    /// place of the manifest's own line with that key.
    pub fn line(mut self, line: &str) -> Self {
        self.top.push(line.to_owned());
        self
    }

    pub fn dep(mut self, name: &str, req: &str) -> Self {
        self.deps.push((name.to_owned(), req.to_owned()));
        self
    }

    pub fn readme(mut self, readme: &str) -> Self {
        self.readme = readme.to_owned();
        self
    }

    pub fn description(mut self, description: &str) -> Self {
        self.description = Some(description.to_owned());
        self
    }

    /// Drops the staged manifest's commands.
    pub fn without_commands(mut self) -> Self {
        self.commands = false;
        self
    }

    pub fn pack(self) -> Result<Package> {
        let source = &self.source;
        let dir = tempfile::tempdir()?;
        fs::copy(source.join("plugin.wasm"), dir.path().join("plugin.wasm"))?;
        let original = fs::read_to_string(source.join("plugin.toml"))?;
        let mut manifest = String::new();
        // The added lines replace the manifest's own top-level keys of the
        // same name (the official manifests list categories and keywords).
        let replaced: Vec<&str> = self
            .top
            .iter()
            .filter_map(|line| line.split_once(" = ").map(|(key, _)| key))
            .collect();
        let mut top_level = true;
        for line in original.lines() {
            top_level &= !line.starts_with('[');
            if top_level
                && line
                    .split_once(" = ")
                    .is_some_and(|(key, _)| replaced.contains(&key))
            {
                continue;
            }
            if line.starts_with("name = ") && manifest.is_empty() {
                let name = self.name.as_deref().unwrap_or(&self.from);
                manifest.push_str(&format!("name = \"{name}\"\n"));
            } else if line.starts_with("version = ") {
                manifest.push_str(&format!("version = \"{}\"\n", self.version));
                for extra in &self.top {
                    manifest.push_str(extra);
                    manifest.push('\n');
                }
            } else {
                manifest.push_str(line);
                manifest.push('\n');
            }
        }
        if !self.deps.is_empty() {
            manifest.push_str("\n[dependencies]\n");
            for (name, req) in &self.deps {
                manifest.push_str(&format!("{name} = \"{req}\"\n"));
            }
        }
        if self.description.is_some() || !self.commands {
            let mut table: toml::Table = manifest.parse()?;
            if let Some(description) = &self.description {
                table.insert("description".into(), description.as_str().into());
            }
            if !self.commands {
                table.remove("commands");
            }
            manifest = toml::to_string(&table)?;
        }
        fs::write(dir.path().join("plugin.toml"), manifest)?;
        fs::write(dir.path().join("README.md"), &self.readme)?;
        Ok(pack(dir.path())?)
    }
}

/// A package around a tiny component made with wasm-encoder: it exports an
/// empty `plugboard:plugin/handler@0.2.0` and an empty instance under each
/// of `exports`, and imports one under each of `imports`; `manifest` is its
/// plugin.toml. For interfaces no real plugin has.
pub fn synthetic_plugin(manifest: &str, exports: &[&str], imports: &[&str]) -> Result<Package> {
    use wasm_encoder::{
        Component, ComponentExportKind, ComponentExportSection, ComponentImportSection,
        ComponentInstanceSection, ComponentTypeRef, ComponentTypeSection, InstanceType,
    };
    let mut component = Component::new();
    let mut types = ComponentTypeSection::new();
    types.instance(&InstanceType::new());
    component.section(&types);
    let mut section = ComponentImportSection::new();
    for name in imports {
        section.import(*name, ComponentTypeRef::Instance(0));
    }
    component.section(&section);
    let mut instances = ComponentInstanceSection::new();
    let mut section = ComponentExportSection::new();
    let names = std::iter::once("plugboard:plugin/handler@0.2.0").chain(exports.iter().copied());
    for (i, name) in names.enumerate() {
        instances.export_items(Vec::<(&str, ComponentExportKind, u32)>::new());
        let index = u32::try_from(imports.len() + i)?;
        section.export(name, ComponentExportKind::Instance, index, None);
    }
    component.section(&instances);
    component.section(&section);
    let dir = tempfile::tempdir()?;
    fs::write(dir.path().join("plugin.wasm"), component.finish())?;
    fs::write(dir.path().join("plugin.toml"), manifest)?;
    fs::write(dir.path().join("README.md"), "# A synthetic plugin\n")?;
    Ok(pack(dir.path())?)
}

/// A browser without a browser: keeps cookies, sends forms with the CSRF
/// token, does not follow redirects.
pub struct Visitor<'a> {
    registry: &'a TestRegistry,
    pub client: reqwest::Client,
    pub cookies: HashMap<String, String>,
}

/// A page's answer.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

impl<'a> Visitor<'a> {
    pub fn new(registry: &'a TestRegistry) -> Result<Self> {
        Self::at(registry, std::net::Ipv4Addr::LOCALHOST.into())
    }

    /// A visitor whose connections come from `address` (any of
    /// 127.0.0.0/8 on Linux), so that the registry sees another client.
    pub fn at(registry: &'a TestRegistry, address: std::net::IpAddr) -> Result<Self> {
        Ok(Visitor {
            registry,
            client: reqwest::Client::builder()
                .no_proxy()
                .local_address(address)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            cookies: HashMap::new(),
        })
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn answer(&mut self, request: reqwest::RequestBuilder) -> Result<Answer> {
        let response = request
            .header("cookie", self.cookie_header())
            .send()
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str()?;
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        let body = response.text().await?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    pub async fn get(&mut self, path: &str) -> Result<Answer> {
        let request = self.client.get(self.registry.url(path));
        self.answer(request).await
    }

    /// The CSRF token the visitor's forms carry: read from a page (signed
    /// in, it is bound to the session), else the cookie's.
    pub async fn csrf(&mut self) -> Result<String> {
        let home = self.get("/").await?;
        let from_page = home
            .body
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned);
        Ok(from_page
            .or_else(|| self.cookies.get("pb_csrf").cloned())
            .unwrap_or_default())
    }

    /// Posts a form with the visitor's CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Answer> {
        let csrf = self.csrf().await?;
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        let request = self.client.post(self.registry.url(path)).form(&form);
        self.answer(request).await
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Answer> {
        let request = self.client.post(self.registry.url(path)).form(fields);
        self.answer(request).await
    }

    pub async fn sign_up(&mut self, name: &str) -> Result<()> {
        let answer = self
            .post(
                "/signup",
                &[
                    ("username", name),
                    ("password", "a long enough password"),
                    ("next", "/"),
                ],
            )
            .await?;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert!(
            self.cookies.contains_key("pb_session"),
            "signed in after signing up"
        );
        Ok(())
    }

    pub async fn page(&mut self, path: &str) -> Result<String> {
        let answer = self.get(path).await?;
        assert_eq!(answer.status, StatusCode::OK, "GET {path}: {}", answer.body);
        Ok(answer.body)
    }
}
