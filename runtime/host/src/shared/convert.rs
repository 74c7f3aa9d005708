//! Conversions between a contract version's WIT types and
//! [`plugboard_model`] for the records every version shares (users, chats,
//! messages, outgoing content, actions), the sizes of what a plugin
//! returns, and turning its returned actions into deliveries. Limits are
//! checked on the model by [`plugboard_model::outgoing`].
//!
//! Compiled once per contract version (from `src/shared/`): `super` is
//! that version's module. How an *event* is converted differs between
//! versions and lives in each version's `event.rs`.

use std::sync::Arc;

use plugboard_model::event;
use plugboard_model::outgoing::{self, Refusal};
use plugboard_registry_types::Permission;

use super::event::Lowered;
use super::wit::{self, HostError};
use crate::state::{ActionContext, HostState, PluginShared};

// ---- conversions: runtime model -> WIT ----

pub(super) fn platform(p: &event::Platform) -> wit::Platform {
    match p {
        event::Platform::Console => wit::Platform::Console,
        event::Platform::Telegram => wit::Platform::Telegram,
        event::Platform::Discord => wit::Platform::Discord,
        event::Platform::Other(name) => wit::Platform::Other(name.to_string()),
    }
}

/// A user as `plugin` sees them: a linked person's id only with the
/// `identity` permission, else the plugin's own id for the person
/// ([`crate::state::global_id_for`]).
pub(super) fn user(u: &event::User, plugin: &PluginShared) -> wit::User {
    wit::User {
        id: u.id.clone(),
        global_id: u
            .global_id
            .as_deref()
            .map(|person| plugin.global_id(person)),
        display_name: u.display_name.clone(),
        locale: u.locale.clone(),
        is_bot: u.is_bot,
    }
}

