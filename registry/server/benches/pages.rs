//! Server time of the marketplace pages at the size issue 8 names: 1,000
//! plugins with 50 reviews each.
//!
//! Run with: `RUST_LIB_BACKTRACE=0 cargo bench -p plugboard-registry --bench pages`
//! (after `cargo xtask plugins`, which stages `target/plugins/`).
//!
//! Everything goes through the real router ([`plugboard_registry::app`])
//! in-process with `tower::ServiceExt::oneshot`, so the figures are the
//! server's own time (routing, extractors, store reads, rendering, the
//! body), without a socket or a client. Setup: 1,000 signed packages
//! published through `PUT /api/v1/plugins/new` (the staged `notes`
//! component under 1,000 names, each with a 4 KiB README), 50 accounts
//! made through `POST /signup`, and 50,000 reviews posted through
//! `POST /plugins/<name>/reviews`. Then each row renders a page
//! `--rounds=N` (default 5) times for 200 plugins and reports the median,
//! p99 and worst time. "first view" is each plugin page's first render
//! (its README rendered and sanitised), the other plugin rows hit the
//! README cache. The last two rows write before each render of the home
//! page: a review (the rating summaries are re-read) or a yank (the
//! in-memory catalog of 1,000 plugins is rebuilt).

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use plugboard_package::{Checksum, SigningKey, pack};
use plugboard_registry::api::{KEY_ID_HEADER, NewKey, SIGNATURE_HEADER};
use plugboard_registry::{Config, RateLimit, Registry, Scope, app};
use tower::ServiceExt as _;

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

const PLUGINS: usize = 1_000;
const REVIEWERS: usize = 50;
const SAMPLED: usize = 200;
/// Signed out, any 64 hex digits work as a CSRF token: the form must echo
/// the cookie. Signed in, the token is the session's, read from a page.
const CSRF: &str = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";

fn main() -> Result<()> {
    let rounds: usize = std::env::args()
        .find_map(|a| a.strip_prefix("--rounds=").and_then(|v| v.parse().ok()))
        .unwrap_or(5);
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(rounds))
}

/// Plugin names made of letters no look-alike rule confuses.
fn name(i: usize) -> String {
    const LETTERS: &[u8] = b"abcdefghjkpqstuvwxyz";
    let mut suffix = String::new();
    let mut n = i;
    for _ in 0..3 {
        suffix.push(char::from(LETTERS[n % LETTERS.len()]));
        n /= LETTERS.len();
    }
    format!("bench-{suffix}")
}

async fn send(
    app: &Router,
    request: Request<Body>,
) -> Result<(StatusCode, axum::http::HeaderMap, usize)> {
    let response = app.clone().oneshot(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    Ok((status, headers, body.len()))
}

/// The CSRF token in the forms of `/` for the visitor with `cookie`.
async fn csrf_token(app: &Router, cookie: &str) -> Result<String> {
    let request = Request::get("/")
        .header(header::COOKIE, cookie)
        .body(Body::empty())?;
    let response = app.clone().oneshot(request).await?;
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let page = String::from_utf8_lossy(&body);
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .ok_or_else(|| "the signed-in home page has no form with a CSRF token".into())
}

fn form(path: &str, cookie: &str, body: String) -> Result<Request<Body>> {
    Ok(Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))?)
}

/// What the rows after the seeding need.
struct Seeded {
    /// The last reviewer's cookie and CSRF token.
    cookie: String,
    csrf: String,
    /// The publisher's API token and the version every plugin has.
    api_token: String,
    version: String,
}

