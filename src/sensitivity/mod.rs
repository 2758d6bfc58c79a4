//! Global sensitivity analysis (`clustersim sensitivity CONFIG --method
//! morris|sobol --param PATH=LO..HI … [--outcome NAME …] --runs R`): a Morris
//! or Saltelli design over config fields ([`design`], as SALib builds them),
//! every point a scenario validated before any run (the `sweep` machinery:
//! [`crate::sweep::point_scenario`]), R replicates per point with common
//! random numbers (the same master seed and run indices 0..R at every point),
//! the replicate mean as the point's outcome, and SALib's indices
//! ([`analyze`]) with bootstrap confidence half-widths.
//!
//! A unit of work is one (point, replicate) run; units are numbered `u =
//! point · R + run`, shard I/N owns the units with `u mod N = I`, cut into
//! batches written as `replicates-part-IIII-of-NNNN-bBBBBB.parquet` (columns
//! `point`, `run`, then one f64 column per outcome of
//! [`crate::compare::outcome_names`]). `--resume` keeps the batches already
//! written. When every unit of the design is present, the analysis writes
//! `points.parquet`, `sensitivity.parquet` and `convergence.parquet` (schemas
//! in docs/sensitivity.md) and, with `--plot`, the charts.

pub mod analyze;
pub mod design;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use polars::prelude::{Column, DataFrame, DataType};
use rayon::prelude::*;
use serde_json::{json, Value};

use crate::cli::{SensitivityArgs, SensitivityMethod};
use crate::compare::{self, OUTCOME_METRICS};
use crate::config::Scenario;
use crate::output::layout::Shard;
use crate::output::parquet;
use crate::plot::data::{self, num, text};
use crate::sweep::{self, Factor};

/// The settings of a sensitivity job: everything its results depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub method: SensitivityMethod,
    /// (path, lo, hi) per parameter.
    pub params: Vec<(String, f64, f64)>,
    /// Morris trajectories or Saltelli base samples.
    pub samples: usize,
    /// Morris grid levels.
    pub levels: usize,
    /// Saltelli with second-order indices.
    pub second_order: bool,
    /// Replicates per point.
    pub runs: u32,
    pub seed: u64,
    /// Bootstrap resamples for the confs.
    pub resamples: usize,
    /// Also analyse every region metric at every step.
    pub every_step: bool,
}

impl Settings {
    /// Rows of the design.
    pub fn points(&self) -> usize {
        let d = self.params.len();
        match self.method {
            SensitivityMethod::Morris => self.samples * (d + 1),
            SensitivityMethod::Sobol => self.samples * design::saltelli_block(d, self.second_order),
        }
    }

    /// The design in the unit cube, one row per point.
    pub fn unit_design(&self) -> Vec<Vec<f64>> {
        let d = self.params.len();
        match self.method {
            SensitivityMethod::Morris => design::morris(self.samples, d, self.levels, self.seed),
            SensitivityMethod::Sobol => {
                design::saltelli(self.samples, d, self.second_order, self.seed)
            }
        }
    }

    /// The design as `sweep` factors: each parameter's value at each point.
    pub fn factors(&self, unit: &[Vec<f64>]) -> sweep::Design {
        sweep::Design {
            points: unit.len(),
            factors: self
                .params
                .iter()
                .enumerate()
                .map(|(j, (path, lo, hi))| Factor {
                    path: path.clone(),
                    values: unit.iter().map(|u| json!(lo + u[j] * (hi - lo))).collect(),
                })
                .collect(),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "method": self.method_name(),
            "params": self.params.iter().map(|(p, lo, hi)| json!({"path": p, "lo": lo, "hi": hi})).collect::<Vec<_>>(),
            "samples": self.samples,
            "levels": self.levels,
            "second_order": self.second_order,
            "runs": self.runs,
            "seed": self.seed,
            "resamples": self.resamples,
            "every_step": self.every_step,
        })
    }

    fn method_name(&self) -> &'static str {
        match self.method {
            SensitivityMethod::Morris => "morris",
            SensitivityMethod::Sobol => "sobol",
        }
    }

    /// The indices of `y` (one value per point), in parameter order.
    pub fn indices(&self, unit: &[Vec<f64>], y: &[f64]) -> Vec<analyze::Index> {
        let d = self.params.len();
        match self.method {
            SensitivityMethod::Morris => analyze::morris(
                unit,
                y,
                d,
                design::morris_delta(self.levels),
                self.resamples,
                self.seed,
            ),
            SensitivityMethod::Sobol => {
                analyze::sobol(y, d, self.second_order, self.resamples, self.seed)
            }
        }
    }

    /// Points per trajectory or base sample.
    fn block(&self) -> usize {
        self.points() / self.samples.max(1)
    }
}

