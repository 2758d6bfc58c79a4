//! The baseline against the stylised facts P1–P9 (MODEL.md §1), through the
//! same code path as `clustersim validate-model`: every check passes on the
//! baseline (except the known misses below, which must still miss), and
//! every negative control fails.

use clustersim::config::embedded_default;
use clustersim::validation::{format_table, validate_model, DEFAULT_RUNS};

/// Checks the calibrated baseline misses honestly; docs/validation.md gives
/// the measured values and the reasons. A miss that starts to pass must be
/// moved out of this list (and the docs updated) deliberately.
const KNOWN_MISSES: &[&str] = &["P3a", "P8"];

#[test]
fn hanoi_baseline_passes_and_every_negative_control_fails() {
    let sc = embedded_default();
    for seed in [2021u64, 7] {
        // The command's default, 16 runs: with 8, P3b missed its band on 2
        // of 14 seeds (docs/validation.md, "Power").
        let checks = validate_model(&sc, seed, DEFAULT_RUNS);
        let table = format_table(&checks);
        eprintln!("seed {seed}\n{table}");
        let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "P1", "P2a", "P2b", "P3a", "P3b", "P4", "P5a", "P5b", "P5c", "P6a", "P6b", "P6c",
                "P6d", "P7a", "P7b", "P8", "P9a", "P9b"
            ],
            "every pattern is checked"
        );
        for c in &checks {
            if KNOWN_MISSES.contains(&c.id.as_str()) {
                assert!(
                    !c.pass,
                    "seed {seed}: known miss {} now passes\n{table}",
                    c.id
                );
            } else {
                assert!(c.pass, "seed {seed}: {} misses its band\n{table}", c.id);
            }
            let k = c
                .control
                .as_ref()
                .unwrap_or_else(|| panic!("{} has no negative control", c.id));
            assert!(
                !k.pass,
                "seed {seed}: the control of {} ({}) passes\n{table}",
                c.id, k.name
            );
        }
    }
}

#[test]
fn validate_model_command_prints_checks_beside_controls_and_fails_on_a_miss() {
    let bin = env!("CARGO_BIN_EXE_clustersim");
    let dir = tempfile::tempdir().unwrap();
    // A variant that misses P7: firms die young.
    let cfg = dir.path().join("fragile.ron");
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/hanoi.ron");
    std::fs::write(
        &cfg,
        format!("(base: \"{}\", growth: (exit_hazard: 2.0))", base.display()),
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .args(["validate-model", cfg.to_str().unwrap(), "--runs", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let p7 = stdout
        .lines()
        .skip_while(|l| !l.starts_with("P7a"))
        .nth(1)
        .unwrap_or_default();
    assert!(p7.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("control (no size dynamics") && stdout.contains("fails, as it must"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("P7a"), "{stderr}");
}
