//! The host's own commands for linking accounts, `/link` and `/unlink`
//! (see [`plugboard_people`]), and giving each event's sender the person
//! they belong to.

use plugboard_args::scope::user_prefix;
use plugboard_host::plugin::Target;
use plugboard_model::event::{Event, User};
use plugboard_people::{Account, LinkError, People};

use super::Router;

/// The command that links accounts.
pub const LINK_COMMAND: &str = "link";
/// The command that takes an account out of its person.
pub const UNLINK_COMMAND: &str = "unlink";

/// The account behind `user` on `platform`.
fn account(platform: &str, user: &User) -> Account {
    Account::new(platform, user.id.clone())
}

impl Router {
    /// Sets the person the event's sender belongs to as their global id
    /// (each plugin then sees it as [`plugboard_host::plugin::LoadedPlugin::global_id`]
    /// says). Leaves it unset for an account that is not linked.
    pub(super) fn identify(&self, people: &People, event: &mut Event) {
        let platform = event.chat().platform.clone();
        let Some(sender) = event.sender_mut() else {
            return;
        };
        match people.person_of(&account(platform.as_str(), sender)) {
            Ok(person) => sender.global_id = person.map(|p| p.as_str().to_owned()),
            Err(e) => {
                // Served as an unlinked account rather than not at all.
                tracing::error!("cannot look up who sent an event: {e}");
                sender.global_id = None;
            }
        }
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
    ) -> (String, Option<String>) {
        let me = account(platform, sender);
        let answer = match (name, args) {
            (LINK_COMMAND, []) => people.issue_code(&me).map(|code| {
                let text = format!(
                    "Your link code is {} (it works once, for 10 minutes). On your other account, send me: /{LINK_COMMAND} {}",
                    code.code, code.code
                );
                if direct {
                    return (text, None);
                }
                // Never in a group: privately, and a word in the group.
                let told = format!(
                    "I sent you a link code in a private message. If it does not arrive, send /{LINK_COMMAND} to me in a private chat."
                );
                (told, Some(text))
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
                (text, None)
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
                refusal => {
                    let text = refusal.to_string();
                    let mut chars = text.chars();
                    match chars.next() {
                        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
                        None => text,
                    }
                }
            };
            (text, None)
        })
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
