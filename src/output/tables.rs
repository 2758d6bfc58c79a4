//! The output tables as polars `DataFrame`s, built from a batch of
//! `RunRecord`s. Column names, order and types here are the public contract
//! documented in `docs/outputs.md`; change them only together with that file.
//!
//! Integer identifiers and indices (`run`, `step`, `cluster`, `sector`, `site`,
//! `age`, `degree`) are `Int32`, counts and the firm id `Int64`, the master seed
//! `UInt64`, money and other quantities `Float64`, flags `Boolean` and labels
//! `String`. Every table starts with the caller's constant `extra` columns
//! ([`Constant`]: a comparison's `scenario`, a sweep's `point` and swept
//! parameters), then `run`. Tables with a sector id carry its name too
//! (`sector_name`, from the scenario's `sectors[i].name`).

use polars::prelude::*;

use crate::model::{RegionRow, RunRecord};

/// One output table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    Region,
    Clusters,
    Runs,
    Firms,
    Sites,
}

impl Table {
    /// Every table, in the order they are written and reported.
    pub const ALL: [Table; 5] = [
        Table::Region,
        Table::Clusters,
        Table::Runs,
        Table::Firms,
        Table::Sites,
    ];

    /// The table's file stem (`region` for `region.parquet` and its parts).
    pub fn name(self) -> &'static str {
        match self {
            Table::Region => "region",
            Table::Clusters => "clusters",
            Table::Runs => "runs",
            Table::Firms => "firms",
            Table::Sites => "sites",
        }
    }

    /// The table named `name`, if any.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// The unit of a column (Parquet field metadata `unit`, see `docs/outputs.md`);
/// `None` for identifiers, counts, flags and labels. `"1"` marks a
/// dimensionless fraction.
pub fn unit(table: Table, column: &str) -> Option<&'static str> {
    let region = |c: &str| match c {
        "year" => Some("year"),
        "employment" | "labor_pool" => Some("workers"),
        "revenue" | "pollution_residential" | "pollution_untreated" => Some("bn VND/year"),
        "tax" | "budget" | "spent" | "leakage" | "waste" | "investment" => Some("bn VND"),
        "mean_quality" => Some("1"),
        _ => None,
    };
    match table {
        Table::Region => region(column),
        Table::Runs => column
            .strip_prefix("final_")
            .or_else(|| column.strip_prefix("mean_"))
            .and_then(region),
        Table::Clusters => match column {
            "area_ha" => Some("ha"),
            "occupancy" | "connection" | "quality" | "shortage" => Some("1"),
            c if c.starts_with("q_") => Some("1"),
            c => region(c),
        },
        Table::Firms => match column {
            "size" => Some("bn VND/year"),
            "age" => Some("step"),
            _ => None,
        },
        Table::Sites => match column {
            "x" | "y" => Some("km"),
            "area_ha" => Some("ha"),
            "establish_step" => Some("step"),
            _ => None,
        },
    }
}

/// What a job records: which tables, and every how many steps the
/// time-series tables (`region`, `clusters`) keep a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// `None`: the default tables (`region`, `clusters`, `sites`, `runs`, and
    /// `firms` when the job keeps firms).
    pub tables: Option<Vec<Table>>,
    /// Keep steps t with t mod `every` = 0, and the last step.
    pub every: u32,
}

impl Default for Recording {
    fn default() -> Self {
        Recording {
            tables: None,
            every: 1,
        }
    }
}

impl Recording {
    /// Parse `--tables` names (each of [`Table::ALL`]) and `--record-every`.
    pub fn parse(tables: Option<&[String]>, every: u32) -> Result<Recording, String> {
        if every == 0 {
            return Err("--record-every 0: must be at least 1 (1 keeps every step)".into());
        }
        let tables = match tables {
            None => None,
            Some(names) => {
                let mut out = Vec::new();
                for n in names {
                    let t = Table::from_name(n.trim()).ok_or_else(|| {
                        format!(
                            "--tables: unknown table {n:?}; allowed: region, clusters, sites, runs, firms"
                        )
                    })?;
                    if !out.contains(&t) {
                        out.push(t);
                    }
                }
                if out.is_empty() {
                    return Err("--tables: name at least one table".into());
                }
                Some(out)
            }
        };
        Ok(Recording { tables, every })
    }
}

