//! Owners by invitation. An owner invites a user; the invitation waits in
//! the `invitations` tree until the invitee accepts it (and becomes an
//! owner, in the same transaction that removes the invitation) or declines
//! it (nothing else changes). Owners remove owners, themselves included,
//! but never the last one. Every change is written to the audit log.
//!
//! The API (`routes`) and the web pages (`web::owners`) both call these
//! functions, so the rules live here once.

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, Transactional};

use super::{PluginRecord, Registry, decode, encode, get, prefix};
use crate::error::StoreError;

/// How long an invitation can be accepted: 30 days.
pub(crate) const INVITATION_SECONDS: u64 = 30 * 24 * 60 * 60;

/// An invitation to own a plugin, stored under `plugin\0invitee`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InvitationRecord {
    /// The owner who sent it.
    pub by: String,
    pub created_at: u64,
}

impl InvitationRecord {
    /// Whether it can still be accepted at `now`.
    fn open_at(&self, now: u64) -> bool {
        now < self.created_at.saturating_add(INVITATION_SECONDS)
    }

    /// Until when it can be accepted.
    pub fn expires_at(&self) -> u64 {
        self.created_at.saturating_add(INVITATION_SECONDS)
    }
}

/// A pending invitation, as the invitee's lists show it.
#[derive(Debug, Clone)]
pub(crate) struct Invitation {
    pub plugin: String,
    pub invitee: String,
    pub record: InvitationRecord,
}

/// What [`Registry::invite_owner`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invited {
    /// The invitation was sent (or renewed).
    Sent,
    /// The user already owns the plugin.
    AlreadyOwner,
    /// There is no such account.
    NoSuchUser,
    /// There is no such plugin.
    NoSuchPlugin,
    /// The one inviting does not own the plugin.
    NotOwner,
}

/// What [`Registry::remove_owners`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Removed {
    /// The owners after the change (the removed owners and the named
    /// users' invitations gone).
    Done(Vec<String>),
    /// It would leave the plugin without owners: nothing changed.
    LastOwner,
    /// There is no such plugin.
    NoSuchPlugin,
    /// The one removing does not own the plugin.
    NotOwner,
}

fn invitation_key(plugin: &str, invitee: &str) -> Vec<u8> {
    let mut key = prefix(plugin);
    key.extend_from_slice(invitee.as_bytes());
    key
}

impl Registry {
    /// Invites `invitee` to own `plugin`, as its owner `by`, under the write
    /// lock; an existing invitation is renewed. Audited.
    pub(crate) fn invite_owner(
        &self,
        plugin: &str,
        by: &str,
        invitee: &str,
    ) -> Result<Invited, StoreError> {
        let _lock = self.write_lock();
        let Some(record) = self.plugin(plugin)? else {
            return Ok(Invited::NoSuchPlugin);
        };
        if !record.owners.iter().any(|o| o == by) {
            return Ok(Invited::NotOwner);
        }
        if record.owners.iter().any(|o| o == invitee) {
            return Ok(Invited::AlreadyOwner);
        }
        if !self.user_exists(invitee)? {
            return Ok(Invited::NoSuchUser);
        }
        let invitation = InvitationRecord {
            by: by.to_owned(),
            created_at: self.now(),
        };
        self.inner.invitations.insert(
            invitation_key(plugin, invitee),
            encode("invitations", &invitation)?,
        )?;
        self.inner.invitations.flush()?;
        self.audit(
            by,
            "invite-owner",
            &format!("plugin {plugin}"),
            &format!("invited {invitee}"),
        )?;
        Ok(Invited::Sent)
    }

    /// The open invitations to own `plugin`, oldest first.
    pub(crate) fn invitations_to(&self, plugin: &str) -> Result<Vec<Invitation>, StoreError> {
        let now = self.now();
        let skip = plugin.len() + 1;
        let mut found = Vec::new();
        for item in self.inner.invitations.scan_prefix(prefix(plugin)) {
            let (key, bytes) = item?;
            let record: InvitationRecord = decode("invitations", &bytes)?;
            if record.open_at(now) {
                found.push(Invitation {
                    plugin: plugin.to_owned(),
                    invitee: String::from_utf8_lossy(key.get(skip..).unwrap_or_default())
                        .into_owned(),
                    record,
                });
            }
        }
        found.sort_by_key(|i| i.record.created_at);
        Ok(found)
    }

