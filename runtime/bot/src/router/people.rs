//! People in the router (see [`plugboard_people`]): each event's sender
//! gets the person they belong to, a banned person's events are dropped,
//! a command needing a role is refused to those without it, and the host
//! answers its own commands: `/link`, `/unlink`, `/role`, `/roles`,
//! `/ban` and `/unban`.

use std::collections::BTreeSet;

use plugboard_adapter::markdown::{code, escape};
use plugboard_args::scope::user_prefix;
use plugboard_host::plugin::Target;
use plugboard_model::event::{ChatRef, Command, Event, Outgoing, Platform, User};
use plugboard_people::{Account, ChatChange, LimitRefusal, LinkError, People, Role, RoleError};

use super::Router;
use crate::access::{Access, Refusal, Sender};

/// The command that links accounts.
pub const LINK_COMMAND: &str = "link";
/// The command that takes an account out of its person.
pub const UNLINK_COMMAND: &str = "unlink";
/// The command that shows and changes which plugins serve a chat.
pub const PLUGINS_COMMAND: &str = "plugins";
/// The commands the host answers itself while people are on.
pub const PEOPLE_COMMANDS: &[&str] = &[
    LINK_COMMAND,
    UNLINK_COMMAND,
    "role",
    "roles",
    "ban",
    "unban",
    PLUGINS_COMMAND,
];

/// A host command's answer where it was asked, and a message for some
/// private chat (a code asked for in a group; the notice to the account
/// whose code was used).
pub(super) type HostAnswer = (Outgoing, Option<(ChatRef, String)>);

/// A [`HostAnswer`] in plain text.
type PlainAnswer = (String, Option<(ChatRef, String)>);

/// The account behind `user` on `platform`.
fn account(platform: &str, user: &User) -> Account {
    Account::new(platform, user.id.clone())
}

impl Router {
    /// Sets the person the event's sender belongs to as their global id
    /// (each plugin then sees it as [`plugboard_host::plugin::LoadedPlugin::global_id`]
    /// says). Leaves it unset for an account that is not linked.
    /// Returns the sender, or `None` for an event nobody sent (a tick)
    /// and for a banned sender, whose events are dropped.
    pub(super) fn identify(&self, access: &Access, event: &mut Event) -> Option<Option<Sender>> {
        let sender = match access.sender_of(event) {
            Ok(sender) => sender,
            Err(e) => {
                // Served as an unlinked account rather than not at all,
                // unless their ban can still be read.
                tracing::error!("cannot look up who sent an event: {e}");
                let stranger = access.stranger(event);
                if let Some(s) = &stranger
                    && matches!(access.people().ban_of(&s.facts.account), Ok(Some(_)))
                {
                    access.refusals().count(Refusal::Banned);
                    return None;
                }
                stranger
            }
        };
        if let (Some(sender), Some(user)) = (&sender, event.sender_mut()) {
            user.global_id = sender.facts.person_id().cloned();
        }
        name_mentions(access, event);
        // The console is the owner's terminal: never shut out.
        if let Some(sender) = &sender
            && sender.facts.banned
            && !sender.is_console()
        {
            tracing::debug!(account = %sender.facts.account, "ignoring an event from a banned person");
            access.refusals().count(Refusal::Banned);
            return None;
        }
        Some(sender)
    }

    /// Whether `sender` may run the command `own` of the plugin at `index` (typed as
    /// `typed`) in `chat` now: the refusal to answer when it needs a role
    /// they lack (the owner's override, else the manifest's) or a limit
    /// holds them back. Owners are never limited. Every command is
    /// counted, run or refused.
    pub(super) async fn admit_command(
        &self,
        access: &Access,
        sender: &Sender,
        chat: &ChatRef,
        index: usize,
        own: &str,
        typed: &str,
    ) -> Option<Outgoing> {
        let plugin = &self.plugins[index];
        let people = access.people();
        let assignment = &self.catalog.assignment;
        let needed = access.needed_role(chat, plugin, own, || {
            assignment.names_of(index, own).collect()
        });
        let roles = access.command_roles(sender, needed.as_ref()).await;
        if let Some(needed) = needed
            && !needed.satisfied_by(&*roles)
        {
            tracing::info!(
                plugin = plugin.name(),
                command = own,
                account = %sender.facts.account,
                role = %needed,
                "command refused: the sender lacks the role"
            );
            count(people, plugin.name(), own, true);
            access.refusals().count(Refusal::Role);
            return Some(Outgoing::markdown(format!(
                "You need the {} role for /{}.",
                code(needed.as_str()),
                escape(typed)
            )));
        }
        limit(access, sender, &roles, chat, plugin.name(), own, typed).map(Outgoing::text)
    }

