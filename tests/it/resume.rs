//! Interrupting the real binary: SIGKILL mid-job leaves no truncated file under
//! a final name and `--resume` completes it to exactly the data of one
//! uninterrupted job; SIGINT (Ctrl-C) stops after the current batch with exit
//! code 130 and a message that names `--resume`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clustersim::output::layout;
use clustersim::output::manifest::{Manifest, Status};
use clustersim::output::parquet;

use super::montecarlo::{part_bytes, ROOT};

const BIN: &str = env!("CARGO_BIN_EXE_clustersim");

fn job(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.arg("run")
        .arg(Path::new(ROOT).join("configs/small.ron"))
        .args([
            "--runs",
            "300",
            "--batch",
            "2",
            "--threads",
            "1",
            "--firms",
            "--quiet",
            "--out",
        ])
        .arg(out)
        .args(extra);
    c
}

/// Wait until `dir` holds at least `n` part files (or the child exits).
fn wait_for_parts(child: &mut Child, dir: &Path, n: usize) {
    let start = Instant::now();
    loop {
        let count = layout::list_parts(dir).map(|p| p.len()).unwrap_or(0);
        if count >= n || child.try_wait().unwrap().is_some() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no part file appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every file under a final part name reads in full.
fn assert_all_parts_read(dir: &Path) {
    for p in layout::list_parts(dir).unwrap() {
        let df = parquet::read(&p.path)
            .unwrap_or_else(|e| panic!("{} is unreadable: {e}", p.path.display()));
        assert!(df.height() > 0, "{} is empty", p.path.display());
    }
}

#[test]
fn killed_job_resumes_to_the_uninterrupted_data() {
    let base = tempfile::tempdir().unwrap();
    let whole = base.path().join("whole");
    let killed = base.path().join("killed");
    let status = job(&whole, &[]).status().unwrap();
    assert!(status.success());

    let mut child = job(&killed, &[]).stdout(Stdio::null()).spawn().unwrap();
    wait_for_parts(&mut child, &killed, 9);
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
    assert_all_parts_read(&killed);
    let m = Manifest::read(&killed.join("manifest.json")).unwrap();
    assert_eq!(
        m.status,
        Status::Running,
        "the job finished before it was killed"
    );
    let partial = layout::list_parts(&killed).unwrap().len();
    assert!(partial < part_bytes(&whole).len());

    let out = job(&killed, &["--resume"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("error"), "{stderr}");
    assert!(
        part_bytes(&killed) == part_bytes(&whole),
        "resumed data differ"
    );
    let leftovers = layout::stale_temp_files(&killed, Default::default()).unwrap();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let m = Manifest::read(&killed.join("manifest.json")).unwrap();
    assert_eq!(m.status, Status::Complete);
    assert_eq!(m.rows["runs"], 300);
}

#[test]
fn ctrl_c_stops_after_the_batch_and_resume_completes() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("int");
    let mut child = job(&dir, &[])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_parts(&mut child, &dir, 4);
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let m = Manifest::read(&dir.join("manifest.json")).unwrap();
    assert_eq!(m.status, Status::Interrupted);
    assert!(m.batches_done < m.batches);
    assert_eq!(m.files.len(), m.batches_done * 5, "whole batches only");
    assert_all_parts_read(&dir);
    let out = job(&dir, &["--resume"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m = Manifest::read(&dir.join("manifest.json")).unwrap();
    assert_eq!(m.status, Status::Complete);
    assert_eq!(m.rows["runs"], 300);
}

#[test]
fn existing_directory_exits_2_naming_force_and_resume() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("x");
    let mut c = Command::new(BIN);
    c.arg("run")
        .arg(Path::new(ROOT).join("configs/small.ron"))
        .args(["--runs", "2", "--quiet", "--out"])
        .arg(&dir);
    assert!(c.status().unwrap().success());
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--force") && stderr.contains("--resume"),
        "{stderr}"
    );
}
