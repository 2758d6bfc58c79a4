//! The report's own charts (plotters, drawn as inline SVG through
//! [`crate::plot::render_svg`]): replication diagnostics, the scenarios' time
//! series overlaid, and a sweep's outcomes against one parameter. The charts
//! of a run, a comparison and a sensitivity analysis are `plot`'s own.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::compare::outcome_label;
use crate::plot::timeseries::{TimeSeries, METRICS};
use crate::plot::{fmt_tick, padded_range, Drawn, Figure, FAMILY};

/// Series colours, in order (colour-blind-safe Tableau-like palette).
pub const COLOURS: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 0),
    RGBColor(174, 199, 232),
];

fn colour(i: usize) -> RGBColor {
    COLOURS[i % COLOURS.len()]
}

/// The relative 95% half-width of the mean (percent of |mean| over all runs)
/// against the number of runs it was computed on, one line per outcome.
pub struct Replication {
    pub ns: Vec<usize>,
    /// (outcome, half-width in percent of |mean| at each n; NaN where undefined).
    pub series: Vec<(String, Vec<f64>)>,
}

impl Figure for Replication {
    fn size(&self) -> (u32, u32) {
        (1100, 620)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let (w, _) = root.dim_in_pixel();
        let (plot_area, legend) = root.split_horizontally(w.saturating_sub(300));
        let xs = self.ns.iter().map(|n| *n as f64);
        let (x0, x1) = padded_range(xs, 0.03);
        let ys = self.series.iter().flat_map(|(_, v)| v.iter().copied());
        let (_, y1) = padded_range(ys.chain([0.0]), 0.05);
        let mut chart = ChartBuilder::on(&plot_area)
            .caption(
                "95% half-width of the mean (% of the mean) against runs used",
                (FAMILY, 24),
            )
            .margin(14)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, 0.0..y1)
            .drawn()?;
        chart
            .configure_mesh()
            .x_desc("runs (the first n, in run order)")
            .y_desc("half-width, % of |mean|")
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_label_formatter(&|v| fmt_tick(*v))
            .max_light_lines(1)
            .label_style((FAMILY, 15))
            .axis_desc_style((FAMILY, 17))
            .draw()
            .drawn()?;
        let mut row = 0;
        for (i, (name, values)) in self.series.iter().enumerate() {
            let c = colour(i);
            let pts: Vec<(f64, f64)> = self
                .ns
                .iter()
                .zip(values)
                .filter(|(_, v)| v.is_finite())
                .map(|(n, v)| (*n as f64, *v))
                .collect();
            if pts.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))
                .drawn()?;
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 3, c.filled())))
                .drawn()?;
            let y = 60 + 26 * row;
            legend
                .draw(&PathElement::new(vec![(10, y), (40, y)], c.stroke_width(3)))
                .drawn()?;
            legend
                .draw(&Text::new(outcome_label(name).0, (48, y - 8), (FAMILY, 15)))
                .drawn()?;
            row += 1;
        }
        Ok(())
    }
}

/// The key region metrics of several scenarios, means (lines) and 90% bands
/// (shaded), one panel per metric.
pub struct Overlay {
    pub scenarios: Vec<String>,
    pub series: Vec<TimeSeries>,
}

