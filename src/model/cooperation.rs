//! Phase 5, `cooperation` (MODEL.md §4.4): link dissolution and formation
//! inside each cluster on the cluster's own stream (local), then a global
//! sub-phase for links that cross clusters (dissolution of cross-cluster
//! links and the `SocialNetwork` triadic attempts), then knowledge spillover.
//!
//! The productivity shock of §4.4 (innovation) is drawn at the start of the
//! growth phase on the site's growth stream; nothing happens between the two
//! phases, so the order of effects is the one MODEL.md gives.

use rand::Rng;

use super::expo::exp;
use super::logn::ln;
use super::skip::Gaps;
use super::world::{Site, World};
use crate::config::{ClusterType, PartnerRule};
use crate::rng::{Purpose, Stream};

/// A uniform draw from `list` that is neither `i` nor in `partners` (the
/// partners of `i`), or `None` if every entry is excluded (MODEL.md §4.4): a
/// few rejection tries, then an exact enumeration, so the result is uniform
/// over the allowed entries either way (weights by repetition are kept).
fn pick_other(list: &[u32], i: u32, partners: &[u32], rng: &mut Stream) -> Option<u32> {
    if list.is_empty() {
        return None;
    }
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

/// What a cluster's local sub-phase leaves for the global one: the
/// `SocialNetwork` attempts that may cross clusters, (firm, triadic), the
/// links that leave the cluster, (member, partner elsewhere), and the
/// numbers of links inside it dissolved and formed; with the sub-phase's
/// own scratch lists. Kept from step to step (`CoopBufs`), one per
/// cluster with members, so that a step's sub-phases allocate nothing
/// once the lists have grown.
#[derive(Debug, Clone, Default)]
pub struct LocalOutcome {
    crossing: Vec<(u32, bool)>,
    cross: Vec<(u32, u32)>,
    dissolved: u64,
    formed: u64,
    /// The links dissolved inside the cluster (scratch).
    gone: Vec<(u32, u32)>,
    /// A `Complex` cluster's degree-weighted list (scratch).
    weighted: Vec<u32>,
}

/// The storage the cooperation phase reuses from step to step
/// (`World::coop_bufs`), as `EntryBufs`: what it holds means something
/// only inside the phase.
#[derive(Debug, Clone, Default)]
pub struct CoopBufs {
    here: Vec<usize>,
    lists: Vec<Vec<Vec<u32>>>,
    spill_here: Vec<Vec<(f64, f64)>>,
    queued: Vec<LocalOutcome>,
    crossing: Vec<(u32, bool)>,
    crossing_links: Vec<(u32, u32)>,
    changed: Vec<u32>,
    redone: Vec<(u32, Option<(f64, f64)>)>,
}

/// How many firms ahead the global sub-phase's sequential loops (the
/// crossing attempts and the redone spillover) read a firm's partner list
/// (`World::read_ahead`).
const READ_AHEAD: usize = 4;

/// A member's entry in a spillover buffer where the spillover leaves its
/// productivity as it was (it has no partners): A is NaN.
const UNCHANGED: (f64, f64) = (f64::NAN, f64::NAN);

impl World<'_> {
    /// The local sub-phase of cluster `c`: dissolution of links inside it,
    /// then formation, on the cluster's stream. `partners` holds the
    /// members' partner lists by slot (the cluster's own, taken out of it
    /// for the sub-phase); a partner's site and slot are read from the
    /// firms. Returns the `SocialNetwork` attempts that may cross clusters,
    /// (firm, triadic), and the links from the members to firms of other
    /// sites (the sub-phase leaves them as they are), each from its lower
    /// id, in member and list order as the lists stand before the sub-phase,
    /// and how many links inside the cluster it dissolved and formed, into
    /// `out` (its lists emptied first).
    #[allow(clippy::too_many_arguments)]
    fn cooperate_in(
        &self,
        c: usize,
        ctype: ClusterType,
        partners: &mut [Vec<u32>],
        (p_decay, p_try): (f64, f64),
        rng: &mut Stream,
        spill: &mut Vec<(f64, f64)>,
        out: &mut LocalOutcome,
    ) {
        let co = &self.sc.cooperation;
        let members = &self.clusters[c].members;
        let here = Site::Cluster(c as u32);
        let slot = |j: u32| self.firms[j as usize].slot as usize;
        let max_degree = co.max_degree as usize;

        // Every member's partner list first, by reads that do not wait on
        // each other (in a big world most lists are cache misses; the pass
        // below reads them one after another).
        let touched = partners
            .iter()
            .fold(0u32, |acc, list| acc ^ list.first().map_or(0, |&j| j));
        std::hint::black_box(touched);

        // Dissolution of links inside the cluster, each pair once (by stable
        // id, i < j), each with probability p_decay: drawn as the gaps
        // between dissolved links in this order (the same law as one
        // uniform per link, far fewer draws).
        // The links that leave the cluster are listed in the same pass (one
        // read of each partner): the sub-phase changes only links inside
        // it, so they are the ones left at its end.
        let LocalOutcome {
            crossing,
            cross,
            dissolved,
            formed,
            gone,
            weighted,
        } = out;
        crossing.clear();
        cross.clear();
        gone.clear();
        weighted.clear();
        // The test of the ids is about as often true as false, so a branch
        // on it is often mispredicted: a link inside the cluster is a trial
        // or not by `hit_if`, without a branch on it; only links that leave
        // the cluster (few) branch on it.
        let mut decay = Gaps::new(p_decay, rng);
        for (k, &i) in members.iter().enumerate() {
            let id_i = self.firms[i as usize].id;
            for &j in &partners[k] {
                let fj = &self.firms[j as usize];
                let upper = fj.id > id_i;
                if fj.site != here {
                    if upper {
                        cross.push((i, j));
                    }
                } else if decay.hit_if(upper, rng) {
                    gone.push((i, j));
                }
            }
        }
        *dissolved = gone.len() as u64;
        for &(i, j) in gone.iter() {
            for (a, b) in [(i, j), (j, i)] {
                let pl = &mut partners[slot(a)];
                if let Some(pos) = pl.iter().position(|&x| x == b) {
                    pl.swap_remove(pos);
                }
            }
        }

        // Formation.
        *formed = 0;
        if ctype == ClusterType::Complex {
            // Degree-weighted list: each firm (degree + 1) times; new links
            // append both ends, so the list stays ∝ (degree + 1).
            for (k, &i) in members.iter().enumerate() {
                for _ in 0..=partners[k].len() {
                    weighted.push(i);
                }
            }
        }
        for (k, &i) in members.iter().enumerate() {
            if partners[k].len() >= max_degree || rng.random::<f64>() >= p_try {
                continue;
            }
            let cand = match ctype {
                ClusterType::Marshallian => pick_other(members, i, &partners[k], rng),
                ClusterType::Complex => pick_other(weighted, i, &partners[k], rng),
                ClusterType::SocialNetwork => {
                    if rng.random::<f64>() < co.triadic_share {
                        crossing.push((i, true));
                        continue;
                    }
                    if rng.random::<f64>() < co.kin_share {
                        crossing.push((i, false));
                        continue;
                    }
                    pick_other(members, i, &partners[k], rng)
                }
            };
            let Some(j) = cand else { continue };
            let u = rng.random::<f64>();
            // The link test of `crossing_attempt` on the taken-out lists:
            // distinct, not yet linked, both with room (the candidate is a
            // member of this cluster, so alive and in a cluster); succeeds
            // with probability R[s_i][s_j]. `pick_other` drew a candidate
            // that is neither `i` nor a partner of `i`, so only the room is
            // left to test (a second scan of the list cost a mispredicted
            // loop end per attempt).
            debug_assert!(i != j && !partners[k].contains(&j));
            let kj = slot(j);
            if partners[kj].len() >= max_degree {
                continue;
            }
            let (si, sj) = (self.firms[i as usize].sector, self.firms[j as usize].sector);
            if u < self.sc.relatedness[si as usize][sj as usize] {
                partners[k].push(j);
                partners[kj].push(i);
                *formed += 1;
                if ctype == ClusterType::Complex {
                    weighted.push(i);
                    weighted.push(j);
                }
            }
        }

        // The spillover of every member, by slot, from the lists as the
        // sub-phase leaves them (see `cooperation`).
        spill.clear();
        spill.extend(
            members
                .iter()
                .zip(&*partners)
                .map(|(&i, list)| self.spillover_of(i, list).unwrap_or(UNCHANGED)),
        );
    }

    /// Reads firm `i`'s partner list (its firm, its site's list of lists,
    /// the list) and changes nothing: the global sub-phase's loops call it
    /// for the firm `READ_AHEAD` places on, so that in a big world, where
    /// each of those reads is a cache miss that waits on the one before,
    /// the chain is under way before that firm's turn. The same results,
    /// less waiting (docs/performance.md, "Reading ahead in cooperation's
    /// global sub-phase").
    #[inline]
    fn read_ahead(&self, i: Option<u32>) {
        if let Some(i) = i {
            std::hint::black_box(self.partners_of(i).first());
        }
    }

    /// Firm `i`'s spillover from its `partners` (MODEL.md §4.4): its new
    /// productivity A + rate·mean((A_j − A)⁺) and that value's logarithm,
    /// or `None` without partners.
    fn spillover_of(&self, i: u32, partners: &[u32]) -> Option<(f64, f64)> {
        if partners.is_empty() {
            return None;
        }
        let rate = self.sc.cooperation.spillover * self.sc.time.dt;
        // A cluster member's A is stored, and so is its partners': links
        // join cluster firms only (`check_invariants` checks both).
        let ai = self.firms[i as usize].productivity;
        let gain: f64 = partners
            .iter()
            .map(|&j| (self.firms[j as usize].productivity - ai).max(0.0))
            .sum::<f64>()
            / partners.len() as f64;
        let v = ai + rate * gain;
        Some((v, ln(v)))
    }

    /// One `SocialNetwork` attempt of firm `i` that may cross clusters
    /// (MODEL.md §4.4), on the global stream. The candidate: for a triadic
    /// attempt a partner's partner (one uniform partner p, then a uniform
    /// partner of p that is neither `i` nor a partner of `i`), for a kin
    /// attempt a uniform kin firm of `i`'s home that is neither; where there
    /// is none, a uniform such firm of `i`'s cluster (`pick_other`: a few
    /// rejection tries, then an exact enumeration, uniform either way). The
    /// link forms with probability R[s_i][s_j] if the two are distinct, not
    /// yet linked, both with room and the candidate alive in a cluster.
    /// `i`'s partner list is looked up once. Returns the new link's ends.
    fn crossing_attempt(&mut self, i: u32, triadic: bool, rng: &mut Stream) -> Option<(u32, u32)> {
        let pi = self.partners_of(i);
        let cand = if triadic {
            if pi.is_empty() {
                None
            } else {
                let p = pi[rng.random_range(0..pi.len())];
                pick_other(self.partners_of(p), i, pi, rng)
            }
        } else {
            let home = self.firms[i as usize].home as usize;
            pick_other(&self.areas[home].kin, i, pi, rng)
        };
        let cand = cand.or_else(|| match self.firms[i as usize].site {
            Site::Cluster(c) => pick_other(&self.clusters[c as usize].members, i, pi, rng),
            Site::Home(_) => None,
        });
        let j = cand?;
        let u = rng.random::<f64>();
        let max_degree = self.sc.cooperation.max_degree as usize;
        let fj = &self.firms[j as usize];
        // Every candidate comes from `pick_other`: neither `i` nor a
        // partner of `i`.
        debug_assert!(i != j && !pi.contains(&j));
        if pi.len() >= max_degree
            || !fj.alive
            || !matches!(fj.site, Site::Cluster(_))
            || self.partners_of(j).len() >= max_degree
        {
            return None;
        }
        let si = self.firms[i as usize].sector as usize;
        if u < self.sc.relatedness[si][fj.sector as usize] {
            self.link(i, j);
            return Some((i, j));
        }
        None
    }

    /// Phase 5 at `step`.
    pub fn cooperation(&mut self, step: u32) {
        let sc = self.sc;
        let co = &sc.cooperation;
        let dt = sc.time.dt;
        let p_decay = 1.0 - exp(-co.link_decay * dt);
        let p_try = 1.0 - exp(-co.link_rate * dt);
        let by_type = co.partner_rule == PartnerRule::ByType;
        let CoopBufs {
            mut here,
            mut lists,
            mut spill_here,
            mut queued,
            // SocialNetwork attempts that may cross clusters, for the global
            // sub-phase: (firm, true for triadic / false for kin).
            mut crossing,
            mut crossing_links,
            mut changed,
            mut redone,
        } = std::mem::take(&mut self.coop_bufs);
        crossing.clear();
        // The spillover reads every productivity as it was before this
        // phase: one still pending from a cooperation that no growth
        // followed is written out first.
        self.settle_spillover();

        // Local: every cluster on its own stream, touching only its own
        // firms' links (a link formed here has both ends here). Each
        // cluster's partner lists are taken out of it for the sub-phase (one
        // move per cluster), so that clusters can run in parallel in a big
        // world; each cluster's queued crossing attempts are appended in
        // cluster order.
        here.clear();
        here.extend(
            (0..self.clusters.len())
                .filter(|&c| self.clusters[c].operating() && !self.clusters[c].members.is_empty()),
        );
        lists.clear();
        lists.extend(
            here.iter()
                .map(|&c| std::mem::take(&mut self.clusters[c].partners)),
        );
        // Each cluster's spillover is computed at the end of its local
        // sub-phase, into its reused buffer (`spill_bufs`, by cluster; the
        // others stay empty), taken out and put back like its lists.
        let mut spill = std::mem::take(&mut self.spill_bufs);
        spill.resize_with(self.clusters.len(), Vec::new);
        spill_here.clear();
        spill_here.extend(here.iter().map(|&c| std::mem::take(&mut spill[c])));
        if queued.len() < here.len() {
            queued.resize_with(here.len(), LocalOutcome::default);
        }
        let world = &*self;
        type Local<'q> = (
            ((&'q usize, &'q mut Vec<Vec<u32>>), &'q mut Vec<(f64, f64)>),
            &'q mut LocalOutcome,
        );
        let local = |(((&c, partners), spill), out): Local| {
            let mut rng = world.streams.stream(Purpose::Cooperation, step, c as u32);
            let ctype = if by_type {
                world.clusters[c].ctype
            } else {
                ClusterType::Marshallian
            };
            world.cooperate_in(c, ctype, partners, (p_decay, p_try), &mut rng, spill, out)
        };
        let outs = &mut queued[..here.len()];
        if self.parallel() {
            use rayon::prelude::*;
            here.par_iter()
                .zip(lists.par_iter_mut())
                .zip(spill_here.par_iter_mut())
                .zip(outs.par_iter_mut())
                .for_each(local);
        } else {
            here.iter()
                .zip(lists.iter_mut())
                .zip(spill_here.iter_mut())
                .zip(outs.iter_mut())
                .for_each(local);
        }
        for ((&c, partners), buf) in here.iter().zip(lists.drain(..)).zip(spill_here.drain(..)) {
            self.clusters[c].partners = partners;
            spill[c] = buf;
        }
        // The cross-cluster links, each once from its lower id, as the local
        // sub-phases found them (in parallel in a big world), in cluster and
        // member order: the clusters they skip are empty (planned clusters
        // have no firms, an invariant).
        crossing_links.clear();
        for (&c, out) in here.iter().zip(&queued) {
            crossing.extend_from_slice(&out.crossing);
            crossing_links.extend_from_slice(&out.cross);
            let n = &mut self.clusters[c].internal_links;
            *n = *n - out.dissolved + out.formed;
        }

        // Global sub-phase: cross-cluster links dissolve (by gaps, as inside),
        // then the triadic and kin attempts (which may cross clusters) are
        // made in the order they were queued. The ends of every link it
        // dissolves or makes are noted: their lists changed.
        changed.clear();
        let mut rng = self.streams.stream(Purpose::CrossLinks, step, 0);
        let mut decay = Gaps::new(p_decay, &mut rng);
        for &(i, j) in &crossing_links {
            if decay.hit(&mut rng) {
                self.unlink(i, j);
                changed.extend([i, j]);
            }
        }
        for (n, &(i, triadic)) in crossing.iter().enumerate() {
            self.read_ahead(crossing.get(n + READ_AHEAD).map(|&(i, _)| i));
            if let Some((i, j)) = self.crossing_attempt(i, triadic, &mut rng) {
                changed.extend([i, j]);
            }
        }

        // Spillover from partners' productivity at the start of the
        // spillover (a snapshot, so the order in which firms are updated
        // does not matter), from each firm's partners at the end of the
        // global sub-phase. Nothing changes a productivity during
        // cooperation, so a firm whose list the global sub-phase left alone
        // has the update its cluster computed; the others' are computed
        // again here, from their lists as they now stand, and put in their
        // clusters' buffers (a firm left without partners keeps its
        // productivity as it was). The buffers are left pending for growth,
        // the next phase, which reads each member's ln A from them as it
        // grows it: no pass over the firms to write them.
        changed.sort_unstable();
        changed.dedup();
        redone.clear();
        redone.extend(changed.iter().enumerate().map(|(n, &i)| {
            self.read_ahead(changed.get(n + READ_AHEAD).copied());
            (i, self.spillover_of(i, self.partners_of(i)))
        }));
        let mut direct = Vec::new();
        for &(i, update) in &redone {
            let f = &self.firms[i as usize];
            let buf = match f.site {
                Site::Cluster(c) => spill.get_mut(c as usize),
                Site::Home(_) => None,
            };
            match buf.and_then(|b| b.get_mut(f.slot as usize)) {
                Some(entry) => *entry = update.unwrap_or(UNCHANGED),
                // Not a member of an operating cluster (no partners there):
                // written into the firm, after every update is computed.
                None => direct.extend(update.map(|u| (i, u))),
            }
        }
        for (i, (v, ln_v)) in direct {
            let f = &mut self.firms[i as usize];
            (f.productivity, f.ln_prod) = (v, ln_v);
        }
        self.spill_bufs = spill;
        self.spill_pending = true;
        self.coop_bufs = CoopBufs {
            here,
            lists,
            spill_here,
            queued,
            crossing,
            crossing_links,
            changed,
            redone,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::pick_other;
    use rand::SeedableRng;

    /// `pick_other` never returns `i` or a partner of `i` (the link tests
    /// of the formation and of `crossing_attempt` rely on it and do not test
    /// it again), returns `None` exactly when every entry is excluded, and
    /// is uniform over the allowed entries, a repeated entry weighted by its
    /// repetitions: where rejection finds one, and where the exclusions
    /// leave it to the enumeration.
    #[test]
    fn pick_other_draws_uniformly_from_the_allowed_entries() {
        let mut rng = crate::rng::Stream::seed_from_u64(3);
        let n = 40_000;
        let many: Vec<u32> = (0..40).collect();
        let not_17_33: Vec<u32> = (1..40).filter(|&j| j != 17 && j != 33).collect();
        // (list, i, partners, allowed entries with their weights)
        type Case<'a> = (&'a [u32], u32, &'a [u32], &'a [(u32, f64)]);
        let cases: [Case; 2] = [
            (
                &[1, 2, 2, 3, 4, 5],
                1,
                &[3],
                &[(2, 0.5), (4, 0.25), (5, 0.25)],
            ),
            (&many, 0, &not_17_33, &[(17, 0.5), (33, 0.5)]),
        ];
        for (list, i, partners, allowed) in cases {
            let mut counts = std::collections::BTreeMap::new();
            for _ in 0..n {
                let j = pick_other(list, i, partners, &mut rng).expect("an entry is allowed");
                assert!(j != i && !partners.contains(&j), "drew {j}");
                *counts.entry(j).or_insert(0u32) += 1;
            }
            assert_eq!(counts.len(), allowed.len(), "{counts:?}");
            for &(j, p) in allowed {
                let got = f64::from(counts[&j]);
                let se = (p * (1.0 - p) * f64::from(n)).sqrt();
                assert!((got - p * f64::from(n)).abs() < 5.0 * se, "{j}: {got}");
            }
        }
        assert_eq!(pick_other(&[1, 2, 2], 1, &[2], &mut rng), None);
        assert_eq!(pick_other(&[], 1, &[], &mut rng), None);
    }
}