    /// Answers `/link`, `/link <code>` and `/unlink` from `sender`: the
    /// answer where it was asked, and what to tell the sender privately (a
    /// code asked for in a group).
    pub(super) fn identity_command(
        &self,
        people: &People,
        platform: &str,
        sender: &User,
        direct: bool,
        name: &str,
        args: &[String],
    ) -> PlainAnswer {
        let me = account(platform, sender);
        let answer = match (name, args) {
            (LINK_COMMAND, []) => people.issue_code(&me).map(|code| {
                let text = format!(
                    "Your link code is {} (it works once, for {}). On your other account, send me: /{LINK_COMMAND} {}",
                    code.code,
                    plugboard_people::in_words(people.code_ttl_ms()),
                    code.code
                );
                if direct {
                    return (text, None);
                }
                // Never in a group: privately, and a word in the group.
                let told = format!(
                    "I sent you a link code in a private message. If it does not arrive, send /{LINK_COMMAND} to me in a private chat."
                );
                let to = ChatRef::private_with(Platform::from_name(platform), &sender.id);
                (told, Some((to, text)))
            }),
            (LINK_COMMAND, [code]) => people.redeem(&me, code).map(|linked| {
                let issuer = linked.accounts.iter().find(|a| **a != me);
                for account in [issuer, Some(&me)].into_iter().flatten() {
                    self.follow_person(account, linked.person.as_str());
                }
                let others: Vec<String> = linked
                    .accounts
                    .iter()
                    .filter(|a| **a != me)
                    .map(ToString::to_string)
                    .collect();
                let text = format!(
                    "Linked: this account and {} are one person now. What plugins keep for you follows you on each of them; /{UNLINK_COMMAND} undoes it.",
                    others.join(", ")
                );
                // The account whose code it was hears of it, privately.
                let notice = issuer.map(|issuer| {
                    let to = ChatRef::private_with(Platform::from_name(&issuer.platform), &issuer.user);
                    let said = format!(
                        "Your link code was used: this account and {me} are one person now. If that was not you, send /{UNLINK_COMMAND} here."
                    );
                    (to, said)
                });
                (text, notice)
            }),
            (UNLINK_COMMAND, []) => people.unlink(&me).map(|unlinked| {
                // A person of one is no more: its data goes to the account
                // left, which keeps what it had while linked.
                if let [last] = unlinked.remaining.as_slice() {
                    self.leave_person(last, unlinked.person.as_str());
                }
                let others = match unlinked.remaining.len() {
                    1 => "account",
                    _ => "accounts",
                };
                let text = format!(
                    "Unlinked: this account stands alone again. What plugins kept for you while linked stays with your other {others}."
                );
                (text, None)
            }),
            (LINK_COMMAND, _) => {
                let usage = format!(
                    "usage: /{LINK_COMMAND} (for a code), then /{LINK_COMMAND} <code> on your other account"
                );
                return (usage, None);
            }
            _ => return (format!("usage: /{UNLINK_COMMAND}"), None),
        };
        answer.unwrap_or_else(|e| {
            let text = match e {
                LinkError::Store(_) | LinkError::Damaged { .. } | LinkError::Randomness(_) => {
                    tracing::error!(account = %me, "linking failed: {e}");
                    "Linking is not available right now; the bot's owner can see why in the log."
                        .into()
                }
                refusal => sentence(&refusal.to_string()),
            };
            (text, None)
        })
    }

    /// The limits on the host's own commands, as on a plugin's (a code
    /// per call is a private channel on Discord): the refusal, if any.
    /// Counted under the plugin name `plugboard`.
    pub(super) async fn admit_host_command(
        &self,
        access: &Access,
        sender: &Sender,
        chat: &ChatRef,
        name: &str,
    ) -> Option<String> {
        let roles = access.command_roles(sender, None).await;
        limit(access, sender, &roles, chat, super::HOST, name, name)
    }

