//! Turning PubGrub's proof of impossibility into sentences.
//!
//! [`pubgrub::DefaultStringReporter`] already walks the derivation tree the
//! way people read a proof: it starts from facts ("poll 1.2.0 depends on
//! economy ^2"), combines two at a time ("Because …, …"), numbers the
//! conclusions it will need again, and ends with the root being impossible.
//! What it cannot know is our vocabulary, so this module supplies a
//! [`ReportFormatter`] that prints requirements in the syntax the plugin
//! author wrote, the root as "you asked for", unknown plugins with a
//! suggested spelling and unusable versions with their reason. Before the
//! proof come headlines, found by [`headlines`], naming the requirements
//! that clash, the way cargo and uv open their errors.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use std::sync::Arc;

use plugboard_registry_types::IndexEntry;
use plugboard_registry_types::index::{describe_provided, imports_from};
use plugboard_registry_types::interfaces::InterfaceName;
use pubgrub::{
    DefaultStringReporter, DerivationTree, Derived, External, Map, ReportFormatter, Reporter, Term,
};
use semver::{Version, VersionReq};

use crate::Index;
use crate::error::unknown_plugin_phrase;
use crate::requirement::{VersionSet, members};
use crate::resolve::{Label, Package, Pkg, Provider, Unusable, WitSupport, wit_text};

type Tree = DerivationTree<Pkg, VersionSet, String>;
type Ext = External<Pkg, VersionSet, String>;
type Terms = Map<Pkg, Term<VersionSet>>;

/// The explanation for a failed resolution: a headline, then the proof.
pub(crate) fn explain<I: Index + ?Sized>(provider: &Provider<'_, I>, tree: &Tree) -> String {
    let packages = provider.packages.borrow();
    let labels = provider.labels.borrow();
    let suggestions = packages
        .iter()
        .filter(|(_, p)| p.entries.is_empty())
        .map(|(name, _)| (name.clone(), provider.index.similar_names(name)))
        .collect();
    let words = Words {
        packages: &packages,
        labels: label_index(&packages, &labels),
        roots: provider.request.plugins(),
        registry: provider.index.registry_name(),
        wit: provider.request.wit(),
        suggestions,
    };
    let tree = collapse_gaps(tree, &words);
    if let DerivationTree::External(external) = &tree {
        return format!("{}.", words.format_external(external));
    }
    let proof = DefaultStringReporter::report_with_formatter(&tree, &words);
    let heads = headlines(&words, &tree);
    if heads.is_empty() || heads.len() > 3 {
        proof
    } else {
        format!("{}\n\n{proof}", heads.join("\n"))
    }
}

/// Drops PubGrub's "no version of `p` in `set`" where `set` holds no version
/// the registry lists: with sets built from listed versions, such facts only
/// mark the gaps between versions and would read as noise.
fn collapse_gaps(tree: &Tree, words: &Words<'_>) -> Tree {
    let DerivationTree::Derived(derived) = tree else {
        return tree.clone();
    };
    let cause1 = collapse_gaps(&derived.cause1, words);
    let cause2 = collapse_gaps(&derived.cause2, words);
    let gap = |t: &Tree| match t {
        DerivationTree::External(External::NoVersions(Pkg::Plugin(name), set))
            if words.is_gap(name, set) =>
        {
            Some((name.clone(), set.clone()))
        }
        _ => None,
    };
    if let Some((name, set)) = gap(&cause1) {
        return widen(cause2, &name, &set);
    }
    if let Some((name, set)) = gap(&cause2) {
        return widen(cause1, &name, &set);
    }
    DerivationTree::Derived(Derived {
        terms: derived.terms.clone(),
        shared_id: derived.shared_id,
        cause1: Arc::new(cause1),
        cause2: Arc::new(cause2),
    })
}

/// Adds `set` to `name`'s side of a dependency fact, as
/// [`DerivationTree::collapse_no_versions`] does.
fn widen(tree: Tree, name: &str, set: &VersionSet) -> Tree {
    match tree {
        DerivationTree::External(External::FromDependencyOf(p, sp, d, sd)) => {
            let is = |pkg: &Pkg| matches!(pkg, Pkg::Plugin(n) if n == name);
            let (sp, sd) = if is(&p) {
                (sp.union(set), sd)
            } else if is(&d) {
                (sp, sd.union(set))
            } else {
                (sp, sd)
            };
            DerivationTree::External(External::FromDependencyOf(p, sp, d, sd))
        }
        other => other,
    }
}

