//! The admin listener: routes, the token check, and serving until the bot
//! stops.
//!
//! `/healthz` (the process answers) and `/readyz` (it serves events) are
//! open, for supervisors and load balancers; everything else needs
//! `Authorization: Bearer <token>`, and a request without it gets 401 with
//! `WWW-Authenticate: Bearer`. Owner decisions run on the blocking pool
//! (they write and flush the store) and are in the audit log, as done by
//! `admin:api`, before they are answered.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use plugboard_bot::api_tokens::TokenError;
use plugboard_bot::config::AdminConfig;
use plugboard_bot::control::{Control, ControlError};
use plugboard_bot::grants::GrantError;

use crate::api::{
    AdapterStatus, ApiError, ApiToken, AuditEntry, AuditQuery, ChatPluginsChange, ChatSettings,
    GrantChange, OPENAPI, Permissions, PluginSettings, Resumed, SendRequest, Sent, SettingProblem,
    SettingsChanged, Status, TokenCreated, TokenRequest, TokenRevoked, UsageQuery, UsageReport,
};
use crate::auth::AdminToken;
use crate::listing::Listing;
use crate::live::StreamQuery;
use crate::metrics::Metrics;
use crate::webchat::WebChat;

/// Who the audit log says acted through the API.
pub const API_ACTOR: &str = "admin:api";

/// Why the admin listener could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The token is missing or weak.
    #[error(transparent)]
    Token(#[from] crate::auth::TokenError),
    /// The address could not be bound.
    #[error(
        "cannot listen on {addr} for the admin API: {source}; choose another `listen` in [admin] (port 0 picks a free one)"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

#[derive(Clone)]
struct Console {
    control: Arc<Control>,
    token: Arc<AdminToken>,
    metrics: Arc<Metrics>,
}

/// What the admin listener serves beside the API: the web chat and the
/// webhook receiver, when the bot runs them.
#[derive(Default)]
pub struct Extras {
    /// The pages' web chat.
    pub chat: Option<WebChat>,
    /// The receiver of `POST /hooks/<plugin>/<name>`.
    pub hooks: Option<crate::hooks::Webhooks>,
}

/// The admin listener's routes over `control`, guarded by `token`.
pub fn app(control: Arc<Control>, token: AdminToken, extras: Extras) -> Router {
    let Extras { chat, hooks } = extras;
    let token = Arc::new(token);
    let rates = Arc::new(crate::web::Rates::default());
    rates.follow(&control);
    let pages = crate::web::routes(crate::web::Web {
        control: Arc::clone(&control),
        token_var: Arc::clone(token.var()),
        token: Arc::clone(&token),
        sessions: Arc::default(),
        rates,
        chat,
    });
    let console = Console {
        metrics: Arc::new(Metrics::new(Arc::clone(&control))),
        control,
        token,
    };
    let guarded = Router::new()
        .route("/metrics", get(metrics))
        .route("/api/v1/status", get(status))
        .route("/api/v1/plugins", get(plugins))
        .route("/api/v1/plugins/{name}/grant", post(grant))
        .route("/api/v1/plugins/{name}/revoke", post(revoke))
        .route("/api/v1/plugins/{name}/resume", post(resume))
        .route("/api/v1/audit", get(audit))
        .route("/api/v1/usage", get(usage))
        .route("/api/v1/chats", get(chats))
        .route("/api/v1/chats/{chat}/plugins", post(chat_plugins))
        .route(
            "/api/v1/plugins/{name}/config",
            get(plugin_config).put(set_plugin_config),
        )
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/stream", get(stream))
        .route("/api/v1/tokens", get(tokens).post(create_token))
        .route("/api/v1/tokens/{id}", axum::routing::delete(revoke_token))
        .route_layer(middleware::from_fn_with_state(console.clone(), authorize));
    let hooks = match hooks {
        // Signed by their senders, not behind the token; a body is read up
        // to the largest any webhook takes.
        Some(hooks) => Router::new()
            .route("/hooks/{plugin}/{name}", post(crate::hooks::receive))
            .layer(axum::extract::DefaultBodyLimit::max(
                plugboard_registry_types::manifest::MAX_WEBHOOK_BYTES as usize,
            ))
            .with_state(hooks),
        None => Router::new(),
    };
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        // Behind an API token of its own, not the admin token.
        .route("/api/v1/send", post(send))
        .merge(guarded)
        .with_state(console)
        .merge(pages)
        .merge(hooks)
        .fallback(|| async {
            refuse(
                StatusCode::NOT_FOUND,
                "no such page; see /api/v1/openapi.json",
            )
        })
}

/// A bound admin listener, ready to serve.
pub struct Listener {
    listener: tokio::net::TcpListener,
    address_file: PathBuf,
}

impl Listener {
    /// Binds `config.listen` and writes the address it got, and this
    /// process's id, to `<data_dir>/admin-address`; checks the token
    /// first, so that a bot
    /// without one refuses to start its listener rather than serve
    /// unguarded.
    pub async fn bind(
        config: &AdminConfig,
        data_dir: &Path,
    ) -> Result<(Listener, AdminToken), ServeError> {
        let token = AdminToken::from_env(&config.token_env)?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServeError::Bind {
                addr: config.listen,
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| ServeError::Bind {
            addr: config.listen,
            source,
        })?;
        if !bound.ip().is_loopback() {
            tracing::warn!(
                %bound,
                "the admin API listens beyond this machine; put a TLS reverse proxy in front of it"
            );
        }
        let address_file = data_dir.join(crate::ADDRESS_FILE);
        if let Err(e) = std::fs::create_dir_all(data_dir).and_then(|()| {
            std::fs::write(&address_file, format!("{bound} {}\n", std::process::id()))
        }) {
            tracing::warn!(
                "cannot write {}: {e}; the CLI finds the bot at the configured address only",
                address_file.display()
            );
        }
        tracing::info!(%bound, "admin API listening");
        Ok((
            Listener {
                listener,
                address_file,
            },
            token,
        ))
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves `app` until `shutdown` completes, then removes the address
    /// file.
    pub async fn serve(self, app: Router, shutdown: impl Future<Output = ()> + Send + 'static) {
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Err(e) = served {
            tracing::error!("the admin API stopped: {e}");
        }
        let _ = std::fs::remove_file(&self.address_file);
    }
}

async fn authorize(State(console): State<Console>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if console.token.admits(header) {
        return next.run(request).await;
    }
    let mut refused = refuse(
        StatusCode::UNAUTHORIZED,
        "this needs the admin token: send `Authorization: Bearer <token>` with the token from the bot's environment",
    );
    refused
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    refused
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: message.into(),
            problems: Vec::new(),
        }),
    )
        .into_response()
}

