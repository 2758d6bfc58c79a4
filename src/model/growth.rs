//! Phase 6, `growth` (local, clusters and residential areas): the innovation
//! shock of §4.4, firm growth, labour pools and shortage, and exit
//! (MODEL.md §4.5). Each site runs on its own stream (Growth, step, site).

use super::zig::{exp1, standard_normal};
use rand::Rng;

use super::expo::exp;
use super::logn::ln;
use super::world::{for_units, Area, Cluster, Firm, Held, Site, World};
use crate::rng::Purpose;

/// The exit hazard's age factor (1 + age in years)^(−exit_age_exponent) for
/// ages 0..=`max_age` steps, as a table (growth and the warm-up of §5).
pub fn age_factors(sc: &crate::config::Scenario, max_age: u32) -> Vec<f64> {
    let (dt, e) = (sc.time.dt, sc.growth.exit_age_exponent);
    (0..=max_age as usize)
        .map(|a| (1.0 + a as f64 * dt).powf(-e))
        .collect()
}

/// Whether a uniform draw `u` ∈ [0, 1) falls below the exit probability
/// 1 − exp(−c) with c = `h · exp(x) · a · dt` (evaluated in that order and
/// with `expo::exp`), i.e. the firm exits (MODEL.md §4.5: probability
/// 1 − exp(−hazard·dt) in a step).
///
/// The same decision as computing that expression, with the exponentials
/// evaluated only where the draw is close to it. With t = x·log₂e = k + f
/// (k an integer, f ∈ [0, 1)), the double whose bits are (t + 1023)·2⁵²
/// is C = 2^k·(1 + f), the chord of 2^f (Schraudolph's exp); 2^f is convex,
/// so 2^f ≤ 1 + f, and 2^f / (1 + f) is smallest at f = 1/ln 2 − 1, where it
/// is e·ln 2 / 2 = 0.94208…; so 0.942·C ≤ exp(x) ≤ C, widened by a relative
/// 10⁻⁶ for the rounding of t and of the bits (`exp_bounds`). And
/// c − c²/2 ≤ 1 − e^(−c) ≤ c (the lower bound for c ≤ 1, where it rises
/// with c), widened by 10⁻¹⁵ for the rounding of 1 − exp(−c).
/// Floating-point products are monotone, so a draw at or above the upper
/// bound, or below the lower one, is decided as the expression would
/// decide it.
#[inline]
pub fn exits(u: f64, h: f64, x: f64, a: f64, dt: f64) -> bool {
    const SLACK: f64 = 1e-15;
    if let Some((lo, hi)) = exp_bounds(x) {
        if u >= h * hi * a * dt + SLACK {
            return false;
        }
        let c_lo = h * lo * a * dt;
        if c_lo <= 1.0 && u < c_lo - 0.5 * c_lo * c_lo - SLACK {
            return true;
        }
    }
    u < exit_probability(h, x, a, dt)
}

/// Bounds (lo, hi) of exp(x) for |x·log₂e| < 1000, from the chord
/// C = 2^k·(1 + f) of t = x·log₂e = k + f (see `exits`).
#[inline(always)]
fn exp_bounds(x: f64) -> Option<(f64, f64)> {
    let t = x * std::f64::consts::LOG2_E;
    (t.abs() < 1000.0).then(|| {
        // C's bits are (t + 1023)·2⁵², in (23·2⁵², 2023·2⁵²). Plus 2⁶³ it
        // is a double in [2⁶³, 2⁶⁴), whose 52 mantissa bits hold it in
        // units of 2¹¹: shifted back, they are C's bits rounded to a
        // multiple of 2¹¹, a relative change below 2⁻⁴¹ that the 10⁻⁶
        // covers. No float-to-integer conversion (whose saturation costs
        // six more instructions).
        let y = (t + 1023.0) * 4_503_599_627_370_496.0 + 9_223_372_036_854_775_808.0;
        let chord = f64::from_bits((y.to_bits() & ((1 << 52) - 1)) << 11);
        (chord * (0.942 * (1.0 - 1e-6)), chord * (1.0 + 1e-6))
    })
}

