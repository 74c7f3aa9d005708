//! Bindings and host implementation for `plugboard:plugin@0.1.x`.

use semver::Version;
use std::sync::Arc;

use plugboard_registry_types::Permission;

use plugboard_store::KvUsage;

use crate::state::{HostState, MAX_KV_KEY, MAX_KV_LIST, MAX_KV_VALUE, MAX_LOG_LINE};
use plugboard_model::event;

/// What `bindgen!` generates from `wit/` (documented in the WIT itself).
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "plugin",
        imports: { "plugboard:plugin/http.fetch": async },
        exports: { default: async },
    });
}
pub use bindings::*;

pub use plugboard::plugin::types as wit;
use wit::HostError;

/// The contract version these bindings were generated from.
pub fn version() -> Version {
    Version::new(0, 1, 0)
}

/// Adds this version's imports to `linker`.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)
}

impl wit::Host for HostState {}

impl plugboard::plugin::logging::Host for HostState {
    fn log(&mut self, level: wit::LogLevel, message: String) {
        let plugin = &*self.plugin.name;
        let per_sec = self.plugin.limits.log_lines_per_sec;
        let admitted = self
            .plugin
            .log_budget
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(per_sec);
        match admitted {
            None => return,
            Some(0) => {}
            Some(dropped) => tracing::warn!(
                plugin,
                dropped,
                per_sec,
                "dropped log lines of a plugin over its limit"
            ),
        }
        // A field of bounded length, never part of the log line's own
        // text: recorded with `Debug`, it is quoted and escaped, so a
        // plugin can neither forge a line nor a field.
        let text = plugboard_model::text::truncate(&message, MAX_LOG_LINE);
        match level {
            wit::LogLevel::Trace => tracing::trace!(plugin, text = ?text, "plugin log"),
            wit::LogLevel::Debug => tracing::debug!(plugin, text = ?text, "plugin log"),
            wit::LogLevel::Info => tracing::info!(plugin, text = ?text, "plugin log"),
            wit::LogLevel::Warn => tracing::warn!(plugin, text = ?text, "plugin log"),
            wit::LogLevel::Error => tracing::error!(plugin, text = ?text, "plugin log"),
        }
    }
}

impl HostState {
    fn require(&self, permission: Permission) -> Result<(), HostError> {
        if self.plugin.granted(permission) {
            return Ok(());
        }
        let name = &self.plugin.name;
        self.plugin
            .refused_calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(plugin = %name, %permission, "host call refused: permission not granted");
        Err(HostError::PermissionDenied(
            if self.plugin.manifest.wants(permission) {
                format!(
                    "this needs the `{permission}` permission, which the bot owner has not granted \
                 (`plugboard grant {name} {permission}`)"
                )
            } else {
                format!(
                    "this needs the `{permission}` permission; declare it in plugin.toml's `permissions`"
                )
            },
        ))
    }

    fn check_key(key: &str) -> Result<(), HostError> {
        if key.len() > MAX_KV_KEY {
            return Err(HostError::InvalidArgument(format!(
                "a key is at most {MAX_KV_KEY} bytes; this one has {}",
                key.len()
            )));
        }
        Ok(())
    }
}

fn storage(e: plugboard_store::StoreError) -> HostError {
    tracing::error!("kv store error: {e}");
    HostError::Other(format!("storage failed: {e}"))
}

