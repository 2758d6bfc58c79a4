//! `clustersim compare`: scenarios run with common random numbers through the
//! same code path as the command; pairing pays (the paired interval of a
//! difference between two close scenarios is narrower than the unpaired one
//! from independent seeds); the command prints a table, writes
//! `comparison.parquet` and, with `--plot`, the charts.

use std::path::{Path, PathBuf};
use std::process::Command;

use clustersim::compare::{
    read_comparison, read_outcomes, run_comparison, CompareSpec, OUTCOME_METRICS,
};
use clustersim::experiment::{run_job, scenario_ron, JobSpec};
use clustersim::output::layout::Shard;
use clustersim::plot::data::{num, read_table};
use clustersim::stats::{paired_difference, welch_difference, LEVEL_95};

fn small() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/small.ron")
}

/// A scenario close to `small.ron`: leakage 0.25 instead of 0.3.
fn close_variant(dir: &Path) -> PathBuf {
    let path = dir.join("small_leak25.ron");
    let text = format!(
        "(\n    base: {:?},\n    government: (leakage: 0.25),\n)\n",
        small().display().to_string()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn spec(configs: Vec<PathBuf>, out: &Path, runs: u32, seed: u64) -> CompareSpec {
    CompareSpec {
        configs,
        runs: Some(runs),
        seed: Some(seed),
        threads: Some(2),
        out: Some(out.to_path_buf()),
        name: None,
        force: false,
        resume: false,
        quiet: true,
        command_line: vec!["test".into()],
    }
}

#[test]
fn pairing_pays_against_independent_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let variant = close_variant(tmp.path());
    let runs = 12;
    let report = run_comparison(&spec(
        vec![small(), variant.clone()],
        &tmp.path().join("cmp"),
        runs,
        11,
    ))
    .unwrap();
    assert_eq!(report.scenarios, ["small", "small_leak25"]);
    assert_eq!(report.rows.len(), 2 * 2 * OUTCOME_METRICS.len());
    assert_eq!(read_comparison(&report.comparison).unwrap(), report.rows);

    // The same variant with an independent master seed.
    let scenario = clustersim::config::load(&variant).unwrap();
    let indep_dir = tmp.path().join("independent");
    run_job(&JobSpec {
        scenario_ron: scenario_ron(&scenario),
        scenario,
        name: "independent".into(),
        out_dir: indep_dir.clone(),
        runs,
        seed: 12_345,
        threads: Some(2),
        shard: Shard::default(),
        keep_firms: false,
        force: false,
        resume: false,
        batch: 64,
        quiet: true,
        extra: Vec::new(),
        record: Default::default(),
        command_line: vec!["test".into()],
    })
    .unwrap();

    let base = read_outcomes(&report.dirs[0]).unwrap();
    let paired_variant = read_outcomes(&report.dirs[1]).unwrap();
    let independent = read_outcomes(&indep_dir).unwrap();
    for outcome in [
        "mean_mean_quality",
        "final_mean_quality",
        "mean_firms_clusters",
    ] {
        let a = &base.values[outcome];
        let paired = paired_difference(a, &paired_variant.values[outcome], LEVEL_95).unwrap();
        let unpaired = welch_difference(a, &independent.values[outcome], LEVEL_95).unwrap();
        assert!(
            paired.half_width() < 0.75 * unpaired.half_width(),
            "{outcome}: paired ±{} should be clearly narrower than unpaired ±{}",
            paired.half_width(),
            unpaired.half_width()
        );
        // The row written for the variant carries this paired interval.
        let row = report
            .rows
            .iter()
            .find(|r| r.scenario == "small_leak25" && r.outcome == outcome)
            .unwrap();
        assert_eq!(row.diff, Some(paired.estimate));
        assert_eq!(row.diff_lo, Some(paired.lo));
    }
}

#[test]
fn same_seed_gives_identical_base_runs_and_the_first_scenario_has_no_difference() {
    let tmp = tempfile::tempdir().unwrap();
    let report = run_comparison(&spec(
        vec![small(), close_variant(tmp.path())],
        &tmp.path().join("c"),
        3,
        5,
    ))
    .unwrap();
    for r in report.rows.iter().filter(|r| r.scenario == "small") {
        assert_eq!((r.diff, r.excludes_zero), (None, None), "{r:?}");
        assert_eq!(r.n, 3);
    }
    let a = read_outcomes(&report.dirs[0]).unwrap();
    let b = read_outcomes(&report.dirs[1]).unwrap();
    assert_eq!(a.runs, vec![0, 1, 2]);
    assert_eq!(a.runs, b.runs);
    // Step 0 is the initial draw, before any policy acts: under common random
    // numbers run r of both scenarios starts from the same world.
    let cols = [num("run"), num("step"), num("firms"), num("revenue")];
    let step0 = |dir: &Path| -> Vec<(f64, f64, f64)> {
        let t = read_table(dir, "region", &cols).unwrap().unwrap();
        (0..t.len)
            .filter(|i| t.f("step")[*i] == 0.0)
            .map(|i| (t.f("run")[i], t.f("revenue")[i], t.f("firms")[i]))
            .collect()
    };
    let (s0a, s0b) = (step0(&report.dirs[0]), step0(&report.dirs[1]));
    assert_eq!(s0a.len(), 3);
    assert_eq!(s0a, s0b);
    assert_ne!(
        s0a[0].1, s0a[1].1,
        "different runs start from different draws"
    );

    // Every table of every scenario carries its `scenario` (utf8) first.
    for (dir, name) in report.dirs.iter().zip(&report.scenarios) {
        let parts = clustersim::output::layout::list_parts(dir).unwrap();
        let tables: std::collections::BTreeSet<_> = parts.iter().map(|p| p.table).collect();
        assert_eq!(tables.len(), 4, "{parts:?}");
        for part in parts {
            let df = clustersim::output::parquet::read(&part.path).unwrap();
            assert_eq!(df.get_column_names()[0].as_str(), "scenario");
            let col = df.column("scenario").unwrap().str().unwrap();
            assert_eq!(col.len(), df.height());
            assert!(
                col.iter().all(|v| v == Some(name.as_str())),
                "{}",
                part.path.display()
            );
        }
    }
    // comparison.parquet carries the job's provenance.
    let kv: std::collections::BTreeMap<String, String> =
        clustersim::output::parquet::key_value_metadata(&report.comparison)
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(kv["clustersim.seed"], "5");
    assert_eq!(kv["clustersim.runs"], "3");
    assert_eq!(kv["clustersim.scenarios"], r#"["small","small_leak25"]"#);
    assert_eq!(kv["clustersim.config_sha256.small"].len(), 64);
    assert!(kv.contains_key("clustersim.config_sha256.small_leak25"));
}

fn clustersim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn compare_command_prints_the_table_and_plots() {
    let tmp = tempfile::tempdir().unwrap();
    let variant = close_variant(tmp.path());
    let out = tmp.path().join("cmp");
    let o = clustersim(&[
        "compare",
        small().to_str().unwrap(),
        variant.to_str().unwrap(),
        "--runs",
        "3",
        "--seed",
        "7",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
        "--plot",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for needle in [
        "paired diff. vs small [95% CI]",
        "Mean effective quality Q, final",
        "small_leak25",
        "3 runs per scenario",
    ] {
        assert!(
            stdout.contains(needle),
            "stdout lacks {needle:?}:\n{stdout}"
        );
    }
    assert!(out.join("comparison.parquet").is_file());
    assert!(out.join("plots/comparison.png").is_file());
    assert!(out.join("plots/small_leak25/timeseries.svg").is_file());
    // The scenarios' time series overlaid, one line per scenario, one legend.
    let overlay = std::fs::read_to_string(out.join("plots/comparison_timeseries.svg")).unwrap();
    assert!(overlay.contains("Scenarios overlaid"), "overlay title");
    for name in ["small", "small_leak25"] {
        assert_eq!(
            overlay.matches(&format!(">\n{name}\n</text>")).count(),
            1,
            "{name} named once, in the legend"
        );
    }
    // `plot` on the compare directory draws the same charts.
    std::fs::remove_dir_all(out.join("plots")).unwrap();
    let o = clustersim(&["plot", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for chart in [
        "comparison.svg",
        "comparison_differences.svg",
        "comparison_timeseries.svg",
        "comparison_timeseries.png",
        "small_leak25/timeseries.svg",
    ] {
        assert!(
            out.join("plots").join(chart).is_file(),
            "plot draws {chart}"
        );
    }
    // Each scenario's charts are titled with it.
    for chart in ["timeseries.svg", "final_distribution.svg"] {
        let svg = std::fs::read_to_string(out.join("plots/small_leak25").join(chart)).unwrap();
        assert!(svg.contains("scenario small_leak25"), "{chart}");
    }

    // `export` writes one tidy CSV per table over both scenarios.
    let o = clustersim(&["export", out.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let region = std::fs::read_to_string(out.join("csv/region.csv")).unwrap();
    let mut lines = region.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("scenario,run,step,year,firms,"));
    let rows: Vec<&str> = lines.collect();
    let steps = clustersim::config::load(small()).unwrap().time.steps as usize;
    assert_eq!(rows.len(), 2 * 3 * (steps + 1));
    assert_eq!(
        rows.iter()
            .filter(|l| l.starts_with("small_leak25,"))
            .count(),
        3 * (steps + 1)
    );
    let comparison = std::fs::read_to_string(out.join("csv/comparison.csv")).unwrap();
    assert!(
        comparison.starts_with("scenario,outcome,n,mean,lo,hi,diff,"),
        "{comparison}"
    );
    assert!(!std::fs::read_dir(out.join("csv")).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with('.')));
    let o = clustersim(&["export", tmp.path().join("nothing").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a directory"));
    let o = clustersim(&["export", out.to_str().unwrap(), "--to", "xlsx"]);
    assert_eq!(o.status.code(), Some(2));

    // Running again without --force refuses to overwrite, naming the directory.
    let o = clustersim(&[
        "compare",
        small().to_str().unwrap(),
        variant.to_str().unwrap(),
        "--runs",
        "3",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--force"));

    let o = clustersim(&[
        "compare",
        small().to_str().unwrap(),
        variant.to_str().unwrap(),
        "--runs",
        "1",
        "--out",
        tmp.path().join("one").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("--runs 1") && stderr.contains("at least 2"),
        "{stderr}"
    );

    let o = clustersim(&["compare", small().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "one scenario is not a comparison");
}
