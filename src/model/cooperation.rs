//! Phase 5, `cooperation` (MODEL.md §4.4): link dissolution and formation
//! inside each cluster on the cluster's own stream (local), then a global
//! sub-phase for links that cross clusters (dissolution of cross-cluster
//! links and the `SocialNetwork` triadic attempts), then knowledge spillover.
//!
//! The productivity shock of §4.4 (innovation) is drawn at the start of the
//! growth phase on the site's growth stream; nothing happens between the two
//! phases, so the order of effects is the one MODEL.md gives.

use rand::Rng;

use super::world::{Site, World};
use crate::config::ClusterType;
use crate::rng::Purpose;

impl World<'_> {
    fn linked(&self, i: u32, j: u32) -> bool {
        self.firms[i as usize].partners.contains(&j)
    }

    fn has_room(&self, i: u32) -> bool {
        (self.firms[i as usize].partners.len() as u32) < self.sc.cooperation.max_degree
    }

    fn link(&mut self, i: u32, j: u32) {
        self.firms[i as usize].partners.push(j);
        self.firms[j as usize].partners.push(i);
    }

    pub(super) fn unlink(&mut self, i: u32, j: u32) {
        for (a, b) in [(i, j), (j, i)] {
            let pl = &mut self.firms[a as usize].partners;
            if let Some(pos) = pl.iter().position(|&x| x == b) {
                pl.swap_remove(pos);
            }
        }
    }

    /// Try to link `i` to candidate `j`: both alive in clusters, distinct, not
    /// yet linked, both with room; succeeds with probability R[s_i][s_j].
    fn try_link(&mut self, i: u32, j: u32, u: f64) -> bool {
        if i == j || self.linked(i, j) || !self.has_room(i) || !self.has_room(j) {
            return false;
        }
        let (fi, fj) = (&self.firms[i as usize], &self.firms[j as usize]);
        if !fj.alive || !matches!(fj.site, Site::Cluster(_)) {
            return false;
        }
        if u < self.sc.relatedness[fi.sector as usize][fj.sector as usize] {
            self.link(i, j);
            true
        } else {
            false
        }
    }

    /// Phase 5 at `step`.
    pub fn cooperation(&mut self, step: u32) {
        let sc = self.sc;
        let co = &sc.cooperation;
        let dt = sc.time.dt;
        let p_decay = 1.0 - (-co.link_decay * dt).exp();
        let p_try = 1.0 - (-co.link_rate * dt).exp();
        let mut triadic: Vec<u32> = Vec::new();

        // Local: one cluster at a time on its own stream.
        for c in 0..self.clusters.len() {
            if !self.clusters[c].operating() || self.clusters[c].members.is_empty() {
                continue;
            }
            let mut rng = self.streams.stream(Purpose::Cooperation, step, c as u32);
            let members = self.clusters[c].members.clone();
            let here = Site::Cluster(c as u32);

            // Dissolution of links inside the cluster, each pair once (i < j).
            let mut gone = Vec::new();
            for &i in &members {
                for &j in &self.firms[i as usize].partners {
                    if j > i && self.firms[j as usize].site == here && rng.random::<f64>() < p_decay
                    {
                        gone.push((i, j));
                    }
                }
            }
            for (i, j) in gone {
                self.unlink(i, j);
            }

            // Formation.
            let ctype = self.clusters[c].ctype;
            let mut weighted: Vec<u32> = Vec::new();
            if ctype == ClusterType::Complex {
                // Degree-weighted list: each firm (degree + 1) times; new links
                // append both ends, so the list stays ∝ (degree + 1).
                for &i in &members {
                    for _ in 0..=self.firms[i as usize].partners.len() {
                        weighted.push(i);
                    }
                }
            }
            for &i in &members {
                if !self.has_room(i) || rng.random::<f64>() >= p_try {
                    continue;
                }
                let cand = match ctype {
                    ClusterType::Marshallian => members[rng.random_range(0..members.len())],
                    ClusterType::Complex => weighted[rng.random_range(0..weighted.len())],
                    ClusterType::SocialNetwork => {
                        if rng.random::<f64>() < co.triadic_share {
                            triadic.push(i);
                            continue;
                        }
                        members[rng.random_range(0..members.len())]
                    }
                };
                let u = rng.random::<f64>();
                if self.try_link(i, cand, u) && ctype == ClusterType::Complex {
                    weighted.push(i);
                    weighted.push(cand);
                }
            }
        }

        // Global sub-phase: cross-cluster links, then triadic attempts.
        let mut rng = self.streams.stream(Purpose::CrossLinks, step, 0);
        let mut gone = Vec::new();
        for c in &self.clusters {
            for &i in &c.members {
                let si = self.firms[i as usize].site;
                for &j in &self.firms[i as usize].partners {
                    if j > i && self.firms[j as usize].site != si && rng.random::<f64>() < p_decay {
                        gone.push((i, j));
                    }
                }
            }
        }
        for (i, j) in gone {
            self.unlink(i, j);
        }
        for i in triadic {
            let pi = &self.firms[i as usize].partners;
            if pi.is_empty() {
                continue;
            }
            let p = pi[rng.random_range(0..pi.len())];
            let pp = &self.firms[p as usize].partners;
            if pp.is_empty() {
                continue;
            }
            let q = pp[rng.random_range(0..pp.len())];
            let u = rng.random::<f64>();
            self.try_link(i, q, u);
        }

        // Spillover from partners' productivity at the start of the sub-phase
        // (a snapshot, so the order in which firms are updated does not matter).
        let rate = co.spillover * dt;
        let mut updates = Vec::new();
        for c in &self.clusters {
            for &i in &c.members {
                let f = &self.firms[i as usize];
                if f.partners.is_empty() {
                    continue;
                }
                let ai = f.productivity;
                let gain: f64 = f
                    .partners
                    .iter()
                    .map(|&j| (self.firms[j as usize].productivity - ai).max(0.0))
                    .sum::<f64>()
                    / f.partners.len() as f64;
                updates.push((i, ai + rate * gain));
            }
        }
        for (i, v) in updates {
            self.firms[i as usize].productivity = v;
        }
    }
}
