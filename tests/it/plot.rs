//! `clustersim plot`: charts of a synthetic output directory (written with
//! polars, integer columns as u32/u64 like the real writer, shards as part
//! files) and of a comparison table. Checks that every chart exists as PNG and
//! SVG, that PNGs decode to the announced size with drawn text and marks, and
//! that SVGs carry titles, axis labels and legends.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use clustersim::compare::{write_comparison, ComparisonRow};
use clustersim::plot::{plot_comparison, plot_dir, PlotOptions};
use polars::prelude::*;

const RUNS: u32 = 3;
const STEPS: u32 = 6;
const CLUSTERS: u32 = 4;
const RESIDENTIAL: u32 = 3;

fn write(df: &mut DataFrame, path: &Path) {
    let mut f = File::create(path).unwrap();
    ParquetWriter::new(&mut f).finish(df).unwrap();
}

/// Region rows for `runs`, every region column of the real schema.
fn region(runs: &[u32]) -> DataFrame {
    let mut run = Vec::new();
    let mut step = Vec::new();
    for r in runs {
        for s in 0..STEPS {
            run.push(*r);
            step.push(s);
        }
    }
    let n = run.len();
    let v = |k: f64| -> Vec<f64> {
        run.iter()
            .zip(&step)
            .map(|(r, s)| k * (1.0 + f64::from(*s)) + f64::from(*r))
            .collect()
    };
    let c = |k: u64| -> Vec<u64> {
        run.iter()
            .zip(&step)
            .map(|(r, s)| k * u64::from(*s) + u64::from(*r))
            .collect()
    };
    let df = df!(
        "run" => run.clone(),
        "step" => step.clone(),
        "year" => step.iter().map(|s| 2020.0 + f64::from(*s)).collect::<Vec<_>>(),
        "firms" => c(100),
        "firms_clusters" => c(40),
        "firms_residential" => c(60),
        "polluting_residential" => c(5),
        "entries" => c(3),
        "exits" => c(1),
        "relocations" => c(2),
        "forced_closures" => c(0),
        "employment" => v(1000.0),
        "revenue" => v(50.0),
        "tax" => v(2.0),
        "budget" => v(10.0),
        "spent" => v(9.0),
        "leakage" => v(1.0),
        "waste" => v(0.1),
        "clusters_operating" => c(1),
        "clusters_complete" => c(1),
        "mean_quality" => step.iter().map(|s| 0.1 * f64::from(*s)).collect::<Vec<_>>(),
        "links" => c(7),
        "max_degree" => c(1),
        "pollution_residential" => v(3.0),
        "pollution_untreated" => v(0.5),
    )
    .unwrap();
    assert_eq!(df.height(), n);
    df
}

fn clusters() -> DataFrame {
    let (mut run, mut step, mut cluster, mut status) = (vec![], vec![], vec![], vec![]);
    for r in 0..RUNS {
        for s in 0..STEPS {
            for k in 0..CLUSTERS {
                run.push(r);
                step.push(s);
                cluster.push(k);
                // Cluster 3 stays planned; the others operate.
                status.push(if k == 3 { "planned" } else { "operating" });
            }
        }
    }
    let x = |f: &dyn Fn(u32, u32, u32) -> f64| -> Vec<f64> {
        (0..run.len())
            .map(|i| f(run[i], step[i], cluster[i]))
            .collect()
    };
    df!(
        "run" => run.clone(),
        "step" => step.clone(),
        "cluster" => cluster.clone(),
        "status" => status.clone(),
        "area_ha" => x(&|_, _, k| 20.0 + 10.0 * f64::from(k)),
        "occupancy" => x(&|r, s, k| (0.1 * f64::from(s) + 0.05 * f64::from(k + r)).min(1.0)),
        "firms" => cluster.iter().zip(&step).map(|(k, s)| u64::from(*s * (k + 1))).collect::<Vec<_>>(),
        "employment" => x(&|_, s, _| 100.0 * f64::from(s)),
        "revenue" => x(&|_, s, _| 5.0 * f64::from(s)),
        "quality" => x(&|r, s, k| 0.2 + 0.1 * f64::from(k) + 0.05 * f64::from(s) + 0.01 * f64::from(r)),
        "complete" => cluster.iter().map(|k| *k == 0).collect::<Vec<_>>(),
        "investment" => x(&|_, _, _| 1.0),
        "links" => cluster.iter().map(|_| 2_u64).collect::<Vec<_>>(),
        "labor_pool" => x(&|_, _, _| 500.0),
        "shortage" => x(&|_, _, _| 0.0),
    )
    .unwrap()
}

