//! World state (MODEL.md §2) and its initialisation (MODEL.md §5).
//!
//! Firms live in one flat vector indexed by storage index (their stable id
//! in a small world; in a big one, stored by site from the start and again
//! after each `compact`); ids are never reused, and a dead firm stays in the
//! vector with `alive = false` until `compact` drops it. Each site (cluster
//! or residential area) keeps the storage indices of its alive firms in
//! `members`, and each firm remembers its `slot` there, so that moving or
//! removing a firm is O(1).

use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution, LogNormal};

use super::logn::ln;
use crate::config::{ClusterType, Scenario};
use crate::rng::{Purpose, RunStreams, Stream};

/// Number of infrastructure components.
pub const K_COMPONENTS: usize = 5;

/// Where a firm sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    Cluster(u32),
    Home(u32),
}

/// One industrial cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub x: f64,
    pub y: f64,
    pub area: f64,
    pub ctype: ClusterType,
    /// `Some(t)` while planned (to open at or after step t); `None` once operating.
    pub establish_step: Option<u32>,
    /// Component qualities q_k.
    pub q: [f64; K_COMPONENTS],
    /// Outside-the-fence connection z.
    pub z: f64,
    /// Pipelines P_k (money committed, net of leakage).
    pub pipe: [f64; K_COMPONENTS],
    pub pipe_z: f64,
    /// Distance to the centre (km).
    pub dist_centre: f64,
    /// Effective quality Q (CES), refreshed whenever q changes (end of the
    /// infrastructure phase, initialisation).
    pub quality: f64,
    pub labor_pool: f64,
    /// Occupied land (ha); equals the sum of the members' land.
    pub occupied: f64,
    /// Alive firms in the cluster.
    pub members: Vec<u32>,
    /// The partners of each member, beside it: `partners[k]` holds the
    /// storage indices of `members[k]`'s partners (MODEL.md §4.4), in the
    /// order links were made and dissolved. A site owns its members' lists,
    /// so that the local cooperation phases of different clusters touch
    /// disjoint data (`World::partners_of` finds any firm's list).
    pub partners: Vec<Vec<u32>>,
    /// Each member's size and polluting flag, beside it (see `Held`).
    pub held: Vec<Held>,
    /// Links with both ends in this cluster, kept by every change of a
    /// link or of a linked firm's site (so that the record counts the
    /// cluster's links as Σ degree − this, without reading each partner;
    /// `check_invariants` recounts it).
    pub internal_links: u64,
    /// Alive firms per sector.
    pub sector_counts: Vec<u32>,
    /// Employment after the last growth phase.
    pub employment: f64,
    /// max(0, employment/L − 1) after the last growth phase.
    pub shortage: f64,
    /// Money allocated this step, per component and to the connection (gross).
    pub alloc: [f64; K_COMPONENTS],
    pub alloc_z: f64,
    /// Developer money this step (gross), per component.
    pub dev_alloc: [f64; K_COMPONENTS],
}

/// A member's size S and whether it pollutes, kept by its site beside it
/// (`held[k]` for `members[k]`, a copy of the firm's own fields): the sums
/// over a site's members (employment, revenue, pollution) read these
/// contiguous entries in member order instead of each firm, the same values
/// in the same order. Written where a member joins or leaves its site and
/// where growth sets S (the only phase that changes it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    pub size: f64,
    pub polluting: bool,
}

impl Cluster {
    pub fn operating(&self) -> bool {
        self.establish_step.is_none()
    }
    pub fn free_land(&self) -> f64 {
        (self.area - self.occupied).max(0.0)
    }
}

/// A residential area or craft village.
#[derive(Debug, Clone)]
pub struct Area {
    pub x: f64,
    pub y: f64,
    pub population: f64,
    pub craft_village: bool,
    pub members: Vec<u32>,
    /// The partners of each member, beside it (see `Cluster::partners`;
    /// residential firms make no links, so these stay empty in a run).
    pub partners: Vec<Vec<u32>>,
    /// Each member's size and polluting flag, beside it (see `Held`).
    pub held: Vec<Held>,
    pub sector_counts: Vec<u32>,
    /// Alive polluting members (relocation's subsidy share, §4.6).
    pub polluting: u32,
    /// The nearest operating clusters, (distance km, cluster), nearest first,
    /// at most `choice_set` of them; updated when a cluster opens.
    pub nearest: Vec<(f64, u32)>,
    /// Alive firms from this home area that sit in a cluster (any cluster):
    /// the candidates of `SocialNetwork` kin links (MODEL.md §4.4).
    pub kin: Vec<u32>,
}

/// One firm.
#[derive(Debug, Clone, Copy)]
pub struct Firm {
    /// Stable id: the order of creation (initial firms first, then entrants),
    /// set by `add_firm`. The firm's index in `World::firms` is its place in
    /// storage, which `World::compact` changes; outputs and every decision
    /// that depends on an order of firms use this id.
    pub id: u32,
    pub sector: u32,
    pub site: Site,
    /// Index of this firm in its site's `members`.
    pub slot: u32,
    /// Index of this firm in its home area's `kin` list while it sits in a
    /// cluster (`u32::MAX` otherwise).
    pub kin_slot: u32,
    pub home: u32,
    /// Revenue S (billion VND a year).
    pub size: f64,
    /// Productivity A as stored: NaN where growth left it to be computed
    /// when read, exp(ln A) (a residential firm's: nothing reads it while
    /// the firm sits in its area but the record, and `attach` stores it
    /// when the firm moves into a cluster). Read it through
    /// [`Firm::productivity`] but in a cluster's phases, where every
    /// member's and partner's A is stored.
    pub productivity: f64,
    pub polluting: bool,
    pub land: f64,
    /// Age in steps.
    pub age: u32,
    /// Step at which the firm entered (0 for initial firms).
    pub born_step: u32,
    /// Step in which the firm exited or was closed (`u32::MAX` while alive).
    pub died_step: u32,
    pub relocated: bool,
    pub alive: bool,
    /// Standard-deviation multiplier √v of this year's growth shocks (1 for
    /// `Gaussian`; v ~ Exp(1) redrawn each year for `Laplace`, MODEL.md §4.5).
    pub vol: f64,
    /// ln S and ln A, kept beside S and A so a growth step needs no
    /// logarithm (set by `add_firm`; growth, spillover and training keep them).
    pub ln_size: f64,
    pub ln_prod: f64,
}

impl Firm {
    /// Productivity A: the stored value, or exp(ln A) where growth left it
    /// to be computed when read (the value growth would have stored, bit
    /// for bit).
    #[inline]
    pub fn productivity(&self) -> f64 {
        if self.productivity.is_nan() {
            super::expo::exp(self.ln_prod)
        } else {
            self.productivity
        }
    }
}

/// Cumulative and per-step counters.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub initial_firms: u64,
    pub entries_total: u64,
    pub exits_total: u64,
    pub forced_total: u64,
    // Per step (reset at the start of each step).
    pub entries: u64,
    pub exits: u64,
    pub relocations: u64,
    pub forced_closures: u64,
    pub budget: f64,
    pub spent: f64,
    pub leakage: f64,
    pub waste: f64,
    /// Pipeline money turned into quality (completed projects).
    pub built: f64,
    pub tax: f64,
}

