//! `plugboard usage`: how often each plugin's commands ran and were
//! refused, per day, from the running bot's admin API or the stopped
//! bot's store.

use anyhow::Result;
use clap::Args;
use plugboard_bot::config::BotConfig;
use plugboard_people::UsageRow;

use crate::ConfigArg;

/// `plugboard usage`.
#[derive(Args)]
pub struct UsageArgs {
    /// How many days back, today included.
    #[arg(long, default_value_t = 7)]
    days: u64,
    /// Print JSON (one array of rows) instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    config: ConfigArg,
}

/// Prints the usage counted in the last `days` days.
pub fn usage(args: UsageArgs) -> Result<()> {
    let config = BotConfig::load(&args.config.config)?;
    let (since, rows) = match plugboard_console::client::AdminClient::find(&config)? {
        Some(bot) => {
            let report = bot.usage(args.days)?;
            (report.since, report.rows)
        }
        None => {
            let store = super::stopped_store(&config)?;
            let people = super::people_of(&store);
            people.usage_of_days(args.days)?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    print!("{}", table(&rows, &since));
    Ok(())
}

/// The rows as a table, or a line saying there are none.
fn table(rows: &[UsageRow], since: &str) -> String {
    if rows.is_empty() {
        return format!("No commands since {since}.\n");
    }
    let header = ["day", "plugin", "command", "ran", "refused"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.day.clone(),
                r.plugin.clone(),
                format!("/{}", r.command),
                r.usage.ran.to_string(),
                r.usage.refused.to_string(),
            ]
        })
        .collect();
    let width = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..5).map(width).collect();
    let line = |cols: [&str; 5]| {
        let mut out = String::new();
        for (i, col) in cols.iter().enumerate() {
            // Text to the left, counts to the right.
            if i < 3 {
                out.push_str(&format!("{col:<w$}  ", w = widths[i]));
            } else {
                out.push_str(&format!("{col:>w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(header);
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4]]));
    }
    out
}