    /// Answers one of [`PEOPLE_COMMANDS`] from `sender`: the answer where
    /// it was asked, and what to tell the sender privately.
    pub(super) async fn people_command(
        &self,
        access: &Access,
        sender: &Sender,
        command: &Command,
        direct: bool,
    ) -> HostAnswer {
        let people = access.people();
        // The sender's roles where they spoke (for this chat's business),
        // and those they hold everywhere (for the bot's: roles and bans
        // reach every chat, so a group's admin cannot give them).
        let everywhere = access.held_everywhere(sender);
        let message = &command.message;
        let platform = message.chat.platform.as_str();
        let args: Vec<&str> = command.args.iter().map(String::as_str).collect();
        let actor = sender.facts.account.to_string();
        // Whom a command is about: a mention (the argument is the mention
        // itself), `platform:id`, or an id on this platform.
        let whom = |arg: &str| -> Result<Account, String> {
            // `<@id>` names its user exactly, whoever else the message pings.
            if let Some(id) = plugboard_args::mention_id(arg) {
                return Ok(Account::new(platform, id));
            }
            if arg.starts_with('@') || arg.starts_with("<@") {
                return match message.mentions.first() {
                    Some(user) => Ok(Account::new(platform, user.id.clone())),
                    None => Err(format!(
                        "I cannot tell who {arg} is: mention them so that the app links the name, or write their platform:id, like telegram:42."
                    )),
                };
            }
            match arg.split_once(':') {
                Some((p, id))
                    if !id.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') =>
                {
                    Ok(Account::new(p, id))
                }
                Some(_) => Err(format!(
                    "{arg} is not platform:id; write it like telegram:42 (the platform in lowercase)."
                )),
                None => Ok(Account::new(platform, arg)),
            }
        };
        let done = |result: Result<(), RoleError>, ok: String| match result {
            Ok(()) => ok,
            Err(RoleError::Store(e)) => {
                tracing::error!(account = %sender.facts.account, "a people command failed: {e}");
                "That is not available right now; the bot's owner can see why in the log.".into()
            }
            Err(refusal) => sentence(&refusal.to_string()),
        };
        let text = match (command.name.as_str(), args.as_slice()) {
            (LINK_COMMAND | UNLINK_COMMAND, _) => {
                let (text, private) = self.identity_command(
                    people,
                    platform,
                    &message.sender,
                    direct,
                    &command.name,
                    &command.args,
                );
                return (text.into(), private);
            }
            ("roles", []) => roles_text("You have", &*access.roles(sender, |_| true).await),
            ("roles", [who]) => {
                if !Role::Moderator.satisfied_by(&*everywhere) {
                    "Only moderators can see someone else's roles.".into()
                } else {
                    match whom(who) {
                        Err(problem) => problem,
                        Ok(target) => match people.roles_of(&target) {
                            Ok(theirs) => roles_text(&format!("{target} has"), &theirs),
                            Err(e) => done(Err(RoleError::Store(e)), String::new()),
                        },
                    }
                }
            }
            ("role", [verb @ ("give" | "take"), who, role]) => {
                match (role.parse::<Role>(), whom(who)) {
                    (_, Err(problem)) => problem,
                    (Ok(role), Ok(target)) => {
                        if *verb == "give" {
                            let result = people.give_role(&actor, &everywhere, &target, &role);
                            done(result, format!("{target} is {role} now."))
                        } else {
                            let result = people.take_role(&actor, &everywhere, &target, &role);
                            done(result, format!("{target} is no longer {role}."))
                        }
                    }
                    (Err(problem), _) => sentence(&problem),
                }
            }
            ("ban", [who, reason @ ..]) => {
                let target = match whom(who) {
                    Ok(target) => target,
                    Err(problem) => return (problem.into(), None),
                };
                let result = people.ban(&actor, &everywhere, &target, &reason.join(" "));
                done(
                    result,
                    format!(
                        "{target} is banned: the bot ignores them on every account they linked."
                    ),
                )
            }
            ("unban", [who]) => {
                let target = match whom(who) {
                    Ok(target) => target,
                    Err(problem) => return (problem.into(), None),
                };
                let result = people.unban(&actor, &everywhere, &target);
                done(result, format!("{target} is no longer banned."))
            }
            (PLUGINS_COMMAND, args) => {
                // Whether they administer this chat: the platform may say.
                let here = access
                    .roles(sender, |known| !Role::Admin.satisfied_by(known))
                    .await;
                let answer =
                    self.chat_plugins_command(access, &here, &actor, &message.chat.to_ref(), args);
                return (answer, None);
            }
            ("role", _) => "usage: /role give <who> <role> | /role take <who> <role>".into(),
            ("roles", _) => "usage: /roles [who]".into(),
            ("ban", _) => "usage: /ban <who> [reason]".into(),
            _ => "usage: /unban <who>".into(),
        };
        (text.into(), None)
    }

