//! The model: world state and one file per ODD submodel. PURE: no I/O, no
//! clock, no global random generator; randomness comes from streams derived in
//! `crate::rng` from (master seed, run, step, site). A step cannot fail: the
//! scenario is validated before it reaches the model.
//!
//! The nine phases of MODEL.md §3, in order: `establish`, `budget`,
//! `infrastructure`, `entry`, `cooperation`, `growth`, `relocation`,
//! `accounts`, `record` — one file each.

pub mod accounts;
pub mod budget;
pub mod cooperation;
pub mod entry;
pub mod establish;
pub mod expo;
pub mod growth;
pub mod infrastructure;
pub mod invariants;
pub mod logn;
pub mod place;
pub mod record;
pub mod relocation;
pub mod skip;
pub mod world;
pub mod zig;
mod zig_tables;

pub use record::{ClusterRow, FirmRow, RegionRow, RunRecord, SiteRow};
pub use world::{Site, World};

use crate::config::Scenario;

impl World<'_> {
    /// Run phases 1–8 of the next step (phase 9, `record`, is `World::record`).
    pub fn step(&mut self) {
        self.step_with(|_| {});
    }

    /// `step`, calling `after` with each phase's name once it is done (and
    /// with `"compact"` after the firm vector's upkeep, run or not): a hook
    /// for timing the phases from outside (`examples/phases.rs`) without a
    /// clock in the model. The world is the same as after `step`.
    pub fn step_with(&mut self, mut after: impl FnMut(&'static str)) {
        let step = self.step + 1;
        // Years elapsed at the start of this step (budget and entry growth).
        let t = (step - 1) as f64 * self.sc.time.dt;
        let c = &mut self.counters;
        (c.entries, c.exits, c.relocations, c.forced_closures) = (0, 0, 0, 0);
        (c.budget, c.spent, c.leakage, c.waste, c.built, c.tax) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for cl in &mut self.clusters {
            cl.dev_alloc = [0.0; world::K_COMPONENTS];
        }
        self.establish(step);
        after("establish");
        self.budget(t);
        after("budget");
        self.infrastructure();
        after("infrastructure");
        self.entry(step, t);
        after("entry");
        self.cooperation(step);
        after("cooperation");
        self.growth(step);
        after("growth");
        self.relocation(step);
        after("relocation");
        self.accounts();
        after("accounts");
        let n = self.firms.len();
        if n >= self.compact_min_firms && self.disorder * world::COMPACT_CHANGED >= n {
            self.compact();
        }
        after("compact");
        self.step = step;
    }
}

/// Run one seeded run of `scenario` (which must have been validated) and
/// return its records: step 0 (the initial state) and steps 1..=steps.
/// Depends only on (scenario, master_seed, run).
pub fn simulate(scenario: &Scenario, master_seed: u64, run: u64, keep_firms: bool) -> RunRecord {
    simulate_with(
        scenario,
        master_seed,
        run,
        keep_firms,
        growth::PARALLEL_MIN_FIRMS,
    )
}

/// What a run's record keeps besides its region rows (every step) and its
/// sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// The final firm snapshot (`RunRecord::firms`).
    pub firms: bool,
    /// The cluster rows of every step (`RunRecord::clusters`); without
    /// them the record is empty there, and the run is the same (a job that
    /// writes no `clusters` table need not hold them: a `hanoi ×200`
    /// run's are about 200 MB).
    pub clusters: bool,
}

/// `simulate`, keeping what `keep` says.
pub fn simulate_keeping(scenario: &Scenario, master_seed: u64, run: u64, keep: Keep) -> RunRecord {
    simulate_reusing(scenario, master_seed, run, keep, RunRecord::default())
}

/// `simulate_keeping` written into `spent`, a record that is no longer
/// needed, whose rows are cleared and whose memory is reused: the same
/// record, without asking the allocator (and the kernel) for the rows'
/// memory again. A many-run job hands each run a record the writer is done
/// with.
pub fn simulate_reusing(
    scenario: &Scenario,
    master_seed: u64,
    run: u64,
    keep: Keep,
    spent: RunRecord,
) -> RunRecord {
    simulate_in(
        scenario,
        master_seed,
        run,
        keep,
        growth::PARALLEL_MIN_FIRMS,
        spent,
    )
}

/// `simulate` with the size (alive firms) from which the local phases run
/// over sites in parallel: 0 always, `u64::MAX` never. The record is the
/// same for every value and any number of threads (tests check it).
pub fn simulate_with(
    scenario: &Scenario,
    master_seed: u64,
    run: u64,
    keep_firms: bool,
    parallel_min_firms: u64,
) -> RunRecord {
    let keep = Keep {
        firms: keep_firms,
        clusters: true,
    };
    simulate_in(
        scenario,
        master_seed,
        run,
        keep,
        parallel_min_firms,
        RunRecord::default(),
    )
}

fn simulate_in(
    scenario: &Scenario,
    master_seed: u64,
    run: u64,
    keep: Keep,
    parallel_min_firms: u64,
    mut rec: RunRecord,
) -> RunRecord {
    let mut world = World::new(scenario, master_seed, run);
    world.parallel_min_firms = parallel_min_firms;
    let steps = scenario.time.steps;
    rec.region.clear();
    rec.clusters.clear();
    rec.firms.clear();
    rec.sites.clear();
    rec.region.reserve(steps as usize + 1);
    rec.sites.extend(world.site_rows());
    // The cluster rows go onto the record's, or into one step's buffer.
    let mut step_rows = Vec::new();
    let rows = if keep.clusters {
        rec.clusters
            .reserve((steps as usize + 1) * world.clusters.len());
        &mut rec.clusters
    } else {
        &mut step_rows
    };
    rec.region.push(world.record_into(rows));
    for _ in 0..steps {
        world.step();
        if !keep.clusters {
            rows.clear();
        }
        rec.region.push(world.record_into(rows));
    }
    if keep.firms {
        rec.firms.extend(world.firm_rows());
    }
    rec
}