/// Parse and check the arguments into settings; warnings go to stderr.
pub fn settings(args: &SensitivityArgs, base: &Scenario) -> anyhow::Result<Settings> {
    let params = args
        .param
        .iter()
        .map(|p| sweep::parse_range_flag("--param", p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if params.is_empty() {
        bail!("sensitivity needs at least one --param PATH=LO..HI");
    }
    for (i, (p, _, _)) in params.iter().enumerate() {
        if params[..i].iter().any(|(q, _, _)| q == p) {
            bail!("--param {p} is given twice; each parameter once");
        }
    }
    let runs = args.runs.unwrap_or(base.monte_carlo.runs);
    if runs == 0 {
        bail!("--runs 0: give at least 1 replicate per point (2 or more to see replicate noise)");
    }
    if args.resamples < 2 {
        bail!(
            "--resamples {}: give at least 2 bootstrap resamples (SALib's default for Morris is 1000)",
            args.resamples
        );
    }
    let (samples, second_order) = match args.method {
        SensitivityMethod::Morris => {
            let r = args.samples.unwrap_or(10);
            if r < 2 {
                bail!("--samples {r}: Morris needs at least 2 trajectories");
            }
            if args.levels < 2 || args.levels % 2 != 0 {
                bail!(
                    "--levels {}: the Morris grid needs an even number of levels, at least 2 (default 4)",
                    args.levels
                );
            }
            (r, false)
        }
        SensitivityMethod::Sobol => {
            let n = args.samples.unwrap_or(64);
            if !(2..=design::MAX_SOBOL_SAMPLES).contains(&n) {
                bail!(
                    "--samples {n}: Saltelli designs take 2 to {} base samples",
                    design::MAX_SOBOL_SAMPLES
                );
            }
            if params.len() > design::MAX_SOBOL_PARAMS {
                bail!(
                    "{} parameters: Saltelli designs take at most {}",
                    params.len(),
                    design::MAX_SOBOL_PARAMS
                );
            }
            if !n.is_power_of_two() {
                eprintln!(
                    "warning: --samples {n} is not a power of 2; the Sobol' sequence is balanced only for powers of 2 (e.g. {})",
                    n.next_power_of_two()
                );
            }
            (n, !args.no_second_order)
        }
    };
    Ok(Settings {
        method: args.method,
        params,
        samples,
        levels: args.levels,
        second_order,
        runs,
        seed: args.seed.unwrap_or(base.monte_carlo.seed),
        resamples: args.resamples,
        every_step: args.every_step,
    })
}

/// The outcomes to analyse: `--outcome` names, checked, or all of
/// [`compare::outcome_names`].
pub fn outcomes(requested: &[String]) -> anyhow::Result<Vec<String>> {
    let all = compare::outcome_names();
    if requested.is_empty() {
        return Ok(all);
    }
    for o in requested {
        if !all.contains(o) {
            bail!(
                "--outcome {o}: unknown outcome; allowed: {}",
                all.join(", ")
            );
        }
    }
    Ok(requested.to_vec())
}

/// What one run gives the analysis.
#[derive(Debug, Clone, PartialEq)]
pub struct RunValues {
    /// Every outcome of [`compare::outcome_names`], in that order.
    pub outcomes: Vec<f64>,
    /// `steps[m][t]`: metric m of [`OUTCOME_METRICS`] at step t (0..=steps).
    pub steps: Vec<Vec<f64>>,
}

/// Simulate one run and compute its outcomes from its region rows (the
/// definitions of `compare`: last step and time mean) and its per-step
/// metrics.
pub fn run_outcomes(scenario: &Scenario, seed: u64, run: u32) -> anyhow::Result<RunValues> {
    let record = crate::model::simulate(scenario, seed, u64::from(run), false);
    let batch = [crate::output::tables::RunOutput { run, record }];
    let df = crate::output::tables::region_frame(&batch, &[]).context("building region rows")?;
    let mut t = data::Table {
        len: df.height(),
        ..Default::default()
    };
    for name in ["run", "step"].into_iter().chain(OUTCOME_METRICS) {
        let col = df.column(name)?.cast(&DataType::Float64)?;
        let values = col.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
        t.num.insert(name.to_string(), values);
    }
    let o = compare::outcomes_from_region(&t);
    let outcomes = compare::outcome_names()
        .iter()
        .map(|n| {
            o.values
                .get(n)
                .and_then(|v| v.first())
                .copied()
                .unwrap_or(f64::NAN)
        })
        .collect();
    // region_frame orders a run's rows by step.
    let steps = OUTCOME_METRICS.iter().map(|m| t.f(m).to_vec()).collect();
    Ok(RunValues { outcomes, steps })
}

/// The file of batch `b` of `shard`.
pub fn batch_file_name(shard: Shard, b: usize) -> String {
    format!("replicates-{}-b{b:05}.parquet", shard.tag())
}

/// The per-step file of batch `b` of `shard` (with `--every-step`).
pub fn steps_file_name(shard: Shard, b: usize) -> String {
    format!("steps-{}-b{b:05}.parquet", shard.tag())
}

/// (point, run) of unit `u`.
fn unit_of(u: usize, runs: u32) -> (usize, u32) {
    (u / runs as usize, (u % runs as usize) as u32)
}

/// The units of `shard`, cut into batches of `batch`.
fn shard_batches(shard: Shard, units: usize, batch: usize) -> Vec<Vec<usize>> {
    let mine: Vec<usize> = (shard.index as usize..units)
        .step_by(shard.count as usize)
        .collect();
    mine.chunks(batch.max(1)).map(<[usize]>::to_vec).collect()
}

fn replicate_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    part_files(dir, "replicates-part-")
}

fn part_files(dir: &Path, prefix: &str) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".parquet"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The per-run outcomes found in `dir`: `(point, run) → values` in
/// [`compare::outcome_names`] order.
pub fn read_replicates(dir: &Path) -> anyhow::Result<BTreeMap<(usize, u32), Vec<f64>>> {
    let files = replicate_files(dir)?;
    let names = compare::outcome_names();
    let mut out = BTreeMap::new();
    if files.is_empty() {
        return Ok(out);
    }
    let mut cols = vec![num("point"), num("run")];
    cols.extend(names.iter().map(|n| num(n)));
    let t = data::read_files(&files, &cols)?;
    for i in 0..t.len {
        let values = names.iter().map(|n| t.f(n)[i]).collect();
        out.insert((t.f("point")[i] as usize, t.f("run")[i] as u32), values);
    }
    Ok(out)
}

/// Per (point, run): `[metric][step]` of [`OUTCOME_METRICS`].
pub type StepValues = BTreeMap<(usize, u32), Vec<Vec<f64>>>;

/// The per-step metrics found in `dir` (`steps-part-*` files):
/// `(point, run) → [metric][step]`.
pub fn read_steps(dir: &Path) -> anyhow::Result<StepValues> {
    let files = part_files(dir, "steps-part-")?;
    let mut out = StepValues::new();
    if files.is_empty() {
        return Ok(out);
    }
    let mut cols = vec![num("point"), num("run"), num("step")];
    cols.extend(OUTCOME_METRICS.iter().map(|m| num(m)));
    let t = data::read_files(&files, &cols)?;
    for i in 0..t.len {
        let key = (t.f("point")[i] as usize, t.f("run")[i] as u32);
        let step = t.f("step")[i] as usize;
        let entry = out
            .entry(key)
            .or_insert_with(|| vec![Vec::new(); OUTCOME_METRICS.len()]);
        for (m, name) in OUTCOME_METRICS.iter().enumerate() {
            if entry[m].len() <= step {
                entry[m].resize(step + 1, f64::NAN);
            }
            entry[m][step] = t.f(name)[i];
        }
    }
    Ok(out)
}

/// The per-step rows of a batch: `point`, `run`, `step`, then every metric
/// of [`OUTCOME_METRICS`].
fn steps_frame(units: &[usize], runs: u32, values: &[RunValues]) -> anyhow::Result<DataFrame> {
    let (mut pts, mut reps, mut steps) = (Vec::new(), Vec::new(), Vec::new());
    let mut metrics: Vec<Vec<f64>> = vec![Vec::new(); OUTCOME_METRICS.len()];
    for (&u, v) in units.iter().zip(values) {
        let (p, r) = unit_of(u, runs);
        let len = v.steps.first().map_or(0, Vec::len);
        for t in 0..len {
            pts.push(p as f64);
            reps.push(r as i32);
            steps.push(t as i32);
            for (m, col) in metrics.iter_mut().enumerate() {
                col.push(v.steps[m][t]);
            }
        }
    }
    let mut cols = vec![
        Column::new("point".into(), pts),
        Column::new("run".into(), reps),
        Column::new("step".into(), steps),
    ];
    for (name, col) in OUTCOME_METRICS.iter().zip(metrics) {
        cols.push(Column::new((*name).into(), col));
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

/// What a sensitivity job wrote.
#[derive(Debug, Clone)]
pub struct SensitivityReport {
    pub out_dir: PathBuf,
    pub settings: Settings,
    /// Units (point × replicate) this invocation ran.
    pub ran: usize,
    /// Whether the whole design was present and analysed.
    pub analysed: bool,
    /// The indices, when analysed.
    pub rows: Vec<IndexRow>,
    /// Charts written (with `--plot`).
    pub charts: Vec<PathBuf>,
}

/// One row of `sensitivity.parquet` or `convergence.parquet`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    /// An outcome of `compare`, or with `step` a region metric.
    pub outcome: String,
    /// The step of a per-step row (`--every-step`); `None` for the final
    /// and time-mean outcomes.
    pub step: Option<u32>,
    /// The parameter path; `None` for the outcome's `noise_share`.
    pub parameter: Option<String>,
    /// The second parameter of `S2`.
    pub parameter2: Option<String>,
    pub index: String,
    /// Trajectories or base samples used (the full design in `sensitivity.parquet`).
    pub n: u32,
    pub value: f64,
    pub conf: Option<f64>,
}

fn index_frame(rows: &[IndexRow]) -> anyhow::Result<DataFrame> {
    Ok(polars::df!(
        "outcome" => rows.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
        "step" => rows.iter().map(|r| r.step).collect::<Vec<_>>(),
        "parameter" => rows.iter().map(|r| r.parameter.as_deref()).collect::<Vec<_>>(),
        "parameter2" => rows.iter().map(|r| r.parameter2.as_deref()).collect::<Vec<_>>(),
        "index" => rows.iter().map(|r| r.index.as_str()).collect::<Vec<_>>(),
        "n" => rows.iter().map(|r| r.n).collect::<Vec<_>>(),
        "value" => rows.iter().map(|r| r.value).collect::<Vec<_>>(),
        "conf" => rows.iter().map(|r| r.conf).collect::<Vec<_>>(),
    )?)
}

/// Read `sensitivity.parquet` or `convergence.parquet`.
pub fn read_index_rows(path: &Path) -> anyhow::Result<Vec<IndexRow>> {
    let t = data::read_files(
        &[path.to_path_buf()],
        &[
            text("outcome"),
            num("step"),
            text("parameter"),
            text("parameter2"),
            text("index"),
            num("n"),
            num("value"),
            num("conf"),
        ],
    )?;
    let some = |s: &String| (!s.is_empty()).then(|| s.clone());
    Ok((0..t.len)
        .map(|i| IndexRow {
            outcome: t.s("outcome")[i].clone(),
            step: Some(t.f("step")[i])
                .filter(|v| !v.is_nan())
                .map(|v| v as u32),
            parameter: some(&t.s("parameter")[i]),
            parameter2: some(&t.s("parameter2")[i]),
            index: t.s("index")[i].clone(),
            n: t.f("n")[i] as u32,
            value: t.f("value")[i],
            conf: Some(t.f("conf")[i]).filter(|c| !c.is_nan()),
        })
        .collect())
}

fn write_frame(path: &Path, mut df: DataFrame, settings: &Settings) -> anyhow::Result<()> {
    let mut meta = crate::output::manifest::build_metadata();
    meta.push((
        "clustersim.sensitivity".to_string(),
        settings.to_json().to_string(),
    ));
    parquet::write_atomic(path, &mut df, &meta, &|_| None)?;
    Ok(())
}

/// Per point and outcome: the replicate values (NaN where missing), and the
/// count, mean and sd of the finite ones.
struct PointStats {
    values: Vec<Vec<f64>>,
    n: Vec<usize>,
    mean: Vec<f64>,
    sd: Vec<f64>,
}

/// `value(point, run)` for every point and run, as `[point][run]`.
fn matrix(points: usize, runs: u32, value: impl Fn(usize, u32) -> f64) -> Vec<Vec<f64>> {
    (0..points)
        .map(|p| (0..runs).map(|r| value(p, r)).collect())
        .collect()
}

fn point_stats(values: Vec<Vec<f64>>) -> PointStats {
    let mut s = PointStats {
        values: Vec::new(),
        n: Vec::new(),
        mean: Vec::new(),
        sd: Vec::new(),
    };
    for row in &values {
        let v: Vec<f64> = row.iter().copied().filter(|v| v.is_finite()).collect();
        s.n.push(v.len());
        s.mean.push(if v.is_empty() {
            f64::NAN
        } else {
            crate::stats::mean(&v)
        });
        s.sd.push(if v.len() < 2 {
            f64::NAN
        } else {
            crate::stats::sample_sd(&v)
        });
    }
    s.values = values;
    s
}

/// The indices and the noise share of one outcome (at one step).
fn outcome_rows(
    settings: &Settings,
    unit: &[Vec<f64>],
    outcome: &str,
    step: Option<u32>,
    s: &PointStats,
) -> Vec<IndexRow> {
    let mut rows: Vec<IndexRow> = settings
        .indices(unit, &s.mean)
        .iter()
        .map(|i| index_row(settings, outcome, step, settings.samples, i))
        .collect();
    rows.push(IndexRow {
        outcome: outcome.to_string(),
        step,
        parameter: None,
        parameter2: None,
        index: "noise_share".to_string(),
        n: settings.samples as u32,
        value: analyze::noise_share(&s.values),
        conf: None,
    });
    rows
}

fn index_row(
    settings: &Settings,
    outcome: &str,
    step: Option<u32>,
    n: usize,
    i: &analyze::Index,
) -> IndexRow {
    let name = |k: usize| settings.params[k].0.clone();
    IndexRow {
        outcome: outcome.to_string(),
        step,
        parameter: Some(name(i.parameter)),
        parameter2: i.other.map(name),
        index: i.index.to_string(),
        n: n as u32,
        value: i.value,
        conf: i.conf,
    }
}

/// The analysis of a complete design: `points.parquet`, `sensitivity.parquet`,
/// `convergence.parquet`; returns the index rows.
fn analyse(
    dir: &Path,
    settings: &Settings,
    unit: &[Vec<f64>],
    outcomes: &[String],
    reps: &BTreeMap<(usize, u32), Vec<f64>>,
    quiet: bool,
) -> anyhow::Result<Vec<IndexRow>> {
    let all = compare::outcome_names();
    let points = settings.points();
    let stats: Vec<(usize, PointStats)> = outcomes
        .iter()
        .map(|o| {
            let k = all.iter().position(|a| a == o).unwrap_or(0);
            let values = matrix(points, settings.runs, |p, r| {
                reps.get(&(p, r)).map_or(f64::NAN, |v| v[k])
            });
            (k, point_stats(values))
        })
        .collect();

    // points.parquet: long, point × outcome.
    let (mut pp, mut po, mut pn, mut pm, mut ps) = (vec![], vec![], vec![], vec![], vec![]);
    for (o, (_, s)) in outcomes.iter().zip(&stats) {
        for p in 0..points {
            pp.push(p as f64);
            po.push(o.as_str());
            pn.push(s.n[p] as u32);
            pm.push(s.mean[p]);
            ps.push(s.sd[p]);
        }
    }
    let df = polars::df!("point" => pp, "outcome" => po, "n" => pn, "mean" => pm, "sd" => ps)?;
    write_frame(&dir.join("points.parquet"), df, settings)?;

    let block = settings.block();
    let first = match settings.method {
        SensitivityMethod::Morris => 2,
        SensitivityMethod::Sobol => 4,
    };
    let sizes = analyze::convergence_sizes(first.min(settings.samples), settings.samples);
    let results: Vec<(Vec<IndexRow>, Vec<IndexRow>)> = outcomes
        .par_iter()
        .zip(&stats)
        .map(|(o, (_, s))| {
            let main = outcome_rows(settings, unit, o, None, s);
            let conv = sizes
                .iter()
                .flat_map(|&n| {
                    let m = n * block;
                    settings
                        .indices(&unit[..m], &s.mean[..m])
                        .iter()
                        .filter(|i| matches!(i.index, "mu_star" | "S1" | "ST"))
                        .map(|i| index_row(settings, o, None, n, i))
                        .collect::<Vec<_>>()
                })
                .collect();
            (main, conv)
        })
        .collect();
    let (mut rows, mut conv) = (Vec::new(), Vec::new());
    for (m, c) in results {
        rows.extend(m);
        conv.extend(c);
    }
    if settings.every_step {
        rows.extend(step_rows(dir, settings, unit)?);
    }
    write_frame(
        &dir.join("sensitivity.parquet"),
        index_frame(&rows)?,
        settings,
    )?;
    write_frame(
        &dir.join("convergence.parquet"),
        index_frame(&conv)?,
        settings,
    )?;
    if !quiet {
        for r in rows
            .iter()
            .filter(|r| r.index == "noise_share" && r.step.is_none())
        {
            if r.value.is_finite() && r.value > 0.1 {
                eprintln!(
                    "warning: replicate noise is {:.0}% of the variance of {} over the design; raise --runs (now {})",
                    100.0 * r.value,
                    r.outcome,
                    settings.runs
                );
            }
        }
        for (o, (_, s)) in outcomes.iter().zip(&stats) {
            if s.mean.iter().any(|v| !v.is_finite()) {
                eprintln!("warning: {o} is not finite at some design point; its indices are NaN");
            } else if crate::stats::sample_sd(&s.mean) == 0.0 {
                eprintln!("warning: {o} is constant over the design; its indices are NaN");
            }
        }
    }
    Ok(rows)
}

/// The per-step rows: every metric of [`OUTCOME_METRICS`] at every step
/// that every point has (steps differ when `time.steps` is a parameter).
fn step_rows(dir: &Path, settings: &Settings, unit: &[Vec<f64>]) -> anyhow::Result<Vec<IndexRow>> {
    let steps = read_steps(dir)?;
    let points = settings.points();
    let complete = (0..points).all(|p| (0..settings.runs).all(|r| steps.contains_key(&(p, r))));
    if !complete {
        bail!(
            "{} lacks per-step files (steps-part-*.parquet) of some runs; \
             rerun with --force --every-step",
            dir.display()
        );
    }
    let common = steps
        .values()
        .map(|v| v.first().map_or(0, Vec::len))
        .min()
        .unwrap_or(0);
    let jobs: Vec<(usize, usize)> = (0..OUTCOME_METRICS.len())
        .flat_map(|m| (0..common).map(move |t| (m, t)))
        .collect();
    Ok(jobs
        .par_iter()
        .flat_map_iter(|&(m, t)| {
            let values = matrix(points, settings.runs, |p, r| steps[&(p, r)][m][t]);
            outcome_rows(
                settings,
                unit,
                OUTCOME_METRICS[m],
                Some(t as u32),
                &point_stats(values),
            )
        })
        .collect())
}

/// Check the output directory against `--force`/`--resume` and (re)write
/// `sensitivity.json`.
fn prepare_dir(
    dir: &Path,
    settings: &Settings,
    args: &SensitivityArgs,
    shard: Shard,
    config_sha: &str,
) -> anyhow::Result<()> {
    let manifest_path = dir.join("sensitivity.json");
    let mut wanted = settings.to_json();
    wanted["config_sha256"] = json!(config_sha);
    let mut files = replicate_files(dir)?;
    files.extend(part_files(dir, "steps-part-")?);
    let tag = shard.tag();
    let mine: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(&tag))
        })
        .collect();
    // Results already there are of these settings, or `differs` says how not.
    let differs: Option<String> = if manifest_path.exists() {
        let text = std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?;
        let old: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", manifest_path.display()))?;
        let old = &old["settings"];
        wanted
            .as_object()
            .into_iter()
            .flatten()
            .find(|(key, value)| old.get(key.as_str()) != Some(*value))
            .map(|(key, value)| {
                format!(
                    "{} was written with {key} = {}, but this job has {key} = {value}",
                    manifest_path.display(),
                    old.get(key.as_str()).unwrap_or(&Value::Null)
                )
            })
    } else if !files.is_empty() {
        Some(format!(
            "{} holds replicate files but no sensitivity.json",
            dir.display()
        ))
    } else {
        None
    };
    if args.job.force {
        // Other settings: every old file goes; the same settings: this shard's.
        let remove: Vec<&PathBuf> = if differs.is_some() {
            files.iter().collect()
        } else {
            mine
        };
        for f in remove {
            std::fs::remove_file(f)
                .with_context(|| format!("--force: cannot remove {}", f.display()))?;
        }
        for name in [
            "points.parquet",
            "sensitivity.parquet",
            "convergence.parquet",
        ] {
            let _ = std::fs::remove_file(dir.join(name));
        }
    } else if let Some(why) = differs {
        bail!("{why}; run with the same arguments, or use --force to start over");
    } else if !args.job.resume && !mine.is_empty() {
        bail!(
            "output directory {} already holds sensitivity results of shard {shard}; \
             use --force to overwrite them or --resume to complete an interrupted job",
            dir.display()
        );
    }
    let manifest = json!({
        "format": "clustersim-sensitivity/1",
        "clustersim_version": env!("CARGO_PKG_VERSION"),
        "settings": wanted,
        "points": settings.points(),
        "command_line": std::env::args().collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&manifest)?;
    parquet::write_text_atomic(&manifest_path, &text)?;
    Ok(())
}

