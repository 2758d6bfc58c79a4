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

/// A file written by [`write_atomic`] or [`write_frames_atomic`]: its
/// rows, size and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
}

/// Write `df` to `path` atomically as one Parquet file (see
/// [`write_frames_atomic`]).
pub fn write_atomic(
    path: &Path,
    df: &mut DataFrame,
    metadata: &[(String, String)],
    units: &dyn Fn(&str) -> Option<&'static str>,
) -> Result<Written, ParquetIoError> {
    let mut one = Some(df.clone());
    write_frames_atomic(path, metadata, units, || Ok(one.take()))
}

/// Write the frames `next` yields (until `None`; at least one, all with the
/// first one's schema) to `path` atomically as one Parquet file: each frame
/// becomes the file's next row groups (of at most 512² rows), zstd, plain
/// `utf8` strings, `metadata` as key-value and Arrow schema metadata,
/// `units` as field metadata. Only one frame is in memory at a time, and the
/// file is streamed to disk as it is encoded: a big table need not be built
/// whole, nor its bytes held. The file is written under a hidden temporary
/// name, flushed to disk and renamed; on any error, `next`'s included, the
/// temporary file is removed and the error returned.
pub fn write_frames_atomic<E: From<ParquetIoError>>(
    path: &Path,
    metadata: &[(String, String)],
    units: &dyn Fn(&str) -> Option<&'static str>,
    mut next: impl FnMut() -> Result<Option<DataFrame>, E>,
) -> Result<Written, E> {
    write_file_atomic(path, |file, tmp| {
        let mut out = Hashed::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let mut rows = 0u64;
        let Some(first) = next()? else {
            return Err(pl_err(path)(polars_err!(NoData: "no frame to write")).into());
        };
        let mut kv = vec![arrow_schema_key(&first, metadata, units)];
        kv.extend(metadata.iter().cloned());
        let mut writer = ParquetWriter::new(&mut out)
            .with_compression(compression())
            .with_key_value_metadata(Some(KeyValueMetadata::from_static(kv)))
            .batched(first.schema())
            .map_err(pl_err(path))?;
        let schema = first.schema().clone();
        let mut frame = Some(first);
        while let Some(mut df) = frame {
            if df.schema() != &schema {
                let err =
                    polars_err!(SchemaMismatch: "a frame's columns differ from the first frame's");
                return Err(pl_err(path)(err).into());
            }
            rows += df.height() as u64;
            let chunked =
                polars::frame::chunk_df_for_writing(&mut df, 512 * 512).map_err(pl_err(path))?;
            writer.write_batch(&chunked).map_err(pl_err(path))?;
            frame = next()?;
        }
        writer.finish().map_err(pl_err(path))?;
        drop(writer);
        let Hashed {
            inner,
            hasher,
            bytes,
        } = out;
        inner
            .into_inner()
            .map_err(|e| io_err(tmp)(e.into_error()))?;
        Ok(Written {
            rows,
            bytes,
            sha256: super::manifest::hex(&sha2::Digest::finalize(hasher)),
        })
    })
}

/// Write `path` atomically: `write` fills a hidden temporary file in the
/// same directory (it is given the file and its path, for errors), which
/// is then flushed to disk and renamed; on any error, `write`'s included,
/// the temporary file is removed and the error returned.
pub(crate) fn write_file_atomic<T, E: From<ParquetIoError>>(
    path: &Path,
    write: impl FnOnce(&mut File, &Path) -> Result<T, E>,
) -> Result<T, E> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        let value = write(&mut file, &tmp)?;
        file.sync_all().map_err(io_err(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io_err(path))?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A writer that passes its bytes on and keeps their count and SHA-256.
struct Hashed<W> {
    inner: W,
    hasher: sha2::Sha256,
    bytes: u64,
}

impl<W> Hashed<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: sha2::Digest::new(),
            bytes: 0,
        }
    }
}

impl<W: std::io::Write> std::io::Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        sha2::Digest::update(&mut self.hasher, &buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Write `bytes` to `path` atomically: into a hidden temporary file in the
/// same directory, flushed to disk, then renamed.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), ParquetIoError> {
    use std::io::Write;
    write_file_atomic(path, |file, tmp| file.write_all(bytes).map_err(io_err(tmp)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(from: i32, n: i32) -> DataFrame {
        let run: Vec<i32> = (from..from + n).collect();
        let x: Vec<f64> = run.iter().map(|&r| f64::from(r) * 0.5).collect();
        let s: Vec<String> = run.iter().map(|r| format!("r{r}")).collect();
        df!("run" => run, "x" => x, "s" => s).unwrap()
    }

    /// Frames written one after another read back as their concatenation,
    /// with the count, size and SHA-256 of the bytes on disk, and the same
    /// file as one frame holding all their rows would be (the same bytes
    /// when the frames fall on the row groups the single frame is cut into).
    #[test]
    fn frames_written_in_turn_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let meta = vec![("clustersim.table".to_string(), "t".to_string())];
        let path = dir.path().join("a.parquet");
        let mut parts = vec![frame(0, 3), frame(3, 0), frame(3, 4)].into_iter();
        let w = write_frames_atomic::<ParquetIoError>(&path, &meta, &|_| None, || Ok(parts.next()))
            .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(w.rows, 7);
        assert_eq!(w.bytes, bytes.len() as u64);
        assert_eq!(w.sha256, super::super::manifest::sha256_hex(&bytes));
        assert_eq!(read(&path).unwrap(), frame(0, 7));
        assert!(key_value_metadata(&path).unwrap().contains(&meta[0]));
        // Nothing but the file is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let one = dir.path().join("b.parquet");
        let w1 = write_atomic(&one, &mut frame(0, 7), &meta, &|_| None).unwrap();
        assert_eq!(w1.rows, 7);
        assert_eq!(read(&one).unwrap(), frame(0, 7));
    }

    /// An error from the frames (or no frame at all) leaves no file, not
    /// even the temporary one, and is the error returned.
    #[test]
    fn a_failed_frame_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.parquet");
        let mut n = 0;
        let err = write_frames_atomic::<ParquetIoError>(&path, &[], &|_| None, || {
            n += 1;
            match n {
                1 => Ok(Some(frame(0, 3))),
                _ => Err(ParquetIoError::Io {
                    path: "frame 2".into(),
                    source: std::io::Error::other("no second frame"),
                }),
            }
        })
        .unwrap_err();
        assert!(err.to_string().contains("frame 2"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let none = write_frames_atomic::<ParquetIoError>(&path, &[], &|_| None, || Ok(None));
        assert!(none.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // A frame whose columns differ from the first one's is an error too.
        let mut parts = vec![frame(0, 3), df!("run" => [3i32]).unwrap()].into_iter();
        let other =
            write_frames_atomic::<ParquetIoError>(&path, &[], &|_| None, || Ok(parts.next()));
        assert!(format!("{:?}", other.unwrap_err()).contains("differ"));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
