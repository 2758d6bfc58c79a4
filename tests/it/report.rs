//! `clustersim report DIR` and `--report`: one self-contained HTML page per
//! run, comparison, sweep and sensitivity directory. The page parses as HTML
//! (html5ever, through scraper), holds no external reference, and shows the
//! key numbers (runs, a mean computed here from the region table); bad input
//! exits 2 naming the file and leaves no report. Where /usr/bin/chromium
//! exists, a headless screenshot is not blank and the rendered DOM holds the
//! numbers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clustersim::plot::data::{num, read_table};
use clustersim::report::html::fmt_num;
use scraper::{Html, Selector};

fn clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `configs/small.ron` cut to 8 steps.
fn tiny(dir: &Path) -> PathBuf {
    let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/small.ron");
    let path = dir.join("tiny.ron");
    std::fs::write(
        &path,
        format!(
            "(\n    base: {:?},\n    time: (steps: 8),\n    clusters: (planned_last_step: 6),\n)\n",
            small.display().to_string()
        ),
    )
    .unwrap();
    path
}

/// A variant of [`tiny`] with less leakage.
fn tiny_leak(dir: &Path) -> PathBuf {
    let path = dir.join("tiny_leak.ron");
    std::fs::write(
        &path,
        format!(
            "(\n    base: {:?},\n    government: (leakage: 0.1),\n)\n",
            dir.join("tiny.ron").display().to_string()
        ),
    )
    .unwrap();
    path
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Parse the page, check it is well-formed and self-contained; return the DOM.
fn parse_page(path: &Path) -> Html {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("<!DOCTYPE html>"), "{}", &text[..100]);
    let page = Html::parse_document(&text);
    assert!(
        page.errors.is_empty(),
        "{} does not parse cleanly: {:?}",
        path.display(),
        &page.errors[..page.errors.len().min(10)]
    );
    let all = Selector::parse("*").unwrap();
    let mut elements = 0;
    for el in page.select(&all) {
        elements += 1;
        let name = el.value().name();
        assert!(
            !["script", "iframe", "object", "embed", "link", "img", "base"].contains(&name),
            "{}: element <{name}> is not expected in a self-contained report",
            path.display()
        );
        for (attr, value) in el.value().attrs() {
            let a = attr.to_ascii_lowercase();
            if a == "src" || a.ends_with("href") || a == "action" || a == "srcset" {
                let v = value.trim().to_ascii_lowercase();
                assert!(
                    !(v.starts_with("http:") || v.starts_with("https:") || v.starts_with("//")),
                    "{}: external reference {attr}={value:?} on <{name}>",
                    path.display()
                );
            }
        }
    }
    assert!(elements > 100, "{} is nearly empty", path.display());
    let style = Selector::parse("style").unwrap();
    for css in page.select(&style) {
        let t = css.text().collect::<String>();
        assert!(!t.contains("@import") && !t.contains("url("), "{t}");
    }
    let svg = Selector::parse("svg").unwrap();
    assert!(page.select(&svg).count() >= 1, "no inline chart");
    page
}

/// The text of the element with `data-key` = `key`.
fn key(page: &Html, key: &str) -> String {
    let sel = Selector::parse(&format!("[data-key=\"{key}\"]")).unwrap();
    let el = page
        .select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no element with data-key {key:?}"));
    el.text().collect::<String>()
}

/// The mean over runs of `metric` at each run's last step, from the region table.
fn final_mean(dir: &Path, metric: &str) -> f64 {
    let t = read_table(dir, "region", &[num("run"), num("step"), num(metric)])
        .unwrap()
        .unwrap();
    let mut last: std::collections::BTreeMap<i64, (f64, f64)> = Default::default();
    for i in 0..t.len {
        let (r, st, v) = (t.f("run")[i] as i64, t.f("step")[i], t.f(metric)[i]);
        let e = last.entry(r).or_insert((st, v));
        if st >= e.0 {
            *e = (st, v);
        }
    }
    last.values().map(|(_, v)| v).sum::<f64>() / last.len() as f64
}

