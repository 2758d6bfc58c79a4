//! `calibration.parquet`, the evaluation log: one row per evaluated parameter
//! vector, rewritten whole (atomically) after every batch, so a killed
//! calibration leaves the log of every finished batch.
//!
//! Columns: `evaluation` (row number, Int64), `phase` (`start`, `simplex`,
//! `search`, `profile`, or `unused` for a row of an earlier run that this run
//! has not asked for), `profile` (the parameter path of a profile row, else
//! empty), `valid` (the scenario was valid), one Float64 column per parameter
//! (named by its path), `mean_<target>` and `sd_<target>` over the replicates
//! for every target, and `loss`.
//!
//! The key-value metadata holds a fingerprint of what the moments depend on
//! (resolved scenario, master seed, replicates, parameter paths, moment
//! definitions): a log is reused only with the same fingerprint. Target
//! values, standard errors, weights, bounds and the budget may change between
//! runs: losses are recomputed from the logged moments.

use std::path::Path;

use anyhow::{bail, Context};
use polars::prelude::{Column, DataFrame};
use sha2::{Digest, Sha256};

use super::Problem;
use crate::output::parquet;
use crate::plot::data::{num, read_files, text, Table};

/// The metadata key of the fingerprint.
const FINGERPRINT: &str = "clustersim.calibration.fingerprint";

/// One evaluated parameter vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Parameter values, in the order of the targets file.
    pub x: Vec<f64>,
    pub phase: String,
    /// The parameter path of a profile row, else empty.
    pub profile: String,
    /// False when the scenario at `x` is invalid (moments NaN, loss +∞).
    pub valid: bool,
    /// Mean and sample sd of each moment over the replicates.
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
}

/// The cache key of a parameter vector: its bits.
pub fn key(x: &[f64]) -> Vec<u64> {
    x.iter().map(|v| v.to_bits()).collect()
}

/// What the logged moments depend on, as text, and its SHA-256.
pub fn fingerprint(problem: &Problem) -> String {
    let moments: Vec<String> = problem
        .targets
        .iter()
        .map(|t| format!("{}={:?}", t.name, t.moment))
        .collect();
    let paths: Vec<&str> = problem.params.iter().map(|p| p.path.as_str()).collect();
    let text = format!(
        "scenario:\n{}\nseed: {}\nreplicates: {}\nparameters: {paths:?}\nmoments: {moments:?}",
        crate::config::to_ron_pretty(&problem.scenario),
        problem.seed,
        problem.replicates,
    );
    format!("{:x}", Sha256::digest(text.as_bytes()))
}

/// The log as a frame; `loss` gives each row's loss.
pub fn frame(
    problem: &Problem,
    rows: &[Entry],
    loss: impl Fn(&Entry) -> f64,
) -> anyhow::Result<DataFrame> {
    let mut cols = vec![
        Column::new(
            "evaluation".into(),
            (0..rows.len() as i64).collect::<Vec<i64>>(),
        ),
        Column::new(
            "phase".into(),
            rows.iter().map(|r| r.phase.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "profile".into(),
            rows.iter().map(|r| r.profile.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            "valid".into(),
            rows.iter().map(|r| r.valid).collect::<Vec<bool>>(),
        ),
    ];
    for (j, p) in problem.params.iter().enumerate() {
        cols.push(Column::new(
            p.path.as_str().into(),
            rows.iter().map(|r| r.x[j]).collect::<Vec<f64>>(),
        ));
    }
    for (i, t) in problem.targets.iter().enumerate() {
        cols.push(Column::new(
            format!("mean_{}", t.name).into(),
            rows.iter().map(|r| r.mean[i]).collect::<Vec<f64>>(),
        ));
        cols.push(Column::new(
            format!("sd_{}", t.name).into(),
            rows.iter().map(|r| r.sd[i]).collect::<Vec<f64>>(),
        ));
    }
    cols.push(Column::new(
        "loss".into(),
        rows.iter().map(&loss).collect::<Vec<f64>>(),
    ));
    DataFrame::new_infer_height(cols).context("building calibration.parquet")
}

/// Write the log atomically.
pub fn write(
    path: &Path,
    problem: &Problem,
    rows: &[Entry],
    loss: impl Fn(&Entry) -> f64,
) -> anyhow::Result<()> {
    let mut df = frame(problem, rows, loss)?;
    let mut meta = crate::output::manifest::build_metadata();
    meta.push((FINGERPRINT.to_string(), fingerprint(problem)));
    parquet::write_atomic(path, &mut df, &meta, &|_| None)?;
    Ok(())
}

/// Read a log written for `problem`; every row is marked `unused` until this
/// run asks for it. A log written for other inputs is an error.
pub fn read(path: &Path, problem: &Problem) -> anyhow::Result<Vec<Entry>> {
    let meta = parquet::key_value_metadata(path)?;
    let found = meta
        .iter()
        .find(|(k, _)| k == FINGERPRINT)
        .map(|(_, v)| v.as_str());
    if found != Some(fingerprint(problem).as_str()) {
        bail!(
            "--resume: {} was written for other inputs (the scenario, the master seed, \
             search.replicates, the parameter paths or the moment definitions differ); \
             run with the same ones, or use --force to start over",
            path.display()
        );
    }
    let mut cols = vec![text("profile"), num("valid")];
    let means: Vec<String> = problem
        .targets
        .iter()
        .map(|t| format!("mean_{}", t.name))
        .collect();
    let sds: Vec<String> = problem
        .targets
        .iter()
        .map(|t| format!("sd_{}", t.name))
        .collect();
    cols.extend(problem.params.iter().map(|p| num(&p.path)));
    cols.extend(means.iter().map(|m| num(m)));
    cols.extend(sds.iter().map(|m| num(m)));
    let t: Table = read_files(&[path.to_path_buf()], &cols)?;
    Ok((0..t.len)
        .map(|i| Entry {
            x: problem.params.iter().map(|p| t.f(&p.path)[i]).collect(),
            phase: "unused".to_string(),
            profile: t.s("profile")[i].clone(),
            valid: t.f("valid")[i] > 0.5,
            mean: means.iter().map(|m| t.f(m)[i]).collect(),
            sd: sds.iter().map(|m| t.f(m)[i]).collect(),
        })
        .collect())
}