/// Seeds the registry.
async fn seed(app: &Router, registry: &Registry) -> Result<Seeded> {
    let token = registry.create_token("publisher", Scope::ALL)?;
    let token_for_api = token.clone();
    let key = SigningKey::generate()?;
    let body = serde_json::to_vec(&NewKey {
        public_key: key.public_key().to_string(),
        proof: key
            .prove_possession(&Checksum::of(token.as_bytes()))
            .to_string(),
    })?;
    let request = Request::post("/api/v1/keys")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))?;
    let (status, _, _) = send(app, request).await?;
    if !status.is_success() {
        return Err(format!("registering the key: {status}").into());
    }
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/plugins/notes");
    if !source.join("plugin.wasm").exists() {
        return Err(format!(
            "{} has no plugin.wasm: run `cargo xtask plugins` first",
            source.display()
        )
        .into());
    }
    let manifest: toml::Table = std::fs::read_to_string(source.join("plugin.toml"))?.parse()?;
    let readme = format!(
        "# A benchmark plugin\n\n{}\n\n## Usage\n\n```\n/note add milk\n```\n\n| command | what |\n|---|---|\n| /note | notes |\n",
        "Plugins keep notes for a chat, with **Markdown** and [links](https://example.com). "
            .repeat(48)
    );
    let started = Instant::now();
    for i in 0..PLUGINS {
        let name = name(i);
        let dir = tempfile::tempdir()?;
        std::fs::copy(source.join("plugin.wasm"), dir.path().join("plugin.wasm"))?;
        let mut table = manifest.clone();
        table.insert("name".into(), name.as_str().into());
        table.insert(
            "categories".into(),
            toml::Value::Array(vec![["games", "tools", "fun", "moderation"][i % 4].into()]),
        );
        std::fs::write(dir.path().join("plugin.toml"), toml::to_string(&table)?)?;
        std::fs::write(dir.path().join("README.md"), &readme)?;
        let package = pack(dir.path())?;
        let request = Request::put("/api/v1/plugins/new")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(SIGNATURE_HEADER, key.sign(package.checksum()).to_string())
            .header(KEY_ID_HEADER, key.public_key().key_id())
            .header(header::CONTENT_TYPE, "application/gzip")
            .body(Body::from(package.bytes().to_vec()))?;
        let (status, _, _) = send(app, request).await?;
        if status != StatusCode::CREATED {
            return Err(format!("publishing {name}: {status}").into());
        }
    }
    println!(
        "published {PLUGINS} plugins in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut cookie = String::new();
    let mut token = String::new();
    for reviewer in 0..REVIEWERS {
        let user = format!("reviewer-{}", name(reviewer).trim_start_matches("bench-"));
        let (status, headers, _) = send(
            app,
            form(
                "/signup",
                &format!("pb_csrf={CSRF}"),
                format!("csrf={CSRF}&username={user}&password=a+long+enough+password&next=%2F"),
            )?,
        )
        .await?;
        let session = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| c.strip_prefix("pb_session="))
            .and_then(|c| c.split(';').next())
            .ok_or(format!("signing up {user}: {status}"))?
            .to_owned();
        cookie = format!("pb_csrf={CSRF}; pb_session={session}");
        token = csrf_token(app, &cookie).await?;
        for i in 0..PLUGINS {
            let rating = 1 + (i + reviewer) % 5;
            let body = format!(
                "csrf={token}&rating={rating}&body=Review+{reviewer}+of+plugin+{i}%3A+it+does+what+it+says%2C+mostly.+{}",
                "More+words+about+it.+".repeat(8)
            );
            let (status, _, _) = send(
                app,
                form(&format!("/plugins/{}/reviews", name(i)), &cookie, body)?,
            )
            .await?;
            if status != StatusCode::SEE_OTHER {
                return Err(format!("reviewing {}: {status}", name(i)).into());
            }
        }
    }
    println!(
        "posted {} reviews by {REVIEWERS} accounts in {:.1} s",
        PLUGINS * REVIEWERS,
        started.elapsed().as_secs_f64()
    );
    let version = manifest
        .get("version")
        .and_then(|v| v.as_str())
        .unwrap_or("0.1.0")
        .to_owned();
    Ok(Seeded {
        cookie,
        csrf: token,
        api_token: token_for_api,
        version,
    })
}