#[test]
fn a_run_report_is_self_contained_and_shows_the_numbers() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path());
    let out = tmp.path().join("run");
    ok(&clustersim(&[
        "run",
        s(&config),
        "--runs",
        "3",
        "--seed",
        "7",
        "--out",
        s(&out),
        "-q",
        "--report",
    ]));
    let path = out.join("report.html");
    let page = parse_page(&path);
    assert_eq!(key(&page, "runs"), "3");
    assert_eq!(key(&page, "seed"), "7");
    assert_eq!(key(&page, "outcome-runs"), "3");
    let m = final_mean(&out, "firms_clusters");
    assert_eq!(key(&page, "mean:final_firms_clusters"), fmt_num(m));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        key(&page, "config-hash"),
        manifest["config_sha256"].as_str().unwrap()
    );
    let text = std::fs::read_to_string(&path).unwrap();
    for section in [
        "Manifest",
        "Resolved config",
        "Key outcomes",
        "Replication diagnostics",
        "Time series and the region map",
        "Parquet tables",
        "arrow::open_dataset",
        "read_parquet",
        "<details",
    ] {
        assert!(text.contains(section), "the report lacks {section:?}");
    }
    assert!(
        text.contains("href=\"region/\""),
        "relative link to region/"
    );

    // `clustersim report` writes it again, with validate-model's JSON when present.
    let checks = vec![clustersim::validation::Check {
        id: "P1".into(),
        pattern: "Firm sizes <fat-tailed> & skewed".into(),
        source: "test".into(),
        band: "[1, 3]".into(),
        value: "2.1".into(),
        pass: true,
        control: Some(clustersim::validation::Control {
            name: "sigma0 = 0".into(),
            value: "9".into(),
            pass: false,
        }),
    }];
    std::fs::write(
        out.join("validation.json"),
        clustersim::validation::checks_json(&checks, 2, 7, "abc"),
    )
    .unwrap();
    std::fs::remove_file(&path).unwrap();
    let o = clustersim(&["report", s(&out)]);
    ok(&o);
    let page = parse_page(&path);
    assert_eq!(key(&page, "check:P1"), "holds");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("Firm sizes &lt;fat-tailed&gt; &amp; skewed"));
    // validate-model --json writes what the report shows (its exit code is 2
    // when a check misses, as on this tiny scenario; the file is written anyway).
    let o = clustersim(&[
        "validate-model",
        s(&config),
        "--runs",
        "2",
        "--json",
        s(&out.join("validation.json")),
    ]);
    assert!(
        matches!(o.status.code(), Some(0 | 2)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("validation.json")).unwrap())
            .unwrap();
    let checks = json["checks"].as_array().unwrap();
    assert!(checks.len() >= 9, "{json}");
    ok(&clustersim(&["report", s(&out)]));
    let page = parse_page(&path);
    for c in checks {
        let id = c["id"].as_str().unwrap();
        let verdict = if c["holds"].as_bool().unwrap() {
            "holds"
        } else {
            "does not hold"
        };
        assert_eq!(key(&page, &format!("check:{id}")), verdict);
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    chromium_renders(&path, &["3", &fmt_num(m)]);
}

