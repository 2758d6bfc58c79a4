//! The scenario types: one field per parameter of MODEL.md, grouped as the ODD
//! groups them, each with the default MODEL.md gives (the Hanoi baseline).
//!
//! These types are the serde edge of the crate (`deny_unknown_fields`): a field
//! renamed here breaks every config file written against it, so rename with care.
//! Every struct has `#[serde(default)]`, so a config that omits a field gets the
//! MODEL.md default for it.

use serde::{Deserialize, Serialize};

/// A whole scenario: everything one Monte Carlo job needs besides the seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// A base config this one inherits from, as a path relative to this file.
    /// Resolved (and cleared) by the loader. Written `base: "hanoi.ron"`
    /// (`Some("hanoi.ron")` is accepted too).
    #[serde(skip_serializing_if = "Option::is_none", with = "base_path")]
    pub base: Option<String>,
    /// A short human description of the scenario.
    pub description: String,
    /// Defaults for the Monte Carlo job (the CLI may override them).
    pub monte_carlo: MonteCarlo,
    pub time: Time,
    pub region: Region,
    pub sectors: Vec<Sector>,
    /// Relatedness R[s][s'] in [0,1], square, K×K, 1 on the diagonal.
    pub relatedness: Vec<Vec<f64>>,
    pub clusters: Clusters,
    pub residential: Residential,
    pub government: Government,
    pub infrastructure: Infrastructure,
    pub entry: Entry,
    pub cooperation: Cooperation,
    pub growth: Growth,
    pub relocation: Relocation,
    pub accounts: Accounts,
    pub initial: Initial,
}

/// Defaults for the Monte Carlo driver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonteCarlo {
    /// Number of runs when the CLI gives no `--runs`.
    pub runs: u32,
    /// Master seed when the CLI gives no `--seed`.
    pub seed: u64,
}

impl Default for MonteCarlo {
    fn default() -> Self {
        Self {
            runs: 100,
            seed: 2021,
        }
    }
}

/// Time: one step is `dt` years; a run is `steps` steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Time {
    pub dt: f64,
    pub steps: u32,
    /// Calendar year of step 0 (for the `year` output column).
    pub start_year: f64,
}

impl Default for Time {
    fn default() -> Self {
        Self {
            dt: 0.25,
            steps: 40,
            start_year: 2021.0,
        }
    }
}

/// The region: a disc around the centre (the origin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Region {
    /// R, the region's radius in km.
    pub radius_km: f64,
}

impl Default for Region {
    fn default() -> Self {
        Self { radius_km: 30.0 }
    }
}

/// One industrial sector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Sector {
    pub name: String,
    /// λ_s, entrants per year.
    pub entry_rate: f64,
    /// g_s, demand growth per year.
    pub demand_growth: f64,
    /// π_s, share of entrants that pollute.
    pub polluting_share: f64,
    /// S0_s, median entrant revenue (billion VND a year).
    pub size_median: f64,
}

impl Default for Sector {
    fn default() -> Self {
        Self {
            name: String::new(),
            entry_rate: 100.0,
            demand_growth: 0.05,
            polluting_share: 0.3,
            size_median: 10.0,
        }
    }
}

/// The six Hanoi sectors of MODEL.md §5.
pub fn hanoi_sectors() -> Vec<Sector> {
    let s = |name: &str, entry_rate, demand_growth, size_median, polluting_share| Sector {
        name: name.to_string(),
        entry_rate,
        demand_growth,
        polluting_share,
        size_median,
    };
    vec![
        s("textiles_garments", 100.0, 0.04, 15.0, 0.3),
        s("food_processing", 120.0, 0.06, 10.0, 0.4),
        s("metal_mechanical", 100.0, 0.05, 20.0, 0.5),
        s("wood_furniture", 80.0, 0.03, 8.0, 0.4),
        s("electronics", 50.0, 0.10, 40.0, 0.1),
        s("handicrafts", 150.0, 0.02, 3.0, 0.6),
    ]
}

/// The Hanoi relatedness matrix of MODEL.md §5 (order as in `hanoi_sectors`).
pub fn hanoi_relatedness() -> Vec<Vec<f64>> {
    let mut r = vec![vec![0.1; 6]; 6];
    for (i, row) in r.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    // 0 textiles, 1 food, 2 metal, 3 wood, 4 electronics, 5 handicrafts.
    for &(a, b, v) in &[
        (0, 5, 0.5),
        (2, 4, 0.5),
        (3, 5, 0.5),
        (2, 3, 0.3),
        (1, 5, 0.2),
    ] {
        r[a][b] = v;
        r[b][a] = v;
    }
    r
}

