//! Model tests: submodels against hand-computed cases, invariants after every
//! step over several seeds, and determinism of `simulate`.

use clustersim::config::{
    ClusterSpec, ClusterType, ComponentRule, Components, InsideRule, OutsideRule, ResidentialSpec,
    Scenario,
};
use clustersim::model::world::Firm;
use clustersim::model::{simulate, Site, World};

/// A Hanoi-shaped scenario at about a tenth of the size.
pub fn small_scenario() -> Scenario {
    let mut s = Scenario::default();
    s.clusters.operating = 10;
    s.clusters.complete = 3;
    s.clusters.total_area_ha = 200.0;
    s.clusters.planned = 10;
    s.clusters.planned_total_area_ha = 200.0;
    s.residential.areas = 8;
    s.residential.craft_villages = 2;
    s.initial.firms_in_clusters = 150;
    s.initial.firms_residential = 400;
    for sec in &mut s.sectors {
        sec.entry_rate /= 10.0;
    }
    s.government.budget /= 10.0;
    s
}

fn spec(
    x: f64,
    area: f64,
    ctype: ClusterType,
    q: f64,
    z: f64,
    establish: Option<u32>,
) -> ClusterSpec {
    ClusterSpec {
        name: String::new(),
        x,
        y: 0.0,
        area_ha: area,
        cluster_type: ctype,
        establish_step: establish,
        quality: Components::splat(q),
        connection: z,
    }
}

fn home(x: f64) -> ResidentialSpec {
    ResidentialSpec {
        name: String::new(),
        x,
        y: 0.0,
        population: 1.0,
        craft_village: false,
    }
}

/// A median firm of sector 0 from home area 0 at `site`.
fn firm(site: Site, land: f64) -> Firm {
    Firm {
        id: 0,
        sector: 0,
        site,
        slot: 0,
        kin_slot: u32::MAX,
        home: 0,
        size: 15.0,
        productivity: 1.0,
        polluting: false,
        land,
        age: 0,
        born_step: 0,
        died_step: u32::MAX,
        relocated: false,
        alive: true,
        vol: 1.0,
        ln_size: 0.0,
        ln_prod: 0.0,
    }
}

/// A scenario with explicit sites and no initial firms.
fn explicit(clusters: Vec<ClusterSpec>, areas: Vec<ResidentialSpec>) -> Scenario {
    let mut s = Scenario::default();
    s.clusters.explicit = clusters;
    s.residential.explicit = areas;
    s.initial.firms_in_clusters = 0;
    s.initial.firms_residential = 0;
    s
}

#[test]
fn invariants_hold_after_every_step_over_seeds_and_policies() {
    let base = small_scenario();
    let mut strict = base.clone();
    strict.relocation.enforcement.end = 1.0;
    strict.relocation.forced_after_step = Some(4);
    strict.government.shares.relocation_subsidy = 0.1;
    strict.government.shares.training = 0.0;
    let mut social = base.clone();
    social.clusters.type_shares.marshallian = 0.0;
    social.clusters.type_shares.complex = 0.5;
    social.clusters.type_shares.social_network = 0.5;
    social.cooperation.max_degree = 4;
    let mut gate = base.clone();
    gate.infrastructure.occupancy_gate = Some(0.5);
    gate.government.outside_rule = OutsideRule::Equal;
    gate.government.inside_rule = InsideRule::ByOccupancy;
    gate.government.component_rule = ComponentRule::Showcase;
    for (name, sc) in [
        ("base", &base),
        ("strict", &strict),
        ("social", &social),
        ("gate", &gate),
    ] {
        for seed in [1u64, 2, 3] {
            let mut w = World::new(sc, seed, 0);
            w.check_invariants()
                .unwrap_or_else(|e| panic!("{name} seed {seed} step 0: {e}"));
            for _ in 0..sc.time.steps {
                w.step();
                w.check_invariants()
                    .unwrap_or_else(|e| panic!("{name} seed {seed} step {}: {e}", w.step));
            }
            let (r, _) = w.record();
            assert!(r.firms > 0, "{name}: population died out");
            if name == "strict" {
                assert!(w.counters.forced_total + w.counters.exits_total > 0);
            }
            if name == "social" {
                assert!(r.links > 0, "social: no links formed");
                assert!(r.max_degree <= 4);
            }
        }
    }
}

#[test]
fn same_seed_same_records_different_seed_differs() {
    let sc = small_scenario();
    let a = simulate(&sc, 7, 3, true);
    let b = simulate(&sc, 7, 3, true);
    assert_eq!(a, b);
    let c = simulate(&sc, 7, 4, true);
    assert_ne!(a.region, c.region);
    let d = simulate(&sc, 8, 3, true);
    assert_ne!(a.region, d.region);
    assert_eq!(a.region.len(), sc.time.steps as usize + 1);
    assert_eq!(a.clusters.len(), (sc.time.steps as usize + 1) * 20);
}

/// A run that does not keep its cluster rows (a job without a `clusters`
/// table) is the same run: the same region rows, sites and firms, and no
/// cluster rows.
#[test]
fn a_run_without_its_cluster_rows_is_the_same_run() {
    let sc = small_scenario();
    let full = simulate(&sc, 7, 3, true);
    let keep = clustersim::model::Keep {
        firms: true,
        clusters: false,
    };
    let lean = clustersim::model::simulate_keeping(&sc, 7, 3, keep);
    assert!(lean.clusters.is_empty());
    assert!(!full.clusters.is_empty() && !full.firms.is_empty());
    assert_eq!(lean.region, full.region);
    assert_eq!(lean.sites, full.sites);
    assert_eq!(lean.firms, full.firms);
}

