//! The command line, tested by running the real binary: help at every level,
//! `validate` on the shipped configs, and every malformed config in
//! `tests/fixtures/bad/` exiting with code 2 and a message that names the
//! field or line, never a panic.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn clustersim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clustersim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the clustersim binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn bad(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad")
        .join(name)
}

#[test]
fn help_exits_zero_at_every_level() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["validate", "--help"],
        &["summarize", "--help"],
    ] {
        let out = clustersim(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stdout = text(&out.stdout);
        assert!(stdout.contains("Usage"), "{args:?}: {stdout}");
    }
    let run_help = text(&clustersim(&["run", "--help"]).stdout);
    for option in ["--runs", "--seed", "--threads", "--out", "--scale"] {
        assert!(run_help.contains(option), "run --help lacks {option}");
    }
}

#[test]
fn validate_prints_the_resolved_scenario_of_every_shipped_config() {
    let configs: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ron"))
            .map(|p| p.display().to_string())
            .collect();
    let mut args = vec!["validate"];
    args.extend(configs.iter().map(String::as_str));
    let out = clustersim(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches(": valid").count(), configs.len());
    // The printed scenario is resolved: no `base`, and the showcase rule shows.
    assert!(!stdout.contains("\n  base:"), "{stdout}");
    assert!(stdout.contains("component_rule: Showcase"));
}

#[test]
fn validate_output_reads_back_to_the_same_scenario() {
    let out = clustersim(&["validate", "configs/strict_relocation.ron"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let scenario = clustersim::config::load_str(&printed, "printed.ron").unwrap();
    assert_eq!(
        scenario,
        clustersim::config::load("configs/strict_relocation.ron").unwrap()
    );
}

#[test]
fn validate_reports_good_and_bad_files_and_exits_2() {
    let bad_file = bad("dt_zero.ron");
    let out = clustersim(&["validate", "configs/small.ron", bad_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stdout).contains("small.ron: valid"));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("time.dt"), "{stderr}");
    assert!(
        stderr.contains("1 of 2 config files are invalid"),
        "{stderr}"
    );
}

#[test]
fn run_with_a_bad_config_exits_2_without_panicking() {
    let bad_file = bad("shares_not_summing.ron");
    let out = clustersim(&["run", bad_file.to_str().unwrap(), "--runs", "1", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("government.shares"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // With no subcommand, `clustersim CONFIG` is `clustersim run CONFIG`.
    let out = clustersim(&[bad_file.to_str().unwrap(), "--runs", "1", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("government.shares"));
    let out = clustersim(&["run", "no/such/config.ron"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/config.ron"));
}

/// Every malformed config and what its error message must contain.
const BAD: &[(&str, &[&str])] = &[
    (
        "syntax_missing_comma.ron",
        &["syntax_missing_comma.ron:6:", "syntax error", "government"],
    ),
    (
        "syntax_unclosed.ron",
        &["syntax_unclosed.ron:", "syntax error"],
    ),
    (
        "unknown_field.ron",
        &["unknown field `government.shares.insde`", "`inside`", ":4:"],
    ),
    (
        "unknown_top_field.ron",
        &["unknown field `budget`", "`government`", ":4:5"],
    ),
    (
        "unknown_field_in_list.ron",
        &["unknown field `sectors[1].entry_rat`", ":5:"],
    ),
    (
        "wrong_type_string.ron",
        &["wrong_type_string.ron:4:", "`time.dt`"],
    ),
    (
        "wrong_enum_variant.ron",
        &["`government.component_rule`", "Shiny", "Showcase"],
    ),
    (
        "gate_without_some.ron",
        &["`infrastructure.occupancy_gate`", ":4:"],
    ),
    ("negative_count.ron", &["`clusters.operating`", ":4:"]),
    (
        "probability_out_of_range.ron",
        &["`cooperation.triadic_share` = 1.5", "[0, 1]"],
    ),
    (
        "shares_not_summing.ron",
        &[
            "`government.shares`",
            "sum 1.2 (0.5 + 0.6 + 0.1 + 0)",
            "sum to 1",
        ],
    ),
    (
        "relatedness_not_square.ron",
        &["`relatedness` = 5 rows", "6 rows of 6"],
    ),
    ("relatedness_diagonal.ron", &["`relatedness[2][2]` = 0.9"]),
    ("negative_area.ron", &["`clusters.min_area_ha` = -5", "> 0"]),
    (
        "min_above_max_area.ron",
        &[
            "`clusters.max_area_ha` = 75",
            ">= clusters.min_area_ha (80)",
        ],
    ),
    (
        "missing_base.ron",
        &["missing_base.ron", "no_such_base.ron", "`base`"],
    ),
    ("cycle_a.ron", &["cycle", "cycle_a.ron -> ", "cycle_b.ron"]),
    ("empty_sectors.ron", &["`sectors`", "at least one sector"]),
    (
        "duplicate_sector.ron",
        &["`sectors[1].name`", "no other sector"],
    ),
    (
        "establish_beyond_run.ron",
        &["`clusters.planned_last_step` = 50", "[0, 40]"],
    ),
    (
        "forced_beyond_run.ron",
        &["`relocation.forced_after_step` = 30", "[0, 20]"],
    ),
    (
        "occupancy_gate_above_one.ron",
        &["`infrastructure.occupancy_gate` = 1.5", "[0, 1]"],
    ),
    ("dt_zero.ron", &["`time.dt` = 0", "> 0"]),
    ("rho_zero.ron", &["`infrastructure.rho` = 0", "non-zero"]),
    (
        "weights_not_summing.ron",
        &["`infrastructure.weights` = sum 1.1", "sum to 1"],
    ),
    ("nan_value.ron", &["`growth.sigma0` = NaN", "finite"]),
    (
        "complete_above_operating.ron",
        &[
            "`clusters.complete` = 80",
            "at most clusters.operating (70)",
        ],
    ),
    (
        "many_errors.ron",
        &[
            "3 errors",
            "`time.dt` = -1",
            "`accounts.tax_rate` = 2",
            "`cooperation.max_degree` = 0",
            "(set in ",
        ],
    ),
    ("bad_base.ron", &["wrong_type_string.ron:4:", "`time.dt`"]),
];

#[test]
fn every_malformed_config_exits_2_naming_the_field_or_line() {
    let mut failures = Vec::new();
    for (name, needles) in BAD {
        let path = bad(name);
        assert!(path.exists(), "{} is missing", path.display());
        let out = clustersim(&["validate", path.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        if out.status.code() != Some(2) {
            failures.push(format!("{name}: exit {:?}", out.status.code()));
        }
        if stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
            failures.push(format!("{name}: panicked: {stderr}"));
        }
        for needle in *needles {
            if !stderr.contains(needle) {
                failures.push(format!("{name}: stderr lacks {needle:?}:\n{stderr}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_is_covered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad");
    let listed: Vec<&str> = BAD.iter().map(|(n, _)| *n).collect();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        // cycle_b.ron is reached through cycle_a.ron.
        if name != "cycle_b.ron" {
            assert!(listed.contains(&name.as_str()), "{name} has no test");
        }
    }
    assert!(listed.len() >= 15);
}
