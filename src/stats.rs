//! Small-sample statistics for Monte Carlo outputs: means, sample standard
//! deviations, quantiles, confidence intervals for a mean and for differences
//! of means (paired and Welch), and Latin-hypercube designs for `sweep`.
//!
//! Every interval here is a Student-t interval: for a mean of n values it is
//! `mean ± t(1 − α/2, n − 1) · sd/√n`; for a paired difference the same on the
//! per-run differences; for an unpaired difference it is Welch's interval with
//! the Welch–Satterthwaite degrees of freedom. With the 20–1000 runs a study
//! uses, t and normal intervals differ by at most a few percent; t is the
//! conservative choice for the small pilot runs people start with. The t
//! quantile is computed from the regularized incomplete beta function (no
//! tables), accurate to about 1e-10.
//!
//! This module is pure: no I/O, no clock, no global random generator.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

/// The confidence level used by every report in the crate.
pub const LEVEL_95: f64 = 0.95;

/// Why a statistic could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// Too few values for the statistic (an interval needs two).
    #[error("need at least {needed} values for {what}, got {got}")]
    TooFew {
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// The two samples of a paired difference differ in length.
    #[error("paired samples must have the same length, got {base} and {other}")]
    LengthMismatch { base: usize, other: usize },
    /// A value is NaN or infinite.
    #[error("value {index} is not finite ({value})")]
    NonFinite { index: usize, value: f64 },
    /// The confidence level is outside (0, 1).
    #[error("confidence level must be strictly between 0 and 1, got {0}")]
    Level(f64),
}

/// A point estimate with a two-sided confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Number of values (pairs for a paired difference, n₁ + n₂ for Welch).
    pub n: usize,
    /// The estimate: a mean or a difference of means.
    pub estimate: f64,
    /// Its standard error.
    pub se: f64,
    /// Degrees of freedom of the t quantile used.
    pub df: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

impl Interval {
    /// Half the width of the interval.
    pub fn half_width(&self) -> f64 {
        0.5 * (self.hi - self.lo)
    }

    /// True when zero lies outside the interval (a "significant" difference).
    pub fn excludes_zero(&self) -> bool {
        self.lo > 0.0 || self.hi < 0.0
    }
}

/// Arithmetic mean; NaN for an empty slice.
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (divisor n − 1); NaN for fewer than two values.
pub fn sample_sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return f64::NAN;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (xs.len() - 1) as f64).sqrt()
}

/// Quantile `p` of already sorted values by linear interpolation between
/// order statistics (R's type 7, numpy's default): position `(n − 1)·p`.
/// NaN for an empty slice; `p` is clamped to [0, 1].
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Quantile `p` of unsorted values (type 7, see [`quantile_sorted`]).
/// NaN values sort last, so callers should pass finite values.
pub fn quantile(xs: &[f64], p: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, p)
}

/// Standard normal quantile (Acklam's rational approximation; relative error
/// below 1.2e-9, ample for interval widths).
pub fn normal_quantile(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p_low = 0.02425;
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    }
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; about 15 digits).
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction of the incomplete beta function (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// Regularized incomplete beta function I_x(a, b).
fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cf(a, b, x) / a
    } else {
        1.0 - front * beta_cf(b, a, 1.0 - x) / b
    }
}

/// Cumulative distribution function of Student's t with `df` > 0 degrees of
/// freedom (non-integer `df` allowed, as Welch's interval needs).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * beta_inc(0.5 * df, 0.5, df / (df + t * t));
    if t > 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Quantile `p` of Student's t with `df` > 0 degrees of freedom, found by
/// bisection on [`t_cdf`]; above 1e7 degrees of freedom the normal quantile.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return if p <= 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    if df > 1e7 {
        return normal_quantile(p);
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    if p == 0.5 {
        return 0.0;
    }
    let mut hi = 1.0;
    while t_cdf(hi, df) < p && hi < 1e300 {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

fn check_level(level: f64) -> Result<(), StatsError> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(StatsError::Level(level))
    }
}

fn check_finite(xs: &[f64]) -> Result<(), StatsError> {
    match xs.iter().position(|x| !x.is_finite()) {
        Some(index) => Err(StatsError::NonFinite {
            index,
            value: xs[index],
        }),
        None => Ok(()),
    }
}

fn check_len(what: &'static str, xs: &[f64], needed: usize) -> Result<(), StatsError> {
    if xs.len() < needed {
        Err(StatsError::TooFew {
            what,
            needed,
            got: xs.len(),
        })
    } else {
        Ok(())
    }
}

/// The mean of `xs` with its Student-t interval at `level` (e.g. 0.95).
pub fn mean_interval(xs: &[f64], level: f64) -> Result<Interval, StatsError> {
    check_level(level)?;
    check_len("a confidence interval", xs, 2)?;
    check_finite(xs)?;
    let n = xs.len();
    let m = mean(xs);
    let se = sample_sd(xs) / (n as f64).sqrt();
    let df = (n - 1) as f64;
    let h = t_quantile(0.5 + level / 2.0, df) * se;
    Ok(Interval {
        n,
        estimate: m,
        se,
        df,
        lo: m - h,
        hi: m + h,
    })
}

