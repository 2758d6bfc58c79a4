//! The `timeseries` chart: key region metrics against the year, one panel per
//! metric, with the mean over runs and the 90% band between the 5% and 95%
//! quantiles over runs at each step (type-7 quantiles, see `stats`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{self, num};
use super::{
    axis_formatter, caption, colour, heading, labels_of, legend, padded_range, Drawn, Figure, Key,
    Mark, Style, Styled, PALETTE,
};
use crate::stats;

/// A region metric drawn by the chart: column, panel title, y-axis label.
pub struct Metric {
    pub column: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
}

/// The metrics of the chart, in panel order (titles and units short enough
/// for a panel half a column wide).
pub const METRICS: [Metric; 8] = [
    Metric {
        column: "firms",
        title: "Firms in the region",
        unit: "firms",
    },
    Metric {
        column: "firms_clusters",
        title: "Firms in clusters",
        unit: "firms",
    },
    Metric {
        column: "polluting_residential",
        title: "Polluting, residential",
        unit: "firms",
    },
    Metric {
        column: "clusters_complete",
        title: "Complete clusters",
        unit: "clusters",
    },
    Metric {
        column: "mean_quality",
        title: "Mean quality Q",
        unit: "Q (0–1)",
    },
    Metric {
        column: "employment",
        title: "Employment",
        unit: "workers",
    },
    Metric {
        column: "leakage",
        title: "Leakage",
        unit: "bn VND/step",
    },
    Metric {
        column: "pollution_residential",
        title: "Residential pollution ΣS",
        unit: "bn VND/yr",
    },
];

/// Per-step summary of one metric.
#[derive(Debug, Clone, Default)]
pub struct Band {
    pub year: Vec<f64>,
    pub mean: Vec<f64>,
    pub q05: Vec<f64>,
    pub q95: Vec<f64>,
}

/// The data of the chart.
pub struct TimeSeries {
    /// Number of distinct runs in the tables.
    pub runs: usize,
    /// One band per entry of [`METRICS`].
    pub bands: Vec<Band>,
}

impl TimeSeries {
    /// Read `region*.parquet` of `dir` and summarise every metric per step.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut cols = vec![num("run"), num("step"), num("year")];
        cols.extend(METRICS.iter().map(|m| num(m.column)));
        let table = data::read_table(dir, "region", &cols)?.with_context(|| {
            format!(
                "{} has no region/*.parquet (nor region.parquet)",
                dir.display()
            )
        })?;
        Ok(Self::from_table(&table))
    }

    /// Summarise a region table (see [`TimeSeries::load`]).
    pub fn from_table(table: &data::Table) -> Self {
        let (run, step, year) = (table.f("run"), table.f("step"), table.f("year"));
        let runs: std::collections::BTreeSet<i64> = run.iter().map(|r| *r as i64).collect();
        let mut years: BTreeMap<i64, f64> = BTreeMap::new();
        for (s, y) in step.iter().zip(year) {
            years.entry(*s as i64).or_insert(*y);
        }
        let bands = METRICS
            .iter()
            .map(|m| {
                let mut per_step: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
                for (s, v) in step.iter().zip(table.f(m.column)) {
                    if v.is_finite() {
                        per_step.entry(*s as i64).or_default().push(*v);
                    }
                }
                let mut band = Band::default();
                for (s, mut vs) in per_step {
                    vs.sort_by(f64::total_cmp);
                    band.year.push(years[&s]);
                    band.mean.push(stats::mean(&vs));
                    band.q05.push(stats::quantile_sorted(&vs, 0.05));
                    band.q95.push(stats::quantile_sorted(&vs, 0.95));
                }
                band
            })
            .collect();
        Self {
            runs: runs.len(),
            bands,
        }
    }
}

/// Panels per row of the chart (each half the figure's width).
const COLUMNS: usize = 2;
/// Pixel size of the chart at scale 1: two columns of four panels.
const SIZE: (u32, u32) = (1000, 2100);

impl Figure for TimeSeries {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = format!(
            "Key region metrics by year: mean and 90% band over {} run{}",
            self.runs,
            if self.runs == 1 { "" } else { "s" }
        );
        let c = PALETTE[0];
        let keys = [
            Key::new(
                Mark::Line(c.to_rgba(), 3),
                format!("mean over {} runs", self.runs),
            ),
            Key::new(
                Mark::Fill(c.mix(0.2)),
                "90% band (5–95% quantiles over runs)",
            ),
        ];
        draw_bands(root, &title, &keys, &[(self, c)], 0.2)
    }
}

/// The key region metrics of several scenarios overlaid: one panel per
/// metric, each scenario's mean (line) and 90% band (shaded) in its colour,
/// one legend for the figure (`comparison_timeseries`, and the report's
/// compare page).
pub struct Overlay {
    pub scenarios: Vec<String>,
    pub series: Vec<TimeSeries>,
}

