//! The model: world state and one file per ODD submodel. PURE: no I/O, no
//! clock, no global random generator; randomness comes from streams derived in
//! `crate::rng` from (master seed, run, step, site).

pub mod record;

pub use record::{ClusterRow, FirmRow, RegionRow, RunRecord};

use crate::config::Scenario;

/// Run one seeded run of `scenario` (which must have been validated) and
/// return its records. Depends only on (scenario, master_seed, run).
pub fn simulate(scenario: &Scenario, master_seed: u64, run: u64, keep_firms: bool) -> RunRecord {
    // PLACEHOLDER until the model lands: rows of the right shape, all zero.
    let _ = (master_seed, run, keep_firms);
    let mut rec = RunRecord::default();
    for step in 0..=scenario.time.steps {
        rec.region.push(RegionRow {
            step,
            year: scenario.time.start_year + step as f64 * scenario.time.dt,
            firms: (master_seed ^ run) % 1000,
            ..Default::default()
        });
    }
    rec
}
