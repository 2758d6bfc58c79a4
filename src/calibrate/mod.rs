//! `clustersim calibrate CONFIG --targets TARGETS.ron --out DIR`: calibration
//! by the simulated method of moments.
//!
//! The loss of a parameter vector θ is g′Wg, g = m̄(θ) − m*, where m̄ is the
//! mean of each target moment over R replicates (runs 0..R of the master
//! seed, the same runs for every candidate: common random numbers), m* the
//! targets, and W diagonal (`targets::Weighting`). The search is a
//! Latin-hypercube start over the box (`stats::latin_hypercube`, seeded by the
//! master seed), then Nelder–Mead from the best start point in logit
//! coordinates of the box (`search`), within a budget of evaluations. Each
//! batch of candidates × replicates runs in parallel (rayon) and is collected
//! in order, so nothing depends on the thread count.
//!
//! Resuming: every evaluation is logged in `calibration.parquet` (`log`). With
//! `--resume` the log is read into a cache keyed by the parameter vector's
//! bits and the whole search is run again from the start: the logged points
//! are not simulated again, so a killed (or budget-stopped) calibration
//! continues where it stopped and ends exactly where an uninterrupted one
//! would.
//!
//! Identification: around the optimum, each parameter alone is moved by
//! ±`search.profile` on its unit scale (the loss profile). A parameter whose
//! profile rises by no more than the loss's replicate noise Σ wᵢ sᵢ²/R (the
//! loss a perfect fit would still show from the R replicates' sampling
//! noise; sᵢ the sd of moment i over the replicates at the optimum) is
//! reported as not identified.
//!
//! Outputs in DIR: `calibration.parquet`, `best.ron` (inherits from CONFIG
//! through `base:`), `moments.parquet` (each moment at the optimum against its
//! target, with intervals), `parameters.parquet` (the optimum, the profile
//! rise, the noise, identified or not) and the charts under `plots/`.

pub mod log;
pub mod moments;
pub mod search;
pub mod targets;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use polars::prelude::{Column, DataFrame};
use rayon::prelude::*;
use serde_json::Value;

use crate::cli::CalibrateArgs;
use crate::config::Scenario;
use crate::sweep::{point_scenario, Design, Factor};
pub use log::Entry;
use search::{from_unit, from_y, logit, to_unit};
pub use targets::{Parameter, Target, Targets, Weighting};

/// A calibration problem: the base scenario, the seeds and what to fit.
#[derive(Debug, Clone)]
pub struct Problem {
    pub scenario: Scenario,
    pub seed: u64,
    pub replicates: u32,
    pub params: Vec<Parameter>,
    pub targets: Vec<Target>,
    pub weighting: Weighting,
    pub search: targets::Search,
}

impl Problem {
    /// Validate `targets` (read from `file`) against `scenario` and build the
    /// problem; every error names its field.
    pub fn new(scenario: Scenario, targets: Targets, file: &Path) -> anyhow::Result<Self> {
        targets::validate(&targets, &scenario, file, |p, v| {
            scenario_at(&scenario, std::slice::from_ref(p), &[v])
                .map(|_| ())
                .map_err(|e| format!("{e:#}"))
        })?;
        Ok(Problem {
            seed: targets.search.seed.unwrap_or(scenario.monte_carlo.seed),
            replicates: targets.search.replicates,
            scenario,
            params: targets.parameters,
            targets: targets.targets,
            weighting: targets.weighting,
            search: targets.search,
        })
    }

    /// The scenario at parameter vector `x` (validated).
    pub fn scenario_at(&self, x: &[f64]) -> anyhow::Result<Scenario> {
        scenario_at(&self.scenario, &self.params, x)
    }

