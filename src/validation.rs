//! Validation against the stylised facts P1–P8 of MODEL.md §1.
//!
//! `validate_model` runs a scenario (and, for the policy patterns, a few
//! variants of it) over several seeded runs in parallel and computes each
//! pattern's statistic from the simulated data. It drives `model::World`
//! directly, so it can observe what the per-step tables do not hold (firm
//! sizes a year apart, entrants' exit steps). Pure computation: printing the
//! table is the caller's job.

use rayon::prelude::*;

use crate::config::{ClusterType, ComponentRule, Scenario};
use crate::model::{simulate, Site, World};

/// One pattern's check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// "P1" … "P8" (with a suffix where a pattern has several checks).
    pub id: String,
    pub pattern: String,
    pub source: String,
    /// The band the value must fall in, as text.
    pub band: String,
    /// The simulated value, as text.
    pub value: String,
    pub pass: bool,
}

/// Everything the P1–P3, P7 and P8 statistics need from one baseline run.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    /// Final sizes of alive firms (revenue, billion VND a year).
    pub sizes: Vec<f64>,
    /// Hill estimate of the top-10% tail of final firm sizes.
    pub hill: f64,
    /// Annual log growth rates with the log size at the start of the year,
    /// relative to the sector's median size (ln(S/S0_s)): the model's
    /// volatility scales with S/S0_s, and binning absolute sizes would mix
    /// sectors whose medians differ 13-fold.
    pub growth: Vec<(f64, f64)>,
    /// Degrees of cluster firms at the end, by the type of their cluster.
    pub degrees: Vec<(ClusterType, u32)>,
    /// Entrants at risk and surviving 2 years (8 steps at dt = 0.25) and 4 years.
    pub at_risk_2y: u64,
    pub survived_2y: u64,
    pub at_risk_4y: u64,
    pub survived_4y: u64,
    /// Mean occupancy of operating clusters after 10 years (or at the end).
    pub occupancy_10y: f64,
}

/// Hill estimator of the tail exponent over the top `share` of `sizes`:
/// k / Σ_{i≤k} ln(x_(i)/x_(k+1)), x sorted descending.
pub fn hill(sizes: &[f64], share: f64) -> f64 {
    let mut x: Vec<f64> = sizes.iter().copied().filter(|v| *v > 0.0).collect();
    x.sort_by(|a, b| b.partial_cmp(a).expect("finite"));
    let k = ((x.len() as f64) * share).floor() as usize;
    if k < 2 || k >= x.len() {
        return f64::NAN;
    }
    let threshold = x[k];
    let s: f64 = x[..k].iter().map(|v| (v / threshold).ln()).sum();
    k as f64 / s
}

/// Excess kurtosis m4/m2² − 3.
pub fn excess_kurtosis(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let m2 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let m4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / n;
    m4 / (m2 * m2) - 3.0
}

/// Sample skewness m3/m2^1.5.
pub fn skewness(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let m2 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let m3 = x.iter().map(|v| (v - mean).powi(3)).sum::<f64>() / n;
    m3 / m2.powf(1.5)
}

/// The equal-count bins of `spread_slope`: rates sorted by ln
/// relative size, cut into `bins` chunks of ⌊n/bins⌋ (the remainder of the
/// largest sizes dropped); each bin gives (mean ln size, ln sample sd).
/// Empty when a bin would hold fewer than 10 rates.
pub fn spread_points(growth: &[(f64, f64)], bins: usize) -> Vec<(f64, f64)> {
    let mut g: Vec<(f64, f64)> = growth.to_vec();
    g.sort_by(|a, b| a.0.total_cmp(&b.0));
    let per = g.len() / bins.max(1);
    if per < 10 {
        return Vec::new();
    }
    (0..bins)
        .map(|b| {
            let chunk = &g[b * per..(b + 1) * per];
            let n = chunk.len() as f64;
            let mx = chunk.iter().map(|p| p.0).sum::<f64>() / n;
            let my = chunk.iter().map(|p| p.1).sum::<f64>() / n;
            let var = chunk.iter().map(|p| (p.1 - my).powi(2)).sum::<f64>() / (n - 1.0);
            (mx, 0.5 * var.ln())
        })
        .collect()
}

