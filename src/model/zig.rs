//! The standard normal and the standard exponential, drawn exactly as
//! `rand_distr::StandardNormal` and `rand_distr::Exp1` draw them (the same
//! ziggurat, the same tables, the same words of the stream consumed), but
//! with the common case — one word, one multiplication, one comparison,
//! about 99% of draws — inlined where it is called and the rest out of line.
//! rand_distr's sampler is one generic function called per draw; a
//! firm-step takes two normals, and the incumbents' warm-up two per warm-up
//! step, so the call and its frame were a tenth of a run's instructions.
//!
//! Same values bit for bit, so no record changes (tests below compare with
//! rand_distr on millions of draws, through every branch). The rare
//! branches call the platform's `exp` and `ln`, as rand_distr does
//! (docs/model.md §7).

use super::zig_tables::{ZIG_EXP_F, ZIG_EXP_R, ZIG_EXP_X, ZIG_NORM_F, ZIG_NORM_R, ZIG_NORM_X};
use rand::distr::Open01;
use rand::Rng;

/// The exponent bits of [1, 2) and of [2, 4) (rand's `into_float_with_exponent`
/// with exponents 0 and 1).
const EXP_0: u64 = 1023 << 52;
const EXP_1: u64 = 1024 << 52;

/// Layer `i` and the value `x` of the ziggurat's first try for the normal
/// (symmetric: u in [−1, 1)).
#[inline(always)]
fn normal_try(bits: u64) -> (usize, f64, f64) {
    let i = bits as usize & 0xff;
    let u = f64::from_bits((bits >> 12) | EXP_1) - 3.0;
    (i, u, u * ZIG_NORM_X[i])
}

/// A standard normal draw: `rng.sample(rand_distr::StandardNormal)`, bit for
/// bit and word for word.
#[inline(always)]
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let (i, u, x) = normal_try(rng.next_u64());
    if x.abs() < ZIG_NORM_X[i + 1] {
        x
    } else {
        normal_rest(rng, i, u, x)
    }
}

/// The normal ziggurat after a first try outside its layer's rectangle:
/// the tail (layer 0), the wedge test, and the tries that follow a
/// rejection (rand_distr's loop from there on).
#[cold]
#[inline(never)]
fn normal_rest<R: Rng + ?Sized>(rng: &mut R, mut i: usize, mut u: f64, mut x: f64) -> f64 {
    loop {
        if i == 0 {
            return normal_tail(rng, u);
        }
        let f = ZIG_NORM_F[i + 1] + (ZIG_NORM_F[i] - ZIG_NORM_F[i + 1]) * rng.random::<f64>();
        if f < (-x * x / 2.0).exp() {
            return x;
        }
        (i, u, x) = normal_try(rng.next_u64());
        if x.abs() < ZIG_NORM_X[i + 1] {
            return x;
        }
    }
}

/// A draw from the normal's tail beyond the base layer, on the side of `u`.
fn normal_tail<R: Rng + ?Sized>(rng: &mut R, u: f64) -> f64 {
    let mut x = 1.0f64;
    let mut y = 0.0f64;
    while -2.0 * y < x * x {
        let x_: f64 = rng.sample(Open01);
        let y_: f64 = rng.sample(Open01);
        x = x_.ln() / ZIG_NORM_R;
        y = y_.ln();
    }
    if u < 0.0 {
        x - ZIG_NORM_R
    } else {
        ZIG_NORM_R - x
    }
}

/// Layer `i` and the value `x` of the ziggurat's first try for the
/// exponential (one-sided: u in (0, 1)).
#[inline(always)]
fn exp_try(bits: u64) -> (usize, f64) {
    let i = bits as usize & 0xff;
    let u = f64::from_bits((bits >> 12) | EXP_0) - (1.0 - f64::EPSILON / 2.0);
    (i, u * ZIG_EXP_X[i])
}

/// A standard exponential draw: `rng.sample(rand_distr::Exp1)`, bit for bit
/// and word for word.
#[inline(always)]
pub fn exp1<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let (i, x) = exp_try(rng.next_u64());
    if x < ZIG_EXP_X[i + 1] {
        x
    } else {
        exp_rest(rng, i, x)
    }
}

