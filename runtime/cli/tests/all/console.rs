//! The admin listener of `plugboard run`, through the CLI and over HTTP, as
//! an owner uses it while the bot runs.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use crate::console_bot::{ConsoleBot, TOKEN, TOKEN_VAR, plugboard};
use crate::support::PATIENCE;

#[test]
fn with_the_bot_running_the_cli_lists_grants_resumes_and_reads_usage_through_it_at_once_and_audited()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut bot = ConsoleBot::start(
        dir.path(),
        "[plugins.hostile.limits]\nbreaker_failures = 2\nbreaker_window = 2\n",
    )?;
    // notes asks for kv, which nobody granted yet.
    let refused = bot.ask("/remember tea green")?;
    ensure!(!refused.contains("tea"), "remembered without kv: {refused}");
    bot.ask("/boom")?;
    bot.ask("/boom")?;

    let (ok, listed, stderr) = bot.cli(&["plugins", "list", "--json"], Some(TOKEN))?;
    ensure!(ok, "{stderr}");
    let listing: serde_json::Value = serde_json::from_str(&listed)?;
    let row = |name: &str| {
        listing["plugins"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["name"] == name))
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(row("hostile")["status"], "suspended", "{listed}");
    assert_eq!(
        row("notes")["permissions"],
        serde_json::json!([{"name": "kv", "granted": false}]),
        "{listed}"
    );
    let (ok, table, _) = bot.cli(&["plugins", "list"], Some(TOKEN))?;
    ensure!(ok);
    let suspended = table
        .lines()
        .find(|l| l.starts_with("hostile: suspended: it failed 2 of its last 2 events"))
        .with_context(|| format!("no suspension under the table:\n{table}"))?;
    assert!(
        suspended.ends_with("; resume with `plugboard resume hostile`"),
        "{suspended}"
    );

    // Without the token, or with another, the CLI says so and touches
    // nothing (the store is the running bot's).
    let (ok, _, stderr) = bot.cli(&["grant", "notes", "kv"], None)?;
    ensure!(!ok);
    assert!(
        stderr.contains("the bot is running") && stderr.contains("set PLUGBOARD_ADMIN_TOKEN"),
        "{stderr}"
    );
    let (ok, _, stderr) = bot.cli(
        &["grant", "notes", "kv"],
        Some("not-the-token-but-long-enough"),
    )?;
    ensure!(!ok);
    assert!(stderr.contains("refused the admin token"), "{stderr}");

    let (ok, granted, stderr) = bot.cli(&["grant", "notes", "kv"], Some(TOKEN))?;
    ensure!(ok, "{stderr}");
    assert!(
        granted.starts_with("Granted kv for `notes`; it takes effect now."),
        "{granted}"
    );
    // No restart: the next command holds the grant.
    let remembered = bot.ask("/remember tea green")?;
    ensure!(remembered.contains("tea"), "{remembered}");
    assert_eq!(bot.ask("/recall tea")?, "green");

    let (ok, resumed, stderr) = bot.cli(&["resume", "hostile"], Some(TOKEN))?;
    ensure!(ok, "{stderr}");
    assert!(
        resumed
            .starts_with("Resumed `hostile` (it was suspended: it failed 2 of its last 2 events")
            && resumed.trim_end().ends_with("); it runs again now."),
        "{resumed}"
    );
    assert_eq!(bot.ask("/echo back")?, "back");

    let (ok, audit, stderr) = bot.cli(&["audit", "--json"], Some(TOKEN))?;
    ensure!(ok, "{stderr}");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&audit)?;
    let seen: Vec<(&str, &str, &str, &str)> = entries
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or_default();
            (s("actor"), s("action"), s("subject"), s("detail"))
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("admin:api", "grant", "notes", "kv"),
            ("admin:api", "resume", "hostile", "")
        ],
        "{audit}"
    );
    assert!(
        entries
            .iter()
            .all(|e| e["at_ms"].as_u64().is_some_and(|ms| ms > 1_700_000_000_000))
    );

    // Usage counted a moment ago is written before the bot answers.
    let (ok, usage, stderr) = bot.cli(&["usage", "--json"], Some(TOKEN))?;
    ensure!(ok, "{stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&usage)?;
    let ran = |command: &str| {
        rows.iter()
            .find(|r| r["command"] == command)
            .and_then(|r| r["ran"].as_u64())
    };
    assert_eq!(
        (ran("remember"), ran("boom")),
        (Some(2), Some(2)),
        "{usage}"
    );

    // Stopped, the same commands work on the store, and say when.
    bot.stop()?;
    let config = dir.path().join("plugboard.toml");
    let address_file = dir
        .path()
        .join("data")
        .join(plugboard_console::ADDRESS_FILE);
    ensure!(!address_file.exists(), "the address file outlived the bot");
    let mut revoke = plugboard();
    let out = revoke
        .args(["revoke", "notes", "kv", "--config"])
        .arg(&config)
        .env_remove(TOKEN_VAR)
        .output()?;
    let stdout = String::from_utf8(out.stdout)?;
    assert_eq!(
        stdout.trim_end(),
        "Revoked kv for `notes`; it takes effect when the bot starts."
    );
    let out = plugboard()
        .args(["audit", "--action", "revoke", "--json", "--config"])
        .arg(&config)
        .output()?;
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(
        entries[0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("cli:")),
        "{entries:?}"
    );
    Ok(())
}

