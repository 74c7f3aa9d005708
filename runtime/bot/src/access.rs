//! Who may do what in a chat: the roles an event's sender holds there,
//! and the role a command needs. A sender holds the roles given to their
//! person with `/role`, `owner` when the config names them (and on the
//! console), and what their platform says about them where the owner maps
//! it (`[people.platform_roles]`: a Telegram group's administrators, the
//! holders of a Discord role). The router asks before running a command;
//! plugins ask through the `people` interface ([`RoleOracle`]): one rule
//! for both.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use plugboard_adapter::Standing;
use plugboard_host::plugin::Target;
use plugboard_host::roles::{RoleCheckError, RoleFuture, RoleOracle};
use plugboard_model::event::{ChatKind, ChatRef, Event, Platform};
use plugboard_people::{Account, AccountFacts, ChatPlugins, LinkError, People, Role};

use crate::config::{PeopleConfig, PlatformFact};

/// How long a platform may take to say who administers a chat; past it
/// the sender counts as a member (and the owner reads why in the log).
/// Well inside a plugin's deadline (5 s by default), so that a plugin
/// asking about a role does not fail for the platform's slowness.
const STANDING_PATIENCE: Duration = Duration::from_secs(2);

/// Why the bot refused someone, for the owner's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A command needing a role the sender lacks.
    Role,
    /// A command over a rate limit.
    Rate,
    /// A command over a daily quota.
    Quota,
    /// A command of a plugin turned off in the chat.
    ChatOff,
    /// An event from a banned person, ignored.
    Banned,
    /// A button press over a rate limit, dropped.
    PressRate,
}

impl Refusal {
    /// Every reason, for listings.
    pub const ALL: [Refusal; 6] = [
        Refusal::Role,
        Refusal::Rate,
        Refusal::Quota,
        Refusal::ChatOff,
        Refusal::Banned,
        Refusal::PressRate,
    ];

    /// Its name in metrics: `role`, `rate`, `quota`, `chat-off`, `banned`,
    /// `press-rate`.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Role => "role",
            Refusal::Rate => "rate",
            Refusal::Quota => "quota",
            Refusal::ChatOff => "chat-off",
            Refusal::Banned => "banned",
            Refusal::PressRate => "press-rate",
        }
    }
}

/// How many times each [`Refusal`] happened since the bot started.
#[derive(Debug, Default)]
pub struct Refusals([std::sync::atomic::AtomicU64; 6]);