/// The status and message of an owner decision that was refused.
fn refusal(e: &ControlError) -> Response {
    let status = match e {
        ControlError::NoPlugin(_) => StatusCode::NOT_FOUND,
        ControlError::Grant(GrantError::Unknown(_) | GrantError::NotAsked { .. }) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ControlError::NoConfig | ControlError::NoPeople | ControlError::Unchanged(_) => {
            StatusCode::CONFLICT
        }
        ControlError::BadChat(_) | ControlError::NoSettings(_) | ControlError::Restart { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ControlError::Settings(problems) => {
            let problems = problems
                .iter()
                .map(|p| SettingProblem {
                    key: p.key.clone(),
                    problem: p.problem.clone(),
                })
                .collect();
            let body = ApiError {
                error: e.to_string(),
                problems,
            };
            return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
        }
        ControlError::NotRunning => StatusCode::SERVICE_UNAVAILABLE,
        ControlError::NoToken => StatusCode::UNAUTHORIZED,
        ControlError::ChatNotAllowed(_) => StatusCode::FORBIDDEN,
        ControlError::BadText | ControlError::Token(TokenError::Invalid(_)) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    refuse(status, e.to_string())
}

/// Runs `work` on the blocking pool (it writes the store).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) => Err(refusal(&e)),
        Err(e) => Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn readyz(State(console): State<Console>) -> Response {
    match console.control.ready() {
        true => "ready\n".into_response(),
        false => (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response(),
    }
}

async fn metrics(State(console): State<Console>) -> Response {
    match console.metrics.render() {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            )],
            text,
        )
            .into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn status(State(console): State<Console>) -> Json<Status> {
    let control = &console.control;
    let (queue_depth, queue_capacity) = control.queue();
    let plugins = control.plugins();
    Json(Status {
        ready: control.ready(),
        uptime_seconds: control.uptime().as_secs(),
        queue_depth,
        queue_capacity,
        adapters: control
            .adapters()
            .iter()
            .map(|a| AdapterStatus::of(a))
            .collect(),
        suspended: plugins.iter().filter(|p| p.suspended().is_some()).count(),
        plugins: plugins.len(),
    })
}

async fn plugins(State(console): State<Console>) -> Result<Json<Listing>, Response> {
    let control = Arc::clone(&console.control);
    blocking(move || Ok(listing(&control))).await.map(Json)
}

/// The running bot's listing, as `plugboard plugins list` shows it.
pub fn listing(control: &Control) -> Listing {
    let router = control.router();
    let (installed, data_dir) = match control.config() {
        Some(config) => (
            plugboard_bot::installed::Installed::load(&config.data_dir()).unwrap_or_default(),
            config.data_dir(),
        ),
        None => Default::default(),
    };
    let plugins = router
        .plugins()
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t {
            plugboard_host::plugin::Target::Wasm(p) => {
                Some((i, p, p.disabled().map(str::to_owned)))
            }
            plugboard_host::plugin::Target::Native(_) => None,
        });
    Listing::of(
        plugins,
        router.assignment(),
        &control.load_notes(),
        &installed,
        &data_dir,
    )
}

/// A JSON body, or the refusal naming what is wrong with it (as JSON, like
/// every other refusal).
type Body<T> = Result<Json<T>, JsonRejection>;

/// The refusal of a body that is not the JSON expected: what is wrong
/// with it, and `example`, a right one.
fn bad_body(rejection: JsonRejection, example: &str) -> Response {
    refuse(
        rejection.status(),
        format!(
            "{}; send {example} as application/json",
            rejection.body_text()
        ),
    )
}

async fn grant(
    State(console): State<Console>,
    UrlPath(name): UrlPath<String>,
    body: Body<Permissions>,
) -> Result<Json<GrantChange>, Response> {
    change(console, name, body, true).await
}

async fn revoke(
    State(console): State<Console>,
    UrlPath(name): UrlPath<String>,
    body: Body<Permissions>,
) -> Result<Json<GrantChange>, Response> {
    change(console, name, body, false).await
}

async fn change(
    console: Console,
    name: String,
    body: Body<Permissions>,
    grant: bool,
) -> Result<Json<GrantChange>, Response> {
    let Json(body) = body.map_err(|r| bad_body(r, r#"{"permissions": ["kv"]}"#))?;
    let control = Arc::clone(&console.control);
    blocking(move || control.change_grants(&name, &body.permissions, grant, API_ACTOR))
        .await
        .map(Json)
}

async fn plugin_config(
    State(console): State<Console>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<PluginSettings>, Response> {
    settings_of(&console.control, &name)
        .map(Json)
        .map_err(|e| refusal(&e))
}

/// `name`'s declared settings with the owner's values, for the API and
/// the form.
pub(crate) fn settings_of(control: &Control, name: &str) -> Result<PluginSettings, ControlError> {
    let plugin = control.plugin(name)?;
    let values = control
        .config()
        .map(|config| config.plugin(name).config)
        .unwrap_or_default();
    Ok(PluginSettings::of(name, &plugin.manifest().config, &values))
}

async fn set_plugin_config(
    State(console): State<Console>,
    UrlPath(name): UrlPath<String>,
    body: Body<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<SettingsChanged>, Response> {
    let example =
        r#"the settings as an object, like {"max_notes": 50, "token": {"env": "VARIABLE"}}"#;
    let Json(body) = body.map_err(|r| bad_body(r, example))?;
    let values = <toml::Table as serde::Deserialize>::deserialize(serde_json::Value::Object(body))
        .map_err(|e| {
            refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("{e}; send {example}"),
            )
        })?;
    console
        .control
        .change_plugin_config(&name, values, API_ACTOR)
        .await
        .map(|changed| Json(SettingsChanged { changed }))
        .map_err(|e| refusal(&e))
}

async fn tokens(State(console): State<Console>) -> Result<Json<Vec<ApiToken>>, Response> {
    let control = Arc::clone(&console.control);
    blocking(move || control.api_tokens()).await.map(Json)
}

async fn create_token(
    State(console): State<Console>,
    body: Body<TokenRequest>,
) -> Result<Json<TokenCreated>, Response> {
    let Json(body) =
        body.map_err(|r| bad_body(r, r#"{"name": "ci", "chats": ["telegram:-1001234567890"]}"#))?;
    let control = Arc::clone(&console.control);
    let (token, secret) =
        blocking(move || control.create_api_token(&body.name, &body.chats, API_ACTOR)).await?;
    Ok(Json(TokenCreated {
        id: token.id,
        name: token.name,
        chats: token.chats,
        token: secret,
    }))
}

async fn revoke_token(
    State(console): State<Console>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<TokenRevoked>, Response> {
    let control = Arc::clone(&console.control);
    let revoked = blocking(move || control.revoke_api_token(&id, API_ACTOR)).await?;
    Ok(Json(TokenRevoked { revoked }))
}

/// `POST /api/v1/send`, for other programs holding an API token.
async fn send(
    State(console): State<Console>,
    headers: axum::http::HeaderMap,
    body: Body<SendRequest>,
) -> Result<Json<Sent>, Response> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default()
        .to_owned();
    let control = Arc::clone(&console.control);
    let token = blocking(move || control.api_token(&presented)).await?;
    let Json(body) =
        body.map_err(|r| bad_body(r, r#"{"chat": "telegram:-1001234567890", "text": "…"}"#))?;
    console
        .control
        .send_with_token(&token, &body.chat, &body.text, body.markdown)
        .await
        .map_err(|e| refusal(&e))?;
    Ok(Json(Sent {
        chat: body.chat,
        token: token.id,
    }))
}

async fn stream(
    State(console): State<Console>,
    query: Result<Query<StreamQuery>, QueryRejection>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the filters are ?plugin=<name>&chat=<platform:id>&text=true",
        );
    };
    match upgrade {
        Ok(upgrade) => {
            let control = Arc::clone(&console.control);
            upgrade.on_upgrade(move |socket| crate::live::stream(socket, control, query))
        }
        Err(rejection) => refuse(
            rejection.status(),
            format!(
                "{}; open it as a WebSocket (ws://…/api/v1/stream)",
                rejection.body_text()
            ),
        ),
    }
}

async fn resume(
    State(console): State<Console>,
    UrlPath(name): UrlPath<String>,
) -> Result<Json<Resumed>, Response> {
    let control = Arc::clone(&console.control);
    blocking(move || {
        let reason = control.resume(&name, API_ACTOR)?;
        Ok(Resumed {
            plugin: name,
            resumed: reason.is_some(),
            reason,
        })
    })
    .await
    .map(Json)
}

async fn audit(
    State(console): State<Console>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, Response> {
    let Query(query) =
        query.map_err(|rejection| refuse(rejection.status(), rejection.body_text()))?;
    if let Some(problem) = query
        .action
        .as_deref()
        .and_then(|a| plugboard_people::check_audit_action(a).err())
    {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, problem));
    }
    let control = Arc::clone(&console.control);
    blocking(move || control.audit_tail(query.action.as_deref(), query.last))
        .await
        .map(Json)
}

async fn usage(
    State(console): State<Console>,
    query: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Json<UsageReport>, Response> {
    let Query(query) =
        query.map_err(|rejection| refuse(rejection.status(), rejection.body_text()))?;
    let control = Arc::clone(&console.control);
    blocking(move || {
        let (since, rows) = control.usage_of_days(query.days)?;
        Ok(UsageReport { since, rows })
    })
    .await
    .map(Json)
}

async fn chats(State(console): State<Console>) -> Result<Json<Vec<ChatSettings>>, Response> {
    let control = Arc::clone(&console.control);
    blocking(move || {
        Ok(control
            .chat_plugins()?
            .into_iter()
            .map(|(chat, settings)| ChatSettings::of(chat, &settings))
            .collect())
    })
    .await
    .map(Json)
}

async fn chat_plugins(
    State(console): State<Console>,
    UrlPath(chat): UrlPath<String>,
    body: Body<ChatPluginsChange>,
) -> Result<Json<ChatSettings>, Response> {
    let Json(change) = body.map_err(|r| {
        bad_body(
            r,
            r#"{"off": "dice"}, {"on": "dice"}, {"only": ["dice"]} or "all""#,
        )
    })?;
    let control = Arc::clone(&console.control);
    blocking(move || {
        let after = control.change_chat_plugins(&chat, change.into(), API_ACTOR)?;
        Ok(ChatSettings::of(chat, &after))
    })
    .await
    .map(Json)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    fn console() -> Router {
        let router = plugboard_bot::router::Router::new(Vec::new(), vec!["/".into()]);
        let store = Arc::new(plugboard_store::MemoryStore::default());
        let bot = plugboard_bot::bot::Bot::new(Arc::new(router), store, 1, 8);
        let token = AdminToken::new("T", TOKEN).expect("long enough");
        app(Arc::clone(bot.control()), token, Extras::default())
    }

    async fn call(app: &Router, method: &str, path: &str, token: bool) -> (StatusCode, String) {
        let mut request = Request::builder().method(method).uri(path);
        if token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
        }
        let body = match method {
            "POST" => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(r#"{"permissions": ["kv"]}"#)
            }
            _ => Body::empty(),
        };
        let response = app
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Every path and method of the OpenAPI document.
    /// What a documented route needs.
    enum Guard {
        Open,
        Admin,
        ApiToken,
    }

    fn documented() -> Vec<(String, String, Guard)> {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("valid JSON");
        let mut found = Vec::new();
        for (path, methods) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in methods.as_object().expect("methods") {
                let guard = match &operation["security"] {
                    security if *security == serde_json::json!([]) => Guard::Open,
                    security if *security == serde_json::json!([{"apiToken": []}]) => {
                        Guard::ApiToken
                    }
                    _ => Guard::Admin,
                };
                let path = path
                    .replace("{name}", "echo")
                    .replace("{chat}", "telegram:42")
                    .replace("{id}", "0000");
                found.push((method.to_uppercase(), path, guard));
            }
        }
        found
    }

    #[tokio::test]
    async fn every_documented_route_is_served_and_all_but_health_need_the_token() {
        let app = console();
        let documented = documented();
        assert_eq!(documented.len(), 20);
        for (method, path, guard) in documented {
            let (status, body) = call(&app, &method, &path, false).await;
            match guard {
                Guard::Open => assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {path}"),
                Guard::Admin => {
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
                    assert!(body.contains("admin token"), "{body}");
                }
                Guard::ApiToken => {
                    // Nor is the admin token an API token.
                    let (with_admin, body) = call(&app, &method, &path, true).await;
                    assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
                    assert_eq!(
                        with_admin,
                        StatusCode::UNAUTHORIZED,
                        "{method} {path}: {body}"
                    );
                    assert!(body.contains("not an API token"), "{body}");
                    continue;
                }
            }
            let (status, body) = call(&app, &method, &path, true).await;
            assert!(
                !body.contains("no such page") && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not served: {status} {body}"
            );
        }
        let (status, body) = call(&app, "GET", "/api/v1/nothing", true).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.contains("no such page"), "{body}");
    }

    #[tokio::test]
    async fn refusals_are_json_naming_the_problem() {
        let app = console();
        let (status, body) = call(&app, "POST", "/api/v1/plugins/echo/grant", true).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let error: ApiError = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            error.error,
            "no plugin named `echo` is running; `plugboard plugins list` shows the plugins"
        );
        let request = Request::post("/api/v1/plugins/echo/revoke")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .body(Body::from("garbage"))
            .expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .expect("body");
        let error: ApiError = serde_json::from_slice(&bytes).expect("JSON");
        assert!(error.error.contains("application/json"), "{}", error.error);
        for chat in ["nowhere", "Tele:1", "telegram:a%2Fb", "telegram:%0A1"]
            .into_iter()
            .map(str::to_owned)
            .chain([format!("telegram:{}", "9".repeat(129))])
        {
            let path = format!("/api/v1/chats/{chat}/plugins");
            let request = Request::post(path.as_str())
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"off": "echo"}"#))
                .expect("request");
            let response = app.clone().oneshot(request).await.expect("infallible");
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{chat}"
            );
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body");
            let error: ApiError = serde_json::from_slice(&bytes).expect("JSON");
            assert!(error.error.contains("is not a chat"), "{}", error.error);
            assert!(error.error.len() < 400, "the name is cut: {}", error.error);
        }
        let (status, body) = call(&app, "GET", "/api/v1/audit?action=bann", true).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            body.contains("is not an action the audit log records"),
            "{body}"
        );
        let (status, body) = call(&app, "GET", "/api/v1/audit?last=many", true).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(serde_json::from_str::<ApiError>(&body).is_ok(), "{body}");
    }
}