/// Ordinary least squares of y on x: (slope, intercept).
pub fn ols(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let slope = sxy / sxx;
    (slope, my - slope * mx)
}

/// Slope of ln sd(growth) on mean ln size over `bins` equal-count size bins
/// (ordinary least squares over `spread_points`).
pub fn spread_slope(growth: &[(f64, f64)], bins: usize) -> f64 {
    let points = spread_points(growth, bins);
    if points.len() < 2 {
        return f64::NAN;
    }
    ols(&points).0
}

/// Run `scenario` once and collect the facts of one run.
pub fn run_facts(scenario: &Scenario, seed: u64, run: u64) -> RunFacts {
    let mut w = World::new(scenario, seed, run);
    let dt = scenario.time.dt;
    let year = (1.0 / dt).round().max(1.0) as u32;
    let steps = scenario.time.steps;
    let ten_years = ((10.0 / dt).round() as u32).min(steps);
    let mut facts = RunFacts::default();
    let mut last_ln: Vec<f64> = w.firms.iter().map(|f| f.size.ln()).collect();
    for _ in 0..steps {
        w.step();
        if w.step % year == 0 {
            for (i, f) in w.firms.iter().enumerate() {
                if f.alive && i < last_ln.len() && f.born_step + year <= w.step {
                    let ln_s0 = scenario.sectors[f.sector as usize].size_median.ln();
                    facts
                        .growth
                        .push((last_ln[i] - ln_s0, f.size.ln() - last_ln[i]));
                }
            }
            last_ln = w
                .firms
                .iter()
                .map(|f| if f.alive { f.size.ln() } else { f64::NAN })
                .collect();
        }
        if w.step == ten_years {
            let occ: Vec<f64> = w
                .clusters
                .iter()
                .filter(|c| c.operating())
                .map(|c| c.occupied / c.area)
                .collect();
            facts.occupancy_10y = occ.iter().sum::<f64>() / occ.len().max(1) as f64;
        }
    }
    facts.sizes = w.firms.iter().filter(|f| f.alive).map(|f| f.size).collect();
    facts.hill = hill(&facts.sizes, 0.1);
    for f in w.firms.iter().filter(|f| f.alive) {
        if let Site::Cluster(c) = f.site {
            facts
                .degrees
                .push((w.clusters[c as usize].ctype, f.partners.len() as u32));
        }
    }
    for f in w.firms.iter().filter(|f| f.born_step > 0) {
        for (span, at_risk, survived) in [
            (2 * year, &mut facts.at_risk_2y, &mut facts.survived_2y),
            (4 * year, &mut facts.at_risk_4y, &mut facts.survived_4y),
        ] {
            if f.born_step + span <= steps {
                *at_risk += 1;
                // Closed at step d: alive for d − born steps.
                if f.died_step == u32::MAX || f.died_step > f.born_step + span {
                    *survived += 1;
                }
            }
        }
    }
    facts
}

/// Mean over runs of a last-step region value.
fn mean_last(
    scenario: &Scenario,
    seed: u64,
    runs: u64,
    f: fn(&crate::model::RegionRow) -> f64,
) -> f64 {
    let v: Vec<f64> = (0..runs)
        .into_par_iter()
        .map(|r| {
            let rec = simulate(scenario, seed, r, false);
            f(rec.region.last().expect("at least one row"))
        })
        .collect();
    v.iter().sum::<f64>() / v.len() as f64
}

fn check(id: &str, pattern: &str, source: &str, band: String, value: String, pass: bool) -> Check {
    Check {
        id: id.into(),
        pattern: pattern.into(),
        source: source.into(),
        band,
        value,
        pass,
    }
}

/// The facts of runs 0..runs of `scenario` (in parallel, in run order).
pub fn baseline_facts(scenario: &Scenario, seed: u64, runs: u64) -> Vec<RunFacts> {
    (0..runs)
        .into_par_iter()
        .map(|r| run_facts(scenario, seed, r))
        .collect()
}