/// 1 − exp(−h·exp(x)·a·dt), the exit probability `exits` decides against
/// (a call: rarely reached, so the loops around `exits` stay small).
#[inline(never)]
pub fn exit_probability(h: f64, x: f64, a: f64, dt: f64) -> f64 {
    1.0 - exp(-(h * exp(x) * a * dt))
}

/// Alive firms from which the local phases run over sites in parallel
/// (rayon). Below it the same code runs over sites in order; the results are
/// identical either way (each site has its own stream and writes only its
/// own firms), so this only trades thread overhead against work.
pub const PARALLEL_MIN_FIRMS: u64 = 40_000;

/// One firm's state after its growth step (in a big world, kept until
/// every site is done, then applied).
#[derive(Debug, Clone, Copy, Default)]
struct Grown {
    vol: f64,
    ln_prod: f64,
    productivity: f64,
    ln_size: f64,
    size: f64,
}

/// The growth phase's buffers, which the world keeps from step to step so
/// that a step allocates no vector per site: in a big world every site's
/// new states in one vector, site by site in member order (site s's are
/// `grown[start[s]..start[s + 1]]`; entries past the last site's are
/// stale), and each site's exiting members (storage indices) in member
/// order.
#[derive(Debug, Clone, Default)]
pub(super) struct GrowthBufs {
    grown: Vec<Grown>,
    start: Vec<usize>,
    exits: Vec<Vec<u32>>,
}

/// What does not change during the phase: the parameters of a firm-step.
struct Ctx<'t> {
    ln_degree: &'t [f64],
    age_factor: &'t [f64],
    ln_s0: &'t [f64],
    enforcement: f64,
    laplace: bool,
    new_year: bool,
}

