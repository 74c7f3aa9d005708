//! Between adapters and the router: per-chat ordering, parallelism across
//! chats, backpressure, and delivery.
//!
//! Every chat with work has its own FIFO queue and at most one task draining
//! it, so events of one chat are handled strictly in order while different
//! chats proceed independently: a plugin stuck on one chat's event (up to its
//! deadline) holds up that chat only. Two semaphores bound the work:
//!
//! * `capacity`: events accepted but not yet handled, across all chats. When
//!   it is exhausted, [`Inbox::submit`](plugboard_adapter::Inbox::submit) waits:
//!   a flood slows the adapter down instead of growing memory;
//! * `running`: events being handled at once (plugin instances in use).
//!
//! The dispatcher lives as long as some adapter holds an inbox or some chat
//! still has queued events; when it is dropped, the adapters' outboxes close
//! and the adapters finish.
//!
//! A platform may have several accounts (two Telegram bots in one process).
//! Chats are the platform's, not an account's (a Telegram group has one id
//! whichever bot is in it), so an account is a route, not part of an
//! address: a delivery goes out through the account its event came in on
//! when it answers that chat, else through the account that last heard from
//! the chat it is for, else through the platform's first account.

use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use futures_util::FutureExt;
use plugboard_adapter::{EventSink, InboxClosed, SubmitFuture, flush};
use plugboard_model::Catalog;
use plugboard_model::event::{Chat, Event, Outbound, Platform, Receipt};
use plugboard_store::{Durable, Store};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};

use crate::control::AdapterStats;
use crate::sightings::{Sighting, Sightings};

use crate::router::Router;

/// A chat's identity as a 64-bit hash of its platform and id: no allocation
/// per event. Two chats whose hashes collide (with a million chats active at
/// once, odds of about 1 in 40 million) merely share a queue: still in
/// order, just not in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ChatKey(u64);

impl ChatKey {
    fn of(chat: &Chat) -> Self {
        Self::of_ref(&chat.platform, &chat.id)
    }

    fn of_ref(platform: &Platform, id: &str) -> Self {
        let mut hasher = std::hash::DefaultHasher::new();
        platform.hash(&mut hasher);
        id.hash(&mut hasher);
        ChatKey(hasher.finish())
    }
}

/// Most chats whose last account is remembered.
const MAX_HEARD: usize = 100_000;

struct Pending {
    event: Event,
    // The account (index in its platform's routes) it came in on; none
    // for the bot's own events (timer ticks).
    via: Option<usize>,
    // Completed when the event has been handled and its deliveries
    // performed, for adapters that wait for it.
    receipt: Receipt,
    // Returned to `capacity` once the event has been handled.
    _slot: OwnedSemaphorePermit,
}

pub(crate) struct Dispatcher {
    /// Swapped when the plugin set changes; events already running keep
    /// the router they started with.
    router: watch::Sender<Arc<Router>>,
    /// What adapters see of each router: its plugins' catalog (see
    /// [`Dispatcher::watch_catalog`]).
    catalog: watch::Sender<Arc<Catalog>>,
    store: Arc<dyn Store>,
    routes: HashMap<Platform, Vec<Route>>,
    /// Told of every event and delivery while someone watches.
    sightings: Sightings,
    // Which account last heard from a chat, for platforms with several.
    heard: Mutex<HashMap<ChatKey, usize>>,
    chats: Mutex<HashMap<ChatKey, VecDeque<Pending>>>,
    capacity: Arc<Semaphore>,
    running: Arc<Semaphore>,
}

