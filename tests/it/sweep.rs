//! `clustersim sweep`: grids and Latin hypercubes over config paths, run by
//! the real binary; every point is validated before anything runs; the design
//! table joins the point tables on `point`.

use std::path::Path;
use std::process::{Command, Output};

use clustersim::plot::data::{num, read_files, read_table, text};

fn clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

#[test]
fn a_grid_writes_the_design_and_one_directory_per_point() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("sw");
    let o = clustersim(&[
        "sweep",
        "configs/small.ron",
        "--set",
        "government.leakage=0.1,0.3",
        "--set",
        "government.outside_rule=PlannedFirst,Equal",
        "--runs",
        "2",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let design = read_files(
        &[out.join("design.parquet")],
        &[
            num("point"),
            num("government__leakage"),
            text("government__outside_rule"),
        ],
    )
    .unwrap();
    assert_eq!(design.f("point"), [0.0, 1.0, 2.0, 3.0]);
    assert_eq!(design.f("government__leakage"), [0.1, 0.1, 0.3, 0.3]);
    assert_eq!(
        design.s("government__outside_rule"),
        ["PlannedFirst", "Equal", "PlannedFirst", "Equal"]
    );
    let mut final_leakage = Vec::new();
    for p in 0..4 {
        let dir = out.join(format!("point-{p:04}"));
        let t = read_table(
            &dir,
            "region",
            &[
                num("point"),
                num("government__leakage"),
                text("government__outside_rule"),
                num("run"),
                num("leakage"),
            ],
        )
        .unwrap()
        .unwrap();
        assert!(t.f("point").iter().all(|v| *v == p as f64));
        // Each point's tables carry its parameter values.
        assert!(t
            .f("government__leakage")
            .iter()
            .all(|v| *v == design.f("government__leakage")[p]));
        assert!(t
            .s("government__outside_rule")
            .iter()
            .all(|v| *v == design.s("government__outside_rule")[p]));
        assert_eq!(t.f("run").iter().filter(|r| **r == 1.0).count(), t.len / 2);
        final_leakage.push(*t.f("leakage").last().unwrap());
    }
    // Lower leakage loses less money at the same seed.
    assert!(final_leakage[0] < final_leakage[2], "{final_leakage:?}");

    // `plot` on a sweep directory draws each point's charts.
    let o = clustersim(&["plot", out.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for p in 0..4 {
        let dir = out.join(format!("plots/point-{p:04}"));
        assert!(dir.join("timeseries.png").is_file(), "{}", dir.display());
    }
    let svg = std::fs::read_to_string(out.join("plots/point-0001/timeseries.svg")).unwrap();
    // The title wraps to the chart's width: read its lines joined.
    assert!(
        crate::svg_text(&svg)
            .contains("point 1: government__leakage = 0.1, government__outside_rule = Equal"),
        "the chart names its design point"
    );
}

#[test]
fn an_invalid_point_stops_the_sweep_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bad");
    let o = clustersim(&[
        "sweep",
        "configs/small.ron",
        "--set",
        "government.leakage=0.1,1.5",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("design point 1") && stderr.contains("government.leakage"),
        "{stderr}"
    );
    assert!(
        !out.exists(),
        "nothing is written before every point is valid"
    );

    let o = clustersim(&[
        "sweep",
        "configs/small.ron",
        "--set",
        "government.leakge=0.1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no field `leakge`"));

    let o = clustersim(&["sweep", "configs/small.ron"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--lhs"));
}

#[test]
fn a_latin_hypercube_samples_each_range_once_per_stratum() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("lhs");
    let o = clustersim(&[
        "sweep",
        "configs/small.ron",
        "--lhs",
        "4",
        "--range",
        "government.leakage=0.1..0.3",
        "--range",
        "time.steps=40..60",
        "--runs",
        "2",
        "--seed",
        "9",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d = read_files(
        &[out.join("design.parquet")],
        &[num("point"), num("government__leakage"), num("time__steps")],
    )
    .unwrap();
    // An integer field is an Int64 column, a float field a Float64 one, in
    // the design and in every table of a point.
    let schema = clustersim::output::parquet::read(&out.join("design.parquet"))
        .unwrap()
        .schema()
        .clone();
    assert_eq!(
        schema.get("time__steps"),
        Some(&polars::prelude::DataType::Int64)
    );
    assert_eq!(
        schema.get("government__leakage"),
        Some(&polars::prelude::DataType::Float64)
    );
    for table in ["region", "clusters", "runs", "sites"] {
        let dir = Path::new(&out).join("point-0002").join(table);
        let part = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap();
        let df = clustersim::output::parquet::read(&part.path()).unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(
            names[..4],
            ["point", "government__leakage", "time__steps", "run"],
            "{table}"
        );
        assert_eq!(
            df.column("time__steps").unwrap().dtype(),
            &polars::prelude::DataType::Int64,
            "{table}"
        );
    }
    let mut strata: Vec<usize> = d
        .f("government__leakage")
        .iter()
        .map(|v| ((v - 0.1) / 0.05).floor() as usize)
        .collect();
    strata.sort_unstable();
    assert_eq!(strata, [0, 1, 2, 3]);
    // An integer field gets whole steps: the run of point p has that many.
    for p in 0..4 {
        let steps = d.f("time__steps")[p];
        let t = read_table(
            &Path::new(&out).join(format!("point-{p:04}")),
            "region",
            &[num("step")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(t.f("step").iter().copied().fold(0.0, f64::max), steps);
    }
}