impl World<'_> {
    /// Phase 6 at `step`.
    pub fn growth(&mut self, step: u32) {
        let sc = self.sc;
        let gp = &sc.growth;
        let dt = sc.time.dt;
        let n_sites = self.clusters.len() + self.areas.len();
        // Tables instead of powers in the loop: ln(1 + degree) and the age
        // factor (1 + age·dt)^(−exit_age_exponent).
        let ln_degree: Vec<f64> = (0..=sc.cooperation.max_degree as usize)
            .map(|d| ln(1.0 + d as f64))
            .collect();
        let age_factor = age_factors(sc, self.age_bound);
        let ln_s0: Vec<f64> = sc.sectors.iter().map(|s| ln(s.size_median)).collect();
        let year = (1.0 / dt).round().max(1.0) as u32;
        let ctx = Ctx {
            ln_degree: &ln_degree,
            age_factor: &age_factor,
            ln_s0: &ln_s0,
            enforcement: self.enforcement(step),
            laplace: gp.shock == crate::config::Shock::Laplace,
            new_year: (step - 1) % year == 0,
        };

        // Every site's firm-steps from the state before the phase (a site
        // reads only its own firms and itself). In a big world, in parallel
        // into a buffer (each site its part, site by site in member order),
        // then applied by a sweep over the firm vector; otherwise site by
        // site, each firm's new state written as it is computed.
        let mut bufs = std::mem::take(&mut self.growth_bufs);
        bufs.exits.resize_with(n_sites, Vec::new);
        // Cooperation's spillover, pending (see `World::spill_bufs`): each
        // cluster member's ln A is read from it where it has one.
        let mut spill = std::mem::take(&mut self.spill_bufs);
        if !std::mem::replace(&mut self.spill_pending, false) {
            spill.iter_mut().for_each(Vec::clear);
        }
        spill.resize_with(self.clusters.len(), Vec::new);
        if self.parallel() {
            self.grow_parallel(step, &ctx, &mut bufs, &spill);
        } else {
            let World {
                firms,
                clusters,
                areas,
                streams,
                ..
            } = self;
            let residential_q = sc.residential.residential_quality;
            let sites = clusters.iter_mut().zip(&spill).map(|(c, spill)| {
                let Cluster {
                    members,
                    partners,
                    sector_counts,
                    quality,
                    shortage,
                    held,
                    ..
                } = c;
                let view = SiteData::cluster(
                    members,
                    partners,
                    sector_counts,
                    (*quality, *shortage),
                    spill,
                );
                (view, held)
            });
            let sites = sites.chain(areas.iter_mut().map(|a| {
                let Area {
                    members,
                    partners,
                    sector_counts,
                    held,
                    ..
                } = a;
                (
                    SiteData::area(members, partners, sector_counts, residential_q),
                    held,
                )
            }));
            for ((site_ix, (view, held)), leaving) in sites.enumerate().zip(&mut bufs.exits) {
                let mut direct = Direct {
                    firms: &mut firms[..],
                    held,
                };
                grow_members(
                    sc,
                    streams,
                    step,
                    site_ix,
                    &view,
                    &ctx,
                    &mut direct,
                    leaving,
                );
            }
        }
        spill.iter_mut().for_each(Vec::clear);
        self.spill_bufs = spill;
        let exits = &bufs.exits;

        // Then the exits, site by site in member order (each site listed
        // its own, so this touches only the exiting firms).
        let mut dead = 0u64;
        for ex in exits {
            for &i in ex {
                self.kill_firm(i);
            }
            dead += ex.len() as u64;
        }
        self.counters.exits += dead;
        self.counters.exits_total += dead;
        self.drop_dead_links();
        self.growth_bufs = bufs;
        self.age_bound += 1;

        let pool_growth = exp(gp.labor_growth * dt);
        for c in self.clusters.iter_mut().filter(|c| c.operating()) {
            c.labor_pool *= pool_growth;
        }
        self.refresh_labour();
    }

    /// The firm-steps of a big world: every site's in parallel into
    /// `bufs` (site s's new states at `grown[start[s]..start[s + 1]]`, in
    /// member order), then applied by a parallel sweep over the firm vector
    /// (an alive firm finds its result at its site and slot, which no kill
    /// has changed yet) and copied into each site's `held`.
    fn grow_parallel(
        &mut self,
        step: u32,
        ctx: &Ctx,
        bufs: &mut GrowthBufs,
        spill: &[Vec<(f64, f64)>],
    ) {
        use rayon::prelude::*;
        let n_sites = self.clusters.len() + self.areas.len();
        let GrowthBufs {
            grown,
            start,
            exits,
        } = bufs;
        start.clear();
        start.push(0);
        for members in self.site_members() {
            start.push(start[start.len() - 1] + members.len());
        }
        let total = start[n_sites];
        if grown.len() < total {
            grown.resize(total, Grown::default());
        }
        let mut units: Vec<(&mut [Grown], &mut Vec<u32>)> = Vec::with_capacity(n_sites);
        let mut rest = &mut grown[..total];
        for (s, ex) in exits.iter_mut().enumerate() {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(start[s + 1] - start[s]);
            units.push((mine, ex));
            rest = tail;
        }
        let world = &*self;
        let residential_q = world.sc.residential.residential_quality;
        for_units(true, &mut units, |site_ix, (out, ex)| {
            let view = if site_ix < world.clusters.len() {
                let c = &world.clusters[site_ix];
                SiteData::cluster(
                    &c.members,
                    &c.partners,
                    &c.sector_counts,
                    (c.quality, c.shortage),
                    &spill[site_ix],
                )
            } else {
                let a = &world.areas[site_ix - world.clusters.len()];
                SiteData::area(&a.members, &a.partners, &a.sector_counts, residential_q)
            };
            let mut buffer = Buffer {
                firms: &world.firms,
                out,
            };
            grow_members(
                world.sc,
                &world.streams,
                step,
                site_ix,
                &view,
                ctx,
                &mut buffer,
                ex,
            );
        });
        drop(units);
        let (grown, start) = (&*grown, &*start);
        let n_clusters = self.clusters.len();
        self.firms
            .par_iter_mut()
            .with_min_len(4096)
            .filter(|f| f.alive)
            .for_each(|f| {
                let site_ix = match f.site {
                    Site::Cluster(c) => c as usize,
                    Site::Home(a) => n_clusters + a as usize,
                };
                grown[start[site_ix] + f.slot as usize].set(f);
            });
        let held = self.clusters.par_iter_mut().map(|c| &mut c.held);
        let held = held.chain(self.areas.par_iter_mut().map(|a| &mut a.held));
        held.enumerate().for_each(|(s, held)| {
            for (h, g) in held.iter_mut().zip(&grown[start[s]..start[s + 1]]) {
                h.size = g.size;
            }
        });
    }
}

