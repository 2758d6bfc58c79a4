//! Sensitivity indices from a design and its outputs, computed as SALib's
//! `morris.analyze` and `sobol.analyze` compute them (their estimators and
//! their bootstrap confidence half-widths, `z · sd(resampled index)` with
//! `z = Φ⁻¹(0.975) ≈ 1.96` and the sample sd); the resampling is our own,
//! seeded ChaCha, so confs agree with SALib's in distribution, not digit by
//! digit.
//!
//! Morris: the elementary effect of parameter j in a trajectory is
//! `(y(j high) − y(j low)) / Δ` in unit-cube steps (SALib's unscaled
//! effects: a linear `y = Σ c_j x_j` over `[lo_j, hi_j]` has effect
//! `c_j (hi_j − lo_j)`). `mu` is their mean, `mu_star` the mean of their
//! absolute values, `sigma` their sd (n − 1), `mu_star_conf` the bootstrap
//! over trajectories of `mu_star`.
//!
//! Sobol: outputs are first standardised over the whole design (SALib does
//! this; the estimators are not shift invariant); with `V` the variance of
//! A and B together, `S1_j = mean(B·(AB_j − A)) / V` and `ST_j = mean((A −
//! AB_j)²) / (2V)` (Saltelli et al. 2010), `S2_jk = mean(BA_j·AB_k − A·B) / V
//! − S1_j − S1_k` (Saltelli 2002). The bootstrap resamples base samples, one
//! set of resamples shared by every index.

use rand::Rng;

use super::design::saltelli_block;
use crate::stats::{mean, normal_quantile, sample_sd, seeded_stream};

/// One index of one parameter (or pair, for `S2`), with its confidence
/// half-width when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub parameter: usize,
    /// The second parameter of `S2`.
    pub other: Option<usize>,
    /// SALib's name: `mu`, `mu_star`, `sigma`, `S1`, `ST`, `S2`.
    pub index: &'static str,
    pub value: f64,
    pub conf: Option<f64>,
}

/// z of a two-sided 95% normal interval.
fn z95() -> f64 {
    normal_quantile(0.975)
}

/// The bootstrap stream shared by every outcome of a job.
fn bootstrap_stream(seed: u64) -> rand_chacha::ChaCha8Rng {
    seeded_stream("clustersim/sensitivity/bootstrap", seed)
}

/// Morris elementary effects `ee[j][t]` of `y` over the unit design `x`
/// (`trajectories · (D + 1)` rows), with jump `delta`.
pub fn elementary_effects(x: &[Vec<f64>], y: &[f64], dims: usize, delta: f64) -> Vec<Vec<f64>> {
    let size = dims + 1;
    let trajectories = y.len() / size;
    let mut ee = vec![vec![0.0; trajectories]; dims];
    for t in 0..trajectories {
        for s in 0..dims {
            let (r0, r1) = (t * size + s, t * size + s + 1);
            for (j, e) in ee.iter_mut().enumerate() {
                let d = x[r1][j] - x[r0][j];
                if d > 0.0 {
                    e[t] += (y[r1] - y[r0]) / delta;
                } else if d < 0.0 {
                    e[t] += (y[r0] - y[r1]) / delta;
                }
            }
        }
    }
    ee
}

/// Morris indices of `y` over the unit design `x`: per parameter `mu`,
/// `mu_star` (with its bootstrap conf over `resamples` resamples) and
/// `sigma`.
pub fn morris(
    x: &[Vec<f64>],
    y: &[f64],
    dims: usize,
    delta: f64,
    resamples: usize,
    seed: u64,
) -> Vec<Index> {
    let ee = elementary_effects(x, y, dims, delta);
    let mut rng = bootstrap_stream(seed);
    let mut out = Vec::new();
    for (j, e) in ee.iter().enumerate() {
        let abs: Vec<f64> = e.iter().map(|v| v.abs()).collect();
        let n = abs.len();
        let boot: Vec<f64> = (0..resamples)
            .map(|_| (0..n).map(|_| abs[rng.random_range(0..n)]).sum::<f64>() / n as f64)
            .collect();
        let index = |index, value, conf| Index {
            parameter: j,
            other: None,
            index,
            value,
            conf,
        };
        out.push(index("mu", mean(e), None));
        out.push(index("mu_star", mean(&abs), Some(z95() * sample_sd(&boot))));
        out.push(index("sigma", sample_sd(e), None));
    }
    out
}

/// Population variance (n in the denominator, numpy's `var`).
fn pvar(xs: &[f64]) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / xs.len() as f64
}

