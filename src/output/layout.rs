//! The file layout of an output directory: shards, batches and the names of
//! their part files and manifests (see `docs/outputs.md`). [`super::jobdir`]
//! is the only writer of this layout.
//!
//! A job is shard I of N (0 of 1 when not sharded). The shard owns the runs
//! r < runs with r mod N = I, in increasing order; they are cut into batches of
//! `batch` runs, and batch b of table T is the file
//! `T/part-IIII-of-NNNN-bBBBBB.parquet`: every table has its own folder, so
//! that a reader can open `DIR/T` as one dataset. Names sort in shard then run
//! order. The manifests stay at the root of the directory. A file under such a
//! name is always complete: it is written to a hidden `.…tmp` name (which
//! readers skip) and renamed.

use std::fmt;
use std::path::{Path, PathBuf};

use super::tables::Table;

/// One shard of a job: the runs r with r mod `count` = `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Why a shard specification was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ShardError {
    #[error("--shard {0:?}: expected I/N with integers 0 <= I < N (e.g. 3/8)")]
    Syntax(String),
    #[error("{var}={value:?}: expected a non-negative integer")]
    Env { var: &'static str, value: String },
    #[error(
        "SLURM_ARRAY_TASK_ID={id} gives shard index {index}, not below SLURM_ARRAY_TASK_COUNT={count} \
         (index = (ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP)"
    )]
    EnvRange { id: u32, index: u32, count: u32 },
    #[error(
        "the Slurm array ids are not evenly spaced (SLURM_ARRAY_TASK_MIN={min}, MAX={max}, \
         STEP={step} do not describe SLURM_ARRAY_TASK_COUNT={count} tasks, e.g. --array=1,3,7), \
         so task id {id} has no known place in the array: pass --shard I/N explicitly, or submit \
         with scripts/slurm/clustersim-array.sbatch --ids LIST"
    )]
    EnvUneven {
        id: u32,
        min: u32,
        max: u32,
        step: u32,
        count: u32,
    },
}

impl Default for Shard {
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Parse `I/N` with 0 <= I < N.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let err = || ShardError::Syntax(text.to_string());
        let (i, n) = text.split_once('/').ok_or_else(err)?;
        let index: u32 = i.trim().parse().map_err(|_| err())?;
        let count: u32 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }

    /// The shard from a Slurm job array, when `SLURM_ARRAY_TASK_ID` and
    /// `SLURM_ARRAY_TASK_COUNT` are both set. Task ids need not start at 0:
    /// the index is (ID − MIN) / STEP, with `SLURM_ARRAY_TASK_MIN` (default 0)
    /// and `SLURM_ARRAY_TASK_STEP` (default 1).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>, ShardError> {
        let num = |var: &'static str| -> Result<Option<u32>, ShardError> {
            match get(var) {
                None => Ok(None),
                Some(v) if v.trim().is_empty() => Ok(None),
                Some(v) => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| ShardError::Env { var, value: v }),
            }
        };
        let (Some(id), Some(count)) = (num("SLURM_ARRAY_TASK_ID")?, num("SLURM_ARRAY_TASK_COUNT")?)
        else {
            return Ok(None);
        };
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        // A listed array (`--array=1,3,7`) reports MIN, MAX and STEP = 1 that
        // do not describe its ids; the place of a task is then unknowable.
        if let Some(max) = num("SLURM_ARRAY_TASK_MAX")? {
            let spans = max >= min && (max - min) % step == 0 && (max - min) / step + 1 == count;
            if !spans || id < min || (id - min) % step != 0 {
                return Err(ShardError::EnvUneven {
                    id,
                    min,
                    max,
                    step,
                    count,
                });
            }
        }
        let index = id.saturating_sub(min) / step;
        if count == 0 || index >= count || id < min {
            return Err(ShardError::EnvRange { id, index, count });
        }
        Ok(Some(Shard { index, count }))
    }

    /// The runs of this shard among `runs` runs, in increasing order.
    pub fn runs(&self, runs: u32) -> impl Iterator<Item = u32> + Clone {
        (self.index..runs).step_by(self.count as usize)
    }

    /// How many runs of `runs` belong to this shard.
    pub fn run_count(&self, runs: u32) -> u32 {
        if self.index >= runs {
            0
        } else {
            (runs - self.index).div_ceil(self.count)
        }
    }

    /// The `-part-IIII-of-NNNN` tag of this shard's files.
    pub fn tag(&self) -> String {
        format!("part-{:04}-of-{:04}", self.index, self.count)
    }
}

