//! The web chat's page and the live stream's page: try plugins as the
//! owner in a chat of the platform `web` ([`crate::webchat`]), and watch
//! what the bot sees as it happens ([`crate::live`]).

use std::sync::LazyLock;

use askama::Template;
use axum::Form;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::session::Notice;
use super::{Layout, Web, forbidden, page, see_other, signed_in};
use crate::live::StreamQuery;
use crate::webchat::{Line, is_chat_name};

/// The live page's script.
const LIVE_JS: &str = include_str!("../../static/live.js");
/// Where it is served; the name changes with its content.
pub(super) static LIVE_JS_PATH: LazyLock<String> = LazyLock::new(|| {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(LIVE_JS.as_bytes()));
    format!("/static/live.{}.js", &hash[..16])
});

/// The chat a page shows unless another is asked for.
const FIRST_CHAT: &str = "chat-1";

#[derive(Template)]
#[template(path = "chat.html")]
struct ChatPage {
    l: Layout,
    running: bool,
    chat: String,
    chats: Vec<String>,
    lines: Vec<Line>,
}

#[derive(Deserialize)]
pub(super) struct ChatQuery {
    #[serde(default)]
    chat: Option<String>,
}

pub(super) async fn show(
    State(web): State<Web>,
    headers: HeaderMap,
    Query(query): Query<ChatQuery>,
) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    let mut l = Layout::new("Web chat", "chat", &visitor);
    let asked = query.chat.unwrap_or_default();
    let chat = match asked.trim() {
        "" => FIRST_CHAT.to_owned(),
        name if is_chat_name(name) => name.to_owned(),
        name => {
            l.problem = Some(format!(
                "`{}` is not a chat name: use 1 to 32 lowercase letters, digits and `-`, like chat-2.",
                plugboard_registry_types::text::one_line(name, 40)
            ));
            FIRST_CHAT.to_owned()
        }
    };
    let (running, mut chats, lines) = match &web.chat {
        Some(web_chat) => (true, web_chat.chats(), web_chat.transcript(&chat)),
        None => (false, Vec::new(), Vec::new()),
    };
    if !chats.contains(&chat) {
        chats.push(chat.clone());
    }
    let template = ChatPage {
        l,
        running,
        chat,
        chats,
        lines,
    };
    page(&template, &visitor)
}

#[derive(Deserialize)]
pub(super) struct SayForm {
    csrf: String,
    chat: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    data: String,
}

/// Says something or presses a button in the web chat, waits for the
/// answers, and shows the chat again.
async fn act(web: Web, headers: HeaderMap, form: Option<SayForm>, press: bool) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    let Some(form) = form.filter(|f| visitor.posted(&f.csrf)) else {
        return forbidden();
    };
    let Some(web_chat) = &web.chat else {
        return see_other("/chat");
    };
    let done = match press {
        true => web_chat.press(&form.chat, &form.message, &form.data).await,
        false => web_chat.say(&form.chat, &form.text).await,
    };
    if let Err(refused) = done {
        web.sessions
            .tell(&visitor, Notice::Refused(refused.to_string()));
    }
    let chat = if is_chat_name(&form.chat) {
        form.chat.as_str()
    } else {
        FIRST_CHAT
    };
    see_other(&format!("/chat?chat={chat}#end"))
}

pub(super) async fn say(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<SayForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    act(web, headers, form.ok().map(|f| f.0), false).await
}

pub(super) async fn press(
    State(web): State<Web>,
    headers: HeaderMap,
    form: Result<Form<SayForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    act(web, headers, form.ok().map(|f| f.0), true).await
}

#[derive(Template)]
#[template(path = "live.html")]
struct LivePage {
    l: Layout,
    plugin: String,
    chat: String,
    text: bool,
    script: &'static str,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct LiveQuery {
    plugin: String,
    chat: String,
    text: bool,
    csrf: String,
}

pub(super) async fn live(
    State(web): State<Web>,
    headers: HeaderMap,
    query: Result<Query<LiveQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return see_other("/signin");
    };
    let query = query.map(|q| q.0).unwrap_or_default();
    let template = LivePage {
        l: Layout::new("Live", "live", &visitor),
        plugin: query.plugin,
        chat: query.chat,
        text: query.text,
        script: LIVE_JS_PATH.as_str(),
    };
    page(&template, &visitor)
}

/// The live page's socket: signed in, and carrying the page's CSRF token
/// (so another site cannot open it with the owner's cookie).
pub(super) async fn socket(
    State(web): State<Web>,
    headers: HeaderMap,
    query: Result<Query<LiveQuery>, axum::extract::rejection::QueryRejection>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let Some(visitor) = signed_in(&web, &headers) else {
        return (StatusCode::UNAUTHORIZED, "sign in first").into_response();
    };
    let Ok(Query(query)) = query else {
        return forbidden();
    };
    if !visitor.posted(&query.csrf) {
        return forbidden();
    }
    let Ok(upgrade) = upgrade else {
        return (StatusCode::BAD_REQUEST, "open it as a WebSocket").into_response();
    };
    let filters = StreamQuery {
        plugin: Some(query.plugin),
        chat: Some(query.chat),
        text: query.text,
    };
    let control = std::sync::Arc::clone(&web.control);
    upgrade.on_upgrade(move |socket| crate::live::stream(socket, control, filters))
}

pub(super) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        LIVE_JS,
    )
        .into_response()
}