/// The Saltelli blocks of standardised outputs, per base sample.
struct Blocks {
    a: Vec<f64>,
    b: Vec<f64>,
    /// `ab[j][i]`.
    ab: Vec<Vec<f64>>,
    ba: Vec<Vec<f64>>,
}

impl Blocks {
    fn new(y: &[f64], dims: usize, second_order: bool) -> Blocks {
        let step = saltelli_block(dims, second_order);
        let n = y.len() / step;
        let (m, sd) = (mean(y), pvar(y).sqrt());
        let z = |i: usize, k: usize| (y[i * step + k] - m) / sd;
        Blocks {
            a: (0..n).map(|i| z(i, 0)).collect(),
            b: (0..n).map(|i| z(i, step - 1)).collect(),
            ab: (0..dims)
                .map(|j| (0..n).map(|i| z(i, 1 + j)).collect())
                .collect(),
            ba: if second_order {
                (0..dims)
                    .map(|j| (0..n).map(|i| z(i, 1 + dims + j)).collect())
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// (S1_j, ST_j, S2_jk for k > j) over the base samples `rows`.
    fn indices(&self, rows: &[usize], second_order: bool) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let n = rows.len() as f64;
        let pick = |v: &Vec<f64>| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let (a, b) = (pick(&self.a), pick(&self.b));
        let both: Vec<f64> = a.iter().chain(&b).copied().collect();
        let v = pvar(&both);
        let ab: Vec<Vec<f64>> = self.ab.iter().map(pick).collect();
        let s1: Vec<f64> = ab
            .iter()
            .map(|abj| (0..a.len()).map(|i| b[i] * (abj[i] - a[i])).sum::<f64>() / n / v)
            .collect();
        let st: Vec<f64> = ab
            .iter()
            .map(|abj| 0.5 * (0..a.len()).map(|i| (a[i] - abj[i]).powi(2)).sum::<f64>() / n / v)
            .collect();
        let mut s2 = Vec::new();
        if second_order {
            let ba: Vec<Vec<f64>> = self.ba.iter().map(pick).collect();
            for j in 0..ab.len() {
                for k in j + 1..ab.len() {
                    let vjk = (0..a.len())
                        .map(|i| ba[j][i] * ab[k][i] - a[i] * b[i])
                        .sum::<f64>()
                        / n
                        / v;
                    s2.push(vjk - s1[j] - s1[k]);
                }
            }
        }
        (s1, st, s2)
    }
}

/// Sobol indices of `y` over a Saltelli design with `dims` parameters: per
/// parameter `S1` and `ST`, and per pair `S2` with second order, each with
/// its bootstrap conf over `resamples` resamples of the base samples. A
/// constant `y` has no variance to apportion: every value is NaN.
pub fn sobol(
    y: &[f64],
    dims: usize,
    second_order: bool,
    resamples: usize,
    seed: u64,
) -> Vec<Index> {
    let blocks = Blocks::new(y, dims, second_order);
    let n = blocks.a.len();
    let all: Vec<usize> = (0..n).collect();
    let (s1, st, s2) = blocks.indices(&all, second_order);
    let mut rng = bootstrap_stream(seed);
    let mut boot = (
        vec![Vec::new(); dims],
        vec![Vec::new(); dims],
        vec![Vec::new(); s2.len()],
    );
    for _ in 0..resamples {
        let rows: Vec<usize> = (0..n).map(|_| rng.random_range(0..n)).collect();
        let (b1, bt, b2) = blocks.indices(&rows, second_order);
        for (acc, v) in [(&mut boot.0, b1), (&mut boot.1, bt), (&mut boot.2, b2)] {
            for (a, x) in acc.iter_mut().zip(v) {
                a.push(x);
            }
        }
    }
    let conf = |values: &[f64]| z95() * sample_sd(values);
    let mut out = Vec::new();
    for j in 0..dims {
        for (index, value, b) in [("S1", s1[j], &boot.0[j]), ("ST", st[j], &boot.1[j])] {
            out.push(Index {
                parameter: j,
                other: None,
                index,
                value,
                conf: Some(conf(b)),
            });
        }
    }
    let mut pair = 0;
    for j in 0..dims {
        for k in j + 1..dims {
            if second_order {
                out.push(Index {
                    parameter: j,
                    other: Some(k),
                    index: "S2",
                    value: s2[pair],
                    conf: Some(conf(&boot.2[pair])),
                });
                pair += 1;
            }
        }
    }
    out
}

/// The share of the variance of the point outcomes (replicate means) that
/// is replicate noise, from `y[point][replicate]`. Under common random
/// numbers much of a replicate's noise is shared by every point (replicate r
/// is high or low everywhere) and shifts all point means alike; what blurs
/// the differences between points is the rest. So the noise variance is the
/// residual of the two-way layout point × replicate, `σ² = Σ (y_pr − ȳ_p −
/// ȳ_r + ȳ)² / ((P − 1)(R − 1))`, and the share is `(σ² / R) / var_p(ȳ_p)`.
/// Replicates that are not finite at every point are left out; NaN with
/// fewer than two replicates or points left, or no variance over the design.
pub fn noise_share(y: &[Vec<f64>]) -> f64 {
    let reps = y.first().map_or(0, Vec::len);
    let keep: Vec<usize> = (0..reps)
        .filter(|&r| {
            y.iter()
                .all(|row| row.get(r).is_some_and(|v| v.is_finite()))
        })
        .collect();
    let (p, r) = (y.len(), keep.len());
    if p < 2 || r < 2 {
        return f64::NAN;
    }
    let point_means: Vec<f64> = y
        .iter()
        .map(|row| keep.iter().map(|&k| row[k]).sum::<f64>() / r as f64)
        .collect();
    let rep_means: Vec<f64> = keep
        .iter()
        .map(|&k| y.iter().map(|row| row[k]).sum::<f64>() / p as f64)
        .collect();
    let grand = mean(&point_means);
    let mut ss = 0.0;
    for (row, pm) in y.iter().zip(&point_means) {
        for (&k, rm) in keep.iter().zip(&rep_means) {
            ss += (row[k] - pm - rm + grand).powi(2);
        }
    }
    let noise = ss / ((p - 1) * (r - 1)) as f64 / r as f64;
    let total = sample_sd(&point_means).powi(2);
    if total > 0.0 {
        noise / total
    } else {
        f64::NAN
    }
}

/// The sample sizes of a convergence chart: powers of two from `first` up to
/// `full`, then `full` itself.
pub fn convergence_sizes(first: usize, full: usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut n = first.max(1);
    while n < full {
        sizes.push(n);
        n *= 2;
    }
    sizes.push(full);
    sizes
}

#[cfg(test)]
mod tests {
    use super::super::design;
    use super::*;
    use std::f64::consts::PI;

    /// Ishigami on [−π, π]³ from unit coordinates.
    fn ishigami(u: &[f64]) -> f64 {
        let x: Vec<f64> = u.iter().map(|v| -PI + 2.0 * PI * v).collect();
        let (a, b) = (7.0, 0.1);
        x[0].sin() + a * x[1].sin().powi(2) + b * x[2].powi(4) * x[0].sin()
    }

    /// The analytic indices of Ishigami (a = 7, b = 0.1).
    fn ishigami_truth() -> ([f64; 3], [f64; 3], f64) {
        let (a, b) = (7.0_f64, 0.1_f64);
        let pi4 = PI.powi(4);
        let v1 = 0.5 * (1.0 + b * pi4 / 5.0).powi(2);
        let v2 = a * a / 8.0;
        let v13 = b * b * PI.powi(8) * (1.0 / 18.0 - 1.0 / 50.0);
        let v = v1 + v2 + v13;
        (
            [v1 / v, v2 / v, 0.0],
            [(v1 + v13) / v, v2 / v, v13 / v],
            v13 / v,
        )
    }

    fn get<'a>(ix: &'a [Index], name: &str, j: usize) -> &'a Index {
        ix.iter()
            .find(|i| i.index == name && i.parameter == j && i.other.is_none())
            .unwrap()
    }