/// The paired mean difference `other − base` (run r of `other` minus run r
/// of `base`), with the t interval of the per-run differences. Under common
/// random numbers the runs are positively correlated, which makes this
/// interval narrower than [`welch_difference`] on the same values.
pub fn paired_difference(base: &[f64], other: &[f64], level: f64) -> Result<Interval, StatsError> {
    if base.len() != other.len() {
        return Err(StatsError::LengthMismatch {
            base: base.len(),
            other: other.len(),
        });
    }
    check_finite(base)?;
    check_finite(other)?;
    let d: Vec<f64> = other.iter().zip(base).map(|(o, b)| o - b).collect();
    check_len("a paired difference", &d, 2)?;
    mean_interval(&d, level)
}

/// The unpaired difference of means `mean(other) − mean(base)` with Welch's
/// interval (separate variances, Welch–Satterthwaite degrees of freedom).
/// `n` of the result is the total number of values. When both samples have
/// zero variance the interval is the point itself.
pub fn welch_difference(base: &[f64], other: &[f64], level: f64) -> Result<Interval, StatsError> {
    check_level(level)?;
    check_len("a Welch interval (base sample)", base, 2)?;
    check_len("a Welch interval (other sample)", other, 2)?;
    check_finite(base)?;
    check_finite(other)?;
    let (n1, n2) = (base.len() as f64, other.len() as f64);
    let (v1, v2) = (sample_sd(base).powi(2) / n1, sample_sd(other).powi(2) / n2);
    let se2 = v1 + v2;
    let est = mean(other) - mean(base);
    let df = if se2 > 0.0 {
        se2 * se2 / (v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0))
    } else {
        n1 + n2 - 2.0
    };
    let se = se2.sqrt();
    let h = t_quantile(0.5 + level / 2.0, df) * se;
    Ok(Interval {
        n: base.len() + other.len(),
        estimate: est,
        se,
        df,
        lo: est - h,
        hi: est + h,
    })
}

/// A ChaCha8 stream keyed by SHA-256(`label` ‖ `seed`): the generator of every
/// seeded design and resampling outside the model (Latin hypercubes,
/// sensitivity designs and bootstraps), one stream family per label, separate
/// from the model's run streams.
pub fn seeded_stream(label: &str, seed: u64) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(label.as_bytes());
    h.update(seed.to_le_bytes());
    ChaCha8Rng::from_seed(h.finalize().into())
}

