//! Phase 6, `growth` (local, clusters and residential areas): the innovation
//! shock of §4.4, firm growth, labour pools and shortage, and exit
//! (MODEL.md §4.5). Each site runs on its own stream (Growth, step, site).

use rand::Rng;
use rand_distr::{Exp1, StandardNormal};

use super::world::{Site, World};
use crate::rng::Purpose;

/// The exit hazard's age factor (1 + age in years)^(−exit_age_exponent) for
/// ages 0..=`max_age` steps, as a table (growth and the warm-up of §5).
pub fn age_factors(sc: &crate::config::Scenario, max_age: u32) -> Vec<f64> {
    let (dt, e) = (sc.time.dt, sc.growth.exit_age_exponent);
    (0..=max_age as usize)
        .map(|a| (1.0 + a as f64 * dt).powf(-e))
        .collect()
}

impl World<'_> {
    /// Phase 6 at `step`.
    pub fn growth(&mut self, step: u32) {
        let sc = self.sc;
        let gp = &sc.growth;
        let ef = &gp.effects;
        let dt = sc.time.dt;
        let sqdt = dt.sqrt();
        let e = self.enforcement(step);
        let inn = sc.cooperation.innovation_sigma;
        let n_sites = self.clusters.len() + self.areas.len();
        let mut dead: Vec<u32> = Vec::new();
        let mut counts: Vec<u32> = Vec::new();
        // Tables instead of powers in the loop: ln(1 + degree) and the age
        // factor (1 + age·dt)^(−exit_age_exponent).
        let ln_degree: Vec<f64> = (0..=sc.cooperation.max_degree as usize)
            .map(|d| (1.0 + d as f64).ln())
            .collect();
        let max_age = self
            .firms
            .iter()
            .filter(|f| f.alive)
            .map(|f| f.age)
            .max()
            .unwrap_or(0);
        let age_factor = age_factors(sc, max_age);
        let ln_s0: Vec<f64> = sc.sectors.iter().map(|s| s.size_median.ln()).collect();
        let laplace = gp.shock == crate::config::Shock::Laplace;
        let year = (1.0 / dt).round().max(1.0) as u32;
        let new_year = (step - 1) % year == 0;

        for site_ix in 0..n_sites {
            let (site, q_site, shortage) = if site_ix < self.clusters.len() {
                let c = &self.clusters[site_ix];
                if c.members.is_empty() {
                    continue;
                }
                counts.clone_from(&c.sector_counts);
                (Site::Cluster(site_ix as u32), c.quality, c.shortage)
            } else {
                let a = &self.areas[site_ix - self.clusters.len()];
                if a.members.is_empty() {
                    continue;
                }
                counts.clone_from(&a.sector_counts);
                (
                    Site::Home((site_ix - self.clusters.len()) as u32),
                    sc.residential.residential_quality,
                    0.0,
                )
            };
            let residential = matches!(site, Site::Home(_));
            // The site's member list is taken out for the loop (no clone)
            // and put back before any firm is removed from it.
            let members = match site {
                Site::Cluster(c) => std::mem::take(&mut self.clusters[c as usize].members),
                Site::Home(a) => std::mem::take(&mut self.areas[a as usize].members),
            };
            let n_total = members.len() as f64;
            let mut rng = self.streams.stream(Purpose::Growth, step, site_ix as u32);
            let mut died_here = Vec::new();
            for &i in &members {
                let f = &mut self.firms[i as usize];
                let xi_a: f64 = rng.sample(StandardNormal);
                let xi_s: f64 = rng.sample(StandardNormal);
                // Exit with probability 1 − exp(−h·dt) ⟺ an Exp(1) draw below h·dt.
                let exp1: f64 = rng.sample(Exp1);
                // The Laplace shock's variance multiplier, redrawn at the
                // start of each year (one draw per firm-step either way, so
                // the stream stays aligned).
                let v: f64 = rng.sample(Exp1);
                if new_year {
                    f.vol = if laplace { v.sqrt() } else { 1.0 };
                }
                let ln_a = f.ln_prod + inn * sqdt * xi_a;
                f.ln_prod = ln_a;
                f.productivity = ln_a.exp();
                let s = f.sector as usize;
                let sec = &sc.sectors[s];
                let g = sec.demand_growth
                    + ef.productivity * ln_a
                    + ef.quality * (q_site - gp.quality_reference)
                    + ef.network * ln_degree[f.partners.len()]
                    - ef.competition * counts[s] as f64 / (1.0 + n_total)
                    - ef.labor * shortage
                    - if residential && f.polluting {
                        ef.pollution * e
                    } else {
                        0.0
                    };
                let ln_rel = f.ln_size - ln_s0[s];
                let vol = gp.sigma0 * (-gp.beta * ln_rel).exp() * f.vol;
                let ln_rel = ln_rel + g * dt + vol * sqdt * xi_s;
                f.ln_size = ln_rel + ln_s0[s];
                f.size = f.ln_size.exp();
                let hazard = gp.exit_hazard
                    * (-gp.exit_size_exponent * ln_rel).exp()
                    * age_factor[f.age as usize];
                f.age += 1;
                if f.size < gp.exit_size || exp1 < hazard * dt {
                    died_here.push(i);
                }
            }
            match site {
                Site::Cluster(c) => self.clusters[c as usize].members = members,
                Site::Home(a) => self.areas[a as usize].members = members,
            }
            for &i in &died_here {
                self.kill_firm(i);
            }
            self.counters.exits += died_here.len() as u64;
            self.counters.exits_total += died_here.len() as u64;
            dead.extend(died_here);
        }
        self.drop_dead_links(&dead);

        for c in self.clusters.iter_mut().filter(|c| c.operating()) {
            c.labor_pool *= (gp.labor_growth * dt).exp();
        }
        self.refresh_labour();
    }
}