/// The value of the sample `name` whose labels include `label`.
fn sample(scrape: &prometheus_parse::Scrape, name: &str, label: (&str, &str)) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
        .and_then(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

fn scrape(bot: &ConsoleBot) -> Result<prometheus_parse::Scrape> {
    let (status, text) = bot.get("/metrics", true)?;
    ensure!(status == 200, "{status}: {text}");
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    Ok(prometheus_parse::Scrape::parse(lines)?)
}

#[test]
fn metrics_parse_as_prometheus_text_move_as_events_flow_count_cpu_time_and_need_the_token()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut bot = ConsoleBot::start(dir.path(), "")?;
    assert_eq!(bot.get("/healthz", false)?, (200, "ok\n".into()));
    // Listening comes before serving: ready once the plugins started.
    let started = Instant::now();
    while bot.get("/readyz", false)? != (200, "ready\n".into()) {
        ensure!(started.elapsed() < PATIENCE, "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, body) = bot.get("/metrics", false)?;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("admin token"), "{body}");
    let (status, _) = bot.get("/api/v1/plugins", false)?;
    assert_eq!(status, 401);

    bot.ask("/echo one")?;
    let before = scrape(&bot)?;
    let received = |s: &prometheus_parse::Scrape| {
        sample(
            s,
            "plugboard_events_received_total",
            ("platform", "console"),
        )
    };
    let echoed = |s: &prometheus_parse::Scrape| {
        sample(s, "plugboard_plugin_events_total", ("plugin", "echo"))
    };
    let delivered = |s: &prometheus_parse::Scrape| {
        sample(s, "plugboard_deliveries_total", ("platform", "console"))
    };
    assert_eq!(received(&before), Some(1.0));
    assert_eq!(echoed(&before), Some(1.0));
    assert_eq!(delivered(&before), Some(1.0));
    for text in ["/echo two", "/echo three", "/roll 1d6"] {
        bot.ask(text)?;
    }
    let after = scrape(&bot)?;
    assert_eq!(received(&after), Some(4.0));
    assert_eq!(echoed(&after), Some(3.0));
    assert_eq!(delivered(&after), Some(4.0));
    let plain = |s: &prometheus_parse::Scrape, name: &str| {
        s.samples
            .iter()
            .find(|m| m.metric == name)
            .map(|m| m.value.clone())
    };
    assert_eq!(
        plain(&after, "plugboard_up"),
        Some(prometheus_parse::Value::Gauge(1.0))
    );
    assert_eq!(
        sample(&after, "plugboard_plugin_suspended", ("plugin", "echo")),
        Some(0.0)
    );
    // The store's size is what it has written to disk so far, which its
    // background flush may not have done yet on a busy machine.
    let stored = |s: &prometheus_parse::Scrape| matches!(plain(s, "plugboard_store_size_bytes"), Some(prometheus_parse::Value::Gauge(b)) if b > 0.0);
    let waiting = Instant::now();
    while !stored(&scrape(&bot)?) {
        ensure!(
            waiting.elapsed() < PATIENCE,
            "the store never reported its size"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // A plugin looping until its CPU budget (1,000 ms, 200 ticks of 5 ms)
    // ends it has used that much CPU; echo next to nothing.
    bot.ask("/spin")?;
    let spun = scrape(&bot)?;
    let cpu = |plugin: &str| {
        sample(
            &spun,
            "plugboard_plugin_cpu_seconds_total",
            ("plugin", plugin),
        )
    };
    assert_eq!(cpu("hostile"), Some(1.0));
    assert!(
        cpu("echo").is_some_and(|echo| echo < 1.0),
        "{:?}",
        cpu("echo")
    );
    let (status, openapi) = bot.get("/api/v1/openapi.json", true)?;
    assert_eq!(status, 200);
    let openapi: serde_json::Value = serde_json::from_str(&openapi)?;
    assert_eq!(openapi["openapi"], "3.1.0");
    bot.stop()?;
    Ok(())
}

/// A browser without a cookie jar of its own: cookies are kept by hand,
/// redirects are not followed.
struct Browser {
    http: reqwest::blocking::Client,
    base: String,
    cookies: std::collections::BTreeMap<String, String>,
}

impl Browser {
    fn new(address: &str) -> Result<Self> {
        Ok(Self {
            http: reqwest::blocking::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            base: format!("http://{address}"),
            cookies: Default::default(),
        })
    }

    fn keep(&mut self, response: &reqwest::blocking::Response) {
        for value in response.headers().get_all("set-cookie") {
            let Some((pair, _)) = value.to_str().unwrap_or_default().split_once(';') else {
                continue;
            };
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn cookie_header(&self) -> String {
        let pairs: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        pairs.join("; ")
    }

    /// `GET path`: status, `Location`, body.
    fn get(&mut self, path: &str) -> Result<(u16, String, String)> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()?;
        self.answer(response)
    }

    /// Posts `form` to `path`, from this site unless `origin` says otherwise.
    fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> Result<(u16, String, String)> {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send()?;
        self.answer(response)
    }

    fn answer(&mut self, response: reqwest::blocking::Response) -> Result<(u16, String, String)> {
        self.keep(&response);
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        Ok((status, location, response.text()?))
    }
}

/// The value of the first hidden `csrf` field of a page.
#[test]
fn a_settings_change_through_the_api_is_checked_kept_in_the_config_file_in_place_applied_at_once_and_audited()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut bot = ConsoleBot::start(
        dir.path(),
        "# the owner's note\n[plugins.dice]\n# kept too\nenabled = true\n",
    )?;
    let (status, body) = bot.get("/api/v1/plugins/dice/config", true)?;
    assert_eq!(status, 200, "{body}");
    let shown: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(shown["settings"][0]["name"], "max_dice", "{body}");
    assert_eq!(shown["settings"][0]["default"], 100, "{body}");
    assert!(shown["settings"][0].get("value").is_none(), "{body}");
    let before = std::fs::read_to_string(&bot.config)?;

    // Refused, each problem naming its setting; the file is untouched.
    for (sent, key, says) in [
        (
            serde_json::json!({"max_dice": 500}),
            "max_dice",
            "is above the maximum of 100",
        ),
        (
            serde_json::json!({"max_dice": "many"}),
            "max_dice",
            "is not an integer from 1 to 100",
        ),
        (
            serde_json::json!({"max_die": 3}),
            "max_die",
            "did you mean `max_dice`?",
        ),
    ] {
        let (status, body) = bot.put("/api/v1/plugins/dice/config", &sent)?;
        assert_eq!(status, 422, "{sent}: {body}");
        let refusal: serde_json::Value = serde_json::from_str(&body)?;
        let problem = &refusal["problems"][0];
        assert_eq!(problem["key"], key, "{body}");
        assert!(
            problem["problem"]
                .as_str()
                .unwrap_or_default()
                .contains(says),
            "{body}"
        );
        assert_eq!(std::fs::read_to_string(&bot.config)?, before, "{sent}");
    }
    assert!(
        bot.ask("/roll 5d6")?.starts_with("🎲 5d6"),
        "the old settings still hold"
    );

    // Taken: in the file in place, and in the plugin at once.
    let (status, body) = bot.put(
        "/api/v1/plugins/dice/config",
        &serde_json::json!({"max_dice": 3}),
    )?;
    assert_eq!(status, 200, "{body}");
    let changed: serde_json::Value = serde_json::from_str(&body)?;
    assert_eq!(
        changed["changed"],
        serde_json::json!(["max_dice: default → 3"])
    );
    let after = std::fs::read_to_string(&bot.config)?;
    assert!(
        after.contains("# the owner's note\n[plugins.dice]\n# kept too\nenabled = true\n"),
        "{after}"
    );
    assert!(after.contains("max_dice = 3"), "{after}");
    assert_eq!(bot.ask("/roll 5d6")?, "I roll at most 3 dice at once.");
    assert!(bot.ask("/roll 2d6")?.starts_with("🎲 2d6"));
    let (status, shown) = bot.get("/api/v1/plugins/dice/config", true)?;
    assert_eq!(status, 200);
    assert!(shown.contains("\"value\":3"), "{shown}");

    // A value the plugin's own start refuses: the old text is back in the
    // file and the running instance goes on.
    let (status, body) = bot.put(
        "/api/v1/plugins/remind/config",
        &serde_json::json!({"zone": "Mars/Olympus_Mons"}),
    )?;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("`remind` did not start with the new settings") && body.contains("zone"),
        "{body}"
    );
    assert_eq!(std::fs::read_to_string(&bot.config)?, after);
    let (status, body) = bot.put("/api/v1/plugins/echo/config", &serde_json::json!({"a": 1}))?;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("`echo` declares no settings"), "{body}");

    let (ok, audit, stderr) = bot.cli(&["audit", "--action", "config"], Some(TOKEN))?;
    ensure!(ok, "{stderr}");
    let line = audit
        .lines()
        .find(|l| l.contains("max_dice: default → 3"))
        .with_context(|| format!("no config entry:\n{audit}"))?;
    assert!(
        line.contains("admin:api") && line.contains("dice"),
        "{line}"
    );
    assert!(
        !audit.contains("remind"),
        "a refused change is not recorded:\n{audit}"
    );
    bot.stop()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_stream_shows_events_and_answers_as_they_happen_with_text_only_when_asked_and_needs_the_token()
-> Result<()> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let dir = tempfile::tempdir()?;
    let path = dir.path().to_path_buf();
    // Blocking: it waits for the bot with a blocking client.
    let bot = tokio::task::spawn_blocking(move || ConsoleBot::start(&path, "")).await??;
    let url = |query: &str| format!("ws://{}/api/v1/stream?{query}", bot.address);
    let refused = tokio_tungstenite::connect_async(url("")).await;
    let status = match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        other => anyhow::bail!("connected without the token: {other:?}"),
    };
    assert_eq!(status, 401);

    let open = |query: &str| {
        let mut request = url(query).into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", format!("Bearer {TOKEN}").parse()?);
        anyhow::Ok(request)
    };
    let (mut hidden, _) = tokio_tungstenite::connect_async(open("chat=console:console")?).await?;
    let (mut shown, _) = tokio_tungstenite::connect_async(open("text=true&plugin=echo")?).await?;
    let (mut elsewhere, _) = tokio_tungstenite::connect_async(open("chat=telegram:42")?).await?;
    let mut bot = bot;
    let answer = tokio::task::spawn_blocking(move || {
        let answer = bot.ask("/echo quiet words");
        (bot, answer)
    });
    let event = next(&mut hidden).await?;
    assert_eq!(event["kind"], "event", "{event}");
    assert_eq!(event["event"], "message", "{event}");
    assert_eq!(event["chat"], "console", "{event}");
    assert!(event.get("text").is_none(), "{event}");
    let delivery = next(&mut hidden).await?;
    assert_eq!(delivery["kind"], "delivery", "{delivery}");
    assert_eq!(delivery["plugin"], "echo", "{delivery}");
    assert!(delivery.get("text").is_none(), "{delivery}");
    // Filtered by plugin: only the answer, with its text.
    let answered = next(&mut shown).await?;
    assert_eq!(answered["kind"], "delivery", "{answered}");
    assert_eq!(answered["text"], "quiet words", "{answered}");
    let (bot, answer) = answer.await?;
    assert_eq!(answer?, "quiet words");
    let nothing =
        tokio::time::timeout(std::time::Duration::from_millis(300), elsewhere.next()).await;
    assert!(
        nothing.is_err(),
        "another chat's filter saw it: {nothing:?}"
    );
    drop((hidden, shown, elsewhere));
    tokio::task::spawn_blocking(move || bot.stop()).await?
}

/// The next sighting on a live stream, as JSON.
async fn next<S>(socket: &mut tokio_tungstenite::WebSocketStream<S>) -> Result<serde_json::Value>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use futures_util::StreamExt;
    let message = tokio::time::timeout(crate::support::PATIENCE, socket.next())
        .await?
        .context("the stream ended")??;
    Ok(serde_json::from_str(message.to_text()?)?)
}

