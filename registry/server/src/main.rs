//! `plugboard-registry`: serves the marketplace registry and manages its
//! API tokens.
//!
//! ```text
//! plugboard-registry --data /var/lib/plugboard-registry serve --listen 0.0.0.0:8080
//! plugboard-registry --data /var/lib/plugboard-registry token create alice --scope publish
//! plugboard-registry --data /var/lib/plugboard-registry token list --user alice
//! plugboard-registry --data /var/lib/plugboard-registry token revoke 3f9a0c1b
//! plugboard-registry --data /var/lib/plugboard-registry admin grant alice
//! echo 'a long password' | plugboard-registry --data /var/lib/plugboard-registry user password alice
//! plugboard-registry --data /var/lib/plugboard-registry user reset-link alice
//! ```
//!
//! `serve` prints `listening on http://<address>` as the first line of
//! standard output once the socket is bound (useful with port 0). `token
//! create` prints only the token on standard output, `user reset-link` only
//! the link.
//!
//! The database allows one process at a time, so while `serve` runs the
//! other commands go to its loopback admin endpoint (named, with a secret,
//! in `<data>/admin-endpoint.json`; see [`plugboard_registry::admin`]); when
//! no server runs they open the database themselves. Either way
//! [`admin::execute`] does the work.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use plugboard_registry::admin::{self, EndpointFile, Reply, Request};
use plugboard_registry::api::ErrorBody;
use plugboard_registry::{Config, RateLimit, Registry, Scope};

/// The Plugboard marketplace registry.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// The directory holding the registry's database (created if missing).
    #[arg(
        long,
        global = true,
        env = "PLUGBOARD_REGISTRY_DATA",
        default_value = "registry-data"
    )]
    data: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the registry's HTTP API.
    Serve {
        /// The address to listen on; port 0 picks a free port.
        #[arg(
            long,
            env = "PLUGBOARD_REGISTRY_LISTEN",
            default_value = "127.0.0.1:8080"
        )]
        listen: SocketAddr,
        /// Mark the web pages' cookies `Secure`: set it when the registry is
        /// reached over HTTPS (through a TLS-terminating proxy; requests
        /// with `X-Forwarded-Proto: https` get them anyway).
        #[arg(long, env = "PLUGBOARD_REGISTRY_SECURE_COOKIES")]
        secure_cookies: bool,
        /// A proxy stands in front of the registry and appends the client's
        /// address to `X-Forwarded-For`: rate limits use that address.
        #[arg(long, env = "PLUGBOARD_REGISTRY_BEHIND_PROXY")]
        behind_proxy: bool,
        /// How long a client has to send a request's head; also how long an
        /// idle keep-alive connection stays open. Like `10s`, `2m`.
        /// Default: 10s.
        #[arg(long, env = "PLUGBOARD_REGISTRY_HEADER_TIMEOUT", value_parser = parse_duration)]
        header_timeout: Option<Duration>,
        /// How long a client has to send a request's whole body. Default: 120s.
        #[arg(long, env = "PLUGBOARD_REGISTRY_BODY_TIMEOUT", value_parser = parse_duration)]
        body_timeout: Option<Duration>,
        /// How long a read or write may wait without a byte moving before
        /// the connection is closed. Default: 60s.
        #[arg(long, env = "PLUGBOARD_REGISTRY_IDLE_TIMEOUT", value_parser = parse_duration)]
        idle_timeout: Option<Duration>,
        /// How many connections one client address may hold open; 0 for no
        /// cap. Not applied with --behind-proxy. Default: 64.
        #[arg(long, env = "PLUGBOARD_REGISTRY_CONNECTIONS_PER_ADDRESS")]
        connections_per_address: Option<u32>,
        /// How many requests one client address may make, as
        /// `<burst>/<time to refill it>`; `0/1s` turns the limit off.
        /// Default: 200/10s.
        #[arg(long, env = "PLUGBOARD_REGISTRY_REQUEST_RATE", value_parser = parse_rate)]
        request_rate: Option<RateLimit>,
        /// How old an account must be for the ratings it gives to count
        /// toward a plugin's shown rating; `0s` counts every account's.
        /// Like `7d`, `36h`. Default: 7d.
        #[arg(long, env = "PLUGBOARD_REGISTRY_RATING_MIN_ACCOUNT_AGE", value_parser = parse_duration)]
        rating_min_account_age: Option<Duration>,
        /// The address people reach the registry at, like
        /// `https://plugins.example.org`, for the links the commands print
        /// (`user reset-link`). Default: the address it listens on.
        #[arg(long, env = "PLUGBOARD_REGISTRY_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Manages API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Makes users registry admins (moderators of the web pages) or not.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Manages accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Lets a user moderate: see reports, hide reviews, yank and delist plugins.
    Grant {
        /// An existing user name.
        user: String,
    },
    /// Takes a user's admin role away.
    Revoke {
        /// An existing user name.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Sets a user's web password, read from standard input (one line),
    /// creating the user if needed: how a publisher made with `token
    /// create` signs in on the web pages.
    Password {
        /// The user name.
        user: String,
    },
    /// Prints a one-time link that lets the user choose a new web password
    /// (for an hour): give it to them over a channel you trust.
    ResetLink {
        /// An existing user name.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Creates a token for a user (creating the user if needed) and prints it once.
    Create {
        /// The user name: lowercase letters, digits and `-`.
        user: String,
        /// What the token may do; repeat for several. Default: all of publish, yank, owners.
        #[arg(long = "scope", value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// The user signed up on the web pages and you checked it is the
        /// person you mean to give publishing rights to.
        #[arg(long)]
        existing: bool,
    },
    /// Lists the tokens (never the tokens themselves: their ids, owners,
    /// scopes and dates), oldest first.
    List {
        /// Only this user's tokens.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revokes a token by the id `token list` shows (or its first 8 or more
    /// digits): requests with it are refused from then on.
    Revoke {
        /// The token's id.
        id: String,
    },
}

/// Runs `request` on the running server's admin endpoint, or on the
/// database when no server runs; the reply, and the public URL of the
/// registry when a server said it.
fn dispatch(data: &Path, request: Request) -> anyhow::Result<(Reply, Option<String>)> {
    if let Some(endpoint) = EndpointFile::read(data) {
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .build()
            .context("could not make an HTTP client")?;
        let url = format!("{}{}", endpoint.url, admin::RUN_PATH);
        match client
            .post(&url)
            .bearer_auth(&endpoint.secret)
            .json(&request)
            .send()
        {
            Ok(response) if response.status().is_success() => {
                let reply = response.json().with_context(|| {
                    format!("the running server's answer from {url} is not a reply")
                })?;
                return Ok((reply, Some(endpoint.public_url)));
            }
            Ok(response) => {
                let status = response.status();
                let detail = response
                    .json::<ErrorBody>()
                    .ok()
                    .and_then(|body| body.errors.into_iter().next())
                    .map_or_else(|| status.to_string(), |e| e.detail);
                anyhow::bail!("{detail}");
            }
            // Nothing answers: the server stopped without removing the file.
            Err(error) if error.is_connect() => {}
            Err(error) => {
                return Err(error).with_context(|| {
                    format!("the running server's admin endpoint {url} did not answer")
                });
            }
        }
    }
    let registry = open(data)?;
    Ok((admin::execute(&registry, request)?, None))
}

fn parse_scope(text: &str) -> Result<Scope, String> {
    text.parse()
}

/// A duration: a whole number of seconds, or one with a unit, `ms`, `s`,
/// `m`, `h` or `d` (`10s`, `2m`, `7d`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; write it like 10s, 2m or 500ms"))?;
    let seconds = |factor: u64| Duration::from_secs(n.saturating_mul(factor));
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(seconds(1)),
        "m" => Ok(seconds(60)),
        "h" => Ok(seconds(3600)),
        "d" => Ok(seconds(86_400)),
        _ => Err(format!(
            "`{unit}` is not a unit of time here; write the duration like 10s, 2m, 7d or 500ms"
        )),
    }
}

