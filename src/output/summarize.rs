//! Reading an output directory back: which shards and runs are present
//! ([`check_dir`]), the `clustersim summarize` table (mean and 95% interval of
//! key metrics at the last step, over every part file, read lazily) and the
//! first/last-step table printed after a job.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use polars::prelude::*;

use super::jobdir::{self, PartCheck};
use super::layout::{self, Shard};
use super::manifest::{Manifest, Status};
use super::tables::Table;

/// The region metrics summarised by `clustersim summarize`.
pub const KEY_METRICS: [&str; 15] = [
    "firms",
    "firms_clusters",
    "firms_residential",
    "polluting_residential",
    "entries",
    "exits",
    "employment",
    "revenue",
    "tax",
    "clusters_operating",
    "clusters_complete",
    "mean_quality",
    "links",
    "pollution_residential",
    "pollution_untreated",
];

/// One shard's state in a directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardState {
    pub shard: Shard,
    /// `None`: no manifest for this shard.
    pub status: Option<Status>,
    /// Runs of this shard with no complete batch on disk.
    pub missing_runs: Vec<u32>,
}

/// What a directory holds, from its manifests and part files.
#[derive(Debug, Clone, PartialEq)]
pub struct Completeness {
    /// Runs of the whole job (from the manifests).
    pub runs: u32,
    pub shard_count: u32,
    pub shards: Vec<ShardState>,
    /// Inconsistencies between manifests (different seeds, configs, counts).
    pub problems: Vec<String>,
}

impl Completeness {
    /// True when every shard is complete and the manifests agree.
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
            && self
                .shards
                .iter()
                .all(|s| s.status == Some(Status::Complete) && s.missing_runs.is_empty())
    }

    /// Every run missing from the directory, sorted.
    pub fn missing_runs(&self) -> Vec<u32> {
        let mut all: Vec<u32> = self
            .shards
            .iter()
            .flat_map(|s| s.missing_runs.iter().copied())
            .collect();
        all.sort_unstable();
        all
    }

    /// One line per missing or incomplete shard, e.g.
    /// `missing shard 2/4 (25 runs: 2, 6, 10, 14, 18, …)`.
    pub fn report(&self) -> Vec<String> {
        let mut lines = self.problems.clone();
        for s in &self.shards {
            let runs = format_runs(&s.missing_runs);
            match s.status {
                None => lines.push(format!("missing shard {} ({runs})", s.shard)),
                Some(status) if !s.missing_runs.is_empty() => lines.push(format!(
                    "incomplete shard {} (status {}; missing {runs})",
                    s.shard,
                    status_name(status)
                )),
                Some(Status::Complete) => {}
                Some(status) => lines.push(format!(
                    "shard {} has status {}",
                    s.shard,
                    status_name(status)
                )),
            }
        }
        lines
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Running => "running",
        Status::Interrupted => "interrupted",
        Status::Complete => "complete",
    }
}

fn format_runs(runs: &[u32]) -> String {
    let head: Vec<String> = runs.iter().take(5).map(u32::to_string).collect();
    let more = if runs.len() > 5 { ", …" } else { "" };
    let noun = if runs.len() == 1 { "run" } else { "runs" };
    format!("{} {noun}: {}{more}", runs.len(), head.join(", "))
}

