//! Validation of a resolved scenario: every range and consistency rule the
//! model relies on (MODEL.md). All failures are collected, not just the first,
//! each with the field path, the value and what is allowed.

use std::collections::BTreeSet;

use super::error::Issue;
use super::types::*;

/// Tolerance of the "sums to 1" rules.
pub const SUM_TOLERANCE: f64 = 1e-9;

/// Upper bounds of every count and size of a scenario (`docs/limits.md`):
/// far above any study's needs, low enough that a run cannot exhaust memory
/// or overflow before it starts.
pub mod limits {
    /// `monte_carlo.runs` (and `--runs`).
    pub const RUNS: u32 = 1_000_000;
    /// `time.steps`.
    pub const STEPS: u32 = 10_000;
    /// `time.dt`, years: at least this…
    pub const DT_MIN: f64 = 1e-3;
    /// …and at most this.
    pub const DT_MAX: f64 = 10.0;
    /// `sectors` (list length).
    pub const SECTORS: usize = 1_000;
    /// `sectors[i].entry_rate`, entrants per year.
    pub const ENTRY_RATE: f64 = 1e6;
    /// `sectors[i].demand_growth`, per year.
    pub const DEMAND_GROWTH: f64 = 1.0;
    /// `clusters.operating`, `clusters.planned`, `clusters.explicit` (length).
    pub const CLUSTERS: u32 = 100_000;
    /// `residential.areas`, `residential.explicit` (length).
    pub const AREAS: u32 = 1_000_000;
    /// `entry.choice_set`.
    pub const CHOICE_SET: u32 = 1_000;
    /// `cooperation.max_degree`.
    pub const MAX_DEGREE: u32 = 10_000;
    /// `initial.firms_in_clusters`, `initial.firms_residential`.
    pub const INITIAL_FIRMS: u32 = 10_000_000;
    /// `initial.max_age_years`, years…
    pub const MAX_AGE_YEARS: f64 = 1_000.0;
    /// …and in steps (`initial.max_age_years / time.dt`).
    pub const MAX_AGE_STEPS: f64 = 100_000.0;
    /// Firms one run may create: initial firms plus the expected entrants of
    /// every sector over the run (entry rates grown by demand growth).
    pub const FIRMS_PER_RUN: f64 = 20_000_000.0;
}

/// The expected number of firms a run creates (initial plus entrants), and
/// the sector contributing most entrants.
pub fn expected_firms(s: &Scenario) -> (f64, Option<usize>) {
    let years = f64::from(s.time.steps) * s.time.dt;
    let mut total = f64::from(s.initial.firms_in_clusters) + f64::from(s.initial.firms_residential);
    let mut top: Option<(usize, f64)> = None;
    for (i, sec) in s.sectors.iter().enumerate() {
        // Σ_t λ dt (1+g)^t over the run is at most λ · years · (1+g)^years.
        let n = sec.entry_rate * years * (1.0 + sec.demand_growth.max(0.0)).powf(years);
        let n = if n.is_finite() { n } else { f64::INFINITY };
        total += n;
        if top.is_none_or(|(_, m)| n > m) {
            top = Some((i, n));
        }
    }
    (total, top.map(|(i, _)| i))
}

