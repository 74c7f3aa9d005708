//! Test-only plugin used by the runtime's sandbox tests. Every command is an
//! attack; the runtime must contain each one to the event that triggered it.

use std::hint::black_box;

use plugboard_sdk::prelude::*;

/// The attacker.
#[derive(Default)]
pub struct Hostile;

impl Plugin for Hostile {
    fn on_event(&mut self, event: Event, out: &mut Response) -> Result<()> {
        // Not attacks: reports, so adapter tests can see these events arrive.
        match event {
            Event::Command(cmd) => return self.on_command(cmd, out),
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
            _ => {}
        }
        Ok(())
    }
}

#[allow(unconditional_recursion, reason = "the attack is unbounded recursion")]
fn recurse(depth: u64) -> u64 {
    let padding = black_box([depth; 64]);
    recurse(depth + 1).wrapping_add(padding[(depth % 64) as usize])
}

plugboard_sdk::export_plugin!(Hostile);