/// A run written into another run's spent record (a many-run job reuses
/// them) is the run's own record: every row list is cleared first, whatever
/// the spent record held and whatever it kept.
#[test]
fn a_run_written_into_a_spent_record_is_the_same_run() {
    use clustersim::model::{simulate_reusing, Keep};
    let sc = small_scenario();
    let all = Keep {
        firms: true,
        clusters: true,
    };
    let fresh = simulate(&sc, 7, 3, true);
    let spent = simulate(&sc, 7, 4, true);
    assert_ne!(spent.region, fresh.region);
    let again = simulate_reusing(&sc, 7, 3, all, spent);
    assert!(again == fresh, "the record differs from a fresh run's");
    // Keeping less than the spent record held leaves those rows empty.
    let lean = Keep {
        firms: false,
        clusters: false,
    };
    let lean = simulate_reusing(&sc, 7, 3, lean, again);
    assert!(lean.clusters.is_empty() && lean.firms.is_empty());
    assert_eq!(lean.region, fresh.region);
    assert_eq!(lean.sites, fresh.sites);
}

/// The local phases over sites, the incumbents' warm-up and the entrants'
/// noise run in parallel for a big world (`parallel_min_firms`). Forced on
/// (0) in pools of 1, 2 and 3 threads, the record, firms included, must be
/// the one of the sequential code (`u64::MAX`) exactly.
#[test]
fn parallel_phases_give_the_sequential_record_for_any_thread_count() {
    let mut sc = Scenario::default();
    sc.time.steps = 10;
    for run in [0, 3] {
        let serial = clustersim::model::simulate_with(&sc, 17, run, true, u64::MAX);
        assert!(serial.firms.len() > 3_000);
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let par = pool.install(|| clustersim::model::simulate_with(&sc, 17, run, true, 0));
            assert!(
                par == serial,
                "run {run}, {threads} threads: records differ"
            );
        }
    }
}

/// What `records_compacting` returns.
struct Compacted {
    region: Vec<clustersim::model::RegionRow>,
    clusters: Vec<clustersim::model::ClusterRow>,
    firms: Vec<clustersim::model::FirmRow>,
    reordered: bool,
    /// Relocations and exits over the run.
    moves: (u64, u64),
    ids: Vec<u32>,
}

/// One run's records, step by step, with `compact_min_firms` set (0:
/// compact whenever a quarter of the firms changed; `usize::MAX`: never),
/// invariants checked after every step. Also returns whether storage order
/// ever differed from id order, the run's relocations and exits, and the
/// stable ids of every firm created (alive and retired), sorted. With
/// `parallel`, the run's phases take their parallel path, on two threads.
fn records_compacting(
    sc: &Scenario,
    run: u64,
    compact_min_firms: usize,
    parallel: bool,
) -> Compacted {
    if parallel {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        return pool.install(|| records_compacting_with(sc, run, compact_min_firms, 0));
    }
    records_compacting_with(sc, run, compact_min_firms, u64::MAX)
}

fn records_compacting_with(
    sc: &Scenario,
    run: u64,
    compact_min_firms: usize,
    parallel_min_firms: u64,
) -> Compacted {
    let mut w = World::new(sc, 17, run);
    w.parallel_min_firms = parallel_min_firms;
    w.compact_min_firms = compact_min_firms;
    w.keep_retired = true;
    let (r, c) = w.record();
    let (mut region, mut clusters) = (vec![r], c);
    let (mut reordered, mut moves) = (false, (0, 0));
    for _ in 0..sc.time.steps {
        w.step();
        w.check_invariants()
            .unwrap_or_else(|e| panic!("step {}: {e}", w.step));
        reordered |= w.firms.iter().enumerate().any(|(k, f)| f.id as usize != k);
        moves.0 += w.counters.relocations;
        moves.1 += w.counters.exits;
        let (r, c) = w.record();
        region.push(r);
        clusters.extend(c);
    }
    let mut ids: Vec<u32> = w.firms.iter().chain(&w.retired).map(|f| f.id).collect();
    ids.sort_unstable();
    Compacted {
        region,
        clusters,
        firms: w.firm_rows(),
        reordered,
        moves,
        ids,
    }
}

/// `World::compact` (firms stored by site, dead ones dropped) changes where
/// firms are stored, never what the model computes: the records, the final
/// firms and their stable ids are those of a run that never compacts, and
/// every firm created is kept once (alive in `firms` or in `retired`);
/// the same when the phases take their parallel path (which finds each
/// firm's new state by its site and slot) on compacted storage.
#[test]
fn compacting_the_firm_vector_leaves_the_record_unchanged() {
    let mut sc = Scenario::default();
    sc.time.steps = 24;
    for (run, parallel) in [(0, false), (5, false), (0, true)] {
        let never = records_compacting(&sc, run, usize::MAX, false);
        let often = records_compacting(&sc, run, 0, parallel);
        assert!(!never.reordered, "without compaction storage is id order");
        assert!(
            often.reordered,
            "run {run}: compaction never reordered the firms"
        );
        let (relocations, exits) = often.moves;
        assert!(
            relocations > 0 && exits > 0,
            "{relocations} relocations, {exits} exits"
        );
        assert!(
            never.region == often.region,
            "run {run}: region records differ"
        );
        assert!(
            never.clusters == often.clusters,
            "run {run}: cluster records differ"
        );
        assert!(never.firms == often.firms, "run {run}: final firms differ");
        let n = never.ids.len() as u32;
        assert_eq!(
            often.ids,
            (0..n).collect::<Vec<_>>(),
            "run {run}: every id once"
        );
        assert_eq!(never.ids, often.ids);
    }
}

