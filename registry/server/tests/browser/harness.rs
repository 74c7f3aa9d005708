//! A WebDriver harness for the browser tests: a headless Chromium driven by
//! its own chromedriver through [`fantoccini`], plus the checks the
//! marketplace pages need (axe-core accessibility audit, horizontal overflow,
//! clipboard, screenshots).
//!
//! Every [`Browser`] owns a private chromedriver on a free `127.0.0.1` port, a
//! private Chromium profile in a temporary directory and one WebDriver session,
//! so tests may start browsers in parallel. Chromium is started with
//! `--remote-debugging-pipe`: it exits as soon as its chromedriver does, so
//! killing chromedriver (which [`Drop`] does, also while a failing test
//! unwinds) never leaves a browser behind.
//!
//! A new browser's window is 1280x900, which makes a 1280x761 viewport (the
//! rest is browser UI that headless Chromium does not draw); call
//! [`Browser::set_viewport`] for an exact viewport size. The first tab
//! emulates focus ([`Browser::emulate_focus`]), as a user's active window has.
//!
//! Tools are found through environment variables (relative paths are resolved
//! against the workspace root), with the locations that
//! `cargo xtask browser-setup` installs to as defaults:
//!
//! | variable                 | default                                                         |
//! |--------------------------|-----------------------------------------------------------------|
//! | `PLUGBOARD_CHROMIUM`     | `/usr/bin/chromium`                                             |
//! | `PLUGBOARD_CHROMEDRIVER` | `/usr/bin/chromedriver`                                         |
//! | `PLUGBOARD_AXE`          | `<workspace>/target/web-tools/node_modules/axe-core/axe.min.js` |
//! | `PLUGBOARD_SCREENSHOTS`  | `<workspace>/target/screenshots` (where screenshots are written) |

// Not every test module uses every helper.
#![allow(dead_code)]

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// What to do when a tool is missing; part of every such error message.
const SETUP_HINT: &str = "run `cargo xtask test` (it installs chromium, chromium-driver and axe-core) \
     or `apt-get install chromium chromium-driver` and `cargo xtask browser-setup`";

/// Chromium flags: headless, and nothing that reaches out to Google's services
/// (without the networking flags start-up stalls on an offline machine).
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--force-device-scale-factor=1",
    "--lang=en-US",
    "--mute-audio",
    // Chromedriver talks to Chromium over a pipe rather than a TCP port, so
    // Chromium exits when its chromedriver dies, however that happens.
    "--remote-debugging-pipe",
];

/// The window size every browser starts with.
const WINDOW: (u32, u32) = (1280, 900);
/// How long chromedriver and Chromium may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long [`Browser::wait_for`] and [`Browser::wait_until`] wait.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a deadline-bounded wait polls.
const POLL: Duration = Duration::from_millis(25);
/// How long an asynchronous script (axe, the clipboard) may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a page may take to load.
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Drop`] waits for Chromium to exit after chromedriver is killed.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The workspace root: two levels above this crate (`registry/server`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| manifest.to_path_buf(), Path::to_path_buf)
}

/// A path from the environment variable `var` (relative to the workspace
/// root), else `default`.
fn tool_path(var: &str, default: impl FnOnce() -> PathBuf) -> PathBuf {
    match std::env::var_os(var) {
        Some(path) if !path.is_empty() => workspace_root().join(path),
        _ => default(),
    }
}

/// An existing file from `var` or `default`, or an error that says how to get it.
fn find_tool(what: &str, var: &str, default: impl FnOnce() -> PathBuf) -> Result<PathBuf> {
    let path = tool_path(var, default);
    ensure!(
        path.is_file(),
        "{what} not found at {} (set {var} to use another one): {SETUP_HINT}",
        path.display()
    );
    Ok(path)
}

/// The directory screenshots go to: `$PLUGBOARD_SCREENSHOTS` (relative to the
/// workspace root) or `<workspace>/target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    let root = workspace_root();
    match std::env::var_os("PLUGBOARD_SCREENSHOTS") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target").join("screenshots"),
    }
}