    /// Answers `/plugins` (which plugins serve this chat) and, from its
    /// admins, `/plugins off|on <plugin>`, `/plugins only <plugin>…` and
    /// `/plugins all`.
    fn chat_plugins_command(
        &self,
        access: &Access,
        roles: &BTreeSet<Role>,
        actor: &str,
        chat: &ChatRef,
        args: &[&str],
    ) -> Outgoing {
        let usage = format!(
            "usage: /{PLUGINS_COMMAND} | /{PLUGINS_COMMAND} off <plugin> | /{PLUGINS_COMMAND} on <plugin> | /{PLUGINS_COMMAND} only <plugin>… | /{PLUGINS_COMMAND} all"
        );
        let change = match args {
            [] => return self.chat_plugins_text(access, chat).into(),
            ["off", plugin] => ChatChange::Off((*plugin).to_owned()),
            ["on", plugin] => ChatChange::On((*plugin).to_owned()),
            ["only", plugins @ ..] if !plugins.is_empty() => {
                ChatChange::Only(plugins.iter().map(|p| (*p).to_owned()).collect())
            }
            ["all"] => ChatChange::All,
            _ => return usage.into(),
        };
        let named: Vec<&String> = match &change {
            ChatChange::Off(p) | ChatChange::On(p) => vec![p],
            ChatChange::Only(plugins) => plugins.iter().collect(),
            ChatChange::All => Vec::new(),
        };
        if let Some(unknown) = named
            .iter()
            .find(|p| !self.by_name.contains_key(p.as_str()))
        {
            return Outgoing::markdown(format!(
                "No plugin named {} is loaded; /{PLUGINS_COMMAND} lists them.",
                code(unknown)
            ));
        }
        let people = access.people();
        let text = match people.change_chat_plugins(
            actor,
            roles,
            chat.platform.as_str(),
            &chat.id,
            change,
        ) {
            Ok(_) => self.chat_plugins_text(access, chat),
            Err(RoleError::Store(e)) => {
                tracing::error!(?chat, "cannot change the chat's plugins: {e}");
                "That is not available right now; the bot's owner can see why in the log.".into()
            }
            Err(refusal) => sentence(&refusal.to_string()),
        };
        text.into()
    }

    /// Which loaded plugins serve `chat`, in words.
    fn chat_plugins_text(&self, access: &Access, chat: &ChatRef) -> String {
        let settings = access.chat_settings(chat);
        let (on, off): (Vec<&str>, Vec<&str>) = self
            .plugins
            .iter()
            .map(Target::name)
            .partition(|name| settings.as_ref().is_none_or(|s| s.allows(name)));
        let list = |names: &[&str]| match names {
            [] => "none".to_owned(),
            names => names.join(", "),
        };
        match off.is_empty() {
            true => format!("Every plugin serves this chat: {}.", list(&on)),
            false => format!("On in this chat: {}. Off: {}.", list(&on), list(&off)),
        }
    }

    /// Moves what each plugin keeps in the SDK's `user` scope for
    /// `account` alone into the scope of `person`, as that plugin sees the
    /// person: linking carries the user's data along. A key the person
    /// already has wins.
    fn follow_person(&self, account: &Account, person: &str) {
        self.move_user_data(account, person, true);
    }

    /// The reverse of [`Router::follow_person`], for the last account of a
    /// person that is dissolved.
    fn leave_person(&self, account: &Account, person: &str) {
        self.move_user_data(account, person, false);
    }

    fn move_user_data(&self, account: &Account, person: &str, joining: bool) {
        let own = user_prefix(&account.platform, &account.user, None);
        for target in &self.plugins {
            let Target::Wasm(plugin) = target else {
                continue;
            };
            let global = plugin.global_id(person);
            let theirs = user_prefix(&account.platform, &account.user, Some(&global));
            let (from, to) = match joining {
                true => (&own, &theirs),
                false => (&theirs, &own),
            };
            match plugin.move_kv_prefix(from, to) {
                Ok(0) => {}
                Ok(moved) => tracing::info!(
                    plugin = plugin.name(),
                    %account,
                    moved,
                    joining,
                    "moved a linked account's data"
                ),
                Err(e) => tracing::error!(
                    plugin = plugin.name(),
                    %account,
                    joining,
                    "cannot move a linked account's data: {e}"
                ),
            }
        }
    }
}