    /// Evaluate the parameter vectors `points`: every candidate × replicate
    /// in parallel, collected in order. An invalid scenario gives an entry
    /// with `valid: false`.
    pub fn evaluate(&self, points: &[Vec<f64>]) -> Vec<Entry> {
        let scenarios: Vec<Option<Scenario>> =
            points.iter().map(|x| self.scenario_at(x).ok()).collect();
        let moments: Vec<&moments::Moment> = self.targets.iter().map(|t| &t.moment).collect();
        let jobs: Vec<(usize, u32)> = scenarios
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .flat_map(|(k, _)| (0..self.replicates).map(move |r| (k, r)))
            .collect();
        let values: Vec<Vec<f64>> = jobs
            .par_iter()
            .map(|&(k, r)| {
                let sc = scenarios[k].as_ref().expect("filtered above");
                moments::run_moments(&moments, sc, self.seed, r)
            })
            .collect();
        let mut by_point: BTreeMap<usize, Vec<Vec<f64>>> = BTreeMap::new();
        for ((k, _), v) in jobs.iter().zip(values) {
            by_point.entry(*k).or_default().push(v);
        }
        let m = self.targets.len();
        points
            .iter()
            .enumerate()
            .map(|(k, x)| {
                let reps = by_point.get(&k);
                let column = |i: usize| -> Vec<f64> {
                    reps.map_or_else(Vec::new, |r| r.iter().map(|v| v[i]).collect())
                };
                Entry {
                    x: x.clone(),
                    phase: String::new(),
                    profile: String::new(),
                    valid: reps.is_some(),
                    mean: (0..m).map(|i| crate::stats::mean(&column(i))).collect(),
                    sd: (0..m)
                        .map(|i| crate::stats::sample_sd(&column(i)))
                        .collect(),
                }
            })
            .collect()
    }

    /// The diagonal of W. With `weighting: Replicates` it is 1/s̄ᵢ² from the
    /// start rows (pooled within-candidate variance; a variance of 0 is
    /// floored at (1e-9·max(1, |target|))²).
    pub fn weights(&self, start: &[&Entry]) -> anyhow::Result<Vec<f64>> {
        match self.weighting {
            Weighting::Target => Ok(self
                .targets
                .iter()
                .map(|t| t.weight.unwrap_or_else(|| 1.0 / t.se.map_or(1.0, |s| s * s)))
                .collect()),
            Weighting::Replicates => self
                .targets
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let vars: Vec<f64> = start
                        .iter()
                        .map(|e| e.sd[i] * e.sd[i])
                        .filter(|v| v.is_finite())
                        .collect();
                    if vars.is_empty() {
                        bail!(
                            "weighting: Replicates: moment `{}` has no finite variance at any start point",
                            t.name
                        );
                    }
                    let floor = (1e-9 * t.value.abs().max(1.0)).powi(2);
                    Ok(1.0 / crate::stats::mean(&vars).max(floor))
                })
                .collect(),
        }
    }
}

/// g′Wg of one entry; +∞ when the entry is invalid or a moment is not finite.
pub fn loss(targets: &[Target], weights: &[f64], e: &Entry) -> f64 {
    if !e.valid {
        return f64::INFINITY;
    }
    let l: f64 = targets
        .iter()
        .zip(weights)
        .zip(&e.mean)
        .map(|((t, w), m)| w * (m - t.value).powi(2))
        .sum();
    if l.is_finite() {
        l
    } else {
        f64::INFINITY
    }
}

/// `base` with each parameter set to its value, validated (through `sweep`'s
/// path machinery: an integer field receives the rounded value).
fn scenario_at(base: &Scenario, params: &[Parameter], x: &[f64]) -> anyhow::Result<Scenario> {
    let mut design = Design {
        points: 1,
        factors: params
            .iter()
            .zip(x)
            .map(|(p, v)| Factor {
                path: p.path.clone(),
                values: vec![serde_json::json!(v)],
            })
            .collect(),
    };
    point_scenario(base, &mut design, 0)
}

/// The evaluation log and cache of one calibration run. Rows `..asked` are
/// the points this run has asked for, in the order it asked; the rest are
/// rows of an earlier run, not asked for (yet).
struct Evaluator<'a> {
    problem: &'a Problem,
    rows: Vec<Entry>,
    asked: usize,
    weights: Option<Vec<f64>>,
    path: PathBuf,
    /// Points simulated by this process.
    simulated: usize,
    quiet: bool,
}