/// A world that would be compacted as soon as it is built is built in site
/// order (`World::with_thresholds` with `compact_min_firms` at or below its
/// initial firms): the same firms, ids, slots, kin slots and site lists as
/// the world built firm by firm and then compacted, on one thread and on two
/// (where the firms' logarithms are taken in parallel); and the run from it
/// records what the run from the world built firm by firm, never
/// compacted, records.
#[test]
fn a_big_initial_world_built_in_site_order_is_the_compacted_one() {
    let mut sc = Scenario::default();
    sc.time.steps = 16;
    let state = |w: &World| {
        format!(
            "{:?} {:?} {:?} {} {} {}",
            w.firms, w.clusters, w.areas, w.next_id, w.age_bound, w.disorder
        )
    };
    for (run, threads) in [(0, 1), (3, 2)] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let direct = World::with_thresholds(&sc, 17, run, 0, 0);
            let mut by_firm = World::with_thresholds(&sc, 17, run, 0, usize::MAX);
            assert!(
                by_firm
                    .firms
                    .iter()
                    .enumerate()
                    .all(|(k, f)| f.id as usize == k),
                "built firm by firm, storage is id order"
            );
            assert!(
                direct
                    .firms
                    .iter()
                    .enumerate()
                    .any(|(k, f)| f.id as usize != k),
                "run {run}: the direct build left the firms in id order"
            );
            assert_eq!(by_firm.disorder, by_firm.firms.len());
            let never = by_firm.clone();
            by_firm.compact();
            assert!(
                state(&direct) == state(&by_firm),
                "run {run}, {threads} thread(s): the world built in site order \
                 differs from the one compacted after its build"
            );
            direct.check_invariants().unwrap();
            let records = |mut w: World, compact_min_firms| {
                w.compact_min_firms = compact_min_firms;
                let mut rows = vec![w.record()];
                for _ in 0..sc.time.steps {
                    w.step();
                    rows.push(w.record());
                }
                (rows, w.firm_rows())
            };
            assert!(
                records(direct, 0) == records(never, usize::MAX),
                "run {run}, {threads} thread(s): the records differ"
            );
        });
    }
}

#[test]
fn hanoi_initial_state_matches_the_study() {
    let sc = Scenario::default();
    let w = World::new(&sc, 2021, 0);
    let (r, rows) = w.record();
    assert_eq!(r.clusters_operating, 70);
    assert_eq!(r.clusters_complete, 16);
    assert_eq!(rows.len(), 159);
    let area: f64 = rows.iter().filter(|c| c.operating).map(|c| c.area_ha).sum();
    assert!((area - 1400.0).abs() < 1.0, "operating area {area}");
    assert!(rows.iter().all(|c| (10.0..=75.0).contains(&c.area_ha)));
    assert_eq!(r.firms_clusters, 1100, "every initial cluster firm fits");
    assert_eq!(r.firms_residential, 3000);
    let occ: f64 = rows
        .iter()
        .filter(|c| c.operating)
        .map(|c| c.occupancy * c.area_ha)
        .sum::<f64>()
        / area;
    assert!((0.6..=0.8).contains(&occ), "initial occupancy {occ}");
}

#[test]
fn money_in_equals_spending_leakage_waste_and_carry() {
    let mut sc = small_scenario();
    sc.accounts.developer_reinvest = 0.0;
    sc.government.shares.outside = 0.3;
    sc.government.shares.inside = 0.7;
    sc.government.shares.training = 0.0;
    let mut w = World::new(&sc, 5, 0);
    for step in 1..=12u32 {
        let pipes = |w: &World| -> f64 {
            w.clusters
                .iter()
                .map(|c| c.pipe.iter().sum::<f64>() + c.pipe_z)
                .sum()
        };
        let carry_in = w.carry;
        let before = pipes(&w);
        w.counters = Default::default();
        w.budget((step - 1) as f64 * 0.25);
        let b = w.counters.budget;
        assert!(b > carry_in);
        // Budget = placed + carry.
        assert!((b - (w.counters.spent + w.carry)).abs() < 1e-9 * b);
        w.infrastructure();
        let c = &w.counters;
        assert!((c.leakage - 0.3 * c.spent).abs() < 1e-9 * b.max(1.0));
        // What entered the pipelines = built + waste + pipeline change.
        let net_in = c.spent - c.leakage;
        let lhs = net_in + before;
        let rhs = c.built + c.waste + pipes(&w);
        assert!(
            (lhs - rhs).abs() < 1e-9 * lhs.max(1.0),
            "step {step}: {lhs} vs {rhs}"
        );
        // So money in = built + leakage + waste + Δpipelines + carry.
        w.step += 1;
    }
}

fn inside_only(rule: InsideRule, comp: ComponentRule) -> Scenario {
    let mut sc = explicit(
        vec![
            spec(1.0, 10.0, ClusterType::Marshallian, 0.2, 0.6, None),
            spec(2.0, 30.0, ClusterType::Marshallian, 0.5, 0.6, None),
        ],
        vec![home(0.0)],
    );
    sc.government.shares.outside = 0.0;
    sc.government.shares.inside = 1.0;
    sc.government.shares.training = 0.0;
    sc.government.budget = 4.0; // 1 per step: far below any need.
    sc.government.inside_rule = rule;
    sc.government.component_rule = comp;
    sc
}

