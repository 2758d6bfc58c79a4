//! The command line (clap derive). Only argument shapes live here; what each
//! command does is in `app`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Agent-based simulator of industrial-cluster growth: firms enter, locate,
/// cooperate, relocate and grow inside clusters whose infrastructure improves
/// with public investment. Runs seeded Monte Carlo jobs and writes Parquet.
///
/// With no subcommand, `clustersim [CONFIG] [OPTIONS]` is `clustersim run`.
#[derive(Debug, Parser)]
#[command(name = "clustersim", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `run`, used when no subcommand is given.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a Monte Carlo job (the main job) and write Parquet tables.
    Run(RunArgs),
    /// Parse and validate config files; print each resolved scenario or its errors.
    Validate(ValidateArgs),
    /// Print mean and 95% interval of key metrics at the last step of an output directory.
    Summarize(SummarizeArgs),
    /// Draw PNG and SVG charts of an output directory (run, comparison or sensitivity).
    Plot(PlotArgs),
    /// Run several scenarios with common random numbers and compare them with the first.
    Compare(CompareArgs),
    /// Run a grid or Latin-hypercube design over config fields named by path.
    Sweep(SweepArgs),
    /// Check a scenario against the stylised facts P1–P9 (MODEL.md §1), each beside its negative control.
    ValidateModel(ValidateModelArgs),
    /// Fit config fields to target moments (simulated method of moments); see docs/calibration.md.
    Calibrate(CalibrateArgs),
    /// Global sensitivity analysis (Morris screening or Sobol indices) over config fields.
    Sensitivity(SensitivityArgs),
    /// Reproduce a job: check every part's hash and re-run runs from the manifest's config and seed.
    Verify(VerifyArgs),
    /// Write DIR/report.html: one offline HTML page of a run, compare, sweep or sensitivity directory.
    Report(ReportArgs),
    /// Write the tables of a run, compare or sweep directory as CSV (DIR/csv/<table>.csv).
    Export(ExportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// An output directory of `clustersim run`, `compare` or `sweep`.
    pub dir: PathBuf,
    /// The format written (only `csv`).
    #[arg(long, default_value = "csv", value_parser = ["csv"])]
    pub to: String,
    /// Where to write the files. Default: DIR/csv.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// An output directory of `clustersim run`, `compare`, `sweep` or `sensitivity`.
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// An output directory written by `clustersim run`.
    pub dir: PathBuf,
    /// Re-run only K runs, spread evenly over the job (default: every run).
    #[arg(long, value_name = "K")]
    pub sample: Option<usize>,
    /// Worker threads. Default: all cores. Results do not depend on it.
    #[arg(long, value_parser = positive_threads)]
    pub threads: Option<usize>,
}

