//! The owner's grants: which permissions a plugin holds, and changing them.
//!
//! A plugin holds a permission its manifest asks for when the owner granted
//! it in any of three places: with `plugboard grant` (kept in the store),
//! in the config (`[plugins.<name>] grants`), or by accepting it at install
//! (for the registry copy only). [`held`] is that rule, for loading and for
//! a grant given while the bot runs; [`change`] is the one way the store's
//! part changes, for the CLI on a stopped bot and for the admin API on a
//! running one.

use std::collections::BTreeSet;
use std::path::Path;

use plugboard_registry_types::{Manifest, Permission};
use plugboard_store::{PluginState, StoreError};
use serde::{Deserialize, Serialize};

use crate::config::BotConfig;
use crate::installed::Installed;

/// Why grants could not be changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// A permission name is not one the runtime knows.
    #[error("{0}")]
    Unknown(String),
    /// The plugin does not ask for a permission it was to be granted.
    #[error(
        "`{plugin}` does not ask for `{permission}` in its plugin.toml; a grant it does not ask for has no effect"
    )]
    NotAsked {
        /// The plugin.
        plugin: String,
        /// The permission.
        permission: Permission,
    },
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The permissions `manifest`'s plugin, loaded from `dir`, holds: granted
/// with `plugboard grant`, in the config, or accepted when the registry
/// copy in `dir` was installed (not a local plugin of the same name).
/// Grants it does not ask for are included (and have no effect).
pub fn held(
    config: &BotConfig,
    store: &dyn PluginState,
    installed: &Installed,
    manifest: &Manifest,
    dir: &Path,
) -> Result<BTreeSet<Permission>, StoreError> {
    let mut grants = store.grants(&manifest.name)?;
    grants.extend(config.plugin(&manifest.name).grants.iter().copied());
    let installed_root = Installed::root(&config.data_dir());
    if installed
        .get(&manifest.name)
        .is_some_and(|p| installed_root.join(&p.dir) == dir)
    {
        grants.extend(installed.grants(&manifest.name).iter().copied());
    }
    Ok(grants)
}

/// A change of a plugin's stored grants, as made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantChange {
    /// The plugin.
    pub plugin: String,
    /// `true` for a grant, `false` for a revocation.
    pub grant: bool,
    /// The permissions granted or revoked.
    pub permissions: Vec<Permission>,
    /// Of those revoked, the ones the config still grants (the revocation
    /// does not take them away until they are removed there too).
    pub still_in_config: Vec<Permission>,
}

impl GrantChange {
    /// What the audit log says about it: the permissions' names.
    pub fn detail(&self) -> String {
        let names: Vec<&str> = self.permissions.iter().map(|p| p.as_str()).collect();
        names.join(", ")
    }

    /// What the audit log calls it: `grant` or `revoke`.
    pub fn action(&self) -> &'static str {
        if self.grant { "grant" } else { "revoke" }
    }
}

/// Grants (`grant`) or revokes the permissions named `names` for
/// `manifest`'s plugin in `store`, and flushes it. A grant of a permission
/// the plugin does not ask for is refused; the store is unchanged when
/// anything is refused.
pub fn change(
    config: &BotConfig,
    store: &dyn PluginState,
    manifest: &Manifest,
    names: &[String],
    grant: bool,
) -> Result<GrantChange, GrantError> {
    let mut permissions = Vec::new();
    for name in names {
        let permission = name.parse::<Permission>().map_err(GrantError::Unknown)?;
        if grant && !manifest.wants(permission) {
            return Err(GrantError::NotAsked {
                plugin: manifest.name.clone(),
                permission,
            });
        }
        if !permissions.contains(&permission) {
            permissions.push(permission);
        }
    }
    let mut grants = store.grants(&manifest.name)?;
    for permission in &permissions {
        if grant {
            grants.insert(*permission);
        } else {
            grants.remove(permission);
        }
    }
    store.set_grants(&manifest.name, &grants)?;
    store.flush()?;
    let in_config = config.plugin(&manifest.name).grants;
    let still_in_config = match grant {
        true => Vec::new(),
        false => permissions
            .iter()
            .copied()
            .filter(|p| in_config.contains(p))
            .collect(),
    };
    Ok(GrantChange {
        plugin: manifest.name.clone(),
        grant,
        permissions,
        still_in_config,
    })
}