/// A uniform draw U(lo, hi). (`Default` is U(0, 0); it only fills fields a
/// config leaves out, which inheritance then takes from the base.)
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Uniform {
    pub lo: f64,
    pub hi: f64,
}

impl Uniform {
    pub const fn new(lo: f64, hi: f64) -> Self {
        Self { lo, hi }
    }
}

/// One value per infrastructure component, in the order
/// roads, utilities, wastewater, fire_safety, green.
///
/// `#[serde(default)]` lets a config set one component and inherit the
/// others from its base (`weights: (roads: 0.3, green: 0.1)`); in a file
/// without a base, a component left out is `T::default()` (zero), which
/// validation rejects where zero is not allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Components<T> {
    pub roads: T,
    pub utilities: T,
    pub wastewater: T,
    pub fire_safety: T,
    pub green: T,
}

impl<T: Copy> Components<T> {
    pub const fn splat(v: T) -> Self {
        Self {
            roads: v,
            utilities: v,
            wastewater: v,
            fire_safety: v,
            green: v,
        }
    }
    /// The five values in component order.
    pub fn to_array(&self) -> [T; 5] {
        [
            self.roads,
            self.utilities,
            self.wastewater,
            self.fire_safety,
            self.green,
        ]
    }
}

/// Names of the components, in component order.
pub const COMPONENT_NAMES: [&str; 5] = ["roads", "utilities", "wastewater", "fire_safety", "green"];

/// Cluster types after Gordon & McCann (2000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClusterType {
    Marshallian,
    Complex,
    SocialNetwork,
}

/// Shares of the three cluster types among generated clusters (sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TypeShares {
    pub marshallian: f64,
    pub complex: f64,
    pub social_network: f64,
}

impl Default for TypeShares {
    fn default() -> Self {
        Self {
            marshallian: 0.5,
            complex: 0.25,
            social_network: 0.25,
        }
    }
}

/// Initial infrastructure draws for one class of generated operating clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityDraws {
    pub components: Components<Uniform>,
    pub connection: Uniform,
}

impl Default for QualityDraws {
    fn default() -> Self {
        Self::incomplete()
    }
}

impl QualityDraws {
    /// The 16 complete Hanoi clusters: every q_k ~ U(0.6, 0.9), z ~ U(0.6, 1).
    pub fn complete() -> Self {
        Self {
            components: Components::splat(Uniform::new(0.6, 0.9)),
            connection: Uniform::new(0.6, 1.0),
        }
    }
    /// The 54 incomplete Hanoi clusters.
    pub fn incomplete() -> Self {
        Self {
            components: Components {
                roads: Uniform::new(0.4, 0.8),
                utilities: Uniform::new(0.4, 0.8),
                wastewater: Uniform::new(0.0, 0.3),
                fire_safety: Uniform::new(0.1, 0.5),
                green: Uniform::new(0.1, 0.5),
            },
            connection: Uniform::new(0.3, 0.8),
        }
    }
}

/// An explicitly listed cluster (used instead of the generator when
/// `clusters.explicit` is not empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    #[serde(default)]
    pub name: String,
    /// Position in km from the centre.
    pub x: f64,
    pub y: f64,
    pub area_ha: f64,
    pub cluster_type: ClusterType,
    /// `None`: operating at the start; `Some(t)`: planned, to be established at step t.
    #[serde(default)]
    pub establish_step: Option<u32>,
    /// Initial component qualities (0 for planned clusters).
    pub quality: Components<f64>,
    /// Initial outside-the-fence connection z.
    pub connection: f64,
}

