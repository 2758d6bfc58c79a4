//! The manifest of a shard (`manifest.json`, or `manifest-part-IIII-of-NNNN.json`
//! when sharded): what was run, by which build, from which config, and what
//! was written. It is written when the job starts (`status: "running"`),
//! rewritten after every batch (recording each part file's size, row count
//! and SHA-256), and when the job ends (`"complete"`) or is interrupted
//! (`"interrupted"`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::layout::Shard;

/// The manifest format tag; bump it when a field changes meaning.
pub const FORMAT: &str = "clustersim-output/2";

/// The state of a shard's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Interrupted,
    Complete,
}

/// A shard in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: u32,
    pub count: u32,
}

impl From<Shard> for ShardInfo {
    fn from(s: Shard) -> Self {
        ShardInfo {
            index: s.index,
            count: s.count,
        }
    }
}

impl From<ShardInfo> for Shard {
    fn from(s: ShardInfo) -> Self {
        Shard {
            index: s.index,
            count: s.count,
        }
    }
}

/// One shard's manifest. Field names are part of the output contract
/// (`docs/outputs.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub status: Status,
    pub clustersim_version: String,
    /// `git rev-parse HEAD` of the build, when it was built from a checkout.
    pub git_commit: Option<String>,
    /// SHA-256 (hex) of the `Cargo.lock` the binary was built with.
    #[serde(default)]
    pub cargo_lock_sha256: String,
    /// `OS-ARCH` of the machine that ran the job (e.g. `linux-x86_64`).
    #[serde(default)]
    pub platform: String,
    /// The job's name (the output directory's default stem).
    pub name: String,
    /// The full command line, as given.
    pub command_line: Vec<String>,
    /// SHA-256 (hex) of `config_ron`.
    pub config_sha256: String,
    /// The resolved scenario, as RON text: running it again reproduces the data.
    pub config_ron: String,
    /// The master seed.
    pub seed: u64,
    /// Runs of the whole job (all shards).
    pub runs: u32,
    pub shard: ShardInfo,
    /// Runs this shard owns (r < runs with r mod count = index).
    pub runs_in_shard: u32,
    /// Runs per batch (part file).
    pub batch: usize,
    /// Batches of this shard.
    pub batches: usize,
    /// Batches complete on disk when the manifest was written.
    pub batches_done: usize,
    /// Whether `firms` part files are written.
    pub keep_firms: bool,
    /// The tables written, in write order (empty in manifests of older builds:
    /// the default tables).
    #[serde(default)]
    pub tables: Vec<String>,
    /// The region and clusters tables keep steps t with t mod this = 0 and the last.
    #[serde(default = "one")]
    pub record_every: u32,
    /// Constant columns added to every table (e.g. a sweep's `point`).
    pub extra: Vec<(String, super::tables::Constant)>,
    /// Worker threads used (the data does not depend on it).
    pub threads: usize,
    /// RFC 3339 times.
    pub start_time: String,
    pub end_time: Option<String>,
    pub wall_seconds: Option<f64>,
    /// Rows per table over this shard's part files.
    pub rows: BTreeMap<String, u64>,
    /// This shard's part files, relative to the directory
    /// (`region/part-….parquet`), sorted.
    pub files: Vec<String>,
    /// Every complete part file of this shard: size, rows and SHA-256.
    #[serde(default)]
    pub parts: Vec<PartRecord>,
    /// How `run_digests` are computed ([`super::digest::SCHEME`]).
    #[serde(default)]
    pub digest_scheme: String,
    /// The content digest of each written run's rows, by run index
    /// (`clustersim verify` recomputes them).
    #[serde(default)]
    pub run_digests: BTreeMap<u32, String>,
}

/// One part file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartRecord {
    /// Relative to the output directory: `region/part-0000-of-0001-b00000.parquet`.
    pub file: String,
    pub table: String,
    pub batch: usize,
    pub rows: u64,
    pub bytes: u64,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
}

fn one() -> u32 {
    1
}

/// A manifest that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a clustersim manifest (line {line}, column {column}: {message})")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
}

impl Manifest {
    /// Read a manifest file.
    pub fn read(path: &Path) -> Result<Manifest, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| ManifestError::Parse {
            path: path.display().to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// The manifest as pretty JSON.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a manifest serialises");
        s.push('\n');
        s
    }
}

/// SHA-256 of `text`, lower-case hex.
pub fn sha256_hex(text: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(text))
}

/// Bytes as lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of the `Cargo.lock` this binary was built with.
pub fn cargo_lock_sha256() -> String {
    sha256_hex(include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/Cargo.lock"
    )))
}

/// The build's provenance as key-value metadata (`clustersim.version`,
/// `clustersim.git_commit` when known, `clustersim.cargo_lock_sha256`,
/// `clustersim.platform`), for tables written outside a job (comparison, design).
pub fn build_metadata() -> Vec<(String, String)> {
    let mut kv = vec![(
        "clustersim.version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    )];
    if let Some(c) = git_commit() {
        kv.push(("clustersim.git_commit".to_string(), c));
    }
    kv.push((
        "clustersim.cargo_lock_sha256".to_string(),
        cargo_lock_sha256(),
    ));
    kv.push(("clustersim.platform".to_string(), platform()));
    kv
}

/// `OS-ARCH` of this machine, e.g. `linux-x86_64`.
pub fn platform() -> String {
    format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH)
}

/// The git commit this binary was built from, if the build knew it.
pub fn git_commit() -> Option<String> {
    option_env!("CLUSTERSIM_GIT_COMMIT")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_abc_is_the_known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
