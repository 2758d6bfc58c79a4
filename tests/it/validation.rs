//! The baseline reproduces the stylised facts P1–P8 (MODEL.md §1), through
//! the same code path as `clustersim validate-model`.

use clustersim::config::embedded_default;
use clustersim::validation::{format_table, validate_model};

#[test]
fn hanoi_baseline_reproduces_p1_to_p8() {
    let sc = embedded_default();
    for seed in [2021u64, 7] {
        let checks = validate_model(&sc, seed, 8);
        let table = format_table(&checks);
        eprintln!("seed {seed}\n{table}");
        assert_eq!(checks.len(), 14, "every pattern is checked");
        let failed: Vec<_> = checks
            .iter()
            .filter(|c| !c.pass)
            .map(|c| c.id.clone())
            .collect();
        assert!(failed.is_empty(), "seed {seed}: failed {failed:?}\n{table}");
    }
}

#[test]
fn validate_model_command_prints_the_table_and_fails_on_a_miss() {
    let bin = env!("CARGO_BIN_EXE_clustersim");
    let dir = tempfile::tempdir().unwrap();
    // A variant that misses P8: nobody stays home, clusters fill up.
    let cfg = dir.path().join("crowded.ron");
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/hanoi.ron");
    std::fs::write(
        &cfg,
        format!(
            "(base: \"{}\", entry: (utility: (residential: 0.0)))",
            base.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .args(["validate-model", cfg.to_str().unwrap(), "--runs", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("P8") && stdout.contains("FAIL"), "{stdout}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("P8"), "{stderr}");
}
