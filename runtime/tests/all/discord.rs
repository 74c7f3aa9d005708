//! The Discord adapter through the real serenity client, against a fake
//! Discord on 127.0.0.1: REST (`/api/v10/…`, reached through `proxy_url`)
//! and a gateway WebSocket that speaks HELLO, IDENTIFY/READY, heartbeats,
//! dispatches and RESUME with replay.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use plugboard_runtime::adapters::discord::{DiscordAdapter, DiscordConfig};
use plugboard_runtime::adapters::memory::MemoryAdapter;
use plugboard_runtime::bot::Bot;
use plugboard_runtime::config::BotConfig;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{PATIENCE, dirs_toml, plugins_dir, shared_cache, test_plugins_dir};

const BOT_ID: &str = "777000000000000001";
const APP_ID: &str = "777000000000000001";
const DM: &str = "555000000000000042";
const ANN: &str = "420000000000000042";

/// Orders for the live gateway connection.
enum Ctl {
    Send(String),
    Close(u16),
}

/// What the fake holds and saw.
#[derive(Default)]
struct Fake {
    base: String,
    refuse_token: bool,
    /// `(method, path, body)` of every REST call but the startup reads.
    calls: Vec<(String, String, Value)>,
    next_message_id: u64,
    /// Every dispatch of the current session, for replay on RESUME.
    log: Vec<Value>,
    seq: u64,
    /// The connection that identified or resumed, when one is live.
    current: Option<mpsc::UnboundedSender<Ctl>>,
    identifies: Vec<Value>,
    resumes: Vec<Value>,
    heartbeats: usize,
}

type Shared = Arc<Mutex<Fake>>;

fn lock(fake: &Shared) -> std::sync::MutexGuard<'_, Fake> {
    fake.lock().unwrap_or_else(|p| p.into_inner())
}

fn user(id: &str, name: &str, bot: bool) -> Value {
    json!({"id": id, "username": name, "discriminator": "0", "global_name": null,
           "avatar": null, "bot": bot})
}

fn ann() -> Value {
    json!({"id": ANN, "username": "ann", "discriminator": "0", "global_name": "Ann",
           "avatar": null, "bot": false})
}

fn message(id: &str, channel: &str, author: Value, content: &str) -> Value {
    json!({
        "id": id, "channel_id": channel, "author": author, "content": content,
        "timestamp": "2026-01-01T00:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0, "components": []
    })
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Every REST call.
async fn rest(State(fake): State<Shared>, method: Method, uri: Uri, body: String) -> Response {
    let path = uri.path().to_owned();
    let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if path == "/slow" {
        return slow(&fake).await;
    }
    let Some(route) = path.strip_prefix("/api/v10") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut state = lock(&fake);
    if state.refuse_token {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "401: Unauthorized", "code": 0}),
        );
    }
    let gateway = format!("{}/gateway", state.base.replace("http://", "ws://"));
    let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["gateway"]) => return json_response(StatusCode::OK, json!({"url": gateway})),
        ("GET", ["gateway", "bot"]) => {
            return json_response(
                StatusCode::OK,
                json!({"url": gateway, "shards": 1, "session_start_limit":
                    {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}),
            );
        }
        ("GET", ["users", "@me"]) => {
            return json_response(StatusCode::OK, user(BOT_ID, "plugboard", true));
        }
        ("GET", ["oauth2", "applications", "@me"]) => {
            return json_response(
                StatusCode::OK,
                json!({"id": APP_ID, "name": "Plugboard", "icon": null, "description": "",
                       "bot_public": true, "bot_require_code_grant": false, "owner": null,
                       "verify_key": "00", "team": null}),
            );
        }
        _ => {}
    }
    state
        .calls
        .push((method.to_string(), path.clone(), body.clone()));
    let mut answer_message = |channel: &str, id: Option<&str>| {
        state.next_message_id += 1;
        let id = id.map_or_else(|| (5000 + state.next_message_id).to_string(), str::to_owned);
        let mut m = message(
            &id,
            channel,
            user(BOT_ID, "plugboard", true),
            body["content"].as_str().unwrap_or_default(),
        );
        m["components"] = body["components"].clone();
        json_response(StatusCode::OK, m)
    };
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["channels", channel, "messages"]) => answer_message(channel, None),
        ("PATCH", ["channels", channel, "messages", id]) => answer_message(channel, Some(id)),
        ("PATCH", ["webhooks", _, _, "messages", "@original"]) | ("POST", ["webhooks", _, _]) => {
            answer_message(DM, None)
        }
        ("PUT", ["applications", app, "commands"])
        | ("PUT", ["applications", app, "guilds", _, "commands"]) => {
            let commands: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, mut c)| {
                    c["id"] = json!((9000 + i).to_string());
                    c["application_id"] = json!(app);
                    c["version"] = json!("1");
                    c["default_member_permissions"] = Value::Null;
                    c
                })
                .collect();
            json_response(StatusCode::OK, Value::Array(commands))
        }
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