/// Renders `path` and returns the server time and the page's size.
async fn time(app: &Router, path: &str) -> Result<(Duration, usize)> {
    let request = Request::get(path)
        .header(header::COOKIE, format!("pb_csrf={CSRF}"))
        .body(Body::empty())?;
    let started = Instant::now();
    let (status, _, len) = send(app, request).await?;
    let elapsed = started.elapsed();
    if status != StatusCode::OK || len == 0 {
        return Err(format!("GET {path}: {status}").into());
    }
    Ok((elapsed, len))
}

fn report(row: &str, renders: Vec<(Duration, usize)>) {
    let size = renders.iter().map(|(_, len)| len).sum::<usize>() / renders.len().max(1);
    let mut times: Vec<Duration> = renders.into_iter().map(|(t, _)| t).collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "{row:<40} {:>5} renders of {:>3} KiB  median {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms",
        times.len(),
        size / 1024,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        at(1.0).as_secs_f64() * 1e3,
    );
}

async fn run(rounds: usize) -> Result<()> {
    let data = tempfile::tempdir()?;
    let mut config = Config::default();
    config.publish_rate = RateLimit::new(u32::MAX, Duration::from_secs(1));
    config.signin_rate = RateLimit::new(u32::MAX, Duration::from_secs(1));
    config.write_rate = RateLimit::new(u32::MAX, Duration::from_secs(1));
    let registry = Registry::open(data.path(), config)?;
    let app = app(registry.clone());
    let seeded = seed(&app, &registry).await?;

    let step = PLUGINS / SAMPLED;
    let sampled: Vec<String> = (0..SAMPLED)
        .map(|i| format!("/plugins/{}", name(i * step)))
        .collect();
    println!(
        "server time per page, in-process (RUST_LIB_BACKTRACE={}), {} cores:",
        std::env::var("RUST_LIB_BACKTRACE").unwrap_or_else(|_| "unset".into()),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let mut first = Vec::new();
    for path in &sampled {
        first.push(time(&app, path).await?);
    }
    report("plugin page, first view", first);
    let mut warm = Vec::new();
    for _ in 0..rounds {
        for path in &sampled {
            warm.push(time(&app, path).await?);
        }
    }
    report("plugin page (50 reviews, 4 KiB README)", warm);
    for (row, path) in [
        ("home (1,000 plugins)", "/"),
        ("search `bench` (page 1 of 50)", "/search?q=bench"),
        ("search, best rated", "/search?sort=rating"),
        ("category page", "/categories/games"),
    ] {
        let mut times = Vec::new();
        for _ in 0..rounds * 20 {
            times.push(time(&app, path).await?);
        }
        report(row, times);
    }
    // A review makes the next list page re-read the rating summaries.
    let mut reread = Vec::new();
    for round in 0..rounds * 4 {
        let body = format!("csrf={}&rating={}&body=edited", seeded.csrf, 1 + round % 5);
        let request = form("/plugins/bench-aaa/reviews", &seeded.cookie, body)?;
        let (status, _, _) = send(&app, request).await?;
        if status != StatusCode::SEE_OTHER {
            return Err(format!("editing a review: {status}").into());
        }
        reread.push(time(&app, "/").await?);
    }
    report("home after a review (ratings re-read)", reread);
    // A yank makes the next list page rebuild the catalog.
    let mut rebuilt = Vec::new();
    for round in 0..rounds * 4 {
        let (method, action) = if round % 2 == 0 {
            ("DELETE", "yank")
        } else {
            ("PUT", "unyank")
        };
        let request = Request::builder()
            .method(method)
            .uri(format!(
                "/api/v1/plugins/bench-aab/{}/{action}",
                seeded.version
            ))
            .header(
                header::AUTHORIZATION,
                format!("Bearer {}", seeded.api_token),
            )
            .body(Body::empty())?;
        let (status, _, _) = send(&app, request).await?;
        if status != StatusCode::OK {
            return Err(format!("{action}: {status}").into());
        }
        rebuilt.push(time(&app, "/").await?);
    }
    report("home after a yank (catalog rebuilt)", rebuilt);
    Ok(())
}
