//! Bounded sizes and argument checks through the real binary: oversized
//! configs, long base chains, huge or special base files, a scale that empties
//! the scenario and oversized designs exit 2 quickly, naming what is wrong,
//! with no allocation attempted (each finishes in well under a second of work).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::montecarlo::ROOT;

const BIN: &str = env!("CARGO_BIN_EXE_clustersim");

/// Run the binary with `args` then `path`; it must succeed.
fn succeeds(args: &[&str], path: &Path) {
    let ok = Command::new(BIN).args(args).arg(path).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// Run the binary; it must exit 2 within a few seconds. Returns stderr.
fn refused(args: &[&str]) -> String {
    let start = Instant::now();
    let out: Output = Command::new(BIN).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{args:?} took {:?}",
        start.elapsed()
    );
    err
}

fn small() -> String {
    Path::new(ROOT)
        .join("configs/small.ron")
        .display()
        .to_string()
}

#[test]
fn oversized_configs_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    for (body, field) in [
        ("time: (steps: 1000000000)", "time.steps"),
        ("clusters: (operating: 4000000000)", "clusters.operating"),
        (
            "cooperation: (max_degree: 4294967295)",
            "cooperation.max_degree",
        ),
        ("entry: (choice_set: 4294967295)", "entry.choice_set"),
        ("initial: (max_age_years: 1e12)", "initial.max_age_years"),
        ("time: (dt: 1e-9)", "time.dt"),
        ("time: (dt: 1e300)", "time.dt"),
    ] {
        let path = dir.path().join("big.ron");
        std::fs::write(&path, format!("(base: {:?}, {body})", small())).unwrap();
        let err = refused(&["run", path.to_str().unwrap(), "--out", out]);
        assert!(err.contains(field), "{body}: {err}");
        assert!(!err.contains("panicked"), "{body}: {err}");
    }
    assert!(!Path::new(out).exists(), "nothing was written");
}

#[test]
fn base_chains_are_bounded_and_special_files_refused() {
    let dir = tempfile::tempdir().unwrap();
    // A chain of 200 files, each the base of the previous one.
    std::fs::write(
        dir.path().join("c199.ron"),
        format!("(base: {:?})", small()),
    )
    .unwrap();
    for i in 0..199 {
        std::fs::write(
            dir.path().join(format!("c{i}.ron")),
            format!("(base: \"c{}.ron\")", i + 1),
        )
        .unwrap();
    }
    let first = dir.path().join("c0.ron");
    let err = refused(&["validate", first.to_str().unwrap()]);
    assert!(err.contains("longer than 64"), "{err}");
    // A short chain still works.
    succeeds(&["validate", "--quiet"], &dir.path().join("c190.ron"));

    let zero = dir.path().join("zero.ron");
    std::fs::write(&zero, "(base: \"/dev/zero\")").unwrap();
    let err = refused(&["validate", zero.to_str().unwrap()]);
    assert!(
        err.contains("/dev/zero") && err.contains("not a regular file"),
        "{err}"
    );

    let huge = dir.path().join("huge.ron");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(64 * 1024 * 1024).unwrap(); // sparse: nothing is written
    let err = refused(&["validate", huge.to_str().unwrap()]);
    assert!(err.contains("larger than 4 MB"), "{err}");
}

#[test]
fn a_scale_that_empties_the_scenario_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for scale in ["0.001", "1e6"] {
        let err = refused(&[
            "run",
            &small(),
            "--scale",
            scale,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(err.contains("scaled by --scale"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let err = refused(&["run", &small(), "--scale", "0.001"]);
    assert!(err.contains("residential.areas"), "{err}");
}

#[test]
fn bad_counts_on_the_command_line_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sw");
    let out = out.to_str().unwrap();
    let err = refused(&["validate-model", "--runs", "0"]);
    assert!(err.contains("--runs"), "{err}");
    refused(&["validate-model", "--runs", "18446744073709551615"]);
    let err = refused(&["validate-model", "--threads", "0"]);
    assert!(err.contains("--threads"), "{err}");
    let err = refused(&[
        "sweep",
        &small(),
        "--set",
        "government.leakage=0.1,,0.2",
        "--out",
        out,
    ]);
    assert!(err.contains("empty"), "{err}");
    let err = refused(&[
        "sweep",
        &small(),
        "--lhs",
        "100000000000",
        "--range",
        "government.leakage=0.1..0.3",
        "--out",
        out,
    ]);
    assert!(err.contains("at most"), "{err}");
    let values: Vec<String> = (0..300).map(|i| format!("{}", i as f64 / 1000.0)).collect();
    let set = format!("government.leakage={}", values.join(","));
    let err = refused(&[
        "sweep",
        &small(),
        "--set",
        &set,
        "--set",
        &set,
        "--out",
        out,
    ]);
    assert!(err.contains("at most"), "{err}");
}

#[test]
fn a_missing_config_prints_the_os_error_once() {
    let err = refused(&["run", "/nonexistent/x.ron"]);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
}

#[test]
fn a_job_over_its_memory_limit_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let err = refused(&[
        "run",
        &small(),
        "--runs",
        "4",
        "--max-memory",
        "1M",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        err.contains("--max-memory") && err.contains("--batch"),
        "{err}"
    );
    assert!(!out.exists(), "nothing was written");
    refused(&["run", &small(), "--max-memory", "12X"]);
    succeeds(
        &[
            "run",
            &small(),
            "--runs",
            "2",
            "--quiet",
            "--max-memory",
            "4G",
            "--out",
        ],
        &out,
    );
}

#[test]
fn a_mistyped_subcommand_gets_did_you_mean() {
    for (typed, meant) in [
        ("rnu", "'run'"),
        ("summarise", "'summarize'"),
        ("verfy", "'verify'"),
    ] {
        let err = refused(&[typed, "configs/small.ron"]);
        assert!(
            err.contains("similar subcommand") && err.contains(meant),
            "{typed}: {err}"
        );
        assert!(!err.contains("cannot be used with"), "{err}");
    }
}
