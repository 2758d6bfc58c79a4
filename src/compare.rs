//! Policy comparison: the `comparison.parquet` schema (one row per scenario ×
//! outcome), its writer and reader, and the outcomes compared.
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

use std::path::Path;

use anyhow::Context;
use polars::prelude::{DataFrame, ParquetWriter, PolarsResult};

use crate::plot::data::{self, num, text};

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

/// Write `rows` to `path` as Parquet, atomically.
pub fn write_comparison(path: &Path, rows: &[ComparisonRow]) -> anyhow::Result<()> {
    let mut df = comparison_frame(rows).context("building the comparison table")?;
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .finish(&mut df)
        .with_context(|| format!("encoding {}", path.display()))?;
    crate::plot::write_atomic(path, &buf)
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
