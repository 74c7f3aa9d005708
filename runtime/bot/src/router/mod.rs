//! From an event to the plugins that want it, and from their answers to
//! deliveries.
//!
//! The router parses commands (`/roll 2d6`, `!roll 2d6`, `/roll@MyBot 2d6`),
//! finds the plugins that declared them in their manifests (or subscribed to
//! the event's kind), runs each, and turns failures into a short answer for
//! the user and a log line for the owner. It answers `/help` itself from the
//! manifests unless a plugin declares `help`.

mod help;
mod owner;
mod people;

pub use crate::access::{Access, CommandRoles};
pub use owner::OWNER_COMMAND;
pub use people::{LINK_COMMAND, PEOPLE_COMMANDS, UNLINK_COMMAND};

use std::collections::HashMap;
use std::sync::Arc;

use plugboard_registry_types::{EventKind, Permission};

use plugboard_adapter::markdown::{code, escape};
use plugboard_host::plugin::Target;
use plugboard_host::sandbox::Failure;
use plugboard_model::commands::{Assignment, Catalog, CommandMap};
use plugboard_model::event::{ChatKind, Command, Event, Outbound, OutboundOp, Outgoing};
pub use plugboard_model::text::{
    MAX_ERROR_TEXT, ParsedCommand, parse_command, split_args, truncate,
};

/// The name deliveries from the host itself carry.
pub const HOST: &str = "plugboard";

/// What dispatching one event produced.
#[derive(Debug, Default)]
pub struct Dispatch {
    /// Deliveries, in order.
    pub outbound: Vec<Outbound>,
    /// Whether some plugin wrote KV data or schedules that must be flushed first.
    pub store_written: bool,
}

/// Routes events to plugins.
pub struct Router {
    plugins: Vec<Target>,
    by_name: HashMap<String, usize>,
    /// The plugins' manifests and who answers each command name (see
    /// [`plugboard_model::commands`]), as adapters see them.
    catalog: Arc<Catalog>,
    subscribers: HashMap<EventKind, Vec<usize>>,
    prefixes: Vec<String>,
    host: Arc<str>,
    /// Who is who across platforms and who may do what; `None`: accounts
    /// are never linked, and commands are open to everyone.
    access: Option<Arc<Access>>,
}

impl Router {
    /// A router over `plugins`, recognising commands that start with one of
    /// `prefixes` (e.g. `/` and `!`); the plugin loaded first owns a command
    /// two plugins declare.
    pub fn new(plugins: Vec<Target>, prefixes: Vec<String>) -> Self {
        Self::with_commands(plugins, prefixes, &CommandMap::default())
    }

    /// Like [`Router::new`], with the owner's `[commands]` table deciding
    /// who answers which command first.
    pub fn with_commands(plugins: Vec<Target>, prefixes: Vec<String>, map: &CommandMap) -> Self {
        let mut by_name = HashMap::new();
        let mut subscribers: HashMap<EventKind, Vec<usize>> = HashMap::new();
        for (i, plugin) in plugins.iter().enumerate() {
            by_name.insert(plugin.name().to_owned(), i);
            for kind in &plugin.manifest().events {
                subscribers.entry(*kind).or_default().push(i);
            }
        }
        let manifests = plugins.iter().map(|p| p.manifest().clone()).collect();
        let catalog = Arc::new(Catalog::new(manifests, map));
        let assignment = &catalog.assignment;
        for conflict in &assignment.conflicts {
            let shown = conflict.to_string();
            match conflict.by_owner {
                true => tracing::info!(command = %conflict.command, "{shown}"),
                false => tracing::warn!(command = %conflict.command, "{shown}"),
            }
        }
        for unmatched in &assignment.unmatched {
            tracing::warn!(command = %unmatched.name, "{unmatched}");
        }
        Self {
            plugins,
            by_name,
            catalog,
            subscribers,
            prefixes,
            host: HOST.into(),
            access: None,
        }
    }