/// The whole state of one run.
#[derive(Debug, Clone)]
pub struct World<'a> {
    pub sc: &'a Scenario,
    pub streams: RunStreams,
    /// The last completed step (0 after initialisation).
    pub step: u32,
    pub clusters: Vec<Cluster>,
    pub areas: Vec<Area>,
    /// The firms, indexed by storage index: the alive ones and the dead
    /// ones `compact` has not dropped yet (in a small world it never runs,
    /// and storage index = id). Right after `compact`: cluster 0's members
    /// in member order, cluster 1's, …, then the residential areas'.
    pub firms: Vec<Firm>,
    /// The next stable id (`Firm::id`): firms created so far.
    pub next_id: u32,
    /// Dead firms moved out of `firms` by `compact`, kept only when
    /// `keep_retired` is set (validation reads their histories).
    pub retired: Vec<Firm>,
    pub keep_retired: bool,
    /// The storage `compact` reuses (last step's vector, emptied) and its
    /// map from old to new storage index.
    spare: Vec<Firm>,
    remap: Vec<u32>,
    /// The partner lists of the firms killed since the last
    /// `drop_dead_links`, (storage index, list), in kill order.
    orphans: Vec<(u32, Vec<u32>)>,
    /// Buffers the growth phase reuses from step to step, so that a step
    /// allocates and frees none of them; what they hold means something
    /// only inside the phase.
    pub(super) growth_bufs: super::growth::GrowthBufs,
    /// The spillover cooperation computed and growth applies (one buffer
    /// per cluster, by cluster id; one entry per member, by slot): the
    /// member's new productivity A and ln A, or NaN for A where the
    /// spillover leaves it as it was. Pending while `spill_pending`, from
    /// the end of cooperation until growth reads it (growth reads only
    /// ln A, and writes every member's A and ln A) or `settle_spillover`
    /// writes it into the firms; empty otherwise.
    pub(super) spill_bufs: Vec<Vec<(f64, f64)>>,
    pub(super) spill_pending: bool,
    /// The choice sets relocation reuses from step to step, as
    /// `growth_bufs`.
    pub(super) reloc_bufs: super::relocation::RelocBufs,
    /// Entry's storage, likewise.
    pub(super) entry_bufs: super::entry::EntryBufs,
    /// Cooperation's storage, likewise.
    pub(super) coop_bufs: super::cooperation::CoopBufs,
    /// Per-cluster sums the labour refresh and the record reuse from step
    /// to step, likewise.
    pub(super) unit_sums: Vec<f64>,
    pub(super) record_sums: Vec<super::record::ClusterSums>,
    /// The budget's inside allocation's storage, likewise.
    pub(super) budget_bufs: super::budget::BudgetBufs,
    /// The logarithms of U_c's related term by `c·K + s`, with the sums
    /// they were taken for, kept from step to step (entry and relocation).
    pub(super) related_ln: Vec<super::entry::RelatedLn>,
    /// The relatedness by (s', s) with a zero diagonal, rows padded to
    /// whole blocks of `entry::BLOCK` sectors (`entry::RelatedWeights`).
    pub(super) related_w: super::entry::RelatedWeights,
    /// The residential areas on a grid, and the largest distance at which an
    /// opening cluster could enter an area's nearest list (stale values are
    /// only larger; `rebuild_nearest` and each step's establish renew it).
    area_grid: Grid,
    nearest_reach: f64,
    /// Firms added, moved or killed since the last `compact`.
    pub disorder: usize,
    /// Stored firms from which `step` compacts (`COMPACT_MIN_FIRMS` unless
    /// set; 0 always, `usize::MAX` never; results do not depend on it).
    pub compact_min_firms: usize,
    /// Relocation holds each firm against its bound before the choice sets
    /// (docs/model.md §4.6; true unless set; results do not depend on it).
    pub relocation_prefilter: bool,
    /// No alive firm is older (steps): the largest age added, plus the
    /// growth steps since (growth's age-factor table reaches it).
    pub age_bound: u32,
    /// Money not placed in earlier steps.
    pub carry: f64,
    /// Tax of the last step.
    pub last_tax: f64,
    /// Pools set aside by the budget phase for later phases of the step.
    pub training_pool: f64,
    pub subsidy_pool: f64,
    /// Cumulative population weights of residential areas (for home draws).
    pub pop_cdf: Vec<f64>,
    /// Cumulative entry-rate weights of sectors (for initial firm sectors).
    pub sector_cdf: Vec<f64>,
    pub counters: Counters,
    /// Alive firms from which the local phases run over sites in parallel
    /// (`growth::PARALLEL_MIN_FIRMS` unless set; results do not depend on it).
    pub parallel_min_firms: u64,
}

/// `f` over `0..n` (sites or other units of a phase) into `out` (emptied
/// first, its storage reused), in parallel (rayon) when `parallel`; the
/// results are in index order either way.
pub fn map_units_into<T: Send>(
    parallel: bool,
    n: usize,
    out: &mut Vec<T>,
    f: impl Fn(usize) -> T + Sync + Send,
) {
    if parallel {
        use rayon::prelude::*;
        (0..n).into_par_iter().map(&f).collect_into_vec(out);
    } else {
        out.clear();
        out.extend((0..n).map(f));
    }
}

/// `f(i, &mut units[i])` for every unit (a site's reused buffer, say), in
/// parallel (rayon) when `parallel`, else in index order.
pub fn for_units<T: Send>(
    parallel: bool,
    units: &mut [T],
    f: impl Fn(usize, &mut T) + Sync + Send,
) {
    if parallel {
        use rayon::prelude::*;
        units.par_iter_mut().enumerate().for_each(|(i, u)| f(i, u));
    } else {
        units.iter_mut().enumerate().for_each(|(i, u)| f(i, u));
    }
}

/// `f(i, row)` for every row of `values` (row i at `values[i·k..(i + 1)·k]`),
/// in parallel (rayon) when `parallel`, else in order.
pub fn for_rows<T: Send>(
    parallel: bool,
    values: &mut [T],
    k: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    if parallel {
        use rayon::prelude::*;
        let rows = values.par_chunks_mut(k.max(1));
        rows.enumerate().for_each(|(i, row)| f(i, row));
    } else {
        let rows = values.chunks_mut(k.max(1));
        rows.enumerate().for_each(|(i, row)| f(i, row));
    }
}

/// Sample an index from a cumulative weight vector (last element = total).
pub fn sample_cdf(cdf: &[f64], rng: &mut Stream) -> usize {
    let total = *cdf.last().unwrap_or(&0.0);
    if total <= 0.0 {
        return rng.random_range(0..cdf.len().max(1));
    }
    let u = rng.random::<f64>() * total;
    cdf.partition_point(|&c| c <= u).min(cdf.len() - 1)
}

pub fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .into_iter()
        .map(|w| {
            acc += w.max(0.0);
            acc
        })
        .collect()
}

/// A point uniform in the disc of radius `r` around the origin.
fn point_in_disc(r: f64, rng: &mut Stream) -> (f64, f64) {
    let rho = r * rng.random::<f64>().sqrt();
    let theta = std::f64::consts::TAU * rng.random::<f64>();
    (rho * theta.cos(), rho * theta.sin())
}

/// `n` areas ~ LogNormal(0, σ) scaled to `total`, each clamped to [lo, hi]
/// (the scale is re-fitted a few times so that the clamped total is close).
fn draw_areas(n: usize, total: f64, sigma: f64, lo: f64, hi: f64, rng: &mut Stream) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let ln = LogNormal::new(0.0, sigma.max(0.0)).expect("sigma validated");
    let raw: Vec<f64> = (0..n).map(|_| ln.sample(rng)).collect();
    let sum: f64 = raw.iter().sum();
    let mut scale = total / sum;
    let mut out = raw.clone();
    for _ in 0..50 {
        out = raw.iter().map(|a| (a * scale).clamp(lo, hi)).collect();
        let got: f64 = out.iter().sum();
        if (got - total).abs() < 1e-6 * total.max(1.0) || got <= 0.0 {
            break;
        }
        scale *= total / got;
    }
    out
}

/// The types of `n` clusters in exact counts (MODEL.md §5): the shares
/// times n rounded by largest remainder (ties to the earlier type), in an
/// order shuffled on the Init stream.
fn draw_types(sc: &Scenario, n: usize, rng: &mut Stream) -> Vec<ClusterType> {
    let t = &sc.clusters.type_shares;
    let kinds = [
        (ClusterType::Marshallian, t.marshallian),
        (ClusterType::Complex, t.complex),
        (ClusterType::SocialNetwork, t.social_network),
    ];
    let total: f64 = kinds.iter().map(|k| k.1.max(0.0)).sum();
    let exact: Vec<f64> = kinds
        .iter()
        .map(|k| n as f64 * k.1.max(0.0) / total.max(f64::MIN_POSITIVE))
        .collect();
    let mut counts: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut order: Vec<usize> = (0..kinds.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    let short = n.saturating_sub(counts.iter().sum());
    for &k in order.iter().cycle().take(short) {
        counts[k] += 1;
    }
    let mut types: Vec<ClusterType> = kinds
        .iter()
        .zip(&counts)
        .flat_map(|(k, &c)| std::iter::repeat_n(k.0, c))
        .collect();
    types.shuffle(rng);
    types
}

/// A new firm's draws (MODEL.md §4.3): size, productivity, polluting, land.
#[derive(Debug, Clone, Default)]
pub struct Draws {
    pub size: f64,
    pub productivity: f64,
    pub polluting: bool,
    pub land: f64,
}

pub fn draw_firm(sc: &Scenario, sector: usize, rng: &mut Stream) -> Draws {
    let mut d = draw_without_land(sc, sector, rng);
    d.land = land_of(sc, sector, d.size);
    d
}

/// `draw_firm`'s draws (the same ones, from the same stream) with the land
/// left at 0: the warm-up redraws a firm that exits and needs the land of
/// its last draw only.
fn draw_without_land(sc: &Scenario, sector: usize, rng: &mut Stream) -> Draws {
    let sec = &sc.sectors[sector];
    let e = &sc.entry;
    let size = LogNormal::new(ln(sec.size_median), e.size_sigma)
        .expect("validated")
        .sample(rng);
    let productivity = LogNormal::new(0.0, e.productivity_sigma)
        .expect("validated")
        .sample(rng);
    let polluting = rng.random::<f64>() < sec.polluting_share;
    Draws {
        size,
        productivity,
        polluting,
        land: 0.0,
    }
}

/// The plot of a new firm of sector `sector` and size `size` (MODEL.md §4.3).
fn land_of(sc: &Scenario, sector: usize, size: f64) -> f64 {
    let sec = &sc.sectors[sector];
    let e = &sc.entry;
    (e.land_per_firm * (size / sec.size_median).powf(e.land_exponent))
        .clamp(e.land_min_ha, e.land_max_ha)
}

/// Incumbents `first`, `first + 1`, … warmed up (MODEL.md §5,
/// `initial.spin_up`), into `out`; `who` holds each one's (sector, home,
/// age in steps). An incumbent of age a is drawn as an entrant a steps ago
/// and grown by §4.5 for those steps in a neutral environment: demand
/// growth, its own productivity (with the innovation shocks of §4.4), the
/// size-dependent shocks and exit, but no site effects (Q at the reference,
/// no partners, no crowding, no shortage, no enforcement). A firm that
/// exits is redrawn as a new entrant of the same age (at most 1,000 times;
/// then the last draw is kept unwarmed). Land stays that of the entry draw:
/// a firm's plot never changes in the model.
///
/// Each incumbent is warmed on its own stream (SpinUp, 0, index), by a
/// `Warm` stepped to its end. Two warm-ups are stepped in turn, a new one
/// taking the place of one that ends: a warm-up step waits on the one
/// before (its shock's size depends on the size, through an `exp`), and
/// two independent chains keep the core busy where one leaves it waiting
/// (docs/performance.md, "Two warm-ups at once"). The order of the steps
/// of different incumbents changes no draw: each gets the bits it would
/// get warmed alone (a test checks it).
pub fn spin_up_all(
    sc: &Scenario,
    streams: &RunStreams,
    first: usize,
    who: &[(usize, u32, u32)],
    age_factor: &[f64],
    out: &mut [Draws],
) {
    struct Lane<'c> {
        ix: usize,
        warm: Warm<'c>,
        rng: Stream,
    }
    let ctx = WarmCtx::new(sc, age_factor);
    let mut next = 0;
    let start = |next: &mut usize| -> Option<Lane> {
        let ix = *next;
        let &(sector, _, age) = who.get(ix)?;
        *next += 1;
        let mut rng = streams.stream(Purpose::SpinUp, 0, (first + ix) as u32);
        let warm = Warm::new(&ctx, sector, age, &mut rng);
        Some(Lane { ix, warm, rng })
    };
    let mut lanes = [start(&mut next), start(&mut next)];
    while lanes.iter().any(Option::is_some) {
        for lane in &mut lanes {
            if let Some(l) = lane {
                if !l.warm.step(&ctx, &mut l.rng) {
                    out[l.ix] = l.warm.finish(&ctx);
                    *lane = start(&mut next);
                }
            }
        }
    }
}

