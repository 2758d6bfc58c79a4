//! Golden values: `configs/small.ron`, its seed, 4 runs, with firms. The row
//! counts, a SHA-256 of every table's canonical text (see
//! `montecarlo::canonical`) and a few readable numbers are pinned in
//! `tests/golden/small.txt`, so any change of results is a visible,
//! deliberate update. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test --release --test it golden::` and review the diff.

use std::fmt::Write as _;
use std::path::Path;

use clustersim::experiment;
use clustersim::output::manifest::sha256_hex;
use clustersim::output::tables::Table;

use super::montecarlo::{canonical, read_table, small_spec, ROOT};

fn golden_text() -> String {
    let dir = tempfile::tempdir().unwrap();
    let spec = small_spec(dir.path(), 4);
    experiment::run_job(&spec).unwrap();
    let mut s = String::new();
    writeln!(
        s,
        "# configs/small.ron, seed {}, 4 runs, --firms; see tests/it/golden.rs",
        spec.seed
    )
    .unwrap();
    for table in Table::ALL {
        let df = read_table(dir.path(), table);
        writeln!(s, "{}.rows = {}", table.name(), df.height()).unwrap();
        writeln!(
            s,
            "{}.sha256 = {}",
            table.name(),
            sha256_hex(canonical(&df).as_bytes())
        )
        .unwrap();
    }
    let runs = read_table(dir.path(), Table::Runs);
    for name in [
        "final_firms",
        "final_firms_clusters",
        "final_mean_quality",
        "mean_employment",
    ] {
        let v: Vec<String> = runs
            .column(name)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .map(|v| format!("{:.6}", v.unwrap_or(f64::NAN)))
            .collect();
        writeln!(s, "runs.{name} = {}", v.join(" ")).unwrap();
    }
    s
}

#[test]
fn small_scenario_matches_the_golden_file() {
    let path = Path::new(ROOT).join("tests/golden/small.txt");
    let actual = golden_text();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        eprintln!("updated {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; create it with UPDATE_GOLDEN=1 cargo test --release --test it golden::",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "results differ from {} (if the change is deliberate, rerun with UPDATE_GOLDEN=1 and commit the diff)\n\
             --- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }
}