/// Check `s` against every rule; an empty list means valid. `set_in` is left
/// `None` (the loader fills it in).
pub fn validate(s: &Scenario) -> Vec<Issue> {
    let mut v = Checker::default();
    let steps = s.time.steps;

    // Monte Carlo and time.
    v.check(
        "monte_carlo.runs",
        s.monte_carlo.runs,
        s.monte_carlo.runs >= 1,
        "an integer >= 1",
    );
    v.check(
        "monte_carlo.runs",
        s.monte_carlo.runs,
        s.monte_carlo.runs <= limits::RUNS,
        &format!("at most {} runs", limits::RUNS),
    );
    v.check(
        "time.dt",
        s.time.dt,
        (limits::DT_MIN..=limits::DT_MAX).contains(&s.time.dt),
        &format!(
            "a number of years > 0, in [{}, {}]",
            limits::DT_MIN,
            limits::DT_MAX
        ),
    );
    v.check(
        "time.steps",
        steps,
        (1..=limits::STEPS).contains(&steps),
        &format!("an integer in [1, {}]", limits::STEPS),
    );
    v.finite("time.start_year", s.time.start_year);
    v.positive("region.radius_km", s.region.radius_km);

    // Sectors and relatedness.
    let k = s.sectors.len();
    v.check("sectors", "[]", k >= 1, "a list of at least one sector");
    v.check(
        "sectors",
        format!("{k} sectors"),
        k <= limits::SECTORS,
        &format!("at most {} sectors", limits::SECTORS),
    );
    let mut names = BTreeSet::new();
    for (i, sec) in s.sectors.iter().enumerate() {
        let p = |f: &str| format!("sectors[{i}].{f}");
        v.check(
            &p("name"),
            format!("{:?}", sec.name),
            !sec.name.is_empty(),
            "a non-empty name",
        );
        v.check(
            &p("name"),
            format!("{:?}", sec.name),
            sec.name.is_empty() || names.insert(sec.name.as_str()),
            "a name used by no other sector",
        );
        v.check(
            &p("entry_rate"),
            sec.entry_rate,
            (0.0..=limits::ENTRY_RATE).contains(&sec.entry_rate),
            &format!(
                "a number of entrants per year in [0, {:e}]",
                limits::ENTRY_RATE
            ),
        );
        v.check(
            &p("demand_growth"),
            sec.demand_growth,
            sec.demand_growth > -1.0 && sec.demand_growth <= limits::DEMAND_GROWTH,
            &format!("a growth rate per year in (-1, {}]", limits::DEMAND_GROWTH),
        );
        v.probability(&p("polluting_share"), sec.polluting_share);
        v.positive(&p("size_median"), sec.size_median);
    }
    v.check(
        "relatedness",
        format!("{} rows", s.relatedness.len()),
        s.relatedness.len() == k,
        &format!("a square matrix with one row per sector ({k} rows of {k})"),
    );
    for (i, row) in s.relatedness.iter().enumerate() {
        v.check(
            &format!("relatedness[{i}]"),
            format!("{} values", row.len()),
            row.len() == k,
            &format!("one value per sector ({k})"),
        );
        for (j, &r) in row.iter().enumerate() {
            let p = format!("relatedness[{i}][{j}]");
            if i == j {
                v.check(&p, r, r == 1.0, "1 (a sector is fully related to itself)");
            } else {
                v.probability(&p, r);
            }
        }
    }

    // Clusters.
    let c = &s.clusters;
    for (field, n) in [
        ("clusters.operating", c.operating),
        ("clusters.planned", c.planned),
        (
            "clusters.explicit",
            c.explicit.len().try_into().unwrap_or(u32::MAX),
        ),
    ] {
        v.check(
            field,
            n,
            n <= limits::CLUSTERS,
            &format!("at most {} clusters", limits::CLUSTERS),
        );
    }
    v.check(
        "clusters.complete",
        c.complete,
        c.complete <= c.operating,
        &format!("at most clusters.operating ({})", c.operating),
    );
    if c.operating > 0 {
        v.positive("clusters.total_area_ha", c.total_area_ha);
    } else {
        v.non_negative("clusters.total_area_ha", c.total_area_ha);
    }
    if c.planned > 0 {
        v.positive("clusters.planned_total_area_ha", c.planned_total_area_ha);
    } else {
        v.non_negative("clusters.planned_total_area_ha", c.planned_total_area_ha);
    }
    v.at_most_steps("clusters.planned_last_step", c.planned_last_step, steps);
    v.non_negative("clusters.area_sigma", c.area_sigma);
    v.positive("clusters.min_area_ha", c.min_area_ha);
    v.check(
        "clusters.max_area_ha",
        c.max_area_ha,
        c.max_area_ha.is_finite() && c.max_area_ha >= c.min_area_ha,
        &format!(
            "a finite number >= clusters.min_area_ha ({})",
            c.min_area_ha
        ),
    );
    if c.explicit.is_empty() && c.min_area_ha <= c.max_area_ha {
        for (field, n, total) in [
            ("clusters.total_area_ha", c.operating, c.total_area_ha),
            (
                "clusters.planned_total_area_ha",
                c.planned,
                c.planned_total_area_ha,
            ),
        ] {
            if n > 0 && total.is_finite() && total > 0.0 {
                let mean = total / n as f64;
                v.check(
                    field,
                    total,
                    mean >= c.min_area_ha && mean <= c.max_area_ha,
                    &format!(
                        "a total whose mean per cluster (here {mean:.3} ha over {n} clusters) lies within [clusters.min_area_ha, clusters.max_area_ha] = [{}, {}]",
                        c.min_area_ha, c.max_area_ha
                    ),
                );
            }
        }
    }
    let ts = &c.type_shares;
    v.probability("clusters.type_shares.marshallian", ts.marshallian);
    v.probability("clusters.type_shares.complex", ts.complex);
    v.probability("clusters.type_shares.social_network", ts.social_network);
    v.sums_to_one(
        "clusters.type_shares",
        &[ts.marshallian, ts.complex, ts.social_network],
    );
    for (name, q) in [
        ("complete_quality", &c.complete_quality),
        ("incomplete_quality", &c.incomplete_quality),
    ] {
        for (k, u) in COMPONENT_NAMES.iter().zip(q.components.to_array()) {
            v.uniform(&format!("clusters.{name}.components.{k}"), u);
        }
        v.uniform(&format!("clusters.{name}.connection"), q.connection);
    }
    v.non_negative("clusters.labor_per_ha", c.labor_per_ha);
    for (i, spec) in c.explicit.iter().enumerate() {
        let p = |f: &str| format!("clusters.explicit[{i}].{f}");
        v.finite(&p("x"), spec.x);
        v.finite(&p("y"), spec.y);
        v.positive(&p("area_ha"), spec.area_ha);
        if let Some(t) = spec.establish_step {
            v.at_most_steps(&p("establish_step"), t, steps);
        }
        for (k, q) in COMPONENT_NAMES.iter().zip(spec.quality.to_array()) {
            v.probability(&p(&format!("quality.{k}")), q);
        }
        v.probability(&p("connection"), spec.connection);
    }

    // Residential areas.
    let r = &s.residential;
    for (field, n) in [
        ("residential.areas", r.areas),
        (
            "residential.explicit",
            r.explicit.len().try_into().unwrap_or(u32::MAX),
        ),
    ] {
        v.check(
            field,
            n,
            n <= limits::AREAS,
            &format!("at most {} residential areas", limits::AREAS),
        );
    }
    if r.explicit.is_empty() {
        v.check(
            "residential.areas",
            r.areas,
            r.areas >= 1,
            "an integer >= 1 (entrants come from residential areas)",
        );
        v.check(
            "residential.craft_villages",
            r.craft_villages,
            r.craft_villages <= r.areas,
            &format!("at most residential.areas ({})", r.areas),
        );
    }
    v.non_negative("residential.population_sigma", r.population_sigma);
    v.probability("residential.residential_quality", r.residential_quality);
    for (i, spec) in r.explicit.iter().enumerate() {
        let p = |f: &str| format!("residential.explicit[{i}].{f}");
        v.finite(&p("x"), spec.x);
        v.finite(&p("y"), spec.y);
        v.positive(&p("population"), spec.population);
    }

    // Government.
    let g = &s.government;
    v.non_negative("government.budget", g.budget);
    v.range_open_lo("government.budget_growth", g.budget_growth, -1.0);
    v.probability("government.reinvest_tax_share", g.reinvest_tax_share);
    let sh = &g.shares;
    v.probability("government.shares.outside", sh.outside);
    v.probability("government.shares.inside", sh.inside);
    v.probability("government.shares.training", sh.training);
    v.probability(
        "government.shares.relocation_subsidy",
        sh.relocation_subsidy,
    );
    v.sums_to_one(
        "government.shares",
        &[sh.outside, sh.inside, sh.training, sh.relocation_subsidy],
    );
    v.leakage("government.leakage", g.leakage);
    v.probability("government.connect_target", g.connect_target);
    let inf = &s.infrastructure;
    if g.outside_rule == OutsideRule::PlannedFirst
        && inf.connect_before_establish
        && g.connect_target < inf.z_min
    {
        v.check(
            "government.connect_target",
            g.connect_target,
            false,
            &format!(
                "a target >= infrastructure.z_min ({}) with PlannedFirst and connect_before_establish, or planned clusters never open",
                inf.z_min
            ),
        );
    }

    // Infrastructure.
    v.non_negative("infrastructure.min_project_per_ha", inf.min_project_per_ha);
    for (k, x) in COMPONENT_NAMES.iter().zip(inf.cost_per_ha.to_array()) {
        v.positive(&format!("infrastructure.cost_per_ha.{k}"), x);
    }
    v.positive(
        "infrastructure.connection_cost_per_ha",
        inf.connection_cost_per_ha,
    );
    v.non_negative(
        "infrastructure.connection_distance_factor",
        inf.connection_distance_factor,
    );
    v.non_negative("infrastructure.stall_erosion", inf.stall_erosion);
    v.non_negative("infrastructure.depreciation", inf.depreciation);
    v.check(
        "infrastructure.need_target",
        inf.need_target,
        inf.need_target > 0.0 && inf.need_target < 1.0,
        "a number in (0, 1)",
    );
    v.check(
        "infrastructure.rho",
        inf.rho,
        inf.rho.is_finite() && inf.rho != 0.0,
        "a finite non-zero number (negative: complements, the default -2)",
    );
    let w = inf.weights.to_array();
    for (k, x) in COMPONENT_NAMES.iter().zip(w) {
        v.check(
            &format!("infrastructure.weights.{k}"),
            x,
            x > 0.0 && x <= 1.0,
            "a number in (0, 1]",
        );
    }
    v.sums_to_one("infrastructure.weights", &w);
    v.probability("infrastructure.complete_threshold", inf.complete_threshold);
    v.probability("infrastructure.z_min", inf.z_min);
    if let Some(gate) = inf.occupancy_gate {
        v.probability("infrastructure.occupancy_gate", gate);
    }

    // Entry.
    let e = &s.entry;
    v.non_negative("entry.size_sigma", e.size_sigma);
    v.non_negative("entry.productivity_sigma", e.productivity_sigma);
    v.positive("entry.land_per_firm", e.land_per_firm);
    v.finite("entry.land_exponent", e.land_exponent);
    v.positive("entry.land_min_ha", e.land_min_ha);
    v.check(
        "entry.land_max_ha",
        e.land_max_ha,
        e.land_max_ha.is_finite() && e.land_max_ha >= e.land_min_ha,
        &format!("a finite number >= entry.land_min_ha ({})", e.land_min_ha),
    );
    v.check(
        "entry.choice_set",
        e.choice_set,
        (1..=limits::CHOICE_SET).contains(&e.choice_set),
        &format!("an integer in [1, {}]", limits::CHOICE_SET),
    );
    let u = &e.utility;
    for (f, x) in [
        ("quality", u.quality),
        ("connection", u.connection),
        ("same_sector", u.same_sector),
        ("related", u.related),
        ("rent", u.rent),
        ("distance", u.distance),
        ("labor", u.labor),
        ("residential", u.residential),
        ("enforcement", u.enforcement),
    ] {
        v.finite(&format!("entry.utility.{f}"), x);
    }

    // Cooperation.
    let co = &s.cooperation;
    v.check(
        "cooperation.max_degree",
        co.max_degree,
        (1..=limits::MAX_DEGREE).contains(&co.max_degree),
        &format!("an integer in [1, {}]", limits::MAX_DEGREE),
    );
    v.non_negative("cooperation.link_rate", co.link_rate);
    v.non_negative("cooperation.link_decay", co.link_decay);
    v.probability("cooperation.triadic_share", co.triadic_share);
    v.probability("cooperation.kin_share", co.kin_share);
    v.non_negative("cooperation.spillover", co.spillover);
    v.non_negative("cooperation.innovation_sigma", co.innovation_sigma);

    // Growth.
    let gr = &s.growth;
    v.non_negative("growth.sigma0", gr.sigma0);
    v.non_negative("growth.beta", gr.beta);
    let fx = &gr.effects;
    for (f, x) in [
        ("productivity", fx.productivity),
        ("quality", fx.quality),
        ("network", fx.network),
        ("competition", fx.competition),
        ("labor", fx.labor),
        ("pollution", fx.pollution),
    ] {
        v.finite(&format!("growth.effects.{f}"), x);
    }
    v.probability("growth.quality_reference", gr.quality_reference);
    v.positive("growth.revenue_per_worker", gr.revenue_per_worker);
    v.finite("growth.labor_growth", gr.labor_growth);
    v.non_negative("growth.exit_hazard", gr.exit_hazard);
    v.non_negative("growth.exit_size_exponent", gr.exit_size_exponent);
    v.non_negative("growth.exit_age_exponent", gr.exit_age_exponent);
    v.non_negative("growth.exit_size", gr.exit_size);

    // Relocation.
    let rl = &s.relocation;
    v.probability("relocation.enforcement.start", rl.enforcement.start);
    v.probability("relocation.enforcement.end", rl.enforcement.end);
    v.at_most_steps(
        "relocation.enforcement.from_step",
        rl.enforcement.from_step,
        steps,
    );
    v.check(
        "relocation.enforcement.to_step",
        rl.enforcement.to_step,
        rl.enforcement.to_step >= rl.enforcement.from_step,
        &format!(
            "a step >= relocation.enforcement.from_step ({})",
            rl.enforcement.from_step
        ),
    );
    v.non_negative("relocation.relocation_rate", rl.relocation_rate);
    v.finite("relocation.theta0", rl.theta0);
    v.finite("relocation.theta_gain", rl.theta_gain);
    v.finite("relocation.theta_enf", rl.theta_enf);
    v.finite("relocation.theta_cost", rl.theta_cost);
    v.non_negative("relocation.move_cost_per_ha", rl.move_cost_per_ha);
    if let Some(t) = rl.forced_after_step {
        v.at_most_steps("relocation.forced_after_step", t, steps);
    }
    v.non_negative("relocation.force_rate", rl.force_rate);

    // Accounts.
    let a = &s.accounts;
    v.probability("accounts.tax_rate", a.tax_rate);
    v.non_negative("accounts.rent_base", a.rent_base);
    v.probability("accounts.developer_reinvest", a.developer_reinvest);
    v.leakage("accounts.developer_leakage", a.developer_leakage);
    v.positive("accounts.trainee_cost", a.trainee_cost);
    v.non_negative("accounts.training_effect", a.training_effect);

    // Initial state.
    let ini = &s.initial;
    v.check(
        "initial.max_age_years",
        ini.max_age_years,
        (0.0..=limits::MAX_AGE_YEARS).contains(&ini.max_age_years)
            && (!(limits::DT_MIN..=limits::DT_MAX).contains(&s.time.dt)
                || ini.max_age_years / s.time.dt <= limits::MAX_AGE_STEPS),
        &format!(
            "a number of years in [0, {}], and at most {} steps of time.dt ({})",
            limits::MAX_AGE_YEARS,
            limits::MAX_AGE_STEPS,
            s.time.dt
        ),
    );
    v.probability("initial.max_occupancy", ini.max_occupancy);
    for (field, n) in [
        ("initial.firms_in_clusters", ini.firms_in_clusters),
        ("initial.firms_residential", ini.firms_residential),
    ] {
        v.check(
            field,
            n,
            n <= limits::INITIAL_FIRMS,
            &format!("at most {} firms", limits::INITIAL_FIRMS),
        );
    }
    // The population a run creates, from entry rates, growth and duration.
    let (firms, top) = expected_firms(s);
    if v.issues.is_empty() && firms > limits::FIRMS_PER_RUN {
        let field = top.map_or("sectors".to_string(), |i| {
            format!("sectors[{i}].entry_rate")
        });
        v.check(
            &field,
            format!("about {firms:.3e} firms per run"),
            false,
            &format!(
                "entry rates, demand growth, time.steps and time.dt that create at most {:e} firms per run",
                limits::FIRMS_PER_RUN
            ),
        );
    }

    v.issues
}

