//! # plugboard-sdk
//!
//! Write [Plugboard](https://github.com/plugboard/plugboard) bot plugins in Rust.
//!
//! A plugin is a WebAssembly component built for `wasm32-wasip2`. It receives
//! platform-neutral [`Event`]s (messages, commands, button presses, …) from the
//! Plugboard runtime and answers with actions (reply, send, edit, react, …).
//! This crate hides the generated WIT bindings behind a small API:
//!
//! * implement [`Plugin`] for a type that is [`Default`] and export it with
//!   [`export_plugin!`];
//! * answer through the [`Response`] handed to every handler;
//! * read command arguments with [`Command::arg`] and friends;
//! * keep state in the plugin's private key-value store with [`kv`] (serde values);
//! * read the owner's configuration through [`Config`];
//! * set timers with [`schedule`] and handle their fires in [`Plugin::on_tick`];
//! * receive webhooks other services post to the bot in
//!   [`Plugin::on_webhook`] (declared in the manifest, verified by the host);
//! * ask whether the sender holds a role (`admin`, `premium`, …) with
//!   [`people::sender_has_role`];
//! * return [`Error::invalid_input`] when the user typed something wrong (the
//!   text is shown to them) and [`Error::failed`] for everything else;
//! * with the `i18n` feature, answer in the user's language from Fluent
//!   catalogs (`i18n::Catalogs`, picked by [`Command::locale`]).
//!
//! ```no_run
//! use plugboard_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Echo;
//!
//! impl Plugin for Echo {
//!     fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
//!         match cmd.name.as_str() {
//!             "echo" if !cmd.raw_args.is_empty() => out.reply(cmd.raw_args.clone()),
//!             "echo" => return Err(Error::invalid_input("usage: /echo <text>")),
//!             _ => {}
//!         }
//!         Ok(())
//!     }
//! }
//!
//! plugboard_sdk::export_plugin!(Echo);
//! ```
//!
//! Each plugin also ships a `plugin.toml` manifest that names it, lists the
//! commands it handles and the permissions it needs; see the plugin author guide
//! in the repository's `docs/`.
#![deny(missing_docs)]

// Lets the generated bindings name this crate by its public path from inside it too.
extern crate self as plugboard_sdk;

mod command;
mod config;
mod error;
mod event;
pub mod http;
#[cfg(feature = "i18n")]
pub mod i18n;
pub mod kv;
pub mod log;
pub mod markdown;
pub mod people;
mod response;
pub mod schedule;
mod webhook;

pub use command::ArgError;
pub use config::Config;
pub use error::{Error, Result};
pub use event::{Command, Event, LazyArgs, LazyMessage};
pub use plugboard_args::mention_id;
pub use response::Response;
pub use webhook::Webhook;

pub use bindings::plugboard::plugin::types::{
    Action, Attachment, Button, ButtonPress, Chat, ChatKind, ChatRef, DeleteMessage,
    DiscordMessage, EditMessage, Embed, EmbedField, HostError, Membership, Message, Outgoing,
    Platform, PluginError, React, Reaction, SendMessage, TelegramMessage, TextFormat, Tick, User,
};

impl Platform {
    /// The platform's lowercase name, as the host writes it in config and
    /// logs: `console`, `telegram`, `discord`, or an other adapter's own.
    pub fn as_str(&self) -> &str {
        match self {
            Platform::Console => "console",
            Platform::Telegram => "telegram",
            Platform::Discord => "discord",
            Platform::Other(name) => name,
        }
    }
}

/// The items most plugins need, for `use plugboard_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Button, ButtonPress, Chat, ChatRef, Command, Config, Embed, Error, Event, Message,
        Outgoing, Plugin, Response, Result, Tick, Webhook, kv,
    };
}

/// The generated WIT bindings. Not part of the stable API: use the re-exports.
#[doc(hidden)]
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit/0.2",
        world: "plugin-with-webhooks",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "::plugboard_sdk::bindings",
        runtime_path: "::plugboard_sdk::__private::wit_bindgen::rt",
    });
}