impl Refusals {
    /// Counts one refusal.
    pub(crate) fn count(&self, why: Refusal) {
        self.0[why as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many of `why` so far.
    pub fn of(&self, why: Refusal) -> u64 {
        self.0[why as usize].load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The bot's people, and how roles are decided from the config.
pub struct Access {
    people: Arc<People>,
    /// Refusals since the bot started, by reason.
    refusals: Refusals,
    command_roles: CommandRoles,
    /// The role a group's administrators hold in it, per platform.
    chat_admins: HashMap<String, Role>,
    /// The role the holders of a Discord role hold, by its id.
    discord_roles: HashMap<String, Role>,
    /// Who to ask about administrators, per platform: each of its
    /// accounts, in the order they were added (filled as adapters start).
    standings: RwLock<HashMap<String, Vec<Arc<dyn Standing>>>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("command_roles", &self.command_roles)
            .field("chat_admins", &self.chat_admins)
            .field("discord_roles", &self.discord_roles)
            .finish_non_exhaustive()
    }
}

/// An event's sender, as access needs them.
pub(crate) struct Sender {
    /// Their account, person, roles given and ban.
    pub(crate) facts: Arc<AccountFacts>,
    /// The console is the owner's own terminal.
    console: bool,
    /// The group they spoke in, when its administrators map to a role.
    group: Option<String>,
    /// Their Discord role ids, when the owner maps some.
    platform_roles: Vec<String>,
}

impl Sender {
    /// Whether they speak on the console (the owner's terminal).
    pub(crate) fn is_console(&self) -> bool {
        self.console
    }
}

impl Access {
    /// Access to `people` as `config` (checked when read) decides it.
    pub fn new(people: Arc<People>, config: &PeopleConfig) -> Self {
        let mut chat_admins = HashMap::new();
        let mut discord_roles = HashMap::new();
        for (key, role) in &config.platform_roles {
            let (Ok(fact), Ok(role)) = (PlatformFact::parse(key), role.parse::<Role>()) else {
                continue;
            };
            // Owners are named in the config, never by a platform.
            if role == Role::Owner {
                continue;
            }
            match fact {
                PlatformFact::ChatAdmin(platform) => chat_admins.insert(platform, role),
                PlatformFact::DiscordRole(id) => discord_roles.insert(id, role),
            };
        }
        Self {
            people,
            command_roles: CommandRoles::from_config(config),
            chat_admins,
            discord_roles,
            standings: RwLock::default(),
            refusals: Refusals::default(),
        }
    }

    /// Refusals since the bot started, by reason.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// The people behind the accounts.
    pub fn people(&self) -> &Arc<People> {
        &self.people
    }

    /// Asks `standing` too who administers `platform`'s groups from now
    /// on: after the accounts added before it, which may not be in the
    /// group asked about.
    pub fn add_standing(&self, platform: &Platform, standing: Arc<dyn Standing>) {
        self.standings
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(platform.as_str().to_owned())
            .or_default()
            .push(standing);
    }

    /// Who sent `event`, or `None` for an event nobody sent (a tick).
    pub(crate) fn sender_of(&self, event: &Event) -> Result<Option<Sender>, LinkError> {
        let Some(user) = event.sender() else {
            return Ok(None);
        };
        let facts = self
            .people
            .facts(event.chat().platform.as_str(), &user.id)?;
        Ok(Some(self.sender(event, facts)))
    }

    /// A sender whose facts could not be read: an account alone, with no
    /// roles given with `/role`, not banned (served rather than not at
    /// all); what their platform says of them still counts.
    pub(crate) fn stranger(&self, event: &Event) -> Option<Sender> {
        let user = event.sender()?;
        let account = Account::new(event.chat().platform.as_str(), user.id.clone());
        Some(self.sender(event, Arc::new(AccountFacts::alone(account))))
    }

    /// The sender of `event`, whose account `facts` describes.
    fn sender(&self, event: &Event, facts: Arc<AccountFacts>) -> Sender {
        let chat = event.chat();
        let platform = chat.platform.as_str();
        let discord = match event {
            Event::Command(c) => c.message.discord.as_deref(),
            Event::Message(m) | Event::Edited(m) => m.discord.as_deref(),
            _ => None,
        };
        let platform_roles = match discord {
            Some(details) if !self.discord_roles.is_empty() => details.sender_roles.clone(),
            _ => Vec::new(),
        };
        let group = (chat.kind == ChatKind::Group && self.chat_admins.contains_key(platform))
            .then(|| chat.id.clone());
        Sender {
            facts,
            console: chat.platform.is_owners(),
            group,
            platform_roles,
        }
    }

    /// The roles `sender` holds where they spoke. The platform is asked
    /// (who administers the group) only when `ask_platform` says so of
    /// the roles known without it.
    /// (Borrowed from `sender`'s record unless something is added to it:
    /// most commands copy no set.)
    pub(crate) async fn roles<'s>(
        &self,
        sender: &'s Sender,
        ask_platform: impl FnOnce(&BTreeSet<Role>) -> bool,
    ) -> Cow<'s, BTreeSet<Role>> {
        let mut roles = self.held_everywhere(sender);
        for id in &sender.platform_roles {
            if let Some(role) = self.discord_roles.get(id)
                && !roles.contains(role)
            {
                roles.to_mut().insert(role.clone());
            }
        }
        if !ask_platform(&roles) {
            return roles;
        }
        let account = &sender.facts.account;
        let platform = account.platform.as_str();
        if let (Some(chat), Some(role)) = (&sender.group, self.chat_admins.get(platform))
            && !roles.contains(role)
            && self.is_chat_admin(platform, chat, &account.user).await
        {
            roles.to_mut().insert(role.clone());
        }
        roles
    }

    /// The roles `sender` holds in every chat: given with `/role`, and
    /// `owner` from the config or on the console; not what a platform
    /// says of one chat. What reaches every chat (giving roles, bans)
    /// is decided by these.
    pub(crate) fn held_everywhere<'s>(&self, sender: &'s Sender) -> Cow<'s, BTreeSet<Role>> {
        let mut roles = Cow::Borrowed(&sender.facts.roles);
        if sender.console && !roles.contains(&Role::Owner) {
            roles.to_mut().insert(Role::Owner);
        }
        roles
    }

    /// The roles to decide a command needing `needed` by: with the
    /// platform asked only when `needed` is still missing, or when a daily
    /// quota depends on roles.
    pub(crate) async fn command_roles<'s>(
        &self,
        sender: &'s Sender,
        needed: Option<&Role>,
    ) -> Cow<'s, BTreeSet<Role>> {
        let quotas = self.people.has_role_quotas();
        self.roles(sender, |known| {
            quotas || needed.is_some_and(|role| !role.satisfied_by(known))
        })
        .await
    }

    /// Whether the platform says `user` administers `chat`; `false` when
    /// it cannot say (no adapter asks it, an error, no answer in time).
    async fn is_chat_admin(&self, platform: &str, chat: &str, user: &str) -> bool {
        let standings = self
            .standings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(platform)
            .cloned()
            .unwrap_or_default();
        if standings.is_empty() {
            tracing::warn!(
                platform,
                "`people.platform_roles` maps {platform}'s chat administrators, but no {platform} adapter can tell who they are"
            );
            return false;
        }
        // The first account that can answer decides (one not in the group
        // cannot).
        let ask = async {
            let mut last = None;
            for standing in &standings {
                match standing.is_chat_admin(chat, user).await {
                    Ok(admin) => return Ok(admin),
                    Err(e) => last = Some(e),
                }
            }
            Err(last)
        };
        match tokio::time::timeout(STANDING_PATIENCE, ask).await {
            Ok(Ok(admin)) => admin,
            Ok(Err(e)) => {
                if let Some(e) = e {
                    tracing::warn!(platform, chat, "taken for a member: {e}");
                }
                false
            }
            Err(_) => {
                tracing::warn!(
                    platform,
                    chat,
                    "taken for a member: the platform did not say who administers the chat within {} s",
                    STANDING_PATIENCE.as_secs()
                );
                false
            }
        }
    }

    /// What `chat`'s admins set about its plugins, if anything (a store
    /// that cannot be read counts as nothing set, and is logged).
    pub(crate) fn chat_settings(&self, chat: &ChatRef) -> Option<Arc<ChatPlugins>> {
        self.people
            .chat_plugins(chat.platform.as_str(), &chat.id)
            .unwrap_or_else(|e| {
                tracing::error!(?chat, "cannot read the chat's plugin settings: {e}");
                None
            })
    }

    /// The least role `plugin`'s command `own` needs in `chat`: the
    /// owner's override for the chat, else for the bot, else the
    /// manifest's. `names` gives the names users type for it (its own,
    /// and the owner's aliases in `[commands]`), asked only when the
    /// owner overrides something.
    pub(crate) fn needed_role<'n>(
        &self,
        chat: &ChatRef,
        plugin: &Target,
        own: &str,
        names: impl FnOnce() -> Vec<&'n str>,
    ) -> Option<Role> {
        match self.command_roles.get(chat, plugin.name(), own, names) {
            Some(overridden) => overridden,
            None => plugin.manifest().command(own).and_then(|c| c.role.clone()),
        }
    }
}

