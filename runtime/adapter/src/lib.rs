//! # plugboard-adapter
//!
//! What a platform adapter is and what it may see. An [`Adapter`] turns its
//! platform's updates into [`Event`]s, submits them to the [`Inbox`], and
//! performs the [`Outbound`] deliveries it receives. The bot runs each
//! adapter in its own task; an adapter that fails is logged and the others
//! keep running.
//!
//! How data enters and leaves: the bot hands each adapter an [`AdapterIo`]:
//! the inbox (events in), its outbox (deliveries out), a shutdown signal,
//! the runtime meta store (offsets, ledgers) and a watch of the loaded
//! plugins' [`Catalog`]. Nothing else: an adapter never sees plugins, the
//! router, plugin KV or grants.
//!
//! This crate holds the trait, [`deliver_by_chat`] (in order per chat,
//! chats in parallel), [`markdown`] rendering shared by adapters, and the
//! adapters that need no platform client: [`console`] (stdin/stdout, for
//! trying plugins out) and [`memory`] (in-process, for tests and embedding).
//! Telegram and Discord live in their own crates.
//!
//! What it must not touch: wasmtime, plugins, the router, the dispatcher's
//! internals. Its dependency tree has no wasmtime, and neither have the
//! platform crates built on it.
#![deny(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use plugboard_model::Catalog;
use plugboard_model::event;
use plugboard_model::event::{Event, Outbound, Platform};
use plugboard_store::{Durable, RuntimeMeta};

pub mod console;
pub mod markdown;
pub mod memory;

/// Why an adapter stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdapterError {
    /// Reading from or writing to the platform failed for good.
    #[error("{platform}: {message}")]
    Platform {
        /// The platform.
        platform: String,
        /// What went wrong and what to do.
        message: String,
    },
}

/// The future an adapter runs as.
pub type AdapterFuture = Pin<Box<dyn Future<Output = Result<(), AdapterError>> + Send>>;

/// A connection to one chat platform.
pub trait Adapter: Send + 'static {
    /// The platform this adapter serves; deliveries to its chats come to it.
    fn platform(&self) -> Platform;

    /// Runs until the platform's input ends or shutdown is signalled, and then
    /// until every pending delivery has been performed (the outbox closes).
    fn run(self: Box<Self>, io: AdapterIo) -> AdapterFuture;

    /// What the platform can say about people in its chats (see
    /// [`Standing`]), if the adapter can ask; taken before [`Adapter::run`].
    fn standing(&self) -> Option<Arc<dyn Standing>> {
        None
    }

    /// Whether the adapter only serves beside the others (the console's
    /// web chat): the bot runs until its other adapters' input ends, then
    /// stops this one too. A bot with only such adapters runs until it is
    /// told to stop.
    fn beside(&self) -> bool {
        false
    }
}

/// What [`Standing::is_chat_admin`] returns.
pub type StandingFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, AdapterError>> + Send + 'a>>;

/// A platform's own word on a person in a chat, which the bot's owner may
/// map to roles (`[people.platform_roles]`). Asked only when a role is
/// needed, so an implementation may call the platform, and should cache
/// what it learns.
pub trait Standing: Send + Sync + 'static {
    /// Whether the account `user` administers the group `chat` (its
    /// creator or one of its administrators).
    fn is_chat_admin<'a>(&'a self, chat: &'a str, user: &'a str) -> StandingFuture<'a>;
}

/// What the bot hands an adapter.
pub struct AdapterIo {
    /// Where to submit events. Drop it when the platform's input ends.
    pub inbox: Inbox,
    /// Deliveries for this adapter; closes once no more can come.
    pub outbox: mpsc::Receiver<Outbound>,
    /// Becomes `true` when the bot is shutting down: stop reading input.
    pub shutdown: watch::Receiver<bool>,
    /// The runtime's meta store, for adapter state such as update offsets
    /// (under keys starting with the adapter's platform).
    pub store: Arc<dyn RuntimeMeta>,
    /// The loaded plugins; changes when plugins are installed, updated or
    /// removed while the bot runs (the bot reloads them). Adapters that
    /// depend on the plugin set (Discord's slash commands) follow it; others
    /// may ignore it.
    pub plugins: watch::Receiver<Arc<Catalog>>,
    /// Where the adapter says how its connection is doing (for the owner's
    /// console and metrics).
    pub health: Arc<Health>,
}

