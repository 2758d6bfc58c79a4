//! The Monte Carlo driver: runs seeded runs of the model in parallel and writes
//! them, batch by batch, as Parquet part files with a manifest.
//!
//! # API
//! Build a [`JobSpec`] (or let [`run_command`] build one from `clustersim run`'s
//! arguments) and call [`run_job`], which returns a [`JobReport`]. Callers that
//! run several jobs (policy comparisons, sweeps) give each its own `out_dir`,
//! or share a directory by giving each job a distinct constant `extra` column
//! set (e.g. `("point", 3.0)`) *and* a distinct shard of the same layout.
//! [`install_ctrl_c`] makes Ctrl-C stop every running job after its current
//! batch; [`Interrupted`] is the error such a job returns.
//!
//! # Invariants
//! - Run r is `model::simulate(scenario, seed, r, keep_firms)`, nothing else:
//!   its data depends only on (scenario, seed, r).
//! - The runs of a batch are computed in parallel in a local rayon pool, then
//!   written in run order, so the files never depend on the thread count or
//!   on the order in which runs finish. Rows are ordered by run, step, cluster.
//! - At most two batches are in memory: the one being written and the one
//!   being computed.
//! - A file under a final name is complete (atomic rename); a batch is done when
//!   all its tables' part files exist, which is what `--resume` checks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;

use crate::cli::RunArgs;
use crate::config::Scenario;
use crate::output::layout::{self, PartFile, Shard};
use crate::output::manifest::{self, Manifest, Status};
use crate::output::parquet;
use crate::output::tables::{self, RunOutput, Table};
use crate::progress::Progress;

/// Everything a Monte Carlo job needs.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// The resolved (validated, scaled) scenario.
    pub scenario: Scenario,
    /// The resolved scenario as RON text: stored in the manifest and hashed.
    pub scenario_ron: String,
    /// The job's name (for messages and the manifest).
    pub name: String,
    pub out_dir: PathBuf,
    /// Runs of the whole job (all shards).
    pub runs: u32,
    /// The master seed.
    pub seed: u64,
    /// Worker threads; `None`: all cores.
    pub threads: Option<usize>,
    pub shard: Shard,
    /// Also write the final firm snapshot (`firms` table).
    pub keep_firms: bool,
    /// Replace this shard's existing files.
    pub force: bool,
    /// Complete this shard's existing files.
    pub resume: bool,
    /// Runs per batch (part file); bounds memory.
    pub batch: usize,
    /// No progress bar and no notes on stderr.
    pub quiet: bool,
    /// Constant `Float64` columns put first in every table (e.g. `("point", 3.0)`).
    pub extra: Vec<(String, f64)>,
    /// The command line, for the manifest.
    pub command_line: Vec<String>,
}

/// What a finished job did.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub out_dir: PathBuf,
    pub shard: Shard,
    pub runs_in_shard: u32,
    pub batches: usize,
    /// Batches found already written (with `--resume`).
    pub batches_reused: usize,
    /// Rows per table over this shard's files.
    pub rows: BTreeMap<String, u64>,
    /// This shard's files, sorted.
    pub files: Vec<PathBuf>,
    pub manifest: PathBuf,
    pub wall_seconds: f64,
    pub threads: usize,
}

/// The job stopped on Ctrl-C after writing whole batches; `--resume` completes it.
#[derive(Debug, thiserror::Error)]
#[error(
    "interrupted: {done} of {total} batches of shard {shard} are written to {dir}; \
     run the same command again with --resume to complete the job"
)]
pub struct Interrupted {
    pub dir: String,
    pub shard: Shard,
    pub done: usize,
    pub total: usize,
}

