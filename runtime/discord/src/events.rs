//! From gateway events to our events.
//!
//! Messages by bots (this one included) are ignored. A slash command becomes
//! a [`Command`] whose `args` are its option values in the order the
//! manifest declares them (the `args` option of commands without declared
//! options is split like typed text), with the interaction's id as its
//! message id, so that replies find the interaction again. A button press
//! becomes a [`ButtonPress`] with the button's `custom_id` (`<plugin>:<id>`).
//! Joins and leaves are told in the guild's system channel, and skipped in
//! guilds without one.

use std::sync::Arc;

use serenity::all::{
    CommandDataOptionValue, CommandInteraction, ComponentInteraction, Context, EventHandler, Guild,
    GuildId, Interaction, Member, Message as DMessage, MessageUpdateEvent, PartialMember,
    Reaction as DReaction, ReactionType, Ready, ResumedEvent, User as DUser, UserId,
};

use crate::Shared;
use crate::interactions::Kind;
use plugboard_model::event::now_ms;
use plugboard_model::event::{
    Attachment, ButtonPress, Chat, ChatKind, Command, DiscordMessage, Event, Membership, Message,
    Platform, Reaction, User,
};
use plugboard_model::text::split_args;

/// serenity's event handler for the adapter.
pub(crate) struct Handler {
    pub(crate) shared: Arc<Shared>,
    pub(crate) bot: UserId,
    /// How the gateway connection is doing, for the owner.
    pub(crate) health: Arc<plugboard_adapter::Health>,
}

fn user(u: &DUser, nick: Option<&str>, locale: Option<&str>) -> User {
    let name = nick
        .or(u.global_name.as_deref())
        .unwrap_or(&u.name)
        .to_owned();
    User {
        id: u.id.to_string(),
        global_id: None,
        display_name: name,
        locale: locale.map(str::to_owned),
        is_bot: u.bot,
    }
}

fn chat(channel: impl ToString, guild: Option<GuildId>) -> Chat {
    Chat {
        platform: Platform::Discord,
        id: channel.to_string(),
        kind: match guild {
            Some(_) => ChatKind::Group,
            None => ChatKind::Direct,
        },
        title: None,
        locale: None,
    }
}

fn attachments(list: &[serenity::all::Attachment]) -> Vec<Attachment> {
    list.iter()
        .map(|a| {
            let mime = a.content_type.clone();
            let kind = match mime.as_deref().and_then(|m| m.split('/').next()) {
                Some("image") => "image",
                Some("video") => "video",
                Some("audio") => "audio",
                _ => "file",
            };
            Attachment {
                kind: kind.into(),
                file_name: Some(a.filename.clone()),
                mime_type: mime,
                size: Some(u64::from(a.size)),
                url: Some(a.url.clone()),
            }
        })
        .collect()
}

fn details(
    guild: Option<GuildId>,
    author: &DUser,
    member: Option<&PartialMember>,
) -> Box<DiscordMessage> {
    Box::new(DiscordMessage {
        guild_id: guild.map(|g| g.to_string()),
        sender_username: author.name.clone(),
        sender_nick: member.and_then(|m| m.nick.clone()),
        sender_roles: member
            .map(|m| m.roles.iter().map(ToString::to_string).collect())
            .unwrap_or_default(),
        interaction_id: None,
    })
}

fn message(m: &DMessage) -> Message {
    let member = m.member.as_deref();
    Message {
        id: m.id.to_string(),
        chat: chat(m.channel_id, m.guild_id),
        sender: user(&m.author, member.and_then(|p| p.nick.as_deref()), None),
        text: m.content.clone(),
        reply_to: m
            .message_reference
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|id| id.to_string()),
        mentions: m.mentions.iter().map(|u| user(u, None, None)).collect(),
        attachments: attachments(&m.attachments),
        timestamp_ms: u64::try_from(m.timestamp.unix_timestamp())
            .map(|s| s * 1000)
            .unwrap_or_else(|_| now_ms()),
        telegram: None,
        discord: Some(details(m.guild_id, &m.author, member)),
    }
}

fn edited(e: &MessageUpdateEvent) -> Option<Message> {
    let author = e.author.as_ref()?;
    let text = e.content.clone()?;
    let member = e.member.as_ref().and_then(|m| m.as_deref());
    Some(Message {
        id: e.id.to_string(),
        chat: chat(e.channel_id, e.guild_id),
        sender: user(author, member.and_then(|p| p.nick.as_deref()), None),
        text,
        reply_to: e
            .message_reference
            .as_ref()
            .and_then(|r| r.as_ref())
            .and_then(|r| r.message_id)
            .map(|id| id.to_string()),
        mentions: e
            .mentions
            .iter()
            .flatten()
            .map(|u| user(u, None, None))
            .collect(),
        attachments: e
            .attachments
            .as_deref()
            .map(attachments)
            .unwrap_or_default(),
        timestamp_ms: e
            .edited_timestamp
            .and_then(|t| u64::try_from(t.unix_timestamp()).ok())
            .map_or_else(now_ms, |s| s * 1000),
        telegram: None,
        discord: Some(details(e.guild_id, author, member)),
    })
}