/// `df` of `table` with only the recorded steps (see [`Recording::every`]);
/// tables without a step column, and `every` = 1, are returned whole.
pub fn thin(table: Table, df: DataFrame, every: u32, last_step: u32) -> PolarsResult<DataFrame> {
    if every <= 1 || !matches!(table, Table::Region | Table::Clusters) {
        return Ok(df);
    }
    let step = df.column("step")?.cast(&DataType::Int64)?;
    let mask: BooleanChunked = step
        .i64()?
        .iter()
        .map(|s| s.map(|s| s % i64::from(every) == 0 || s == i64::from(last_step)))
        .collect();
    df.filter(&mask)
}

/// The value of a constant column put first in every table of a job (see
/// [`crate::experiment::JobSpec::extra`]): `Int64`, `Float64`, `Boolean` or
/// `utf8`. Stored in the manifest as a bare JSON value (older manifests hold
/// only floats, which read back as [`Constant::Float`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Constant {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl From<f64> for Constant {
    fn from(v: f64) -> Self {
        Constant::Float(v)
    }
}

impl From<i64> for Constant {
    fn from(v: i64) -> Self {
        Constant::Int(v)
    }
}

impl From<&str> for Constant {
    fn from(v: &str) -> Self {
        Constant::Text(v.to_string())
    }
}

impl Constant {
    /// A column of `height` copies of the value.
    pub fn column(&self, name: &str, height: usize) -> Column {
        match self {
            Constant::Int(v) => Column::new(name.into(), vec![*v; height]),
            Constant::Float(v) => Column::new(name.into(), vec![*v; height]),
            Constant::Bool(v) => Column::new(name.into(), vec![*v; height]),
            Constant::Text(v) => Column::new(name.into(), vec![v.as_str(); height]),
        }
    }
}

/// The scenario's sector names, by sector id (the `sector_name` column).
pub fn sector_names(scenario: &crate::config::Scenario) -> Vec<String> {
    scenario.sectors.iter().map(|s| s.name.clone()).collect()
}

/// The constant columns of a job: (column name, value).
pub type Extra = [(String, Constant)];

/// One finished run: its index and what it produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub run: u32,
    pub record: RunRecord,
}

/// The region columns summarised per run in `runs.parquet` as `final_<col>`
/// (value at the last step) and `mean_<col>` (mean over steps 0..=steps).
pub const RUN_SUMMARY_COLUMNS: [&str; 16] = [
    "firms",
    "firms_clusters",
    "firms_residential",
    "polluting_residential",
    "employment",
    "revenue",
    "tax",
    "leakage",
    "waste",
    "clusters_operating",
    "clusters_complete",
    "mean_quality",
    "links",
    "max_degree",
    "pollution_residential",
    "pollution_untreated",
];

/// The value of region column `name` in `row` as a float (for summaries).
fn region_value(row: &RegionRow, name: &str) -> f64 {
    match name {
        "firms" => row.firms as f64,
        "firms_clusters" => row.firms_clusters as f64,
        "firms_residential" => row.firms_residential as f64,
        "polluting_residential" => row.polluting_residential as f64,
        "employment" => row.employment,
        "revenue" => row.revenue,
        "tax" => row.tax,
        "leakage" => row.leakage,
        "waste" => row.waste,
        "clusters_operating" => row.clusters_operating as f64,
        "clusters_complete" => row.clusters_complete as f64,
        "mean_quality" => row.mean_quality,
        "links" => row.links as f64,
        "max_degree" => row.max_degree as f64,
        "pollution_residential" => row.pollution_residential,
        "pollution_untreated" => row.pollution_untreated,
        other => unreachable!("unknown summary column {other}"),
    }
}