/// What every warm-up step of a run shares.
struct WarmCtx<'s> {
    sc: &'s Scenario,
    age_factor: &'s [f64],
    dt: f64,
    sqdt: f64,
    /// Steps in a year.
    year: u32,
    inn: f64,
    ln_exit_size: f64,
    laplace: bool,
}

impl<'s> WarmCtx<'s> {
    fn new(sc: &'s Scenario, age_factor: &'s [f64]) -> Self {
        let dt = sc.time.dt;
        WarmCtx {
            sc,
            age_factor,
            dt,
            sqdt: dt.sqrt(),
            year: (1.0 / dt).round().max(1.0) as u32,
            inn: sc.cooperation.innovation_sigma,
            ln_exit_size: ln(sc.growth.exit_size),
            laplace: sc.growth.shock == crate::config::Shock::Laplace,
        }
    }
}

/// One incumbent's warm-up under way (see `spin_up_all`): the draw being
/// warmed, how many draws exited, and its state after `a` steps.
struct Warm<'s> {
    sec: &'s crate::config::Sector,
    sector: usize,
    age: u32,
    ln_s0: f64,
    d: Draws,
    /// Draws that exited (at most 1,000).
    exited: u32,
    /// Steps of the current draw done.
    a: u32,
    ln_a: f64,
    /// ln S − ln S0.
    ln_rel: f64,
    vol: f64,
    /// Steps to the next year's start (a % year == 0), counted down.
    to_year: u32,
    /// (ln S − ln S0, ln A) of the first draw that survives its warm-up.
    warmed: Option<(f64, f64)>,
}

impl<'s> Warm<'s> {
    fn new(ctx: &WarmCtx<'s>, sector: usize, age: u32, rng: &mut Stream) -> Self {
        let sec = &ctx.sc.sectors[sector];
        let mut w = Warm {
            sec,
            sector,
            age,
            ln_s0: ln(sec.size_median),
            d: draw_without_land(ctx.sc, sector, rng),
            exited: 0,
            a: 0,
            ln_a: 0.0,
            ln_rel: 0.0,
            vol: 1.0,
            to_year: 0,
            warmed: None,
        };
        w.restart();
        w
    }

    /// The warm-up of the current draw from its entry.
    fn restart(&mut self) {
        self.a = 0;
        self.ln_a = ln(self.d.productivity);
        self.ln_rel = ln(self.d.size) - self.ln_s0;
        self.vol = 1.0;
        self.to_year = 0;
    }

    /// One step of the warm-up, or its end: false once it is over (the
    /// current draw warmed over its age, or the 1,000th draw exited).
    #[inline(always)]
    fn step(&mut self, ctx: &WarmCtx, rng: &mut Stream) -> bool {
        if self.a == self.age {
            self.warmed = Some((self.ln_rel, self.ln_a));
            return false;
        }
        let gp = &ctx.sc.growth;
        if ctx.laplace {
            if self.to_year == 0 {
                self.vol = super::zig::exp1(rng).sqrt();
                self.to_year = ctx.year;
            }
            self.to_year -= 1;
        }
        let xi_a = super::zig::standard_normal(rng);
        let xi_s = super::zig::standard_normal(rng);
        let u_exit: f64 = rng.random();
        self.ln_a += ctx.inn * ctx.sqdt * xi_a;
        let g = self.sec.demand_growth + gp.effects.productivity * self.ln_a;
        let sd = gp.sigma0 * super::expo::exp(-gp.beta * self.ln_rel) * self.vol;
        self.ln_rel += g * ctx.dt + sd * ctx.sqdt * xi_s;
        let x = -gp.exit_size_exponent * self.ln_rel;
        if self.ln_rel + self.ln_s0 < ctx.ln_exit_size
            || crate::model::growth::exits(
                u_exit,
                gp.exit_hazard,
                x,
                ctx.age_factor[self.a as usize],
                ctx.dt,
            )
        {
            self.d = draw_without_land(ctx.sc, self.sector, rng);
            self.exited += 1;
            if self.exited == 1000 {
                return false;
            }
            self.restart();
            return true;
        }
        self.a += 1;
        true
    }

    /// The incumbent's draws once `step` returned false: the plot of its
    /// entry draw, warmed or not; the size and productivity warmed, if a
    /// draw survived.
    fn finish(&self, ctx: &WarmCtx) -> Draws {
        let mut d = self.d.clone();
        d.land = land_of(ctx.sc, self.sector, d.size);
        if let Some((ln_rel, ln_a)) = self.warmed {
            d.size = super::expo::exp(ln_rel + self.ln_s0);
            d.productivity = super::expo::exp(ln_a);
        }
        d
    }
}

/// Points bucketed on a square grid of cells over their bounding box, about
/// `per_cell` points a cell (for the nearest-cluster lists).
#[derive(Debug, Clone, Default)]
pub struct Grid {
    x0: f64,
    y0: f64,
    wx: f64,
    wy: f64,
    g: usize,
    /// Cell c holds `items[start[c]..start[c + 1]]` (indices into the points).
    start: Vec<usize>,
    items: Vec<usize>,
}

impl Grid {
    /// The grid of `points` (none: an empty grid).
    pub fn new(points: &[(f64, f64)], per_cell: f64) -> Self {
        if points.is_empty() {
            return Self::default();
        }
        let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in points {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        let g = ((points.len() as f64 / per_cell).sqrt().ceil() as usize).max(1);
        let cell_w = |lo: f64, hi: f64| if hi > lo { (hi - lo) / g as f64 } else { 1.0 };
        let mut grid = Self {
            x0,
            y0,
            wx: cell_w(x0, x1),
            wy: cell_w(y0, y1),
            g,
            start: vec![0; g * g + 1],
            items: vec![0; points.len()],
        };
        // Counting sort by cell.
        let at: Vec<usize> = points.iter().map(|&(x, y)| grid.cell(x, y)).collect();
        for &c in &at {
            grid.start[c + 1] += 1;
        }
        for c in 0..g * g {
            grid.start[c + 1] += grid.start[c];
        }
        let mut fill = grid.start.clone();
        for (i, &c) in at.iter().enumerate() {
            grid.items[fill[c]] = i;
            fill[c] += 1;
        }
        grid
    }

    /// The column (or row) of coordinate `v`, clamped to the grid.
    fn col(&self, v: f64, lo: f64, w: f64) -> usize {
        (((v - lo) / w).floor().max(0.0) as usize).min(self.g - 1)
    }

    fn cell(&self, x: f64, y: f64) -> usize {
        self.col(y, self.y0, self.wy) * self.g + self.col(x, self.x0, self.wx)
    }

    /// The points in cell (`ix`, `iy`).
    fn at(&self, ix: usize, iy: usize) -> &[usize] {
        let c = iy * self.g + ix;
        &self.items[self.start[c]..self.start[c + 1]]
    }

    /// Every point of the cells that meet the square of half-side `r`
    /// around (x, y) (a superset of the points within distance r).
    pub fn near(&self, x: f64, y: f64, r: f64) -> impl Iterator<Item = usize> + '_ {
        let (ix0, ix1, iy0, iy1) = if self.g == 0 {
            (1, 0, 1, 0)
        } else {
            (
                self.col(x - r, self.x0, self.wx),
                self.col(x + r, self.x0, self.wx),
                self.col(y - r, self.y0, self.wy),
                self.col(y + r, self.y0, self.wy),
            )
        };
        (iy0..=iy1)
            .flat_map(move |iy| (ix0..=ix1).flat_map(move |ix| self.at(ix, iy).iter().copied()))
    }
}

