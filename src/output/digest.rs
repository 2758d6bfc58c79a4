//! The content digest of a run's rows (not of the file bytes), recorded per
//! run in the manifest and recomputed by `clustersim verify`: two builds that
//! write the same values give the same digest, whatever the Parquet encoder.

use std::collections::BTreeMap;

use polars::prelude::*;
use sha2::{Digest, Sha256};

use super::tables::Table;

/// The digest scheme, recorded in the manifest (`digest_scheme`).
pub const SCHEME: &str = "clustersim-run-digest/1: SHA-256 over the job's tables in write order; \
per table its name, then per column its name and type, then the column's values in the run's \
rows in order: floats as IEEE-754 bits (u64 LE), integers as i64 or u64 LE, booleans as one \
byte, strings as their length (u64 LE) and UTF-8 bytes, null as the byte 0xff";

/// The digest of every run in `frames` (the tables of one batch, in write
/// order, rows ordered by run as the writer orders them), by run.
pub fn run_digests(frames: &[(Table, &DataFrame)]) -> PolarsResult<BTreeMap<u32, String>> {
    let mut digests = RunDigests::default();
    for (table, df) in frames {
        digests.add(*table, df)?;
    }
    Ok(digests.finish())
}

/// The runs' digests fed frame by frame: the tables in write order, and a
/// table's rows in one frame or in several, each holding whole runs (a run's
/// rows of one table in one frame). Fed so, it gives what [`run_digests`]
/// gives for the whole tables.
#[derive(Default)]
pub struct RunDigests {
    hashers: BTreeMap<u32, Sha256>,
    buf: Vec<u8>,
}

impl RunDigests {
    /// Feeds `df`'s rows of `table` to the digests of their runs.
    pub fn add(&mut self, table: Table, df: &DataFrame) -> PolarsResult<()> {
        let runs: Vec<u32> = df
            .column("run")?
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .map(|r| r.unwrap_or(-1).max(0) as u32)
            .collect();
        // Contiguous row ranges of each run.
        let mut ranges: Vec<(u32, usize, usize)> = Vec::new();
        for (i, r) in runs.iter().enumerate() {
            match ranges.last_mut() {
                Some((run, _, end)) if run == r => *end = i + 1,
                _ => ranges.push((*r, i, i + 1)),
            }
        }
        for (run, start, end) in ranges {
            let h = self.hashers.entry(run).or_default();
            h.update(table.name().as_bytes());
            let part = df.slice(start as i64, end - start);
            for c in part.columns() {
                h.update(c.name().as_bytes());
                h.update(c.dtype().to_string().as_bytes());
                hash_column(h, c.as_materialized_series(), &mut self.buf)?;
            }
        }
        Ok(())
    }

    /// The digest of every run fed, by run.
    pub fn finish(self) -> BTreeMap<u32, String> {
        self.hashers
            .into_iter()
            .map(|(run, h)| (run, super::manifest::hex(&h.finalize())))
            .collect()
    }
}

/// Feeds column `s`'s values to `h` as [`SCHEME`] spells them. A numeric
/// column without nulls in one chunk (what the writer's frames hold) is
/// handed over as its memory when the machine is little-endian: its values'
/// 8-byte little-endian forms, one after another, are exactly that memory.
/// Otherwise the bytes are gathered in `buf` and handed over in one update
/// (SHA-256 is a stream: the digest is the same however its input is split,
/// and one update per column costs far less than one per value).
fn hash_column(h: &mut Sha256, s: &Series, buf: &mut Vec<u8>) -> PolarsResult<()> {
    buf.clear();
    match s.dtype() {
        DataType::Float64 | DataType::Float32 => {
            let s = s.cast(&DataType::Float64)?;
            hash_numeric(h, s.f64()?, buf, f64::to_le_bytes);
            return Ok(());
        }
        DataType::UInt64 | DataType::UInt32 | DataType::UInt16 | DataType::UInt8 => {
            let s = s.cast(&DataType::UInt64)?;
            hash_numeric(h, s.u64()?, buf, u64::to_le_bytes);
            return Ok(());
        }
        DataType::Boolean => {
            for v in s.bool()?.iter() {
                match v {
                    Some(x) => buf.push(u8::from(x)),
                    None => buf.push(NULL),
                }
            }
        }
        DataType::String => {
            for v in s.str()?.iter() {
                match v {
                    Some(x) => {
                        buf.extend_from_slice(&(x.len() as u64).to_le_bytes());
                        buf.extend_from_slice(x.as_bytes());
                    }
                    None => buf.push(NULL),
                }
            }
        }
        _ => {
            let s = s.cast(&DataType::Int64)?;
            hash_numeric(h, s.i64()?, buf, i64::to_le_bytes);
            return Ok(());
        }
    }
    h.update(&buf[..]);
    Ok(())
}

/// The byte [`SCHEME`] writes for a null.
const NULL: u8 = 0xff;

/// Feeds an 8-byte numeric column to `h`: as its memory where that is the
/// scheme's bytes (`hash_memory`), else each value's little-endian bytes
/// (`le`) or [`NULL`], gathered in `buf` and handed over in one update.
fn hash_numeric<T>(
    h: &mut Sha256,
    ca: &ChunkedArray<T>,
    buf: &mut Vec<u8>,
    le: fn(T::Native) -> [u8; 8],
) where
    T: PolarsNumericType,
    T::Native: bytemuck::Pod,
{
    if hash_memory(h, ca) {
        return;
    }
    for v in ca.iter() {
        match v {
            Some(x) => buf.extend_from_slice(&le(x)),
            None => buf.push(NULL),
        }
    }
    h.update(&buf[..]);
}

