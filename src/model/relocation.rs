//! Phase 7, `relocation` (global): residential firms move into clusters,
//! pushed by enforcement E(t) and, after `forced_after_step`, forced out
//! (moved if land is free, else closed) (MODEL.md §4.6).
//!
//! A firm weighs staying home against its home's feasible choice set (the
//! clusters of §4.3 with free land ≥ its own land at that moment) through
//! the logit's inclusive value IV = ln Σ exp(U_c), the same comparison an
//! entrant makes by Gumbel-max, and draws its destination c* by that logit.
//! U_c is computed once a step per (home area, sector); which clusters have
//! room is checked per firm.

use rand::seq::SliceRandom;
use rand::Rng;

use super::expo::exp;
use super::logn::ln;
use super::skip::Gaps;
use super::world::{for_rows, for_units, Site, World};
use crate::config::ClusterType;
use crate::rng::Purpose;

/// One cluster of a home's choice set for one sector, in a step.
#[derive(Debug, Clone)]
struct Choice {
    /// exp(U_c − max), the logit weight.
    shifted: f64,
    /// The largest U_c of the choice set (IV = max + ln Σ shifted).
    max: f64,
    cluster: u32,
    /// Distance from home (km).
    dist: f64,
}

/// A home's choice set for one sector in a step, with the inclusive value
/// over all of it (every cluster feasible).
#[derive(Debug, Clone, Default)]
struct ChoiceSet {
    cands: Vec<Choice>,
    iv_max: f64,
}

/// The storage the phase reuses from step to step (`World::reloc_bufs`),
/// so that a step allocates and frees no choice set: the choice sets the
/// step's movers need, in key order ((home area, sector) as `area·K +
/// sector`), and where each key's set is. What they hold means something
/// only inside the phase.
#[derive(Debug, Clone, Default)]
pub struct RelocBufs {
    /// At least as many sets as a step needs; the first (one per key a
    /// mover needs) are this step's, the rest keep their storage for a
    /// later step.
    sets: Vec<ChoiceSet>,
    /// By (home area, sector): the index of its set in `sets`, or
    /// `u32::MAX` where no mover needs it.
    slot: Vec<u32>,
    views: Vec<super::entry::SiteView>,
    value: Vec<f64>,
    /// The largest U_c per (home area, sector), by key.
    u_max: Vec<f64>,
    /// Each cluster's free land during the moves.
    free: Vec<f64>,
    /// The firms that passed the first bound, as `relocation` lists them.
    pass: Vec<Passed>,
    /// The areas' nearest lists, taken out of the areas for the phase
    /// (the outer vector's storage kept; the lists go back).
    nearest: Vec<Vec<(f64, u32)>>,
    /// IV's upper bound and the first bound of the move probability
    /// (non-polluting, polluting), by key; the nearest cluster's distance
    /// by area.
    iv_ub: Vec<f64>,
    p_bound0: Vec<[f64; 2]>,
    d_min: Vec<f64>,
    /// The firms an area's gaps found, the keys the movers need and the
    /// forced firms with nowhere to go.
    found: Vec<(u32, f64, bool)>,
    keys: Vec<usize>,
    closed: Vec<u32>,
}

/// A residential firm that may move, as the phase reads it.
#[derive(Debug, Clone, Copy)]
struct Resident {
    firm: u32,
    polluting: bool,
    land: f64,
}

/// A resident that passed the first bound (or is forced): its key (home
/// area, sector), its uniform u, whether it is forced, and whether it
/// passed the bound before its choice set (`hopeful`; forced firms
/// always), so that only the keys of hopeful firms have their sets made.
#[derive(Debug, Clone, Copy)]
struct Passed {
    r: Resident,
    key: usize,
    u: f64,
    forced: bool,
    hopeful: bool,
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + exp(-x))
}

