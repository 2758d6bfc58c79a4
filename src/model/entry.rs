//! Phase 4, `entry` (global): new firms arrive per sector and choose, by a
//! multinomial logit (Gumbel-max), between staying at home and the operating
//! clusters of their home's choice set that have room (MODEL.md §4.3).
//!
//! The streams keep entrants paired across scenarios (common random
//! numbers): stream (Entry, step, 0) draws the entrants' counts and
//! attributes, and the k-th entrant of the step's random order draws its
//! choice noise on its own stream (Choice, step, k): always
//! `choice_set + 1` Exp(1) draws E, indexed by the position in the home's
//! nearest list, whatever the number of clusters with room; the Gumbel noise
//! is −ln E, taken only for the alternatives that could win. The draws of a
//! big step are made in parallel before the (sequential) choices.

use super::zig::exp1;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, Poisson};

use super::logn::ln;
use super::world::{draw_firm, sample_cdf, Draws, Firm, Site, World};
use crate::config::Shock;
use crate::rng::Purpose;

/// ln(1 + n) for n up to 1,023 (U_c's same-sector term for a cluster's
/// count of same-sector firms): the same values as computing them, without
/// a logarithm per cluster, sector and refresh.
fn ln_1p_table() -> &'static [f64] {
    static TABLE: std::sync::OnceLock<Vec<f64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..1024u32).map(|n| ln(1.0 + n as f64)).collect())
}

/// ln(1 + n), from `table` (`ln_1p_table`) where it reaches.
#[inline]
fn ln_1p_in(table: &[f64], n: u32) -> f64 {
    match table.get(n as usize) {
        Some(&v) => v,
        None => ln(1.0 + n as f64),
    }
}

/// ln(1 + n) (see `ln_1p_table`).
fn ln_1p_count(n: u32) -> f64 {
    ln_1p_in(ln_1p_table(), n)
}

/// Sectors whose related sums a block computes side by side.
pub const BLOCK: usize = 8;

/// The relatedness for U_c's related sums of every sector at once: the
/// weight of sector s' in sector s's sum at `w[s'·stride + s]`, R[s][s']
/// but 0 on the diagonal (a sum leaves out its own sector), each row
/// padded with zeros to whole blocks of `BLOCK` sectors.
#[derive(Debug, Clone, Default)]
pub struct RelatedWeights {
    w: Vec<f64>,
    stride: usize,
}

impl RelatedWeights {
    pub fn new(relatedness: &[Vec<f64>]) -> Self {
        let k = relatedness.len();
        let stride = k.div_ceil(BLOCK) * BLOCK;
        let mut w = vec![0.0; k * stride];
        for (s, row) in relatedness.iter().enumerate() {
            for (sp, &r) in row.iter().enumerate().take(k) {
                if sp != s {
                    w[sp * stride + s] = r;
                }
            }
        }
        Self { w, stride }
    }

    /// Σ_{s'≠s} R[s][s']·N_s' for the sectors s = s0 .. s0 + BLOCK (zero
    /// past the last sector), each summed in sector order s' as
    /// `World::related` sums it: its own sector's term is +0, which leaves
    /// a partial sum as it was, but for the empty sum's −0 (one sector: a
    /// zero either way, whose sign reaches no utility).
    #[inline]
    fn block(&self, counts: &[u32], s0: usize) -> [f64; BLOCK] {
        let mut acc = [-0.0f64; BLOCK];
        for (sp, &n) in counts.iter().enumerate() {
            let n = n as f64;
            let at = sp * self.stride + s0;
            let w: &[f64; BLOCK] = self.w[at..at + BLOCK]
                .try_into()
                .expect("rows are whole blocks");
            for (a, &w) in acc.iter_mut().zip(w) {
                *a += w * n;
            }
        }
        acc
    }
}