/// For each point, the `k` nearest of `sites` (x, y, id) as (distance, id),
/// sorted by (distance, id): the same lists as sorting every site's
/// distance, found on a grid of about eight sites a cell. Cells are visited
/// in square rings around the point's cell until the k-th distance is below
/// the distance to any cell not yet visited, so a point costs O(k) rather
/// than O(sites) (the whole grid at worst).
pub fn nearest_lists(
    sites: &[(f64, f64, u32)],
    points: &[(f64, f64)],
    k: usize,
) -> Vec<Vec<(f64, u32)>> {
    if sites.is_empty() || k == 0 {
        return vec![Vec::new(); points.len()];
    }
    let xy: Vec<(f64, f64)> = sites.iter().map(|&(x, y, _)| (x, y)).collect();
    let grid = Grid::new(&xy, 8.0);
    let g = grid.g as i64;
    let mut cand: Vec<(f64, u32)> = Vec::new();
    points
        .iter()
        .map(|&(px, py)| {
            let cx = grid.col(px, grid.x0, grid.wx) as i64;
            let cy = grid.col(py, grid.y0, grid.wy) as i64;
            cand.clear();
            let mut r = 0i64;
            loop {
                for iy in (cy - r).max(0)..=(cy + r).min(g - 1) {
                    let edge = iy == cy - r || iy == cy + r;
                    let step = if edge { 1 } else { (2 * r).max(1) as usize };
                    for ix in ((cx - r)..=(cx + r)).step_by(step) {
                        if ix < 0 || ix >= g {
                            continue;
                        }
                        for &i in grid.at(ix as usize, iy as usize) {
                            let (x, y, id) = sites[i];
                            cand.push((((x - px).powi(2) + (y - py).powi(2)).sqrt(), id));
                        }
                    }
                }
                // The distance from the point to the cells outside the
                // visited square (infinite on a side at the grid's edge).
                let side = |lo_cell: i64, hi_cell: i64, p: f64, lo: f64, w: f64| {
                    let below = if lo_cell > 0 {
                        p - (lo + lo_cell as f64 * w)
                    } else {
                        f64::INFINITY
                    };
                    let above = if hi_cell < g - 1 {
                        lo + (hi_cell + 1) as f64 * w - p
                    } else {
                        f64::INFINITY
                    };
                    below.min(above)
                };
                let bound = side(cx - r, cx + r, px, grid.x0, grid.wx).min(side(
                    cy - r,
                    cy + r,
                    py,
                    grid.y0,
                    grid.wy,
                ));
                if bound == f64::INFINITY {
                    break;
                }
                if cand.len() >= k {
                    cand.select_nth_unstable_by(k - 1, |p, q| p.partial_cmp(q).expect("finite"));
                    // A margin for the rounding of the cell edges.
                    if cand[k - 1].0 < bound * (1.0 - 1e-9) - 1e-9 {
                        break;
                    }
                }
                r += 1;
            }
            cand.sort_by(|p, q| p.partial_cmp(q).expect("finite"));
            cand.truncate(k);
            cand.clone()
        })
        .collect()
}

/// Stored firms from which a step ends with `World::compact` when a
/// `1 / COMPACT_CHANGED` share of them changed: below it the firm vector
/// sits in the core's cache and reordering it would cost more than it saves.
pub const COMPACT_MIN_FIRMS: usize = 16_384;

/// `World::compact` runs once `1 / COMPACT_CHANGED` of the stored firms were
/// added, moved or killed since it last ran. A quarter, measured against an
/// eighth on `hanoi ×50` and `×200` (docs/model.md §2, docs/performance.md):
/// half the reorders, the same time in the phases that walk the sites on one
/// thread, less sequential time on two.
pub const COMPACT_CHANGED: usize = 4;

/// Room for the firms one run is expected to create (initial firms plus the
/// mean entrants of every step, MODEL.md §4.3, with four standard
/// deviations to spare), so that the firm vector is allocated once instead
/// of doubling (copying, and touching fresh pages, as it grows). Only the
/// pages used count in memory: in a big world `World::compact` keeps the
/// vector to the alive firms and a few dead ones.
fn firm_capacity(sc: &Scenario) -> usize {
    let dt = sc.time.dt;
    let mut n = f64::from(sc.initial.firms_in_clusters) + f64::from(sc.initial.firms_residential);
    for sec in &sc.sectors {
        for step in 0..sc.time.steps {
            n += sec.entry_rate * dt * (1.0 + sec.demand_growth).powf(f64::from(step) * dt);
        }
    }
    let n = n + 4.0 * n.sqrt() + 64.0;
    n.min(crate::config::validate::limits::FIRMS_PER_RUN) as usize
}

impl<'a> World<'a> {
    /// The initial world of run `run` (MODEL.md §5), drawn from the run's Init stream.
    pub fn new(sc: &'a Scenario, master_seed: u64, run: u64) -> Self {
        Self::with_thresholds(
            sc,
            master_seed,
            run,
            crate::model::growth::PARALLEL_MIN_FIRMS,
            COMPACT_MIN_FIRMS,
        )
    }

    /// `new` with the sizes from which work over firms or sites runs in
    /// parallel and the firm vector is kept in site order (see
    /// `parallel_min_firms` and `compact_min_firms`, the world's fields;
    /// what the world computes is the same for any values).
    pub fn with_thresholds(
        sc: &'a Scenario,
        master_seed: u64,
        run: u64,
        parallel_min_firms: u64,
        compact_min_firms: usize,
    ) -> Self {
        let streams = RunStreams::new(master_seed, run);
        let mut rng = streams.stream(Purpose::Init, 0, 0);
        let n_sectors = sc.sectors.len();
        let radius = sc.region.radius_km;

        // Clusters.
        let mut clusters = Vec::new();
        let new_cluster = |x: f64, y: f64, area: f64, ctype, establish_step| Cluster {
            x,
            y,
            area,
            ctype,
            establish_step,
            q: [0.0; K_COMPONENTS],
            z: 0.0,
            pipe: [0.0; K_COMPONENTS],
            pipe_z: 0.0,
            dist_centre: (x * x + y * y).sqrt(),
            quality: 0.0,
            labor_pool: 0.0,
            occupied: 0.0,
            members: Vec::new(),
            partners: Vec::new(),
            held: Vec::new(),
            internal_links: 0,
            sector_counts: vec![0; n_sectors],
            employment: 0.0,
            shortage: 0.0,
            alloc: [0.0; K_COMPONENTS],
            alloc_z: 0.0,
            dev_alloc: [0.0; K_COMPONENTS],
        };
        let cs = &sc.clusters;
        if cs.explicit.is_empty() {
            let areas = draw_areas(
                cs.operating as usize,
                cs.total_area_ha,
                cs.area_sigma,
                cs.min_area_ha,
                cs.max_area_ha,
                &mut rng,
            );
            let types = draw_types(sc, areas.len(), &mut rng);
            for (i, (area, ctype)) in areas.into_iter().zip(types).enumerate() {
                let (x, y) = point_in_disc(radius, &mut rng);
                let mut c = new_cluster(x, y, area, ctype, None);
                let draws = if (i as u32) < cs.complete {
                    &cs.complete_quality
                } else {
                    &cs.incomplete_quality
                };
                for (k, u) in draws.components.to_array().iter().enumerate() {
                    c.q[k] = u.lo + (u.hi - u.lo) * rng.random::<f64>();
                }
                let u = draws.connection;
                c.z = u.lo + (u.hi - u.lo) * rng.random::<f64>();
                clusters.push(c);
            }
            let n_planned = cs.planned as usize;
            let areas = draw_areas(
                n_planned,
                cs.planned_total_area_ha,
                cs.area_sigma,
                cs.min_area_ha,
                cs.max_area_ha,
                &mut rng,
            );
            let types = draw_types(sc, areas.len(), &mut rng);
            for (i, (area, ctype)) in areas.into_iter().zip(types).enumerate() {
                let (x, y) = point_in_disc(radius, &mut rng);
                let step = if n_planned <= 1 {
                    0
                } else {
                    (i as f64 * cs.planned_last_step as f64 / (n_planned - 1) as f64).round() as u32
                };
                clusters.push(new_cluster(x, y, area, ctype, Some(step)));
            }
        } else {
            for spec in &cs.explicit {
                let mut c = new_cluster(
                    spec.x,
                    spec.y,
                    spec.area_ha,
                    spec.cluster_type,
                    spec.establish_step,
                );
                c.q = spec.quality.to_array();
                c.z = spec.connection;
                clusters.push(c);
            }
        }
        for c in clusters.iter_mut() {
            if c.operating() {
                c.labor_pool = cs.labor_per_ha * c.area;
            }
            c.quality = crate::model::infrastructure::quality(c, &sc.infrastructure);
        }

        // Residential areas.
        let rs = &sc.residential;
        let mut areas = Vec::new();
        let new_area = |x, y, population, craft_village| Area {
            x,
            y,
            population,
            craft_village,
            members: Vec::new(),
            partners: Vec::new(),
            held: Vec::new(),
            sector_counts: vec![0; n_sectors],
            polluting: 0,
            nearest: Vec::new(),
            kin: Vec::new(),
        };
        if rs.explicit.is_empty() {
            let ln = LogNormal::new(0.0, rs.population_sigma).expect("validated");
            for i in 0..rs.areas {
                let (x, y) = point_in_disc(radius, &mut rng);
                let pop = ln.sample(&mut rng);
                areas.push(new_area(x, y, pop, i < rs.craft_villages));
            }
        } else {
            for spec in &rs.explicit {
                areas.push(new_area(
                    spec.x,
                    spec.y,
                    spec.population,
                    spec.craft_village,
                ));
            }
        }

        let pop_cdf = cumulative(areas.iter().map(|a| a.population));
        let sector_cdf = cumulative(sc.sectors.iter().map(|s| s.entry_rate));
        let mut world = World {
            sc,
            streams,
            step: 0,
            clusters,
            areas,
            firms: Vec::with_capacity(firm_capacity(sc)),
            next_id: 0,
            retired: Vec::new(),
            keep_retired: false,
            spare: Vec::new(),
            remap: Vec::new(),
            orphans: Vec::new(),
            growth_bufs: Default::default(),
            spill_bufs: Vec::new(),
            spill_pending: false,
            reloc_bufs: Default::default(),
            entry_bufs: Default::default(),
            budget_bufs: Default::default(),
            unit_sums: Vec::new(),
            record_sums: Vec::new(),
            coop_bufs: Default::default(),
            related_ln: Vec::new(),
            related_w: super::entry::RelatedWeights::new(&sc.relatedness),
            area_grid: Grid::default(),
            nearest_reach: f64::INFINITY,
            disorder: 0,
            compact_min_firms,
            relocation_prefilter: true,
            age_bound: 0,
            carry: 0.0,
            last_tax: 0.0,
            training_pool: 0.0,
            subsidy_pool: 0.0,
            pop_cdf,
            sector_cdf,
            counters: Counters::default(),
            parallel_min_firms,
        };
        world.rebuild_nearest();
        world.init_firms(&mut rng);
        world.counters.initial_firms = world.firms.len() as u64;
        world.refresh_labour();
        world
    }