/// Prefix `columns` with the constant `extra` columns, each `height` long.
fn with_extra(extra: &Extra, height: usize, columns: Vec<Column>) -> PolarsResult<DataFrame> {
    let mut all: Vec<Column> = extra
        .iter()
        .map(|(name, v)| v.column(name, height))
        .collect();
    all.extend(columns);
    DataFrame::new(height, all)
}

/// A count or index as the tables' Int32 (saturating).
fn i32_of(x: u32) -> i32 {
    i32::try_from(x).unwrap_or(i32::MAX)
}

/// A count as the tables' Int64 (saturating).
fn i64_of(x: u64) -> i64 {
    i64::try_from(x).unwrap_or(i64::MAX)
}

fn i32s(v: impl Iterator<Item = u32>) -> Vec<i32> {
    v.map(i32_of).collect()
}

fn i64s(v: impl Iterator<Item = u64>) -> Vec<i64> {
    v.map(i64_of).collect()
}

/// (run, row) for every row of one per-run list of every run in `batch`, in
/// run order then row order.
fn per_run<'a, T>(
    batch: &'a [RunOutput],
    rows: impl Fn(&'a RunRecord) -> &'a Vec<T>,
) -> Vec<(u32, &'a T)> {
    batch
        .iter()
        .flat_map(|o| rows(&o.record).iter().map(move |r| (o.run, r)))
        .collect()
}

/// The `site_kind`/`kind` label of a site.
fn site_kind(in_cluster: bool) -> &'static str {
    if in_cluster {
        "cluster"
    } else {
        "residential"
    }
}

/// `region`: one row per run and step, ordered by run then step.
pub fn region_frame(batch: &[RunOutput], extra: &Extra) -> PolarsResult<DataFrame> {
    let rows = per_run(batch, |r| &r.region);
    let f = |g: fn(&RegionRow) -> f64| rows.iter().map(|(_, r)| g(r)).collect::<Vec<f64>>();
    let c = |g: fn(&RegionRow) -> u64| i64s(rows.iter().map(|(_, r)| g(r)));
    let columns = vec![
        Column::new("run".into(), i32s(rows.iter().map(|(run, _)| *run))),
        Column::new("step".into(), i32s(rows.iter().map(|(_, r)| r.step))),
        Column::new("year".into(), f(|r| r.year)),
        Column::new("firms".into(), c(|r| r.firms)),
        Column::new("firms_clusters".into(), c(|r| r.firms_clusters)),
        Column::new("firms_residential".into(), c(|r| r.firms_residential)),
        Column::new(
            "polluting_residential".into(),
            c(|r| r.polluting_residential),
        ),
        Column::new("entries".into(), c(|r| r.entries)),
        Column::new("exits".into(), c(|r| r.exits)),
        Column::new("relocations".into(), c(|r| r.relocations)),
        Column::new("forced_closures".into(), c(|r| r.forced_closures)),
        Column::new("employment".into(), f(|r| r.employment)),
        Column::new("revenue".into(), f(|r| r.revenue)),
        Column::new("tax".into(), f(|r| r.tax)),
        Column::new("budget".into(), f(|r| r.budget)),
        Column::new("spent".into(), f(|r| r.spent)),
        Column::new("leakage".into(), f(|r| r.leakage)),
        Column::new("waste".into(), f(|r| r.waste)),
        Column::new("clusters_operating".into(), c(|r| r.clusters_operating)),
        Column::new("clusters_complete".into(), c(|r| r.clusters_complete)),
        Column::new("mean_quality".into(), f(|r| r.mean_quality)),
        Column::new("links".into(), c(|r| r.links)),
        Column::new("max_degree".into(), c(|r| r.max_degree)),
        Column::new(
            "pollution_residential".into(),
            f(|r| r.pollution_residential),
        ),
        Column::new("pollution_untreated".into(), f(|r| r.pollution_untreated)),
    ];
    with_extra(extra, rows.len(), columns)
}

