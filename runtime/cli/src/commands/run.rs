//! `plugboard run`: start the bot with the adapters its config enables,
//! until its input ends or it receives Ctrl-C / SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use plugboard_adapter::console::ConsoleAdapter;
use plugboard_bot::bot::{Bot, LoadReport};
use plugboard_bot::config::BotConfig;
use plugboard_console::server::Listener;
use plugboard_discord::DiscordAdapter;
use plugboard_host::engine::CacheOutcome;
use plugboard_telegram::TelegramAdapter;

pub(crate) fn log_report(report: &LoadReport) {
    for (name, version, cache) in &report.loaded {
        let how = match cache {
            CacheOutcome::Hit => "from the compile cache",
            CacheOutcome::Compiled => "compiled",
        };
        tracing::info!(plugin = %name, %version, "loaded plugin ({how})");
    }
    for name in &report.disabled {
        tracing::info!(plugin = %name, "plugin disabled in the config");
    }
    for refused in &report.refused {
        // Bad input in it is quoted and escaped where the error is made.
        tracing::error!(error = %refused, "refused a plugin");
    }
    for (name, missing) in &report.missing_grants {
        let names: Vec<&str> = missing.iter().map(|p| p.as_str()).collect();
        tracing::warn!(
            plugin = %name,
            missing = %names.join(","),
            "plugin asks for permissions it was not granted: the calls that need them are refused; \
             grant them with `plugboard grant <plugin> <permission>…`"
        );
    }
}

pub fn run(config_path: PathBuf) -> Result<()> {
    let config = BotConfig::load(&config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("plugboard")
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let (mut bot, report) = Bot::from_config(&config)?;
        log_report(&report);
        if config.console.enabled {
            bot.add_adapter(Box::new(ConsoleAdapter::stdio()));
        }
        for (name, telegram) in config.telegram.named("telegram") {
            match TelegramAdapter::from_config(telegram) {
                Ok(adapter) => bot.add_account(name, Box::new(adapter)),
                // Reported once; the other adapters still run.
                Err(e) => tracing::error!(account = name, "not starting the Telegram adapter: {e}"),
            }
        }
        for (name, discord) in config.discord.named("discord") {
            let manifests = bot.router().plugins().iter().map(|p| p.manifest());
            match DiscordAdapter::from_config(discord, manifests) {
                Ok(adapter) => {
                    // Registered as routed from the first time: the owner's
                    // [commands] decide names and owners.
                    adapter.commands().follow(bot.router().catalog());
                    bot.add_account(name, Box::new(adapter));
                }
                // Reported once; the other adapters still run.
                Err(e) => tracing::error!(account = name, "not starting the Discord adapter: {e}"),
            }
        }
        // The owner's way in, when configured: refused (and the bot with
        // it) without a token, rather than served unguarded.
        let admin = match &config.admin {
            Some(admin) => {
                let (listener, token) = Listener::bind(admin, &config.data_dir()).await?;
                // The owner's web chat and the webhook receiver, served
                // beside the platforms.
                let (adapter, chat) = plugboard_console::webchat::web_chat();
                bot.add_adapter(Box::new(adapter));
                let (adapter, hooks) =
                    plugboard_console::hooks::webhook_receiver(Arc::clone(bot.control()));
                bot.add_adapter(Box::new(adapter));
                let extras = plugboard_console::server::Extras {
                    chat: Some(chat),
                    hooks: Some(hooks),
                };
                let app = plugboard_console::server::app(Arc::clone(bot.control()), token, extras);
                let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
                let serving = tokio::spawn(listener.serve(app, async {
                    let _ = stopped.await;
                }));
                Some((stop, serving))
            }
            None => None,
        };
        let ran = bot.run(shutdown_signal()).await;
        if let Some((stop, serving)) = admin {
            let _ = stop.send(());
            let _ = serving.await;
        }
        ran?;
        anyhow::Ok(())
    });
    // Reading stdin blocks a thread that cannot be interrupted; don't wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    result
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