impl World<'_> {
    /// Phase 7 at `step`.
    pub fn relocation(&mut self, step: u32) {
        let sc = self.sc;
        let rp = &sc.relocation;
        let dt = sc.time.dt;
        let e = self.enforcement(step);
        let RelocBufs {
            mut sets,
            mut slot,
            mut views,
            mut value,
            mut u_max,
            mut free,
            mut pass,
            mut nearest,
            mut iv_ub,
            mut p_bound0,
            mut d_min,
            mut found,
            mut keys,
            mut closed,
        } = std::mem::take(&mut self.reloc_bufs);
        self.site_views_into(&mut views);
        let k = sc.sectors.len();
        let forced_on = rp.forced_after_step.is_some_and(|s| step > s);
        let p_force = 1.0 - exp(-rp.force_rate * dt);

        // U_c of every cluster of a home's choice set per (home area,
        // sector) does not depend on the firm; only its largest value is
        // computed for every key up front (no exponential), the choice set
        // with exp(U_c − max) for the inclusive value only for the keys a
        // firm needs (see the bounds below). Which clusters have room is
        // checked per firm, as land fills during the phase.
        let beta_d = sc.entry.utility.distance;
        let mut memo = std::mem::take(&mut self.related_ln);
        self.cluster_values_into(&views, &mut value, &mut memo);
        self.related_ln = memo;
        // The nearest lists, out of the areas for the phase (moves do not
        // change them) and put back at its end.
        nearest.clear();
        nearest.extend(
            self.areas
                .iter_mut()
                .map(|a| std::mem::take(&mut a.nearest)),
        );
        let utility =
            |ix: usize, &(d, c): &(f64, u32)| value[c as usize * k + ix % k] - beta_d * d / 10.0;
        let parallel = self.parallel();
        // max U_c per (home area, sector): each area's list read once, its
        // sectors' maxima side by side.
        u_max.clear();
        u_max.resize(self.areas.len() * k, f64::NEG_INFINITY);
        for_rows(parallel, &mut u_max, k, |a, row| {
            for &(d, c) in &nearest[a] {
                let values = &value[c as usize * k..(c as usize + 1) * k];
                for (m, &v) in row.iter_mut().zip(values) {
                    *m = m.max(v - beta_d * d / 10.0);
                }
            }
        });
        // `set` becomes the choice set of key `ix`, in its own storage.
        let choice_set = |ix: usize, set: &mut ChoiceSet| {
            let m = u_max[ix];
            set.cands.clear();
            set.cands.extend(nearest[ix / k].iter().map(|n| Choice {
                shifted: exp(utility(ix, n) - m),
                max: m,
                cluster: n.1,
                dist: n.0,
            }));
            let total: f64 = set.cands.iter().map(|ch| ch.shifted).sum();
            set.iv_max = if total > 0.0 {
                m + ln(total)
            } else {
                f64::NEG_INFINITY
            };
        };

        let mut rng = self.streams.stream(Purpose::Relocation, step, 0);
        let n_polluting: u64 = self.areas.iter().map(|a| u64::from(a.polluting)).sum();
        let subsidy_each = if n_polluting > 0 {
            self.subsidy_pool / n_polluting as f64
        } else {
            0.0
        };
        let mut claimed = 0.0;
        closed.clear();
        let u_home = [self.home_utility(false, e), self.home_utility(true, e)];
        // The move probability from the inclusive value and the moving cost
        // net of subsidy; non-decreasing in `iv` and non-increasing in `cost`
        // when θ_gain, θ_cost ≥ 0.
        let p_move = |iv: f64, cost: f64, pol: bool| {
            let subsidy = if pol { subsidy_each.min(cost) } else { 0.0 };
            let x = rp.theta0
                + rp.theta_gain * (iv - u_home[pol as usize])
                + if pol { rp.theta_enf * e } else { 0.0 }
                - rp.theta_cost * (cost - subsidy).max(0.0);
            (1.0 - exp(-rp.relocation_rate * dt * logistic(x)), subsidy)
        };
        // Two upper bounds of p. A firm whose uniform is at or above one
        // cannot move, so its choice set need not be evaluated: the same
        // decisions, far less work.
        // (0) per (home, sector, polluting), with no exponential per
        //     cluster: IV ≤ max U_c + ln n (each exp(U_c − max) ≤ 1, plus a
        //     margin for rounding) and a moving cost of 0;
        // (½) per firm, before any choice set: (0)'s IV bound and the
        //     moving cost to the list's nearest cluster;
        // (1) per firm: every cluster of the list feasible (IV over all of
        //     them) and the nearest one's distance.
        // Each bound is at least the next, so a firm turned away by one
        // would be by the next: the same decisions.
        let bounded = rp.theta_gain >= 0.0 && rp.theta_cost >= 0.0;
        // IV's upper bound per key (−∞ where the list is empty).
        iv_ub.clear();
        iv_ub.extend(u_max.iter().enumerate().map(|(ix, &m)| {
            let n = nearest[ix / k].len();
            if n == 0 || m == f64::NEG_INFINITY {
                return f64::NEG_INFINITY;
            }
            m + ln(n as f64) + 1e-9 * (1.0 + m.abs())
        }));
        p_bound0.clear();
        p_bound0.extend(iv_ub.iter().map(|&iv| {
            if !bounded {
                [1.0; 2]
            } else if iv == f64::NEG_INFINITY {
                [0.0; 2]
            } else {
                [p_move(iv, 0.0, false).0, p_move(iv, 0.0, true).0]
            }
        }));
        // The nearest cluster's distance per area (both bounds' moving cost).
        d_min.clear();
        d_min.extend(
            nearest
                .iter()
                .map(|list| list.iter().map(|n| n.0).fold(f64::INFINITY, f64::min)),
        );
        // The cost of moving `land` hectares `dist` km.
        let move_cost = |land: f64, dist: f64| rp.move_cost_per_ha * land * (1.0 + dist / 10.0);
        // Every residential firm has a uniform u (the voluntary move) and,
        // if polluting while forcing applies, is forced with probability
        // p_force; only the firms with u below their first bound, or forced,
        // can move (the others do nothing). Those are found without a draw
        // per firm: per area, the firms with u below the area's largest
        // bound are Bernoulli trials in member order, drawn by their gaps,
        // each with u uniform below that bound (then thinned by its own
        // bound); the forced ones likewise over the polluting members.
        // The firms found are then put in a random order (the order a
        // random order of all residents gives them, MODEL.md §4.6) and each
        // draws the uniform for its destination. The same law as a uniform
        // per firm and a shuffle of every resident, with draws for a few.
        pass.clear();
        for (a, area) in self.areas.iter().enumerate() {
            let members = &area.members;
            if members.is_empty() {
                continue;
            }
            let keys = &p_bound0[a * k..(a + 1) * k];
            let p_area = keys
                .iter()
                .zip(&area.sector_counts)
                .filter(|&(_, &n)| n > 0)
                .map(|(b, _)| b[0].max(b[1]))
                .fold(0.0, f64::max);
            found.clear();
            let mut gaps = Gaps::new(p_area, &mut rng);
            let (n, mut at) = (members.len() as u64, 0u64);
            while let Some(skip) = gaps.next_within(n - at, &mut rng) {
                at += skip;
                let u = p_area * rng.random::<f64>();
                found.push((at as u32, u, false));
                at += 1;
            }
            if forced_on && area.polluting > 0 {
                let mut force = Gaps::new(p_force, &mut rng);
                for (slot, h) in area.held.iter().enumerate() {
                    if h.polluting && force.hit(&mut rng) {
                        found.push((slot as u32, 1.0, true));
                    }
                }
                // One entry per firm (forced wins), in member order.
                found.sort_by_key(|&(slot, _, forced)| (slot, !forced));
                found.dedup_by_key(|&mut (slot, ..)| slot);
            }
            for &(slot, u, forced) in &found {
                let i = members[slot as usize];
                let f = &self.firms[i as usize];
                let ix = a * k + f.sector as usize;
                if !forced && u >= p_bound0[ix][f.polluting as usize] {
                    continue;
                }
                let r = Resident {
                    firm: i,
                    polluting: f.polluting,
                    land: f.land,
                };
                let hopeful = forced
                    || !bounded
                    || !self.relocation_prefilter
                    || (iv_ub[ix] != f64::NEG_INFINITY
                        && u < p_move(iv_ub[ix], move_cost(r.land, d_min[a]), r.polluting).0);
                pass.push(Passed {
                    r,
                    key: ix,
                    u,
                    forced,
                    hopeful,
                });
            }
        }
        pass.shuffle(&mut rng);
        // The keys the movers need, in key order, each with its set's
        // index in `slot`; their sets computed into the reused storage.
        const NONE: u32 = u32::MAX;
        const NEEDED: u32 = u32::MAX - 1;
        slot.clear();
        slot.resize(self.areas.len() * k, NONE);
        for p in pass.iter().filter(|p| p.hopeful) {
            slot[p.key] = NEEDED;
        }
        keys.clear();
        for (ix, s) in slot.iter_mut().enumerate() {
            if *s == NEEDED {
                *s = keys.len() as u32;
                keys.push(ix);
            }
        }
        if sets.len() < keys.len() {
            sets.resize_with(keys.len(), ChoiceSet::default);
        }
        for_units(parallel, &mut sets[..keys.len()], |n, set| {
            choice_set(keys[n], set)
        });
        // Free land by cluster, read 30 times per mover (dense, where the
        // clusters are not), refreshed when a firm moves in.
        free.clear();
        free.extend(self.clusters.iter().map(|c| c.free_land()));
        for Passed {
            r,
            key: ix,
            u,
            forced,
            hopeful,
        } in pass.drain(..)
        {
            // Its destination's uniform, in the shuffled order (the only
            // draw left: the moves draw nothing else).
            let u_dest: f64 = rng.random();
            if !hopeful {
                continue;
            }
            let (i, pol, land) = (r.firm, r.polluting, r.land);
            // Computed for every hopeful firm's key.
            let set = &sets[slot[ix] as usize];
            if bounded && !forced {
                let iv_max = set.iv_max;
                if iv_max == f64::NEG_INFINITY
                    || u >= p_move(iv_max, move_cost(land, d_min[ix / k]), pol).0
                {
                    continue;
                }
            }
            // The feasible choice set: clusters with free land ≥ ℓ now. The
            // inclusive value IV = ln Σ exp(U_c) over it, and c* drawn by the
            // logit (inverse CDF of exp(U_c)/Σ with one uniform).
            let cands = &set.cands;
            let fits = |ch: &&Choice| free[ch.cluster as usize] >= land;
            let total: f64 = cands.iter().filter(fits).map(|ch| ch.shifted).sum();
            let mut moved = false;
            if total > 0.0 {
                let mut left = u_dest * total;
                let mut dest = None;
                for ch in cands.iter().filter(fits) {
                    dest = Some(ch);
                    left -= ch.shifted;
                    if left < 0.0 {
                        break;
                    }
                }
                let ch = dest.expect("a feasible cluster exists when total > 0");
                let iv = ch.max + ln(total);
                let cost = move_cost(land, ch.dist);
                let (p, subsidy) = p_move(iv, cost, pol);
                if u < p || forced {
                    self.relocate(i, ch.cluster);
                    let c = ch.cluster as usize;
                    free[c] = self.clusters[c].free_land();
                    claimed += subsidy;
                    moved = true;
                }
            }
            if !moved && forced {
                closed.push(i);
            }
        }
        for (a, list) in self.areas.iter_mut().zip(nearest.drain(..)) {
            a.nearest = list;
        }
        for &i in &closed {
            self.kill_firm(i);
        }
        self.drop_dead_links();
        self.counters.forced_closures += closed.len() as u64;
        self.counters.forced_total += closed.len() as u64;
        self.reloc_bufs = RelocBufs {
            sets,
            slot,
            views,
            value,
            u_max,
            free,
            pass,
            nearest,
            iv_ub,
            p_bound0,
            d_min,
            found,
            keys,
            closed,
        };
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
            let partners = self.partners_of(i).to_vec();
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
