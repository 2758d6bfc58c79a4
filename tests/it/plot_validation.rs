//! Charts of the validation facts: `plot_validation` on two runs of
//! `configs/small.ron`, and `clustersim validate-model --plot DIR`. Checks that
//! every chart exists as PNG and SVG, that PNGs are valid with ink on them, and
//! that SVGs carry the titles, axis labels, legends and the statistics the
//! checks compute.

use std::path::{Path, PathBuf};
use std::process::Command;

use clustersim::plot::validation::plot_validation;
use clustersim::validation::{baseline_facts, excess_kurtosis, spread_slope};

const STEMS: [&str; 4] = [
    "firm_size_ccdf",
    "growth_rates",
    "growth_spread",
    "degree_distribution",
];

fn small() -> clustersim::config::Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/small.ron");
    clustersim::config::load(&p).expect("configs/small.ron loads")
}

/// Width, height and the share of non-white pixels of a PNG, after checking
/// its signature.
fn png_ink(path: &Path) -> (u32, u32, f64) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(
        &bytes[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is a PNG",
        path.display()
    );
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().expect("fits in memory")];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let inked = px.chunks(3).filter(|c| c.iter().any(|v| *v < 200)).count();
    (
        info.width,
        info.height,
        inked as f64 / (px.len() / 3) as f64,
    )
}

/// The chart's texts, wrapped lines joined (see [`crate::svg_text`]).
fn svg(dir: &Path, stem: &str) -> String {
    crate::svg_text(&std::fs::read_to_string(dir.join(format!("{stem}.svg"))).unwrap())
}

#[test]
fn validation_charts_of_two_small_runs() {
    let facts = baseline_facts(&small(), 2021, 2);
    assert_eq!(facts.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("charts");
    let written = plot_validation(&facts, &out, 1.0).unwrap();

    let expected: Vec<PathBuf> = STEMS
        .iter()
        .flat_map(|s| [out.join(format!("{s}.png")), out.join(format!("{s}.svg"))])
        .collect();
    assert_eq!(written, expected);
    for p in &expected {
        assert!(p.is_file(), "{} written", p.display());
    }
    // Nothing but the charts: no temporary files left behind.
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), expected.len());

    for s in STEMS {
        let (w, h, ink) = png_ink(&out.join(format!("{s}.png")));
        assert_eq!((w, h), (1000, 900), "{s}");
        assert!(ink > 0.02 && ink < 0.6, "{s}: {ink} of the pixels inked");
    }

    let ccdf = svg(&out, "firm_size_ccdf");
    assert!(ccdf.contains("Firm sizes: complementary CDF (P1)"));
    assert!(ccdf.contains("bn VND/yr"));
    assert!(ccdf.contains("P(S ≥ s)"));
    assert!(ccdf.contains("Zipf: slope −1"));
    let hill = (facts[0].hill + facts[1].hill) / 2.0;
    assert!(
        ccdf.contains(&format!("Hill fit, top 10%: slope −{hill:.2}")),
        "the Hill line is the mean of the runs' estimates"
    );
    let n: usize = facts.iter().map(|f| f.sizes.len()).sum();
    assert!(ccdf.contains(&format!("(n = {n})")));

    let growth = svg(&out, "growth_rates");
    let rates: Vec<f64> = facts
        .iter()
        .flat_map(|f| f.growth.iter().map(|g| g.1))
        .collect();
    assert!(growth.contains(&format!(
        "Annual log growth rates (P2a): excess kurtosis {:.2}",
        excess_kurtosis(&rates)
    )));
    assert!(growth.contains("probability density"));
    assert!(growth.contains("Gaussian (mean"));
    assert!(growth.contains("Laplace (tent)"));

    let pooled: Vec<(f64, f64)> = facts
        .iter()
        .flat_map(|f| f.growth.iter().copied())
        .collect();
    let spread = svg(&out, "growth_spread");
    assert!(
        spread.contains(&format!(
            "Spread of growth rates by size (P2b): slope {:.3}",
            spread_slope(&pooled, 10)
        )),
        "the chart's slope is the P2b statistic"
    );
    assert!(spread.contains("ln sd of growth rates"));
    assert!(spread.contains("10 equal-count size bins"));

    let deg = svg(&out, "degree_distribution");
    assert!(deg.contains("Cooperation degree of cluster firms by cluster type (P3)"));
    assert!(deg.contains("P(degree = k)"));
    let types: Vec<_> = facts
        .iter()
        .flat_map(|f| f.degrees.iter().map(|d| format!("{:?}", d.0)))
        .collect();
    assert!(!types.is_empty(), "small.ron has cluster firms");
    for t in ["Marshallian", "Complex", "SocialNetwork"] {
        let present = types.iter().any(|x| x == t);
        assert_eq!(deg.contains(&format!("{t} (n = ")), present, "{t}");
    }
}

#[test]
fn validate_model_writes_the_charts_after_the_table() {
    let bin = env!("CARGO_BIN_EXE_clustersim");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plots");
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/small.ron");
    let run = Command::new(bin)
        .args(["validate-model", cfg.to_str().unwrap(), "--runs", "2"])
        .arg("--plot")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The small scenario may miss some bands; the charts are drawn either way.
    assert!(
        matches!(run.status.code(), Some(0) | Some(2)),
        "{stdout}\n{stderr}"
    );
    let table = stdout.find("P8").expect("the table is printed");
    for s in STEMS {
        for ext in ["png", "svg"] {
            let p = out.join(format!("{s}.{ext}"));
            assert!(p.is_file(), "{} written\n{stderr}", p.display());
            let line = stdout
                .find(&p.display().to_string())
                .unwrap_or_else(|| panic!("{} listed\n{stdout}", p.display()));
            assert!(line > table, "charts are listed after the table");
        }
    }
}