/// `clusters`: one row per run, step and cluster, in that order. Built in
/// one pass over the rows (a big run's rows are far larger than the cache:
/// a pass per column read them twenty times).
pub fn clusters_frame(batch: &[RunOutput], extra: &Extra) -> PolarsResult<DataFrame> {
    let n: usize = batch.iter().map(|o| o.record.clusters.len()).sum();
    let (mut run, mut step, mut cluster) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let mut status: Vec<&str> = Vec::with_capacity(n);
    let (mut firms, mut links) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut complete = Vec::with_capacity(n);
    // The float columns, in the order of `values` below.
    let mut floats: [Vec<f64>; 14] = std::array::from_fn(|_| Vec::with_capacity(n));
    for o in batch {
        for r in &o.record.clusters {
            run.push(i32_of(o.run));
            step.push(i32_of(r.step));
            cluster.push(i32_of(r.cluster));
            status.push(if r.operating { "operating" } else { "planned" });
            firms.push(i64_of(r.firms));
            complete.push(r.complete);
            links.push(i64_of(r.links));
            let values = [
                r.area_ha,
                r.occupancy,
                r.employment,
                r.revenue,
                r.q[0],
                r.q[1],
                r.q[2],
                r.q[3],
                r.q[4],
                r.connection,
                r.quality,
                r.investment,
                r.labor_pool,
                r.shortage,
            ];
            for (column, v) in floats.iter_mut().zip(values) {
                column.push(v);
            }
        }
    }
    let [area_ha, occupancy, employment, revenue, q0, q1, q2, q3, q4, connection, quality, investment, labor_pool, shortage] =
        floats;
    let f = |name: &str, v: Vec<f64>| Column::new(name.into(), v);
    let columns = vec![
        Column::new("run".into(), run),
        Column::new("step".into(), step),
        Column::new("cluster".into(), cluster),
        Column::new("status".into(), status),
        f("area_ha", area_ha),
        f("occupancy", occupancy),
        Column::new("firms".into(), firms),
        f("employment", employment),
        f("revenue", revenue),
        f("q_roads", q0),
        f("q_utilities", q1),
        f("q_wastewater", q2),
        f("q_fire_safety", q3),
        f("q_green", q4),
        f("connection", connection),
        f("quality", quality),
        Column::new("complete".into(), complete),
        f("investment", investment),
        Column::new("links".into(), links),
        f("labor_pool", labor_pool),
        f("shortage", shortage),
    ];
    with_extra(extra, n, columns)
}

/// `runs`: one row per run: `run`, `seed`, `steps`, `firm_steps` (Σ over
/// steps 1..=steps of firms alive), then `final_<c>` and `mean_<c>` for each
/// of [`RUN_SUMMARY_COLUMNS`].
pub fn runs_frame(batch: &[RunOutput], seed: u64, extra: &Extra) -> PolarsResult<DataFrame> {
    let n = batch.len();
    let mut columns = vec![
        Column::new("run".into(), i32s(batch.iter().map(|o| o.run))),
        Column::new("seed".into(), vec![seed; n]),
        Column::new(
            "steps".into(),
            i32s(
                batch
                    .iter()
                    .map(|o| o.record.region.last().map_or(0, |r| r.step)),
            ),
        ),
        Column::new(
            "firm_steps".into(),
            i64s(
                batch
                    .iter()
                    .map(|o| o.record.region.iter().skip(1).map(|r| r.firms).sum()),
            ),
        ),
    ];
    for name in RUN_SUMMARY_COLUMNS {
        let finals: Vec<f64> = batch
            .iter()
            .map(|o| {
                o.record
                    .region
                    .last()
                    .map_or(f64::NAN, |r| region_value(r, name))
            })
            .collect();
        let means: Vec<f64> = batch
            .iter()
            .map(|o| {
                let rows = &o.record.region;
                if rows.is_empty() {
                    f64::NAN
                } else {
                    rows.iter().map(|r| region_value(r, name)).sum::<f64>() / rows.len() as f64
                }
            })
            .collect();
        columns.push(Column::new(format!("final_{name}").into(), finals));
        columns.push(Column::new(format!("mean_{name}").into(), means));
    }
    with_extra(extra, n, columns)
}