/// Clusters: the generator of MODEL.md §5 and cluster-level parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Clusters {
    /// Operating clusters at the start.
    pub operating: u32,
    /// Their total area (ha); areas LogNormal(σ) scaled to this total, then clamped.
    pub total_area_ha: f64,
    /// How many of the operating clusters start complete.
    pub complete: u32,
    /// Planned clusters (the 2030 plan).
    pub planned: u32,
    /// Their total area (ha).
    pub planned_total_area_ha: f64,
    /// Establish steps of planned clusters are spread evenly over 0..=this.
    pub planned_last_step: u32,
    /// σ of the LogNormal area draw.
    pub area_sigma: f64,
    /// Legal range of a cluster's area (ha).
    pub min_area_ha: f64,
    pub max_area_ha: f64,
    pub type_shares: TypeShares,
    /// Initial infrastructure of the complete operating clusters.
    pub complete_quality: QualityDraws,
    /// Initial infrastructure of the other operating clusters.
    pub incomplete_quality: QualityDraws,
    /// A cluster's labour pool when it opens, workers per hectare.
    pub labor_per_ha: f64,
    /// Explicit cluster list; when non-empty the generator is not used.
    pub explicit: Vec<ClusterSpec>,
}

impl Default for Clusters {
    fn default() -> Self {
        Self {
            operating: 70,
            total_area_ha: 1400.0,
            complete: 16,
            planned: 89,
            planned_total_area_ha: 1800.0,
            planned_last_step: 36,
            area_sigma: 0.5,
            min_area_ha: 10.0,
            max_area_ha: 75.0,
            type_shares: TypeShares::default(),
            complete_quality: QualityDraws::complete(),
            incomplete_quality: QualityDraws::incomplete(),
            labor_per_ha: 40.0,
            explicit: Vec::new(),
        }
    }
}

/// An explicitly listed residential area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentialSpec {
    #[serde(default)]
    pub name: String,
    pub x: f64,
    pub y: f64,
    pub population: f64,
    #[serde(default)]
    pub craft_village: bool,
}

/// Residential areas and craft villages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Residential {
    /// Number of residential areas (craft villages included).
    pub areas: u32,
    /// How many of them are craft villages.
    pub craft_villages: u32,
    /// σ of the LogNormal population weights.
    pub population_sigma: f64,
    /// Q_site of a residential area in the growth equation.
    pub residential_quality: f64,
    /// Explicit list; when non-empty the generator is not used.
    pub explicit: Vec<ResidentialSpec>,
}

impl Default for Residential {
    fn default() -> Self {
        Self {
            areas: 40,
            craft_villages: 10,
            population_sigma: 0.5,
            residential_quality: 0.2,
            explicit: Vec::new(),
        }
    }
}

/// Budget shares by pool (must sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Shares {
    pub outside: f64,
    pub inside: f64,
    pub training: f64,
    pub relocation_subsidy: f64,
}

impl Default for Shares {
    fn default() -> Self {
        Self {
            outside: 0.3,
            inside: 0.6,
            training: 0.1,
            relocation_subsidy: 0.0,
        }
    }
}

/// How the outside-the-fence pool is spread over clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutsideRule {
    PlannedFirst,
    Equal,
}

/// How the inside pool is spread over operating clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InsideRule {
    Equal,
    ByArea,
    ByOccupancy,
    WorstFirst,
}

/// How a cluster's money is spread over its components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ComponentRule {
    Balanced,
    Fixed,
    Showcase,
}

/// The city government: budget, policy and governance (MODEL.md §4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Government {
    /// B0, budget per year at t = 0 (billion VND).
    pub budget: f64,
    /// g_B, budget growth per year.
    pub budget_growth: f64,
    /// Share of last step's tax added to the budget.
    pub reinvest_tax_share: f64,
    pub shares: Shares,
    pub outside_rule: OutsideRule,
    pub inside_rule: InsideRule,
    pub component_rule: ComponentRule,
    /// Share of public money lost before it reaches a pipeline.
    pub leakage: f64,
    /// `PlannedFirst` brings a planned cluster's z up to this.
    pub connect_target: f64,
}

impl Default for Government {
    fn default() -> Self {
        Self {
            budget: 500.0,
            budget_growth: 0.05,
            reinvest_tax_share: 0.02,
            shares: Shares::default(),
            outside_rule: OutsideRule::PlannedFirst,
            inside_rule: InsideRule::WorstFirst,
            component_rule: ComponentRule::Balanced,
            leakage: 0.3,
            connect_target: 0.75,
        }
    }
}

