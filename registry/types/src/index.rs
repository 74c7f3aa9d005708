//! The sparse index: one JSON line per published version of a plugin.
//!
//! The registry serves `GET /index/<name>` as text with one [`IndexEntry`]
//! per line, oldest version first, each a self-contained JSON object:
//!
//! ```text
//! {"name":"poll","version":"1.2.0","deps":{"economy":"^1.2"},"sha256":"9f86…","signature":"…","key_id":"…","wit":"0.1.0","permissions":["kv"],"yanked":false}
//! ```
//!
//! The resolver reads only this file to choose versions, so it carries
//! everything resolution and the install prompt need: the dependency
//! requirements, the WIT version the component was built against, the
//! permissions it asks for, the package's sha256 and signature, whether the
//! version was yanked, and the interfaces it provides to and imports from
//! other plugins (`provides` and `imports`, left out when empty). Lines are
//! appended when a version is published and rewritten only to flip
//! `yanked`, which keeps the file cacheable.
//!
//! Readers ignore fields they do not know, so a newer registry can add fields
//! without breaking older clients.
//!
//! ```
//! use plugboard_registry_types::index::{parse_index_lines, IndexEntry};
//!
//! let mut entry = IndexEntry::new("poll", "1.2.0".parse()?, "0.1.0".parse()?, "ab".repeat(32));
//! entry.deps.insert("economy".into(), "^1.2".parse()?);
//! let text = format!("{}\n", entry.to_line());
//! let entries = parse_index_lines(&text)?;
//! assert_eq!(entries, vec![entry]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use semver::{Version, VersionReq};
use serde::{Deserialize, Serialize};

use crate::interfaces::InterfaceName;
use crate::manifest::{Manifest, Permission, check_name};

/// One published version of a plugin, as one line of the sparse index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IndexEntry {
    /// The plugin's name.
    pub name: String,
    /// This version. Written as `version`; `vers` (cargo's spelling) is
    /// accepted too.
    #[serde(alias = "vers")]
    pub version: Version,
    /// The plugins this version depends on, with cargo-style requirements.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deps: BTreeMap<String, VersionReq>,
    /// The sha256 of the package file, as 64 lowercase hex digits.
    pub sha256: String,
    /// The publisher's ed25519 signature over the package's sha256, as the
    /// registry stores it (empty for unsigned test packages).
    #[serde(default)]
    pub signature: String,
    /// Which of the publisher's keys made `signature`.
    #[serde(default)]
    pub key_id: String,
    /// The version of the `plugboard:plugin` WIT package the component was
    /// built against.
    pub wit: Version,
    /// The permissions the plugin asks for, shown before installing.
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Whether the publisher yanked this version: it is no longer chosen for
    /// new installs, but lockfiles that pin it keep working.
    #[serde(default)]
    pub yanked: bool,
    /// The interfaces this version exports for other plugins, as
    /// `namespace:package/interface@version` (the manifest's `provides`).
    /// Absent from entries written before registries recorded it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provides: Vec<String>,
    /// The interfaces of its dependencies this version calls (the
    /// manifest's `imports`); see [`imports_from`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub imports: Vec<String>,
}

/// Why a sparse index file was refused; names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("index line {line}: {problem}")]
#[non_exhaustive]
pub struct IndexLineError {
    /// The 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub problem: String,
}

impl IndexEntry {
    /// An entry without dependencies, signature or permissions, not yanked.
    /// Set the other public fields afterwards.
    pub fn new(name: impl Into<String>, version: Version, wit: Version, sha256: String) -> Self {
        Self {
            name: name.into(),
            version,
            deps: BTreeMap::new(),
            sha256,
            signature: String::new(),
            key_id: String::new(),
            wit,
            permissions: Vec::new(),
            yanked: false,
            provides: Vec::new(),
            imports: Vec::new(),
        }
    }

