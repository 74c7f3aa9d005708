//! `poll`: quick polls with inline buttons. One vote per person; pressing
//! another option moves the vote. Votes live in the plugin's KV store, per
//! chat, so they survive restarts.

use std::collections::BTreeMap;

use plugboard_sdk::i18n::{Catalogs, args};
use plugboard_sdk::kv::Scope;
use plugboard_sdk::markdown;
use plugboard_sdk::prelude::*;
use serde::{Deserialize, Serialize};

/// The refusals in every language poll speaks; English when the user's
/// language has no catalog. (The poll itself is the user's own words.)
static CATALOGS: Catalogs = Catalogs::new(
    "en",
    &[
        ("en", include_str!("../locales/en.ftl")),
        ("de", include_str!("../locales/de.ftl")),
    ],
);

/// Options a poll may have.
const OPTIONS: std::ops::RangeInclusive<usize> = 2..=8;
/// Longest question or option, in characters.
const MAX_LABEL: usize = 100;

/// A poll as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Poll {
    /// The question.
    pub question: String,
    /// The options, in order.
    pub options: Vec<String>,
    /// Who voted for which option (user id → option index).
    pub votes: BTreeMap<String, usize>,
}

impl Poll {
    /// Parses `question | option | option …`; a refusal is in the language
    /// for `locale`.
    pub fn parse(text: &str, locale: Option<&str>) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = text.split('|').map(str::trim).collect();
        let refuse = |id: &str| CATALOGS.text(locale, id, &args([("max", MAX_LABEL.into())]));
        let (question, options) = parts.split_first().ok_or_else(|| refuse("usage"))?;
        if question.is_empty() || !OPTIONS.contains(&options.len()) {
            return Err(refuse("shape"));
        }
        if options.iter().any(|o| o.is_empty())
            || parts.iter().any(|p| p.chars().count() > MAX_LABEL)
        {
            return Err(refuse("labels"));
        }
        Ok(Poll {
            question: question.to_string(),
            options: options.iter().map(|o| o.to_string()).collect(),
            votes: BTreeMap::new(),
        })
    }

    /// The message showing the poll and its counts, with one button per option.
    pub fn render(&self, id: &str) -> Outgoing {
        let mut text = format!("📊 **{}**\n", markdown::escape(&self.question));
        let mut message = Outgoing::markdown(String::new());
        for (i, option) in self.options.iter().enumerate() {
            let count = self.votes.values().filter(|v| **v == i).count();
            text.push_str(&format!("\n{} — {count}", markdown::escape(option)));
            message = message.with_buttons([Button::new(format!("{id}:{i}"), option.clone())]);
        }
        message.text = text;
        message
    }
}

/// The plugin; its state lives in KV.
#[derive(Default)]
pub struct Polls;

impl Plugin for Polls {
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let poll =
            Poll::parse(&cmd.raw_args, cmd.locale.as_deref()).map_err(Error::invalid_input)?;
        // The command's message id is unique in its chat: it names the poll.
        let id = cmd.message.id.clone();
        Scope::chat(&cmd.message.chat)
            .nested("polls")
            .set(&id, &poll)?;
        out.reply_with(poll.render(&id));
        Ok(())
    }

    fn on_button(&mut self, press: ButtonPress, out: &mut Response) -> Result<()> {
        let Some((id, option)) = press.button_id.rsplit_once(':') else {
            return Ok(());
        };
        let polls = Scope::chat(&press.chat).nested("polls");
        let Some(mut poll) = polls.get::<Poll>(id)? else {
            return Ok(()); // a poll from before its data was removed
        };
        let Some(option) = option
            .parse::<usize>()
            .ok()
            .filter(|o| *o < poll.options.len())
        else {
            return Ok(());
        };
        poll.votes.insert(press.user.id.clone(), option);
        polls.set(id, &poll)?;
        out.edit(press.message_id, poll.render(id));
        Ok(())
    }
}

plugboard_sdk::export_plugin!(Polls);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        let mut poll = Poll::parse("Lunch? | Pizza | Salad", None).expect("valid");
        poll.votes.insert("ann".into(), 0);
        let message = poll.render("5");
        assert_eq!(message.text, "📊 **Lunch?**\n\nPizza — 1\nSalad — 0");
        assert_eq!(message.buttons.len(), 2);
        assert_eq!(message.buttons[1][0].id, "5:1");
        for bad in [
            "",
            "Lunch?",
            "Lunch? | Pizza",
            "| a | b",
            "q | a | ",
            "q | a|b|c|d|e|f|g|h|i",
        ] {
            assert!(Poll::parse(bad, None).is_err(), "{bad:?}");
        }
        let german = Poll::parse("Mittag?", Some("de-AT")).expect_err("refused");
        assert!(german.starts_with("eine Umfrage braucht"), "{german}");
    }
}