/// Collects issues; each helper checks one kind of rule.
#[derive(Default)]
struct Checker {
    issues: Vec<Issue>,
}

impl Checker {
    fn check(&mut self, path: &str, value: impl ToString, ok: bool, allowed: &str) {
        if !ok {
            self.issues.push(Issue {
                path: path.to_string(),
                value: value.to_string(),
                allowed: allowed.to_string(),
                set_in: None,
            });
        }
    }

    fn finite(&mut self, path: &str, x: f64) {
        self.check(path, x, x.is_finite(), "a finite number");
    }

    fn probability(&mut self, path: &str, x: f64) {
        self.check(path, x, (0.0..=1.0).contains(&x), "a number in [0, 1]");
    }

    fn positive(&mut self, path: &str, x: f64) {
        self.check(path, x, x.is_finite() && x > 0.0, "a finite number > 0");
    }

    fn non_negative(&mut self, path: &str, x: f64) {
        self.check(path, x, x.is_finite() && x >= 0.0, "a finite number >= 0");
    }

    /// A finite number strictly above `lo` (growth rates: above −1).
    fn range_open_lo(&mut self, path: &str, x: f64, lo: f64) {
        self.check(
            path,
            x,
            x.is_finite() && x > lo,
            &format!("a finite number > {lo}"),
        );
    }

