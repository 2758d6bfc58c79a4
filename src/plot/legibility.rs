//! Every chart kind drawn as SVG from synthetic data and read back: every
//! text is at least 9 pt when the figure is printed 8 cm wide, and a legend
//! that the panels share is drawn once, outside the panels.

use std::collections::BTreeMap;

use super::*;
use crate::compare::ComparisonRow;
use crate::config::ClusterType;
use crate::plot::data::Table;
use crate::validation::RunFacts;

/// One `<text>` element of an SVG drawn by plotters.
#[derive(Debug, Clone)]
pub(crate) struct SvgText {
    pub size: f64,
    pub y: f64,
    pub text: String,
}

/// The width of an SVG and its text elements.
pub(crate) fn parse_svg(svg: &str) -> (f64, Vec<SvgText>) {
    let attr = |tag: &str, name: &str| -> Option<f64> {
        let key = format!(" {name}=\"");
        let i = tag.find(&key)? + key.len();
        let j = tag[i..].find('"')? + i;
        tag[i..j].parse().ok()
    };
    let open = svg.find("<svg").expect("an <svg> element");
    let head = &svg[open..open + svg[open..].find('>').expect("a closed <svg> tag")];
    let width = attr(head, "width").expect("an SVG width");
    let mut texts = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        let tag_end = rest[i..].find('>').expect("a closed <text> tag") + i;
        let tag = &rest[i..tag_end];
        let close = rest[tag_end..].find("</text>").expect("</text>") + tag_end;
        texts.push(SvgText {
            size: attr(tag, "font-size").expect("every text has a font-size"),
            y: attr(tag, "y").unwrap_or(0.0),
            text: rest[tag_end + 1..close].trim().to_string(),
        });
        rest = &rest[close..];
    }
    (width, texts)
}

fn table(n: usize, num: &[(&str, Vec<f64>)], text: &[(&str, Vec<&str>)]) -> Table {
    let mut t = Table {
        len: n,
        ..Default::default()
    };
    for (k, v) in num {
        t.num.insert((*k).to_string(), v.clone());
    }
    for (k, v) in text {
        t.text
            .insert((*k).to_string(), v.iter().map(|s| s.to_string()).collect());
    }
    t
}

/// A region table of 3 runs and 11 yearly steps.
fn region() -> Table {
    let mut num: Vec<(&str, Vec<f64>)> = Vec::new();
    let (mut run, mut step, mut year) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..3 {
        for s in 0..11 {
            run.push(f64::from(r));
            step.push(f64::from(s));
            year.push(2020.0 + f64::from(s));
        }
    }
    let n = run.len();
    for (k, m) in timeseries::METRICS.iter().enumerate() {
        let v = (0..n)
            .map(|i| 14_000.0 + 50.0 * step[i] * (k as f64 + 1.0) + 7.0 * run[i])
            .collect();
        num.push((m.column, v));
    }
    num.push(("run", run));
    num.push(("step", step));
    num.push(("year", year));
    table(n, &num, &[])
}

fn comparison_rows() -> Vec<ComparisonRow> {
    let mut rows = Vec::new();
    for outcome in crate::compare::outcome_names().iter().take(5) {
        for (i, s) in ["hanoi", "good_governance", "showcase"].iter().enumerate() {
            let k = i as f64;
            let mean = 14_000.0 + 30.0 * k;
            let base = i == 0;
            rows.push(ComparisonRow {
                scenario: s.to_string(),
                outcome: outcome.clone(),
                n: 20,
                mean,
                lo: mean - 15.0,
                hi: mean + 15.0,
                diff: (!base).then_some(30.0 * k),
                diff_lo: (!base).then_some(10.0),
                diff_hi: (!base).then_some(50.0 * k),
                excludes_zero: (!base).then_some(true),
            });
        }
    }
    rows
}

