//! Policy comparison (`clustersim compare A.ron B.ron …`): every scenario is
//! run by the Monte Carlo driver with the same master seed and run indices, so
//! run r of each scenario starts from the same initial draw and sees the same
//! per-step random streams wherever the model's path allows (common random
//! numbers; the stream layout is in `rng`). Outcomes are computed per run from
//! the region tables, summarised per scenario with a 95% t interval, and each
//! scenario is compared with the first by the paired (run-by-run) difference.
//!
//! This module owns the outcomes compared, the `comparison.parquet` schema,
//! its writer and reader, the terminal table, and the command.
//!
//! Schema of `comparison.parquet`:
//!
//! | column | type | meaning |
//! |---|---|---|
//! | `scenario` | string | scenario name (config file stem), in command-line order |
//! | `outcome` | string | `final_<metric>` (last step) or `mean_<metric>` (time mean over steps) |
//! | `n` | u32 | runs |
//! | `mean` | f64 | mean over runs |
//! | `lo`, `hi` | f64 | 95% Student-t interval of the mean |
//! | `diff` | f64, null for the first scenario | paired mean difference, this scenario minus the first, run by run |
//! | `diff_lo`, `diff_hi` | f64, null for the first scenario | its 95% t interval |
//! | `excludes_zero` | bool, null for the first scenario | whether that interval excludes zero |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use polars::prelude::{DataFrame, PolarsResult};

use crate::cli::CompareArgs;
use crate::experiment::{self, JobSpec};
use crate::output::layout::Shard;
use crate::plot::data::{self, num, text};
use crate::stats::{self, LEVEL_95};

/// The region metrics compared, each as `final_<m>` and `mean_<m>`.
pub const OUTCOME_METRICS: [&str; 11] = [
    "firms_clusters",
    "polluting_residential",
    "clusters_complete",
    "mean_quality",
    "employment",
    "revenue",
    "tax",
    "leakage",
    "pollution_residential",
    "pollution_untreated",
    "relocations",
];

/// Human title and unit of a region metric (for tables and charts).
pub fn metric_label(metric: &str) -> (&'static str, &'static str) {
    match metric {
        "firms" => ("Firms in the region", "firms"),
        "firms_clusters" => ("Firms in clusters", "firms"),
        "firms_residential" => ("Firms in residential areas", "firms"),
        "polluting_residential" => ("Polluting residential firms", "firms"),
        "clusters_complete" => ("Complete clusters", "clusters"),
        "clusters_operating" => ("Operating clusters", "clusters"),
        "mean_quality" => ("Mean effective quality Q", "Q (0–1)"),
        "employment" => ("Employment", "workers"),
        "revenue" => ("Revenue", "billion VND/yr"),
        "tax" => ("Tax", "billion VND per step"),
        "budget" => ("Budget", "billion VND per step"),
        "spent" => ("Money placed", "billion VND per step"),
        "leakage" => ("Leakage", "billion VND per step"),
        "waste" => ("Waste", "billion VND per step"),
        "pollution_residential" => ("Residential pollution", "ΣS, billion VND/yr"),
        "pollution_untreated" => ("Untreated pollution", "ΣS(1−q_ww), billion VND/yr"),
        "relocations" => ("Relocations", "firms per step"),
        "entries" => ("Entries", "firms per step"),
        "exits" => ("Exits", "firms per step"),
        "forced_closures" => ("Forced closures", "firms per step"),
        "links" => ("Cooperation links", "links"),
        _ => ("", ""),
    }
}

/// Title and unit of an outcome `final_<m>` or `mean_<m>`, e.g.
/// ("Firms in clusters, final", "firms").
pub fn outcome_label(outcome: &str) -> (String, &'static str) {
    let (metric, when) = if let Some(m) = outcome.strip_prefix("final_") {
        (m, "final")
    } else if let Some(m) = outcome.strip_prefix("mean_") {
        (m, "time mean")
    } else {
        (outcome, "")
    };
    let (title, unit) = metric_label(metric);
    let title = if title.is_empty() { metric } else { title };
    if when.is_empty() {
        (title.to_string(), unit)
    } else {
        (format!("{title}, {when}"), unit)
    }
}

/// One row of `comparison.parquet` (see the module doc).
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    pub scenario: String,
    pub outcome: String,
    pub n: u32,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
    pub diff: Option<f64>,
    pub diff_lo: Option<f64>,
    pub diff_hi: Option<f64>,
    pub excludes_zero: Option<bool>,
}