/// Build the design of `args`, validate every point, run the missing units
/// of this shard, and analyse when the whole design is present.
pub fn run_sensitivity(args: &SensitivityArgs) -> anyhow::Result<SensitivityReport> {
    let base = crate::config::load(&args.config)?;
    let settings = settings(args, &base)?;
    let outcomes = outcomes(&args.outcome)?;
    let shard = match &args.shard {
        Some(s) => Shard::parse(s)?,
        None => Shard::from_env(|v| std::env::var(v).ok())?.unwrap_or_default(),
    };
    if args.batch == 0 {
        bail!("--batch 0: give at least 1 run per batch");
    }
    let unit = settings.unit_design();
    let mut design = settings.factors(&unit);
    let scenarios = sweep::point_scenarios(&base, &mut design, &args.config)?;
    let (_, dir) = sweep::out_dir(&args.config, args.out.as_ref(), "sensitivity");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config_sha =
        crate::output::manifest::sha256_hex(crate::experiment::scenario_ron(&base).as_bytes());
    prepare_dir(&dir, &settings, args, shard, &config_sha)?;

    let columns = sweep::factor_columns(&base, &design)?;
    let mut df = sweep::sweep_design_frame(&design, &columns)?;
    let d = settings.params.len();
    let morris = settings.method == SensitivityMethod::Morris;
    let roles: Vec<(usize, String)> = (0..design.points)
        .map(|p| design::row_role(p, d, morris, settings.second_order))
        .collect();
    df.with_column(Column::new(
        "group".into(),
        roles.iter().map(|r| r.0 as u32).collect::<Vec<u32>>(),
    ))?;
    df.with_column(Column::new(
        "role".into(),
        roles.iter().map(|r| r.1.clone()).collect::<Vec<String>>(),
    ))?;
    let mut meta = sweep::design_metadata(&base, &design, &columns, settings.seed, settings.runs);
    meta.push((
        "clustersim.sensitivity".to_string(),
        settings.to_json().to_string(),
    ));
    parquet::write_atomic(&dir.join("design.parquet"), &mut df, &meta, &|_| None)?;

    let units = settings.points() * settings.runs as usize;
    let batches = shard_batches(shard, units, args.batch);
    let names = compare::outcome_names();
    // With --resume, a batch whose runs are all written (by any shard) is done.
    type Keys = std::collections::BTreeSet<(usize, u32)>;
    let (present, steps_present): (Keys, Keys) = if args.job.resume {
        let steps = if settings.every_step {
            read_steps(&dir)?.into_keys().collect()
        } else {
            Keys::new()
        };
        (read_replicates(&dir)?.into_keys().collect(), steps)
    } else {
        Default::default()
    };
    let done = |u: usize| {
        let key = unit_of(u, settings.runs);
        present.contains(&key) && (!settings.every_step || steps_present.contains(&key))
    };
    let todo: Vec<usize> = (0..batches.len())
        .filter(|b| !batches[*b].iter().all(|&u| done(u)))
        .collect();
    if !args.job.quiet {
        eprintln!(
            "sensitivity: {} design, {} points × {} replicates; shard {shard}: {} of {} batches to run",
            settings.method_name(),
            settings.points(),
            settings.runs,
            todo.len(),
            batches.len()
        );
    }
    let threads = args
        .job
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    let progress = crate::progress::Progress::new(
        todo.iter().map(|b| batches[*b].len() as u64).sum(),
        0,
        args.job.quiet,
        "sensitivity",
    );
    let mut ran = 0;
    for &b in &todo {
        let results: Vec<anyhow::Result<RunValues>> = pool.install(|| {
            batches[b]
                .par_iter()
                .map(|&u| {
                    let (p, r) = unit_of(u, settings.runs);
                    run_outcomes(&scenarios[p], settings.seed, r)
                })
                .collect()
        });
        let values = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
        let (pts, runs): (Vec<f64>, Vec<i32>) = batches[b]
            .iter()
            .map(|&u| {
                let (p, r) = unit_of(u, settings.runs);
                (p as f64, r as i32)
            })
            .unzip();
        let mut cols = vec![
            Column::new("point".into(), pts),
            Column::new("run".into(), runs),
        ];
        for (k, n) in names.iter().enumerate() {
            cols.push(Column::new(
                n.as_str().into(),
                values.iter().map(|v| v.outcomes[k]).collect::<Vec<f64>>(),
            ));
        }
        if settings.every_step {
            // Written first: a batch counts as done once its replicate file exists.
            let df = steps_frame(&batches[b], settings.runs, &values)?;
            write_frame(&dir.join(steps_file_name(shard, b)), df, &settings)?;
        }
        let df = DataFrame::new_infer_height(cols)?;
        write_frame(&dir.join(batch_file_name(shard, b)), df, &settings)?;
        progress.advance(batches[b].len() as u64);
        ran += batches[b].len();
    }
    progress.finish();

    let reps = read_replicates(&dir)?;
    let complete = (0..units).all(|u| reps.contains_key(&unit_of(u, settings.runs)));
    let mut report = SensitivityReport {
        out_dir: dir.clone(),
        settings: settings.clone(),
        ran,
        analysed: complete,
        rows: Vec::new(),
        charts: Vec::new(),
    };
    if !complete {
        let have = reps.len();
        if !args.job.quiet {
            eprintln!(
                "sensitivity: {have} of {units} runs of the design are written; \
                 run the other shards, then any shard again with --resume to analyse"
            );
        }
        return Ok(report);
    }
    report.rows =
        pool.install(|| analyse(&dir, &settings, &unit, &outcomes, &reps, args.job.quiet))?;
    if args.plot {
        report.charts = crate::plot::sensitivity::plot_sensitivity(&dir, &dir.join("plots"))?;
    }
    Ok(report)
}