/// A Plugboard plugin.
///
/// The runtime creates the plugin with [`Default`], calls [`Plugin::configure`]
/// once with the owner's configuration, and then calls [`Plugin::on_event`] for
/// every event the plugin subscribed to. The default `on_event` dispatches to the
/// `on_*` method matching the event's kind, so a plugin implements only those it
/// cares about.
///
/// A plugin instance may live for many events or only one: keep anything that
/// must last in [`kv`], not in fields.
pub trait Plugin: Default + 'static {
    /// Receives the owner's configuration once, before the first event.
    fn configure(&mut self, config: &Config) -> Result<()> {
        let _ = config;
        Ok(())
    }

    /// Handles any event. Override it to see every event kind in one place.
    fn on_event(&mut self, event: Event, out: &mut Response) -> Result<()> {
        match event {
            Event::Command(cmd) => self.on_command(cmd, out),
            Event::Message(msg) => self.on_message(msg, out),
            Event::ButtonPress(press) => self.on_button(press, out),
            Event::Tick(tick) => self.on_tick(tick, out),
            _ => Ok(()),
        }
    }

    /// Handles a command the plugin declared in its manifest (`/name args…`).
    fn on_command(&mut self, cmd: Command, out: &mut Response) -> Result<()> {
        let _ = (cmd, out);
        Ok(())
    }

    /// Handles a message that is not a command (needs `events = ["message"]`
    /// in the manifest).
    fn on_message(&mut self, msg: Message, out: &mut Response) -> Result<()> {
        let _ = (msg, out);
        Ok(())
    }

    /// Handles a press of a button this plugin sent.
    fn on_button(&mut self, press: ButtonPress, out: &mut Response) -> Result<()> {
        let _ = (press, out);
        Ok(())
    }

    /// Handles a fire of one of the plugin's [`schedule`]s; replies go to
    /// the chat the schedule was set for.
    fn on_tick(&mut self, tick: Tick, out: &mut Response) -> Result<()> {
        let _ = (tick, out);
        Ok(())
    }

    /// Handles a delivery of one of the webhooks the manifest declares
    /// (`[webhooks.<name>]`), already verified by the host. A webhook
    /// comes from no chat: say something with [`Response::send`] or
    /// [`send`] (both need `send-any-chat`); a reply is dropped.
    fn on_webhook(&mut self, hook: Webhook, out: &mut Response) -> Result<()> {
        let _ = (hook, out);
        Ok(())
    }
}

/// Exports a [`Plugin`] implementation as the component's `handler`.
///
/// Use it once per plugin crate, at the top level:
///
/// ```no_run
/// # use plugboard_sdk::prelude::*;
/// # #[derive(Default)] struct MyPlugin;
/// # impl Plugin for MyPlugin {}
/// plugboard_sdk::export_plugin!(MyPlugin);
/// # fn main() {}
/// ```
///
/// A plugin that provides an interface to other plugins (see
/// [`interfaces!`]) implements the generated `Guest` trait on the same
/// type and adds `provides`, which also exports that implementation:
///
/// ```no_run
/// # use plugboard_sdk::prelude::*;
/// plugboard_sdk::interfaces!({
///     inline: "
///         package example:greeter@1.0.0;
///         interface api { greet: func(name: string) -> result<string, string>; }
///         world greeter { export api; }
///     ",
/// });
///
/// #[derive(Default)]
/// struct Greeter;
///
/// impl Plugin for Greeter {}
///
/// impl exports::example::greeter::api::Guest for Greeter {
///     fn greet(name: String) -> Result<String, String> {
///         Ok(format!("Hello, {name}!"))
///     }
/// }
///
/// plugboard_sdk::export_plugin!(Greeter, provides);
/// # fn main() {}
/// ```
///
/// `provides` calls the `export!` macro that [`interfaces!`] generated, so
/// both must be used at the crate root and the type must be a plain name.
/// Like the handler, the interface is exported only by a WebAssembly build:
/// a native build of the crate (for unit tests) exports nothing.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ident, provides $(,)?) => {
        $crate::export_plugin!($plugin);
        // The macro `interfaces!` generated in the calling crate.
        #[cfg(target_arch = "wasm32")]
        export!($plugin);
    };
    ($plugin:ty) => {
        // Only a WebAssembly build exports anything; a native build of the
        // same crate (for unit tests) links without the component's symbols.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            ::std::thread_local! {
                static STATE: ::core::cell::RefCell<::core::option::Option<$plugin>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct Export;

            impl $crate::__private::Guest for Export {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::PluginError> {
                    $crate::__private::init::<$plugin>(&STATE, config)
                }

                fn handle(
                    event: $crate::__private::WitEvent,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Action>, $crate::PluginError>
                {
                    $crate::__private::handle::<$plugin>(&STATE, event)
                }
            }

            impl $crate::__private::WebhooksGuest for Export {
                fn handle_webhook(
                    hook: $crate::Webhook,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::Action>, $crate::PluginError>
                {
                    $crate::__private::webhook::<$plugin>(&STATE, hook)
                }
            }

    $crate::bindings::__export_plugin_world!(Export with_types_in $crate::bindings);
        };
    };
}

