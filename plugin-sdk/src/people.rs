//! Questions about the person who sent the event being handled (needs the
//! `roles` permission).
//!
//! Roles are `owner`, `admin`, `moderator` (each includes the ones after
//! it) and names the bot owner defines, such as `premium`. Who holds which
//! is the bot's business: the roles given with `/role`, and the platform
//! facts the owner maps to roles, such as Telegram chat administrators
//! being `admin`. Those facts hold in one chat only, so the same person may
//! get another answer in another chat: ask during each event, do not keep
//! the answer.
//!
//! ```no_run
//! use plugboard_sdk::people;
//!
//! fn daily_bonus() -> i64 {
//!     // Without the grant the question fails: then pay what everyone gets.
//!     match people::sender_has_role("premium") {
//!         Ok(true) => 200,
//!         Ok(false) | Err(_) => 100,
//!     }
//! }
//! ```
//!
//! To let only some people run a command, prefer the manifest's
//! `role = "admin"`: the host refuses the command to everyone else before
//! the plugin runs, and the owner can change the role per command and chat.
//! Ask here when a command does something different for people holding a
//! role.

use crate::Result;

/// Whether the sender of the event being handled holds `role` in the
/// event's chat, or a role that includes it (an `admin` is a `moderator`
/// too; the bot's owner holds every role).
///
/// `false` when nobody sent the event: for a [`Tick`](crate::Tick), in
/// [`Plugin::configure`](crate::Plugin::configure), and in a call from
/// another plugin. Fails with an [`Error::Failed`](crate::Error) whose text
/// says why: `permission denied: …` without the `roles` permission,
/// `invalid argument: …` for a name that is not a role (roles are
/// lowercase letters, digits and `-`, starting with a letter, at most 32
/// bytes), or the bot's reason when it runs without people or cannot
/// tell.
pub fn sender_has_role(role: &str) -> Result<bool> {
    ask(role)
}

#[cfg(target_arch = "wasm32")]
fn ask(role: &str) -> Result<bool> {
    crate::bindings::plugboard::plugin::people::sender_has_role(role)
        .map_err(crate::error::from_host)
}

/// Outside WebAssembly (a plugin's native unit tests) there is no host,
/// and so nobody to ask: every question fails, as it does for a plugin
/// the owner did not grant `roles`.
#[cfg(not(target_arch = "wasm32"))]
fn ask(role: &str) -> Result<bool> {
    Err(crate::Error::failed(format!(
        "cannot ask whether the sender holds the role `{role}`: there is no Plugboard host \
         outside WebAssembly"
    )))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn without_a_host_every_question_fails_and_names_the_role() {
        let err = super::sender_has_role("premium").expect_err("no host");
        assert!(matches!(err, crate::Error::Failed(_)), "{err:?}");
        assert!(err.message().contains("`premium`"), "{err}");
    }
}
