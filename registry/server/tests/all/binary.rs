//! The real `plugboard-registry` binary: `token create`, then `serve`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use plugboard_registry::api::Keys;
use reqwest::StatusCode;

use crate::support::TestResult;

/// The binary, on the data directory `data`.
fn plugboard_registry(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugboard-registry"));
    command.arg("--data").arg(data);
    command
}

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn token_create_then_serve() -> TestResult {
    let data = tempfile::tempdir()?;
    let output = plugboard_registry(data.path())
        .args([
            "token", "create", "alice", "--scope", "publish", "--scope", "yank",
        ])
        .output()?;
    let stderr = String::from_utf8(output.stderr)?;
    assert!(output.status.success(), "{stderr}");
    let stdout = String::from_utf8(output.stdout)?;
    let token = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "only the token: {stdout}");
    assert!(token.starts_with("pbr_") && token.len() == 68, "{token}");
    assert!(
        stderr.contains("`alice` with scopes publish, yank") && stderr.contains("shown only"),
        "{stderr}"
    );

    let bad = plugboard_registry(data.path())
        .args(["token", "create", "Alice"])
        .output()?;
    assert!(!bad.status.success());
    let stderr = String::from_utf8(bad.stderr)?;
    assert!(
        stderr.contains("`Alice` is not a valid user name"),
        "{stderr}"
    );

    let mut server = Server(
        plugboard_registry(data.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?,
    );
    let stdout = server.0.stdout.take().ok_or("no stdout")?;
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first)?;
    let url = first
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line: {first:?}"))?
        .to_owned();

    let client = reqwest::Client::builder().no_proxy().build()?;
    let keys: Keys = client
        .get(format!("{url}/api/v1/keys"))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    assert!(keys.keys.is_empty());
    let unknown = client
        .get(format!("{url}/api/v1/keys"))
        .bearer_auth("pbr_nope")
        .send()
        .await?;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);

    // The database allows one process: token create says what to do.
    let locked = plugboard_registry(data.path())
        .args(["token", "create", "bob"])
        .output()?;
    assert!(!locked.status.success());
    let stderr = String::from_utf8(locked.stderr)?;
    assert!(stderr.contains("stop it first"), "{stderr}");
    drop(server);
    Ok(())
}