fn cluster_money(w: &World, c: usize) -> f64 {
    w.clusters[c].alloc.iter().sum()
}

#[test]
fn inside_rules_split_as_specified() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    // Equal.
    let sc = inside_only(InsideRule::Equal, ComponentRule::Fixed);
    let mut w = World::new(&sc, 1, 0);
    w.budget(0.0);
    assert!(close(cluster_money(&w, 0), 0.5) && close(cluster_money(&w, 1), 0.5));
    // ByArea: 10 : 30.
    let sc = inside_only(InsideRule::ByArea, ComponentRule::Fixed);
    let mut w = World::new(&sc, 1, 0);
    w.budget(0.0);
    assert!(close(cluster_money(&w, 0), 0.25) && close(cluster_money(&w, 1), 0.75));
    // WorstFirst: ∝ (1 − Q)·area with Q = q for equal components.
    let sc = inside_only(InsideRule::WorstFirst, ComponentRule::Fixed);
    let mut w = World::new(&sc, 1, 0);
    w.budget(0.0);
    let (a, b) = (0.8 * 10.0, 0.5 * 30.0);
    assert!(close(cluster_money(&w, 0), a / (a + b)));
    // ByOccupancy: ∝ occupied land; put one firm in cluster 1 only.
    let sc = inside_only(InsideRule::ByOccupancy, ComponentRule::Fixed);
    let mut w = World::new(&sc, 1, 0);
    assert!(w.firms.is_empty());
    w.add_firm(firm(Site::Cluster(1), 1.0));
    w.budget(0.0);
    assert!(close(cluster_money(&w, 0), 0.0) && close(cluster_money(&w, 1), 1.0));
}

#[test]
fn component_rules_split_as_specified() {
    let w_k = [0.25, 0.25, 0.2, 0.15, 0.15];
    // Fixed ∝ w_k.
    let sc = inside_only(InsideRule::Equal, ComponentRule::Fixed);
    let mut w = World::new(&sc, 1, 0);
    w.budget(0.0);
    for (a, w) in w.clusters[0].alloc.iter().zip(w_k) {
        assert!((a - 0.5 * w).abs() < 1e-12);
    }
    // Showcase: roads and green only, ∝ w.
    let sc = inside_only(InsideRule::Equal, ComponentRule::Showcase);
    let mut w = World::new(&sc, 1, 0);
    w.budget(0.0);
    let a = w.clusters[0].alloc;
    assert!(a[1] == 0.0 && a[2] == 0.0 && a[3] == 0.0);
    assert!((a[0] - 0.5 * 0.25 / 0.4).abs() < 1e-12 && (a[4] - 0.5 * 0.15 / 0.4).abs() < 1e-12);
    // Balanced ∝ w_k (1 − q_k)²: make wastewater the worst component.
    let mut sc = inside_only(InsideRule::Equal, ComponentRule::Balanced);
    sc.clusters.explicit[0].quality.wastewater = 0.0;
    let mut w = World::new(&sc, 1, 0);
    w.budget(0.0);
    let a = w.clusters[0].alloc;
    let weights: Vec<f64> = (0..5)
        .map(|k| w_k[k] * if k == 2 { 1.0 } else { 0.64 })
        .collect();
    let total: f64 = weights.iter().sum();
    for k in 0..5 {
        assert!((a[k] - 0.5 * weights[k] / total).abs() < 1e-12, "k {k}");
    }
    assert!(a[2] > a[0]);
}

#[test]
fn outside_rules_split_as_specified() {
    let mut sc = explicit(
        vec![
            spec(5.0, 20.0, ClusterType::Marshallian, 0.5, 0.9, None),
            spec(10.0, 20.0, ClusterType::Marshallian, 0.0, 0.0, Some(8)),
            spec(20.0, 20.0, ClusterType::Marshallian, 0.0, 0.0, Some(2)),
        ],
        vec![home(0.0)],
    );
    sc.government.shares.outside = 1.0;
    sc.government.shares.inside = 0.0;
    sc.government.shares.training = 0.0;
    sc.government.budget = 200.0; // 50 per step.
    let mut w = World::new(&sc, 1, 0);
    w.budget(0.0);
    // PlannedFirst: the planned cluster due first (index 2) to z = 0.75 first.
    let p = &sc.infrastructure;
    let x2 = 0.4 * (1.0 + 3.0 * 20.0 / 30.0);
    let need2 = 20.0 * x2 * (1.0f64 / 0.25).ln() / 0.7;
    assert!(
        (w.clusters[2].alloc_z - need2).abs() < 1e-9,
        "{}",
        w.clusters[2].alloc_z
    );
    assert!((w.clusters[1].alloc_z - (50.0 - need2)).abs() < 1e-9);
    assert_eq!(w.clusters[0].alloc_z, 0.0);
    let _ = p;
    // Equal: equal shares over clusters with z < 1.
    sc.government.outside_rule = OutsideRule::Equal;
    sc.government.budget = 4.0;
    let mut w = World::new(&sc, 1, 0);
    w.budget(0.0);
    for c in 0..3 {
        assert!((w.clusters[c].alloc_z - 1.0 / 3.0).abs() < 1e-12);
    }
}