/// A rate as `<burst>/<duration>`: `200/10s` is 200 back to back, refilled
/// over 10 seconds.
fn parse_rate(text: &str) -> Result<RateLimit, String> {
    let (burst, per) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not a rate; write it like 200/10s"))?;
    let burst = burst.trim().parse().map_err(|_| {
        format!("`{burst}` is not a number of requests; write the rate like 200/10s")
    })?;
    let per = parse_duration(per)?;
    if per.is_zero() {
        return Err(format!(
            "`{text}` refills in no time; write the rate like 200/10s"
        ));
    }
    Ok(RateLimit::new(burst, per))
}

fn open(data: &Path) -> anyhow::Result<Registry> {
    open_with(data, Config::default())
}

fn open_with(data: &Path, config: Config) -> anyhow::Result<Registry> {
    Registry::open(data, config).with_context(|| {
        format!(
            "could not open the registry database in `{}` (the database allows one process at \
             a time: if a `plugboard-registry serve` is using it without its `{}`, stop it \
             first)",
            data.display(),
            admin::ENDPOINT_FILE
        )
    })
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            listen,
            secure_cookies,
            behind_proxy,
            header_timeout,
            body_timeout,
            idle_timeout,
            connections_per_address,
            request_rate,
            rating_min_account_age,
            public_url,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                )
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            let mut config = Config::default();
            config.secure_cookies = secure_cookies;
            config.behind_proxy = behind_proxy;
            config.header_timeout = header_timeout.unwrap_or(config.header_timeout);
            config.body_timeout = body_timeout.unwrap_or(config.body_timeout);
            config.idle_timeout = idle_timeout.unwrap_or(config.idle_timeout);
            config.connections_per_address =
                connections_per_address.unwrap_or(config.connections_per_address);
            config.request_rate = request_rate.unwrap_or(config.request_rate);
            config.rating_min_account_age =
                rating_min_account_age.unwrap_or(config.rating_min_account_age);
            let registry = open_with(&cli.data, config)?;
            let runtime = tokio::runtime::Runtime::new().context("could not start tokio")?;
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("could not listen on {listen}"))?;
                let address = listener.local_addr()?;
                let public_url = public_url.unwrap_or_else(|| format!("http://{address}"));
                let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .context("could not listen on a loopback port for the admin endpoint")?;
                let endpoint = EndpointFile::new(
                    format!("http://{}", admin_listener.local_addr()?),
                    public_url,
                )?;
                endpoint.write(&cli.data).with_context(|| {
                    format!(
                        "could not write `{}`",
                        EndpointFile::path(&cli.data).display()
                    )
                })?;
                let admin_app = admin::router(registry.clone(), endpoint.secret.clone());
                tokio::spawn(async move {
                    if let Err(error) = axum::serve(admin_listener, admin_app).await {
                        tracing::error!("the admin endpoint failed: {error}");
                    }
                });
                println!("listening on http://{address}");
                tracing::info!(data = %cli.data.display(), admin = %endpoint.url, "serving on http://{address}");
                let served = plugboard_registry::serve(listener, registry, async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .context("the server failed");
                let _ = std::fs::remove_file(EndpointFile::path(&cli.data));
                served
            })
        }
        Command::Token(TokenCommand::Create {
            user,
            scopes,
            existing,
        }) => command(
            &cli.data,
            Request::CreateToken {
                user,
                scopes,
                existing,
            },
        ),
        Command::Token(TokenCommand::List { user }) => {
            command(&cli.data, Request::ListTokens { user })
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            command(&cli.data, Request::RevokeToken { id })
        }
        Command::Admin(AdminCommand::Grant { user }) => {
            command(&cli.data, Request::SetAdmin { user, admin: true })
        }
        Command::Admin(AdminCommand::Revoke { user }) => {
            command(&cli.data, Request::SetAdmin { user, admin: false })
        }
        Command::User(UserCommand::Password { user }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("could not read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            plugboard_registry::check_password(&password)?;
            command(&cli.data, Request::SetPassword { user, password })
        }
        Command::User(UserCommand::ResetLink { user }) => {
            command(&cli.data, Request::ResetLink { user })
        }
    }
}

