//! `plugboard plugin new`: a plugin project of its own, outside any
//! workspace, that builds into a component the bot loads: Cargo.toml,
//! `.cargo/config.toml` (the WebAssembly target), plugin.toml, a first
//! command, a README, and with `--provides` an interface of its own for
//! other plugins to call.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Where this `plugboard` was built from, to find the SDK's sources.
const SOURCE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Writes the project of plugin `name` into `parent/<name>`, providing an
/// interface when `provides`; `sdk` is the SDK's directory for a path
/// dependency (found beside this build's sources when `None`; else the
/// SDK is taken from crates.io). Returns the project's directory.
pub fn new_plugin(
    name: &str,
    parent: &Path,
    provides: bool,
    sdk: Option<PathBuf>,
) -> Result<PathBuf> {
    plugboard_registry_types::manifest::check_name(name)
        .map_err(|problem| anyhow::anyhow!("the plugin name {problem}"))?;
    if provides
        && name
            .split('-')
            .any(|word| !word.starts_with(|c: char| c.is_ascii_lowercase()))
    {
        bail!(
            "`{name}` cannot name a WIT package (every word between dashes must start with a letter); choose another name for a plugin that provides an interface"
        );
    }
    let dir = parent.join(name);
    if dir.exists() {
        bail!(
            "{} already exists; choose another name or folder (`--dir`)",
            dir.display()
        );
    }
    let sdk = sdk.or_else(|| {
        let beside = Path::new(SOURCE_ROOT).join("plugin-sdk");
        beside.join("Cargo.toml").exists().then_some(beside)
    });
    let sdk_dependency = match &sdk {
        Some(path) => {
            let path = path
                .canonicalize()
                .with_context(|| format!("the SDK at {}", path.display()))?;
            format!(
                "{{ path = {:?}, features = [\"i18n\"] }}",
                path.display().to_string()
            )
        }
        None => "{ version = \"0.1\", features = [\"i18n\"] }".to_owned(),
    };
    let crate_name = name.replace('-', "_");
    let files = files(name, &crate_name, &sdk_dependency, provides);
    for (path, text) in &files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir)
}

/// The project's files, by path.
/// How both kinds of project's `/hello` finds whom to greet.
const WHO: &str = "        let who = match cmd.args.first() {
            Some(who) => who.clone(),
            None => cmd.message.sender.display_name.clone(),
        };
";

fn files(name: &str, crate_name: &str, sdk: &str, provides: bool) -> Vec<(&'static str, String)> {
    let interface = format!("plugins:{name}/api@0.1.0");
    // `hello-world` → `HelloWorld`.
    let ty: String = name
        .split('-')
        .flat_map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
        })
        .collect();
    let mut files = vec![
        (
            "Cargo.toml",
            format!(
                r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
plugboard-sdk = {sdk}

# A plugin is loaded once and run many times: small and fast.
[profile.release]
opt-level = 3
debug = false
strip = true
lto = true
codegen-units = 1

# Its own workspace, even inside another project's folder.
[workspace]
"#
            ),
        ),
        (
            ".cargo/config.toml",
            "# Plugins are WebAssembly components.\n[build]\ntarget = \"wasm32-wasip2\"\n"
                .to_owned(),
        ),
        (
            "plugin.toml",
            format!(
                r#"name = "{name}"
version = "0.1.0"
description = "Says hello: /hello."
license = "MIT OR Apache-2.0"
wit = "0.2"
permissions = []
{provides_line}
[[commands]]
name = "hello"
usage = "/hello [name]"
help = "Says hello to you, or to <name>."
"#,
                provides_line = if provides {
                    format!("provides = [\"{interface}\"]\n")
                } else {
                    String::new()
                }
            ),
        ),
        (".gitignore", "/target\n/plugin.wasm\n".to_owned()),
        ("README.md", readme(name, crate_name, provides, &interface)),
    ];
    let lib = if provides {
        files.push((
            "wit/api.wit",
            format!(
                r#"package plugins:{name}@0.1.0;

/// What other plugins may call. A plugin that calls it imports this
/// interface, lists it in `imports` and `{name}` in `[dependencies]`.
interface api {{
    /// A greeting for `who`. Every function other plugins call returns
    /// `result<_, string>`: a failure here reaches them as the error.
    greet: func(who: string) -> result<string, string>;
}}

world {name} {{
    export api;
}}
"#
            ),
        ));
        format!(
            r#"//! `{name}`: answers `/hello`, and provides `{interface}` to
//! other plugins.

use plugboard_sdk::prelude::*;

plugboard_sdk::interfaces!({{ path: "wit", world: "{name}" }});

use exports::plugins::{module}::api;

/// The greeting, the one rule for `/hello` and for other plugins.
fn greet(who: &str) -> Result<String> {{
    if who.trim().is_empty() {{
        return Err(Error::invalid_input("whom should I greet?"));
    }}
    Ok(format!("Hello, {{who}}!"))
}}

/// The plugin; it keeps no state.
#[derive(Default)]
pub struct {ty};

impl Plugin for {ty} {{
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {{
{who}        out.reply(greet(&who)?);
        Ok(())
    }}
}}

impl api::Guest for {ty} {{
    fn greet(who: String) -> Result<String, String> {{
        Ok(greet(&who)?)
    }}
}}

plugboard_sdk::export_plugin!({ty}, provides);
"#,
            module = crate_name,
            who = WHO,
        )
    } else {
        format!(
            r#"//! `{name}`: answers `/hello`.

use plugboard_sdk::prelude::*;

/// The plugin; it keeps no state.
#[derive(Default)]
pub struct {ty};

impl Plugin for {ty} {{
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {{
{who}        out.reply(format!("Hello, {{who}}!"));
        Ok(())
    }}
}}

plugboard_sdk::export_plugin!({ty});
"#,
            who = WHO,
        )
    };
    files.push(("src/lib.rs", lib));
    files
}

fn readme(name: &str, crate_name: &str, provides: bool, interface: &str) -> String {
    let provides = if provides {
        format!(
            "\nIt provides `{interface}` (see `wit/api.wit`) to other plugins: they\n\
             import it, list it in `imports`, and list `{name}` in `[dependencies]`.\n"
        )
    } else {
        String::new()
    };
    format!(
        r#"# {name}

Answers `/hello [name]`.
{provides}
## Build and try

```sh
rustup target add wasm32-wasip2      # once
cargo build --release
cp target/wasm32-wasip2/release/{crate_name}.wasm plugin.wasm
```

Then add this folder to your bot's `runtime.plugin_dirs` in
`plugboard.toml`, or package it with `plugboard plugin package .`.
"#
    )
}