fn sensitivity_rows() -> Vec<crate::sensitivity::IndexRow> {
    let mut rows = Vec::new();
    for outcome in ["final_tax", "final_firms_clusters", "mean_mean_quality"] {
        for (j, p) in [
            "government.leakage",
            "government.budget",
            "firms.entry_rate",
        ]
        .iter()
        .enumerate()
        {
            for index in ["S1", "ST"] {
                for n in [4, 8, 16] {
                    rows.push(crate::sensitivity::IndexRow {
                        outcome: outcome.into(),
                        step: None,
                        parameter: Some(p.to_string()),
                        parameter2: None,
                        index: index.into(),
                        n,
                        value: 0.2 + 0.1 * j as f64,
                        conf: Some(0.05),
                    });
                }
            }
        }
    }
    rows
}

fn calibration_data() -> calibration::CalibrationData {
    let n = 12;
    let phases = [
        "start", "start", "simplex", "simplex", "simplex", "search", "search", "profile",
        "profile", "profile", "profile", "simplex",
    ];
    let profile = ["", "", "", "", "", "", "", "a.x", "a.x", "b.y", "b.y", ""];
    let f = |k: f64| (0..n).map(|i| k + 0.1 * i as f64).collect::<Vec<f64>>();
    let log = table(
        n,
        &[
            ("loss", (0..n).map(|i| 10.0 / (1.0 + i as f64)).collect()),
            ("a.x", f(1.0)),
            ("b.y", f(2.0)),
            ("mean_occupancy", f(0.5)),
            ("mean_survival", f(0.6)),
        ],
        &[("phase", phases.to_vec()), ("profile", profile.to_vec())],
    );
    let params = table(
        2,
        &[
            ("best", vec![1.2, 2.3]),
            ("rise", vec![1.0, 0.1]),
            ("noise", vec![0.2, 0.2]),
            ("identified", vec![1.0, 0.0]),
        ],
        &[("parameter", vec!["a.x", "b.y"])],
    );
    let moments = table(
        2,
        &[
            ("value", vec![0.7, 0.8]),
            ("target_lo", vec![0.6, 0.7]),
            ("target_hi", vec![0.8, 0.9]),
            ("mean", vec![0.65, 0.75]),
            ("lo", vec![0.6, 0.7]),
            ("hi", vec![0.7, 0.8]),
        ],
        &[("target", vec!["occupancy", "survival"])],
    );
    calibration::CalibrationData {
        log,
        params,
        moments,
    }
}

fn facts() -> Vec<RunFacts> {
    let mut x = 12345u64;
    let mut u = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..2)
        .map(|_| {
            let sizes: Vec<f64> = (0..400).map(|_| u().powf(-1.0 / 1.2)).collect();
            let growth = (0..400).map(|_| (u() * 4.0 - 2.0, u() - 0.5)).collect();
            let degrees = (0..90)
                .map(|i| {
                    let t = [
                        ClusterType::Marshallian,
                        ClusterType::Complex,
                        ClusterType::SocialNetwork,
                    ][i % 3];
                    (t, (u() * 6.0) as u32)
                })
                .collect();
            RunFacts {
                sizes,
                hill: 1.2,
                growth,
                degrees,
                ..RunFacts::default()
            }
        })
        .collect()
}

fn map() -> map::RegionMap {
    let sites = table(
        6,
        &[
            ("site", vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]),
            ("x", vec![-20.0, 0.0, 15.0, 10.0, -5.0, 5.0]),
            ("y", vec![0.0, 10.0, 5.0, -15.0, -10.0, 12.0]),
            ("craft_village", vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0]),
        ],
        &[(
            "kind",
            vec![
                "cluster",
                "cluster",
                "cluster",
                "residential",
                "residential",
                "residential",
            ],
        )],
    );
    let clusters = table(
        3,
        &[
            ("run", vec![0.0; 3]),
            ("step", vec![5.0; 3]),
            ("cluster", vec![0.0, 1.0, 2.0]),
            ("firms", vec![40.0, 5.0, 0.0]),
            ("quality", vec![0.7, 0.3, 0.1]),
        ],
        &[("status", vec!["operating", "operating", "planned"])],
    );
    let polluting = BTreeMap::from([(0, 3), (1, 1)]);
    let mut m = map::RegionMap::assemble(&sites, &clusters, Some(&polluting), 0, 5);
    m.radius_km = Some(25.0);
    m
}

