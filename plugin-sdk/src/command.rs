use std::fmt;
use std::str::FromStr;

use crate::{Command, Error};

/// A command argument that is missing or does not parse. Converts into
/// [`Error::InvalidInput`], so `?` shows it to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    message: String,
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ArgError> for Error {
    fn from(err: ArgError) -> Self {
        Error::InvalidInput(err.message)
    }
}

impl Command {
    /// Parses argument `index` (0-based) as `T`; `name` is how the error calls it.
    ///
    /// A missing argument or one that does not parse gives an error meant for
    /// the user, such as `missing <sides>` or ``<sides>: `x` is not valid``.
    pub fn arg<T: FromStr>(&self, index: usize, name: &str) -> Result<T, ArgError> {
        match self.args.get(index) {
            None => Err(ArgError {
                message: format!(
                    "missing <{name}>; usage: /{} {}",
                    self.name,
                    usage_hint(name, index)
                ),
            }),
            Some(raw) => parse_arg(raw, name),
        }
    }

    /// Like [`Command::arg`] but `None` when the argument is absent.
    pub fn opt_arg<T: FromStr>(&self, index: usize, name: &str) -> Result<Option<T>, ArgError> {
        self.args
            .get(index)
            .map(|raw| parse_arg(raw, name))
            .transpose()
    }

    /// The raw text after the first `skip` arguments, spacing preserved.
    /// Arguments are counted the way [`Command::args`] splits them, so a
    /// `"quoted group"` counts as one.
    ///
    /// For `/remember color deep teal`, `rest(1)` is `"deep teal"`; for
    /// `/remember "my color" deep teal`, it is also `"deep teal"`.
    pub fn rest(&self, skip: usize) -> &str {
        plugboard_args::rest(&self.raw_args, skip)
    }
}

fn parse_arg<T: FromStr>(raw: &str, name: &str) -> Result<T, ArgError> {
    raw.parse().map_err(|_| ArgError {
        message: format!("<{name}>: `{raw}` is not valid"),
    })
}

fn usage_hint(name: &str, index: usize) -> String {
    let mut hint = String::new();
    for _ in 0..index {
        hint.push_str("… ");
    }
    hint.push('<');
    hint.push_str(name);
    hint.push('>');
    hint
}

#[cfg(test)]
mod tests {
    use crate::Command;

    fn command(raw: &str) -> Command {
        let mut message = crate::event::unknown_message();
        message.text = format!("/remember {raw}");
        Command::new("remember", raw, message)
    }

    #[test]
    fn rest_counts_arguments_like_args() {
        let cmd = command("color  deep teal ");
        assert_eq!(cmd.args, ["color", "deep", "teal"]);
        assert_eq!(cmd.rest(0), "color  deep teal");
        assert_eq!(cmd.rest(1), "deep teal");
        assert_eq!(cmd.rest(3), "");
        let quoted = command(r#""my color" deep teal"#);
        assert_eq!(quoted.args, ["my color", "deep", "teal"]);
        assert_eq!(quoted.rest(1), "deep teal");
    }

    #[test]
    fn arg_errors_speak_to_the_user() {
        let cmd = command("x");
        let err = cmd.arg::<u32>(0, "sides").expect_err("not a number");
        assert_eq!(err.to_string(), "<sides>: `x` is not valid");
        let err = cmd.arg::<u32>(1, "count").expect_err("missing");
        assert_eq!(
            err.to_string(),
            "missing <count>; usage: /remember … <count>"
        );
        assert_eq!(cmd.opt_arg::<String>(1, "count"), Ok(None));
    }
}
