//! A console bot with an admin listener, run as the `plugboard` binary:
//! shared by the admin API tests (`all`) and the browser tests
//! (`browser`).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::support::{PATIENCE, plugins_dir, test_plugins_dir, write_config};

/// The `plugboard` binary.
pub(crate) fn plugboard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_plugboard"))
}

/// `plugboard run --config <config>` with stdin and stdout piped.
pub(crate) fn console_process(config: &Path) -> Command {
    let mut command = plugboard();
    command
        .args(["run", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    command
}

pub(crate) const TOKEN_VAR: &str = "PLUGBOARD_ADMIN_TOKEN";
pub(crate) const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// A console bot with an admin listener on a free loopback port.
pub(crate) struct ConsoleBot {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    pub(crate) config: PathBuf,
    pub(crate) address: String,
}

impl ConsoleBot {
    pub(crate) fn start(dir: &Path, extra: &str) -> Result<Self> {
        Self::start_with_env(dir, extra, &[])
    }

    /// [`ConsoleBot::start`] with the variables `env` set for the bot.
    pub(crate) fn start_with_env(dir: &Path, extra: &str, env: &[(&str, &str)]) -> Result<Self> {
        let config = write_config(
            dir,
            &[&plugins_dir(), &test_plugins_dir()],
            &format!("[console]\nenabled = true\n\n[admin]\nlisten = \"127.0.0.1:0\"\n\n{extra}"),
        )?;
        let mut command = console_process(&config);
        command.envs(env.iter().copied());
        let mut child = command
            .env(TOKEN_VAR, TOKEN)
            .env("PLUGBOARD_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .context("starting plugboard")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let file = dir.join("data").join(plugboard_console::ADDRESS_FILE);
        let started = Instant::now();
        let address = loop {
            if let Ok(written) = std::fs::read_to_string(&file)
                && let Some(address) = written.split_whitespace().next()
            {
                break address.to_owned();
            }
            ensure!(
                started.elapsed() < PATIENCE,
                "the admin listener never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let bot = Self {
            child,
            stdin,
            lines,
            config,
            address,
        };
        // The listener answers before the bot runs: wait until it serves
        // (with a plain socket, so that an async test may start a bot).
        while !bot.ready() {
            ensure!(started.elapsed() < PATIENCE, "the bot never got ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(bot)
    }

    /// Whether `/readyz` answers 200.
    fn ready(&self) -> bool {
        use std::io::Read;
        let Ok(mut stream) = std::net::TcpStream::connect(&self.address) else {
            return false;
        };
        let asked = write!(
            stream,
            "GET /readyz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.address
        );
        let mut answer = String::new();
        asked.is_ok()
            && stream.read_to_string(&mut answer).is_ok()
            && answer.starts_with("HTTP/1.1 200")
    }

    /// Says `text` on the console and returns the answer's first line.
    pub(crate) fn ask(&mut self, text: &str) -> Result<String> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        writeln!(stdin, "{text}")?;
        stdin.flush()?;
        self.lines
            .recv_timeout(PATIENCE)
            .with_context(|| format!("no answer to {text:?}"))
    }

    /// Runs `plugboard <args> --config <config>` with `token` (none: no
    /// token variable); returns (success, stdout, stderr).
    pub(crate) fn cli(&self, args: &[&str], token: Option<&str>) -> Result<(bool, String, String)> {
        let mut command = plugboard();
        command.args(args).arg("--config").arg(&self.config);
        command
            .env_remove(TOKEN_VAR)
            .env_remove("HTTP_PROXY")
            .env_remove("http_proxy");
        if let Some(token) = token {
            command.env(TOKEN_VAR, token);
        }
        let out = command.stdin(Stdio::null()).output()?;
        Ok((
            out.status.success(),
            String::from_utf8(out.stdout)?,
            String::from_utf8(out.stderr)?,
        ))
    }

    /// `GET <path>` on the admin listener, with the token when `auth`.
    pub(crate) fn get(&self, path: &str, auth: bool) -> Result<(u16, String)> {
        let client = reqwest::blocking::Client::builder().no_proxy().build()?;
        let mut request = client.get(format!("http://{}{path}", self.address));
        if auth {
            request = request.bearer_auth(TOKEN);
        }
        let response = request.send()?;
        Ok((response.status().as_u16(), response.text()?))
    }

    /// `PUT <path>` on the admin listener with the token and `body` as
    /// JSON.
    pub(crate) fn put(&self, path: &str, body: &serde_json::Value) -> Result<(u16, String)> {
        let client = reqwest::blocking::Client::builder().no_proxy().build()?;
        let response = client
            .put(format!("http://{}{path}", self.address))
            .bearer_auth(TOKEN)
            .json(body)
            .send()?;
        Ok((response.status().as_u16(), response.text()?))
    }

    /// `POST <path>` on the admin listener with `headers` and `body`, no
    /// token.
    pub(crate) fn post(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, String)> {
        let client = reqwest::blocking::Client::builder().no_proxy().build()?;
        let mut request = client.post(format!("http://{}{path}", self.address));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.body(body.to_vec()).send()?;
        Ok((response.status().as_u16(), response.text()?))
    }

    /// Ends the console's input and waits for the bot to stop.
    pub(crate) fn stop(mut self) -> Result<()> {
        drop(self.stdin.take());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                ensure!(status.success(), "plugboard exited with {status}");
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                self.child.kill()?;
                bail!("the bot did not stop at the end of its input");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ConsoleBot {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}