fn sites() -> DataFrame {
    let mut kind = vec![];
    let mut site = vec![];
    let mut x = vec![];
    let mut y = vec![];
    let mut craft = vec![];
    for k in 0..CLUSTERS {
        kind.push("cluster");
        site.push(k);
        x.push(-20.0 + 12.0 * f64::from(k));
        y.push(5.0 * f64::from(k));
        craft.push(false);
    }
    for r in 0..RESIDENTIAL {
        kind.push("residential");
        site.push(r);
        x.push(10.0 - 8.0 * f64::from(r));
        y.push(-15.0 + 4.0 * f64::from(r));
        craft.push(r == 0);
    }
    df!(
        "kind" => kind,
        "site" => site,
        "x" => x,
        "y" => y,
        "craft_village" => craft,
    )
    .unwrap()
}

fn firms() -> DataFrame {
    // Run 0: residential site 1 keeps two polluting firms, site 0 one.
    df!(
        "run" => [0_u32, 0, 0, 0, 1],
        "firm" => [1_u64, 2, 3, 4, 5],
        "site" => [1_u32, 1, 0, 2, 2],
        "site_kind" => ["residential", "residential", "residential", "cluster", "residential"],
        "polluting" => [true, true, true, true, true],
    )
    .unwrap()
}

/// A run directory: region in two shard part files in its folder, clusters,
/// and optionally sites and firms, as single files.
fn output_dir(with_sites: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("region")).unwrap();
    write(
        &mut region(&[0, 2]),
        &d.join("region/part-0000-of-0002-b00000.parquet"),
    );
    write(
        &mut region(&[1]),
        &d.join("region/part-0001-of-0002-b00000.parquet"),
    );
    write(&mut clusters(), &d.join("clusters.parquet"));
    if with_sites {
        write(&mut sites(), &d.join("sites.parquet"));
        write(&mut firms(), &d.join("firms.parquet"));
    }
    dir
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{} is a PNG", path.display());
    assert_eq!(&b[12..16], b"IHDR");
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

/// Decoded RGB pixels of a PNG.
fn png_pixels(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .expect("PNG size fits in memory")
    ];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

/// Non-white pixels in the rows `y0..y1` (the title band, say).
fn ink(w: u32, pixels: &[u8], y0: u32, y1: u32) -> usize {
    let row = 3 * w as usize;
    pixels[y0 as usize * row..y1 as usize * row]
        .chunks(3)
        .filter(|p| p.iter().any(|c| *c < 200))
        .count()
}