impl Evaluator<'_> {
    fn loss(&self, e: &Entry) -> f64 {
        match &self.weights {
            Some(w) => loss(&self.problem.targets, w, e),
            None => f64::NAN,
        }
    }

    /// The rows of `points` (evaluated, or found in the log), labelled with
    /// `phase` and `profile`; new points are simulated in one parallel batch.
    fn eval(&mut self, points: &[Vec<f64>], phase: &str, profile: &[String]) -> Vec<usize> {
        let mut new: Vec<Vec<f64>> = Vec::new();
        for x in points {
            let k = log::key(x);
            let known = self.rows.iter().any(|r| log::key(&r.x) == k);
            if !known && !new.iter().any(|n| log::key(n) == k) {
                new.push(x.clone());
            }
        }
        self.simulated += new.len();
        self.rows.extend(self.problem.evaluate(&new));
        points
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let k = log::key(x);
                let at = self
                    .rows
                    .iter()
                    .position(|r| log::key(&r.x) == k)
                    .expect("evaluated above");
                if at < self.asked {
                    return at;
                }
                let mut row = self.rows.remove(at);
                row.phase = phase.to_string();
                row.profile = profile.get(i).cloned().unwrap_or_default();
                self.rows.insert(self.asked, row);
                self.asked += 1;
                self.asked - 1
            })
            .collect()
    }

    fn save(&self) -> anyhow::Result<()> {
        log::write(&self.path, self.problem, &self.rows, |e| self.loss(e))
    }

    fn note(&self, what: &str) {
        if !self.quiet {
            let best = self.rows[..self.asked]
                .iter()
                .map(|e| self.loss(e))
                .fold(f64::INFINITY, f64::min);
            eprintln!(
                "calibrate: {what}: {} evaluations ({} simulated now), best loss {best:.6}",
                self.asked, self.simulated
            );
        }
    }
}

/// One parameter's identification check.
#[derive(Debug, Clone, PartialEq)]
pub struct Identification {
    pub path: String,
    /// Largest loss on the profile minus the loss at the optimum.
    pub rise: f64,
    /// The loss's replicate noise Σ wᵢ sᵢ²/R at the optimum.
    pub noise: f64,
    pub identified: bool,
    /// The smallest loss on the profile, when below the optimum's (the search
    /// had not converged along this parameter).
    pub lower: Option<f64>,
}

/// Everything a calibration found.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The best parameter vector and its entry.
    pub best: Entry,
    pub best_loss: f64,
    pub weights: Vec<f64>,
    /// Evaluations of the search (start and Nelder–Mead), profiles excluded.
    pub evaluations: usize,
    /// Points simulated by this process (the rest came from the log).
    pub simulated: usize,
    pub converged: bool,
    pub identification: Vec<Identification>,
    /// The log rows of this run, in the order asked, then unused old rows.
    pub rows: Vec<Entry>,
}