/// Infrastructure pipelines, completion, depreciation and quality (MODEL.md §4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Infrastructure {
    /// A project completes only when its pipeline reaches this per hectare.
    pub min_project_per_ha: f64,
    /// x_k, cost scale per hectare of each component.
    pub cost_per_ha: Components<f64>,
    /// Base cost scale per hectare of the connection.
    pub connection_cost_per_ha: f64,
    /// The connection's cost scale is multiplied by (1 + this·d_c/R).
    pub connection_distance_factor: f64,
    /// Erosion rate per year of a pipeline below the threshold.
    pub stall_erosion: f64,
    /// δ, depreciation per year.
    pub depreciation: f64,
    /// The quality that "need" brings a component to.
    pub need_target: f64,
    /// ρ of the CES aggregate (negative: complements).
    pub rho: f64,
    /// CES weights w_k (sum to 1).
    pub weights: Components<f64>,
    /// Every q_k at least this (and z ≥ z_min) makes a cluster complete.
    pub complete_threshold: f64,
    pub z_min: f64,
    /// A planned cluster opens only once z ≥ z_min.
    pub connect_before_establish: bool,
    /// Decree 32/2024: planned clusters open only while occupancy exceeds this.
    pub occupancy_gate: Option<f64>,
}

impl Default for Infrastructure {
    fn default() -> Self {
        Self {
            min_project_per_ha: 0.15,
            cost_per_ha: Components::splat(0.6),
            connection_cost_per_ha: 0.4,
            connection_distance_factor: 3.0,
            stall_erosion: 0.1,
            depreciation: 0.025,
            need_target: 0.95,
            rho: -2.0,
            weights: Components {
                roads: 0.25,
                utilities: 0.25,
                wastewater: 0.2,
                fire_safety: 0.15,
                green: 0.15,
            },
            complete_threshold: 0.6,
            z_min: 0.5,
            connect_before_establish: true,
            occupancy_gate: None,
        }
    }
}

/// Utility weights of the location choice (MODEL.md §4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Utility {
    /// β_Q
    pub quality: f64,
    /// β_z
    pub connection: f64,
    /// β_same
    pub same_sector: f64,
    /// β_rel
    pub related: f64,
    /// β_rent
    pub rent: f64,
    /// β_dist (per 10 km)
    pub distance: f64,
    /// β_lab
    pub labor: f64,
    /// u_res, utility of staying at home
    pub residential: f64,
    /// β_enf, enforcement penalty on polluting firms staying home
    pub enforcement: f64,
}

impl Default for Utility {
    fn default() -> Self {
        Self {
            quality: 3.0,
            connection: 1.0,
            same_sector: 0.5,
            related: 0.3,
            rent: 2.0,
            distance: 0.5,
            labor: 0.2,
            residential: 6.0,
            enforcement: 2.0,
        }
    }
}

/// Entry and location choice (MODEL.md §4.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Entry {
    /// σ of ln size of an entrant.
    pub size_sigma: f64,
    /// σ of ln productivity of an entrant.
    pub productivity_sigma: f64,
    /// Land of a median firm (ha).
    pub land_per_firm: f64,
    /// Land scales as (S/S0)^this.
    pub land_exponent: f64,
    pub land_min_ha: f64,
    pub land_max_ha: f64,
    /// Nearest operating clusters a firm considers.
    pub choice_set: u32,
    pub utility: Utility,
}

impl Default for Entry {
    fn default() -> Self {
        Self {
            size_sigma: 1.0,
            productivity_sigma: 0.3,
            land_per_firm: 0.65,
            land_exponent: 0.5,
            land_min_ha: 0.2,
            land_max_ha: 5.0,
            choice_set: 30,
            utility: Utility::default(),
        }
    }
}

/// Cooperation and spillover (MODEL.md §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Cooperation {
    pub max_degree: u32,
    /// Link attempts per firm-year.
    pub link_rate: f64,
    /// Link dissolution per year.
    pub link_decay: f64,
    /// `SocialNetwork`: share of attempts that go to a partner's partner.
    pub triadic_share: f64,
    /// `SocialNetwork`: of the other attempts, the share that go to a firm
    /// from the same home area sitting in any cluster (kin links).
    pub kin_share: f64,
    /// How candidates are chosen: by cluster type (MODEL.md §4.4), or
    /// uniformly within the cluster for every type (the negative control of P3).
    pub partner_rule: PartnerRule,
    /// Knowledge spillover per year.
    pub spillover: f64,
    /// σ of the productivity random walk per √year.
    pub innovation_sigma: f64,
}

