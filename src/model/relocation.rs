//! Phase 7, `relocation` (global): residential firms move into clusters,
//! pushed by enforcement E(t) and, after `forced_after_step`, forced out
//! (moved if land is free, else closed) (MODEL.md §4.6).
//!
//! The best cluster c* of a firm is the one of its home's choice set with the
//! highest deterministic utility of §4.3 among those with free land ≥ its own
//! land at that moment. It is computed once a step per (home area, sector)
//! for the smallest possible firm (as a short list of the best few) and
//! recomputed for a firm only when none of those has room for it.

use rand::Rng;

use super::world::{Site, World};
use crate::config::ClusterType;
use crate::rng::Purpose;

/// Candidates kept per (home area, sector): (U, cluster, distance).
type Cand = (f64, u32, f64);
const TOP: usize = 4;

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl World<'_> {
    /// Phase 7 at `step`.
    pub fn relocation(&mut self, step: u32) {
        let sc = self.sc;
        let rp = &sc.relocation;
        let dt = sc.time.dt;
        let e = self.enforcement(step);
        let views = self.site_views();
        let k = sc.sectors.len();
        let forced_on = rp.forced_after_step.is_some_and(|s| step > s);
        let p_force = 1.0 - (-rp.force_rate * dt).exp();

        // U without distance once per (operating cluster, sector), then the
        // best cluster once per (home area, sector) among those with room for
        // the smallest possible firm. A firm whose land does not fit in that
        // cluster searches its choice set again (only then).
        let beta_d = sc.entry.utility.distance;
        let value = self.cluster_values(&views);
        let best_in = |w: &World, home: usize, s: usize, land: f64| -> Option<(f64, u32, f64)> {
            let mut best: Option<(f64, u32, f64)> = None;
            for &(d, c) in &w.areas[home].nearest {
                if w.clusters[c as usize].free_land() < land {
                    continue;
                }
                let u = value[c as usize * k + s] - beta_d * d / 10.0;
                if best.is_none_or(|b| u > b.0) {
                    best = Some((u, c, d));
                }
            }
            best
        };
        // The best TOP clusters per (home area, sector) among those with room
        // for the smallest firm, by U descending (ties: nearest first).
        // Clusters only fill during this phase, so for any firm the first of
        // them with room for its land is its c*; only when none of a full
        // list has room is the whole choice set searched again.
        let land_min = sc.entry.land_min_ha;
        let top_in = |w: &World, home: usize, s: usize| -> ([Cand; TOP], usize) {
            let mut top = [(f64::NEG_INFINITY, 0, 0.0); TOP];
            let mut n = 0;
            for &(d, c) in &w.areas[home].nearest {
                if w.clusters[c as usize].free_land() < land_min {
                    continue;
                }
                let u = value[c as usize * k + s] - beta_d * d / 10.0;
                let pos = top[..n].iter().position(|t| t.0 < u).unwrap_or(n);
                if pos < TOP {
                    top.copy_within(pos..TOP - 1, pos + 1);
                    top[pos] = (u, c, d);
                    n = (n + 1).min(TOP);
                }
            }
            (top, n)
        };
        let cached: Vec<([Cand; TOP], usize)> = (0..self.areas.len() * k)
            .map(|i| top_in(self, i / k, i % k))
            .collect();

        let residents: Vec<u32> = self
            .areas
            .iter()
            .flat_map(|a| a.members.iter().copied())
            .collect();
        let n_polluting = residents
            .iter()
            .filter(|&&i| self.firms[i as usize].polluting)
            .count();
        let subsidy_each = if n_polluting > 0 {
            self.subsidy_pool / n_polluting as f64
        } else {
            0.0
        };
        let mut claimed = 0.0;
        let mut rng = self.streams.stream(Purpose::Relocation, step, 0);
        let mut closed = Vec::new();
        for i in residents {
            let f = &self.firms[i as usize];
            let Site::Home(home) = f.site else { continue };
            let (land, pol, sector) = (f.land, f.polluting, f.sector as usize);
            let (top, n) = &cached[home as usize * k + sector];
            let best = top[..*n]
                .iter()
                .find(|b| self.clusters[b.1 as usize].free_land() >= land)
                .copied()
                .or_else(|| {
                    if *n == TOP {
                        best_in(self, home as usize, sector, land)
                    } else {
                        None
                    }
                });
            let u: f64 = rng.random();
            let u_force: f64 = if pol && forced_on { rng.random() } else { 1.0 };
            let mut moved = false;
            if let Some((u_c, c, d)) = best {
                let cost = rp.move_cost_per_ha * land * (1.0 + d / 10.0);
                let subsidy = if pol { subsidy_each.min(cost) } else { 0.0 };
                let x = rp.theta0
                    + rp.theta_gain * (u_c - self.home_utility(pol, e))
                    + if pol { rp.theta_enf * e } else { 0.0 }
                    - rp.theta_cost * (cost - subsidy).max(0.0);
                let p = 1.0 - (-rp.relocation_rate * dt * logistic(x)).exp();
                if u < p || u_force < p_force {
                    self.relocate(i, c);
                    claimed += subsidy;
                    moved = true;
                }
            }
            if !moved && u_force < p_force {
                closed.push(i);
            }
        }
        for &i in &closed {
            self.kill_firm(i);
        }
        self.drop_dead_links(&closed);
        self.counters.forced_closures += closed.len() as u64;
        self.counters.forced_total += closed.len() as u64;
        self.counters.spent += claimed;
        self.carry += self.subsidy_pool - claimed;
        self.subsidy_pool = 0.0;
    }

    /// Move residential firm `i` into cluster `c`. Links to firms of its old
    /// site die unless it sat in a `SocialNetwork` cluster (residential firms
    /// have no links in this model, so this only matters for explicit states).
    fn relocate(&mut self, i: u32, c: u32) {
        let old = self.firms[i as usize].site;
        let keep = matches!(old, Site::Cluster(o) if self.clusters[o as usize].ctype == ClusterType::SocialNetwork);
        if !keep {
            let partners = self.firms[i as usize].partners.clone();
            for j in partners {
                if self.firms[j as usize].site == old {
                    self.unlink(i, j);
                }
            }
        }
        self.move_firm(i, Site::Cluster(c));
        let f = &mut self.firms[i as usize];
        f.relocated = true;
        let emp = f.size / self.sc.growth.revenue_per_worker;
        self.clusters[c as usize].employment += emp;
        self.counters.relocations += 1;
    }
}
