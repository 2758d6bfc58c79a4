//! Scenario configs: every shipped config loads, the embedded default is
//! `configs/hanoi.ron`, `base:` inheritance merges as documented, and
//! validation errors name the field and the file that set it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clustersim::config::{self, ComponentRule, ConfigError, OutsideRule, Scenario};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("configs")
}

fn hanoi_path() -> PathBuf {
    configs_dir().join("hanoi.ron")
}

/// Write `files` (name, text) into a fresh temporary directory.
fn scratch(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// A `base:` line pointing at the shipped hanoi.ron by absolute path.
fn hanoi_base() -> String {
    format!("base: {:?}", hanoi_path().display().to_string())
}

#[test]
fn every_shipped_config_loads_and_validates() {
    let mut n = 0;
    for entry in std::fs::read_dir(configs_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ron") {
            let s = config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert!(s.base.is_none(), "{}: base must be cleared", path.display());
            assert!(
                config::validate::validate(&s).is_empty(),
                "{}",
                path.display()
            );
            n += 1;
        }
    }
    assert!(n >= 10, "expected at least 10 configs, found {n}");
}

#[test]
fn embedded_default_equals_hanoi_ron_and_the_model_md_defaults() {
    let embedded = config::embedded_default();
    assert_eq!(embedded, Scenario::default());
    assert_eq!(config::load(hanoi_path()).unwrap(), embedded);
    assert_eq!(
        std::fs::read_to_string(hanoi_path()).unwrap(),
        config::EMBEDDED_HANOI
    );
}

