use std::fmt;

use crate::PluginError;

/// The result type of plugin handlers.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a plugin could not handle an event.
///
/// * [`Error::invalid_input`]: the user typed something wrong. The message is
///   shown to the user as is, so write it for them: say what was wrong and how
///   to write it instead.
/// * [`Error::failed`]: anything else. The message goes to the bot owner's log;
///   the user sees a short apology.
///
/// Any [`std::error::Error`] converts into [`Error::failed`] with `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The user's input was wrong; shown to the user.
    InvalidInput(String),
    /// The plugin failed; logged for the owner.
    Failed(String),
}

impl Error {
    /// An error in the user's input, shown to the user as is.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// A failure of the plugin, logged for the owner.
    pub fn failed(message: impl Into<String>) -> Self {
        Error::Failed(message.into())
    }

    /// The message, without saying whether it is for the user or the owner.
    ///
    /// ```
    /// use plugboard_sdk::Error;
    ///
    /// assert_eq!(Error::invalid_input("give more than 0").message(), "give more than 0");
    /// ```
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidInput(m) | Error::Failed(m) => m,
        }
    }

    /// The same message, shown to the user: for a host refusal the user can
    /// act on, such as a timer quota or a time that has passed.
    pub fn for_user(self) -> Self {
        match self {
            Error::Failed(message) => Error::InvalidInput(message),
            shown => shown,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(err: E) -> Self {
        let mut message = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Error::Failed(message)
    }
}

impl From<Error> for PluginError {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidInput(m) => PluginError::InvalidInput(m),
            Error::Failed(m) => PluginError::Failed(m),
        }
    }
}

/// The `string` error of a function a plugin provides to other plugins
/// (see [`interfaces!`](crate::interfaces)): the error's [message](Error::message),
/// which the caller usually shows. It lets `?` return an [`Error`] from a
/// provided function:
///
/// ```
/// use plugboard_sdk::Error;
///
/// fn points(amount: &str) -> Result<i64, String> {
///     let amount: i64 = amount
///         .parse()
///         .map_err(|_| Error::invalid_input(format!("`{amount}` is not a number")))?;
///     Ok(amount)
/// }
///
/// assert_eq!(points("ten"), Err("`ten` is not a number".to_owned()));
/// ```
impl From<Error> for String {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidInput(m) | Error::Failed(m) => m,
        }
    }
}

/// Turns a refusal from the host into a plugin failure with a readable message.
pub(crate) fn from_host(err: crate::HostError) -> Error {
    use crate::HostError;
    Error::Failed(match err {
        HostError::PermissionDenied(m) => format!("permission denied: {m}"),
        HostError::LimitExceeded(m) => format!("limit exceeded: {m}"),
        HostError::InvalidArgument(m) => format!("invalid argument: {m}"),
        HostError::Other(m) => m,
    })
}