impl plugboard::plugin::kv::Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, HostError> {
        self.require(Permission::Kv)?;
        Self::check_key(&key)?;
        self.plugin
            .store
            .kv_get(&self.plugin.name, &key)
            .map_err(storage)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), HostError> {
        self.require(Permission::Kv)?;
        if key.is_empty() {
            return Err(HostError::InvalidArgument("the key is empty".into()));
        }
        Self::check_key(&key)?;
        if value.len() > MAX_KV_VALUE {
            return Err(HostError::LimitExceeded(format!(
                "a value is at most {MAX_KV_VALUE} bytes; this one has {}",
                value.len()
            )));
        }
        let plugin = &self.plugin;
        let limits = &plugin.limits;
        // Held across the read and the write: instances of one plugin
        // running in parallel cannot overshoot the quota together.
        let mut usage = plugin.kv_usage();
        let old = plugin.store.kv_get(&plugin.name, &key).map_err(storage)?;
        let old_bytes = old.as_ref().map_or(0, |v| (key.len() + v.len()) as u64);
        let keys = usage.keys + u64::from(old.is_none());
        let bytes = usage.bytes - old_bytes.min(usage.bytes) + (key.len() + value.len()) as u64;
        if keys > limits.kv_max_keys {
            return Err(HostError::LimitExceeded(format!(
                "the plugin's store holds at most {} keys; delete some first",
                limits.kv_max_keys
            )));
        }
        if bytes > limits.kv_max_bytes {
            return Err(HostError::LimitExceeded(format!(
                "the plugin's store holds at most {} bytes of keys and values; delete some first",
                limits.kv_max_bytes
            )));
        }
        plugin
            .store
            .kv_set(&plugin.name, &key, &value)
            .map_err(storage)?;
        *usage = KvUsage { keys, bytes };
        self.kv_written = true;
        Ok(())
    }

    fn delete(&mut self, key: String) -> Result<bool, HostError> {
        self.require(Permission::Kv)?;
        Self::check_key(&key)?;
        let plugin = &self.plugin;
        let mut usage = plugin.kv_usage();
        let old = plugin.store.kv_get(&plugin.name, &key).map_err(storage)?;
        let existed = plugin
            .store
            .kv_delete(&plugin.name, &key)
            .map_err(storage)?;
        if let Some(old) = old.filter(|_| existed) {
            usage.keys = usage.keys.saturating_sub(1);
            usage.bytes = usage.bytes.saturating_sub((key.len() + old.len()) as u64);
        }
        self.kv_written |= existed;
        Ok(existed)
    }

    fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, HostError> {
        self.require(Permission::Kv)?;
        Self::check_key(&prefix)?;
        self.plugin
            .store
            .kv_keys(&self.plugin.name, &prefix, MAX_KV_LIST)
            .map_err(storage)
    }
}

impl plugboard::plugin::http::Host for HostState {
    async fn fetch(
        &mut self,
        request: plugboard::plugin::http::Request,
    ) -> Result<plugboard::plugin::http::Response, HostError> {
        use crate::http::{FetchError, Request, fetch};
        use plugboard::plugin::http::{Header, Response};
        self.require(Permission::Http)?;
        let Some((client, policy)) = self.plugin.http.clone() else {
            return Err(HostError::PermissionDenied(
                "the plugin has no HTTP access".into(),
            ));
        };
        let size = request.method.len()
            + request.url.len()
            + request
                .headers
                .iter()
                .map(|h| h.name.len() + h.value.len())
                .sum::<usize>()
            + request.body.len();
        self.charge(size)
            .map_err(|e| HostError::LimitExceeded(e.to_string()))?;
        let time_left = self
            .deadline
            .saturating_duration_since(std::time::Instant::now());
        let request = Request {
            method: request.method,
            url: request.url,
            headers: request
                .headers
                .into_iter()
                .map(|h| (h.name, h.value))
                .collect(),
            body: request.body,
        };
        let url = request.url.clone();
        match fetch(&client, &policy, request, time_left).await {
            Ok(response) => Ok(Response {
                status: response.status,
                headers: response
                    .headers
                    .into_iter()
                    .map(|(name, value)| Header { name, value })
                    .collect(),
                body: response.body,
            }),
            Err(FetchError::Refused(why)) => {
                self.plugin
                    .refused_calls
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(plugin = %self.plugin.name, url = ?url, reason = ?why, "HTTP request refused");
                Err(HostError::PermissionDenied(why))
            }
            Err(FetchError::TooLarge(why)) => Err(HostError::LimitExceeded(why)),
            Err(FetchError::Invalid(why)) => Err(HostError::InvalidArgument(why)),
            Err(FetchError::Failed(why)) => Err(HostError::Other(why)),
        }
    }
}

impl plugboard::plugin::config::Host for HostState {
    fn get_all(&mut self) -> String {
        self.plugin.config_json.clone()
    }

    fn get(&mut self, key: String) -> Option<String> {
        self.plugin.config.get(&key).map(|v| v.to_string())
    }
}

