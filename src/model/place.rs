//! The initial placement's fallback (MODEL.md §5): an incumbent that found
//! no cluster in its tries goes to the operating cluster with land room for
//! its plot and the most labour slack, the first such cluster on a tie.
//! [`SlackTree`] finds that cluster without reading every cluster: a tree
//! over the clusters by id keeps each range's largest slack and largest
//! land room (−∞ for a cluster not operating), and a search descends only
//! into ranges that could hold a better cluster with room. It returns the
//! cluster a scan over all of them returns (a test checks it), after
//! reading a few hundred nodes instead of every cluster (386 on average at
//! `hanoi ×200`, of 14,000 clusters): the scan made the initial world's
//! cost grow as firms × clusters (60 ms of `hanoi ×200`'s, 3.8 s of
//! `hanoi ×1000`'s).

use std::cmp::Ordering;

/// The largest labour slack and land room over each range of the clusters
/// (by place: the world's cluster id); a cluster that takes no firm has
/// room −∞, which no search enters.
#[derive(Debug, Clone)]
pub struct SlackTree {
    /// Leaves: a power of two, at least the number of clusters. Node 1 is
    /// the root, node k's children are 2k and 2k + 1, leaf p is node
    /// `leaves + p`.
    leaves: usize,
    /// The largest slack of each node's range (by `f64::total_cmp`), −∞
    /// for padding.
    slack: Vec<f64>,
    /// The largest room of each node's range, −∞ for padding.
    room: Vec<f64>,
    /// How far a cluster's room, as computed, may fall short of a plot the
    /// exact test still accepts (rounding; see [`SlackTree::best`]).
    margin: f64,
}

/// The larger of two slacks by `total_cmp` (the order of the scan).
fn max_total(a: f64, b: f64) -> f64 {
    if b.total_cmp(&a) == Ordering::Greater {
        b
    } else {
        a
    }
}

impl SlackTree {
    /// The tree over clusters given as (slack, room, scale) in list order:
    /// slack = labour pool − employment, room = max_occupancy · area −
    /// occupied, scale = max(max_occupancy · area, occupied) (for the
    /// rounding margin).
    pub fn new(clusters: impl ExactSizeIterator<Item = (f64, f64, f64)>) -> Self {
        let leaves = clusters.len().max(1).next_power_of_two();
        let mut t = SlackTree {
            leaves,
            slack: vec![f64::NEG_INFINITY; 2 * leaves],
            room: vec![f64::NEG_INFINITY; 2 * leaves],
            margin: 0.0,
        };
        for (p, (slack, room, scale)) in clusters.enumerate() {
            t.slack[leaves + p] = slack;
            t.room[leaves + p] = room;
            t.widen(scale);
        }
        for k in (1..leaves).rev() {
            t.pull(k);
        }
        t
    }

    /// The margin for values up to `scale`: the exact test is
    /// `occupied + plot ≤ max_occupancy · area + 10⁻¹²` in floating point,
    /// whose roundings (a relative 2⁻⁵³ each, on values up to `scale`) and
    /// the room's own let it accept a plot at most a few ulps of `scale`
    /// above the room; 10⁻⁹ · (1 + scale) + 10⁻¹² covers them many times.
    fn widen(&mut self, scale: f64) {
        self.margin = self.margin.max(1e-12 + 1e-9 * (1.0 + scale.abs()));
    }

    /// Node k's values from its children's; whether they changed (bit for
    /// bit).
    fn pull(&mut self, k: usize) -> bool {
        let slack = max_total(self.slack[2 * k], self.slack[2 * k + 1]);
        let room = self.room[2 * k].max(self.room[2 * k + 1]);
        let same =
            slack.to_bits() == self.slack[k].to_bits() && room.to_bits() == self.room[k].to_bits();
        (self.slack[k], self.room[k]) = (slack, room);
        !same
    }

    /// Cluster `p` (its place in the list) now has this slack, room and
    /// scale (as in [`SlackTree::new`]). The nodes above it are redone up
    /// to the first that does not change (those above it depend on it
    /// only through its values): a placement lowers the maxima of a few
    /// nodes at most.
    pub fn set(&mut self, p: usize, slack: f64, room: f64, scale: f64) {
        let mut k = self.leaves + p;
        self.slack[k] = slack;
        self.room[k] = room;
        self.widen(scale);
        while k > 1 {
            k /= 2;
            if !self.pull(k) {
                break;
            }
        }
    }

