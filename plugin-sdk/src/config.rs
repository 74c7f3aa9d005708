use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Error, Result};

/// The plugin's configuration, as the bot owner wrote it under
/// `[plugins.<name>.config]` in `plugboard.toml`.
///
/// ```
/// # use plugboard_sdk::Config;
/// #[derive(serde::Deserialize)]
/// struct Settings { sides: u32 }
///
/// let config = Config::from_json(r#"{"sides": 20}"#).unwrap();
/// let settings: Settings = config.parse().unwrap();
/// assert_eq!(settings.sides, 20);
/// assert_eq!(config.get::<u32>("sides").unwrap(), Some(20));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    values: Map<String, Value>,
}

impl Config {
    /// Parses a configuration from the JSON object the host passes to `init`.
    pub fn from_json(json: &str) -> Result<Self> {
        if json.trim().is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_str::<Value>(json) {
            Ok(Value::Object(values)) => Ok(Self { values }),
            Ok(Value::Null) => Ok(Self::default()),
            Ok(other) => Err(Error::failed(format!(
                "plugin configuration must be a table, got {other}"
            ))),
            Err(e) => Err(Error::failed(format!(
                "plugin configuration is not valid JSON: {e}"
            ))),
        }
    }

    /// Deserializes the whole configuration into `T` (missing fields can use
    /// `#[serde(default)]`).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(Value::Object(self.values.clone()))
            .map_err(|e| Error::failed(format!("plugin configuration: {e}")))
    }

    /// Reads one key, or `None` when the owner did not set it.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        match self.values.get(key) {
            None => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| Error::failed(format!("plugin configuration key `{key}`: {e}"))),
        }
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}
