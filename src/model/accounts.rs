//! Phase 8, `accounts` (global): taxes, developer rent and reinvestment, and
//! training (MODEL.md §4.7).

use super::budget::split_components;
use super::logn::ln;
use super::world::World;
use crate::config::ComponentRule;

impl World<'_> {
    /// Phase 8.
    pub fn accounts(&mut self) {
        let sc = self.sc;
        let ac = &sc.accounts;
        let dt = sc.time.dt;

        // Tax on all alive firms' revenue.
        let revenue: f64 = self
            .site_held()
            .flat_map(|h| h.iter())
            .map(|h| h.size)
            .sum();
        let tax = ac.tax_rate * revenue * dt;
        self.counters.tax = tax;
        self.last_tax = tax;

        // Developers: rent, half reinvested by rule Fixed, capped at need with
        // the developer's leakage; the money enters the pipelines now and is
        // built (or erodes) in the next infrastructure phase.
        let dev_leak = ac.developer_leakage;
        for i in 0..self.clusters.len() {
            let c = &self.clusters[i];
            if !c.operating() {
                continue;
            }
            let rent = ac.rent_base * (0.5 + c.quality) * c.occupied * dt;
            let money = ac.developer_reinvest * rent;
            let (split, _kept_by_developer) =
                split_components(ComponentRule::Fixed, c, sc, dev_leak, money);
            let c = &mut self.clusters[i];
            c.dev_alloc = split;
            for (pipe, s) in c.pipe.iter_mut().zip(split) {
                *pipe += (1.0 - dev_leak) * s;
                self.counters.leakage += dev_leak * s;
            }
        }

        // Training: ∝ shortage over operating clusters (equally if none has one).
        let pool = std::mem::take(&mut self.training_pool);
        let ops: Vec<usize> = (0..self.clusters.len())
            .filter(|&i| self.clusters[i].operating())
            .collect();
        if ops.is_empty() || pool <= 0.0 || ac.trainee_cost <= 0.0 {
            self.carry += pool;
            return;
        }
        let total_short: f64 = ops.iter().map(|&i| self.clusters[i].shortage).sum();
        for &i in &ops {
            let share = if total_short > 0.0 {
                self.clusters[i].shortage / total_short
            } else {
                1.0 / ops.len() as f64
            };
            let trainees = pool * share / ac.trainee_cost;
            if trainees <= 0.0 {
                continue;
            }
            let c = &mut self.clusters[i];
            c.labor_pool += trainees;
            let factor = 1.0 + ac.training_effect * trainees / c.labor_pool;
            let ln_factor = ln(factor);
            for &f in &c.members {
                let f = &mut self.firms[f as usize];
                debug_assert!(!f.productivity.is_nan(), "a member's A is stored");
                f.productivity *= factor;
                f.ln_prod += ln_factor;
            }
        }
        self.counters.spent += pool;
    }
}