/// The rows as a polars frame with the documented schema.
pub fn comparison_frame(rows: &[ComparisonRow]) -> PolarsResult<DataFrame> {
    polars::df!(
        "scenario" => rows.iter().map(|r| r.scenario.as_str()).collect::<Vec<_>>(),
        "outcome" => rows.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
        "n" => rows.iter().map(|r| r.n).collect::<Vec<_>>(),
        "mean" => rows.iter().map(|r| r.mean).collect::<Vec<_>>(),
        "lo" => rows.iter().map(|r| r.lo).collect::<Vec<_>>(),
        "hi" => rows.iter().map(|r| r.hi).collect::<Vec<_>>(),
        "diff" => rows.iter().map(|r| r.diff).collect::<Vec<_>>(),
        "diff_lo" => rows.iter().map(|r| r.diff_lo).collect::<Vec<_>>(),
        "diff_hi" => rows.iter().map(|r| r.diff_hi).collect::<Vec<_>>(),
        "excludes_zero" => rows.iter().map(|r| r.excludes_zero).collect::<Vec<_>>(),
    )
}

/// Write `rows` to `path` as Parquet, atomically, with the build's
/// provenance (key-value and Arrow schema metadata).
pub fn write_comparison(path: &Path, rows: &[ComparisonRow]) -> anyhow::Result<()> {
    write_comparison_with(path, rows, &[])
}

/// [`write_comparison`] with the job's provenance `job` added to the
/// metadata (`clustersim.seed`, `clustersim.runs`, each scenario's
/// `clustersim.config_sha256.<scenario>`, …).
pub fn write_comparison_with(
    path: &Path,
    rows: &[ComparisonRow],
    job: &[(String, String)],
) -> anyhow::Result<()> {
    let mut df = comparison_frame(rows).context("building the comparison table")?;
    let mut meta = crate::output::manifest::build_metadata();
    meta.push(("clustersim.table".to_string(), "comparison".to_string()));
    meta.extend(job.iter().cloned());
    crate::output::parquet::write_atomic(path, &mut df, &meta, &|_| None)?;
    Ok(())
}

/// Read a `comparison.parquet` written by [`write_comparison`].
pub fn read_comparison(path: &Path) -> anyhow::Result<Vec<ComparisonRow>> {
    let t = data::read_files(
        &[path.to_path_buf()],
        &[
            text("scenario"),
            text("outcome"),
            num("n"),
            num("mean"),
            num("lo"),
            num("hi"),
            num("diff"),
            num("diff_lo"),
            num("diff_hi"),
            num("excludes_zero"),
        ],
    )?;
    let opt = |v: f64| v.is_finite().then_some(v);
    Ok((0..t.len)
        .map(|i| ComparisonRow {
            scenario: t.s("scenario")[i].clone(),
            outcome: t.s("outcome")[i].clone(),
            n: t.f("n")[i] as u32,
            mean: t.f("mean")[i],
            lo: t.f("lo")[i],
            hi: t.f("hi")[i],
            diff: opt(t.f("diff")[i]),
            diff_lo: opt(t.f("diff_lo")[i]),
            diff_hi: opt(t.f("diff_hi")[i]),
            excludes_zero: opt(t.f("excludes_zero")[i]).map(|v| v > 0.5),
        })
        .collect())
}

/// The outcome names in report order: `final_<m>` then `mean_<m>` for each
/// metric of [`OUTCOME_METRICS`].
pub fn outcome_names() -> Vec<String> {
    OUTCOME_METRICS
        .iter()
        .flat_map(|m| [format!("final_{m}"), format!("mean_{m}")])
        .collect()
}

/// Per-run outcomes of one scenario: `values[outcome][i]` belongs to `runs[i]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunOutcomes {
    /// Run indices, ascending.
    pub runs: Vec<u32>,
    pub values: BTreeMap<String, Vec<f64>>,
}