/// Errors in the job's arguments or output directory (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("--{flag} {value}: {allowed}")]
    Argument {
        flag: &'static str,
        value: String,
        allowed: &'static str,
    },
    #[error(
        "output directory {dir} already holds results ({example} and {more} more file(s)); \
         use --force to overwrite them or --resume to complete an interrupted job"
    )]
    Exists {
        dir: String,
        example: String,
        more: usize,
    },
    #[error(
        "--resume: {manifest} was written with {field} = {found}, but this job has {field} = {wanted}; \
         run with the same arguments, or use --force to start over"
    )]
    ResumeMismatch {
        manifest: String,
        field: &'static str,
        found: String,
        wanted: String,
    },
    #[error("--resume: {dir} holds part files of shard {shard} but no manifest {manifest}; use --force to start over")]
    ResumeNoManifest {
        dir: String,
        shard: Shard,
        manifest: String,
    },
}

static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: OnceLock<bool> = OnceLock::new();

/// Install the Ctrl-C handler (once per process): the first Ctrl-C makes every
/// running job stop after its current batch; a second one exits at once with
/// code 130. Returns false when a handler could not be installed.
pub fn install_ctrl_c() -> bool {
    *HANDLER.get_or_init(|| {
        ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                eprintln!("\nsecond interrupt: exiting now");
                std::process::exit(130);
            }
            eprintln!("\ninterrupt: finishing the current batch, then stopping (Ctrl-C again to exit now)");
        })
        .is_ok()
    })
}

/// Ask running jobs to stop after their current batch (what Ctrl-C does).
pub fn request_stop() {
    STOP.store(true, Ordering::SeqCst);
}

fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// The resolved scenario as RON text (what the manifest stores and hashes).
pub fn scenario_ron(scenario: &Scenario) -> String {
    crate::config::to_ron_pretty(scenario)
}

/// `clustersim run` (and `clustersim` with no subcommand).
pub fn run_command(args: &RunArgs) -> anyhow::Result<()> {
    let spec = spec_from_args(args, std::env::args().collect(), |k| std::env::var(k).ok())?;
    install_ctrl_c();
    let report = run_job(&spec)?;
    print!("{}", job_summary(&report)?);
    if args.plot {
        let plots = report.out_dir.join("plots");
        let files = crate::plot::plot_dir(&report.out_dir, &plots, &Default::default())?;
        println!("{} charts written to {}", files.len(), plots.display());
    }
    Ok(())
}

/// Build the job of `clustersim run` from its arguments; `env` reads the
/// environment (for the Slurm array variables).
pub fn spec_from_args(
    args: &RunArgs,
    command_line: Vec<String>,
    env: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<JobSpec> {
    let (mut scenario, name) = match &args.config {
        Some(path) => {
            let scenario = crate::config::load(path)?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".to_string());
            (scenario, name)
        }
        None => (crate::config::embedded_default(), "hanoi".to_string()),
    };
    if !(args.scale.is_finite() && args.scale > 0.0) {
        return Err(JobError::Argument {
            flag: "scale",
            value: args.scale.to_string(),
            allowed: "must be a positive number (1 is the scenario as given)",
        }
        .into());
    }
    if args.scale != 1.0 {
        scenario = scenario.scaled(args.scale);
    }
    let runs = args.runs.unwrap_or(scenario.monte_carlo.runs);
    let seed = args.seed.unwrap_or(scenario.monte_carlo.seed);
    let shard = match &args.shard {
        Some(text) => Shard::parse(text)?,
        None => Shard::from_env(&env)?.unwrap_or_default(),
    };
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("outputs").join(&name));
    Ok(JobSpec {
        scenario_ron: scenario_ron(&scenario),
        scenario,
        name,
        out_dir,
        runs,
        seed,
        threads: args.job.threads,
        shard,
        keep_firms: args.firms,
        force: args.job.force,
        resume: args.job.resume,
        batch: args.batch,
        quiet: args.job.quiet,
        extra: Vec::new(),
        command_line,
    })
}

