//! Requests per second of `GET /index/<name>` on loopback.
//!
//! Run with: `RUST_LIB_BACKTRACE=0 cargo bench -p plugboard-registry --bench index_load`
//! (after `cargo xtask plugins`, which stages `target/plugins/`).
//!
//! Starts the real registry ([`plugboard_registry::serve`]) on 127.0.0.1:0
//! in this process, on a multi-thread tokio runtime like the binary's (one
//! worker per core), and publishes the staged `echo` plugin as `echo`
//! (one version) and as `dice` (ten versions), signed, through the HTTP
//! API. Then a load generator on its own tokio runtime keeps
//! `--connections=N` (default 64) keep-alive HTTP/1.1 connections busy, each
//! sending one request, reading the whole response, and sending the next,
//! for `--seconds=N` (default 5) per row, and counts responses. Rows: the
//! two index files answered in full (200), and answered `304 Not Modified`
//! to an `If-None-Match` with their current ETag.
//!
//! The load generator is a minimal HTTP/1.1 client written here (one write,
//! read headers, read `Content-Length` bytes), about as cheap as `wrk`, so
//! that little of the machine goes to the client. Client and server share
//! the machine's cores, as they do with `wrk` or `oha` on one host.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use plugboard_package::{Checksum, SigningKey, pack};
use plugboard_registry::api::{KEY_ID_HEADER, NewKey, SIGNATURE_HEADER};
use plugboard_registry::{Config, RateLimit, Registry, Scope};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

fn main() -> Result<()> {
    let seconds: u64 = arg("seconds").unwrap_or(5);
    let connections: usize = arg("connections").unwrap_or(64);

    let data = tempfile::tempdir()?;
    let mut config = Config::default();
    config.publish_rate = RateLimit::new(1000, Duration::from_secs(60));
    // One load generator on one address: the per-address request rate
    // would time 429s instead of the server.
    config.request_rate = RateLimit::new(0, Duration::from_secs(10));
    let registry = Registry::open(data.path(), config)?;
    let token = registry.create_token("bench", Scope::ALL)?;
    let server = tokio::runtime::Runtime::new()?;
    let listener = server.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    server.spawn(plugboard_registry::serve(
        listener,
        registry,
        std::future::pending(),
    ));

    let client = tokio::runtime::Runtime::new()?;
    client.block_on(publish(&format!("http://{addr}"), &token))?;

    println!(
        "GET /index/<name> on {addr}, {connections} keep-alive connections, {seconds} s per row, \
         {} cores shared by client and server",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!();
    println!("| request | status | body bytes | responses/s |");
    println!("|---|---:|---:|---:|");
    for name in ["echo", "dice"] {
        let (etag, body) = client.block_on(probe(addr, name))?;
        for conditional in [false, true] {
            let mut request = format!("GET /index/{name} HTTP/1.1\r\nHost: {addr}\r\n");
            if conditional {
                request.push_str(&format!("If-None-Match: {etag}\r\n"));
            }
            request.push_str("\r\n");
            let expected = if conditional { 304 } else { 200 };
            let rate = client.block_on(load(
                addr,
                request.into_bytes(),
                expected,
                connections,
                Duration::from_secs(seconds),
            ))?;
            println!(
                "| `/index/{name}` ({} line{}){} | {expected} | {} | {rate:.0} |",
                body.lines().count(),
                if body.lines().count() == 1 { "" } else { "s" },
                if conditional { ", `If-None-Match`" } else { "" },
                if conditional { 0 } else { body.len() },
            );
        }
    }
    drop(client);
    server.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

/// `--name=value` from the command line (cargo bench adds `--bench`).
fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let prefix = format!("--{name}=");
    std::env::args().find_map(|a| a.strip_prefix(&prefix).and_then(|v| v.parse().ok()))
}

/// The staged plugin `name`: `target/plugins/<name>`.
fn staged(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/plugins")
        .join(name);
    assert!(
        dir.join("plugin.wasm").exists(),
        "{} has no plugin.wasm: run `cargo xtask plugins` first",
        dir.display()
    );
    dir
}

/// Registers a key and publishes `echo` 0.1.0 and `dice` 0.1.0–0.10.0
/// (both from the `echo` component).
async fn publish(url: &str, token: &str) -> Result<()> {
    let http = reqwest::Client::builder().no_proxy().build()?;
    let key = SigningKey::generate()?;
    http.post(format!("{url}/api/v1/keys"))
        .bearer_auth(token)
        .json(&NewKey {
            public_key: key.public_key().to_string(),
            proof: key
                .prove_possession(&Checksum::of(token.as_bytes()))
                .to_string(),
        })
        .send()
        .await?
        .error_for_status()?;
    let source = staged("echo");
    let manifest = std::fs::read_to_string(source.join("plugin.toml"))?;
    let mut releases = vec![("echo", "0.1.0".to_owned())];
    releases.extend((1..=10).map(|minor| ("dice", format!("0.{minor}.0"))));
    for (name, version) in releases {
        let dir = tempfile::tempdir()?;
        std::fs::copy(source.join("plugin.wasm"), dir.path().join("plugin.wasm"))?;
        let mut table: toml::Table = manifest.parse()?;
        table.insert("name".into(), name.into());
        table.insert("version".into(), version.as_str().into());
        std::fs::write(dir.path().join("plugin.toml"), toml::to_string(&table)?)?;
        std::fs::write(
            dir.path().join("README.md"),
            format!("# {name}\n\nA plugin for the index benchmark.\n"),
        )?;
        let package = pack(dir.path())?;
        let signature = key.sign(package.checksum());
        let response = http
            .put(format!("{url}/api/v1/plugins/new"))
            .bearer_auth(token)
            .header(SIGNATURE_HEADER, signature.to_string())
            .header(KEY_ID_HEADER, key.public_key().key_id())
            .header("content-type", "application/gzip")
            .body(package.bytes().to_vec())
            .send()
            .await?;
        if !response.status().is_success() {
            return Err(format!(
                "publishing {name} {version}: {}",
                response.text().await.unwrap_or_default()
            )
            .into());
        }
    }
    Ok(())
}

/// One plain GET: the ETag and the body.
async fn probe(addr: std::net::SocketAddr, name: &str) -> Result<(String, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!("GET /index/{name} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let mut buf = Vec::new();
    let (status, head_len, body_len) = exchange(&mut stream, request.as_bytes(), &mut buf).await?;
    if status != 200 {
        return Err(format!("GET /index/{name}: status {status}").into());
    }
    let head = String::from_utf8_lossy(&buf[..head_len]).into_owned();
    let etag = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("etag"))
        })
        .map(|(_, v)| v.trim().to_owned())
        .ok_or("no ETag")?;
    let body = String::from_utf8_lossy(&buf[head_len..head_len + body_len]).into_owned();
    Ok((etag, body))
}

