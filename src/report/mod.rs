//! `clustersim report DIR` (and `--report` on `run`, `compare`, `sweep`,
//! `sensitivity`): one self-contained HTML file, `DIR/report.html`, that shows
//! a whole job offline: its manifest and config, key outcomes with 95%
//! intervals, replication diagnostics, time series and the map, and for a
//! comparison, a sweep or a sensitivity analysis what that directory holds
//! beyond its runs (docs/report.md).
//!
//! The page has no external resource: inline CSS, charts as inline SVG
//! (plotters' SVG backend, through [`crate::plot::render_svg`]), no script;
//! links are relative (the Parquet folders beside it). Every text is escaped
//! ([`html::esc`]). The page is built whole in memory and written to a
//! temporary name, then renamed: a reader never sees half a report.
//!
//! This module only reads: manifests ([`crate::output::manifest`]),
//! completeness ([`crate::output::summarize::check_dir`]), per-run outcomes
//! ([`crate::compare::read_outcomes`]), intervals ([`crate::stats`]), and
//! the charts' own loaders ([`crate::plot`]).

pub mod charts;
pub mod html;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use polars::prelude::DataType;

use crate::compare::{self, outcome_label, RunOutcomes, OUTCOME_METRICS};
use crate::output::layout;
use crate::output::manifest::{sha256_hex, Manifest, Status};
use crate::output::tables::Table;
use crate::plot::{self, render_svg};
use crate::stats::{self, LEVEL_95};
use html::{
    details_close, details_open, esc, figure, fmt_ci, fmt_num, heading, kv_table, note, para, pre,
    table, warn, Cell,
};

/// Sweeps of at most this many points show each point's time series and map.
pub const MAX_POINT_CHARTS: usize = 12;

/// The report's file name inside the directory.
pub const FILE_NAME: &str = "report.html";

/// What kind of output directory a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `clustersim run`: manifests and table folders.
    Run,
    /// `clustersim compare`: `comparison.parquet` and one run directory per scenario.
    Compare,
    /// `clustersim sweep`: `design.parquet` and one run directory per point.
    Sweep,
    /// `clustersim sensitivity`: `sensitivity.json`, the design and the indices.
    Sensitivity,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Run => "run",
            Kind::Compare => "comparison",
            Kind::Sweep => "sweep",
            Kind::Sensitivity => "sensitivity analysis",
        }
    }
}