impl Dispatcher {
    /// A dispatcher routing through `router`'s current router to the
    /// adapters' `routes` (each platform's accounts, first the default),
    /// bounded by `capacity` events accepted and `running` handled at once.
    pub(crate) fn new(
        router: watch::Sender<Arc<Router>>,
        store: Arc<dyn Store>,
        routes: HashMap<Platform, Vec<Route>>,
        sightings: Sightings,
        capacity: Arc<Semaphore>,
        running: usize,
    ) -> Self {
        let catalog = watch::Sender::new(Arc::clone(router.borrow().catalog()));
        Self {
            catalog,
            router,
            store,
            routes,
            sightings,
            heard: Mutex::new(HashMap::new()),
            chats: Mutex::new(HashMap::new()),
            capacity,
            running: Arc::new(Semaphore::new(running.max(1))),
        }
    }

    /// The current router.
    pub(crate) fn router(&self) -> Arc<Router> {
        Arc::clone(&self.router.borrow())
    }

    /// Routes new events through `router` from now on, and tells the
    /// adapters watching.
    pub(crate) fn replace_router(&self, router: Arc<Router>) {
        self.catalog.send_replace(Arc::clone(router.catalog()));
        self.router.send_replace(router);
    }

    /// The catalog of the current router's plugins, and of every later
    /// one: for adapters that follow the plugin set (Discord re-registers
    /// its slash commands).
    pub(crate) fn watch_catalog(&self) -> watch::Receiver<Arc<Catalog>> {
        self.catalog.subscribe()
    }

    fn chats(&self) -> MutexGuard<'_, HashMap<ChatKey, VecDeque<Pending>>> {
        // Queue operations cannot panic half-way; a poisoned lock holds
        // consistent data.
        self.chats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn heard(&self) -> MutexGuard<'_, HashMap<ChatKey, usize>> {
        // Inserts and reads only; a poisoned lock holds consistent data.
        self.heard.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Accepts an event from the account `via` of its platform (none for
    /// the bot's own events), waiting while `capacity` is exhausted.
    pub(crate) async fn submit(
        self: &Arc<Self>,
        event: Event,
        via: Option<usize>,
        done: Option<oneshot::Sender<()>>,
    ) -> Result<(), InboxClosed> {
        let slot = Arc::clone(&self.capacity)
            .acquire_owned()
            .await
            .map_err(|_| InboxClosed)?;
        let key = ChatKey::of(event.chat());
        if let Some(via) = via
            && self
                .routes
                .get(&event.chat().platform)
                .is_some_and(|routes| routes.len() > 1)
        {
            let mut heard = self.heard();
            // Bounded: a chat forgotten has its next message no event
            // caused sent through the platform's first account.
            if heard.len() >= MAX_HEARD && !heard.contains_key(&key) {
                heard.clear();
            }
            heard.insert(key, via);
        }
        let pending = Pending {
            event,
            via,
            receipt: done.map(Receipt::new).unwrap_or_default(),
            _slot: slot,
        };
        let first = {
            let mut chats = self.chats();
            match chats.get_mut(&key) {
                Some(queue) => {
                    queue.push_back(pending);
                    None
                }
                None => {
                    chats.insert(key, VecDeque::new());
                    Some(pending)
                }
            }
        };
        if let Some(first) = first {
            tokio::spawn(Arc::clone(self).drain_chat(key, first));
        }
        Ok(())
    }

    /// Handles `first`, then everything queued behind it for the same chat.
    async fn drain_chat(self: Arc<Self>, key: ChatKey, first: Pending) {
        let mut next = first;
        loop {
            self.handle(next.event, next.via, next.receipt).await;
            let popped = {
                let mut chats = self.chats();
                let popped = chats.get_mut(&key).and_then(VecDeque::pop_front);
                if popped.is_none() {
                    chats.remove(&key);
                }
                popped
            };
            match popped {
                Some(pending) => next = pending,
                None => break,
            }
        }
    }

    /// Handles one event that came in on account `via` and hands its
    /// deliveries, each with a clone of `receipt`, to the adapters.
    async fn handle(&self, event: Event, via: Option<usize>, receipt: Receipt) {
        let Ok(_running) = self.running.acquire().await else {
            return;
        };
        let kind = event.kind();
        let from = (event.chat().platform.clone(), ChatKey::of(event.chat()));
        if self.sightings.watched() {
            let account = via
                .and_then(|via| self.routes.get(&from.0)?.get(via))
                .map(|route| &*route.stats.account);
            self.sightings.tell(Sighting::of_event(&event, account));
        }
        let router = self.router();
        let dispatched = AssertUnwindSafe(router.dispatch(event))
            .catch_unwind()
            .await;
        let dispatch = match dispatched {
            Ok(dispatch) => dispatch,
            Err(_) => {
                // Only trusted (native) code runs outside the sandbox; a
                // panic there loses this one event, not the bot.
                tracing::error!(
                    event = kind,
                    "handling an event panicked; the event is dropped"
                );
                return;
            }
        };
        if dispatch.store_written {
            // Durable before anyone is told it happened.
            flush(Arc::clone(&self.store) as Arc<dyn Durable>).await;
        }
        for mut outbound in dispatch.outbound {
            outbound.receipt = receipt.clone();
            self.hand_over(outbound, &from, via).await;
        }
    }

    /// Hands `outbound` to the adapter of the account [`Dispatcher::route`]
    /// picks, counted and shown to the live stream. Whether an adapter
    /// took it.
    async fn hand_over(
        &self,
        outbound: Outbound,
        from: &(Platform, ChatKey),
        via: Option<usize>,
    ) -> bool {
        if self.sightings.watched() {
            self.sightings.tell(Sighting::of_delivery(&outbound));
        }
        let Some(Route { outbox, stats }) = self.route(&outbound, from, via) else {
            tracing::warn!(
                platform = %outbound.chat.platform,
                plugin = %outbound.plugin,
                "no adapter for this platform; dropping a delivery"
            );
            return false;
        };
        stats.deliveries.fetch_add(1, Ordering::Relaxed);
        if outbox.send(outbound).await.is_err() {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("an adapter stopped; dropping a delivery");
            return false;
        }
        true
    }
}

impl Dispatcher {
    /// Hands `outbound`, which no event caused (a message sent with an API
    /// token), to its chat's adapter: through the account that last heard
    /// from the chat, else the platform's first. Whether an adapter took
    /// it.
    pub(crate) async fn deliver(&self, outbound: Outbound) -> bool {
        let chat = &outbound.chat;
        let from = (
            chat.platform.clone(),
            ChatKey::of_ref(&chat.platform, &chat.id),
        );
        self.hand_over(outbound, &from, None).await
    }

