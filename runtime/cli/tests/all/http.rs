//! Outbound HTTP from a plugin, against a real HTTP server on 127.0.0.1:
//! origins not listed are refused, names resolving to loopback are refused
//! unless the owner allows the range, redirects are re-checked, bodies are
//! capped.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use plugboard_host::http::Cidr;
use plugboard_host::plugin::{LoadedPlugin, PluginSettings, load_plugin};
use plugboard_host::sandbox::Failure;
use plugboard_registry_types::Permission;
use plugboard_store::MemoryStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sandbox::{attack, run, tight_limits};
use crate::support::{engine, test_plugins_dir};

/// A tiny HTTP/1.1 server: one response per connection, chosen by path.
async fn serve() -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&request);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let response: Vec<u8> = match path.as_str() {
                    "/hello" => b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello".to_vec(),
                    "/redirect-away" => {
                        b"HTTP/1.1 302 Found\r\nlocation: http://example.com/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_vec()
                    }
                    "/redirect-home" => format!(
                        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{}/hello\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        addr.port()
                    )
                    .into_bytes(),
                    "/big" => {
                        let mut r = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec();
                        r.extend(std::iter::repeat_n(b'x', 5 << 20));
                        r
                    }
                    _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
                };
                let _ = socket.write_all(&response).await;
            });
        }
    });
    Ok(addr)
}

fn hostile(
    engine: &plugboard_host::engine::PluginEngine,
    grants: &[Permission],
    allow: &[&str],
) -> Result<LoadedPlugin> {
    let settings = |_: &_| {
        Ok(PluginSettings {
            limits: tight_limits(),
            grants: grants.iter().copied().collect(),
            http_allow_private: allow
                .iter()
                .map(|c| Cidr::parse(c))
                .collect::<Result<_, _>>()
                .map_err(|problem| plugboard_host::plugin::LoadError::Settings {
                    plugin: "hostile".into(),
                    problem,
                })?,
            ..Default::default()
        })
    };
    Ok(load_plugin(
        &test_plugins_dir().join("hostile"),
        engine,
        Arc::new(MemoryStore::default()),
        settings,
    )?)
}

async fn refused(plugin: &LoadedPlugin, line: &str) -> Result<String> {
    match attack(plugin, line).await? {
        Failure::Failed(message) => Ok(message),
        other => anyhow::bail!("/{line}: expected a refusal the plugin reports, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_is_refused_by_name_and_by_address() -> Result<()> {
    let addr = serve().await?;
    let engine = engine()?;
    let plugin = hostile(&engine, &[Permission::Http], &[])?;

    // A granted name that resolves to 127.0.0.1 (and ::1).
    let message = refused(
        &plugin,
        &format!("fetch http://localhost:{}/hello", addr.port()),
    )
    .await?;
    assert!(
        message.contains("permission denied")
            && message.contains("resolves only to refused addresses")
            && message.contains("loopback"),
        "{message}"
    );
    // The address itself, listed in the manifest but still loopback.
    let message = refused(
        &plugin,
        &format!("fetch http://127.0.0.1:{}/hello", addr.port()),
    )
    .await?;
    assert!(
        message.contains("127.0.0.1 is a loopback address"),
        "{message}"
    );
    // An origin the manifest does not list.
    let message = refused(&plugin, "fetch http://example.com/").await?;
    assert!(
        message.contains("`http://example.com:80` is not one of the origins"),
        "{message}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allowed_ranges_are_reachable_with_redirects_and_caps_checked() -> Result<()> {
    let addr = serve().await?;
    let port = addr.port();
    let engine = engine()?;
    let plugin = hostile(&engine, &[Permission::Http], &["127.0.0.0/8", "::1"])?;

    let answer = run(&plugin, &format!("fetch http://localhost:{port}/hello"))
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(answer, vec!["200 hello"]);
    let answer = run(
        &plugin,
        &format!("fetch http://127.0.0.1:{port}/redirect-home"),
    )
    .await
    .map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(
        answer,
        vec!["200 hello"],
        "a redirect within the allowed origins is followed"
    );
    let answer = run(&plugin, &format!("fetch http://127.0.0.1:{port}/missing"))
        .await
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    assert_eq!(answer, vec!["404 "], "an error status is still a response");

    let message = refused(
        &plugin,
        &format!("fetch http://127.0.0.1:{port}/redirect-away"),
    )
    .await?;
    assert!(
        message.contains("redirect refused") && message.contains("example.com"),
        "{message}"
    );
    let message = refused(&plugin, &format!("fetch http://127.0.0.1:{port}/big")).await?;
    assert!(
        message.contains("limit exceeded") && message.contains("at most 4194304 bytes"),
        "{message}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_without_the_grant_is_refused() -> Result<()> {
    let addr = serve().await?;
    let engine = engine()?;
    let plugin = hostile(&engine, &[Permission::Kv], &["127.0.0.0/8"])?;
    let message = refused(
        &plugin,
        &format!("fetch http://127.0.0.1:{}/hello", addr.port()),
    )
    .await?;
    assert!(
        message.contains("`plugboard grant hostile http`"),
        "{message}"
    );
    assert_eq!(plugin.refused_calls(), 1, "refusals are counted");
    Ok(())
}