impl Overlay {
    /// The series of each of `scenarios`, from the run directory of that
    /// name in the compare directory `dir`.
    pub fn load(dir: &Path, scenarios: &[String]) -> anyhow::Result<Self> {
        let series = scenarios
            .iter()
            .map(|s| TimeSeries::load(&dir.join(s)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self {
            scenarios: scenarios.to_vec(),
            series,
        })
    }
}

impl Figure for Overlay {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let runs = self.series.first().map_or(0, |s| s.runs);
        let title = format!(
            "Scenarios overlaid: {}; mean (line) and 90% band (shaded) by year over {runs} runs",
            self.scenarios.join(" vs ")
        );
        let keys: Vec<Key> = self
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| Key::new(Mark::Line(colour(i).to_rgba(), 3), s.clone()))
            .collect();
        let series: Vec<(&TimeSeries, RGBColor)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (s, colour(i)))
            .collect();
        draw_bands(root, &title, &keys, &series, 0.15)
    }
}

/// The chart of one or more summaries: title, the shared legend, then a
/// panel per metric with each summary's band and mean in its colour.
fn draw_bands<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    keys: &[Key],
    series: &[(&TimeSeries, RGBColor)],
    alpha: f64,
) -> anyhow::Result<()> {
    let st = Style::of(root);
    let body = heading(root, title, st.title())?;
    let grid = legend(&body, keys, &st)?;
    let panels = grid.split_evenly((METRICS.len().div_ceil(COLUMNS), COLUMNS));
    for (k, (panel, metric)) in panels.iter().zip(&METRICS).enumerate() {
        let bands: Vec<(&Band, RGBColor)> = series.iter().map(|(s, c)| (&s.bands[k], *c)).collect();
        draw_panel(panel, metric, &bands, alpha, &st)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    metric: &Metric,
    bands: &[(&Band, RGBColor)],
    alpha: f64,
    st: &Style,
) -> anyhow::Result<()> {
    let (x0, x1) = padded_range(bands.iter().flat_map(|(b, _)| b.year.iter().copied()), 0.0);
    let (y0, y1) = padded_range(
        bands
            .iter()
            .flat_map(|(b, _)| b.q05.iter().chain(&b.q95).copied()),
        0.05,
    );
    let captioned = caption(area, metric.title, st)?;
    let ny = st.y_ticks(&captioned);
    let y_fmt = axis_formatter(y0, y1, ny);
    let mut chart = st
        .chart(&captioned, &labels_of(y0, y1, &y_fmt))
        // No axis description under the years (the title says "by year").
        .x_label_area_size(st.px(1.6))
        .build_cartesian_2d(x0..x1, y0..y1)
        .drawn()?;
    chart
        .configure_mesh()
        .styled(st)
        .y_desc(metric.unit)
        .x_labels(2)
        .y_labels(ny)
        .x_label_formatter(&|v| fmt_year(*v))
        .y_label_formatter(&y_fmt)
        .draw()
        .drawn()?;
    for (band, c) in bands {
        let mut outline: Vec<(f64, f64)> = band
            .year
            .iter()
            .copied()
            .zip(band.q95.iter().copied())
            .collect();
        outline.extend(
            band.year
                .iter()
                .copied()
                .zip(band.q05.iter().copied())
                .rev(),
        );
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                c.mix(alpha).filled(),
            )))
            .drawn()?;
        chart
            .draw_series(LineSeries::new(
                band.year.iter().copied().zip(band.mean.iter().copied()),
                c.stroke_width(3),
            ))
            .drawn()?;
    }
    Ok(())
}

/// A year tick: whole years without decimals, others with one.
pub(crate) fn fmt_year(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{:.0}", v.round())
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_mean_and_quantiles_per_step() {
        let mut t = data::Table {
            len: 6,
            ..Default::default()
        };
        // Two steps, three runs; the values of `firms` are 1, 2, 3 at step 0
        // and 10, 20, 60 at step 1; every other metric equals the run index.
        t.num
            .insert("run".into(), vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        t.num
            .insert("step".into(), vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
        t.num.insert(
            "year".into(),
            vec![2020.0, 2021.0, 2020.0, 2021.0, 2020.0, 2021.0],
        );
        for m in &METRICS {
            t.num
                .insert(m.column.into(), vec![0.0, 0.0, 1.0, 1.0, 2.0, 2.0]);
        }
        t.num
            .insert("firms".into(), vec![1.0, 10.0, 2.0, 20.0, 3.0, 60.0]);
        let ts = TimeSeries::from_table(&t);
        assert_eq!(ts.runs, 3);
        let b = &ts.bands[0];
        assert_eq!(b.year, vec![2020.0, 2021.0]);
        assert_eq!(b.mean, vec![2.0, 30.0]);
        // Type 7: position 0.1 and 1.9 of the sorted values.
        assert!((b.q05[1] - 11.0).abs() < 1e-12);
        assert!((b.q95[1] - 56.0).abs() < 1e-12);
    }
}
