//! Test-only `timers`: sets schedules in chats other than the one it is
//! asked in (which takes `send-any-chat`), and tries to list and cancel
//! schedules that are not its own. Every tick is answered with its id and
//! chat, so tests see exactly what fired where. It also receives the
//! webhook `ping` and says on the console what came: its name, delivery
//! id, event header and body.

use std::time::Duration;

use plugboard_sdk::Platform;
use plugboard_sdk::prelude::*;
use plugboard_sdk::schedule::{self, Timer};

/// The plugin; its state lives in the host's timetable.
#[derive(Default)]
pub struct Timers;

impl Plugin for Timers {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        match cmd.name.as_str() {
            // `/elsewhere <chat> <ms>`: a one-shot in another chat.
            "elsewhere" => {
                let chat: String = cmd.arg(0, "chat")?;
                let ms: u64 = cmd.arg(1, "ms")?;
                let to = ChatRef {
                    platform: cmd.message.chat.platform.clone(),
                    id: chat.clone(),
                };
                let timer = Timer::after(format!("to-{chat}"), Duration::from_millis(ms));
                match timer.in_chat(to).set() {
                    Ok(_) => out.reply(format!("set for {chat}")),
                    Err(Error::InvalidInput(m) | Error::Failed(m)) => {
                        out.reply(format!("refused: {m}"))
                    }
                }
            }
            "myschedules" => {
                let ids: Vec<String> = schedule::list()?.into_iter().map(|s| s.id).collect();
                out.reply(format!("schedules: [{}]", ids.join(", ")));
            }
            "unschedule" => {
                let existed = schedule::cancel(&cmd.raw_args)?;
                out.reply(format!("cancelled {}: {existed}", cmd.raw_args));
            }
            _ => {}
        }
        Ok(())
    }

    fn on_tick(&mut self, tick: Tick, out: &mut Response) -> Result<()> {
        out.reply(format!("tick {} in {}", tick.id, tick.chat.id));
        Ok(())
    }

    fn on_webhook(&mut self, hook: Webhook, out: &mut Response) -> Result<()> {
        let console = ChatRef {
            platform: Platform::Console,
            id: "console".into(),
        };
        let said = format!(
            "webhook {} ({}, {}): {}",
            hook.name,
            hook.delivery.as_deref().unwrap_or("no delivery id"),
            hook.header("x-github-event").unwrap_or("no event"),
            hook.text()?
        );
        out.send(console, Outgoing::text(said));
        Ok(())
    }
}

plugboard_sdk::export_plugin!(Timers);