/// Generates the Rust side of the plugin's own WIT world: the interfaces
/// it provides to other plugins and those it imports from its
/// dependencies. The plugin crate needs no `wit-bindgen` dependency of its
/// own.
///
/// The options are those of `wit_bindgen::generate!` (usually `path` and
/// `world`); this macro adds `generate_all` (bindings for interfaces of
/// other packages, such as a dependency's) and points the generated code at
/// the SDK's copy of the wit-bindgen runtime, which requires the SDK
/// dependency to keep its name `plugboard-sdk`. Use it once, at the crate
/// root.
///
/// The WIT usually sits in files of the plugin (`path: "wit"`, the default;
/// a dependency's WIT in the dependency's `wit/` folder or a copy of it in
/// `wit/deps/<name>/`); the examples below write it inline.
///
/// **Providing** an interface: the world exports it, the plugin type
/// implements the generated `exports::<namespace>::<package>::<interface>::Guest`
/// trait, and [`export_plugin!`] gets `provides`. Every provided function
/// returns `result<T, string>`; `?` turns an [`Error`] into that `String`.
///
/// ```no_run
/// use plugboard_sdk::prelude::*;
///
/// plugboard_sdk::interfaces!({
///     inline: "
///         package example:counter@1.0.0;
///         interface api { count: func(user: string) -> result<u64, string>; }
///         world counter { export api; }
///     ",
/// });
///
/// #[derive(Default)]
/// struct Counter;
///
/// impl Plugin for Counter {}
///
/// impl exports::example::counter::api::Guest for Counter {
///     fn count(user: String) -> Result<u64, String> {
///         Ok(kv::get::<u64>(&user)?.unwrap_or(0))
///     }
/// }
///
/// plugboard_sdk::export_plugin!(Counter, provides);
/// # fn main() {}
/// ```
///
/// **Calling** a dependency: the world imports the dependency's interface
/// and the generated functions call it. A failure on the other side, even
/// a crash, arrives as `Err` with the reason.
///
/// ```no_run
/// use plugboard_sdk::prelude::*;
///
/// plugboard_sdk::interfaces!({
///     inline: "
///         package example:counter@1.0.0;
///         interface api { count: func(user: string) -> result<u64, string>; }
///         world caller { import api; }
///     ",
/// });
///
/// fn count(user: &str) -> Result<u64> {
///     example::counter::api::count(user)
///         .map_err(|why| Error::failed(format!("counter did not answer: {why}")))
/// }
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! interfaces {
    ({ $($options:tt)* }) => {
        $crate::__private::wit_bindgen::generate!({
            runtime_path: "::plugboard_sdk::__private::wit_bindgen::rt",
            generate_all,
            $($options)*
        });
    };
}

/// Support for [`export_plugin!`] and [`interfaces!`]. Not part of the stable API.
#[doc(hidden)]
pub mod __private {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    pub use crate::bindings::exports::plugboard::plugin::handler::Guest;
    pub use crate::bindings::exports::plugboard::plugin::webhooks::Guest as WebhooksGuest;
    pub use crate::bindings::plugboard::plugin::types::Event as WitEvent;
    pub use wit_bindgen;

    use crate::{Action, Config, Plugin, PluginError, Response, Webhook};

    /// The plugin's state slot, one per instance.
    pub type Slot<P> = LocalKey<RefCell<Option<P>>>;

    pub fn init<P: Plugin>(slot: &'static Slot<P>, config: String) -> Result<(), PluginError> {
        let config = Config::from_json(&config).map_err(PluginError::from)?;
        let mut plugin = P::default();
        plugin.configure(&config).map_err(PluginError::from)?;
        slot.with(|s| *s.borrow_mut() = Some(plugin));
        Ok(())
    }

    pub fn handle<P: Plugin>(
        slot: &'static Slot<P>,
        event: WitEvent,
    ) -> Result<Vec<Action>, PluginError> {
        crate::event::begin_call();
        let event = crate::event::deliver(event);
        let handled = slot.with(|s| {
            let mut state = s.borrow_mut();
            let plugin = state.get_or_insert_with(P::default);
            let mut out = Response::new();
            plugin
                .on_event(event, &mut out)
                .map_err(PluginError::from)?;
            Ok(out.into_actions())
        });
        crate::event::end_call();
        handled
    }

    pub fn webhook<P: Plugin>(
        slot: &'static Slot<P>,
        hook: Webhook,
    ) -> Result<Vec<Action>, PluginError> {
        slot.with(|s| {
            let mut state = s.borrow_mut();
            let plugin = state.get_or_insert_with(P::default);
            let mut out = Response::new();
            plugin
                .on_webhook(hook, &mut out)
                .map_err(PluginError::from)?;
            Ok(out.into_actions())
        })
    }
}

/// Queues a message to a chat outside the event's response. It is delivered
/// once the current event has been handled successfully, before the
/// response's actions.
///
/// Sending to the event's own chat needs no permission; any other chat needs
/// `send-any-chat`. Everything one event sends, returns and requests over
/// HTTP shares the owner's byte budget (`max_event_bytes`, 2 MiB by
/// default): a send beyond it fails with a `limit exceeded` error. Most
/// plugins use [`Response`] instead.
pub fn send(to: &ChatRef, message: &Outgoing) -> Result<()> {
    bindings::plugboard::plugin::messaging::send(to, message).map_err(error::from_host)
}
