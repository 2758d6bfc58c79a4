//! The `map` chart: the region of one run at one step. Clusters are circles
//! whose area grows with their firms (a size key in the legend gives the
//! firms of three circle sizes) and whose colour is the effective quality Q
//! (viridis scale, colour bar on the right); planned clusters are hollow;
//! residential areas are grey squares and craft villages brown triangles; a
//! residential area (or craft village) that keeps polluting firms is drawn
//! red, labelled with their number; the region's boundary (the disc of
//! `region.radius_km` around the centre, from the manifest's config) is a
//! dashed circle. One legend strip above the map says all this.
//!
//! Positions are not part of the cluster rows, so the map reads
//! `sites.parquet` with columns `kind` ("cluster" or "residential"), `site`
//! (the cluster or residential-area index), `x`, `y` (km), and optionally
//! `run` (when positions differ between runs), `area_ha`, `craft_village`
//! (bool) and `planned` (bool). Without that table the map is skipped.
//! Cluster status, firms and quality at the chosen step come from
//! `clusters*.parquet`. Polluting firms are recorded per residential area
//! only in the firms table (`firms*.parquet`, written with `--firms`), which
//! is the final snapshot: the map marks them at the last step; at another
//! step, or without that table, it gives the region's total of polluting
//! residential firms at that step (the region table's
//! `polluting_residential`) in the legend instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{self, num, opt, text};
use super::{
    fmt_tick, heading, labels_of, legend, Drawn, Figure, Key, Mark, PlotOptions, Style, Styled,
};

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
    /// The region's radius (km) around the origin, when the manifest says.
    pub radius_km: Option<f64>,
    /// Polluting firms in residential areas at this step, the whole region
    /// (the region table), when the per-area counts are not known.
    pub polluting_total: Option<f64>,
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
        let mut map = Self::assemble(&sites, &clusters, polluting.as_ref(), run, step);
        map.radius_km = region_radius(dir);
        if polluting.is_none() {
            map.polluting_total = polluting_total(dir, run, step)?;
        }
        Ok(Loaded::Map(Box::new(map)))
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
            radius_km: None,
            polluting_total: None,
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

/// The region's radius from the config in the first manifest of `dir`.
fn region_radius(dir: &Path) -> Option<f64> {
    let path = crate::output::layout::list_manifests(dir)
        .ok()?
        .into_iter()
        .next()?;
    let m = crate::output::manifest::Manifest::read(&path).ok()?;
    let scenario = crate::config::load_str(&m.config_ron, &path).ok()?;
    Some(scenario.region.radius_km)
}

