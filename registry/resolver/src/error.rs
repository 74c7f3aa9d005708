//! Why a resolution failed.

use semver::Version;

/// Why [`resolve`](crate::resolve) found no plugins to install. Every message
/// names the problem and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// A requested plugin does not exist in the registry.
    #[error(
        "no plugin named `{name}` in registry `{registry}`{}",
        did_you_mean(suggestions)
    )]
    UnknownPlugin {
        /// The name as requested.
        name: String,
        /// The registry searched.
        registry: String,
        /// Existing names close to `name`.
        suggestions: Vec<String>,
    },

    /// No choice of versions satisfies every requirement.
    #[error(
        "no versions of these plugins work together:\n{explanation}\n\
         Change the requirements named above, or ask the plugins' authors for compatible releases."
    )]
    NoSolution {
        /// The plain-English proof, one sentence per line.
        explanation: String,
    },

    /// The lockfile's checksum for a version differs from the registry's.
    #[error(
        "plugboard.lock says {} {} has sha256 {}, the registry `{}` says {}; \
         someone changed the lockfile or the registry; delete the entry with `plugboard update {}` \
         if you trust the registry",
        .0.name, .0.version, .0.locked, .0.registry, .0.published, .0.name
    )]
    ChecksumMismatch(Box<ChecksumMismatch>),

    /// The lockfile pins a version that the registry does not list.
    #[error(
        "plugboard.lock pins {name} {version}, but registry `{registry}` does not list that version; \
         someone changed the lockfile or the registry; run `plugboard update {name}` to choose a \
         listed version if you trust the registry"
    )]
    LockedVersionMissing {
        /// The plugin.
        name: String,
        /// The locked version.
        version: Version,
        /// The registry.
        registry: String,
    },

    /// The lockfile says a plugin came from another registry.
    #[error(
        "plugboard.lock says {name} comes from registry `{locked}`, but this install reads registry \
         `{registry}`; run `plugboard update {name}` to take it from `{registry}` instead"
    )]
    OtherRegistry {
        /// The plugin.
        name: String,
        /// The registry in `plugboard.lock`.
        locked: String,
        /// The registry being read.
        registry: String,
    },

    /// The index of a plugin could not be read.
    #[error(
        "cannot read the index of `{name}` from registry `{registry}`; check the network connection \
         and the registry address, then try again"
    )]
    Index {
        /// The plugin whose index was asked for.
        name: String,
        /// The registry.
        registry: String,
        /// What went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The index of a plugin contradicts itself.
    #[error(
        "registry `{registry}` sent a broken index for `{name}`: {problem}; tell the registry's operators"
    )]
    BadIndex {
        /// The plugin.
        name: String,
        /// The registry.
        registry: String,
        /// What is wrong.
        problem: String,
    },
}

/// The details of [`ResolveError::ChecksumMismatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChecksumMismatch {
    /// The plugin.
    pub name: String,
    /// The locked version.
    pub version: Version,
    /// The registry.
    pub registry: String,
    /// The sha256 in `plugboard.lock`.
    pub locked: String,
    /// The sha256 in the registry's index.
    pub published: String,
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => "; check the spelling, or search with `plugboard search`".to_owned(),
        [one] => format!("; did you mean `{one}`?"),
        many => format!(
            "; did you mean one of {}?",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub(crate) fn unknown_plugin_phrase(name: &str, registry: &str, suggestions: &[String]) -> String {
    let hint = match suggestions {
        [] => String::new(),
        [one, ..] => format!(" (did you mean `{one}`?)"),
    };
    format!("there is no plugin named `{name}` in registry `{registry}`{hint}")
}