    /// The place of the cluster with the largest slack (by `total_cmp`)
    /// among those `fits` accepts, the first on a tie; `None` if it accepts
    /// none. `fits(p)` must accept cluster p only if the plot `land` is at
    /// most its room plus the margin (the exact land test does), and is
    /// asked only of clusters that could be the answer.
    pub fn best(&self, land: f64, fits: impl Fn(usize) -> bool) -> Option<usize> {
        let mut best = None;
        self.search(1, 0, self.leaves, land, &fits, &mut best);
        best.map(|(_, p)| p)
    }

    fn search(
        &self,
        k: usize,
        lo: usize,
        width: usize,
        land: f64,
        fits: &impl Fn(usize) -> bool,
        best: &mut Option<(f64, usize)>,
    ) {
        // No cluster here has room (padding's room is −∞).
        if self.room[k] + self.margin < land {
            return;
        }
        // None here beats the best so far: less slack, or as much and
        // every place after the best's.
        if let Some((slack, p)) = *best {
            match self.slack[k].total_cmp(&slack) {
                Ordering::Less => return,
                Ordering::Equal if lo > p => return,
                _ => {}
            }
        }
        if width == 1 {
            if fits(lo) {
                *best = Some((self.slack[k], lo));
            }
            return;
        }
        // The child with more slack first (the left one on a tie), so that
        // the best so far prunes the other.
        let half = width / 2;
        let (l, r) = (2 * k, 2 * k + 1);
        if self.slack[r].total_cmp(&self.slack[l]) == Ordering::Greater {
            self.search(r, lo + half, half, land, fits, best);
            self.search(l, lo, half, land, fits, best);
        } else {
            self.search(l, lo, half, land, fits, best);
            self.search(r, lo + half, half, land, fits, best);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SlackTree;
    use rand::{Rng, SeedableRng};

    /// The scan the tree replaces (`World::init_firms` before it): the
    /// largest slack among the clusters with room, the first on a tie.
    fn scan(slack: &[f64], occupied: &[f64], cap: &[f64], land: f64) -> Option<usize> {
        (0..slack.len())
            .filter(|&p| occupied[p] + land <= cap[p] + 1e-12)
            .max_by(|&a, &b| slack[a].total_cmp(&slack[b]).then(b.cmp(&a)))
    }

    /// Through placements that change one cluster at a time, the tree
    /// returns the scan's cluster for every plot: with slacks drawn from a
    /// few values (many ties, and +0.0 against −0.0, which `total_cmp`
    /// orders), clusters filled to their cap or a rounding away from it,
    /// plots that fit nowhere, and lists of 1 to 300 clusters (padding).
    /// With the tie rule or the room test of the search broken, it fails.
    #[test]
    fn the_tree_finds_the_scans_cluster() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut searches = (0, 0);
        for n in [1usize, 2, 3, 7, 64, 65, 300] {
            let slack: Vec<f64> = (0..n)
                .map(|_| match rng.random_range(0..6) {
                    0 => 0.0,
                    1 => -0.0,
                    2 => 5.0,
                    3 => -3.0,
                    _ => rng.random_range(-10.0..10.0),
                })
                .collect();
            let cap: Vec<f64> = (0..n).map(|_| rng.random_range(0.0..50.0)).collect();
            let mut slack = slack;
            let mut occupied: Vec<f64> = cap.iter().map(|&c| c * rng.random::<f64>()).collect();
            let entry = |p: usize, s: &[f64], o: &[f64]| (s[p], cap[p] - o[p], cap[p].max(o[p]));
            let mut tree = SlackTree::new((0..n).map(|p| entry(p, &slack, &occupied)));
            for _ in 0..400 {
                let land = match rng.random_range(0..4) {
                    0 => 60.0,
                    1 => {
                        // Exactly a cluster's room, or a rounding above it.
                        let p = rng.random_range(0..n);
                        let r = cap[p] - occupied[p];
                        if rng.random() {
                            r
                        } else {
                            r + 1e-13
                        }
                    }
                    _ => rng.random_range(0.0..10.0),
                };
                let want = scan(&slack, &occupied, &cap, land);
                let got = tree.best(land, |p| occupied[p] + land <= cap[p] + 1e-12);
                assert_eq!(got, want, "n {n}, plot {land}");
                searches.0 += 1;
                searches.1 += usize::from(want.is_some());
                // Place it there (or change a cluster at random).
                let p = want.unwrap_or_else(|| rng.random_range(0..n));
                occupied[p] += land.min(cap[p]);
                slack[p] = match rng.random_range(0..3) {
                    0 => 0.0,
                    _ => slack[p] - rng.random_range(0.0..3.0),
                };
                tree.set(p, slack[p], cap[p] - occupied[p], cap[p].max(occupied[p]));
            }
        }
        // Both outcomes were exercised.
        assert!(
            searches.1 > 100 && searches.0 - searches.1 > 100,
            "{searches:?}"
        );
    }
}