#[test]
fn a_webhook_reaches_its_plugin_once_when_signed_and_never_when_not() -> Result<()> {
    use hmac::Mac;
    const SECRET: &str = "a-webhook-secret-of-some-length";
    let dir = tempfile::tempdir()?;
    let mut bot = ConsoleBot::start_with_env(
        dir.path(),
        "[plugins.timers]\ngrants = [\"send-any-chat\"]\n\n\
         [plugins.timers.webhooks.ping]\nsecret_env = \"HOOK_SECRET\"\n",
        &[("HOOK_SECRET", SECRET)],
    )?;
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let sign = |secret: &str, body: &[u8]| -> Result<String> {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())?;
        mac.update(body);
        Ok(format!(
            "sha256={}",
            hex::encode(mac.finalize().into_bytes())
        ))
    };
    let good = sign(SECRET, body)?;
    let wrong = sign("another-secret-of-some-length", body)?;
    let hook = "/hooks/timers/ping";
    let post = |bot: &ConsoleBot, signature: Option<&str>, delivery: &str, body: &[u8]| {
        let mut headers = vec![
            ("content-type", "application/json"),
            ("x-github-event", "push"),
            ("x-github-delivery", delivery),
        ];
        if let Some(signature) = signature {
            headers.push(("x-hub-signature-256", signature));
        }
        bot.post(hook, &headers, body)
    };

    // Refused, and nothing reaches the plugin.
    let (status, said) = post(&bot, Some(&wrong), "d-1", body)?;
    assert_eq!(status, 401, "{said}");
    assert!(said.contains("wrong signature"), "{said}");
    assert_eq!(post(&bot, None, "d-1", body)?.0, 401);
    let tampered = br#"{"zen":"Keep it logically awful."}"#;
    assert_eq!(post(&bot, Some(&good), "d-1", tampered)?.0, 401);
    let big = vec![b'x'; 2048];
    let (status, said) = post(&bot, Some(&sign(SECRET, &big)?), "d-2", &big)?;
    assert_eq!(status, 413, "{said}");
    let (status, _) = bot.post(
        "/hooks/timers/other",
        &[("x-hub-signature-256", &good)],
        body,
    )?;
    assert_eq!(status, 404);
    let (status, _) = bot.post(
        "/hooks/nobody/ping",
        &[("x-hub-signature-256", &good)],
        body,
    )?;
    assert_eq!(status, 404);

    // Signed: delivered once, whatever the sender retries.
    let (status, said) = post(&bot, Some(&good), "d-1", body)?;
    assert_eq!(status, 200, "{said}");
    let first = bot.ask("/echo after the webhook")?;
    assert_eq!(
        first, r#"webhook ping (d-1, push): {"zen":"Keep it logically awesome."}"#,
        "the first thing the console shows is the one delivery"
    );
    assert_eq!(bot.ask("/echo and then")?, "after the webhook");
    let (status, said) = post(&bot, Some(&good), "d-1", body)?;
    assert_eq!(status, 200);
    assert!(said.contains("delivered before"), "{said}");
    assert_eq!(
        bot.ask("/echo nothing came in between")?,
        "and then",
        "a retry of a delivery is not delivered again"
    );
    bot.stop()
}

