//! Output: the tables as polars frames (`tables`), the directory layout of
//! part files and manifests (`layout`), the output directory of a job with its
//! locks, manifest and checks (`jobdir`), atomic Parquet and text writes with
//! provenance metadata (`parquet`), the manifest (`manifest`), and reading a
//! directory back (`summarize`), per-run content digests (`digest`) and
//! `clustersim verify` (`verify`), CSV export (`export`). `docs/outputs.md` is the user-facing contract.

pub mod digest;
pub mod export;
pub mod jobdir;
pub mod layout;
pub mod manifest;
pub mod parquet;
pub mod summarize;
pub mod tables;
pub mod verify;

pub use summarize::summarize_command;
