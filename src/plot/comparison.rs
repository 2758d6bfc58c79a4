//! The `comparison` chart of a `comparison.parquet`: one panel per outcome,
//! each scenario's mean with its 95% interval. The first scenario (the base)
//! is black; another scenario is red when its paired difference from the base
//! excludes zero and grey when it does not. The `comparison_differences`
//! chart shows, per outcome, each scenario's paired difference from the base
//! with its 95% interval around a zero line (same colours).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{axis_formatter, padded_range, render, Drawn, Figure, FAMILY};
use crate::compare::{outcome_label, read_comparison, ComparisonRow};

/// Panels per row.
const COLUMNS: usize = 4;
/// Pixel size of one panel.
const PANEL: (u32, u32) = (520, 380);

const BASE: RGBColor = RGBColor(0, 0, 0);
const DIFFERENT: RGBColor = RGBColor(200, 30, 30);
const SAME: RGBColor = RGBColor(140, 140, 140);

/// The data of the chart.
pub struct Comparison {
    /// Scenarios in order of first appearance (the first is the base).
    pub scenarios: Vec<String>,
    /// Outcomes in order of first appearance.
    pub outcomes: Vec<String>,
    pub rows: Vec<ComparisonRow>,
}

impl Comparison {
    /// Index the rows by scenario and outcome, keeping their order.
    pub fn new(rows: Vec<ComparisonRow>) -> Self {
        let mut scenarios: Vec<String> = Vec::new();
        let mut outcomes: Vec<String> = Vec::new();
        for r in &rows {
            if !scenarios.contains(&r.scenario) {
                scenarios.push(r.scenario.clone());
            }
            if !outcomes.contains(&r.outcome) {
                outcomes.push(r.outcome.clone());
            }
        }
        Self {
            scenarios,
            outcomes,
            rows,
        }
    }

    fn grid(&self) -> (usize, usize) {
        let cols = COLUMNS.min(self.outcomes.len()).max(1);
        (self.outcomes.len().div_ceil(cols).max(1), cols)
    }
}

/// Chart `comparison.parquet` into `out/comparison.{png,svg}` and (with at
/// least two scenarios) `out/comparison_differences.{png,svg}`.
pub fn plot_comparison(comparison: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let rows = read_comparison(comparison)?;
    if rows.is_empty() {
        anyhow::bail!("{} has no rows", comparison.display());
    }
    let c = Comparison::new(rows);
    let mut written = render(&c, out, "comparison", 1.0)?;
    if c.scenarios.len() > 1 {
        written.extend(render(
            &Differences(&c),
            out,
            "comparison_differences",
            1.0,
        )?);
    }
    Ok(written)
}

/// The paired differences from the base, one panel per outcome.
pub struct Differences<'a>(pub &'a Comparison);

impl Figure for Differences<'_> {
    fn size(&self) -> (u32, u32) {
        self.0.size()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let c = self.0;
        let n = c.rows.first().map_or(0, |r| r.n);
        let base = c.scenarios.first().map_or("", String::as_str);
        let title = format!(
            "Scenarios {}: paired difference from {base} and 95% interval over {n} runs",
            c.scenarios.join(" vs ")
        );
        let body = root.titled(&title, (FAMILY, 30)).drawn()?;
        let (legend, grid) = body.split_vertically(60);
        c.draw_legend(&legend)?;
        let panels = grid.split_evenly(c.grid());
        for (panel, outcome) in panels.iter().zip(&c.outcomes) {
            c.draw_diff_panel(panel, outcome)?;
        }
        Ok(())
    }
}

impl Figure for Comparison {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        (PANEL.0 * cols as u32, PANEL.1 * rows as u32 + 130)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let n = self.rows.first().map_or(0, |r| r.n);
        let title = format!(
            "Scenarios {}: mean and 95% interval over {n} runs (base: {})",
            self.scenarios.join(" vs "),
            self.scenarios.first().map_or("", String::as_str)
        );
        let body = root.titled(&title, (FAMILY, 30)).drawn()?;
        let (legend, grid) = body.split_vertically(60);
        self.draw_legend(&legend)?;
        let panels = grid.split_evenly(self.grid());
        for (panel, outcome) in panels.iter().zip(&self.outcomes) {
            self.draw_panel(panel, outcome)?;
        }
        Ok(())
    }
}

