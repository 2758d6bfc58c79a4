//! [`JobDir`]: the output directory of one shard of a job. It owns the layout
//! (`layout`), the manifest, the locks and every check made before data are
//! written or trusted:
//!
//! - **One job per directory.** Opening takes `.clustersim.lock` (exclusive,
//!   only while the directory is inspected and the new manifest written) and
//!   then holds `.lock-part-IIII-of-NNNN` (exclusive, until the job ends or the
//!   process dies). A second process for the same shard is refused; every
//!   manifest already in the directory must belong to the same job (config
//!   hash, seed, runs, shard count, tables, constant columns), else the job is
//!   refused, or with `--force` the other job's files are removed (never while
//!   that job still holds its lock).
//! - **Verified parts.** After every batch the manifest is rewritten with each
//!   part's size, row count and SHA-256. `--resume` reuses a batch only when
//!   every one of its parts is recorded and on disk with that size, hash, row
//!   count and the batch metadata in its footer; any other batch is run again.
//!
//! The locks are advisory `flock`-style locks (`fs4::FileExt`): the operating
//! system releases them when the process exits or is killed.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;
use polars::prelude::{DataFrame, PolarsResult};

use super::layout::{self, Shard};
use super::manifest::{self, Manifest, PartRecord, Status};
use super::parquet;
use super::tables::Table;

/// Why a job may not write into its output directory (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum JobDirError {
    #[error(
        "output directory {dir} already holds results ({example} and {more} more file(s)); \
         use --force to overwrite them or --resume to complete an interrupted job"
    )]
    Exists {
        dir: String,
        example: String,
        more: usize,
    },
    #[error(
        "--resume: {manifest} was written with {field} = {found}, but this job has {field} = {wanted}; \
         it belongs to another job: run with the same arguments, or use --force to start over"
    )]
    ResumeMismatch {
        manifest: String,
        field: &'static str,
        found: String,
        wanted: String,
    },
    #[error("--resume: {dir} holds part files of shard {shard} but no manifest {manifest}; use --force to start over")]
    ResumeNoManifest {
        dir: String,
        shard: Shard,
        manifest: String,
    },
    #[error(
        "{dir}: shard {shard} is being written by another process ({holder}); \
         wait for it to end, or choose another --out"
    )]
    Busy {
        dir: String,
        shard: Shard,
        holder: String,
    },
}

/// How a job treats what its directory already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Refuse to write if the directory holds any file of this shard or of another job.
    Fresh,
    /// Remove this shard's files and those of other jobs, then start over.
    Force,
    /// Keep the batches already written and verified, write the others.
    Resume,
}

/// How thoroughly [`check_part`] checks a part file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartCheck {
    /// Size, row count and footer metadata (cheap: reads the footer).
    Footer,
    /// Also the SHA-256 of the whole file.
    Hash,
}