#[test]
fn logit_choice_picks_a_dominant_cluster_almost_always() {
    let mut sc = explicit(
        vec![
            spec(1.0, 75.0, ClusterType::Marshallian, 1.0, 1.0, None),
            spec(1.0, 75.0, ClusterType::Marshallian, 0.01, 0.0, None),
        ],
        vec![home(0.0)],
    );
    sc.entry.utility.residential = -5.0;
    sc.entry.utility.quality = 10.0;
    for s in &mut sc.sectors {
        s.entry_rate = 200.0;
        s.size_median = 1.0;
    }
    sc.entry.land_per_firm = 0.01;
    sc.entry.land_min_ha = 0.01;
    let mut w = World::new(&sc, 3, 0);
    w.entry(1, 0.0);
    let n = w.firms.len();
    assert!(n > 200, "{n} entrants");
    let in_best = w.clusters[0].members.len();
    assert!(in_best as f64 >= 0.99 * n as f64, "{in_best} of {n}");
}

fn max_degree_after(ctype: ClusterType, seed: u64) -> usize {
    let mut sc = explicit(
        vec![spec(1.0, 75.0, ctype, 0.8, 0.8, None)],
        vec![home(0.0)],
    );
    sc.relatedness = vec![vec![1.0; 6]; 6];
    sc.cooperation.link_decay = 0.0;
    sc.cooperation.link_rate = 1.0;
    let mut w = World::new(&sc, seed, 0);
    for _ in 0..300 {
        w.add_firm(firm(Site::Cluster(0), 0.01));
    }
    w.counters.initial_firms = w.firms.len() as u64;
    for step in 1..=20 {
        w.cooperation(step);
    }
    w.check_invariants().unwrap();
    (0..w.firms.len() as u32)
        .map(|i| w.partners_of(i).len())
        .max()
        .unwrap()
}

#[test]
fn preferential_attachment_makes_bigger_hubs_than_uniform() {
    for seed in [1, 2, 3] {
        let pa = max_degree_after(ClusterType::Complex, seed);
        let uni = max_degree_after(ClusterType::Marshallian, seed);
        assert!(
            pa > uni + 5,
            "seed {seed}: complex max degree {pa} vs marshallian {uni}"
        );
    }
}

#[test]
fn forced_relocation_closes_firms_when_no_land_is_free() {
    // One cluster too small for any firm (land ≥ 0.2 ha > 0.1 ha).
    let mut sc = explicit(
        vec![spec(1.0, 0.1, ClusterType::Marshallian, 0.9, 0.9, None)],
        vec![home(0.0)],
    );
    sc.initial.firms_residential = 200;
    for s in &mut sc.sectors {
        s.polluting_share = 1.0;
    }
    sc.relocation.forced_after_step = Some(0);
    sc.relocation.force_rate = 1000.0;
    let mut w = World::new(&sc, 9, 0);
    assert_eq!(w.areas[0].members.len(), 200);
    w.relocation(1);
    assert_eq!(w.counters.relocations, 0);
    assert_eq!(w.counters.forced_closures, 200);
    assert!(w.areas[0].members.is_empty());
    w.check_invariants().unwrap();

    // With land free, the same firms are moved instead of closed.
    sc.clusters.explicit[0].area_ha = 1000.0;
    let mut w = World::new(&sc, 9, 0);
    w.relocation(1);
    assert_eq!(w.counters.forced_closures, 0);
    assert_eq!(w.counters.relocations, 200);
    assert!(w
        .firms
        .iter()
        .all(|f| f.relocated && f.site == Site::Cluster(0)));
    w.check_invariants().unwrap();
}

#[test]
fn establish_waits_for_connection_and_occupancy_gate() {
    let mut sc = explicit(
        vec![
            spec(1.0, 20.0, ClusterType::Marshallian, 0.5, 0.6, None),
            spec(2.0, 20.0, ClusterType::Marshallian, 0.0, 0.4, Some(1)),
            spec(3.0, 20.0, ClusterType::Marshallian, 0.0, 0.6, Some(1)),
        ],
        vec![home(0.0)],
    );
    let mut w = World::new(&sc, 1, 0);
    w.establish(1);
    assert!(!w.clusters[1].operating(), "z below z_min keeps it planned");
    assert!(w.clusters[2].operating());
    assert!(w.areas[0].nearest.iter().any(|&(_, c)| c == 2));
    // A gate at 0.5 with an empty operating cluster keeps everything planned.
    sc.infrastructure.occupancy_gate = Some(0.5);
    let mut w = World::new(&sc, 1, 0);
    w.establish(1);
    assert!(!w.clusters[2].operating());
}

#[test]
fn cluster_types_come_in_exact_counts() {
    let sc = Scenario::default();
    for seed in [1u64, 2] {
        let w = World::new(&sc, seed, 0);
        let count = |planned: bool, t: ClusterType| {
            w.clusters
                .iter()
                .filter(|c| c.operating() != planned && c.ctype == t)
                .count()
        };
        let types = |planned| {
            (
                count(planned, ClusterType::Marshallian),
                count(planned, ClusterType::Complex),
                count(planned, ClusterType::SocialNetwork),
            )
        };
        // 70 × (0.5, 0.25, 0.25) = 35, 17.5, 17.5: the tie goes to Complex.
        assert_eq!(types(false), (35, 18, 17), "seed {seed}: operating");
        // 89 × … = 44.5, 22.25, 22.25.
        assert_eq!(types(true), (45, 22, 22), "seed {seed}: planned");
    }
}