/// What to do with each chart of [`each_chart`].
pub(crate) trait Visit {
    fn visit<F: Figure>(&mut self, name: &'static str, fig: &F);
}

/// Charts drawn as SVG at a scale.
struct Svgs(f64, Vec<(&'static str, String)>);

impl Visit for Svgs {
    fn visit<F: Figure>(&mut self, name: &'static str, fig: &F) {
        let svg = render_svg(fig, self.0).unwrap_or_else(|e| panic!("{name} draws: {e:#}"));
        self.1.push((name, svg));
    }
}

/// Charts written as PNG and SVG into a directory.
struct Files(std::path::PathBuf);

impl Visit for Files {
    fn visit<F: Figure>(&mut self, name: &'static str, fig: &F) {
        render(fig, &self.0, &name.replace(' ', "_"), 1.0).unwrap();
    }
}

/// Every chart kind, by name, as SVG at `scale`.
pub(crate) fn every_chart(scale: f64) -> Vec<(&'static str, String)> {
    let mut v = Svgs(scale, Vec::new());
    each_chart(&mut v);
    v.1
}

/// Visit every chart kind, drawn from synthetic data.
pub(crate) fn each_chart(v: &mut impl Visit) {
    let ts = timeseries::TimeSeries::from_table(&region());
    let clusters = table(
        4,
        &[
            ("step", vec![5.0; 4]),
            ("quality", vec![0.2, 0.4, 0.5, 0.9]),
            ("occupancy", vec![0.1, 0.3, 0.6, 0.8]),
        ],
        &[("status", vec!["operating"; 4])],
    );
    let fd = distribution::FinalDistribution::from_table(&clusters);
    let cmp = comparison::Comparison::new(comparison_rows());
    let cal = calibration_data();
    let facts = facts();
    let titled = Titled {
        scenario: "scenario good_governance",
        figure: &ts,
    };
    let overlay = timeseries::Overlay {
        scenarios: vec!["hanoi".into(), "good_governance".into()],
        series: vec![
            timeseries::TimeSeries::from_table(&region()),
            timeseries::TimeSeries::from_table(&region()),
        ],
    };
    let replication = crate::report::charts::Replication {
        ns: vec![2, 4, 8],
        series: vec![
            ("final_tax".into(), vec![10.0, 6.0, 4.0]),
            ("final_firms_clusters".into(), vec![8.0, 5.0, 3.0]),
        ],
    };
    let sweep = crate::report::charts::SweepPanels {
        parameter: "government.leakage".into(),
        xs: vec![0.1, 0.3, 0.5],
        categories: Vec::new(),
        outcomes: crate::compare::outcome_names()
            .into_iter()
            .take(5)
            .map(|outcome| crate::report::charts::OutcomePoints {
                outcome,
                values: vec![(1.0, 0.5, 1.5), (2.0, 1.5, 2.5), (3.0, 2.5, 3.5)],
            })
            .collect(),
    };
    v.visit("timeseries", &ts);
    v.visit("titled timeseries", &titled);
    v.visit("final_distribution", &fd);
    v.visit("map", &map());
    v.visit("comparison", &cmp);
    v.visit("comparison_differences", &comparison::Differences(&cmp));
    v.visit(
        "sensitivity",
        &sensitivity::Sensitivity::new(sensitivity_rows(), false),
    );
    v.visit(
        "convergence",
        &sensitivity::Sensitivity::new(sensitivity_rows(), true),
    );
    v.visit("calibration_loss", &calibration::LossChart(&cal));
    v.visit("calibration_moments", &calibration::MomentsChart(&cal));
    v.visit("calibration_profiles", &calibration::ProfilesChart(&cal));
    v.visit("firm_size_ccdf", &validation::SizeCcdf::of(&facts));
    v.visit("growth_rates", &validation::GrowthRates::of(&facts));
    v.visit("growth_spread", &validation::GrowthSpread::of(&facts));
    v.visit(
        "degree_distribution",
        &validation::DegreeDistribution::of(&facts),
    );
    v.visit("report overlay", &overlay);
    v.visit("report replication", &replication);
    v.visit("report sweep", &sweep);
}

/// 9 pt (0.125 in) on a figure 8 cm (3.15 in) wide.
const NINE_PT_AT_8_CM: f64 = 0.125 / (8.0 / 2.54);

#[test]
fn every_text_is_nine_points_on_a_figure_printed_eight_centimetres_wide() {
    let mut failures = Vec::new();
    let mut smallest = f64::INFINITY;
    for scale in [1.0, 0.7] {
        for (name, svg) in every_chart(scale) {
            let (width, texts) = parse_svg(&svg);
            assert!(!texts.is_empty(), "{name} has text");
            for t in texts.iter().filter(|t| !t.text.is_empty()) {
                let ratio = t.size / width;
                smallest = smallest.min(ratio);
                if ratio < NINE_PT_AT_8_CM {
                    failures.push(format!(
                        "{name} at scale {scale}: {:?} is {:.1} px on a {width} px figure ({ratio:.4} < {NINE_PT_AT_8_CM:.4})",
                        t.text, t.size
                    ));
                }
            }
        }
    }
    eprintln!("smallest font-size / width: {smallest:.4}");
    // To look at them: CLUSTERSIM_KEEP_PLOTS=/some/dir cargo test --lib legibility.
    if let Some(keep) = std::env::var_os("CLUSTERSIM_KEEP_PLOTS") {
        std::fs::create_dir_all(&keep).unwrap();
        each_chart(&mut Files(keep.into()));
    }
    assert!(
        failures.is_empty(),
        "{} texts too small, e.g.\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );
}

/// `label` is drawn once in `svg`, above every text in `below` (the panels'
/// captions or axis texts): the legend is one strip above the panels.
fn legend_once_above(name: &str, svg: &str, label: &str, below: &[&str]) {
    let (_, texts) = parse_svg(svg);
    let hits: Vec<&SvgText> = texts.iter().filter(|t| t.text == label).collect();
    assert_eq!(hits.len(), 1, "{name}: legend label {label:?} drawn once");
    let y = hits[0].y;
    let mut seen = 0;
    for t in texts.iter().filter(|t| below.contains(&t.text.as_str())) {
        seen += 1;
        assert!(
            t.y > y,
            "{name}: legend {label:?} (y = {y}) is above {:?} (y = {})",
            t.text,
            t.y
        );
    }
    assert!(seen >= 1, "{name}: {below:?} drawn");
}

#[test]
fn a_shared_legend_is_drawn_once_above_the_panels() {
    let charts: BTreeMap<&str, String> = every_chart(1.0).into_iter().collect();
    let captions: Vec<&str> = timeseries::METRICS.iter().map(|m| m.title).collect();
    legend_once_above(
        "timeseries",
        &charts["timeseries"],
        "mean over 3 runs",
        &captions,
    );
    legend_once_above(
        "titled timeseries",
        &charts["titled timeseries"],
        "90% band (5–95% quantiles over runs)",
        &captions,
    );
    legend_once_above(
        "overlay",
        &charts["report overlay"],
        "good_governance",
        &captions,
    );
    for name in ["comparison", "comparison_differences"] {
        legend_once_above(
            name,
            &charts[name],
            "paired difference excludes 0 (95%)",
            &["scenario"],
        );
        legend_once_above(name, &charts[name], "2: good_governance", &["2"]);
    }
    legend_once_above(
        "final_distribution",
        &charts["final_distribution"],
        "mean",
        &["occupancy (0–1)", "Q (0–1)"],
    );
    legend_once_above("sensitivity", &charts["sensitivity"], "ST", &["parameter"]);
    legend_once_above("convergence", &charts["convergence"], "ST", &["samples N"]);
    legend_once_above(
        "map",
        &charts["map"],
        "craft village",
        &["x (km)", "y (km)"],
    );
    legend_once_above(
        "calibration_loss",
        &charts["calibration_loss"],
        "best so far",
        &["loss (log scale)"],
    );
}