/// Per-run outcomes from a region table with columns `run`, `step` and every
/// metric of [`OUTCOME_METRICS`]: `final_<m>` is the value at the run's last
/// step, `mean_<m>` the mean over all its steps (0..=steps), as in
/// `runs.parquet`.
pub fn outcomes_from_region(t: &data::Table) -> RunOutcomes {
    let (run, step) = (t.f("run"), t.f("step"));
    let mut rows: BTreeMap<u32, Vec<(u32, usize)>> = BTreeMap::new();
    for i in 0..t.len {
        rows.entry(run[i] as u32)
            .or_default()
            .push((step[i] as u32, i));
    }
    let mut out = RunOutcomes {
        runs: rows.keys().copied().collect(),
        values: BTreeMap::new(),
    };
    for m in OUTCOME_METRICS {
        let col = t.f(m);
        let (mut finals, mut means) = (Vec::new(), Vec::new());
        for idx in rows.values_mut() {
            idx.sort_unstable();
            let last = idx.last().map_or(f64::NAN, |(_, i)| col[*i]);
            let values: Vec<f64> = idx.iter().map(|(_, i)| col[*i]).collect();
            finals.push(last);
            means.push(stats::mean(&values));
        }
        out.values.insert(format!("final_{m}"), finals);
        out.values.insert(format!("mean_{m}"), means);
    }
    out
}

/// Read the per-run outcomes of a run directory (`region*.parquet`).
pub fn read_outcomes(dir: &Path) -> anyhow::Result<RunOutcomes> {
    let mut cols = vec![num("run"), num("step")];
    cols.extend(OUTCOME_METRICS.iter().map(|m| num(m)));
    let t = data::read_table(dir, "region", &cols)?.with_context(|| {
        format!(
            "{} has no region/*.parquet (nor region.parquet)",
            dir.display()
        )
    })?;
    Ok(outcomes_from_region(&t))
}

/// Why two scenarios could not be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompareError {
    /// Pairing needs the same runs in every scenario.
    #[error("scenario {scenario} has runs {found:?}, but the base {base} has {wanted:?}; pairing needs the same runs")]
    RunsDiffer {
        scenario: String,
        base: String,
        found: Vec<u32>,
        wanted: Vec<u32>,
    },
    /// An outcome is missing from a scenario's outcomes.
    #[error("scenario {scenario} has no outcome {outcome}")]
    MissingOutcome { scenario: String, outcome: String },
}

/// Summarise every scenario × outcome: mean and 95% interval over runs, and
/// for every scenario but the first the paired difference from the first.
/// Runs where a value is not finite (e.g. mean quality with no operating
/// cluster) are left out of that outcome, pairwise for differences; with fewer
/// than two values left the interval (or difference) is NaN (or null).
pub fn compare_outcomes(
    names: &[String],
    scenarios: &[RunOutcomes],
    outcomes: &[String],
) -> Result<Vec<ComparisonRow>, CompareError> {
    let Some(base) = scenarios.first() else {
        return Ok(Vec::new());
    };
    for (name, s) in names.iter().zip(scenarios).skip(1) {
        if s.runs != base.runs {
            return Err(CompareError::RunsDiffer {
                scenario: name.clone(),
                base: names[0].clone(),
                found: s.runs.clone(),
                wanted: base.runs.clone(),
            });
        }
    }
    let get = |k: usize, outcome: &String| {
        scenarios[k]
            .values
            .get(outcome)
            .ok_or_else(|| CompareError::MissingOutcome {
                scenario: names[k].clone(),
                outcome: outcome.clone(),
            })
    };
    let mut rows = Vec::new();
    for outcome in outcomes {
        let base_values = get(0, outcome)?;
        for (k, name) in names.iter().enumerate().take(scenarios.len()) {
            let values = get(k, outcome)?;
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            let (mean, lo, hi) = match stats::mean_interval(&finite, LEVEL_95) {
                Ok(iv) => (iv.estimate, iv.lo, iv.hi),
                Err(_) => (stats::mean(&finite), f64::NAN, f64::NAN),
            };
            let diff = if k == 0 {
                None
            } else {
                let (a, b): (Vec<f64>, Vec<f64>) = base_values
                    .iter()
                    .zip(values)
                    .filter(|(a, b)| a.is_finite() && b.is_finite())
                    .map(|(a, b)| (*a, *b))
                    .unzip();
                stats::paired_difference(&a, &b, LEVEL_95).ok()
            };
            rows.push(ComparisonRow {
                scenario: name.clone(),
                outcome: outcome.clone(),
                n: finite.len() as u32,
                mean,
                lo,
                hi,
                diff: diff.map(|d| d.estimate),
                diff_lo: diff.map(|d| d.lo),
                diff_hi: diff.map(|d| d.hi),
                excludes_zero: diff.map(|d| d.excludes_zero()),
            });
        }
    }
    Ok(rows)
}

/// A number with about four significant digits for the terminal table.
fn sig(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_string();
    }
    let a = v.abs();
    if a >= 1e4 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