impl plugboard::plugin::messaging::Host for HostState {
    fn send(&mut self, to: wit::ChatRef, message: wit::Outgoing) -> Result<(), HostError> {
        if self.current_chat.is_none() {
            // Nothing would deliver it: `init` runs outside any event.
            return Err(HostError::InvalidArgument(
                "messages can be sent only while handling an event, not from init".into(),
            ));
        }
        let max_actions = self.plugin.limits.max_actions as usize;
        if self.sent.len() >= max_actions {
            return Err(HostError::LimitExceeded(format!(
                "at most {max_actions} messages and actions per event"
            )));
        }
        let size = chat_ref_bytes(&to) + outgoing_bytes(&message);
        let to = chat_ref_from_wit(to)?;
        if self.current_chat.as_ref() != Some(&to) {
            self.require(Permission::SendAnyChat)?;
        }
        check_text_len(&message.text, &self.plugin.limits).map_err(HostError::LimitExceeded)?;
        let message = outgoing_from_wit(message, &self.plugin.name)?;
        // Held from here until the event ends.
        self.charge(size)
            .map_err(|e| HostError::LimitExceeded(e.to_string()))?;
        self.sent.push(event::Outbound {
            chat: to,
            op: event::OutboundOp::Send {
                message,
                reply_to: None,
            },
            plugin: Arc::clone(&self.plugin.name),
            mention_everyone: self.plugin.granted(Permission::MentionEveryone),
            receipt: Default::default(),
        });
        Ok(())
    }
}

/// Refuses a message text longer than the plugin's `max_message_bytes`.
fn check_text_len(text: &str, limits: &crate::sandbox::Limits) -> Result<(), String> {
    let max = limits.max_message_bytes as usize;
    if text.len() > max {
        return Err(format!(
            "a message is at most {max} bytes; this one has {}",
            text.len()
        ));
    }
    Ok(())
}

// ---- conversions: runtime model -> WIT ----

fn platform(p: &event::Platform) -> wit::Platform {
    match p {
        event::Platform::Console => wit::Platform::Console,
        event::Platform::Telegram => wit::Platform::Telegram,
        event::Platform::Discord => wit::Platform::Discord,
        event::Platform::Other(name) => wit::Platform::Other(name.to_string()),
    }
}

fn user(u: &event::User) -> wit::User {
    wit::User {
        id: u.id.clone(),
        global_id: u.global_id.clone(),
        display_name: u.display_name.clone(),
        locale: u.locale.clone(),
        is_bot: u.is_bot,
    }
}

fn chat(c: &event::Chat) -> wit::Chat {
    wit::Chat {
        platform: platform(&c.platform),
        id: c.id.clone(),
        kind: match c.kind {
            event::ChatKind::Direct => wit::ChatKind::Direct,
            event::ChatKind::Group => wit::ChatKind::Group,
            event::ChatKind::Channel => wit::ChatKind::Channel,
        },
        title: c.title.clone(),
    }
}

fn message(m: &event::Message) -> wit::Message {
    wit::Message {
        id: m.id.clone(),
        chat: chat(&m.chat),
        sender: user(&m.sender),
        text: m.text.clone(),
        reply_to: m.reply_to.clone(),
        mentions: m.mentions.iter().map(user).collect(),
        attachments: m
            .attachments
            .iter()
            .map(|a| wit::Attachment {
                kind: a.kind.clone(),
                file_name: a.file_name.clone(),
                mime_type: a.mime_type.clone(),
                size: a.size,
                url: a.url.clone(),
            })
            .collect(),
        timestamp_ms: m.timestamp_ms,
        telegram: m.telegram.as_deref().map(|t| wit::TelegramMessage {
            thread_id: t.thread_id,
            sender_username: t.sender_username.clone(),
            chat_username: t.chat_username.clone(),
            media_group_id: t.media_group_id.clone(),
            is_forwarded: t.is_forwarded,
            via_bot: t.via_bot.clone(),
        }),
        discord: m.discord.as_deref().map(|d| wit::DiscordMessage {
            guild_id: d.guild_id.clone(),
            sender_username: d.sender_username.clone(),
            sender_nick: d.sender_nick.clone(),
            sender_roles: d.sender_roles.clone(),
            interaction_id: d.interaction_id.clone(),
        }),
    }
}