/// The indices as a short text table: per outcome, one line per parameter.
pub fn format_table(settings: &Settings, rows: &[IndexRow]) -> String {
    let mut out = String::new();
    let mut by_outcome: BTreeMap<&str, Vec<&IndexRow>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.step.is_none()) {
        if !by_outcome.contains_key(r.outcome.as_str()) {
            order.push(&r.outcome);
        }
        by_outcome.entry(&r.outcome).or_default().push(r);
    }
    let (a, b) = match settings.method {
        SensitivityMethod::Morris => ("mu_star", "sigma"),
        SensitivityMethod::Sobol => ("S1", "ST"),
    };
    for o in order {
        let rs = &by_outcome[o];
        let noise = rs
            .iter()
            .find(|r| r.index == "noise_share")
            .map_or(f64::NAN, |r| r.value);
        out.push_str(&format!(
            "{o} (replicate noise {:.1}% of the variance)\n",
            100.0 * noise
        ));
        for (p, _, _) in &settings.params {
            let get = |name: &str| {
                rs.iter().find(|r| {
                    r.index == name
                        && r.parameter.as_deref() == Some(p.as_str())
                        && r.parameter2.is_none()
                })
            };
            let fmt = |r: Option<&&IndexRow>| match r {
                Some(r) => match r.conf {
                    Some(c) => format!("{:.4} ± {:.4}", r.value, c),
                    None => format!("{:.4}", r.value),
                },
                None => "—".into(),
            };
            out.push_str(&format!(
                "  {p:<40} {a} {:<22} {b} {}\n",
                fmt(get(a)),
                fmt(get(b))
            ));
        }
    }
    out
}

