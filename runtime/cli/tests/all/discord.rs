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
use plugboard_adapter::memory::MemoryAdapter;
use plugboard_bot::bot::Bot;
use plugboard_bot::config::BotConfig;
use plugboard_discord::{DiscordAdapter, DiscordConfig};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{
    PATIENCE, Running, dirs_toml, plugboard_run, plugins_dir, shared_cache, test_plugins_dir,
};

const BOT_ID: &str = "777000000000000001";
const APP_ID: &str = "777000000000000001";
const DM: &str = "555000000000000042";
const ANN: &str = "420000000000000042";
const GUILD: &str = "31337";
const GUILD_SYSTEM_CHANNEL: &str = "600";

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
        ("GET", ["guilds", id]) => {
            // What the adapter reads of a guild: its system channel.
            return json_response(
                StatusCode::OK,
                json!({"id": id, "name": "Test server", "icon": null, "icon_hash": null,
                       "splash": null, "discovery_splash": null, "owner_id": ANN,
                       "verification_level": 0, "default_message_notifications": 0,
                       "explicit_content_filter": 0, "roles": [], "emojis": [],
                       "features": [], "mfa_level": 0, "application_id": null,
                       "system_channel_id": GUILD_SYSTEM_CHANNEL, "system_channel_flags": 0,
                       "rules_channel_id": null, "vanity_url_code": null, "description": null,
                       "banner": null, "premium_tier": 0, "preferred_locale": "en-US",
                       "public_updates_channel_id": null, "nsfw_level": 0, "stickers": [],
                       "premium_progress_bar_enabled": false}),
            );
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
        // The direct message channel with a user (Ann's is `DM`).
        ("POST", ["users", "@me", "channels"]) => json_response(
            StatusCode::OK,
            json!({"id": DM, "type": 1, "last_message_id": null, "recipients": [ann()]}),
        ),
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

/// What the bot of a test runs: its plugin directories and what hostile
/// is granted.
struct Setup {
    plugin_dirs: Vec<std::path::PathBuf>,
    hostile_grants: &'static str,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            plugin_dirs: vec![plugins_dir(), test_plugins_dir()],
            hostile_grants: "[\"http\"]",
        }
    }
}

/// A fake Discord being served, and the data directory of the bots a test
/// starts against it (kept across restarts).
struct Discord {
    fake: Shared,
    url: String,
    data: tempfile::TempDir,
}

