//! Phase 9, `record`: the per-step observations of MODEL.md §6 as plain Rust data.
//! Writing them anywhere is the output layer's job; `run` is added there.

/// One region row per step (MODEL.md §6). Step 0 is the initial state, before
/// any phase has run; steps 1..=steps follow the nine phases.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RegionRow {
    pub step: u32,
    pub year: f64,
    pub firms: u64,
    pub firms_clusters: u64,
    pub firms_residential: u64,
    pub polluting_residential: u64,
    pub entries: u64,
    pub exits: u64,
    pub relocations: u64,
    pub forced_closures: u64,
    /// Workers employed by all firms.
    pub employment: f64,
    /// Total revenue, billion VND a year.
    pub revenue: f64,
    /// Tax collected in the step, billion VND.
    pub tax: f64,
    /// Money available in the step before allocation (budget incl. carry).
    pub budget: f64,
    /// Money placed in the step (leakage included).
    pub spent: f64,
    /// Money lost to leakage (public and developer).
    pub leakage: f64,
    /// Money lost to stalled-pipeline erosion.
    pub waste: f64,
    pub clusters_operating: u64,
    pub clusters_complete: u64,
    /// Area-weighted mean effective quality Q over operating clusters.
    pub mean_quality: f64,
    /// Undirected cooperation links.
    pub links: u64,
    pub max_degree: u64,
    /// Σ S over polluting residential firms.
    pub pollution_residential: f64,
    /// Σ S·(1 − q_wastewater) over polluting cluster firms.
    pub pollution_untreated: f64,
}

/// One row per cluster per step.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClusterRow {
    pub step: u32,
    pub cluster: u32,
    pub operating: bool,
    pub area_ha: f64,
    /// Occupied land over area.
    pub occupancy: f64,
    pub firms: u64,
    pub employment: f64,
    pub revenue: f64,
    /// q_k in component order: roads, utilities, wastewater, fire_safety, green.
    pub q: [f64; 5],
    /// z, the outside-the-fence connection.
    pub connection: f64,
    /// Q, the CES effective quality.
    pub quality: f64,
    pub complete: bool,
    /// Money received in the step (public and developer, before leakage).
    pub investment: f64,
    /// Links with at least one end in this cluster.
    pub links: u64,
    pub labor_pool: f64,
    pub shortage: f64,
}

/// One row per alive firm in the final snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FirmRow {
    pub firm: u64,
    pub sector: u32,
    /// True: in a cluster; false: in a residential area.
    pub in_cluster: bool,
    /// Cluster or residential-area index.
    pub site: u32,
    pub size: f64,
    pub productivity: f64,
    pub polluting: bool,
    /// Age in steps.
    pub age: u32,
    pub degree: u32,
    pub relocated: bool,
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunRecord {
    /// steps + 1 rows, by step.
    pub region: Vec<RegionRow>,
    /// (steps + 1) × clusters rows, by step then cluster.
    pub clusters: Vec<ClusterRow>,
    /// Final snapshot, only when asked for; by firm id.
    pub firms: Vec<FirmRow>,
}