impl Default for Cooperation {
    fn default() -> Self {
        Self {
            max_degree: 50,
            link_rate: 3.0,
            link_decay: 0.1,
            triadic_share: 0.5,
            kin_share: 0.3,
            partner_rule: PartnerRule::ByType,
            spillover: 0.3,
            innovation_sigma: 0.05,
        }
    }
}

/// How link candidates are chosen (MODEL.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartnerRule {
    /// Marshallian uniform, Complex preferential, SocialNetwork triadic and kin.
    ByType,
    /// Uniform within the cluster for every type: no hubs by design.
    Uniform,
}

/// The distribution of the growth shock ξ (MODEL.md §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shock {
    /// ξ ~ N(0, 1) every step, independent (MODEL.md's first choice).
    Gaussian,
    /// ξ = √v·N(0, 1) with v ~ Exp(1) drawn once per firm and year: a
    /// Gaussian scale mixture whose sum over a year is Laplace (Stanley et
    /// al. 1996's tent shape within a size class); same variance as Gaussian.
    Laplace,
}

/// Effects on a firm's growth rate (MODEL.md §4.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrowthEffects {
    /// α_A
    pub productivity: f64,
    /// α_Q
    pub quality: f64,
    /// α_net
    pub network: f64,
    /// α_comp
    pub competition: f64,
    /// α_lab
    pub labor: f64,
    /// α_pol
    pub pollution: f64,
}

impl Default for GrowthEffects {
    fn default() -> Self {
        Self {
            productivity: 0.1,
            quality: 0.1,
            network: 0.02,
            competition: 0.05,
            labor: 0.2,
            pollution: 0.1,
        }
    }
}

/// Growth, labour and exit (MODEL.md §4.5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Growth {
    /// σ0, volatility of ln size per √year at the median size.
    pub sigma0: f64,
    /// β, volatility falls with size as (S/S0)^−β.
    pub beta: f64,
    /// Distribution of the growth shock ξ.
    pub shock: Shock,
    pub effects: GrowthEffects,
    /// Q at which quality neither helps nor hurts growth.
    pub quality_reference: f64,
    /// Revenue per worker (billion VND a year).
    pub revenue_per_worker: f64,
    /// Labour pool growth per year.
    pub labor_growth: f64,
    /// h0, exit hazard per year of a median firm at age 0.
    pub exit_hazard: f64,
    pub exit_size_exponent: f64,
    pub exit_age_exponent: f64,
    /// Firms below this revenue exit.
    pub exit_size: f64,
}

impl Default for Growth {
    fn default() -> Self {
        Self {
            sigma0: 0.35,
            beta: 0.17,
            shock: Shock::Laplace,
            effects: GrowthEffects::default(),
            quality_reference: 0.5,
            revenue_per_worker: 3.0,
            labor_growth: 0.02,
            exit_hazard: 0.3,
            exit_size_exponent: 0.3,
            exit_age_exponent: 0.5,
            exit_size: 0.5,
        }
    }
}

/// A linear ramp from `start` to `end` over [`from_step`, `to_step`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ramp {
    pub start: f64,
    pub end: f64,
    pub from_step: u32,
    pub to_step: u32,
}

impl Default for Ramp {
    fn default() -> Self {
        Self {
            start: 0.2,
            end: 0.5,
            from_step: 0,
            to_step: 40,
        }
    }
}

impl Ramp {
    /// E(t): start + (end − start)·clamp((t − from)/(to − from), 0, 1); a jump
    /// to `end` at `to_step` when from = to.
    pub fn at(&self, step: u32) -> f64 {
        if self.to_step <= self.from_step {
            return if step >= self.to_step {
                self.end
            } else {
                self.start
            };
        }
        let f = (step as f64 - self.from_step as f64) / (self.to_step - self.from_step) as f64;
        self.start + (self.end - self.start) * f.clamp(0.0, 1.0)
    }
}

/// Relocation out of residential areas (MODEL.md §4.6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Relocation {
    /// E(t), the enforcement against polluting residential firms.
    pub enforcement: Ramp,
    /// Relocation decisions per firm-year at logistic = 1.
    pub relocation_rate: f64,
    pub theta0: f64,
    pub theta_gain: f64,
    pub theta_enf: f64,
    pub theta_cost: f64,
    /// Moving cost per hectare (billion VND), times (1 + d/10).
    pub move_cost_per_ha: f64,
    /// After this step, polluting residential firms are forced out.
    pub forced_after_step: Option<u32>,
    /// Forced moves per firm-year once forcing applies.
    pub force_rate: f64,
}