/// How an adapter's connection to its platform is doing: up or down, how
/// often it came back after losing it, and the last problem. Adapters call
/// [`Health::up`] when they reach their platform and [`Health::down`] when
/// they lose it while running on; when `run` returns, the bot marks the
/// adapter down itself, with the error it returned. The owner's console
/// reads the rest.
#[derive(Debug, Default)]
pub struct Health {
    connected: std::sync::atomic::AtomicBool,
    /// Whether it was ever connected (a first connection is no reconnect).
    ever: std::sync::atomic::AtomicBool,
    reconnects: std::sync::atomic::AtomicU64,
    last_problem: std::sync::Mutex<Option<String>>,
}

impl Health {
    /// The platform answers.
    pub fn up(&self) {
        use std::sync::atomic::Ordering;
        if !self.connected.swap(true, Ordering::AcqRel) && self.ever.swap(true, Ordering::AcqRel) {
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The connection is lost, or the platform refused: `why`.
    pub fn down(&self, why: impl std::fmt::Display) {
        self.connected
            .store(false, std::sync::atomic::Ordering::Release);
        *self.last_problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_string());
    }

    /// Whether it is connected now.
    pub fn connected(&self) -> bool {
        self.connected.load(std::sync::atomic::Ordering::Acquire)
    }

    /// How many times it connected again after losing its connection.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The last problem it reported, if any.
    pub fn last_problem(&self) -> Option<String> {
        self.last_problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The bot no longer accepts events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the bot is shutting down")]
pub struct InboxClosed;

/// The future [`EventSink::submit`] returns.
pub type SubmitFuture = Pin<Box<dyn Future<Output = Result<(), InboxClosed>> + Send>>;

/// Where an [`Inbox`] hands events: the bot's dispatcher, or anything that
/// stands in for it.
pub trait EventSink: Send + Sync + 'static {
    /// Accepts `event`, waiting while the queue is full; completes `done`
    /// (by dropping it) once the event has been handled and its deliveries
    /// performed.
    fn submit(self: Arc<Self>, event: Event, done: Option<oneshot::Sender<()>>) -> SubmitFuture;
}

/// The dispatcher's entrance. Events of one chat are handled in order;
/// different chats in parallel. Submitting waits while the bot's queue is
/// full, so a flood slows the adapter down instead of growing memory.
#[derive(Clone)]
pub struct Inbox {
    sink: Arc<dyn EventSink>,
}

impl Inbox {
    /// An inbox handing events to `sink`.
    pub fn new(sink: Arc<dyn EventSink>) -> Self {
        Self { sink }
    }

    /// Submits an event, waiting while the bot's queue is full.
    pub async fn submit(&self, event: Event) -> Result<(), InboxClosed> {
        Arc::clone(&self.sink).submit(event, None).await
    }

    /// Submits an event; the returned receiver completes (with an error,
    /// which means the same) once the event has been handled and the adapters
    /// performed its deliveries, for adapters that acknowledge input only
    /// after it took effect, like Telegram's update offsets. See
    /// [`Receipt`](plugboard_model::event::Receipt).
    pub async fn submit_tracked(&self, event: Event) -> Result<oneshot::Receiver<()>, InboxClosed> {
        let (done, handled) = oneshot::channel();
        Arc::clone(&self.sink).submit(event, Some(done)).await?;
        Ok(handled)
    }
}

/// Where an adapter whose input comes from elsewhere in the process (a
/// web page, an HTTP route) keeps its inbox while the bot runs.
pub type InboxSlot = std::sync::Mutex<Option<Inbox>>;

/// The input side of such an adapter: its inbox while the bot runs.
pub fn inbox_of(slot: &InboxSlot) -> Option<Inbox> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Runs an adapter that serves beside the others (see
/// [`Adapter::beside`]) and whose input comes from elsewhere in the
/// process: puts its inbox in `slot` for that input, says it is up,
/// performs each delivery with `perform` (dropping it afterwards says it
/// was performed), takes the inbox away when the bot stops, and returns
/// once the outbox has closed.
pub async fn serve_beside(
    io: AdapterIo,
    slot: &InboxSlot,
    mut perform: impl FnMut(&Outbound),
) -> Result<(), AdapterError> {
    let AdapterIo {
        inbox,
        mut outbox,
        mut shutdown,
        health,
        ..
    } = io;
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(inbox);
    health.up();
    let mut stopping = false;
    loop {
        tokio::select! {
            delivery = outbox.recv() => match delivery {
                Some(outbound) => perform(&outbound),
                None => return Ok(()),
            },
            _ = shutdown.wait_for(|stop| *stop), if !stopping => {
                stopping = true;
                // The bot finishes once every inbox is gone.
                slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            }
        }
    }
}

/// Deliveries queued for one chat before the outbox waits.
const CHAT_QUEUE: usize = 64;
/// A chat's delivery task ends after this long without deliveries.
const CHAT_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// Performs an adapter's deliveries with `perform`: in order within a chat,
/// chats in parallel, so that a chat waiting out a platform's rate limit
/// holds up no other chat. Returns once the outbox has closed and every
/// delivery was performed. `perform` takes the delivery by value: dropping
/// it (and its [`Receipt`](plugboard_model::event::Receipt)) says it was performed.
pub async fn deliver_by_chat<F, Fut>(mut outbox: mpsc::Receiver<Outbound>, perform: F)
where
    F: Fn(Outbound) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut chats: std::collections::HashMap<String, mpsc::Sender<Outbound>> = Default::default();
    let mut workers = tokio::task::JoinSet::new();
    while let Some(outbound) = outbox.recv().await {
        let chat = outbound.chat.id.clone();
        let mut pending = Some(outbound);
        while let Some(delivery) = pending.take() {
            let queue = chats.entry(chat.clone()).or_insert_with(|| {
                let (tx, rx) = mpsc::channel(CHAT_QUEUE);
                workers.spawn(drain_chat(rx, perform.clone()));
                tx
            });
            if let Err(mpsc::error::SendError(back)) = queue.send(delivery).await {
                // That chat's task ended while idle: start another.
                chats.remove(&chat);
                pending = Some(back);
            }
        }
        while workers.try_join_next().is_some() {}
        if chats.len() > 1024 {
            chats.retain(|_, queue| !queue.is_closed());
        }
    }
    drop(chats);
    while workers.join_next().await.is_some() {}
}

/// Performs one chat's deliveries in order; ends when idle.
async fn drain_chat<F, Fut>(mut queue: mpsc::Receiver<Outbound>, perform: F)
where
    F: Fn(Outbound) -> Fut,
    Fut: Future<Output = ()>,
{
    while let Ok(Some(outbound)) = tokio::time::timeout(CHAT_IDLE, queue.recv()).await {
        perform(outbound).await;
    }
    // Idle: refuse new deliveries (the sender starts another task), then
    // perform any that arrived meanwhile.
    queue.close();
    while let Some(outbound) = queue.recv().await {
        perform(outbound).await;
    }
}

/// Makes the store's writes durable off the async threads, logging a
/// failure: for adapters that store offsets, and for the bot.
pub async fn flush(store: Arc<dyn Durable>) {
    match tokio::task::spawn_blocking(move || store.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("{e}"),
        Err(e) => tracing::error!("store flush task failed: {e}"),
    }
}