fn svg(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn plot_dir_draws_every_chart_as_png_and_svg() {
    let dir = output_dir(true);
    let out = dir.path().join("plots");
    let files = plot_dir(dir.path(), &out, &PlotOptions::default()).unwrap();
    assert_eq!(
        names(&files),
        [
            "timeseries.png",
            "timeseries.svg",
            "final_distribution.png",
            "final_distribution.svg",
            "map_run0_step5.png",
            "map_run0_step5.svg",
        ]
    );
    for f in &files {
        assert!(f.is_file(), "{} exists", f.display());
    }
    // To look at the charts: CLUSTERSIM_KEEP_PLOTS=/some/dir cargo test ….
    if let Some(keep) = std::env::var_os("CLUSTERSIM_KEEP_PLOTS") {
        std::fs::create_dir_all(&keep).unwrap();
        for f in &files {
            std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
        }
    }
    assert_eq!(png_size(&out.join("timeseries.png")), (1000, 2100));
    assert_eq!(png_size(&out.join("final_distribution.png")), (1000, 900));
    assert_eq!(png_size(&out.join("map_run0_step5.png")), (1000, 1300));

    // Text is rasterised with the embedded font: the title band has ink.
    let (w, h, px) = png_pixels(&out.join("timeseries.png"));
    assert_eq!((w, h), (1000, 2100));
    assert!(ink(w, &px, 0, 40) > 500, "title drawn in the PNG");
    assert!(ink(w, &px, 40, h) > 20_000, "panels drawn in the PNG");

    // All three runs (from both part files) enter the means.
    let ts = svg(&out.join("timeseries.svg"));
    // Titles wrap to the figure's width; the legend is drawn once.
    for needle in [
        "Key region metrics by year: mean",
        "and 90% band over 3 runs",
        "Firms in clusters",
        "Polluting,",
        "Mean quality Q",
        "bn VND/step",
        "mean over 3 runs",
        "90% band (5–95% quantiles over runs)",
    ] {
        assert!(ts.contains(needle), "timeseries.svg lacks {needle:?}");
    }

    let fd = svg(&out.join("final_distribution.svg"));
    // Last step 5: three operating clusters in each of three runs.
    for needle in [
        "Operating clusters at the last step",
        "(5), pooled over runs",
        "Quality Q: mean",
        "Occupancy",
        "operating clusters × runs (n = 9)",
        "clusters × runs",
    ] {
        assert!(
            fd.contains(needle),
            "final_distribution.svg lacks {needle:?}"
        );
    }

    let map = svg(&out.join("map_run0_step5.svg"));
    for needle in [
        "Region map, run 0, step 5",
        "x (km)",
        "y (km)",
        "planned cluster",
        "craft village",
        "residential area",
        "quality Q",
        "n polluting firms left (red)",
        // The size key: the largest cluster's firms, a quarter, a sixteenth.
        ">\n20 firms\n</text>",
        ">\n5 firms\n</text>",
        ">\n1 firm\n</text>",
        // Residential site 1 keeps two polluting firms, site 0 one.
        ">\n2\n</text>",
        ">\n1\n</text>",
    ] {
        assert!(map.contains(needle), "map svg lacks {needle:?}");
    }
    // Four clusters: three filled (each a fill and an outline) and one hollow.
    assert!(map.matches("<circle").count() > 3 * 2);
}

#[test]
fn map_step_and_run_are_chosen_and_the_map_is_skipped_without_sites() {
    let dir = output_dir(true);
    let out = dir.path().join("p");
    let opts = PlotOptions {
        step: Some(2),
        run: Some(1),
        ..PlotOptions::default()
    };
    let files = plot_dir(dir.path(), &out, &opts).unwrap();
    assert!(out.join("map_run1_step2.svg").is_file(), "{files:?}");
    // Counts of polluting firms per area are known only at the last step;
    // at another the legend gives the region's total at that step
    // (polluting_residential of run 1 at step 2: 5 × 2 + 1).
    let map = svg(&out.join("map_run1_step2.svg"));
    assert!(!map.contains("n polluting firms left"));
    assert!(
        crate::svg_text(&map)
            .contains("11 polluting residential firms (per area: --firms, last step)"),
        "{map}"
    );

    let bad = PlotOptions {
        step: Some(99),
        ..PlotOptions::default()
    };
    let err = format!("{:#}", plot_dir(dir.path(), &out, &bad).unwrap_err());
    assert!(err.contains("--step 99") && err.contains("0..=5"), "{err}");

    let dir = output_dir(false);
    let files = plot_dir(dir.path(), &dir.path().join("p"), &PlotOptions::default()).unwrap();
    assert_eq!(files.len(), 4, "no map without sites.parquet: {files:?}");
}

#[test]
fn a_missing_column_is_an_error_naming_file_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut df = region(&[0]).drop("employment").unwrap();
    write(&mut df, &dir.path().join("region.parquet"));
    let err = format!(
        "{:#}",
        plot_dir(dir.path(), &dir.path().join("p"), &PlotOptions::default()).unwrap_err()
    );
    assert!(
        err.contains("region.parquet") && err.contains("`employment`"),
        "{err}"
    );
}

fn row(scenario: &str, outcome: &str, mean: f64, diff: Option<(f64, f64, f64)>) -> ComparisonRow {
    ComparisonRow {
        scenario: scenario.into(),
        outcome: outcome.into(),
        n: 20,
        mean,
        lo: mean - 1.0,
        hi: mean + 1.0,
        diff: diff.map(|d| d.0),
        diff_lo: diff.map(|d| d.1),
        diff_hi: diff.map(|d| d.2),
        excludes_zero: diff.map(|d| d.1 > 0.0 || d.2 < 0.0),
    }
}