/// Two firms alone in one cluster of `ctype`, every pair related, an
/// attempt every step: are they linked after one cooperation step?
fn pair_links(ctype: ClusterType, triadic: f64, seed: u64) -> bool {
    let mut sc = explicit(
        vec![spec(1.0, 75.0, ctype, 0.8, 0.8, None)],
        vec![home(0.0)],
    );
    sc.relatedness = vec![vec![1.0; 6]; 6];
    sc.cooperation.link_rate = 1e3;
    sc.cooperation.triadic_share = triadic;
    sc.cooperation.kin_share = 0.0;
    let mut w = World::new(&sc, seed, 0);
    w.add_firm(firm(Site::Cluster(0), 0.01));
    w.add_firm(firm(Site::Cluster(0), 0.01));
    w.counters.initial_firms = 2;
    w.cooperation(1);
    w.check_invariants().unwrap();
    !w.partners_of(0).is_empty()
}

#[test]
fn a_link_attempt_is_never_wasted_on_the_firm_itself() {
    // The only candidate that is neither the firm nor a partner is the other
    // firm, so every attempt finds it (a self-candidate would fail half of
    // them); a SocialNetwork firm without partners falls back to a uniform
    // candidate of its cluster instead of losing its triadic attempt.
    for seed in 0..20 {
        assert!(
            pair_links(ClusterType::Marshallian, 0.5, seed),
            "seed {seed}"
        );
        assert!(pair_links(ClusterType::Complex, 0.5, seed), "seed {seed}");
        assert!(
            pair_links(ClusterType::SocialNetwork, 1.0, seed),
            "seed {seed}"
        );
    }
}

/// Links crossing clusters after 10 cooperation steps, with 100 firms from
/// one home in each of two clusters of `ctype`.
fn crossing_links(ctype: ClusterType, kin_share: f64) -> usize {
    let mut sc = explicit(
        vec![
            spec(1.0, 75.0, ctype, 0.8, 0.8, None),
            spec(2.0, 75.0, ctype, 0.8, 0.8, None),
        ],
        vec![home(0.0)],
    );
    sc.relatedness = vec![vec![1.0; 6]; 6];
    sc.cooperation.triadic_share = 0.0;
    sc.cooperation.kin_share = kin_share;
    let mut w = World::new(&sc, 4, 0);
    for c in [0, 1] {
        for _ in 0..100 {
            w.add_firm(firm(Site::Cluster(c), 0.01));
        }
    }
    w.counters.initial_firms = w.firms.len() as u64;
    for step in 1..=10 {
        w.cooperation(step);
    }
    w.check_invariants().unwrap();
    (0..w.firms.len() as u32)
        .map(|i| {
            w.partners_of(i)
                .iter()
                .filter(|&&j| w.firms[j as usize].site != w.firms[i as usize].site)
                .count()
        })
        .sum::<usize>()
        / 2
}

#[test]
fn kin_links_cross_clusters_for_social_network_only() {
    let social = crossing_links(ClusterType::SocialNetwork, 1.0);
    assert!(social > 50, "{social} kin links across clusters");
    assert_eq!(crossing_links(ClusterType::SocialNetwork, 0.0), 0);
    assert_eq!(crossing_links(ClusterType::Marshallian, 1.0), 0);
}

/// Growth stores no productivity for a residential firm: it is computed
/// when read, bit for bit the exp(ln A) that growth would have stored, and
/// stored once the firm moves into a cluster (whose phases change it in
/// place); a cluster member's growth stores it.
#[test]
fn a_residential_firms_productivity_is_computed_when_read() {
    let sc = explicit(
        vec![spec(1.0, 75.0, ClusterType::Marshallian, 0.8, 0.8, None)],
        vec![home(0.0)],
    );
    let mut w = World::new(&sc, 7, 0);
    for k in 0..40 {
        let site = if k % 2 == 0 {
            Site::Home(0)
        } else {
            Site::Cluster(0)
        };
        let mut f = firm(site, 0.01);
        f.productivity = 1.0 + 0.01 * k as f64;
        w.add_firm(f);
    }
    w.counters.initial_firms = w.firms.len() as u64;
    w.growth(1);
    w.check_invariants().unwrap();
    let exp = clustersim::model::expo::exp;
    let alive = |w: &World, home: bool| -> Vec<u32> {
        (0..w.firms.len() as u32)
            .filter(|&i| {
                let f = &w.firms[i as usize];
                f.alive && matches!(f.site, Site::Home(_)) == home
            })
            .collect()
    };
    let (residents, members) = (alive(&w, true), alive(&w, false));
    assert!(residents.len() > 10 && members.len() > 10);
    for &i in &residents {
        let f = &w.firms[i as usize];
        assert!(f.productivity.is_nan(), "firm {i}: A stored");
        assert_eq!(f.productivity().to_bits(), exp(f.ln_prod).to_bits());
        assert!(
            (f.productivity() - 1.2).abs() < 0.5,
            "firm {i}: A {}",
            f.productivity()
        );
    }
    for &i in &members {
        let f = &w.firms[i as usize];
        assert_eq!(f.productivity.to_bits(), exp(f.ln_prod).to_bits());
    }
    let mover = residents[0];
    w.move_firm(mover, Site::Cluster(0));
    let f = &w.firms[mover as usize];
    assert_eq!(f.productivity.to_bits(), exp(f.ln_prod).to_bits());
    w.check_invariants().unwrap();
}