    /// A leakage share: money is lost, but not all of it.
    fn leakage(&mut self, path: &str, x: f64) {
        self.check(
            path,
            x,
            (0.0..1.0).contains(&x),
            "a number in [0, 1) (all money lost would make every need infinite)",
        );
    }

    fn at_most_steps(&mut self, path: &str, step: u32, steps: u32) {
        self.check(
            path,
            step,
            step <= steps,
            &format!("a step in [0, time.steps] = [0, {steps}]"),
        );
    }

    fn uniform(&mut self, path: &str, u: Uniform) {
        self.probability(&format!("{path}.lo"), u.lo);
        self.probability(&format!("{path}.hi"), u.hi);
        self.check(
            &format!("{path}.hi"),
            u.hi,
            u.hi >= u.lo || u.hi.is_nan() || u.lo.is_nan(),
            &format!("a number >= {path}.lo ({})", u.lo),
        );
    }

    fn sums_to_one(&mut self, path: &str, parts: &[f64]) {
        let sum: f64 = parts.iter().sum();
        // Rounded for display only: 0.5 + 0.6 + 0.1 shows as 1.2.
        let shown = (sum * 1e12).round() / 1e12;
        let terms: Vec<String> = parts.iter().map(|x| x.to_string()).collect();
        self.check(
            path,
            format!("sum {shown} ({})", terms.join(" + ")),
            (sum - 1.0).abs() <= SUM_TOLERANCE,
            &format!("shares that sum to 1 (within {SUM_TOLERANCE:e})"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_scenario_is_valid() {
        assert_eq!(validate(&Scenario::default()), vec![]);
    }

    #[test]
    fn all_issues_are_collected() {
        let mut s = Scenario::default();
        s.government.shares.inside = 1.5;
        s.time.dt = 0.0;
        s.relatedness[2][2] = 0.9;
        s.sectors.clear();
        let paths: Vec<String> = validate(&s).into_iter().map(|i| i.path).collect();
        for p in [
            "government.shares.inside",
            "government.shares",
            "time.dt",
            "relatedness[2][2]",
            "sectors",
            "relatedness",
        ] {
            assert!(paths.iter().any(|x| x == p), "{p} missing from {paths:?}");
        }
    }

    #[test]
    fn oversized_counts_are_refused_naming_the_field() {
        type Set = Box<dyn Fn(&mut Scenario)>;
        let cases: Vec<(&str, Set)> = vec![
            ("time.steps", Box::new(|s| s.time.steps = 1_000_000_000)),
            (
                "clusters.operating",
                Box::new(|s| s.clusters.operating = 4_000_000_000),
            ),
            (
                "cooperation.max_degree",
                Box::new(|s| s.cooperation.max_degree = u32::MAX),
            ),
            (
                "entry.choice_set",
                Box::new(|s| s.entry.choice_set = u32::MAX),
            ),
            (
                "initial.max_age_years",
                Box::new(|s| s.initial.max_age_years = 1e12),
            ),
            ("time.dt", Box::new(|s| s.time.dt = 1e300)),
            ("time.dt", Box::new(|s| s.time.dt = 1e-9)),
            (
                "sectors[0].entry_rate",
                Box::new(|s| s.sectors[0].entry_rate = 1e20),
            ),
            (
                "sectors[1].demand_growth",
                Box::new(|s| s.sectors[1].demand_growth = 1e6),
            ),
            (
                "monte_carlo.runs",
                Box::new(|s| s.monte_carlo.runs = u32::MAX),
            ),
        ];
        for (field, set) in cases {
            let mut s = Scenario::default();
            set(&mut s);
            let paths: Vec<String> = validate(&s).into_iter().map(|i| i.path).collect();
            assert!(paths.iter().any(|p| p == field), "{field}: {paths:?}");
        }
        // Within every bound, yet a population no run can hold.
        let mut s = Scenario::default();
        s.time.steps = 10_000;
        s.time.dt = 1.0;
        let issues = validate(&s);
        assert!(
            issues.iter().any(|i| i.value.contains("firms per run")),
            "{issues:?}"
        );
    }

    #[test]
    fn the_scaled_benchmark_is_valid() {
        for k in [0.1, 2.0, 200.0] {
            assert_eq!(validate(&Scenario::default().scaled(k)), vec![], "x{k}");
        }
    }
}
