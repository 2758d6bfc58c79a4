//! `clustersim sensitivity`: Morris and Sobol designs over config paths, run
//! by the real binary on configs/small.ron; every point validated before any
//! run; sharded, resumed and unsharded jobs give the same indices; SALib's
//! `analyze` on our design and outputs gives our indices
//! (`tests/python/check_salib.py`; without python3, pyarrow or SALib the
//! SALib part prints "SKIPPED: …", except under CI, where it must run).
//!
//! Nothing here depends on the model's numbers: only on the shapes of the
//! outputs and on the analysis agreeing with itself and with SALib.

use std::path::Path;
use std::process::Command;

use clustersim::plot::data::{num, read_files, text};
use clustersim::sensitivity::read_index_rows;

use super::calibrate::{clustersim, ok};
use super::montecarlo::ROOT;
use super::readers::python_has;

const PARAMS: [&str; 4] = [
    "--param",
    "government.leakage=0.1..0.5",
    "--param",
    "government.budget=20..80",
];

/// Run SALib's check on `dir`, or say why it is skipped.
fn salib_agrees(dir: &Path) {
    if !python_has("numpy, pyarrow, SALib") {
        return;
    }
    let out = Command::new("python3")
        .arg(Path::new(ROOT).join("tests/python/check_salib.py"))
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("OK"), "{stdout}");
}

#[test]
fn morris_writes_design_points_indices_and_charts_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("morris");
    let out_s = out.to_str().unwrap();
    let mut args = vec!["sensitivity", "configs/small.ron", "--method", "morris"];
    args.extend(PARAMS);
    args.extend([
        "--samples",
        "4",
        "--runs",
        "2",
        "--seed",
        "5",
        "--out",
        out_s,
        "--plot",
        "-q",
    ]);
    let o = clustersim(&args);
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("mu_star"), "{stdout}");

    // 4 trajectories of 3 points; the design joins the points on `point`.
    let design = read_files(
        &[out.join("design.parquet")],
        &[
            num("point"),
            num("government__leakage"),
            num("government__budget"),
            num("group"),
            text("role"),
        ],
    )
    .unwrap();
    assert_eq!(design.len, 12);
    assert!(design
        .f("government__leakage")
        .iter()
        .all(|v| (0.1 - 1e-12..=0.5 + 1e-12).contains(v)));
    assert_eq!(design.f("group")[11], 3.0);
    // SQL-safe column names, mapped back to the config paths as in sweep.
    let kv = clustersim::output::parquet::key_value_metadata(&out.join("design.parquet")).unwrap();
    let factors = kv.iter().find(|(k, _)| k == "clustersim.factors").unwrap();
    let factors: serde_json::Value = serde_json::from_str(&factors.1).unwrap();
    assert_eq!(factors["government__leakage"], "government.leakage");
    assert_eq!(factors["government__budget"], "government.budget");
    let points = read_files(
        &[out.join("points.parquet")],
        &[
            num("point"),
            text("outcome"),
            num("n"),
            num("mean"),
            num("sd"),
        ],
    )
    .unwrap();
    let outcomes = clustersim::compare::outcome_names();
    assert_eq!(points.len, 12 * outcomes.len(), "every default outcome");
    assert!(points.f("n").iter().all(|n| *n == 2.0 || *n == 0.0));

    let rows = read_index_rows(&out.join("sensitivity.parquet")).unwrap();
    for o in &outcomes {
        for p in ["government.leakage", "government.budget"] {
            for index in ["mu", "mu_star", "sigma"] {
                let r = rows
                    .iter()
                    .find(|r| {
                        &r.outcome == o && r.parameter.as_deref() == Some(p) && r.index == index
                    })
                    .unwrap_or_else(|| panic!("{o} {p} {index}"));
                assert_eq!(r.conf.is_some(), index == "mu_star");
                if r.value.is_finite() && index == "mu_star" {
                    assert!(r.value >= 0.0);
                }
            }
        }
        assert!(rows
            .iter()
            .any(|r| &r.outcome == o && r.index == "noise_share" && r.parameter.is_none()));
    }
    // Money placed depends on the budget: not every effect is zero.
    assert!(rows
        .iter()
        .any(|r| r.index == "mu_star" && r.value.is_finite() && r.value > 0.0));
    let conv = read_index_rows(&out.join("convergence.parquet")).unwrap();
    let ns: std::collections::BTreeSet<u32> = conv.iter().map(|r| r.n).collect();
    assert_eq!(ns.into_iter().collect::<Vec<_>>(), [2, 4]);
    // `clustersim plot DIR` draws the same charts again elsewhere.
    let again = tmp.path().join("again");
    ok(&clustersim(&[
        "plot",
        out_s,
        "--out",
        again.to_str().unwrap(),
    ]));
    for dir in [out.join("plots"), again] {
        for chart in ["sensitivity", "convergence"] {
            for ext in ["png", "svg"] {
                let f = dir.join(format!("{chart}.{ext}"));
                assert!(
                    std::fs::metadata(&f).unwrap().len() > 1000,
                    "{}",
                    f.display()
                );
            }
        }
    }
    salib_agrees(&out);

    // A second run refuses to overwrite; --resume finds every batch written
    // and gives the same indices.
    let o = clustersim(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--resume"));
    let mut resume = args.clone();
    resume.retain(|a| *a != "-q" && *a != "--plot");
    resume.push("--resume");
    let o = clustersim(&resume);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("0 of 1 batches to run"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let again = read_index_rows(&out.join("sensitivity.parquet")).unwrap();
    assert_eq!(format!("{again:?}"), format!("{rows:?}"));
    // --resume with other settings is refused.
    let mut other = resume.clone();
    let at = other.iter().position(|a| *a == "5").unwrap();
    other[at] = "6";
    let o = clustersim(&other);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("seed"));
}

