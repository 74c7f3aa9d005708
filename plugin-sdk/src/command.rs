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
    ///
    /// For `/remember color deep teal`, `rest(1)` is `"deep teal"`.
    pub fn rest(&self, skip: usize) -> &str {
        let mut text = self.raw_args.trim_start();
        for _ in 0..skip {
            match text.find(char::is_whitespace) {
                Some(end) => text = text[end..].trim_start(),
                None => return "",
            }
        }
        text.trim_end()
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
