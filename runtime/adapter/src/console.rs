//! The console adapter: each line of input is a message from user `console`
//! in the direct chat `console`; each delivery is printed on its own line,
//! with control characters and escape sequences shown escaped (`\u{1b}`)
//! and only line breaks kept.
//!
//! `plugboard run` uses it on stdin/stdout when `[console] enabled = true`;
//! when it is the only adapter, the bot exits cleanly at the end of input.

use plugboard_registry_types::text::escape;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::{Adapter, AdapterError, AdapterFuture, AdapterIo};
use crate::event::{
    Chat, ChatKind, Event, Message, Outbound, OutboundOp, Outgoing, Platform, TextFormat, User,
};

/// The console adapter over any line reader and writer.
pub struct ConsoleAdapter<R, W> {
    input: R,
    output: W,
}

impl ConsoleAdapter<BufReader<tokio::io::Stdin>, tokio::io::Stdout> {
    /// The adapter on the process's stdin and stdout.
    pub fn stdio() -> Self {
        Self::new(BufReader::new(tokio::io::stdin()), tokio::io::stdout())
    }
}

impl<R, W> ConsoleAdapter<R, W>
where
    R: AsyncBufRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    /// The adapter reading lines from `input` and printing to `output`.
    pub fn new(input: R, output: W) -> Self {
        Self { input, output }
    }
}

/// The console's one chat.
pub fn console_chat() -> Chat {
    Chat {
        platform: Platform::Console,
        id: "console".into(),
        kind: ChatKind::Direct,
        title: None,
        locale: None,
    }
}

/// How a delivery looks on the console.
pub fn render(outbound: &Outbound) -> String {
    fn with_buttons(message: &Outgoing) -> String {
        let mut text = match message.format {
            TextFormat::Plain => message.text.clone(),
            TextFormat::Markdown => super::markdown::render(&message.text).plain,
        };
        if let Some(embed) = &message.embed {
            // No embeds on a terminal: the card as text below the message.
            let card = super::markdown::render(&super::markdown::embed_markdown(embed)).plain;
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&card);
        }
        for row in &message.buttons {
            // A label is one line, whatever it holds.
            let labels: Vec<String> = row
                .iter()
                .map(|b| format!("[{}]", escape(&b.label, false)))
                .collect();
            text.push('\n');
            text.push_str(&labels.join(" "));
        }
        text
    }
    match &outbound.op {
        OutboundOp::Send { message, .. } => with_buttons(message),
        OutboundOp::Edit {
            message_id,
            message,
        } => format!("(edited #{message_id}) {}", with_buttons(message)),
        OutboundOp::React { message_id, emoji } => format!("(reacted {emoji} to #{message_id})"),
        OutboundOp::Delete { message_id } => format!("(deleted #{message_id})"),
    }
}

impl<R, W> Adapter for ConsoleAdapter<R, W>
where
    R: AsyncBufRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    fn platform(&self) -> Platform {
        Platform::Console
    }

    fn run(self: Box<Self>, io: AdapterIo) -> AdapterFuture {
        let ConsoleAdapter { input, mut output } = *self;
        let AdapterIo {
            inbox,
            mut outbox,
            mut shutdown,
            health,
            ..
        } = io;
        // The terminal is there as long as the adapter runs.
        health.up();
        Box::pin(async move {
            let reader = tokio::spawn(async move {
                let mut lines = input.lines();
                let mut count: u64 = 0;
                loop {
                    let line = tokio::select! {
                        line = lines.next_line() => line,
                        _ = shutdown.wait_for(|stop| *stop) => break,
                    };
                    let text = match line {
                        Ok(Some(text)) => text,
                        Ok(None) => break,
                        Err(e) => {
                            tracing::error!("console: cannot read input: {e}");
                            break;
                        }
                    };
                    if text.trim().is_empty() {
                        continue;
                    }
                    count += 1;
                    let message = Message::new(
                        count.to_string(),
                        console_chat(),
                        User::new("console", "console"),
                        text,
                    );
                    if inbox.submit(Event::Message(message)).await.is_err() {
                        break;
                    }
                }
                // Dropping the inbox here tells the bot that no more input comes.
            });
            let written = async {
                while let Some(outbound) = outbox.recv().await {
                    // Plugins and users write what lands here: no control
                    // character or escape sequence reaches the terminal.
                    let mut text = escape(&render(&outbound), true).into_owned();
                    text.push('\n');
                    output.write_all(text.as_bytes()).await?;
                    output.flush().await?;
                }
                std::io::Result::Ok(())
            }
            .await;
            // Stop reading input on every exit path: nobody would see the answers.
            reader.abort();
            written.map_err(|e| AdapterError::Platform {
                platform: "console".into(),
                message: format!("cannot write to the output: {e}"),
            })
        })
    }
}