fn check_spec(spec: &JobSpec) -> Result<(), JobError> {
    if spec.runs == 0 {
        return Err(JobError::Argument {
            flag: "runs",
            value: "0".into(),
            allowed: "must be at least 1",
        });
    }
    if spec.batch == 0 {
        return Err(JobError::Argument {
            flag: "batch",
            value: "0".into(),
            allowed: "must be at least 1 (runs per part file; 64 by default)",
        });
    }
    if spec.threads == Some(0) {
        return Err(JobError::Argument {
            flag: "threads",
            value: "0".into(),
            allowed: "must be at least 1 (omit it to use all cores)",
        });
    }
    Ok(())
}

/// The tables a job writes, in the order each batch writes them (`runs` last,
/// so a batch's `runs` file marks it complete for a reader of the directory).
fn job_tables(keep_firms: bool) -> Vec<Table> {
    let mut t = vec![Table::Region, Table::Clusters, Table::Sites];
    if keep_firms {
        t.push(Table::Firms);
    }
    t.push(Table::Runs);
    t
}

/// Files in `dir` that belong to `shard`'s job or conflict with it (another
/// shard count): everything `--force` replaces.
fn conflicting_files(dir: &Path, shard: Shard) -> std::io::Result<Vec<PathBuf>> {
    let clash = |s: Shard| s == shard || s.count != shard.count;
    let mut out: Vec<PathBuf> = layout::list_parts(dir)?
        .into_iter()
        .filter(|p| clash(p.shard))
        .map(|p| p.path)
        .collect();
    for m in layout::list_manifests(dir)? {
        if layout::parse_manifest_file_name(&file_name(&m)).is_some_and(clash) {
            out.push(m);
        }
    }
    out.sort();
    Ok(out)
}

/// Check a resumed job's manifest against the new job.
fn check_resume(path: &Path, old: &Manifest, spec: &JobSpec, sha: &str) -> Result<(), JobError> {
    let mismatch = |field: &'static str, found: String, wanted: String| JobError::ResumeMismatch {
        manifest: path.display().to_string(),
        field,
        found,
        wanted,
    };
    if old.config_sha256 != sha {
        return Err(mismatch(
            "config_sha256",
            old.config_sha256.clone(),
            sha.to_string(),
        ));
    }
    if old.seed != spec.seed {
        return Err(mismatch(
            "seed",
            old.seed.to_string(),
            spec.seed.to_string(),
        ));
    }
    if old.runs != spec.runs {
        return Err(mismatch(
            "runs",
            old.runs.to_string(),
            spec.runs.to_string(),
        ));
    }
    if old.keep_firms != spec.keep_firms {
        return Err(mismatch(
            "firms",
            old.keep_firms.to_string(),
            spec.keep_firms.to_string(),
        ));
    }
    if old.extra != spec.extra {
        return Err(mismatch(
            "extra",
            format!("{:?}", old.extra),
            format!("{:?}", spec.extra),
        ));
    }
    Ok(())
}

