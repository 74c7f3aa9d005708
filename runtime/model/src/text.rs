//! Text helpers shared by the router, the adapters and the host: command
//! parsing, argument splitting and cutting text to a byte budget.
//!
//! [`split_args`] is the one rule for arguments. It lives in
//! [`plugboard_args`] so that the plugin SDK links the same code: the host
//! hands 0.1 plugins the pieces, and the SDK splits a 0.2 command's
//! `raw-args` itself.

/// Longest plugin error text shown to a user or written to the log, in bytes.
pub const MAX_ERROR_TEXT: usize = 1_000;

/// `text` cut to at most `max` bytes at a character boundary, with `…` when cut.
pub fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// A command found at the start of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    /// Lower-cased name without prefix, plugin and `@bot` suffix.
    pub name: String,
    /// The plugin named before the command (`/notes.remember`), if any.
    pub plugin: Option<String>,
    /// The trimmed text after the name.
    pub raw_args: String,
    /// The bot named with `@`, if any (`/roll@MyBot`).
    pub addressed_to: Option<String>,
}

/// Parses `text` as a command when it starts with one of `prefixes`
/// followed directly by a valid command name, or by a plugin's name, a dot
/// and one of its commands (`/notes.remember`).
pub fn parse_command(text: &str, prefixes: &[String]) -> Option<ParsedCommand> {
    let text = text.trim_start();
    let rest = prefixes
        .iter()
        .find_map(|p| text.strip_prefix(p.as_str()))?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (head, tail) = rest.split_at(end);
    let (name, addressed_to) = match head.split_once('@') {
        Some((name, bot)) if !bot.is_empty() => (name, Some(bot.to_owned())),
        Some(_) => return None,
        None => (head, None),
    };
    // ASCII only: Unicode case folding would turn look-alikes such as the
    // Kelvin sign into `k` and route them.
    let name = name.to_ascii_lowercase();
    // Platforms register command names with `_` only; a user who types
    // `/forget-reminder` means `forget_reminder`. Only hyphens between
    // words: `/-` or `/x-` stay text.
    let underscored = |command: String| {
        let between_words = command.starts_with(|c: char| c.is_ascii_alphanumeric())
            && command.ends_with(|c: char| c.is_ascii_alphanumeric())
            && !command.contains("--");
        match command.contains('-') && between_words {
            true => command.replace('-', "_"),
            false => command,
        }
    };
    let (plugin, name) = match name.contains('.') {
        true => {
            let (plugin, command) = name.split_once('.')?;
            let name = format!("{plugin}.{}", underscored(command.to_owned()));
            let qualified = crate::commands::QualifiedCommand::parse(&name)?;
            (Some(qualified.plugin), qualified.command)
        }
        false => {
            let name = underscored(name);
            plugboard_registry_types::manifest::check_command_name(&name).ok()?;
            (None, name)
        }
    };
    Some(ParsedCommand {
        name,
        plugin,
        raw_args: tail.trim().to_owned(),
        addressed_to,
    })
}

/// Splits arguments on whitespace, keeping `"double quoted groups"` together:
/// the rule lives in [`plugboard_args`], which the plugin SDK links too.
pub use plugboard_args::split_args;

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        vec!["/".into(), "!".into()]
    }

    #[test]
    fn a_hyphen_in_a_typed_command_name_means_an_underscore() {
        let p = parse_command("/Forget-Reminder 3", &prefixes()).expect("command");
        assert_eq!(
            (p.name.as_str(), p.raw_args.as_str()),
            ("forget_reminder", "3")
        );
        let p = parse_command("/remind.forget-reminder 3", &prefixes()).expect("command");
        assert_eq!(
            (p.plugin.as_deref(), p.name.as_str()),
            (Some("remind"), "forget_reminder")
        );
        assert_eq!(
            parse_command("/ro-ll", &prefixes()).expect("command").name,
            "ro_ll"
        );
        assert!(parse_command("/-", &prefixes()).is_none());
        assert!(parse_command("/-x", &prefixes()).is_none());
    }

    #[test]
    fn parses_commands() {
        let p = parse_command("/roll 2d6", &prefixes()).expect("command");
        assert_eq!((p.name.as_str(), p.raw_args.as_str()), ("roll", "2d6"));
        let p = parse_command("  !Echo   hello  world ", &prefixes()).expect("command");
        assert_eq!(
            (p.name.as_str(), p.raw_args.as_str()),
            ("echo", "hello  world")
        );
        let p = parse_command("/roll@MyBot d20", &prefixes()).expect("command");
        assert_eq!(p.addressed_to.as_deref(), Some("MyBot"));
        assert_eq!(p.name, "roll");
        let p = parse_command("/My-Notes.Remember@MyBot pin 1234", &prefixes()).expect("command");
        assert_eq!(
            (p.plugin.as_deref(), p.name.as_str(), p.raw_args.as_str()),
            (Some("my-notes"), "remember", "pin 1234")
        );
        for not in [
            "hello",
            "/",
            "/ roll",
            "//x",
            "/roll-",
            "/ro--ll",
            "/roll@",
            "?roll",
            "/.x",
            "/notes.",
            "/a.b.c",
            "/no_tes.x",
            // The Kelvin sign folds to `k` under Unicode rules, not ASCII.
            "/\u{212a}ick",
        ] {
            assert_eq!(parse_command(not, &prefixes()), None, "{not}");
        }
    }

    #[test]
    fn truncates_at_char_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("abcdef", 4), "abcd…");
    }

    #[test]
    fn splits_arguments() {
        assert_eq!(split_args(r#"a  "b c" d"#), vec!["a", "b c", "d"]);
        assert_eq!(split_args(r#""""#), vec![""]);
        assert!(split_args("   ").is_empty());
    }
}