/// `clustersim sensitivity`.
pub fn sensitivity_command(args: &SensitivityArgs) -> anyhow::Result<()> {
    let report = run_sensitivity(args)?;
    if report.analysed {
        print!("{}", format_table(&report.settings, &report.rows));
        let s = &report.settings;
        println!(
            "ran {} of the {} runs now ({} points × {} replicates)",
            report.ran,
            s.points() * s.runs as usize,
            s.points(),
            s.runs
        );
        println!(
            "wrote {}/{{design,points,sensitivity,convergence}}.parquet",
            report.out_dir.display()
        );
        for c in &report.charts {
            println!("{}", c.display());
        }
    } else {
        println!(
            "ran {} runs into {}; the design is not complete yet",
            report.ran,
            report.out_dir.display()
        );
    }
    if args.report {
        println!(
            "wrote {}",
            crate::report::write_report(&report.out_dir)?.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_units_into_disjoint_batches_covering_the_design() {
        let units = 23;
        let mut all: Vec<usize> = Vec::new();
        for index in 0..3 {
            let b = shard_batches(Shard { index, count: 3 }, units, 4);
            assert!(b.iter().all(|x| x.len() <= 4));
            all.extend(b.into_iter().flatten());
        }
        all.sort_unstable();
        assert_eq!(all, (0..units).collect::<Vec<_>>());
        assert_eq!(unit_of(7, 3), (2, 1));
        assert_eq!(
            batch_file_name(Shard::default(), 2),
            "replicates-part-0000-of-0001-b00002.parquet"
        );
    }

    #[test]
    fn unknown_outcomes_are_refused_with_the_allowed_names() {
        assert_eq!(outcomes(&[]).unwrap(), compare::outcome_names());
        let err = outcomes(&["final_taxes".into()]).unwrap_err().to_string();
        assert!(
            err.contains("final_taxes") && err.contains("final_tax,"),
            "{err}"
        );
    }
}
