//! The Monte Carlo driver through its library API, on `configs/small.ron`:
//! thread-count determinism (byte-identical files), shard union, the order
//! contract, `--force`/`--resume` rules, resume after lost batches, extra
//! columns, and the completeness report of `summarize`.

use std::path::Path;

use clustersim::experiment::{self, JobSpec};
use clustersim::output::jobdir::JobDirError;
use clustersim::output::layout::{self, Shard};
use clustersim::output::parquet;
use clustersim::output::summarize;
use clustersim::output::tables::Table;
use polars::prelude::*;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The small scenario's job writing to `out`.
pub fn small_spec(out: &Path, runs: u32) -> JobSpec {
    let scenario = clustersim::config::load(Path::new(ROOT).join("configs/small.ron"))
        .expect("small.ron loads");
    JobSpec {
        scenario_ron: experiment::scenario_ron(&scenario),
        seed: scenario.monte_carlo.seed,
        scenario,
        name: "small".into(),
        out_dir: out.to_path_buf(),
        runs,
        threads: Some(2),
        shard: Shard::default(),
        keep_firms: true,
        force: false,
        resume: false,
        batch: 3,
        quiet: true,
        extra: Vec::new(),
        record: Default::default(),
        command_line: vec!["test".into()],
    }
}

/// Every part file of `table` in `dir`, read and stacked in name order.
pub fn read_table(dir: &Path, table: Table) -> DataFrame {
    let files = summarize::table_files(dir, table).unwrap();
    assert!(
        !files.is_empty(),
        "no {} files in {}",
        table.name(),
        dir.display()
    );
    let mut out: Option<DataFrame> = None;
    for f in files {
        let df = parquet::read(&f).unwrap();
        match &mut out {
            None => out = Some(df),
            Some(acc) => {
                acc.vstack_mut(&df).unwrap();
            }
        }
    }
    out.unwrap()
}

/// A canonical text of a frame: column names and types, then every value
/// (floats by their bit pattern), column by column. Equal texts mean
/// bit-identical data.
pub fn canonical(df: &DataFrame) -> String {
    let mut s = String::new();
    for c in df.columns() {
        s.push_str(&format!("{}:{}\n", c.name(), c.dtype()));
        let series = c.as_materialized_series();
        match series.dtype() {
            DataType::Float64 => {
                for v in series.f64().unwrap().iter() {
                    s.push_str(&format!("{:016x},", v.map_or(0, f64::to_bits)));
                }
            }
            _ => {
                for i in 0..series.len() {
                    s.push_str(&format!("{},", series.get(i).unwrap()));
                }
            }
        }
        s.push('\n');
    }
    s
}

fn sort_keys(table: Table) -> Vec<&'static str> {
    match table {
        Table::Region => vec!["run", "step"],
        Table::Clusters => vec!["run", "step", "cluster"],
        Table::Runs => vec!["run"],
        Table::Firms => vec!["run", "firm"],
        Table::Sites => vec!["run", "kind", "site"],
    }
}

fn sorted(df: &DataFrame, table: Table) -> DataFrame {
    df.sort(sort_keys(table), SortMultipleOptions::default())
        .unwrap()
}

/// Paths (`table/part-….parquet`) and bytes of every part file in `dir`,
/// sorted by table, shard and batch.
pub fn part_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    layout::list_parts(dir)
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read(&p.path).unwrap(),
            )
        })
        .collect()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn thread_count_does_not_change_a_byte() {
    let base = tmp();
    let mut reference: Option<Vec<(String, Vec<u8>)>> = None;
    for threads in [1usize, 2, 8] {
        let dir = base.path().join(format!("t{threads}"));
        let mut spec = small_spec(&dir, 10);
        spec.threads = Some(threads);
        let report = experiment::run_job(&spec).unwrap();
        assert_eq!(report.threads, threads);
        assert_eq!(report.batches, 4);
        let bytes = part_bytes(&dir);
        assert_eq!(bytes.len(), 4 * 5, "4 batches × 5 tables");
        match &reference {
            None => reference = Some(bytes),
            Some(r) => {
                assert_eq!(r.len(), bytes.len());
                for ((na, a), (nb, b)) in r.iter().zip(&bytes) {
                    assert_eq!(na, nb);
                    assert!(a == b, "{na} differs between 1 and {threads} threads");
                }
            }
        }
    }
}