/// `firms`: the final snapshot, one row per run and alive firm, by run then
/// firm. `sector_name` is `sector_names[sector]` (the scenario's sector
/// names; empty text past their end).
pub fn firms_frame(
    batch: &[RunOutput],
    extra: &Extra,
    sector_names: &[String],
) -> PolarsResult<DataFrame> {
    // One pass over the rows, as `clusters_frame`.
    let n: usize = batch.iter().map(|o| o.record.firms.len()).sum();
    let mut run = Vec::with_capacity(n);
    let mut firm = Vec::with_capacity(n);
    let mut sector = Vec::with_capacity(n);
    let mut sector_name: Vec<&str> = Vec::with_capacity(n);
    let mut kind: Vec<&str> = Vec::with_capacity(n);
    let mut site = Vec::with_capacity(n);
    let mut size = Vec::with_capacity(n);
    let mut productivity = Vec::with_capacity(n);
    let mut polluting = Vec::with_capacity(n);
    let mut age = Vec::with_capacity(n);
    let mut degree = Vec::with_capacity(n);
    let mut relocated = Vec::with_capacity(n);
    for o in batch {
        for r in &o.record.firms {
            run.push(i32_of(o.run));
            firm.push(i64_of(r.firm));
            sector.push(i32_of(r.sector));
            sector_name.push(
                sector_names
                    .get(r.sector as usize)
                    .map_or("", String::as_str),
            );
            kind.push(site_kind(r.in_cluster));
            site.push(i32_of(r.site));
            size.push(r.size);
            productivity.push(r.productivity);
            polluting.push(r.polluting);
            age.push(i32_of(r.age));
            degree.push(i32_of(r.degree));
            relocated.push(r.relocated);
        }
    }
    let columns = vec![
        Column::new("run".into(), run),
        Column::new("firm".into(), firm),
        Column::new("sector".into(), sector),
        Column::new("sector_name".into(), sector_name),
        Column::new("site_kind".into(), kind),
        Column::new("site".into(), site),
        Column::new("size".into(), size),
        Column::new("productivity".into(), productivity),
        Column::new("polluting".into(), polluting),
        Column::new("age".into(), age),
        Column::new("degree".into(), degree),
        Column::new("relocated".into(), relocated),
    ];
    with_extra(extra, n, columns)
}

/// `sites`: one row per run and site of the initial world (clusters, then
/// residential areas), for maps.
pub fn sites_frame(batch: &[RunOutput], extra: &Extra) -> PolarsResult<DataFrame> {
    use crate::model::SiteRow;
    let rows = per_run(batch, |r| &r.sites);
    let f = |g: fn(&SiteRow) -> f64| rows.iter().map(|(_, r)| g(r)).collect::<Vec<f64>>();
    let kind: Vec<&str> = rows.iter().map(|(_, r)| site_kind(r.is_cluster)).collect();
    let columns = vec![
        Column::new("run".into(), i32s(rows.iter().map(|(run, _)| *run))),
        Column::new("kind".into(), kind),
        Column::new("site".into(), i32s(rows.iter().map(|(_, r)| r.site))),
        Column::new("x".into(), f(|r| r.x)),
        Column::new("y".into(), f(|r| r.y)),
        Column::new("area_ha".into(), f(|r| r.area_ha)),
        Column::new(
            "establish_step".into(),
            rows.iter()
                .map(|(_, r)| r.establish_step)
                .collect::<Vec<i64>>(),
        ),
        Column::new("population".into(), f(|r| r.population)),
        Column::new(
            "craft_village".into(),
            rows.iter()
                .map(|(_, r)| r.craft_village)
                .collect::<Vec<bool>>(),
        ),
    ];
    with_extra(extra, rows.len(), columns)
}

