//! The moments a calibration can target, and how one run yields their values.
//!
//! A moment is a per-run statistic: one number per replicate; the
//! calibration compares the mean over the replicates with the target.
//! Today's moments read the per-step output tables of a run (the `region` and
//! `clusters` tables of docs/outputs.md, built from `model::simulate` by the
//! output layer), so any numeric column can be targeted by its documented
//! name, at a step or averaged over steps.
//!
//! # Adding a moment (extension point)
//! Statistics that the tables do not hold (the validation statistics: the P1
//! Hill exponent, P7 survival, P8 occupancy after ten years…) are added as
//! further variants of [`Moment`]:
//! 1. a variant with its parameters (e.g. `Fact(Fact)` with
//!    `enum Fact { Hill, Survival2y, Occupancy10y }`);
//! 2. its rules in [`Moment::check`] (fields named relative to the moment);
//! 3. what it is computed from in [`Moment::source`]: a new [`Source`]
//!    variant (e.g. `Facts`, from `validation::run_facts(scenario, seed, run)`)
//!    and that source's computation in [`RunData::new`] (each source is
//!    computed at most once per run, only when some moment needs it);
//! 4. its value in [`Moment::value`].
//!
//! Nothing else changes: the loss, the search, the log and the reports only
//! see one number per moment per run.

use polars::prelude::{DataFrame, DataType};
use serde::{Deserialize, Serialize};

use crate::config::Scenario;
use crate::output::tables::{self, RunOutput};

/// A statistic of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Moment {
    /// A numeric column of the `region` table (`mean_quality`,
    /// `firms_clusters`, `employment`, …).
    Region { column: String, at: At },
    /// A numeric or boolean column of the `clusters` table (`occupancy`,
    /// `quality`, `complete`, …) reduced over clusters at each step, then
    /// taken `at` a step or averaged over steps.
    Clusters {
        column: String,
        at: At,
        /// Which clusters (default: the operating ones).
        #[serde(default)]
        over: Over,
        /// How the clusters of a step are combined (default: the mean).
        #[serde(default)]
        reduce: Reduce,
    },
}

/// When a per-step series is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum At {
    /// The last step.
    Last,
    /// One step (0 is the initial state).
    Step(u32),
    /// The mean over every step 0..=steps (as `runs.parquet`'s `mean_`).
    Mean,
    /// The mean over steps FROM..=TO.
    Steps(u32, u32),
}

/// Which clusters a `Clusters` moment covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Over {
    /// Clusters operating at that step (a step with none is left out).
    #[default]
    Operating,
    /// Every cluster, planned ones included.
    All,
}

/// How a `Clusters` moment combines the clusters of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Reduce {
    /// Unweighted mean (for a boolean column: the share that is true).
    #[default]
    Mean,
    /// Sum.
    Sum,
}

/// What a moment is computed from (see the module docs to add one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The per-step tables of `model::simulate`.
    Tables,
}

/// A table builder of the output layer (`tables::region_frame`, …).
type TableFn = fn(&[RunOutput], &tables::Extra) -> polars::prelude::PolarsResult<DataFrame>;

/// The numeric (or boolean) columns of an output table that can be targeted.
fn columns(table: TableFn) -> Vec<String> {
    const KEYS: [&str; 3] = ["run", "step", "cluster"];
    table(&[], &[])
        .map(|df| {
            df.columns()
                .iter()
                .filter(|c| c.dtype().is_primitive_numeric() || c.dtype().is_bool())
                .map(|c| c.name().to_string())
                .filter(|n| !KEYS.contains(&n.as_str()))
                .collect()
        })
        .unwrap_or_default()
}