#[test]
fn bad_input_exits_2_naming_the_file_and_writes_no_report() {
    let tmp = tempfile::tempdir().unwrap();
    // Not a directory.
    let missing = tmp.path().join("nope");
    let o = clustersim(&["report", s(&missing)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nope") && err.contains("not a directory"),
        "{err}"
    );
    // An empty directory.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = clustersim(&["report", s(&empty)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("not an output directory"), "{err}");
    assert!(!empty.join("report.html").exists());

    let config = tiny(tmp.path());
    let out = tmp.path().join("run");
    ok(&clustersim(&[
        "run",
        s(&config),
        "--runs",
        "2",
        "--out",
        s(&out),
        "-q",
    ]));
    // A damaged region part.
    let part = std::fs::read_dir(out.join("region"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let good = std::fs::read(&part).unwrap();
    std::fs::write(&part, b"PAR1 this is not parquet").unwrap();
    let o = clustersim(&["report", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(part.file_name().unwrap().to_str().unwrap()),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.join("report.html").exists());
    std::fs::write(&part, good).unwrap();
    // A damaged manifest.
    let manifest = out.join("manifest.json");
    std::fs::write(&manifest, "{ not json").unwrap();
    let o = clustersim(&["report", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("manifest.json"), "{err}");
    // No manifest at all, but table folders.
    std::fs::remove_file(&manifest).unwrap();
    let o = clustersim(&["report", s(&out)]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("manifest.json") && err.contains("missing"),
        "{err}"
    );
    assert!(!out.join("report.html").exists());
}

#[test]
fn a_comparison_report_shows_paired_differences_and_overlaid_series() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tiny(tmp.path());
    let b = tiny_leak(tmp.path());
    let out = tmp.path().join("cmp");
    ok(&clustersim(&[
        "compare",
        s(&a),
        s(&b),
        "--runs",
        "3",
        "--out",
        s(&out),
        "-q",
        "--report",
    ]));
    let page = parse_page(&out.join("report.html"));
    assert_eq!(key(&page, "runs"), "3");
    assert_eq!(key(&page, "scenarios"), "tiny, tiny_leak");
    let rows = clustersim::compare::read_comparison(&out.join("comparison.parquet")).unwrap();
    let r = rows
        .iter()
        .find(|r| r.scenario == "tiny_leak" && r.outcome == "final_tax")
        .unwrap();
    let diff = key(&page, "diff:tiny_leak:final_tax");
    assert!(diff.starts_with(&fmt_num(r.diff.unwrap())), "{diff}");
    let text = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(text.contains("Scenarios overlaid"), "the overlay chart");
    assert!(
        crate::svg_text(&text).contains("paired difference from tiny and 95% interval"),
        "the paired-differences chart"
    );
    assert!(
        text.contains("href=\"tiny_leak/region/\""),
        "scenario links"
    );
    // Each scenario's own sections are there, with its runs.
    let m = final_mean(&out.join("tiny"), "firms_clusters");
    assert!(text.contains(&format!(
        "data-key=\"mean:final_firms_clusters\" class=\"num\">{}<",
        fmt_num(m)
    )));
}

#[test]
fn a_sweep_report_shows_outcomes_against_each_parameter() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path());
    let out = tmp.path().join("sw");
    ok(&clustersim(&[
        "sweep",
        s(&config),
        "--set",
        "government.leakage=0.1,0.3",
        "--set",
        "government.outside_rule=PlannedFirst,Equal",
        "--runs",
        "2",
        "--out",
        s(&out),
        "-q",
        "--report",
    ]));
    let page = parse_page(&out.join("report.html"));
    assert_eq!(key(&page, "points"), "4");
    assert_eq!(key(&page, "runs"), "2");
    assert_eq!(
        key(&page, "parameters"),
        // The swept config paths (design.parquet's columns are their SQL-
        // and R-safe names, mapped back through `clustersim.factors`).
        "government.leakage, government.outside_rule"
    );
    let m = final_mean(&out.join("point-0002"), "firms_clusters");
    let cell = key(&page, "sweep:2:final_firms_clusters");
    assert!(cell.starts_with(&fmt_num(m)), "{cell} vs {m}");
    let text = std::fs::read_to_string(out.join("report.html")).unwrap();
    let charts = crate::svg_text(&text);
    assert!(charts.contains("Outcomes against government.leakage"));
    assert!(charts.contains("Outcomes against government.outside_rule"));
    assert!(text.contains("href=\"design.parquet\""));
}

#[test]
fn a_sensitivity_report_shows_the_index_bars() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny(tmp.path());
    let out = tmp.path().join("sa");
    ok(&clustersim(&[
        "sensitivity",
        s(&config),
        "--method",
        "morris",
        "--param",
        "government.leakage=0.1..0.5",
        "--param",
        "government.budget=20..80",
        "--samples",
        "2",
        "--runs",
        "2",
        "--resamples",
        "50",
        "--outcome",
        "final_tax",
        "--outcome",
        "final_firms_clusters",
        "--out",
        s(&out),
        "-q",
        "--report",
    ]));
    let page = parse_page(&out.join("report.html"));
    assert_eq!(key(&page, "method"), "morris");
    assert_eq!(key(&page, "runs"), "2");
    let rows = clustersim::sensitivity::read_index_rows(&out.join("sensitivity.parquet")).unwrap();
    let r = rows
        .iter()
        .find(|r| {
            r.outcome == "final_tax"
                && r.index == "mu_star"
                && r.parameter.as_deref() == Some("government.leakage")
        })
        .unwrap();
    let cell = key(&page, "index:final_tax:government.leakage:mu_star");
    assert!(cell.starts_with(&fmt_num(r.value)), "{cell}");
    let text = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(text.contains("href=\"sensitivity.parquet\""));
}

/// Screenshot `page` in headless Chromium (not blank) and check the rendered
/// DOM holds `numbers`; skipped, saying so, where Chromium is absent.
fn chromium_renders(page: &Path, numbers: &[&str]) {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        eprintln!(
            "SKIP chromium check: /usr/bin/chromium is absent (scripts/ci/install-deps.sh installs it)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let base = |profile: &str| -> Vec<String> {
        [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!(
            "--user-data-dir={}",
            tmp.path().join(profile).display()
        )])
        .collect()
    };
    let shot = tmp.path().join("shot.png");
    let mut args = base("p1");
    args.push(format!("--screenshot={}", shot.display()));
    args.push("--window-size=1200,2000".into());
    args.push(url.clone());
    let o = Command::new(chromium).args(&args).output().unwrap();
    assert!(
        shot.is_file(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    if let Ok(keep) = std::env::var("CLUSTERSIM_KEEP_SHOT") {
        std::fs::copy(&shot, keep).unwrap();
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let first = &px[..channels];
    let differing = px
        .chunks(channels)
        .filter(|p| p[..3.min(channels)] != first[..3.min(channels)])
        .count();
    let total = px.len() / channels;
    assert!(
        differing * 100 > total,
        "the screenshot is (nearly) blank: {differing} of {total} pixels differ from the first"
    );
    let mut colours = std::collections::BTreeSet::new();
    for p in px.chunks(channels).step_by(7) {
        colours.insert(p[..3.min(channels)].to_vec());
    }
    assert!(colours.len() > 20, "only {} colours", colours.len());

    let mut args = base("p2");
    args.push("--dump-dom".into());
    args.push(url);
    let o = Command::new(chromium).args(&args).output().unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(
        dom.contains("</html>"),
        "no DOM dumped: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let rendered = Html::parse_document(&dom);
    assert_eq!(key(&rendered, "runs"), numbers[0]);
    for n in numbers {
        assert!(dom.contains(n), "the rendered DOM lacks {n}");
    }
}
