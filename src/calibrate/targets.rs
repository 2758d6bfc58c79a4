//! TARGETS.ron: the target moments, the parameters to fit and the search
//! settings of `clustersim calibrate`, with their validation.
//!
//! The file is read with `deny_unknown_fields` everywhere and with RON's
//! `implicit_some` (so `se: 0.02` and `se: Some(0.02)` both work). Parse errors
//! carry the file, line, column and field path (the same mapping as scenario
//! configs); the rules checked afterwards ([`validate`]) are all reported at
//! once, each naming its field (`targets[1].se`, `parameters[0].lo`, …),
//! before any run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::moments::Moment;
use crate::config::{ConfigError, Issue, Scenario};

/// The whole TARGETS.ron file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Free text, for people.
    #[serde(default)]
    pub description: String,
    /// The target moments (at least one).
    pub targets: Vec<Target>,
    /// The parameters to fit (at least one).
    pub parameters: Vec<Parameter>,
    /// The diagonal weight matrix W of the loss g′Wg.
    #[serde(default)]
    pub weighting: Weighting,
    #[serde(default)]
    pub search: Search,
}

/// One target moment: a statistic of the simulated runs and the value it
/// should take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// A short identifier (letters, digits, `_`), unique in the file: it names
    /// the moment's columns in the outputs.
    pub name: String,
    pub moment: Moment,
    /// The target value (observed data).
    pub value: f64,
    /// Standard error of the target: weight 1/se² (with `weighting: Target`),
    /// and the target's interval ±1.96·se in the reports.
    #[serde(default)]
    pub se: Option<f64>,
    /// A weight given directly (with `weighting: Target`), instead of `se`.
    #[serde(default)]
    pub weight: Option<f64>,
}

/// One parameter to fit: a numeric field of the scenario named by its path
/// (as in `sweep`: `government.leakage`, `sectors[2].entry_rate`) and its box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub path: String,
    pub lo: f64,
    pub hi: f64,
    /// Search on a log scale (needs lo > 0): for rates and scales that span
    /// orders of magnitude.
    #[serde(default)]
    pub log: bool,
}

/// How the diagonal weights W are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Weighting {
    /// Every target gives its `se` (W = 1/se²) or its `weight`.
    #[default]
    Target,
    /// W = 1/variance of each simulated moment over the replicates, pooled
    /// over the space-filling start points (so W is fixed before the local
    /// search and the same for every candidate). `se`, when given, is used
    /// only for the target's interval in the report.
    Replicates,
}

/// The search: replicates per candidate, the space-filling start, the budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Search {
    /// R, runs per candidate (runs 0..R of the master seed for every
    /// candidate: common random numbers). At least 2.
    pub replicates: u32,
    /// Latin-hypercube start points over the box (seeded by the master seed).
    pub start: usize,
    /// Evaluations of the search (start points included); the profiles of
    /// the identification check come on top (`profile_points` per parameter).
    pub budget: usize,
    /// Master seed. Default: the config's `monte_carlo.seed`.
    pub seed: Option<u64>,
    /// Nelder–Mead stops when the simplex is this small in the transformed
    /// (logit of the unit box) coordinates.
    pub tolerance: f64,
    /// Profile offsets on the unit scale of each parameter (u* ± each, clamped
    /// to the box) for the identification check.
    pub profile: Vec<f64>,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            replicates: 8,
            start: 10,
            budget: 80,
            seed: None,
            tolerance: 1e-3,
            profile: vec![0.1, 0.25],
        }
    }
}

impl Search {
    /// Profile points per parameter.
    pub fn profile_points(&self) -> usize {
        2 * self.profile.len()
    }
}

/// Why a TARGETS.ron file was refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error("cannot read targets file {}: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not RON, an unknown field or a value of the wrong type
    /// (file, line, column and field path).
    #[error(transparent)]
    Parse(#[from] ConfigError),
    /// Parsed, but breaks rules; every failure is listed.
    #[error("{}: invalid targets ({} error{}):{}", file.display(), issues.len(),
            if issues.len() == 1 { "" } else { "s" },
            issues.iter().map(|i| format!("\n  - {i}")).collect::<String>())]
    Invalid { file: PathBuf, issues: Vec<Issue> },
}

