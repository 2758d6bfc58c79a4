//! Phase 6, `growth` (local, clusters and residential areas): the innovation
//! shock of §4.4, firm growth, labour pools and shortage, and exit
//! (MODEL.md §4.5). Each site runs on its own stream (Growth, step, site).

use rand::Rng;
use rand_distr::{Exp1, StandardNormal};

use super::world::{Site, World};
use crate::rng::Purpose;

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
        let age_factor: Vec<f64> = (0..=max_age as usize)
            .map(|a| (1.0 + a as f64 * dt).powf(-gp.exit_age_exponent))
            .collect();
        let ln_s0: Vec<f64> = sc.sectors.iter().map(|s| s.size_median.ln()).collect();
        let laplace = gp.shock == crate::config::Shock::Laplace;
        let year = (1.0 / dt).round().max(1.0) as u32;
        let new_year = (step - 1) % year == 0;

        for site_ix in 0..n_sites {
            let (site, members, q_site, shortage, counts) = if site_ix < self.clusters.len() {
                let c = &self.clusters[site_ix];
                if c.members.is_empty() {
                    continue;
                }
                (
                    Site::Cluster(site_ix as u32),
                    c.members.clone(),
                    c.quality,
                    c.shortage,
                    c.sector_counts.clone(),
                )
            } else {
                let a = &self.areas[site_ix - self.clusters.len()];
                if a.members.is_empty() {
                    continue;
                }
                (
                    Site::Home((site_ix - self.clusters.len()) as u32),
                    a.members.clone(),
                    sc.residential.residential_quality,
                    0.0,
                    a.sector_counts.clone(),
                )
            };
            let residential = matches!(site, Site::Home(_));
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
                    f.vol = if laplace { v } else { 1.0 };
                }
                let ln_a = f.productivity.ln() + inn * sqdt * xi_a;
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
                let ln_rel = f.size.ln() - ln_s0[s];
                let vol = gp.sigma0 * (-gp.beta * ln_rel).exp() * f.vol.sqrt();
                let ln_rel = ln_rel + g * dt + vol * sqdt * xi_s;
                f.size = (ln_rel + ln_s0[s]).exp();
                let hazard = gp.exit_hazard
                    * (-gp.exit_size_exponent * ln_rel).exp()
                    * age_factor[f.age as usize];
                f.age += 1;
                if f.size < gp.exit_size || exp1 < hazard * dt {
                    died_here.push(i);
                }
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
