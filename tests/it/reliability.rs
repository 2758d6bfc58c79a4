//! One job per directory, verified parts and SIGTERM, through the real binary:
//! a second job into a busy directory is refused, `--resume` refuses a
//! directory holding another job, a damaged or swapped part is detected (and
//! rewritten by `--resume`), and SIGTERM leaves an `interrupted` manifest that
//! `--resume` completes to the data of an uninterrupted job.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use clustersim::output::manifest::{Manifest, Status};

use super::montecarlo::{part_bytes, ROOT};

const BIN: &str = env!("CARGO_BIN_EXE_clustersim");

fn run(out: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("run")
        .arg(Path::new(ROOT).join("configs/small.ron"))
        .args(["--threads", "1", "--quiet", "--out"])
        .arg(out)
        .args(args);
    c
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Wait until the manifest of `dir` records at least `n` parts.
fn wait_for_recorded_parts(child: &mut Child, dir: &Path, n: usize) {
    let start = Instant::now();
    loop {
        let recorded = Manifest::read(&dir.join("manifest.json")).map_or(0, |m| m.parts.len());
        if recorded >= n || child.try_wait().unwrap().is_some() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no part recorded"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn long_job(out: &Path) -> Child {
    run(out, &["--runs", "400", "--batch", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn a_second_job_into_a_busy_directory_is_refused() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("busy");
    let mut first = long_job(&dir);
    wait_for_recorded_parts(&mut first, &dir, 4);
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first job ended too soon"
    );
    for extra in [&["--seed", "7"][..], &["--force"][..], &["--resume"][..]] {
        let mut args = vec!["--runs", "400", "--batch", "2"];
        args.extend_from_slice(extra);
        let out = run(&dir, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("another process") && err.contains(&format!("pid {}", first.id())),
            "{extra:?}: {err}"
        );
    }
    first.kill().unwrap();
    first.wait().unwrap();
    // The lock dies with its holder: the job can now be resumed.
    let out = run(&dir, &["--runs", "400", "--batch", "2", "--resume"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        Manifest::read(&dir.join("manifest.json")).unwrap().status,
        Status::Complete
    );
}

#[test]
fn resume_refuses_a_directory_of_another_job() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("job");
    assert!(run(&dir, &["--runs", "4"]).status().unwrap().success());
    // Another shard count, with no manifest of that shard yet.
    let out = run(&dir, &["--runs", "10", "--shard", "1/2", "--resume"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("manifest.json"), "{}", stderr(&out));
    // Another seed, same shard.
    let out = run(&dir, &["--runs", "4", "--seed", "99", "--resume"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("seed"), "{}", stderr(&out));
    // A fresh job of another shard count is refused too; --force replaces.
    let out = run(&dir, &["--runs", "10", "--shard", "0/2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = run(&dir, &["--runs", "10", "--shard", "0/2", "--force"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.join("manifest.json").exists());
}

fn part(dir: &Path, table: &str, b: usize) -> PathBuf {
    dir.join(table)
        .join(format!("part-0000-of-0001-b{b:05}.parquet"))
}

#[test]
fn damaged_and_swapped_parts_are_detected_and_rewritten() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("job");
    let args = ["--runs", "8", "--batch", "2"];
    assert!(run(&dir, &args).status().unwrap().success());
    let clean = part_bytes(&dir);

    // 256 bytes overwritten inside a part (same size, footer intact).
    let damaged = part(&dir, "clusters", 1);
    let mut bytes = std::fs::read(&damaged).unwrap();
    let mid = bytes.len() / 3;
    for b in &mut bytes[mid..mid + 256] {
        *b ^= 0x5a;
    }
    std::fs::write(&damaged, &bytes).unwrap();
    // Batch 2's runs file copied over batch 3's.
    std::fs::copy(part(&dir, "runs", 2), part(&dir, "runs", 3)).unwrap();

    // summarize names the swapped file (its footer says batch 2).
    let out = Command::new(BIN)
        .arg("summarize")
        .arg(&dir)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(
        said.contains("runs/part-0000-of-0001-b00003.parquet"),
        "{said}"
    );
    assert!(said.contains("clustersim.batch"), "{said}");

    let mut all = args.to_vec();
    all.push("--resume");
    let out = run(&dir, &all).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("clusters/part-0000-of-0001-b00001.parquet") && err.contains("SHA-256"),
        "{err}"
    );
    assert!(
        err.contains("runs/part-0000-of-0001-b00003.parquet"),
        "{err}"
    );
    assert!(part_bytes(&dir) == clean, "the rewritten parts differ");
}

#[test]
fn sigterm_interrupts_and_resume_completes_identically() {
    let base = tempfile::tempdir().unwrap();
    let whole = base.path().join("whole");
    let dir = base.path().join("term");
    let args = ["--runs", "120", "--batch", "2"];
    assert!(run(&whole, &args).status().unwrap().success());
    let mut child = run(&dir, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_recorded_parts(&mut child, &dir, 8);
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(stderr(&out).contains("--resume"), "{}", stderr(&out));
    let m = Manifest::read(&dir.join("manifest.json")).unwrap();
    assert_eq!(m.status, Status::Interrupted);
    assert!(
        m.batches_done < m.batches,
        "the job ended before the signal"
    );
    let mut all = args.to_vec();
    all.push("--resume");
    let out = run(&dir, &all).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        part_bytes(&dir) == part_bytes(&whole),
        "resumed data differ"
    );
    let m = Manifest::read(&dir.join("manifest.json")).unwrap();
    assert_eq!(m.status, Status::Complete);
    let w = Manifest::read(&whole.join("manifest.json")).unwrap();
    assert_eq!(m.parts, w.parts, "the same parts, sizes and hashes");
}

#[test]
fn force_removes_stale_plots() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("job");
    assert!(run(&dir, &["--runs", "2"]).status().unwrap().success());
    std::fs::create_dir_all(dir.join("plots")).unwrap();
    std::fs::write(dir.join("plots/timeseries.png"), b"old").unwrap();
    assert!(run(&dir, &["--runs", "3", "--force"])
        .status()
        .unwrap()
        .success());
    assert!(!dir.join("plots").exists(), "the old charts were kept");
}
