//! Output: polars → Parquet, manifest, atomic writes (placeholder).

/// `clustersim summarize`.
pub fn summarize_command(args: &crate::cli::SummarizeArgs) -> anyhow::Result<()> {
    anyhow::bail!("summarize is not implemented yet: {}", args.dir.display())
}