/// A Latin-hypercube design of `points` points in the unit cube `[0, 1)^dims`,
/// returned point-major (`design[point][dim]`). Each dimension is cut into
/// `points` equal strata and every stratum holds exactly one point.
///
/// The generator is ChaCha8 keyed by SHA-256("clustersim/lhs" ‖ seed), a
/// stream family separate from the model's run streams. Draw order: for each
/// dimension in turn, a shuffle of the strata, then one uniform offset per
/// point in point order. The same seed gives the same design.
pub fn latin_hypercube(points: usize, dims: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = seeded_stream("clustersim/lhs", seed);
    let k = points as f64;
    let columns: Vec<Vec<f64>> = (0..dims)
        .map(|_| {
            let mut strata: Vec<usize> = (0..points).collect();
            strata.shuffle(&mut rng);
            strata
                .into_iter()
                .map(|s| {
                    let u: f64 = rng.random();
                    (s as f64 + u) / k
                })
                .collect()
        })
        .collect();
    (0..points)
        .map(|p| columns.iter().map(|c| c[p]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn mean_and_sample_sd_match_hand_values() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&xs), 5.0);
        // Σ(x − 5)² = 32, divided by n − 1 = 7.
        assert!(close(sample_sd(&xs), (32.0_f64 / 7.0).sqrt(), 1e-14));
        assert!(mean(&[]).is_nan());
        assert!(sample_sd(&[1.0]).is_nan());
    }

    #[test]
    fn quantiles_interpolate_like_type_7() {
        let xs = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(&xs, 0.0), 1.0);
        assert_eq!(quantile(&xs, 1.0), 4.0);
        assert!(close(quantile(&xs, 0.25), 1.75, 1e-14));
        assert!(close(quantile(&xs, 0.5), 2.5, 1e-14));
        assert!(close(quantile(&xs, 0.95), 3.85, 1e-14));
        assert_eq!(quantile(&[7.0], 0.3), 7.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn t_and_normal_quantiles_match_tables() {
        // Reference values from R: qt(0.975, df), qnorm(p).
        assert!(close(t_quantile(0.975, 1.0), 12.706_204_736_174_7, 1e-8));
        assert!(close(t_quantile(0.975, 2.0), 4.302_652_729_749_46, 1e-9));
        assert!(close(t_quantile(0.975, 9.0), 2.262_157_162_798_2, 1e-9));
        assert!(close(t_quantile(0.975, 30.0), 2.042_272_456_301_24, 1e-9));
        assert!(close(t_quantile(0.95, 99.0), 1.660_391_156_017_0, 1e-9));
        assert!(close(t_quantile(0.025, 9.0), -2.262_157_162_798_2, 1e-9));
        assert!(close(t_quantile(0.975, 5.5), 2.501_858_617_589_2, 1e-9));
        assert!(close(normal_quantile(0.975), 1.959_963_984_540_05, 3e-9));
        assert!(close(normal_quantile(0.001), -3.090_232_306_167_81, 4e-9));
        assert!(close(t_quantile(0.975, 1e8), 1.959_963_984_540_05, 3e-9));
        assert!(close(t_cdf(0.0, 4.0), 0.5, 1e-15));
        assert!(close(t_cdf(2.776_445_105_197_8, 4.0), 0.975, 1e-10));
    }

    #[test]
    fn mean_interval_matches_hand_computation() {
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let iv = mean_interval(&xs, LEVEL_95).unwrap();
        // sd = √(82.5/9), se = sd/√10, half width = qt(0.975, 9)·se.
        let se = (82.5_f64 / 9.0).sqrt() / 10f64.sqrt();
        let h = 2.262_157_162_798_2 * se;
        assert_eq!(iv.n, 10);
        assert_eq!(iv.df, 9.0);
        assert!(close(iv.estimate, 5.5, 1e-14));
        assert!(close(iv.se, se, 1e-14));
        assert!(close(iv.lo, 5.5 - h, 1e-9));
        assert!(close(iv.hi, 5.5 + h, 1e-9));
        assert!(iv.excludes_zero());
    }

    #[test]
    fn interval_errors_are_typed() {
        assert_eq!(
            mean_interval(&[1.0], LEVEL_95),
            Err(StatsError::TooFew {
                what: "a confidence interval",
                needed: 2,
                got: 1
            })
        );
        assert_eq!(
            paired_difference(&[1.0, 2.0], &[1.0], LEVEL_95),
            Err(StatsError::LengthMismatch { base: 2, other: 1 })
        );
        assert!(matches!(
            mean_interval(&[1.0, f64::NAN], LEVEL_95),
            Err(StatsError::NonFinite { index: 1, .. })
        ));
        assert_eq!(mean_interval(&[1.0, 2.0], 1.0), Err(StatsError::Level(1.0)));
    }

    #[test]
    fn welch_matches_hand_computation() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [2.0, 4.0, 6.0, 8.0, 10.0];
        let iv = welch_difference(&a, &b, LEVEL_95).unwrap();
        // var(a)/4 = (5/3)/4, var(b)/5 = 10/5; Welch–Satterthwaite df by hand.
        let (v1, v2) = (5.0 / 12.0, 2.0);
        let df = (v1 + v2) * (v1 + v2) / (v1 * v1 / 3.0 + v2 * v2 / 4.0);
        assert!(close(iv.estimate, 3.5, 1e-14));
        assert!(close(iv.df, df, 1e-12));
        assert!(close(iv.se, (v1 + v2).sqrt(), 1e-14));
        let h = t_quantile(0.975, df) * (v1 + v2).sqrt();
        assert!(close(iv.hi - iv.lo, 2.0 * h, 1e-12));
        // df ≈ 5.52, so the quantile lies between qt(.975, 5) and qt(.975, 6).
        assert!(df > 5.0 && df < 6.0);
        let q = t_quantile(0.975, df);
        assert!(q < 2.570_581_836 && q > 2.446_911_851);
    }

    #[test]
    fn paired_interval_is_narrower_for_correlated_samples() {
        // Each run shares a large common component; the scenario adds ~0.5.
        let base = [10.0, 14.0, 8.0, 12.0, 20.0, 6.0, 16.0, 11.0];
        let shift = [0.4, 0.6, 0.5, 0.7, 0.3, 0.5, 0.6, 0.4];
        let other: Vec<f64> = base.iter().zip(shift).map(|(b, s)| b + s).collect();
        let paired = paired_difference(&base, &other, LEVEL_95).unwrap();
        let welch = welch_difference(&base, &other, LEVEL_95).unwrap();
        assert!(close(paired.estimate, 0.5, 1e-12));
        assert!(close(welch.estimate, 0.5, 1e-12));
        assert!(paired.excludes_zero());
        assert!(!welch.excludes_zero());
        assert!(paired.half_width() * 10.0 < welch.half_width());
    }

    #[test]
    fn latin_hypercube_fills_every_stratum_once_and_repeats() {
        let (k, dims) = (17, 3);
        let design = latin_hypercube(k, dims, 42);
        assert_eq!(design.len(), k);
        for d in 0..dims {
            let mut strata: Vec<usize> = design
                .iter()
                .map(|p| {
                    assert!((0.0..1.0).contains(&p[d]));
                    (p[d] * k as f64).floor() as usize
                })
                .collect();
            strata.sort_unstable();
            assert_eq!(strata, (0..k).collect::<Vec<_>>());
        }
        assert_eq!(design, latin_hypercube(k, dims, 42));
        assert_ne!(design, latin_hypercube(k, dims, 43));
        assert!(latin_hypercube(0, 2, 1).is_empty());
    }
}