impl Comparison {
    fn draw_legend<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let base = self.scenarios.first().map_or("", String::as_str);
        let items = [
            (BASE, format!("base scenario ({base})")),
            (
                DIFFERENT,
                "paired difference from base excludes 0 (95%)".to_string(),
            ),
            (SAME, "paired difference from base includes 0".to_string()),
        ];
        let mut x = 30;
        let y = 30;
        let font = (FAMILY, 18).into_font().color(&BLACK);
        for (colour, label) in items {
            area.draw(&PathElement::new(
                vec![(x, y - 10), (x, y + 10)],
                colour.stroke_width(2),
            ))
            .drawn()?;
            area.draw(&Circle::new((x, y), 5, colour.filled()))
                .drawn()?;
            area.draw(&Text::new(label.clone(), (x + 14, y - 9), font.clone()))
                .drawn()?;
            let (w, _) = area.estimate_text_size(&label, &font).drawn()?;
            x += 14 + w as i32 + 50;
        }
        Ok(())
    }

    fn draw_diff_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        outcome: &str,
    ) -> anyhow::Result<()> {
        // Every scenario keeps its place on the x axis; the base sits at 0
        // by definition, the others with their paired difference.
        let rows: Vec<(usize, &ComparisonRow, f64, f64, f64)> = self
            .rows
            .iter()
            .filter(|r| r.outcome == outcome)
            .filter_map(|r| {
                let i = self.scenarios.iter().position(|s| *s == r.scenario)?;
                Some((i, r, r.diff?, r.diff_lo?, r.diff_hi?))
            })
            .collect();
        let (y0, y1) = padded_range(
            rows.iter()
                .flat_map(|(_, _, d, lo, hi)| [*d, *lo, *hi])
                .chain([0.0]),
            0.1,
        );
        let (title, unit) = outcome_label(outcome);
        let names = self.scenarios.clone();
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FAMILY, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(75)
            // At least two scenarios: 0..n−1 gives n segments.
            .build_cartesian_2d(
                (0..self.scenarios.len().saturating_sub(1).max(1)).into_segmented(),
                y0..y1,
            )
            .drawn()?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("scenario")
            .y_desc(format!("difference, {unit}"))
            .x_label_formatter(&move |v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_labels(6)
            .y_label_formatter(&axis_formatter(y0, y1, 6))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .draw()
            .drawn()?;
        // The zero line: no difference from the base.
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(SegmentValue::Exact(0), 0.0), (SegmentValue::Last, 0.0)],
                BASE.stroke_width(1),
            )))
            .drawn()?;
        chart
            .draw_series(std::iter::once(Circle::new(
                (SegmentValue::CenterOf(0), 0.0),
                5,
                BASE.filled(),
            )))
            .drawn()?;
        for (i, r, d, lo, hi) in rows {
            let colour = if r.excludes_zero == Some(true) {
                DIFFERENT
            } else {
                SAME
            };
            let x = || SegmentValue::CenterOf(i);
            let style = colour.stroke_width(2);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x(), lo), (x(), hi)],
                    style,
                )))
                .drawn()?;
            chart
                .draw_series([lo, hi].into_iter().map(|y| {
                    EmptyElement::at((x(), y)) + PathElement::new(vec![(-8, 0), (8, 0)], style)
                }))
                .drawn()?;
            chart
                .draw_series(std::iter::once(Circle::new((x(), d), 5, colour.filled())))
                .drawn()?;
        }
        Ok(())
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        outcome: &str,
    ) -> anyhow::Result<()> {
        let rows: Vec<(usize, &ComparisonRow)> = self
            .rows
            .iter()
            .filter(|r| r.outcome == outcome)
            .filter_map(|r| {
                let i = self.scenarios.iter().position(|s| *s == r.scenario)?;
                Some((i, r))
            })
            .collect();
        let (y0, y1) = padded_range(rows.iter().flat_map(|(_, r)| [r.lo, r.hi, r.mean]), 0.1);
        let (title, unit) = outcome_label(outcome);
        let names = self.scenarios.clone();
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FAMILY, 20))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(75)
            // Integer ranges are inclusive in plotters: 0..n−1 gives n segments.
            .build_cartesian_2d(
                (0..self.scenarios.len().saturating_sub(1)).into_segmented(),
                y0..y1,
            )
            .drawn()?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("scenario")
            .y_desc(unit)
            .x_label_formatter(&move |v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_labels(6)
            .y_label_formatter(&axis_formatter(y0, y1, 6))
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 16))
            .draw()
            .drawn()?;
        for (i, r) in rows {
            let colour = if i == 0 {
                BASE
            } else if r.excludes_zero == Some(true) {
                DIFFERENT
            } else {
                SAME
            };
            let x = || SegmentValue::CenterOf(i);
            let style = colour.stroke_width(2);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x(), r.lo), (x(), r.hi)],
                    style,
                )))
                .drawn()?;
            chart
                .draw_series([r.lo, r.hi].into_iter().map(|y| {
                    EmptyElement::at((x(), y)) + PathElement::new(vec![(-8, 0), (8, 0)], style)
                }))
                .drawn()?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x(), r.mean),
                    5,
                    colour.filled(),
                )))
                .drawn()?;
        }
        Ok(())
    }
}