    fn init_firms(&mut self, rng: &mut Stream) {
        let sc = self.sc;
        let ini = &sc.initial;
        let max_age_steps = (ini.max_age_years / sc.time.dt).floor().max(0.0) as u32;
        let operating: Vec<u32> = (0..self.clusters.len() as u32)
            .filter(|&c| self.clusters[c as usize].operating())
            .collect();
        let area_cdf = cumulative(operating.iter().map(|&c| self.clusters[c as usize].area));
        let total = ini.firms_in_clusters as u64 + ini.firms_residential as u64;
        // (1 + age in years)^(−exit_age_exponent) by age in steps, for the warm-up.
        let age_factor = crate::model::growth::age_factors(sc, max_age_steps);
        // Sector, home and age of every incumbent on the Init stream; its
        // size, productivity, land and warm-up on its own stream (SpinUp,
        // 0, index), in parallel for a big world; then the placement in
        // index order on the Init stream again.
        let who: Vec<(usize, u32, u32)> = (0..total)
            .map(|_| {
                let sector = sample_cdf(&self.sector_cdf, rng);
                let home = sample_cdf(&self.pop_cdf, rng) as u32;
                (sector, home, rng.random_range(0..=max_age_steps))
            })
            .collect();
        let streams = &self.streams;
        let mut draws: Vec<Draws> = Vec::new();
        if ini.spin_up {
            // Warmed in chunks of incumbents (in parallel for a big world),
            // two at a time within a chunk (`spin_up_all`).
            const CHUNK: usize = 256;
            draws.resize(who.len(), Draws::default());
            for_rows(self.fans_out(total), &mut draws, CHUNK, |n, out| {
                let who = &who[n * CHUNK..n * CHUNK + out.len()];
                spin_up_all(sc, streams, n * CHUNK, who, &age_factor, out);
            });
        } else {
            let draw = |(i, &(sector, _, _)): (usize, &(usize, u32, u32))| {
                draw_firm(
                    sc,
                    sector,
                    &mut streams.stream(Purpose::SpinUp, 0, i as u32),
                )
            };
            draws = if self.fans_out(total) {
                use rayon::prelude::*;
                who.par_iter().enumerate().map(draw).collect()
            } else {
                who.iter().enumerate().map(draw).collect()
            };
        }
        // A world that would be compacted at once is stored by site as it is
        // built (`add_in_site_order`); a cluster's occupied land is counted
        // here then, as `add_firm` would count it, for the next placements.
        let in_site_order = total as usize >= self.compact_min_firms;
        let mut placed = Vec::with_capacity(if in_site_order { total as usize } else { 0 });
        // The fallback's tree over the clusters by id (`place`), built at
        // the first fallback and kept up to date from there on; a cluster
        // not operating has no room (−∞), so no search reaches it, and the
        // operating ones keep their order (`operating` is by id).
        let mut tree: Option<super::place::SlackTree> = None;
        let cap = ini.max_occupancy;
        let tree_entry = |c: &Cluster| {
            if !c.operating() {
                return (f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0);
            }
            let m = cap * c.area;
            (
                c.labor_pool - c.employment,
                m - c.occupied,
                m.max(c.occupied),
            )
        };
        for (i, (&(sector, home, age), d)) in (0u64..).zip(who.iter().zip(draws)) {
            let mut site = Site::Home(home);
            if i < ini.firms_in_clusters as u64 && !operating.is_empty() {
                // A cluster ∝ area with room under the occupancy cap and for
                // the firm's workers in its labour pool (MODEL.md §5: no
                // cluster starts in a shortage nobody chose); a few tries,
                // then the cluster with land room and the most labour slack,
                // else stay home.
                let workers = d.size / sc.growth.revenue_per_worker;
                let land_ok =
                    |c: &Cluster| c.occupied + d.land <= ini.max_occupancy * c.area + 1e-12;
                let fits = |c: &Cluster| land_ok(c) && c.employment + workers <= c.labor_pool;
                let mut chosen = None;
                for _ in 0..20 {
                    let c = operating[sample_cdf(&area_cdf, rng)];
                    if fits(&self.clusters[c as usize]) {
                        chosen = Some(c);
                        break;
                    }
                }
                if chosen.is_none() {
                    // The operating cluster with land room and the most
                    // labour slack (by `total_cmp`), the first on a tie: a
                    // search of the tree, not a scan of every cluster.
                    let clusters = &self.clusters;
                    let tree = tree.get_or_insert_with(|| {
                        super::place::SlackTree::new(clusters.iter().map(tree_entry))
                    });
                    chosen = tree
                        .best(d.land, |c| land_ok(&clusters[c]))
                        .map(|c| c as u32);
                }
                if let Some(c) = chosen {
                    site = Site::Cluster(c);
                    self.clusters[c as usize].employment += workers;
                }
            }
            let firm = Firm {
                id: 0,
                sector: sector as u32,
                site,
                slot: 0,
                kin_slot: u32::MAX,
                home,
                size: d.size,
                productivity: d.productivity,
                polluting: d.polluting,
                land: d.land,
                age,
                born_step: 0,
                died_step: u32::MAX,
                relocated: false,
                alive: true,
                vol: 1.0,
                ln_size: 0.0,
                ln_prod: 0.0,
            };
            if !in_site_order {
                self.add_firm(firm);
            } else {
                if let Site::Cluster(c) = site {
                    self.clusters[c as usize].occupied += firm.land;
                }
                placed.push(firm);
            }
            // The cluster's new slack and room into the tree.
            if let (Some(tree), Site::Cluster(c)) = (&mut tree, site) {
                let (slack, room, scale) = tree_entry(&self.clusters[c as usize]);
                tree.set(c as usize, slack, room, scale);
            }
        }
        if in_site_order {
            self.add_in_site_order(placed);
        }
    }

