//! Writing and reading Parquet files: atomic writes (hidden temporary name,
//! `fsync`, rename) with the job's provenance in the file's key-value metadata.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::layout::temp_path;

/// The compression of every file written: zstd at its default level, a good balance of
/// speed and size for these mostly-float tables, read by every Parquet client.
pub fn compression() -> ParquetCompression {
    ParquetCompression::Zstd(None)
}

/// Errors of the Parquet layer, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum ParquetIoError {
    #[error("cannot write {path}")]
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

/// Write `df` to `path` atomically: encode into a hidden temporary file in the
/// same directory, flush it to disk, then rename it. `metadata` becomes the
/// file's key-value metadata. Returns the number of rows written.
pub fn write_atomic(
    path: &Path,
    df: &mut DataFrame,
    metadata: &[(String, String)],
) -> Result<usize, ParquetIoError> {
    let tmp = temp_path(path);
    let result = (|| {
        let file = File::create(&tmp).map_err(io_err(&tmp))?;
        ParquetWriter::new(&file)
            .with_compression(compression())
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(metadata.to_vec())))
            .finish(df)
            .map_err(pl_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| df.height())
}

/// Write `text` to `path` atomically (temporary name, `fsync`, rename).
pub fn write_text_atomic(path: &Path, text: &str) -> Result<(), ParquetIoError> {
    use std::io::Write;
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(text.as_bytes()).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