impl Moment {
    /// The rules of this moment against `scenario`: (field path relative to
    /// the moment, e.g. `.column`; the value; what is allowed).
    pub fn check(&self, scenario: &Scenario) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        let (column, at, allowed) = match self {
            Moment::Region { column, at } => (column, at, columns(tables::region_frame)),
            Moment::Clusters { column, at, .. } => (column, at, columns(tables::clusters_frame)),
        };
        if !allowed.contains(column) {
            out.push((
                ".column".to_string(),
                format!("{column:?}"),
                format!("a numeric column of the table: {}", allowed.join(", ")),
            ));
        }
        let steps = scenario.time.steps;
        let bad = match *at {
            At::Step(s) => s > steps,
            At::Steps(a, b) => a > b || b > steps,
            At::Last | At::Mean => false,
        };
        if bad {
            out.push((
                ".at".to_string(),
                format!("{at:?}"),
                format!("steps within 0..={steps} (time.steps), FROM <= TO"),
            ));
        }
        out
    }

    /// What the moment is computed from.
    pub fn source(&self) -> Source {
        match self {
            Moment::Region { .. } | Moment::Clusters { .. } => Source::Tables,
        }
    }

    /// The moment's value in one run; NaN when it is undefined there (e.g.
    /// the mean over operating clusters when none operates).
    pub fn value(&self, data: &RunData) -> f64 {
        match self {
            Moment::Region { column, at } => {
                let Some(t) = &data.tables else {
                    return f64::NAN;
                };
                let steps = f64s(&t.region, "step");
                let v = f64s(&t.region, column);
                read_at(&steps, &v, *at)
            }
            Moment::Clusters {
                column,
                at,
                over,
                reduce,
            } => {
                let Some(t) = &data.tables else {
                    return f64::NAN;
                };
                let steps = f64s(&t.clusters, "step");
                let v = f64s(&t.clusters, column);
                let operating: Vec<bool> = match t.clusters.column("status") {
                    Ok(c) => c
                        .str()
                        .map(|s| s.iter().map(|x| x == Some("operating")).collect())
                        .unwrap_or_default(),
                    Err(_) => Vec::new(),
                };
                // Rows are ordered by step, then cluster.
                let (mut per_step, mut series) = (Vec::new(), Vec::new());
                let mut i = 0;
                while i < steps.len() {
                    let s = steps[i];
                    let (mut sum, mut n) = (0.0, 0usize);
                    while i < steps.len() && steps[i] == s {
                        if *over == Over::All || operating.get(i).copied().unwrap_or(false) {
                            sum += v[i];
                            n += 1;
                        }
                        i += 1;
                    }
                    per_step.push(s);
                    series.push(match reduce {
                        Reduce::Sum => sum,
                        Reduce::Mean if n > 0 => sum / n as f64,
                        Reduce::Mean => f64::NAN,
                    });
                }
                read_at(&per_step, &series, *at)
            }
        }
    }
}

/// A column as f64 (integers and booleans cast; null is NaN); empty when the
/// column is missing.
fn f64s(df: &DataFrame, name: &str) -> Vec<f64> {
    df.column(name)
        .ok()
        .and_then(|c| c.cast(&DataType::Float64).ok())
        .and_then(|c| {
            c.f64()
                .ok()
                .map(|v| v.iter().map(|x| x.unwrap_or(f64::NAN)).collect())
        })
        .unwrap_or_default()
}

/// A per-step series (`steps[i]`, `values[i]`) read `at` a step or averaged
/// over steps (NaN values left out of a mean; NaN when nothing is left).
fn read_at(steps: &[f64], values: &[f64], at: At) -> f64 {
    let (from, to) = match at {
        At::Last => {
            let last = steps.iter().copied().fold(f64::NAN, f64::max);
            (last, last)
        }
        At::Step(s) => (f64::from(s), f64::from(s)),
        At::Mean => (f64::NEG_INFINITY, f64::INFINITY),
        At::Steps(a, b) => (f64::from(a), f64::from(b)),
    };
    let kept: Vec<f64> = steps
        .iter()
        .zip(values)
        .filter(|(s, v)| **s >= from && **s <= to && v.is_finite())
        .map(|(_, v)| *v)
        .collect();
    if kept.is_empty() {
        f64::NAN
    } else {
        crate::stats::mean(&kept)
    }
}