    /// Knows people through `access`: the router answers
    /// [`PEOPLE_COMMANDS`] itself (before any plugin declaring them, which
    /// it warns about), gives each event's sender their person, ignores
    /// banned people, refuses a command to whoever lacks the role it needs
    /// (see [`Access`]) or is over a limit, and leaves out
    /// the plugins a chat's admins turned off there.
    pub fn with_access(mut self, access: Arc<Access>) -> Self {
        for &name in PEOPLE_COMMANDS {
            if let Some((index, _)) = self.catalog.assignment.routes.get(name) {
                tracing::warn!(
                    plugin = self.plugins[*index].name(),
                    command = name,
                    "the bot answers /{name} itself (a people command); the plugin's /{name} is reachable as /{}.{name}",
                    self.plugins[*index].name()
                );
            }
        }
        self.access = Some(access);
        self
    }

    /// Who may do what, when the router knows people.
    pub fn access(&self) -> Option<&Arc<Access>> {
        self.access.as_ref()
    }

    /// Who answers each command, and the conflicts found.
    pub fn assignment(&self) -> &Assignment {
        &self.catalog.assignment
    }

    /// The plugins' manifests and command assignment, as adapters see them.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The plugin that answers the command a user typed, and the command's
    /// name as that plugin declares it: `/remember` by the routing table,
    /// `/notes.remember` by the qualified name.
    fn route(&self, parsed_plugin: Option<&str>, name: &str) -> Option<(usize, &str)> {
        match parsed_plugin {
            None => self
                .catalog
                .assignment
                .routes
                .get(name)
                .map(|(index, own)| (*index, own.as_str())),
            Some(plugin) => {
                let &index = self.by_name.get(plugin)?;
                self.plugins[index]
                    .manifest()
                    .command(name)
                    .map(|spec| (index, spec.name.as_str()))
            }
        }
    }

    /// Gives `command` the name its plugin declares (allocating only for
    /// an owner's alias).
    fn rename(command: &mut Command, own: &str) {
        if command.name != own {
            command.name = own.to_owned();
        }
    }

    /// Starts every WebAssembly plugin (see [`plugboard_host::plugin::LoadedPlugin::start`]); returns
    /// the plugins that were disabled, with the reason.
    pub async fn start(&self) -> Vec<(String, Failure)> {
        let mut disabled = Vec::new();
        for target in &self.plugins {
            if let Target::Wasm(plugin) = target
                && let Err(failure) = plugin.start().await
            {
                disabled.push((plugin.name().to_owned(), failure));
            }
        }
        disabled
    }

    /// The plugins, in load order.
    pub fn plugins(&self) -> &[Target] {
        &self.plugins
    }

