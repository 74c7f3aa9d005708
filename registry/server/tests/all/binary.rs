//! The real `plugboard-registry` binary: `token create`, then `serve`; the
//! operator's commands while it runs, through its admin endpoint.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use plugboard_registry::api::Keys;
use reqwest::StatusCode;

use crate::support::{Result, TestResult};

/// The binary, on the data directory `data`.
fn plugboard_registry(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_plugboard-registry"));
    command.arg("--data").arg(data);
    command
}

/// Kills the server when the test ends, pass or fail.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `serve` on 127.0.0.1:0 and returns it with its URL.
fn serve(data: &Path) -> Result<(Server, String)> {
    serve_with(data, &[], None)
}

/// Starts `serve` on 127.0.0.1:0 with `args` added, allowed at most
/// `max_files` open files when given (through the shell's `ulimit -n`),
/// and returns it with its URL.
pub fn serve_with(data: &Path, args: &[&str], max_files: Option<u32>) -> Result<(Server, String)> {
    let mut command = match max_files {
        Some(n) => {
            let mut command = Command::new("sh");
            command
                .arg("-c")
                .arg(format!("ulimit -n {n} && exec \"$0\" \"$@\""))
                .arg(env!("CARGO_BIN_EXE_plugboard-registry"))
                .arg("--data")
                .arg(data);
            command
        }
        None => plugboard_registry(data),
    };
    let mut server = Server(
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
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
    Ok((server, url))
}

/// Runs the binary with `args`; its status, standard output and error.
fn run(data: &Path, args: &[&str]) -> Result<(bool, String, String)> {
    let output = plugboard_registry(data).args(args).output()?;
    Ok((
        output.status.success(),
        String::from_utf8(output.stdout)?,
        String::from_utf8(output.stderr)?,
    ))
}

#[tokio::test]
async fn tokens_are_listed_and_revoked() -> TestResult {
    let data = tempfile::tempdir()?;
    let mut tokens = Vec::new();
    for user in ["alice", "alice", "bob"] {
        let (ok, token, stderr) = run(data.path(), &["token", "create", user])?;
        assert!(ok, "{stderr}");
        let token = token.trim().to_owned();
        let id = plugboard_registry::token_id(&token);
        assert!(
            stderr.contains(&format!(
                "Its id, for `token list` and `token revoke`, is {id}"
            )),
            "{stderr}"
        );
        tokens.push((token, id));
    }
    let (_, all, _) = run(data.path(), &["token", "list"])?;
    assert_eq!(all.lines().count(), 3, "{all}");
    assert!(!all.contains("pbr_"), "never the tokens themselves: {all}");
    let (_, alice, _) = run(data.path(), &["token", "list", "--user", "alice"])?;
    assert_eq!(alice.lines().count(), 2, "{alice}");
    assert!(
        alice.contains(&tokens[0].1) && alice.contains("publish,yank,owners"),
        "{alice}"
    );

    let (ok, _, stderr) = run(data.path(), &["token", "revoke", "0123"])?;
    assert!(
        !ok && stderr.contains("token list` shows the ids"),
        "{stderr}"
    );
    let (ok, _, stderr) = run(data.path(), &["token", "revoke", &tokens[0].1[..8]])?;
    assert!(ok, "{stderr}");
    assert!(stderr.contains("revoked token"), "{stderr}");
    let (_, all, _) = run(data.path(), &["token", "list"])?;
    assert_eq!(all.lines().count(), 2, "{all}");

    let (server, url) = serve(data.path())?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    for (token, status) in [
        (&tokens[0].0, StatusCode::UNAUTHORIZED),
        (&tokens[1].0, StatusCode::OK),
    ] {
        let answer = client
            .get(format!("{url}/api/v1/keys"))
            .bearer_auth(token)
            .send()
            .await?;
        assert_eq!(answer.status(), status);
    }
    drop(server);
    Ok(())
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

    let (server, url) = serve(data.path())?;

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

    // The database allows one process: while the server runs, the command
    // goes to its admin endpoint, and the new token works at once.
    let (ok, bob_token, stderr) = run(data.path(), &["token", "create", "bob"])?;
    assert!(ok, "{stderr}");
    let bob_keys = client
        .get(format!("{url}/api/v1/keys"))
        .bearer_auth(bob_token.trim())
        .send()
        .await?;
    assert_eq!(bob_keys.status(), StatusCode::OK);
    drop(server);
    Ok(())
}

/// The `pb_csrf` cookie a page set.
fn csrf_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.strip_prefix("pb_csrf="))
        .map(str::to_owned)
        .next()
}