/// Which runs batch `b` of `shard` holds, with `batch` runs per batch.
pub fn batch_runs(shard: Shard, runs: u32, batch: usize, b: usize) -> Vec<u32> {
    shard.runs(runs).skip(b * batch).take(batch).collect()
}

/// How many batches the shard has.
pub fn batch_count(shard: Shard, runs: u32, batch: usize) -> usize {
    (shard.run_count(runs) as usize).div_ceil(batch.max(1))
}

/// The file name of batch `b` of `shard` inside its table's folder.
pub fn part_file_name(shard: Shard, b: usize) -> String {
    format!("{}-b{:05}.parquet", shard.tag(), b)
}

/// The folder of `table` in the output directory `dir`.
pub fn table_dir(dir: &Path, table: Table) -> PathBuf {
    dir.join(table.name())
}

/// The path of batch `b` of `table` in `shard`: `dir/T/part-….parquet`.
pub fn part_path(dir: &Path, table: Table, shard: Shard, b: usize) -> PathBuf {
    table_dir(dir, table).join(part_file_name(shard, b))
}

/// The path of a part relative to the output directory (`T/part-….parquet`),
/// as the manifest records it.
pub fn part_relative(table: Table, shard: Shard, b: usize) -> String {
    format!("{}/{}", table.name(), part_file_name(shard, b))
}

/// The manifest of a shard: `manifest.json` when the job is not sharded,
/// else `manifest-part-IIII-of-NNNN.json`. `manifest*.json` globs them all.
pub fn manifest_file_name(shard: Shard) -> String {
    if shard.count == 1 {
        "manifest.json".to_string()
    } else {
        format!("manifest-{}.json", shard.tag())
    }
}

/// The shard of a manifest file name written by [`manifest_file_name`].
pub fn parse_manifest_file_name(name: &str) -> Option<Shard> {
    if name == "manifest.json" {
        return Some(Shard::default());
    }
    let rest = name.strip_prefix("manifest-part-")?.strip_suffix(".json")?;
    let (index, count) = rest.split_once("-of-")?;
    let shard = Shard {
        index: index.parse().ok()?,
        count: count.parse().ok()?,
    };
    (shard.count > 0 && shard.index < shard.count).then_some(shard)
}

