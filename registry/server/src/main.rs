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
//! ```
//!
//! `serve` prints `listening on http://<address>` as the first line of
//! standard output once the socket is bound (useful with port 0). `token
//! create` prints only the token on standard output. The database allows one
//! process at a time: stop the server before creating tokens.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use plugboard_registry::{Config, RateLimit, Registry, Revoked, Scope};

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

fn set_admin(data: &Path, user: &str, admin: bool) -> anyhow::Result<()> {
    let registry = open(data)?;
    if !registry.set_admin(user, admin)? {
        anyhow::bail!(
            "there is no user `{user}`; people create accounts by signing up on the web pages, \
             publishers get one with `plugboard-registry token create {user}`"
        );
    }
    eprintln!(
        "`{user}` {} a registry admin",
        if admin { "is now" } else { "is no longer" }
    );
    Ok(())
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
            "could not open the registry database in `{}` (if a `plugboard-registry serve` is \
             using it, stop it first: the database allows one process at a time)",
            data.display()
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
                println!("listening on http://{address}");
                tracing::info!(data = %cli.data.display(), "serving on http://{address}");
                plugboard_registry::serve(listener, registry, async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .context("the server failed")
            })
        }
        Command::Token(TokenCommand::Create {
            user,
            scopes,
            existing,
        }) => {
            let scopes = if scopes.is_empty() {
                Scope::ALL.to_vec()
            } else {
                scopes
            };
            let registry = open(&cli.data)?;
            if registry.has_password(&user)? && !existing {
                anyhow::bail!(
                    "`{user}` is an account someone made on the web pages; a token would let \
                     whoever signed up as `{user}` publish. If you checked that it is the person \
                     you mean, run this again with --existing; otherwise choose another name"
                );
            }
            let token = registry.create_token(&user, &scopes)?;
            println!("{token}");
            let names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
            eprintln!(
                "created a token for `{user}` with scopes {}; it is shown only this once, so store \
                 it now (clients send it as `Authorization: Bearer <token>`). Its id, for `token \
                 list` and `token revoke`, is {}",
                names.join(", "),
                plugboard_registry::token_id(&token)
            );
            Ok(())
        }
        Command::Token(TokenCommand::List { user }) => {
            let registry = open(&cli.data)?;
            let tokens = registry.tokens(user.as_deref())?;
            if tokens.is_empty() {
                eprintln!("no tokens");
            }
            for token in tokens {
                let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
                println!(
                    "{}  {:<20}  {:<20}  {}",
                    token.id,
                    token.user,
                    scopes.join(","),
                    token.created()
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id }) => {
            let registry = open(&cli.data)?;
            match registry.revoke_token(&id)? {
                Revoked::Revoked(token) => {
                    eprintln!("revoked token {} of `{}`", token.id, token.user);
                    Ok(())
                }
                Revoked::Ambiguous(n) => anyhow::bail!(
                    "{n} tokens have ids starting with `{id}`; give more of the id `token list` shows"
                ),
                Revoked::NotFound => anyhow::bail!(
                    "no token has the id `{id}`; `plugboard-registry token list` shows the ids \
                     (give 8 or more of their hex digits)"
                ),
                _ => anyhow::bail!("could not revoke the token `{id}`"),
            }
        }
        Command::Admin(AdminCommand::Grant { user }) => set_admin(&cli.data, &user, true),
        Command::Admin(AdminCommand::Revoke { user }) => set_admin(&cli.data, &user, false),
        Command::User(UserCommand::Password { user }) => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .context("could not read the password from standard input")?;
            let password = password.trim_end_matches(['\r', '\n']);
            plugboard_registry::check_password(password)?;
            let registry = open(&cli.data)?;
            registry.set_password(&user, password)?;
            eprintln!("`{user}` can now sign in on the web pages with that password");
            Ok(())
        }
    }
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
