//! Slow and greedy clients: half-sent requests, slow bodies, request
//! floods. The attacker's sockets are bound to 127.0.0.2 (Linux routes all
//! of 127.0.0.0/8 to the loopback interface) while the visitor comes from
//! 127.0.0.1, so the per-address limits see two clients.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use plugboard_registry::{Config, RateLimit, Scope};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use crate::binary::serve_with;
use crate::support::{TestResult, start_with};

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A connection from `from` to `server`.
async fn connect_from(from: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(server).await
}

/// Whether the server still holds `stream` open: no end of file, no reset.
fn held(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

fn address_of(url: &str) -> Result<SocketAddr, Box<dyn std::error::Error>> {
    Ok(url.trim_start_matches("http://").parse()?)
}

/// The attack on the real binary, run with a small file limit (512,
/// as a modest system gives a service) so that without the per-address cap
/// the attacker's connections would take every descriptor: 1,000 idle
/// connections from one client, each having sent half a request head.
/// Another client's `GET /` is still answered within a second; the server
/// keeps at most the cap of the attacker's connections and closes those
/// when the header timeout passes.
#[tokio::test]
async fn a_thousand_half_sent_requests_do_not_stop_a_visitor() -> TestResult {
    const ATTACK: usize = 1_000;
    const CAP: usize = 64;
    // The attacker side needs ATTACK descriptors in this process.
    let files = rlimit::increase_nofile_limit(4096)?;
    assert!(
        files >= 1_200,
        "this test opens {ATTACK} sockets but the hard limit of open files is {files}; \
         raise it (ulimit -Hn) to run it"
    );
    let data = tempfile::tempdir()?;
    let (_server, url) = serve_with(
        data.path(),
        &["--connections-per-address", "64", "--header-timeout", "4s"],
        Some(512),
    )?;
    let server = address_of(&url)?;

    let mut attack = Vec::with_capacity(ATTACK);
    for _ in 0..ATTACK {
        let mut stream = connect_from(ATTACKER, server).await?;
        // A refused connection may already be closed: writing to it fails,
        // which is fine.
        let _ = stream
            .write_all(b"GET / HTTP/1.1\r\nHost: registry\r\nX-Half-Sent: ")
            .await;
        attack.push(stream);
    }

    let visitor = reqwest::Client::builder()
        .no_proxy()
        .local_address(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .build()?;
    let answer = tokio::time::timeout(Duration::from_secs(1), visitor.get(&url).send())
        .await
        .map_err(|_| "the visitor's GET / was not answered within a second")??;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await?.contains("Plugboard"));

    // The server closed every connection past the cap.
    let mut open = ATTACK;
    for _ in 0..50 {
        open = attack.iter().filter(|s| held(s)).count();
        if open <= CAP {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        open <= CAP,
        "{open} of the attacker's connections are open; the cap is {CAP}"
    );

    // The header timeout (4 s) closes the rest; the "did not hang" limit is
    // generous.
    let mut open = ATTACK;
    for _ in 0..100 {
        open = attack.iter().filter(|s| held(s)).count();
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(open, 0, "half-sent requests outlived the header timeout");

    // And the attacker's address may connect again once it holds fewer.
    let again = reqwest::Client::builder()
        .no_proxy()
        .local_address(ATTACKER)
        .build()?
        .get(&url)
        .send()
        .await?;
    assert_eq!(again.status(), StatusCode::OK);
    Ok(())
}

/// A body sent slower than the body timeout allows fails with a message
/// saying so, and the connection closes.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_refused() -> TestResult {
    let mut config = Config::default();
    config.body_timeout = Duration::from_secs(1);
    let registry = start_with(config).await?;
    let token = registry.registry.create_token("alice", &[Scope::Owners])?;
    let mut stream = connect_from(ATTACKER, address_of(&registry.url)?).await?;
    stream
        .write_all(
            format!(
                "PUT /api/v1/plugins/echo/owners HTTP/1.1\r\nHost: registry\r\n\
                 Authorization: Bearer {token}\r\nContent-Type: application/json\r\n\
                 Content-Length: 100\r\n\r\n{{\"users\":"
            )
            .as_bytes(),
        )
        .await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .map_err(|_| "the server kept waiting for the body")??;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("did not arrive within 1 s"),
        "says what happened: {answer}"
    );
    Ok(())
}

/// Past its request rate an address gets 429 with `Retry-After`, as JSON
/// under `/api/` and as a page elsewhere; another address is unaffected.
#[tokio::test]
async fn each_address_has_a_request_rate() -> TestResult {
    let mut config = Config::default();
    config.request_rate = RateLimit::new(5, Duration::from_secs(600));
    let registry = start_with(config).await?;
    let from = |ip: IpAddr| {
        reqwest::Client::builder()
            .no_proxy()
            .local_address(ip)
            .build()
    };
    let greedy = from(ATTACKER)?;
    for _ in 0..5 {
        let ok = greedy.get(registry.url("/api/v1/plugins")).send().await?;
        assert_eq!(ok.status(), StatusCode::OK);
    }
    for (path, kind) in [("/api/v1/plugins", "application/json"), ("/", "text/html")] {
        let limited = greedy.get(registry.url(path)).send().await?;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS, "{path}");
        let wait: u64 = limited
            .headers()
            .get("retry-after")
            .ok_or("a Retry-After")?
            .to_str()?
            .parse()?;
        assert!((1..=120).contains(&wait), "{wait}");
        let content_type = limited
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let text = limited.text().await?.to_lowercase();
        assert!(text.contains("too many requests"), "{path}: {text}");
    }
    let other = from(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
    assert_eq!(
        other.get(registry.url("/")).send().await?.status(),
        StatusCode::OK
    );
    Ok(())
}