/// A slow web page for the hostile plugin's `/fetch`: it answers only once
/// the adapter has deferred the interaction waiting for it.
async fn slow(fake: &Shared) -> Response {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        let deferred = lock(fake)
            .calls
            .iter()
            .any(|(_, path, body)| path.ends_with("/callback") && body["type"] == 5);
        if deferred {
            return "slow body".into_response();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    StatusCode::GATEWAY_TIMEOUT.into_response()
}

async fn gateway(State(fake): State<Shared>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| connection(fake, socket))
}

fn dispatch_payload(state: &mut Fake, t: &str, d: Value) -> Value {
    state.seq += 1;
    json!({"op": 0, "t": t, "s": state.seq, "d": d})
}

/// One gateway connection.
async fn connection(fake: Shared, mut socket: WebSocket) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let hello = json!({"op": 10, "d": {"heartbeat_interval": 1000}});
    if socket
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            received = socket.recv() => {
                let Some(Ok(WsMessage::Text(text))) = received else {
                    match received {
                        Some(Ok(_)) => continue,
                        _ => break,
                    }
                };
                let payload: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                let mut out = Vec::new();
                {
                    let mut state = lock(&fake);
                    match payload["op"].as_u64() {
                        Some(1) => {
                            state.heartbeats += 1;
                            out.push(json!({"op": 11}));
                        }
                        Some(2) => {
                            state.identifies.push(payload["d"].clone());
                            state.log.clear();
                            state.seq = 0;
                            let session = format!("session-{}", state.identifies.len());
                            let gateway = format!("{}/gateway", state.base.replace("http://", "ws://"));
                            let ready = json!({
                                "v": 10, "user": user(BOT_ID, "plugboard", true), "guilds": [],
                                "session_id": session, "resume_gateway_url": gateway,
                                "shard": [0, 1], "application": {"id": APP_ID, "flags": 0}
                            });
                            out.push(dispatch_payload(&mut state, "READY", ready));
                            state.current = Some(tx.clone());
                        }
                        Some(6) => {
                            let from = payload["d"]["seq"].as_u64().unwrap_or_default();
                            state.resumes.push(payload["d"].clone());
                            out.extend(
                                state.log.iter().filter(|p| p["s"].as_u64() > Some(from)).cloned(),
                            );
                            let resumed = dispatch_payload(&mut state, "RESUMED", json!({}));
                            out.push(resumed);
                            state.current = Some(tx.clone());
                        }
                        _ => {}
                    }
                }
                for payload in out {
                    if socket.send(WsMessage::Text(payload.to_string().into())).await.is_err() {
                        return;
                    }
                }
            }
            ctl = rx.recv() => match ctl {
                Some(Ctl::Send(text)) => {
                    if socket.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(Ctl::Close(code)) => {
                    let frame = CloseFrame { code, reason: "fake: going away".into() };
                    let _ = socket.send(WsMessage::Close(Some(frame))).await;
                    break;
                }
                None => break,
            }
        }
    }
    let mut state = lock(&fake);
    if state.current.as_ref().is_some_and(|c| c.same_channel(&tx)) {
        state.current = None;
    }
}

impl Fake {
    /// Sends a dispatch on the live connection (logged for replay).
    fn dispatch(&mut self, t: &str, d: Value) {
        let payload = dispatch_payload(self, t, d);
        self.log.push(payload.clone());
        if let Some(current) = &self.current {
            let _ = current.send(Ctl::Send(payload.to_string()));
        }
    }

    /// Drops the live connection with a resumable close code, with one
    /// more dispatch the client has not seen yet.
    fn drop_connection_with(&mut self, t: &str, d: Value) {
        let payload = dispatch_payload(self, t, d);
        self.log.push(payload);
        if let Some(current) = self.current.take() {
            let _ = current.send(Ctl::Close(4000));
        }
    }