    #[test]
    fn ishigami_sobol_indices_match_the_analytic_ones() {
        let (s1_true, st_true, s13_true) = ishigami_truth();
        // The analytic values the issue quotes.
        assert!((s1_true[0] - 0.314).abs() < 1e-3 && (st_true[2] - 0.244).abs() < 1e-3);
        let n = 4096;
        let x = design::saltelli(n, 3, true, 2021);
        let y: Vec<f64> = x.iter().map(|u| ishigami(u)).collect();
        let ix = sobol(&y, 3, true, 300, 7);
        for j in 0..3 {
            for (name, truth) in [("S1", s1_true[j]), ("ST", st_true[j])] {
                let i = get(&ix, name, j);
                // The bootstrap conf is 1.96 standard errors of an i.i.d.
                // design of this N; scrambled Sobol' points do better, so
                // 3 standard errors (1.5 conf) is a safe bound that still
                // shrinks like 1/√N.
                let conf = i.conf.unwrap();
                assert!(conf < 0.06, "{name}[{j}] conf {conf} is small at N = {n}");
                let err = (i.value - truth).abs();
                eprintln!("N = {n}: {name}[{j}] = {:.4}, analytic {truth:.4}, error {err:.4}, conf {conf:.4}", i.value);
                assert!(
                    err < 1.5 * conf,
                    "{name}[{j}] = {} vs {truth} (err {err}, conf {conf})",
                    i.value
                );
            }
        }
        let s13 = ix
            .iter()
            .find(|i| i.index == "S2" && i.parameter == 0 && i.other == Some(2))
            .unwrap();
        assert!(
            (s13.value - s13_true).abs() < 1.5 * s13.conf.unwrap(),
            "S2[0,2] = {} vs {s13_true}",
            s13.value
        );
        // Deterministic under the seed; a constant output has no indices.
        assert_eq!(ix, sobol(&y, 3, true, 300, 7));
        assert!(sobol(&vec![1.0; y.len()], 3, true, 10, 7)
            .iter()
            .all(|i| i.value.is_nan()));
    }