#[test]
fn comparison_chart_has_one_panel_per_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("comparison.parquet");
    let mut rows = Vec::new();
    for outcome in ["final_firms_clusters", "mean_mean_quality", "final_tax"] {
        rows.push(row("hanoi", outcome, 10.0, None));
        rows.push(row("good_governance", outcome, 12.0, Some((2.0, 1.5, 2.5))));
        rows.push(row("showcase", outcome, 10.2, Some((0.2, -0.3, 0.7))));
    }
    write_comparison(&path, &rows).unwrap();
    let out = dir.path().join("plots");
    let files = plot_comparison(&path, &out).unwrap();
    assert_eq!(
        names(&files),
        [
            "comparison.png",
            "comparison.svg",
            "comparison_differences.png",
            "comparison_differences.svg"
        ]
    );
    // The differences chart: each non-base scenario's paired difference.
    let d = svg(&out.join("comparison_differences.svg"));
    for needle in [
        "paired difference from hanoi and",
        "95% interval over 20 runs",
        "firms",
        "2: good_governance",
        "3: showcase",
    ] {
        assert!(
            d.contains(needle),
            "comparison_differences.svg lacks {needle:?}"
        );
    }
    if let Some(keep) = std::env::var_os("CLUSTERSIM_KEEP_PLOTS") {
        std::fs::create_dir_all(&keep).unwrap();
        for f in &files {
            std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
        }
    }
    // Three outcomes: two rows of two panels plus title and legend.
    assert_eq!(
        png_size(&out.join("comparison.png")),
        (2 * 500, 2 * 500 + 380)
    );
    let s = svg(&out.join("comparison.svg"));
    for needle in [
        "Scenarios hanoi vs",
        "good_governance vs showcase:",
        "Firms in clusters,",
        "Tax, final",
        "bn VND/step",
        "1: hanoi",
        "2: good_governance",
        "3: showcase",
        "paired difference excludes 0 (95%)",
    ] {
        assert!(s.contains(needle), "comparison.svg lacks {needle:?}");
    }
}

#[test]
fn plot_command_writes_into_dir_plots_and_rejects_other_dirs() {
    let dir = output_dir(false);
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .arg("plot")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("plots/timeseries.svg").is_file());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("skipping the map"), "{stderr}");

    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .arg("plot")
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("region.parquet") && stderr.contains("comparison.parquet"),
        "{stderr}"
    );
}

/// `run --plot` draws every chart of the run, the map included (the job
/// writes `sites`, the positions the map needs).
#[test]
fn run_with_plot_draws_the_charts_and_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("job");
    let cfg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/small.ron");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--runs",
            "2",
            "--quiet",
            "--plot",
            "--firms",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let plots = out.join("plots");
    let names: Vec<String> = std::fs::read_dir(&plots)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let steps = clustersim::config::load(&cfg).unwrap().time.steps;
    for want in [
        "timeseries.png".to_string(),
        "timeseries.svg".to_string(),
        format!("map_run0_step{steps}.png"),
        format!("map_run0_step{steps}.svg"),
    ] {
        assert!(names.contains(&want), "{want} not in {names:?}");
    }
    // The map of a real run: the region's boundary (radius from the
    // manifest's config), a size key, and the polluting residential firms
    // per area (the run keeps --firms and the map shows the last step).
    let map = std::fs::read_to_string(plots.join(format!("map_run0_step{steps}.svg"))).unwrap();
    for needle in [
        ">\nregion boundary\n</text>",
        " firms\n</text>",
        ">\nn polluting firms left (red)\n</text>",
    ] {
        assert!(map.contains(needle), "map lacks {needle:?}");
    }
}

/// `plot` over a sharded job with a shard missing says which runs are missing.
#[test]
fn plot_names_a_missing_shard() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("job");
    let cfg = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/small.ron");
    let bin = env!("CARGO_BIN_EXE_clustersim");
    let o = std::process::Command::new(bin)
        .args(["run", cfg.to_str().unwrap(), "--runs", "4", "--quiet"])
        .args(["--shard", "0/2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = std::process::Command::new(bin)
        .arg("plot")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("missing shard 1/2"), "{stderr}");
}