impl RoleOracle for Access {
    fn sender_has<'a>(&'a self, event: &'a Event, role: &'a Role) -> RoleFuture<'a> {
        Box::pin(async move {
            let sender = self.sender_of(event).map_err(|e| {
                // The record's key would name the person's other accounts.
                tracing::error!("a plugin asked about a role, and the store failed: {e}");
                RoleCheckError("the bot's records cannot be read".into())
            })?;
            let Some(sender) = sender else {
                return Ok(false);
            };
            let roles = self.roles(&sender, |known| !role.satisfied_by(known)).await;
            Ok(role.satisfied_by(&*roles))
        })
    }
}

/// The roles commands need where the owner overrides their manifests
/// (`[people.commands]`, `[people.chats]`), parsed from the config.
#[derive(Debug, Default)]
pub struct CommandRoles {
    /// Everywhere: by command name or `plugin.command`.
    pub everywhere: BTreeMap<String, Option<Role>>,
    /// Per `platform:chat id`, the same.
    pub chats: BTreeMap<String, BTreeMap<String, Option<Role>>>,
}

impl CommandRoles {
    /// The overrides of `[people]` (checked when the config was read).
    pub fn from_config(config: &crate::config::PeopleConfig) -> Self {
        let parse = |table: &BTreeMap<String, String>| -> BTreeMap<String, Option<Role>> {
            table
                .iter()
                .filter_map(|(command, role)| {
                    let role = crate::config::parse_requirement(role).ok()?;
                    Some((command.clone(), role))
                })
                .collect()
        };
        Self {
            everywhere: parse(&config.commands),
            chats: config
                .chats
                .iter()
                .map(|(chat, c)| (chat.clone(), parse(&c.commands)))
                .collect(),
        }
    }

    /// The owner's override for `plugin`'s command `command` in `chat`,
    /// if any: the chat's, else the bot's; in each, by `plugin.command`,
    /// else by a name users type for it (`names`: its own and its aliases,
    /// so that an override of an alias holds whichever name is typed),
    /// else by the declared name. `Some(None)` opens it to everyone.
    fn get<'n>(
        &self,
        chat: &plugboard_model::event::ChatRef,
        plugin: &str,
        command: &str,
        names: impl FnOnce() -> Vec<&'n str>,
    ) -> Option<Option<Role>> {
        if self.everywhere.is_empty() && self.chats.is_empty() {
            return None;
        }
        let chat = format!("{}:{}", chat.platform, chat.id);
        let qualified = format!("{plugin}.{command}");
        let names = names();
        let find = |table: &BTreeMap<String, Option<Role>>| {
            table
                .get(&qualified)
                .or_else(|| names.iter().find_map(|name| table.get(*name)))
                .or_else(|| table.get(command))
                .cloned()
        };
        self.chats
            .get(&chat)
            .and_then(find)
            .or_else(|| find(&self.everywhere))
    }
}
