//! The Telegram adapter through the real teloxide client, against a fake Bot
//! API server on 127.0.0.1 that answers with real-shaped JSON.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::{Path, State};
use axum::routing::post;
use plugboard_adapter::memory::MemoryAdapter;
use plugboard_bot::bot::Bot;
use plugboard_bot::config::BotConfig;
use plugboard_telegram::TelegramAdapter;
use serde_json::{Value, json};

use crate::support::{PATIENCE, Running, dirs_toml, plugboard_run, plugins_dir, shared_cache};

/// What the fake server holds and saw.
#[derive(Default)]
pub(crate) struct Fake {
    /// Served on every getUpdates, whatever the offset: the adapter must
    /// skip what it already handled.
    pub(crate) updates: Vec<Value>,
    /// Answers to give to the next getUpdates calls instead of the updates.
    next_get_updates: Vec<(u16, String)>,
    /// `(method, body)` of every call but getMe/getUpdates.
    calls: Vec<(String, Value)>,
    get_updates_calls: usize,
    refuse_token: bool,
    /// Answer messages sent with `parse_mode = HTML` with "can't parse entities".
    refuse_html: bool,
    /// The registered webhook, as getWebhookInfo reports it.
    webhook: Option<String>,
    next_message_id: i64,
    /// sendMessage to this chat waits for `release` (a chat stuck in a rate
    /// limit).
    held_chat: Option<i64>,
    release: Arc<tokio::sync::Notify>,
    /// What getChatAdministrators answers, per chat (none: nobody).
    pub(crate) admins: std::collections::HashMap<i64, Vec<Value>>,
    /// The bot's id and username, as getMe answers (777 and plugboard_bot
    /// unless set).
    me: Option<(i64, String)>,
}

pub(crate) type Shared = Arc<Mutex<Fake>>;

pub(crate) fn lock(fake: &Shared) -> std::sync::MutexGuard<'_, Fake> {
    fake.lock().unwrap_or_else(|p| p.into_inner())
}

fn ok(result: Value) -> (axum::http::StatusCode, String) {
    (
        axum::http::StatusCode::OK,
        json!({"ok": true, "result": result}).to_string(),
    )
}

