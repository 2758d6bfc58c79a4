//! Phase 6, `growth` (local, clusters and residential areas): the innovation
//! shock of §4.4, firm growth, labour pools and shortage, and exit
//! (MODEL.md §4.5). Each site runs on its own stream (Growth, step, site).

use rand::Rng;
use rand_distr::{Exp1, StandardNormal};

use super::expo::exp;
use super::world::{map_units, Firm, Site, World};
use crate::rng::Purpose;

/// The exit hazard's age factor (1 + age in years)^(−exit_age_exponent) for
/// ages 0..=`max_age` steps, as a table (growth and the warm-up of §5).
pub fn age_factors(sc: &crate::config::Scenario, max_age: u32) -> Vec<f64> {
    let (dt, e) = (sc.time.dt, sc.growth.exit_age_exponent);
    (0..=max_age as usize)
        .map(|a| (1.0 + a as f64 * dt).powf(-e))
        .collect()
}

/// Whether an Exp(1) draw `e1` falls below the exit hazard times dt,
/// `h · exp(x) · a · dt` (evaluated in that order), i.e. the firm exits.
///
/// The same decision as computing that product, with `exp(x)` evaluated only
/// where the draw is close to it: with t = x·log₂e = k + f (k an integer,
/// f ∈ [0, 1)), 2^k·(1 + f·0.69) ≤ exp(x) ≤ 2^k·(1 + f) (2^f is convex,
/// so it lies above its tangent 1 + f·ln 2 at 0 and below its chord 1 + f),
/// widened by a relative 10⁻⁶ for the rounding of t. Floating-point
/// products are monotone, so a draw at or above the upper product, or below
/// the lower one, is decided as the exact product would decide it.
#[inline]
pub fn exits(e1: f64, h: f64, x: f64, a: f64, dt: f64) -> bool {
    let t = x * std::f64::consts::LOG2_E;
    if t.abs() < 1000.0 {
        // floor(t) by truncation (one SSE2 instruction; `floor` is a libm
        // call on the baseline x86-64 target).
        let mut k = t as i64;
        if (k as f64) > t {
            k -= 1;
        }
        let f = t - k as f64;
        let p2 = f64::from_bits(((k + 1023) as u64) << 52);
        let hi = p2 * (1.0 + f) * (1.0 + 1e-6);
        if e1 >= h * hi * a * dt {
            return false;
        }
        let lo = p2 * (1.0 + 0.69 * f) * (1.0 - 1e-6);
        if e1 < h * lo * a * dt {
            return true;
        }
    }
    e1 < h * super::expo::exp_call(x) * a * dt
}

/// Alive firms from which the local phases run over sites in parallel
/// (rayon). Below it the same code runs over sites in order; the results are
/// identical either way (each site has its own stream and writes only its
/// own firms), so this only trades thread overhead against work.
pub const PARALLEL_MIN_FIRMS: u64 = 40_000;

/// One firm's state after its growth step (applied after every site is done).
#[derive(Debug, Clone, Copy)]
struct Grown {
    vol: f64,
    ln_prod: f64,
    productivity: f64,
    ln_size: f64,
    size: f64,
}

/// A site's growth steps: every member's new state in member order, and
/// the members (storage indices) that exit, in member order.
#[derive(Default)]
struct SiteGrowth {
    grown: Vec<Grown>,
    exits: Vec<u32>,
}