/// Check which shards and runs of the job in `dir` are on disk.
pub fn check_dir(dir: &Path) -> anyhow::Result<Completeness> {
    let manifests: Vec<(PathBuf, Manifest)> = layout::list_manifests(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .into_iter()
        .map(|p| Manifest::read(&p).map(|m| (p, m)))
        .collect::<Result<_, _>>()?;
    let Some((first_path, first)) = manifests.first() else {
        anyhow::bail!(
            "{} holds no manifest.json or manifest-part-*.json: not an output directory of `clustersim run`",
            dir.display()
        );
    };
    let mut problems = Vec::new();
    for (p, m) in &manifests[1..] {
        if let Some((field, a, b)) = jobdir::job_difference(m, first) {
            problems.push(format!(
                "{} has {field} {a} but {} has {b}: these shards belong to different jobs",
                p.display(),
                first_path.display()
            ));
        }
    }
    let count = first.shard.count;
    let mut shards = Vec::new();
    for index in 0..count {
        let shard = Shard { index, count };
        let manifest = manifests
            .iter()
            .map(|(_, m)| m)
            .find(|m| Shard::from(m.shard) == shard);
        let all_runs: Vec<u32> = shard.runs(first.runs).collect();
        let Some(m) = manifest else {
            shards.push(ShardState {
                shard,
                status: None,
                missing_runs: all_runs,
            });
            continue;
        };
        let tables = jobdir::manifest_tables(m);
        let (done, damaged) = jobdir::verified_batches(dir, m, &tables, PartCheck::Footer);
        problems.extend(damaged);
        let mut missing = Vec::new();
        for (b, d) in done.iter().enumerate() {
            if !d {
                missing.extend(layout::batch_runs(shard, m.runs, m.batch, b));
            }
        }
        shards.push(ShardState {
            shard,
            status: Some(m.status),
            missing_runs: missing,
        });
    }
    Ok(Completeness {
        runs: first.runs,
        shard_count: count,
        shards,
        problems,
    })
}

/// The part files of `table` in `dir`, in name order.
pub fn table_files(dir: &Path, table: Table) -> anyhow::Result<Vec<PathBuf>> {
    Ok(layout::list_parts(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .into_iter()
        .filter(|p| p.table == table)
        .map(|p| p.path)
        .collect())
}

/// A lazy scan over the union of `files`.
pub fn scan(files: &[PathBuf]) -> anyhow::Result<LazyFrame> {
    anyhow::ensure!(!files.is_empty(), "no part files to read");
    let frames = files
        .iter()
        .map(|p| {
            let path = PlRefPath::try_from_path(p)?;
            LazyFrame::scan_parquet(path, ScanArgsParquet::default())
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    Ok(concat(frames, UnionArgs::default())?)
}

/// Statistics of one metric over runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    /// mean ± 1.96·sd/√n.
    pub ci_low: f64,
    pub ci_high: f64,
    /// 2.5% and 97.5% percentiles (linear interpolation).
    pub p025: f64,
    pub p975: f64,
}

/// Mean, standard deviation, 95% interval of the mean and 2.5/97.5 percentiles.
pub fn stat(values: &[f64]) -> Stat {
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = if n > 1 {
        values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
    } else {
        0.0
    };
    let sd = var.sqrt();
    let half = 1.96 * sd / (n as f64).sqrt();
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if sorted.is_empty() {
            return f64::NAN;
        }
        let h = p * (sorted.len() - 1) as f64;
        let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
        sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
    };
    Stat {
        n,
        mean,
        sd,
        ci_low: mean - half,
        ci_high: mean + half,
        p025: q(0.025),
        p975: q(0.975),
    }
}

fn column_f64(df: &DataFrame, name: &str) -> anyhow::Result<Vec<f64>> {
    let s = df.column(name)?.cast(&DataType::Float64)?;
    Ok(s.f64()?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

/// Collect a lazy query over `files`; when it fails, name the first file
/// that cannot be read in full (polars' own error does not name it).
pub fn collect_naming_file(lf: LazyFrame, files: &[PathBuf]) -> anyhow::Result<DataFrame> {
    match lf.collect() {
        Ok(df) => Ok(df),
        Err(err) => {
            for f in files {
                if let Err(e) = super::parquet::read(f) {
                    return Err(anyhow::Error::new(e).context(format!(
                        "{} is damaged: it cannot be read as Parquet",
                        f.display()
                    )));
                }
            }
            Err(err.into())
        }
    }
}

/// The rows at the last step of each run, over the union of `region` files.
fn last_step(region: &[PathBuf], columns: &[&str]) -> anyhow::Result<DataFrame> {
    let mut select: Vec<Expr> = vec![col("run"), col("step")];
    select.extend(columns.iter().map(|c| col(*c)));
    let lf = scan(region)?
        .filter(col("step").eq(col("step").max()))
        .select(select);
    collect_naming_file(lf, region)
}

/// The `clustersim summarize` text for `dir`.
pub fn summarize_dir(dir: &Path) -> anyhow::Result<String> {
    let mut s = String::new();
    let completeness = check_dir(dir)?;
    let region = table_files(dir, Table::Region)?;
    if region.is_empty() {
        anyhow::bail!(
            "{} holds no region part files (region/part-*.parquet)",
            dir.display()
        );
    }
    let df = last_step(&region, &KEY_METRICS)?;
    let step = df
        .column("step")?
        .cast(&DataType::Int64)?
        .i64()?
        .get(0)
        .unwrap_or(0);
    writeln!(
        s,
        "{}: {} of {} runs, last step {step} ({} shard(s))",
        dir.display(),
        df.height(),
        completeness.runs,
        completeness.shard_count
    )?;
    for line in completeness.report() {
        writeln!(s, "warning: {line}")?;
    }
    writeln!(
        s,
        "{:<22} {:>14} {:>14} {:>14} {:>14} {:>14}",
        "metric", "mean", "ci95_low", "ci95_high", "p2.5", "p97.5"
    )?;
    for name in KEY_METRICS {
        let st = stat(&column_f64(&df, name)?);
        writeln!(
            s,
            "{:<22} {:>14} {:>14} {:>14} {:>14} {:>14}",
            name,
            num(st.mean),
            num(st.ci_low),
            num(st.ci_high),
            num(st.p025),
            num(st.p975)
        )?;
    }
    writeln!(
        s,
        "(ci95 = mean ± 1.96·sd/√n over runs; p2.5/p97.5 = percentiles over runs)"
    )?;
    Ok(s)
}

/// A number for a table: 4 significant decimals, no scientific notation for
/// ordinary magnitudes.
fn num(v: f64) -> String {
    if !v.is_finite() {
        format!("{v}")
    } else if v.abs() >= 1e9 || (v != 0.0 && v.abs() < 1e-3) {
        format!("{v:.4e}")
    } else {
        format!("{v:.4}")
    }
}

/// The columns of the first/last-step table, their labels, and whether they
/// are counts (printed as whole numbers).
const FIRST_LAST: [(&str, &str, bool); 5] = [
    ("firms", "firms", true),
    ("firms_clusters", "in clusters", true),
    ("firms_residential", "residential", true),
    ("clusters_complete", "complete clusters", true),
    ("mean_quality", "mean quality", false),
];

/// A value of the first/last-step table: a count rounded to a whole number,
/// a fraction with three decimals.
fn cell(v: f64, count: bool) -> String {
    if !v.is_finite() {
        "—".to_string()
    } else if count {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// The mean over runs of key columns at the first and the last step, and
/// the 5–95% range over runs at the last step (the table printed after a run).
pub fn first_last_table(region: &[PathBuf]) -> anyhow::Result<String> {
    let mut s = String::new();
    if region.is_empty() {
        return Ok(s);
    }
    let mut select: Vec<Expr> = vec![col("step")];
    select.extend(FIRST_LAST.iter().map(|(c, _, _)| col(*c)));
    let lf = scan(region)?
        .filter(col("step").eq(lit(0)).or(col("step").eq(col("step").max())))
        .select(select);
    let df = collect_naming_file(lf, region)?;
    let steps = column_f64(&df, "step")?;
    let last = steps.iter().copied().fold(0.0, f64::max);
    writeln!(
        s,
        "{:<18} {:>10} {:>10} {:>20}",
        "mean over runs",
        "step 0",
        format!("step {last}"),
        format!("5–95% at step {last}")
    )?;
    for (c, label, count) in FIRST_LAST {
        let values = column_f64(&df, c)?;
        let at = |step: f64| -> Vec<f64> {
            values
                .iter()
                .zip(&steps)
                .filter(|(v, s)| **s == step && v.is_finite())
                .map(|(v, _)| *v)
                .collect()
        };
        let mean = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let end = at(last);
        let range = if end.is_empty() {
            "—".to_string()
        } else {
            format!(
                "{}–{}",
                cell(crate::stats::quantile(&end, 0.05), count),
                cell(crate::stats::quantile(&end, 0.95), count)
            )
        };
        writeln!(
            s,
            "{:<18} {:>10} {:>10} {:>20}",
            label,
            cell(mean(&at(0.0)), count),
            cell(mean(&end), count),
            range
        )?;
    }
    Ok(s)
}

/// The run directories directly under `dir` (a `compare` or `sweep`
/// directory: one per scenario or design point), sorted; empty when `dir`
/// itself holds a manifest.
pub fn job_subdirs(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !layout::list_manifests(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .is_empty()
    {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() && !layout::list_manifests(&path)?.is_empty() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// `clustersim summarize DIR`: a run directory, or every run directory of a
/// compare or sweep directory in turn.
pub fn summarize_command(args: &crate::cli::SummarizeArgs) -> anyhow::Result<()> {
    let subdirs = job_subdirs(&args.dir)?;
    if subdirs.is_empty() {
        print!("{}", summarize_dir(&args.dir)?);
    }
    for (i, d) in subdirs.iter().enumerate() {
        if i > 0 {
            println!();
        }
        print!("{}", summarize_dir(d)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_matches_hand_computation() {
        let st = stat(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(st.mean, 2.5);
        assert!((st.sd - 1.2909944).abs() < 1e-6);
        assert!((st.ci_low - (2.5 - 1.96 * st.sd / 2.0)).abs() < 1e-12);
        assert!((st.p025 - 1.075).abs() < 1e-12);
        assert!((st.p975 - 3.925).abs() < 1e-12);
    }

    #[test]
    fn the_run_table_prints_whole_counts_and_the_5_95_range() {
        use crate::model::{RegionRow, RunRecord};
        use crate::output::tables::{region_frame, RunOutput};
        let batch: Vec<RunOutput> = (0..3u32)
            .map(|run| {
                let mut record = RunRecord::default();
                for step in 0..2u32 {
                    record.region.push(RegionRow {
                        step,
                        firms: if step == 0 {
                            7
                        } else {
                            10 * u64::from(run + 1)
                        },
                        mean_quality: 0.25,
                        ..Default::default()
                    });
                }
                RunOutput { run, record }
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("region.parquet");
        let mut df = region_frame(&batch, &[]).unwrap();
        crate::output::parquet::write_atomic(&path, &mut df, &[], &|_| None).unwrap();
        let t = first_last_table(&[path]).unwrap();
        let firms = t.lines().find(|l| l.starts_with("firms ")).unwrap();
        // Mean 20 at the last step; 5% and 95% quantiles (type 7) 11 and 29.
        let cells: Vec<&str> = firms.split_whitespace().collect();
        assert_eq!(cells, ["firms", "7", "20", "11–29"], "{t}");
        assert!(t.contains("5–95% at step 1"), "{t}");
        let q = t.lines().find(|l| l.starts_with("mean quality")).unwrap();
        assert!(q.contains("0.250") && q.contains("0.250–0.250"), "{t}");
    }

    #[test]
    fn run_lists_are_shortened() {
        assert_eq!(
            format_runs(&[2, 6, 10, 14, 18, 22]),
            "6 runs: 2, 6, 10, 14, 18, …"
        );
        assert_eq!(format_runs(&[3]), "1 run: 3");
    }
}
