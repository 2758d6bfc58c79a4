//! The `map` chart: the region of one run at one step. Clusters are circles
//! whose area grows with their firms and whose colour is the effective
//! quality Q (viridis scale, colour bar on the right); planned clusters are
//! hollow; residential areas are grey squares and craft villages brown
//! triangles, labelled with their remaining polluting firms when known.
//!
//! Positions are not part of the cluster rows, so the map reads
//! `sites.parquet` with columns `kind` ("cluster" or "residential"), `site`
//! (the cluster or residential-area index), `x`, `y` (km), and optionally
//! `run` (when positions differ between runs), `area_ha`, `craft_village`
//! (bool) and `planned` (bool). Without that table the map is skipped.
//! Cluster status, firms and quality at the chosen step come from
//! `clusters*.parquet`. Remaining polluting firms per residential area are
//! counted from `firms*.parquet` (the final snapshot) when the map shows the
//! last step; at other steps the counts are not in the outputs and are omitted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{self, num, opt, text};
use super::{fmt_tick, Drawn, Figure, PlotOptions, FAMILY};

/// A cluster on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterMark {
    pub site: u32,
    pub x: f64,
    pub y: f64,
    pub firms: f64,
    pub quality: f64,
    pub planned: bool,
}

/// A residential area on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct ResidentialMark {
    pub site: u32,
    pub x: f64,
    pub y: f64,
    pub craft_village: bool,
    /// Remaining polluting firms, when known.
    pub polluting: Option<u64>,
}

/// The data of the chart.
#[derive(Debug, Clone)]
pub struct RegionMap {
    pub run: u32,
    pub step: u32,
    pub clusters: Vec<ClusterMark>,
    pub residential: Vec<ResidentialMark>,
}

/// The map, or why it was skipped.
pub enum Loaded {
    Map(Box<RegionMap>),
    Skipped(String),
}

impl RegionMap {
    /// Assemble the map of `dir` at `opts.step` (default last) for `opts.run`
    /// (default the smallest run).
    pub fn load(dir: &Path, opts: &PlotOptions) -> anyhow::Result<Loaded> {
        let Some(sites) = data::read_table(
            dir,
            "sites",
            &[
                opt("run"),
                text("kind"),
                num("site"),
                num("x"),
                num("y"),
                opt("craft_village"),
            ],
        )?
        else {
            return Ok(Loaded::Skipped(format!(
                "{} has no sites.parquet (cluster and residential positions)",
                dir.display()
            )));
        };
        let Some(clusters) = data::read_table(
            dir,
            "clusters",
            &[
                num("run"),
                num("step"),
                num("cluster"),
                text("status"),
                num("firms"),
                num("quality"),
            ],
        )?
        else {
            return Ok(Loaded::Skipped(format!(
                "{} has no clusters.parquet",
                dir.display()
            )));
        };
        let runs: BTreeSet<u32> = clusters.f("run").iter().map(|r| *r as u32).collect();
        let run = match opts.run {
            Some(r) if runs.contains(&r) => r,
            Some(r) => anyhow::bail!(
                "run {r} is not in {}/clusters.parquet (runs {}..={})",
                dir.display(),
                runs.first().copied().unwrap_or(0),
                runs.last().copied().unwrap_or(0)
            ),
            None => match runs.first() {
                Some(r) => *r,
                None => return Ok(Loaded::Skipped("clusters.parquet has no rows".into())),
            },
        };
        let steps: BTreeSet<u32> = clusters
            .f("run")
            .iter()
            .zip(clusters.f("step"))
            .filter(|(r, _)| **r as u32 == run)
            .map(|(_, s)| *s as u32)
            .collect();
        let last = steps.last().copied().unwrap_or(0);
        let step = match opts.step {
            Some(s) if steps.contains(&s) => s,
            Some(s) => anyhow::bail!(
                "--step {s} is not in {}/clusters.parquet for run {run} (steps {}..={last})",
                dir.display(),
                steps.first().copied().unwrap_or(0)
            ),
            None => last,
        };
        let polluting = if step == last {
            polluting_by_site(dir, run)?
        } else {
            None
        };
        Ok(Loaded::Map(Box::new(Self::assemble(
            &sites,
            &clusters,
            polluting.as_ref(),
            run,
            step,
        ))))
    }