#[test]
fn rows_are_ordered_by_run_step_cluster() {
    let dir = tmp();
    experiment::run_job(&small_spec(dir.path(), 7)).unwrap();
    for table in Table::ALL {
        let df = read_table(dir.path(), table);
        assert_eq!(
            canonical(&df),
            canonical(&sorted(&df, table)),
            "{} is not sorted",
            table.name()
        );
    }
    let region = read_table(dir.path(), Table::Region);
    let steps = small_spec(dir.path(), 1).scenario.time.steps as usize + 1;
    assert_eq!(region.height(), 7 * steps);
    let runs = read_table(dir.path(), Table::Runs);
    let r: Vec<i32> = runs
        .column("run")
        .unwrap()
        .i32()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(r, (0..7).collect::<Vec<_>>());
}

#[test]
fn four_shards_are_one_job() {
    let base = tmp();
    let whole = base.path().join("whole");
    let sharded = base.path().join("sharded");
    experiment::run_job(&small_spec(&whole, 10)).unwrap();
    for index in 0..4 {
        let mut spec = small_spec(&sharded, 10);
        spec.shard = Shard { index, count: 4 };
        spec.batch = 2;
        let report = experiment::run_job(&spec).unwrap();
        assert_eq!(report.runs_in_shard, if index < 2 { 3 } else { 2 });
        assert!(sharded
            .join(layout::manifest_file_name(spec.shard))
            .exists());
    }
    for table in Table::ALL {
        let a = read_table(&whole, table);
        let b = sorted(&read_table(&sharded, table), table);
        assert_eq!(a.height(), b.height(), "{}", table.name());
        assert!(
            canonical(&a) == canonical(&b),
            "{}: shards differ from one job",
            table.name()
        );
    }
    // polars' own glob scan sees the union of the shards' parts.
    let pattern = format!("{}/clusters/*.parquet", sharded.display());
    let n = LazyFrame::scan_parquet(PlRefPath::new(pattern.as_str()), ScanArgsParquet::default())
        .unwrap()
        .collect()
        .unwrap()
        .height();
    assert_eq!(n, read_table(&whole, Table::Clusters).height());
    let c = summarize::check_dir(&sharded).unwrap();
    assert!(c.is_complete(), "{:?}", c.report());
    assert_eq!(c.shard_count, 4);
    let text = summarize::summarize_dir(&sharded).unwrap();
    assert!(text.contains("10 of 10 runs"), "{text}");
    assert!(text.contains("mean_quality"), "{text}");
}

#[test]
fn summarize_names_missing_shards_and_runs() {
    let dir = tmp();
    for index in [0, 2] {
        let mut spec = small_spec(dir.path(), 10);
        spec.shard = Shard { index, count: 4 };
        experiment::run_job(&spec).unwrap();
    }
    let c = summarize::check_dir(dir.path()).unwrap();
    assert!(!c.is_complete());
    assert_eq!(c.missing_runs(), vec![1, 3, 5, 7, 9]);
    let report = c.report().join("\n");
    assert!(
        report.contains("missing shard 1/4 (3 runs: 1, 5, 9)"),
        "{report}"
    );
    assert!(
        report.contains("missing shard 3/4 (2 runs: 3, 7)"),
        "{report}"
    );
    let text = summarize::summarize_dir(dir.path()).unwrap();
    assert!(text.contains("5 of 10 runs"), "{text}");
    assert!(text.contains("warning: missing shard 1/4"), "{text}");
}