/// Run every check of P1–P8 on `scenario` with `runs` runs from `seed`.
pub fn validate_model(scenario: &Scenario, seed: u64, runs: u64) -> Vec<Check> {
    let runs = runs.max(2);
    let facts = baseline_facts(scenario, seed, runs);
    validate_with_facts(scenario, seed, runs, &facts)
}

/// The checks of P1–P8 given the baseline `facts` (from
/// `baseline_facts(scenario, seed, runs)`); the policy variants are run here.
pub fn validate_with_facts(
    scenario: &Scenario,
    seed: u64,
    runs: u64,
    facts: &[RunFacts],
) -> Vec<Check> {
    let mut out = Vec::new();

    // P1: tail exponent of firm sizes.
    let hill_mean = facts.iter().map(|f| f.hill).sum::<f64>() / facts.len() as f64;
    out.push(check(
        "P1",
        "firm-size upper tail (Hill, top 10%)",
        "Axtell 2001",
        "[0.9, 1.3]".into(),
        format!("{hill_mean:.3}"),
        (0.9..=1.3).contains(&hill_mean),
    ));

    // P2: tent-shaped growth rates whose spread falls with size.
    let growth: Vec<(f64, f64)> = facts
        .iter()
        .flat_map(|f| f.growth.iter().copied())
        .collect();
    let rates: Vec<f64> = growth.iter().map(|g| g.1).collect();
    let kurt = excess_kurtosis(&rates);
    out.push(check(
        "P2a",
        "annual log growth rates: excess kurtosis",
        "Stanley et al. 1996",
        "> 1".into(),
        format!("{kurt:.2}"),
        kurt > 1.0,
    ));
    let slope = spread_slope(&growth, 10);
    out.push(check(
        "P2b",
        "slope of ln sd(growth) on ln size",
        "Stanley et al. 1996",
        "[-0.25, -0.12]".into(),
        format!("{slope:.3}"),
        (-0.25..=-0.12).contains(&slope),
    ));

    // P3: hubs in the cooperation network, most for Complex clusters.
    let all: Vec<f64> = facts
        .iter()
        .flat_map(|f| f.degrees.iter().map(|d| d.1 as f64))
        .collect();
    let mean_deg = all.iter().sum::<f64>() / all.len().max(1) as f64;
    let ratios: Vec<f64> = facts
        .iter()
        .map(|f| {
            let d: Vec<f64> = f.degrees.iter().map(|d| d.1 as f64).collect();
            let m = d.iter().sum::<f64>() / d.len().max(1) as f64;
            d.iter().cloned().fold(0.0, f64::max) / m.max(1e-12)
        })
        .collect();
    let ratio = ratios.iter().sum::<f64>() / ratios.len() as f64;
    out.push(check(
        "P3a",
        "max degree / mean degree",
        "Batterink et al. 2014",
        ">= 3".into(),
        format!("{ratio:.2} (mean degree {mean_deg:.2})"),
        ratio >= 3.0,
    ));
    let skew_of = |t: ClusterType| {
        let d: Vec<f64> = facts
            .iter()
            .flat_map(|f| {
                f.degrees
                    .iter()
                    .filter(move |d| d.0 == t)
                    .map(|d| d.1 as f64)
            })
            .collect();
        skewness(&d)
    };
    let (sk_c, sk_m) = (
        skew_of(ClusterType::Complex),
        skew_of(ClusterType::Marshallian),
    );
    out.push(check(
        "P3b",
        "degree skewness: Complex > Marshallian",
        "Gordon & McCann 2000",
        "Complex > Marshallian".into(),
        format!("{sk_c:.2} vs {sk_m:.2}"),
        sk_c > sk_m,
    ));

    // P4: the same money on roads and green only gives a lower Q.
    let q = |r: &crate::model::RegionRow| r.mean_quality;
    let mut showcase = scenario.clone();
    showcase.government.component_rule = ComponentRule::Showcase;
    let mut balanced = scenario.clone();
    balanced.government.component_rule = ComponentRule::Balanced;
    let (q_show, q_bal) = (
        mean_last(&showcase, seed, runs, q),
        mean_last(&balanced, seed, runs, q),
    );
    out.push(check(
        "P4",
        "mean Q: Showcase < Balanced",
        "the study (synchronicity)",
        "Showcase < Balanced".into(),
        format!("{q_show:.3} vs {q_bal:.3}"),
        q_show < q_bal,
    ));

    // P5: 16 of 70 complete at step 0; fewer without investment.
    // Step 0 is the initial state: no need to run the steps.
    let (r0, _) = World::new(scenario, seed, 0).record();
    let r0 = &r0;
    out.push(check(
        "P5a",
        "complete clusters at step 0",
        "the study: 16 of 70",
        format!(
            "{} of {}",
            scenario.clusters.complete, scenario.clusters.operating
        ),
        format!("{} of {}", r0.clusters_complete, r0.clusters_operating),
        r0.clusters_complete == scenario.clusters.complete as u64
            && r0.clusters_operating == scenario.clusters.operating as u64,
    ));
    let mut none = scenario.clone();
    none.government.budget = 0.0;
    none.accounts.developer_reinvest = 0.0;
    let complete_none = mean_last(&none, seed, runs, |r| r.clusters_complete as f64);
    out.push(check(
        "P5b",
        "complete clusters without investment fall",
        "MODEL.md P5",
        format!("< {}", r0.clusters_complete),
        format!("{complete_none:.1}"),
        complete_none < r0.clusters_complete as f64,
    ));

    // P6: monotone policy responses.
    let mut rich = scenario.clone();
    rich.government.budget *= 2.0;
    let mut poor = scenario.clone();
    poor.government.budget *= 0.5;
    let (q_rich, q_poor) = (
        mean_last(&rich, seed, runs, q),
        mean_last(&poor, seed, runs, q),
    );
    out.push(check(
        "P6a",
        "budget ×2 vs ×0.5: mean Q up",
        "MODEL.md P6",
        "×2 > ×0.5".into(),
        format!("{q_rich:.3} vs {q_poor:.3}"),
        q_rich > q_poor,
    ));
    let mut leaky = scenario.clone();
    leaky.government.leakage = 0.5;
    let mut clean = scenario.clone();
    clean.government.leakage = 0.1;
    let (q_leaky, q_clean) = (
        mean_last(&leaky, seed, runs, q),
        mean_last(&clean, seed, runs, q),
    );
    out.push(check(
        "P6b",
        "leakage 0.5 vs 0.1: mean Q down",
        "MODEL.md P6",
        "0.5 < 0.1".into(),
        format!("{q_leaky:.3} vs {q_clean:.3}"),
        q_leaky < q_clean,
    ));
    let mut strict = scenario.clone();
    strict.relocation.enforcement.end = 1.0;
    let mut lax = scenario.clone();
    lax.relocation.enforcement.end = lax.relocation.enforcement.start;
    let pol = |r: &crate::model::RegionRow| r.polluting_residential as f64;
    let (p_strict, p_lax) = (
        mean_last(&strict, seed, runs, pol),
        mean_last(&lax, seed, runs, pol),
    );
    out.push(check(
        "P6c",
        "enforcement up: residential polluting firms down",
        "MODEL.md P6",
        "strict < lax".into(),
        format!("{p_strict:.0} vs {p_lax:.0}"),
        p_strict < p_lax,
    ));

    // P7: survival of entrants.
    let sum = |g: fn(&RunFacts) -> u64| facts.iter().map(g).sum::<u64>() as f64;
    let s2 = sum(|f| f.survived_2y) / sum(|f| f.at_risk_2y).max(1.0);
    let s4 = sum(|f| f.survived_4y) / sum(|f| f.at_risk_4y).max(1.0);
    out.push(check(
        "P7a",
        "entrants surviving 2 years",
        "Knaup 2005 (BLS): 66%",
        "[0.56, 0.76]".into(),
        format!("{s2:.3}"),
        (0.56..=0.76).contains(&s2),
    ));
    out.push(check(
        "P7b",
        "entrants surviving 4 years",
        "Knaup 2005 (BLS): 44%",
        "[0.34, 0.54]".into(),
        format!("{s4:.3}"),
        (0.34..=0.54).contains(&s4),
    ));

    // P8: occupancy of operating clusters after 10 years.
    let occ = facts.iter().map(|f| f.occupancy_10y).sum::<f64>() / facts.len() as f64;
    out.push(check(
        "P8",
        "mean occupancy of operating clusters, year 10",
        "MoIT 2021: 65%",
        "[0.45, 0.85]".into(),
        format!("{occ:.3}"),
        (0.45..=0.85).contains(&occ),
    ));
    out
}