/// `polluting_residential` of the region table at (`run`, `step`).
fn polluting_total(dir: &Path, run: u32, step: u32) -> anyhow::Result<Option<f64>> {
    let Some(region) = data::read_table(
        dir,
        "region",
        &[num("run"), num("step"), num("polluting_residential")],
    )?
    else {
        return Ok(None);
    };
    Ok((0..region.len)
        .find(|&i| region.f("run")[i] as u32 == run && region.f("step")[i] as u32 == step)
        .map(|i| region.f("polluting_residential")[i]))
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

/// Marker colours of residential areas, craft villages and polluters.
const GREY: RGBColor = RGBColor(120, 120, 120);
const BROWN: RGBColor = RGBColor(150, 80, 20);
const POLLUTING: RGBColor = RGBColor(215, 25, 28);

/// Radius (ems) of the largest cluster's circle and of an empty one.
const R_MAX: f64 = 1.1;
const R_MIN: f64 = 0.2;

/// Up to three round firm counts for the size key: the largest cluster's,
/// a quarter and a sixteenth of it, each down to one significant digit
/// (distinct, at least 1).
pub fn size_key(max_firms: f64) -> Vec<u64> {
    if !(max_firms.is_finite() && max_firms >= 1.0) {
        return Vec::new();
    }
    // Down to one significant digit: 47 → 40, 11.75 → 10.
    let round = |v: f64| -> u64 {
        let p = 10f64.powf(v.log10().floor());
        (((v / p) * 1.000_001).floor() * p).round().max(1.0) as u64
    };
    let mut keys: Vec<u64> = [max_firms, max_firms / 4.0, max_firms / 16.0]
        .into_iter()
        .filter(|v| *v >= 1.0)
        .map(round)
        .collect();
    keys.dedup();
    keys
}

impl RegionMap {
    fn max_firms(&self) -> f64 {
        self.clusters
            .iter()
            .map(|c| c.firms)
            .filter(|f| f.is_finite())
            .fold(1.0, f64::max)
    }

    /// Radius in ems of a cluster of `firms` (area ∝ firms).
    fn radius(&self, firms: f64) -> f64 {
        let f = if firms.is_finite() {
            firms.max(0.0)
        } else {
            0.0
        };
        R_MIN + (R_MAX - R_MIN) * (f / self.max_firms()).sqrt()
    }

    /// The legend: marks, the size key and what is known of polluting firms.
    fn keys(&self) -> Vec<Key> {
        let mut keys = vec![
            Key::new(Mark::Square(GREY.to_rgba()), "residential area"),
            Key::new(Mark::Triangle(BROWN.to_rgba()), "craft village"),
        ];
        if self.residential.iter().any(|r| r.polluting.is_some()) {
            keys.push(Key::new(
                Mark::Square(POLLUTING.to_rgba()),
                "n polluting firms left (red)",
            ));
        } else if let Some(t) = self.polluting_total.filter(|t| t.is_finite()) {
            keys.push(Key::new(
                Mark::Square(POLLUTING.to_rgba()),
                format!("{t:.0} polluting residential firms (per area: --firms, last step)"),
            ));
        }
        keys.push(Key::new(
            Mark::Dot(viridis(0.6).to_rgba(), 0.45),
            "operating cluster (colour = Q)",
        ));
        keys.push(Key::new(
            Mark::Ring(BLACK.to_rgba(), 0.45),
            "planned cluster",
        ));
        if self.radius_km.is_some() {
            keys.push(Key::new(Mark::Dashed(BLACK.mix(0.7), 2), "region boundary"));
        }
        for f in size_key(self.max_firms()) {
            keys.push(Key::new(
                Mark::Ring(BLACK.mix(0.7), self.radius(f as f64)),
                format!("{f} firm{}", if f == 1 { "" } else { "s" }),
            ));
        }
        keys
    }
}

impl Figure for RegionMap {
    fn size(&self) -> (u32, u32) {
        (1000, 1300)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let st = Style::of(root);
        let title = format!("Region map, run {}, step {}", self.run, self.step);
        let body = heading(root, &title, st.title())?;
        let body = legend(&body, &self.keys(), &st)?;
        let (w, _) = body.dim_in_pixel();
        let (map_area, bar_area) = body.split_horizontally(w.saturating_sub(st.px(5.0)));
        self.draw_map(&map_area, &st)?;
        draw_colour_bar(&bar_area, &st)?;
        Ok(())
    }
}

impl RegionMap {
    fn draw_map<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        st: &Style,
    ) -> anyhow::Result<()> {
        // Equal km per pixel on both axes: widen the shorter range. The
        // boundary, when known, is inside the ranges.
        let r = self.radius_km.unwrap_or(0.0);
        let xs = self
            .clusters
            .iter()
            .map(|c| c.x)
            .chain(self.residential.iter().map(|r| r.x))
            .chain([-r, r]);
        let ys = self
            .clusters
            .iter()
            .map(|c| c.y)
            .chain(self.residential.iter().map(|r| r.y))
            .chain([-r, r]);
        let (x0, x1) = super::padded_range(xs, 0.05);
        let (y0, y1) = super::padded_range(ys, 0.05);
        let y_fmt = |v: &f64| fmt_tick(*v);
        let y_labels = labels_of(y0, y1, &y_fmt);
        // The plotting area's pixel size, from a chart of the same layout.
        let (plot_w, plot_h) = {
            let probe = st
                .chart(area, &y_labels)
                .build_cartesian_2d(x0..x1, y0..y1)
                .drawn()?;
            let (w, h) = probe.plotting_area().dim_in_pixel();
            (f64::from(w.max(1)), f64::from(h.max(1)))
        };
        let km_per_px = ((x1 - x0) / plot_w).max((y1 - y0) / plot_h);
        let (cx, cy) = (0.5 * (x0 + x1), 0.5 * (y0 + y1));
        let (hx, hy) = (0.5 * km_per_px * plot_w, 0.5 * km_per_px * plot_h);

        let mut chart = st
            .chart(area, &y_labels)
            .build_cartesian_2d(cx - hx..cx + hx, cy - hy..cy + hy)
            .drawn()?;
        chart
            .configure_mesh()
            .styled(st)
            .x_desc("x (km)")
            .y_desc("y (km)")
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_label_formatter(&y_fmt)
            .light_line_style(BLACK.mix(0.04))
            .draw()
            .drawn()?;

        if let Some(r) = self.radius_km {
            let ring: Vec<(f64, f64)> = (0..=180)
                .map(|i| {
                    let a = f64::from(i) / 180.0 * std::f64::consts::TAU;
                    (r * a.cos(), r * a.sin())
                })
                .collect();
            chart
                .draw_series(DashedLineSeries::new(
                    ring,
                    st.px(0.35),
                    st.px(0.25),
                    BLACK.mix(0.7).stroke_width(2),
                ))
                .drawn()?;
        }

        let half = st.ipx(0.22);
        let polluted = |r: &ResidentialMark| r.polluting.is_some_and(|n| n > 0);
        chart
            .draw_series(
                self.residential
                    .iter()
                    .filter(|r| !r.craft_village && !polluted(r))
                    .map(|r| {
                        EmptyElement::at((r.x, r.y))
                            + Rectangle::new([(-half, -half), (half, half)], GREY.filled())
                    }),
            )
            .drawn()?;
        chart
            .draw_series(
                self.residential
                    .iter()
                    .filter(|r| r.craft_village && !polluted(r))
                    .map(|r| TriangleMarker::new((r.x, r.y), st.px(0.35), BROWN.filled())),
            )
            .drawn()?;

        let operating: Vec<&ClusterMark> = self.clusters.iter().filter(|c| !c.planned).collect();
        chart
            .draw_series(operating.iter().map(|c| {
                let colour = viridis(c.quality);
                let r = st.px(self.radius(c.firms));
                EmptyElement::at((c.x, c.y))
                    + Circle::new((0, 0), r, colour.mix(0.85).filled())
                    + Circle::new((0, 0), r, BLACK.mix(0.6).stroke_width(1))
            }))
            .drawn()?;
        chart
            .draw_series(self.clusters.iter().filter(|c| c.planned).map(|c| {
                Circle::new(
                    (c.x, c.y),
                    st.px(self.radius(c.firms).max(0.3)),
                    BLACK.stroke_width(2),
                )
            }))
            .drawn()?;

        // Polluters on top: a red mark (a triangle for a craft village)
        // with the number of polluting firms beside it.
        let big = st.ipx(0.3);
        chart
            .draw_series(self.residential.iter().filter(|r| polluted(r)).map(|r| {
                let mark: DynElement<'static, DB, (i32, i32)> = if r.craft_village {
                    TriangleMarker::new((0, 0), st.px(0.45), POLLUTING.filled()).into_dyn()
                } else {
                    Rectangle::new([(-big, -big), (big, big)], POLLUTING.filled()).into_dyn()
                };
                EmptyElement::at((r.x, r.y))
                    + mark
                    + Text::new(
                        r.polluting.unwrap_or(0).to_string(),
                        (big + st.ipx(0.15), -st.ipx(1.2)),
                        st.text().color(&POLLUTING),
                    )
            }))
            .drawn()?;
        Ok(())
    }
}

/// The colour bar of effective quality, on the right of the map.
fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    st: &Style,
) -> anyhow::Result<()> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(st.px(1.0))
        .margin_bottom(st.px(3.2))
        .margin_right(st.px(0.5))
        .y_label_area_size(st.px(3.4))
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .drawn()?;
    chart
        .configure_mesh()
        .styled(st)
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .y_desc("quality Q")
        .y_labels(3)
        .y_label_formatter(&|v| fmt_tick(*v))
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
    fn size_key_is_round_and_distinct() {
        assert_eq!(size_key(47.0), [40, 10, 2]);
        assert_eq!(size_key(3.0), [3]);
        assert_eq!(size_key(100.0), [100, 20, 6]);
        assert!(size_key(0.0).is_empty());
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