/// `v − ln e` (utility plus Gumbel noise −ln e, e an Exp(1) draw) if it
/// exceeds `best`, else `None`: one step of the Gumbel-max choice.
///
/// The logarithm is taken only where the alternative could win. For a
/// normal e = 2^k·(1 + f) (k an integer, f ∈ [0, 1)), t = k + f, read off
/// e's bits, is the chord of log₂ over e's octave: log₂(1 + f) ≥ f, so
/// ln e ≥ t·ln 2 and −ln e ≤ −t·ln 2, at most 0.086·ln 2 ≈ 0.06 above it
/// (exact at powers of two). Widened by 10⁻⁹, far beyond the rounding of
/// t, of the product and of `ln` (below 10⁻¹² for any normal e); and a
/// floating-point sum is monotone, so where `v` plus that bound is at most
/// `best`, the computed `v − ln e` is too. The same answer as computing it,
/// fewer logarithms than the bound 1/e − 1 this replaced (which grows as
/// 1/e for a small draw, the draws most likely to be taken), and no
/// division (docs/performance.md, "Entry's logarithms bounded by the
/// bits").
#[inline]
pub fn gumbel_beats(v: f64, e: f64, best: f64) -> Option<f64> {
    if e >= f64::MIN_POSITIVE && v + neg_ln_bound(e) <= best {
        return None;
    }
    let u = v - ln(e);
    (u > best).then_some(u)
}

/// The bound of `gumbel_beats` on −ln e for a normal e: −t·ln 2 + 10⁻⁹,
/// t = k + f read off the bits of e = 2^k·(1 + f).
#[inline(always)]
fn neg_ln_bound(e: f64) -> f64 {
    let t = (e.to_bits() as i64 - (1023 << 52)) as f64 * (1.0 / (1u64 << 52) as f64);
    1e-9 - t * std::f64::consts::LN_2
}

/// ln(1 + related) of one (cluster, sector) of U_c, kept with the sum it
/// was taken for (`World::related_ln`): a cluster's related sum changes
/// only when its count of a related sector does, so its utilities, taken
/// again at every join and at the start of entry and relocation, mostly
/// find the logarithm here. Exact: the sum is computed every time, and the
/// logarithm taken again wherever its bits differ.
#[derive(Debug, Clone, Copy)]
pub struct RelatedLn {
    related: f64,
    ln: f64,
}

impl RelatedLn {
    /// No sum yet (NaN equals no sum's bits).
    pub const NONE: Self = Self {
        related: f64::NAN,
        ln: f64::NAN,
    };
}

/// A cluster's terms of U_c that are the same for every sector
/// (`World::row_terms`).
#[derive(Debug, Clone, Copy)]
struct RowTerms {
    head: f64,
    rent: f64,
    labor: f64,
}

impl RowTerms {
    /// U_c without distance from these terms, ln(1 + same-sector count)
    /// and ln(1 + related), summed in MODEL.md §4.3's order.
    #[inline]
    fn value(self, b: &crate::config::Utility, ln_same: f64, ln_related: f64) -> f64 {
        self.head + b.same_sector * ln_same + b.related * ln_related - self.rent + self.labor
    }
}

/// Per-cluster quantities that do not change within a phase.
#[derive(Debug, Clone, Copy)]
pub struct SiteView {
    pub quality: f64,
    pub z: f64,
    pub rent: f64,
}

/// The storage the phase reuses from step to step (`World::entry_bufs`),
/// so that a step allocates and frees none of it (a `hanoi ×200` step has
/// about 38,000 entrants, whose noise alone is 9 MB). What they hold means
/// something only inside the phase.
#[derive(Debug, Clone, Default)]
pub struct EntryBufs {
    views: Vec<SiteView>,
    value: Vec<f64>,
    /// The step's entrants: (sector, draws, home area, yearly volatility).
    pending: Vec<(usize, Draws, usize, f64)>,
    eps: Vec<f64>,
    free: Vec<f64>,
}