async fn api(
    State(fake): State<Shared>,
    Path((_bot, method)): Path<(String, String)>,
    body: String,
) -> (axum::http::StatusCode, String) {
    let held = {
        let state = lock(&fake);
        let chat = serde_json::from_str::<Value>(&body)
            .ok()
            .map(|b| b["chat_id"].clone());
        (method.eq_ignore_ascii_case("sendmessage")
            && state
                .held_chat
                .is_some_and(|held| chat == Some(json!(held))))
        .then(|| Arc::clone(&state.release))
    };
    if let Some(release) = held {
        release.notified().await;
    }
    let (answer, long_poll) = answer(&fake, &method, &body);
    if long_poll {
        // A short long-poll, so an idle adapter does not spin.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    answer
}

/// The fake's answer to one call, and whether to delay it like a long poll.
fn answer(fake: &Shared, method: &str, body: &str) -> ((axum::http::StatusCode, String), bool) {
    let body: Value = serde_json::from_str(body).unwrap_or_else(|_| form_fields(body));
    let mut state = lock(fake);
    // Bot API method names are case-insensitive (teloxide sends `GetMe`).
    let method = method.to_ascii_lowercase();
    if state.refuse_token {
        let refused = json!({"ok": false, "error_code": 401, "description": "Unauthorized"});
        return (
            (axum::http::StatusCode::UNAUTHORIZED, refused.to_string()),
            false,
        );
    }
    let immediate = match method.as_str() {
        "getme" => {
            let (id, username) = state.me.clone().unwrap_or((777, "plugboard_bot".into()));
            ok(json!({
                "id": id, "is_bot": true, "first_name": "Plugboard", "username": username,
                "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
                "can_connect_to_business": false, "has_main_web_app": false
            }))
        }
        "getupdates" => {
            state.get_updates_calls += 1;
            if !state.next_get_updates.is_empty() {
                let (status, text) = state.next_get_updates.remove(0);
                return (
                    (
                        axum::http::StatusCode::from_u16(status).unwrap_or_default(),
                        text,
                    ),
                    false,
                );
            }
            return (ok(Value::Array(state.updates.clone())), true);
        }
        "getchatadministrators" => {
            let chat = body["chat_id"].as_i64().unwrap_or_default();
            let admins = state.admins.get(&chat).cloned().unwrap_or_default();
            state.calls.push((method.clone(), body));
            ok(Value::Array(admins))
        }
        "getwebhookinfo" => ok(json!({
            "url": state.webhook.clone().unwrap_or_default(),
            "has_custom_certificate": false, "pending_update_count": 0
        })),
        "sendmessage" | "editmessagetext" if state.refuse_html && body["parse_mode"] == "HTML" => {
            state.calls.push((method.clone(), body));
            let refused = json!({"ok": false, "error_code": 400,
                "description": "Bad Request: can't parse entities: Unsupported start tag \"b\" at byte offset 0"});
            (axum::http::StatusCode::BAD_REQUEST, refused.to_string())
        }
        "sendmessage" | "editmessagetext" => {
            state.next_message_id += 1;
            let id = 1000 + state.next_message_id;
            let chat_id = body["chat_id"].as_i64().unwrap_or_default();
            let text = body["text"].clone();
            state.calls.push((method.clone(), body));
            ok(json!({
                "message_id": id, "date": 1_700_000_000,
                "chat": {"id": chat_id, "type": "private", "first_name": "Ann"},
                "from": {"id": 777, "is_bot": true, "first_name": "Plugboard"},
                "text": text
            }))
        }
        _ => {
            match method.as_str() {
                "setwebhook" => state.webhook = body["url"].as_str().map(str::to_owned),
                "deletewebhook" => state.webhook = None,
                _ => {}
            }
            state.calls.push((method.clone(), body));
            ok(json!(true))
        }
    };
    (immediate, false)
}

/// The text fields of a `multipart/form-data` body (teloxide sends
/// setWebhook that way) as a JSON object.
fn form_fields(body: &str) -> Value {
    let mut fields = serde_json::Map::new();
    for part in body.split("\r\n--") {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        else {
            continue;
        };
        fields.insert(name.to_owned(), Value::String(value.trim_end().to_owned()));
    }
    Value::Object(fields)
}

/// Starts the fake on 127.0.0.1:0 and returns its base URL.
pub(crate) async fn serve(fake: Shared) -> Result<String> {
    let app = axum::Router::new()
        .route("/{bot}/{method}", post(api))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

pub(crate) fn text_update(update_id: i64, message_id: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": message_id, "date": 1_700_000_000,
            "chat": {"id": 42, "type": "private", "first_name": "Ann"},
            "from": {"id": 42, "is_bot": false, "first_name": "Ann", "language_code": "en"},
            "text": text
        }
    })
}

/// A message from user `from` in the supergroup `chat`.
pub(crate) fn group_update(
    update_id: i64,
    message_id: i64,
    chat: i64,
    from: i64,
    text: &str,
) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": message_id, "date": 1_700_000_000,
            "chat": {"id": chat, "type": "supergroup", "title": "Group"},
            "from": {"id": from, "is_bot": false, "first_name": format!("User {from}")},
            "text": text
        }
    })
}

/// A group's creator, as getChatAdministrators lists them.
pub(crate) fn creator(id: i64) -> Value {
    json!({"status": "creator", "is_anonymous": false,
           "user": {"id": id, "is_bot": false, "first_name": format!("User {id}")}})
}

/// An administrator, as getChatAdministrators lists them.
pub(crate) fn administrator(id: i64) -> Value {
    json!({"status": "administrator", "is_anonymous": false, "can_be_edited": false,
           "can_manage_chat": true, "can_change_info": true, "can_delete_messages": true,
           "can_manage_video_chats": true, "can_invite_users": true,
           "can_restrict_members": true, "can_promote_members": false,
           "user": {"id": id, "is_bot": false, "first_name": format!("User {id}")}})
}

