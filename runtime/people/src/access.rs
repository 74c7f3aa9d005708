//! Roles and bans: who may do what, and who is ignored.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Account, LinkError, People, Role};

/// Why a role change or a ban was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoleError {
    /// The one asking lacks the role the change needs.
    #[error("only {needed}s can do that")]
    NotAllowed {
        /// The role the change needs.
        needed: Role,
    },
    /// Owners are named in the bot's config, nowhere else.
    #[error("owners are set in the bot's config (`[people] owners`), not with a command")]
    OwnerFromConfig,
    /// The person is protected from the one asking (an owner, or a role as
    /// high as theirs).
    #[error("you cannot ban {0}: their role is as high as yours")]
    Protected(Account),
    /// The account already had (or did not have) it.
    #[error("nothing to change: {0}")]
    Unchanged(String),
    /// The store failed, or a record was damaged.
    #[error(transparent)]
    Store(#[from] LinkError),
}

/// A ban, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// Who banned (an account, or `owner`).
    pub by: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Why, in the words of who banned.
    #[serde(default)]
    pub reason: String,
}

/// How high the built-in roles in `roles` reach: 3 for an owner, 2 for an
/// admin, 1 for a moderator, 0 for anyone else.
fn rank(roles: &BTreeSet<Role>) -> u8 {
    [Role::Owner, Role::Admin, Role::Moderator]
        .iter()
        .position(|level| level.satisfied_by(roles))
        .map_or(0, |i| 3 - i as u8)
}

fn roles_key(account: &Account) -> String {
    format!("roles/{account}")
}

fn ban_key(account: &Account) -> String {
    format!("ban/{account}")
}

impl People {
    /// The accounts of `account`'s person, or `account` alone.
    pub(crate) fn all_accounts(&self, account: &Account) -> Result<Vec<Account>, LinkError> {
        Ok(self
            .facts(&account.platform, &account.user)?
            .accounts
            .clone())
    }

    /// Every role `account`'s person holds: those given to any of their
    /// accounts, and [`Role::Owner`] when one of them is an owner.
    pub fn roles_of(&self, account: &Account) -> Result<BTreeSet<Role>, LinkError> {
        Ok(self.facts(&account.platform, &account.user)?.roles.clone())
    }

    /// The roles of a person with `accounts`, from the store and the
    /// config's owners.
    pub(crate) fn read_roles(&self, accounts: &[Account]) -> Result<BTreeSet<Role>, LinkError> {
        let mut roles = BTreeSet::new();
        for each in accounts {
            if self.owners.contains(each) {
                roles.insert(Role::Owner);
            }
            let given: Vec<Role> = self.read(&roles_key(each))?.unwrap_or_default();
            roles.extend(given);
        }
        Ok(roles)
    }

    /// `account`'s ban, read from the store now (not from the cache).
    pub fn ban_of(&self, account: &Account) -> Result<Option<Ban>, LinkError> {
        self.read(&ban_key(account))
    }

    /// Gives `account` the role `role`, as `actor` (holding `actor_roles`):
    /// an admin gives moderator and named roles, an owner also admin.
    pub fn give_role(
        &self,
        actor: &str,
        actor_roles: &BTreeSet<Role>,
        account: &Account,
        role: &Role,
    ) -> Result<(), RoleError> {
        self.change_role(actor, actor_roles, account, role, true)
    }

    /// Takes the role `role` from `account` (every account of its
    /// person), as `actor`, under the rules of [`People::give_role`].
    pub fn take_role(
        &self,
        actor: &str,
        actor_roles: &BTreeSet<Role>,
        account: &Account,
        role: &Role,
    ) -> Result<(), RoleError> {
        self.change_role(actor, actor_roles, account, role, false)
    }