/// What a site's growth step reads of the site.
struct SiteData<'s> {
    members: &'s [u32],
    partners: &'s [Vec<u32>],
    counts: &'s [u32],
    quality: f64,
    shortage: f64,
    residential: bool,
    /// The pending spillover by slot (A NaN where it leaves A as it was),
    /// or empty.
    spill: &'s [(f64, f64)],
}

impl<'s> SiteData<'s> {
    /// A cluster: its (quality Q, labour shortage) and pending spillover.
    fn cluster(
        members: &'s [u32],
        partners: &'s [Vec<u32>],
        counts: &'s [u32],
        (quality, shortage): (f64, f64),
        spill: &'s [(f64, f64)],
    ) -> Self {
        Self {
            members,
            partners,
            counts,
            quality,
            shortage,
            residential: false,
            spill,
        }
    }

    /// A residential area: the residential quality, no shortage.
    fn area(members: &'s [u32], partners: &'s [Vec<u32>], counts: &'s [u32], quality: f64) -> Self {
        Self {
            members,
            partners,
            counts,
            quality,
            shortage: 0.0,
            residential: true,
            spill: &[],
        }
    }
}

/// Where a site's growth step reads its members and puts their new states.
trait Members {
    /// Member `i` as it was before the phase.
    fn firm(&self, i: u32) -> &Firm;
    /// The new state of `i`, the site's member at slot `k`.
    fn put(&mut self, k: usize, i: u32, g: Grown);
}

/// A big world's sites in parallel: the firms are read, the new states go
/// into the site's part of the buffer (applied after every site is done).
struct Buffer<'a> {
    firms: &'a [Firm],
    out: &'a mut [Grown],
}

impl Members for Buffer<'_> {
    fn firm(&self, i: u32) -> &Firm {
        &self.firms[i as usize]
    }
    fn put(&mut self, k: usize, _: u32, g: Grown) {
        self.out[k] = g;
    }
}

/// Sites one after another: each new state is written into the firm and
/// its size into the site's `held` at once (a firm is a member of one site,
/// and a site's step reads each member once, before writing it).
struct Direct<'a> {
    firms: &'a mut [Firm],
    held: &'a mut [Held],
}

impl Members for Direct<'_> {
    fn firm(&self, i: u32) -> &Firm {
        &self.firms[i as usize]
    }
    fn put(&mut self, k: usize, i: u32, g: Grown) {
        g.set(&mut self.firms[i as usize]);
        self.held[k].size = g.size;
    }
}

impl Grown {
    /// Firm `f`'s state after its growth step.
    fn set(&self, f: &mut Firm) {
        (f.vol, f.ln_prod, f.productivity) = (self.vol, self.ln_prod, self.productivity);
        (f.ln_size, f.size) = (self.ln_size, self.size);
        f.age += 1;
    }
}