    fn send_raw(&mut self, text: &str) {
        if let Some(current) = &self.current {
            let _ = current.send(Ctl::Send(text.to_owned()));
        }
    }
}

/// Starts the fake on 127.0.0.1:0 and returns its base URL.
async fn serve(fake: Shared) -> Result<String> {
    let app = axum::Router::new()
        .route("/gateway", get(gateway))
        .fallback(rest)
        .with_state(Arc::clone(&fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    lock(&fake).base = url.clone();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Waits until `check` holds for the fake.
async fn wait_until<T>(fake: &Shared, what: &str, check: impl Fn(&Fake) -> Option<T>) -> Result<T> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(found) = check(&lock(fake)) {
            return Ok(found);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "waited in vain for {what}; calls: {:?}",
            lock(fake).calls
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for `count` REST calls of `method` on paths matching `path`.
async fn wait_for(fake: &Shared, method: &str, path: &str, count: usize) -> Result<Vec<Value>> {
    wait_until(fake, &format!("{count} × {method} {path}"), |f| {
        let found: Vec<Value> = f
            .calls
            .iter()
            .filter(|(m, p, _)| m == method && matches(p, path))
            .map(|(_, _, b)| b.clone())
            .collect();
        (found.len() >= count).then_some(found)
    })
    .await
}

/// Whether `path` matches `pattern`, where `*` stands for one segment.
fn matches(path: &str, pattern: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), pattern.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| *y == "*" || x == y)
}

/// Waits until the gateway session is live.
async fn connected(fake: &Shared) -> Result<()> {
    wait_until(fake, "a live gateway session", |f| {
        f.current.as_ref().map(drop)
    })
    .await
}

struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<Result<(), plugboard_runtime::bot::BotError>>,
}

impl Running {
    async fn stop(self) -> Result<()> {
        let _ = self.stop.send(());
        tokio::time::timeout(PATIENCE, self.done).await???;
        Ok(())
    }
}

fn start(
    data: &std::path::Path,
    url: &str,
    extra: &str,
    memory: Option<MemoryAdapter>,
) -> Result<Running> {
    let text = format!(
        "[runtime]\ndata_dir = {:?}\ncache_dir = {:?}\nplugin_dirs = {}\n\n\
         [plugins.poll]\ngrants = [\"kv\"]\n\n\
         [plugins.hostile]\ngrants = [\"http\"]\nhttp_allow_private = [\"127.0.0.0/8\"]\nlimits = {{ deadline_ms = 60000 }}\n\n\
         [discord]\nproxy_url = {url:?}\n{extra}\n",
        data.display().to_string(),
        shared_cache().display().to_string(),
        dirs_toml(&[&plugins_dir(), &test_plugins_dir()]),
    );
    let config = BotConfig::parse(&text, std::path::Path::new("dc.toml"), data.to_path_buf())?;
    let (mut bot, _) = Bot::from_config(&config)?;
    let section: &DiscordConfig = config.discord.as_ref().context("[discord]")?;
    let manifests = bot.router().plugins().iter().map(|p| p.manifest());
    let adapter = DiscordAdapter::with_token("TEST.TOKEN", section, manifests)?;
    bot.add_adapter(Box::new(adapter));
    if let Some(memory) = memory {
        bot.add_adapter(Box::new(memory));
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(bot.run(async move {
        let _ = stopped.await;
    }));
    Ok(Running { stop, done })
}

fn dm_message(id: &str, text: &str) -> Value {
    message(id, DM, ann(), text)
}

fn slash(id: &str, name: &str, options: Value) -> Value {
    json!({
        "id": id, "application_id": APP_ID, "type": 2,
        "data": {"id": "9001", "name": name, "type": 1, "options": options},
        "channel_id": DM, "user": ann(), "token": format!("token-{id}"), "version": 1,
        "app_permissions": "0", "locale": "en-US", "entitlements": [],
        "authorizing_integration_owners": {}, "context": 1, "attachment_size_limit": 8388608
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_command_is_answered_and_heartbeats_are_acknowledged() -> Result<()> {
    let fake = Shared::default();
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, "", None)?;
    connected(&fake).await?;
    lock(&fake).dispatch(
        "MESSAGE_CREATE",
        dm_message("100", "!echo hello *discord* @everyone"),
    );
    let sent = wait_for(
        &fake,
        "POST",
        &format!("/api/v10/channels/{DM}/messages"),
        1,
    )
    .await?;
    // Plain text: markup escaped, @everyone defused, no one pinged.
    assert_eq!(
        sent[0]["content"], "hello \\*discord\\* @\u{200B}everyone",
        "{}",
        sent[0]
    );
    assert_eq!(sent[0]["message_reference"]["message_id"], "100");
    assert_eq!(sent[0]["allowed_mentions"]["parse"], json!([]));
    // Prefix commands need the message content intent (1 << 15).
    let intents = lock(&fake).identifies[0]["intents"]
        .as_u64()
        .unwrap_or_default();
    assert_ne!(intents & (1 << 15), 0, "intents {intents:b}");
    // The bot's own messages are not handled.
    lock(&fake).dispatch(
        "MESSAGE_CREATE",
        message("101", DM, user(BOT_ID, "plugboard", true), "!echo loop"),
    );
    wait_until(&fake, "a heartbeat", |f| (f.heartbeats > 0).then_some(())).await?;
    lock(&fake).dispatch("MESSAGE_CREATE", dm_message("102", "!echo last"));
    let sent = wait_for(
        &fake,
        "POST",
        &format!("/api/v10/channels/{DM}/messages"),
        2,
    )
    .await?;
    assert_eq!(sent[1]["content"], "last");

    // In a guild: the nickname, username and guild reach the plugin.
    let mut in_guild = message("103", "600", ann(), "!whoami");
    in_guild["guild_id"] = json!("31337");
    in_guild["member"] = json!({"nick": "Annie", "roles": ["11", "12"], "joined_at": null,
        "deaf": false, "mute": false, "flags": 0, "pending": false, "premium_since": null});
    lock(&fake).dispatch("MESSAGE_CREATE", in_guild);
    let sent = wait_for(&fake, "POST", "/api/v10/channels/600/messages", 1).await?;
    assert_eq!(
        sent[0]["content"],
        format!("Annie (@ann), discord user {ANN}, in chat 600, guild 31337")
    );
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_are_registered_from_manifests_and_answered() -> Result<()> {
    let fake = Shared::default();
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, "guild_id = 31337", None)?;
    let registered = wait_for(
        &fake,
        "PUT",
        &format!("/api/v10/applications/{APP_ID}/guilds/31337/commands"),
        1,
    )
    .await?;
    let commands = registered[0].as_array().context("a list")?;
    let names: Vec<&str> = commands.iter().filter_map(|c| c["name"].as_str()).collect();
    for expected in ["echo", "whoami", "roll", "poll", "help", "fetch"] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    let echo = commands
        .iter()
        .find(|c| c["name"] == "echo")
        .context("echo")?;
    assert_eq!(echo["description"], "Repeats <text> back to you.");
    assert_eq!(echo["options"][0]["name"], "args");
    assert_eq!(echo["options"][0]["type"], 3);

    connected(&fake).await?;
    lock(&fake).dispatch(
        "INTERACTION_CREATE",
        slash(
            "200",
            "echo",
            json!([{"name": "args", "type": 3, "value": "hi there"}]),
        ),
    );
    let answered = wait_for(
        &fake,
        "POST",
        "/api/v10/interactions/200/token-200/callback",
        1,
    )
    .await?;
    assert_eq!(answered[0]["type"], 4, "{}", answered[0]);
    assert_eq!(answered[0]["data"]["content"], "hi there");

    lock(&fake).dispatch("INTERACTION_CREATE", slash("201", "whoami", json!([])));
    let answered = wait_for(
        &fake,
        "POST",
        "/api/v10/interactions/201/token-201/callback",
        1,
    )
    .await?;
    assert_eq!(
        answered[0]["data"]["content"],
        format!("Ann (@ann), discord user {ANN}, in chat {DM}")
    );

    lock(&fake).dispatch("INTERACTION_CREATE", slash("202", "help", json!([])));
    let answered = wait_for(
        &fake,
        "POST",
        "/api/v10/interactions/202/token-202/callback",
        1,
    )
    .await?;
    let help = answered[0]["data"]["content"].as_str().unwrap_or_default();
    assert!(help.starts_with("Commands:"), "{help}");
    bot.stop().await?;

    // The same plugins at the next start: nothing to register again.
    let calls = lock(&fake).calls.len();
    let bot = start(data.path(), &url, "guild_id = 31337", None)?;
    connected(&fake).await?;
    lock(&fake).dispatch("MESSAGE_CREATE", dm_message("103", "!echo again"));
    wait_for(
        &fake,
        "POST",
        &format!("/api/v10/channels/{DM}/messages"),
        1,
    )
    .await?;
    bot.stop().await?;
    let puts = lock(&fake).calls[calls..]
        .iter()
        .filter(|(m, _, _)| m == "PUT")
        .count();
    assert_eq!(puts, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_plugin_is_deferred_then_its_answer_edits_the_response() -> Result<()> {
    let fake = Shared::default();
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, "", None)?;
    connected(&fake).await?;
    lock(&fake).dispatch(
        "INTERACTION_CREATE",
        slash(
            "300",
            "fetch",
            json!([{"name": "args", "type": 3, "value": format!("{url}/slow")}]),
        ),
    );
    let edited = wait_for(
        &fake,
        "PATCH",
        &format!("/api/v10/webhooks/{APP_ID}/token-300/messages/@original"),
        1,
    )
    .await?;
    let text = edited[0]["content"].as_str().unwrap_or_default();
    assert!(text.contains("slow body"), "{text}");
    let callbacks = wait_for(
        &fake,
        "POST",
        "/api/v10/interactions/300/token-300/callback",
        1,
    )
    .await?;
    assert_eq!(callbacks.len(), 1, "answered once: {callbacks:?}");
    assert_eq!(callbacks[0]["type"], 5);

    // A command that answers nothing still gets an answer.
    lock(&fake).dispatch(
        "INTERACTION_CREATE",
        slash("301", "nosuchcommand", json!([])),
    );
    let closed = wait_for(
        &fake,
        "POST",
        "/api/v10/interactions/301/token-301/callback",
        1,
    )
    .await?;
    assert_eq!(closed[0]["type"], 4);
    assert_eq!(closed[0]["data"]["flags"], 64, "only the user sees it");
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_press_updates_the_poll_message() -> Result<()> {
    let fake = Shared::default();
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, "", None)?;
    connected(&fake).await?;
    lock(&fake).dispatch(
        "MESSAGE_CREATE",
        dm_message("400", "!poll Lunch? | Pizza | Salad"),
    );
    let sent = wait_for(
        &fake,
        "POST",
        &format!("/api/v10/channels/{DM}/messages"),
        1,
    )
    .await?;
    // Markdown passes through; Discord renders it.
    assert_eq!(sent[0]["content"], "📊 **Lunch?**\n\nPizza — 0\nSalad — 0");
    let pizza = &sent[0]["components"][0]["components"][0];
    assert_eq!(pizza["label"], "Pizza");
    let custom_id = pizza["custom_id"].as_str().context("custom_id")?.to_owned();
    assert_eq!(
        custom_id, "poll:400:0",
        "button ids are namespaced by plugin"
    );

    // The fake numbered the poll message 5001; Ann presses "Pizza".
    let mut poll = message("5001", DM, user(BOT_ID, "plugboard", true), "📊 Lunch?");
    poll["components"] = sent[0]["components"].clone();
    lock(&fake).dispatch(
        "INTERACTION_CREATE",
        json!({
            "id": "401", "application_id": APP_ID, "type": 3,
            "data": {"custom_id": custom_id, "component_type": 2},
            "channel_id": DM, "user": ann(), "token": "token-401", "version": 1,
            "message": poll, "app_permissions": "0", "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {}, "context": 1, "attachment_size_limit": 8388608
        }),
    );
    let updated = wait_for(
        &fake,
        "POST",
        "/api/v10/interactions/401/token-401/callback",
        1,
    )
    .await?;
    assert_eq!(updated[0]["type"], 7, "{}", updated[0]);
    assert_eq!(
        updated[0]["data"]["content"],
        "📊 **Lunch?**\n\nPizza — 1\nSalad — 0"
    );
    assert_eq!(
        updated[0]["data"]["components"][1]["components"][0]["label"],
        "Salad"
    );
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_gateway_connection_resumes_without_losing_the_event() -> Result<()> {
    let fake = Shared::default();
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, "", None)?;
    connected(&fake).await?;
    lock(&fake).dispatch("MESSAGE_CREATE", dm_message("500", "!echo before"));
    wait_for(
        &fake,
        "POST",
        &format!("/api/v10/channels/{DM}/messages"),
        1,
    )
    .await?;
    // Sent while the connection drops: the client never saw it.
    lock(&fake).drop_connection_with("MESSAGE_CREATE", dm_message("501", "!echo missed"));
    let sent = wait_for(
        &fake,
        "POST",
        &format!("/api/v10/channels/{DM}/messages"),
        2,
    )
    .await?;
    assert_eq!(sent[1]["content"], "missed");
    let (resumes, identifies) = {
        let state = lock(&fake);
        (state.resumes.clone(), state.identifies.len())
    };
    assert_eq!(resumes.len(), 1, "{resumes:?}");
    assert_eq!(resumes[0]["session_id"], "session-1");
    assert_eq!(resumes[0]["seq"], 2, "READY and the first message seen");
    assert_eq!(identifies, 1, "resumed, not identified again");
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_gateway_payloads_do_not_stop_the_adapter() -> Result<()> {
    let fake = Shared::default();
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, "", None)?;
    connected(&fake).await?;
    {
        let mut state = lock(&fake);
        state.send_raw("{this is not json");
        state.send_raw(r#"{"op": 0, "t": "MESSAGE_CREATE", "s": 99, "d": {"id": "x"}}"#);
        state.send_raw(r#"{"op": 0, "t": "INTERACTION_CREATE", "s": 98, "d": {"type": 2}}"#);
        state.send_raw(r#"{"op": 42, "d": null}"#);
        state.dispatch("MESSAGE_CREATE", dm_message("600", "!echo still here"));
    }
    let sent = wait_for(
        &fake,
        "POST",
        &format!("/api/v10/channels/{DM}/messages"),
        1,
    )
    .await?;
    assert_eq!(sent[0]["content"], "still here");
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_only_the_discord_adapter() -> Result<()> {
    let fake = Shared::default();
    lock(&fake).refuse_token = true;
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let (memory, mut handle) = MemoryAdapter::new("other");
    let bot = start(data.path(), &url, "", Some(memory))?;
    assert!(handle.say("c", "u", "/echo others keep running").await);
    let answer = tokio::time::timeout(PATIENCE, handle.recv())
        .await?
        .context("bot stopped")?;
    assert_eq!(crate::support::text_of(&answer), "others keep running");
    assert!(lock(&fake).identifies.is_empty());
    handle.close();
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_plugboard_process_serves_telegram_and_discord() -> Result<()> {
    use crate::telegram as tg;

    let telegram = tg::Shared::default();
    tg::lock(&telegram).updates = vec![tg::text_update(90, 9, "/echo from telegram")];
    let telegram_url = tg::serve(Arc::clone(&telegram)).await?;
    let discord = Shared::default();
    let discord_url = serve(Arc::clone(&discord)).await?;

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("plugboard.toml");
    std::fs::write(
        &config,
        format!(
            "[runtime]\ndata_dir = \"data\"\ncache_dir = {:?}\nplugin_dirs = {}\n\n\
             [telegram]\ntoken_env = \"PLUGBOARD_TEST_TELEGRAM\"\napi_url = {telegram_url:?}\n\n\
             [discord]\ntoken_env = \"PLUGBOARD_TEST_DISCORD\"\nproxy_url = {discord_url:?}\n",
            shared_cache().display().to_string(),
            dirs_toml(&[&plugins_dir()]),
        ),
    )?;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["run", "--config"])
        .arg(&config)
        .env("PLUGBOARD_TEST_TELEGRAM", "123:TEST")
        .env("PLUGBOARD_TEST_DISCORD", "TEST.TOKEN")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let answered = async {
        connected(&discord).await?;
        lock(&discord).dispatch("MESSAGE_CREATE", dm_message("700", "!echo from discord"));
        let on_discord = wait_for(
            &discord,
            "POST",
            &format!("/api/v10/channels/{DM}/messages"),
            1,
        )
        .await?;
        let on_telegram = tg::wait_for(&telegram, "sendmessage", 1).await?;
        anyhow::Ok((on_discord, on_telegram))
    }
    .await;
    child.kill().await?;
    let (on_discord, on_telegram) = answered?;
    assert_eq!(on_discord[0]["content"], "from discord");
    assert_eq!(on_telegram[0]["text"], "from telegram");
    Ok(())
}
