//! `clustersim verify` through the real binary: a clean job matches run by
//! run; a job whose embedded config was altered (consistently, hash
//! included) reports a mismatch per run and exits 2; a damaged part is named.

use std::path::Path;
use std::process::{Command, Output};

use clustersim::output::manifest::{sha256_hex, Manifest};

use super::montecarlo::ROOT;

const BIN: &str = env!("CARGO_BIN_EXE_clustersim");

fn verify(dir: &Path, extra: &[&str]) -> (Output, String) {
    let out = Command::new(BIN)
        .arg("verify")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

#[test]
fn verify_matches_a_clean_job_and_reports_an_altered_one() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("job");
    for index in 0..2 {
        let status = Command::new(BIN)
            .arg("run")
            .arg(Path::new(ROOT).join("configs/small.ron"))
            .args(["--runs", "5", "--batch", "2", "--quiet", "--shard"])
            .arg(format!("{index}/2"))
            .arg("--out")
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let (out, text) = verify(&dir, &[]);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches(": match").count(), 5, "{text}");
    let (out, text) = verify(&dir, &["--sample", "2"]);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches(": match").count(), 2, "{text}");

    // The manifest records the build and the digest scheme.
    let path = dir.join("manifest-part-0001-of-0002.json");
    let mut m = Manifest::read(&path).unwrap();
    assert!(m.digest_scheme.starts_with("clustersim-run-digest/1"));
    assert_eq!(m.run_digests.len(), 2);
    assert_eq!(m.cargo_lock_sha256.len(), 64);
    assert!(!m.platform.is_empty());

    // Shard 1's config altered, its hash made consistent: its runs mismatch.
    let altered = m.config_ron.replacen("tax_rate: 0.08", "tax_rate: 0.09", 1);
    assert_ne!(altered, m.config_ron, "small.ron has tax_rate 0.08");
    m.config_ron = altered;
    m.config_sha256 = sha256_hex(m.config_ron.as_bytes());
    std::fs::write(&path, m.to_json()).unwrap();
    let (out, text) = verify(&dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("run 1: MISMATCH") && text.contains("run 3: MISMATCH"),
        "{text}"
    );
    assert!(text.contains("run 0: match"), "{text}");
}

#[test]
fn verify_names_a_damaged_part() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("job");
    let status = Command::new(BIN)
        .arg("run")
        .arg(Path::new(ROOT).join("configs/small.ron"))
        .args(["--runs", "2", "--quiet", "--out"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let part = dir.join("sites/part-0000-of-0001-b00000.parquet");
    let mut bytes = std::fs::read(&part).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&part, bytes).unwrap();
    let (out, text) = verify(&dir, &[]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("sites/part-0000-of-0001-b00000.parquet") && text.contains("SHA-256"),
        "{text}"
    );
}
