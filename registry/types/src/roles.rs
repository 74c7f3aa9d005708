//! Roles: who may run a command. The built-in levels `owner`, `admin` and
//! `moderator` rank above each other (an admin may do what a moderator
//! may); an owner-defined role (`premium`, `dj`) is a plain name, held or
//! not, which an owner also satisfies. A command's manifest entry may name
//! the least role it needs (`role = "admin"`), the bot owner may override
//! it, and the runtime checks the sender's roles against it with
//! [`Role::satisfied_by`]: one rule for every part that decides.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role a person holds or a command needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The bot's owner (set in the config): may do everything.
    Owner,
    /// An administrator: may do what moderators may, and give roles.
    Admin,
    /// A moderator: may ban people from the bot.
    Moderator,
    /// A role the owner defined, such as `premium`: a name (a lowercase
    /// slug) and nothing more.
    Named(String),
}

impl Role {
    /// The built-in level, highest first (`None` for a named role).
    fn level(&self) -> Option<u8> {
        match self {
            Role::Owner => Some(3),
            Role::Admin => Some(2),
            Role::Moderator => Some(1),
            Role::Named(_) => None,
        }
    }

    /// Whether someone holding `held` has this role: they hold it, or a
    /// higher built-in level, or they are an owner.
    pub fn satisfied_by<'a>(&self, held: impl IntoIterator<Item = &'a Role>) -> bool {
        held.into_iter().any(|h| {
            h == self
                || *h == Role::Owner
                || matches!((h.level(), self.level()), (Some(have), Some(need)) if have >= need)
        })
    }

    /// The role's name, as written in manifests and the config.
    pub fn as_str(&self) -> &str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Named(name) => name,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    /// Parses `owner`, `admin`, `moderator`, or an owner-defined name
    /// (a lowercase slug, see [`crate::manifest::check_slug`]).
    fn from_str(name: &str) -> Result<Self, String> {
        Ok(match name {
            "owner" => Role::Owner,
            "admin" => Role::Admin,
            "moderator" => Role::Moderator,
            other => {
                crate::manifest::check_slug(other).map_err(|problem| {
                    format!(
                        "the role {problem} (roles are `owner`, `admin`, `moderator` or a name of your own like `premium`)"
                    )
                })?;
                Role::Named(other.to_owned())
            }
        })
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(names: &[&str]) -> Vec<Role> {
        names.iter().filter_map(|n| n.parse().ok()).collect()
    }

    #[test]
    fn higher_levels_and_owners_satisfy_lower_ones_and_named_roles_only_themselves() {
        let admin = roles(&["admin"]);
        assert!(Role::Moderator.satisfied_by(&admin));
        assert!(Role::Admin.satisfied_by(&admin));
        assert!(!Role::Owner.satisfied_by(&admin));
        assert!(!Role::Named("premium".into()).satisfied_by(&admin));
        assert!(Role::Named("premium".into()).satisfied_by(&roles(&["premium"])));
        assert!(Role::Named("premium".into()).satisfied_by(&roles(&["owner"])));
        assert!(!Role::Moderator.satisfied_by(&roles(&["premium"])));
        assert!(!Role::Moderator.satisfied_by(&[]));
    }

    #[test]
    fn role_names_are_checked() {
        assert_eq!("owner".parse::<Role>(), Ok(Role::Owner));
        assert_eq!("dj".parse::<Role>(), Ok(Role::Named("dj".into())));
        let bad = "Premium!".parse::<Role>().expect_err("not a slug");
        assert!(bad.starts_with("the role "), "{bad}");
        assert!(bad.contains("`premium`"), "{bad}");
    }
}