fn signed(v: f64) -> String {
    if v.is_finite() && v >= 0.0 {
        format!("+{}", sig(v))
    } else {
        sig(v)
    }
}

/// The comparison as a readable text table, one block per outcome.
pub fn format_table(rows: &[ComparisonRow]) -> String {
    let base = rows.first().map_or("", |r| r.scenario.as_str());
    let mut lines: Vec<[String; 4]> = vec![[
        "outcome".into(),
        "scenario".into(),
        "mean [95% CI]".into(),
        format!("paired diff. vs {base} [95% CI]"),
    ]];
    let mut last_outcome = "";
    for r in rows {
        let outcome = if r.outcome == last_outcome {
            String::new()
        } else {
            let (title, unit) = outcome_label(&r.outcome);
            if unit.is_empty() {
                title
            } else {
                format!("{title} ({unit})")
            }
        };
        last_outcome = &r.outcome;
        let diff = match (r.diff, r.diff_lo, r.diff_hi) {
            (Some(d), Some(lo), Some(hi)) => format!(
                "{} [{}, {}]{}",
                signed(d),
                signed(lo),
                signed(hi),
                if r.excludes_zero == Some(true) {
                    " *"
                } else {
                    ""
                }
            ),
            _ => String::new(),
        };
        lines.push([
            outcome,
            r.scenario.clone(),
            format!("{} [{}, {}]", sig(r.mean), sig(r.lo), sig(r.hi)),
            diff,
        ]);
    }
    let widths: Vec<usize> = (0..4)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let mut line = String::new();
        for c in 0..4 {
            let pad = widths[c] - l[c].chars().count();
            line.push_str(&l[c]);
            if c < 3 {
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let n = rows.first().map_or(0, |r| r.n);
    out.push_str(&format!(
        "{n} runs per scenario, common random numbers; * the paired 95% interval excludes 0\n"
    ));
    out
}

/// A comparison job.
#[derive(Debug, Clone)]
pub struct CompareSpec {
    /// Scenario files; the first is the base.
    pub configs: Vec<PathBuf>,
    pub runs: Option<u32>,
    pub seed: Option<u64>,
    pub threads: Option<usize>,
    /// Output directory; default `outputs/<name>`.
    pub out: Option<PathBuf>,
    /// Comparison name; default the config stems joined by `_vs_`.
    pub name: Option<String>,
    pub force: bool,
    pub resume: bool,
    pub quiet: bool,
    pub command_line: Vec<String>,
}

/// What a comparison wrote.
#[derive(Debug, Clone)]
pub struct CompareReport {
    pub out_dir: PathBuf,
    /// Scenario names (config stems), base first.
    pub scenarios: Vec<String>,
    /// Each scenario's run directory.
    pub dirs: Vec<PathBuf>,
    pub comparison: PathBuf,
    pub rows: Vec<ComparisonRow>,
}

/// Run every scenario of `spec` with the same seed and runs, then compare.
/// All configs are loaded and validated before any run starts.
pub fn run_comparison(spec: &CompareSpec) -> anyhow::Result<CompareReport> {
    if spec.configs.len() < 2 {
        anyhow::bail!(
            "compare needs at least two scenario files, got {}",
            spec.configs.len()
        );
    }
    let mut scenarios = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for path in &spec.configs {
        let scenario = crate::config::load(path)?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "scenario".to_string());
        if names.contains(&name) {
            anyhow::bail!(
                "{}: two scenarios named {name:?}; compare needs config files with distinct file names",
                path.display()
            );
        }
        names.push(name);
        scenarios.push(scenario);
    }
    let runs = spec.runs.unwrap_or(scenarios[0].monte_carlo.runs);
    if runs < 2 {
        return Err(experiment::JobError::Argument {
            flag: "runs",
            value: runs.to_string(),
            allowed: "must be at least 2 for a comparison (intervals need two runs)",
        }
        .into());
    }
    let seed = spec.seed.unwrap_or(scenarios[0].monte_carlo.seed);
    let name = spec.name.clone().unwrap_or_else(|| names.join("_vs_"));
    let out_dir = spec
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("outputs").join(&name));
    experiment::install_ctrl_c();
    let mut dirs = Vec::new();
    let mut job_meta = vec![
        ("clustersim.seed".to_string(), seed.to_string()),
        ("clustersim.runs".to_string(), runs.to_string()),
        (
            "clustersim.scenarios".to_string(),
            serde_json::to_string(&names).unwrap_or_default(),
        ),
    ];
    for (scenario, scenario_name) in scenarios.into_iter().zip(&names) {
        let dir = out_dir.join(scenario_name);
        if !spec.quiet {
            eprintln!(
                "compare: running {scenario_name} ({runs} runs, seed {seed}) into {}",
                dir.display()
            );
        }
        let scenario_ron = experiment::scenario_ron(&scenario);
        job_meta.push((
            format!("clustersim.config_sha256.{scenario_name}"),
            crate::output::manifest::sha256_hex(scenario_ron.as_bytes()),
        ));
        let job = JobSpec {
            scenario_ron,
            scenario,
            name: format!("{name}/{scenario_name}"),
            out_dir: dir.clone(),
            runs,
            seed,
            threads: spec.threads,
            shard: Shard::default(),
            keep_firms: false,
            force: spec.force,
            resume: spec.resume,
            batch: 64,
            quiet: spec.quiet,
            extra: vec![("scenario".to_string(), scenario_name.as_str().into())],
            record: Default::default(),
            command_line: spec.command_line.clone(),
        };
        experiment::run_job(&job).with_context(|| format!("running scenario {scenario_name}"))?;
        dirs.push(dir);
    }
    let outcomes = dirs
        .iter()
        .map(|d| read_outcomes(d))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rows = compare_outcomes(&names, &outcomes, &outcome_names())?;
    let comparison = out_dir.join("comparison.parquet");
    write_comparison_with(&comparison, &rows, &job_meta)?;
    Ok(CompareReport {
        out_dir,
        scenarios: names,
        dirs,
        comparison,
        rows,
    })
}