/// Options of every command that runs Monte Carlo jobs (`run`, `compare`, `sweep`).
#[derive(Debug, Clone, Args)]
pub struct JobFlags {
    /// Worker threads. Default: all cores. Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Overwrite existing outputs in the output directory.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Complete an interrupted job in an existing output directory: only missing runs are run.
    #[arg(long)]
    pub resume: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Scenario file (RON). Default: the embedded Hanoi baseline (configs/hanoi.ron).
    pub config: Option<PathBuf>,
    /// Number of Monte Carlo runs. Default: the config's `monte_carlo.runs` (100 for Hanoi).
    #[arg(long)]
    pub runs: Option<u32>,
    /// Master seed. Default: the config's `monte_carlo.seed` (2021 for Hanoi).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory. Default: outputs/<config file stem> (outputs/hanoi for the embedded default).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only runs r with r mod N = I and write part files, as I/N (e.g. 3/8).
    /// Default: from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT when set, else 0/1.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Also write the firms table (firms/part-….parquet), the final firm snapshot of every run.
    #[arg(long)]
    pub firms: bool,
    /// The tables to write, comma-separated, from region, clusters, sites, runs, firms.
    /// Default: region,clusters,sites,runs (and firms with --firms).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub tables: Option<Vec<String>>,
    /// Keep every N-th step (and the last) in the region and clusters tables.
    /// The runs table still summarises every step.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub record_every: u32,
    /// Run the scaled benchmark scenario `×K` of MODEL.md §6 (counts, entry rates and budget times K).
    #[arg(long, value_name = "K", default_value_t = 1.0)]
    pub scale: f64,
    /// Runs per written batch (bounds memory).
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Refuse to start when the job's estimated memory exceeds SIZE (e.g. 512M, 8G).
    /// Without it, the limit is the machine's memory.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Also draw the charts of `clustersim plot` into OUT/plots at the end.
    #[arg(long)]
    pub plot: bool,
    /// Also write OUT/report.html (as `clustersim report OUT`) at the end.
    #[arg(long)]
    pub report: bool,
    #[command(flatten)]
    pub job: JobFlags,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true)]
    pub configs: Vec<PathBuf>,
    /// Print only errors, not the resolved scenario.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct SummarizeArgs {
    /// An output directory of `clustersim run` (all part files are read), or of
    /// `compare` or `sweep` (each scenario's or point's directory in turn).
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateModelArgs {
    /// Scenario file (RON). Default: the embedded Hanoi baseline.
    pub config: Option<PathBuf>,
    /// Runs per scenario variant (the policy checks run 7 variants). 16
    /// by default: with fewer, P3b's verdict depends on the seed
    /// (docs/validation.md, "Power").
    #[arg(long, default_value_t = crate::validation::DEFAULT_RUNS, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub runs: u64,
    /// Master seed.
    #[arg(long, default_value_t = 2021)]
    pub seed: u64,
    /// Worker threads. Default: all cores. Results do not depend on it.
    #[arg(long, value_parser = positive_threads)]
    pub threads: Option<usize>,
    /// Also draw the charts of the baseline facts (firm-size CCDF, growth
    /// rates, growth spread by size, degrees) as PNG and SVG into DIR.
    #[arg(long, value_name = "DIR")]
    pub plot: Option<PathBuf>,
    /// Also write the checks as JSON to FILE (atomically); `clustersim report DIR`
    /// shows DIR/validation.json when present.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// An output directory of `clustersim run` (region/*.parquet), `clustersim compare`
    /// (comparison.parquet and each scenario's charts in OUT/<scenario>/), `clustersim sweep`
    /// (each point's charts in OUT/point-NNNN/), `clustersim sensitivity` (sensitivity.parquet)
    /// or `clustersim calibrate` (calibration.parquet).
    pub dir: PathBuf,
    /// Where to write the charts. Default: DIR/plots.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Step shown on the map. Default: the last step.
    #[arg(long)]
    pub step: Option<u32>,
    /// Run shown on the map. Default: the smallest run index.
    #[arg(long)]
    pub run: Option<u32>,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Scenario files (RON); the first is the base the others are compared with.
    #[arg(required = true, num_args = 2..)]
    pub configs: Vec<PathBuf>,
    /// Runs per scenario (at least 2). Default: the first config's `monte_carlo.runs`.
    #[arg(long)]
    pub runs: Option<u32>,
    /// Master seed, the same for every scenario. Default: the first config's `monte_carlo.seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory. Default: outputs/<name>.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Name of the comparison. Default: the config file stems joined by `_vs_`.
    #[arg(long)]
    pub name: Option<String>,
    /// Also draw the comparison chart and each scenario's charts into <out>/plots.
    #[arg(long)]
    pub plot: bool,
    /// Also write OUT/report.html (as `clustersim report OUT`) at the end.
    #[arg(long)]
    pub report: bool,
    #[command(flatten)]
    pub job: JobFlags,
}

