//! `plugboard audit`: the audit log (links, unlinks, role changes, bans,
//! chat plugin settings, grants, resumptions), newest last, from the
//! running bot's admin API or the stopped bot's store.

use anyhow::Result;
use clap::Args;
use plugboard_bot::config::BotConfig;
use plugboard_people::AuditEntry;

use crate::ConfigArg;

/// `plugboard audit`.
#[derive(Args)]
pub struct AuditArgs {
    /// Show the last this many entries.
    #[arg(long, default_value_t = 50)]
    last: usize,
    /// Only entries of this action (`link`, `unlink`, `role`, `ban`,
    /// `unban`, `chat-plugins`, `grant`, `revoke`, `resume`).
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
        plugboard_people::check_audit_action(action)
            .map_err(|problem| anyhow::anyhow!("--action {problem}"))?;
    }
    let config = BotConfig::load(&args.config.config)?;
    let kept = match plugboard_console::client::AdminClient::find(&config)? {
        Some(bot) => bot.audit(args.action.as_deref(), args.last)?,
        None => {
            let store = super::stopped_store(&config)?;
            let people = super::people_of(&store);
            people.audit_tail(args.action.as_deref(), args.last)?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&kept)?);
        return Ok(());
    }
    print!("{}", table(&kept));
    Ok(())
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
                plugboard_registry_types::dates::date_time(e.at_ms),
                e.actor.clone(),
                e.action.clone(),
                e.subject.clone(),
                e.detail.clone(),
            ]
        }))
        .collect();
    plugboard_console::listing::render_table(&rows, &[19, 48, 16, 48, 200])
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
}