#[test]
fn an_api_token_sends_to_the_chats_it_names_only_until_it_is_revoked() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut bot = ConsoleBot::start(dir.path(), "")?;
    let client = reqwest::blocking::Client::builder().no_proxy().build()?;
    let address = bot.address.clone();
    let url = |path: &str| format!("http://{address}{path}");
    let made: serde_json::Value = client
        .post(url("/api/v1/tokens"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"name": "ci", "chats": ["console:console"]}))
        .send()?
        .error_for_status()?
        .json()?;
    let token = made["token"].as_str().context("a token")?.to_owned();
    let id = made["id"].as_str().context("an id")?.to_owned();
    let send = |token: &str, chat: &str, text: &str| -> Result<(u16, String)> {
        let response = client
            .post(url("/api/v1/send"))
            .bearer_auth(token)
            .json(&serde_json::json!({"chat": chat, "text": text}))
            .send()?;
        Ok((response.status().as_u16(), response.text()?))
    };
    let (status, said) = send(&token, "console:console", "the build is green")?;
    assert_eq!(status, 200, "{said}");
    assert_eq!(bot.ask("/echo next")?, "the build is green");
    assert_eq!(bot.ask("/echo after")?, "next");
    let (status, said) = send(&token, "telegram:42", "elsewhere")?;
    assert_eq!(status, 403, "{said}");
    assert!(said.contains("may not send to `telegram:42`"), "{said}");
    assert_eq!(
        send(TOKEN, "console:console", "with the admin token")?.0,
        401
    );
    assert_eq!(send("pbt_0123", "console:console", "made up")?.0, 401);
    let listed = bot.get("/api/v1/tokens", true)?.1;
    assert!(
        listed.contains("\"name\":\"ci\"") && !listed.contains(&token),
        "{listed}"
    );
    let revoked: serde_json::Value = client
        .delete(url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(TOKEN)
        .send()?
        .json()?;
    assert_eq!(revoked["revoked"], true);
    assert_eq!(send(&token, "console:console", "too late")?.0, 401);
    assert_eq!(bot.ask("/echo nothing came in between")?, "after");
    let (ok, audit, stderr) = bot.cli(&["audit", "--action", "api-token"], Some(TOKEN))?;
    ensure!(ok, "{stderr}");
    assert!(
        audit.contains("created") && audit.contains("revoked"),
        "{audit}"
    );
    bot.stop()
}

