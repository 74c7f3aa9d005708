//! The bot's log: `tracing` events written one per line to stderr, with
//! nothing a plugin, a platform or a user typed able to break out of its
//! field.
//!
//! Code that logs outside text records it as a field with `?` (`text =
//! ?message`): `Debug` quotes it and escapes quotes, backslashes and
//! control characters, so it can forge neither a line nor a field. As a
//! second wall, [`Fields`] writes every field (the message included)
//! through [`text::escape`](plugboard_registry_types::text::escape): no
//! control character or escape sequence reaches the log raw, whatever a
//! caller wrote, and a newline in a value can never start a new line.
//!
//! ```no_run
//! plugboard_cli::logging::init();
//! tracing::info!(plugin = "notes", text = ?"two\nlines", "plugin log");
//! // INFO plugin log plugin="notes" text="two\nlines"
//! ```

use std::fmt::{self, Write as _};

use plugboard_registry_types::text::escape;
use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::Writer;

/// Installs the bot's log subscriber, filtered by `PLUGBOARD_LOG` (default
/// `info`): to stderr, in colour only when it is a terminal, and to the
/// owner console's log book. Does nothing when a subscriber is already
/// installed.
pub fn init() {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter =
        tracing_subscriber::EnvFilter::try_from_env("PLUGBOARD_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,cranelift=warn,wasmtime=warn")
        });
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .fmt_fields(Fields);
    // The same lines, uncoloured, for the owner console's log page.
    let book = tracing_subscriber::fmt::layer()
        .with_writer(|| BookWriter(Vec::new()))
        .with_ansi(false)
        .with_target(false)
        .fmt_fields(Fields);
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(book)
        .try_init();
}

/// Collects one event's line and hands it to the console's log book
/// ([`LogBook::global`](plugboard_console::logbook::LogBook::global)) when
/// the formatter is done with it.
struct BookWriter(Vec<u8>);

impl std::io::Write for BookWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for BookWriter {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            plugboard_console::logbook::LogBook::global().write(&String::from_utf8_lossy(&self.0));
        }
    }
}

/// Formats an event's fields: the message first as written, the others as
/// `name=value`, every byte of both through [`escape`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields;

impl<'w> MakeVisitor<Writer<'w>> for Fields {
    type Visitor = FieldVisitor<'w>;

    fn make_visitor(&self, target: Writer<'w>) -> Self::Visitor {
        FieldVisitor {
            writer: target,
            first: true,
            result: Ok(()),
        }
    }
}

/// Writes the fields of one event or span (see [`Fields`]).
pub struct FieldVisitor<'w> {
    writer: Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl Visit for FieldVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        let separator = if std::mem::take(&mut self.first) {
            ""
        } else {
            " "
        };
        let mut out = Escaping(&mut self.writer);
        self.result = match field.name() {
            "message" => write!(out, "{separator}{value:?}"),
            // `log` crate records arrive with these; the formatter shows them.
            name if name.starts_with("log.") => Ok(()),
            name => write!(out, "{separator}{name}={value:?}"),
        };
    }
}

impl VisitOutput<fmt::Result> for FieldVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for FieldVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

/// Passes text on with every unsafe character escaped.
struct Escaping<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.write_str(&escape(s, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn no_field_can_carry_a_control_character_or_a_line_break() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .fmt_fields(Fields)
            .finish();
        let hostile = "x\x1b]0;pwned\x07\x1b[2J\r\t\x7f\u{9b}\u{202e}\nFAKE INFO resumed";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(plugin = "p", text = ?hostile, "plugin log");
            tracing::warn!(reason = %hostile, "display field");
            tracing::error!("concatenated {hostile}");
        });
        let bytes = capture.0.lock().expect("capture").clone();
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            !text
                .chars()
                .any(|c| c != '\n' && plugboard_registry_types::text::is_unsafe(c)),
            "{text:?}"
        );
        let first = text.lines().next().unwrap_or_default();
        assert!(
            first.ends_with(r#"plugin log plugin="p" text="x\u{1b}]0;pwned\u{7}\u{1b}[2J\r\t\u{7f}\u{9b}\u{202e}\nFAKE INFO resumed""#),
            "{first}"
        );
    }
}