/// The first field in which `a` and `b` describe different jobs, if any:
/// (field, value in `a`, value in `b`).
pub fn job_difference(a: &Manifest, b: &Manifest) -> Option<(&'static str, String, String)> {
    let fields: [(&'static str, String, String); 8] = [
        (
            "config_sha256",
            a.config_sha256.clone(),
            b.config_sha256.clone(),
        ),
        ("seed", a.seed.to_string(), b.seed.to_string()),
        ("runs", a.runs.to_string(), b.runs.to_string()),
        (
            "shard count",
            a.shard.count.to_string(),
            b.shard.count.to_string(),
        ),
        ("firms", a.keep_firms.to_string(), b.keep_firms.to_string()),
        ("extra", format!("{:?}", a.extra), format!("{:?}", b.extra)),
        ("tables", a.tables.join(","), b.tables.join(",")),
        (
            "record_every",
            a.record_every.to_string(),
            b.record_every.to_string(),
        ),
    ];
    fields.into_iter().find(|(_, x, y)| x != y)
}

/// The provenance key-value metadata of batch `b` of `table` (also the Arrow
/// schema metadata): what [`check_part`] checks.
pub fn part_metadata(m: &Manifest, table: Table, b: usize) -> Vec<(String, String)> {
    let mut kv = vec![
        (
            "clustersim.version".to_string(),
            m.clustersim_version.clone(),
        ),
        (
            "clustersim.config_sha256".to_string(),
            m.config_sha256.clone(),
        ),
        ("clustersim.seed".to_string(), m.seed.to_string()),
        ("clustersim.runs".to_string(), m.runs.to_string()),
        (
            "clustersim.shard".to_string(),
            Shard::from(m.shard).to_string(),
        ),
        ("clustersim.table".to_string(), table.name().to_string()),
        ("clustersim.batch".to_string(), b.to_string()),
    ];
    if let Some(c) = &m.git_commit {
        kv.push(("clustersim.git_commit".to_string(), c.clone()));
    }
    kv
}

/// Check one recorded part of the job of manifest `m` in `dir`: it exists,
/// has the recorded size and rows, carries the batch metadata of its place
/// and, with [`PartCheck::Hash`], has the recorded SHA-256. The error names
/// the file and what is wrong.
pub fn check_part(
    dir: &Path,
    m: &Manifest,
    rec: &PartRecord,
    level: PartCheck,
) -> Result<(), String> {
    let path = dir.join(&rec.file);
    let shown = path.display();
    let meta = std::fs::metadata(&path).map_err(|e| format!("{shown}: {e}"))?;
    let table = Table::from_name(&rec.table)
        .ok_or_else(|| format!("{shown}: unknown table {:?} in the manifest", rec.table))?;
    let kv = parquet::key_value_metadata(&path).map_err(|e| format!("{shown}: {}", chain(&e)))?;
    for (key, want) in part_metadata(m, table, rec.batch) {
        if key == "clustersim.version" || key == "clustersim.git_commit" {
            continue;
        }
        let found = kv.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str());
        if found != Some(want.as_str()) {
            return Err(format!(
                "{shown} carries {key} = {}, expected {want} (a file of another batch or job?)",
                found.unwrap_or("(none)")
            ));
        }
    }
    if meta.len() != rec.bytes {
        return Err(format!(
            "{shown} has {} bytes, the manifest recorded {}",
            meta.len(),
            rec.bytes
        ));
    }
    let rows = parquet::row_count(&path).map_err(|e| format!("{shown}: {}", chain(&e)))? as u64;
    if rows != rec.rows {
        return Err(format!(
            "{shown} has {rows} rows, the manifest recorded {}",
            rec.rows
        ));
    }
    if level == PartCheck::Hash {
        let bytes = std::fs::read(&path).map_err(|e| format!("{shown}: {e}"))?;
        let sha = manifest::sha256_hex(&bytes);
        if sha != rec.sha256 {
            return Err(format!(
                "{shown} has SHA-256 {sha}, the manifest recorded {} (the file was altered)",
                rec.sha256
            ));
        }
    }
    Ok(())
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// The batches of manifest `m`'s shard whose parts of every table in `tables`
/// are recorded and pass `check`; problems found are returned as messages.
pub fn verified_batches(
    dir: &Path,
    m: &Manifest,
    tables: &[Table],
    level: PartCheck,
) -> (Vec<bool>, Vec<String>) {
    let shard = Shard::from(m.shard);
    let mut done = vec![false; layout::batch_count(shard, m.runs, m.batch)];
    let mut problems = Vec::new();
    for (b, d) in done.iter_mut().enumerate() {
        let mut ok = true;
        for t in tables {
            let rec = m.parts.iter().find(|p| p.batch == b && p.table == t.name());
            match rec {
                None => ok = false,
                Some(rec) => {
                    if let Err(e) = check_part(dir, m, rec, level) {
                        problems.push(e);
                        ok = false;
                    }
                }
            }
        }
        *d = ok;
    }
    (done, problems)
}

/// The default tables of a job, in the order each batch writes them (`runs` last).
pub fn job_tables(keep_firms: bool) -> Vec<Table> {
    let mut t = vec![Table::Region, Table::Clusters, Table::Sites];
    if keep_firms {
        t.push(Table::Firms);
    }
    t.push(Table::Runs);
    t
}

/// `tables` in write order (region, clusters, sites, firms, runs).
pub fn write_order(mut tables: Vec<Table>) -> Vec<Table> {
    let rank = |t: &Table| match t {
        Table::Region => 0,
        Table::Clusters => 1,
        Table::Sites => 2,
        Table::Firms => 3,
        Table::Runs => 4,
    };
    tables.sort_by_key(rank);
    tables.dedup();
    tables
}

/// The tables the job of manifest `m` writes.
pub fn manifest_tables(m: &Manifest) -> Vec<Table> {
    let named: Vec<Table> = m
        .tables
        .iter()
        .filter_map(|n| Table::from_name(n))
        .collect();
    if named.is_empty() {
        job_tables(m.keep_firms)
    } else {
        named
    }
}

/// An open lock file; the lock is released when it is dropped.
#[derive(Debug)]
struct Lock(File);

/// Take the exclusive lock of `path` (creating the file), or `None` when
/// another process holds it.
fn try_lock(path: &Path) -> anyhow::Result<Option<Lock>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open the lock file {}", path.display()))?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(Some(Lock(file))),
        Err(fs4::TryLockError::WouldBlock) => Ok(None),
        Err(fs4::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}

/// The lock file of `shard` in `dir`.
fn shard_lock_path(dir: &Path, shard: Shard) -> PathBuf {
    dir.join(format!(".lock-{}", shard.tag()))
}

/// Who holds a shard lock, as its holder wrote it.
fn holder(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown process".into())
}

/// The output directory of one shard of a job, open for writing.
#[derive(Debug)]
pub struct JobDir {
    dir: PathBuf,
    shard: Shard,
    tables: Vec<Table>,
    manifest_path: PathBuf,
    manifest: Manifest,
    done: Vec<bool>,
    reused: usize,
    _lock: Lock,
}

impl JobDir {
    /// Open `dir` for the job described by `manifest` (status, batches, rows
    /// and parts are filled in here; `manifest.batch` is the requested batch
    /// size, replaced by the old one on `--resume`), writing `tables`. Takes
    /// the locks, checks what the directory holds against `mode` (see the
    /// module doc), and writes the new manifest with status `running`.
    pub fn open(
        dir: &Path,
        mut manifest: Manifest,
        tables: Vec<Table>,
        mode: Mode,
        quiet: bool,
    ) -> anyhow::Result<JobDir> {
        let shard = Shard::from(manifest.shard);
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
        for t in &tables {
            let td = layout::table_dir(dir, *t);
            std::fs::create_dir_all(&td)
                .with_context(|| format!("cannot create {}", td.display()))?;
        }
        // The directory lock serialises the inspection below between jobs.
        let dir_lock_path = dir.join(".clustersim.lock");
        let dir_lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&dir_lock_path)
            .with_context(|| format!("cannot open the lock file {}", dir_lock_path.display()))?;
        fs4::FileExt::lock(&dir_lock)
            .with_context(|| format!("cannot lock {}", dir_lock_path.display()))?;

        let lock_path = shard_lock_path(dir, shard);
        let Some(lock) = try_lock(&lock_path)? else {
            return Err(JobDirError::Busy {
                dir: dir.display().to_string(),
                shard,
                holder: holder(&lock_path),
            }
            .into());
        };
        {
            use std::io::Write;
            let mut f = &lock.0;
            let _ = f.set_len(0);
            let _ = writeln!(
                f,
                "pid {} on {}",
                std::process::id(),
                std::env::var("HOSTNAME").unwrap_or_default()
            );
        }

        let manifest_path = dir.join(layout::manifest_file_name(shard));
        let others: Vec<(PathBuf, Manifest)> = layout::list_manifests(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .into_iter()
            .map(|p| Manifest::read(&p).map(|m| (p, m)))
            .collect::<Result<_, _>>()?;
        let own = others
            .iter()
            .find(|(p, _)| *p == manifest_path)
            .map(|(_, m)| m.clone());
        let foreign: Vec<&(PathBuf, Manifest)> = others
            .iter()
            .filter(|(_, m)| job_difference(m, &manifest).is_some())
            .collect();
        let parts = layout::list_parts(dir)?;
        let own_parts: Vec<PathBuf> = parts
            .iter()
            .filter(|p| p.shard == shard)
            .map(|p| p.path.clone())
            .collect();
        // Parts of another shard count, or of a shard whose manifest is foreign.
        let foreign_shards: Vec<Shard> =
            foreign.iter().map(|(_, m)| Shard::from(m.shard)).collect();
        let foreign_parts: Vec<PathBuf> = parts
            .iter()
            .filter(|p| {
                p.shard != shard
                    && (p.shard.count != shard.count || foreign_shards.contains(&p.shard))
            })
            .map(|p| p.path.clone())
            .collect();

        // Everything that is not ours to keep: `--force` removes it, a fresh
        // job refuses to start beside it.
        let mut conflicting: Vec<PathBuf> = own_parts.clone();
        conflicting.extend(foreign_parts.iter().cloned());
        if own.is_some() {
            conflicting.push(manifest_path.clone());
        }
        conflicting.extend(foreign.iter().map(|(p, _)| p.clone()));
        conflicting.sort();
        conflicting.dedup();

        let mut batch = manifest.batch;
        let mut done = vec![false; layout::batch_count(shard, manifest.runs, batch)];
        let mut kept: Vec<PartRecord> = Vec::new();
        let mut kept_digests: BTreeMap<u32, String> = BTreeMap::new();
        match mode {
            Mode::Resume => {
                if let Some((path, m)) = foreign.first() {
                    let (field, found, wanted) =
                        job_difference(m, &manifest).expect("a foreign manifest differs");
                    return Err(JobDirError::ResumeMismatch {
                        manifest: path.display().to_string(),
                        field,
                        found,
                        wanted,
                    }
                    .into());
                }
                if !foreign_parts.is_empty() {
                    return Err(JobDirError::Exists {
                        dir: dir.display().to_string(),
                        example: relative(dir, &foreign_parts[0]),
                        more: foreign_parts.len() - 1,
                    }
                    .into());
                }
                match &own {
                    Some(old) => {
                        if old.batch != batch {
                            if !quiet {
                                eprintln!(
                                    "note: --resume uses the batch size {} of {} (not {batch})",
                                    old.batch,
                                    manifest_path.display()
                                );
                            }
                            batch = old.batch;
                        }
                        let (d, problems) = verified_batches(dir, old, &tables, PartCheck::Hash);
                        for p in &problems {
                            eprintln!("resume: {p}; that batch is written again");
                        }
                        done = d;
                        kept = old
                            .parts
                            .iter()
                            .filter(|p| done.get(p.batch).copied().unwrap_or(false))
                            .cloned()
                            .collect();
                        let shard_runs =
                            |b: usize| layout::batch_runs(shard, old.runs, old.batch, b);
                        kept_digests = (0..done.len())
                            .filter(|b| done[*b])
                            .flat_map(shard_runs)
                            .filter_map(|r| old.run_digests.get(&r).map(|d| (r, d.clone())))
                            .collect();
                    }
                    None if !own_parts.is_empty() => {
                        return Err(JobDirError::ResumeNoManifest {
                            dir: dir.display().to_string(),
                            shard,
                            manifest: layout::manifest_file_name(shard),
                        }
                        .into());
                    }
                    None => {}
                }
            }
            Mode::Fresh => {
                if !conflicting.is_empty() {
                    return Err(JobDirError::Exists {
                        dir: dir.display().to_string(),
                        example: relative(dir, &conflicting[0]),
                        more: conflicting.len() - 1,
                    }
                    .into());
                }
            }
            Mode::Force => {
                // Never remove the files of a job that is still writing them.
                for (_, m) in &foreign {
                    let s = Shard::from(m.shard);
                    if s == shard {
                        continue;
                    }
                    let path = shard_lock_path(dir, s);
                    if try_lock(&path)?.is_none() {
                        return Err(JobDirError::Busy {
                            dir: dir.display().to_string(),
                            shard: s,
                            holder: holder(&path),
                        }
                        .into());
                    }
                }
                for path in &conflicting {
                    std::fs::remove_file(path)
                        .with_context(|| format!("--force: cannot remove {}", path.display()))?;
                }
                // Charts and CSV exports of the replaced results would be stale.
                for stale in [dir.join("plots"), dir.join(super::export::CSV_DIR)] {
                    if stale.is_dir() {
                        std::fs::remove_dir_all(&stale).with_context(|| {
                            format!("--force: cannot remove {}", stale.display())
                        })?;
                    }
                }
            }
        }
        if mode != Mode::Fresh {
            for path in layout::stale_temp_files(dir, shard)? {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot remove {}", path.display()))?;
            }
        }

        let reused = done.iter().filter(|d| **d).count();
        manifest.status = Status::Running;
        manifest.batch = batch;
        manifest.batches = done.len();
        manifest.batches_done = reused;
        manifest.runs_in_shard = shard.run_count(manifest.runs);
        manifest.end_time = None;
        manifest.wall_seconds = None;
        let mut job = JobDir {
            dir: dir.to_path_buf(),
            shard,
            tables,
            manifest_path,
            manifest,
            done,
            reused,
            _lock: lock,
        };
        job.manifest.parts = kept;
        job.manifest.run_digests = kept_digests;
        job.refresh_totals();
        job.write_manifest()?;
        drop(dir_lock);
        Ok(job)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The shard.
    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// Runs per batch (the old manifest's on `--resume`).
    pub fn batch(&self) -> usize {
        self.manifest.batch
    }

    /// Batches of the shard.
    pub fn batches(&self) -> usize {
        self.done.len()
    }

    /// Batches found written and verified when the directory was opened.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// Batches written so far (reused ones included).
    pub fn batches_done(&self) -> usize {
        self.manifest.batches_done
    }

    /// The batches still to write, in order.
    pub fn todo(&self) -> Vec<usize> {
        (0..self.done.len()).filter(|b| !self.done[*b]).collect()
    }

    /// The runs of batch `b`.
    pub fn batch_runs(&self, b: usize) -> Vec<u32> {
        layout::batch_runs(self.shard, self.manifest.runs, self.manifest.batch, b)
    }

    /// Runs in the batches already written.
    pub fn done_runs(&self) -> u64 {
        (0..self.done.len())
            .filter(|b| self.done[*b])
            .map(|b| self.batch_runs(b).len() as u64)
            .sum()
    }

    /// The manifest as it stands.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The path of the manifest.
    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }

    /// Write batch `b`: every table as its part file (atomically), built and
    /// written chunk by chunk: `chunks(table)` gives the chunks (in order)
    /// and `frame(table, chunk)` a chunk's frame, so that only one chunk's
    /// frame is in memory; then the manifest recording the parts.
    pub fn write_batch<C>(
        &mut self,
        b: usize,
        chunks: impl Fn(Table) -> Vec<C>,
        mut frame: impl FnMut(Table, C) -> PolarsResult<DataFrame>,
        units: &dyn Fn(Table, &str) -> Option<&'static str>,
    ) -> anyhow::Result<()> {
        // The runs' digests are taken on a thread of their own, frame by
        // frame in write order, while this one encodes the frame: a big
        // run's table is one frame, whose digest need not wait for its
        // encoding, nor the encoding for the digest.
        let (records, digests) = std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel::<(Table, DataFrame)>(1);
            let hasher = scope.spawn(move || -> PolarsResult<BTreeMap<u32, String>> {
                let mut digests = super::digest::RunDigests::default();
                for (table, df) in rx {
                    digests.add(table, &df)?;
                }
                Ok(digests.finish())
            });
            let mut records = Vec::new();
            let written = (|| -> anyhow::Result<()> {
                for table in self.tables.clone() {
                    let path = layout::part_path(&self.dir, table, self.shard, b);
                    let meta = part_metadata(&self.manifest, table, b);
                    let mut todo = chunks(table).into_iter();
                    let w =
                        parquet::write_frames_atomic(&path, &meta, &|c| units(table, c), || {
                            let Some(chunk) = todo.next() else {
                                return Ok(None);
                            };
                            let df = frame(table, chunk).with_context(|| {
                                format!("cannot build the {} table of batch {b}", table.name())
                            })?;
                            // A failed digest ends the thread: its error is
                            // reported below.
                            tx.send((table, df.clone()))
                                .map_err(|_| anyhow::anyhow!("the digest thread stopped"))?;
                            anyhow::Ok(Some(df))
                        })?;
                    records.push(PartRecord {
                        file: layout::part_relative(table, self.shard, b),
                        table: table.name().to_string(),
                        batch: b,
                        rows: w.rows,
                        bytes: w.bytes,
                        sha256: w.sha256,
                    });
                }
                Ok(())
            })();
            drop(tx);
            let digests = hasher
                .join()
                .map_err(|_| anyhow::anyhow!("the digest thread panicked"))?
                .with_context(|| format!("cannot digest the runs of batch {b}"));
            // The digest's error first: it is why a send failed.
            let digests = digests?;
            written?;
            anyhow::Ok((records, digests))
        })?;
        self.manifest.run_digests.extend(digests);
        self.manifest.parts.retain(|p| p.batch != b);
        self.manifest.parts.extend(records);
        self.manifest
            .parts
            .sort_by(|x, y| (&x.table, x.batch).cmp(&(&y.table, y.batch)));
        if !self.done[b] {
            self.done[b] = true;
            self.manifest.batches_done += 1;
        }
        self.refresh_totals();
        self.write_manifest()
    }

    fn refresh_totals(&mut self) {
        let mut rows: BTreeMap<String, u64> = self
            .tables
            .iter()
            .map(|t| (t.name().to_string(), 0))
            .collect();
        for p in &self.manifest.parts {
            *rows.entry(p.table.clone()).or_insert(0) += p.rows;
        }
        self.manifest.rows = rows;
        let mut files: Vec<String> = self.manifest.parts.iter().map(|p| p.file.clone()).collect();
        files.sort();
        self.manifest.files = files;
    }

    fn write_manifest(&self) -> anyhow::Result<()> {
        Ok(parquet::write_text_atomic(
            &self.manifest_path,
            &self.manifest.to_json(),
        )?)
    }

    /// End the job: the manifest gets status `complete` when every batch is
    /// written and `complete` is true, else `interrupted`; the lock is released.
    pub fn finish(mut self, complete: bool, wall_seconds: f64) -> anyhow::Result<Manifest> {
        let all = self.done.iter().all(|d| *d);
        self.manifest.status = if complete && all {
            Status::Complete
        } else {
            Status::Interrupted
        };
        self.manifest.end_time = Some(chrono::Utc::now().to_rfc3339());
        self.manifest.wall_seconds = Some(wall_seconds);
        self.write_manifest()?;
        Ok(self.manifest)
    }

    /// This shard's part files (absolute), sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        self.manifest
            .files
            .iter()
            .map(|f| self.dir.join(f))
            .collect()
    }
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir).unwrap_or(path).display().to_string()
}