/// The texts of the requirements on each plugin, by the known versions
/// (positions in [`Package::versions`]) each requirement's set holds.
type LabelIndex<'a> = BTreeMap<&'a str, HashMap<Vec<usize>, BTreeSet<&'a str>>>;

/// Builds the [`LabelIndex`]: one pass over the labels, so that finding the
/// label of a set costs one pass over the plugin's versions however many
/// requirements the solver saw (a long proof asks for thousands of labels).
fn label_index<'a>(
    packages: &BTreeMap<String, Rc<Package>>,
    labels: &'a [Label],
) -> LabelIndex<'a> {
    let mut index = LabelIndex::new();
    for label in labels {
        let known = packages
            .get(&label.name)
            .map_or(&[][..], |p| p.versions.as_slice());
        index
            .entry(label.name.as_str())
            .or_default()
            .entry(positions(&label.set, known))
            .or_default()
            .insert(label.text.as_str());
    }
    index
}

/// The positions in `known` (sorted ascending) of the versions `set`
/// contains.
fn positions(set: &VersionSet, known: &[Version]) -> Vec<usize> {
    set.contains_many(known.iter())
        .enumerate()
        .filter_map(|(i, inside)| inside.then_some(i))
        .collect()
}

/// Everything needed to put sets and packages into words.
struct Words<'a> {
    packages: &'a BTreeMap<String, Rc<Package>>,
    labels: LabelIndex<'a>,
    roots: &'a BTreeMap<String, VersionReq>,
    registry: &'a str,
    wit: &'a WitSupport,
    suggestions: BTreeMap<String, Vec<String>>,
}

/// How a list of versions is joined: "1.0.0 and 1.2.0" or "1.0.0 or 1.2.0".
#[derive(Clone, Copy)]
enum Join {
    And,
    Or,
}