/// Run the calibration of `problem`, logging to `log_path`; `previous` is the
/// log of an earlier run (empty for a fresh one).
pub fn calibrate(
    problem: &Problem,
    previous: Vec<Entry>,
    log_path: &Path,
    quiet: bool,
) -> anyhow::Result<Calibration> {
    let d = problem.params.len();
    let s = &problem.search;
    let mut ev = Evaluator {
        problem,
        rows: previous,
        asked: 0,
        weights: None,
        path: log_path.to_path_buf(),
        simulated: 0,
        quiet,
    };
    // Space-filling start, in logit coordinates so that every point comes
    // from the same map as Nelder–Mead's.
    let start_y: Vec<Vec<f64>> = crate::stats::latin_hypercube(s.start, d, problem.seed)
        .into_iter()
        .map(|u| u.into_iter().map(logit).collect())
        .collect();
    let start_x: Vec<Vec<f64>> = start_y.iter().map(|y| from_y(&problem.params, y)).collect();
    let start_rows = ev.eval(&start_x, "start", &[]);
    let start_entries: Vec<&Entry> = start_rows.iter().map(|&i| &ev.rows[i]).collect();
    ev.weights = Some(problem.weights(&start_entries)?);
    ev.save()?;
    ev.note("start");
    let start_loss: Vec<f64> = start_rows.iter().map(|&i| ev.loss(&ev.rows[i])).collect();
    let first = (0..start_loss.len())
        .min_by(|&a, &b| start_loss[a].total_cmp(&start_loss[b]).then(a.cmp(&b)))
        .unwrap_or(0);
    if !start_loss[first].is_finite() {
        bail!(
            "no start point gives a finite loss (invalid scenarios or undefined moments at all {} points)",
            s.start
        );
    }

    // Nelder–Mead from the best start point; the other vertices move each
    // unit coordinate 0.15 towards the centre of the box.
    let y0 = start_y[first].clone();
    let mut simplex = vec![y0.clone()];
    for j in 0..d {
        let mut y = y0.clone();
        let u = search::sigmoid(y0[j]);
        y[j] = logit(if u < 0.5 { u + 0.15 } else { u - 0.15 });
        simplex.push(y);
    }
    let mut phase = "simplex";
    let mut failure: Option<anyhow::Error> = None;
    let outcome = search::nelder_mead(
        |ys: &[Vec<f64>]| -> Result<(Vec<f64>, usize), ()> {
            let xs: Vec<Vec<f64>> = ys.iter().map(|y| from_y(&problem.params, y)).collect();
            let before = ev.asked;
            let rows = ev.eval(&xs, phase, &[]);
            // A point this run asked for before costs nothing (in one
            // dimension a shrink repeats the rejected inside contraction).
            let cost = ev.asked - before;
            if let Err(e) = ev.save() {
                failure = Some(e);
                return Err(());
            }
            ev.note(phase);
            phase = "search";
            Ok((rows.iter().map(|&i| ev.loss(&ev.rows[i])).collect(), cost))
        },
        simplex,
        &[start_loss[first]],
        search::Options {
            max_evals: s.budget - s.start,
            xtol: s.tolerance,
        },
    );
    let outcome = match (outcome, failure) {
        (Ok(o), None) => o,
        (_, Some(e)) => return Err(e),
        (Err(()), None) => bail!("the search failed"),
    };
    let evaluations = ev.asked;
    let best_row = (0..evaluations)
        .min_by(|&a, &b| {
            ev.loss(&ev.rows[a])
                .total_cmp(&ev.loss(&ev.rows[b]))
                .then(a.cmp(&b))
        })
        .unwrap_or(0);
    let best = ev.rows[best_row].clone();
    let best_loss = ev.loss(&best);
    let weights = ev.weights.clone().unwrap_or_default();

    // Profiles: each parameter alone at u* ± each offset (clamped to the box).
    let mut points = Vec::new();
    let mut labels = Vec::new();
    for (j, p) in problem.params.iter().enumerate() {
        let u = to_unit(p, best.x[j]);
        for delta in s.profile.iter().flat_map(|d| [-d, *d]) {
            let mut x = best.x.clone();
            x[j] = from_unit(p, u + delta);
            if log::key(&x) != log::key(&best.x) && !points.contains(&x) {
                points.push(x);
                labels.push(p.path.clone());
            }
        }
    }
    let profile_rows = ev.eval(&points, "profile", &labels);
    ev.save()?;
    ev.note("profile");
    let r = f64::from(problem.replicates);
    let noise: f64 = weights
        .iter()
        .zip(&best.sd)
        .map(|(w, s)| w * s * s / r)
        .filter(|v| v.is_finite())
        .sum();
    let identification = problem
        .params
        .iter()
        .map(|p| {
            let losses: Vec<f64> = profile_rows
                .iter()
                .zip(&labels)
                .filter(|(_, l)| **l == p.path)
                .map(|(&i, _)| ev.loss(&ev.rows[i]))
                .collect();
            let rise = losses.iter().copied().fold(best_loss, f64::max) - best_loss;
            let low = losses.iter().copied().fold(f64::INFINITY, f64::min);
            Identification {
                path: p.path.clone(),
                rise,
                noise,
                identified: rise > noise,
                lower: (low < best_loss).then_some(low),
            }
        })
        .collect();
    Ok(Calibration {
        best,
        best_loss,
        weights,
        evaluations,
        simulated: ev.simulated,
        converged: outcome.stop == search::Stop::Converged,
        identification,
        rows: ev.rows,
    })
}

/// `to` relative to the directory `from` (both made absolute first).
fn relative_path(from: &Path, to: &Path) -> anyhow::Result<PathBuf> {
    let abs = |p: &Path| {
        std::fs::canonicalize(p).with_context(|| format!("cannot resolve {}", p.display()))
    };
    let (from, to) = (abs(from)?, abs(to)?);
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c.as_os_str());
    }
    Ok(out)
}