/// Leaf field paths of a JSON value: struct fields recursively; lists and
/// scalars are leaves.
fn json_leaves(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                json_leaves(x, &p, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

fn ron_leaves(v: &ron::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        ron::Value::Map(map) => {
            for (k, x) in map.iter() {
                let ron::Value::String(k) = k else {
                    panic!("non-string key")
                };
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                ron_leaves(x, &p, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

#[test]
fn hanoi_ron_writes_out_every_field() {
    let mut expected = BTreeSet::new();
    json_leaves(
        &serde_json::to_value(Scenario::default()).unwrap(),
        "",
        &mut expected,
    );
    expected.remove("base");
    let text = std::fs::read_to_string(hanoi_path()).unwrap();
    let mut written = BTreeSet::new();
    ron_leaves(&ron::from_str(&text).unwrap(), "", &mut written);
    let missing: Vec<_> = expected.difference(&written).collect();
    assert!(missing.is_empty(), "hanoi.ron lacks {missing:?}");
    let extra: Vec<_> = written.difference(&expected).collect();
    assert!(extra.is_empty(), "hanoi.ron has unexpected {extra:?}");
}

#[test]
fn policy_configs_change_what_they_say() {
    let base = Scenario::default();
    let load = |name: &str| config::load(configs_dir().join(name)).unwrap();

    let s = load("outside_fence_first.ron");
    assert_eq!(
        (s.government.shares.outside, s.government.shares.inside),
        (0.6, 0.3)
    );
    assert_eq!(s.government.leakage, base.government.leakage);

    let s = load("showcase.ron");
    assert_eq!(s.government.component_rule, ComponentRule::Showcase);
    assert_eq!(s.government.outside_rule, OutsideRule::PlannedFirst);

    let s = load("good_governance.ron");
    assert_eq!(s.government.leakage, 0.1);
    assert_eq!(s.government.shares, base.government.shares);

    let s = load("strict_relocation.ron");
    assert_eq!(s.relocation.enforcement.end, 1.0);
    assert_eq!(
        s.relocation.enforcement.start,
        base.relocation.enforcement.start
    );
    assert!(s.relocation.forced_after_step.is_some());

    let s = load("no_investment.ron");
    assert_eq!(s.government.budget, 0.0);
    assert_eq!(s.accounts.developer_reinvest, 0.0);

    let s = load("occupancy_gate.ron");
    assert_eq!(s.infrastructure.occupancy_gate, Some(0.5));

    let s = load("training.ron");
    assert!(s.government.shares.training > base.government.shares.training);

    let s = load("inside_support.ron");
    assert!(s.government.shares.inside > base.government.shares.inside);

    let s = load("small.ron");
    assert!(s.clusters.operating < 20 && s.initial.firms_in_clusters < 200);
    assert_eq!(s.sectors.len(), 6);
    assert_eq!(s.relatedness, base.relatedness);
    assert_eq!(s.clusters.complete_quality, base.clusters.complete_quality);
}

#[test]
fn override_keeps_everything_else_from_the_base() {
    let dir = scratch(&[(
        "child.ron",
        &format!("({}, government: (leakage: 0.1))", hanoi_base()),
    )]);
    let s = config::load(dir.path().join("child.ron")).unwrap();
    let mut expected = Scenario::default();
    expected.government.leakage = 0.1;
    // Exactly 0.1 as an f64: values never pass through an f32.
    assert_eq!(s, expected);
}

#[test]
fn nested_structs_merge_field_by_field() {
    let dir = scratch(&[
        (
            "base.ron",
            "(government: (shares: (outside: 0.2, inside: 0.6, training: 0.2), component_rule: Showcase),
              relocation: (enforcement: (start: 0.1, end: 0.9, from_step: 4, to_step: 8)))",
        ),
        (
            "child.ron",
            "(base: \"base.ron\", government: (shares: (outside: 0.3, inside: 0.5)),
              relocation: (enforcement: (end: 1.0)))",
        ),
    ]);
    let s = config::load(dir.path().join("child.ron")).unwrap();
    let sh = &s.government.shares;
    assert_eq!((sh.outside, sh.inside, sh.training), (0.3, 0.5, 0.2));
    // An enum set only in the base survives the merge.
    assert_eq!(s.government.component_rule, ComponentRule::Showcase);
    let e = &s.relocation.enforcement;
    assert_eq!((e.start, e.end, e.from_step, e.to_step), (0.1, 1.0, 4, 8));
}

#[test]
fn base_may_be_written_with_some() {
    let dir = scratch(&[
        ("base.ron", "(government: (leakage: 0.2))"),
        ("child.ron", "(base: Some(\"base.ron\"), time: (steps: 20), clusters: (planned_last_step: 20), relocation: (enforcement: (to_step: 20)))"),
    ]);
    let s = config::load(dir.path().join("child.ron")).unwrap();
    assert_eq!((s.government.leakage, s.time.steps), (0.2, 20));
}

#[test]
fn lists_replace_the_base_list() {
    let dir = scratch(&[(
        "child.ron",
        &format!(
            "({}, sectors: [(name: \"a\", entry_rate: 5.0), (name: \"b\")],
              relatedness: [[1.0, 0.4], [0.4, 1.0]])",
            hanoi_base()
        ),
    )]);
    let s = config::load(dir.path().join("child.ron")).unwrap();
    let names: Vec<_> = s.sectors.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(s.sectors[0].entry_rate, 5.0);
    assert_eq!(s.relatedness, vec![vec![1.0, 0.4], vec![0.4, 1.0]]);
}

#[test]
fn chains_of_bases_apply_in_order_and_resolve_relative_to_each_file() {
    let dir = scratch(&[]);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(
        dir.path().join("b.ron"),
        format!(
            "({}, government: (leakage: 0.2, budget: 300.0, outside_rule: Equal),
               infrastructure: (occupancy_gate: Some(0.4)))",
            hanoi_base()
        ),
    )
    .unwrap();
    // a.ron lives in sub/ and names its base relative to itself.
    std::fs::write(
        dir.path().join("sub/a.ron"),
        "(base: \"../b.ron\", government: (leakage: 0.15), infrastructure: (occupancy_gate: None))",
    )
    .unwrap();
    let s = config::load(dir.path().join("sub/a.ron")).unwrap();
    assert_eq!(s.government.leakage, 0.15);
    assert_eq!(s.government.budget, 300.0);
    assert_eq!(s.government.outside_rule, OutsideRule::Equal);
    assert_eq!(s.infrastructure.occupancy_gate, None);
    assert_eq!(s.time, Scenario::default().time);
}

#[test]
fn a_base_cycle_is_an_error_naming_the_files() {
    let dir = scratch(&[
        ("a.ron", "(base: \"b.ron\")"),
        ("b.ron", "(base: \"c.ron\")"),
        ("c.ron", "(base: \"b.ron\")"),
    ]);
    let err = config::load(dir.path().join("a.ron")).unwrap_err();
    let ConfigError::BaseCycle { chain } = &err else {
        panic!("expected a cycle, got {err}")
    };
    let names: Vec<_> = chain
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap())
        .collect();
    assert_eq!(names, ["b.ron", "c.ron", "b.ron"]);
    let text = err.to_string();
    assert!(
        text.contains("b.ron -> ") && text.contains("c.ron"),
        "{text}"
    );
    // A file that is its own base.
    let dir = scratch(&[("self.ron", "(base: \"self.ron\")")]);
    assert!(matches!(
        config::load(dir.path().join("self.ron")),
        Err(ConfigError::BaseCycle { .. })
    ));
}

#[test]
fn validation_collects_all_errors_and_names_the_file_that_set_each() {
    let dir = scratch(&[
        (
            "base.ron",
            &format!("({}, accounts: (tax_rate: 1.5))", hanoi_base()),
        ),
        (
            "child.ron",
            "(base: \"base.ron\", time: (dt: 0.0), government: (shares: (inside: 0.7)))",
        ),
    ]);
    let err = config::load(dir.path().join("child.ron")).unwrap_err();
    let ConfigError::Invalid { file, issues } = &err else {
        panic!("expected validation errors, got {err}")
    };
    assert!(file.ends_with("child.ron"));
    let find = |p: &str| {
        issues
            .iter()
            .find(|i| i.path == p)
            .unwrap_or_else(|| panic!("no issue for {p} in {issues:?}"))
    };
    let setter = |p: &str| {
        find(p)
            .set_in
            .as_ref()
            .map(|f| f.file_name().unwrap().to_str().unwrap().to_string())
    };
    assert_eq!(setter("accounts.tax_rate").as_deref(), Some("base.ron"));
    assert_eq!(setter("time.dt").as_deref(), Some("child.ron"));
    assert_eq!(setter("government.shares").as_deref(), Some("child.ron"));
    assert_eq!(find("accounts.tax_rate").value, "1.5");
    assert!(find("accounts.tax_rate").allowed.contains("[0, 1]"));
    assert_eq!(issues.len(), 3, "{issues:?}");
}

#[test]
fn parse_errors_give_file_line_column_and_field() {
    let err = config::load_str(
        "(\n  government: (\n    shares: (inside: \"x\"),\n  ),\n)",
        "t.ron",
    )
    .unwrap_err();
    match &err {
        ConfigError::WrongType {
            file,
            line,
            column,
            field,
            ..
        } => {
            assert_eq!(file, Path::new("t.ron"));
            // ron reports the position just after the colon.
            assert_eq!((*line, *column), (3, 21));
            assert_eq!(field, "government.shares.inside");
        }
        other => panic!("expected a wrong-type error, got {other:?}"),
    }
    let err = config::load_str("(entry: (utility: (qualty: 1.0)))", "t.ron").unwrap_err();
    match &err {
        ConfigError::UnknownField {
            field, expected, ..
        } => {
            assert_eq!(field, "entry.utility.qualty");
            assert!(expected.contains("`quality`"), "{expected}");
        }
        other => panic!("expected an unknown-field error, got {other:?}"),
    }
}

#[test]
fn to_ron_pretty_round_trips() {
    let mut s = Scenario {
        description: "a \"quoted\" description".into(),
        ..Scenario::default()
    };
    s.infrastructure.occupancy_gate = Some(0.5);
    s.relocation.forced_after_step = Some(8);
    s.government.component_rule = ComponentRule::Fixed;
    s.clusters.explicit = vec![config::ClusterSpec {
        name: "A".into(),
        x: 1.5,
        y: -2.25,
        area_ha: 20.0,
        cluster_type: config::ClusterType::SocialNetwork,
        establish_step: Some(3),
        quality: config::Components::splat(0.1),
        connection: 0.3,
    }];
    for scenario in [Scenario::default(), s] {
        let text = config::to_ron_pretty(&scenario);
        let back = config::load_str(&text, "printed.ron").unwrap();
        assert_eq!(back, scenario, "{text}");
    }
}