#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Base scenario file (RON).
    pub config: PathBuf,
    /// A grid factor: a field path and its values, e.g. `government.leakage=0.1,0.2,0.3`.
    /// Repeat for more factors; every combination is run.
    #[arg(long = "set", value_name = "PATH=V1,V2,…", conflicts_with = "lhs")]
    pub set: Vec<String>,
    /// Latin-hypercube sample of K points over the `--range` boxes.
    #[arg(long, value_name = "K")]
    pub lhs: Option<usize>,
    /// A Latin-hypercube factor: a numeric field path and its range, e.g. `government.leakage=0.1..0.3`.
    #[arg(long = "range", value_name = "PATH=LO..HI", requires = "lhs")]
    pub range: Vec<String>,
    /// Runs per design point. Default: the config's `monte_carlo.runs`.
    #[arg(long)]
    pub runs: Option<u32>,
    /// Master seed, the same for every point (and the Latin-hypercube seed). Default: the config's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output directory. Default: outputs/<config stem>_sweep.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write OUT/report.html (as `clustersim report OUT`) at the end.
    #[arg(long)]
    pub report: bool,
    #[command(flatten)]
    pub job: JobFlags,
}

#[derive(Debug, Clone, Args)]
pub struct CalibrateArgs {
    /// Base scenario file (RON); the fitted parameters are set on it.
    pub config: PathBuf,
    /// The target moments, the parameters to fit and the search settings (RON; see docs/calibration.md).
    #[arg(long, value_name = "TARGETS.ron")]
    pub targets: PathBuf,
    /// Output directory. Default: outputs/<config stem>_calibration.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Evaluations of the search (start points included). Default: the targets file's `search.budget`.
    #[arg(long)]
    pub budget: Option<usize>,
    #[command(flatten)]
    pub job: JobFlags,
}

/// The design and indices of `sensitivity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SensitivityMethod {
    /// Morris elementary effects: mu, mu_star, sigma (screening).
    Morris,
    /// Saltelli design on scrambled Sobol' points: S1, ST (and S2).
    Sobol,
}

#[derive(Debug, Clone, Args)]
pub struct SensitivityArgs {
    /// Base scenario file (RON).
    pub config: PathBuf,
    /// The design and indices.
    #[arg(long, value_enum)]
    pub method: SensitivityMethod,
    /// A parameter: a numeric field path and its range, e.g. `government.leakage=0.1..0.3`. Repeat.
    #[arg(long = "param", value_name = "PATH=LO..HI", required = true)]
    pub param: Vec<String>,
    /// An outcome to analyse (`final_<metric>` or `mean_<metric>`). Repeat.
    /// Default: every key region metric, final and time mean.
    #[arg(long = "outcome", value_name = "NAME")]
    pub outcome: Vec<String>,
    /// Morris trajectories (default 10) or Saltelli base samples N (default 64; a power of 2).
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// Morris grid levels (even).
    #[arg(long, default_value_t = 4)]
    pub levels: usize,
    /// Sobol: only S1 and ST, N(D+2) points instead of N(2D+2).
    #[arg(long)]
    pub no_second_order: bool,
    /// Replicates per design point (common random numbers). Default: the config's `monte_carlo.runs`.
    #[arg(long)]
    pub runs: Option<u32>,
    /// Master seed: of the runs, the design and the bootstrap. Default: the config's.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Bootstrap resamples of the confidence intervals.
    #[arg(long, default_value_t = 1000)]
    pub resamples: usize,
    /// Also analyse every region metric at every step (rows with a `step`).
    #[arg(long)]
    pub every_step: bool,
    /// Output directory. Default: outputs/<config stem>_sensitivity.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only the (point, replicate) units u with u mod N = I, as I/N.
    /// Default: from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT when set, else 0/1.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Runs per written batch (the unit of --resume).
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Also draw the index and convergence charts into OUT/plots.
    #[arg(long)]
    pub plot: bool,
    /// Also write OUT/report.html (as `clustersim report OUT`) at the end.
    #[arg(long)]
    pub report: bool,
    #[command(flatten)]
    pub job: JobFlags,
}

/// `--threads N` of `validate-model`: an integer >= 1.
fn positive_threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected an integer >= 1 (omit it to use all cores)".to_string()),
    }
}

/// A size in bytes: a number with an optional K, M, G or T suffix (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'B' => 1,
                _ => return Err(format!("{text:?}: expected a size such as 512M or 8G")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    match num.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n * (mult as f64) < 1.8e19 => {
            Ok((n * mult as f64) as u64)
        }
        _ => Err(format!("{text:?}: expected a size such as 512M or 8G")),
    }
}
