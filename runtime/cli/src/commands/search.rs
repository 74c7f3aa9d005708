//! `plugboard search`: a registry's search, as a table or `--json`.

use anyhow::Result;
use clap::Args;
use plugboard_registry_types::text::one_line;

use super::registry::{Common, client};

/// `plugboard search`.
#[derive(Args)]
pub struct SearchArgs {
    /// Words to look for in names, descriptions and keywords.
    pub query: String,
    /// The page of results, from 1.
    #[arg(long, default_value_t = 1)]
    pub page: u32,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard search`.
pub fn search(args: SearchArgs) -> Result<()> {
    let client = client(&args.common)?;
    let results = client.search(&args.query, args.page)?;
    if args.common.json {
        println!("{}", serde_json::to_string(&results)?);
        return Ok(());
    }
    if results.plugins.is_empty() {
        println!("no plugins match {:?}", args.query);
        return Ok(());
    }
    for hit in &results.plugins {
        // What a registry says is shown escaped and cut, line by line.
        println!(
            "{} {} ({} downloads)\n    {}",
            one_line(&hit.name, 64),
            one_line(&hit.version.to_string(), 64),
            hit.downloads,
            one_line(&hit.description, 300)
        );
    }
    let shown = u64::from(results.meta.page) * u64::from(results.meta.per_page);
    if shown < results.meta.total {
        println!(
            "\n{} more; see the next page with --page {}",
            results.meta.total - shown,
            results.meta.page + 1
        );
    }
    Ok(())
}