/// The growth step of every member of site `site_ix` (clusters first, then
/// residential areas), in member order, on the site's stream (Growth,
/// step, site): each member's new state to `m`, the exiting members into
/// `leaving` (emptied first).
#[allow(clippy::too_many_arguments)]
fn grow_members<M: Members>(
    sc: &crate::config::Scenario,
    streams: &crate::rng::RunStreams,
    step: u32,
    site_ix: usize,
    site: &SiteData,
    ctx: &Ctx,
    m: &mut M,
    leaving: &mut Vec<u32>,
) {
    leaving.clear();
    if site.members.is_empty() {
        return;
    }
    let gp = &sc.growth;
    let ef = &gp.effects;
    let dt = sc.time.dt;
    let sqdt = dt.sqrt();
    let inn = sc.cooperation.innovation_sigma;
    let n_total = site.members.len() as f64;
    let mut rng = streams.stream(Purpose::Growth, step, site_ix as u32);
    // The enforcement penalty's bits, masked by the polluting flag below:
    // the penalty or +0.0 (zero bits), as a branch on the flag would give;
    // but the flag is set for 10–60% of a sector's firms in Hanoi, in no
    // order a predictor learns, and such a branch is often mispredicted.
    let penalty = if site.residential {
        ef.pollution * ctx.enforcement
    } else {
        0.0
    }
    .to_bits();
    // Each member is copied out one step ahead, so that in a big world the
    // read of the next firm (often a cache miss) overlaps this one's work.
    let mut next = *m.firm(site.members[0]);
    for (k, &i) in site.members.iter().enumerate() {
        let f = next;
        if let Some(&j) = site.members.get(k + 1) {
            next = *m.firm(j);
        }
        let f = &f;
        let xi_a = standard_normal(&mut rng);
        let xi_s = standard_normal(&mut rng);
        // Exit with probability 1 − exp(−h·dt): a uniform below it.
        let u_exit: f64 = rng.random();
        // The Laplace shock's variance multiplier, redrawn at the start of
        // each year (drawn for `Gaussian` too, so that the two shocks'
        // streams stay aligned).
        let vol_mult = if ctx.new_year {
            let v = exp1(&mut rng);
            if ctx.laplace {
                v.sqrt()
            } else {
                1.0
            }
        } else {
            f.vol
        };
        let ln_prod = match site.spill.get(k) {
            Some(&(v, ln_v)) if !v.is_nan() => ln_v,
            _ => f.ln_prod,
        };
        let ln_a = ln_prod + inn * sqdt * xi_a;
        let s = f.sector as usize;
        let sec = &sc.sectors[s];
        let g = sec.demand_growth
            + ef.productivity * ln_a
            + ef.quality * (site.quality - gp.quality_reference)
            + ef.network * ctx.ln_degree[site.partners[k].len()]
            - ef.competition * site.counts[s] as f64 / (1.0 + n_total)
            - ef.labor * site.shortage
            - f64::from_bits(penalty & u64::from(f.polluting).wrapping_neg());
        let ln_rel = f.ln_size - ctx.ln_s0[s];
        let vol = gp.sigma0 * exp(-gp.beta * ln_rel) * vol_mult;
        let ln_rel = ln_rel + g * dt + vol * sqdt * xi_s;
        let ln_size = ln_rel + ctx.ln_s0[s];
        let size = exp(ln_size);
        let a = ctx.age_factor[f.age as usize];
        let x = -gp.exit_size_exponent * ln_rel;
        if size < gp.exit_size || exits(u_exit, gp.exit_hazard, x, a, dt) {
            leaving.push(i);
        }
        m.put(
            k,
            i,
            Grown {
                vol: vol_mult,
                ln_prod: ln_a,
                // A residential firm's A is computed when read
                // (`Firm::productivity`): most never are.
                productivity: if site.residential {
                    f64::NAN
                } else {
                    exp(ln_a)
                },
                ln_size,
                size,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{exit_probability, exits, exp_bounds};
    use crate::model::expo::exp;
    use rand::{Rng, SeedableRng};

    /// lo ≤ exp(x) ≤ hi on a dense grid of t = x·log₂e, finest around the
    /// fractions where each bound is tightest (f → 0 and 1 for hi, f near
    /// 1/ln 2 − 1 for lo), and no bounds outside |t| < 1000.
    #[test]
    fn exp_bounds_hold_and_are_tight_where_claimed() {
        let mut worst_lo: f64 = 0.0;
        for k in -999i32..999 {
            let fracs = (0..200).map(|i| i as f64 / 200.0);
            let near =
                (0..200).map(|i| 1.0 / std::f64::consts::LN_2 - 1.0 + (i as f64 - 100.0) * 1e-5);
            for f in fracs.chain(near) {
                let x = (k as f64 + f) * std::f64::consts::LN_2;
                let (lo, hi) = exp_bounds(x).expect("inside the range");
                let e = exp(x);
                assert!(lo <= e && e <= hi, "x {x}: {lo} {e} {hi}");
                worst_lo = worst_lo.max(lo / e);
            }
        }
        // The lower bound's factor is nearly attained (0.942 of 0.94208).
        assert!(worst_lo > 0.9999, "{worst_lo}");
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 700.0, -700.0] {
            assert_eq!(exp_bounds(x), None, "x {x}");
        }
    }

    /// The bounded decision is the expression's decision, draw for draw,
    /// over hazards, exponents and ages wide enough to cross every branch
    /// (both bounds and the fallback are taken many times).
    #[test]
    fn exits_decides_as_the_exact_expression() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut hi, mut lo, mut near) = (0u32, 0u32, 0u32);
        for _ in 0..2_000_000 {
            let h = rng.random_range(0.0..2.0);
            let x = rng.random_range(-30.0..30.0) * rng.random::<f64>().powi(3);
            let a = rng.random_range(0.0..1.0);
            let dt = [0.25, 1.0, 1.0 / 12.0][rng.random_range(0..3)];
            let p = exit_probability(h, x, a, dt);
            // Half the draws near the probability, half uniform.
            let u: f64 = if rng.random::<bool>() {
                (p * rng.random_range(0.5..1.5)).min(1.0 - f64::EPSILON / 2.0)
            } else {
                rng.random()
            };
            let exact = u < p;
            assert_eq!(
                exits(u, h, x, a, dt),
                exact,
                "u {u} h {h} x {x} a {a} dt {dt}"
            );
            if u >= p * 1.2 {
                hi += 1;
            } else if u < p * 0.8 {
                lo += 1;
            } else {
                near += 1;
            }
        }
        assert!(
            hi > 100_000 && lo > 100_000 && near > 10_000,
            "{hi} {lo} {near}"
        );
        // At exact ties, at the edges of the bounds' range and at tiny and
        // certain probabilities.
        for x in [
            -1000.0,
            -700.0,
            -40.0,
            0.0,
            1e-300,
            5.0,
            700.0,
            1000.0,
            f64::NEG_INFINITY,
        ] {
            for u in [
                0.0,
                1e-300,
                1e-17,
                1e-16,
                0.05,
                0.5,
                1.0 - f64::EPSILON / 2.0,
            ] {
                assert_eq!(
                    exits(u, 0.3, x, 0.9, 0.25),
                    u < exit_probability(0.3, x, 0.9, 0.25),
                    "u {u} x {x}"
                );
            }
        }
        let p = exit_probability(0.3, 0.5, 0.9, 0.25);
        assert!(!exits(p, 0.3, 0.5, 0.9, 0.25));
        assert!(exits(p * (1.0 - 1e-15), 0.3, 0.5, 0.9, 0.25));
    }

    /// The exit frequency of uniform draws is the probability 1 − e^(−c).
    #[test]
    fn exit_frequency_is_one_minus_exp_of_minus_the_hazard() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for (h, x, a, dt) in [
            (0.3, 0.0, 1.0, 0.25),
            (0.3, 1.2, 0.5, 0.25),
            (2.0, 1.0, 1.0, 1.0),
        ] {
            let n = 400_000;
            let hits = (0..n).filter(|_| exits(rng.random(), h, x, a, dt)).count() as f64;
            let c: f64 = h * x.exp() * a * dt;
            let p = 1.0 - (-c).exp();
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!(
                (hits / n as f64 - p).abs() < 5.0 * se,
                "{hits} of {n} against {p}"
            );
        }
    }
}
