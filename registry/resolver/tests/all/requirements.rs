//! Requirements become version sets that hold exactly the versions cargo's
//! rules accept: a property test over random requirements and versions.

use plugboard_resolver::requirement_set;
use semver::{Version, VersionReq};

use crate::support::Rng;

const PRE: &[&str] = &["alpha", "alpha.1", "beta", "rc.1", "0"];

fn random_version(rng: &mut Rng) -> Version {
    let mut text = format!("{}.{}.{}", rng.below(3), rng.below(3), rng.below(3));
    if rng.chance(30) {
        text.push('-');
        text.push_str(rng.pick::<&str>(PRE));
    }
    if rng.chance(5) {
        text.push_str("+build.7");
    }
    Version::parse(&text).expect("generated version")
}

fn random_comparator(rng: &mut Rng) -> String {
    let ops = ["", "^", "~", "=", ">", ">=", "<", "<="];
    let op = *rng.pick(&ops);
    let major = rng.below(3);
    match rng.below(6) {
        0 => format!("{op}{major}"),
        1 => format!("{op}{major}.{}", rng.below(3)),
        2 => format!("{major}.*"),
        3 => format!("{major}.{}.*", rng.below(3)),
        4 => format!(
            "{op}{major}.{}.{}-{}",
            rng.below(3),
            rng.below(3),
            rng.pick(PRE)
        ),
        _ => format!("{op}{major}.{}.{}", rng.below(3), rng.below(3)),
    }
}

fn random_requirement(rng: &mut Rng) -> Option<VersionReq> {
    let text = match rng.below(10) {
        0 => "*".to_owned(),
        1..=6 => random_comparator(rng),
        _ => format!("{}, {}", random_comparator(rng), random_comparator(rng)),
    };
    // Some generated shapes (`=1.*` and the like) are not requirements at all.
    VersionReq::parse(&text).ok()
}

#[test]
fn sets_hold_exactly_the_versions_cargo_accepts() {
    let mut rng = Rng::new(0x5eed_0007);
    let mut checked = 0;
    for _ in 0..3000 {
        let Some(req) = random_requirement(&mut rng) else {
            continue;
        };
        let mut known: Vec<Version> = (0..rng.below(12) + 1)
            .map(|_| random_version(&mut rng))
            .collect();
        known.sort();
        known.dedup();
        let set = requirement_set(&req, &known);
        for version in &known {
            assert_eq!(
                set.contains(version),
                req.matches(version),
                "requirement `{req}`, version {version}, known {known:?}, set {set}"
            );
        }
        // Set operations PubGrub performs keep the meaning on known versions.
        let complement = set.complement();
        for version in &known {
            assert_eq!(complement.contains(version), !req.matches(version));
        }
        checked += 1;
    }
    assert!(checked > 2000, "only {checked} requirements parsed");
}

#[test]
fn a_run_of_matching_versions_is_one_interval() -> Result<(), Box<dyn std::error::Error>> {
    let known: Vec<Version> = ["0.9.0", "1.0.0", "1.1.0", "1.4.2", "2.0.0"]
        .iter()
        .map(|v| v.parse())
        .collect::<Result<_, _>>()?;
    let set = requirement_set(&"^1".parse()?, &known);
    assert_eq!(set.to_string(), ">=1.0.0, <=1.4.2");
    let set = requirement_set(&"<1.1, >=0.9".parse()?, &known);
    assert_eq!(set.to_string(), ">=0.9.0, <=1.0.0");
    assert_eq!(requirement_set(&"^3".parse()?, &known).to_string(), "∅");
    Ok(())
}
