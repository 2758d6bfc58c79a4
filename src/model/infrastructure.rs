//! Phase 3, `infrastructure` (local, per cluster): money in, leakage, the
//! critical-investment pipeline with erosion, project completion,
//! depreciation; and the CES effective quality and completion standard
//! (MODEL.md §4.2).

use super::expo::exp;
use super::logn::ln;
use super::world::{Cluster, World, K_COMPONENTS};
use crate::config::Infrastructure;

/// CES effective quality Q = (Σ w_k q_k^ρ)^(1/ρ); 0 where any q_k is 0
/// (for ρ < 0, the weakest link dominates).
pub fn ces(q: &[f64; K_COMPONENTS], w: &[f64; K_COMPONENTS], rho: f64) -> f64 {
    if rho < 0.0 && q.iter().zip(w).any(|(&qk, &wk)| qk <= 0.0 && wk > 0.0) {
        return 0.0;
    }
    if rho == -2.0 {
        // The default ρ: the same formula without the slow general powers.
        let s: f64 = q.iter().zip(w).map(|(&qk, &wk)| wk / (qk * qk)).sum();
        return if s > 0.0 {
            (1.0 / s.sqrt()).clamp(0.0, 1.0)
        } else {
            0.0
        };
    }
    let s: f64 = q.iter().zip(w).map(|(&qk, &wk)| wk * qk.powf(rho)).sum();
    if s <= 0.0 {
        return 0.0;
    }
    s.powf(1.0 / rho).clamp(0.0, 1.0)
}

/// A cluster's effective quality under the scenario's weights and ρ.
pub fn quality(c: &Cluster, p: &Infrastructure) -> f64 {
    ces(&c.q, &p.weights.to_array(), p.rho)
}

/// Decree 68/2017 standard: every q_k ≥ threshold and z ≥ z_min.
pub fn complete(c: &Cluster, p: &Infrastructure) -> bool {
    c.q.iter().all(|&q| q >= p.complete_threshold) && c.z >= p.z_min
}

/// Connection cost scale x_z = base·(1 + factor·d_c/R).
pub fn connection_cost(c: &Cluster, p: &Infrastructure, radius: f64) -> f64 {
    p.connection_cost_per_ha * (1.0 + p.connection_distance_factor * c.dist_centre / radius)
}

/// Gross money that brings quality `q` (pipeline `pipe`) to `target`:
/// max(0, area·x·ln((1 − q)/(1 − target)) − P)/(1 − leakage).
pub fn need(area: f64, x: f64, q: f64, pipe: f64, target: f64, leakage: f64) -> f64 {
    if q >= target || leakage >= 1.0 {
        return 0.0;
    }
    let net = area * x * ln((1.0 - q) / (1.0 - target)) - pipe;
    (net.max(0.0)) / (1.0 - leakage)
}

/// Flows of one component in one step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Flow {
    pub leakage: f64,
    pub waste: f64,
    /// Pipeline money turned into quality by a completed project.
    pub built: f64,
}

/// A step's decay factors, the same for every cluster and component:
/// exp(−stall_erosion·dt) of a stalled pipeline and exp(−depreciation·dt)
/// of quality.
pub struct Decay {
    kept: f64,
    depreciated: f64,
}

impl Decay {
    pub fn new(p: &Infrastructure, dt: f64) -> Self {
        Self {
            kept: exp(-p.stall_erosion * dt),
            depreciated: exp(-p.depreciation * dt),
        }
    }
}

/// One component (or the connection) for one step: money `gross` arrives
/// with `leak` lost, the pipeline completes above the threshold or erodes
/// below it, then the quality depreciates (by the step's `decay`).
#[allow(clippy::too_many_arguments)]
pub fn advance(
    q: &mut f64,
    pipe: &mut f64,
    gross: f64,
    leak: f64,
    area: f64,
    x: f64,
    p: &Infrastructure,
    decay: &Decay,
) -> Flow {
    let mut flow = Flow {
        leakage: gross * leak,
        ..Flow::default()
    };
    *pipe += (1.0 - leak) * gross;
    if *pipe > 0.0 {
        if *pipe >= p.min_project_per_ha * area {
            let xh = *pipe / area;
            *q += (1.0 - *q) * (1.0 - exp(-xh / x));
            flow.built = *pipe;
            *pipe = 0.0;
        } else {
            let kept = *pipe * decay.kept;
            flow.waste = *pipe - kept;
            *pipe = kept;
        }
    }
    *q = (*q * decay.depreciated).clamp(0.0, 1.0);
    flow
}

