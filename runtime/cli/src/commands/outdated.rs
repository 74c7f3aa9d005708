//! `plugboard outdated`: registry plugins with newer versions.

use anyhow::Result;
use plugboard_console::listing::render_table;
use plugboard_packages::manager::Outdated;
use serde_json::json;

use super::registry::{Common, manager};

/// `plugboard outdated`.
pub fn outdated(common: Common) -> Result<()> {
    let manager = manager(&common)?;
    let found = manager.outdated()?;
    let show = |v: &Option<semver::Version>| v.as_ref().map_or("-".into(), ToString::to_string);
    if common.json {
        let list: Vec<serde_json::Value> = found
            .iter()
            .map(|o: &Outdated| {
                json!({"name": o.name, "installed": o.installed.to_string(),
                       "compatible": show(&o.compatible), "latest": show(&o.latest)})
            })
            .collect();
        println!("{}", json!({ "outdated": list }));
    } else if found.is_empty() {
        println!("every installed plugin is up to date");
    } else {
        let mut rows = vec![["NAME", "INSTALLED", "COMPATIBLE", "LATEST"].map(String::from)];
        rows.extend(found.iter().map(|o| {
            [
                o.name.clone(),
                o.installed.to_string(),
                show(&o.compatible),
                show(&o.latest),
            ]
        }));
        print!("{}", render_table(&rows, &[32, 24, 24, 24]));
        println!("\n`plugboard update` installs the COMPATIBLE versions.");
    }
    Ok(())
}