/// Hands `ca`'s values to `h` as their memory when that is the scheme's
/// bytes (a little-endian machine, 8-byte values, no nulls, one chunk);
/// whether it did.
fn hash_memory<T>(h: &mut Sha256, ca: &ChunkedArray<T>) -> bool
where
    T: PolarsNumericType,
    T::Native: bytemuck::Pod,
{
    debug_assert_eq!(std::mem::size_of::<T::Native>(), 8);
    match (cfg!(target_endian = "little"), ca.cont_slice()) {
        (true, Ok(values)) => {
            h.update(bytemuck::cast_slice(values));
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_per_run_and_see_every_value() {
        let df =
            df!("run" => [0i32, 0, 1], "x" => [1.0f64, 2.0, 3.0], "s" => ["a", "b", "c"]).unwrap();
        let d = run_digests(&[(Table::Region, &df)]).unwrap();
        assert_eq!(d.len(), 2);
        let one = df!("run" => [1i32], "x" => [3.0f64], "s" => ["c"]).unwrap();
        assert_eq!(run_digests(&[(Table::Region, &one)]).unwrap()[&1], d[&1]);
        let changed = df!("run" => [1i32], "x" => [3.0f64], "s" => ["d"]).unwrap();
        assert_ne!(
            run_digests(&[(Table::Region, &changed)]).unwrap()[&1],
            d[&1]
        );
        assert_ne!(run_digests(&[(Table::Clusters, &one)]).unwrap()[&1], d[&1]);
    }

    /// Fed in frames of whole runs, table after table, the digests are the
    /// whole tables' digests; a run's rows of one table split over two
    /// frames are not (the scheme hashes a run's part column by column).
    #[test]
    fn digests_fed_by_chunks_of_whole_runs_are_the_same() {
        let region = df!("run" => [0i32, 0, 1, 2, 2], "x" => [1.0f64, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let sites = df!("run" => [0i32, 1, 1, 2], "k" => [7i64, 8, 9, 10]).unwrap();
        let whole = run_digests(&[(Table::Region, &region), (Table::Sites, &sites)]).unwrap();
        let mut fed = RunDigests::default();
        fed.add(Table::Region, &region.slice(0, 3)).unwrap();
        fed.add(Table::Region, &region.slice(3, 2)).unwrap();
        fed.add(Table::Sites, &sites.slice(0, 1)).unwrap();
        fed.add(Table::Sites, &sites.slice(1, 3)).unwrap();
        assert_eq!(fed.finish(), whole);
        let mut split = RunDigests::default();
        split.add(Table::Region, &region.slice(0, 1)).unwrap();
        split.add(Table::Region, &region.slice(1, 4)).unwrap();
        split.add(Table::Sites, &sites).unwrap();
        let split = split.finish();
        assert_ne!(split[&0], whole[&0]);
        assert_eq!(split[&1], whole[&1]);
    }

    /// The digest is SHA-256 of exactly the bytes [`SCHEME`] spells out,
    /// written here by hand (an unsigned, a float with a null and one
    /// without, a signed 32- and a 64-bit, a boolean and a string column),
    /// so a faster hashing path cannot change a digest: the columns without
    /// nulls take the path that hands their memory over, the null one the
    /// path that gathers bytes.
    #[test]
    fn digest_is_the_scheme_bytes() {
        let df = df!(
            "run" => [3u32, 3],
            "x" => [Some(1.5f64), None],
            "y" => [-0.0f64, 2.5e-300],
            "n" => [-7i32, 5],
            "m" => [i64::MIN, 9],
            "ok" => [true, false],
            "s" => ["ab", "c"]
        )
        .unwrap();
        let d = run_digests(&[(Table::Sites, &df)]).unwrap();
        let mut b: Vec<u8> = Table::Sites.name().as_bytes().to_vec();
        b.extend_from_slice(b"run");
        b.extend_from_slice(DataType::UInt32.to_string().as_bytes());
        b.extend_from_slice(&3u64.to_le_bytes());
        b.extend_from_slice(&3u64.to_le_bytes());
        b.extend_from_slice(b"x");
        b.extend_from_slice(DataType::Float64.to_string().as_bytes());
        b.extend_from_slice(&1.5f64.to_bits().to_le_bytes());
        b.push(0xff);
        b.extend_from_slice(b"y");
        b.extend_from_slice(DataType::Float64.to_string().as_bytes());
        b.extend_from_slice(&(-0.0f64).to_bits().to_le_bytes());
        b.extend_from_slice(&2.5e-300f64.to_bits().to_le_bytes());
        b.extend_from_slice(b"n");
        b.extend_from_slice(DataType::Int32.to_string().as_bytes());
        b.extend_from_slice(&(-7i64).to_le_bytes());
        b.extend_from_slice(&5i64.to_le_bytes());
        b.extend_from_slice(b"m");
        b.extend_from_slice(DataType::Int64.to_string().as_bytes());
        b.extend_from_slice(&i64::MIN.to_le_bytes());
        b.extend_from_slice(&9i64.to_le_bytes());
        b.extend_from_slice(b"ok");
        b.extend_from_slice(DataType::Boolean.to_string().as_bytes());
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(b"s");
        b.extend_from_slice(DataType::String.to_string().as_bytes());
        b.extend_from_slice(&2u64.to_le_bytes());
        b.extend_from_slice(b"ab");
        b.extend_from_slice(&1u64.to_le_bytes());
        b.extend_from_slice(b"c");
        let want = crate::output::manifest::hex(&Sha256::digest(&b));
        assert_eq!(d[&3], want);
    }
}
