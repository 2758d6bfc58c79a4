//! Bernoulli trials by geometric gaps: a run of independent trials that
//! each succeed with the same probability p, drawn as the gaps between
//! successes instead of one uniform per trial.
//!
//! The gap G (failures before the next success) is ⌊ln U / ln(1 − p)⌋ with
//! U uniform on (0, 1]: P(G ≥ k) = P(U ≤ (1 − p)^k) = (1 − p)^k, the
//! geometric law of the gaps of i.i.d. Bernoulli(p) trials. So the set of
//! successes has the same law as with one draw per trial, while a run of n
//! trials costs about n·p + 1 draws. Used where p is small and the trials
//! are many: link dissolution (MODEL.md §4.4) and the first look at
//! residents in relocation (§4.6).

use rand::Rng;

use super::logn::ln;
use crate::rng::Stream;

/// Successes of Bernoulli(p) trials, one trial per call of [`Gaps::hit`].
#[derive(Debug, Clone)]
pub struct Gaps {
    /// ln(1 − p) (−∞ for p = 1, 0 for p = 0).
    ln_q: f64,
    /// Failures left before the next success.
    left: u64,
}

impl Gaps {
    /// Trials with success probability `p` (clamped to [0, 1]); draws the
    /// first gap from `rng`.
    pub fn new(p: f64, rng: &mut Stream) -> Self {
        let p = p.clamp(0.0, 1.0);
        let mut g = Self {
            ln_q: (-p).ln_1p(),
            left: 0,
        };
        g.left = g.gap(rng);
        g
    }

    /// One draw: failures before the next success (u64::MAX, i.e. never,
    /// for p = 0).
    fn gap(&self, rng: &mut Stream) -> u64 {
        if self.ln_q == 0.0 {
            return u64::MAX;
        }
        // U on (0, 1]: 1 − a uniform on [0, 1).
        let u = 1.0 - rng.random::<f64>();
        // A float-to-integer cast saturates (and ln U / −∞ is 0 for p = 1).
        (ln(u) / self.ln_q).floor() as u64
    }

    /// The next trial: whether it succeeds (then the next gap is drawn).
    #[inline]
    pub fn hit(&mut self, rng: &mut Stream) -> bool {
        self.hit_if(true, rng)
    }

    /// A trial if `trial` (then as `hit`), else nothing (`false`): the same
    /// as `trial && self.hit(rng)`, with no branch on `trial` but where a
    /// success is due (for a test that is about as often true as false,
    /// which a branch would often mispredict).
    #[inline]
    pub fn hit_if(&mut self, trial: bool, rng: &mut Stream) -> bool {
        // A trial with no failure left borrows: that is the success.
        let (left, success) = self.left.overflowing_sub(u64::from(trial));
        self.left = left;
        if success {
            self.left = self.gap(rng);
        }
        success
    }

    /// The first success among the next `n` trials: its index k (0-based)
    /// with trials 0..=k used up (and the next gap drawn), or `None` with
    /// all `n` used up. Trial by trial, the same as `hit`.
    #[inline]
    pub fn next_within(&mut self, n: u64, rng: &mut Stream) -> Option<u64> {
        if self.left < n {
            let at = self.left;
            self.left = self.gap(rng);
            Some(at)
        } else {
            self.left -= n;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Gaps;
    use rand::SeedableRng;

    fn rng(seed: u64) -> crate::rng::Stream {
        crate::rng::Stream::seed_from_u64(seed)
    }

    /// The success rate and the run lengths are those of Bernoulli(p)
    /// trials: the share of successes is p within 5 standard errors, and
    /// successes on two consecutive trials occur at rate p² (independence);
    /// p = 0 never succeeds, p = 1 always does.
    #[test]
    fn gaps_are_bernoulli_trials() {
        for (seed, p) in [(1u64, 0.025), (2, 0.3), (3, 0.9)] {
            let mut r = rng(seed);
            let mut g = Gaps::new(p, &mut r);
            let n = 400_000u64;
            let hits: Vec<bool> = (0..n).map(|_| g.hit(&mut r)).collect();
            let k = hits.iter().filter(|&&h| h).count() as f64;
            let se = (p * (1.0 - p) * n as f64).sqrt();
            assert!((k - p * n as f64).abs() < 5.0 * se, "p {p}: {k} hits");
            let pairs = hits.windows(2).filter(|w| w[0] && w[1]).count() as f64;
            let p2 = p * p;
            let se2 = (p2 * (1.0 - p2) * n as f64).sqrt();
            assert!(
                (pairs - p2 * n as f64).abs() < 5.0 * se2,
                "p {p}: {pairs} pairs"
            );
        }
        let mut r = rng(4);
        let mut never = Gaps::new(0.0, &mut r);
        assert!((0..10_000).all(|_| !never.hit(&mut r)));
        let mut always = Gaps::new(1.0, &mut r);
        assert!((0..10_000).all(|_| always.hit(&mut r)));
    }

    /// `next_within` finds the same successes as trial-by-trial `hit`.
    #[test]
    fn next_within_is_hit_in_blocks() {
        let (mut r1, mut r2) = (rng(9), rng(9));
        let (mut a, mut b) = (Gaps::new(0.1, &mut r1), Gaps::new(0.1, &mut r2));
        let by_hit: Vec<u64> = (0..5_000u64).filter(|_| a.hit(&mut r1)).collect();
        let mut by_block = Vec::new();
        let mut at = 0u64;
        for len in [7u64, 1, 0, 130, 2_000, 13, 2_849] {
            let mut start = 0;
            while let Some(k) = b.next_within(len - start, &mut r2) {
                by_block.push(at + start + k);
                start += k + 1;
            }
            at += len;
        }
        assert_eq!(at, 5_000);
        assert_eq!(by_hit, by_block);
    }

    /// `hit_if(trial)` is `trial && hit()`: the same successes, the same
    /// draws, over a mix of trials and non-trials (about half each), at a
    /// rare and a common success rate; a non-trial is never a success.
    #[test]
    fn hit_if_is_a_trial_only_when_asked() {
        for (seed, p) in [(11u64, 0.05), (12, 0.6)] {
            let (mut r1, mut r2, mut coin) = (rng(seed), rng(seed), rng(seed + 100));
            let (mut a, mut b) = (Gaps::new(p, &mut r1), Gaps::new(p, &mut r2));
            let mut successes = 0;
            for _ in 0..20_000 {
                let trial = rand::Rng::random::<bool>(&mut coin);
                let want = trial && a.hit(&mut r1);
                assert_eq!(b.hit_if(trial, &mut r2), want);
                successes += u32::from(want);
            }
            assert!(successes > 100, "p {p}: {successes}");
            assert_eq!(
                rand::Rng::random::<u64>(&mut r1),
                rand::Rng::random::<u64>(&mut r2)
            );
        }
    }
}
