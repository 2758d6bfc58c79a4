//! The report's own charts (plotters, drawn as inline SVG through
//! [`crate::plot::render_svg`]): replication diagnostics and a sweep's
//! outcomes against one parameter, in `plot`'s style ([`crate::plot::Style`]).
//! The charts of a run, a comparison (the overlaid time series too) and a
//! sensitivity analysis are `plot`'s own.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::compare::outcome_label;
use crate::plot::{
    axis_formatter, caption, colour, fmt_tick, heading, labels_of, legend, padded_range,
    short_unit, Drawn, Figure, Key, Mark, Style, Styled,
};

/// The relative 95% half-width of the mean (percent of |mean| over all runs)
/// against the number of runs it was computed on, one line per outcome.
pub struct Replication {
    pub ns: Vec<usize>,
    /// (outcome, half-width in percent of |mean| at each n; NaN where undefined).
    pub series: Vec<(String, Vec<f64>)>,
}

impl Figure for Replication {
    fn size(&self) -> (u32, u32) {
        (1000, 800)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let st = Style::of(root);
        let body = heading(
            root,
            "95% half-width of the mean (% of the mean) against runs used",
            st.title(),
        )?;
        let keys: Vec<Key> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, (name, _))| {
                Key::new(Mark::Line(colour(i).to_rgba(), 3), outcome_label(name).0)
            })
            .collect();
        let plot_area = legend(&body, &keys, &st)?;
        let xs = self.ns.iter().map(|n| *n as f64);
        let (x0, x1) = padded_range(xs, 0.03);
        let ys = self.series.iter().flat_map(|(_, v)| v.iter().copied());
        let (_, y1) = padded_range(ys.chain([0.0]), 0.05);
        let y_fmt = axis_formatter(0.0, y1, 6);
        let mut chart = st
            .chart(&plot_area, &labels_of(0.0, y1, &y_fmt))
            .build_cartesian_2d(x0..x1, 0.0..y1)
            .drawn()?;
        chart
            .configure_mesh()
            .styled(&st)
            .x_desc("runs (the first n, in run order)")
            .y_desc("half-width, % of |mean|")
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_labels(6)
            .y_label_formatter(&y_fmt)
            .draw()
            .drawn()?;
        for (i, (_, values)) in self.series.iter().enumerate() {
            let c = colour(i);
            let pts: Vec<(f64, f64)> = self
                .ns
                .iter()
                .zip(values)
                .filter(|(_, v)| v.is_finite())
                .map(|(n, v)| (*n as f64, *v))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), c.stroke_width(3)))
                .drawn()?;
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, st.px(0.2), c.filled())))
                .drawn()?;
        }
        Ok(())
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

/// Panels per row, each half a column wide at the smallest legible text.
const SWEEP_COLUMNS: usize = 2;
const SWEEP_PANEL: (u32, u32) = (500, 500);

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
            SWEEP_PANEL.1 * rows as u32 + 160,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = format!(
            "Outcomes against {}: mean and 95% interval at each design point",
            self.parameter
        );
        let st = Style::of(root);
        let body = heading(root, &title, st.title())?;
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
            let captioned = caption(panel, &title, &st)?;
            let ny = st.y_ticks(&captioned);
            let y_fmt = axis_formatter(y0, y1, ny);
            let mut chart = st
                .chart(&captioned, &labels_of(y0, y1, &y_fmt))
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
                .styled(&st)
                .y_desc(short_unit(unit))
                .x_labels(if cats.is_empty() {
                    st.x_ticks(&captioned)
                } else {
                    cats.len() * 2 + 1
                })
                .x_label_formatter(&fmt_x)
                .y_labels(ny)
                .y_label_formatter(&y_fmt)
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
                        .map(|(x, (m, _, _))| Circle::new((*x, *m), st.px(0.25), c.filled())),
                )
                .drawn()?;
        }
        Ok(())
    }
}