/// Converts an event for the plugin. For button presses, `data` must
/// already be the plugin's own button id (the router strips its prefix).
pub fn event_to_wit(e: &event::Event) -> wit::Event {
    match e {
        event::Event::Message(m) => wit::Event::Message(message(m)),
        event::Event::Edited(m) => wit::Event::Edited(message(m)),
        event::Event::Command(c) => wit::Event::Command(wit::Command {
            name: c.name.clone(),
            args: c.args.clone(),
            raw_args: c.raw_args.clone(),
            message: message(&c.message),
        }),
        event::Event::ButtonPress(b) => wit::Event::ButtonPress(wit::ButtonPress {
            button_id: b.data.clone(),
            user: user(&b.user),
            chat: chat(&b.chat),
            message_id: b.message_id.clone(),
        }),
        event::Event::Reaction(r) => wit::Event::Reaction(wit::Reaction {
            chat: chat(&r.chat),
            message_id: r.message_id.clone(),
            user: user(&r.user),
            emoji: r.emoji.clone(),
            added: r.added,
        }),
        event::Event::MemberJoined(m) => wit::Event::MemberJoined(wit::Membership {
            chat: chat(&m.chat),
            user: user(&m.user),
        }),
        event::Event::MemberLeft(m) => wit::Event::MemberLeft(wit::Membership {
            chat: chat(&m.chat),
            user: user(&m.user),
        }),
    }
}

// ---- conversions: WIT -> runtime model ----

/// Longest chat id, message id or platform name an action may name, in bytes.
pub const MAX_ID: usize = 256;
/// Longest reaction emoji, in bytes (a custom Discord emoji `<:name:id>`
/// fits with room to spare).
pub const MAX_EMOJI: usize = 128;
/// Longest button label, in characters (Discord's limit).
pub const MAX_BUTTON_LABEL: usize = 80;
/// Most rows of buttons under one message.
pub const MAX_BUTTON_ROWS: usize = 10;
/// Most buttons in one row.
pub const MAX_BUTTONS_PER_ROW: usize = 8;

/// Refuses an id longer than [`MAX_ID`].
fn check_id(what: &str, id: &str) -> Result<(), HostError> {
    if id.len() > MAX_ID {
        return Err(HostError::LimitExceeded(format!(
            "a {what} is at most {MAX_ID} bytes; this one has {}",
            id.len()
        )));
    }
    Ok(())
}

fn chat_ref_from_wit(c: wit::ChatRef) -> Result<event::ChatRef, HostError> {
    check_id("chat id", &c.id)?;
    Ok(event::ChatRef {
        platform: match c.platform {
            wit::Platform::Console => event::Platform::Console,
            wit::Platform::Telegram => event::Platform::Telegram,
            wit::Platform::Discord => event::Platform::Discord,
            wit::Platform::Other(name) => {
                check_id("platform name", &name)?;
                event::Platform::Other(name.into())
            }
        },
        id: c.id,
    })
}

// ---- sizes: what a plugin makes the host hold, in bytes ----

fn chat_ref_bytes(c: &wit::ChatRef) -> usize {
    let platform = match &c.platform {
        wit::Platform::Other(name) => name.len(),
        _ => 0,
    };
    c.id.len() + platform
}

fn outgoing_bytes(o: &wit::Outgoing) -> usize {
    let buttons: usize = o
        .buttons
        .iter()
        .flatten()
        .map(|b| b.id.len() + b.label.len())
        .sum();
    let embed = o.embed.as_ref().map_or(0, |e| {
        [&e.title, &e.description, &e.url, &e.footer, &e.image_url]
            .into_iter()
            .flatten()
            .map(String::len)
            .sum::<usize>()
            + e.fields
                .iter()
                .map(|f| f.name.len() + f.value.len())
                .sum::<usize>()
    });
    o.text.len() + buttons + embed
}

/// Bytes of strings and lists in one returned action.
pub fn action_bytes(action: &wit::Action) -> usize {
    let chat = |c: &Option<wit::ChatRef>| c.as_ref().map_or(0, chat_ref_bytes);
    match action {
        wit::Action::Reply(o) => outgoing_bytes(o),
        wit::Action::Send(s) => chat_ref_bytes(&s.to) + outgoing_bytes(&s.message),
        wit::Action::Edit(e) => chat(&e.chat) + e.message_id.len() + outgoing_bytes(&e.message),
        wit::Action::React(r) => chat(&r.chat) + r.message_id.len() + r.emoji.len(),
        wit::Action::Delete(d) => chat(&d.chat) + d.message_id.len(),
    }
}