#[test]
fn existing_output_is_refused_then_forced() {
    let dir = tmp();
    let spec = small_spec(dir.path(), 4);
    experiment::run_job(&spec).unwrap();
    let err = experiment::run_job(&spec).unwrap_err();
    let job = err.downcast_ref::<JobDirError>().expect("a JobDirError");
    assert!(matches!(job, JobDirError::Exists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
    // --force with fewer runs leaves no stale part file behind.
    let mut forced = small_spec(dir.path(), 2);
    forced.force = true;
    forced.batch = 10;
    experiment::run_job(&forced).unwrap();
    let parts = layout::list_parts(dir.path()).unwrap();
    assert_eq!(parts.len(), 5, "{parts:?}");
    assert_eq!(read_table(dir.path(), Table::Runs).height(), 2);
}

#[test]
fn bad_arguments_are_refused_with_the_flag_named() {
    let dir = tmp();
    let mut spec = small_spec(dir.path(), 4);
    spec.batch = 0;
    let err = experiment::run_job(&spec).unwrap_err().to_string();
    assert!(err.contains("--batch 0"), "{err}");
    let mut spec = small_spec(dir.path(), 0);
    spec.batch = 1;
    let err = experiment::run_job(&spec).unwrap_err().to_string();
    assert!(err.contains("--runs 0"), "{err}");
}

#[test]
fn resume_completes_lost_batches_identically() {
    let base = tmp();
    let dir = base.path().join("job");
    let spec = small_spec(&dir, 11);
    experiment::run_job(&spec).unwrap();
    let before = part_bytes(&dir);
    // Lose batch 1 entirely and batch 3's runs file (a crash between renames).
    for p in layout::list_parts(&dir).unwrap() {
        if p.batch == 1 || (p.batch == 3 && p.table == Table::Runs) {
            std::fs::remove_file(&p.path).unwrap();
        }
    }
    let c = summarize::check_dir(&dir).unwrap();
    assert_eq!(c.missing_runs(), vec![3, 4, 5, 9, 10]);
    let mut resume = small_spec(&dir, 11);
    resume.resume = true;
    resume.batch = 64; // Ignored: the manifest's batch size is kept.
    let report = experiment::run_job(&resume).unwrap();
    assert_eq!(report.batches_reused, 2);
    assert!(part_bytes(&dir) == before, "resumed files differ");
    let m = clustersim::output::manifest::Manifest::read(&dir.join("manifest.json")).unwrap();
    assert_eq!(m.status, clustersim::output::manifest::Status::Complete);
    assert_eq!(m.rows["runs"], 11);
    assert_eq!(m.files.len(), 20);
    // A resume with another seed is refused, naming the field.
    let mut other = small_spec(&dir, 11);
    other.resume = true;
    other.seed += 1;
    let err = experiment::run_job(&other).unwrap_err().to_string();
    assert!(err.contains("seed"), "{err}");
}

#[test]
fn extra_columns_come_first_in_every_table() {
    let dir = tmp();
    let mut spec = small_spec(dir.path(), 2);
    spec.extra = vec![("point".into(), 3.0.into())];
    experiment::run_job(&spec).unwrap();
    for table in Table::ALL {
        let df = read_table(dir.path(), table);
        assert_eq!(df.get_column_names()[0].as_str(), "point");
        let v: Vec<f64> = df
            .column("point")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert!(v.iter().all(|x| *x == 3.0));
    }
}

#[test]
fn parquet_files_carry_provenance() {
    let dir = tmp();
    let spec = small_spec(dir.path(), 2);
    experiment::run_job(&spec).unwrap();
    let sha = clustersim::output::manifest::sha256_hex(spec.scenario_ron.as_bytes());
    for p in layout::list_parts(dir.path()).unwrap() {
        let kv = parquet::key_value_metadata(&p.path).unwrap();
        let get = |k: &str| kv.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("clustersim.version").as_deref(),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(get("clustersim.config_sha256"), Some(sha.clone()));
        assert_eq!(get("clustersim.seed"), Some(spec.seed.to_string()));
        assert_eq!(get("clustersim.table").as_deref(), Some(p.table.name()));
    }
    let m =
        clustersim::output::manifest::Manifest::read(&dir.path().join("manifest.json")).unwrap();
    assert_eq!(m.config_sha256, sha);
    assert_eq!(m.config_ron, spec.scenario_ron);
    assert_eq!(m.runs, 2);
    assert!(m.wall_seconds.is_some() && m.end_time.is_some());
}