impl Discord {
    /// Serves a fresh fake.
    async fn serve() -> Result<Self> {
        let fake = Shared::default();
        let url = serve(Arc::clone(&fake)).await?;
        let data = tempfile::tempdir()?;
        Ok(Self { fake, url, data })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Fake> {
        lock(&self.fake)
    }

    /// Starts a bot with the default setup and waits for its gateway
    /// session; `extra` is appended to `[discord]`.
    async fn connect(&self, extra: &str) -> Result<Running> {
        self.connect_with(&Setup::default(), extra).await
    }

    async fn connect_with(&self, setup: &Setup, extra: &str) -> Result<Running> {
        let bot = self.start(setup, extra, None)?;
        self.connected().await?;
        Ok(bot)
    }

    /// Waits until the gateway session is live.
    async fn connected(&self) -> Result<()> {
        connected(&self.fake).await
    }

    /// Starts a bot (and `memory` beside Discord) without waiting.
    fn start(&self, setup: &Setup, extra: &str, memory: Option<MemoryAdapter>) -> Result<Running> {
        let data = self.data.path();
        let dirs: Vec<&std::path::Path> = setup.plugin_dirs.iter().map(|d| d.as_path()).collect();
        let text = format!(
            "[runtime]\ndata_dir = {:?}\ncache_dir = {:?}\nplugin_dirs = {}\n\n\
             [plugins.poll]\ngrants = [\"kv\"]\n\n\
             [plugins.notes]\ngrants = [\"kv\"]\n\n\
             [plugins.hostile]\ngrants = {}\nhttp_allow_private = [\"127.0.0.0/8\"]\nlimits = {{ deadline_ms = 60000 }}\n\n\
             [discord]\nproxy_url = {:?}\n{extra}\n",
            data.display().to_string(),
            shared_cache().display().to_string(),
            dirs_toml(&dirs),
            setup.hostile_grants,
            self.url,
        );
        let config = BotConfig::parse(&text, std::path::Path::new("dc.toml"), data.to_path_buf())?;
        let (mut bot, _) = Bot::from_config(&config)?;
        let (_, section): (_, &DiscordConfig) = config
            .discord
            .named("discord")
            .next()
            .context("[discord]")?;
        let manifests = bot.router().plugins().iter().map(|p| p.manifest());
        let adapter = DiscordAdapter::with_token("TEST.TOKEN", section, manifests)?;
        bot.add_adapter(Box::new(adapter));
        Ok(Running::spawn(bot, memory))
    }

    /// Ann writes `text` in the DM, as message `id`.
    fn dm(&self, id: &str, text: &str) {
        self.state()
            .dispatch("MESSAGE_CREATE", dm_message(id, text));
    }

    /// Ann runs the slash command `name` in the DM, as interaction `id`.
    fn slash(&self, id: &str, name: &str, options: Value) {
        self.state()
            .dispatch("INTERACTION_CREATE", slash(id, name, options));
    }

    /// The gateway intents the bot identified with.
    fn intents(&self) -> u64 {
        self.state().identifies[0]["intents"]
            .as_u64()
            .unwrap_or_default()
    }

    /// Waits for `count` REST calls of `method` on paths matching `path`.
    async fn wait_for(&self, method: &str, path: &str, count: usize) -> Result<Vec<Value>> {
        wait_for(&self.fake, method, path, count).await
    }

    /// Waits for `count` messages posted in `channel`.
    async fn channel_messages(&self, channel: &str, count: usize) -> Result<Vec<Value>> {
        let path = format!("/api/v10/channels/{channel}/messages");
        self.wait_for("POST", &path, count).await
    }

    /// Waits for `count` messages posted in the DM.
    async fn dm_messages(&self, count: usize) -> Result<Vec<Value>> {
        self.channel_messages(DM, count).await
    }

    /// Waits for the callback that answers interaction `id`.
    async fn callbacks(&self, id: &str) -> Result<Vec<Value>> {
        let path = format!("/api/v10/interactions/{id}/token-{id}/callback");
        self.wait_for("POST", &path, 1).await
    }
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
    let discord = Discord::serve().await?;
    let bot = discord.connect("").await?;
    discord.dm("100", "!echo hello *discord* @everyone");
    let sent = discord.dm_messages(1).await?;
    // Plain text: markup escaped, @everyone defused, no one pinged.
    assert_eq!(
        sent[0]["content"], "hello \\*discord\\* @\u{200B}everyone",
        "{}",
        sent[0]
    );
    assert_eq!(sent[0]["message_reference"]["message_id"], "100");
    assert_eq!(sent[0]["allowed_mentions"]["parse"], json!([]));
    // Prefix commands need the message content intent (1 << 15).
    let intents = discord.intents();
    assert_ne!(intents & (1 << 15), 0, "intents {intents:b}");
    // The bot's own messages are not handled.
    discord.state().dispatch(
        "MESSAGE_CREATE",
        message("101", DM, user(BOT_ID, "plugboard", true), "!echo loop"),
    );
    wait_until(&discord.fake, "a heartbeat", |f| {
        (f.heartbeats > 0).then_some(())
    })
    .await?;
    discord.dm("102", "!echo last");
    let sent = discord.dm_messages(2).await?;
    assert_eq!(sent[1]["content"], "last");

    // In a guild: the nickname, username and guild reach the plugin.
    let mut in_guild = message("103", "600", ann(), "!whoami");
    in_guild["guild_id"] = json!("31337");
    in_guild["member"] = json!({"nick": "Annie", "roles": ["11", "12"], "joined_at": null,
        "deaf": false, "mute": false, "flags": 0, "pending": false, "premium_since": null});
    discord.state().dispatch("MESSAGE_CREATE", in_guild);
    let sent = discord.channel_messages("600", 1).await?;
    assert_eq!(
        sent[0]["content"],
        format!("Annie (@ann), discord user {ANN}, in chat 600, guild 31337")
    );
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_are_registered_from_manifests_and_answered() -> Result<()> {
    let discord = Discord::serve().await?;
    let bot = discord.start(&Setup::default(), "guild_id = 31337", None)?;
    let registered = discord
        .wait_for(
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

    discord.connected().await?;
    discord.slash(
        "200",
        "echo",
        json!([{"name": "args", "type": 3, "value": "hi there"}]),
    );
    let answered = discord.callbacks("200").await?;
    assert_eq!(answered[0]["type"], 4, "{}", answered[0]);
    assert_eq!(answered[0]["data"]["content"], "hi there");

    discord.slash("201", "whoami", json!([]));
    let answered = discord.callbacks("201").await?;
    assert_eq!(
        answered[0]["data"]["content"],
        format!("Ann (@ann), discord user {ANN}, in chat {DM}")
    );

    discord.slash("202", "help", json!([]));
    let answered = discord.callbacks("202").await?;
    let help = answered[0]["data"]["content"].as_str().unwrap_or_default();
    assert!(help.starts_with("Commands:"), "{help}");
    bot.stop().await?;

    // The same plugins at the next start: nothing to register again.
    let calls = discord.state().calls.len();
    let bot = discord.connect("guild_id = 31337").await?;
    discord.dm("103", "!echo again");
    discord.dm_messages(1).await?;
    bot.stop().await?;
    let puts = discord.state().calls[calls..]
        .iter()
        .filter(|(m, _, _)| m == "PUT")
        .count();
    assert_eq!(puts, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_plugin_is_deferred_then_its_answer_edits_the_response() -> Result<()> {
    let discord = Discord::serve().await?;
    let bot = discord.connect("").await?;
    discord.slash(
        "300",
        "fetch",
        json!([{"name": "args", "type": 3, "value": format!("{}/slow", discord.url)}]),
    );
    let edited = discord
        .wait_for(
            "PATCH",
            &format!("/api/v10/webhooks/{APP_ID}/token-300/messages/@original"),
            1,
        )
        .await?;
    let text = edited[0]["content"].as_str().unwrap_or_default();
    assert!(text.contains("slow body"), "{text}");
    let callbacks = discord.callbacks("300").await?;
    assert_eq!(callbacks.len(), 1, "answered once: {callbacks:?}");
    assert_eq!(callbacks[0]["type"], 5);

    // A command that answers nothing still gets an answer.
    discord.slash("301", "nosuchcommand", json!([]));
    let closed = discord.callbacks("301").await?;
    assert_eq!(closed[0]["type"], 4);
    assert_eq!(closed[0]["data"]["flags"], 64, "only the user sees it");
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_press_updates_the_poll_message() -> Result<()> {
    let discord = Discord::serve().await?;
    let bot = discord.connect("").await?;
    discord.dm("400", "!poll Lunch? | Pizza | Salad");
    let sent = discord.dm_messages(1).await?;
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
    discord.state().dispatch(
        "INTERACTION_CREATE",
        json!({
            "id": "401", "application_id": APP_ID, "type": 3,
            "data": {"custom_id": custom_id, "component_type": 2},
            "channel_id": DM, "user": ann(), "token": "token-401", "version": 1,
            "message": poll, "app_permissions": "0", "locale": "en-US", "entitlements": [],
            "authorizing_integration_owners": {}, "context": 1, "attachment_size_limit": 8388608
        }),
    );
    let updated = discord.callbacks("401").await?;
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
async fn an_embed_reaches_discord_as_an_embed() -> Result<()> {
    let discord = Discord::serve().await?;
    let bot = discord.connect("").await?;
    discord.dm("450", "!remember color deep *teal*");
    discord.dm_messages(1).await?;
    // `notes` lists the chat's notes as a card.
    discord.dm("451", "!notes");
    let sent = discord.dm_messages(2).await?;
    assert_eq!(sent[1]["content"], "", "{}", sent[1]);
    assert_eq!(sent[1]["message_reference"]["message_id"], "451");
    let card = &sent[1]["embeds"][0];
    assert_eq!(card["title"], "📒 Notes (1)", "{card}");
    assert_eq!(
        card["fields"],
        json!([{"name": "color", "value": "deep \\*teal\\*", "inline": false}])
    );
    assert_eq!(sent[0]["embeds"], json!([]), "no card, no embed");

    // As the answer to a slash command, the same card.
    discord.slash("452", "notes", json!([]));
    let answered = discord.callbacks("452").await?;
    assert_eq!(answered[0]["type"], 4, "{}", answered[0]);
    assert_eq!(answered[0]["data"]["embeds"][0], *card);
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everyone_notifies_only_when_the_owner_granted_it() -> Result<()> {
    let discord = Discord::serve().await?;
    // `hostile` asks for `mention-everyone`; not granted, it is defused.
    let bot = discord.connect("").await?;
    discord.dm("460", "!everyone");
    let sent = discord.dm_messages(1).await?;
    assert_eq!(
        sent[0]["content"],
        "@\u{200B}everyone @\u{200B}here wake up"
    );
    assert_eq!(sent[0]["allowed_mentions"]["parse"], json!([]));
    bot.stop().await?;

    let granted = Setup {
        hostile_grants: "[\"http\", \"mention-everyone\"]",
        ..Setup::default()
    };
    let bot = discord.connect_with(&granted, "").await?;
    discord.dm("461", "!everyone");
    let sent = discord.dm_messages(2).await?;
    assert_eq!(sent[1]["content"], "@everyone @here wake up");
    assert_eq!(sent[1]["allowed_mentions"]["parse"], json!(["everyone"]));
    // Other plugins still cannot.
    discord.dm("462", "!echo @everyone");
    let sent = discord.dm_messages(3).await?;
    assert_eq!(sent[2]["content"], "@\u{200B}everyone");
    assert_eq!(sent[2]["allowed_mentions"]["parse"], json!([]));
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_commands_follow_plugins_installed_and_removed_while_running() -> Result<()> {
    use plugboard_packages::{Installed, InstalledPlugin};

    let discord = Discord::serve().await?;
    let only_echo = Setup {
        plugin_dirs: vec![plugins_dir().join("echo")],
        ..Setup::default()
    };
    let bot = discord.start(&only_echo, "", None)?;
    let commands = format!("/api/v10/applications/{APP_ID}/commands");
    let names = |body: &Value| -> Vec<String> {
        body.as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str().map(str::to_owned))
            .collect()
    };
    let registered = discord.wait_for("PUT", &commands, 1).await?;
    assert_eq!(names(&registered[0]), ["echo", "help", "whoami"]);
    discord.connected().await?;

    // What `plugboard install dice` leaves behind: the package's directory
    // and the installation record, which the running bot watches.
    let data = discord.data.path();
    let packages = Installed::root(data);
    let dir = packages.join("dice-0.1.0");
    std::fs::create_dir_all(&dir)?;
    for file in ["plugin.toml", "plugin.wasm"] {
        std::fs::copy(plugins_dir().join("dice").join(file), dir.join(file))?;
    }
    let mut record = Installed::default();
    record.plugins.push(InstalledPlugin {
        name: "dice".into(),
        version: semver::Version::new(0, 1, 0),
        registry: "test".into(),
        sha256: String::new(),
        key_id: String::new(),
        dir: "dice-0.1.0".into(),
        requested: Some("*".into()),
        permissions: Vec::new(),
    });
    record.save(data)?;
    let registered = discord.wait_for("PUT", &commands, 2).await?;
    assert_eq!(names(&registered[1]), ["echo", "help", "roll", "whoami"]);
    // The new command answers as a slash command.
    discord.slash(
        "470",
        "roll",
        json!([{"name": "args", "type": 3, "value": "2d2"}]),
    );
    let answered = discord.callbacks("470").await?;
    let rolled = answered[0]["data"]["content"].as_str().unwrap_or_default();
    assert!(rolled.starts_with("🎲 2d2: "), "{rolled}");

    // `plugboard remove dice`: registered again, without it.
    Installed::default().save(data)?;
    let registered = discord.wait_for("PUT", &commands, 3).await?;
    assert_eq!(names(&registered[2]), ["echo", "help", "whoami"]);
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_reactions_and_joins_reach_the_plugins_that_subscribe() -> Result<()> {
    let discord = Discord::serve().await?;
    let bot = discord.connect("").await?;
    // `hostile` subscribes to them: the intents follow.
    let intents = discord.intents();
    for (bit, name) in [(1, "GUILD_MEMBERS"), (10, "GUILD_MESSAGE_REACTIONS")] {
        assert_ne!(intents & (1 << bit), 0, "{name} missing from {intents:b}");
    }
    let member = |user: Value, nick: Option<&str>| {
        json!({"user": user, "nick": nick, "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00",
               "deaf": false, "mute": false, "flags": 0, "pending": false, "premium_since": null})
    };

    // An edit.
    discord.state().dispatch(
        "MESSAGE_UPDATE",
        json!({"id": "480", "channel_id": DM, "author": ann(), "content": "now edited",
               "edited_timestamp": "2026-01-01T00:01:00.000000+00:00"}),
    );
    let sent = discord.dm_messages(1).await?;
    assert_eq!(sent[0]["content"], "edited #480: now edited");
    assert_eq!(sent[0]["message_reference"]["message_id"], "480");

    // A reaction in a guild channel, by a member with a nickname.
    let reaction = json!({"user_id": ANN, "channel_id": GUILD_SYSTEM_CHANNEL, "message_id": "5001",
                          "guild_id": GUILD, "emoji": {"id": null, "name": "👍"}, "burst": false,
                          "type": 0, "member": member(ann(), Some("Annie"))});
    discord.state().dispatch("MESSAGE_REACTION_ADD", reaction);
    let sent = discord.channel_messages(GUILD_SYSTEM_CHANNEL, 1).await?;
    assert_eq!(sent[0]["content"], "Annie added 👍 on #5001");

    // A join, told in the guild's system channel (read with GET /guilds/…).
    let mut joined = member(user("555000000000000077", "bob", false), None);
    joined["guild_id"] = json!(GUILD);
    discord.state().dispatch("GUILD_MEMBER_ADD", joined);
    let sent = discord.channel_messages(GUILD_SYSTEM_CHANNEL, 2).await?;
    assert_eq!(
        sent[1]["content"],
        format!("welcome bob (555000000000000077) to {GUILD_SYSTEM_CHANNEL}")
    );
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_gateway_connection_resumes_without_losing_the_event() -> Result<()> {
    let discord = Discord::serve().await?;
    let bot = discord.connect("").await?;
    discord.dm("500", "!echo before");
    discord.dm_messages(1).await?;
    // Sent while the connection drops: the client never saw it.
    discord
        .state()
        .drop_connection_with("MESSAGE_CREATE", dm_message("501", "!echo missed"));
    let sent = discord.dm_messages(2).await?;
    assert_eq!(sent[1]["content"], "missed");
    let (resumes, identifies) = {
        let state = discord.state();
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
    let discord = Discord::serve().await?;
    let bot = discord.connect("").await?;
    {
        let mut state = discord.state();
        state.send_raw("{this is not json");
        state.send_raw(r#"{"op": 0, "t": "MESSAGE_CREATE", "s": 99, "d": {"id": "x"}}"#);
        state.send_raw(r#"{"op": 0, "t": "INTERACTION_CREATE", "s": 98, "d": {"type": 2}}"#);
        state.send_raw(r#"{"op": 42, "d": null}"#);
        state.dispatch("MESSAGE_CREATE", dm_message("600", "!echo still here"));
    }
    let sent = discord.dm_messages(1).await?;
    assert_eq!(sent[0]["content"], "still here");
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_only_the_discord_adapter() -> Result<()> {
    let discord = Discord::serve().await?;
    discord.state().refuse_token = true;
    let (memory, mut handle) = MemoryAdapter::new("other");
    let bot = discord.start(&Setup::default(), "", Some(memory))?;
    assert!(handle.say("c", "u", "/echo others keep running").await);
    let answer = tokio::time::timeout(PATIENCE, handle.recv())
        .await?
        .context("bot stopped")?;
    assert_eq!(crate::support::text_of(&answer), "others keep running");
    assert!(discord.state().identifies.is_empty());
    handle.close();
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_plugboard_process_serves_telegram_and_discord() -> Result<()> {
    use crate::telegram as tg;

    let telegram = tg::Shared::default();
    tg::lock(&telegram).updates = vec![tg::text_update(90, 9, "/echo from telegram")];
    let telegram_url = tg::serve(Arc::clone(&telegram)).await?;
    let discord = Discord::serve().await?;

    let dir = tempfile::tempdir()?;
    let mut child = run_on_both(dir.path(), &telegram_url, &discord.url, "")?;
    let answered = async {
        discord.connected().await?;
        discord.dm("700", "!echo from discord");
        let on_discord = discord.dm_messages(1).await?;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_linked_on_telegram_and_discord_share_notes_in_one_plugboard_run() -> Result<()> {
    use crate::telegram as tg;

    let telegram = tg::Shared::default();
    tg::lock(&telegram).updates = vec![
        tg::text_update(90, 9, "/remember color teal"),
        tg::text_update(91, 10, "/link"),
    ];
    let telegram_url = tg::serve(Arc::clone(&telegram)).await?;
    let discord = Discord::serve().await?;
    let dir = tempfile::tempdir()?;
    let notes = "[plugins.notes]\ngrants = [\"kv\"]\n";
    let mut child = run_on_both(dir.path(), &telegram_url, &discord.url, notes)?;
    let run = async {
        let sent = tg::wait_for(&telegram, "sendmessage", 2).await?;
        assert_eq!(sent[0]["text"], "Remembered `color`.");
        let code = crate::support::link_code(sent[1]["text"].as_str().unwrap_or_default())?;
        discord.connected().await?;
        // One at a time: the gateway's events may be handled out of order.
        let said = [
            "!recall color".to_owned(),
            "!link ABCDEFGH".to_owned(),
            format!("!link {code}"),
            "!recall color".to_owned(),
            format!("!link {code}"),
            "!unlink".to_owned(),
            "!recall color".to_owned(),
        ];
        let mut answers = Vec::new();
        for (i, text) in said.iter().enumerate() {
            discord.dm(&(701 + i).to_string(), text);
            answers = discord.dm_messages(i + 1).await?;
        }
        // Asked for in a server channel, a code goes to the direct messages.
        let mut in_guild = message("708", "600", ann(), "!link");
        in_guild["guild_id"] = json!(GUILD);
        discord.state().dispatch("MESSAGE_CREATE", in_guild);
        let opened = discord
            .wait_for("POST", "/api/v10/users/@me/channels", 1)
            .await?;
        let private = discord.dm_messages(8).await?;
        let in_channel = discord.channel_messages("600", 1).await?;
        anyhow::Ok((answers, opened, private, in_channel))
    }
    .await;
    child.kill().await?;
    let (answers, opened, private, in_channel) = run?;
    let texts: Vec<&str> = answers
        .iter()
        .map(|a| a["content"].as_str().unwrap_or_default())
        .collect();
    // (Discord shows the text as written: its Markdown is escaped.)
    let unknown = "I don't remember anything about \\`color\\`.";
    assert_eq!(texts[0], unknown);
    assert!(texts[1].starts_with("That code is not valid"), "{texts:?}");
    assert_eq!(
        texts[2],
        "Linked: this account and telegram:42 are one person now. What plugins keep for you follows you on each of them; /unlink undoes it."
    );
    assert_eq!(texts[3], "teal", "the Telegram note, recalled on Discord");
    assert!(
        texts[4].starts_with("That code is not valid"),
        "reused: {texts:?}"
    );
    assert!(texts[5].starts_with("Unlinked: "), "{texts:?}");
    assert_eq!(texts[6], unknown);
    assert_eq!(opened[0]["recipient_id"], ANN);
    assert!(
        private[7]["content"]
            .as_str()
            .is_some_and(|t| t.starts_with("Your link code is ")),
        "{private:?}"
    );
    assert!(
        in_channel[0]["content"]
            .as_str()
            .is_some_and(|t| t.starts_with("I sent you a link code in a private message.")),
        "{in_channel:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_person_is_ignored_on_both_platforms_and_the_audit_log_says_who_did_what_when()
-> Result<()> {
    use crate::telegram as tg;

    let telegram = tg::Shared::default();
    tg::lock(&telegram).updates = vec![tg::text_update(90, 9, "/link")];
    let telegram_url = tg::serve(Arc::clone(&telegram)).await?;
    let discord = Discord::serve().await?;
    let dir = tempfile::tempdir()?;
    // The owner is telegram:1; holders of the Discord role 900 are admins,
    // of 901 premium.
    let extra = "[plugins.economy]\ngrants = [\"kv\", \"roles\"]\n\n\
                 [people]\nowners = [\"telegram:1\"]\n\n\
                 [people.platform_roles]\n\"discord:role:900\" = \"admin\"\n\
                 \"discord:role:901\" = \"premium\"\n";
    let mut child = run_on_both(dir.path(), &telegram_url, &discord.url, extra)?;
    let said = |update: i64, chat: i64, from: i64, text: &str| {
        tg::lock(&telegram)
            .updates
            .push(tg::group_update(update, update, chat, from, text));
    };
    let in_guild = |id: &str, author: Value, roles: &[&str], text: &str| {
        let mut m = message(id, "600", author, text);
        m["guild_id"] = json!(GUILD);
        m["member"] = json!({"roles": roles, "joined_at": "2026-01-01T00:00:00.000000+00:00",
                             "deaf": false, "mute": false});
        discord.state().dispatch("MESSAGE_CREATE", m);
    };
    let bob = || user("430000000000000043", "bob", false);
    let run = async {
        // Ann links telegram:42 and her Discord account.
        let sent = tg::wait_for(&telegram, "sendmessage", 1).await?;
        let code = crate::support::link_code(sent[0]["text"].as_str().unwrap_or_default())?;
        discord.connected().await?;
        discord.dm("701", &format!("!link {code}"));
        discord.dm_messages(1).await?;
        // The owner makes her premium, then bans her by her Discord account.
        // (Telegram: her code, the notice that it was used, then these.)
        said(91, -1, 1, "/role give telegram:42 premium");
        said(92, -1, 1, &format!("/ban discord:{ANN} spam"));
        tg::wait_for(&telegram, "sendmessage", 4).await?;
        // Ignored on Telegram (then someone else is answered in that chat)…
        said(93, -100, 42, "/balance");
        said(94, -100, 5, "/echo five");
        // …and on Discord. Bob's Discord roles make him an admin there,
        // and premium, which economy asks about on /daily.
        // (One at a time: the gateway's events may be handled out of order.)
        in_guild("702", ann(), &[], "!balance");
        in_guild("703", bob(), &["900"], "!mint 7 5");
        discord.channel_messages("600", 1).await?;
        in_guild("704", bob(), &["901"], "!daily");
        discord.channel_messages("600", 2).await?;
        let telegram_answers = tg::wait_for(&telegram, "sendmessage", 5).await?;
        // Lifted: she is answered again.
        said(95, -1, 1, "/unban telegram:42");
        tg::wait_for(&telegram, "sendmessage", 6).await?;
        said(96, -100, 42, "/balance");
        let after = tg::wait_for(&telegram, "sendmessage", 7).await?;
        // Long after Ann's !balance: still only bob's two answers there.
        let in_guild_answers = discord.channel_messages("600", 2).await?;
        anyhow::Ok((in_guild_answers, telegram_answers, after))
    }
    .await;
    // Stopped like an owner stops it, so that the store is closed.
    let pid = child.id().context("no pid")?;
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    tokio::time::timeout(crate::support::PATIENCE, child.wait()).await??;
    let (in_guild_answers, telegram_answers, after) = run?;
    assert_eq!(in_guild_answers.len(), 2, "{in_guild_answers:?}");
    assert_eq!(
        in_guild_answers[0]["content"], "Minted 5 points for 7. They have 5 points.",
        "Ann's !balance got no answer; bob's admin role came from Discord"
    );
    assert_eq!(
        in_guild_answers[1]["content"], "\\+200 points. You have 200 points.",
        "economy asked the bot, which mapped bob's Discord role to premium"
    );
    let in_group: Vec<&Value> = telegram_answers
        .iter()
        .filter(|m| m["chat_id"] == -100)
        .collect();
    assert_eq!(
        in_group.len(),
        1,
        "only user 5 answered: {telegram_answers:?}"
    );
    assert_eq!(in_group[0]["text"], "five");
    assert_eq!(after[6]["chat_id"], -100);
    assert_eq!(
        after[6]["text"], "You have 0 points.",
        "answered after /unban"
    );

    let audit = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["audit", "--json", "--config"])
        .arg(dir.path().join("plugboard.toml"))
        .output()?;
    anyhow::ensure!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let entries: Vec<Value> = serde_json::from_slice(&audit.stdout)?;
    let seen: Vec<(&str, &str, &str, &str)> = entries
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap_or_default();
            (
                field("actor"),
                field("action"),
                field("subject"),
                field("detail"),
            )
        })
        .collect();
    let ann_on_discord = format!("discord:{ANN}");
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(
        seen[0].0, ann_on_discord,
        "the link, by who redeemed the code"
    );
    assert_eq!(seen[0].1, "link");
    assert_eq!(seen[1], ("telegram:1", "role", "telegram:42", "+premium"));
    assert_eq!(
        seen[2],
        ("telegram:1", "ban", ann_on_discord.as_str(), "spam")
    );
    assert_eq!(seen[3], ("telegram:1", "unban", "telegram:42", ""));
    assert!(
        entries
            .iter()
            .all(|e| e["at_ms"].as_u64().is_some_and(|t| t > 1_700_000_000_000)),
        "each says when: {entries:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_code_from_telegram_expires_and_discord_is_told_to_ask_again() -> Result<()> {
    use crate::telegram as tg;

    let telegram = tg::Shared::default();
    tg::lock(&telegram).updates = vec![tg::text_update(90, 9, "/link")];
    let telegram_url = tg::serve(Arc::clone(&telegram)).await?;
    let discord = Discord::serve().await?;
    let dir = tempfile::tempdir()?;
    // Codes work for one second here (ten minutes unless the owner says).
    let extra = "[people]\nlink_code_secs = 1\n";
    let mut child = run_on_both(dir.path(), &telegram_url, &discord.url, extra)?;
    let run = async {
        let sent = tg::wait_for(&telegram, "sendmessage", 1).await?;
        let text = sent[0]["text"].as_str().unwrap_or_default().to_owned();
        let code = crate::support::link_code(&text)?;
        discord.connected().await?;
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        discord.dm("701", &format!("!link {code}"));
        let answers = discord.dm_messages(1).await?;
        anyhow::Ok((text, answers))
    }
    .await;
    child.kill().await?;
    let (text, answers) = run?;
    assert!(text.contains("(it works once, for 1 second)"), "{text}");
    assert_eq!(
        answers[0]["content"],
        "That code has expired (codes work for 1 second); ask for a new one with /link."
    );
    Ok(())
}

/// `plugboard run` on the official plugins with both the fake Telegram at
/// `telegram_url` and the fake Discord at `discord_url`, plus `extra` TOML.
fn run_on_both(
    dir: &std::path::Path,
    telegram_url: &str,
    discord_url: &str,
    extra: &str,
) -> Result<tokio::process::Child> {
    plugboard_run(
        dir,
        &format!(
            "{extra}\n[telegram]\ntoken_env = \"PLUGBOARD_TEST_TELEGRAM\"\napi_url = {telegram_url:?}\n\n\
             [discord]\ntoken_env = \"PLUGBOARD_TEST_DISCORD\"\nproxy_url = {discord_url:?}\n",
        ),
        &[
            ("PLUGBOARD_TEST_TELEGRAM", "123:TEST"),
            ("PLUGBOARD_TEST_DISCORD", "TEST.TOKEN"),
        ],
    )
}

/// A `GUILD_CREATE` for guild `id`, whose preferred language is `locale`.
fn guild_create(id: &str, features: Value, locale: &str) -> Value {
    json!({"id": id, "name": "Server", "icon": null, "icon_hash": null, "splash": null,
           "discovery_splash": null, "owner_id": ANN, "verification_level": 0,
           "default_message_notifications": 0, "explicit_content_filter": 0, "roles": [],
           "emojis": [], "features": features, "mfa_level": 0, "application_id": null,
           "system_channel_id": null, "system_channel_flags": 0, "rules_channel_id": null,
           "vanity_url_code": null, "description": null, "banner": null, "premium_tier": 0,
           "preferred_locale": locale, "public_updates_channel_id": null, "nsfw_level": 0,
           "stickers": [], "premium_progress_bar_enabled": false,
           "joined_at": "2026-01-01T00:00:00.000000+00:00", "large": false,
           "member_count": 2, "voice_states": [], "members": [], "channels": [],
           "threads": [], "presences": [], "stage_instances": [],
           "guild_scheduled_events": []})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_in_a_community_server_are_answered_in_its_language() -> Result<()> {
    let discord = Discord::serve().await?;
    let bot = discord.connect("").await?;
    {
        let mut state = discord.state();
        state.dispatch(
            "GUILD_CREATE",
            guild_create("700", json!(["COMMUNITY"]), "de"),
        );
        // Not a community: its `en-US` is Discord's default, not a choice.
        state.dispatch("GUILD_CREATE", guild_create("800", json!([]), "fr"));
    }
    for (id, guild, channel) in [("104", "700", "701"), ("105", "800", "801")] {
        let mut in_guild = message(id, channel, ann(), "!roll 0d6");
        in_guild["guild_id"] = json!(guild);
        discord.state().dispatch("MESSAGE_CREATE", in_guild);
    }
    let german = discord.channel_messages("701", 1).await?;
    let text = german[0]["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("ist kein Würfelwurf: wirf zwischen 1 und 100 Würfel"),
        "{text}"
    );
    let english = discord.channel_messages("801", 1).await?;
    let text = english[0]["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("is not a dice roll: roll between 1 and 100 dice"),
        "{text}"
    );
    bot.stop().await
}
