//! The in-process adapter: events go in and deliveries come out through a
//! [`MemoryHandle`]. Tests and embedders use it to drive a real bot (real
//! router, real plugins, real store) without any platform.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::{Adapter, AdapterFuture, AdapterIo};
use crate::event::{Chat, ChatKind, Event, Message, Outbound, Platform, User};

/// The adapter half, given to the bot.
pub struct MemoryAdapter {
    platform: Platform,
    events: mpsc::Receiver<Event>,
    deliveries: mpsc::Sender<Outbound>,
}

/// The test's half: submit events, receive deliveries.
pub struct MemoryHandle {
    platform: Platform,
    events: Option<mpsc::Sender<Event>>,
    deliveries: mpsc::Receiver<Outbound>,
    next_id: AtomicU64,
}

impl MemoryAdapter {
    /// A connected adapter and handle for a platform named `name`.
    pub fn new(name: &str) -> (MemoryAdapter, MemoryHandle) {
        let platform = Platform::Other(Arc::from(name));
        let (event_tx, event_rx) = mpsc::channel(1024);
        let (delivery_tx, delivery_rx) = mpsc::channel(1024);
        (
            MemoryAdapter {
                platform: platform.clone(),
                events: event_rx,
                deliveries: delivery_tx,
            },
            MemoryHandle {
                platform,
                events: Some(event_tx),
                deliveries: delivery_rx,
                next_id: AtomicU64::new(1),
            },
        )
    }
}

impl Adapter for MemoryAdapter {
    fn platform(&self) -> Platform {
        self.platform.clone()
    }

    fn run(self: Box<Self>, io: AdapterIo) -> AdapterFuture {
        let MemoryAdapter {
            mut events,
            deliveries,
            ..
        } = *self;
        let AdapterIo {
            inbox,
            mut outbox,
            mut shutdown,
            health,
            ..
        } = io;
        health.up();
        Box::pin(async move {
            let forward = tokio::spawn(async move {
                let mut stopping = false;
                loop {
                    let event = if stopping {
                        events.recv().await
                    } else {
                        tokio::select! {
                            event = events.recv() => event,
                            _ = shutdown.wait_for(|stop| *stop) => {
                                // Events already handed over count as
                                // received: finish them, take no new ones.
                                events.close();
                                stopping = true;
                                continue;
                            }
                        }
                    };
                    let Some(event) = event else { break };
                    if inbox.submit(event).await.is_err() {
                        break;
                    }
                }
            });
            while let Some(outbound) = outbox.recv().await {
                if deliveries.send(outbound).await.is_err() {
                    break;
                }
            }
            forward.abort();
            Ok(())
        })
    }
}

impl MemoryHandle {
    /// A chat on this adapter's platform.
    pub fn chat(&self, id: &str) -> Chat {
        Chat {
            platform: self.platform.clone(),
            id: id.into(),
            kind: ChatKind::Direct,
            title: None,
            locale: None,
        }
    }

    /// A text message from user `user` in chat `chat`.
    pub fn message(&self, chat: &str, user: &str, text: &str) -> Event {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        Event::Message(Message::new(
            id.to_string(),
            self.chat(chat),
            User::new(user, user),
            text,
        ))
    }

    /// Submits an event. Returns `false` when the bot no longer listens.
    pub async fn send(&self, event: Event) -> bool {
        match &self.events {
            Some(tx) => tx.send(event).await.is_ok(),
            None => false,
        }
    }

    /// Submits a text message in chat `chat` from user `user`.
    pub async fn say(&self, chat: &str, user: &str, text: &str) -> bool {
        self.send(self.message(chat, user, text)).await
    }

    /// The next delivery; `None` once the bot has stopped.
    pub async fn recv(&mut self) -> Option<Outbound> {
        self.deliveries.recv().await
    }

    /// Ends the input: the bot finishes pending work and stops.
    pub fn close(&mut self) {
        self.events = None;
    }
}