fn teloxide_bot(url: &str) -> Result<teloxide_core::Bot> {
    // No proxy from the environment: the fake is on loopback.
    let client = reqwest::Client::builder().no_proxy().build()?;
    Ok(teloxide_core::Bot::with_client("123:TEST", client).set_api_url(url.parse()?))
}

fn start(data: &std::path::Path, url: &str, memory: Option<MemoryAdapter>) -> Result<Running> {
    start_with(data, TelegramAdapter::new(teloxide_bot(url)?), memory)
}

fn start_with(
    data: &std::path::Path,
    telegram: TelegramAdapter,
    memory: Option<MemoryAdapter>,
) -> Result<Running> {
    Ok(Running::spawn(bot_with(data, telegram)?, memory))
}

/// A bot over the official plugins (poll and notes granted kv) with
/// `telegram`, ready to run.
fn bot_with(data: &std::path::Path, telegram: TelegramAdapter) -> Result<Bot> {
    let text = format!(
        "[runtime]\ndata_dir = {:?}\ncache_dir = {:?}\nplugin_dirs = {}\n\n[plugins.poll]\ngrants = [\"kv\"]\n\n\
         [plugins.notes]\ngrants = [\"kv\"]\n",
        data.display().to_string(),
        shared_cache().display().to_string(),
        dirs_toml(&[&plugins_dir()]),
    );
    let config = BotConfig::parse(&text, std::path::Path::new("tg.toml"), data.to_path_buf())?;
    let (mut bot, _) = Bot::from_config(&config)?;
    bot.add_adapter(Box::new(telegram));
    Ok(bot)
}

