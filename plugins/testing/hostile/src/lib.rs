//! Test-only plugin used by the runtime's sandbox tests. Every command is an
//! attack; the runtime must contain each one to the event that triggered it.

use std::hint::black_box;

use plugboard_sdk::http;
use plugboard_sdk::prelude::*;

/// The attacker.
#[derive(Default)]
pub struct Hostile {
    /// A command kept past its event by `/keep`, against the SDK's advice.
    kept: Option<Command>,
}

impl Plugin for Hostile {
    fn on_event(&mut self, event: Event, out: &mut Response) -> Result<()> {
        // Not attacks: reports, so adapter tests can see these events arrive.
        match event {
            Event::Command(cmd) => return self.on_command(cmd, out),
            // A command no plugin owns arrives as a message; `/peek…` is
            // only looked at (a reaction), not answered.
            Event::Message(m) if m.text.starts_with("/peek") => out.react(m.id, "👀"),
            Event::Message(m) if m.text.starts_with('/') => out.reply(format!("heard {}", m.text)),
            Event::Edited(m) => out.reply(format!("edited #{}: {}", m.id, m.text)),
            Event::Reaction(r) => out.reply(format!(
                "{} {} {} on #{}",
                r.user.display_name,
                if r.added { "added" } else { "removed" },
                r.emoji,
                r.message_id
            )),
            Event::MemberJoined(m) => out.reply(format!(
                "welcome {} ({}) to {}",
                m.user.display_name, m.user.id, m.chat.id
            )),
            _ => {}
        }
        Ok(())
    }

    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        match cmd.name.as_str() {
            "spin" => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "hog" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(black_box(vec![0xA5; 1 << 20]));
                }
            }
            "boom" => panic!("hostile plugin panics on purpose"),
            "recurse" => {
                out.reply(format!("{}", recurse(black_box(1))));
            }
            "kvpeek" => {
                // Every prefix a namespace escape might try.
                let mut seen = 0;
                for prefix in ["", "notes", "notes\0", "\0", "../", "chat/"] {
                    seen += kv::keys(prefix)?.len();
                }
                out.reply(format!("saw {seen} keys"));
            }
            "flood" => {
                for i in 0..1_000 {
                    out.reply(format!("flood {i}"));
                }
            }
            "sendflood" => {
                let to = ChatRef {
                    platform: cmd.message.chat.platform.clone(),
                    id: cmd.message.chat.id.clone(),
                };
                for i in 0..1_000 {
                    plugboard_sdk::send(&to, &Outgoing::text(format!("spam {i}")))?;
                }
            }
            "bigmsg" => out.reply("x".repeat(10 << 20)),
            "fetch" => {
                let url: String = cmd.arg(0, "url")?;
                let response = plugboard_sdk::http::get(&url)?;
                out.reply(format!("{} {}", response.status, response.text()));
            }
            "logflood" => {
                for i in 0..10_000 {
                    plugboard_sdk::log::info(format!("flood {i}\nFAKE host line"));
                }
                out.reply("logged");
            }
            "kvflood" => {
                let value = vec![b'k'; 1024];
                for i in 0..1_000_000u32 {
                    kv::Scope::global().set_raw(&format!("flood/{i}"), &value)?;
                }
            }
            "sleep" => std::thread::sleep(std::time::Duration::from_secs(3_600)),
            "everyone" => out.reply("@everyone @here wake up"),
            "bigembed" => {
                // Through the host call, the refusal is the plugin's to read.
                let to = ChatRef {
                    platform: cmd.message.chat.platform.clone(),
                    id: cmd.message.chat.id.clone(),
                };
                let mut card = Embed::new().title("t".repeat(10));
                for i in 0..26 {
                    card = card.field(format!("f{i}"), "v");
                }
                let refused = plugboard_sdk::send(&to, &Outgoing::text("").with_embed(card));
                let badlink = Embed::new().url("javascript:alert(1)");
                let invalid = plugboard_sdk::send(&to, &Outgoing::text("").with_embed(badlink));
                out.reply(format!(
                    "{}\n{}",
                    refused.err().map(|e| e.to_string()).unwrap_or_default(),
                    invalid.err().map(|e| e.to_string()).unwrap_or_default()
                ));
            }
            // Ends the whole instance with the given status (0 unless told).
            "exit" => {
                let code: i32 = cmd.opt_arg(0, "code")?.unwrap_or(0);
                std::process::exit(code);
            }
            // Exits with status 7 from 300 frames deep.
            "deepexit" => {
                out.reply(format!("{}", deep_exit(black_box(0))));
            }
            // Loops forever, spending the time inside KV host calls.
            "kvspin" => loop {
                let _ = black_box(kv::Scope::global().get_raw(black_box("spin")));
            },
            // Blocks in a WASI sleep for <ms>, then says so.
            "nap" => {
                let ms: u64 = cmd.arg(0, "ms")?;
                std::thread::sleep(std::time::Duration::from_millis(ms));
                out.reply(format!("napped {ms} ms"));
            }
            // Replies with, and logs, terminal escapes and a forged log line.
            "escape" => {
                plugboard_sdk::log::info(ESCAPES);
                plugboard_sdk::log::warn(ESCAPES);
                out.reply(ESCAPES);
            }
            // Fails with the escapes as the error the owner's log shows.
            "escapefail" => return Err(Error::failed(ESCAPES)),
            // Replies with buttons whose labels carry an escape and a newline.
            "escapebuttons" => out.reply_with(Outgoing::text("pick").with_buttons([
                Button::new("ok", "ok\x1b[2J"),
                Button::new("no", "no\nFAKE"),
            ])),
            // Returns <n> replies of <bytes> bytes each.
            "budget" => {
                let (n, bytes): (usize, usize) = (cmd.arg(0, "n")?, cmd.arg(1, "bytes")?);
                for _ in 0..n {
                    out.reply("b".repeat(bytes));
                }
            }
            // Queues <n> messages of <bytes> bytes each through the host.
            "sendbudget" => {
                let (n, bytes): (usize, usize) = (cmd.arg(0, "n")?, cmd.arg(1, "bytes")?);
                let to = ChatRef {
                    platform: cmd.message.chat.platform.clone(),
                    id: cmd.message.chat.id.clone(),
                };
                let message = Outgoing::text("b".repeat(bytes));
                let refused =
                    (0..n).find_map(|k| plugboard_sdk::send(&to, &message).err().map(|e| (k, e)));
                out.reply(match refused {
                    Some((k, e)) => format!("refused after {k}: {}", error_text(e)),
                    None => format!("sent {n}"),
                });
            }
            // Keeps the command in the instance, without reading its message
            // (read lazily from the host), for `/kept` in a later event.
            "keep" => {
                self.kept = Some(cmd);
                out.reply("kept");
            }
            // Reads the message of the kept command: it must be the message
            // of `/keep`'s event, not of this one.
            "kept" => match &self.kept {
                Some(kept) => out.reply(kept.message.text.clone()),
                None => out.reply("nothing kept"),
            },
            // Reacts to the command with a 1 MiB emoji.
            "bigfields" => out.react(cmd.message.id.clone(), "x".repeat(1 << 20)),
            // Edits a message whose id is 1 MiB long.
            "bigid" => out.edit("9".repeat(1 << 20), Outgoing::text("edit")),
            // Replies with 8 rows of 8 buttons, each label 1,000 characters.
            "biglabels" => {
                let mut message = Outgoing::text("b");
                for row in 0..8 {
                    message =
                        message.with_buttons((0..8).map(|col| {
                            Button::new(format!("b{}", row * 8 + col), "l".repeat(1_000))
                        }));
                }
                out.reply_with(message);
            }
            // POSTs a <kib> KiB body to <url>, <times> times.
            "post" => {
                let url: String = cmd.arg(0, "url")?;
                let (kib, times): (usize, usize) = (cmd.arg(1, "kib")?, cmd.arg(2, "times")?);
                let request = http::Request {
                    method: "POST".into(),
                    url,
                    headers: vec![http::Header {
                        name: "content-type".into(),
                        value: "application/octet-stream".into(),
                    }],
                    body: vec![b'p'; kib << 10],
                };
                let refused = (0..times).find_map(|k| http::fetch(&request).err().map(|e| (k, e)));
                out.reply(match refused {
                    Some((k, e)) => format!("refused after {k}: {}", error_text(e)),
                    None => format!("posted {times}"),
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// Terminal escapes (title, clear screen, colour), a carriage return, a tab,
/// `DEL`, a C1 control, a bidi override and a newline followed by a forged
/// host log line.
const ESCAPES: &str = "before\x1b]0;pwned\x07\x1b[2J\x1b[31mred\rCR\ttab\x7fdel\u{9b}c1\u{202e}bidi\nFAKE 2026-01-01T00:00:00Z INFO plugin `notes` resumed by the owner";

/// The text of an error, without the SDK's `failed: ` prefix.
fn error_text(err: Error) -> String {
    match err {
        Error::InvalidInput(m) | Error::Failed(m) => m,
    }
}

/// Recurses 300 small frames deep, then exits the instance with status 7.
fn deep_exit(depth: u32) -> u32 {
    let padding = [depth; 8];
    if black_box(depth) >= 300 {
        std::process::exit(7);
    }
    let below = deep_exit(depth + 1);
    // Using the frame after the call keeps every frame alive: the recursion
    // cannot become a tail call or a loop.
    black_box(&padding);
    below
}

#[allow(unconditional_recursion, reason = "the attack is unbounded recursion")]
fn recurse(depth: u64) -> u64 {
    let padding = black_box([depth; 64]);
    recurse(depth + 1).wrapping_add(padding[(depth % 64) as usize])
}

plugboard_sdk::export_plugin!(Hostile);