/// An axe-core rule violation on the current page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The axe rule, e.g. `image-alt`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    /// What the rule asks for, e.g. "Images must have alternative text".
    pub help: String,
    /// The offending elements: CSS selector, HTML snippet and axe's summary
    /// of what to fix.
    pub nodes: Vec<String>,
}

impl Violation {
    /// Whether the impact is `serious` or `critical`.
    pub fn is_serious(&self) -> bool {
        matches!(self.impact.as_deref(), Some("serious" | "critical"))
    }

    /// Parses one entry of the violation list the axe script returns.
    fn from_json(value: &Value) -> Result<Violation> {
        let str_field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
        let id =
            str_field("id").with_context(|| format!("axe violation without an id: {value}"))?;
        let nodes = value
            .get("nodes")
            .and_then(Value::as_array)
            .map(|nodes| nodes.iter().map(describe_node).collect())
            .unwrap_or_default();
        Ok(Violation {
            help: str_field("help").unwrap_or_else(|| id.clone()),
            impact: str_field("impact"),
            id,
            nodes,
        })
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let impact = self.impact.as_deref().unwrap_or("unknown impact");
        write!(f, "{} ({impact}): {}", self.id, self.help)?;
        for node in &self.nodes {
            write!(f, "\n    - {node}")?;
        }
        Ok(())
    }
}

/// One line per offending element: `selector: <html> (what to fix)`.
fn describe_node(node: &Value) -> String {
    fn selector(target: &Value) -> String {
        match target {
            Value::String(s) => s.clone(),
            // Nested arrays step into iframes and shadow roots.
            Value::Array(parts) => parts.iter().map(selector).collect::<Vec<_>>().join(" >>> "),
            other => other.to_string(),
        }
    }
    let target = node.get("target").map(selector).unwrap_or_default();
    let html = node.get("html").and_then(Value::as_str).unwrap_or_default();
    let mut line = format!("{target}: {html}");
    if let Some(summary) = node.get("failureSummary").and_then(Value::as_str) {
        let summary = summary.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        line.push_str(&format!(" ({summary})"));
    }
    line
}

/// Renders violations for a failing assertion, one block per rule.
pub fn report<'a>(violations: impl IntoIterator<Item = &'a Violation>) -> String {
    let blocks: Vec<String> = violations.into_iter().map(ToString::to_string).collect();
    if blocks.is_empty() {
        "no violations".to_owned()
    } else {
        blocks.join("\n")
    }
}

/// The chromedriver process of one [`Browser`], killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium session with its own chromedriver and profile.
///
/// Dropping it kills chromedriver (and with it Chromium) and removes the
/// profile; [`Browser::close`] ends the session politely first and reports
/// errors.
pub struct Browser {
    client: Client,
    driver: Option<Driver>,
    /// Chromium's process id, to wait for its exit before removing `dir`.
    chromium_pid: Option<u32>,
    /// The profile, chromedriver's log and Chromium's config directory.
    dir: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free 127.0.0.1 port and a headless Chromium
    /// session (window 1280x900).
    pub async fn start() -> Result<Browser> {
        let chromium = find_tool("Chromium", "PLUGBOARD_CHROMIUM", || {
            PathBuf::from("/usr/bin/chromium")
        })?;
        let chromedriver = find_tool("chromedriver", "PLUGBOARD_CHROMEDRIVER", || {
            PathBuf::from("/usr/bin/chromedriver")
        })?;
        let dir = tempfile::Builder::new()
            .prefix("plugboard-browser-")
            .tempdir()
            .context("creating a temporary directory for the browser profile")?;

        // Another process may take the free port before chromedriver binds
        // it; chromedriver then exits at once and a new port is tried.
        let mut attempt = 0;
        let driver = loop {
            attempt += 1;
            match spawn_driver(&chromedriver, dir.path()).await? {
                Spawned::Ready(driver) => break driver,
                Spawned::Exited(why) if attempt < 3 => {
                    eprintln!("browser harness: chromedriver exited early ({why}); retrying");
                }
                Spawned::Exited(why) => {
                    bail!(
                        "chromedriver ({}) exited during start-up: {why}\n{}",
                        chromedriver.display(),
                        logs(dir.path())
                    )
                }
            }
        };
        // On error `driver` is dropped, which kills chromedriver (and Chromium).
        let client = match connect(&chromium, dir.path(), &driver).await {
            Ok(client) => client,
            Err(e) => bail!("{e:#}\n{}", logs(dir.path())),
        };
        let chromium_pid = client
            .capabilities()
            .and_then(|caps| caps.get("goog:processID"))
            .and_then(Value::as_u64)
            .and_then(|pid| u32::try_from(pid).ok());
        let browser = Browser {
            client,
            driver: Some(driver),
            chromium_pid,
            dir,
        };
        browser.emulate_focus().await?;
        Ok(browser)
    }

