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
//!   its data depends only on (scenario, seed, r). (A job that writes no
//!   `clusters` table runs it through `model::simulate_keeping` without
//!   keeping the cluster rows: the same run, less memory.)
//! - The runs of a batch are computed in parallel in a local rayon pool, then
//!   written in run order, so the files never depend on the thread count or
//!   on the order in which runs finish. Rows are ordered by run, step, cluster.
//! - At most two batches are in memory: the one being written and the one
//!   being computed. A batch is written table by table, each a few whole
//!   runs at a time (`tables::chunks`): one chunk's frame at a time. The
//!   records the writer is done with come back and the next batch's runs
//!   are written into them (`model::simulate_reusing`), so that a job does
//!   not ask the kernel for every run's rows anew.
//! - The output directory (layout, locks, manifest, resume checks) is owned by
//!   [`crate::output::jobdir::JobDir`]: a batch is done when the manifest
//!   records all its tables' part files and they pass the checks.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;

use crate::cli::RunArgs;
use crate::config::Scenario;
use crate::output::jobdir::{self, JobDir, Mode};
use crate::output::layout::Shard;
use crate::output::manifest::{self, Manifest, Status};
use crate::output::tables::{self, Recording, RunOutput, Table};
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
    /// Constant columns put first in every table (e.g. a comparison's
    /// `("scenario", "strict")`, a sweep's `("point", 3.0)`).
    pub extra: Vec<(String, tables::Constant)>,
    /// Which tables, and which steps of the time series, are written.
    pub record: tables::Recording,
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

/// Errors in the job's arguments (exit code 2). Errors of the output
/// directory are [`crate::output::jobdir::JobDirError`].
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("--{flag} {value}: {allowed}")]
    Argument {
        flag: &'static str,
        value: String,
        allowed: &'static str,
    },
    /// An argument refused with its own message (it names the flag).
    #[error("{0}")]
    Invalid(String),
}

static STOP: AtomicBool = AtomicBool::new(false);
static HANDLER: OnceLock<bool> = OnceLock::new();