    fn change_role(
        &self,
        actor: &str,
        actor_roles: &BTreeSet<Role>,
        account: &Account,
        role: &Role,
        give: bool,
    ) -> Result<(), RoleError> {
        let needed = match role {
            Role::Owner => return Err(RoleError::OwnerFromConfig),
            Role::Admin => Role::Owner,
            Role::Moderator | Role::Named(_) => Role::Admin,
        };
        if !needed.satisfied_by(actor_roles) {
            return Err(RoleError::NotAllowed { needed });
        }
        let _changing = self.change();
        let targets = match give {
            true => vec![account.clone()],
            false => self.all_accounts(account)?,
        };
        let mut changed = false;
        for target in &targets {
            let key = roles_key(target);
            let mut roles: BTreeSet<Role> = self.read(&key)?.unwrap_or_default();
            changed |= match give {
                true => roles.insert(role.clone()),
                false => roles.remove(role),
            };
            self.write(&key, &roles)?;
        }
        self.changed();
        if !changed {
            return Err(RoleError::Unchanged(match give {
                true => format!("{account} already is {role}"),
                false => format!("{account} is not {role}"),
            }));
        }
        let sign = if give { '+' } else { '-' };
        self.record(
            actor,
            "role",
            &account.to_string(),
            &format!("{sign}{role}"),
        )?;
        Ok(())
    }

    /// Whether `account` is banned (so every event it causes is ignored).
    pub fn is_banned(&self, account: &Account) -> Result<bool, LinkError> {
        Ok(self.facts(&account.platform, &account.user)?.banned)
    }

    /// Bans `account`'s person (every account linked to it now), as
    /// `actor` holding `actor_roles`: moderators ban, but nobody bans an
    /// owner or someone whose built-in role is as high as their own.
    pub fn ban(
        &self,
        actor: &str,
        actor_roles: &BTreeSet<Role>,
        account: &Account,
        reason: &str,
    ) -> Result<(), RoleError> {
        if !Role::Moderator.satisfied_by(actor_roles) {
            return Err(RoleError::NotAllowed {
                needed: Role::Moderator,
            });
        }
        let theirs = self.roles_of(account)?;
        // The console is the owner's own terminal.
        if account.platform == "console" || rank(&theirs) >= rank(actor_roles) {
            return Err(RoleError::Protected(account.clone()));
        }
        self.set_ban(actor, account, Some(reason))
    }

    /// Lifts the ban of `account`'s person, as a moderator or above.
    pub fn unban(
        &self,
        actor: &str,
        actor_roles: &BTreeSet<Role>,
        account: &Account,
    ) -> Result<(), RoleError> {
        if !Role::Moderator.satisfied_by(actor_roles) {
            return Err(RoleError::NotAllowed {
                needed: Role::Moderator,
            });
        }
        self.set_ban(actor, account, None)
    }

    fn set_ban(
        &self,
        actor: &str,
        account: &Account,
        reason: Option<&str>,
    ) -> Result<(), RoleError> {
        let _changing = self.change();
        let accounts = self.all_accounts(account)?;
        let mut changed = false;
        for each in &accounts {
            let key = ban_key(each);
            match reason {
                Some(reason) => {
                    // A code handed out before the ban stops working.
                    if let Some(code) = self
                        .records
                        .people_get(&format!("code-of/{each}"))
                        .map_err(LinkError::from)?
                    {
                        let code = String::from_utf8_lossy(&code).into_owned();
                        self.records
                            .people_delete(&format!("code/{code}"))
                            .map_err(LinkError::from)?;
                        self.records
                            .people_delete(&format!("code-of/{each}"))
                            .map_err(LinkError::from)?;
                    }
                    changed |= self
                        .records
                        .people_get(&key)
                        .map_err(LinkError::from)?
                        .is_none();
                    let ban = Ban {
                        by: actor.to_owned(),
                        at_ms: self.clock.now_ms(),
                        reason: reason.to_owned(),
                    };
                    self.write(&key, &ban)?;
                }
                None => changed |= self.records.people_delete(&key).map_err(LinkError::from)?,
            }
        }
        // Read again from the store on the next check.
        self.changed();
        if !changed {
            return Err(RoleError::Unchanged(match reason {
                Some(_) => format!("{account} is banned already"),
                None => format!("{account} is not banned"),
            }));
        }
        let action = if reason.is_some() { "ban" } else { "unban" };
        self.record(actor, action, &account.to_string(), reason.unwrap_or(""))?;
        Ok(())
    }
}