/// Posts a signed-out form the way a browser does: the CSRF cookie and the
/// same token in the form.
async fn post_form(
    client: &reqwest::Client,
    url: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> Result<reqwest::Response> {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    Ok(client
        .post(url)
        .header("cookie", format!("pb_csrf={csrf}"))
        .form(&form)
        .send()
        .await?)
}

#[tokio::test]
async fn operator_commands_work_while_the_server_runs() -> TestResult {
    let data = tempfile::tempdir()?;
    let (server, url) = serve(data.path())?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;

    // A publisher's password, from standard input, through the server.
    let mut password = plugboard_registry(data.path())
        .args(["user", "password", "carol"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    std::io::Write::write_all(
        password.stdin.as_mut().ok_or("no stdin")?,
        b"carol's first password\n",
    )?;
    let output = password.wait_with_output()?;
    let stderr = String::from_utf8(output.stderr)?;
    assert!(output.status.success(), "{stderr}");

    let (ok, _, stderr) = run(data.path(), &["admin", "grant", "carol"])?;
    assert!(ok && stderr.contains("is now a registry admin"), "{stderr}");
    let (ok, _, stderr) = run(data.path(), &["token", "create", "carol"])?;
    assert!(!ok && stderr.contains("--existing"), "{stderr}");
    let (ok, token, stderr) = run(data.path(), &["token", "create", "carol", "--existing"])?;
    assert!(ok, "{stderr}");
    let (ok, list, _) = run(data.path(), &["token", "list", "--user", "carol"])?;
    assert!(
        ok && list.contains(&plugboard_registry::token_id(token.trim())),
        "{list}"
    );

    // A one-time reset link, printed with the server's address.
    let (ok, link, stderr) = run(data.path(), &["user", "reset-link", "carol"])?;
    assert!(ok, "{stderr}");
    let link = link.trim();
    assert!(
        link.starts_with(&format!("{url}/reset-password/")),
        "{link}"
    );
    assert_eq!(link.lines().count(), 1, "only the link: {link}");
    let (ok, _, stderr) = run(data.path(), &["user", "reset-link", "nobody"])?;
    assert!(!ok && stderr.contains("no user `nobody`"), "{stderr}");

    let page = client.get(link).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_cookie(&page).ok_or("the page sets a CSRF cookie")?;
    assert!(page.text().await?.contains("carol"));
    let short = post_form(&client, link, &csrf, &[("password", "short")]).await?;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reset = post_form(
        &client,
        link,
        &csrf,
        &[("password", "carol's new password")],
    )
    .await?;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);

    // Used once: the link is spent; the new password signs in, the old does not.
    let again = post_form(&client, link, &csrf, &[("password", "a third password!")]).await?;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let signin = format!("{url}/signin");
    let old = post_form(
        &client,
        &signin,
        &csrf,
        &[
            ("username", "carol"),
            ("password", "carol's first password"),
        ],
    )
    .await?;
    assert_eq!(old.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let new = post_form(
        &client,
        &signin,
        &csrf,
        &[("username", "carol"), ("password", "carol's new password")],
    )
    .await?;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);

    // The admin endpoint takes nothing without the secret in the data
    // directory, and is gone with the server.
    let endpoint: plugboard_registry::admin::EndpointFile =
        serde_json::from_slice(&std::fs::read(data.path().join("admin-endpoint.json"))?)?;
    assert!(
        endpoint.url.starts_with("http://127.0.0.1:"),
        "{}",
        endpoint.url
    );
    let guess = client
        .post(format!("{}/admin/v1/run", endpoint.url))
        .bearer_auth("0".repeat(64))
        .json(&serde_json::json!({"command": "reset-link", "user": "carol"}))
        .send()
        .await?;
    assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    let public = client
        .post(format!("{url}/admin/v1/run"))
        .bearer_auth(&endpoint.secret)
        .json(&serde_json::json!({"command": "reset-link", "user": "carol"}))
        .send()
        .await?;
    assert_ne!(
        public.status(),
        StatusCode::OK,
        "not on the public listener"
    );
    drop(server);

    // With no server, the commands open the database themselves, even if
    // a killed server left its file behind.
    let (ok, _, stderr) = run(data.path(), &["token", "create", "dave"])?;
    assert!(ok, "{stderr}");
    Ok(())
}