    /// Handles one event: every plugin that wants it, in load order.
    pub async fn dispatch(&self, mut event: Event) -> Dispatch {
        let mut out = Dispatch::default();
        let sender = match &self.access {
            Some(access) => match self.identify(access, &mut event) {
                Some(sender) => sender,
                // A banned person: nothing happens.
                None => return out,
            },
            None => None,
        };
        let chat = event.chat().to_ref();
        let direct = event.chat().kind == ChatKind::Direct;
        // Which plugins the chat's admins let serve it, read once.
        let settings = self.access.as_ref().and_then(|a| a.chat_settings(&chat));
        // The one plugin a command goes to (borrowed as a one-element slice).
        let target: usize;
        // The answer to a command nobody owns, in a direct chat, when no
        // message subscriber answers it either.
        let mut unknown = None;
        let (targets, event, reply_to) = match event {
            Event::Message(message) => match parse_command(&message.text, &self.prefixes) {
                Some(parsed) => {
                    let reply_to = Some(message.id.clone());
                    let mut command = Command {
                        name: parsed.name,
                        args: split_args(&parsed.raw_args),
                        raw_args: parsed.raw_args,
                        message,
                    };
                    if parsed.plugin.is_none()
                        && command.name == OWNER_COMMAND
                        && chat.platform.is_owners()
                    {
                        let text = self.owner_command(&command.args);
                        self.reply(&mut out, &chat, reply_to, text);
                        return out;
                    }
                    if parsed.plugin.is_none()
                        && let Some(answer) =
                            self.host_command(sender.as_ref(), &command, direct).await
                    {
                        self.host_answer(&mut out, &chat, reply_to, answer);
                        return out;
                    }
                    match self.route(parsed.plugin.as_deref(), &command.name) {
                        Some((index, own)) => {
                            if let Some(refusal) = self
                                .refuse(
                                    sender.as_ref(),
                                    &chat,
                                    settings.as_deref(),
                                    index,
                                    own,
                                    &command.name,
                                )
                                .await
                            {
                                self.reply(&mut out, &chat, reply_to, refusal);
                                return out;
                            }
                            // The plugin sees its own name for the command.
                            Self::rename(&mut command, own);
                            target = index;
                            (
                                std::slice::from_ref(&target),
                                Event::Command(command),
                                reply_to,
                            )
                        }
                        None if parsed.plugin.is_none() && command.name == "help" => {
                            self.reply(&mut out, &chat, reply_to, self.help_text());
                            return out;
                        }
                        None => {
                            // No plugin owns it: it is a message like any
                            // other for the plugins that read messages (a
                            // chat logger, a bot that converses).
                            if direct {
                                let shown = match &parsed.plugin {
                                    Some(plugin) => format!("{plugin}.{}", command.name),
                                    None => command.name.clone(),
                                };
                                unknown = Some(format!(
                                    "Unknown command /{shown}. Send /help to see what I can do."
                                ));
                            }
                            (
                                self.subscribed(EventKind::Message),
                                Event::Message(command.message),
                                reply_to,
                            )
                        }
                    }
                }
                None => {
                    let reply_to = Some(message.id.clone());
                    (
                        self.subscribed(EventKind::Message),
                        Event::Message(message),
                        reply_to,
                    )
                }
            },
            Event::Command(mut command) => {
                let reply_to = Some(command.message.id.clone());
                if let Some(answer) = self.host_command(sender.as_ref(), &command, direct).await {
                    self.host_answer(&mut out, &chat, reply_to, answer);
                    return out;
                }
                let owners = match self.route(None, &command.name) {
                    Some((index, own)) => {
                        if let Some(refusal) = self
                            .refuse(
                                sender.as_ref(),
                                &chat,
                                settings.as_deref(),
                                index,
                                own,
                                &command.name,
                            )
                            .await
                        {
                            self.reply(&mut out, &chat, reply_to, refusal);
                            return out;
                        }
                        Self::rename(&mut command, own);
                        target = index;
                        std::slice::from_ref(&target)
                    }
                    // A platform's own `/help` (a Discord slash command).
                    None if command.name == "help" => {
                        self.reply(&mut out, &chat, reply_to, self.help_text());
                        return out;
                    }
                    None => &[],
                };
                (owners, Event::Command(command), reply_to)
            }
            Event::ButtonPress(mut press) => {
                let Some((plugin, id)) = plugboard_model::outgoing::split_button_data(&press.data)
                else {
                    tracing::debug!(data = ?press.data, "ignoring a button press without a plugin prefix");
                    return out;
                };
                let Some(index) = self.by_name.get(plugin) else {
                    tracing::debug!(
                        plugin,
                        "ignoring a button press for a plugin that is not loaded"
                    );
                    return out;
                };
                if self.press_limited(sender.as_ref(), &chat, *index) {
                    return out;
                }
                press.data = id.to_owned();
                (std::slice::from_ref(index), Event::ButtonPress(press), None)
            }
            Event::Edited(m) => {
                let reply_to = Some(m.id.clone());
                (
                    self.subscribed(EventKind::Edited),
                    Event::Edited(m),
                    reply_to,
                )
            }
            Event::Reaction(r) => (
                self.subscribed(EventKind::Reaction),
                Event::Reaction(r),
                None,
            ),
            Event::MemberJoined(m) => (
                self.subscribed(EventKind::MemberJoined),
                Event::MemberJoined(m),
                None,
            ),
            Event::MemberLeft(m) => (
                self.subscribed(EventKind::MemberLeft),
                Event::MemberLeft(m),
                None,
            ),
            // Only the plugin that set the schedule, while it may: a
            // revoked `schedule` grant silences its schedules too, and a
            // revoked `send-any-chat` those in chats it could not address.
            Event::Tick(t) => match self.by_name.get(&t.plugin) {
                Some(index) if self.may_tick(*index, t.foreign_chat) => {
                    (std::slice::from_ref(index), Event::Tick(t), None)
                }
                Some(_) => {
                    tracing::debug!(plugin = %t.plugin, id = %t.id, "a tick for a plugin without the grants it needs");
                    return out;
                }
                None => {
                    tracing::debug!(plugin = %t.plugin, id = %t.id, "a tick for a plugin that is not loaded");
                    return out;
                }
            },
            // Only the plugin that declares it.
            Event::Webhook(hook) => match self.by_name.get(&hook.plugin) {
                Some(index)
                    if self.plugins[*index]
                        .manifest()
                        .webhooks
                        .contains_key(&hook.name) =>
                {
                    (std::slice::from_ref(index), Event::Webhook(hook), None)
                }
                _ => {
                    tracing::debug!(plugin = %hook.plugin, name = %hook.name, "a webhook no running plugin declares");
                    return out;
                }
            },
        };

        // Only what the user asked for directly gets an answer when it fails;
        // a failing `message` subscriber must not answer every message.
        let answers = matches!(event, Event::Command(_) | Event::ButtonPress(_));
        // Shared with the plugins for the length of their calls (a 0.2
        // plugin reads the message behind a command on demand).
        let event = Arc::new(event);
        // Targets are borrowed from the routing tables: no allocation per event.
        for &index in targets {
            let plugin = &self.plugins[index];
            if settings.as_ref().is_some_and(|s| !s.allows(plugin.name())) {
                continue;
            }
            // Boxed: the call's future is most of this one's size, and this
            // one is moved into a task for every chat that starts draining.
            let result = Box::pin(plugin.handle(&event, &chat, reply_to.as_deref())).await;
            let writes = |p| plugin.manifest().wants(p);
            if result.is_err() && (writes(Permission::Kv) || writes(Permission::Schedule)) {
                // It may have written before failing; those writes stay, so
                // make them durable like any others.
                out.store_written = true;
            }
            match result {
                Ok(handled) => {
                    out.store_written |= handled.store_written;
                    out.outbound.extend(handled.outbound);
                }
                Err(Failure::InvalidInput(text)) => {
                    let text = truncate(&text, MAX_ERROR_TEXT);
                    tracing::debug!(plugin = plugin.name(), text = ?text, "invalid input");
                    if answers {
                        self.reply(&mut out, &chat, reply_to.clone(), text.into_owned());
                    }
                }
                Err(Failure::Disabled(reason) | Failure::Suspended(reason)) => {
                    tracing::debug!(
                        plugin = plugin.name(),
                        reason = ?reason,
                        "event for a disabled plugin"
                    );
                    if answers {
                        let text =
                            format!("Sorry, {} is not available right now.", code(plugin.name()));
                        self.reply(&mut out, &chat, reply_to.clone(), Outgoing::markdown(text));
                    }
                }
                Err(failure) => {
                    let explained = failure.to_string();
                    tracing::error!(
                        plugin = plugin.name(),
                        event = event.kind(),
                        reason = failure.reason(),
                        error = ?truncate(&explained, MAX_ERROR_TEXT),
                        "plugin failed an event"
                    );
                    if answers {
                        let text = format!("Sorry, {} could not handle that.", code(plugin.name()));
                        self.reply(&mut out, &chat, reply_to.clone(), Outgoing::markdown(text));
                    }
                }
            }
        }
        // Answered means a message to this chat; a subscriber that only
        // reacts, or forwards elsewhere, has not answered the user.
        let answered = out
            .outbound
            .iter()
            .any(|o| o.chat == chat && matches!(o.op, OutboundOp::Send { .. }));
        if let Some(text) = unknown
            && !answered
        {
            self.reply(&mut out, &chat, reply_to, text);
        }
        out
    }

