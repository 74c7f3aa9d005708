//! Who administers a Telegram group, from `getChatAdministrators`, for the
//! roles the bot's owner maps to it (see [`plugboard_adapter::Standing`]).
//!
//! Each group's list is cached for [`ADMINS_TTL`]: the bot asks once per
//! group and window, whatever the number of commands. Promotions and
//! demotions show after at most that long.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plugboard_adapter::{AdapterError, Standing, StandingFuture};
use teloxide_core::Bot;
use teloxide_core::requests::Requester;
use teloxide_core::types::ChatId;

use crate::fail;

/// How long a group's administrators are trusted before they are read
/// again.
pub const ADMINS_TTL: Duration = Duration::from_secs(10 * 60);

/// After a failed read, how long the group counts as having no
/// administrators before the Bot API is asked again (so a failing or
/// rate-limited API is not asked on every command).
const FAILED_TTL: Duration = Duration::from_secs(60);

/// Most groups whose administrators are kept at once; beyond it the cache
/// starts over (a bot in that many groups asks again, no more).
const MAX_GROUPS: usize = 10_000;

/// The ids of one group's administrators, and until when they hold.
type Admins = (Instant, Arc<HashSet<u64>>);

/// The administrators of the groups asked about lately.
pub(crate) struct TelegramStanding {
    bot: Bot,
    admins: Mutex<HashMap<i64, Admins>>,
}

impl TelegramStanding {
    pub(crate) fn new(bot: Bot) -> Self {
        Self {
            bot,
            admins: Mutex::default(),
        }
    }

    /// The ids of `chat`'s administrators, from the cache or the Bot API.
    async fn admins(&self, chat: i64) -> Result<Arc<HashSet<u64>>, AdapterError> {
        let cached = self
            .admins
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&chat)
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, ids)| Arc::clone(ids));
        if let Some(ids) = cached {
            return Ok(ids);
        }
        let read = self.bot.get_chat_administrators(ChatId(chat)).await;
        let (ids, ttl) = match &read {
            Ok(members) => (members.iter().map(|m| m.user.id.0).collect(), ADMINS_TTL),
            Err(_) => (HashSet::new(), FAILED_TTL),
        };
        let ids = Arc::new(ids);
        let mut cache = self.admins.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_GROUPS {
            cache.clear();
        }
        cache.insert(chat, (Instant::now() + ttl, Arc::clone(&ids)));
        drop(cache);
        match read {
            Ok(_) => Ok(ids),
            Err(e) => Err(fail(format!(
                "cannot read the administrators of chat {chat} (asked again in {} s): {e}",
                FAILED_TTL.as_secs()
            ))),
        }
    }
}

impl Standing for TelegramStanding {
    fn is_chat_admin<'a>(&'a self, chat: &'a str, user: &'a str) -> StandingFuture<'a> {
        Box::pin(async move {
            // Private chats have positive ids: nobody administers them.
            let (Ok(chat), Ok(user)) = (chat.parse::<i64>(), user.parse::<u64>()) else {
                return Ok(false);
            };
            if chat > 0 {
                return Ok(false);
            }
            Ok(self.admins(chat).await?.contains(&user))
        })
    }
}