/// Longest callback data a button may carry on any platform (Telegram's limit).
pub const MAX_BUTTON_DATA: usize = 64;

/// Converts outgoing content, namespacing button ids as `<plugin>:<id>`
/// so a press finds its way back to the plugin that sent the button.
fn outgoing_from_wit(o: wit::Outgoing, plugin: &str) -> Result<event::Outgoing, HostError> {
    if o.buttons.len() > MAX_BUTTON_ROWS
        || o.buttons.iter().any(|row| row.len() > MAX_BUTTONS_PER_ROW)
    {
        return Err(HostError::LimitExceeded(format!(
            "a message has at most {MAX_BUTTON_ROWS} rows of at most {MAX_BUTTONS_PER_ROW} buttons"
        )));
    }
    let mut rows = Vec::with_capacity(o.buttons.len());
    for row in o.buttons {
        let mut buttons = Vec::with_capacity(row.len());
        for b in row {
            let data = format!("{plugin}:{}", b.id);
            if data.len() > MAX_BUTTON_DATA {
                return Err(HostError::InvalidArgument(format!(
                    "button id {} is too long: with the plugin's name it must fit in {MAX_BUTTON_DATA} bytes",
                    plugboard_registry_types::text::quote(&b.id)
                )));
            }
            let label = b.label.chars().count();
            if label > MAX_BUTTON_LABEL {
                return Err(HostError::LimitExceeded(format!(
                    "a button label is at most {MAX_BUTTON_LABEL} characters; this one has {label}"
                )));
            }
            buttons.push(event::Button {
                id: data,
                label: b.label,
            });
        }
        rows.push(buttons);
    }
    let embed = match o.embed {
        Some(embed) => Some(Box::new(embed_from_wit(embed)?)),
        None => None,
    };
    Ok(event::Outgoing {
        text: o.text,
        format: match o.format {
            wit::TextFormat::Plain => event::TextFormat::Plain,
            wit::TextFormat::Markdown => event::TextFormat::Markdown,
        },
        buttons: rows,
        embed,
    })
}

/// Longest embed title, in characters (Discord's limit).
pub const MAX_EMBED_TITLE: usize = 256;
/// Longest embed description, in characters.
pub const MAX_EMBED_DESCRIPTION: usize = 4096;
/// Most fields in one embed.
pub const MAX_EMBED_FIELDS: usize = 25;
/// Longest embed field name, in characters.
pub const MAX_EMBED_FIELD_NAME: usize = 256;
/// Longest embed field value, in characters.
pub const MAX_EMBED_FIELD_VALUE: usize = 1024;
/// Longest embed footer, in characters.
pub const MAX_EMBED_FOOTER: usize = 2048;
/// Most characters in all texts of one embed together.
pub const MAX_EMBED_TOTAL: usize = 6000;
/// Longest embed link (`url`, `image-url`), in bytes.
pub const MAX_EMBED_URL: usize = 2048;

/// Why an embed was refused, as the guest sees it.
#[derive(Debug)]
enum EmbedError {
    /// Over one of Discord's limits.
    Limit(String),
    /// Not acceptable at all.
    Invalid(String),
}

impl From<EmbedError> for HostError {
    fn from(e: EmbedError) -> Self {
        match e {
            EmbedError::Limit(why) => HostError::LimitExceeded(why),
            EmbedError::Invalid(why) => HostError::InvalidArgument(why),
        }
    }
}