/// The hidden temporary name a file is written to before its rename.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// The entries of `dir`, or none when it does not exist.
fn entries_if_exists(dir: &Path) -> std::io::Result<Vec<std::fs::DirEntry>> {
    match std::fs::read_dir(dir) {
        Ok(e) => e.collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// Temporary files left in `dir` (its root and its table folders) by an
/// interrupted writer of `shard` (a killed process cannot remove them);
/// `--resume` and `--force` delete them.
pub fn stale_temp_files(dir: &Path, shard: Shard) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    folders.extend(Table::ALL.iter().map(|t| table_dir(dir, *t)));
    for folder in folders {
        for entry in entries_if_exists(&folder)? {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
                continue;
            };
            let Some((final_name, _pid)) = inner.rsplit_once('.') else {
                continue;
            };
            let owner = parse_part_file_name(final_name)
                .map(|(s, _)| s)
                .or_else(|| parse_manifest_file_name(final_name));
            if owner == Some(shard) {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A part file found in a directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartFile {
    pub table: Table,
    pub shard: Shard,
    pub batch: usize,
    pub path: PathBuf,
}

/// Parse a part file name written by [`part_file_name`]: its shard and batch.
pub fn parse_part_file_name(name: &str) -> Option<(Shard, usize)> {
    let stem = name.strip_suffix(".parquet")?;
    let rest = stem.strip_prefix("part-")?;
    let (index, rest) = rest.split_once("-of-")?;
    let (count, b) = rest.split_once("-b")?;
    let shard = Shard {
        index: index.parse().ok()?,
        count: count.parse().ok()?,
    };
    if shard.count == 0 || shard.index >= shard.count {
        return None;
    }
    Some((shard, b.parse().ok()?))
}

/// Every part file in the table folders of `dir`, sorted by table, shard and batch.
pub fn list_parts(dir: &Path) -> std::io::Result<Vec<PartFile>> {
    let mut parts = Vec::new();
    for table in Table::ALL {
        for entry in entries_if_exists(&table_dir(dir, table))? {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some((shard, batch)) = parse_part_file_name(name) {
                parts.push(PartFile {
                    table,
                    shard,
                    batch,
                    path: entry.path(),
                });
            }
        }
    }
    parts.sort();
    Ok(parts)
}

/// Every manifest in `dir` (`manifest.json`, `manifest-part-*.json`), sorted by name.
pub fn list_manifests(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if parse_manifest_file_name(name).is_some() {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parse_accepts_i_of_n_and_refuses_the_rest() {
        assert_eq!(Shard::parse("3/8"), Ok(Shard { index: 3, count: 8 }));
        for bad in ["8/8", "1/0", "x/2", "2", "-1/3", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shard_runs_partition_all_runs() {
        let mut all: Vec<u32> = (0..4)
            .flat_map(|i| Shard { index: i, count: 4 }.runs(10))
            .collect();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(
            Shard { index: 2, count: 4 }.runs(10).collect::<Vec<_>>(),
            vec![2, 6]
        );
        assert_eq!(Shard { index: 2, count: 4 }.run_count(10), 2);
        assert_eq!(Shard { index: 5, count: 8 }.run_count(3), 0);
    }

    #[test]
    fn batches_cut_the_shard_runs_in_order() {
        let s = Shard { index: 1, count: 3 };
        assert_eq!(batch_count(s, 20, 3), 3);
        assert_eq!(batch_runs(s, 20, 3, 0), vec![1, 4, 7]);
        assert_eq!(batch_runs(s, 20, 3, 2), vec![19]);
    }

    #[test]
    fn part_names_round_trip_and_sort() {
        let s = Shard { index: 3, count: 8 };
        let name = part_file_name(s, 12);
        assert_eq!(name, "part-0003-of-0008-b00012.parquet");
        assert_eq!(parse_part_file_name(&name), Some((s, 12)));
        assert_eq!(
            part_relative(Table::Clusters, s, 12),
            "clusters/part-0003-of-0008-b00012.parquet"
        );
        assert_eq!(
            part_path(Path::new("out"), Table::Clusters, s, 12),
            Path::new("out/clusters/part-0003-of-0008-b00012.parquet")
        );
        assert_eq!(parse_part_file_name("region.parquet"), None);
        assert_eq!(parse_manifest_file_name(&manifest_file_name(s)), Some(s));
        assert_eq!(
            parse_manifest_file_name("manifest.json"),
            Some(Shard::default())
        );
        assert!(part_file_name(s, 9) < part_file_name(s, 10));
    }

    #[test]
    fn stale_temp_files_of_the_shard_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let s = Shard { index: 1, count: 2 };
        std::fs::create_dir_all(table_dir(dir.path(), Table::Region)).unwrap();
        let mine = temp_path(&part_path(dir.path(), Table::Region, s, 3));
        let other = temp_path(&part_path(
            dir.path(),
            Table::Region,
            Shard { index: 0, count: 2 },
            3,
        ));
        let manifest = temp_path(&dir.path().join(manifest_file_name(s)));
        for p in [&mine, &other, &manifest] {
            std::fs::write(p, b"x").unwrap();
        }
        let mut want = vec![mine, manifest];
        want.sort();
        assert_eq!(stale_temp_files(dir.path(), s).unwrap(), want);
    }

    #[test]
    fn slurm_env_gives_the_shard() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Shard::from_env(env(&[])), Ok(None));
        assert_eq!(
            Shard::from_env(env(&[
                ("SLURM_ARRAY_TASK_ID", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "4")
            ])),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
        assert_eq!(
            Shard::from_env(env(&[
                ("SLURM_ARRAY_TASK_ID", "4"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1")
            ])),
            Ok(Some(Shard { index: 3, count: 4 }))
        );
        assert!(Shard::from_env(env(&[
            ("SLURM_ARRAY_TASK_ID", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4")
        ]))
        .is_err());
        // Evenly spaced with a step: 1-7:2 has ids 1, 3, 5, 7.
        assert_eq!(
            Shard::from_env(env(&[
                ("SLURM_ARRAY_TASK_ID", "5"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
                ("SLURM_ARRAY_TASK_MIN", "1"),
                ("SLURM_ARRAY_TASK_MAX", "7"),
                ("SLURM_ARRAY_TASK_STEP", "2")
            ])),
            Ok(Some(Shard { index: 2, count: 4 }))
        );
        // A listed array 1,3,5,7: Slurm reports MIN 1, MAX 7, STEP 1 and
        // COUNT 4, which do not agree; every task refuses.
        for id in ["1", "3", "5", "7"] {
            let got = Shard::from_env(move |k: &str| {
                [
                    ("SLURM_ARRAY_TASK_ID", id),
                    ("SLURM_ARRAY_TASK_COUNT", "4"),
                    ("SLURM_ARRAY_TASK_MIN", "1"),
                    ("SLURM_ARRAY_TASK_MAX", "7"),
                    ("SLURM_ARRAY_TASK_STEP", "1"),
                ]
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
            });
            assert!(
                matches!(got, Err(ShardError::EnvUneven { .. })),
                "id {id}: {got:?}"
            );
        }
    }
}