/// Cooperation leaves its spillover pending for growth (the next phase
/// reads it as it grows each member). A cooperation phase that no growth
/// follows has its spillover written out before the next one reads any
/// productivity: two phases in a row give the firms what two phases with
/// the spillover settled between them give, and the spillover raises the
/// productivity of firms with more productive partners.
#[test]
fn a_pending_spillover_is_written_out_before_the_next_cooperation() {
    let mut sc = explicit(
        vec![spec(1.0, 75.0, ClusterType::Marshallian, 0.8, 0.8, None)],
        vec![home(0.0)],
    );
    sc.relatedness = vec![vec![1.0; 6]; 6];
    sc.cooperation.link_decay = 0.0;
    sc.cooperation.link_rate = 20.0;
    sc.cooperation.spillover = 0.5;
    let build = || {
        let mut w = World::new(&sc, 7, 0);
        for k in 0..60 {
            let mut f = firm(Site::Cluster(0), 0.01);
            f.productivity = 1.0 + 0.05 * k as f64;
            w.add_firm(f);
        }
        w.counters.initial_firms = w.firms.len() as u64;
        w
    };
    let productivities =
        |w: &World| -> Vec<u64> { w.firms.iter().map(|f| f.productivity.to_bits()).collect() };
    let start = productivities(&build());
    let mut in_a_row = build();
    let mut settled = build();
    for step in 1..=3 {
        in_a_row.cooperation(step);
        settled.cooperation(step);
        settled.settle_spillover();
    }
    in_a_row.settle_spillover();
    in_a_row.check_invariants().unwrap();
    assert_eq!(productivities(&in_a_row), productivities(&settled));
    let raised = in_a_row
        .firms
        .iter()
        .zip(&start)
        .filter(|(f, &a)| f.productivity > f64::from_bits(a))
        .count();
    assert!(raised > 20, "{raised} of 60 firms raised by the spillover");
    for f in &in_a_row.firms {
        assert_eq!(
            f.ln_prod.to_bits(),
            clustersim::model::logn::ln(f.productivity).to_bits()
        );
    }
    // A firm leaving its cluster moves another member to its slot: the
    // pending spillover is written out first, each value to its own firm.
    let mut killed = build();
    let mut killed_settled = build();
    killed.cooperation(1);
    killed_settled.cooperation(1);
    killed_settled.settle_spillover();
    for w in [&mut killed, &mut killed_settled] {
        let first = w.clusters[0].members[0];
        w.kill_firm(first);
        w.drop_dead_links();
        w.settle_spillover();
    }
    assert_ne!(productivities(&killed), start);
    assert_eq!(productivities(&killed), productivities(&killed_settled));
}

/// Relocations in one relocation phase of 2,000 non-polluting residential
/// firms whose home has `n` identical clusters next to it.
fn moves_with_choices(n: usize) -> u64 {
    let clusters = (0..n)
        .map(|_| spec(1.0, 5000.0, ClusterType::Marshallian, 0.5, 0.5, None))
        .collect();
    let mut sc = explicit(clusters, vec![home(0.0)]);
    sc.initial.firms_residential = 2000;
    for s in &mut sc.sectors {
        s.polluting_share = 0.0;
    }
    sc.relocation.relocation_rate = 4.0;
    sc.entry.utility.residential = 0.0;
    let mut w = World::new(&sc, 5, 0);
    w.relocation(1);
    w.check_invariants().unwrap();
    w.counters.relocations
}

#[test]
fn relocation_weighs_home_against_the_inclusive_value_of_the_choice_set() {
    // Ten identical clusters are worth ln 10 more than one (IV = U + ln n),
    // as they are to an entrant choosing by Gumbel-max; comparing home with
    // the single best cluster would make both cases move alike.
    let (one, ten) = (moves_with_choices(1), moves_with_choices(10));
    assert!(one > 20, "{one} moves with one cluster");
    assert!(
        ten as f64 > 1.5 * one as f64,
        "{ten} moves with ten clusters vs {one} with one"
    );
}

/// One relocation phase of 2,000 residential firms (all polluting or none)
/// whose home has one cluster with room for all, over `worlds` runs: the
/// moves counted, and the sum and variance of their move probabilities
/// computed here from MODEL.md §4.6 (one cluster: IV = U_c; θ_cost = 0, so
/// the moving cost does not matter; a forced firm moves whatever its
/// choice, so it stays home with probability (1 − p_choice)(1 − p_force)).
fn moves_against_their_probability(polluting: bool, forced: bool, worlds: u64) -> (f64, f64, f64) {
    let clusters = vec![spec(1.0, 5000.0, ClusterType::Marshallian, 0.5, 0.5, None)];
    let mut sc = explicit(clusters, vec![home(0.0)]);
    sc.initial.firms_residential = 2000;
    for s in &mut sc.sectors {
        s.polluting_share = if polluting { 1.0 } else { 0.0 };
    }
    sc.relocation.relocation_rate = 4.0;
    sc.relocation.theta0 = -1.0;
    sc.relocation.theta_cost = 0.0;
    if forced {
        // A firm moves if forced (p_force = 1 − exp(−0.5·dt)) or by choice.
        sc.relocation.forced_after_step = Some(0);
        sc.relocation.force_rate = 0.5;
    }
    let rp = &sc.relocation;
    let dt = sc.time.dt;
    let (mut moved, mut mean, mut var) = (0.0, 0.0, 0.0);
    for run in 0..worlds {
        let mut w = World::new(&sc, 5, run);
        let e = w.enforcement(1);
        let views = w.site_views();
        let (dist, c) = w.areas[0].nearest[0];
        for f in w.firms.iter().filter(|f| f.alive) {
            let u_c = w.cluster_utility(&views, c as usize, f.sector as usize, dist);
            let x = rp.theta0
                + rp.theta_gain * (u_c - w.home_utility(f.polluting, e))
                + if f.polluting { rp.theta_enf * e } else { 0.0 };
            let p_choice = 1.0 - (-rp.relocation_rate * dt / (1.0 + (-x).exp())).exp();
            let p_force = if forced {
                1.0 - (-rp.force_rate * dt).exp()
            } else {
                0.0
            };
            let p = 1.0 - (1.0 - p_choice) * (1.0 - p_force);
            mean += p;
            var += p * (1.0 - p);
        }
        w.relocation(1);
        w.check_invariants().unwrap();
        moved += w.counters.relocations as f64;
    }
    (moved, mean, var)
}