impl Words<'_> {
    fn known(&self, name: &str) -> &[Version] {
        self.packages
            .get(name)
            .map_or(&[][..], |p| p.versions.as_slice())
    }

    /// Whether `set` holds none of the versions of a plugin the registry has.
    fn is_gap(&self, name: &str, set: &VersionSet) -> bool {
        !self.is_unknown(name) && members(set, self.known(name)).is_empty()
    }

    fn is_unknown(&self, name: &str) -> bool {
        self.packages
            .get(name)
            .is_some_and(|p| p.entries.is_empty())
    }

    fn unknown(&self, name: &str) -> String {
        let suggestions = self.suggestions.get(name).map_or(&[][..], Vec::as_slice);
        unknown_plugin_phrase(name, self.registry, suggestions)
    }

    /// The requirement text that produced exactly this set of known versions,
    /// when all such requirements agree.
    fn label(&self, name: &str, set: &VersionSet) -> Option<&str> {
        let texts = self
            .labels
            .get(name)?
            .get(&positions(set, self.known(name)))?;
        match texts.len() {
            1 => texts.first().copied().filter(|t| *t != "*"),
            _ => None,
        }
    }

    /// The set without the name: `^1.2`, `1.0.0 or 1.3.0`; `None` for every
    /// known version.
    fn set_text(&self, name: &str, set: &VersionSet, join: Join) -> Option<String> {
        if let Some(label) = self.label(name, set) {
            return Some(label.to_owned());
        }
        let known = self.known(name);
        let inside = members(set, known);
        if !known.is_empty() && inside.len() == known.len() || set == &VersionSet::full() {
            return None;
        }
        if inside.is_empty() {
            return Some(set.to_string());
        }
        Some(version_list(&inside, known, join))
    }

    /// "poll 1.2.0", "poll ^1", "every version of poll".
    fn subject(&self, name: &str, set: &VersionSet) -> (String, bool) {
        if let [one] = members(set, self.known(name)).as_slice() {
            return (format!("{name} {one}"), false);
        }
        match self.set_text(name, set, Join::And) {
            None => (format!("every version of {name}"), false),
            Some(text) => {
                let plural =
                    self.label(name, set).is_none() && members(set, self.known(name)).len() > 1;
                (format!("{name} {text}"), plural)
            }
        }
    }

    /// "economy ^2", "economy 1.0.0 or 1.3.0", "economy".
    fn need(&self, name: &str, set: &VersionSet) -> String {
        match self.set_text(name, set, Join::Or) {
            None => name.to_owned(),
            Some(text) => format!("{name} {text}"),
        }
    }

    fn cannot_install(&self, name: &str, set: &VersionSet) -> String {
        if let [one] = members(set, self.known(name)).as_slice() {
            return format!("{name} {one} cannot be installed");
        }
        match self.set_text(name, set, Join::And) {
            None => format!("no version of {name} can be installed"),
            Some(text) => format!("{name} {text} cannot be installed"),
        }
    }

    /// The requirement `dependent` (at the versions in `set`) has on `dep`,
    /// as written in its manifest, when those versions agree.
    fn written_requirement(&self, dependent: &Pkg, set: &VersionSet, dep: &str) -> Option<String> {
        self.written_req(dependent, set, dep).map(|r| r.to_string())
    }

    /// The requirement `dependent` (at the versions in `set`) has on `dep`,
    /// when those versions agree.
    fn written_req(&self, dependent: &Pkg, set: &VersionSet, dep: &str) -> Option<VersionReq> {
        let Pkg::Plugin(name) = dependent else {
            return self.roots.get(dep).cloned();
        };
        let package = self.packages.get(name)?;
        let reqs: Vec<&VersionReq> = package
            .entries
            .iter()
            .filter(|e| set.contains(&e.version))
            .filter_map(|e| e.deps.get(dep))
            .collect();
        let first = *reqs.first()?;
        reqs.iter().all(|r| *r == first).then(|| first.clone())
    }

    /// The interfaces the versions of `dependent` in `set` import from
    /// `dep` (the resolver's requirement on `dep` is narrowed to versions
    /// that provide them), when those versions agree; else none.
    fn imports_from(&self, dependent: &Pkg, set: &VersionSet, dep: &str) -> Vec<InterfaceName> {
        let Pkg::Plugin(name) = dependent else {
            return Vec::new();
        };
        let (Some(package), Some(provider)) = (self.packages.get(name), self.packages.get(dep))
        else {
            return Vec::new();
        };
        let lists: BTreeSet<Vec<InterfaceName>> = package
            .entries
            .iter()
            .filter(|e| set.contains(&e.version))
            .map(|e| {
                let imports = e.imported_interfaces();
                imports_from(&imports, &provider.entries)
                    .into_iter()
                    .cloned()
                    .collect()
            })
            .collect();
        match lists.len() {
            1 => lists.into_iter().next().unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// ", but …" when no listed version of `dep` within `req` provides the
    /// `imports`: names the interface and what the versions provide.
    fn unprovided(
        &self,
        dep: &str,
        dep_set: &VersionSet,
        req: Option<&VersionReq>,
        imports: &[InterfaceName],
    ) -> String {
        let Some(package) = self.packages.get(dep) else {
            return String::new();
        };
        if self.is_unknown(dep) || !members(dep_set, &package.versions).is_empty() {
            return self.unmet(dep, dep_set);
        }
        let within: Vec<&IndexEntry> = package
            .entries
            .iter()
            .filter(|e| req.is_none_or(|r| r.matches(&e.version)))
            .collect();
        if within.is_empty() {
            return self.unmet(dep, dep_set);
        }
        let matching = req.map_or_else(String::new, |r| format!(" matching {r}"));
        match imports
            .iter()
            .find(|i| !within.iter().any(|e| e.provides_for(i)))
        {
            Some(wanted) => format!(
                ", but no version of {dep}{matching} provides {wanted} or a compatible version ({})",
                describe_provided(&within, wanted)
            ),
            // Each is provided, but by different versions.
            None => format!(", but no single version of {dep}{matching} provides them all"),
        }
    }

    /// ", but …" when a requirement cannot be met by anything listed.
    fn unmet(&self, dep: &str, set: &VersionSet) -> String {
        if self.is_unknown(dep) {
            return format!(", but {}", self.unknown(dep));
        }
        let known = self.known(dep);
        if members(set, known).is_empty() {
            return format!(
                ", but no version of {dep} matches it ({})",
                self.available(dep)
            );
        }
        String::new()
    }

    /// "the registry has 1.0.0 and 1.3.0", newest few first.
    fn available(&self, name: &str) -> String {
        let known = self.known(name);
        let newest: Vec<String> = known
            .iter()
            .rev()
            .take(4)
            .map(ToString::to_string)
            .collect();
        match known.len() {
            0 => format!("registry `{}` has none", self.registry),
            n if n <= 4 => format!("the registry has {}", join_words(&newest, Join::And)),
            n => format!(
                "the newest are {}, and {} older",
                newest.join(", "),
                n - newest.len()
            ),
        }
    }

    /// Why each listed version in `set` cannot be chosen, one sentence
    /// each: "economy 2.0.0 needs WIT 0.3, this host speaks WIT 0.1".
    fn reasons(&self, name: &str, set: &VersionSet) -> Vec<String> {
        let Some(package) = self.packages.get(name) else {
            return Vec::new();
        };
        let mut by_wit: BTreeMap<&Version, Vec<&Version>> = BTreeMap::new();
        let mut yanked = Vec::new();
        for (entry, why) in package.entries.iter().zip(&package.unusable) {
            if !set.contains(&entry.version) {
                continue;
            }
            match why {
                Some(Unusable::Wit(wit)) => by_wit.entry(wit).or_default().push(&entry.version),
                Some(Unusable::Yanked) => yanked.push(&entry.version),
                None => {}
            }
        }
        let mut reasons = Vec::new();
        for (wit, versions) in &by_wit {
            let verb = if versions.len() == 1 { "needs" } else { "need" };
            reasons.push(format!(
                "{name} {} {verb} WIT {}, this host speaks WIT {}",
                version_list(versions, &package.versions, Join::And),
                wit_text(wit),
                self.wit
            ));
        }
        if !yanked.is_empty() {
            let verb = if yanked.len() == 1 { "is" } else { "are" };
            reasons.push(format!(
                "{name} {} {verb} yanked",
                version_list(&yanked, &package.versions, Join::And)
            ));
        }
        reasons
    }

    /// PubGrub's "no version of `name` in `set`", with the reasons.
    fn no_versions(&self, name: &str, set: &VersionSet) -> String {
        if self.is_unknown(name) {
            return self.unknown(name);
        }
        let reasons = self.reasons(name, set);
        if reasons.is_empty() {
            let text = self
                .set_text(name, set, Join::Or)
                .unwrap_or_else(|| "*".into());
            return format!(
                "no version of {name} matches {text} ({})",
                self.available(name)
            );
        }
        let prefix = format!("{name} ");
        let short: Vec<&str> = reasons
            .iter()
            .map(|r| r.strip_prefix(&prefix).unwrap_or(r))
            .collect();
        format!(
            "{} cannot be used ({})",
            self.need(name, set),
            short.join("; ")
        )
    }

    fn depends(
        &self,
        dependent: &Pkg,
        set: &VersionSet,
        dep: &str,
        dep_set: &VersionSet,
    ) -> String {
        let imports = self.imports_from(dependent, set, dep);
        let mut requirement = self
            .written_requirement(dependent, set, dep)
            .filter(|r| r != "*")
            .map_or_else(|| self.need(dep, dep_set), |r| format!("{dep} {r}"));
        let unmet = if imports.is_empty() {
            self.unmet(dep, dep_set)
        } else {
            let names: Vec<String> = imports.iter().map(ToString::to_string).collect();
            requirement = format!("{requirement} and imports {} from it", names.join(" and "));
            let req = self.written_req(dependent, set, dep);
            self.unprovided(dep, dep_set, req.as_ref(), &imports)
        };
        match dependent {
            Pkg::Root => format!("you asked for {requirement}{unmet}"),
            Pkg::Plugin(name) => {
                let (subject, plural) = self.subject(name, set);
                let verb = if plural { "depend" } else { "depends" };
                format!("{subject} {verb} on {requirement}{unmet}")
            }
        }
    }
}

fn join_words(words: &[String], join: Join) -> String {
    let conj = match join {
        Join::And => "and",
        Join::Or => "or",
    };
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {conj} {last}", init.join(", ")),
    }
}

