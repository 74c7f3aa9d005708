//! Answers in the user's language, from [Fluent](https://projectfluent.org)
//! message catalogs shipped inside the plugin (feature `i18n`).
//!
//! ```no_run
//! use plugboard_sdk::i18n::{Catalogs, args};
//! use plugboard_sdk::prelude::*;
//!
//! static CATALOGS: Catalogs = Catalogs::new(
//!     "en",
//!     &[
//!         ("en", "too-many = I roll at most { $max } dice at once."),
//!         ("de", "too-many = Ich werfe höchstens { $max } Würfel auf einmal."),
//!     ],
//! );
//!
//! # fn answer(cmd: &Command) -> String {
//! CATALOGS.text(cmd.locale.as_deref(), "too-many", &args([("max", 3.into())]))
//! # }
//! ```
//!
//! A locale such as `pt-BR` is matched exactly first, then by its language
//! (`pt`, or any `pt-…` catalog), then the fallback catalog answers. A
//! message missing from the chosen catalog comes from the fallback; one
//! missing everywhere is its id in brackets, so a gap shows instead of
//! failing the event. Catalogs are parsed once per instance, on first use;
//! messages that do not parse are skipped (logged), never a crash. A custom
//! Fluent function must not call [`Catalogs::text`] itself.

use std::cell::RefCell;
use std::collections::HashMap;

pub use fluent_bundle::FluentValue as Value;
use fluent_bundle::{FluentArgs, FluentBundle, FluentResource};
use unic_langid::LanguageIdentifier;

/// The arguments of one message, by name: `args([("max", 3.into())])`.
pub fn args<'a, const N: usize>(pairs: [(&'a str, Value<'a>); N]) -> FluentArgs<'a> {
    let mut args = FluentArgs::new();
    for (name, value) in pairs {
        args.set(name, value);
    }
    args
}

/// A plugin's message catalogs: one Fluent source per language, and the
/// language that answers when the user's has no catalog.
pub struct Catalogs {
    fallback: &'static str,
    sources: &'static [(&'static str, &'static str)],
}

/// A parsed catalog; `None` when its source does not parse.
type Bundle = Option<FluentBundle<FluentResource>>;