pub(super) fn chat(c: &event::Chat) -> wit::Chat {
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

pub(super) fn message(m: &event::Message, plugin: &PluginShared) -> wit::Message {
    wit::Message {
        id: m.id.clone(),
        chat: chat(&m.chat),
        sender: user(&m.sender, plugin),
        text: m.text.clone(),
        reply_to: m.reply_to.clone(),
        mentions: m.mentions.iter().map(|u| user(u, plugin)).collect(),
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

/// Converts an event for the plugin, in the shape the version lowers
/// (`event::Lowered`); a command takes the shape of the version's
/// `event::command`. For button presses, `data` must
/// already be the plugin's own button id (the router strips its prefix).
// In 0.1 each `into` is the identity (its cases are not boxed).
#[allow(clippy::useless_conversion)]
///
/// A webhook is no case of `event`: it is handed back, for the version's
/// `call_webhook`.
pub(crate) fn event_to_wit<'e>(
    e: &'e event::Event,
    plugin: &PluginShared,
) -> Result<Lowered<'e>, &'e event::Webhook> {
    // `into`: each version's `Lowered` holds a case as it is or boxed.
    Ok(match e {
        event::Event::Message(m) => Lowered::Message(message(m, plugin).into()),
        event::Event::Edited(m) => Lowered::Edited(message(m, plugin).into()),
        event::Event::Command(c) => Lowered::Command(super::event::command(c, plugin)),
        event::Event::ButtonPress(b) => Lowered::ButtonPress(
            wit::ButtonPress {
                button_id: b.data.clone(),
                user: user(&b.user, plugin),
                chat: chat(&b.chat),
                message_id: b.message_id.clone(),
            }
            .into(),
        ),
        event::Event::Reaction(r) => Lowered::Reaction(
            wit::Reaction {
                chat: chat(&r.chat),
                message_id: r.message_id.clone(),
                user: user(&r.user, plugin),
                emoji: r.emoji.clone(),
                added: r.added,
            }
            .into(),
        ),
        event::Event::MemberJoined(m) => Lowered::MemberJoined(
            wit::Membership {
                chat: chat(&m.chat),
                user: user(&m.user, plugin),
            }
            .into(),
        ),
        event::Event::MemberLeft(m) => Lowered::MemberLeft(
            wit::Membership {
                chat: chat(&m.chat),
                user: user(&m.user, plugin),
            }
            .into(),
        ),
        event::Event::Tick(t) => Lowered::Tick(super::event::tick(t).into()),
        event::Event::Webhook(hook) => return Err(hook),
    })
}

// ---- conversions: WIT -> runtime model ----
//
// Structural only: the limits are checked on the model, once for every
// contract version, by `plugboard_model::outgoing`.

impl From<crate::state::Denied> for HostError {
    fn from(e: crate::state::Denied) -> Self {
        HostError::PermissionDenied(e.0)
    }
}

impl From<Refusal> for HostError {
    fn from(e: Refusal) -> Self {
        match e {
            Refusal::Limit(why) => HostError::LimitExceeded(why),
            Refusal::Invalid(why) => HostError::InvalidArgument(why),
        }
    }
}

pub(super) fn chat_ref_from_wit(c: wit::ChatRef) -> Result<event::ChatRef, Refusal> {
    outgoing::check_id("chat id", &c.id)?;
    let chat = event::ChatRef {
        platform: match c.platform {
            wit::Platform::Console => event::Platform::Console,
            wit::Platform::Telegram => event::Platform::Telegram,
            wit::Platform::Discord => event::Platform::Discord,
            wit::Platform::Other(name) => {
                outgoing::check_id("platform name", &name)?;
                event::Platform::Other(name.into())
            }
        },
        id: c.id,
    };
    // The host's own address for a private chat with someone.
    if chat.private_user().is_some() {
        return Err(Refusal::Invalid(format!(
            "`{}` is not a chat id a plugin may address",
            chat.id
        )));
    }
    Ok(chat)
}

// ---- sizes: what a plugin makes the host hold, in bytes ----

pub(super) fn chat_ref_bytes(c: &wit::ChatRef) -> usize {
    let platform = match &c.platform {
        wit::Platform::Other(name) => name.len(),
        _ => 0,
    };
    c.id.len() + platform
}

pub(super) fn outgoing_bytes(o: &wit::Outgoing) -> usize {
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

/// Converts outgoing content, namespacing button ids as `<plugin>:<id>`
/// so a press finds its way back to the plugin that sent the button.
pub(super) fn outgoing_from_wit(
    o: wit::Outgoing,
    plugin: &str,
) -> Result<event::Outgoing, Refusal> {
    let widest = o.buttons.iter().map(Vec::len).max().unwrap_or(0);
    outgoing::check_button_grid(o.buttons.len(), widest)?;
    let mut rows = Vec::with_capacity(o.buttons.len());
    for row in o.buttons {
        let mut buttons = Vec::with_capacity(row.len());
        for b in row {
            let button = event::Button {
                id: outgoing::button_data(plugin, &b.id)?,
                label: b.label,
            };
            outgoing::check_button(&button)?;
            buttons.push(button);
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

/// Converts an embed and checks it against the limits.
fn embed_from_wit(e: wit::Embed) -> Result<event::Embed, Refusal> {
    let embed = event::Embed {
        title: e.title,
        description: e.description,
        url: e.url,
        color: e.color,
        fields: e
            .fields
            .into_iter()
            .map(|f| event::EmbedField {
                name: f.name,
                value: f.value,
                inline: f.inline,
            })
            .collect(),
        footer: e.footer,
        image_url: e.image_url,
    };
    outgoing::check_embed(&embed)?;
    Ok(embed)
}

/// Turns returned actions into deliveries, checking permissions and sizes.
pub fn actions_from_wit(
    actions: Vec<wit::Action>,
    state: &HostState,
    ctx: &ActionContext<'_>,
) -> Result<Vec<event::Outbound>, String> {
    let plugin = &state.plugin;
    let check_len = |text: &str| plugin.limits.check_text_len(text);
    let target = |c: Option<wit::ChatRef>| match c {
        Some(c) => chat_ref_from_wit(c).map_err(|e| e.to_string()),
        None => Ok(ctx.chat.clone()),
    };
    let message_id = |id: &str| outgoing::check_id("message id", id).map_err(|e| e.to_string());
    let mention_everyone = plugin.granted(Permission::MentionEveryone);
    let mut out = Vec::with_capacity(actions.len());
    for action in actions {
        let (chat, op) = match action {
            wit::Action::Reply(o) => {
                check_len(&o.text)?;
                let message = outgoing_from_wit(o, &plugin.name).map_err(|e| e.to_string())?;
                let reply_to = ctx.reply_to.map(str::to_owned);
                (
                    ctx.chat.clone(),
                    event::OutboundOp::Send { message, reply_to },
                )
            }
            wit::Action::Send(s) => {
                check_len(&s.message.text)?;
                let to = chat_ref_from_wit(s.to).map_err(|e| e.to_string())?;
                let message =
                    outgoing_from_wit(s.message, &plugin.name).map_err(|e| e.to_string())?;
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
                let message =
                    outgoing_from_wit(e.message, &plugin.name).map_err(|e| e.to_string())?;
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
                outgoing::check_emoji(&r.emoji).map_err(|e| e.to_string())?;
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
    use plugboard_model::outgoing::*;

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
            Err(Refusal::Limit(why)) => format!("limit: {why}"),
            Err(Refusal::Invalid(why)) => format!("invalid: {why}"),
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