    #[test]
    fn ishigami_without_second_order_uses_n_d_plus_2_rows() {
        let (s1_true, st_true, _) = ishigami_truth();
        let x = design::saltelli(2048, 3, false, 3);
        let y: Vec<f64> = x.iter().map(|u| ishigami(u)).collect();
        let ix = sobol(&y, 3, false, 200, 1);
        assert_eq!(ix.len(), 6);
        for j in 0..3 {
            let (s1, st) = (get(&ix, "S1", j), get(&ix, "ST", j));
            assert!((s1.value - s1_true[j]).abs() < 1.5 * s1.conf.unwrap());
            assert!((st.value - st_true[j]).abs() < 1.5 * st.conf.unwrap());
        }
    }

    #[test]
    fn morris_on_a_linear_function_gives_its_coefficients() {
        let coef = [3.0, -1.5, 0.0, 0.25];
        let (lo, hi) = ([0.0, 2.0, -1.0, 0.0], [1.0, 4.0, 1.0, 10.0]);
        for levels in [4, 6] {
            let x = design::morris(30, 4, levels, 11);
            let y: Vec<f64> = x
                .iter()
                .map(|u| {
                    (0..4)
                        .map(|j| coef[j] * (lo[j] + u[j] * (hi[j] - lo[j])))
                        .sum()
                })
                .collect();
            let ix = morris(&x, &y, 4, design::morris_delta(levels), 1000, 3);
            for j in 0..4 {
                // Unscaled effects: per unit-cube step, as SALib.
                let c = coef[j] * (hi[j] - lo[j]);
                assert!((get(&ix, "mu", j).value - c).abs() < 1e-9);
                assert!((get(&ix, "mu_star", j).value - c.abs()).abs() < 1e-9);
                assert!(get(&ix, "sigma", j).value.abs() < 1e-9);
                assert!(get(&ix, "mu_star", j).conf.unwrap() < 1e-9);
            }
        }
    }

    #[test]
    fn morris_sigma_and_conf_see_interactions() {
        // y = x0·x1: the effect of x0 depends on x1.
        let x = design::morris(40, 2, 4, 2);
        let y: Vec<f64> = x.iter().map(|u| u[0] * u[1]).collect();
        let ix = morris(&x, &y, 2, design::morris_delta(4), 1000, 3);
        let m = get(&ix, "mu_star", 0);
        assert!(get(&ix, "sigma", 0).value > 0.1);
        assert!(m.conf.unwrap() > 0.0 && m.conf.unwrap() < m.value);
        assert_eq!(ix, morris(&x, &y, 2, design::morris_delta(4), 1000, 3));
    }

    #[test]
    fn noise_share_is_the_residual_noise_over_the_variance_of_the_means() {
        // Means 5 and 7 (variance 2); residuals ±0.5 on 1 degree of
        // freedom: σ² = 1, noise of a mean of 2 replicates 1/2.
        let share = noise_share(&[vec![0.0, 10.0], vec![1.0, 13.0]]);
        assert!((share - 0.25).abs() < 1e-12, "{share}");
        // Noise that common random numbers share with every point is no noise
        // between points.
        let y: Vec<Vec<f64>> = (0..4)
            .map(|p| (0..5).map(|r| p as f64 + 100.0 * (r * r) as f64).collect())
            .collect();
        assert!(noise_share(&y).abs() < 1e-12);
        // A replicate that is NaN anywhere is left out; one replicate is not enough.
        let mut y2 = vec![vec![0.0, 10.0, f64::NAN], vec![1.0, 13.0, 5.0]];
        assert!((noise_share(&y2) - 0.25).abs() < 1e-12);
        y2[0][1] = f64::NAN;
        assert!(noise_share(&y2).is_nan());
        assert_eq!(convergence_sizes(4, 20), vec![4, 8, 16, 20]);
        assert_eq!(convergence_sizes(4, 16), vec![4, 8, 16]);
    }
}