    /// Join positions with the cluster rows of (`run`, `step`).
    pub fn assemble(
        sites: &data::Table,
        clusters: &data::Table,
        polluting: Option<&BTreeMap<u32, u64>>,
        run: u32,
        step: u32,
    ) -> Self {
        let mut state: BTreeMap<u32, (f64, f64, bool)> = BTreeMap::new();
        for i in 0..clusters.len {
            if clusters.f("run")[i] as u32 == run && clusters.f("step")[i] as u32 == step {
                state.insert(
                    clusters.f("cluster")[i] as u32,
                    (
                        clusters.f("firms")[i],
                        clusters.f("quality")[i],
                        clusters.s("status")[i] == "planned",
                    ),
                );
            }
        }
        let site_run = sites.num.get("run");
        let craft = sites.num.get("craft_village");
        let mut map = Self {
            run,
            step,
            clusters: Vec::new(),
            residential: Vec::new(),
        };
        for i in 0..sites.len {
            if site_run.is_some_and(|r| r[i] as u32 != run) {
                continue;
            }
            let (site, x, y) = (sites.f("site")[i] as u32, sites.f("x")[i], sites.f("y")[i]);
            match sites.s("kind")[i].as_str() {
                "cluster" => {
                    // A cluster without a row at this step does not exist yet.
                    if let Some((firms, quality, planned)) = state.get(&site) {
                        map.clusters.push(ClusterMark {
                            site,
                            x,
                            y,
                            firms: *firms,
                            quality: *quality,
                            planned: *planned,
                        });
                    }
                }
                "residential" => map.residential.push(ResidentialMark {
                    site,
                    x,
                    y,
                    craft_village: craft.is_some_and(|c| c[i] > 0.5),
                    polluting: polluting.map(|p| p.get(&site).copied().unwrap_or(0)),
                }),
                _ => {}
            }
        }
        map
    }
}

/// Polluting firms per residential area in the final snapshot of `run`, from
/// `firms*.parquet`; `None` when that table is absent.
fn polluting_by_site(dir: &Path, run: u32) -> anyhow::Result<Option<BTreeMap<u32, u64>>> {
    let Some(firms) = data::read_table(
        dir,
        "firms",
        &[opt("run"), num("site"), text("site_kind"), num("polluting")],
    )?
    else {
        return Ok(None);
    };
    let firm_run = firms.num.get("run");
    let mut counts = BTreeMap::new();
    for i in 0..firms.len {
        if firm_run.is_some_and(|r| r[i] as u32 != run) {
            continue;
        }
        if firms.s("site_kind")[i] == "residential" && firms.f("polluting")[i] > 0.5 {
            *counts.entry(firms.f("site")[i] as u32).or_insert(0) += 1;
        }
    }
    Ok(Some(counts))
}

/// The viridis colour of `t` in [0, 1] (five stops, linear in between).
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * 4.0;
    let i = (pos.floor() as usize).min(3);
    let f = pos - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |u: f64, v: f64| (u + f * (v - u)).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

impl Figure for RegionMap {
    fn size(&self) -> (u32, u32) {
        (1300, 1150)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = format!("Region map, run {}, step {}", self.run, self.step);
        let body = root.titled(&title, (FAMILY, 32)).drawn()?;
        let (w, _) = body.dim_in_pixel();
        let (map_area, bar_area) = body.split_horizontally(w.saturating_sub(170));
        self.draw_map(&map_area)?;
        draw_colour_bar(&bar_area)?;
        Ok(())
    }
}

impl RegionMap {
    fn draw_map<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        // Equal km per pixel on both axes: widen the shorter range.
        let xs = self
            .clusters
            .iter()
            .map(|c| c.x)
            .chain(self.residential.iter().map(|r| r.x));
        let ys = self
            .clusters
            .iter()
            .map(|c| c.y)
            .chain(self.residential.iter().map(|r| r.y));
        let (x0, x1) = super::padded_range(xs, 0.08);
        let (y0, y1) = super::padded_range(ys, 0.08);
        let (pw, ph) = area.dim_in_pixel();
        let (plot_w, plot_h) = (
            f64::from(pw.saturating_sub(110)).max(1.0),
            f64::from(ph.saturating_sub(110)).max(1.0),
        );
        let km_per_px = ((x1 - x0) / plot_w).max((y1 - y0) / plot_h);
        let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
        let (hx, hy) = (0.5 * km_per_px * plot_w, 0.5 * km_per_px * plot_h);

        let mut chart = ChartBuilder::on(area)
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(cx - hx..cx + hx, cy - hy..cy + hy)
            .drawn()?;
        chart
            .configure_mesh()
            .x_desc("x (km)")
            .y_desc("y (km)")
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_label_formatter(&|v| fmt_tick(*v))
            .label_style((FAMILY, 16))
            .axis_desc_style((FAMILY, 18))
            .light_line_style(BLACK.mix(0.04))
            .draw()
            .drawn()?;

        let max_firms = self
            .clusters
            .iter()
            .map(|c| c.firms)
            .filter(|f| f.is_finite())
            .fold(1.0, f64::max);
        let radius = |firms: f64| -> i32 {
            let f = if firms.is_finite() {
                firms.max(0.0)
            } else {
                0.0
            };
            (4.0 + 26.0 * (f / max_firms).sqrt()).round() as i32
        };

