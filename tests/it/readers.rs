//! Outside readers: `tests/python/read_outputs.py` reads a sharded output
//! directory with pyarrow, pandas, polars and DuckDB, opening each table's
//! folder as one dataset, checks every file's schema (plain `string` text),
//! row counts, provenance and units against the documented contract, and runs
//! the everyday pyarrow and pandas operations on every table. Without python3
//! or one of those modules the test prints "SKIPPED: …" and passes, except
//! under CI (`CI` set), where the CI script installs them and it fails.

use std::path::Path;
use std::process::Command;

use clustersim::experiment;
use clustersim::output::layout::Shard;

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
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("tests/python/read_outputs.py"))
        .arg(dir.path())
        .arg(runs.to_string())
        .arg(steps.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("OK"), "{stdout}");
}