fn csrf_of(page: &str) -> Result<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).context("no csrf field")? + marker.len();
    let end = page[start..].find('"').context("unterminated csrf field")?;
    Ok(page[start..start + end].to_owned())
}

#[test]
fn the_owner_signs_in_grants_turns_a_plugin_off_in_a_chat_and_reads_usage_audit_and_log()
-> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut bot = ConsoleBot::start(dir.path(), "")?;
    let mut browser = Browser::new(&bot.address)?;
    assert_eq!(
        browser.get("/")?.0,
        303,
        "signed out, the overview sends to the sign-in"
    );
    let (status, _, page) = browser.get("/signin")?;
    assert_eq!(status, 200);
    let csrf = csrf_of(&page)?;

    let (status, _, page) = browser.post(
        "/signin",
        &[("csrf", &csrf), ("token", "not-the-token")],
        None,
    )?;
    assert_eq!(status, 401);
    assert!(
        page.contains("That is not this bot&#39;s admin token")
            || page.contains("That is not this bot's admin token"),
        "{page}"
    );
    let (status, _, _) = browser.post("/signin", &[("csrf", "forged"), ("token", TOKEN)], None)?;
    assert_eq!(status, 403, "a sign-in without the form's token is refused");
    let (status, location, _) =
        browser.post("/signin", &[("csrf", &csrf), ("token", TOKEN)], None)?;
    assert_eq!((status, location.as_str()), (303, "/"));
    assert!(browser.cookies.contains_key("plugboard_console"));

    bot.ask("/echo hello")?;
    let (status, _, overview) = browser.get("/")?;
    assert_eq!(status, 200);
    assert!(
        overview.contains("<th scope=\"row\">console</th>"),
        "{overview}"
    );
    assert!(overview.contains("1 received"), "{overview}");

    let (status, _, plugins) = browser.get("/plugins")?;
    assert_eq!(status, 200);
    assert!(
        plugins.contains("Grant kv<span class=\"visually-hidden\"> for notes"),
        "{plugins}"
    );
    let csrf = csrf_of(&plugins)?;
    let form = [("csrf", csrf.as_str()), ("permission", "kv")];
    let (status, _, _) =
        browser.post("/plugins/notes/grant", &form, Some("http://evil.example"))?;
    assert_eq!(status, 403, "a form posted from another site is refused");
    let (status, _, _) = browser.post(
        "/plugins/notes/grant",
        &[("csrf", "forged"), ("permission", "kv")],
        None,
    )?;
    assert_eq!(status, 403);
    let (status, location, _) = browser.post("/plugins/notes/grant", &form, None)?;
    assert_eq!((status, location.as_str()), (303, "/plugins"));
    let (_, _, plugins) = browser.get("/plugins")?;
    assert!(
        plugins.contains("Granted kv for notes; it takes effect now."),
        "{plugins}"
    );
    assert!(
        plugins.contains("Revoke kv<span class=\"visually-hidden\"> for notes"),
        "{plugins}"
    );
    let remembered = bot.ask("/remember tea green")?;
    ensure!(remembered.contains("tea"), "{remembered}");

    let (ok, audit, stderr) = bot.cli(&["audit", "--json", "--action", "grant"], Some(TOKEN))?;
    ensure!(ok, "{stderr}");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&audit)?;
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["actor"], "admin:web");

    // Turned off in the console's chat, echo is refused there.
    let form = [
        ("csrf", csrf.as_str()),
        ("chat", "console:console"),
        ("plugin", "echo"),
        ("action", "off"),
    ];
    let (status, location, _) = browser.post("/chats", &form, None)?;
    assert_eq!((status, location.as_str()), (303, "/plugins"));
    let (_, _, plugins) = browser.get("/plugins")?;
    assert!(
        plugins.contains("Turned echo off in console:console."),
        "{plugins}"
    );
    assert!(
        plugins.contains("<th scope=\"row\"><code>console:console</code></th>"),
        "{plugins}"
    );
    let refused = bot.ask("/echo anyone?")?;
    assert!(
        refused.starts_with("/echo is turned off in this chat"),
        "{refused}"
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("chat", "console:console"),
        ("action", "all"),
    ];
    browser.post("/chats", &form, None)?;
    assert_eq!(bot.ask("/echo back")?, "back");
    let (_, _, plugins) = browser.get("/plugins")?;
    assert!(
        plugins.contains("Every plugin serves console:console again."),
        "{plugins}"
    );
    let form = [
        ("csrf", csrf.as_str()),
        ("chat", "nowhere"),
        ("plugin", "echo"),
        ("action", "off"),
    ];
    browser.post("/chats", &form, None)?;
    let (_, _, plugins) = browser.get("/plugins")?;
    assert!(
        plugins.contains("`nowhere` is not a chat; name it as platform:id"),
        "{plugins}"
    );

    let (status, _, audit) = browser.get("/audit?action=grant")?;
    assert_eq!(status, 200);
    assert!(
        audit.contains("<td>admin:web</td><td>grant</td><td>notes</td><td>kv</td>"),
        "{audit}"
    );
    assert!(
        !audit.contains("<td>chat-plugins</td>"),
        "filtered: {audit}"
    );
    let (_, _, audit) = browser.get("/audit")?;
    assert!(
        audit.contains("<td>chat-plugins</td><td>console:console</td><td>off echo</td>"),
        "{audit}"
    );
    let (_, _, audit) = browser.get("/audit?action=bann")?;
    assert!(
        audit.contains("is not an action the audit log records"),
        "{audit}"
    );
    let (status, _, usage) = browser.get("/usage?days=1")?;
    assert_eq!(status, 200);
    assert!(
        usage
            .contains("<th scope=\"row\"><code>/echo</code></th><td>echo</td><td>2</td><td>1</td>"),
        "{usage}"
    );

    // The log page finds the warning the wrong sign-in left.
    let (status, _, log) = browser.get("/logs?q=WRONG+token")?;
    assert_eq!(status, 200);
    assert!(
        log.contains(" WARN console: a sign-in with a wrong token</code>"),
        "{log}"
    );
    let (_, _, log) = browser.get("/logs?q=wrong+token&level=error")?;
    assert!(log.contains("No lines match."), "{log}");

    let (status, location, _) = browser.post("/signout", &[("csrf", &csrf)], None)?;
    assert_eq!((status, location.as_str()), (303, "/signin"));
    assert_eq!(browser.get("/plugins")?.0, 303, "signed out again");
    bot.stop()?;
    Ok(())
}