fn emoji(e: &ReactionType) -> String {
    match e {
        ReactionType::Unicode(text) => text.clone(),
        ReactionType::Custom { animated, id, name } => format!(
            "<{}:{}:{id}>",
            if *animated { "a" } else { "" },
            name.as_deref().unwrap_or("emoji")
        ),
        _ => "?".into(),
    }
}

/// A slash command's option value as text.
fn value_text(value: &CommandDataOptionValue) -> Option<String> {
    Some(match value {
        CommandDataOptionValue::String(s) => s.clone(),
        CommandDataOptionValue::Integer(n) => n.to_string(),
        CommandDataOptionValue::Number(n) => n.to_string(),
        CommandDataOptionValue::Boolean(b) => b.to_string(),
        CommandDataOptionValue::User(id) => id.to_string(),
        CommandDataOptionValue::Channel(id) => id.to_string(),
        CommandDataOptionValue::Role(id) => id.to_string(),
        CommandDataOptionValue::Mentionable(id) => id.to_string(),
        CommandDataOptionValue::Attachment(id) => id.to_string(),
        _ => return None,
    })
}

impl Handler {
    /// The language of a community guild, for the chats in it.
    fn guild_locale(&self, guild: Option<GuildId>) -> Option<String> {
        let locales = self
            .shared
            .guild_locales
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        locales.get(&guild?).cloned()
    }

    async fn submit(&self, event: Event) {
        if let Some(inbox) = self.shared.inbox()
            && inbox.submit(event).await.is_err()
        {
            tracing::debug!("discord: the bot is shutting down; dropping an event");
        }
    }

