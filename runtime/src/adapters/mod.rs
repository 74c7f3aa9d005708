//! Platform adapters: everything platform-specific lives here.
//!
//! An [`Adapter`] turns its platform's updates into [`Event`]s, submits them
//! to the [`Inbox`], and performs the [`Outbound`] deliveries it receives. The
//! bot runs each adapter in its own task; an adapter that fails is logged and
//! the others keep running.
//!
//! Adapters available: [`console`] (stdin/stdout, for trying plugins out) and
//! [`memory`] (in-process, for tests and embedding).

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};

use crate::event::{Event, Outbound, Platform};

pub mod console;
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
}

/// What the bot hands an adapter.
pub struct AdapterIo {
    /// Where to submit events. Drop it when the platform's input ends.
    pub inbox: Inbox,
    /// Deliveries for this adapter; closes once no more can come.
    pub outbox: mpsc::Receiver<Outbound>,
    /// Becomes `true` when the bot is shutting down: stop reading input.
    pub shutdown: watch::Receiver<bool>,
}

/// The dispatcher's entrance. Events of one chat go to the same queue, so
/// they are handled in order; queues are bounded, so a flood waits here
/// instead of growing memory.
#[derive(Clone)]
pub struct Inbox {
    shards: Arc<[mpsc::Sender<Event>]>,
}

/// The bot is shutting down and takes no more events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the bot is shutting down")]
pub struct InboxClosed;

impl Inbox {
    pub(crate) fn new(shards: Arc<[mpsc::Sender<Event>]>) -> Self {
        Self { shards }
    }

    /// Submits an event, waiting while its chat's queue is full.
    pub async fn submit(&self, event: Event) -> Result<(), InboxClosed> {
        let chat = event.chat();
        let mut hasher = std::hash::DefaultHasher::new();
        chat.platform.hash(&mut hasher);
        chat.id.hash(&mut hasher);
        let shard = (hasher.finish() % self.shards.len() as u64) as usize;
        self.shards[shard]
            .send(event)
            .await
            .map_err(|_| InboxClosed)
    }
}