    /// The answer to a command the host answers itself whatever the
    /// plugins declare (one of [`PEOPLE_COMMANDS`], when the router knows
    /// people), if `command` is one.
    async fn host_command(
        &self,
        sender: Option<&crate::access::Sender>,
        command: &Command,
        direct: bool,
    ) -> Option<people::HostAnswer> {
        let access = self.access.as_ref()?;
        let sender = sender?;
        if !PEOPLE_COMMANDS.contains(&command.name.as_str()) {
            return None;
        }
        let chat = command.message.chat.to_ref();
        if let Some(refusal) = self
            .admit_host_command(access, sender, &chat, &command.name)
            .await
        {
            return Some((refusal.into(), None));
        }
        Some(self.people_command(access, sender, command, direct).await)
    }

    /// The refusal of a command routed to the plugin at `index` (declared
    /// as `own`, typed as `typed`) when the chat's admins turned the
    /// plugin off, it needs a role the sender lacks, or a limit holds
    /// them back (see [`people`]).
    async fn refuse(
        &self,
        sender: Option<&crate::access::Sender>,
        chat: &plugboard_model::event::ChatRef,
        settings: Option<&plugboard_people::ChatPlugins>,
        index: usize,
        own: &str,
        typed: &str,
    ) -> Option<Outgoing> {
        let access = self.access.as_ref()?;
        let plugin = &self.plugins[index];
        if settings.is_some_and(|s| !s.allows(plugin.name())) {
            people::count(access.people(), plugin.name(), own, true);
            access.refusals().count(crate::access::Refusal::ChatOff);
            return Some(Outgoing::markdown(format!(
                "/{} is turned off in this chat ({}); its admins can turn it on with /plugins on {}.",
                escape(typed),
                code(plugin.name()),
                escape(plugin.name())
            )));
        }
        let sender = sender?;
        self.admit_command(access, sender, chat, index, own, typed)
            .await
    }