    /// The open invitations `invitee` has, oldest first (one scan of the
    /// invitations, which are few).
    pub(crate) fn invitations_for(&self, invitee: &str) -> Result<Vec<Invitation>, StoreError> {
        let now = self.now();
        let mut found = Vec::new();
        for item in self.inner.invitations.iter() {
            let (key, bytes) = item?;
            let Some(split) = key.iter().position(|&b| b == 0) else {
                continue;
            };
            if key.get(split + 1..) != Some(invitee.as_bytes()) {
                continue;
            }
            let record: InvitationRecord = decode("invitations", &bytes)?;
            if record.open_at(now) {
                found.push(Invitation {
                    plugin: String::from_utf8_lossy(&key[..split]).into_owned(),
                    invitee: invitee.to_owned(),
                    record,
                });
            }
        }
        found.sort_by_key(|i| i.record.created_at);
        Ok(found)
    }

    /// Accepts (`accept`) or declines `invitee`'s open invitation to own
    /// `plugin`, under the write lock: accepting adds them to the owners and
    /// removes the invitation in one transaction; declining only removes
    /// the invitation. `None` when there is no open invitation (nothing
    /// changes), else the plugin's record after. Audited.
    pub(crate) fn answer_invitation(
        &self,
        plugin: &str,
        invitee: &str,
        accept: bool,
    ) -> Result<Option<PluginRecord>, StoreError> {
        let _lock = self.write_lock();
        let key = invitation_key(plugin, invitee);
        let invitation: Option<InvitationRecord> =
            get(&self.inner.invitations, "invitations", &key)?;
        let Some(invitation) = invitation.filter(|i| i.open_at(self.now())) else {
            return Ok(None);
        };
        let Some(mut record) = self.plugin(plugin)? else {
            self.inner.invitations.remove(&key)?;
            return Ok(None);
        };
        if accept && !record.owners.iter().any(|o| o == invitee) {
            record.owners.push(invitee.to_owned());
        }
        let plugin_bytes = encode("plugins", &record)?;
        let inner = &self.inner;
        (&inner.plugins, &inner.invitations).transaction(|(plugins, invitations)| {
            if accept {
                plugins.insert(plugin.as_bytes(), plugin_bytes.clone())?;
            }
            invitations.remove(key.clone())?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        })?;
        inner.db.flush()?;
        if accept {
            self.touch();
        }
        let action = if accept {
            "accept-invitation"
        } else {
            "decline-invitation"
        };
        self.audit(
            invitee,
            action,
            &format!("plugin {plugin}"),
            &format!("invited by {}", invitation.by),
        )?;
        Ok(Some(record))
    }

    /// Removes `users` from `plugin`'s owners and withdraws their
    /// invitations, as its owner `by`, under the write lock; refused when
    /// no owner would be left. Audited, one entry per owner removed or
    /// invitation withdrawn.
    pub(crate) fn remove_owners(
        &self,
        plugin: &str,
        by: &str,
        users: &[String],
    ) -> Result<Removed, StoreError> {
        let _lock = self.write_lock();
        let Some(mut record) = self.plugin(plugin)? else {
            return Ok(Removed::NoSuchPlugin);
        };
        if !record.owners.iter().any(|o| o == by) {
            return Ok(Removed::NotOwner);
        }
        let before = record.owners.clone();
        record.owners.retain(|o| !users.contains(o));
        if record.owners.is_empty() {
            return Ok(Removed::LastOwner);
        }
        let mut withdrawn = Vec::new();
        for user in users {
            if self
                .inner
                .invitations
                .remove(invitation_key(plugin, user))?
                .is_some()
            {
                withdrawn.push(user);
            }
        }
        if record.owners != before {
            self.put_plugin(plugin, &record)?;
        }
        self.inner.invitations.flush()?;
        let target = format!("plugin {plugin}");
        for user in before.iter().filter(|o| !record.owners.contains(o)) {
            self.audit(by, "remove-owner", &target, &format!("removed {user}"))?;
        }
        for user in withdrawn {
            self.audit(
                by,
                "withdraw-invitation",
                &target,
                &format!("withdrew {user}'s invitation"),
            )?;
        }
        Ok(Removed::Done(record.owners))
    }
}