impl World<'_> {
    /// Q, z and rent of every cluster, for the utility of a phase.
    pub fn site_views(&self) -> Vec<SiteView> {
        let mut views = Vec::new();
        self.site_views_into(&mut views);
        views
    }

    /// `site_views` into `views` (its storage reused).
    pub fn site_views_into(&self, views: &mut Vec<SiteView>) {
        let sc = self.sc;
        views.clear();
        views.extend(self.clusters.iter().map(|c| {
            let q = c.quality;
            SiteView {
                quality: q,
                z: c.z,
                rent: sc.accounts.rent_base * (0.5 + q),
            }
        }));
    }

    /// Deterministic part of U_c for a firm of `sector` at distance `dist` km.
    pub fn cluster_utility(&self, views: &[SiteView], c: usize, sector: usize, dist: f64) -> f64 {
        self.cluster_value(views, c, sector) - self.sc.entry.utility.distance * dist / 10.0
    }

    /// `cluster_value` of every operating cluster and sector, indexed
    /// `c·K + s` (−∞ for planned clusters).
    pub fn cluster_values(&self, views: &[SiteView]) -> Vec<f64> {
        let mut value = Vec::new();
        self.cluster_values_into(views, &mut value, &mut Vec::new());
        value
    }

    /// `cluster_values` into `value` (its storage reused), through the
    /// logarithms of `memo` (see `RelatedLn`).
    pub fn cluster_values_into(
        &self,
        views: &[SiteView],
        value: &mut Vec<f64>,
        memo: &mut Vec<RelatedLn>,
    ) {
        let k = self.sc.sectors.len();
        value.clear();
        value.resize(self.clusters.len() * k, f64::NEG_INFINITY);
        if memo.len() < value.len() {
            memo.resize(value.len(), RelatedLn::NONE);
        }
        let fill = |(c, (row, memo)): (usize, (&mut [f64], &mut [RelatedLn]))| {
            if self.clusters[c].operating() {
                self.cluster_row(views, c, row, memo);
            }
        };
        // By cluster, in parallel in a big world (each value is its own).
        if self.parallel() {
            use rayon::prelude::*;
            let rows = value.par_chunks_mut(k.max(1));
            rows.zip(memo.par_chunks_mut(k.max(1)))
                .enumerate()
                .for_each(fill);
        } else {
            let rows = value.chunks_mut(k.max(1));
            rows.zip(memo.chunks_mut(k.max(1)))
                .enumerate()
                .for_each(fill);
        }
    }

    /// U_c without the distance term (it depends on the cluster and sector only).
    pub fn cluster_value(&self, views: &[SiteView], c: usize, sector: usize) -> f64 {
        let ln_related = ln(1.0 + self.related(c, sector));
        let n = self.clusters[c].sector_counts[sector];
        self.row_terms(views, c)
            .value(&self.sc.entry.utility, ln_1p_count(n), ln_related)
    }

    /// `cluster_value` of cluster `c` for every sector into `row` (the terms
    /// that are the same for every sector computed once), each
    /// ln(1 + related) taken from the cluster's `memo` row where its sum
    /// is the one it was taken for.
    pub fn cluster_row(
        &self,
        views: &[SiteView],
        c: usize,
        row: &mut [f64],
        memo: &mut [RelatedLn],
    ) {
        let terms = self.row_terms(views, c);
        let b = &self.sc.entry.utility;
        let counts = &self.clusters[c].sector_counts;
        let table = ln_1p_table();
        // The related sums of a block of sectors at once, each the bits
        // `related` gives (a test checks it).
        for (s0, (row, memo)) in (0..)
            .step_by(BLOCK)
            .zip(row.chunks_mut(BLOCK).zip(memo.chunks_mut(BLOCK)))
        {
            let sums = self.related_w.block(counts, s0);
            for (((v, m), &related), &n) in row.iter_mut().zip(memo).zip(&sums).zip(&counts[s0..]) {
                if related.to_bits() != m.related.to_bits() {
                    *m = RelatedLn {
                        related,
                        ln: ln(1.0 + related),
                    };
                }
                *v = terms.value(b, ln_1p_in(table, n), m.ln);
            }
        }
    }

    /// The terms of cluster `c`'s U_c that no sector changes: β_Q·Q + β_z·z
    /// (U_c's first partial sum), β_rent·rent and β_lab·ln(1 + slack), where
    /// slack is the labour slack / 100.
    fn row_terms(&self, views: &[SiteView], c: usize) -> RowTerms {
        let b = &self.sc.entry.utility;
        let cl = &self.clusters[c];
        let v = views[c];
        let slack = (cl.labor_pool - cl.employment).max(0.0) / 100.0;
        RowTerms {
            head: b.quality * v.quality + b.connection * v.z,
            rent: b.rent * v.rent,
            labor: b.labor * ln(1.0 + slack),
        }
    }

    /// Σ_{s'≠s} R[s][s']·N_c,s' of cluster `c` for `sector` (U_c's related
    /// industries), summed in sector order.
    fn related(&self, c: usize, sector: usize) -> f64 {
        let relatedness = &self.sc.relatedness[sector];
        self.clusters[c]
            .sector_counts
            .iter()
            .enumerate()
            .filter(|&(s, _)| s != sector)
            .map(|(s, &n)| relatedness[s] * n as f64)
            .sum()
    }

    /// U_home: staying in the residential area.
    pub fn home_utility(&self, polluting: bool, enforcement: f64) -> f64 {
        let b = &self.sc.entry.utility;
        b.residential
            - if polluting {
                b.enforcement * enforcement
            } else {
                0.0
            }
    }

    /// Phase 4 at `step` (`t` years elapsed at the start of the step).
    pub fn entry(&mut self, step: u32, t: f64) {
        let sc = self.sc;
        let dt = sc.time.dt;
        let mut attr = self.streams.stream(Purpose::Entry, step, 0);
        let EntryBufs {
            mut views,
            mut value,
            mut pending,
            eps: mut eps_all,
            mut free,
        } = std::mem::take(&mut self.entry_bufs);
        self.site_views_into(&mut views);
        let e = self.enforcement(step);
        let rpw = sc.growth.revenue_per_worker;
        // U_c without distance per (cluster, sector), refreshed for a cluster
        // when an entrant joins it (its counts and slack change).
        let k = sc.sectors.len();
        let beta_d = sc.entry.utility.distance;
        let mut memo = std::mem::take(&mut self.related_ln);
        self.cluster_values_into(&views, &mut value, &mut memo);
        let n_eps = sc.entry.choice_set as usize + 1;
        let laplace = sc.growth.shock == Shock::Laplace;
        // Every sector's entrants are drawn first, then choose one after
        // another in a random order (MODEL.md §4.3), so that no sector always
        // chooses first when land is scarce.
        pending.clear();
        for s in 0..k {
            let sec = &sc.sectors[s];
            let lambda = sec.entry_rate * dt * (1.0 + sec.demand_growth).powf(t);
            let n = if lambda > 0.0 {
                Poisson::new(lambda)
                    .expect("positive mean")
                    .sample(&mut attr) as u64
            } else {
                0
            };
            for _ in 0..n {
                let d = draw_firm(sc, s, &mut attr);
                let home = sample_cdf(&self.pop_cdf, &mut attr);
                let v = exp1(&mut attr);
                pending.push((s, d, home, if laplace { v } else { 1.0 }));
            }
        }
        pending.shuffle(&mut attr);
        let streams = self.streams.clone();
        // An entrant's Exp(1) draws E, whose −ln E are its Gumbel noise.
        let noise = |k: usize, eps: &mut [f64]| {
            let mut rng = streams.stream(Purpose::Choice, step, k as u32);
            for x in eps.iter_mut() {
                *x = exp1(&mut rng);
            }
        };
        // All entrants' E up front when the step is big (in parallel), else
        // each entrant's E when it chooses; either way the logarithm of an
        // alternative's E is taken only where it could win (`gumbel_beats`),
        // so the same choices.
        eps_all.clear();
        let up_front = pending.len() as u64 * 100 >= self.parallel_min_firms;
        if up_front {
            use rayon::prelude::*;
            eps_all.resize(pending.len() * n_eps, 0.0);
            eps_all
                .par_chunks_mut(n_eps)
                .enumerate()
                .for_each(|(nth, eps)| noise(nth, eps));
        }
        // Free land by cluster, beside the utilities (a cluster's own value,
        // refreshed when an entrant joins it; read 30 times per entrant).
        free.clear();
        free.extend(self.clusters.iter().map(|c| c.free_land()));
        let mut own = vec![0.0; n_eps];
        for (nth, (s, d, home, vol)) in pending.drain(..).enumerate() {
            let eps: &[f64] = if up_front {
                &eps_all[nth * n_eps..(nth + 1) * n_eps]
            } else {
                noise(nth, &mut own);
                &own
            };
            let mut best = self.home_utility(d.polluting, e) - eps[0].ln();
            let mut site = Site::Home(home as u32);
            for (pos, &(dist, c)) in self.areas[home].nearest.iter().enumerate() {
                // A cluster without room for the plot cannot win: its value
                // is −∞, which `gumbel_beats` never takes (its Exp(1) draw
                // was drawn with the others, as before). A select rather
                // than a branch: which candidates have room follows no
                // pattern a predictor learns (valgrind's model mispredicted
                // 41% of these tests as a branch).
                let v = value[c as usize * k + s] - beta_d * dist / 10.0;
                let v = if free[c as usize] < d.land {
                    f64::NEG_INFINITY
                } else {
                    v
                };
                if let Some(u) = gumbel_beats(v, eps[pos + 1], best) {
                    best = u;
                    site = Site::Cluster(c);
                }
            }
            self.add_firm(Firm {
                id: 0,
                sector: s as u32,
                site,
                slot: 0,
                kin_slot: u32::MAX,
                home: home as u32,
                size: d.size,
                productivity: d.productivity,
                polluting: d.polluting,
                land: d.land,
                age: 0,
                born_step: step,
                died_step: u32::MAX,
                relocated: false,
                alive: true,
                vol,
                ln_size: 0.0,
                ln_prod: 0.0,
            });
            if let Site::Cluster(c) = site {
                let c = c as usize;
                self.clusters[c].employment += d.size / rpw;
                free[c] = self.clusters[c].free_land();
                let row = c * k..(c + 1) * k;
                self.cluster_row(&views, c, &mut value[row.clone()], &mut memo[row]);
            }
            self.counters.entries += 1;
            self.counters.entries_total += 1;
        }
        self.related_ln = memo;
        self.entry_bufs = EntryBufs {
            views,
            value,
            pending,
            eps: eps_all,
            free,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::{gumbel_beats, ln, ln_1p_count, neg_ln_bound, RelatedWeights, BLOCK};
    use rand::{Rng, SeedableRng};
    use rand_distr::Exp1;

    /// The utilities computed through the logarithms the world keeps from
    /// step to step are, bit for bit, those computed afresh, after steps
    /// whose joins, exits and moves change the clusters' counts; and the
    /// steps both reused kept logarithms and took new ones.
    #[test]
    fn utilities_through_the_kept_logarithms_are_the_fresh_ones() {
        let sc = crate::config::embedded_default();
        let k = sc.sectors.len();
        let mut w = super::World::new(&sc, 7, 0);
        let (mut kept, mut taken) = (0, 0);
        for _ in 0..16 {
            w.step();
            let views = w.site_views();
            let mut memo = std::mem::take(&mut w.related_ln);
            let before = memo.clone();
            let mut value = Vec::new();
            w.cluster_values_into(&views, &mut value, &mut memo);
            for c in (0..w.clusters.len()).filter(|&c| w.clusters[c].operating()) {
                for s in 0..k {
                    let fresh = w.cluster_value(&views, c, s);
                    assert_eq!(value[c * k + s].to_bits(), fresh.to_bits(), "c {c} s {s}");
                    let same =
                        before[c * k + s].related.to_bits() == memo[c * k + s].related.to_bits();
                    (kept, taken) = (kept + same as u32, taken + !same as u32);
                }
            }
            w.related_ln = memo;
        }
        assert!(kept > 100 && taken > 100, "kept {kept}, taken {taken}");
    }

    /// The table is ln(1 + n) bit for bit, across its end and beyond.
    #[test]
    fn ln_1p_count_is_the_logarithm() {
        for n in (0..3000).chain([u32::MAX - 1, u32::MAX]) {
            let exact = ln(1.0 + n as f64);
            assert_eq!(ln_1p_count(n).to_bits(), exact.to_bits(), "n = {n}");
        }
    }

    /// A block's related sums are, bit for bit, the sums `World::related`
    /// takes (its own sector left out, in sector order), for sector counts
    /// that are not whole blocks, counts with zeros, and past the last
    /// sector zero.
    #[test]
    fn a_blocks_related_sums_are_the_filtered_sums() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for k in [1usize, 2, 6, 8, 11, 20] {
            let r: Vec<Vec<f64>> = (0..k)
                .map(|_| (0..k).map(|_| rng.random::<f64>()).collect())
                .collect();
            let w = RelatedWeights::new(&r);
            for _ in 0..200 {
                let counts: Vec<u32> = (0..k)
                    .map(|_| {
                        if rng.random::<f64>() < 0.3 {
                            0
                        } else {
                            rng.random_range(0..500)
                        }
                    })
                    .collect();
                for s0 in (0..k).step_by(BLOCK) {
                    for (j, &got) in w.block(&counts, s0).iter().enumerate() {
                        let s = s0 + j;
                        if s >= k {
                            assert_eq!(got, 0.0);
                            continue;
                        }
                        let want: f64 = counts
                            .iter()
                            .enumerate()
                            .filter(|&(sp, _)| sp != s)
                            .map(|(sp, &n)| r[s][sp] * n as f64)
                            .sum();
                        // One sector: the empty sum's zero, of either sign.
                        if k == 1 {
                            assert_eq!(got, want);
                        } else {
                            assert_eq!(got.to_bits(), want.to_bits(), "k {k} s {s}");
                        }
                    }
                }
            }
        }
    }

    /// The bounded step decides as computing `v − ln e` does, over draws
    /// and utilities wide enough to take the bound and the logarithm many
    /// times, and at the exact ties where rounding decides (e near 1).
    #[test]
    fn gumbel_beats_is_the_exact_comparison() {
        let exact = |v: f64, e: f64, best: f64| {
            let u = v - ln(e);
            (u > best).then_some(u)
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (mut skipped, mut won) = (0u32, 0u32);
        for _ in 0..2_000_000 {
            let e: f64 = rng.sample(Exp1);
            let v = rng.random_range(-8.0..8.0);
            let best = rng.random_range(-8.0..8.0);
            let got = gumbel_beats(v, e, best);
            assert_eq!(got, exact(v, e, best), "v {v} e {e} best {best}");
            skipped += (v + neg_ln_bound(e) <= best) as u32;
            won += got.is_some() as u32;
        }
        assert!(skipped > 200_000 && won > 200_000, "{skipped} {won}");
        // Ties: best at v − ln e itself and one float either side, e within
        // a few ulps to 1e-4 of a power of two (where the bound meets the
        // logarithm), and e subnormal (where no bound is used).
        for i in 0..200_000u64 {
            let d = rng.random_range(-1e-4..1e-4) * rng.random::<f64>().powi(8);
            let two_k = f64::from_bits((1023 + i % 13 - 8) << 52);
            let e = match i % 3 {
                0 => two_k * (1.0 + d),
                1 => f64::from_bits(two_k.to_bits() + i / 3 % 64),
                _ => f64::from_bits(1 + i % (1 << 52)),
            };
            let v = rng.random_range(-3.0..3.0);
            let u = v - ln(e);
            for best in [
                u,
                f64::from_bits(u.to_bits() - 1),
                f64::from_bits(u.to_bits() + 1),
            ] {
                assert_eq!(
                    gumbel_beats(v, e, best),
                    exact(v, e, best),
                    "v {v} e {e} best {best}"
                );
            }
        }
        assert_eq!(gumbel_beats(0.0, 0.0, 1e300), Some(f64::INFINITY));
        assert_eq!(gumbel_beats(f64::NEG_INFINITY, 0.5, -1.0), None);
        // Entry gives a cluster without room −∞: it never wins, whatever
        // its draw (an Exp(1) draw of 0 or one far out included).
        for e in [0.0, 1e-300, 1e-12, 0.5, 1.0, 40.0, f64::MAX] {
            for best in [-1e300, -5.0, 0.0, 5.0] {
                assert_eq!(gumbel_beats(f64::NEG_INFINITY, e, best), None);
            }
        }
        assert_eq!(gumbel_beats(f64::NAN, 0.5, -1.0), None);
    }
}