    /// Whether a rate limit holds `sender` back from pressing a button of
    /// the plugin at `index` in `chat` (see [`people`]); such a press is
    /// dropped without an answer, which would only feed a flood.
    fn press_limited(
        &self,
        sender: Option<&crate::access::Sender>,
        chat: &plugboard_model::event::ChatRef,
        index: usize,
    ) -> bool {
        let (Some(access), Some(sender)) = (self.access.as_ref(), sender) else {
            return false;
        };
        people::press_limited(access, sender, chat, self.plugins[index].name())
    }

    /// Delivers a host command's answer where it was asked, and its
    /// private part (if any) in the sender's private chat.
    fn host_answer(
        &self,
        out: &mut Dispatch,
        chat: &plugboard_model::event::ChatRef,
        reply_to: Option<String>,
        (text, private): people::HostAnswer,
    ) {
        self.reply(out, chat, reply_to, text);
        if let Some((to, private)) = private {
            self.reply(out, &to, None, private);
        }
    }

    /// Whether the plugin at `index` may receive a tick, in a chat it could
    /// address only with `send-any-chat` when `foreign_chat` (native
    /// plugins are trusted).
    fn may_tick(&self, index: usize, foreign_chat: bool) -> bool {
        match &self.plugins[index] {
            Target::Wasm(plugin) => {
                plugin.holds(Permission::Schedule)
                    && (!foreign_chat || plugin.holds(Permission::SendAnyChat))
            }
            Target::Native(_) => true,
        }
    }

    fn subscribed(&self, kind: EventKind) -> &[usize] {
        self.subscribers.get(&kind).map_or(&[], Vec::as_slice)
    }

    fn reply(
        &self,
        out: &mut Dispatch,
        chat: &plugboard_model::event::ChatRef,
        reply_to: Option<String>,
        message: impl Into<Outgoing>,
    ) {
        out.outbound.push(Outbound {
            chat: chat.clone(),
            op: OutboundOp::Send {
                message: message.into(),
                reply_to,
            },
            plugin: Arc::clone(&self.host),
            mention_everyone: false,
            receipt: Default::default(),
        });
    }
}