/// A JSON image of (part of) a scenario as RON: structs as `(k: v)`, lists
/// as `[…]`, strings quoted, null as `None`. Enough for the numeric fields a
/// calibration sets and for the lists they lie in; the caller checks the
/// result by loading it.
fn json_to_ron(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(json_to_ron).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "({})",
            m.iter()
                .map(|(k, v)| format!("{k}: {}", json_to_ron(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The text of `best.ron`: `base:` the input config (relative to the output
/// file), then only the calibrated fields (a field inside a list brings its
/// whole list, since lists replace their base's whole).
pub fn best_ron(
    problem: &Problem,
    best: &Scenario,
    base_rel: &Path,
    header: &str,
) -> anyhow::Result<String> {
    let image = serde_json::to_value(best).context("serializing the scenario")?;
    let mut top: Vec<(String, String)> = Vec::new();
    let mut nested = serde_json::Map::new();
    for p in &problem.params {
        let stem = p.path.split('[').next().unwrap_or(&p.path);
        let keys: Vec<&str> = stem.split('.').collect();
        let mut value = &image;
        for k in &keys {
            value = value
                .get(*k)
                .with_context(|| format!("`{}`: no field `{k}`", p.path))?;
        }
        let mut node = &mut nested;
        for k in &keys[..keys.len() - 1] {
            node = node
                .entry(k.to_string())
                .or_insert_with(|| Value::Object(Default::default()))
                .as_object_mut()
                .context("a struct")?;
        }
        node.insert(keys[keys.len() - 1].to_string(), value.clone());
    }
    for (k, v) in &nested {
        top.push((k.clone(), json_to_ron(v)));
    }
    let mut text = format!(
        "{header}(\n    base: {},\n",
        serde_json::to_string(&base_rel.to_string_lossy())?
    );
    for (k, v) in top {
        text.push_str(&format!("    {k}: {v},\n"));
    }
    text.push_str(")\n");
    Ok(text)
}

/// What `clustersim calibrate` wrote.
#[derive(Debug, Clone)]
pub struct CalibrateReport {
    pub out_dir: PathBuf,
    pub calibration: Calibration,
    pub best_file: PathBuf,
    pub files: Vec<PathBuf>,
    pub table: String,
}

/// Run `clustersim calibrate` with `args`.
pub fn run_calibrate(args: &CalibrateArgs) -> anyhow::Result<CalibrateReport> {
    let scenario = crate::config::load(&args.config)?;
    let mut targets = targets::read(&args.targets)?;
    if let Some(b) = args.budget {
        targets.search.budget = b;
    }
    let problem = Problem::new(scenario, targets, &args.targets).with_context(|| {
        format!(
            "checking {} against {}",
            args.targets.display(),
            args.config.display()
        )
    })?;
    let (_, out_dir) = crate::sweep::out_dir(&args.config, args.out.as_ref(), "calibration");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let log_path = out_dir.join("calibration.parquet");
    // A process killed while writing the log leaves its temporary file.
    for entry in std::fs::read_dir(&out_dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".calibration.parquet.") && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let previous = if log_path.is_file() {
        if args.job.resume {
            log::read(&log_path, &problem)?
        } else if args.job.force {
            Vec::new()
        } else {
            bail!(
                "{} already holds a calibration ({}); use --resume to continue it or --force to start over",
                out_dir.display(),
                log_path.display()
            );
        }
    } else {
        Vec::new()
    };
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = args.job.threads {
        builder = builder.num_threads(t);
    }
    let pool = builder.build().context("building the thread pool")?;
    let cal = pool.install(|| calibrate(&problem, previous, &log_path, args.job.quiet))?;
    write_outputs(&problem, &cal, args, &out_dir)
}

/// Write best.ron, moments.parquet, parameters.parquet and the charts.
fn write_outputs(
    problem: &Problem,
    cal: &Calibration,
    args: &CalibrateArgs,
    out_dir: &Path,
) -> anyhow::Result<CalibrateReport> {
    use crate::output::parquet::{write_atomic, write_text_atomic};
    let best_scenario = problem.scenario_at(&cal.best.x)?;
    let best_file = out_dir.join("best.ron");
    let base_rel = relative_path(out_dir, &args.config)?;
    let header = format!(
        "// Calibrated by `clustersim calibrate` against {}: loss {:.6} after {} evaluations\n\
         // ({} replicates, master seed {}). The fitted fields; everything else comes from the base.\n",
        args.targets.display(),
        cal.best_loss,
        cal.evaluations,
        problem.replicates,
        problem.seed
    );
    let text = best_ron(problem, &best_scenario, &base_rel, &header)?;
    let tmp = out_dir.join(".best.ron.check");
    std::fs::write(&tmp, &text).with_context(|| format!("cannot write {}", tmp.display()))?;
    let back = crate::config::load(&tmp);
    let _ = std::fs::remove_file(&tmp);
    let same = back
        .as_ref()
        .ok()
        .map(|s| serde_json::to_value(s).ok() == serde_json::to_value(&best_scenario).ok());
    if same != Some(true) {
        bail!("internal: best.ron does not load back to the calibrated scenario: {text}");
    }
    write_text_atomic(&best_file, &text)?;

    let r = problem.replicates;
    let t = crate::stats::t_quantile(0.975, f64::from(r - 1));
    let z = crate::stats::normal_quantile(0.975);
    let sqrt_r = f64::from(r).sqrt();
    let m = &problem.targets;
    let e = &cal.best;
    let mut moments = DataFrame::new_infer_height(vec![
        Column::new(
            "target".into(),
            m.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "value".into(),
            m.iter().map(|t| t.value).collect::<Vec<_>>(),
        ),
        Column::new(
            "se".into(),
            m.iter()
                .map(|t| t.se.unwrap_or(f64::NAN))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "target_lo".into(),
            m.iter()
                .map(|t| t.value - z * t.se.unwrap_or(f64::NAN))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "target_hi".into(),
            m.iter()
                .map(|t| t.value + z * t.se.unwrap_or(f64::NAN))
                .collect::<Vec<_>>(),
        ),
        Column::new("mean".into(), e.mean.clone()),
        Column::new("sd".into(), e.sd.clone()),
        Column::new(
            "lo".into(),
            e.mean
                .iter()
                .zip(&e.sd)
                .map(|(m, s)| m - t * s / sqrt_r)
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "hi".into(),
            e.mean
                .iter()
                .zip(&e.sd)
                .map(|(m, s)| m + t * s / sqrt_r)
                .collect::<Vec<_>>(),
        ),
        Column::new("weight".into(), cal.weights.clone()),
        Column::new(
            "contribution".into(),
            m.iter()
                .zip(&cal.weights)
                .zip(&e.mean)
                .map(|((t, w), v)| w * (v - t.value).powi(2))
                .collect::<Vec<_>>(),
        ),
    ])?;
    let moments_file = out_dir.join("moments.parquet");
    write_atomic(
        &moments_file,
        &mut moments,
        &crate::output::manifest::build_metadata(),
        &|_| None,
    )?;

    let p = &problem.params;
    let id = &cal.identification;
    let mut params = DataFrame::new_infer_height(vec![
        Column::new(
            "parameter".into(),
            p.iter().map(|p| p.path.clone()).collect::<Vec<_>>(),
        ),
        Column::new("lo".into(), p.iter().map(|p| p.lo).collect::<Vec<_>>()),
        Column::new("hi".into(), p.iter().map(|p| p.hi).collect::<Vec<_>>()),
        Column::new("log".into(), p.iter().map(|p| p.log).collect::<Vec<_>>()),
        Column::new("best".into(), e.x.clone()),
        Column::new("rise".into(), id.iter().map(|i| i.rise).collect::<Vec<_>>()),
        Column::new(
            "noise".into(),
            id.iter().map(|i| i.noise).collect::<Vec<_>>(),
        ),
        Column::new(
            "identified".into(),
            id.iter().map(|i| i.identified).collect::<Vec<_>>(),
        ),
    ])?;
    let params_file = out_dir.join("parameters.parquet");
    write_atomic(
        &params_file,
        &mut params,
        &crate::output::manifest::build_metadata(),
        &|_| None,
    )?;

    let mut files = vec![
        out_dir.join("calibration.parquet"),
        best_file.clone(),
        moments_file,
        params_file,
    ];
    files.extend(crate::plot::calibration::plot_calibration(
        out_dir,
        &out_dir.join("plots"),
    )?);
    let table = format_report(problem, cal, t, z);
    Ok(CalibrateReport {
        out_dir: out_dir.to_path_buf(),
        calibration: cal.clone(),
        best_file,
        files,
        table,
    })
}

/// The text report: parameters (with identification) and moments vs targets.
pub fn format_report(problem: &Problem, cal: &Calibration, t: f64, z: f64) -> String {
    let mut s = format!(
        "loss {:.6} after {} evaluations ({}), {} replicates per candidate\n\nparameter                                best         [lo, hi]                 profile rise   noise        identified\n",
        cal.best_loss,
        cal.evaluations,
        if cal.converged { "converged" } else { "budget reached" },
        problem.replicates
    );
    for ((p, x), id) in problem
        .params
        .iter()
        .zip(&cal.best.x)
        .zip(&cal.identification)
    {
        s.push_str(&format!(
            "{:<40} {:<12.6} [{:<10.4}, {:<10.4}] {:<14.4e} {:<12.4e} {}{}\n",
            p.path,
            x,
            p.lo,
            p.hi,
            id.rise,
            id.noise,
            if id.identified {
                "yes"
            } else {
                "NO (flat within replicate noise)"
            },
            id.lower
                .map_or(String::new(), |l| format!(" (profile found loss {l:.6})")),
        ));
    }
    s.push_str("\ntarget                   target (95%)                       simulated (95%, replicates)\n");
    let r = f64::from(problem.replicates).sqrt();
    for (i, tg) in problem.targets.iter().enumerate() {
        let target = match tg.se {
            Some(se) => format!(
                "{:.6} [{:.6}, {:.6}]",
                tg.value,
                tg.value - z * se,
                tg.value + z * se
            ),
            None => format!("{:.6}", tg.value),
        };
        let (m, sd) = (cal.best.mean[i], cal.best.sd[i]);
        s.push_str(&format!(
            "{:<24} {:<34} {:.6} [{:.6}, {:.6}]\n",
            tg.name,
            target,
            m,
            m - t * sd / r,
            m + t * sd / r
        ));
    }
    s
}

/// `clustersim calibrate`.
pub fn calibrate_command(args: &CalibrateArgs) -> anyhow::Result<()> {
    let report = run_calibrate(args)?;
    println!("{}", report.table);
    for f in &report.files {
        println!("{}", f.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_climb_and_descend() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("x/y");
        let b = tmp.path().join("z");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(b.join("c.ron"), "()").unwrap();
        assert_eq!(
            relative_path(&a, &b.join("c.ron")).unwrap(),
            PathBuf::from("../../z/c.ron")
        );
    }

    #[test]
    fn json_images_become_ron_structs_and_lists() {
        let v =
            serde_json::json!({"a": {"b": 0.25, "c": [1, 2]}, "s": "x\"y", "n": null, "t": true});
        assert_eq!(
            json_to_ron(&v),
            r#"(a: (b: 0.25, c: [1, 2]), n: None, s: "x\"y", t: true)"#
        );
    }

    #[test]
    fn replicate_weights_are_inverse_pooled_variances_of_the_start_points() {
        let text = r#"(
            targets: [
                (name: "a", moment: Region(column: "firms", at: Last), value: 10.0),
                (name: "b", moment: Region(column: "links", at: Last), value: 0.0),
            ],
            parameters: [(path: "government.leakage", lo: 0.1, hi: 0.5)],
            weighting: Replicates,
        )"#;
        let file = Path::new("t.ron");
        let t = targets::parse(text, file).unwrap();
        let p = Problem::new(crate::config::embedded_default(), t, file).unwrap();
        let entry = |sd: Vec<f64>| Entry {
            x: vec![0.2],
            phase: String::new(),
            profile: String::new(),
            valid: true,
            mean: vec![0.0, 0.0],
            sd,
        };
        let (e1, e2) = (entry(vec![1.0, 0.0]), entry(vec![3.0, f64::NAN]));
        let w = p.weights(&[&e1, &e2]).unwrap();
        assert_eq!(w[0], 1.0 / 5.0);
        // A moment the seeds do not move: the floor, not a division by zero.
        assert_eq!(w[1], 1.0 / 1e-18);
        let none = entry(vec![f64::NAN, f64::NAN]);
        let err = p.weights(&[&none]).unwrap_err().to_string();
        assert!(err.contains("`a`"), "{err}");
    }

    #[test]
    fn the_loss_is_weighted_squares_and_infinite_when_undefined() {
        let t = |v: f64| Target {
            name: "a".into(),
            moment: moments::Moment::Region {
                column: "firms".into(),
                at: moments::At::Last,
            },
            value: v,
            se: Some(0.5),
            weight: None,
        };
        let targets = [t(1.0), t(2.0)];
        let mut e = Entry {
            x: vec![0.0],
            phase: String::new(),
            profile: String::new(),
            valid: true,
            mean: vec![2.0, 2.0],
            sd: vec![0.1, 0.1],
        };
        assert_eq!(loss(&targets, &[4.0, 1.0], &e), 4.0);
        e.mean[1] = f64::NAN;
        assert_eq!(loss(&targets, &[4.0, 1.0], &e), f64::INFINITY);
        e.mean[1] = 2.0;
        e.valid = false;
        assert_eq!(loss(&targets, &[4.0, 1.0], &e), f64::INFINITY);
    }
}