/// The kind of `dir`, or an error saying why it is not an output directory.
pub fn detect(dir: &Path) -> anyhow::Result<Kind> {
    if !dir.is_dir() {
        bail!(
            "{} is not a directory; give an output directory of `clustersim run`, `compare`, `sweep` or `sensitivity`",
            dir.display()
        );
    }
    if dir.join("sensitivity.json").is_file() {
        return Ok(Kind::Sensitivity);
    }
    if dir.join("comparison.parquet").is_file() {
        return Ok(Kind::Compare);
    }
    let manifests =
        layout::list_manifests(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    if !manifests.is_empty() {
        return Ok(Kind::Run);
    }
    if dir.join("design.parquet").is_file() {
        return Ok(Kind::Sweep);
    }
    let has_tables = Table::ALL.iter().any(|t| dir.join(t.name()).is_dir());
    if has_tables {
        bail!(
            "{} is missing: {} holds table folders but no manifest.json (nor manifest-part-*.json), \
             so the job it belongs to is unknown",
            dir.join("manifest.json").display(),
            dir.display()
        );
    }
    bail!(
        "{} is not an output directory of clustersim: it holds no manifest.json (run), \
         comparison.parquet (compare), design.parquet (sweep) or sensitivity.json (sensitivity)",
        dir.display()
    )
}

/// Build the report of `dir` and write it to `dir/report.html` atomically;
/// returns its path.
pub fn write_report(dir: &Path) -> anyhow::Result<PathBuf> {
    let page = build_report(dir)?;
    let path = dir.join(FILE_NAME);
    crate::output::parquet::write_text_atomic(&path, &page)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `clustersim report DIR`.
pub fn report_command(args: &crate::cli::ReportArgs) -> anyhow::Result<()> {
    let path = write_report(&args.dir)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// The whole page for `dir`.
pub fn build_report(dir: &Path) -> anyhow::Result<String> {
    let kind = detect(dir)?;
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| dir.display().to_string());
    let mut body = String::new();
    match kind {
        Kind::Run => run_body(&mut body, dir, "", 2, true)?,
        Kind::Compare => compare_body(&mut body, dir)?,
        Kind::Sweep => sweep_body(&mut body, dir)?,
        Kind::Sensitivity => sensitivity_body(&mut body, dir)?,
    }
    validation_section(&mut body, dir)?;

    let mut page = String::new();
    let title = format!("clustersim report: {name} ({})", kind.name());
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"clustersim {}\">\n<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n",
        esc(env!("CARGO_PKG_VERSION")),
        esc(&title),
        html::STYLE
    );
    let _ = writeln!(page, "<h1>{}</h1>", esc(&title));
    note(
        &mut page,
        &format!(
            "Written by clustersim {} at {} from {}. One file, no external resource: it opens offline. \
             Links to the Parquet tables are relative to the folder holding this file.",
            env!("CARGO_PKG_VERSION"),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            dir.display()
        ),
    );
    page.push_str(&contents(&body));
    page.push_str(&body);
    page.push_str("</body>\n</html>\n");
    Ok(page)
}

/// A list of links to the `<h2>` headings of `body`.
fn contents(body: &str) -> String {
    let mut items = String::new();
    let mut rest = body;
    while let Some(i) = rest.find("<h2 id=\"") {
        rest = &rest[i + 8..];
        let Some(end) = rest.find('"') else { break };
        let id = &rest[..end];
        let Some(gt) = rest.find('>') else { break };
        let Some(close) = rest.find("</h2>") else {
            break;
        };
        let text = &rest[gt + 1..close];
        let _ = writeln!(items, "<li><a href=\"#{id}\">{text}</a></li>");
        rest = &rest[close..];
    }
    format!("<nav><strong>Contents</strong><ul>\n{items}</ul></nav>\n")
}

/// An id fragment from arbitrary text.
fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------
// A run directory

/// Every manifest of the run directory `dir` (an error naming the file when
/// one cannot be read, or when there is none).
pub fn read_manifests(dir: &Path) -> anyhow::Result<Vec<Manifest>> {
    let paths =
        layout::list_manifests(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    if paths.is_empty() {
        bail!(
            "{} is missing: {} is not an output directory of `clustersim run`",
            dir.join("manifest.json").display(),
            dir.display()
        );
    }
    paths
        .iter()
        .map(|p| Manifest::read(p).map_err(anyhow::Error::new))
        .collect()
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Running => "running",
        Status::Interrupted => "interrupted",
        Status::Complete => "complete",
    }
}

/// The job's command line, each word quoted for a shell where it needs it.
fn command_line(m: &Manifest) -> String {
    m.command_line
        .iter()
        .map(|w| shell_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The version, commit and command line of a compare's or sweep's first
/// job, the last rows of its overview table.
fn provenance(m: &Manifest) -> Vec<(&'static str, Cell)> {
    vec![
        (
            "clustersim version",
            Cell::keyed(m.clustersim_version.clone(), "version"),
        ),
        (
            "git commit",
            Cell::new(m.git_commit.clone().unwrap_or_else(|| "unknown".into())),
        ),
        ("command line", Cell::keyed(command_line(m), "command-line")),
    ]
}

/// Quote a command-line word for a shell when it needs it.
fn shell_word(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// The sections of one run directory. `rel` is the directory's path relative
/// to the report (`""` or `"a/"`), `level` the level of its headings; ids are
/// prefixed with `rel`'s slug.
fn run_body(
    out: &mut String,
    dir: &Path,
    rel: &str,
    level: u8,
    charts: bool,
) -> anyhow::Result<()> {
    let manifests = read_manifests(dir)?;
    let id = |s: &str| format!("{}{s}", slug(rel));
    manifest_section(out, dir, &manifests, &id("manifest"), level)?;
    config_section(out, &manifests[0], &id("config"), level);
    let has_region = !plot::data::table_files(dir, "region")?.is_empty();
    if has_region {
        let outcomes = compare::read_outcomes(dir)?;
        outcomes_section(out, &outcomes, &id("outcomes"), level);
        replication_section(out, &outcomes, &id("replication"), level)?;
        if charts {
            charts_section(out, dir, &id("charts"), level)?;
        }
    } else {
        heading(out, level, &id("outcomes"), "Key outcomes");
        note(
            out,
            &format!(
                "{} has no region table (the job was run with --tables without region): key outcomes, \
                 replication diagnostics and time series need it.",
                dir.display()
            ),
        );
    }
    links_section(out, dir, rel, &id("tables"), level)?;
    Ok(())
}

fn manifest_section(
    out: &mut String,
    dir: &Path,
    manifests: &[Manifest],
    id: &str,
    level: u8,
) -> anyhow::Result<()> {
    heading(out, level, id, "Manifest");
    let m = &manifests[0];
    let completeness = crate::output::summarize::check_dir(dir)?;
    for line in completeness.report() {
        warn(out, &format!("Incomplete results: {line}"));
    }
    let start = manifests
        .iter()
        .map(|m| m.start_time.as_str())
        .min()
        .unwrap_or("");
    let ends: Vec<&str> = manifests
        .iter()
        .filter_map(|m| m.end_time.as_deref())
        .collect();
    let end = if ends.len() == manifests.len() {
        ends.iter().max().copied().unwrap_or("—").to_string()
    } else {
        "— (a shard has not ended)".to_string()
    };
    let wall: Vec<f64> = manifests.iter().filter_map(|m| m.wall_seconds).collect();
    let wall = if wall.is_empty() {
        "—".to_string()
    } else {
        format!(
            "{} s (longest shard; {} s over all shards)",
            fmt_num(wall.iter().copied().fold(0.0, f64::max)),
            fmt_num(wall.iter().sum())
        )
    };
    let statuses: Vec<String> = manifests
        .iter()
        .map(|m| {
            format!(
                "{}/{} {}",
                m.shard.index,
                m.shard.count,
                status_name(m.status)
            )
        })
        .collect();
    let missing = completeness.missing_runs().len() as u32;
    let present = completeness.runs.saturating_sub(missing);
    let tables = if m.tables.is_empty() {
        "region, clusters, sites, runs (default)".to_string()
    } else {
        m.tables.join(", ")
    };
    let extra = m
        .extra
        .iter()
        .map(|(k, v)| {
            use crate::output::tables::Constant;
            let v = match v {
                Constant::Int(i) => i.to_string(),
                Constant::Float(x) => fmt_num(*x),
                Constant::Bool(b) => b.to_string(),
                Constant::Text(t) => t.clone(),
            };
            format!("{k} = {v}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = vec![
        ("job name", Cell::new(m.name.clone())),
        (
            "clustersim version",
            Cell::keyed(m.clustersim_version.clone(), "version"),
        ),
        (
            "git commit",
            Cell::keyed(
                m.git_commit.clone().unwrap_or_else(|| "unknown".into()),
                "commit",
            ),
        ),
        ("platform", Cell::new(m.platform.clone())),
        ("Cargo.lock SHA-256", Cell::new(m.cargo_lock_sha256.clone())),
        ("seed", Cell::keyed(m.seed.to_string(), "seed")),
        ("runs", Cell::keyed(m.runs.to_string(), "runs")),
        (
            "runs on disk",
            Cell::keyed(present.to_string(), "runs-present"),
        ),
        (
            "shards",
            Cell::keyed(
                format!(
                    "{} ({} manifest{} present: {})",
                    m.shard.count,
                    manifests.len(),
                    if manifests.len() == 1 { "" } else { "s" },
                    statuses.join(", ")
                ),
                "shards",
            ),
        ),
        (
            "batch",
            Cell::new(format!("{} runs per part file", m.batch)),
        ),
        ("tables", Cell::new(tables)),
        (
            "record every",
            Cell::new(format!("{} step(s)", m.record_every)),
        ),
        ("threads", Cell::new(m.threads.to_string())),
        ("start time", Cell::new(start.to_string())),
        ("end time", Cell::new(end)),
        ("wall time", Cell::new(wall)),
        ("command line", Cell::keyed(command_line(m), "command-line")),
        (
            "config SHA-256",
            Cell::keyed(m.config_sha256.clone(), "config-sha256"),
        ),
    ];
    if !extra.is_empty() {
        rows.push(("constant columns", Cell::new(extra)));
    }
    kv_table(out, rows);
    Ok(())
}

fn config_section(out: &mut String, m: &Manifest, id: &str, level: u8) {
    heading(out, level, id, "Resolved config");
    let actual = sha256_hex(m.config_ron.as_bytes());
    let check = if actual == m.config_sha256 {
        "the text below hashes to it"
    } else {
        "MISMATCH: the text below does not hash to it"
    };
    let _ = writeln!(
        out,
        "<p>SHA-256 as the manifest records it: <code data-key=\"config-hash\">{}</code> ({}). \
         Running this config with seed {} and {} runs reproduces the data (<code>clustersim verify</code>).</p>",
        esc(&m.config_sha256),
        esc(check),
        m.seed,
        m.runs
    );
    details_open(out, "The resolved scenario (RON)", false);
    pre(out, &m.config_ron);
    details_close(out);
}

/// The mean of the finite values with its 95% t interval (NaN bounds with
/// fewer than two values).
fn interval(values: &[f64]) -> (usize, f64, f64, f64) {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    match stats::mean_interval(&finite, LEVEL_95) {
        Ok(iv) => (finite.len(), iv.estimate, iv.lo, iv.hi),
        Err(_) => (finite.len(), stats::mean(&finite), f64::NAN, f64::NAN),
    }
}

fn outcomes_section(out: &mut String, outcomes: &RunOutcomes, id: &str, level: u8) {
    heading(out, level, id, "Key outcomes");
    let _ = writeln!(
        out,
        "<p>Over <span data-key=\"outcome-runs\">{}</span> runs: the mean of each outcome and its 95% \
         Student-t interval. <em>Final</em> is the value at the last step, <em>time mean</em> the mean \
         over steps 0…T of each run (as in <code>compare</code>).</p>",
        outcomes.runs.len()
    );
    let mut rows = Vec::new();
    for m in OUTCOME_METRICS {
        let (title, unit) = compare::metric_label(m);
        let mut row = vec![Cell::new(title), Cell::new(unit)];
        for when in ["final", "mean"] {
            let key = format!("{when}_{m}");
            let values = outcomes.values.get(&key).map_or(&[][..], Vec::as_slice);
            let (n, mean, lo, hi) = interval(values);
            row.push(Cell::keyed(fmt_num(mean), format!("mean:{key}")).class("num"));
            row.push(Cell::new(format!("[{}, {}]", fmt_num(lo), fmt_num(hi))).class("num"));
            if when == "mean" {
                row.push(Cell::new(n.to_string()).class("num"));
            }
        }
        rows.push(row);
    }
    table(
        out,
        &[
            "outcome",
            "unit",
            "final: mean",
            "95% CI",
            "time mean: mean",
            "95% CI",
            "n",
        ],
        rows,
    );
}

/// The numbers of runs at which the replication diagnostics are computed:
/// 5, 10, 20, 50, 100, 200, 500, … below R, then R (2…R when R < 5).
pub fn checkpoints(r: usize) -> Vec<usize> {
    if r < 2 {
        return Vec::new();
    }
    if r < 5 {
        return (2..=r).collect();
    }
    let mut ns = Vec::new();
    let mut base = 1;
    'outer: loop {
        for k in [5, 10, 20] {
            let n = k * base;
            if n >= r {
                break 'outer;
            }
            ns.push(n);
        }
        base *= 10;
    }
    ns.dedup();
    ns.push(r);
    ns
}

/// The 95% half-width of the mean of the first `n` values (finite ones).
fn half_width_first(values: &[f64], n: usize) -> f64 {
    let head: Vec<f64> = values
        .iter()
        .take(n)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    stats::mean_interval(&head, LEVEL_95).map_or(f64::NAN, |iv| iv.half_width())
}

fn replication_section(
    out: &mut String,
    outcomes: &RunOutcomes,
    id: &str,
    level: u8,
) -> anyhow::Result<()> {
    heading(out, level, id, "Replication diagnostics");
    let r = outcomes.runs.len();
    let ns = checkpoints(r);
    if ns.is_empty() {
        note(out, "One run: intervals need at least two.");
        return Ok(());
    }
    para(
        out,
        &format!(
            "How the 95% interval of the mean narrows with the number of runs: the half-width computed \
             on the first n of the {r} runs (in run order), in the outcome's unit and as a percentage of \
             the mean over all runs. It shrinks like 1/√n; \"runs for ±5%\" extrapolates it to the runs \
             that would give a half-width of 5% of the mean. Where that is far above {r}, the interval \
             is wide compared with the mean: use more runs (or compare scenarios with the paired \
             differences of `compare`, which are narrower)."
        ),
    );
    let mut series = Vec::new();
    let mut rows = Vec::new();
    for name in compare::outcome_names() {
        let values = outcomes.values.get(&name).map_or(&[][..], Vec::as_slice);
        let (_, mean, _, _) = interval(values);
        let hws: Vec<f64> = ns.iter().map(|n| half_width_first(values, *n)).collect();
        let rel: Vec<f64> = hws
            .iter()
            .map(|h| {
                if mean.abs() > 1e-12 {
                    100.0 * h / mean.abs()
                } else {
                    f64::NAN
                }
            })
            .collect();
        let last_rel = rel.last().copied().unwrap_or(f64::NAN);
        let needed = if last_rel.is_finite() && last_rel > 0.0 {
            let n = (r as f64 * (last_rel / 5.0).powi(2)).ceil().max(2.0);
            if n < 1e12 {
                format!("{n:.0}")
            } else {
                "—".to_string()
            }
        } else if last_rel == 0.0 {
            "2".to_string()
        } else {
            "—".to_string()
        };
        let mut row = vec![Cell::new(outcome_label(&name).0)];
        for (h, p) in hws.iter().zip(&rel) {
            let text = if p.is_finite() {
                format!("{} ({}%)", fmt_num(*h), fmt_num(*p))
            } else {
                fmt_num(*h)
            };
            row.push(Cell::new(text).class("num"));
        }
        row.push(Cell::keyed(needed, format!("runs-needed:{name}")).class("num"));
        rows.push(row);
        if name.starts_with("final_") {
            series.push((name.clone(), rel));
        }
    }
    let header_ns: Vec<String> = ns.iter().map(|n| format!("n = {n}")).collect();
    let mut header: Vec<&str> = vec!["outcome: half-width (% of mean)"];
    header.extend(header_ns.iter().map(String::as_str));
    header.push("runs for ±5%");
    if ns.len() >= 2 {
        let svg = render_svg(
            &charts::Replication {
                ns: ns.clone(),
                series,
            },
            1.0,
        )?;
        figure(
            out,
            &svg,
            "95% half-width of the mean of each final outcome, as % of its mean, on the first n runs.",
        );
    }
    details_open(out, "Half-widths of every outcome", r <= 200);
    table(out, &header, rows);
    details_close(out);
    Ok(())
}

fn charts_section(out: &mut String, dir: &Path, id: &str, level: u8) -> anyhow::Result<()> {
    heading(out, level, id, "Time series and the region map");
    let ts = plot::timeseries::TimeSeries::load(dir)?;
    figure(
        out,
        &render_svg(&ts, 0.75)?,
        "Key region metrics per year: mean over runs (line) and the 90% band between the 5% and 95% quantiles over runs.",
    );
    match plot::map::RegionMap::load(dir, &plot::PlotOptions::default())? {
        plot::map::Loaded::Map(m) => figure(
            out,
            &render_svg(m.as_ref(), 0.75)?,
            &format!(
                "The region of run {} at step {} (the legend in the chart says what marks and colours mean).",
                m.run, m.step
            ),
        ),
        plot::map::Loaded::Skipped(why) => note(out, &format!("No map: {why}.")),
    }
    if let Some(fd) = plot::distribution::FinalDistribution::load(dir)? {
        figure(
            out,
            &render_svg(&fd, 0.75)?,
            "Effective quality and occupancy of the operating clusters at the last step, pooled over runs.",
        );
    }
    Ok(())
}

/// Code to open a Parquet dataset at `path` (relative to the report) in
/// pandas, polars, DuckDB and R. `folder` says whether it is a folder of parts.
fn snippets(out: &mut String, path: &str, folder: bool) {
    let glob = if folder {
        format!("{path}/*.parquet")
    } else {
        path.to_string()
    };
    let py_path = format!("{path:?}");
    let text = format!(
        "# pandas\nimport pandas as pd\ndf = pd.read_parquet({py_path})\n\n\
         # polars\nimport polars as pl\ndf = pl.read_parquet({glob:?})\n\n\
         -- DuckDB\nSELECT * FROM read_parquet('{}');\n\n\
         # R (arrow)\nds <- arrow::open_dataset({py_path}); df <- dplyr::collect(ds)\n",
        glob.replace('\'', "''")
    );
    pre(out, &text);
}

/// A link to a Parquet table (folder or file) with its snippets.
fn table_link(out: &mut String, rel_path: &str, label: &str, folder: bool, detail: &str) {
    let href = if folder {
        format!("{rel_path}/")
    } else {
        rel_path.to_string()
    };
    let _ = writeln!(
        out,
        "<details><summary><a href=\"{}\">{}</a> {}</summary>",
        esc(&href),
        esc(label),
        esc(detail)
    );
    snippets(out, rel_path, folder);
    details_close(out);
}

fn links_section(
    out: &mut String,
    dir: &Path,
    rel: &str,
    id: &str,
    level: u8,
) -> anyhow::Result<()> {
    heading(out, level, id, "Parquet tables");
    note(
        out,
        "Each table is a folder of part files that opens as one dataset. Paths are relative to the folder \
         holding this report; the snippets open them from there. Columns and units: docs/outputs.md.",
    );
    let parts =
        layout::list_parts(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for t in Table::ALL {
        let files: Vec<_> = parts.iter().filter(|p| p.table == t).collect();
        if files.is_empty() {
            continue;
        }
        let bytes: u64 = files
            .iter()
            .filter_map(|p| std::fs::metadata(&p.path).ok())
            .map(|m| m.len())
            .sum();
        table_link(
            out,
            &format!("{rel}{}", t.name()),
            &format!("{rel}{}/", t.name()),
            true,
            &format!(
                "({} part file{}, {} kB)",
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                fmt_num(bytes as f64 / 1000.0)
            ),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// A comparison

fn compare_body(out: &mut String, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("comparison.parquet");
    let rows = compare::read_comparison(&path)?;
    if rows.is_empty() {
        bail!("{} has no rows", path.display());
    }
    let cmp = plot::comparison::Comparison::new(rows.clone());
    let scenarios = cmp.scenarios.clone();
    let dirs: Vec<PathBuf> = scenarios.iter().map(|s| dir.join(s)).collect();
    for (s, d) in scenarios.iter().zip(&dirs) {
        if !d.is_dir() {
            bail!(
                "{} lists scenario {s:?}, but {} is not a directory",
                path.display(),
                d.display()
            );
        }
    }
    let base_manifest = read_manifests(&dirs[0])?;
    let m = &base_manifest[0];
    heading(out, 2, "overview", "Comparison");
    let mut overview = vec![
        ("scenarios", Cell::keyed(scenarios.join(", "), "scenarios")),
        ("base", Cell::new(scenarios[0].clone())),
        ("runs per scenario", Cell::keyed(m.runs.to_string(), "runs")),
        ("seed", Cell::keyed(m.seed.to_string(), "seed")),
    ];
    overview.extend(provenance(m));
    kv_table(out, overview);
    para(
        out,
        "Every scenario ran with the same seed and run indices (common random numbers), so run r of each \
         scenario is paired with run r of the base: the paired difference and its 95% t interval below \
         are narrower than an unpaired comparison would be.",
    );

    heading(out, 2, "differences", "Paired differences");
    let mut trs = Vec::new();
    for r in &rows {
        let (title, unit) = outcome_label(&r.outcome);
        let diff = match (r.diff, r.diff_lo, r.diff_hi) {
            (Some(d), Some(lo), Some(hi)) => fmt_ci(d, lo, hi),
            _ => "base".to_string(),
        };
        let excl = match r.excludes_zero {
            Some(true) => Cell::new("yes").class("yes"),
            Some(false) => Cell::new("no"),
            None => Cell::new(""),
        };
        trs.push(vec![
            Cell::new(title),
            Cell::new(unit),
            Cell::new(r.scenario.clone()),
            Cell::new(r.n.to_string()).class("num"),
            Cell::keyed(
                fmt_ci(r.mean, r.lo, r.hi),
                format!("cmp:{}:{}", r.scenario, r.outcome),
            )
            .class("num"),
            Cell::keyed(diff, format!("diff:{}:{}", r.scenario, r.outcome)).class("num"),
            excl,
        ]);
    }
    table(
        out,
        &[
            "outcome",
            "unit",
            "scenario",
            "n",
            "mean [95% CI]",
            &format!("paired difference vs {} [95% CI]", scenarios[0]),
            "excludes 0",
        ],
        trs,
    );
    figure(
        out,
        &render_svg(&cmp, 0.7)?,
        "Each scenario's mean and 95% interval per outcome; red: the paired difference from the base excludes 0.",
    );
    if cmp.scenarios.len() > 1 {
        figure(
            out,
            &render_svg(&plot::comparison::Differences(&cmp), 0.7)?,
            "Each scenario's paired difference from the base and its 95% interval, per outcome, around zero.",
        );
    }

    heading(out, 2, "overlay", "Time series of the scenarios");
    figure(
        out,
        &render_svg(&plot::timeseries::Overlay::load(dir, &scenarios)?, 0.75)?,
        "Key region metrics of every scenario: mean (line) and 90% band over runs (shaded).",
    );

    heading(out, 2, "comparison-table", "The comparison table");
    table_link(
        out,
        "comparison.parquet",
        "comparison.parquet",
        false,
        "(one row per scenario and outcome)",
    );

    heading(out, 2, "scenarios", "Each scenario");
    for (i, (s, d)) in scenarios.iter().zip(&dirs).enumerate() {
        details_open(
            out,
            &format!(
                "Scenario {s}{}: manifest, config, outcomes, diagnostics, charts, tables",
                if i == 0 { " (base)" } else { "" }
            ),
            false,
        );
        run_body(out, d, &format!("{s}/"), 3, true)?;
        details_close(out);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// A sweep

/// A parameter column of `design.parquet`: numbers, or text categories.
struct Parameter {
    name: String,
    xs: Vec<f64>,
    categories: Vec<String>,
    labels: Vec<String>,
}

fn read_design(path: &Path) -> anyhow::Result<(Vec<usize>, Vec<Parameter>)> {
    let df = crate::output::parquet::read(path)
        .with_context(|| format!("{} is damaged or not a design table", path.display()))?;
    let bad = |c: &str| format!("{}: cannot read column `{c}`", path.display());
    let point = df.column("point").with_context(|| {
        format!(
            "{} has no column `point`: not a design table of `clustersim sweep`",
            path.display()
        )
    })?;
    let point = point
        .cast(&DataType::Float64)
        .with_context(|| bad("point"))?;
    let points: Vec<usize> = point
        .f64()
        .with_context(|| bad("point"))?
        .iter()
        .map(|v| {
            v.filter(|v| v.is_finite() && *v >= 0.0)
                .map_or(0, |v| v as usize)
        })
        .collect();
    // The config path of each column (`clustersim.factors`: column name →
    // path, e.g. `government__leakage` → `government.leakage`); a column
    // without one is shown by its name.
    let paths: std::collections::BTreeMap<String, String> =
        crate::output::parquet::key_value_metadata(path)
            .ok()
            .and_then(|kv| {
                kv.into_iter()
                    .find(|(k, _)| k == "clustersim.factors")
                    .and_then(|(_, v)| serde_json::from_str(&v).ok())
            })
            .unwrap_or_default();
    let mut params = Vec::new();
    for c in df.columns() {
        let column = c.name().as_str().to_string();
        if column == "point" {
            continue;
        }
        let name = paths.get(&column).cloned().unwrap_or(column);
        let dtype = c.dtype();
        if dtype.is_primitive_numeric() || matches!(dtype, DataType::Boolean) {
            let s = c.cast(&DataType::Float64).with_context(|| bad(&name))?;
            let xs: Vec<f64> = s
                .f64()
                .with_context(|| bad(&name))?
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect();
            let labels = xs.iter().map(|v| fmt_num(*v)).collect();
            params.push(Parameter {
                name,
                xs,
                categories: Vec::new(),
                labels,
            });
        } else {
            let s = c.cast(&DataType::String).with_context(|| bad(&name))?;
            let labels: Vec<String> = s
                .str()
                .with_context(|| bad(&name))?
                .iter()
                .map(|v| v.unwrap_or("").to_string())
                .collect();
            let mut categories: Vec<String> = Vec::new();
            for l in &labels {
                if !categories.contains(l) {
                    categories.push(l.clone());
                }
            }
            let xs = labels
                .iter()
                .map(|l| categories.iter().position(|c| c == l).unwrap_or(0) as f64)
                .collect();
            params.push(Parameter {
                name,
                xs,
                categories,
                labels,
            });
        }
    }
    Ok((points, params))
}

fn sweep_body(out: &mut String, dir: &Path) -> anyhow::Result<()> {
    let design_path = dir.join("design.parquet");
    let (points, params) = read_design(&design_path)?;
    if points.is_empty() {
        bail!("{} has no rows", design_path.display());
    }
    let dirs: Vec<PathBuf> = points
        .iter()
        .map(|p| crate::sweep::point_dir(dir, *p))
        .collect();
    for d in &dirs {
        if !d.is_dir() {
            bail!(
                "{} lists a design point whose directory {} is missing",
                design_path.display(),
                d.display()
            );
        }
    }
    let first = read_manifests(&dirs[0])?;
    let m = &first[0];
    heading(out, 2, "overview", "Sweep");
    let mut overview = vec![
        (
            "design points",
            Cell::keyed(points.len().to_string(), "points"),
        ),
        (
            "parameters",
            Cell::keyed(
                params
                    .iter()
                    .map(|p| p.name.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
                "parameters",
            ),
        ),
        ("runs per point", Cell::keyed(m.runs.to_string(), "runs")),
        ("seed", Cell::keyed(m.seed.to_string(), "seed")),
    ];
    overview.extend(provenance(m));
    kv_table(out, overview);
    para(
        out,
        "Every point ran with the same seed and run indices (common random numbers across the design).",
    );

    let outcome_names = compare::outcome_names();
    let mut per_point: Vec<Vec<(f64, f64, f64)>> = Vec::new();
    for d in &dirs {
        let o = compare::read_outcomes(d)?;
        per_point.push(
            outcome_names
                .iter()
                .map(|n| {
                    let (_, mean, lo, hi) =
                        interval(o.values.get(n).map_or(&[][..], Vec::as_slice));
                    (mean, lo, hi)
                })
                .collect(),
        );
    }

    heading(out, 2, "design", "Design points");
    let key_outcomes = ["final_firms_clusters", "final_mean_quality", "final_tax"];
    let mut header: Vec<String> = vec!["point".into()];
    header.extend(params.iter().map(|p| p.name.clone()));
    header.extend(key_outcomes.iter().map(|o| outcome_label(o).0));
    let mut rows = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let mut row = vec![Cell::new(format!("point-{p:04}"))];
        for par in &params {
            row.push(Cell::new(par.labels[i].clone()).class("num"));
        }
        for o in key_outcomes {
            let k = outcome_names.iter().position(|n| n == o).unwrap_or(0);
            let (mean, lo, hi) = per_point[i][k];
            row.push(Cell::keyed(fmt_ci(mean, lo, hi), format!("sweep:{p}:{o}")).class("num"));
        }
        rows.push(row);
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    table(out, &header, rows);

    heading(out, 2, "outcomes", "Outcomes against each parameter");
    for (k, par) in params.iter().enumerate() {
        details_open(out, &format!("Against {}", par.name), k == 0);
        let fig = charts::SweepPanels {
            parameter: par.name.clone(),
            xs: par.xs.clone(),
            categories: par.categories.clone(),
            outcomes: outcome_names
                .iter()
                .enumerate()
                .map(|(j, o)| charts::OutcomePoints {
                    outcome: o.clone(),
                    values: per_point.iter().map(|v| v[j]).collect(),
                })
                .collect(),
        };
        figure(
            out,
            &render_svg(&fig, 0.8)?,
            &format!(
                "Each outcome's mean and 95% interval at each design point, against {}{}.",
                par.name,
                if params.len() > 1 {
                    " (the other parameters vary too)"
                } else {
                    ""
                }
            ),
        );
        details_close(out);
    }
    details_open(out, "Every outcome at every point (mean [95% CI])", false);
    let mut header: Vec<String> = vec!["outcome".into()];
    header.extend(points.iter().map(|p| format!("point {p}")));
    let rows = outcome_names
        .iter()
        .enumerate()
        .map(|(j, o)| {
            let mut row = vec![Cell::new(outcome_label(o).0)];
            row.extend(
                per_point
                    .iter()
                    .map(|v| Cell::new(fmt_ci(v[j].0, v[j].1, v[j].2)).class("num")),
            );
            row
        })
        .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    table(out, &header, rows);
    details_close(out);

    heading(out, 2, "tables", "Parquet tables");
    note(
        out,
        "design.parquet joins every point's tables on the constant column `point`. Paths are relative to \
         the folder holding this report.",
    );
    table_link(
        out,
        "design.parquet",
        "design.parquet",
        false,
        "(one row per point)",
    );
    let tables: Vec<&str> = Table::ALL
        .iter()
        .map(|t| t.name())
        .filter(|t| dirs[0].join(t).is_dir())
        .collect();
    for t in tables {
        let _ = writeln!(
            out,
            "<details><summary>{t} of every point: <code>point-*/{t}/</code></summary>"
        );
        pre(
            out,
            &format!(
                "# pandas / pyarrow\nimport pyarrow.dataset as ds\ndf = ds.dataset(\"point-0000/{t}\").to_table().to_pandas()  # one point\n\n\
                 # polars (all points)\nimport polars as pl\ndf = pl.read_parquet(\"point-*/{t}/*.parquet\")\n\n\
                 -- DuckDB (all points, joined with the design)\n\
                 SELECT d.*, t.* FROM read_parquet('point-*/{t}/*.parquet') t JOIN 'design.parquet' d USING (point);\n\n\
                 # R (arrow)\nds <- arrow::open_dataset(Sys.glob(\"point-*/{t}/*.parquet\")); df <- dplyr::collect(ds)\n"
            ),
        );
        details_close(out);
    }

    heading(out, 2, "points", "Each design point");
    // Time series and maps of every point would make a large design's page
    // huge: they are drawn for small designs only.
    let charts = points.len() <= MAX_POINT_CHARTS;
    if !charts {
        note(
            out,
            &format!(
                "{} points: each point's time series and map are left out (drawn up to {MAX_POINT_CHARTS} \
                 points); `clustersim report point-NNNN` draws one point's.",
                points.len()
            ),
        );
    }
    for (p, d) in points.iter().zip(&dirs) {
        details_open(
            out,
            &format!("point-{p:04}: manifest, config, outcomes, diagnostics, charts, tables"),
            false,
        );
        run_body(out, d, &format!("point-{p:04}/"), 3, charts)?;
        details_close(out);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// A sensitivity analysis

fn sensitivity_body(out: &mut String, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join("sensitivity.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON: not the manifest of `clustersim sensitivity`",
            path.display()
        )
    })?;
    let settings = &json["settings"];
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "—".to_string(),
        other => other.to_string(),
    };
    heading(out, 2, "manifest", "Manifest");
    let params = settings["params"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| format!("{} ∈ [{}, {}]", s(&p["path"]), s(&p["lo"]), s(&p["hi"])))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    let command_line = json["command_line"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| shell_word(&s(w)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    kv_table(
        out,
        vec![
            ("format", Cell::new(s(&json["format"]))),
            (
                "clustersim version",
                Cell::keyed(s(&json["clustersim_version"]), "version"),
            ),
            ("method", Cell::keyed(s(&settings["method"]), "method")),
            ("parameters", Cell::keyed(params, "parameters")),
            ("design points", Cell::keyed(s(&json["points"]), "points")),
            (
                "replicates per point",
                Cell::keyed(s(&settings["runs"]), "runs"),
            ),
            (
                "samples (trajectories or N)",
                Cell::new(s(&settings["samples"])),
            ),
            ("levels (Morris)", Cell::new(s(&settings["levels"]))),
            (
                "second order (Sobol)",
                Cell::new(s(&settings["second_order"])),
            ),
            ("seed", Cell::keyed(s(&settings["seed"]), "seed")),
            ("bootstrap resamples", Cell::new(s(&settings["resamples"]))),
            ("every step", Cell::new(s(&settings["every_step"]))),
            ("command line", Cell::keyed(command_line, "command-line")),
        ],
    );
    heading(out, 2, "config", "Config");
    let _ = writeln!(
        out,
        "<p>SHA-256 of the resolved base scenario, as sensitivity.json records it: \
         <code data-key=\"config-hash\">{}</code>. A sensitivity directory does not store the config \
         itself: rerun the command line above from the same config file (the hash identifies it).</p>",
        esc(&s(&settings["config_sha256"]))
    );
    details_open(out, "sensitivity.json", false);
    pre(out, &text);
    details_close(out);

    heading(out, 2, "indices", "Sensitivity indices");
    let main = dir.join("sensitivity.parquet");
    if !main.is_file() {
        warn(
            out,
            &format!(
                "{} is absent: the design is not complete yet (run the other shards, then any shard again \
                 with --resume to analyse).",
                main.display()
            ),
        );
    } else {
        let rows = crate::sensitivity::read_index_rows(&main)?;
        let fig = plot::sensitivity::Sensitivity::new(rows.clone(), false);
        if !fig.rows.is_empty() {
            figure(
                out,
                &render_svg(&fig, 0.7)?,
                "The main index of each parameter per outcome with its 95% bootstrap interval \
                 (Morris: mu_star; Sobol: S1 and ST).",
            );
        }
        let conv = dir.join("convergence.parquet");
        if conv.is_file() {
            let crows = crate::sensitivity::read_index_rows(&conv)?;
            let cfig = plot::sensitivity::Sensitivity::new(crows, true);
            if !cfig.rows.is_empty() {
                figure(
                    out,
                    &render_svg(&cfig, 0.7)?,
                    "Convergence: the indices on the first n trajectories or base samples of the design.",
                );
            }
        }
        details_open(out, "Every index (value ± 95% bootstrap half-width)", true);
        let trs = rows
            .iter()
            .filter(|r| r.step.is_none())
            .map(|r| {
                let param = match (&r.parameter, &r.parameter2) {
                    (Some(a), Some(b)) => format!("{a} × {b}"),
                    (Some(a), None) => a.clone(),
                    _ => "(replicate noise)".to_string(),
                };
                let value = match r.conf {
                    Some(c) => format!("{} ± {}", fmt_num(r.value), fmt_num(c)),
                    None => fmt_num(r.value),
                };
                vec![
                    Cell::new(outcome_label(&r.outcome).0),
                    Cell::new(param.clone()),
                    Cell::new(r.index.clone()),
                    Cell::new(r.n.to_string()).class("num"),
                    Cell::keyed(value, format!("index:{}:{}:{}", r.outcome, param, r.index))
                        .class("num"),
                ]
            })
            .collect();
        table(out, &["outcome", "parameter", "index", "n", "value"], trs);
        details_close(out);
    }

    heading(out, 2, "tables", "Parquet tables");
    note(
        out,
        "Paths are relative to the folder holding this report; schemas in docs/sensitivity.md.",
    );
    for (f, what) in [
        ("design.parquet", "(the design: one row per point)"),
        (
            "points.parquet",
            "(each point's replicate mean per outcome)",
        ),
        ("sensitivity.parquet", "(the indices)"),
        (
            "convergence.parquet",
            "(the indices on the first n samples)",
        ),
    ] {
        if dir.join(f).is_file() {
            table_link(out, f, f, false, what);
        }
    }
    let has_reps = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("replicates-part-")
        });
    if has_reps {
        details_open(
            out,
            "replicates-part-*.parquet (one row per point and replicate)",
            false,
        );
        snippets(out, "replicates-part-*.parquet", false);
        details_close(out);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// validate-model results

/// The file `validate-model --json` writes and the report shows when present.
pub const VALIDATION_FILE: &str = "validation.json";

fn validation_section(out: &mut String, dir: &Path) -> anyhow::Result<()> {
    let path = dir.join(VALIDATION_FILE);
    heading(out, 2, "validation", "Model validation (P1–P9)");
    if !path.is_file() {
        note(
            out,
            &format!(
                "No {VALIDATION_FILE} here. `clustersim validate-model CONFIG --json {}` checks the \
                 stylised facts P1–P9 against their negative controls and writes it; a report made after \
                 that shows the results.",
                path.display()
            ),
        );
        return Ok(());
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON written by validate-model --json",
            path.display()
        )
    })?;
    let checks = json["checks"].as_array().with_context(|| {
        format!(
            "{} has no `checks` list: not written by validate-model --json",
            path.display()
        )
    })?;
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    para(
        out,
        &format!(
            "From {VALIDATION_FILE}: {} runs per variant, seed {}, config SHA-256 {}.",
            s(&json["runs"]),
            s(&json["seed"]),
            s(&json["config_sha256"])
        ),
    );
    let mut rows = Vec::new();
    for c in checks {
        let pass = c["pass"].as_bool().unwrap_or(false);
        let control = &c["control"];
        let (cname, cvalue, cpass) = if control.is_object() {
            let p = control["pass"].as_bool().unwrap_or(false);
            (
                s(&control["name"]),
                s(&control["value"]),
                if p {
                    "passed (should fail)"
                } else {
                    "fails, as it should"
                },
            )
        } else {
            (String::new(), String::new(), "")
        };
        let holds = c["holds"].as_bool().unwrap_or(false);
        rows.push(vec![
            Cell::new(s(&c["id"])),
            Cell::new(s(&c["pattern"])),
            Cell::new(s(&c["band"])),
            Cell::new(s(&c["value"])),
            Cell::new(if pass { "pass" } else { "FAIL" }).class(if pass { "pass" } else { "fail" }),
            Cell::new(cname),
            Cell::new(cvalue),
            Cell::new(cpass),
            Cell::keyed(
                if holds { "holds" } else { "does not hold" },
                format!("check:{}", s(&c["id"])),
            )
            .class(if holds { "pass" } else { "fail" }),
        ]);
    }
    table(
        out,
        &[
            "check",
            "pattern",
            "band",
            "baseline",
            "",
            "negative control",
            "control value",
            "control",
            "verdict",
        ],
        rows,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_grow_to_r() {
        assert_eq!(checkpoints(1), Vec::<usize>::new());
        assert_eq!(checkpoints(3), vec![2, 3]);
        assert_eq!(checkpoints(5), vec![5]);
        assert_eq!(checkpoints(8), vec![5, 8]);
        assert_eq!(checkpoints(20), vec![5, 10, 20]);
        assert_eq!(checkpoints(250), vec![5, 10, 20, 50, 100, 200, 250]);
    }

    #[test]
    fn contents_list_the_sections() {
        let mut body = String::new();
        heading(&mut body, 2, "a", "Alpha & co");
        heading(&mut body, 3, "b", "Beta");
        let c = contents(&body);
        assert!(c.contains("<a href=\"#a\">Alpha &amp; co</a>"), "{c}");
        assert!(!c.contains("Beta"), "{c}");
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_word("--runs"), "--runs");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
