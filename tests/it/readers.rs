//! Outside readers: `tests/python/read_outputs.py` reads a sharded output
//! directory with pyarrow, pandas, polars and DuckDB, opening each table's
//! folder as one dataset, checks every file's schema (plain `string` text),
//! row counts, provenance and units against the documented contract, and runs
//! the everyday pyarrow and pandas operations on every table. Without python3
//! or one of those modules the test prints "SKIPPED: …" and passes, except
//! under CI (`CI` set), where the CI script installs them and it fails.
//! The same script reads `compare` and `sweep` directories (written by the
//! real binary, then `clustersim export`): the `scenario` column, the typed
//! parameter columns, the tables of all scenarios or points stacked and
//! joined, and the CSV files.

use std::path::Path;
use std::process::Command;

use clustersim::experiment;
use clustersim::output::layout::{self, Shard};
use clustersim::output::tables::Table;

use super::montecarlo::{small_spec, ROOT};

/// Whether python3 can import `modules` (comma-separated). If not, prints
/// "SKIPPED: …" with the reason and returns false, except under CI (`CI`
/// set), where the CI script installs them and this panics.
pub fn python_has(modules: &str) -> bool {
    let probe = Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output();
    let missing = match &probe {
        Err(e) => Some(format!("python3 not runnable: {e}")),
        Ok(o) if !o.status.success() => Some(format!(
            "python3 cannot import {modules} ({}); run scripts/ci/install-deps.sh",
            String::from_utf8_lossy(&o.stderr)
                .trim()
                .lines()
                .last()
                .unwrap_or("")
        )),
        Ok(_) => None,
    };
    match missing {
        Some(reason) if std::env::var_os("CI").is_some() => {
            panic!("CI is set but Python modules are missing: {reason}")
        }
        Some(reason) => {
            eprintln!("SKIPPED: {reason}");
            false
        }
        None => true,
    }
}

#[test]
fn outside_readers_open_every_table_folder() {
    if !python_has("pyarrow, pandas, polars, duckdb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runs = 7;
    let mut steps = 0;
    for index in 0..2 {
        let mut spec = small_spec(dir.path(), runs);
        spec.shard = Shard { index, count: 2 };
        spec.batch = 2;
        steps = spec.scenario.time.steps;
        experiment::run_job(&spec).unwrap();
    }
    let dir = dir.path().to_str().unwrap();
    read_outputs(&[dir, &runs.to_string(), &steps.to_string()]);
}

/// Part files of several row groups (the writer's chunks of whole runs)
/// open in every outside reader as one table, with every check of the
/// script: one batch of 300 runs of the small scenario, whose `clusters`
/// and `firms` parts (about 170,000 rows each) are cut into two row groups.
#[test]
fn outside_readers_open_parts_of_several_row_groups() {
    if !python_has("pyarrow, pandas, polars, duckdb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runs = 300;
    let mut spec = small_spec(dir.path(), runs);
    spec.batch = runs as usize;
    let steps = spec.scenario.time.steps;
    experiment::run_job(&spec).unwrap();
    for table in [Table::Clusters, Table::Firms] {
        let part = layout::part_path(dir.path(), table, Shard::default(), 0);
        let mut file = std::fs::File::open(&part).unwrap();
        let groups = polars_parquet::read::read_metadata(&mut file)
            .unwrap()
            .row_groups
            .len();
        assert!(groups >= 2, "{}: {groups} row group(s)", part.display());
    }
    let dir = dir.path().to_str().unwrap();
    read_outputs(&[dir, &runs.to_string(), &steps.to_string()]);
}

fn clustersim(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(ROOT)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn read_outputs(args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("tests/python/read_outputs.py"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
    stdout
}

fn small_steps() -> u32 {
    clustersim::config::load(Path::new(ROOT).join("configs/small.ron"))
        .unwrap()
        .time
        .steps
}

#[test]
fn outside_readers_open_a_comparison_as_tidy_tables() {
    if !python_has("pyarrow, pandas, polars, duckdb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let variant = dir.path().join("leaky.ron");
    std::fs::write(
        &variant,
        format!(
            "(base: {:?}, government: (leakage: 0.5))\n",
            Path::new(ROOT).join("configs/small.ron")
        ),
    )
    .unwrap();
    let out = dir.path().join("cmp");
    let out_s = out.to_str().unwrap();
    clustersim(&[
        "compare",
        "configs/small.ron",
        variant.to_str().unwrap(),
        "--runs",
        "3",
        "--out",
        out_s,
        "-q",
    ]);
    clustersim(&["export", out_s]);
    let steps = small_steps().to_string();
    let stdout = read_outputs(&["compare", out_s, "3", &steps, "small", "leaky"]);
    assert!(stdout.contains("2 scenarios"), "{stdout}");
}

#[test]
fn outside_readers_open_a_sweep_with_typed_parameter_columns() {
    if !python_has("pyarrow, pandas, polars, duckdb") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sw");
    let out_s = out.to_str().unwrap();
    clustersim(&[
        "sweep",
        "configs/small.ron",
        "--set",
        "government.leakage=0.1,0.3",
        "--set",
        "cooperation.max_degree=4,8",
        "--set",
        "government.outside_rule=Equal",
        "--set",
        "infrastructure.connect_before_establish=true",
        "--runs",
        "2",
        "--out",
        out_s,
        "-q",
    ]);
    clustersim(&["export", out_s]);
    let steps = small_steps().to_string();
    let stdout = read_outputs(&["sweep", out_s, "2", &steps]);
    // The script read the types from the design; check them here too.
    for name in [
        "government__leakage",
        "cooperation__max_degree",
        "government__outside_rule",
        "infrastructure__connect_before_establish",
    ] {
        assert!(stdout.contains(name), "{stdout}");
    }
    let design = clustersim::output::parquet::read(&out.join("design.parquet")).unwrap();
    use polars::prelude::DataType;
    let types: Vec<DataType> = design.dtypes();
    assert_eq!(
        types,
        [
            DataType::Float64,
            DataType::Float64,
            DataType::Int64,
            DataType::String,
            DataType::Boolean
        ]
    );
}