/// The exponential ziggurat after a first try outside its layer's
/// rectangle (see `normal_rest`).
#[cold]
#[inline(never)]
fn exp_rest<R: Rng + ?Sized>(rng: &mut R, mut i: usize, mut x: f64) -> f64 {
    loop {
        if i == 0 {
            return ZIG_EXP_R - rng.random::<f64>().ln();
        }
        let f = ZIG_EXP_F[i + 1] + (ZIG_EXP_F[i] - ZIG_EXP_F[i + 1]) * rng.random::<f64>();
        if f < (-x).exp() {
            return x;
        }
        (i, x) = exp_try(rng.next_u64());
        if x < ZIG_EXP_X[i + 1] {
            return x;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::zig_tables::{ZIG_EXP_F, ZIG_EXP_X, ZIG_NORM_F, ZIG_NORM_X};
    use super::{exp1, standard_normal};
    use rand::{Rng, RngCore, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Exp1, StandardNormal};

    /// Draws `n` values with `ours` and with rand_distr's `theirs` from two
    /// copies of one stream; asserts equal bits draw by draw and that the two
    /// streams stay at the same word. Returns how many draws left the
    /// first rectangle (the out-of-line path).
    fn same_as_rand_distr(
        seed: u64,
        n: usize,
        ours: impl Fn(&mut ChaCha8Rng) -> f64,
        theirs: impl Fn(&mut ChaCha8Rng) -> f64,
        first_ok: impl Fn(u64) -> bool,
    ) -> usize {
        let mut a = ChaCha8Rng::seed_from_u64(seed);
        let mut b = ChaCha8Rng::seed_from_u64(seed);
        let mut probe = ChaCha8Rng::seed_from_u64(seed);
        let mut slow = 0;
        for k in 0..n {
            // The word the next draw starts with, to count the slow path.
            probe.set_word_pos(a.get_word_pos());
            if !first_ok(probe.next_u64()) {
                slow += 1;
            }
            let (x, y) = (ours(&mut a), theirs(&mut b));
            assert_eq!(x.to_bits(), y.to_bits(), "draw {k}: {x} against {y}");
            assert_eq!(a.get_word_pos(), b.get_word_pos(), "draw {k}");
        }
        slow
    }

    #[test]
    fn standard_normal_is_rand_distrs() {
        let n = 3_000_000;
        let first_ok = |bits: u64| {
            let (i, _, x) = super::normal_try(bits);
            x.abs() < ZIG_NORM_X[i + 1]
        };
        let slow = same_as_rand_distr(
            3,
            n,
            standard_normal,
            |r| r.sample(StandardNormal),
            first_ok,
        );
        // About 1.2% of first tries leave the rectangle; the tail (layer 0)
        // is about 0.03% of draws, some hundreds here.
        assert!(slow > n / 200 && slow < n / 40, "{slow} slow draws of {n}");
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let tails = (0..n)
            .filter(|_| standard_normal(&mut rng).abs() > ZIG_NORM_X[1])
            .count();
        assert!(tails > 100, "{tails} draws from the tail");
    }

    #[test]
    fn exp1_is_rand_distrs() {
        let n = 3_000_000;
        let first_ok = |bits: u64| {
            let (i, x) = super::exp_try(bits);
            x < ZIG_EXP_X[i + 1]
        };
        let slow = same_as_rand_distr(5, n, exp1, |r| r.sample(Exp1), first_ok);
        assert!(slow > n / 400 && slow < n / 20, "{slow} slow draws of {n}");
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        let tails = (0..n).filter(|_| exp1(&mut rng) > ZIG_EXP_X[1]).count();
        assert!(tails > 100, "{tails} draws from the tail");
    }

    /// Each table's F is the density at its X (the ziggurat's definition),
    /// the X decrease from the tail's edge to 0, and the last F is the
    /// density's peak: a row copied wrong, dropped or shifted fails.
    #[test]
    fn tables_are_ziggurats() {
        for (xs, fs, pdf) in [
            (
                &ZIG_NORM_X,
                &ZIG_NORM_F,
                (|x: f64| (-x * x / 2.0).exp()) as fn(f64) -> f64,
            ),
            (&ZIG_EXP_X, &ZIG_EXP_F, |x: f64| (-x).exp()),
        ] {
            assert_eq!(xs[256], 0.0);
            assert_eq!(fs[256], 1.0);
            for i in 0..257 {
                assert!(i == 0 || xs[i] < xs[i - 1], "x[{i}]");
                let rel = (fs[i] - pdf(xs[i])).abs() / pdf(xs[i]);
                assert!(rel < 1e-13, "f[{i}] = {} against {}", fs[i], pdf(xs[i]));
            }
        }
    }
}