/// Checks an embed against Discord's limits (so that it renders on
/// every platform) and converts it.
fn embed_from_wit(e: wit::Embed) -> Result<event::Embed, EmbedError> {
    fn chars(text: &str) -> usize {
        text.chars().count()
    }
    fn within(what: &str, text: &str, max: usize) -> Result<usize, EmbedError> {
        let n = chars(text);
        if n > max {
            return Err(EmbedError::Limit(format!(
                "an embed's {what} is at most {max} characters; this one has {n}"
            )));
        }
        Ok(n)
    }
    fn link(what: &str, url: Option<String>) -> Result<Option<String>, EmbedError> {
        let Some(url) = url else { return Ok(None) };
        let scheme_ok = ["http://", "https://"].iter().any(|s| {
            url.get(..s.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(s))
        });
        if !scheme_ok
            || url.len() > MAX_EMBED_URL
            || url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>'))
        {
            return Err(EmbedError::Invalid(format!(
                "an embed's {what} must be an http:// or https:// address of at most {MAX_EMBED_URL} bytes, without spaces or `<` `>`"
            )));
        }
        Ok(Some(url))
    }
    if e.fields.len() > MAX_EMBED_FIELDS {
        return Err(EmbedError::Limit(format!(
            "an embed has at most {MAX_EMBED_FIELDS} fields; this one has {}",
            e.fields.len()
        )));
    }
    let mut total = 0;
    if let Some(title) = &e.title {
        total += within("title", title, MAX_EMBED_TITLE)?;
    }
    if let Some(description) = &e.description {
        total += within("description", description, MAX_EMBED_DESCRIPTION)?;
    }
    if let Some(footer) = &e.footer {
        total += within("footer", footer, MAX_EMBED_FOOTER)?;
    }
    let mut fields = Vec::with_capacity(e.fields.len());
    for f in e.fields {
        if f.name.trim().is_empty() || f.value.trim().is_empty() {
            return Err(EmbedError::Invalid(
                "an embed field needs a name and a value that are not empty".into(),
            ));
        }
        total += within("field name", &f.name, MAX_EMBED_FIELD_NAME)?;
        total += within("field value", &f.value, MAX_EMBED_FIELD_VALUE)?;
        fields.push(event::EmbedField {
            name: f.name,
            value: f.value,
            inline: f.inline,
        });
    }
    if total > MAX_EMBED_TOTAL {
        return Err(EmbedError::Limit(format!(
            "an embed's texts together are at most {MAX_EMBED_TOTAL} characters; this one has {total}"
        )));
    }
    if e.color.is_some_and(|c| c > 0xFF_FFFF) {
        return Err(EmbedError::Invalid(
            "an embed's color is 0xRRGGBB, at most 0xFFFFFF".into(),
        ));
    }
    Ok(event::Embed {
        title: e.title,
        description: e.description,
        url: link("url", e.url)?,
        color: e.color,
        fields,
        footer: e.footer,
        image_url: link("image-url", e.image_url)?,
    })
}

/// The text of a refusal, for an action that fails its event.
fn reason(e: HostError) -> String {
    match e {
        HostError::PermissionDenied(why)
        | HostError::LimitExceeded(why)
        | HostError::InvalidArgument(why)
        | HostError::Other(why) => why,
    }
}

/// Where a relative action lands: the event's chat and the message to answer.
pub struct ActionContext<'a> {
    /// The event's chat.
    pub chat: &'a event::ChatRef,
    /// The message a `reply` answers, if the event has one.
    pub reply_to: Option<&'a str>,
}