/// The state of a firm that its growth step reads.
struct Hot {
    ln_prod: f64,
    ln_size: f64,
    vol: f64,
    sector: u32,
    age: u32,
    degree: u32,
    polluting: bool,
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
        // reads only its own firms and itself), then applied site by site.
        let world = &*self;
        let grow = |site_ix: usize| world.grow_site(step, site_ix, &ctx);
        let grown: Vec<SiteGrowth> = map_units(self.parallel(), n_sites, grow);

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
                    set(f, &grown[site_ix].grown[f.slot as usize]);
                });
        } else {
            let lists = self.clusters.iter().map(|c| &c.members);
            let lists = lists.chain(self.areas.iter().map(|a| &a.members));
            for (members, g) in lists.zip(&grown) {
                for (&i, g) in members.iter().zip(&g.grown) {
                    set(&mut self.firms[i as usize], g);
                }
            }
        }

        // Then the exits, site by site in member order (each site listed
        // its own, so this touches only the exiting firms).
        let mut dead: Vec<u32> = Vec::new();
        for g in &grown {
            for &i in &g.exits {
                self.kill_firm(i);
            }
            dead.extend_from_slice(&g.exits);
        }
        self.counters.exits += dead.len() as u64;
        self.counters.exits_total += dead.len() as u64;
        self.drop_dead_links(&dead);
        self.age_bound += 1;

        for c in self.clusters.iter_mut().filter(|c| c.operating()) {
            c.labor_pool *= exp(gp.labor_growth * dt);
        }
        self.refresh_labour();
    }

    /// The growth step of every firm of site `site_ix` (clusters first, then
    /// residential areas), in member order, on the site's stream.
    fn grow_site(&self, step: u32, site_ix: usize, ctx: &Ctx) -> SiteGrowth {
        let sc = self.sc;
        let gp = &sc.growth;
        let ef = &gp.effects;
        let dt = sc.time.dt;
        let sqdt = dt.sqrt();
        let inn = sc.cooperation.innovation_sigma;
        let (members, counts, q_site, shortage, residential) = if site_ix < self.clusters.len() {
            let c = &self.clusters[site_ix];
            (&c.members, &c.sector_counts, c.quality, c.shortage, false)
        } else {
            let a = &self.areas[site_ix - self.clusters.len()];
            let q = sc.residential.residential_quality;
            (&a.members, &a.sector_counts, q, 0.0, true)
        };
        if members.is_empty() {
            return SiteGrowth::default();
        }
        let n_total = members.len() as f64;
        let mut rng = self.streams.stream(Purpose::Growth, step, site_ix as u32);
        // The members' state first, in a tight loop (many cache misses in
        // flight at once in a big world, where members are scattered over
        // the firm vector), then the firm-steps from that copy.
        let hot: Vec<Hot> = members
            .iter()
            .map(|&i| {
                let f = &self.firms[i as usize];
                Hot {
                    ln_prod: f.ln_prod,
                    ln_size: f.ln_size,
                    vol: f.vol,
                    sector: f.sector,
                    age: f.age,
                    degree: f.partners.len() as u32,
                    polluting: f.polluting,
                }
            })
            .collect();
        let mut out = Vec::with_capacity(members.len());
        let mut leaving = Vec::new();
        for (f, &i) in hot.iter().zip(members) {
            let xi_a: f64 = rng.sample(StandardNormal);
            let xi_s: f64 = rng.sample(StandardNormal);
            // Exit with probability 1 − exp(−h·dt) ⟺ an Exp(1) draw below h·dt.
            let exp1: f64 = rng.sample(Exp1);
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
                + ef.network * ctx.ln_degree[f.degree as usize]
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
            if size < gp.exit_size || exits(exp1, gp.exit_hazard, x, a, dt) {
                leaving.push(i);
            }
            out.push(Grown {
                vol: vol_mult,
                ln_prod: ln_a,
                productivity: exp(ln_a),
                ln_size,
                size,
            });
        }
        SiteGrowth {
            grown: out,
            exits: leaving,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::exits;
    use crate::model::expo::exp;
    use rand::{Rng, SeedableRng};
    use rand_distr::Exp1;

    /// The bounded decision is the exact product's decision, draw for draw,
    /// over hazards, exponents and ages wide enough to cross every branch
    /// (both bounds and the fallback are taken many times).
    #[test]
    fn exits_decides_as_the_exact_product() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (mut hi, mut lo, mut near) = (0u32, 0u32, 0u32);
        for _ in 0..2_000_000 {
            let e1: f64 = rng.sample(Exp1);
            let h = rng.random_range(0.0..2.0);
            let x = rng.random_range(-30.0..30.0) * rng.random::<f64>().powi(3);
            let a = rng.random_range(0.0..1.0);
            let dt = [0.25, 1.0, 1.0 / 12.0][rng.random_range(0..3)];
            let exact = e1 < h * exp(x) * a * dt;
            assert_eq!(
                exits(e1, h, x, a, dt),
                exact,
                "e1 {e1} h {h} x {x} a {a} dt {dt}"
            );
            let c = h * exp(x) * a * dt;
            if e1 >= c * 1.2 {
                hi += 1;
            } else if e1 < c * 0.8 {
                lo += 1;
            } else {
                near += 1;
            }
        }
        assert!(
            hi > 100_000 && lo > 100_000 && near > 10_000,
            "{hi} {lo} {near}"
        );
        // At exact ties and at the edges of the bounds' range.
        for x in [
            -1000.0,
            -700.0,
            0.0,
            1e-300,
            700.0,
            1000.0,
            f64::NEG_INFINITY,
        ] {
            for e1 in [0.0, 1e-300, 0.5, 1.0, 5.0] {
                assert_eq!(exits(e1, 0.3, x, 0.9, 0.25), e1 < 0.3 * exp(x) * 0.9 * 0.25);
            }
        }
        let c = 0.3 * exp(0.5) * 0.9 * 0.25;
        assert!(!exits(c, 0.3, 0.5, 0.9, 0.25));
        assert!(exits(c * (1.0 - 1e-15), 0.3, 0.5, 0.9, 0.25));
    }
}
