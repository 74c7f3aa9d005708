//! The rule for new names, plugin names and user names alike: reserved
//! names and look-alikes.
//!
//! The manifest already requires lowercase `a-z0-9-` and a length limit
//! ([`check_name`](plugboard_registry_types::manifest::check_name)), and
//! user names the same alphabet ([`check_user_name`](crate::check_user_name)).
//! Two names that look alike to a hurried reader (`dice` and `clice`,
//! `webhook` and `vvebhook`, `alice` and `a1ice`) would let one publisher
//! or person pass for another. So a new name is reduced to a
//! [`skeleton`], and [`clash`] refuses it when its skeleton is a reserved
//! name's or an existing name's:
//!
//! 1. the **Unicode confusables skeleton** of TR39 (through the
//!    `unicode-security` crate, the data rustc's confusable-identifier lint
//!    uses): Cyrillic `а` or the Roman numeral `ⅾ` read as Latin `a` and
//!    `d`, and within ASCII `1` and `I` as `l`, `0` as `O`, `m` as `rn`.
//!    Names are ASCII today; the skeleton keeps the rule right if they ever
//!    are not, and brings the ASCII cases the Unicode data knows;
//! 2. then `-` dropped and the letters lowercased;
//! 3. then the **ASCII folds** (`FOLDS`), first the letters that are one
//!    stroke (`1`, `l`, `i` as `l`; `0`, `o` as `o`), then the pairs that
//!    read as one letter (`rn` as `m`, `cl` as `d`, `vv` as `w`).
//!
//! ```text
//! dice, clice, d1ce, dlce → dlce      webhook, vvebhook → webhook
//! admin, adm1n, adrnin → admln        alice, a1ice, aIice → allce
//! echo, ech0, e-cho → echo            modem, rnodern → modem
//! ```
//!
//! Who is compared with whom: a new **plugin** name with the reserved
//! names ([`RESERVED`]) and other owners' plugins (an owner may publish
//! look-alikes of their own plugins); a new **account** name with the
//! reserved names and every account. Existing names are never refused.

use unicode_security::skeleton as unicode_skeleton;

/// Names no plugin or account may take, nor a look-alike of them.
pub const RESERVED: &[&str] = &[
    "plugboard",
    "admin",
    "api",
    "std",
    "core",
    "registry",
    "www",
    "help",
    "index",
    "new",
];

/// The ASCII folds applied after the Unicode skeleton: single letters
/// first, then pairs, each read as the letter on the right.
const FOLDS: &[(&str, &str)] = &[
    ("1", "l"),
    ("i", "l"),
    ("0", "o"),
    ("rn", "m"),
    ("cl", "d"),
    ("vv", "w"),
];

/// How the folds are said in error messages.
const FOLDS_IN_WORDS: &str = "`cl` reads as `d`, `vv` as `w`, `rn` as `m`, `1`, `l` and `i` \
     alike, `0` as `o`, `-` not at all, and Unicode look-alikes as the letters they mimic";

/// The form two names share when they look alike (see the module's
/// documentation).
pub fn skeleton(name: &str) -> String {
    let mut shape: String = unicode_skeleton(name)
        .filter(|c| *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    for (from, to) in FOLDS {
        if shape.contains(from) {
            shape = shape.replace(from, to);
        }
    }
    shape
}

/// What a new name is refused for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Clash {
    /// It is the reserved name `reserved`, or reads like it.
    Reserved {
        /// The reserved name.
        reserved: &'static str,
    },
    /// It reads like the existing name `existing`.
    LooksLike {
        /// The existing plugin or account name.
        existing: String,
    },
}

/// What a name names, for the words of [`Clash::explain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// A plugin's name (`name` in plugin.toml).
    Plugin,
    /// An account's user name.
    User,
}

/// The rule for a new name, plugin or account: refused when it is reserved
/// or its [`skeleton`] is a reserved name's, or when its skeleton is the
/// skeleton of one of `existing` (the names it must not be mistaken for).
/// A name equal to one in `existing` is not a clash here: it is taken,
/// which the caller knows and says.
pub fn clash<'a>(name: &str, existing: impl IntoIterator<Item = &'a str>) -> Option<Clash> {
    let shape = skeleton(name);
    if let Some(reserved) = RESERVED
        .iter()
        .find(|r| **r == name || skeleton(r) == shape)
    {
        return Some(Clash::Reserved { reserved });
    }
    existing
        .into_iter()
        .find(|other| *other != name && skeleton(other) == shape)
        .map(|other| Clash::LooksLike {
            existing: other.to_owned(),
        })
}