/// Turns returned actions into deliveries, checking permissions and sizes.
pub fn actions_from_wit(
    actions: Vec<wit::Action>,
    state: &HostState,
    ctx: &ActionContext<'_>,
) -> Result<Vec<event::Outbound>, String> {
    let plugin = &state.plugin;
    let check_len = |text: &str| check_text_len(text, &plugin.limits);
    let target = |c: Option<wit::ChatRef>| match c {
        Some(c) => chat_ref_from_wit(c).map_err(reason),
        None => Ok(ctx.chat.clone()),
    };
    let message_id = |id: &str| check_id("message id", id).map_err(reason);
    let mention_everyone = plugin.granted(Permission::MentionEveryone);
    let mut out = Vec::with_capacity(actions.len());
    for action in actions {
        let (chat, op) = match action {
            wit::Action::Reply(o) => {
                check_len(&o.text)?;
                let message = outgoing_from_wit(o, &plugin.name).map_err(reason)?;
                let reply_to = ctx.reply_to.map(str::to_owned);
                (
                    ctx.chat.clone(),
                    event::OutboundOp::Send { message, reply_to },
                )
            }
            wit::Action::Send(s) => {
                check_len(&s.message.text)?;
                let to = chat_ref_from_wit(s.to).map_err(reason)?;
                let message = outgoing_from_wit(s.message, &plugin.name).map_err(reason)?;
                (
                    to,
                    event::OutboundOp::Send {
                        message,
                        reply_to: None,
                    },
                )
            }
            wit::Action::Edit(e) => {
                check_len(&e.message.text)?;
                message_id(&e.message_id)?;
                let message = outgoing_from_wit(e.message, &plugin.name).map_err(reason)?;
                (
                    target(e.chat)?,
                    event::OutboundOp::Edit {
                        message_id: e.message_id,
                        message,
                    },
                )
            }
            wit::Action::React(r) => {
                message_id(&r.message_id)?;
                if r.emoji.len() > MAX_EMOJI {
                    return Err(format!(
                        "a reaction emoji is at most {MAX_EMOJI} bytes; this one has {}",
                        r.emoji.len()
                    ));
                }
                (
                    target(r.chat)?,
                    event::OutboundOp::React {
                        message_id: r.message_id,
                        emoji: r.emoji,
                    },
                )
            }
            wit::Action::Delete(d) => (
                {
                    message_id(&d.message_id)?;
                    target(d.chat)?
                },
                event::OutboundOp::Delete {
                    message_id: d.message_id,
                },
            ),
        };
        if &chat != ctx.chat && !plugin.granted(Permission::SendAnyChat) {
            plugin
                .refused_calls
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Err(
                "sending to or acting on another chat needs the `send-any-chat` permission".into(),
            );
        }
        out.push(event::Outbound {
            chat,
            op,
            plugin: Arc::clone(&plugin.name),
            mention_everyone,
            receipt: Default::default(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card() -> wit::Embed {
        wit::Embed {
            title: Some("Title".into()),
            description: Some("Body".into()),
            url: Some("https://example.com/".into()),
            color: Some(0x00FF00),
            fields: vec![wit::EmbedField {
                name: "n".into(),
                value: "v".into(),
                inline: false,
            }],
            footer: None,
            image_url: Some("HTTPS://example.com/i.png".into()),
        }
    }

    fn refusal(embed: wit::Embed) -> String {
        match embed_from_wit(embed) {
            Ok(_) => "accepted".into(),
            Err(EmbedError::Limit(why)) => format!("limit: {why}"),
            Err(EmbedError::Invalid(why)) => format!("invalid: {why}"),
        }
    }

    #[test]
    fn embeds_are_held_to_discords_limits() {
        assert_eq!(refusal(card()), "accepted");
        let long_title = wit::Embed {
            title: Some("é".repeat(MAX_EMBED_TITLE + 1)),
            ..card()
        };
        assert!(refusal(long_title).starts_with("limit: an embed's title is at most 256"));
        let at_limit = wit::Embed {
            title: Some("é".repeat(MAX_EMBED_TITLE)),
            ..card()
        };
        assert_eq!(refusal(at_limit), "accepted");
        let long_value = wit::Embed {
            fields: vec![wit::EmbedField {
                name: "n".into(),
                value: "v".repeat(MAX_EMBED_FIELD_VALUE + 1),
                inline: true,
            }],
            ..card()
        };
        assert!(refusal(long_value).contains("field value is at most 1024"));
        let empty_name = wit::Embed {
            fields: vec![wit::EmbedField {
                name: " ".into(),
                value: "v".into(),
                inline: true,
            }],
            ..card()
        };
        assert!(refusal(empty_name).starts_with("invalid:"));
        // Each part within its limit, all together beyond 6,000.
        let total = wit::Embed {
            description: Some("d".repeat(MAX_EMBED_DESCRIPTION)),
            footer: Some("f".repeat(MAX_EMBED_FOOTER)),
            ..card()
        };
        assert!(refusal(total).contains("together are at most 6000"));
        let footer = wit::Embed {
            footer: Some("f".repeat(MAX_EMBED_FOOTER + 1)),
            ..card()
        };
        assert!(refusal(footer).starts_with("limit:"));
        for bad in [
            "javascript:alert(1)",
            "https://a b",
            "ftp://x",
            "https://x/<y>",
        ] {
            let link = wit::Embed {
                url: Some(bad.into()),
                ..card()
            };
            assert!(
                refusal(link).starts_with("invalid: an embed's url"),
                "{bad}"
            );
        }
        let color = wit::Embed {
            color: Some(0x0100_0000),
            ..card()
        };
        assert!(refusal(color).starts_with("invalid:"));
        let fields = wit::Embed {
            fields: (0..=MAX_EMBED_FIELDS)
                .map(|i| wit::EmbedField {
                    name: format!("n{i}"),
                    value: "v".into(),
                    inline: true,
                })
                .collect(),
            ..card()
        };
        assert!(refusal(fields).starts_with("limit: an embed has at most 25 fields"));
    }
}
