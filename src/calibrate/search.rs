//! The search, pure: the map between the parameter box and unconstrained
//! coordinates, and a Nelder–Mead simplex method with an evaluation budget.
//!
//! Coordinates. Parameter j with box [lo, hi] has a unit coordinate
//! u ∈ (0, 1): x = lo + u·(hi − lo), or on a log scale
//! x = exp(ln lo + u·(ln hi − ln lo)). Nelder–Mead moves in y = logit(u), so
//! every point it proposes lies inside the box and the box needs no penalty.
//!
//! Nelder–Mead (Lagarias et al. 1998's description, standard coefficients:
//! reflection 1, expansion 2, contraction ½, shrink ½). Vertices are ordered
//! by (value, insertion order), so ties break the same way every time; the
//! method asks its objective for batches of points (the initial simplex and a
//! shrink are one batch each), which the caller may evaluate in parallel.

use super::targets::Parameter;

/// u is kept this far from 0 and 1 so that logit(u) is finite.
const U_EDGE: f64 = 1e-9;

/// The logistic function, the inverse of [`logit`].
pub fn sigmoid(y: f64) -> f64 {
    1.0 / (1.0 + (-y).exp())
}

/// ln(u / (1 − u)), with u clamped into (0, 1).
pub fn logit(u: f64) -> f64 {
    let u = u.clamp(U_EDGE, 1.0 - U_EDGE);
    (u / (1.0 - u)).ln()
}

/// The parameter value at unit coordinate `u`.
pub fn from_unit(p: &Parameter, u: f64) -> f64 {
    let u = u.clamp(0.0, 1.0);
    if p.log {
        (p.lo.ln() + u * (p.hi.ln() - p.lo.ln())).exp()
    } else {
        p.lo + u * (p.hi - p.lo)
    }
}

/// The unit coordinate of value `x` (the inverse of [`from_unit`]).
pub fn to_unit(p: &Parameter, x: f64) -> f64 {
    if p.log {
        (x.ln() - p.lo.ln()) / (p.hi.ln() - p.lo.ln())
    } else {
        (x - p.lo) / (p.hi - p.lo)
    }
}

/// The parameter vector at unconstrained coordinates `y`.
pub fn from_y(params: &[Parameter], y: &[f64]) -> Vec<f64> {
    params
        .iter()
        .zip(y)
        .map(|(p, y)| from_unit(p, sigmoid(*y)))
        .collect()
}

/// Settings of [`nelder_mead`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Evaluations at most (the values of the initial simplex that are given
    /// do not count).
    pub max_evals: usize,
    /// Stop when every vertex is within this of the best in every coordinate.
    pub xtol: f64,
}

/// How the method ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The simplex shrank below the tolerance.
    Converged,
    /// The next step would exceed the budget.
    Budget,
}

/// The result: the best vertex and its value, evaluations used, why it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub best: Vec<f64>,
    pub value: f64,
    pub evals: usize,
    pub iterations: usize,
    pub stop: Stop,
}