/// Install the Ctrl-C handler (once per process), which also handles SIGTERM
/// and SIGHUP (what Slurm sends at a time limit or on `scancel`): the first
/// signal makes every running job stop after its current batch (manifest
/// `interrupted`); a second one exits at once with code 130. Returns false
/// when a handler could not be installed.
pub fn install_ctrl_c() -> bool {
    *HANDLER.get_or_init(|| {
        ctrlc::set_handler(|| {
            if STOP.swap(true, Ordering::SeqCst) {
                eprintln!("\nsecond interrupt: exiting now");
                std::process::exit(130);
            }
            eprintln!(
                "\ninterrupt: finishing the current batch, then stopping (Ctrl-C or SIGTERM again to exit now)"
            );
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

/// An estimate of the memory a job needs, in bytes: the batches of records
/// in memory (two: one simulated, one written), the frames of the chunk
/// being written, and one world per worker thread, from the scenario's
/// sizes (see `docs/limits.md`).
pub fn memory_estimate(spec: &JobSpec, threads: usize) -> f64 {
    let s = &spec.scenario;
    let (firms, _) = crate::config::validate::expected_firms(s);
    let clusters = f64::from(s.clusters.operating) + f64::from(s.clusters.planned);
    let areas = f64::from(s.residential.areas) + s.residential.explicit.len() as f64;
    let steps = f64::from(s.time.steps) + 1.0;
    let kept = job_keep(spec);
    let keep = if kept.firms { 1.0 } else { 0.0 };
    let keep_clusters = if kept.clusters { 1.0 } else { 0.0 };
    // Bytes per run of the recorded rows: region ~200 B per step, clusters
    // ~170 B per cluster and step (kept only for a `clusters` table), sites
    // ~80 B, the firm snapshot ~80 B a firm.
    let record = steps * (200.0 + keep_clusters * 170.0 * clusters)
        + 80.0 * (clusters + areas)
        + keep * 80.0 * firms;
    // The world of one run: firms with their links.
    let degree = f64::from(s.cooperation.max_degree.min(64));
    let world = firms * (300.0 + 16.0 * degree) + clusters * 2_000.0;
    let batch = spec
        .batch
        .min(spec.shard.run_count(spec.runs).max(1) as usize) as f64;
    // A chunk is whole runs of about `CHUNK_ROWS` rows (~200 B each), or one
    // run when that is bigger; its frames and their encoding, ~3× its rows.
    let chunk = 3.0 * record.max(tables::CHUNK_ROWS as f64 * 200.0);
    2.0 * batch * record + chunk + threads as f64 * world + 64.0 * 1024.0 * 1024.0
}

/// The machine's memory in bytes (Linux `/proc/meminfo` MemTotal), if known.
pub fn machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Refuse a job whose memory estimate exceeds `limit` (`--max-memory`), or
/// the machine's memory without one; the error names what drives the estimate.
pub fn check_memory(spec: &JobSpec, limit: Option<u64>) -> Result<(), JobError> {
    let threads = spec
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let need = memory_estimate(spec, threads);
    let (cap, what) = match (limit, machine_memory()) {
        (Some(l), _) => (l, "--max-memory"),
        (None, Some(m)) => (m, "the machine's memory"),
        (None, None) => return Ok(()),
    };
    if need <= cap as f64 {
        return Ok(());
    }
    let gb = |b: f64| {
        if b >= (1u64 << 30) as f64 {
            format!("{:.1} GB", b / (1u64 << 30) as f64)
        } else {
            format!("{:.0} MB", b / (1u64 << 20) as f64)
        }
    };
    Err(JobError::Invalid(format!(
        "this job needs about {} of memory, more than {what} ({}): the estimate grows \
         with --batch ({}) and --threads ({threads}), time.steps, clusters.operating + clusters.planned, \
         the firms a run creates (initial.*, sectors[].entry_rate, sectors[].demand_growth) and --firms; \
         lower --batch or --threads, or the sizes (docs/limits.md)",
        gb(need),
        gb(cap as f64),
        spec.batch
    )))
}

/// `clustersim run` (and `clustersim` with no subcommand).
pub fn run_command(args: &RunArgs) -> anyhow::Result<()> {
    let spec = spec_from_args(args, std::env::args().collect(), |k| std::env::var(k).ok())?;
    check_memory(&spec, args.max_memory)?;
    install_ctrl_c();
    let report = run_job(&spec)?;
    print!("{}", job_summary(&report)?);
    if args.plot {
        let plots = report.out_dir.join("plots");
        let files = crate::plot::plot_dir(&report.out_dir, &plots, &Default::default())?;
        println!("{} charts written to {}", files.len(), plots.display());
    }
    if args.report {
        println!(
            "wrote {}",
            crate::report::write_report(&report.out_dir)?.display()
        );
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
        // Scaling rounds counts (areas may round to 0) and may push them past
        // their bounds: the scaled scenario is validated again.
        let issues = crate::config::validate::validate(&scenario);
        if !issues.is_empty() {
            let origin = args
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from(crate::config::EMBEDDED_NAME));
            return Err(crate::config::ConfigError::Invalid {
                file: PathBuf::from(format!(
                    "{} scaled by --scale {}",
                    origin.display(),
                    args.scale
                )),
                issues,
            }
            .into());
        }
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
    let mut record =
        Recording::parse(args.tables.as_deref(), args.record_every).map_err(JobError::Invalid)?;
    if let (Some(t), true) = (&mut record.tables, args.firms) {
        t.push(Table::Firms);
    }
    let keep_firms = args.firms
        || record
            .tables
            .as_ref()
            .is_some_and(|t| t.contains(&Table::Firms));
    Ok(JobSpec {
        scenario_ron: scenario_ron(&scenario),
        scenario,
        name,
        out_dir,
        runs,
        seed,
        threads: args.job.threads,
        shard,
        keep_firms,
        force: args.job.force,
        resume: args.job.resume,
        batch: args.batch,
        quiet: args.job.quiet,
        extra: Vec::new(),
        record,
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

/// The manifest a new job starts from (what it is; [`JobDir::open`] fills in
/// what is on disk).
fn new_manifest(spec: &JobSpec, threads: usize) -> Manifest {
    Manifest {
        format: manifest::FORMAT.to_string(),
        status: Status::Running,
        clustersim_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: manifest::git_commit(),
        cargo_lock_sha256: manifest::cargo_lock_sha256(),
        platform: manifest::platform(),
        name: spec.name.clone(),
        command_line: spec.command_line.clone(),
        config_sha256: manifest::sha256_hex(spec.scenario_ron.as_bytes()),
        config_ron: spec.scenario_ron.clone(),
        seed: spec.seed,
        runs: spec.runs,
        shard: spec.shard.into(),
        runs_in_shard: spec.shard.run_count(spec.runs),
        batch: spec.batch,
        batches: 0,
        batches_done: 0,
        keep_firms: spec.keep_firms,
        tables: job_table_list(spec)
            .iter()
            .map(|t| t.name().to_string())
            .collect(),
        record_every: spec.record.every,
        extra: spec.extra.clone(),
        threads,
        start_time: chrono::Utc::now().to_rfc3339(),
        end_time: None,
        wall_seconds: None,
        rows: BTreeMap::new(),
        files: Vec::new(),
        parts: Vec::new(),
        digest_scheme: crate::output::digest::SCHEME.to_string(),
        run_digests: BTreeMap::new(),
    }
}

/// The tables `spec` writes, in write order.
fn job_table_list(spec: &JobSpec) -> Vec<Table> {
    match &spec.record.tables {
        Some(t) => jobdir::write_order(t.clone()),
        None => jobdir::job_tables(spec.keep_firms),
    }
}

/// What each run of `spec` keeps: the firm snapshot with `--firms`, the
/// cluster rows only when the job writes a `clusters` table.
fn job_keep(spec: &JobSpec) -> crate::model::Keep {
    crate::model::Keep {
        firms: spec.keep_firms,
        clusters: job_table_list(spec).contains(&Table::Clusters),
    }
}

/// Simulate the runs of one batch in `pool`, returned in run order, each
/// into one of the `spent` records while they last (see
/// `model::simulate_reusing`); the progress bar moves as each run finishes.
fn simulate_batch(
    pool: &rayon::ThreadPool,
    spec: &JobSpec,
    runs: &[u32],
    progress: &Progress,
    spent: &mut Vec<crate::model::RunRecord>,
) -> Vec<RunOutput> {
    let keep = job_keep(spec);
    let todo: Vec<(u32, crate::model::RunRecord)> = runs
        .iter()
        .map(|&run| (run, spent.pop().unwrap_or_default()))
        .collect();
    pool.install(|| {
        todo.into_par_iter()
            .map(|(run, spent)| {
                let record = crate::model::simulate_reusing(
                    &spec.scenario,
                    spec.seed,
                    u64::from(run),
                    keep,
                    spent,
                );
                progress.advance(1);
                RunOutput { run, record }
            })
            .collect()
    })
}

/// Run a Monte Carlo job: plan (open the directory: locks, checks, batches
/// left), simulate (batch k+1 in the pool while batch k is written), write
/// (parts and manifest, through [`JobDir`]). See the module doc.
pub fn run_job(spec: &JobSpec) -> anyhow::Result<JobReport> {
    check_spec(spec)?;
    check_memory(spec, None)?;
    let start = Instant::now();
    let threads = spec
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mode = match (spec.resume, spec.force) {
        (true, _) => Mode::Resume,
        (false, true) => Mode::Force,
        (false, false) => Mode::Fresh,
    };

    // Plan.
    let mut job = JobDir::open(
        &spec.out_dir,
        new_manifest(spec, threads),
        job_table_list(spec),
        mode,
        spec.quiet,
    )?;
    let shard = spec.shard;
    let (total, reused, todo) = (job.batches(), job.reused(), job.todo());
    if spec.resume && reused > 0 && !spec.quiet {
        eprintln!(
            "resume: {reused} of {total} batches of shard {shard} already written; running the other {}",
            todo.len()
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("clustersim-run-{i}"))
        .build()
        .context("cannot start the worker threads")?;
    let progress = Progress::new(
        u64::from(shard.run_count(spec.runs)),
        job.done_runs(),
        spec.quiet,
        &if shard.count > 1 {
            format!("{} shard {shard}", spec.name)
        } else {
            spec.name.clone()
        },
    );

    // Simulate and write: this thread computes, the writer thread writes.
    let sectors = tables::sector_names(&spec.scenario);
    let batches: Vec<(usize, Vec<u32>)> = todo.iter().map(|&b| (b, job.batch_runs(b))).collect();
    let mut interrupted = false;
    let write_result: anyhow::Result<()> = std::thread::scope(|scope| {
        // A batch is handed over when the writer takes it (no batch waits in
        // between), so at most two are in memory.
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<RunOutput>)>(0);
        // The records the writer is done with come back, for the next
        // batch's runs to be written into (less memory asked of the kernel).
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<RunOutput>>();
        let job = &mut job;
        let progress = &progress;
        let sectors = &sectors;
        let writer = scope.spawn(move || -> anyhow::Result<()> {
            for (b, outputs) in rx {
                job.write_batch(
                    b,
                    |table| tables::chunks(table, &outputs),
                    |table, runs| {
                        let chunk = &outputs[runs];
                        let df = tables::frame(table, chunk, spec.seed, &spec.extra, sectors)?;
                        tables::thin(table, df, spec.record.every, spec.scenario.time.steps)
                    },
                    &tables::unit,
                )?;
                // The main thread may be gone (it stopped early).
                let _ = back_tx.send(outputs);
            }
            Ok(())
        });
        let mut spent = Vec::new();
        for (b, runs) in &batches {
            if stop_requested() {
                interrupted = true;
                break;
            }
            for outputs in back_rx.try_iter() {
                spent.extend(outputs.into_iter().map(|o| o.record));
            }
            spent.truncate(runs.len());
            let outputs = simulate_batch(&pool, spec, runs, progress, &mut spent);
            if tx.send((*b, outputs)).is_err() {
                break; // The writer failed; its error is reported below.
            }
        }
        drop(tx);
        writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writer thread panicked"))?
    });
    progress.finish();

    let wall = start.elapsed().as_secs_f64();
    let files = job.files();
    let manifest_path = job.manifest_path().to_path_buf();
    let m = job.finish(write_result.is_ok() && !interrupted, wall)?;
    write_result?;
    if m.status != Status::Complete {
        return Err(Interrupted {
            dir: spec.out_dir.display().to_string(),
            shard,
            done: m.batches_done,
            total,
        }
        .into());
    }
    Ok(JobReport {
        out_dir: spec.out_dir.clone(),
        shard,
        runs_in_shard: shard.run_count(spec.runs),
        batches: total,
        batches_reused: reused,
        rows: m.rows,
        files,
        manifest: manifest_path,
        wall_seconds: wall,
        threads,
    })
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
    let region_dir = crate::output::layout::table_dir(&report.out_dir, Table::Region);
    let region: Vec<PathBuf> = report
        .files
        .iter()
        .filter(|p| p.parent() == Some(region_dir.as_path()))
        .cloned()
        .collect();
    s.push_str(&crate::output::summarize::first_last_table(&region)?);
    Ok(s)
}