/// Sets the person of each account `event` mentions as its global id, so
/// that a plugin keys a person the same way whether they speak or are
/// named.
fn name_mentions(access: &Access, event: &mut Event) {
    let (chat, mentions) = match event {
        Event::Message(m) | Event::Edited(m) => (&m.chat, &mut m.mentions),
        Event::Command(c) => (&c.message.chat, &mut c.message.mentions),
        _ => return,
    };
    for mentioned in mentions {
        let facts = access.people().facts(chat.platform.as_str(), &mentioned.id);
        mentioned.global_id = facts.ok().and_then(|f| f.person_id().cloned());
    }
}

/// Counts a run (or, `refused`, a refusal) of `plugin`'s command `own`
/// that [`People::admit`] did not count; a count that cannot be kept is
/// logged, and the command goes on.
pub(super) fn count(people: &People, plugin: &str, own: &str, refused: bool) {
    if let Err(e) = people.count_use(plugin, own, refused) {
        tracing::error!("cannot count a command: {e}");
    }
}

/// The refusal, if a limit holds `sender` (holding `roles`) back from
/// `plugin`'s command `own` (typed as `typed`) in `chat`; owners are never
/// limited. The command is counted, run or refused.
fn limit(
    access: &Access,
    sender: &Sender,
    roles: &BTreeSet<Role>,
    chat: &ChatRef,
    plugin: &str,
    own: &str,
    typed: &str,
) -> Option<String> {
    let people = access.people();
    if roles.contains(&Role::Owner) {
        count(people, plugin, own, false);
        return None;
    }
    let place = (chat.platform.as_str(), chat.id.as_str());
    match people.admit(&sender.facts, roles, place, plugin, own, typed) {
        Ok(Ok(())) => None,
        Ok(Err(limit)) => {
            access.refusals().count(match limit {
                LimitRefusal::Quota { .. } => Refusal::Quota,
                _ => Refusal::Rate,
            });
            tracing::info!(
                plugin,
                command = own,
                account = %sender.facts.account,
                "command refused: {limit}"
            );
            Some(sentence(&limit.to_string()))
        }
        Err(e) => {
            // Served rather than refused when the counts cannot be read.
            tracing::error!("cannot check the limits: {e}");
            None
        }
    }
}

/// Whether a rate limit holds `sender` back from pressing one of
/// `plugin`'s buttons in `chat`; owners are never limited.
pub(super) fn press_limited(
    access: &Access,
    sender: &Sender,
    chat: &ChatRef,
    plugin: &str,
) -> bool {
    if access.held_everywhere(sender).contains(&Role::Owner) {
        return false;
    }
    let place = (chat.platform.as_str(), chat.id.as_str());
    match access.people().admit_press(&sender.facts, place, plugin) {
        Ok(()) => false,
        Err(limit) => {
            access.refusals().count(Refusal::PressRate);
            tracing::info!(
                plugin,
                account = %sender.facts.account,
                "button press dropped: {limit}"
            );
            true
        }
    }
}

/// `text`, a refusal's message, as a sentence: capitalised, with a stop.
fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}

/// `who` and their roles, in words.
fn roles_text(who: &str, roles: &BTreeSet<Role>) -> String {
    if roles.is_empty() {
        return format!("{who} no roles.");
    }
    let names: Vec<&str> = roles.iter().map(Role::as_str).collect();
    format!("{who} these roles: {}.", names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_the_host_answers_is_one_no_plugin_may_declare() {
        for name in PEOPLE_COMMANDS {
            assert!(
                plugboard_registry_types::manifest::is_reserved_command(name),
                "/{name} is answered by the host but not reserved"
            );
        }
    }

    #[test]
    fn refusals_read_as_sentences_and_roles_as_a_list() {
        assert_eq!(
            sentence("slow down: try again in 3 seconds"),
            "Slow down: try again in 3 seconds."
        );
        assert_eq!(
            roles_text("You have", &BTreeSet::new()),
            "You have no roles."
        );
        let roles: BTreeSet<Role> = [Role::Admin, Role::Named("premium".into())].into();
        assert_eq!(
            roles_text("telegram:7 has", &roles),
            "telegram:7 has these roles: admin, premium."
        );
    }
}