    /// Makes the current tab behave as if its window had the system focus
    /// (`document.hasFocus()`, focus rings, the clipboard API): a headless
    /// window never gets it. [`Browser::start`] does this for the first tab.
    pub async fn emulate_focus(&self) -> Result<()> {
        self.cdp(
            "Emulation.setFocusEmulationEnabled",
            json!({ "enabled": true }),
        )
        .await
        .map(drop)
    }

    /// The tails of chromedriver's and Chromium's logs, for diagnosing a
    /// failing test.
    pub fn logs(&self) -> String {
        logs(self.dir.path())
    }

    /// The underlying WebDriver client, for anything the helpers lack.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Navigates to `url` and waits for its `load` event.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("navigating to {url}"))
    }

    /// The URL of the current page.
    pub async fn current_url(&self) -> Result<String> {
        let url = self.client.current_url().await.context("reading the URL")?;
        Ok(url.to_string())
    }

    /// The title of the current page.
    pub async fn title(&self) -> Result<String> {
        self.client.title().await.context("reading the page title")
    }

    /// Resizes the window so that the viewport (`window.innerWidth` x
    /// `window.innerHeight`, in CSS pixels, scrollbars included as in media
    /// queries) is exactly `width` x `height`.
    pub async fn set_viewport(&self, width: u32, height: u32) -> Result<()> {
        let (mut outer_w, mut outer_h) = (width, height);
        let mut last = (0, 0);
        // The window is larger than its viewport by the browser UI (in
        // headless Chromium 148: 0px wide, 139px high, though nothing is
        // drawn). That difference is measured rather than assumed, and
        // compensated; a minimum window size would be reported below.
        for _ in 0..4 {
            self.client
                .set_window_size(outer_w, outer_h)
                .await
                .with_context(|| format!("resizing the window to {outer_w}x{outer_h}"))?;
            let inner = self
                .eval("return [window.innerWidth, window.innerHeight];")
                .await?;
            let dim = |i: usize| {
                inner
                    .get(i)
                    .and_then(Value::as_i64)
                    .with_context(|| format!("unexpected viewport size {inner}"))
            };
            let (inner_w, inner_h) = (dim(0)?, dim(1)?);
            last = (inner_w, inner_h);
            if (inner_w, inner_h) == (i64::from(width), i64::from(height)) {
                return Ok(());
            }
            let adjust = |outer: u32, want: u32, got: i64| -> Result<u32> {
                let adjusted = i64::from(outer) + i64::from(want) - got;
                u32::try_from(adjusted)
                    .ok()
                    .filter(|&w| w > 0)
                    .with_context(|| format!("cannot size the window for a {want}px viewport"))
            };
            outer_w = adjust(outer_w, width, inner_w)?;
            outer_h = adjust(outer_h, height, inner_h)?;
        }
        bail!(
            "could not set the viewport to {width}x{height}: it stays {}x{} \
             (Chromium may enforce a minimum window size)",
            last.0,
            last.1
        )
    }

    /// Runs axe-core on the current page and returns its violations.
    ///
    /// axe is injected into the page on first use (WebDriver scripts are not
    /// subject to the page's Content-Security-Policy).
    pub async fn axe(&self) -> Result<Vec<Violation>> {
        let loaded = self
            .eval("return typeof window.axe === 'object' && typeof window.axe.run === 'function';")
            .await?;
        if loaded != Value::Bool(true) {
            let path = find_tool("axe-core (axe.min.js)", "PLUGBOARD_AXE", || {
                workspace_root().join("target/web-tools/node_modules/axe-core/axe.min.js")
            })?;
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let script = format!("{source}\n;return typeof window.axe === 'object';");
            let injected = self
                .client
                .execute(&script, Vec::new())
                .await
                .with_context(|| format!("injecting {} into the page", path.display()))?;
            ensure!(
                injected == Value::Bool(true),
                "{} did not define `window.axe` (is it axe-core's browser build?)",
                path.display()
            );
        }
        let outcome = self
            .eval_async(
                "const done = arguments[arguments.length - 1];
                 window.axe
                   .run(document, { resultTypes: ['violations'] })
                   .then(r => done({ ok: r.violations }))
                   .catch(e => done({ err: String((e && e.stack) || e) }));",
            )
            .await
            .context("running axe")?;
        let violations = outcome_value(outcome, "axe.run")?;
        violations
            .as_array()
            .with_context(|| format!("axe returned {violations} instead of a list"))?
            .iter()
            .map(Violation::from_json)
            .collect()
    }

    /// The violations whose impact is `serious` or `critical`.
    pub fn serious(violations: &[Violation]) -> Vec<&Violation> {
        violations.iter().filter(|v| v.is_serious()).collect()
    }

    /// Runs axe and fails, listing them, when there are serious or critical
    /// violations; `page` names the page in the message.
    pub async fn assert_accessible(&self, page: &str) -> Result<()> {
        let violations = self.axe().await?;
        let serious = Self::serious(&violations);
        ensure!(
            serious.is_empty(),
            "{page}: {} serious accessibility violation(s):\n{}",
            serious.len(),
            report(serious.iter().copied())
        );
        Ok(())
    }

    /// Whether the page scrolls sideways: the document (or the body) is wider
    /// than the viewport without its vertical scrollbar
    /// (`document.documentElement.clientWidth`, which is `window.innerWidth`
    /// less the scrollbar headless Chromium draws).
    pub async fn has_horizontal_scroll(&self) -> Result<bool> {
        let wide = self
            .eval(
                "const root = document.documentElement, body = document.body;
                 const width = Math.max(root.scrollWidth, body ? body.scrollWidth : 0);
                 return width > root.clientWidth;",
            )
            .await?;
        wide.as_bool()
            .with_context(|| format!("unexpected overflow check result {wide}"))
    }

    /// The elements that stick out of the viewport on the right, as
    /// `tag#id.class (right edge px)`, outermost first: what to look at when
    /// [`Browser::has_horizontal_scroll`] is true.
    pub async fn overflowing_elements(&self) -> Result<Vec<String>> {
        let found = self
            .eval(
                "const limit = document.documentElement.clientWidth;
                 const out = [];
                 for (const el of document.body.querySelectorAll('*')) {
                   const right = el.getBoundingClientRect().right + window.scrollX;
                   if (right > limit + 0.5) {
                     let name = el.tagName.toLowerCase();
                     if (el.id) name += '#' + el.id;
                     for (const c of el.classList) name += '.' + c;
                     out.push(name + ' (right edge ' + Math.round(right) + 'px)');
                   }
                 }
                 return out;",
            )
            .await?;
        serde_json::from_value(found).context("reading the overflowing elements")
    }

    /// Saves a PNG of the viewport as `<dir>/<name>.png` (see
    /// [`screenshot_dir`]) and returns its path. `name` may contain letters,
    /// digits, `-`, `_` and `.`.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        ensure!(
            !name.is_empty()
                && !name.starts_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')),
            "screenshot name {name:?} must be letters, digits, `-`, `_` and `.`"
        );
        let png = self
            .client
            .screenshot()
            .await
            .context("taking a screenshot")?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Grants the pages of the current origin the `clipboard-read` and
    /// `clipboard-write` permissions (WebDriver "Set Permission"), so that
    /// [`Browser::clipboard_text`] can read what a page copied.
    ///
    /// Permissions belong to an origin: navigate to the site under test
    /// first.
    pub async fn grant_clipboard(&self) -> Result<()> {
        let origin = self.eval("return window.location.origin;").await?;
        ensure!(
            origin
                .as_str()
                .is_some_and(|o| o.starts_with("http://") || o.starts_with("https://")),
            "grant_clipboard: the current page ({}) is not on a web origin to grant \
             the clipboard to; navigate to the site under test first",
            self.current_url().await?
        );
        for name in ["clipboard-read", "clipboard-write"] {
            self.client
                .issue_cmd(SessionCommand {
                    method: axum::http::Method::POST,
                    path: "permissions",
                    body: json!({ "descriptor": { "name": name }, "state": "granted" }),
                })
                .await
                .with_context(|| format!("granting the {name} permission"))?;
        }
        Ok(())
    }

    /// The text on the clipboard (`navigator.clipboard.readText()`); needs
    /// [`Browser::grant_clipboard`].
    pub async fn clipboard_text(&self) -> Result<String> {
        // Reading the clipboard needs a focused document; this tab may be a
        // new one that `start` did not set up.
        self.emulate_focus().await?;
        let outcome = self
            .eval_async(
                "const done = arguments[arguments.length - 1];
                 navigator.clipboard
                   .readText()
                   .then(text => done({ ok: text }))
                   .catch(e => done({ err: String(e) }));",
            )
            .await
            .context("reading the clipboard")?;
        let text = outcome_value(outcome, "navigator.clipboard.readText()")?;
        text.as_str()
            .map(str::to_owned)
            .with_context(|| format!("the clipboard held {text} instead of text"))
    }

    /// Runs `script` as the body of a function in the page and returns its
    /// `return` value.
    pub async fn eval(&self, script: &str) -> Result<Value> {
        self.client
            .execute(script, Vec::new())
            .await
            .with_context(|| format!("running script `{}`", abbreviate(script)))
    }

    /// Runs an asynchronous `script`: it gets a callback as its last argument
    /// (`arguments[arguments.length - 1]`) and its result is what the callback
    /// is called with.
    pub async fn eval_async(&self, script: &str) -> Result<Value> {
        self.client
            .execute_async(script, Vec::new())
            .await
            .with_context(|| format!("running async script `{}`", abbreviate(script)))
    }

    /// Waits until `condition` (a JavaScript expression) is truthy on the
    /// current page, for up to 10 s.
    pub async fn wait_until(&self, condition: &str) -> Result<()> {
        let script = format!("return !!({condition});");
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            if self.eval(&script).await? == Value::Bool(true) {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "`{condition}` still false after {WAIT_TIMEOUT:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The first element matching the CSS selector `css`.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.client
            .find(Locator::Css(css))
            .await
            .with_context(|| format!("finding `{css}`"))
    }

    /// Every element matching `css`.
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .with_context(|| format!("finding all `{css}`"))
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> Result<usize> {
        Ok(self.find_all(css).await?.len())
    }

    /// Waits up to 10 s for an element matching `css` to appear.
    pub async fn wait_for(&self, css: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(WAIT_TIMEOUT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("waiting {WAIT_TIMEOUT:?} for `{css}`"))
    }

    /// The rendered text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String> {
        self.find(css)
            .await?
            .text()
            .await
            .with_context(|| format!("reading the text of `{css}`"))
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Result<Option<String>> {
        self.find(css)
            .await?
            .attr(name)
            .await
            .with_context(|| format!("reading `{name}` of `{css}`"))
    }

    /// Clicks the first element matching `css`, as a user would (the element
    /// must be visible and not covered).
    pub async fn click(&self, css: &str) -> Result<()> {
        self.find(css)
            .await?
            .click()
            .await
            .with_context(|| format!("clicking `{css}`"))
    }

    /// Replaces the value of the input matching `css` by typing `value`.
    pub async fn fill(&self, css: &str, value: &str) -> Result<()> {
        let input = self.find(css).await?;
        input
            .clear()
            .await
            .with_context(|| format!("clearing `{css}`"))?;
        input
            .send_keys(value)
            .await
            .with_context(|| format!("typing into `{css}`"))
    }

    /// Sends the Chrome DevTools Protocol command `method` with `params` to
    /// the current tab (chromedriver's `goog/cdp/execute`) and returns its
    /// result, e.g. `cdp("Emulation.setEmulatedMedia", json!({ "features":
    /// [{ "name": "prefers-color-scheme", "value": "dark" }] }))`.
    pub async fn cdp(&self, method: &str, params: Value) -> Result<Value> {
        self.client
            .issue_cmd(SessionCommand {
                method: axum::http::Method::POST,
                path: "goog/cdp/execute",
                body: json!({ "cmd": method, "params": params }),
            })
            .await
            .with_context(|| format!("sending the DevTools command {method}"))
    }

    /// Ends the session (Chromium exits), stops chromedriver and removes the
    /// profile, reporting errors that [`Drop`] would swallow.
    pub async fn close(self) -> Result<()> {
        let closed = self.client.clone().close().await;
        // `Drop` stops chromedriver, waits for Chromium and removes the profile.
        drop(self);
        closed.context("ending the WebDriver session")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing chromedriver closes Chromium's pipe.
        drop(self.driver.take());
        // Chromium notices that its pipe closed and exits; wait for it so the
        // profile is not removed under its feet, and kill it if it lingers.
        if let Some(pid) = self.chromium_pid.take()
            && !wait_for_exit(pid, EXIT_TIMEOUT)
        {
            // std cannot signal an arbitrary process; the shell's `kill` can.
            let _ = Command::new("sh")
                .args(["-c", "kill -KILL \"$0\"", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
            wait_for_exit(pid, EXIT_TIMEOUT);
        }
    }
}

/// Polls `/proc` until process `pid` is gone (or a zombie); false on timeout.
fn wait_for_exit(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let stat = PathBuf::from(format!("/proc/{pid}/stat"));
    loop {
        let alive = match std::fs::read_to_string(&stat) {
            // The state follows the parenthesised command name.
            Ok(text) => text
                .rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
            Err(_) => false,
        };
        if !alive {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

enum Spawned {
    Ready(Driver),
    Exited(String),
}

/// Starts chromedriver on a free port and waits until it accepts connections.
async fn spawn_driver(chromedriver: &Path, dir: &Path) -> Result<Spawned> {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .context("finding a free port for chromedriver")?
        .port();
    let output = std::fs::File::create(dir.join("chromedriver.out"))
        .context("creating chromedriver's output file")?;
    let errors = output
        .try_clone()
        .context("sharing chromedriver's output file")?;
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .arg(format!(
            "--log-path={}",
            dir.join("chromedriver.log").display()
        ))
        // Chromium keeps crash reports under $XDG_CONFIG_HOME: not in ~/.config.
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::null())
        .stdout(output)
        .stderr(errors)
        .spawn()
        .with_context(|| format!("starting {}", chromedriver.display()))?;
    let mut driver = Driver { child, port };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = driver
            .child
            .try_wait()
            .context("checking on chromedriver")?
        {
            return Ok(Spawned::Exited(format!("{status} on port {port}")));
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(Spawned::Ready(driver));
        }
        if Instant::now() >= deadline {
            drop(driver);
            bail!(
                "chromedriver did not listen on port {port} within {START_TIMEOUT:?}\n{}",
                logs(dir)
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Opens a WebDriver session on `driver`, which launches Chromium.
async fn connect(chromium: &Path, dir: &Path, driver: &Driver) -> Result<Client> {
    let profile = dir.join("profile");
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&f| f.to_owned()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
    let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    let caps = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": {
            "script": millis(SCRIPT_TIMEOUT),
            "pageLoad": millis(PAGE_LOAD_TIMEOUT),
        },
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": args,
        },
    });
    let Value::Object(caps) = caps else {
        bail!("capabilities must be a JSON object");
    };
    let caps: Capabilities = caps;
    let url = format!("http://127.0.0.1:{}", driver.port);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let mut builder = ClientBuilder::new(connector);
    builder.capabilities(caps);
    let try_it = format!(
        "(does `{} --headless --no-sandbox --dump-dom about:blank` work?)",
        chromium.display()
    );
    // Over a pipe chromedriver does not notice when Chromium dies during
    // start-up, so watch for that here rather than wait for the timeout.
    let driver_pid = driver.child.id();
    let watch = async {
        while !has_exited_child(driver_pid) {
            tokio::time::sleep(POLL).await;
        }
    };
    tokio::select! {
        session = builder.connect(&url) => session.with_context(|| {
            format!("starting a headless Chromium ({}) session", chromium.display())
        }),
        () = watch => bail!("Chromium ({}) exited during start-up {try_it}", chromium.display()),
        () = tokio::time::sleep(START_TIMEOUT) => {
            bail!("Chromium ({}) did not start within {START_TIMEOUT:?} {try_it}", chromium.display())
        }
    }
}

/// Whether process `parent` has a child that exited but was not reaped.
fn has_exited_child(parent: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|entry| {
        let is_pid = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        if !is_pid {
            return false;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid …`; `comm` may contain spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or_default();
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        ppid == Some(parent) && matches!(state, "Z" | "X")
    })
}

/// The tails of chromedriver's log and output and of Chromium's own log, for
/// start-up errors.
fn logs(dir: &Path) -> String {
    const TAIL: usize = 4000;
    let mut out = String::new();
    for (what, file) in [
        ("chromedriver output", dir.join("chromedriver.out")),
        ("chromedriver log", dir.join("chromedriver.log")),
        ("Chromium log", dir.join("profile").join("chrome_debug.log")),
    ] {
        let mut text = String::new();
        if std::fs::File::open(&file)
            .and_then(|mut f| f.read_to_string(&mut text))
            .is_err()
            || text.trim().is_empty()
        {
            continue;
        }
        let start = text.len().saturating_sub(TAIL);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        out.push_str(&format!("--- {what} ---\n{}\n", text[start..].trim_end()));
    }
    if out.is_empty() {
        out.push_str("(chromedriver and Chromium logged nothing)");
    }
    out
}

/// Unwraps the `{ ok }` / `{ err }` object the asynchronous scripts return.
fn outcome_value(outcome: Value, what: &str) -> Result<Value> {
    match outcome {
        Value::Object(mut map) => {
            if let Some(err) = map.remove("err") {
                let err = err.as_str().map_or_else(|| err.to_string(), str::to_owned);
                bail!("{what} failed in the page: {err}");
            }
            map.remove("ok")
                .with_context(|| format!("{what} returned no result"))
        }
        other => bail!("{what} returned {other}"),
    }
}

/// The first line of a script, shortened, for error messages.
fn abbreviate(script: &str) -> String {
    let line = script.trim().lines().next().unwrap_or_default();
    if line.chars().count() > 80 || script.trim().lines().nth(1).is_some() {
        format!("{}…", line.chars().take(80).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// A WebDriver command on the current session that fantoccini lacks:
/// `method` `/session/{id}/{path}` with a JSON `body`.
#[derive(Debug)]
struct SessionCommand {
    method: axum::http::Method,
    path: &'static str,
    body: Value,
}

impl WebDriverCompatibleCommand for SessionCommand {
    // fantoccini's trait speaks `url::Url` and `http::Method`; they are
    // reached through reqwest and axum, which re-export the same crates.
    fn endpoint(
        &self,
        base_url: &reqwest::Url,
        session_id: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        // Without a session chromedriver answers "invalid session id".
        let session = session_id.unwrap_or("none");
        base_url.join(&format!("session/{session}/{}", self.path))
    }

    fn method_and_body(&self, _request_url: &reqwest::Url) -> (axum::http::Method, Option<String>) {
        (self.method.clone(), Some(self.body.to_string()))
    }
}