    /// The entry the registry writes when it accepts a package with this
    /// manifest, sha256 and signature.
    pub fn from_manifest(
        manifest: &Manifest,
        sha256: String,
        signature: String,
        key_id: String,
    ) -> Self {
        Self {
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            deps: manifest.dependencies.clone(),
            sha256,
            signature,
            key_id,
            wit: manifest.wit.clone(),
            permissions: manifest.permissions.clone(),
            yanked: false,
            provides: manifest.provides.clone(),
            imports: manifest.imports.clone(),
        }
    }

    /// The entry as one line of JSON, without the trailing newline.
    pub fn to_line(&self) -> String {
        // Strings, versions and maps with string keys always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses one line of the index and checks the name and checksum.
    pub fn from_line(line: &str) -> Result<Self, String> {
        let entry: IndexEntry = serde_json::from_str(line).map_err(|e| e.to_string())?;
        entry.validate()?;
        Ok(entry)
    }

    /// Checks what the JSON shape alone does not: the names and the sha256.
    pub fn validate(&self) -> Result<(), String> {
        check_name(&self.name).map_err(|problem| format!("`name` {problem}"))?;
        for dep in self.deps.keys() {
            check_name(dep).map_err(|problem| format!("`deps.{dep}` {problem}"))?;
        }
        for (field, names) in [("provides", &self.provides), ("imports", &self.imports)] {
            for (i, name) in names.iter().enumerate() {
                name.parse::<InterfaceName>()
                    .map_err(|problem| format!("`{field}[{i}]` `{name}` {problem}"))?;
            }
        }
        if !is_sha256_hex(&self.sha256) {
            return Err(format!(
                "`sha256` is `{}`, not 64 lowercase hex digits; the registry wrote a broken entry",
                self.sha256
            ));
        }
        Ok(())
    }

    /// The interfaces in `provides`, parsed (those that do not parse are
    /// left out; [`IndexEntry::validate`] refuses them).
    pub fn provided_interfaces(&self) -> Vec<InterfaceName> {
        parse_all(&self.provides)
    }

    /// The interfaces in `imports`, parsed (as
    /// [`IndexEntry::provided_interfaces`]).
    pub fn imported_interfaces(&self) -> Vec<InterfaceName> {
        parse_all(&self.imports)
    }

    /// Whether this version provides an interface that serves an import
    /// of `wanted` ([`InterfaceName::satisfies`]).
    pub fn provides_for(&self, wanted: &InterfaceName) -> bool {
        self.provided_interfaces()
            .iter()
            .any(|p| p.satisfies(wanted))
    }

    /// What this version provides of `wanted`'s interface, at whatever
    /// version (`plugins:economy/api@1.0.0` for a `wanted` of
    /// `plugins:economy/api@2.0.0`), for messages.
    pub fn provided_version_of(&self, wanted: &InterfaceName) -> Option<InterfaceName> {
        self.provided_interfaces()
            .into_iter()
            .find(|p| p.unversioned() == wanted.unversioned())
    }
}

fn parse_all(names: &[String]) -> Vec<InterfaceName> {
    names.iter().filter_map(|n| n.parse().ok()).collect()
}

/// Which of a dependent's `imports` come from one of its dependencies, given
/// every published version of that dependency (yanked ones included): those
/// whose interface some version provides, at any version. The registry (at
/// publish) and the resolver both use this one rule; they then require a
/// version within the dependency's requirement that provides each of them at
/// a compatible version ([`IndexEntry::provides_for`]). An import that two
/// dependencies both provide comes from both, and both must serve it.
pub fn imports_from<'a>(
    imports: &'a [InterfaceName],
    dependency: &[IndexEntry],
) -> Vec<&'a InterfaceName> {
    imports
        .iter()
        .filter(|wanted| {
            dependency
                .iter()
                .any(|entry| entry.provided_version_of(wanted).is_some())
        })
        .collect()
}

