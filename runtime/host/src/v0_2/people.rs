//! `plugboard:plugin/people` (since 0.2): whether the sender of the event
//! being handled holds a role. The host checks the `roles` permission and
//! the role's name; the answer comes from the bot's
//! [`RoleOracle`](crate::roles::RoleOracle), asked about the current event
//! so that chat-bound facts (a Telegram chat administrator) count in that
//! chat only.

use plugboard_registry_types::Permission;
use plugboard_registry_types::roles::Role;

use super::plugboard;
use super::wit::HostError;
use crate::state::HostState;

impl plugboard::plugin::people::Host for HostState {
    async fn sender_has_role(&mut self, role: String) -> Result<bool, HostError> {
        // A refused permission is counted by `require`; a malformed name or
        // a bot without people is the plugin's or the owner's business, as
        // for every other import, and not counted.
        self.require(Permission::Roles)?;
        let role: Role = role.parse().map_err(HostError::InvalidArgument)?;
        let Some(oracle) = self.plugin.roles.clone() else {
            return Err(HostError::Other(
                "roles are not available: the bot runs without people".into(),
            ));
        };
        let Some(event) = self.event.current.clone() else {
            // `init`, or a call from another plugin: nobody sent anything.
            return Ok(false);
        };
        if event.sender().is_none() {
            return Ok(false);
        }
        oracle.sender_has(&event, &role).await.map_err(|e| {
            tracing::warn!(plugin = %self.plugin.name, %role, "role check failed: {e}");
            HostError::Other(e.to_string())
        })
    }
}
