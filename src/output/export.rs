//! `clustersim export DIR [--to csv] [--out OUT]`: the tables of an output
//! directory as CSV files, for users who want CSV.
//!
//! DIR is a run directory (a `manifest*.json` beside the table folders) or a
//! `compare` or `sweep` directory (one run directory per scenario or design
//! point). Each table becomes one file `OUT/<table>.csv` (default OUT:
//! `DIR/csv`) holding the rows of every part file of every run directory, in
//! directory then part order: as the tables carry their `scenario` or
//! `point` and factor columns, the file is tidy. The Parquet files directly
//! in DIR (`comparison.parquet`, `design.parquet`) become
//! `comparison.csv` and `design.csv`.
//!
//! CSV: a header row of the column names, RFC 4180 quoting (a field with a
//! comma, quote or line break is quoted, quotes doubled), integers as
//! written, floats in Rust's shortest round-trip form (`0.1`, `1e-7`, `NaN`,
//! `inf`), booleans `true`/`false`, null as an empty field. Each file is
//! written to a hidden temporary name in OUT, flushed and renamed.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use polars::prelude::*;

use super::layout;
use super::parquet;
use super::summarize::{job_subdirs, table_files};
use super::tables::Table;

/// The default folder of the CSV files inside an output directory (removed
/// by `--force` with the results it was exported from).
pub const CSV_DIR: &str = "csv";

/// Export every table under `dir` as CSV into `out` (default `dir/csv`);
/// returns the files written.
pub fn export_dir(dir: &Path, out: Option<&Path>) -> anyhow::Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        bail!(
            "{}: not a directory; give an output directory of clustersim run, compare or sweep",
            dir.display()
        );
    }
    let has_manifest = !layout::list_manifests(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .is_empty();
    let run_dirs = if has_manifest {
        vec![dir.to_path_buf()]
    } else {
        job_subdirs(dir)?
    };
    let mut top: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|x| x == "parquet")
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    top.sort();
    if run_dirs.is_empty() && top.is_empty() {
        bail!(
            "{} holds no clustersim outputs: no manifest*.json, no run directories with one, \
             no .parquet file",
            dir.display()
        );
    }
    let out = out.map_or_else(|| dir.join(CSV_DIR), Path::to_path_buf);
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut written = Vec::new();
    for table in Table::ALL {
        let mut files = Vec::new();
        for d in &run_dirs {
            files.extend(table_files(d, table)?);
        }
        if files.is_empty() {
            continue;
        }
        let path = out.join(format!("{}.csv", table.name()));
        write_csv_atomic(&path, &files)?;
        written.push(path);
    }
    for file in &top {
        let stem = file.file_stem().unwrap_or_default().to_string_lossy();
        let path = out.join(format!("{stem}.csv"));
        write_csv_atomic(&path, std::slice::from_ref(file))?;
        written.push(path);
    }
    Ok(written)
}

/// The rows of every Parquet file of `files` (same columns in the same
/// order) as one CSV file at `path`, written atomically.
pub fn write_csv_atomic(path: &Path, files: &[PathBuf]) -> anyhow::Result<()> {
    parquet::write_file_atomic(path, |file, tmp| -> anyhow::Result<()> {
        let mut w = BufWriter::new(file);
        let mut header: Option<(Vec<String>, PathBuf)> = None;
        for f in files {
            let df = parquet::read(f)?;
            let names: Vec<String> = df
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            match &header {
                None => {
                    let line: Vec<String> = names.iter().map(|n| field(n)).collect();
                    writeln!(w, "{}", line.join(","))?;
                    header = Some((names, f.clone()));
                }
                Some((first, first_file)) if *first != names => bail!(
                    "{} has the columns {names:?}, but {} has {first:?}; \
                     one CSV file needs the same columns in every part",
                    f.display(),
                    first_file.display()
                ),
                Some(_) => {}
            }
            write_rows(&mut w, &df).with_context(|| format!("converting {}", f.display()))?;
        }
        w.flush()
            .with_context(|| format!("cannot write {}", tmp.display()))
    })
    .with_context(|| format!("exporting {}", path.display()))
}

/// A text field, quoted when it holds a comma, a quote or a line break.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One value as a CSV field.
fn value(v: AnyValue<'_>) -> String {
    match v {
        AnyValue::Null => String::new(),
        AnyValue::Boolean(b) => b.to_string(),
        AnyValue::String(s) => field(s),
        AnyValue::StringOwned(s) => field(s.as_str()),
        AnyValue::Float64(x) => format!("{x:?}"),
        AnyValue::Float32(x) => format!("{x:?}"),
        AnyValue::Int8(x) => x.to_string(),
        AnyValue::Int16(x) => x.to_string(),
        AnyValue::Int32(x) => x.to_string(),
        AnyValue::Int64(x) => x.to_string(),
        AnyValue::UInt8(x) => x.to_string(),
        AnyValue::UInt16(x) => x.to_string(),
        AnyValue::UInt32(x) => x.to_string(),
        AnyValue::UInt64(x) => x.to_string(),
        other => field(&other.to_string()),
    }
}

fn write_rows(w: &mut impl Write, df: &DataFrame) -> anyhow::Result<()> {
    let columns: Vec<&Series> = df
        .columns()
        .iter()
        .map(|c| c.as_materialized_series())
        .collect();
    let mut line = String::new();
    for i in 0..df.height() {
        line.clear();
        for (k, c) in columns.iter().enumerate() {
            if k > 0 {
                line.push(',');
            }
            line.push_str(&value(c.get(i)?));
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// `clustersim export`.
pub fn export_command(args: &crate::cli::ExportArgs) -> anyhow::Result<()> {
    let written = export_dir(&args.dir, args.out.as_deref())?;
    for p in &written {
        println!("wrote {}", p.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("hanoi"), "hanoi");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(value(AnyValue::Float64(0.1)), "0.1");
        assert_eq!(value(AnyValue::Float64(3.0)), "3.0");
        assert_eq!(value(AnyValue::Null), "");
        assert_eq!(value(AnyValue::Boolean(true)), "true");
    }

    #[test]
    fn a_file_becomes_csv_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.parquet");
        let mut df = polars::df!(
            "scenario" => ["a,1", "b"],
            "n" => [1i64, 2],
            "x" => [Some(0.5), None],
        )
        .unwrap();
        parquet::write_atomic(&src, &mut df, &[], &|_| None).unwrap();
        let out = dir.path().join("t.csv");
        write_csv_atomic(&out, &[src.clone(), src]).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            text,
            "scenario,n,x\n\"a,1\",1,0.5\nb,2,\n\"a,1\",1,0.5\nb,2,\n"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "no temporary file is left behind");
    }

    #[test]
    fn a_directory_without_outputs_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", export_dir(dir.path(), None).unwrap_err());
        assert!(err.contains("holds no clustersim outputs"), "{err}");
        let missing = dir.path().join("nope");
        let err = format!("{:#}", export_dir(&missing, None).unwrap_err());
        assert!(err.contains("not a directory"), "{err}");
    }
}