/// For messages: what `versions` (of one plugin) provide of `wanted`'s
/// interface, grouped by what they provide, newest first, such as
/// `economy 1.1.0 and 1.0.0 provide plugins:economy/api@1.0.0; economy
/// 0.9.0 provides no version of plugins:economy/api`. At most four versions
/// are named; the rest are counted.
pub fn describe_provided(versions: &[&IndexEntry], wanted: &InterfaceName) -> String {
    let mut sorted: Vec<&IndexEntry> = versions.to_vec();
    sorted.sort_by(|a, b| b.version.cmp(&a.version));
    let shown = sorted.len().min(4);
    let mut groups: Vec<(Option<InterfaceName>, Vec<&Version>)> = Vec::new();
    for entry in &sorted[..shown] {
        let provided = entry.provided_version_of(wanted);
        match groups.iter_mut().find(|(p, _)| *p == provided) {
            Some((_, list)) => list.push(&entry.version),
            None => groups.push((provided, vec![&entry.version])),
        }
    }
    let mut parts: Vec<String> = groups
        .into_iter()
        .map(|(provided, list)| {
            let name = sorted.first().map_or("", |e| e.name.as_str());
            let many = list.len() > 1;
            let list: Vec<String> = list.iter().map(ToString::to_string).collect();
            let versions = match list.as_slice() {
                [init @ .., last] if !init.is_empty() => format!("{} and {last}", init.join(", ")),
                _ => list.join(""),
            };
            let verb = if many { "provide" } else { "provides" };
            match provided {
                Some(p) => format!("{name} {versions} {verb} {p}"),
                None => format!(
                    "{name} {versions} {verb} no version of {}",
                    wanted.unversioned()
                ),
            }
        })
        .collect();
    if sorted.len() > shown {
        parts.push(format!("{} older versions", sorted.len() - shown));
    }
    parts.join("; ")
}

