//! Phase 2, `budget` (global): the step's budget, its split into pools, and
//! the allocation rules of MODEL.md §4.1. Money that cannot be placed
//! (every recipient at its need) is carried to the next step.

use super::infrastructure::{connection_cost, need};
use super::world::{Cluster, World, K_COMPONENTS};
use crate::config::{ComponentRule, InsideRule, OutsideRule, Scenario};

/// Split `amount` over recipients ∝ `weights`, none above its `cap`; what a
/// capped recipient cannot take goes to the others in proportion. Returns
/// the allocations and the amount left over (all recipients at their cap).
/// O(n log n).
pub fn fill(amount: f64, weights: &[f64], caps: &[f64]) -> (Vec<f64>, f64) {
    let mut out = vec![0.0; weights.len()];
    let mut order = vec![(0.0, 0); weights.len()];
    let left = fill_into(amount, weights, caps, &mut out, &mut order);
    (out, left)
}

/// [`fill`] into `out` (as long as `weights`, zeroed first), with `order`
/// (at least as long) as scratch for the recipients by cap ratio, so that
/// the five components of a cluster are split on the stack.
fn fill_into(
    amount: f64,
    weights: &[f64],
    caps: &[f64],
    out: &mut [f64],
    order: &mut [(f64, usize)],
) -> f64 {
    out.fill(0.0);
    // Recipients that hit their cap first come first (ties by index: a
    // total order, so an unstable sort gives the one result).
    let mut m = 0;
    for (i, (&w, &cap)) in weights.iter().zip(caps).enumerate() {
        if w > 0.0 && cap > 0.0 {
            order[m] = (cap / w, i);
            m += 1;
        }
    }
    let order = &mut order[..m];
    order.sort_unstable_by(|a, b| a.0.partial_cmp(&b.0).expect("finite").then(a.1.cmp(&b.1)));
    let mut left = amount.max(0.0);
    let mut wsum: f64 = order.iter().map(|&(_, i)| weights[i]).sum();
    for (pos, &(_, i)) in order.iter().enumerate() {
        if left <= 0.0 || wsum <= 0.0 {
            break;
        }
        let share = left * weights[i] / wsum;
        if share >= caps[i] {
            out[i] = caps[i];
            left -= caps[i];
            wsum -= weights[i];
        } else {
            // Nobody after i hits its cap: share the rest proportionally.
            let rest = left;
            for &(_, j) in &order[pos..] {
                out[j] = rest * weights[j] / wsum;
            }
            left = 0.0;
            break;
        }
    }
    left.max(0.0)
}

/// Component weights of a cluster under `rule` (MODEL.md §4.1).
pub fn component_weights(
    rule: ComponentRule,
    c: &Cluster,
    w: &[f64; K_COMPONENTS],
) -> [f64; K_COMPONENTS] {
    match rule {
        ComponentRule::Balanced => std::array::from_fn(|k| w[k] * (1.0 - c.q[k]).powi(2)),
        ComponentRule::Fixed => *w,
        // Roads (0) and green (4) only.
        ComponentRule::Showcase => {
            std::array::from_fn(|k| if k == 0 || k == 4 { w[k] } else { 0.0 })
        }
    }
}

/// Per-component gross needs of a cluster (to the need target).
pub fn component_needs(sc: &Scenario, c: &Cluster, leakage: f64) -> [f64; K_COMPONENTS] {
    let p = &sc.infrastructure;
    let x = p.cost_per_ha.to_array();
    std::array::from_fn(|k| need(c.area, x[k], c.q[k], c.pipe[k], p.need_target, leakage))
}

/// Spread `amount` over a cluster's components by `rule`, capped at need;
/// returns the per-component allocation and the unplaced rest.
pub fn split_components(
    rule: ComponentRule,
    c: &Cluster,
    sc: &Scenario,
    leakage: f64,
    amount: f64,
) -> ([f64; K_COMPONENTS], f64) {
    Split::of(rule, c, sc, leakage).spread(amount)
}

