//! Plugin name rules beyond the manifest's syntax: reserved names and
//! confusable names.
//!
//! The manifest already requires lowercase `a-z0-9-` and a length limit
//! ([`check_name`](plugboard_registry_types::manifest::check_name)). The
//! registry adds two rules for *new* names:
//!
//! * **Reserved names** ([`RESERVED`]) belong to the project or would read
//!   like part of the registry itself; their look-alikes are reserved too.
//! * **Confusables**: two names that look alike to a hurried reader, like
//!   `echo`, `ech0` and `e-cho`, would let one publisher pass for another.
//!   Names are reduced to a [`skeleton`] (drop `-`, read `0` as `o` and `1`
//!   as `l`, then `rn` as `m`); a new name whose skeleton equals the skeleton
//!   of an existing plugin with other owners is refused. An owner may still
//!   publish look-alikes of their own plugins.

/// Names no plugin may take.
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

/// Why `name` may not be registered at all, if it is reserved or looks
/// like a reserved name.
pub(crate) fn reserved(name: &str) -> Option<String> {
    let shape = skeleton(name);
    let taken = RESERVED.iter().find(|r| skeleton(r) == shape)?;
    let like = if *taken == name {
        String::new()
    } else {
        format!(" (it reads like `{taken}`)")
    };
    Some(format!(
        "the name `{name}` is reserved{like}; choose another `name` in plugin.toml (reserved: {})",
        RESERVED.join(", ")
    ))
}

/// The form two names share when they look alike: without `-`, with `0`
/// read as `o`, `1` as `l`, and then `rn` as `m`.
///
/// ```text
/// echo, ech0, e-cho → echo        modern, rnodern → modem        t00l, too1 → tool
/// ```
pub fn skeleton(name: &str) -> String {
    let mapped: String = name
        .chars()
        .filter(|c| *c != '-')
        .map(|c| match c.to_ascii_lowercase() {
            '0' => 'o',
            '1' => 'l',
            c => c,
        })
        .collect();
    mapped.replace("rn", "m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_share_a_skeleton() {
        for name in ["echo", "ech0", "e-cho", "e-ch0"] {
            assert_eq!(skeleton(name), "echo", "{name}");
        }
        assert_eq!(skeleton("rnodern"), skeleton("modem"));
        assert_eq!(skeleton("t00l"), skeleton("too1"));
        assert_ne!(skeleton("echo"), skeleton("echos"));
        assert_ne!(skeleton("dice"), skeleton("d1ce"), "1 reads as l, not i");
    }

    #[test]
    fn reserved_names_say_so() {
        let message = reserved("admin").expect("reserved");
        assert!(message.contains("`admin` is reserved;"), "{message}");
        let message = reserved("p-lugb0ard").expect("looks reserved");
        assert!(message.contains("reads like `plugboard`"), "{message}");
        assert!(reserved("echo").is_none());
    }
}