impl Figure for Overlay {
    fn size(&self) -> (u32, u32) {
        (1600, 1900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let body = root
            .titled(
                "Scenarios overlaid: mean (line) and 90% band (shaded) over runs",
                (FAMILY, 32),
            )
            .drawn()?;
        let (legend, grid) = body.split_vertically(50);
        let mut x = 20;
        for (i, name) in self.scenarios.iter().enumerate() {
            let c = colour(i);
            legend
                .draw(&Rectangle::new([(x, 15), (x + 30, 30)], c.filled()))
                .drawn()?;
            legend
                .draw(&Text::new(name.clone(), (x + 38, 12), (FAMILY, 20)))
                .drawn()?;
            x += 60 + 11 * name.chars().count() as i32;
        }
        let panels = grid.split_evenly((4, 2));
        for (k, (panel, metric)) in panels.iter().zip(&METRICS).enumerate() {
            let bands: Vec<_> = self.series.iter().map(|s| &s.bands[k]).collect();
            let (x0, x1) = padded_range(bands.iter().flat_map(|b| b.year.iter().copied()), 0.0);
            let (y0, y1) = padded_range(
                bands
                    .iter()
                    .flat_map(|b| b.q05.iter().chain(&b.q95).copied()),
                0.05,
            );
            let mut chart = ChartBuilder::on(panel)
                .caption(metric.title, (FAMILY, 22))
                .margin(12)
                .margin_right(30)
                .x_label_area_size(45)
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
                .label_style((FAMILY, 15))
                .axis_desc_style((FAMILY, 17))
                .draw()
                .drawn()?;
            for (i, band) in bands.iter().enumerate() {
                let c = colour(i);
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
                    .draw_series(std::iter::once(Polygon::new(outline, c.mix(0.15).filled())))
                    .drawn()?;
                chart
                    .draw_series(LineSeries::new(
                        band.year.iter().copied().zip(band.mean.iter().copied()),
                        c.stroke_width(2),
                    ))
                    .drawn()?;
            }
        }
        Ok(())
    }
}

/// A year tick: whole years without decimals, others with one.
fn fmt_year(v: f64) -> String {
    if (v - v.round()).abs() < 1e-6 {
        format!("{:.0}", v.round())
    } else {
        format!("{v:.1}")
    }
}

/// One outcome's mean and 95% interval at each design point.
pub struct OutcomePoints {
    pub outcome: String,
    /// (mean, lo, hi) per point, in `Sweep::xs` order.
    pub values: Vec<(f64, f64, f64)>,
}

/// A sweep's outcomes against one parameter: one panel per outcome, each
/// design point's mean with its 95% interval.
pub struct SweepPanels {
    pub parameter: String,
    /// The parameter's value at each point (a category's index for text values).
    pub xs: Vec<f64>,
    /// Category names, for a text parameter.
    pub categories: Vec<String>,
    pub outcomes: Vec<OutcomePoints>,
}

const SWEEP_COLUMNS: usize = 4;
const SWEEP_PANEL: (u32, u32) = (400, 300);

impl SweepPanels {
    fn grid(&self) -> (usize, usize) {
        let cols = SWEEP_COLUMNS.min(self.outcomes.len()).max(1);
        (self.outcomes.len().div_ceil(cols).max(1), cols)
    }
}

impl Figure for SweepPanels {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        (
            SWEEP_PANEL.0 * cols as u32,
            SWEEP_PANEL.1 * rows as u32 + 50,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = format!(
            "Outcomes against {}: mean and 95% interval at each design point",
            self.parameter
        );
        let body = root.titled(&title, (FAMILY, 24)).drawn()?;
        let panels = body.split_evenly(self.grid());
        let (x0, x1) = if self.categories.is_empty() {
            padded_range(self.xs.iter().copied(), 0.08)
        } else {
            (-0.5, self.categories.len() as f64 - 0.5)
        };
        for (panel, o) in panels.iter().zip(&self.outcomes) {
            let (y0, y1) = padded_range(
                o.values
                    .iter()
                    .flat_map(|(m, lo, hi)| [*m, *lo, *hi])
                    .filter(|v| v.is_finite()),
                0.08,
            );
            let (title, unit) = outcome_label(&o.outcome);
            let mut chart = ChartBuilder::on(panel)
                .caption(title, (FAMILY, 15))
                .margin(8)
                .margin_right(16)
                .x_label_area_size(32)
                .y_label_area_size(62)
                .build_cartesian_2d(x0..x1, y0..y1)
                .drawn()?;
            let cats = &self.categories;
            let fmt_x = |v: &f64| {
                if cats.is_empty() {
                    fmt_tick(*v)
                } else {
                    let i = v.round();
                    if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < cats.len() {
                        cats[i as usize].clone()
                    } else {
                        String::new()
                    }
                }
            };
            chart
                .configure_mesh()
                .y_desc(unit)
                .max_light_lines(1)
                .x_labels(if cats.is_empty() {
                    6
                } else {
                    cats.len() * 2 + 1
                })
                .x_label_formatter(&fmt_x)
                .y_label_formatter(&|v| fmt_tick(*v))
                .label_style((FAMILY, 12))
                .axis_desc_style((FAMILY, 13))
                .draw()
                .drawn()?;
            let c = colour(0);
            let pts: Vec<(f64, (f64, f64, f64))> = self
                .xs
                .iter()
                .copied()
                .zip(o.values.iter().copied())
                .filter(|(x, (m, _, _))| x.is_finite() && m.is_finite())
                .collect();
            // The interval: a vertical segment with caps (a tenth of the x range wide at most).
            let cap = 0.02 * (x1 - x0);
            for (x, (_, lo, hi)) in pts
                .iter()
                .filter(|(_, (_, lo, hi))| lo.is_finite() && hi.is_finite())
            {
                chart
                    .draw_series([
                        PathElement::new(vec![(*x, *lo), (*x, *hi)], c.stroke_width(2)),
                        PathElement::new(vec![(*x - cap, *lo), (*x + cap, *lo)], c.stroke_width(2)),
                        PathElement::new(vec![(*x - cap, *hi), (*x + cap, *hi)], c.stroke_width(2)),
                    ])
                    .drawn()?;
            }
            chart
                .draw_series(
                    pts.iter()
                        .map(|(x, (m, _, _))| Circle::new((*x, *m), 4, c.filled())),
                )
                .drawn()?;
        }
        Ok(())
    }
}