        let residential = self.residential.iter().filter(|r| !r.craft_village);
        let grey = RGBColor(110, 110, 110);
        chart
            .draw_series(residential.map(|r| {
                EmptyElement::at((r.x, r.y)) + Rectangle::new([(-5, -5), (5, 5)], grey.filled())
            }))
            .drawn()?
            .label("residential area")
            .legend(move |(x, y)| Rectangle::new([(x + 7, y - 5), (x + 17, y + 5)], grey.filled()));
        let brown = RGBColor(150, 80, 20);
        chart
            .draw_series(
                self.residential
                    .iter()
                    .filter(|r| r.craft_village)
                    .map(|r| TriangleMarker::new((r.x, r.y), 8, brown.filled())),
            )
            .drawn()?
            .label("craft village")
            .legend(move |(x, y)| TriangleMarker::new((x + 12, y), 8, brown.filled()));
        let with_counts: Vec<&ResidentialMark> = self
            .residential
            .iter()
            .filter(|r| r.polluting.is_some())
            .collect();
        if !with_counts.is_empty() {
            chart
                .draw_series(with_counts.iter().map(|r| {
                    EmptyElement::at((r.x, r.y))
                        + Text::new(
                            format!("{}", r.polluting.unwrap_or(0)),
                            (8, -18),
                            (FAMILY, 14).into_font().color(&BLACK),
                        )
                }))
                .drawn()?
                .label("n: polluting firms remaining")
                .legend(|(x, y)| {
                    EmptyElement::at((x, y))
                        + Text::new("n", (6, -8), (FAMILY, 14).into_font().color(&BLACK))
                });
        }

        let operating: Vec<&ClusterMark> = self.clusters.iter().filter(|c| !c.planned).collect();
        chart
            .draw_series(operating.iter().map(|c| {
                let colour = viridis(c.quality);
                EmptyElement::at((c.x, c.y))
                    + Circle::new((0, 0), radius(c.firms), colour.mix(0.85).filled())
                    + Circle::new((0, 0), radius(c.firms), BLACK.mix(0.6).stroke_width(1))
            }))
            .drawn()?
            .label("operating cluster (area ∝ firms, colour = Q)")
            .legend(|(x, y)| Circle::new((x + 12, y), 7, viridis(0.6).filled()));
        chart
            .draw_series(
                self.clusters.iter().filter(|c| c.planned).map(|c| {
                    Circle::new((c.x, c.y), radius(c.firms).max(7), BLACK.stroke_width(2))
                }),
            )
            .drawn()?
            .label("planned cluster")
            .legend(|(x, y)| Circle::new((x + 12, y), 7, BLACK.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FAMILY, 15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.5))
            .draw()
            .drawn()?;
        Ok(())
    }
}

/// The colour bar of effective quality, on the right of the map.
fn draw_colour_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(120)
        .margin_right(20)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .drawn()?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_desc("effective quality Q")
        .y_label_formatter(&|v| fmt_tick(*v))
        .label_style((FAMILY, 16))
        .axis_desc_style((FAMILY, 18))
        .draw()
        .drawn()?;
    let n = 100;
    chart
        .draw_series((0..n).map(|i| {
            let (a, b) = (f64::from(i) / f64::from(n), f64::from(i + 1) / f64::from(n));
            Rectangle::new([(0.0, a), (1.0, b)], viridis(0.5 * (a + b)).filled())
        }))
        .drawn()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_hits_its_stops() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(0.5), RGBColor(33, 145, 140));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(viridis(2.0), viridis(1.0));
    }

    #[test]
    fn assemble_joins_positions_with_the_chosen_run_and_step() {
        let mut sites = data::Table {
            len: 3,
            ..Default::default()
        };
        sites.text.insert(
            "kind".into(),
            vec!["cluster".into(), "cluster".into(), "residential".into()],
        );
        sites.num.insert("site".into(), vec![0.0, 1.0, 0.0]);
        sites.num.insert("x".into(), vec![1.0, 2.0, 3.0]);
        sites.num.insert("y".into(), vec![4.0, 5.0, 6.0]);
        sites
            .num
            .insert("craft_village".into(), vec![0.0, 0.0, 1.0]);
        let mut cl = data::Table {
            len: 4,
            ..Default::default()
        };
        cl.num.insert("run".into(), vec![0.0, 0.0, 0.0, 1.0]);
        cl.num.insert("step".into(), vec![3.0, 3.0, 2.0, 3.0]);
        cl.num.insert("cluster".into(), vec![0.0, 1.0, 0.0, 0.0]);
        cl.text.insert(
            "status".into(),
            vec![
                "operating".into(),
                "planned".into(),
                "operating".into(),
                "operating".into(),
            ],
        );
        cl.num.insert("firms".into(), vec![10.0, 0.0, 5.0, 99.0]);
        cl.num.insert("quality".into(), vec![0.7, 0.1, 0.6, 0.2]);
        let counts = BTreeMap::from([(0, 4)]);
        let m = RegionMap::assemble(&sites, &cl, Some(&counts), 0, 3);
        assert_eq!(m.clusters.len(), 2);
        assert_eq!(m.clusters[0].firms, 10.0);
        assert_eq!(m.clusters[0].quality, 0.7);
        assert!(!m.clusters[0].planned);
        assert!(m.clusters[1].planned);
        assert_eq!(m.residential.len(), 1);
        assert!(m.residential[0].craft_village);
        assert_eq!(m.residential[0].polluting, Some(4));
    }
}