/// Minimise `f` from the initial simplex `simplex` (d + 1 points in d
/// dimensions). `known` gives values of the first vertices when they are
/// already known (they are not evaluated again). `f` receives a batch of
/// points and returns their values in order (NaN counts as +∞) and how many
/// evaluations the batch cost against the budget (fewer than its length when
/// some points were evaluated before); an error stops the search. A step is
/// taken only if the budget has room for all its points.
pub fn nelder_mead<E, F: FnMut(&[Vec<f64>]) -> Result<(Vec<f64>, usize), E>>(
    mut f: F,
    simplex: Vec<Vec<f64>>,
    known: &[f64],
    opts: Options,
) -> Result<Outcome, E> {
    let d = simplex.len().saturating_sub(1);
    let mut evals = 0usize;
    let clean = |v: f64| if v.is_nan() { f64::INFINITY } else { v };
    // (value, order, point); order breaks ties deterministically.
    let mut order = 0usize;
    let mut vertices: Vec<(f64, usize, Vec<f64>)> = Vec::with_capacity(d + 1);
    let unknown: Vec<Vec<f64>> = simplex.iter().skip(known.len()).cloned().collect();
    let sort = |v: &mut Vec<(f64, usize, Vec<f64>)>| {
        v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    };
    let outcome = |v: &[(f64, usize, Vec<f64>)], evals, iterations, stop| Outcome {
        best: v[0].2.clone(),
        value: v[0].0,
        evals,
        iterations,
        stop,
    };
    for (x, v) in simplex.iter().zip(known) {
        vertices.push((clean(*v), order, x.clone()));
        order += 1;
    }
    if !unknown.is_empty() {
        if unknown.len() > opts.max_evals {
            let mut v = vertices;
            if v.is_empty() {
                v.push((f64::INFINITY, 0, simplex[0].clone()));
            }
            sort(&mut v);
            return Ok(outcome(&v, 0, 0, Stop::Budget));
        }
        let (values, cost) = f(&unknown)?;
        evals += cost;
        for (x, v) in unknown.into_iter().zip(values) {
            vertices.push((clean(v), order, x));
            order += 1;
        }
    }
    sort(&mut vertices);
    let mut iterations = 0;
    if d == 0 {
        return Ok(outcome(&vertices, evals, iterations, Stop::Converged));
    }
    // One point, or None when the budget has no room for it.
    let eval1 = |f: &mut F, x: &Vec<f64>, evals: &mut usize| -> Result<Option<f64>, E> {
        if *evals + 1 > opts.max_evals {
            return Ok(None);
        }
        let (values, cost) = f(std::slice::from_ref(x))?;
        *evals += cost;
        Ok(Some(clean(values[0])))
    };
    loop {
        let spread = vertices
            .iter()
            .flat_map(|(_, _, x)| x.iter().zip(&vertices[0].2).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if spread <= opts.xtol {
            return Ok(outcome(&vertices, evals, iterations, Stop::Converged));
        }
        // Repeated points cost nothing, so bound the steps too (a safety net:
        // every accepted step lowers the simplex and a shrink halves it).
        if iterations >= 10 * (opts.max_evals + d + 1) {
            return Ok(outcome(&vertices, evals, iterations, Stop::Budget));
        }
        iterations += 1;
        let centroid: Vec<f64> = (0..d)
            .map(|k| vertices[..d].iter().map(|v| v.2[k]).sum::<f64>() / d as f64)
            .collect();
        let worst = vertices[d].clone();
        let along = |t: f64| -> Vec<f64> {
            centroid
                .iter()
                .zip(&worst.2)
                .map(|(c, w)| c + t * (c - w))
                .collect()
        };
        let (fbest, fsecond) = (vertices[0].0, vertices[d - 1].0);
        let xr = along(1.0);
        let Some(fr) = eval1(&mut f, &xr, &mut evals)? else {
            return Ok(outcome(&vertices, evals, iterations, Stop::Budget));
        };
        let mut accepted: Option<(f64, Vec<f64>)> = None;
        if fr < fbest {
            let xe = along(2.0);
            let Some(fe) = eval1(&mut f, &xe, &mut evals)? else {
                vertices[d] = (fr, order, xr);
                sort(&mut vertices);
                return Ok(outcome(&vertices, evals, iterations, Stop::Budget));
            };
            accepted = Some(if fe < fr { (fe, xe) } else { (fr, xr) });
        } else if fr < fsecond {
            accepted = Some((fr, xr));
        } else {
            // Contraction: outside when the reflection beat the worst, else inside.
            let outside = fr < worst.0;
            let xc = along(if outside { 0.5 } else { -0.5 });
            let Some(fc) = eval1(&mut f, &xc, &mut evals)? else {
                return Ok(outcome(&vertices, evals, iterations, Stop::Budget));
            };
            if (outside && fc <= fr) || (!outside && fc < worst.0) {
                accepted = Some((fc, xc));
            }
        }
        match accepted {
            Some((v, x)) => {
                vertices[d] = (v, order, x);
                order += 1;
            }
            None => {
                // Shrink every vertex towards the best: one batch.
                if evals + d > opts.max_evals {
                    return Ok(outcome(&vertices, evals, iterations, Stop::Budget));
                }
                let best = vertices[0].2.clone();
                let points: Vec<Vec<f64>> = vertices[1..]
                    .iter()
                    .map(|v| {
                        best.iter()
                            .zip(&v.2)
                            .map(|(b, x)| b + 0.5 * (x - b))
                            .collect()
                    })
                    .collect();
                let (values, cost) = f(&points)?;
                evals += cost;
                for (slot, (x, v)) in vertices[1..].iter_mut().zip(points.into_iter().zip(values)) {
                    *slot = (clean(v), order, x);
                    order += 1;
                }
            }
        }
        sort(&mut vertices);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn par(lo: f64, hi: f64, log: bool) -> Parameter {
        Parameter {
            path: "a.b".into(),
            lo,
            hi,
            log,
        }
    }

    #[test]
    fn coordinates_map_the_box_both_ways() {
        for p in [par(0.1, 0.6, false), par(0.01, 100.0, true)] {
            for u in [0.0, 0.25, 0.5, 1.0] {
                let x = from_unit(&p, u);
                assert!(x >= p.lo * (1.0 - 1e-12) && x <= p.hi * (1.0 + 1e-12));
                assert!((to_unit(&p, x) - u).abs() < 1e-12);
            }
        }
        // The log scale puts the geometric mean in the middle.
        assert!((from_unit(&par(0.01, 100.0, true), 0.5) - 1.0).abs() < 1e-12);
        for y in [-30.0, -2.0, 0.0, 3.0, 30.0] {
            let u = sigmoid(y);
            assert!((0.0..=1.0).contains(&u));
        }
        assert!((sigmoid(logit(0.3)) - 0.3).abs() < 1e-15);
        assert!(logit(0.0).is_finite() && logit(1.0).is_finite());
    }

    fn simplex(x0: &[f64], h: f64) -> Vec<Vec<f64>> {
        let mut s = vec![x0.to_vec()];
        for j in 0..x0.len() {
            let mut x = x0.to_vec();
            x[j] += h;
            s.push(x);
        }
        s
    }

    fn run(f: impl Fn(&[f64]) -> f64, x0: &[f64], max_evals: usize) -> (Outcome, Vec<Vec<f64>>) {
        let mut asked = Vec::new();
        let out = nelder_mead::<(), _>(
            |pts| {
                asked.extend(pts.iter().cloned());
                Ok((pts.iter().map(|p| f(p)).collect(), pts.len()))
            },
            simplex(x0, 0.5),
            &[],
            Options {
                max_evals,
                xtol: 1e-8,
            },
        )
        .unwrap();
        (out, asked)
    }

    #[test]
    fn it_finds_the_minimum_of_rosenbrock_and_a_quadratic() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let (out, _) = run(rosen, &[-1.2, 1.0], 2000);
        assert_eq!(out.stop, Stop::Converged);
        assert!(
            (out.best[0] - 1.0).abs() < 1e-4 && (out.best[1] - 1.0).abs() < 1e-4,
            "{out:?}"
        );
        let quad =
            |x: &[f64]| (x[0] - 3.0).powi(2) + 2.0 * (x[1] + 1.0).powi(2) + (x[2] - 0.5).powi(2);
        let (out, _) = run(quad, &[0.0, 0.0, 0.0], 2000);
        assert!(out.value < 1e-10, "{out:?}");
    }

    #[test]
    fn the_budget_is_respected_and_a_truncated_run_is_a_prefix() {
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let (full, asked_full) = run(rosen, &[-1.2, 1.0], 200);
        assert_eq!(full.stop, Stop::Budget);
        assert!(full.evals <= 200 && asked_full.len() == full.evals);
        let (short, asked_short) = run(rosen, &[-1.2, 1.0], 57);
        assert!(short.evals <= 57);
        assert_eq!(asked_short[..], asked_full[..asked_short.len()]);
        assert!(short.value >= full.value);
    }

    #[test]
    fn known_vertices_are_not_evaluated_and_nan_is_worst() {
        let mut asked = 0;
        let out = nelder_mead::<(), _>(
            |pts| {
                asked += pts.len();
                Ok((
                    pts.iter()
                        .map(|p| {
                            if p[0] > 2.0 {
                                f64::NAN
                            } else {
                                (p[0] - 1.0).powi(2)
                            }
                        })
                        .collect(),
                    pts.len(),
                ))
            },
            vec![vec![0.0], vec![0.5]],
            &[1.0],
            Options {
                max_evals: 100,
                xtol: 1e-6,
            },
        )
        .unwrap();
        assert_eq!(asked, out.evals);
        assert!((out.best[0] - 1.0).abs() < 1e-5, "{out:?}");
    }
}