/// The frame of `table` for `batch`; `sector_names` are the scenario's
/// (see [`firms_frame`]).
pub fn frame(
    table: Table,
    batch: &[RunOutput],
    seed: u64,
    extra: &Extra,
    sector_names: &[String],
) -> PolarsResult<DataFrame> {
    match table {
        Table::Region => region_frame(batch, extra),
        Table::Clusters => clusters_frame(batch, extra),
        Table::Runs => runs_frame(batch, seed, extra),
        Table::Firms => firms_frame(batch, extra, sector_names),
        Table::Sites => sites_frame(batch, extra),
    }
}

/// Rows a part file's row group holds at most, but for one run's excess: a
/// table is built and written [`chunks`] of whole runs at a time, so that
/// the writer holds one chunk's frame, not the batch's.
pub const CHUNK_ROWS: usize = 1 << 17;

/// The runs of `batch` (index ranges, in order, covering it) whose rows of
/// `table` are built and written together: whole runs, the batch's rows
/// (before thinning) cut into as few chunks of about [`CHUNK_ROWS`] as
/// whole runs allow, about even. A run bigger than that is a chunk of its
/// own.
pub fn chunks(table: Table, batch: &[RunOutput]) -> Vec<std::ops::Range<usize>> {
    let rows = |o: &RunOutput| match table {
        Table::Region => o.record.region.len(),
        Table::Clusters => o.record.clusters.len(),
        Table::Runs => 1,
        Table::Firms => o.record.firms.len(),
        Table::Sites => o.record.sites.len(),
    };
    let total: usize = batch.iter().map(rows).sum();
    let target = total.div_ceil(total.div_ceil(CHUNK_ROWS).max(1));
    let mut out = Vec::new();
    let (mut start, mut n) = (0, 0);
    for (i, o) in batch.iter().enumerate() {
        n += rows(o);
        if n >= target.max(1) {
            out.push(start..i + 1);
            (start, n) = (i + 1, 0);
        }
    }
    if start < batch.len() || out.is_empty() {
        out.push(start..batch.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClusterRow, FirmRow};

    fn batch() -> Vec<RunOutput> {
        (0..2u32)
            .map(|run| {
                let mut record = RunRecord::default();
                for step in 0..3u32 {
                    record.region.push(RegionRow {
                        step,
                        firms: 10 + u64::from(step) + u64::from(run),
                        mean_quality: 0.5,
                        ..Default::default()
                    });
                    for cluster in 0..2u32 {
                        record.clusters.push(ClusterRow {
                            step,
                            cluster,
                            operating: cluster == 0,
                            q: [0.1, 0.2, 0.3, 0.4, 0.5],
                            ..Default::default()
                        });
                    }
                }
                record.firms.push(FirmRow {
                    firm: 7,
                    in_cluster: true,
                    ..Default::default()
                });
                RunOutput {
                    run: run * 3,
                    record,
                }
            })
            .collect()
    }

    /// Chunks are whole runs in order, cover the batch, and are as few and
    /// as even as `CHUNK_ROWS` rows of the table allow: 7 runs of 50,000
    /// rows make 3 chunks (of 3, 3, 1 runs), 8 make 4 (of 2 each; 3 of 3 and
    /// 2 would exceed it), a bigger run is a chunk alone, and a table of one
    /// row per run is one chunk.
    #[test]
    fn chunks_are_whole_runs_of_about_chunk_rows() {
        let run = |run: u32, clusters: usize| {
            let mut record = RunRecord::default();
            record.clusters.resize(clusters, ClusterRow::default());
            RunOutput { run, record }
        };
        let batch: Vec<RunOutput> = (0..7).map(|r| run(r, 50_000)).collect();
        assert_eq!(CHUNK_ROWS, 131_072);
        assert_eq!(chunks(Table::Clusters, &batch), [0..3, 3..6, 6..7]);
        let eight: Vec<RunOutput> = (0..8).map(|r| run(r, 50_000)).collect();
        assert_eq!(chunks(Table::Clusters, &eight), [0..2, 2..4, 4..6, 6..8]);
        assert_eq!(chunks(Table::Runs, &batch), vec![(0..7)]);
        let big: Vec<RunOutput> = vec![run(0, 10), run(1, 200_000), run(2, 10)];
        assert_eq!(chunks(Table::Clusters, &big), [0..2, 2..3]);
        assert_eq!(chunks(Table::Clusters, &big[1..2]), vec![(0..1)]);
        assert_eq!(chunks(Table::Clusters, &[]), vec![(0..0)]);
    }

    #[test]
    fn region_rows_are_ordered_by_run_then_step_with_extra_first() {
        let df = region_frame(
            &batch(),
            &[
                ("scenario".into(), "strict".into()),
                ("point".into(), 3.0.into()),
                ("time__steps".into(), 40i64.into()),
            ],
        )
        .unwrap();
        assert_eq!(df.height(), 6);
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names[..4], ["scenario", "point", "time__steps", "run"]);
        assert_eq!(df.column("scenario").unwrap().dtype(), &DataType::String);
        assert_eq!(df.column("point").unwrap().dtype(), &DataType::Float64);
        assert_eq!(df.column("time__steps").unwrap().dtype(), &DataType::Int64);
        assert_eq!(
            df.column("scenario").unwrap().str().unwrap().get(5),
            Some("strict")
        );
        let run: Vec<i32> = df
            .column("run")
            .unwrap()
            .i32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(run, vec![0, 0, 0, 3, 3, 3]);
        let firms: Vec<i64> = df
            .column("firms")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert_eq!(firms, vec![10, 11, 12, 11, 12, 13]);
    }

    #[test]
    fn clusters_split_q_components_and_label_status() {
        let df = clusters_frame(&batch(), &[]).unwrap();
        assert_eq!(df.height(), 12);
        assert_eq!(df.width(), 21);
        let s = df
            .column("status")
            .unwrap()
            .str()
            .unwrap()
            .get(1)
            .unwrap()
            .to_string();
        assert_eq!(s, "planned");
        let q = df
            .column("q_fire_safety")
            .unwrap()
            .f64()
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(q, 0.4);
    }

    #[test]
    fn runs_summarise_final_and_mean() {
        let df = runs_frame(&batch(), 99, &[]).unwrap();
        assert_eq!(df.height(), 2);
        let fin = df
            .column("final_firms")
            .unwrap()
            .f64()
            .unwrap()
            .get(1)
            .unwrap();
        let mean = df
            .column("mean_firms")
            .unwrap()
            .f64()
            .unwrap()
            .get(1)
            .unwrap();
        assert_eq!(fin, 13.0);
        assert_eq!(mean, 12.0);
        let fs = df
            .column("firm_steps")
            .unwrap()
            .i64()
            .unwrap()
            .get(0)
            .unwrap();
        assert_eq!(fs, 11 + 12);
        assert_eq!(df.column("seed").unwrap().u64().unwrap().get(0), Some(99));
    }

    #[test]
    fn constants_keep_their_type_through_the_manifest() {
        let extra: Vec<(String, Constant)> = vec![
            ("scenario".into(), "a".into()),
            ("point".into(), 3.0.into()),
            ("n".into(), 3i64.into()),
        ];
        let json = serde_json::to_string(&extra).unwrap();
        assert_eq!(json, r#"[["scenario","a"],["point",3.0],["n",3]]"#);
        let back: Vec<(String, Constant)> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, extra);
        // An older manifest's float-only `extra`.
        let old: Vec<(String, Constant)> = serde_json::from_str(r#"[["point",2.0]]"#).unwrap();
        assert_eq!(old, vec![("point".to_string(), Constant::Float(2.0))]);
    }

    #[test]
    fn firms_label_site_kind() {
        let df = firms_frame(&batch(), &[], &["garments".into()]).unwrap();
        assert_eq!(df.height(), 2);
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names[2..4], ["sector", "sector_name"]);
        assert_eq!(
            df.column("sector_name").unwrap().str().unwrap().get(1),
            Some("garments")
        );
        let k = df
            .column("site_kind")
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .to_string();
        assert_eq!(k, "cluster");
    }
}
