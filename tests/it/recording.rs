//! `--tables` and `--record-every` through the real binary: only the named
//! tables are written, the time series keep every N-th step and the last, the
//! runs table is unchanged (it summarises every step), and the manifest makes
//! them part of the job (a resume with other values is refused).

use std::path::Path;
use std::process::Command;

use clustersim::output::manifest::Manifest;

use super::montecarlo::ROOT;

const BIN: &str = env!("CARGO_BIN_EXE_clustersim");

fn run(out: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("run")
        .arg(Path::new(ROOT).join("configs/small.ron"))
        .args(["--runs", "4", "--batch", "2", "--quiet", "--out"])
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

fn folders(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn tables_and_record_every_shape_the_output() {
    let base = tempfile::tempdir().unwrap();
    let full = base.path().join("full");
    let few = base.path().join("few");
    let thin = base.path().join("thin");
    assert!(run(&full, &[]).status.success());
    let out = run(&few, &["--tables", "runs,region"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(folders(&few), ["region", "runs"]);
    let m = Manifest::read(&few.join("manifest.json")).unwrap();
    assert_eq!(m.tables, ["region", "runs"], "write order");
    let out = run(&thin, &["--record-every", "7"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let steps = |dir: &Path| -> Vec<i64> {
        let df =
            clustersim::output::parquet::read(&dir.join("region/part-0000-of-0001-b00000.parquet"))
                .unwrap();
        let mut s: Vec<i64> = df
            .column("step")
            .unwrap()
            .cast(&polars::prelude::DataType::Int64)
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        s.sort();
        s.dedup();
        s
    };
    assert_eq!(steps(&thin), [0, 7, 14, 21, 28, 35, 40]);
    assert_eq!(steps(&full).len(), 41);
    // The runs table summarises every step either way.
    for dir in [&few, &thin] {
        for b in 0..2 {
            let name = format!("runs/part-0000-of-0001-b{b:05}.parquet");
            assert!(
                std::fs::read(dir.join(&name)).unwrap() == std::fs::read(full.join(&name)).unwrap(),
                "{name} differs in {}",
                dir.display()
            );
        }
    }
    for dir in [&few, &thin] {
        let v = Command::new(BIN).arg("verify").arg(dir).output().unwrap();
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    }
    // Other recording settings are another job.
    let out = run(&thin, &["--record-every", "2", "--resume"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("record_every"));
    let out = run(&few, &["--tables", "region", "--resume"]);
    assert_eq!(out.status.code(), Some(2));
    // Bad values name the flag.
    let out = run(&few, &["--tables", "regoin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tables"));
    let out = run(&few, &["--record-every", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--record-every"));
}

#[test]
fn summarize_reads_every_run_directory_of_a_sweep() {
    let base = tempfile::tempdir().unwrap();
    let out = base.path().join("sw");
    let status = Command::new(BIN)
        .arg("sweep")
        .arg(Path::new(ROOT).join("configs/small.ron"))
        .args([
            "--runs",
            "2",
            "--set",
            "government.leakage=0.1,0.3",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let s = Command::new(BIN)
        .arg("summarize")
        .arg(&out)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&s.stdout);
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    assert!(
        text.contains("point-0000: 2 of 2 runs") && text.contains("point-0001: 2 of 2 runs"),
        "{text}"
    );
}
