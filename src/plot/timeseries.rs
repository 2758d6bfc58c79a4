//! The `timeseries` chart: key region metrics against the year, one panel per
//! metric, with the mean over runs and the 90% band between the 5% and 95%
//! quantiles over runs at each step (type-7 quantiles, see `stats`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{self, num};
use super::{fmt_tick, padded_range, Drawn, Figure, FAMILY};
use crate::stats;

/// A region metric drawn by the chart: column, panel title, y-axis label.
pub struct Metric {
    pub column: &'static str,
    pub title: &'static str,
    pub unit: &'static str,
}

/// The metrics of the chart, in panel order.
pub const METRICS: [Metric; 8] = [
    Metric {
        column: "firms",
        title: "Firms in the region",
        unit: "firms",
    },
    Metric {
        column: "firms_clusters",
        title: "Firms inside clusters",
        unit: "firms",
    },
    Metric {
        column: "polluting_residential",
        title: "Polluting firms in residential areas",
        unit: "firms",
    },
    Metric {
        column: "clusters_complete",
        title: "Complete clusters",
        unit: "clusters",
    },
    Metric {
        column: "mean_quality",
        title: "Mean effective quality Q (operating clusters)",
        unit: "Q (0–1, area-weighted)",
    },
    Metric {
        column: "employment",
        title: "Employment",
        unit: "workers",
    },
    Metric {
        column: "leakage",
        title: "Leakage of investment",
        unit: "billion VND per step",
    },
    Metric {
        column: "pollution_residential",
        title: "Pollution in residential areas",
        unit: "ΣS, billion VND/yr",
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

impl Figure for TimeSeries {
    fn size(&self) -> (u32, u32) {
        (1600, 1900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = format!(
            "Key region metrics: mean and 90% band over {} run{}",
            self.runs,
            if self.runs == 1 { "" } else { "s" }
        );
        let body = root.titled(&title, (FAMILY, 34)).drawn()?;
        let panels = body.split_evenly((4, 2));
        for ((panel, metric), band) in panels.iter().zip(&METRICS).zip(&self.bands) {
            draw_panel(panel, metric, band, self.runs)?;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    metric: &Metric,
    band: &Band,
    runs: usize,
) -> anyhow::Result<()> {
    let (x0, x1) = padded_range(band.year.iter().copied(), 0.0);
    let (y0, y1) = padded_range(band.q05.iter().chain(&band.q95).copied(), 0.05);
    let mut chart = ChartBuilder::on(area)
        .caption(metric.title, (FAMILY, 24))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, y0..y1)
        .drawn()?;
    chart
        .configure_mesh()
        .x_desc("year")
        .y_desc(metric.unit)
        .x_labels(((x1 - x0).round() as usize + 1).clamp(2, 11))
        .x_label_formatter(&|v| fmt_year(*v))
        .y_label_formatter(&|v| fmt_tick(*v))
        .label_style((FAMILY, 16))
        .axis_desc_style((FAMILY, 18))
        .draw()
        .drawn()?;

    let fill = BLUE.mix(0.2);
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
        .draw_series(std::iter::once(Polygon::new(outline, fill.filled())))
        .drawn()?
        .label("90% band (5–95% quantiles over runs)")
        .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 24, y + 6)], fill.filled()));
    chart
        .draw_series(LineSeries::new(
            band.year.iter().copied().zip(band.mean.iter().copied()),
            BLUE.stroke_width(2),
        ))
        .drawn()?
        .label(format!("mean over {runs} runs"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLUE.stroke_width(2)));
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

/// A year tick: whole years without decimals, others with one.
fn fmt_year(v: f64) -> String {
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