/// Read and parse TARGETS.ron (no validation against a scenario yet).
pub fn read(path: &Path) -> Result<Targets, TargetsError> {
    let text = std::fs::read_to_string(path).map_err(|source| TargetsError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parse TARGETS.ron text; `origin` names it in errors.
pub fn parse(text: &str, origin: &Path) -> Result<Targets, TargetsError> {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(text)
        .map_err(|e| TargetsError::Parse(crate::config::spanned_error(e, text, origin)))
}

/// Check every rule of `targets` against the scenario it calibrates; all
/// failures at once, each naming its field. `check_parameter` tells whether a
/// scenario with one parameter set to a value is valid (the caller sets it
/// through `sweep`'s path machinery) and returns the error otherwise.
pub fn validate(
    targets: &Targets,
    scenario: &Scenario,
    file: &Path,
    check_parameter: impl Fn(&Parameter, f64) -> Result<(), String>,
) -> Result<(), TargetsError> {
    let mut issues = Vec::new();
    let mut issue = |path: String, value: String, allowed: &str| {
        issues.push(Issue {
            path,
            value,
            allowed: allowed.to_string(),
            set_in: Some(file.to_path_buf()),
        })
    };
    if targets.targets.is_empty() {
        issue("targets".into(), "[]".into(), "at least one target");
    }
    if targets.parameters.is_empty() {
        issue("parameters".into(), "[]".into(), "at least one parameter");
    }
    for (i, t) in targets.targets.iter().enumerate() {
        let at = |f: &str| format!("targets[{i}].{f}");
        let ok_name = !t.name.is_empty()
            && t.name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok_name {
            issue(
                at("name"),
                format!("{:?}", t.name),
                "a non-empty identifier of letters, digits and `_`",
            );
        }
        if targets.targets[..i].iter().any(|o| o.name == t.name) {
            issue(
                at("name"),
                format!("{:?}", t.name),
                "a name no other target has",
            );
        }
        if !t.value.is_finite() {
            issue(at("value"), t.value.to_string(), "a finite number");
        }
        if let Some(se) = t.se {
            if !(se.is_finite() && se > 0.0) {
                issue(at("se"), se.to_string(), "a finite number > 0");
            }
        }
        if let Some(w) = t.weight {
            if !(w.is_finite() && w > 0.0) {
                issue(at("weight"), w.to_string(), "a finite number > 0");
            }
        }
        match (targets.weighting, t.se.is_some(), t.weight.is_some()) {
            (Weighting::Target, true, true) => issue(
                at("se"),
                "both `se` and `weight`".into(),
                "one of `se` (weight 1/se²) or `weight`, not both",
            ),
            (Weighting::Target, false, false) => issue(
                at("se"),
                "missing".into(),
                "with `weighting: Target` every target needs `se` or `weight`",
            ),
            (Weighting::Replicates, _, true) => issue(
                at("weight"),
                "given".into(),
                "no `weight` with `weighting: Replicates` (the replicates set W)",
            ),
            _ => {}
        }
        for (path, value, allowed) in t.moment.check(scenario) {
            issue(at(&format!("moment{path}")), value, &allowed);
        }
    }
    for (j, p) in targets.parameters.iter().enumerate() {
        let at = |f: &str| format!("parameters[{j}].{f}");
        if targets.parameters[..j].iter().any(|o| o.path == p.path) {
            issue(
                at("path"),
                format!("{:?}", p.path),
                "a path no other parameter has",
            );
        }
        if p.path == "time.steps" || p.path.starts_with("monte_carlo.") {
            issue(
                at("path"),
                format!("{:?}", p.path),
                "a model parameter (not time.steps or monte_carlo.*, which the targets depend on)",
            );
        }
        let finite = p.lo.is_finite() && p.hi.is_finite();
        if !(finite && p.lo < p.hi) {
            issue(
                at("hi"),
                format!("lo = {}, hi = {}", p.lo, p.hi),
                "finite bounds with lo < hi",
            );
        } else if p.log && p.lo <= 0.0 {
            issue(at("lo"), p.lo.to_string(), "lo > 0 with `log: true`");
        } else {
            for (end, v) in [("lo", p.lo), ("hi", p.hi)] {
                if let Err(e) = check_parameter(p, v) {
                    issue(
                        at(end),
                        v.to_string(),
                        &format!("a value the scenario accepts at `{}`: {e}", p.path),
                    );
                }
            }
        }
    }
    let s = &targets.search;
    if s.replicates < 2 {
        issue(
            "search.replicates".into(),
            s.replicates.to_string(),
            "at least 2 (for the variances and intervals)",
        );
    }
    if s.start == 0 {
        issue("search.start".into(), "0".into(), "at least 1 start point");
    }
    if s.budget < s.start + targets.parameters.len() {
        issue(
            "search.budget".into(),
            s.budget.to_string(),
            &format!(
                "at least search.start + parameters ({} + {}) evaluations",
                s.start,
                targets.parameters.len()
            ),
        );
    }
    if !(s.tolerance.is_finite() && s.tolerance > 0.0) {
        issue(
            "search.tolerance".into(),
            s.tolerance.to_string(),
            "a finite number > 0",
        );
    }
    if s.profile
        .iter()
        .any(|d| !(d.is_finite() && *d > 0.0 && *d < 1.0))
    {
        issue(
            "search.profile".into(),
            format!("{:?}", s.profile),
            "offsets in (0, 1) on the unit scale of each parameter",
        );
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(TargetsError::Invalid {
            file: file.to_path_buf(),
            issues,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"(
        targets: [
            (name: "quality", moment: Region(column: "mean_quality", at: Last), value: 0.5, se: 0.05),
            (name: "occ", moment: Clusters(column: "occupancy", at: Mean), value: 0.6, weight: Some(4.0)),
        ],
        parameters: [
            (path: "government.leakage", lo: 0.05, hi: 0.6),
            (path: "entry.utility.residential", lo: 2.0, hi: 10.0, log: true),
        ],
        search: (replicates: 4, start: 6, budget: 40),
    )"#;

    fn ok(_: &Parameter, _: f64) -> Result<(), String> {
        Ok(())
    }

    #[test]
    fn a_good_file_parses_with_implicit_some_and_defaults() {
        let t = parse(GOOD, Path::new("t.ron")).unwrap();
        assert_eq!(t.targets[0].se, Some(0.05));
        assert_eq!(t.targets[1].weight, Some(4.0));
        assert!(t.parameters[1].log && !t.parameters[0].log);
        assert_eq!(t.weighting, Weighting::Target);
        assert_eq!(t.search.tolerance, Search::default().tolerance);
        let sc = crate::config::embedded_default();
        validate(&t, &sc, Path::new("t.ron"), ok).unwrap();
    }

    #[test]
    fn an_unknown_field_is_named_with_its_path() {
        let bad = GOOD.replace("lo: 0.05", "low: 0.05");
        let err = parse(&bad, Path::new("t.ron")).unwrap_err().to_string();
        assert!(err.contains("parameters[0].low"), "{err}");
        assert!(err.contains("t.ron:"), "{err}");
        let bad = GOOD.replace("at: Last", "at: Final");
        let err = parse(&bad, Path::new("t.ron")).unwrap_err().to_string();
        assert!(err.contains("targets[0].moment.at"), "{err}");
    }

    #[test]
    fn every_broken_rule_is_reported_with_its_field() {
        let bad = GOOD
            .replace("se: 0.05", "se: -1.0")
            .replace("\"occ\"", "\"quality\"")
            .replace("lo: 2.0", "lo: 0.0")
            .replace("\"mean_quality\"", "\"mean_qualty\"")
            .replace("replicates: 4", "replicates: 1")
            .replace("budget: 40", "budget: 3");
        let t = parse(&bad, Path::new("t.ron")).unwrap();
        let sc = crate::config::embedded_default();
        let err = validate(&t, &sc, Path::new("t.ron"), ok)
            .unwrap_err()
            .to_string();
        for field in [
            "`targets[0].se`",
            "`targets[1].name`",
            "`parameters[1].lo`",
            "`targets[0].moment.column`",
            "`search.replicates`",
            "`search.budget`",
        ] {
            assert!(err.contains(field), "{field} missing from: {err}");
        }
        let refuse = |p: &Parameter, v: f64| {
            if v > 0.5 {
                Err(format!("{} too high", p.path))
            } else {
                Ok(())
            }
        };
        let t = parse(GOOD, Path::new("t.ron")).unwrap();
        let err = validate(&t, &sc, Path::new("t.ron"), refuse)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`parameters[0].hi`"), "{err}");
    }

    #[test]
    fn weights_follow_the_weighting() {
        let t = parse(
            &GOOD.replace("se: 0.05", "se: 0.05, weight: 2.0"),
            Path::new("t.ron"),
        )
        .unwrap();
        let sc = crate::config::embedded_default();
        let err = validate(&t, &sc, Path::new("t.ron"), ok)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not both"), "{err}");
        let t = parse(
            &GOOD.replace("search:", "weighting: Replicates, search:"),
            Path::new("t.ron"),
        )
        .unwrap();
        let err = validate(&t, &sc, Path::new("t.ron"), ok)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`targets[1].weight`"), "{err}");
    }
}
