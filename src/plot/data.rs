//! Reading the Parquet tables of an output directory for the charts.
//!
//! A table `name` is the file `name.parquet` or the part files in the folder
//! `name/` (`name/part-….parquet`, hidden files skipped), read in file-name
//! order and concatenated.
//! Numeric, integer and boolean columns are cast to `f64` (true = 1, null =
//! NaN) so that the charts do not depend on the integer widths the writer
//! chose; text columns are read as strings.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use polars::prelude::{DataType, ParquetReader, SerReader};

/// Columns of one table, concatenated over its files.
#[derive(Debug, Default, Clone)]
pub struct Table {
    /// Number of rows.
    pub len: usize,
    /// Numeric columns, as f64.
    pub num: BTreeMap<String, Vec<f64>>,
    /// Text columns.
    pub text: BTreeMap<String, Vec<String>>,
}

impl Table {
    /// A numeric column that was asked for as required.
    pub fn f(&self, name: &str) -> &[f64] {
        self.num.get(name).map_or(&[], Vec::as_slice)
    }

    /// A text column that was asked for as required.
    pub fn s(&self, name: &str) -> &[String] {
        self.text.get(name).map_or(&[], Vec::as_slice)
    }
}

/// The files holding table `name` in `dir`, in name order (empty if none):
/// `dir/name.parquet`, or every visible `*.parquet` in `dir/name/`.
pub fn table_files(dir: &Path, name: &str) -> anyhow::Result<Vec<PathBuf>> {
    let whole = dir.join(format!("{name}.parquet"));
    if whole.is_file() {
        return Ok(vec![whole]);
    }
    let folder = dir.join(name);
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(&folder) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot read directory {}", folder.display()))
        }
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read directory {}", folder.display()))?;
        let file_name = entry.file_name();
        let Some(file_name) = file_name.to_str() else {
            continue;
        };
        if !file_name.starts_with('.') && file_name.ends_with(".parquet") {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// A column request: its name, whether it is text, whether it must exist.
#[derive(Debug, Clone, Copy)]
pub struct Col<'a> {
    pub name: &'a str,
    pub text: bool,
    pub required: bool,
}

/// A required numeric column.
pub const fn num(name: &str) -> Col<'_> {
    Col {
        name,
        text: false,
        required: true,
    }
}

/// A required text column.
pub const fn text(name: &str) -> Col<'_> {
    Col {
        name,
        text: true,
        required: true,
    }
}

/// An optional numeric column.
pub const fn opt(name: &str) -> Col<'_> {
    Col {
        name,
        text: false,
        required: false,
    }
}

/// Read table `name` from `dir`; `None` when it has no file. An optional
/// column is kept only if every file has it. A missing required column is an
/// error naming the file and the column.
pub fn read_table(dir: &Path, name: &str, cols: &[Col<'_>]) -> anyhow::Result<Option<Table>> {
    let files = table_files(dir, name)?;
    if files.is_empty() {
        return Ok(None);
    }
    read_files(&files, cols).map(Some)
}

/// Read and concatenate the given Parquet files (see [`read_table`]).
pub fn read_files(files: &[PathBuf], cols: &[Col<'_>]) -> anyhow::Result<Table> {
    let mut table = Table::default();
    let mut present: Vec<bool> = vec![true; cols.len()];
    let mut frames = Vec::with_capacity(files.len());
    for path in files {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let df = ParquetReader::new(file)
            .finish()
            .with_context(|| format!("cannot read Parquet file {}", path.display()))?;
        for (i, c) in cols.iter().enumerate() {
            if df.column(c.name).is_err() {
                if c.required {
                    bail!(
                        "{} has no column `{}` (columns: {})",
                        path.display(),
                        c.name,
                        df.get_column_names()
                            .iter()
                            .map(|n| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                present[i] = false;
            }
        }
        frames.push((path, df));
    }
    for (path, df) in &frames {
        table.len += df.height();
        for (c, _) in cols.iter().zip(&present).filter(|(_, p)| **p) {
            let column = df.column(c.name).expect("checked above");
            let bad = || format!("{}: cannot read column `{}`", path.display(), c.name);
            if c.text {
                let s = column.cast(&DataType::String).with_context(bad)?;
                let values = s.str().with_context(bad)?;
                table
                    .text
                    .entry(c.name.to_string())
                    .or_default()
                    .extend(values.iter().map(|v| v.unwrap_or("").to_string()));
            } else {
                let s = column.cast(&DataType::Float64).with_context(bad)?;
                let values = s.f64().with_context(bad)?;
                table
                    .num
                    .entry(c.name.to_string())
                    .or_default()
                    .extend(values.iter().map(|v| v.unwrap_or(f64::NAN)));
            }
        }
    }
    Ok(table)
}
