//! `plugboard install`, `update` and `remove`: plan with the package
//! manager, show the plan with the permissions it asks for, and carry it
//! out once the owner accepts (`--yes`, or a prompt), as text or `--json`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use clap::Args;
use plugboard_packages::{Change, Manager, Plan};
use plugboard_registry_types::text::escape;
use semver::VersionReq;
use serde_json::json;

use super::registry::{Common, manager};

/// `plugboard install`.
#[derive(Args)]
pub struct InstallArgs {
    /// Plugins to install: `poll`, `poll@^1.2`, `poll@1.2.3` (cargo's
    /// requirement syntax; a bare version means `^version`).
    #[arg(required = true)]
    pub plugins: Vec<String>,
    /// Accept the permissions the plugins ask for without asking.
    #[arg(long, short)]
    pub yes: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard update`.
#[derive(Args)]
pub struct UpdateArgs {
    /// Plugins to update; all when none are named.
    pub plugins: Vec<String>,
    /// Accept new permissions without asking.
    #[arg(long, short)]
    pub yes: bool,
    #[command(flatten)]
    pub common: Common,
}

/// `plugboard remove`.
#[derive(Args)]
pub struct RemoveArgs {
    /// Plugins to remove.
    #[arg(required = true)]
    pub plugins: Vec<String>,
    #[command(flatten)]
    pub common: Common,
}

/// Parses `name` or `name@requirement`.
pub fn parse_spec(spec: &str) -> Result<(String, VersionReq)> {
    let (name, req) = match spec.split_once('@') {
        Some((name, req)) => (name, req.trim()),
        None => (spec, "*"),
    };
    plugboard_registry_types::manifest::check_name(name)
        .map_err(|problem| anyhow::anyhow!("`{name}` is not a plugin name: it {problem}"))?;
    let req: VersionReq = req.parse().with_context(|| {
        format!("`{req}` in `{spec}` is not a version requirement; write e.g. `{name}@^1.2`")
    })?;
    Ok((name.to_owned(), req))
}

/// `plugboard install`.
pub fn install(args: InstallArgs) -> Result<()> {
    let wanted = args
        .plugins
        .iter()
        .map(|s| parse_spec(s))
        .collect::<Result<Vec<_>>>()?;
    let manager = manager(&args.common)?;
    let plan = manager.plan_install(&wanted)?;
    carry_out(&manager, plan, args.yes, args.common.json)
}

/// `plugboard update`.
pub fn update(args: UpdateArgs) -> Result<()> {
    let manager = manager(&args.common)?;
    let plan = manager.plan_update(&args.plugins)?;
    carry_out(&manager, plan, args.yes, args.common.json)
}

/// `plugboard remove`.
pub fn remove(args: RemoveArgs) -> Result<()> {
    let manager = manager(&args.common)?;
    let plan = manager.plan_remove(&args.plugins)?;
    carry_out(&manager, plan, true, args.common.json)
}

/// Shows the plan, asks for the permissions, fetches, and switches.
fn carry_out(manager: &Manager, mut plan: Plan, yes: bool, json: bool) -> Result<()> {
    if plan.is_empty() {
        if json {
            println!("{}", json!({ "changes": [] }));
        } else {
            println!("nothing to do: the installed plugins already match");
        }
        return Ok(());
    }
    if !json {
        for change in &plan.changes {
            // Names and versions come from the registry: shown escaped.
            println!("{}", escape(&change.to_string(), false));
        }
        if plan.changes.is_empty() {
            println!("the installed versions already meet the new requirements; recording them");
        }
    }
    let asks = plan.permissions();
    if !asks.is_empty() {
        if !json {
            println!();
            for (name, permissions) in &asks {
                println!("{name} asks to:");
                for p in *permissions {
                    println!("  - {} ({p})", p.describe());
                }
            }
        }
        if !yes {
            let terminal = std::io::stdin().is_terminal() && !json;
            if !terminal {
                bail!(
                    "these plugins ask for permissions; run again with --yes to grant them, or \
                     interactively to be asked"
                );
            }
            print!("Grant these permissions and go ahead? [y/N] ");
            std::io::stdout().flush().ok();
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                bail!("nothing was changed");
            }
        }
    }
    let bars = indicatif::MultiProgress::new();
    if json || !std::io::stderr().is_terminal() {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut current: Option<(String, indicatif::ProgressBar)> = None;
    let style =
        indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:30}] {bytes}/{total_bytes}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    manager.fetch(&mut plan, &mut |name, got, total| {
        let fresh = current.as_ref().is_none_or(|(n, _)| n != name);
        if fresh {
            if let Some((_, bar)) = current.take() {
                bar.finish();
            }
            let bar = bars.add(indicatif::ProgressBar::new(total.unwrap_or(0)));
            bar.set_style(style.clone());
            bar.set_prefix(name.to_owned());
            current = Some((name.to_owned(), bar));
        }
        if let Some((_, bar)) = &current {
            bar.set_position(got);
        }
    })?;
    if let Some((_, bar)) = current.take() {
        bar.finish();
    }
    let changes = plan.changes.clone();
    manager.apply(plan)?;
    // After the switch: compile what is new, so the bot loads it at once.
    for problem in manager.warm_compile_cache() {
        // The problem quotes the component (names in it are the publisher's).
        eprintln!(
            "warning: {}; the bot will refuse this plugin (a running bot puts the previous \
             plugins back)",
            escape(&problem.to_string(), false)
        );
    }
    if json {
        let list: Vec<serde_json::Value> = changes.iter().map(change_json).collect();
        println!("{}", json!({ "changes": list }));
    } else {
        println!(
            "done. A running `plugboard run` picks the new plugin set up by itself; otherwise it \
             loads at the next start."
        );
    }
    Ok(())
}

fn change_json(change: &Change) -> serde_json::Value {
    match change {
        Change::Install {
            name,
            version,
            permissions,
            dependency,
        } => json!({
            "action": "install", "name": name, "version": version.to_string(),
            "permissions": permissions, "dependency": dependency,
        }),
        Change::Update {
            name,
            from,
            to,
            new_permissions,
            new_key,
        } => json!({
            "action": "update", "name": name, "from": from.to_string(), "to": to.to_string(),
            "permissions": new_permissions, "new_key": new_key,
        }),
        Change::Remove { name, version } => json!({
            "action": "remove", "name": name, "version": version.to_string(),
        }),
        _ => json!({ "action": "unknown" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_like_cargo() -> Result<()> {
        assert_eq!(parse_spec("poll")?, ("poll".into(), VersionReq::STAR));
        assert_eq!(parse_spec("poll@1.2")?.1, "^1.2".parse()?);
        assert_eq!(parse_spec("poll@=1.2.3")?.1, "=1.2.3".parse()?);
        assert!(parse_spec("Poll").is_err());
        assert!(parse_spec("poll@banana").is_err());
        Ok(())
    }
}
