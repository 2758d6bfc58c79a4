//! Writing and reading Parquet files: atomic writes (hidden temporary name,
//! `fsync`, rename) with the job's provenance in the file's key-value metadata.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::layout::temp_path;

/// The compression of every file written: zstd at level 1, read by every
/// Parquet client. On these mostly-float tables it makes files as small as
/// zstd's default level 3 (200 Hanoi runs: 79.92 MB against 79.90 MB) for
/// about a third less writer CPU: that job's user time was 14.2 s against
/// 14.7 s, of which the writer is ≈ 1.4 s (13.2 s with the `runs` table only).
pub fn compression() -> ParquetCompression {
    ParquetCompression::Zstd(Some(
        polars_parquet::write::ZstdLevel::try_new(1).expect("1 is a zstd level"),
    ))
}

/// Errors of the Parquet layer, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ParquetIoError {
    #[error("cannot access {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot encode or decode {path}")]
    Polars {
        path: String,
        #[source]
        source: PolarsError,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ParquetIoError + '_ {
    move |source| ParquetIoError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn pl_err(path: &Path) -> impl FnOnce(PolarsError) -> ParquetIoError + '_ {
    move |source| ParquetIoError::Polars {
        path: path.display().to_string(),
        source,
    }
}

/// The Arrow schema stored in the file (`ARROW:schema`, which pyarrow and
/// pandas read the column types from): polars' own, except that text columns
/// are plain `utf8` (polars' `string_view` and `large_utf8` break common
/// pyarrow and pandas operations, see `docs/outputs.md`). `metadata` becomes
/// the schema metadata (`table.schema.metadata` in pyarrow) and `units` the
/// field metadata key `unit` of the columns it names.
fn arrow_schema_key(
    df: &DataFrame,
    metadata: &[(String, String)],
    units: &dyn Fn(&str) -> Option<&'static str>,
) -> (String, String) {
    let fields = df.schema().iter().map(|(name, dtype)| {
        let mut field = dtype.to_arrow_field(name.clone(), CompatLevel::newest());
        if matches!(
            field.dtype,
            ArrowDataType::Utf8View | ArrowDataType::LargeUtf8
        ) {
            field.dtype = ArrowDataType::Utf8;
        }
        if let Some(unit) = units(name.as_str()) {
            let mut meta = field.metadata.as_deref().cloned().unwrap_or_default();
            meta.insert("unit".into(), unit.into());
            field = field.with_metadata(meta);
        }
        field
    });
    let mut schema: ArrowSchema = fields.map(|f| (f.name.clone(), f)).collect();
    for (k, v) in metadata {
        schema
            .metadata_mut()
            .insert(k.as_str().into(), v.as_str().into());
    }
    let kv = polars_parquet::write::schema_to_metadata_key(&schema);
    (kv.key, kv.value.unwrap_or_default())
}

/// Encode `df` as a Parquet file in memory (zstd, plain `utf8` strings,
/// `metadata` as key-value and Arrow schema metadata, `units` as field metadata).
pub fn encode(
    df: &mut DataFrame,
    metadata: &[(String, String)],
    units: &dyn Fn(&str) -> Option<&'static str>,
) -> PolarsResult<Vec<u8>> {
    let mut kv = vec![arrow_schema_key(df, metadata, units)];
    kv.extend(metadata.iter().cloned());
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_compression(compression())
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(kv)))
        .finish(df)?;
    Ok(buf)
}

/// A file written by [`write_atomic`]: its rows, size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Write `df` to `path` atomically (see [`write_bytes_atomic`]), encoded by
/// [`encode`].
pub fn write_atomic(
    path: &Path,
    df: &mut DataFrame,
    metadata: &[(String, String)],
    units: &dyn Fn(&str) -> Option<&'static str>,
) -> Result<Written, ParquetIoError> {
    let bytes = encode(df, metadata, units).map_err(pl_err(path))?;
    write_bytes_atomic(path, &bytes)?;
    Ok(Written {
        rows: df.height() as u64,
        bytes: bytes.len() as u64,
        sha256: super::manifest::sha256_hex(&bytes),
    })
}

/// Write `bytes` to `path` atomically: into a hidden temporary file in the
/// same directory, flushed to disk, then renamed.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), ParquetIoError> {
    use std::io::Write;
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write `text` to `path` atomically (temporary name, `fsync`, rename).
pub fn write_text_atomic(path: &Path, text: &str) -> Result<(), ParquetIoError> {
    write_bytes_atomic(path, text.as_bytes())
}

/// The number of rows of a Parquet file, from its footer.
pub fn row_count(path: &Path) -> Result<usize, ParquetIoError> {
    let file = File::open(path).map_err(io_err(path))?;
    ParquetReader::new(file).num_rows().map_err(pl_err(path))
}

/// Read a whole Parquet file.
pub fn read(path: &Path) -> Result<DataFrame, ParquetIoError> {
    let file = File::open(path).map_err(io_err(path))?;
    ParquetReader::new(file).finish().map_err(pl_err(path))
}

/// The key-value metadata of a Parquet file (without polars' own entries).
pub fn key_value_metadata(path: &Path) -> Result<Vec<(String, String)>, ParquetIoError> {
    let file = File::open(path).map_err(io_err(path))?;
    let mut reader = ParquetReader::new(file);
    let meta = reader.get_metadata().map_err(pl_err(path))?;
    Ok(meta
        .key_value_metadata()
        .iter()
        .flatten()
        .filter(|kv| !kv.key.starts_with("ARROW:"))
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect())
}