/// The `region` and `clusters` tables of one run.
pub struct Tables {
    pub region: DataFrame,
    pub clusters: DataFrame,
}

/// Everything the moments of one run are computed from: each [`Source`] at
/// most once, only when a moment needs it.
pub struct RunData {
    pub tables: Option<Tables>,
}

impl RunData {
    /// Run `scenario` (validated) as run `run` of `seed` and compute the
    /// sources `moments` need.
    pub fn new(moments: &[&Moment], scenario: &Scenario, seed: u64, run: u32) -> Self {
        let needs = |s: Source| moments.iter().any(|m| m.source() == s);
        let tables = needs(Source::Tables).then(|| {
            let out = [RunOutput {
                run,
                record: crate::model::simulate(scenario, seed, u64::from(run), false),
            }];
            Tables {
                region: tables::region_frame(&out, &[]).unwrap_or_default(),
                clusters: tables::clusters_frame(&out, &[]).unwrap_or_default(),
            }
        });
        RunData { tables }
    }
}

/// The values of `moments` in run `run` of `seed` (one per moment).
pub fn run_moments(moments: &[&Moment], scenario: &Scenario, seed: u64, run: u32) -> Vec<f64> {
    let data = RunData::new(moments, scenario, seed, run);
    moments.iter().map(|m| m.value(&data)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_read_at_a_step_or_averaged() {
        let steps = [0.0, 1.0, 2.0, 3.0];
        let v = [1.0, f64::NAN, 3.0, 5.0];
        assert_eq!(read_at(&steps, &v, At::Last), 5.0);
        assert_eq!(read_at(&steps, &v, At::Step(2)), 3.0);
        assert!(read_at(&steps, &v, At::Step(1)).is_nan());
        assert_eq!(read_at(&steps, &v, At::Mean), 3.0);
        assert_eq!(read_at(&steps, &v, At::Steps(2, 3)), 4.0);
    }

    #[test]
    fn columns_and_steps_are_checked_against_the_tables() {
        let sc = crate::config::embedded_default();
        let good = Moment::Clusters {
            column: "complete".into(),
            at: At::Steps(1, 4),
            over: Over::Operating,
            reduce: Reduce::Mean,
        };
        assert!(good.check(&sc).is_empty());
        let bad = Moment::Region {
            column: "year".into(),
            at: At::Step(sc.time.steps + 1),
        };
        assert!(bad.check(&sc).iter().any(|(p, _, _)| p == ".at"));
        let bad = Moment::Region {
            column: "status".into(),
            at: At::Last,
        };
        let issues = bad.check(&sc);
        assert_eq!(issues[0].0, ".column");
        assert!(issues[0].2.contains("mean_quality"), "{issues:?}");
        let bad = Moment::Clusters {
            column: "status".into(),
            at: At::Last,
            over: Over::All,
            reduce: Reduce::Sum,
        };
        assert_eq!(bad.check(&sc)[0].0, ".column");
    }

    #[test]
    fn a_run_gives_the_table_values() {
        let mut sc = crate::config::load("configs/small.ron").unwrap();
        sc.time.steps = 4;
        let firms = Moment::Region {
            column: "firms".into(),
            at: At::Last,
        };
        let count = Moment::Clusters {
            column: "firms".into(),
            at: At::Last,
            over: Over::All,
            reduce: Reduce::Sum,
        };
        let share = Moment::Clusters {
            column: "complete".into(),
            at: At::Step(0),
            over: Over::All,
            reduce: Reduce::Mean,
        };
        let v = run_moments(&[&firms, &count, &share], &sc, 5, 1);
        let rec = crate::model::simulate(&sc, 5, 1, false);
        let last = rec.region.last().unwrap();
        assert_eq!(v[0], last.firms as f64);
        assert_eq!(v[1], last.firms_clusters as f64);
        let c0: Vec<_> = rec.clusters.iter().filter(|c| c.step == 0).collect();
        let done = c0.iter().filter(|c| c.complete).count() as f64;
        assert_eq!(v[2], done / c0.len() as f64);
    }
}
