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
use crate::config::{ClusterType, PartnerRule};
use crate::rng::{Purpose, Stream};

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

    /// A uniform draw from `list` that is neither `i` nor a partner of `i`
    /// (MODEL.md §4.4), or `None` if every entry is excluded. A few
    /// rejection tries, then an exact enumeration: the result is uniform over
    /// the allowed entries either way (weights by repetition are kept).
    fn pick_other(&self, list: &[u32], i: u32, rng: &mut Stream) -> Option<u32> {
        if list.is_empty() {
            return None;
        }
        let partners = &self.firms[i as usize].partners;
        let allowed = |j: &u32| *j != i && !partners.contains(j);
        for _ in 0..16 {
            let j = list[rng.random_range(0..list.len())];
            if allowed(&j) {
                return Some(j);
            }
        }
        let n = list.iter().filter(|j| allowed(j)).count();
        if n == 0 {
            return None;
        }
        list.iter()
            .filter(|j| allowed(j))
            .nth(rng.random_range(0..n))
            .copied()
    }

    /// A uniform candidate of firm `i` in its own cluster.
    fn uniform_in_cluster(&self, i: u32, rng: &mut Stream) -> Option<u32> {
        match self.firms[i as usize].site {
            Site::Cluster(c) => self.pick_other(&self.clusters[c as usize].members, i, rng),
            Site::Home(_) => None,
        }
    }

    /// Phase 5 at `step`.
    pub fn cooperation(&mut self, step: u32) {
        let sc = self.sc;
        let co = &sc.cooperation;
        let dt = sc.time.dt;
        let p_decay = 1.0 - (-co.link_decay * dt).exp();
        let p_try = 1.0 - (-co.link_rate * dt).exp();
        let by_type = co.partner_rule == PartnerRule::ByType;
        // SocialNetwork attempts that may cross clusters, for the global
        // sub-phase: (firm, true for triadic / false for kin).
        let mut crossing: Vec<(u32, bool)> = Vec::new();

        // Local: one cluster at a time on its own stream.
        for c in 0..self.clusters.len() {
            if !self.clusters[c].operating() || self.clusters[c].members.is_empty() {
                continue;
            }
            let mut rng = self.streams.stream(Purpose::Cooperation, step, c as u32);
            let members = std::mem::take(&mut self.clusters[c].members);
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
            let ctype = if by_type {
                self.clusters[c].ctype
            } else {
                ClusterType::Marshallian
            };
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
                    ClusterType::Marshallian => self.pick_other(&members, i, &mut rng),
                    ClusterType::Complex => self.pick_other(&weighted, i, &mut rng),
                    ClusterType::SocialNetwork => {
                        if rng.random::<f64>() < co.triadic_share {
                            crossing.push((i, true));
                            continue;
                        }
                        if rng.random::<f64>() < co.kin_share {
                            crossing.push((i, false));
                            continue;
                        }
                        self.pick_other(&members, i, &mut rng)
                    }
                };
                let Some(cand) = cand else { continue };
                let u = rng.random::<f64>();
                if self.try_link(i, cand, u) && ctype == ClusterType::Complex {
                    weighted.push(i);
                    weighted.push(cand);
                }
            }
            self.clusters[c].members = members;
        }

        // Global sub-phase: cross-cluster links dissolve, then the triadic
        // and kin attempts (which may cross clusters) are made in the order
        // they were queued.
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
        for (i, triadic) in crossing {
            let cand = if triadic {
                // A partner's partner: one uniform partner p, then a uniform
                // partner of p that is neither i nor a partner of i.
                let pi = &self.firms[i as usize].partners;
                if pi.is_empty() {
                    None
                } else {
                    let p = pi[rng.random_range(0..pi.len())];
                    self.pick_other(&self.firms[p as usize].partners, i, &mut rng)
                }
            } else {
                let home = self.firms[i as usize].home as usize;
                self.pick_other(&self.areas[home].kin, i, &mut rng)
            };
            // Where there is none, a uniform candidate in the firm's cluster.
            let Some(cand) = cand.or_else(|| self.uniform_in_cluster(i, &mut rng)) else {
                continue;
            };
            let u = rng.random::<f64>();
            self.try_link(i, cand, u);
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
            let f = &mut self.firms[i as usize];
            f.productivity = v;
            f.ln_prod = v.ln();
        }
    }
}