#[test]
fn sobol_shards_and_threads_give_the_same_indices_as_one_job() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    let sharded = tmp.path().join("sharded");
    let base = |out: &Path| {
        let mut a: Vec<String> = ["sensitivity", "configs/small.ron", "--method", "sobol"]
            .map(String::from)
            .to_vec();
        a.extend(PARAMS.map(String::from));
        a.extend(
            [
                "--samples",
                "16",
                "--runs",
                "2",
                "--outcome",
                "mean_tax",
                "--outcome",
                "final_firms_clusters",
                "--outcome",
                "mean_leakage",
                "--batch",
                "7",
                "--every-step",
                "-q",
                "--out",
            ]
            .map(String::from),
        );
        a.push(out.to_str().unwrap().to_string());
        a
    };
    let run = |mut a: Vec<String>, extra: &[&str]| {
        a.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        clustersim(&refs)
    };
    ok(&run(base(&whole), &["--threads", "2"]));
    let o = run(base(&sharded), &["--shard", "0/2", "--threads", "1"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("not complete"));
    assert!(!sharded.join("sensitivity.parquet").exists());
    // The other task of the array needs no flag; an unsharded --resume then
    // finds every run written and only analyses.
    ok(&run(base(&sharded), &["--shard", "1/2", "--threads", "1"]));
    std::fs::remove_file(sharded.join("sensitivity.parquet")).unwrap();
    let o = run(base(&sharded), &["--resume"]);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("ran 0 of the 192 runs now"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    let a = read_index_rows(&whole.join("sensitivity.parquet")).unwrap();
    let b = read_index_rows(&sharded.join("sensitivity.parquet")).unwrap();
    assert_eq!(
        format!("{a:?}"),
        format!("{b:?}"),
        "shards and threads do not change the results (NaN included)"
    );
    // 3 outcomes × (2 × (S1, ST) + one S2 + noise share), then the same
    // for every region metric at every step 0..=steps.
    let (whole_rows, step_rows): (Vec<_>, Vec<_>) = a.iter().partition(|r| r.step.is_none());
    assert_eq!(whole_rows.len(), 3 * 6);
    let metrics = clustersim::compare::OUTCOME_METRICS;
    assert_eq!(step_rows.len() % (metrics.len() * 6), 0);
    let steps = step_rows.len() / (metrics.len() * 6);
    assert!(steps > 2, "{steps} steps");
    for m in metrics {
        let mut seen: Vec<u32> = step_rows
            .iter()
            .filter(|r| r.outcome == m && r.index == "ST")
            .map(|r| r.step.unwrap())
            .collect();
        seen.dedup();
        assert_eq!(seen, (0..steps as u32).collect::<Vec<_>>(), "{m}");
    }
    // The last step of a metric is its final outcome.
    let last = |outcome: &str, step: Option<u32>| {
        a.iter()
            .find(|r| r.outcome == outcome && r.step == step && r.index == "S1")
            .unwrap()
            .value
    };
    let (x, y) = (
        last("final_firms_clusters", None),
        last("firms_clusters", Some(steps as u32 - 1)),
    );
    assert!(x == y || (x.is_nan() && y.is_nan()), "{x} vs {y}");
    let s2 = a.iter().find(|r| r.index == "S2").unwrap();
    assert_eq!(
        (s2.parameter.as_deref(), s2.parameter2.as_deref()),
        (Some("government.leakage"), Some("government.budget"))
    );
    let design = read_files(
        &[whole.join("design.parquet")],
        &[num("point"), text("role")],
    )
    .unwrap();
    assert_eq!(design.len, 16 * (2 * 2 + 2), "N(2D + 2) rows");
    assert_eq!(
        &design.s("role")[..6],
        ["A", "AB0", "AB1", "BA0", "BA1", "B"]
    );
    salib_agrees(&whole);
}

#[test]
fn bad_designs_are_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bad");
    let out_s = out.to_str().unwrap();
    let o = clustersim(&[
        "sensitivity",
        "configs/small.ron",
        "--method",
        "sobol",
        "--param",
        "government.leakage=0.5..1.5",
        "--samples",
        "4",
        "--runs",
        "1",
        "--out",
        out_s,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("design point") && stderr.contains("government.leakage"),
        "{stderr}"
    );
    assert!(
        !out.exists(),
        "nothing is written before every point is valid"
    );

    for (extra, expect) in [
        (vec!["--method", "morris", "--levels", "3"], "even"),
        (
            vec!["--method", "morris", "--outcome", "final_taxes"],
            "allowed",
        ),
        (
            vec!["--method", "sobol", "--samples", "70000"],
            "base samples",
        ),
        (vec!["--method", "wavelet"], "morris"),
    ] {
        let mut args = vec!["sensitivity", "configs/small.ron", "--out", out_s];
        args.extend(PARAMS);
        args.extend(extra.iter().copied());
        let o = clustersim(&args);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(expect), "{extra:?}: {stderr}");
    }
    // A non-power-of-2 N is allowed with a warning.
    let mut args = vec!["sensitivity", "configs/small.ron", "--out", out_s];
    args.extend(["--param", "government.leakage=0.1..0.5"]);
    args.extend([
        "--method",
        "sobol",
        "--samples",
        "3",
        "--runs",
        "1",
        "--outcome",
        "mean_tax",
    ]);
    let o = clustersim(&args);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a power of 2"));
}