    /// `add_firm` for each of `firms` in turn (their ids follow their
    /// order) into a world without firms, then `compact`: the same world,
    /// built directly in site order (cluster 0's members, cluster 1's, …,
    /// then the residential areas'; each site's in id order), each site's
    /// lists allocated once. The firms' land must already be counted in
    /// their clusters' `occupied`.
    fn add_in_site_order(&mut self, firms: Vec<Firm>) {
        debug_assert!(self.firms.is_empty() && self.orphans.is_empty());
        let n_clusters = self.clusters.len();
        let key = |site: Site| match site {
            Site::Cluster(c) => c as usize,
            Site::Home(a) => n_clusters + a as usize,
        };
        // Each site's first storage index (a counting sort by site), and
        // each firm's storage index.
        let mut start = vec![0usize; n_clusters + self.areas.len() + 1];
        for f in &firms {
            start[key(f.site) + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        let mut next = start.clone();
        let index: Vec<u32> = firms
            .iter()
            .map(|f| {
                let k = &mut next[key(f.site)];
                *k += 1;
                (*k - 1) as u32
            })
            .collect();
        for (k, (lo, hi)) in start.iter().zip(&start[1..]).enumerate() {
            let (members, partners, held) = match k.checked_sub(n_clusters) {
                None => {
                    let c = &mut self.clusters[k];
                    (&mut c.members, &mut c.partners, &mut c.held)
                }
                Some(a) => {
                    let a = &mut self.areas[a];
                    (&mut a.members, &mut a.partners, &mut a.held)
                }
            };
            members.reserve_exact(hi - lo);
            partners.reserve_exact(hi - lo);
            held.reserve_exact(hi - lo);
        }
        // The firms by site (written in id order, each to its storage
        // index), with what `add_firm` sets; then their sites' lists, site
        // by site, by `join_site` as `attach` fills them.
        let first_id = self.next_id;
        if let Some(&f) = firms.first() {
            self.firms.resize(firms.len(), f);
        }
        for (i, (&k, &f)) in (0u32..).zip(index.iter().zip(&firms)) {
            self.age_bound = self.age_bound.max(f.age);
            self.firms[k as usize] = Firm {
                id: first_id + i,
                ..f
            };
        }
        let logs = |f: &mut Firm| (f.ln_size, f.ln_prod) = (ln(f.size), ln(f.productivity));
        if self.fans_out(firms.len() as u64) {
            use rayon::prelude::*;
            self.firms.par_iter_mut().for_each(logs);
        } else {
            self.firms.iter_mut().for_each(logs);
        }
        for k in 0..self.firms.len() as u32 {
            let site = self.firms[k as usize].site;
            self.firms[k as usize].slot = self.join_site(k, site, Vec::new());
        }
        // Kin lists in id order, as `attach` fills them.
        for (&k, f) in index.iter().zip(&firms) {
            if let Site::Cluster(_) = f.site {
                self.firms[k as usize].kin_slot = self.join_kin(k);
            }
        }
        self.next_id = first_id + firms.len() as u32;
        self.disorder = 0;
    }

    /// Add a firm at its `site` under the next stable id; returns its
    /// storage index.
    pub fn add_firm(&mut self, mut f: Firm) -> u32 {
        let id = self.firms.len() as u32;
        f.id = self.next_id;
        self.next_id += 1;
        f.ln_size = ln(f.size);
        f.ln_prod = ln(f.productivity);
        let site = f.site;
        self.age_bound = self.age_bound.max(f.age);
        self.firms.push(f);
        self.attach(id, site, Vec::new());
        self.disorder += 1;
        id
    }

    /// The partners (storage indices) of firm `i`: its list at its site, or
    /// none for a dead firm.
    pub fn partners_of(&self, i: u32) -> &[u32] {
        let f = &self.firms[i as usize];
        if !f.alive {
            return &[];
        }
        let slot = f.slot as usize;
        match f.site {
            Site::Cluster(c) => &self.clusters[c as usize].partners[slot],
            Site::Home(a) => &self.areas[a as usize].partners[slot],
        }
    }

    /// Every site's member list in site-index order: the clusters', then the
    /// residential areas' (the order of the local phases' site indices).
    pub fn site_members(&self) -> impl Iterator<Item = &Vec<u32>> {
        let clusters = self.clusters.iter().map(|c| &c.members);
        clusters.chain(self.areas.iter().map(|a| &a.members))
    }

    /// Every site's `held` list, in the order of `site_members`.
    pub fn site_held(&self) -> impl Iterator<Item = &Vec<Held>> {
        let clusters = self.clusters.iter().map(|c| &c.held);
        clusters.chain(self.areas.iter().map(|a| &a.held))
    }

    /// No killed firm waits for `drop_dead_links` (an invariant between phases).
    pub(super) fn orphans_empty(&self) -> bool {
        self.orphans.is_empty()
    }

    /// The partner list of alive firm `i`, to change.
    fn partners_mut(&mut self, i: u32) -> &mut Vec<u32> {
        let f = &self.firms[i as usize];
        debug_assert!(f.alive, "a dead firm's partner list");
        let slot = f.slot as usize;
        match f.site {
            Site::Cluster(c) => &mut self.clusters[c as usize].partners[slot],
            Site::Home(a) => &mut self.areas[a as usize].partners[slot],
        }
    }

    /// The cluster both firms sit in, if they sit in the same one.
    fn same_cluster(&self, i: u32, j: u32) -> Option<usize> {
        match (self.firms[i as usize].site, self.firms[j as usize].site) {
            (Site::Cluster(a), Site::Cluster(b)) if a == b => Some(a as usize),
            _ => None,
        }
    }

    /// Add `j` to `i`'s partners and `i` to `j`'s (both alive).
    pub(super) fn link(&mut self, i: u32, j: u32) {
        self.partners_mut(i).push(j);
        self.partners_mut(j).push(i);
        if let Some(c) = self.same_cluster(i, j) {
            self.clusters[c].internal_links += 1;
        }
    }

    /// Remove the link between alive firms `i` and `j`, if any (each list
    /// by swap-remove).
    pub(super) fn unlink(&mut self, i: u32, j: u32) {
        let mut linked = false;
        for (a, b) in [(i, j), (j, i)] {
            let pl = self.partners_mut(a);
            if let Some(pos) = pl.iter().position(|&x| x == b) {
                pl.swap_remove(pos);
                linked = true;
            }
        }
        if let Some(c) = self.same_cluster(i, j).filter(|_| linked) {
            self.clusters[c].internal_links -= 1;
        }
    }

    /// The cluster firm `id` sits in and how many of its `partners` are
    /// alive there too (its links counted in that cluster's
    /// `internal_links`); `None` outside clusters.
    fn links_inside(&self, id: u32, partners: &[u32]) -> Option<(usize, u64)> {
        let Site::Cluster(c) = self.firms[id as usize].site else {
            return None;
        };
        let here = partners
            .iter()
            .filter(|&&p| {
                let f = &self.firms[p as usize];
                f.alive && f.site == Site::Cluster(c)
            })
            .count() as u64;
        Some((c as usize, here))
    }

    /// Put firm `id` into the member list of `site` with its partner list
    /// `partners` (and, for a cluster, into its home's kin list) and set its
    /// `site`, `slot` and `kin_slot`.
    fn attach(&mut self, id: u32, site: Site, partners: Vec<u32>) {
        let slot = self.join_site(id, site, partners);
        let kin_slot = match site {
            Site::Cluster(c) => {
                self.clusters[c as usize].occupied += self.firms[id as usize].land;
                self.join_kin(id)
            }
            Site::Home(_) => u32::MAX,
        };
        let f = &mut self.firms[id as usize];
        (f.site, f.slot, f.kin_slot) = (site, slot, kin_slot);
        if let Site::Cluster(_) = site {
            // A cluster's members keep A stored (spillover and training
            // read and change it).
            f.productivity = f.productivity();
        }
    }

    /// Append firm `id` to `site`'s lists (its member list, the partner
    /// list `partners` beside it, its size and polluting flag in `held`)
    /// and count it in the site's sector counts (and an area's polluting
    /// firms); returns its slot. Members join a site only through it
    /// (`attach`, `add_in_site_order`).
    fn join_site(&mut self, id: u32, site: Site, partners: Vec<u32>) -> u32 {
        let f = &self.firms[id as usize];
        let (sector, polluting) = (f.sector as usize, f.polluting);
        let held = Held {
            size: f.size,
            polluting,
        };
        let (members, lists, held_list, counts) = match site {
            Site::Cluster(c) => {
                let c = &mut self.clusters[c as usize];
                (
                    &mut c.members,
                    &mut c.partners,
                    &mut c.held,
                    &mut c.sector_counts,
                )
            }
            Site::Home(a) => {
                let a = &mut self.areas[a as usize];
                a.polluting += u32::from(polluting);
                (
                    &mut a.members,
                    &mut a.partners,
                    &mut a.held,
                    &mut a.sector_counts,
                )
            }
        };
        members.push(id);
        lists.push(partners);
        held_list.push(held);
        counts[sector] += 1;
        (members.len() - 1) as u32
    }

    /// Append cluster firm `id` to its home's kin list; returns its kin slot.
    fn join_kin(&mut self, id: u32) -> u32 {
        let kin = &mut self.areas[self.firms[id as usize].home as usize].kin;
        kin.push(id);
        (kin.len() - 1) as u32
    }

    /// Remove firm `id` from its site's member list and its home's kin list
    /// (O(1), swap-remove); returns its partner list.
    fn detach(&mut self, id: u32) -> Vec<u32> {
        // A pending spillover is by slot, and a swap-remove moves a member
        // to another slot: it is written out first. (`attach` appends: the
        // other members keep their slots, and a newcomer has no entry.)
        self.settle_spillover();
        let f = &self.firms[id as usize];
        let (site, slot, sector, land) = (f.site, f.slot as usize, f.sector as usize, f.land);
        let pol = f.polluting;
        if f.kin_slot != u32::MAX {
            let (home, ks) = (f.home as usize, f.kin_slot as usize);
            let kin = &mut self.areas[home].kin;
            kin.swap_remove(ks);
            if let Some(&moved) = kin.get(ks) {
                self.firms[moved as usize].kin_slot = ks as u32;
            }
            self.firms[id as usize].kin_slot = u32::MAX;
        }
        let (members, partners, held) = match site {
            Site::Cluster(c) => {
                let c = &mut self.clusters[c as usize];
                c.sector_counts[sector] -= 1;
                c.occupied -= land;
                if c.members.len() == 1 {
                    c.occupied = 0.0;
                }
                (&mut c.members, &mut c.partners, &mut c.held)
            }
            Site::Home(a) => {
                let a = &mut self.areas[a as usize];
                a.sector_counts[sector] -= 1;
                a.polluting -= u32::from(pol);
                (&mut a.members, &mut a.partners, &mut a.held)
            }
        };
        members.swap_remove(slot);
        held.swap_remove(slot);
        let list = partners.swap_remove(slot);
        if let Some(&moved) = members.get(slot) {
            self.firms[moved as usize].slot = slot as u32;
        }
        list
    }

    /// Move firm `id` to `site`.
    pub fn move_firm(&mut self, id: u32, site: Site) {
        let partners = self.detach(id);
        if let Some((c, n)) = self.links_inside(id, &partners) {
            self.clusters[c].internal_links -= n;
        }
        self.attach(id, site, partners);
        if let Some((c, n)) = self.links_inside(id, self.partners_of(id)) {
            self.clusters[c].internal_links += n;
        }
        self.disorder += 1;
    }

    /// Mark firm `id` dead and remove it from its site. Its links are removed
    /// by `drop_dead_links`, which callers run after a phase.
    pub fn kill_firm(&mut self, id: u32) {
        let partners = self.detach(id);
        if let Some((c, n)) = self.links_inside(id, &partners) {
            self.clusters[c].internal_links -= n;
        }
        if !partners.is_empty() {
            self.orphans.push((id, partners));
        }
        self.disorder += 1;
        let f = &mut self.firms[id as usize];
        f.alive = false;
        f.died_step = self.step + 1;
    }

    /// Write a pending spillover (see `spill_bufs`) into the firms: what
    /// growth would read, for whoever looks at the firms or changes a site
    /// before it runs. Nothing to do when none is pending.
    pub fn settle_spillover(&mut self) {
        if !self.spill_pending {
            return;
        }
        self.spill_pending = false;
        let firms = &mut self.firms;
        for (c, buf) in self.clusters.iter().zip(&mut self.spill_bufs) {
            for (&i, &(v, ln_v)) in c.members.iter().zip(buf.iter()) {
                if !v.is_nan() {
                    let f = &mut firms[i as usize];
                    (f.productivity, f.ln_prod) = (v, ln_v);
                }
            }
            buf.clear();
        }
    }

    /// Remove the links to the firms killed since the last call (after a
    /// phase that killed firms), in kill order: each dead firm leaves its
    /// alive partners' lists (swap-remove); lists of dead firms are dropped.
    pub fn drop_dead_links(&mut self) {
        let mut orphans = std::mem::take(&mut self.orphans);
        for (d, partners) in orphans.drain(..) {
            for p in partners {
                if self.firms[p as usize].alive {
                    let pl = self.partners_mut(p);
                    if let Some(pos) = pl.iter().position(|&x| x == d) {
                        pl.swap_remove(pos);
                    }
                }
            }
        }
        self.orphans = orphans;
    }

    /// Store the alive firms by site — cluster 0's members in member order,
    /// cluster 1's, …, then the residential areas' — and drop the dead ones
    /// (into `retired` when `keep_retired` is set). Storage indices change:
    /// member, kin and partner lists are renumbered; slots, stable ids and
    /// every list's order stay. Nothing the model computes depends on
    /// storage order (orders of firms go by `Firm::id`), so a run's record is
    /// the same however often this runs (a test checks it). In a world of
    /// `compact_min_firms` or more it runs after initialisation and at the
    /// end of a step once a quarter of the firms have been added, moved or
    /// killed since the last time (`disorder`), so that a site's firms sit
    /// together in memory and few dead firms are carried (O(firms), two
    /// vectors reused; in a big world on more than one thread the copy and
    /// the per-site renumbering run in parallel, with the same result).
    pub fn compact(&mut self) {
        self.disorder = 0;
        let par = self.parallel();
        let mut old = std::mem::take(&mut self.firms);
        let mut new = std::mem::take(&mut self.spare);
        let mut remap = std::mem::take(&mut self.remap);
        new.clear();
        new.reserve(old.capacity());
        remap.clear();
        remap.resize(old.len(), u32::MAX);
        // Each alive firm's new index (its site's start plus its slot), in
        // one pass; then the firms copied (in parallel in a big world).
        let mut starts = Vec::with_capacity(self.clusters.len() + self.areas.len());
        let mut order: Vec<u32> = Vec::with_capacity(old.len());
        for members in self.site_members() {
            starts.push(order.len() as u32);
            for &m in members {
                remap[m as usize] = order.len() as u32;
                order.push(m);
            }
        }
        if par {
            use rayon::prelude::*;
            new.par_extend(order.par_iter().map(|&m| old[m as usize]));
        } else {
            new.extend(order.iter().map(|&m| old[m as usize]));
        }
        debug_assert!(self.orphans.is_empty(), "compact before drop_dead_links");
        // One pass over the sites: members renumbered from their site's
        // start, partner and kin lists through `remap`.
        let renumber = |members: &mut Vec<u32>, site: usize| {
            for (k, m) in (starts[site]..).zip(members.iter_mut()) {
                *m = k;
            }
        };
        let remap_list = |list: &mut [u32]| {
            for p in list {
                debug_assert!(remap[*p as usize] != u32::MAX, "a link to a dead firm");
                *p = remap[*p as usize];
            }
        };
        let n_clusters = self.clusters.len();
        for_units(par, &mut self.clusters, |c, cl| {
            renumber(&mut cl.members, c);
            cl.partners.iter_mut().for_each(|l| remap_list(l));
        });
        for_units(par, &mut self.areas, |a, ar| {
            renumber(&mut ar.members, n_clusters + a);
            for j in &mut ar.kin {
                *j = remap[*j as usize];
            }
            ar.partners.iter_mut().for_each(|l| remap_list(l));
        });
        if self.keep_retired {
            self.retired.extend(old.drain(..).filter(|f| !f.alive));
        }
        old.clear();
        self.spare = old;
        self.firms = new;
        self.remap = remap;
    }

    /// Rebuild every area's nearest-operating-cluster list from scratch, the
    /// `choice_set` nearest by (distance, cluster) (see `nearest_lists`).
    pub fn rebuild_nearest(&mut self) {
        let k = self.sc.entry.choice_set as usize;
        let ops: Vec<(f64, f64, u32)> = (0..self.clusters.len() as u32)
            .filter(|&c| self.clusters[c as usize].operating())
            .map(|c| (self.clusters[c as usize].x, self.clusters[c as usize].y, c))
            .collect();
        let points: Vec<(f64, f64)> = self.areas.iter().map(|a| (a.x, a.y)).collect();
        for (a, list) in self.areas.iter_mut().zip(nearest_lists(&ops, &points, k)) {
            a.nearest = list;
        }
        self.area_grid = Grid::new(&points, 4.0);
        self.update_reach();
    }

    /// `nearest_reach`: the largest distance at which a cluster could enter
    /// some area's nearest list (infinite while a list is short).
    pub fn update_reach(&mut self) {
        let k = self.sc.entry.choice_set as usize;
        self.nearest_reach = self
            .areas
            .iter()
            .map(|a| match a.nearest.last() {
                Some(&(d, _)) if a.nearest.len() >= k => d,
                _ => f64::INFINITY,
            })
            .fold(0.0, f64::max);
    }

    /// Insert a newly opened cluster into the nearest lists. Only the areas
    /// within `nearest_reach` of it can take it (each checks exactly, as
    /// against every area), found on the areas' grid; every area while some
    /// list is short.
    pub fn insert_nearest(&mut self, c: u32) {
        let k = self.sc.entry.choice_set as usize;
        let (cx, cy) = (self.clusters[c as usize].x, self.clusters[c as usize].y);
        let offer = |a: &mut Area| {
            let d = ((cx - a.x).powi(2) + (cy - a.y).powi(2)).sqrt();
            let entry = (d, c);
            if a.nearest.len() < k || entry < *a.nearest.last().expect("non-empty when full") {
                let pos = a.nearest.partition_point(|e| *e < entry);
                a.nearest.insert(pos, entry);
                a.nearest.truncate(k);
            }
        };
        if self.nearest_reach.is_finite() {
            // A margin for rounding: the grid's cells only narrow the search.
            let r = self.nearest_reach * (1.0 + 1e-9) + 1e-9;
            for i in self.area_grid.near(cx, cy, r) {
                offer(&mut self.areas[i]);
            }
        } else {
            self.areas.iter_mut().for_each(offer);
        }
    }

    /// Employment and shortage of every cluster from its members' sizes.
    pub fn refresh_labour(&mut self) {
        let rpw = self.sc.growth.revenue_per_worker;
        let mut employment = std::mem::take(&mut self.unit_sums);
        let world = &*self;
        map_units_into(self.parallel(), self.clusters.len(), &mut employment, |c| {
            world.clusters[c]
                .held
                .iter()
                .map(|h| h.size / rpw)
                .sum::<f64>()
        });
        for (c, &emp) in self.clusters.iter_mut().zip(&employment) {
            c.employment = emp;
            c.shortage = if c.labor_pool > 0.0 {
                (emp / c.labor_pool - 1.0).max(0.0)
            } else {
                0.0
            };
        }
        self.unit_sums = employment;
    }

    /// Enforcement E(t) at the current step.
    pub fn enforcement(&self, step: u32) -> f64 {
        self.sc.relocation.enforcement.at(step)
    }

    /// Whether the local phases run over sites in parallel (from
    /// `parallel_min_firms` alive firms, on more than one thread).
    pub fn parallel(&self) -> bool {
        self.fans_out(self.alive())
    }

    /// Whether work over `n` units (firms, or entrants weighted by their
    /// alternatives) runs in parallel: from `parallel_min_firms`, and only
    /// when rayon has more than one thread (on one thread the sequential
    /// path does the same work without the buffers the parallel one fills;
    /// the results are the same either way).
    pub fn fans_out(&self, n: u64) -> bool {
        rayon::current_num_threads() > 1 && n >= self.parallel_min_firms
    }

    /// Number of alive firms.
    pub fn alive(&self) -> u64 {
        self.clusters
            .iter()
            .map(|c| c.members.len() as u64)
            .sum::<u64>()
            + self
                .areas
                .iter()
                .map(|a| a.members.len() as u64)
                .sum::<u64>()
    }

    /// Stream site index of residential area `a` (clusters come first).
    pub fn area_site(&self, a: usize) -> u32 {
        (self.clusters.len() + a) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::nearest_lists;
    use rand::{Rng, SeedableRng};

    /// Every site's distance, sorted by (distance, id), the first k.
    fn brute(sites: &[(f64, f64, u32)], (px, py): (f64, f64), k: usize) -> Vec<(f64, u32)> {
        let mut all: Vec<(f64, u32)> = sites
            .iter()
            .map(|&(x, y, id)| (((x - px).powi(2) + (y - py).powi(2)).sqrt(), id))
            .collect();
        all.sort_by(|p, q| p.partial_cmp(q).unwrap());
        all.truncate(k);
        all
    }

    /// The grid's lists are the full sort's lists, bit for bit: sites in a
    /// disc or on a line or all at one point, points inside and far outside
    /// the sites' box, ties of distance, and k below, at and above the
    /// number of sites.
    #[test]
    fn nearest_lists_are_the_full_sorts() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut cases = 0;
        for trial in 0..300 {
            let n = [0, 1, 3, 29, 30, 31, 200, 2000][trial % 8];
            let layout = (trial / 8) % 4;
            let sites: Vec<(f64, f64, u32)> = (0..n as u32)
                .map(|id| {
                    let (x, y) = match layout {
                        0 => (rng.random_range(-30.0..30.0), rng.random_range(-30.0..30.0)),
                        1 => (rng.random_range(-30.0..30.0), 2.0),
                        2 => (5.0, 5.0),
                        // A lattice: many equal distances.
                        _ => ((id % 17) as f64, (id / 17) as f64),
                    };
                    (x, y, id)
                })
                .collect();
            let points: Vec<(f64, f64)> = (0..40)
                .map(|i| {
                    let far = if i % 5 == 0 { 200.0 } else { 35.0 };
                    if layout == 3 && i % 3 == 0 {
                        ((i % 17) as f64 + 0.5, (i / 3) as f64)
                    } else {
                        (rng.random_range(-far..far), rng.random_range(-far..far))
                    }
                })
                .collect();
            for k in [1, 30] {
                let got = nearest_lists(&sites, &points, k);
                for (p, list) in points.iter().zip(&got) {
                    assert_eq!(
                        list,
                        &brute(&sites, *p, k),
                        "n {n} layout {layout} k {k} at {p:?}"
                    );
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, 300 * 40 * 2);
    }

    /// As clusters open, every area's list stays the full sort over the
    /// operating clusters (the areas' grid only narrows whom to offer a new
    /// cluster). A small choice set makes lists fill early, so the grid's
    /// path is taken.
    #[test]
    fn opening_clusters_keeps_every_nearest_list_exact() {
        let mut sc = crate::config::embedded_default().scaled(3.0);
        sc.entry.choice_set = 5;
        sc.infrastructure.connect_before_establish = false;
        let mut w = super::World::new(&sc, 3, 0);
        let mut opened = 0;
        for step in 1..=sc.time.steps {
            let before = w.clusters.iter().filter(|c| c.operating()).count();
            w.establish(step);
            opened += w.clusters.iter().filter(|c| c.operating()).count() - before;
            assert!(w.nearest_reach.is_finite());
            let ops: Vec<(f64, f64, u32)> = (0..w.clusters.len() as u32)
                .filter(|&c| w.clusters[c as usize].operating())
                .map(|c| (w.clusters[c as usize].x, w.clusters[c as usize].y, c))
                .collect();
            for a in &w.areas {
                assert_eq!(a.nearest, brute(&ops, (a.x, a.y), 5), "step {step}");
            }
        }
        assert!(opened > 100, "{opened} clusters opened");
    }

    /// A cluster's `internal_links` follows every change a run of the
    /// default scenario never makes (residential firms have no links, so
    /// relocation never moves a linked firm or unlinks one inside a
    /// cluster): a link inside a cluster and one across, a linked firm moved
    /// to its partner's cluster, an unlink there, a kill; the invariants
    /// recount it after each.
    #[test]
    fn internal_links_follow_links_moves_and_kills() {
        use super::Site;
        let sc = crate::config::embedded_default();
        let mut w = super::World::new(&sc, 11, 0);
        let ok = |w: &super::World| w.check_invariants().unwrap();
        ok(&w);
        // The two fullest clusters: c gives a, b; d gives x and room for b.
        let mut by_size: Vec<usize> = (0..w.clusters.len()).collect();
        by_size.sort_by_key(|&c| std::cmp::Reverse(w.clusters[c].members.len()));
        let (c, d) = (by_size[0], by_size[1]);
        let (a, b) = (w.clusters[c].members[0], w.clusters[c].members[1]);
        let x = w.clusters[d].members[0];
        let n = |w: &super::World| (w.clusters[c].internal_links, w.clusters[d].internal_links);
        assert_eq!(n(&w), (0, 0), "no links at the start");
        w.link(a, b);
        w.link(a, x);
        w.link(b, x);
        assert_eq!(n(&w), (1, 0));
        ok(&w);
        // b joins x in d: a–b leaves c's count, b–x joins d's.
        w.move_firm(b, Site::Cluster(d as u32));
        assert_eq!(n(&w), (0, 1));
        ok(&w);
        w.unlink(b, x);
        assert_eq!(n(&w), (0, 0));
        w.link(b, x);
        assert_eq!(n(&w), (0, 1));
        // x dies: b–x goes at once, its lists when the dead links drop.
        w.kill_firm(x);
        assert_eq!(n(&w), (0, 0));
        w.drop_dead_links();
        w.counters.exits_total += 1;
        ok(&w);
    }
}

#[cfg(test)]
mod warm_up_tests {
    use super::{spin_up_all, Draws, Warm, WarmCtx};
    use crate::config::{Scenario, Shock};
    use crate::rng::{Purpose, RunStreams, Stream};

    /// One incumbent warmed alone: its `Warm` stepped to its end.
    fn spin_up(
        sc: &Scenario,
        sector: usize,
        age: u32,
        age_factor: &[f64],
        rng: &mut Stream,
    ) -> Draws {
        let ctx = WarmCtx::new(sc, age_factor);
        let mut w = Warm::new(&ctx, sector, age, rng);
        while w.step(&ctx, rng) {}
        w.finish(&ctx)
    }

    /// `spin_up_all`, which steps two warm-ups in turn, gives every
    /// incumbent the draws `spin_up` gives it alone on its own stream
    /// (SpinUp, 0, first + index), bit for bit: under both shocks, for ages
    /// from 0 to the oldest, with the exits (and redraws) of Hanoi's hazard,
    /// of a hazard at which most draws exit, and of one at which every draw
    /// of an incumbent older than 0 exits at its first step (1,000
    /// redraws, none warmed).
    #[test]
    fn two_warm_ups_at_once_are_each_warm_up_alone() {
        let base = crate::config::embedded_default();
        let mut cases = Vec::new();
        for shock in [Shock::Laplace, Shock::Gaussian] {
            for hazard in [base.growth.exit_hazard, 0.5, 1e9] {
                let mut sc = base.clone();
                sc.growth.shock = shock;
                sc.growth.exit_hazard = hazard;
                cases.push(sc);
            }
        }
        let streams = RunStreams::new(20261207, 3);
        for sc in &cases {
            let max_age = 80;
            let age_factor = crate::model::growth::age_factors(sc, max_age);
            let k = sc.sectors.len();
            let who: Vec<(usize, u32, u32)> = (0..61u32)
                .map(|n| ((n as usize * 7) % k, 0, (n * 37) % (max_age + 1)))
                .collect();
            let first = 1_000;
            let mut out = vec![Draws::default(); who.len()];
            spin_up_all(sc, &streams, first, &who, &age_factor, &mut out);
            for (n, (&(sector, _, age), got)) in who.iter().zip(&out).enumerate() {
                let mut rng = streams.stream(Purpose::SpinUp, 0, (first + n) as u32);
                let want = spin_up(sc, sector, age, &age_factor, &mut rng);
                let bits = |d: &Draws| {
                    (
                        d.size.to_bits(),
                        d.productivity.to_bits(),
                        d.land.to_bits(),
                        d.polluting,
                    )
                };
                assert_eq!(
                    bits(got),
                    bits(&want),
                    "incumbent {n}, hazard {}",
                    sc.growth.exit_hazard
                );
            }
        }
    }
}