/// Relocation's firm-level bound before the choice sets (docs/model.md
/// §4.6) turns away only firms that the bound after them would: a run
/// records the same with it and without it, with moving costs, relocation
/// subsidies and forcing, on one thread and in a big world on two.
#[test]
fn relocations_prefilter_changes_no_record() {
    let mut sc = Scenario::default();
    sc.time.steps = 24;
    sc.government.shares.training = 0.0;
    sc.government.shares.relocation_subsidy = 0.1;
    sc.relocation.forced_after_step = Some(12);
    // The moving cost weighs more than the bounds' slack in IV (up to
    // θ_gain·ln 30), so that a bound tighter than the next one shows.
    sc.relocation.theta0 = -1.0;
    sc.relocation.theta_gain = 0.2;
    sc.relocation.move_cost_per_ha = 1.0;
    let big = sc.scaled(12.0);
    for (sc, threads) in [(&sc, 1), (&big, 2)] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let run = |prefilter: bool| {
            pool.install(|| {
                let mut w = World::new(sc, 17, 0);
                w.relocation_prefilter = prefilter;
                let (mut rows, mut moved) = (vec![w.record()], 0);
                for _ in 0..sc.time.steps {
                    w.step();
                    rows.push(w.record());
                    moved += w.counters.relocations;
                }
                (rows, moved)
            })
        };
        let (with, moved) = run(true);
        assert!(moved > 200, "{threads} thread(s): {moved} moves");
        assert!(
            with == run(false).0,
            "{threads} thread(s): the records differ"
        );
    }
}

/// Only a few residents are drawn (those below their bound, found by
/// geometric gaps, then shuffled): the moves must still follow each firm's
/// own probability, voluntary (with and without enforcement) and forced.
#[test]
fn relocations_follow_each_firms_move_probability() {
    for (polluting, forced) in [(false, false), (true, false), (true, true)] {
        let (moved, mean, var) = moves_against_their_probability(polluting, forced, 12);
        assert!(mean > 500.0, "{mean} expected moves");
        assert!(
            (moved - mean).abs() < 4.0 * var.sqrt(),
            "polluting {polluting}, forced {forced}: {moved} moves, {mean:.1} ± {:.1} expected",
            var.sqrt()
        );
    }
}

#[test]
fn spin_up_grows_incumbents_from_the_entry_draw() {
    let sc = Scenario::default();
    let mut cold = sc.clone();
    cold.initial.spin_up = false;
    let spread = |sc: &Scenario, old: bool| {
        let w = World::new(sc, 2021, 0);
        let v: Vec<f64> = w
            .firms
            .iter()
            .filter(|f| if old { f.age >= 60 } else { f.age < 8 })
            .map(|f| (f.size / sc.sectors[f.sector as usize].size_median).ln())
            .collect();
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    // Without spin-up every age has the entry spread (σ = 1); with it, old
    // incumbents have grown apart (Gibrat) and young ones have not.
    assert!((spread(&cold, true) - spread(&cold, false)).abs() < 0.15);
    assert!(spread(&sc, true) > spread(&sc, false) + 0.3);
    // Every incumbent that has been through a growth step survived its
    // exit test (exits are redrawn); an incumbent of age 0 is a fresh entry
    // draw, which may be below the exit size (like any entrant).
    let w = World::new(&sc, 2021, 0);
    assert!(w
        .firms
        .iter()
        .filter(|f| f.age > 0)
        .all(|f| f.size >= sc.growth.exit_size));
    assert!(w.firms.iter().filter(|f| f.age == 0).count() > 10);
}

/// `World::step_with` (the phase-timing hook) is `step`: the same records
/// step by step, and its hook hears the eight phases and the upkeep once
/// each, in the order of MODEL.md §3.
#[test]
fn step_with_is_step_and_names_every_phase_in_order() {
    let mut sc = Scenario::default();
    sc.time.steps = 12;
    let (mut plain, mut hooked) = (World::new(&sc, 3, 1), World::new(&sc, 3, 1));
    let order = [
        "establish",
        "budget",
        "infrastructure",
        "entry",
        "cooperation",
        "growth",
        "relocation",
        "accounts",
        "compact",
    ];
    for _ in 0..sc.time.steps {
        plain.step();
        let mut heard = Vec::new();
        hooked.step_with(|phase| heard.push(phase));
        assert_eq!(heard, order, "step {}", plain.step);
        assert_eq!(plain.step, hooked.step);
        assert!(plain.record() == hooked.record(), "step {}", plain.step);
    }
    assert!(plain.counters.entries + plain.counters.exits > 0);
}
