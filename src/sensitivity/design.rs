//! Sensitivity designs in the unit cube, built as SALib builds them.
//!
//! - Morris (`SALib.sample.morris.sample` without optimal trajectories):
//!   `r` trajectories of `D + 1` points on a `p`-level grid `{0, 1/(p−1), …,
//!   1}`. A trajectory starts at a random base point `x*` whose coordinates
//!   are drawn from the lower half of the grid `{0, …, 1 − Δ}`, with the jump
//!   `Δ = p / (2(p − 1))`; every parameter then moves once, in a random
//!   order, by `+Δ` or `−Δ` (a random direction per parameter: a parameter
//!   that moves down starts at `x* + Δ`). Consecutive points differ in
//!   exactly one coordinate, by exactly Δ.
//! - Saltelli (`SALib.sample.sobol.sample`): `N` points of a scrambled
//!   Sobol' sequence in `2D` dimensions, the first `D` coordinates forming
//!   matrix A and the last `D` matrix B. Per base sample `i`, in this order:
//!   A; `AB_j` for each j (A with column j from B); with second order `BA_j`
//!   for each j (B with column j from A); B. That is `N(2D + 2)` rows with
//!   second order, `N(D + 2)` without.
//!
//! The Sobol' points are Owen-scrambled (`sobol_burley`, Burley's hash-based
//! scrambling, up to 2^16 points and 256 dimensions); the scramble seed and
//! every Morris draw come from ChaCha streams keyed by the master seed.

use rand::seq::SliceRandom;
use rand::Rng;

use crate::stats::seeded_stream;

/// Most base samples `sobol_burley` can give.
pub const MAX_SOBOL_SAMPLES: usize = 1 << 16;
/// Most parameters a Saltelli design can have (2D ≤ 256 Sobol' dimensions).
pub const MAX_SOBOL_PARAMS: usize = 128;

/// The Morris grid jump Δ = p / (2(p − 1)) of SALib for `levels` = p.
pub fn morris_delta(levels: usize) -> f64 {
    levels as f64 / (2.0 * (levels as f64 - 1.0))
}

/// `trajectories` Morris trajectories over `dims` parameters on a
/// `levels`-level grid: `trajectories · (dims + 1)` rows of `dims` unit
/// coordinates, trajectory by trajectory. `levels` must be even and ≥ 2.
pub fn morris(trajectories: usize, dims: usize, levels: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = seeded_stream("clustersim/sensitivity/morris", seed);
    let delta = morris_delta(levels);
    // The lower half of the grid: linspace(0, 1 − Δ, p/2).
    let half = levels / 2;
    let starts: Vec<f64> = (0..half)
        .map(|k| {
            if half == 1 {
                0.0
            } else {
                k as f64 * (1.0 - delta) / (half - 1) as f64
            }
        })
        .collect();
    let mut rows = Vec::with_capacity(trajectories * (dims + 1));
    for _ in 0..trajectories {
        // The step (1..=dims) at which each parameter moves.
        let mut order: Vec<usize> = (0..dims).collect();
        order.shuffle(&mut rng);
        let up: Vec<bool> = (0..dims).map(|_| rng.random::<bool>()).collect();
        let base: Vec<f64> = (0..dims)
            .map(|_| starts[rng.random_range(0..starts.len())])
            .collect();
        for step in 0..=dims {
            rows.push(
                (0..dims)
                    .map(|j| {
                        let moved = order[j] < step;
                        base[j] + if moved == up[j] { delta } else { 0.0 }
                    })
                    .collect(),
            );
        }
    }
    rows
}

/// Rows per base sample of a Saltelli design.
pub fn saltelli_block(dims: usize, second_order: bool) -> usize {
    if second_order {
        2 * dims + 2
    } else {
        dims + 2
    }
}

/// The Saltelli design of `samples` base samples over `dims` parameters
/// (see the module doc), from the Owen-scrambled Sobol' sequence with a
/// scramble drawn from `seed`. Needs `samples ≤ 2^16` and `dims ≤ 128`.
pub fn saltelli(samples: usize, dims: usize, second_order: bool, seed: u64) -> Vec<Vec<f64>> {
    let scramble: u32 = seeded_stream("clustersim/sensitivity/sobol", seed).random();
    let mut rows = Vec::with_capacity(samples * saltelli_block(dims, second_order));
    for i in 0..samples {
        let point: Vec<f64> = (0..2 * dims)
            .map(|d| f64::from(sobol_burley::sample(i as u32, d as u32, scramble)))
            .collect();
        let (a, b) = point.split_at(dims);
        rows.push(a.to_vec());
        for j in 0..dims {
            let mut ab = a.to_vec();
            ab[j] = b[j];
            rows.push(ab);
        }
        if second_order {
            for j in 0..dims {
                let mut ba = b.to_vec();
                ba[j] = a[j];
                rows.push(ba);
            }
        }
        rows.push(b.to_vec());
    }
    rows
}

