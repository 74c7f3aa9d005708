//! A new publisher, from nothing to a published plugin, with the registry
//! serving throughout: an account, an API token and a signing key (the
//! proof `plugboard key register --print-proof` prints, pasted) on the
//! marketplace's web pages, then the real `plugboard publish`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use plugboard_registry::{Config, Registry};
use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};

use crate::packages::BotDir;
use crate::support::{plugins_dir, shared_cache};

/// A browser without JavaScript: a cookie jar, no redirects followed.
struct Browser {
    base: String,
    client: Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new(base: &str) -> Result<Self> {
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .timeout(Duration::from_secs(30))
                .build()?,
            cookies: BTreeMap::new(),
        })
    }

    fn keep_cookies(&mut self, response: &Response) {
        for set in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some((name, value)) = set
                .to_str()
                .ok()
                .and_then(|s| s.split(';').next())
                .and_then(|pair| pair.split_once('='))
            else {
                continue;
            };
            self.cookies
                .insert(name.trim().to_owned(), value.to_owned());
        }
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        pairs.join("; ")
    }

    /// The page at `path`: its status and HTML.
    fn get(&mut self, path: &str) -> Result<(StatusCode, String)> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()?;
        self.keep_cookies(&response);
        Ok((response.status(), response.text()?))
    }

    /// Submits the form at `path` with `fields`, and the CSRF token the
    /// page `from` carried, as a browser would.
    fn submit(
        &mut self,
        from: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Result<(StatusCode, String)> {
        let (status, page) = self.get(from)?;
        ensure!(status == StatusCode::OK, "{from}: {status}\n{page}");
        let csrf = between(&page, "name=\"csrf\" value=\"", "\"")
            .with_context(|| format!("{from} has a form with a CSRF token"))?
            .to_owned();
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .form(&form)
            .send()?;
        self.keep_cookies(&response);
        Ok((response.status(), response.text()?))
    }
}

/// The text of `page` between `start` and the next `end`.
fn between<'a>(page: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = page.find(start)? + start.len();
    let len = page[from..].find(end)?;
    Some(&page[from..from + len])
}

#[test]
fn a_new_publisher_makes_an_account_token_and_key_on_the_web_and_publishes_with_plugboard()
-> Result<()> {
    // A registry with no account at all, serving until the end.
    let dir = tempfile::tempdir()?;
    let registry = Registry::open(&dir.path().join("registry"), Config::default())?;
    let (runtime, url) = crate::packages::serve(registry)?;

    // On the web: an account, then a token that may publish.
    let mut browser = Browser::new(&url)?;
    let (status, page) = browser.submit(
        "/signup",
        "/signup",
        &[
            ("username", "nadia"),
            ("password", "a long enough password"),
            ("next", "/"),
        ],
    )?;
    ensure!(status == StatusCode::SEE_OTHER, "sign-up: {status}\n{page}");
    let (status, page) = browser.submit(
        "/account",
        "/account/tokens",
        &[("name", "laptop"), ("publish", "on")],
    )?;
    ensure!(status == StatusCode::OK, "new token: {status}\n{page}");
    let token = between(&page, "<code id=\"token-secret\">", "</code>")
        .context("the new token is shown once")?
        .trim()
        .to_owned();

    // A key made with the real CLI, registered on the web, and the plugin
    // published with the CLI, signed with it.
    let bot = BotDir::new_for(&url, &shared_cache(), "")?;
    let work = tempfile::tempdir()?;
    let key = work.path().join("signing.key");
    let key_arg = key.display().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugboard"))
        .args(["key", "generate", &key_arg])
        .output()?;
    ensure!(out.status.success(), "{out:?}");
    let said = String::from_utf8_lossy(&out.stdout);
    let key_id = between(&said, "(key id ", ")")
        .with_context(|| format!("a key id in {said:?}"))?
        .to_owned();
    // The proof `key register` would send, pasted on the account page.
    let proof = bot.expect(
        &token,
        &["key", "register", "--key", &key_arg, "--print-proof"],
        true,
    )?;
    let (status, page) = browser.submit("/account", "/account/keys", &[("key", proof.trim())])?;
    ensure!(
        status == StatusCode::OK || status == StatusCode::SEE_OTHER,
        "pasted key: {status}\n{page}"
    );
    let (_, page) = browser.get("/account")?;
    ensure!(page.contains(&key_id), "key {key_id} shows on the page");

    let plugin = work.path().join("nadias-echo");
    std::fs::create_dir_all(&plugin)?;
    std::fs::copy(
        plugins_dir().join("echo").join("plugin.wasm"),
        plugin.join("plugin.wasm"),
    )?;
    let mut manifest: toml::Table =
        std::fs::read_to_string(plugins_dir().join("echo").join("plugin.toml"))?.parse()?;
    manifest.insert("name".into(), "nadias-echo".into());
    manifest.insert("version".into(), "1.0.0".into());
    std::fs::write(plugin.join("plugin.toml"), toml::to_string(&manifest)?)?;
    std::fs::write(plugin.join("README.md"), "# nadias-echo\n\nRepeats you.\n")?;
    let plugin_arg = plugin.display().to_string();
    let said = bot.expect(&token, &["publish", &plugin_arg, "--key", &key_arg], true)?;
    ensure!(said.contains("published nadias-echo 1.0.0"), "{said}");

    // The server never stopped: the plugin's page is up, under her name.
    let (status, page) = browser.get("/plugins/nadias-echo")?;
    ensure!(status == StatusCode::OK, "{status}");
    ensure!(page.contains("nadia"), "the page names its publisher");
    runtime.shutdown_background();
    Ok(())
}