/// Responses per second with `connections` connections sending `request`
/// back to back for `length`.
async fn load(
    addr: std::net::SocketAddr,
    request: Vec<u8>,
    expected: u16,
    connections: usize,
    length: Duration,
) -> Result<f64> {
    let request: Arc<[u8]> = request.into();
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (request, stop, count) = (Arc::clone(&request), Arc::clone(&stop), Arc::clone(&count));
        tasks.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut buf = Vec::with_capacity(4096);
            while !stop.load(Ordering::Relaxed) {
                let (status, _, _) = exchange(&mut stream, &request, &mut buf).await?;
                if status != expected {
                    return Err(format!("status {status}, expected {expected}").into());
                }
                count.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    // Warm up for a tenth of the time, then count.
    tokio::time::sleep(length / 10).await;
    let before = count.load(Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(length).await;
    let counted = count.load(Ordering::Relaxed) - before;
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    Ok(counted as f64 / elapsed.as_secs_f64())
}

/// Sends `request` and reads one response into `buf`: the status, the
/// length of the head (through the blank line) and of the body.
async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> Result<(u16, usize, usize)> {
    stream.write_all(request).await?;
    buf.clear();
    let mut chunk = [0u8; 8192];
    let mut head: Option<(u16, usize, usize)> = None;
    loop {
        if head.is_none()
            && let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n")
        {
            head = Some(parse_head(&buf[..end + 4])?);
        }
        if let Some((status, head_len, body_len)) = head
            && buf.len() >= head_len + body_len
        {
            return Ok((status, head_len, body_len));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("the server closed the connection".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn parse_head(head: &[u8]) -> Result<(u16, usize, usize)> {
    let text = std::str::from_utf8(head)?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status line")?;
    let body_len = text
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        })
        .map_or(Ok(0), |(_, v)| v.trim().parse())?;
    Ok((status, head.len(), body_len))
}