    /// The command event of a slash command interaction.
    fn command(&self, c: &CommandInteraction) -> Command {
        let order = self
            .shared
            .option_order
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&c.data.name)
            .cloned()
            .unwrap_or_default();
        let mut given: Vec<(String, String)> = c
            .data
            .options
            .iter()
            .filter_map(|o| value_text(&o.value).map(|v| (o.name.clone(), v)))
            .collect();
        // Declared order first; anything unknown after, as given.
        given.sort_by_key(|(name, _)| order.iter().position(|n| n == name).unwrap_or(usize::MAX));
        let (args, raw_args) = match given.as_slice() {
            [(name, value)] if name == crate::commands::ARGS_OPTION => {
                (split_args(value), value.trim().to_owned())
            }
            _ => {
                let values: Vec<String> = given.into_iter().map(|(_, v)| v).collect();
                let raw = values.join(" ");
                (values, raw)
            }
        };
        let member = c.member.as_deref();
        let text = match raw_args.is_empty() {
            true => format!("/{}", c.data.name),
            false => format!("/{} {raw_args}", c.data.name),
        };
        Command {
            name: c.data.name.to_lowercase(),
            args,
            raw_args,
            message: Message {
                discord: Some(Box::new(DiscordMessage {
                    guild_id: c.guild_id.map(|g| g.to_string()),
                    sender_username: c.user.name.clone(),
                    sender_nick: member.and_then(|m| m.nick.clone()),
                    sender_roles: member
                        .map(|m| m.roles.iter().map(ToString::to_string).collect())
                        .unwrap_or_default(),
                    interaction_id: Some(c.id.to_string()),
                })),
                ..Message::new(
                    c.id.to_string(),
                    Chat {
                        locale: self.guild_locale(c.guild_id),
                        ..chat(c.channel_id, c.guild_id)
                    },
                    user(
                        &c.user,
                        member.and_then(|m| m.nick.as_deref()),
                        Some(&c.locale),
                    ),
                    text,
                )
            },
        }
    }

    /// Submits a tracked event for an interaction and keeps the interaction
    /// open until the event was handled.
    async fn interaction(
        &self,
        ctx: &Context,
        event: Event,
        id: serenity::all::InteractionId,
        token: &str,
        kind: Kind,
    ) {
        let Some(inbox) = self.shared.inbox() else {
            return;
        };
        let (done, handled) = tokio::sync::oneshot::channel();
        // Open before submitting: the answer may come back at once.
        self.shared
            .interactions
            .open(Arc::clone(&ctx.http), id, token.to_owned(), kind, handled);
        match inbox.submit_tracked(event).await {
            Ok(receiver) => {
                tokio::spawn(async move {
                    let _ = receiver.await;
                    drop(done);
                });
            }
            Err(_) => drop(done),
        }
    }

    /// Where a guild's joins and leaves are told.
    async fn system_channel(&self, ctx: &Context, guild: GuildId) -> Option<Chat> {
        let known = self
            .shared
            .system_channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&guild)
            .copied();
        let channel = match known {
            Some(channel) => channel,
            None => {
                let channel = match ctx.http.get_guild(guild).await {
                    Ok(g) => g.system_channel_id,
                    Err(e) => {
                        tracing::warn!("discord: cannot read guild {guild}: {e}");
                        return None;
                    }
                };
                self.shared
                    .system_channels
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(guild, channel);
                channel
            }
        };
        if channel.is_none() {
            tracing::debug!(
                "discord: guild {guild} has no system channel; skipping a join or leave"
            );
        }
        channel.map(|c| chat(c, Some(guild)))
    }

    async fn membership(&self, ctx: &Context, guild: GuildId, u: &DUser, joined: bool) {
        if u.id == self.bot {
            return;
        }
        let Some(chat) = self.system_channel(ctx, guild).await else {
            return;
        };
        let membership = Membership {
            chat,
            user: user(u, None, None),
        };
        self.submit(match joined {
            true => Event::MemberJoined(membership),
            false => Event::MemberLeft(membership),
        })
        .await;
    }

    async fn reaction(&self, r: DReaction, added: bool) {
        let Some(user_id) = r.user_id.filter(|&id| id != self.bot) else {
            return;
        };
        let who = match &r.member {
            Some(m) => user(&m.user, m.nick.as_deref(), None),
            None => User::new(user_id.to_string(), user_id.to_string()),
        };
        self.submit(Event::Reaction(Reaction {
            chat: chat(r.channel_id, r.guild_id),
            message_id: r.message_id.to_string(),
            user: who,
            emoji: emoji(&r.emoji),
            added,
        }))
        .await;
    }
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let shard = ready
            .shard
            .map(|s| format!(" (shard {} of {})", s.id.0, s.total))
            .unwrap_or_default();
        tracing::info!(
            "discord: gateway ready as {}{shard}, in {} guilds",
            ready.user.name,
            ready.guilds.len()
        );
        self.health.up();
    }

    async fn resume(&self, _ctx: Context, _event: ResumedEvent) {
        tracing::info!("discord: gateway session resumed");
        self.health.up();
    }

    async fn shard_stage_update(
        &self,
        _ctx: Context,
        event: serenity::gateway::ShardStageUpdateEvent,
    ) {
        use serenity::gateway::ConnectionStage;
        if event.old == ConnectionStage::Connected && event.new != ConnectionStage::Connected {
            self.health
                .down(format!("the gateway connection is {}", event.new));
        }
    }

    async fn message(&self, _ctx: Context, m: DMessage) {
        if m.author.bot || m.content.is_empty() {
            return;
        }
        let mut message = message(&m);
        message.chat.locale = self.guild_locale(m.guild_id);
        self.submit(Event::Message(message)).await;
    }

    async fn guild_create(&self, _ctx: Context, guild: Guild, _is_new: Option<bool>) {
        let community = guild.features.iter().any(|f| f == "COMMUNITY");
        let mut locales = self
            .shared
            .guild_locales
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match community && !guild.preferred_locale.is_empty() {
            true => locales.insert(guild.id, guild.preferred_locale),
            false => locales.remove(&guild.id),
        };
    }

    async fn message_update(
        &self,
        _ctx: Context,
        _old: Option<DMessage>,
        _new: Option<DMessage>,
        event: MessageUpdateEvent,
    ) {
        let Some(mut m) = edited(&event) else {
            return; // an embed resolving, not an edit by a person
        };
        m.chat.locale = self.guild_locale(event.guild_id);
        if m.sender.is_bot {
            return;
        }
        self.submit(Event::Edited(m)).await;
    }

    async fn reaction_add(&self, _ctx: Context, r: DReaction) {
        self.reaction(r, true).await;
    }

    async fn reaction_remove(&self, _ctx: Context, r: DReaction) {
        self.reaction(r, false).await;
    }

    async fn guild_member_addition(&self, ctx: Context, member: Member) {
        self.membership(&ctx, member.guild_id, &member.user, true)
            .await;
    }

    async fn guild_member_removal(
        &self,
        ctx: Context,
        guild: GuildId,
        u: DUser,
        _member: Option<Member>,
    ) {
        self.membership(&ctx, guild, &u, false).await;
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(c) => {
                let command = self.command(&c);
                self.interaction(&ctx, Event::Command(command), c.id, &c.token, Kind::Command)
                    .await;
            }
            Interaction::Component(c) => {
                let press = press(&c);
                let kind = Kind::Component {
                    channel: press.chat.id.clone(),
                    message: press.message_id.clone(),
                };
                self.interaction(&ctx, Event::ButtonPress(press), c.id, &c.token, kind)
                    .await;
            }
            other => tracing::debug!(
                "discord: ignoring an interaction of kind {:?}",
                other.kind()
            ),
        }
    }
}

fn press(c: &ComponentInteraction) -> ButtonPress {
    let nick = c.member.as_ref().and_then(|m| m.nick.as_deref());
    ButtonPress {
        data: c.data.custom_id.clone(),
        user: user(&c.user, nick, Some(&c.locale)),
        chat: chat(c.channel_id, c.guild_id),
        message_id: c.message.id.to_string(),
    }
}