/// Whether `text` is a sha256 written as 64 lowercase hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a whole sparse index file: one [`IndexEntry`] per non-blank line,
/// all for the same plugin, no version twice. Errors name the 1-based line.
pub fn parse_index_lines(text: &str) -> Result<Vec<IndexEntry>, IndexLineError> {
    let mut entries: Vec<IndexEntry> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let error = |problem: String| IndexLineError {
            line: line_no,
            problem,
        };
        let entry = IndexEntry::from_line(line).map_err(error)?;
        if let Some(first) = entries.first()
            && first.name != entry.name
        {
            return Err(error(format!(
                "is for `{}` but the lines before are for `{}`; one index file holds one plugin",
                entry.name, first.name
            )));
        }
        if entries.iter().any(|e| e.version == entry.version) {
            return Err(error(format!(
                "repeats version {} of `{}`; a version is published once",
                entry.version, entry.name
            )));
        }
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> String {
        c.to_string().repeat(64)
    }

    #[test]
    fn round_trips_and_accepts_vers() -> Result<(), Box<dyn std::error::Error>> {
        let mut entry = IndexEntry::new("poll", "1.2.0".parse()?, "0.1.0".parse()?, sha('a'));
        entry.deps.insert("economy".into(), "^1.2".parse()?);
        entry.permissions.push(Permission::Kv);
        entry.yanked = true;
        let line = entry.to_line();
        assert!(!line.contains('\n'));
        assert_eq!(IndexEntry::from_line(&line)?, entry);

        let cargo_style = format!(
            r#"{{"name":"poll","vers":"1.2.0","sha256":"{}","wit":"0.1.0","future":1}}"#,
            sha('b')
        );
        let parsed = IndexEntry::from_line(&cargo_style)?;
        assert_eq!(parsed.version, Version::new(1, 2, 0));
        assert!(!parsed.yanked && parsed.deps.is_empty());
        Ok(())
    }

    #[test]
    fn errors_name_the_line() {
        let good = IndexEntry::new(
            "poll",
            Version::new(1, 0, 0),
            Version::new(0, 1, 0),
            sha('c'),
        )
        .to_line();
        let cases = [
            (format!("{good}\n\nnot json\n"), 3, "expected"),
            (format!("{good}\n{good}\n"), 2, "repeats version 1.0.0"),
            (
                format!("{good}\n{}", good.replace("poll", "dice")),
                2,
                "is for `dice`",
            ),
            (good.replace(&sha('c'), "ABC"), 1, "`sha256` is `ABC`"),
            (good.replace("\"poll\"", "\"Poll\""), 1, "`name`"),
            (good.replace("1.0.0", "1.0"), 1, "version"),
        ];
        for (text, line, needle) in cases {
            let err = parse_index_lines(&text).expect_err("must be refused");
            assert_eq!(err.line, line, "{err}");
            assert!(err.to_string().contains(needle), "{needle} not in: {err}");
        }
    }

    #[test]
    fn interfaces_round_trip_are_left_out_when_empty_and_are_checked()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut entry = IndexEntry::new("economy", "1.1.0".parse()?, "0.2.0".parse()?, sha('e'));
        let bare = entry.to_line();
        assert!(
            !bare.contains("provides") && !bare.contains("imports"),
            "{bare}"
        );
        entry.provides.push("plugins:economy/api@1.1.0".into());
        entry.imports.push("acme:bank/api@0.3.0".into());
        let line = entry.to_line();
        assert!(
            line.contains(r#""provides":["plugins:economy/api@1.1.0"]"#),
            "{line}"
        );
        assert_eq!(IndexEntry::from_line(&line)?, entry);
        let bad = line.replace("api@1.1.0", "api");
        let err = IndexEntry::from_line(&bad).expect_err("unversioned");
        assert!(
            err.contains("`provides[0]` `plugins:economy/api` has no version"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn imports_come_from_the_dependency_that_provides_their_interface()
    -> Result<(), Box<dyn std::error::Error>> {
        let economy = |version: &str,
                       provides: &[&str]|
         -> Result<IndexEntry, Box<dyn std::error::Error>> {
            let mut e = IndexEntry::new("economy", version.parse()?, "0.2.0".parse()?, sha('f'));
            e.provides = provides.iter().map(|p| (*p).to_owned()).collect();
            Ok(e)
        };
        let versions = [
            economy("0.9.0", &[])?,
            economy("1.0.0", &["plugins:economy/api@1.0.0"])?,
            economy(
                "1.1.0",
                &["plugins:economy/api@1.1.0", "plugins:economy/admin@1.0.0"],
            )?,
        ];
        let wanted: Vec<InterfaceName> = ["plugins:economy/api@1.1.0", "acme:bank/api@1.0.0"]
            .iter()
            .map(|n| n.parse())
            .collect::<Result<_, _>>()?;
        assert_eq!(imports_from(&wanted, &versions), vec![&wanted[0]]);
        assert!(versions[2].provides_for(&wanted[0]));
        assert!(!versions[1].provides_for(&wanted[0]));
        let all: Vec<&IndexEntry> = versions.iter().collect();
        assert_eq!(
            describe_provided(&all, &wanted[0]),
            "economy 1.1.0 provides plugins:economy/api@1.1.0; economy 1.0.0 provides plugins:economy/api@1.0.0; economy 0.9.0 provides no version of plugins:economy/api"
        );
        let same = [
            economy("1.0.1", &["plugins:economy/api@1.0.0"])?,
            versions[1].clone(),
        ];
        let same: Vec<&IndexEntry> = same.iter().collect();
        assert_eq!(
            describe_provided(&same, &wanted[0]),
            "economy 1.0.1 and 1.0.0 provide plugins:economy/api@1.0.0"
        );
        Ok(())
    }

    #[test]
    fn from_manifest_copies_the_resolution_fields() -> Result<(), Box<dyn std::error::Error>> {
        let manifest = Manifest::from_toml(
            r#"
            name = "poll"
            version = "1.2.0"
            description = "Polls."
            wit = "0.1"
            permissions = ["kv"]
            provides = ["acme:poll/api@1.0.0"]
            imports = ["plugins:economy/api@1.2.0"]
            [dependencies]
            economy = "^1.2"
        "#,
        )?;
        let entry = IndexEntry::from_manifest(&manifest, sha('d'), "sig".into(), "key".into());
        assert_eq!(entry.deps["economy"], "^1.2".parse::<VersionReq>()?);
        assert_eq!(entry.wit, Version::new(0, 1, 0));
        assert_eq!(entry.permissions, vec![Permission::Kv]);
        assert_eq!(entry.provides, ["acme:poll/api@1.0.0"]);
        assert_eq!(entry.imports, ["plugins:economy/api@1.2.0"]);
        Ok(())
    }
}