impl Default for Relocation {
    fn default() -> Self {
        Self {
            enforcement: Ramp::default(),
            relocation_rate: 1.0,
            theta0: -3.0,
            theta_gain: 1.0,
            theta_enf: 3.0,
            theta_cost: 1.0,
            move_cost_per_ha: 0.5,
            forced_after_step: None,
            force_rate: 0.5,
        }
    }
}

/// Taxes, rents, developer reinvestment and training (MODEL.md §4.7).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Accounts {
    pub tax_rate: f64,
    /// Rent per ha-year is rent_base·(0.5 + Q_c).
    pub rent_base: f64,
    /// Share of rent the developer reinvests into its cluster.
    pub developer_reinvest: f64,
    pub developer_leakage: f64,
    /// Cost of training one worker (billion VND).
    pub trainee_cost: f64,
    pub training_effect: f64,
}

impl Default for Accounts {
    fn default() -> Self {
        Self {
            tax_rate: 0.08,
            rent_base: 0.1,
            developer_reinvest: 0.5,
            developer_leakage: 0.1,
            trainee_cost: 0.02,
            training_effect: 0.5,
        }
    }
}

/// The initial firm population (MODEL.md §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Initial {
    pub firms_in_clusters: u32,
    pub firms_residential: u32,
    /// Initial ages are uniform over [0, this] years.
    pub max_age_years: f64,
    /// Initial firms fill at most this share of each cluster's land (a cap;
    /// the Hanoi draw fills about 70% of cluster land on average).
    pub max_occupancy: f64,
    /// Warm up incumbents: a firm of age a is drawn as an entrant a years
    /// ago and grown by §4.5 in a neutral environment for those years (an
    /// exit is redrawn), so initial sizes come from the model's dynamics.
    pub spin_up: bool,
}

impl Default for Initial {
    fn default() -> Self {
        Self {
            firms_in_clusters: 1100,
            firms_residential: 3000,
            max_age_years: 20.0,
            max_occupancy: 0.8,
            spin_up: true,
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            base: None,
            description: "Hanoi baseline (MODEL.md §5)".to_string(),
            monte_carlo: MonteCarlo::default(),
            time: Time::default(),
            region: Region::default(),
            sectors: hanoi_sectors(),
            relatedness: hanoi_relatedness(),
            clusters: Clusters::default(),
            residential: Residential::default(),
            government: Government::default(),
            infrastructure: Infrastructure::default(),
            entry: Entry::default(),
            cooperation: Cooperation::default(),
            growth: Growth::default(),
            relocation: Relocation::default(),
            accounts: Accounts::default(),
            initial: Initial::default(),
        }
    }
}

impl Scenario {
    /// The scaled benchmark scenario `hanoi ×k` of MODEL.md §6: counts, entry
    /// rates and the budget multiplied by k, the radius by √k.
    pub fn scaled(&self, k: f64) -> Self {
        let mut s = self.clone();
        let n = |v: u32| (v as f64 * k).round() as u32;
        s.clusters.operating = n(s.clusters.operating);
        s.clusters.complete = n(s.clusters.complete);
        s.clusters.planned = n(s.clusters.planned);
        s.clusters.total_area_ha *= k;
        s.clusters.planned_total_area_ha *= k;
        s.residential.areas = n(s.residential.areas);
        s.residential.craft_villages = n(s.residential.craft_villages);
        s.initial.firms_in_clusters = n(s.initial.firms_in_clusters);
        s.initial.firms_residential = n(s.initial.firms_residential);
        for sec in &mut s.sectors {
            sec.entry_rate *= k;
        }
        s.government.budget *= k;
        s.region.radius_km *= k.sqrt();
        s
    }
}

/// Serde for `Scenario::base`: a plain string in RON (`base: "hanoi.ron"`),
/// also accepting `Some("…")`, `None` and `()`.
mod base_path {
    use serde::de::{Deserializer, Error, Visitor};
    use serde::Serializer;
    use std::fmt;

    pub fn serialize<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(path) => s.serialize_str(path),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        struct PathVisitor;
        impl<'de> Visitor<'de> for PathVisitor {
            type Value = Option<String>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path string such as \"hanoi.ron\"")
            }
            fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Some(v.to_string()))
            }
            fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
                d.deserialize_str(self)
            }
        }
        d.deserialize_any(PathVisitor)
    }
}