thread_local! {
    /// Parsed catalogs, by the address of their sources and language.
    static BUNDLES: RefCell<HashMap<(usize, &'static str), Bundle>> = RefCell::new(HashMap::new());
}

impl Catalogs {
    /// Catalogs from `(language tag, Fluent source)` pairs, usually
    /// `include_str!`ed from a `locales/` folder; `fallback` is one of the
    /// tags.
    pub const fn new(
        fallback: &'static str,
        sources: &'static [(&'static str, &'static str)],
    ) -> Self {
        Catalogs { fallback, sources }
    }

    /// The languages that have a catalog.
    pub fn languages(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sources.iter().map(|(tag, _)| *tag)
    }

    /// The catalog that answers `locale`: exact tag, then same language,
    /// then the fallback.
    pub fn choose(&self, locale: Option<&str>) -> &'static str {
        let Some(wanted) = locale.and_then(|l| l.parse::<LanguageIdentifier>().ok()) else {
            return self.fallback;
        };
        let tags = || {
            self.sources
                .iter()
                .filter_map(|(tag, _)| Some((*tag, tag.parse::<LanguageIdentifier>().ok()?)))
        };
        tags()
            .find(|(_, id)| *id == wanted)
            .or_else(|| tags().find(|(_, id)| id.language == wanted.language))
            .map_or(self.fallback, |(tag, _)| tag)
    }

    /// The message `id` in the language for `locale`, with `args`.
    pub fn text(&self, locale: Option<&str>, id: &str, args: &FluentArgs<'_>) -> String {
        let chosen = self.choose(locale);
        self.format(chosen, id, args)
            .or_else(|| self.format(self.fallback, id, args))
            .unwrap_or_else(|| format!("[{id}]"))
    }

    /// Messages the fallback catalog has that another lacks, as
    /// `(language, message id)`: for a plugin's tests, so that no language
    /// silently answers in the fallback's words.
    ///
    /// ```
    /// use plugboard_sdk::i18n::Catalogs;
    ///
    /// static CATALOGS: Catalogs = Catalogs::new(
    ///     "en",
    ///     &[("en", "hi = Hi\nbye = Bye\n"), ("de", "hi = Hallo\n")],
    /// );
    /// assert_eq!(CATALOGS.untranslated(), vec![("de", "bye".to_owned())]);
    /// ```
    pub fn untranslated(&self) -> Vec<(&'static str, String)> {
        let ids = |source: &str| -> Vec<String> {
            let resource = match FluentResource::try_new(source.to_owned()) {
                Ok(resource) | Err((resource, _)) => resource,
            };
            resource
                .entries()
                .filter_map(|entry| match entry {
                    fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                    _ => None,
                })
                .collect()
        };
        let Some((_, fallback)) = self.sources.iter().find(|(t, _)| *t == self.fallback) else {
            return Vec::new();
        };
        let wanted = ids(fallback);
        let mut missing = Vec::new();
        for (tag, source) in self.sources.iter().filter(|(t, _)| *t != self.fallback) {
            let have = ids(source);
            missing.extend(
                wanted
                    .iter()
                    .filter(|id| !have.contains(id))
                    .map(|id| (*tag, id.clone())),
            );
        }
        missing
    }

    fn format(&self, tag: &'static str, id: &str, args: &FluentArgs<'_>) -> Option<String> {
        let key = (self.sources.as_ptr() as usize, tag);
        BUNDLES.with_borrow_mut(|bundles| {
            let bundle = bundles.entry(key).or_insert_with(|| self.parse(tag));
            let bundle = bundle.as_ref()?;
            let pattern = bundle.get_message(id)?.value()?;
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(args), &mut errors);
            Some(text.into_owned())
        })
    }

    fn parse(&self, tag: &'static str) -> Bundle {
        let (_, source) = self.sources.iter().find(|(t, _)| *t == tag)?;
        let id: LanguageIdentifier = tag.parse().ok()?;
        // What parses is used; the messages that do not fall back.
        let resource = match FluentResource::try_new((*source).to_owned()) {
            Ok(resource) => resource,
            Err((resource, errors)) => {
                crate::log::warn(format!(
                    "the `{tag}` catalog has {} syntax errors; its other messages are used",
                    errors.len()
                ));
                resource
            }
        };
        let mut bundle = FluentBundle::new(vec![id]);
        // Unicode isolation marks around arguments would show in chats.
        bundle.set_use_isolating(false);
        // A message defined twice: the later one wins.
        bundle.add_resource_overriding(resource);
        Some(bundle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static CATALOGS: Catalogs = Catalogs::new(
        "en",
        &[
            (
                "en",
                "too-many = I roll at most { $max } dice at once.\nonly-en = English only",
            ),
            (
                "de",
                "too-many = Ich werfe höchstens { $max } Würfel auf einmal.",
            ),
            ("pt-BR", "too-many = Eu rolo no máximo { $max } dados."),
        ],
    );

    #[test]
    fn the_users_language_answers_with_a_fallback_chain() {
        let max = args([("max", 3.into())]);
        let text = |locale| CATALOGS.text(locale, "too-many", &max);
        assert_eq!(text(Some("de")), "Ich werfe höchstens 3 Würfel auf einmal.");
        assert_eq!(
            text(Some("de-AT")),
            "Ich werfe höchstens 3 Würfel auf einmal."
        );
        assert_eq!(text(Some("pt-BR")), "Eu rolo no máximo 3 dados.");
        assert_eq!(text(Some("pt")), "Eu rolo no máximo 3 dados.");
        assert_eq!(text(Some("fr")), "I roll at most 3 dice at once.");
        assert_eq!(text(None), "I roll at most 3 dice at once.");
        assert_eq!(text(Some("not a tag!")), "I roll at most 3 dice at once.");
        // Missing in German: the English message; missing everywhere: its id.
        assert_eq!(CATALOGS.text(Some("de"), "only-en", &max), "English only");
        assert_eq!(CATALOGS.text(Some("de"), "nowhere", &max), "[nowhere]");
    }
}