impl World<'_> {
    /// Phase 3 over every cluster (operating or planned). The public money
    /// allocated by `budget` arrives here with public leakage; developer money
    /// (from last step's accounts) already entered its pipeline with its own leakage.
    pub fn infrastructure(&mut self) {
        let sc = self.sc;
        let p = &sc.infrastructure;
        let leak = sc.government.leakage;
        let dt = sc.time.dt;
        let radius = sc.region.radius_km;
        let cost = p.cost_per_ha.to_array();
        let decay = Decay::new(p, dt);
        let mut total = Flow::default();
        for c in &mut self.clusters {
            let area = c.area;
            let parts =
                c.q.iter_mut()
                    .zip(c.pipe.iter_mut())
                    .zip(c.alloc.iter().zip(&cost));
            for ((q, pipe), (&gross, &x)) in parts {
                let f = advance(q, pipe, gross, leak, area, x, p, &decay);
                total.leakage += f.leakage;
                total.waste += f.waste;
                total.built += f.built;
            }
            let xz = connection_cost(c, p, radius);
            let (z, pipe_z) = (&mut c.z, &mut c.pipe_z);
            let f = advance(z, pipe_z, c.alloc_z, leak, c.area, xz, p, &decay);
            total.leakage += f.leakage;
            total.waste += f.waste;
            total.built += f.built;
            c.quality = quality(c, p);
        }
        self.counters.leakage += total.leakage;
        self.counters.waste += total.waste;
        self.counters.built += total.built;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: [f64; 5] = [0.25, 0.25, 0.2, 0.15, 0.15];

    #[test]
    fn ces_equal_components_give_that_value() {
        assert!((ces(&[0.7; 5], &W, -2.0) - 0.7).abs() < 1e-12);
    }

    #[test]
    fn ces_fast_path_matches_the_general_formula() {
        let q = [0.9, 0.3, 0.55, 0.7, 0.2];
        let s: f64 = q
            .iter()
            .zip(&W)
            .map(|(&qk, &wk)| wk * f64::powf(qk, -2.0))
            .sum();
        assert!((ces(&q, &W, -2.0) - s.powf(-0.5)).abs() < 1e-14);
        let s: f64 = q
            .iter()
            .zip(&W)
            .map(|(&qk, &wk)| wk * f64::powf(qk, -1.5))
            .sum();
        assert!((ces(&q, &W, -1.5) - s.powf(-1.0 / 1.5)).abs() < 1e-14);
    }

    #[test]
    fn ces_is_zero_when_any_component_is_zero() {
        assert_eq!(ces(&[0.9, 0.9, 0.0, 0.9, 0.9], &W, -2.0), 0.0);
    }

    #[test]
    fn ces_weakest_link_dominates() {
        // One component at 0.1, the others at 1: Q = (0.8 + 0.2·100)^(−1/2).
        let q = ces(&[1.0, 1.0, 0.1, 1.0, 1.0], &W, -2.0);
        let expected = (0.8f64 + 0.2 * 100.0).powf(-0.5);
        assert!((q - expected).abs() < 1e-12, "{q} vs {expected}");
        assert!(q < 0.25, "far below the arithmetic mean 0.82: {q}");
        // Raising a strong component barely moves Q; raising the weak one does.
        let up_strong =
            ces(&[1.0, 1.0, 0.1, 1.0, 1.0], &W, -2.0) - ces(&[0.8, 1.0, 0.1, 1.0, 1.0], &W, -2.0);
        let up_weak = ces(&[1.0, 1.0, 0.3, 1.0, 1.0], &W, -2.0) - q;
        assert!(up_weak > 10.0 * up_strong.abs());
    }

    fn params() -> Infrastructure {
        Infrastructure::default()
    }

    #[test]
    fn project_completes_at_threshold_and_erodes_below() {
        let p = params();
        let (area, x, dt) = (20.0, 0.6, 0.25);
        let decay = Decay::new(&p, dt);
        // Threshold: 0.15·20 = 3 net. Exactly 3 net completes.
        let (mut q, mut pipe) = (0.2, 0.0);
        let f = advance(&mut q, &mut pipe, 3.0, 0.0, area, x, &p, &decay);
        assert_eq!(pipe, 0.0);
        assert_eq!(f.built, 3.0);
        let expected =
            (0.2 + 0.8 * (1.0 - (-(3.0 / 20.0) / 0.6f64).exp())) * (-0.025f64 * 0.25).exp();
        assert!((q - expected).abs() < 1e-12, "{q} vs {expected}");
        assert_eq!(f.waste, 0.0);
        // Leakage takes its share of the gross money before the pipeline.
        let (mut q, mut pipe) = (0.2, 0.0);
        let f = advance(&mut q, &mut pipe, 10.0, 0.3, area, x, &p, &decay);
        assert!((f.leakage - 3.0).abs() < 1e-12 && (f.built - 7.0).abs() < 1e-12);
        // Just below the threshold: nothing built, the pipeline erodes, q depreciates.
        let (mut q, mut pipe) = (0.2, 0.0);
        let f = advance(&mut q, &mut pipe, 2.9 / 0.7, 0.3, area, x, &p, &decay);
        let kept = 2.9 * (-0.1f64 * 0.25).exp();
        assert!((pipe - kept).abs() < 1e-12);
        assert!((f.waste - (2.9 - kept)).abs() < 1e-12);
        assert!((q - 0.2 * (-0.025f64 * 0.25).exp()).abs() < 1e-12);
    }

    #[test]
    fn depreciation_is_exponential() {
        let p = params();
        let (mut q, mut pipe) = (0.8, 0.0);
        let decay = Decay::new(&p, 0.25);
        for _ in 0..40 {
            advance(&mut q, &mut pipe, 0.0, 0.3, 10.0, 0.6, &p, &decay);
        }
        assert!((q - 0.8 * (-0.025f64 * 10.0).exp()).abs() < 1e-12);
    }

    #[test]
    fn need_brings_quality_to_target() {
        let p = params();
        let (area, x, q0, leak) = (15.0, 0.6, 0.3, 0.3);
        let n = need(area, x, q0, 0.0, 0.95, leak);
        let (mut q, mut pipe) = (q0, 0.0);
        let no_dep = Infrastructure {
            depreciation: 0.0,
            ..p
        };
        let decay = Decay::new(&no_dep, 0.25);
        advance(&mut q, &mut pipe, n, leak, area, x, &no_dep, &decay);
        assert!((q - 0.95).abs() < 1e-12, "{q}");
        assert_eq!(need(area, x, 0.96, 0.0, 0.95, leak), 0.0);
    }
}