/// `clustersim validate-model`: run the checks and print the table; exit 2
/// (an error) when a check fails, so scripts can gate on it.
pub fn validate_model_command(args: &crate::cli::ValidateModelArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    let scenario = match &args.config {
        Some(p) => crate::config::load(p).with_context(|| format!("loading {}", p.display()))?,
        None => crate::config::embedded_default(),
    };
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = args.threads {
        builder = builder.num_threads(t);
    }
    let pool = builder.build().context("starting the worker threads")?;
    let started = std::time::Instant::now();
    let runs = args.runs.max(2);
    let (facts, checks) = pool.install(|| {
        let facts = baseline_facts(&scenario, args.seed, runs);
        let checks = validate_with_facts(&scenario, args.seed, runs, &facts);
        (facts, checks)
    });
    print!("{}", format_table(&checks));
    println!(
        "{} runs per variant, seed {}, {:.1} s",
        runs,
        args.seed,
        started.elapsed().as_secs_f64()
    );
    // The charts are drawn whether or not every check passes: they show why.
    if let Some(dir) = &args.plot {
        let written = crate::plot::validation::plot_validation(&facts, dir, 1.0)
            .with_context(|| format!("writing the validation charts into {}", dir.display()))?;
        for p in &written {
            println!("{}", p.display());
        }
    }
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| c.id.as_str())
        .collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} checks failed: {}",
            failed.len(),
            checks.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// The checks as an aligned text table.