/// What row `row` of a design is, for `design.parquet`: its group (the
/// trajectory or the base sample) and its role (`start` or the parameter
/// index moved, for Morris; `A`, `AB<j>`, `BA<j>` or `B` for Saltelli).
pub fn row_role(row: usize, dims: usize, morris: bool, second_order: bool) -> (usize, String) {
    if morris {
        let (g, k) = (row / (dims + 1), row % (dims + 1));
        return (
            g,
            if k == 0 {
                "start".into()
            } else {
                "move".into()
            },
        );
    }
    let block = saltelli_block(dims, second_order);
    let (g, k) = (row / block, row % block);
    let role = if k == 0 {
        "A".to_string()
    } else if k == block - 1 {
        "B".to_string()
    } else if k <= dims {
        format!("AB{}", k - 1)
    } else {
        format!("BA{}", k - 1 - dims)
    };
    (g, role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morris_trajectories_move_each_parameter_once_by_delta_on_the_grid() {
        let (r, d, p) = (20, 3, 4);
        let rows = morris(r, d, p, 5);
        assert_eq!(rows.len(), r * (d + 1));
        let delta = morris_delta(p);
        assert!((delta - 2.0 / 3.0).abs() < 1e-15);
        let mut ups = 0;
        for t in 0..r {
            let traj = &rows[t * (d + 1)..(t + 1) * (d + 1)];
            let mut moved = vec![0; d];
            for s in 0..d {
                let diff: Vec<f64> = (0..d).map(|j| traj[s + 1][j] - traj[s][j]).collect();
                let changed: Vec<usize> = (0..d).filter(|j| diff[*j] != 0.0).collect();
                assert_eq!(changed.len(), 1, "one coordinate per step: {traj:?}");
                let j = changed[0];
                assert!((diff[j].abs() - delta).abs() < 1e-12);
                ups += usize::from(diff[j] > 0.0);
                moved[j] += 1;
            }
            assert_eq!(moved, vec![1; d]);
            for x in traj.iter().flatten() {
                let level = x * (p - 1) as f64;
                assert!((level - level.round()).abs() < 1e-12 && (0.0..=1.0).contains(x));
            }
        }
        // Directions are random: both occur.
        assert!(ups > 0 && ups < r * d, "{ups}");
        assert_eq!(rows, morris(r, d, p, 5), "seeded");
        assert_ne!(rows, morris(r, d, p, 6));
    }

    #[test]
    fn saltelli_rows_cross_a_and_b_as_salib_does() {
        let (n, d) = (8, 3);
        let rows = saltelli(n, d, true, 1);
        assert_eq!(rows.len(), n * (2 * d + 2));
        assert_eq!(saltelli(n, d, false, 1).len(), n * (d + 2));
        let block = saltelli_block(d, true);
        for i in 0..n {
            let b = &rows[i * block..(i + 1) * block];
            let (a, bb) = (&b[0], &b[block - 1]);
            for j in 0..d {
                for k in 0..d {
                    let (ab, ba) = (b[1 + j][k], b[1 + d + j][k]);
                    assert_eq!(ab, if k == j { bb[k] } else { a[k] });
                    assert_eq!(ba, if k == j { a[k] } else { bb[k] });
                }
            }
            assert!(a.iter().chain(bb).all(|x| (0.0..1.0).contains(x)));
        }
        // A's first column is a (0, m, 1)-net: one point per 1/n stratum.
        let mut strata: Vec<usize> = (0..n)
            .map(|i| (rows[i * block][0] * n as f64) as usize)
            .collect();
        strata.sort_unstable();
        assert_eq!(strata, (0..n).collect::<Vec<_>>());
        assert_eq!(rows, saltelli(n, d, true, 1), "seeded");
        assert_ne!(
            rows,
            saltelli(n, d, true, 2),
            "the scramble follows the seed"
        );
        assert_eq!(row_role(0, d, false, true), (0, "A".to_string()));
        assert_eq!(row_role(block + 2, d, false, true), (1, "AB1".to_string()));
        assert_eq!(row_role(block + 4, d, false, true), (1, "BA0".to_string()));
        assert_eq!(
            row_role(2 * block - 1, d, false, true),
            (1, "B".to_string())
        );
        assert_eq!(row_role(5, 2, true, false), (1, "move".to_string()));
    }
}