/// Runs an operator's command ([`dispatch`]) and prints what it did.
fn command(data: &Path, request: Request) -> anyhow::Result<()> {
    let (reply, public_url) = dispatch(data, request)?;
    match reply {
        Reply::Token {
            token,
            id,
            user,
            scopes,
        } => {
            println!("{token}");
            let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "created a token for `{user}` with scopes {}; it is shown only this once, so store \
                 it now (clients send it as `Authorization: Bearer <token>`). Its id, for `token \
                 list` and `token revoke`, is {id}",
                names.join(", "),
            );
        }
        Reply::Tokens { tokens } => {
            if tokens.is_empty() {
                eprintln!("no tokens");
            }
            for token in tokens {
                let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{}  {:<20}  {:<20}  {}  {}",
                    token.id,
                    token.user,
                    scopes.join(","),
                    token.created_at,
                    token.name
                );
            }
        }
        Reply::Revoked { id, user } => eprintln!("revoked token {id} of `{user}`"),
        Reply::Admin { user, admin } => eprintln!(
            "`{user}` {} a registry admin",
            if admin { "is now" } else { "is no longer" }
        ),
        Reply::Password { user } => {
            eprintln!("`{user}` can now sign in on the web pages with that password");
        }
        Reply::ResetLink {
            user,
            path,
            minutes,
        } => {
            let hint = match public_url {
                Some(base) => {
                    println!("{}{path}", base.trim_end_matches('/'));
                    ""
                }
                None => {
                    println!("{path}");
                    " (no server runs, so put the registry's address in front of the path)"
                }
            };
            eprintln!(
                "give this link to `{user}` over a channel you trust: it sets a new password \
                 once, within {minutes} minutes{hint}"
            );
        }
        _ => eprintln!("done"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_parse() {
        for (text, duration) in [
            ("10", Some(Duration::from_secs(10))),
            ("10s", Some(Duration::from_secs(10))),
            ("2m", Some(Duration::from_secs(120))),
            ("1h", Some(Duration::from_secs(3600))),
            ("7d", Some(Duration::from_secs(7 * 86_400))),
            ("500ms", Some(Duration::from_millis(500))),
            ("", None),
            ("s", None),
            ("10 days", None),
            ("-1s", None),
        ] {
            assert_eq!(parse_duration(text).ok(), duration, "{text:?}");
        }
        assert_eq!(
            parse_rate("200/10s"),
            Ok(RateLimit::new(200, Duration::from_secs(10)))
        );
        assert_eq!(
            parse_rate("0/1s"),
            Ok(RateLimit::new(0, Duration::from_secs(1)))
        );
        for bad in ["200", "x/10s", "200/0s", "200/ten"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }
}