impl Clash {
    /// Why `name`, a name of `kind`, is refused and what to do, naming the
    /// name it reads like.
    pub fn explain(&self, name: &str, kind: NameKind) -> String {
        let fix = match kind {
            NameKind::Plugin => "choose another `name` in plugin.toml",
            NameKind::User => "choose another user name",
        };
        match self {
            Clash::Reserved { reserved } if *reserved == name => format!(
                "the name `{name}` is reserved; {fix} (reserved: {})",
                RESERVED.join(", ")
            ),
            Clash::Reserved { reserved } => format!(
                "the name `{name}` is reserved (it reads like `{reserved}`; {FOLDS_IN_WORDS}); \
                 {fix} (reserved: {})",
                RESERVED.join(", ")
            ),
            Clash::LooksLike { existing } => {
                let what = match kind {
                    NameKind::Plugin => "plugin",
                    NameKind::User => "account",
                };
                format!(
                    "the name `{name}` is too easily mistaken for the existing {what} \
                     `{existing}` ({FOLDS_IN_WORDS}); {fix}, one that does not read like \
                     `{existing}`"
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_share_a_skeleton() {
        for group in [
            &[
                "dice", "clice", "d1ce", "dlce", "dIce", "d-i-c-e", "ⅾice", "dicе",
            ][..],
            &["webhook", "vvebhook", "web-hook", "webh00k"],
            &["admin", "adm1n", "adrnin", "admln", "аdmin"],
            &["alice", "a1ice", "aiice", "aIice", "al1ce"],
            &["echo", "ech0", "e-cho", "e-ch0"],
            &["modem", "rnodern", "rnodem"],
            &["tool", "t00l", "too1"],
        ] {
            let shape = skeleton(group[0]);
            for name in group {
                assert_eq!(skeleton(name), shape, "{name} reads like {}", group[0]);
            }
        }
        for (a, b) in [
            ("echo", "echos"),
            ("dice", "dime"),
            ("poll", "pool"),
            ("notes", "nodes"),
            ("carl", "carol"),
            ("bob", "bobby"),
        ] {
            assert_ne!(skeleton(a), skeleton(b), "{a} and {b} read differently");
        }
    }

    #[test]
    fn clashes_name_the_look_alike() {
        let existing = ["dice", "webhook", "alice", "echo"];
        for (name, expected) in [
            ("clice", Some("dice")),
            ("d1ce", Some("dice")),
            ("vvebhook", Some("webhook")),
            ("a1ice", Some("alice")),
            ("dice", None),
            ("dicey", None),
        ] {
            let found = clash(name, existing);
            let expected = expected.map(|e| Clash::LooksLike {
                existing: e.to_owned(),
            });
            assert_eq!(found, expected, "{name}");
        }
        assert_eq!(
            clash("adm1n", existing),
            Some(Clash::Reserved { reserved: "admin" })
        );
        let words = clash("clice", existing)
            .map(|c| c.explain("clice", NameKind::Plugin))
            .unwrap_or_default();
        assert!(
            words.contains("`clice` is too easily mistaken for the existing plugin `dice`")
                && words.contains("`cl` reads as `d`")
                && words.contains("choose another `name` in plugin.toml"),
            "{words}"
        );
        let words = clash("a1ice", existing)
            .map(|c| c.explain("a1ice", NameKind::User))
            .unwrap_or_default();
        assert!(
            words.contains("existing account `alice`") && words.contains("another user name"),
            "{words}"
        );
    }

    #[test]
    fn reserved_names_say_so() {
        let message = clash("admin", []).map(|c| c.explain("admin", NameKind::Plugin));
        let message = message.unwrap_or_default();
        assert!(message.contains("`admin` is reserved;"), "{message}");
        let message = clash("p-lugb0ard", []).map(|c| c.explain("p-lugb0ard", NameKind::Plugin));
        assert!(
            message
                .unwrap_or_default()
                .contains("reads like `plugboard`"),
            "looks reserved"
        );
        assert_eq!(clash("echo", []), None);
    }

    /// The official plugins (every folder of `plugins/`) and the reserved
    /// names keep apart under the folds: a fold that made two of them one
    /// would refuse a real plugin.
    #[test]
    fn official_and_reserved_names_keep_apart() {
        let plugins = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
        let mut names: Vec<String> = std::fs::read_dir(&plugins)
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            names.len() >= 8,
            "the official plugins in {}",
            plugins.display()
        );
        names.extend(RESERVED.iter().map(|r| (*r).to_owned()));
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(skeleton(a), skeleton(b), "{a} and {b} would clash");
            }
        }
    }
}
