//! `plugboard audit`: the people audit log (links, unlinks, role changes,
//! bans, chat plugin settings), newest last, from the bot's store (while
//! the bot is stopped).

use std::collections::VecDeque;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use plugboard_bot::config::BotConfig;
use plugboard_people::{AuditEntry, People};
use plugboard_schedule::SystemClock;
use plugboard_store::{PeopleRecords, SledStore};

use crate::ConfigArg;

/// `plugboard audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// Show the last this many entries.
    #[arg(long, default_value_t = 50)]
    last: usize,
    /// Only entries of this action (`link`, `unlink`, `role`, `ban`,
    /// `unban`, `chat-plugins`).
    #[arg(long)]
    action: Option<String>,
    /// Print JSON (one array of entries) instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArg,
}

/// Prints the last entries of the audit log.
pub fn audit(args: AuditArgs) -> Result<()> {
    if let Some(action) = &args.action {
        check_action(action)?;
    }
    let config = BotConfig::load(&args.config.config)?;
    let store = SledStore::open(&config.data_dir().join("store")).context(
        "cannot open the bot's store (if the bot is running, stop it to read its audit log)",
    )?;
    let people = People::new(
        Arc::new(store) as Arc<dyn PeopleRecords>,
        Arc::new(SystemClock),
    );
    let mut kept: VecDeque<AuditEntry> = VecDeque::new();
    let mut after: Option<String> = None;
    loop {
        let page = people.audit(after.as_deref(), 1_000)?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = Some(last.clone());
        for (_, entry) in page {
            if args.action.as_ref().is_some_and(|a| *a != entry.action) {
                continue;
            }
            if kept.len() == args.last {
                kept.pop_front();
            }
            if args.last > 0 {
                kept.push_back(entry);
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&kept)?);
        return Ok(());
    }
    print!("{}", table(kept.make_contiguous()));
    Ok(())
}

/// Refuses an `--action` the audit log never records (a typo would
/// otherwise print an empty log).
fn check_action(action: &str) -> Result<()> {
    if !plugboard_people::AUDIT_ACTIONS.contains(&action) {
        anyhow::bail!(
            "--action {action:?} is not an action the audit log records; use one of {}",
            plugboard_people::AUDIT_ACTIONS.join(", ")
        );
    }
    Ok(())
}

/// `ms` since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
fn when(ms: u64) -> String {
    let secs = ms / 1000;
    let day = plugboard_registry_types::dates::date(secs / 86_400);
    let (h, m, s) = (secs / 3600 % 24, secs / 60 % 60, secs % 60);
    format!("{day} {h:02}:{m:02}:{s:02}")
}

/// The entries as a table, or a line saying there are none. Reasons
/// and names are other people's words: the table escapes and cuts them.
fn table(entries: &[AuditEntry]) -> String {
    if entries.is_empty() {
        return "The audit log is empty.\n".into();
    }
    let header = ["when (UTC)", "who", "did", "to", "detail"].map(String::from);
    let rows: Vec<[String; 5]> = std::iter::once(header)
        .chain(entries.iter().map(|e| {
            [
                when(e.at_ms),
                e.actor.clone(),
                e.action.clone(),
                e.subject.clone(),
                e.detail.clone(),
            ]
        }))
        .collect();
    plugboard_cli::listing::render_table(&rows, &[19, 48, 16, 48, 200])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_show_when_in_utc_who_what_and_to_whom() {
        let entry = AuditEntry {
            at_ms: 1_800_000_000_000,
            actor: "telegram:1".into(),
            action: "ban".into(),
            subject: "telegram:42".into(),
            detail: "spam".into(),
        };
        assert_eq!(
            table(&[entry]),
            "when (UTC)           who         did  to           detail\n\
             2027-01-15 08:00:00  telegram:1  ban  telegram:42  spam\n"
        );
        assert_eq!(table(&[]), "The audit log is empty.\n");
    }

    #[test]
    fn an_action_the_log_never_records_is_refused_with_the_list() {
        assert!(check_action("ban").is_ok());
        let err = check_action("bann").expect_err("typo").to_string();
        assert_eq!(
            err,
            "--action \"bann\" is not an action the audit log records; use one of link, unlink, role, ban, unban, chat-plugins"
        );
    }
}