/// `1.2.0`, `1.2.0 or 1.3.0`, `1.0.0 to 2.3.0 (7 versions)`.
fn version_list(versions: &[&Version], known: &[Version], join: Join) -> String {
    if versions.len() > 4 {
        let first = versions[0];
        let last = versions[versions.len() - 1];
        let contiguous =
            known.iter().filter(|v| *v >= first && *v <= last).count() == versions.len();
        if contiguous {
            return format!("{first} to {last} ({} versions)", versions.len());
        }
        let shown: Vec<String> = versions.iter().take(3).map(ToString::to_string).collect();
        return format!("{} and {} more", shown.join(", "), versions.len() - 3);
    }
    let words: Vec<String> = versions.iter().map(ToString::to_string).collect();
    join_words(&words, join)
}

impl ReportFormatter<Pkg, VersionSet, String> for Words<'_> {
    type Output = String;

    fn format_external(&self, external: &Ext) -> String {
        match external {
            External::NotRoot(..) => "you asked for these plugins".to_owned(),
            External::NoVersions(Pkg::Plugin(name), set) => self.no_versions(name, set),
            External::NoVersions(Pkg::Root, _) => "your request cannot be read".to_owned(),
            External::Custom(pkg, set, why) => match pkg {
                Pkg::Root => why.clone(),
                Pkg::Plugin(name) => format!("{} {why}", self.subject(name, set).0),
            },
            External::FromDependencyOf(pkg, set, Pkg::Plugin(dep), dep_set) => {
                self.depends(pkg, set, dep, dep_set)
            }
            External::FromDependencyOf(pkg, _, Pkg::Root, _) => format!("{pkg} needs your request"),
        }
    }

    fn format_terms(&self, terms: &Terms) -> String {
        let mut sorted: Vec<(&Pkg, &Term<VersionSet>)> = terms.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let with_root = sorted
            .iter()
            .any(|(p, t)| **p == Pkg::Root && matches!(t, Term::Positive(_)));
        let plugins: Vec<(&str, &Term<VersionSet>)> = sorted
            .iter()
            .filter_map(|(p, t)| match p {
                Pkg::Root => None,
                Pkg::Plugin(name) => Some((name.as_str(), *t)),
            })
            .collect();
        match plugins.as_slice() {
            [] if with_root => "your request cannot be satisfied".to_owned(),
            [] => "no set of versions works".to_owned(),
            [(name, Term::Positive(set))] => self.cannot_install(name, set),
            [(name, Term::Negative(set))] if with_root => {
                format!("you need {}", self.need(name, set))
            }
            [(name, Term::Negative(set))] => {
                format!("{} is required", self.need(name, set))
            }
            [(a, Term::Positive(sa)), (b, Term::Negative(sb))]
            | [(b, Term::Negative(sb)), (a, Term::Positive(sa))] => {
                let (subject, plural) = self.subject(a, sa);
                let verb = if plural { "depend" } else { "depends" };
                format!("{subject} {verb} on {}", self.need(b, sb))
            }
            [(a, Term::Positive(sa)), (b, Term::Positive(sb))] => format!(
                "{} conflicts with {}",
                self.subject(a, sa).0,
                self.need(b, sb)
            ),
            many => {
                let parts: Vec<String> = many
                    .iter()
                    .map(|(name, term)| match term {
                        Term::Positive(set) => self.need(name, set),
                        Term::Negative(set) => match self.set_text(name, set, Join::Or) {
                            Some(text) => format!("{name} other than {text}"),
                            None => format!("no {name}"),
                        },
                    })
                    .collect();
                format!("{} cannot all be installed together", parts.join(", "))
            }
        }
    }

    fn explain_both_external(&self, e1: &Ext, e2: &Ext, terms: &Terms) -> String {
        format!(
            "Because {} and {}, {}.",
            self.format_external(e1),
            self.format_external(e2),
            self.format_terms(terms)
        )
    }

    fn explain_both_ref(
        &self,
        ref1: usize,
        d1: &Derived<Pkg, VersionSet, String>,
        ref2: usize,
        d2: &Derived<Pkg, VersionSet, String>,
        terms: &Terms,
    ) -> String {
        format!(
            "Because {} ({ref1}) and {} ({ref2}), {}.",
            self.format_terms(&d1.terms),
            self.format_terms(&d2.terms),
            self.format_terms(terms)
        )
    }

    fn explain_ref_and_external(
        &self,
        ref_id: usize,
        derived: &Derived<Pkg, VersionSet, String>,
        external: &Ext,
        terms: &Terms,
    ) -> String {
        format!(
            "Because {} ({ref_id}) and {}, {}.",
            self.format_terms(&derived.terms),
            self.format_external(external),
            self.format_terms(terms)
        )
    }

    fn and_explain_external(&self, external: &Ext, terms: &Terms) -> String {
        format!(
            "And because {}, {}.",
            self.format_external(external),
            self.format_terms(terms)
        )
    }

    fn and_explain_ref(
        &self,
        ref_id: usize,
        derived: &Derived<Pkg, VersionSet, String>,
        terms: &Terms,
    ) -> String {
        format!(
            "And because {} ({ref_id}), {}.",
            self.format_terms(&derived.terms),
            self.format_terms(terms)
        )
    }

    fn and_explain_prior_and_external(&self, prior: &Ext, external: &Ext, terms: &Terms) -> String {
        format!(
            "And because {} and {}, {}.",
            self.format_external(prior),
            self.format_external(external),
            self.format_terms(terms)
        )
    }
}