/// The storage the inside allocation reuses from step to step
/// (`World::budget_bufs`): the operating clusters, their weights, splits
/// and needs, and `fill_into`'s output and scratch. What they hold means
/// something only inside the phase.
#[derive(Debug, Clone, Default)]
pub struct BudgetBufs {
    ids: Vec<usize>,
    weights: Vec<f64>,
    splits: Vec<Split>,
    caps: Vec<f64>,
    out: Vec<f64>,
    order: Vec<(f64, usize)>,
}

/// A cluster's component weights under a rule and its components' needs,
/// computed once for both its total need and the split of what it gets.
#[derive(Debug, Clone, Copy)]
struct Split {
    weights: [f64; K_COMPONENTS],
    needs: [f64; K_COMPONENTS],
}

impl Split {
    fn of(rule: ComponentRule, c: &Cluster, sc: &Scenario, leakage: f64) -> Self {
        Self {
            weights: component_weights(rule, c, &sc.infrastructure.weights.to_array()),
            needs: component_needs(sc, c, leakage),
        }
    }

    /// What the cluster can absorb: the sum of the needs of the components
    /// the rule funds.
    fn need(&self) -> f64 {
        (0..K_COMPONENTS)
            .filter(|&k| self.weights[k] > 0.0)
            .map(|k| self.needs[k])
            .sum()
    }

    /// `amount` over the components, capped at need: the allocation and
    /// the unplaced rest.
    fn spread(&self, amount: f64) -> ([f64; K_COMPONENTS], f64) {
        let mut alloc = [0.0; K_COMPONENTS];
        let mut order = [(0.0, 0); K_COMPONENTS];
        let left = fill_into(amount, &self.weights, &self.needs, &mut alloc, &mut order);
        (alloc, left)
    }
}