pub fn format_table(checks: &[Check]) -> String {
    let mut s = format!(
        "{:<4} {:<48} {:<26} {:<22} {:<26} {}\n",
        "id", "pattern", "source", "band", "simulated", "result"
    );
    for c in checks {
        s.push_str(&format!(
            "{:<4} {:<48} {:<26} {:<22} {:<26} {}\n",
            c.id,
            c.pattern,
            c.source,
            c.band,
            c.value,
            if c.pass { "pass" } else { "FAIL" }
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hill_recovers_a_pareto_exponent() {
        // Exact Pareto(α = 1.5) quantiles: x = (1 − u)^(−1/α).
        let n = 100_000;
        let x: Vec<f64> = (0..n)
            .map(|i| (1.0 - (i as f64 + 0.5) / n as f64).powf(-1.0 / 1.5))
            .collect();
        let a = hill(&x, 0.1);
        assert!((a - 1.5).abs() < 0.02, "{a}");
    }

    #[test]
    fn kurtosis_and_skewness_of_known_shapes() {
        let sym: Vec<f64> = (-500..=500).map(|i| i as f64).collect();
        assert!(skewness(&sym).abs() < 1e-12);
        // Uniform: excess kurtosis −1.2.
        assert!((excess_kurtosis(&sym) + 1.2).abs() < 0.01);
        let right: Vec<f64> = (0..1000).map(|i| (i as f64 / 100.0).exp()).collect();
        assert!(skewness(&right) > 1.0);
    }

    #[test]
    fn spread_slope_recovers_a_power_law() {
        // sd = exp(−0.2·ln S): deterministic ±sd pairs in each bin.
        let mut g = Vec::new();
        for i in 0..2000 {
            let ln_s = i as f64 / 200.0;
            let sd = (-0.2 * ln_s).exp();
            g.push((ln_s, if i % 2 == 0 { sd } else { -sd }));
        }
        let s = spread_slope(&g, 10);
        assert!((s + 0.2).abs() < 0.01, "{s}");
    }
}
