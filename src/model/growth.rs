//! Phase 6, `growth` (local, clusters and residential areas): the innovation
//! shock of §4.4, firm growth, labour pools and shortage, and exit
//! (MODEL.md §4.5). Each site runs on its own stream (Growth, step, site).

use rand::Rng;
use rand_distr::{Exp1, StandardNormal};

use super::expo::exp;
use super::world::{for_units, Firm, Site, World};
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
        // C's bits: (t + 1023)·2⁵² is positive here, so `as u64` truncates.
        let chord = f64::from_bits(((t + 1023.0) * 4_503_599_627_370_496.0) as u64);
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

/// One firm's state after its growth step (applied after every site is done).
#[derive(Debug, Clone, Copy, Default)]
struct Grown {
    vol: f64,
    ln_prod: f64,
    productivity: f64,
    ln_size: f64,
    size: f64,
}

/// The growth phase's buffers, which the world keeps from step to step so
/// that a step allocates no vector per site: every site's new states in
/// one vector, site by site in member order (site s's are
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
            .map(|d| (1.0 + d as f64).ln())
            .collect();
        let age_factor = age_factors(sc, self.age_bound);
        let ln_s0: Vec<f64> = sc.sectors.iter().map(|s| s.size_median.ln()).collect();
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
        // reads only its own firms and itself) into its part of the buffers,
        // then applied site by site.
        let mut bufs = std::mem::take(&mut self.growth_bufs);
        let GrowthBufs {
            grown,
            start,
            exits,
        } = &mut bufs;
        start.clear();
        start.push(0);
        for members in self.site_members() {
            start.push(start[start.len() - 1] + members.len());
        }
        let total = start[n_sites];
        if grown.len() < total {
            grown.resize(total, Grown::default());
        }
        exits.resize_with(n_sites, Vec::new);
        let mut units: Vec<(&mut [Grown], &mut Vec<u32>)> = Vec::with_capacity(n_sites);
        let mut rest = &mut grown[..total];
        for (s, ex) in exits.iter_mut().enumerate() {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(start[s + 1] - start[s]);
            units.push((mine, ex));
            rest = tail;
        }
        let world = &*self;
        for_units(self.parallel(), &mut units, |site_ix, (out, ex)| {
            world.grow_site(step, site_ix, &ctx, out, ex)
        });
        drop(units);
        let (grown, start, exits) = (&bufs.grown, &bufs.start, &bufs.exits);

        // Every firm's new state. In a big world by a sweep over the firm
        // vector in parallel: an alive firm finds its result at its site and
        // slot, which no kill has changed yet. Otherwise site by site.
        let n_clusters = self.clusters.len();
        let set = |f: &mut Firm, g: &Grown| {
            (f.vol, f.ln_prod, f.productivity) = (g.vol, g.ln_prod, g.productivity);
            (f.ln_size, f.size) = (g.ln_size, g.size);
            f.age += 1;
        };
        if self.parallel() {
            use rayon::prelude::*;
            self.firms
                .par_iter_mut()
                .with_min_len(4096)
                .filter(|f| f.alive)
                .for_each(|f| {
                    let site_ix = match f.site {
                        Site::Cluster(c) => c as usize,
                        Site::Home(a) => n_clusters + a as usize,
                    };
                    set(f, &grown[start[site_ix] + f.slot as usize]);
                });
            // And each site's copy of its members' sizes, site by site.
            let held = self.clusters.par_iter_mut().map(|c| &mut c.held);
            let held = held.chain(self.areas.par_iter_mut().map(|a| &mut a.held));
            held.enumerate().for_each(|(s, held)| {
                for (h, g) in held.iter_mut().zip(&grown[start[s]..start[s + 1]]) {
                    h.size = g.size;
                }
            });
        } else {
            // The sites' lists field by field (`site_members` would borrow
            // the whole world while the firms are written).
            let firms = &mut self.firms;
            let lists = self.clusters.iter_mut().map(|c| (&c.members, &mut c.held));
            let lists = lists.chain(self.areas.iter_mut().map(|a| (&a.members, &mut a.held)));
            for (s, (members, held)) in lists.enumerate() {
                let g = &grown[start[s]..start[s + 1]];
                for ((&i, h), g) in members.iter().zip(held.iter_mut()).zip(g) {
                    set(&mut firms[i as usize], g);
                    h.size = g.size;
                }
            }
        }

        // Then the exits, site by site in member order (each site listed
        // its own, so this touches only the exiting firms).
        let mut dead: Vec<u32> = Vec::new();
        for ex in exits {
            for &i in ex {
                self.kill_firm(i);
            }
            dead.extend_from_slice(ex);
        }
        self.counters.exits += dead.len() as u64;
        self.counters.exits_total += dead.len() as u64;
        self.drop_dead_links();
        self.growth_bufs = bufs;
        self.age_bound += 1;

        for c in self.clusters.iter_mut().filter(|c| c.operating()) {
            c.labor_pool *= exp(gp.labor_growth * dt);
        }
        self.refresh_labour();
    }

    /// The growth step of every firm of site `site_ix` (clusters first, then
    /// residential areas), in member order, on the site's stream: each
    /// member's new state into `out` (one entry per member), the exiting
    /// members into `leaving` (emptied first).
    fn grow_site(
        &self,
        step: u32,
        site_ix: usize,
        ctx: &Ctx,
        out: &mut [Grown],
        leaving: &mut Vec<u32>,
    ) {
        leaving.clear();
        let sc = self.sc;
        let gp = &sc.growth;
        let ef = &gp.effects;
        let dt = sc.time.dt;
        let sqdt = dt.sqrt();
        let inn = sc.cooperation.innovation_sigma;
        let (members, partners, counts, q_site, shortage, residential) =
            if site_ix < self.clusters.len() {
                let c = &self.clusters[site_ix];
                (
                    &c.members,
                    &c.partners,
                    &c.sector_counts,
                    c.quality,
                    c.shortage,
                    false,
                )
            } else {
                let a = &self.areas[site_ix - self.clusters.len()];
                let q = sc.residential.residential_quality;
                (&a.members, &a.partners, &a.sector_counts, q, 0.0, true)
            };
        if members.is_empty() {
            return;
        }
        let n_total = members.len() as f64;
        let mut rng = self.streams.stream(Purpose::Growth, step, site_ix as u32);
        for (k, &i) in members.iter().enumerate() {
            let f = &self.firms[i as usize];
            let xi_a: f64 = rng.sample(StandardNormal);
            let xi_s: f64 = rng.sample(StandardNormal);
            // Exit with probability 1 − exp(−h·dt): a uniform below it.
            let u_exit: f64 = rng.random();
            // The Laplace shock's variance multiplier, redrawn at the
            // start of each year (drawn for `Gaussian` too, so that the two
            // shocks' streams stay aligned).
            let vol_mult = if ctx.new_year {
                let v: f64 = rng.sample(Exp1);
                if ctx.laplace {
                    v.sqrt()
                } else {
                    1.0
                }
            } else {
                f.vol
            };
            let ln_a = f.ln_prod + inn * sqdt * xi_a;
            let s = f.sector as usize;
            let sec = &sc.sectors[s];
            let g = sec.demand_growth
                + ef.productivity * ln_a
                + ef.quality * (q_site - gp.quality_reference)
                + ef.network * ctx.ln_degree[partners[k].len()]
                - ef.competition * counts[s] as f64 / (1.0 + n_total)
                - ef.labor * shortage
                - if residential && f.polluting {
                    ef.pollution * ctx.enforcement
                } else {
                    0.0
                };
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
            out[k] = Grown {
                vol: vol_mult,
                ln_prod: ln_a,
                productivity: exp(ln_a),
                ln_size,
                size,
            };
        }
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