impl World<'_> {
    /// Phase 2: compute the step's budget and allocate it. `t` is the years
    /// elapsed at the start of the step.
    pub fn budget(&mut self, t: f64) {
        let sc = self.sc;
        let g = &sc.government;
        let dt = sc.time.dt;
        let b = g.budget * (1.0 + g.budget_growth).powf(t) * dt
            + g.reinvest_tax_share * self.last_tax
            + self.carry;
        self.counters.budget = b;
        for c in &mut self.clusters {
            c.alloc = [0.0; K_COMPONENTS];
            c.alloc_z = 0.0;
        }
        let outside = b * g.shares.outside;
        let inside = b * g.shares.inside;
        self.training_pool = b * g.shares.training;
        self.subsidy_pool = b * g.shares.relocation_subsidy;
        let left_out = self.allocate_outside(outside);
        let left_in = self.allocate_inside(inside);
        let placed = (outside - left_out) + (inside - left_in);
        self.counters.spent += placed;
        // Training and subsidy pools are counted as spent where they are used
        // (accounts, relocation); what they do not use returns to carry there.
        self.carry = left_out + left_in;
    }

    fn allocate_outside(&mut self, amount: f64) -> f64 {
        let sc = self.sc;
        let p = &sc.infrastructure;
        let leak = sc.government.leakage;
        let radius = sc.region.radius_km;
        let need_z = |c: &Cluster, target: f64| {
            need(
                c.area,
                connection_cost(c, p, radius),
                c.z,
                c.pipe_z,
                target,
                leak,
            )
        };
        match sc.government.outside_rule {
            OutsideRule::PlannedFirst => {
                let mut left = amount;
                let mut planned: Vec<usize> = (0..self.clusters.len())
                    .filter(|&i| !self.clusters[i].operating())
                    .collect();
                planned.sort_by_key(|&i| (self.clusters[i].establish_step, i));
                let mut operating: Vec<usize> = (0..self.clusters.len())
                    .filter(|&i| self.clusters[i].operating())
                    .collect();
                operating.sort_by(|&a, &b| {
                    self.clusters[a]
                        .z
                        .partial_cmp(&self.clusters[b].z)
                        .expect("finite")
                        .then(a.cmp(&b))
                });
                let target_planned = sc.government.connect_target;
                for (list, target) in [(planned, target_planned), (operating, p.need_target)] {
                    for i in list {
                        if left <= 0.0 {
                            return 0.0;
                        }
                        let give = need_z(&self.clusters[i], target).min(left);
                        self.clusters[i].alloc_z += give;
                        left -= give;
                    }
                }
                left
            }
            OutsideRule::Equal => {
                let ids: Vec<usize> = (0..self.clusters.len())
                    .filter(|&i| self.clusters[i].z < 1.0)
                    .collect();
                let caps: Vec<f64> = ids
                    .iter()
                    .map(|&i| need_z(&self.clusters[i], p.need_target))
                    .collect();
                let (alloc, left) = fill(amount, &vec![1.0; ids.len()], &caps);
                for (&i, a) in ids.iter().zip(alloc) {
                    self.clusters[i].alloc_z += a;
                }
                left
            }
        }
    }

    fn allocate_inside(&mut self, amount: f64) -> f64 {
        let sc = self.sc;
        let leak = sc.government.leakage;
        let rule = sc.government.component_rule;
        let BudgetBufs {
            ids,
            weights,
            splits,
            caps,
            out,
            order,
        } = &mut self.budget_bufs;
        ids.clear();
        ids.extend((0..self.clusters.len()).filter(|&i| self.clusters[i].operating()));
        weights.clear();
        weights.extend(ids.iter().map(|&i| {
            let c = &self.clusters[i];
            match sc.government.inside_rule {
                InsideRule::Equal => 1.0,
                InsideRule::ByArea => c.area,
                InsideRule::ByOccupancy => c.occupied,
                InsideRule::WorstFirst => (1.0 - c.quality) * c.area,
            }
        }));
        splits.clear();
        splits.extend(
            ids.iter()
                .map(|&i| Split::of(rule, &self.clusters[i], sc, leak)),
        );
        caps.clear();
        caps.extend(splits.iter().map(Split::need));
        out.resize(weights.len(), 0.0);
        order.resize(weights.len(), (0.0, 0));
        let mut left = fill_into(amount, weights, caps, out, order);
        for ((&i, &a), split) in ids.iter().zip(out.iter()).zip(splits.iter()) {
            let (split, rest) = split.spread(a);
            let c = &mut self.clusters[i];
            for (a, s) in c.alloc.iter_mut().zip(split) {
                *a += s;
            }
            left += rest;
        }
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_is_proportional_without_caps() {
        let (a, left) = fill(10.0, &[1.0, 3.0], &[100.0, 100.0]);
        assert!((a[0] - 2.5).abs() < 1e-12 && (a[1] - 7.5).abs() < 1e-12);
        assert_eq!(left, 0.0);
    }

    #[test]
    fn fill_redistributes_excess_then_carries() {
        // Equal weights, caps 1, 5, 100: first gets 1, the rest split 9 → 4.5 each,
        // second is capped at... 4.5 < 5, so it takes 4.5.
        let (a, left) = fill(10.0, &[1.0, 1.0, 1.0], &[1.0, 5.0, 100.0]);
        assert!((a[0] - 1.0).abs() < 1e-12);
        assert!((a[1] - 4.5).abs() < 1e-12 && (a[2] - 4.5).abs() < 1e-12);
        assert_eq!(left, 0.0);
        // Total need below the amount: everybody at cap, the rest carried.
        let (a, left) = fill(10.0, &[1.0, 2.0], &[1.0, 2.0]);
        assert_eq!(a, vec![1.0, 2.0]);
        assert!((left - 7.0).abs() < 1e-12);
        // Zero weight gets nothing.
        let (a, left) = fill(10.0, &[0.0, 1.0], &[5.0, 5.0]);
        assert_eq!(a, vec![0.0, 5.0]);
        assert!((left - 5.0).abs() < 1e-12);
    }
}
