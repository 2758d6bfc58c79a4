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

/// One row per site of the initial world: where clusters and residential
/// areas are (for maps). Sites do not move, so one row each per run suffices.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SiteRow {
    /// True: a cluster; false: a residential area.
    pub is_cluster: bool,
    /// Cluster or residential-area index.
    pub site: u32,
    /// Position in km from the centre.
    pub x: f64,
    pub y: f64,
    /// Area (ha) of a cluster; 0 for residential areas.
    pub area_ha: f64,
    /// Planned establish step of a cluster planned at the start (−1: operating
    /// at the start; −1 for residential areas too).
    pub establish_step: i64,
    /// Population weight of a residential area; 0 for clusters.
    pub population: f64,
    pub craft_village: bool,
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
    /// The sites of the initial world: clusters by index, then residential areas.
    pub sites: Vec<SiteRow>,
}

use super::infrastructure::complete;
use super::world::{map_units_into, Site, World};

/// One cluster's sums over its members for the record.
#[derive(Debug, Clone, Default)]
pub struct ClusterSums {
    emp: f64,
    rev: f64,
    max_degree: u64,
    degree_sum: u64,
}

impl World<'_> {
    /// Phase 9: the region row and the cluster rows of the current step.
    pub fn record(&self) -> (RegionRow, Vec<ClusterRow>) {
        let mut rows = Vec::with_capacity(self.clusters.len());
        let r = self.record_with(&mut rows, &mut Vec::new());
        (r, rows)
    }

    /// `record`, with the cluster rows pushed onto `rows` (a run's rows of
    /// every step, so that a step allocates no vector of its own) and the
    /// clusters' sums in the world's reused buffer.
    pub fn record_into(&mut self, rows: &mut Vec<ClusterRow>) -> RegionRow {
        let mut sums = std::mem::take(&mut self.record_sums);
        let r = self.record_with(rows, &mut sums);
        self.record_sums = sums;
        r
    }

    /// `record_into` with the clusters' sums in `parts`.
    fn record_with(&self, rows: &mut Vec<ClusterRow>, parts: &mut Vec<ClusterSums>) -> RegionRow {
        let sc = self.sc;
        let p = &sc.infrastructure;
        let rpw = sc.growth.revenue_per_worker;
        let step = self.step;
        let mut r = RegionRow {
            step,
            year: sc.time.start_year + step as f64 * sc.time.dt,
            entries: self.counters.entries,
            exits: self.counters.exits,
            relocations: self.counters.relocations,
            forced_closures: self.counters.forced_closures,
            tax: self.counters.tax,
            budget: self.counters.budget,
            spent: self.counters.spent,
            leakage: self.counters.leakage,
            waste: self.counters.waste,
            ..Default::default()
        };
        rows.reserve(self.clusters.len());
        let (mut qa, mut area_op) = (0.0, 0.0);
        let mut degree_sum = 0u64;
        // Each cluster's sums over its members (in parallel in a big world),
        // then folded into the region row in cluster order; the untreated
        // pollution is summed there firm by firm in member order, as one
        // pass would.
        let world = self;
        map_units_into(self.parallel(), self.clusters.len(), parts, |ci| {
            let c = &world.clusters[ci];
            let mut part = ClusterSums::default();
            for (partners, f) in c.partners.iter().zip(&c.held) {
                part.rev += f.size;
                part.emp += f.size / rpw;
                let deg = partners.len() as u64;
                part.max_degree = part.max_degree.max(deg);
                part.degree_sum += deg;
            }
            part
        });
        for ((ci, c), part) in self.clusters.iter().enumerate().zip(parts.iter()) {
            let q = c.quality;
            let (emp, rev) = (part.emp, part.rev);
            // A link counts for this cluster once, even if both ends are
            // here: every member's degree, less the links counted twice.
            let links = part.degree_sum - c.internal_links;
            r.max_degree = r.max_degree.max(part.max_degree);
            degree_sum += part.degree_sum;
            // S·(1 − q_wastewater) of each polluting member, without a
            // branch on the flag (set for 10–60% of a sector's firms in
            // Hanoi, in no order a predictor learns): the product
            // is that or +0.0 (a size is positive, 1 − q ≥ 0), and adding
            // +0.0 to this sum (never −0.0) leaves it as it is.
            let untreated = 1.0 - c.q[2];
            for f in &c.held {
                r.pollution_untreated += f.size * untreated * f64::from(u8::from(f.polluting));
            }
            r.firms_clusters += c.members.len() as u64;
            r.employment += emp;
            r.revenue += rev;
            let is_complete = c.operating() && complete(c, p);
            if c.operating() {
                r.clusters_operating += 1;
                r.clusters_complete += is_complete as u64;
                qa += q * c.area;
                area_op += c.area;
            }
            let investment =
                c.alloc.iter().sum::<f64>() + c.alloc_z + c.dev_alloc.iter().sum::<f64>();
            rows.push(ClusterRow {
                step,
                cluster: ci as u32,
                operating: c.operating(),
                area_ha: c.area,
                occupancy: if c.area > 0.0 {
                    c.occupied / c.area
                } else {
                    0.0
                },
                firms: c.members.len() as u64,
                employment: emp,
                revenue: rev,
                q: c.q,
                connection: c.z,
                quality: q,
                complete: is_complete,
                investment,
                links,
                labor_pool: c.labor_pool,
                shortage: c.shortage,
            });
        }
        for a in &self.areas {
            for f in &a.held {
                r.firms_residential += 1;
                r.revenue += f.size;
                r.employment += f.size / rpw;
                // Without a branch on the flag, as for the untreated
                // pollution above: the product is the size or +0.0.
                r.polluting_residential += u64::from(f.polluting);
                r.pollution_residential += f.size * f64::from(u8::from(f.polluting));
            }
        }
        r.firms = r.firms_clusters + r.firms_residential;
        r.links = degree_sum / 2;
        r.mean_quality = if area_op > 0.0 { qa / area_op } else { 0.0 };
        r
    }

    /// The sites (clusters, then residential areas) with their positions.
    pub fn site_rows(&self) -> Vec<SiteRow> {
        let clusters = self.clusters.iter().enumerate().map(|(i, c)| SiteRow {
            is_cluster: true,
            site: i as u32,
            x: c.x,
            y: c.y,
            area_ha: c.area,
            establish_step: c.establish_step.map_or(-1, i64::from),
            population: 0.0,
            craft_village: false,
        });
        let areas = self.areas.iter().enumerate().map(|(i, a)| SiteRow {
            is_cluster: false,
            site: i as u32,
            x: a.x,
            y: a.y,
            area_ha: 0.0,
            establish_step: -1,
            population: a.population,
            craft_village: a.craft_village,
        });
        clusters.chain(areas).collect()
    }

    /// The final firm snapshot: alive firms by stable id.
    pub fn firm_rows(&self) -> Vec<FirmRow> {
        let mut rows: Vec<FirmRow> = self
            .firms
            .iter()
            .enumerate()
            .filter(|(_, f)| f.alive)
            .map(|(i, f)| {
                let (in_cluster, site) = match f.site {
                    Site::Cluster(c) => (true, c),
                    Site::Home(a) => (false, a),
                };
                FirmRow {
                    firm: u64::from(f.id),
                    sector: f.sector,
                    in_cluster,
                    site,
                    size: f.size,
                    productivity: f.productivity(),
                    polluting: f.polluting,
                    age: f.age,
                    degree: self.partners_of(i as u32).len() as u32,
                    relocated: f.relocated,
                }
            })
            .collect();
        rows.sort_unstable_by_key(|r| r.firm);
        rows
    }
}