/// Run a Monte Carlo job: see the module doc.
pub fn run_job(spec: &JobSpec) -> anyhow::Result<JobReport> {
    check_spec(spec)?;
    let start = Instant::now();
    let start_time = chrono::Utc::now().to_rfc3339();
    let dir = &spec.out_dir;
    let shard = spec.shard;
    let sha = manifest::sha256_hex(spec.scenario_ron.as_bytes());
    let manifest_path = dir.join(layout::manifest_file_name(shard));
    let tables = job_tables(spec.keep_firms);

    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create output directory {}", dir.display()))?;
    let existing =
        conflicting_files(dir, shard).with_context(|| format!("cannot list {}", dir.display()))?;

    // Decide the batch size and which batches are already on disk.
    let mut batch = spec.batch;
    let mut done = vec![false; layout::batch_count(shard, spec.runs, batch)];
    if spec.resume && manifest_path.exists() {
        let old = Manifest::read(&manifest_path)?;
        check_resume(&manifest_path, &old, spec, &sha)?;
        if old.batch != batch {
            eprintln!(
                "note: --resume uses the batch size {} of {} (not {batch})",
                old.batch,
                manifest_path.display()
            );
            batch = old.batch;
        }
        done = vec![false; layout::batch_count(shard, spec.runs, batch)];
        let parts: Vec<PartFile> = layout::list_parts(dir)?
            .into_iter()
            .filter(|p| p.shard == shard)
            .collect();
        for (b, d) in done.iter_mut().enumerate() {
            *d = tables
                .iter()
                .all(|t| parts.iter().any(|p| p.table == *t && p.batch == b));
        }
    } else if spec.resume {
        if existing.iter().any(|p| {
            layout::parse_part_file_name(&file_name(p)).is_some_and(|(_, s, _)| s == shard)
        }) {
            return Err(JobError::ResumeNoManifest {
                dir: dir.display().to_string(),
                shard,
                manifest: layout::manifest_file_name(shard),
            }
            .into());
        }
    } else if !existing.is_empty() {
        if !spec.force {
            return Err(JobError::Exists {
                dir: dir.display().to_string(),
                example: file_name(&existing[0]),
                more: existing.len() - 1,
            }
            .into());
        }
        for path in &existing {
            std::fs::remove_file(path)
                .with_context(|| format!("--force: cannot remove {}", path.display()))?;
        }
    }
    if spec.resume || spec.force {
        for path in layout::stale_temp_files(dir, shard)? {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let total_batches = done.len();
    let reused = done.iter().filter(|d| **d).count();
    let todo: Vec<usize> = (0..total_batches).filter(|b| !done[*b]).collect();
    if spec.resume && reused > 0 && !spec.quiet {
        eprintln!(
            "resume: {reused} of {total_batches} batches of shard {shard} already written; running the other {}",
            todo.len()
        );
    }

    let threads = spec
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("clustersim-run-{i}"))
        .build()
        .context("cannot start the worker threads")?;

    let mut manifest = Manifest {
        format: manifest::FORMAT.to_string(),
        status: Status::Running,
        clustersim_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: manifest::git_commit(),
        name: spec.name.clone(),
        command_line: spec.command_line.clone(),
        config_sha256: sha.clone(),
        config_ron: spec.scenario_ron.clone(),
        seed: spec.seed,
        runs: spec.runs,
        shard: shard.into(),
        runs_in_shard: shard.run_count(spec.runs),
        batch,
        batches: total_batches,
        batches_done: reused,
        keep_firms: spec.keep_firms,
        extra: spec.extra.clone(),
        threads,
        start_time,
        end_time: None,
        wall_seconds: None,
        rows: BTreeMap::new(),
        files: Vec::new(),
    };
    parquet::write_text_atomic(&manifest_path, &manifest.to_json())?;

    let metadata = |table: Table, b: usize| -> Vec<(String, String)> {
        let mut kv = vec![
            (
                "clustersim.version".to_string(),
                env!("CARGO_PKG_VERSION").to_string(),
            ),
            ("clustersim.config_sha256".to_string(), sha.clone()),
            ("clustersim.seed".to_string(), spec.seed.to_string()),
            ("clustersim.runs".to_string(), spec.runs.to_string()),
            ("clustersim.shard".to_string(), shard.to_string()),
            ("clustersim.table".to_string(), table.name().to_string()),
            ("clustersim.batch".to_string(), b.to_string()),
        ];
        if let Some(c) = manifest::git_commit() {
            kv.push(("clustersim.git_commit".to_string(), c));
        }
        kv
    };

    let done_runs: u64 = (0..total_batches)
        .filter(|b| done[*b])
        .map(|b| layout::batch_runs(shard, spec.runs, batch, b).len() as u64)
        .sum();
    let progress = Progress::new(
        u64::from(shard.run_count(spec.runs)),
        done_runs,
        spec.quiet,
        &format!("{} {}", spec.name, shard),
    );

    // Compute batch k+1 in the pool while this thread's writer writes batch k.
    let mut interrupted = false;
    let mut written = reused;
    let write_result: anyhow::Result<()> = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<RunOutput>)>(1);
        let writer = scope.spawn(|| -> anyhow::Result<usize> {
            let mut count = 0;
            for (b, outputs) in rx {
                for &table in &tables {
                    let mut df = tables::frame(table, &outputs, spec.seed, &spec.extra)
                        .with_context(|| {
                            format!("cannot build the {} table of batch {b}", table.name())
                        })?;
                    let path = dir.join(layout::part_file_name(table, shard, b));
                    parquet::write_atomic(&path, &mut df, &metadata(table, b))?;
                }
                progress.advance(outputs.len() as u64);
                count += 1;
            }
            Ok(count)
        });
        for &b in &todo {
            if stop_requested() {
                interrupted = true;
                break;
            }
            let runs = layout::batch_runs(shard, spec.runs, batch, b);
            let outputs: Vec<RunOutput> = pool.install(|| {
                runs.par_iter()
                    .map(|&run| RunOutput {
                        run,
                        record: crate::model::simulate(
                            &spec.scenario,
                            spec.seed,
                            u64::from(run),
                            spec.keep_firms,
                        ),
                    })
                    .collect()
            });
            if tx.send((b, outputs)).is_err() {
                break; // The writer failed; its error is reported below.
            }
        }
        drop(tx);
        let count = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))??;
        written += count;
        Ok(())
    });
    progress.finish();

    let parts: Vec<PartFile> = layout::list_parts(dir)?
        .into_iter()
        .filter(|p| p.shard == shard)
        .collect();
    let mut rows = BTreeMap::new();
    for t in &tables {
        rows.insert(t.name().to_string(), 0u64);
    }
    for p in &parts {
        *rows.entry(p.table.name().to_string()).or_insert(0) += parquet::row_count(&p.path)? as u64;
    }
    let wall = start.elapsed().as_secs_f64();
    let complete = write_result.is_ok() && !interrupted && written == total_batches;
    manifest.status = if complete {
        Status::Complete
    } else {
        Status::Interrupted
    };
    manifest.batches_done = written;
    manifest.end_time = Some(chrono::Utc::now().to_rfc3339());
    manifest.wall_seconds = Some(wall);
    manifest.rows = rows.clone();
    manifest.files = parts.iter().map(|p| file_name(&p.path)).collect();
    parquet::write_text_atomic(&manifest_path, &manifest.to_json())?;
    write_result?;
    if !complete {
        return Err(Interrupted {
            dir: dir.display().to_string(),
            shard,
            done: written,
            total: total_batches,
        }
        .into());
    }
    Ok(JobReport {
        out_dir: dir.clone(),
        shard,
        runs_in_shard: shard.run_count(spec.runs),
        batches: total_batches,
        batches_reused: reused,
        rows,
        files: parts.into_iter().map(|p| p.path).collect(),
        manifest: manifest_path,
        wall_seconds: wall,
        threads,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The short summary printed after a job: runs, rows, wall time, and the mean
/// over runs of key region columns at the first and last step.
pub fn job_summary(report: &JobReport) -> anyhow::Result<String> {
    use std::fmt::Write;
    let mut s = String::new();
    let rows: Vec<String> = report
        .rows
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    writeln!(
        s,
        "{} runs (shard {}) in {:.2} s on {} thread(s) -> {}",
        report.runs_in_shard,
        report.shard,
        report.wall_seconds,
        report.threads,
        report.out_dir.display()
    )?;
    writeln!(s, "rows: {}", rows.join(", "))?;
    let region: Vec<PathBuf> = report
        .files
        .iter()
        .filter(|p| {
            layout::parse_part_file_name(&file_name(p)).is_some_and(|(t, _, _)| t == Table::Region)
        })
        .cloned()
        .collect();
    s.push_str(&crate::output::summarize::first_last_table(&region)?);
    Ok(s)
}