/// The clashes at the core of the proof, one sentence each: a requirement
/// on an unknown plugin, a requirement whose versions are all unusable, or
/// two requirements on one plugin that no usable version meets together.
/// Several lines when several clashes were needed for the proof.
fn headlines(words: &Words<'_>, tree: &Tree) -> Vec<String> {
    let mut externals = Vec::new();
    collect_externals(tree, &mut externals);
    let mut heads: Vec<String> = Vec::new();
    let mut push = |line: String| {
        if !heads.contains(&line) {
            heads.push(line);
        }
    };
    // Requirements on each plugin: (who, who's versions, the set).
    let mut wants: BTreeMap<&str, Vec<(&Pkg, &VersionSet, &VersionSet)>> = BTreeMap::new();
    for external in &externals {
        if let External::FromDependencyOf(pkg, set, Pkg::Plugin(dep), dep_set) = external {
            wants
                .entry(dep.as_str())
                .or_default()
                .push((pkg, set, dep_set));
        }
    }
    for (dep, reqs) in &wants {
        let Some(package) = words.packages.get(*dep) else {
            continue;
        };
        let usable_in = |set: &VersionSet| {
            package
                .versions
                .iter()
                .zip(&package.unusable)
                .any(|(v, why)| why.is_none() && set.contains(v))
        };
        for (pkg, set, dep_set) in reqs {
            if words.is_unknown(dep) || words.is_gap(dep, dep_set) {
                push(format!("{}.", words.depends(pkg, set, dep, dep_set)));
            } else if !usable_in(dep_set) {
                push(format!(
                    "{}, but {}.",
                    words.depends(pkg, set, dep, dep_set),
                    words.reasons(dep, dep_set).join("; ")
                ));
            }
        }
        for (i, a) in reqs.iter().enumerate() {
            for b in reqs.iter().skip(i + 1) {
                if a.0 == b.0
                    || !usable_in(a.2)
                    || !usable_in(b.2)
                    || usable_in(&a.2.intersection(b.2))
                {
                    continue;
                }
                // The owner's own request goes second: "X needs …, but you asked for …".
                let (first, second) = if *a.0 == Pkg::Root { (b, a) } else { (a, b) };
                push(format!(
                    "{}, but {}; no usable version of {dep} satisfies both.",
                    words.depends(first.0, first.1, dep, first.2),
                    words.depends(second.0, second.1, dep, second.2),
                ));
            }
        }
    }
    heads
}

fn collect_externals<'t>(tree: &'t Tree, out: &mut Vec<&'t Ext>) {
    match tree {
        DerivationTree::External(external) => out.push(external),
        DerivationTree::Derived(derived) => {
            collect_externals(&derived.cause1, out);
            collect_externals(&derived.cause2, out);
        }
    }
}
