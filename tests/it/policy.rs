//! Policy results worth a test (issue: policy comparison): on the Hanoi
//! baseline, each policy scenario moves its outcome in the expected
//! direction, with a paired 95% interval that excludes zero. The scenarios
//! are compared through `compare::run_comparison`, the code path of
//! `clustersim compare`.

use std::path::PathBuf;

use clustersim::compare::{run_comparison, CompareSpec, ComparisonRow};

fn config(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("configs")
        .join(name)
}

fn row<'a>(rows: &'a [ComparisonRow], scenario: &str, outcome: &str) -> &'a ComparisonRow {
    rows.iter()
        .find(|r| r.scenario == scenario && r.outcome == outcome)
        .unwrap_or_else(|| panic!("no row {scenario}/{outcome}"))
}

/// The paired difference (scenario − baseline) and whether its interval excludes 0.
fn diff(rows: &[ComparisonRow], scenario: &str, outcome: &str) -> (f64, bool) {
    let r = row(rows, scenario, outcome);
    (
        r.diff.expect("a difference against the base"),
        r.excludes_zero.expect("an interval"),
    )
}

#[test]
fn policy_scenarios_move_outcomes_in_the_expected_direction() {
    let out = tempfile::tempdir().unwrap();
    let spec = CompareSpec {
        configs: vec![
            config("hanoi.ron"),
            config("good_governance.ron"),
            config("no_investment.ron"),
            config("showcase.ron"),
            config("strict_relocation.ron"),
        ],
        runs: Some(12),
        seed: Some(2021),
        threads: None,
        out: Some(out.path().join("policies")),
        name: None,
        force: false,
        resume: false,
        quiet: true,
        command_line: vec!["test".into()],
    };
    let report = run_comparison(&spec).expect("comparison runs");
    let rows = &report.rows;
    assert!(report.comparison.exists());

    // Less leakage: higher mean quality.
    let (d, sig) = diff(rows, "good_governance", "final_mean_quality");
    assert!(
        d > 0.0 && sig,
        "good_governance: Δ mean quality {d} (significant: {sig})"
    );
    // No money: lower quality and fewer complete clusters.
    let (d, sig) = diff(rows, "no_investment", "final_mean_quality");
    assert!(d < 0.0 && sig, "no_investment: Δ mean quality {d} ({sig})");
    let (d, sig) = diff(rows, "no_investment", "final_clusters_complete");
    assert!(
        d < 0.0 && sig,
        "no_investment: Δ complete clusters {d} ({sig})"
    );
    // The same money on roads and green only: lower effective quality (P4).
    let (d, sig) = diff(rows, "showcase", "final_mean_quality");
    assert!(d < 0.0 && sig, "showcase: Δ mean quality {d} ({sig})");
    // Strict enforcement and forced relocation: fewer polluting residential firms.
    let (d, sig) = diff(rows, "strict_relocation", "final_polluting_residential");
    assert!(
        d < 0.0 && sig,
        "strict_relocation: Δ polluting residential {d} ({sig})"
    );
    // The base row carries no difference.
    assert!(row(rows, "hanoi", "final_mean_quality").diff.is_none());
}
