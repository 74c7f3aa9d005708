//! Which plugins serve a chat: its admins turn plugins off there, or name
//! the only ones that may answer (an allow-list). Kept per chat under
//! `chat/<platform>/<chat id>`, read once and cached, every change audited.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use crate::access::RoleError;
use crate::{LinkError, People, Role};

/// The plugins of one chat, as its admins set them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatPlugins {
    /// Plugins turned off in the chat.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub off: BTreeSet<String>,
    /// When set, the only plugins that serve the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<BTreeSet<String>>,
}

impl ChatPlugins {
    /// Whether `plugin` serves the chat.
    pub fn allows(&self, plugin: &str) -> bool {
        !self.off.contains(plugin) && self.only.as_ref().is_none_or(|only| only.contains(plugin))
    }

    /// Whether nothing is set (every plugin serves the chat).
    pub fn is_open(&self) -> bool {
        self.off.is_empty() && self.only.is_none()
    }
}

/// A change to a chat's plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatChange {
    /// Turns a plugin off in the chat.
    Off(String),
    /// Turns it on again (and onto the allow-list, if the chat has one).
    On(String),
    /// Only these plugins serve the chat from now on.
    Only(BTreeSet<String>),
    /// Every plugin serves the chat again.
    All,
}

impl ChatChange {
    /// The change in words, for the audit log.
    fn describe(&self) -> String {
        match self {
            Self::Off(plugin) => format!("off {plugin}"),
            Self::On(plugin) => format!("on {plugin}"),
            Self::Only(plugins) => {
                let names: Vec<&str> = plugins.iter().map(String::as_str).collect();
                format!("only {}", names.join(" "))
            }
            Self::All => "all".into(),
        }
    }
}

/// Per platform, per chat id: the chats that have settings.
pub(crate) type ChatTable = HashMap<String, HashMap<String, Arc<ChatPlugins>>>;

fn chat_key(platform: &str, chat: &str) -> String {
    format!("chat/{platform}/{chat}")
}

impl People {
    /// The settings of chat `chat` on `platform`, if it has any (cheap:
    /// every chat's are read once and kept).
    pub fn chat_plugins(
        &self,
        platform: &str,
        chat: &str,
    ) -> Result<Option<Arc<ChatPlugins>>, LinkError> {
        if self.no_chat_settings.load(Ordering::Acquire) {
            return Ok(None);
        }
        let find = |table: &ChatTable| {
            if table.is_empty() {
                return None;
            }
            table.get(platform)?.get(chat).cloned()
        };
        if let Some(table) = self
            .chats
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            return Ok(find(table));
        }
        let generation = self.generation.load(Ordering::Acquire);
        let table = self.load_chats()?;
        let found = find(&table);
        let mut chats = self.chats.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) == generation {
            self.no_chat_settings
                .store(table.is_empty(), Ordering::Release);
            *chats = Some(table);
        }
        Ok(found)
    }

    /// Every chat whose plugins were changed, as `(platform, chat,
    /// settings)`, sorted.
    pub fn all_chat_plugins(&self) -> Result<Vec<(String, String, ChatPlugins)>, LinkError> {
        let mut all: Vec<(String, String, ChatPlugins)> = self
            .load_chats()?
            .into_iter()
            .flat_map(|(platform, chats)| {
                chats
                    .into_iter()
                    .map(move |(chat, settings)| (platform.clone(), chat, (*settings).clone()))
            })
            .collect();
        all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        Ok(all)
    }

    fn load_chats(&self) -> Result<ChatTable, LinkError> {
        let mut table = ChatTable::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.records.people_scan("chat/", after.as_deref(), 1_000)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            for (key, bytes) in &page {
                let Some((platform, chat)) =
                    key.strip_prefix("chat/").and_then(|k| k.split_once('/'))
                else {
                    continue;
                };
                // One damaged record must not open every chat again.
                let settings: ChatPlugins = match crate::decode(key, bytes) {
                    Ok(settings) => settings,
                    Err(e) => {
                        tracing::error!("skipping a chat's plugin settings: {e}");
                        continue;
                    }
                };
                table
                    .entry(platform.to_owned())
                    .or_default()
                    .insert(chat.to_owned(), Arc::new(settings));
            }
        }
        Ok(table)
    }

    /// Changes which plugins serve chat `chat` on `platform`, as `actor`
    /// holding `actor_roles` (admins and owners may); returns the chat's
    /// settings after the change. Audited.
    pub fn change_chat_plugins(
        &self,
        actor: &str,
        actor_roles: &BTreeSet<Role>,
        platform: &str,
        chat: &str,
        change: ChatChange,
    ) -> Result<ChatPlugins, RoleError> {
        if !Role::Admin.satisfied_by(actor_roles) {
            return Err(RoleError::NotAllowed {
                needed: Role::Admin,
            });
        }
        let _changing = self.change();
        let key = chat_key(platform, chat);
        let before: ChatPlugins = self.read(&key)?.unwrap_or_default();
        let mut after = before.clone();
        match &change {
            ChatChange::Off(plugin) => {
                after.off.insert(plugin.clone());
            }
            ChatChange::On(plugin) => {
                after.off.remove(plugin);
                if let Some(only) = &mut after.only {
                    only.insert(plugin.clone());
                }
            }
            ChatChange::Only(plugins) => {
                after.only = Some(plugins.clone());
                after.off.retain(|p| !plugins.contains(p));
            }
            ChatChange::All => after = ChatPlugins::default(),
        }
        if after == before {
            return Err(RoleError::Unchanged(format!(
                "the chat's plugins are that way already ({})",
                change.describe()
            )));
        }
        match after.is_open() {
            true => {
                self.records.people_delete(&key).map_err(LinkError::from)?;
            }
            false => self.write(&key, &after)?,
        }
        self.changed();
        self.record(
            actor,
            "chat-plugins",
            &format!("{platform}:{chat}"),
            &change.describe(),
        )?;
        Ok(after)
    }
}