/// `clustersim compare`.
pub fn compare_command(args: &CompareArgs) -> anyhow::Result<()> {
    let spec = CompareSpec {
        configs: args.configs.clone(),
        runs: args.runs,
        seed: args.seed,
        threads: args.job.threads,
        out: args.out.clone(),
        name: args.name.clone(),
        force: args.job.force,
        resume: args.job.resume,
        quiet: args.job.quiet,
        command_line: std::env::args().collect(),
    };
    let report = run_comparison(&spec)?;
    print!("{}", format_table(&report.rows));
    println!("wrote {}", report.comparison.display());
    if args.plot {
        let plots = report.out_dir.join("plots");
        let mut written = crate::plot::plot_comparison(&report.comparison, &plots)?;
        written.extend(crate::plot::comparison::plot_overlay(
            &report.out_dir,
            &plots,
        )?);
        for (dir, name) in report.dirs.iter().zip(&report.scenarios) {
            written.extend(crate::plot::plot_dir(
                dir,
                &plots.join(name),
                &crate::plot::PlotOptions::default(),
            )?);
        }
        println!("wrote {} charts under {}", written.len(), plots.display());
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
    fn outcome_labels_name_metric_and_unit() {
        assert_eq!(
            outcome_label("final_firms_clusters"),
            ("Firms in clusters, final".to_string(), "firms")
        );
        assert_eq!(
            outcome_label("mean_mean_quality"),
            ("Mean effective quality Q, time mean".to_string(), "Q (0–1)")
        );
        for m in OUTCOME_METRICS {
            assert!(!metric_label(m).1.is_empty(), "{m} has a unit");
        }
    }

    fn outcomes(runs: &[u32], values: &[f64]) -> RunOutcomes {
        RunOutcomes {
            runs: runs.to_vec(),
            values: BTreeMap::from([("final_tax".to_string(), values.to_vec())]),
        }
    }

    #[test]
    fn region_rows_become_final_and_time_mean_per_run() {
        let mut t = data::Table {
            len: 4,
            ..Default::default()
        };
        // Run 1's rows come first and out of step order on purpose.
        t.num.insert("run".into(), vec![1.0, 1.0, 0.0, 0.0]);
        t.num.insert("step".into(), vec![1.0, 0.0, 0.0, 1.0]);
        for m in OUTCOME_METRICS {
            t.num.insert(m.into(), vec![0.0; 4]);
        }
        t.num.insert("tax".into(), vec![8.0, 2.0, 1.0, 3.0]);
        let o = outcomes_from_region(&t);
        assert_eq!(o.runs, vec![0, 1]);
        assert_eq!(o.values["final_tax"], vec![3.0, 8.0]);
        assert_eq!(o.values["mean_tax"], vec![2.0, 5.0]);
        assert_eq!(o.values.len(), 2 * OUTCOME_METRICS.len());
    }

    #[test]
    fn rows_hold_means_intervals_and_paired_differences() {
        let names = vec!["a".to_string(), "b".to_string()];
        let a = outcomes(&[0, 1, 2, 3], &[10.0, 20.0, 30.0, 40.0]);
        let b = outcomes(&[0, 1, 2, 3], &[11.0, 21.5, 30.5, 41.0]);
        let rows = compare_outcomes(&names, &[a.clone(), b], &["final_tax".into()]).unwrap();
        assert_eq!(rows.len(), 2);
        let base = stats::mean_interval(&[10.0, 20.0, 30.0, 40.0], LEVEL_95).unwrap();
        assert_eq!(
            (rows[0].mean, rows[0].lo, rows[0].hi),
            (25.0, base.lo, base.hi)
        );
        assert_eq!(rows[0].diff, None);
        assert_eq!(rows[0].excludes_zero, None);
        // Differences 1, 1.5, 0.5, 1: mean 1, sd √(1/6), t(0.975, 3) = 3.182446.
        let d = rows[1].diff.unwrap();
        let h = 3.182_446_305_284_263 * (1.0_f64 / 6.0).sqrt() / 2.0;
        assert!((d - 1.0).abs() < 1e-12);
        assert!((rows[1].diff_lo.unwrap() - (1.0 - h)).abs() < 1e-9);
        assert!((rows[1].diff_hi.unwrap() - (1.0 + h)).abs() < 1e-9);
        assert_eq!(rows[1].excludes_zero, Some(true));

        let c = outcomes(&[0, 1, 2], &[1.0, 2.0, 3.0]);
        let err = compare_outcomes(&names, &[a, c], &["final_tax".into()]).unwrap_err();
        assert!(matches!(err, CompareError::RunsDiffer { .. }), "{err}");
    }

    #[test]
    fn non_finite_runs_are_left_out_pairwise() {
        let names = vec!["a".to_string(), "b".to_string()];
        let a = outcomes(&[0, 1, 2], &[1.0, f64::NAN, 3.0]);
        let b = outcomes(&[0, 1, 2], &[2.0, 5.0, 4.0]);
        let rows = compare_outcomes(&names, &[a, b], &["final_tax".into()]).unwrap();
        assert_eq!(rows[0].n, 2);
        assert_eq!(rows[0].mean, 2.0);
        assert_eq!(rows[1].n, 3);
        // Pairs (1, 2) and (3, 4): both differences are 1.
        assert_eq!(rows[1].diff, Some(1.0));
    }

    #[test]
    fn the_table_names_outcomes_units_and_marks_differences() {
        let names = vec!["hanoi".to_string(), "strict".to_string()];
        let a = outcomes(&[0, 1, 2, 3], &[10.0, 20.0, 30.0, 40.0]);
        let b = outcomes(&[0, 1, 2, 3], &[11.0, 21.5, 30.5, 41.0]);
        let rows = compare_outcomes(&names, &[a, b], &["final_tax".into()]).unwrap();
        let t = format_table(&rows);
        assert!(t.contains("paired diff. vs hanoi [95% CI]"), "{t}");
        assert!(t.contains("Tax, final (billion VND per step)"), "{t}");
        assert!(t.contains("25.000 ["), "{t}");
        assert!(t.contains("+1.000 [+0.3"), "{t}");
        assert!(t.contains(" *"), "{t}");
        assert!(t.contains("4 runs per scenario"), "{t}");
    }

    #[test]
    fn comparison_round_trips_through_parquet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("comparison.parquet");
        let rows = vec![
            ComparisonRow {
                scenario: "a".into(),
                outcome: "final_tax".into(),
                n: 5,
                mean: 1.5,
                lo: 1.0,
                hi: 2.0,
                diff: None,
                diff_lo: None,
                diff_hi: None,
                excludes_zero: None,
            },
            ComparisonRow {
                scenario: "b".into(),
                outcome: "final_tax".into(),
                n: 5,
                mean: 2.5,
                lo: 2.0,
                hi: 3.0,
                diff: Some(1.0),
                diff_lo: Some(0.5),
                diff_hi: Some(1.5),
                excludes_zero: Some(true),
            },
        ];
        write_comparison(&path, &rows).unwrap();
        assert_eq!(read_comparison(&path).unwrap(), rows);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file is left behind");
    }
}
