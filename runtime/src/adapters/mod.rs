//! Platform adapters: everything platform-specific lives here.
//!
//! An [`Adapter`] turns its platform's updates into [`Event`]s, submits them
//! to the [`Inbox`], and performs the [`Outbound`] deliveries it receives. The
//! bot runs each adapter in its own task; an adapter that fails is logged and
//! the others keep running.
//!
//! Adapters available: [`console`] (stdin/stdout, for trying plugins out),
//! [`telegram`], [`discord`], and [`memory`] (in-process, for tests and
//! embedding).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};

use crate::dispatch::Dispatcher;
pub use crate::dispatch::InboxClosed;
use crate::event::{Event, Outbound, Platform};
use crate::router::Router;
use crate::store::Store;

pub mod console;
pub mod discord;
pub mod markdown;
pub mod memory;
pub mod telegram;

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
}

/// What the bot hands an adapter.
pub struct AdapterIo {
    /// Where to submit events. Drop it when the platform's input ends.
    pub inbox: Inbox,
    /// Deliveries for this adapter; closes once no more can come.
    pub outbox: mpsc::Receiver<Outbound>,
    /// Becomes `true` when the bot is shutting down: stop reading input.
    pub shutdown: watch::Receiver<bool>,
    /// The bot's store, for adapter state such as update offsets.
    pub store: Arc<dyn Store>,
    /// The router, whose plugins answer the events; changes when plugins
    /// are installed, updated or removed while the bot runs (the bot
    /// reloads them). Adapters that depend on the plugin set (Discord's
    /// slash commands) follow it; others may ignore it.
    pub plugins: watch::Receiver<Arc<Router>>,
}

/// The dispatcher's entrance. Events of one chat are handled in order;
/// different chats in parallel. Submitting waits while the bot's queue is
/// full, so a flood slows the adapter down instead of growing memory.
#[derive(Clone)]
pub struct Inbox {
    dispatcher: Arc<Dispatcher>,
}

impl Inbox {
    pub(crate) fn new(dispatcher: Arc<Dispatcher>) -> Self {
        Self { dispatcher }
    }

    /// Submits an event, waiting while the bot's queue is full.
    pub async fn submit(&self, event: Event) -> Result<(), InboxClosed> {
        self.dispatcher.submit(event, None).await
    }

    /// Submits an event; the returned receiver completes (with an error,
    /// which means the same) once the event has been handled and the adapters
    /// performed its deliveries, for adapters that acknowledge input only
    /// after it took effect, like Telegram's update offsets. See
    /// [`Receipt`](crate::event::Receipt).
    pub async fn submit_tracked(&self, event: Event) -> Result<oneshot::Receiver<()>, InboxClosed> {
        let (done, handled) = oneshot::channel();
        self.dispatcher.submit(event, Some(done)).await?;
        Ok(handled)
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
/// it (and its [`Receipt`](crate::event::Receipt)) says it was performed.
pub(crate) async fn deliver_by_chat<F, Fut>(mut outbox: mpsc::Receiver<Outbound>, perform: F)
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