/// Waits until the fake has recorded `count` calls of `method`.
pub(crate) async fn wait_for(fake: &Shared, method: &str, count: usize) -> Result<Vec<Value>> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let found: Vec<Value> = lock(fake)
            .calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, body)| body.clone())
            .collect();
        if found.len() >= count {
            return Ok(found);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "only {} {method} calls: {found:?}",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_is_answered_in_its_chat() -> Result<()> {
    let fake = Shared::default();
    {
        let mut state = lock(&fake);
        state.updates = vec![text_update(10, 5, "/echo hello telegram")];
        // Left over from an earlier run in webhook mode: polling removes it.
        state.webhook = Some("https://old.example/hook".into());
    }
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, None)?;
    let sent = wait_for(&fake, "sendmessage", 1).await?;
    assert_eq!(sent[0]["chat_id"], 42);
    assert_eq!(sent[0]["text"], "hello telegram");
    assert!(
        sent[0].get("parse_mode").is_none(),
        "plain text: {}",
        sent[0]
    );
    assert_eq!(sent[0]["reply_parameters"]["message_id"], 5, "{}", sent[0]);
    wait_for(&fake, "deletewebhook", 1).await?;
    assert_eq!(lock(&fake).webhook, None);
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_command_answers_in_the_senders_language() -> Result<()> {
    let fake = Shared::default();
    {
        let english = text_update(10, 5, "/roll 2x6");
        let mut german = text_update(11, 6, "/roll 2x6");
        german["message"]["from"]["language_code"] = json!("de");
        let mut french = text_update(12, 7, "/roll 2x6");
        french["message"]["from"]["language_code"] = json!("fr");
        lock(&fake).updates = vec![english, german, french];
    }
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, None)?;
    let sent = wait_for(&fake, "sendmessage", 3).await?;
    let english = "`2x6` is not a dice roll: there is no `d`. Write it like 2d6, d20 or 3d8+2.";
    assert_eq!(sent[0]["text"], english);
    assert_eq!(
        sent[1]["text"],
        "`2x6` ist kein Würfelwurf: es fehlt das `d`. Schreib ihn wie 2d6, d20 oder 3d8+2."
    );
    // No French catalog: English.
    assert_eq!(sent[2]["text"], english);
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_after_the_last_handled_update() -> Result<()> {
    let fake = Shared::default();
    lock(&fake).updates = vec![
        text_update(10, 5, "/echo one"),
        text_update(11, 6, "/echo two"),
    ];
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;

    let bot = start(data.path(), &url, None)?;
    wait_for(&fake, "sendmessage", 2).await?;
    bot.stop().await?;

    // The fake serves 10 and 11 again (as if unconfirmed) plus 12.
    lock(&fake).updates.push(text_update(12, 7, "/echo three"));
    let bot = start(data.path(), &url, None)?;
    let sent = wait_for(&fake, "sendmessage", 3).await?;
    // Let the adapter poll a few more times: nothing may be repeated.
    let polls = lock(&fake).get_updates_calls;
    while lock(&fake).get_updates_calls < polls + 3 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bot.stop().await?;
    let texts: Vec<String> = lock(&fake)
        .calls
        .iter()
        .filter(|(m, _)| m == "sendmessage")
        .map(|(_, b)| b["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        texts,
        vec!["one", "two", "three"],
        "first run sent {:?}",
        &sent[..2]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_and_garbage_do_not_stop_the_adapter() -> Result<()> {
    let fake = Shared::default();
    {
        let mut state = lock(&fake);
        state.updates = vec![text_update(20, 9, "/echo still here")];
        state.next_get_updates = vec![
            (
                429,
                json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1",
                       "parameters": {"retry_after": 1}})
                .to_string(),
            ),
            (200, "{this is not json".into()),
            (502, "<html>Bad Gateway</html>".into()),
        ];
    }
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let started = tokio::time::Instant::now();
    let bot = start(data.path(), &url, None)?;
    let sent = wait_for(&fake, "sendmessage", 1).await?;
    assert_eq!(sent[0]["text"], "still here");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry_after was not honoured"
    );
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_api_lost_and_regained_is_one_reconnect_in_the_adapters_health_and_metrics()
-> Result<()> {
    let fake = Shared::default();
    {
        let mut state = lock(&fake);
        state.updates = vec![text_update(20, 9, "/echo back")];
        state.next_get_updates = vec![(502, "<html>Bad Gateway</html>".into())];
    }
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = bot_with(data.path(), TelegramAdapter::new(teloxide_bot(&url)?))?;
    let control = Arc::clone(bot.control());
    let running = Running::spawn(bot, None);
    let sent = wait_for(&fake, "sendmessage", 1).await?;
    assert_eq!(sent[0]["text"], "back");
    let telegram = control
        .adapters()
        .into_iter()
        .find(|a| a.platform == plugboard_model::event::Platform::Telegram)
        .context("no telegram adapter")?;
    assert!(telegram.health.connected());
    assert_eq!(telegram.health.reconnects(), 1);
    let problem = telegram.health.last_problem().unwrap_or_default();
    assert!(problem.starts_with("getUpdates failed"), "{problem}");
    let text = plugboard_console::metrics::Metrics::new(Arc::clone(&control)).render()?;
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))?;
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get("platform") == Some("telegram"))
            .map(|s| s.value.clone())
    };
    assert_eq!(
        value("plugboard_adapter_up"),
        Some(prometheus_parse::Value::Gauge(1.0))
    );
    assert_eq!(
        value("plugboard_adapter_reconnects_total"),
        Some(prometheus_parse::Value::Counter(1.0))
    );
    running.stop().await?;
    assert!(!telegram.health.connected(), "a stopped adapter is down");
    assert_eq!(telegram.health.last_problem().as_deref(), Some("stopped"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_stops_only_the_telegram_adapter() -> Result<()> {
    let fake = Shared::default();
    lock(&fake).refuse_token = true;
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let (memory, mut handle) = MemoryAdapter::new("other");
    let bot = start(data.path(), &url, Some(memory))?;
    assert!(
        handle
            .say("c", "u", "/echo other adapters keep running")
            .await
    );
    let answer = tokio::time::timeout(PATIENCE, handle.recv())
        .await?
        .context("bot stopped")?;
    assert_eq!(
        crate::support::text_of(&answer),
        "other adapters keep running"
    );
    handle.close();
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plugboard_binary_serves_telegram_through_api_url() -> Result<()> {
    let fake = Shared::default();
    lock(&fake).updates = vec![text_update(30, 3, "/roll 2d6")];
    let url = serve(Arc::clone(&fake)).await?;
    let dir = tempfile::tempdir()?;
    let mut child = plugboard_run(
        dir.path(),
        &format!("[telegram]\ntoken_env = \"PLUGBOARD_TEST_TOKEN\"\napi_url = {url:?}\n"),
        &[("PLUGBOARD_TEST_TOKEN", "123:TEST")],
    )?;
    let sent = wait_for(&fake, "sendmessage", 1).await;
    child.kill().await?;
    let sent = sent?;
    assert_eq!(sent[0]["chat_id"], 42);
    let text = sent[0]["text"].as_str().unwrap_or_default();
    assert!(text.starts_with("🎲 2d6: "), "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_telegram_accounts_in_one_process_each_answer_their_own_chats() -> Result<()> {
    // The same person writes to both bots (one private chat id for both,
    // as on Telegram), and to the second one in a group too.
    let support = Shared::default();
    {
        let mut state = lock(&support);
        state.me = Some((801, "support_bot".into()));
        state.updates = vec![text_update(10, 5, "/echo for support")];
    }
    let games = Shared::default();
    {
        let mut state = lock(&games);
        state.me = Some((802, "games_bot".into()));
        state.updates = vec![
            text_update(20, 6, "/echo for games"),
            group_update(21, 7, -1_009, 42, "/echo in the games group"),
        ];
    }
    let support_url = serve(Arc::clone(&support)).await?;
    let games_url = serve(Arc::clone(&games)).await?;
    let dir = tempfile::tempdir()?;
    let mut child = plugboard_run(
        dir.path(),
        &format!(
            "[[telegram]]\nname = \"support\"\ntoken_env = \"TG_SUPPORT\"\napi_url = {support_url:?}\n\n\
             [[telegram]]\nname = \"games\"\ntoken_env = \"TG_GAMES\"\napi_url = {games_url:?}\n"
        ),
        &[("TG_SUPPORT", "801:SUPPORT"), ("TG_GAMES", "802:GAMES")],
    )?;
    let answered = async {
        let by_support = wait_for(&support, "sendmessage", 1).await?;
        let by_games = wait_for(&games, "sendmessage", 2).await?;
        anyhow::Ok((by_support, by_games))
    }
    .await;
    // Anything sent late, through the wrong account, shows up too.
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().await?;
    answered?;
    let texts = |fake: &Shared| -> Vec<(i64, String)> {
        let mut sent: Vec<(i64, String)> = lock(fake)
            .calls
            .iter()
            .filter(|(m, _)| m == "sendmessage")
            .map(|(_, b)| {
                let chat = b["chat_id"].as_i64().unwrap_or_default();
                (chat, b["text"].as_str().unwrap_or_default().to_owned())
            })
            .collect();
        sent.sort();
        sent
    };
    assert_eq!(texts(&support), [(42, "for support".to_owned())]);
    assert_eq!(
        texts(&games),
        [
            (-1_009, "in the games group".to_owned()),
            (42, "for games".to_owned())
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_press_is_answered_and_edits_the_message() -> Result<()> {
    let fake = Shared::default();
    lock(&fake).updates = vec![text_update(
        50,
        8,
        "/poll Lunch & <b>tea</b>? | Pizza | Salad",
    )];
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, None)?;

    let sent = wait_for(&fake, "sendmessage", 1).await?;
    // Markdown rendered as Telegram HTML; the user's own markup escaped.
    assert_eq!(sent[0]["parse_mode"], "HTML");
    assert_eq!(
        sent[0]["text"],
        "📊 <b>Lunch &amp; &lt;b&gt;tea&lt;/b&gt;?</b>\n\nPizza — 0\nSalad — 0"
    );
    let keyboard = &sent[0]["reply_markup"]["inline_keyboard"];
    assert_eq!(keyboard[0][0]["text"], "Pizza");
    let data_of_pizza = keyboard[0][0]["callback_data"]
        .as_str()
        .context("callback data")?
        .to_owned();
    assert_eq!(
        data_of_pizza, "poll:8:0",
        "button ids are namespaced by plugin"
    );

    // The fake numbered the poll message 1001; Ann presses "Pizza".
    lock(&fake).updates.push(json!({
        "update_id": 51,
        "callback_query": {
            "id": "cb-1",
            "from": {"id": 42, "is_bot": false, "first_name": "Ann"},
            "message": {
                "message_id": 1001, "date": 1_700_000_000,
                "chat": {"id": 42, "type": "private", "first_name": "Ann"},
                "text": "📊 Lunch?"
            },
            "chat_instance": "ci-1",
            "data": data_of_pizza
        }
    }));
    let answered = wait_for(&fake, "answercallbackquery", 1).await?;
    assert_eq!(answered[0]["callback_query_id"], "cb-1");
    let edited = wait_for(&fake, "editmessagetext", 1).await?;
    assert_eq!(edited[0]["message_id"], 1001);
    assert_eq!(
        edited[0]["text"],
        "📊 <b>Lunch &amp; &lt;b&gt;tea&lt;/b&gt;?</b>\n\nPizza — 1\nSalad — 0"
    );
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embed_is_shown_as_text_below_the_message() -> Result<()> {
    let fake = Shared::default();
    lock(&fake).updates = vec![
        text_update(70, 11, "/remember color deep <b>teal</b> & *more*"),
        text_update(71, 12, "/notes"),
    ];
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, None)?;
    let sent = wait_for(&fake, "sendmessage", 2).await?;
    // Telegram has no embeds: `notes`' card becomes HTML text, the title
    // bold, one `name: value` line per field, the note's markup escaped.
    assert_eq!(sent[1]["parse_mode"], "HTML", "{}", sent[1]);
    assert_eq!(
        sent[1]["text"],
        "<b>📒 Notes (1)</b>\n\n<b>color:</b> deep &lt;b&gt;teal&lt;/b&gt; &amp; *more*"
    );
    assert_eq!(sent[1]["reply_parameters"]["message_id"], 12);
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_markup_is_sent_again_as_plain_text() -> Result<()> {
    let fake = Shared::default();
    {
        let mut state = lock(&fake);
        state.refuse_html = true;
        state.updates = vec![text_update(60, 4, "/poll Lunch? | Pizza | Salad")];
    }
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, None)?;
    let sent = wait_for(&fake, "sendmessage", 2).await?;
    assert_eq!(sent[0]["parse_mode"], "HTML");
    assert!(sent[1].get("parse_mode").is_none(), "{}", sent[1]);
    assert_eq!(sent[1]["text"], "📊 Lunch?\n\nPizza — 0\nSalad — 0");
    assert_eq!(
        sent[1]["reply_markup"]["inline_keyboard"][0][0]["text"],
        "Pizza"
    );
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_details_reach_the_plugin() -> Result<()> {
    let fake = Shared::default();
    lock(&fake).updates = vec![json!({
        "update_id": 70,
        "message": {
            "message_id": 12, "date": 1_700_000_000,
            "message_thread_id": 7, "is_topic_message": true,
            "chat": {"id": -100123, "type": "supergroup", "title": "Team", "is_forum": true},
            "from": {"id": 42, "is_bot": false, "first_name": "Ann", "username": "ann"},
            "text": "/whoami@plugboard_bot"
        }
    })];
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, None)?;
    let sent = wait_for(&fake, "sendmessage", 1).await?;
    assert_eq!(
        sent[0]["text"],
        "Ann (@ann), telegram user 42, in chat -100123, topic 7"
    );
    bot.stop().await
}

/// Posts `body` to the webhook as Telegram would, with `secret` if any.
async fn post_update(url: &str, secret: Option<&str>, body: String) -> Result<u16> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(secret) = secret {
        request = request.header(plugboard_telegram::webhook::SECRET_HEADER, secret);
    }
    Ok(request.send().await?.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_serves_telegram_and_refuses_strangers() -> Result<()> {
    use plugboard_telegram::Webhook;

    let fake = Shared::default();
    let api = serve(Arc::clone(&fake)).await?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let hook = format!("http://{}/telegram/hook", listener.local_addr()?);
    let webhook = Webhook::on_listener(listener, &hook, Some("s3cret-token".into()))
        .map_err(anyhow::Error::msg)?;
    let data = tempfile::tempdir()?;
    let bot = start_with(
        data.path(),
        TelegramAdapter::with_webhook(teloxide_bot(&api)?, webhook),
        None,
    )?;

    let registered = wait_for(&fake, "setwebhook", 1).await?;
    assert_eq!(registered[0]["url"], hook);
    assert_eq!(registered[0]["secret_token"], "s3cret-token");

    let update = text_update(80, 3, "/echo via webhook").to_string();
    assert_eq!(
        post_update(&hook, Some("wrong"), update.clone()).await?,
        401
    );
    assert_eq!(post_update(&hook, None, update.clone()).await?, 401);
    assert_eq!(
        post_update(&hook, Some("s3cret-token"), "{not json".into()).await?,
        400
    );
    assert!(
        lock(&fake).calls.iter().all(|(m, _)| m != "sendmessage"),
        "a refused post was handled"
    );

    // Acknowledged only once handled and answered: the reply is already out.
    assert_eq!(
        post_update(&hook, Some("s3cret-token"), update.clone()).await?,
        200
    );
    let sent: Vec<Value> = lock(&fake)
        .calls
        .iter()
        .filter(|(m, _)| m == "sendmessage")
        .map(|(_, b)| b.clone())
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["text"], "via webhook");

    // Telegram posting the same update again (it never saw our answer).
    assert_eq!(post_update(&hook, Some("s3cret-token"), update).await?, 200);
    bot.stop().await?;

    // After a restart the ledger still knows update 80.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let hook = format!("http://{}/telegram/hook", listener.local_addr()?);
    let webhook = Webhook::on_listener(listener, &hook, Some("s3cret-token".into()))
        .map_err(anyhow::Error::msg)?;
    let bot = start_with(
        data.path(),
        TelegramAdapter::with_webhook(teloxide_bot(&api)?, webhook),
        None,
    )?;
    wait_for(&fake, "setwebhook", 2).await?;
    let again = text_update(80, 3, "/echo via webhook").to_string();
    assert_eq!(post_update(&hook, Some("s3cret-token"), again).await?, 200);
    let next = text_update(81, 4, "/echo next").to_string();
    assert_eq!(post_update(&hook, Some("s3cret-token"), next).await?, 200);
    let texts: Vec<Value> = lock(&fake)
        .calls
        .iter()
        .filter(|(m, _)| m == "sendmessage")
        .map(|(_, b)| b["text"].clone())
        .collect();
    assert_eq!(texts, vec![json!("via webhook"), json!("next")]);
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_stuck_in_a_rate_limit_holds_up_no_other_chat() -> Result<()> {
    let fake = Shared::default();
    let release = {
        let mut state = lock(&fake);
        state.held_chat = Some(7);
        let mut slow = text_update(90, 1, "/echo slow");
        slow["message"]["chat"]["id"] = json!(7);
        state.updates = vec![slow, text_update(91, 2, "/echo fast")];
        Arc::clone(&state.release)
    };
    let url = serve(Arc::clone(&fake)).await?;
    let data = tempfile::tempdir()?;
    let bot = start(data.path(), &url, None)?;
    // Chat 7's reply is stuck at the server; chat 42's goes out anyway.
    let sent = wait_for(&fake, "sendmessage", 1).await?;
    assert_eq!(sent[0]["text"], "fast");
    release.notify_one();
    let sent = wait_for(&fake, "sendmessage", 2).await?;
    assert_eq!(sent[1]["text"], "slow");
    assert_eq!(sent[1]["chat_id"], 7);
    bot.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_command_is_refused_to_members_served_to_the_groups_telegram_admins_only_there_and_opened_per_chat()
-> Result<()> {
    let fake = Shared::default();
    {
        let mut state = lock(&fake);
        state
            .admins
            .insert(-100, vec![creator(1), administrator(43)]);
        state.admins.insert(-300, vec![creator(1)]);
        state.updates = vec![
            // A member of -100.
            group_update(50, 5, -100, 42, "/mint 7 10"),
            // An administrator of -100, there.
            group_update(51, 6, -100, 43, "/mint 7 10"),
            // The same administrator where they are a member.
            group_update(52, 7, -300, 43, "/mint 7 10"),
            // A member of -200, whose owner opened /mint to everyone.
            group_update(53, 8, -200, 42, "/mint 7 10"),
            // A group's administrator is no moderator of the whole bot.
            group_update(54, 9, -100, 43, "/ban telegram:42 spam"),
        ];
    }
    let url = serve(Arc::clone(&fake)).await?;
    let dir = tempfile::tempdir()?;
    let mut child = plugboard_run(
        dir.path(),
        &format!(
            "[plugins.economy]\ngrants = [\"kv\"]\n\n\
             [people.platform_roles]\n\"telegram:chat-admin\" = \"admin\"\n\n\
             [people.chats.\"telegram:-200\".commands]\nmint = \"everyone\"\n\n\
             [telegram]\ntoken_env = \"PLUGBOARD_TEST_TOKEN\"\napi_url = {url:?}\n"
        ),
        &[("PLUGBOARD_TEST_TOKEN", "123:TEST")],
    )?;
    let sent = wait_for(&fake, "sendmessage", 5).await;
    child.kill().await?;
    let sent = sent?;
    // Chats are served in parallel, each in order.
    let in_chat = |chat: i64| -> Vec<String> {
        sent.iter()
            .filter(|m| m["chat_id"] == chat)
            .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // A host answer naming a role shows it as code (HTML on Telegram).
    let refused = "You need the <code>admin</code> role for /mint.";
    let minted = |text: &String| text.starts_with("Minted 10 points for 7.");
    let in_100 = in_chat(-100);
    assert_eq!(in_100.len(), 3, "{in_100:?}");
    assert_eq!(in_100[0], refused, "a member");
    let first = sent.iter().find(|m| m["chat_id"] == -100);
    assert_eq!(
        first.map(|m| &m["parse_mode"]),
        Some(&serde_json::json!("HTML")),
        "the refusal is sent as HTML, not with literal backticks"
    );
    assert!(minted(&in_100[1]), "the group's administrator: {in_100:?}");
    assert_eq!(
        in_100[2], "Only moderators can do that.",
        "bans reach every chat"
    );
    assert_eq!(in_chat(-300), [refused], "an administrator elsewhere");
    let in_200 = in_chat(-200);
    assert!(
        in_200.len() == 1 && minted(&in_200[0]),
        "opened there: {in_200:?}"
    );
    // Asked once per group with a role to decide, then cached.
    let asked: Vec<Value> = wait_for(&fake, "getchatadministrators", 2)
        .await?
        .iter()
        .map(|b| b["chat_id"].clone())
        .collect();
    assert_eq!(
        asked.iter().filter(|c| **c == json!(-100)).count(),
        1,
        "{asked:?}"
    );
    assert_eq!(
        asked.iter().filter(|c| **c == json!(-300)).count(),
        1,
        "{asked:?}"
    );
    assert!(
        !asked.contains(&json!(-200)),
        "nothing to decide there: {asked:?}"
    );
    Ok(())
}
