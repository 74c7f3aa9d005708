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
use crate::router::Router;

/// A chat's identity as a 64-bit hash of its platform and id: no allocation
/// per event. Two chats whose hashes collide (with a million chats active at
/// once, odds of about 1 in 40 million) merely share a queue: still in
/// order, just not in parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ChatKey(u64);

impl ChatKey {
    fn of(chat: &Chat) -> Self {
        let mut hasher = std::hash::DefaultHasher::new();
        chat.platform.hash(&mut hasher);
        chat.id.hash(&mut hasher);
        ChatKey(hasher.finish())
    }
}

struct Pending {
    event: Event,
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
    outboxes: HashMap<Platform, (mpsc::Sender<Outbound>, Arc<AdapterStats>)>,
    chats: Mutex<HashMap<ChatKey, VecDeque<Pending>>>,
    capacity: Arc<Semaphore>,
    running: Arc<Semaphore>,
}

impl Dispatcher {
    /// A dispatcher routing through `router`'s current router, bounded by
    /// `capacity` events accepted and `running` handled at once.
    pub(crate) fn new(
        router: watch::Sender<Arc<Router>>,
        store: Arc<dyn Store>,
        outboxes: HashMap<Platform, (mpsc::Sender<Outbound>, Arc<AdapterStats>)>,
        capacity: Arc<Semaphore>,
        running: usize,
    ) -> Self {
        let catalog = watch::Sender::new(Arc::clone(router.borrow().catalog()));
        Self {
            catalog,
            router,
            store,
            outboxes,
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

    /// Accepts an event, waiting while `capacity` is exhausted.
    pub(crate) async fn submit(
        self: &Arc<Self>,
        event: Event,
        done: Option<oneshot::Sender<()>>,
    ) -> Result<(), InboxClosed> {
        let slot = Arc::clone(&self.capacity)
            .acquire_owned()
            .await
            .map_err(|_| InboxClosed)?;
        let key = ChatKey::of(event.chat());
        let pending = Pending {
            event,
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
            self.handle(next.event, next.receipt).await;
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

    /// Handles one event and hands its deliveries, each with a clone of
    /// `receipt`, to the adapters.
    async fn handle(&self, event: Event, receipt: Receipt) {
        let Ok(_running) = self.running.acquire().await else {
            return;
        };
        let kind = event.kind();
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
            match self.outboxes.get(&outbound.chat.platform) {
                Some((outbox, stats)) => {
                    stats.deliveries.fetch_add(1, Ordering::Relaxed);
                    if outbox.send(outbound).await.is_err() {
                        stats.dropped.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("an adapter stopped; dropping a delivery");
                    }
                }
                None => tracing::warn!(
                    platform = %outbound.chat.platform,
                    plugin = %outbound.plugin,
                    "no adapter for this platform; dropping a delivery"
                ),
            }
        }
    }
}

impl EventSink for Dispatcher {
    fn submit(self: Arc<Self>, event: Event, done: Option<oneshot::Sender<()>>) -> SubmitFuture {
        Box::pin(async move { Dispatcher::submit(&self, event, done).await })
    }
}