    /// The account `outbound` goes out through, for an event from the chat
    /// `from` that came in on account `via` (see the module's page).
    fn route(
        &self,
        outbound: &Outbound,
        from: &(Platform, ChatKey),
        via: Option<usize>,
    ) -> Option<&Route> {
        let routes = self.routes.get(&outbound.chat.platform)?;
        if routes.len() == 1 {
            return routes.first();
        }
        let same_platform = outbound.chat.platform == from.0;
        let key = ChatKey::of_ref(&outbound.chat.platform, &outbound.chat.id);
        let via = match via {
            Some(via) if same_platform && key == from.1 => Some(via),
            _ => self
                .heard()
                .get(&key)
                .copied()
                .or(via.filter(|_| same_platform)),
        };
        via.and_then(|via| routes.get(via)).or(routes.first())
    }
}

/// Where one account's deliveries go.
pub(crate) struct Route {
    /// Its adapter's outbox.
    pub(crate) outbox: mpsc::Sender<Outbound>,
    /// What it has seen.
    pub(crate) stats: Arc<AdapterStats>,
}

/// The dispatcher's entrance for one account: counts what comes in, and
/// says which account it came in on.
pub(crate) struct Entrance {
    pub(crate) dispatcher: Arc<Dispatcher>,
    /// The account's index among its platform's routes.
    pub(crate) via: usize,
    pub(crate) stats: Arc<AdapterStats>,
    /// For an adapter whose input keeps the bot running: counted down
    /// when its input ends (this entrance is dropped).
    pub(crate) keeps: Option<Arc<OpenInputs>>,
}

/// The inputs still open that keep the bot running; when the last one
/// ends, the adapters serving beside them are told to stop, so that their
/// inputs end too and the dispatcher can finish.
pub(crate) struct OpenInputs {
    pub(crate) count: std::sync::atomic::AtomicUsize,
    pub(crate) stop: Arc<watch::Sender<bool>>,
}

impl Drop for Entrance {
    fn drop(&mut self) {
        if let Some(open) = &self.keeps
            && open.count.fetch_sub(1, Ordering::AcqRel) == 1
        {
            let _ = open.stop.send(true);
        }
    }
}

impl EventSink for Entrance {
    fn submit(self: Arc<Self>, event: Event, done: Option<oneshot::Sender<()>>) -> SubmitFuture {
        self.stats.events.fetch_add(1, Ordering::Relaxed);
        Box::pin(async move { self.dispatcher.submit(event, Some(self.via), done).await })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugboard_model::event::{ChatRef, OutboundOp, Outgoing};

    fn dispatcher(accounts: &[&str]) -> Dispatcher {
        let router = Arc::new(Router::new(Vec::new(), vec!["/".into()]));
        let routes = accounts
            .iter()
            .map(|name| Route {
                outbox: mpsc::channel(1).0,
                stats: Arc::new(AdapterStats::new(Platform::Telegram, Arc::from(*name))),
            })
            .collect();
        Dispatcher::new(
            watch::Sender::new(router),
            Arc::new(plugboard_store::MemoryStore::default()),
            HashMap::from([(Platform::Telegram, routes)]),
            Sightings::default(),
            Arc::new(Semaphore::new(8)),
            1,
        )
    }

    fn to(platform: Platform, chat: &str) -> Outbound {
        Outbound {
            chat: ChatRef {
                platform,
                id: chat.into(),
            },
            op: OutboundOp::Send {
                message: Outgoing::text("hi"),
                reply_to: None,
            },
            plugin: Arc::from("test"),
            mention_everyone: false,
            receipt: Receipt::default(),
        }
    }

    fn key(chat: &str) -> (Platform, ChatKey) {
        (
            Platform::Telegram,
            ChatKey::of_ref(&Platform::Telegram, chat),
        )
    }

    #[test]
    fn a_delivery_goes_out_through_the_account_its_event_came_in_on_else_the_one_that_last_heard_the_chat()
     {
        let d = dispatcher(&["first", "second", "third"]);
        let through = |outbound: &Outbound, from: &(Platform, ChatKey), via: Option<usize>| {
            d.route(outbound, from, via)
                .map(|r| r.stats.account.to_string())
        };
        let answer = to(Platform::Telegram, "42");
        // An answer to the chat the event came from: its account.
        assert_eq!(
            through(&answer, &key("42"), Some(1)).as_deref(),
            Some("second")
        );
        // Another chat nobody heard from: the event's account still.
        let elsewhere = to(Platform::Telegram, "-100");
        assert_eq!(
            through(&elsewhere, &key("42"), Some(1)).as_deref(),
            Some("second")
        );
        // A chat the third account heard last: through it.
        d.heard()
            .insert(ChatKey::of_ref(&Platform::Telegram, "-100"), 2);
        assert_eq!(
            through(&elsewhere, &key("42"), Some(1)).as_deref(),
            Some("third")
        );
        // The bot's own event (a timer tick): who heard the chat, else the first.
        assert_eq!(
            through(&elsewhere, &key("-100"), None).as_deref(),
            Some("third")
        );
        assert_eq!(through(&answer, &key("42"), None).as_deref(), Some("first"));
        // A platform with no adapter: nowhere.
        assert_eq!(
            through(&to(Platform::Discord, "1"), &key("42"), Some(1)),
            None
        );
    }
}
