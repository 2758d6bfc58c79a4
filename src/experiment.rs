//! Monte Carlo driver (placeholder until the Monte Carlo issue lands).

use crate::cli::RunArgs;

/// `clustersim run`.
pub fn run_command(args: &RunArgs) -> anyhow::Result<()> {
    let scenario = match &args.config {
        Some(p) => crate::config::load(p)?,
        None => crate::config::embedded_default(),
    };
    let rec = crate::model::simulate(&scenario, args.seed.unwrap_or(1), 0, false);
    println!("{} steps", rec.region.len());
    Ok(())
}
