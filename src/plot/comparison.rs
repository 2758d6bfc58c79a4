//! The `comparison` chart of a `comparison.parquet`: one panel per outcome,
//! each scenario's mean with its 95% interval. The first scenario (the base)
//! is black; another scenario is red when its paired difference from the base
//! excludes zero and grey when it does not. The `comparison_differences`
//! chart shows, per outcome, each scenario's paired difference from the base
//! with its 95% interval around a zero line (same colours). On a compare
//! directory, `comparison_timeseries` overlays the scenarios' time series
//! ([`plot_overlay`]).

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use plotters::coord::ranged1d::SegmentedCoord;
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};

use super::{
    axis_formatter, caption, heading, labels_of, legend, names_fit, padded_range, render,
    short_unit, Drawn, Figure, Key, Mark, Style, Styled,
};
use crate::compare::{outcome_label, read_comparison, ComparisonRow};

/// Panels per row: two, each half a column wide at the smallest legible text.
const COLUMNS: usize = 2;
/// Pixel size of one panel at scale 1.
const PANEL: (u32, u32) = (500, 500);
/// Height of the title and the legend at scale 1.
const HEADER: u32 = 380;

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

/// Chart the time series of the scenarios of the compare directory `dir`
/// overlaid into `out/comparison_timeseries.{png,svg}` (see
/// [`super::timeseries::Overlay`]); nothing when a scenario's run directory
/// has no region table.
pub fn plot_overlay(dir: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let rows = read_comparison(&dir.join("comparison.parquet"))?;
    let scenarios = Comparison::new(rows).scenarios;
    for s in &scenarios {
        if super::data::table_files(&dir.join(s), "region")?.is_empty() {
            eprintln!(
                "note: {} has no region tables; skipping the overlaid time series",
                dir.join(s).display()
            );
            return Ok(Vec::new());
        }
    }
    let overlay = super::timeseries::Overlay::load(dir, &scenarios)?;
    render(&overlay, out, "comparison_timeseries", 1.0)
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
        c.draw_panels(root, &title, true)
    }
}

impl Figure for Comparison {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        (PANEL.0 * cols.max(2) as u32, PANEL.1 * rows as u32 + HEADER)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let n = self.rows.first().map_or(0, |r| r.n);
        let title = format!(
            "Scenarios {}: mean and 95% interval over {n} runs (base: {})",
            self.scenarios.join(" vs "),
            self.scenarios.first().map_or("", String::as_str)
        );
        self.draw_panels(root, &title, false)
    }
}

/// The x axis of a comparison panel: one segment per scenario.
type ScenarioAxis = Cartesian2d<SegmentedCoord<RangedCoordusize>, RangedCoordf64>;

impl Comparison {
    /// Whether the x axis numbers the scenarios (names too long for a
    /// panel half a column wide; the legend gives each number's name).
    fn numbered(&self) -> bool {
        !names_fit(&self.scenarios, 6.5)
    }

    /// Title, the legend, and a panel per outcome (means or differences).
    fn draw_panels<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
        differences: bool,
    ) -> anyhow::Result<()> {
        let st = Style::of(root);
        let body = heading(root, title, st.title())?;
        let grid = legend(&body, &self.keys(), &st)?;
        let panels = grid.split_evenly(self.grid());
        for (panel, outcome) in panels.iter().zip(&self.outcomes) {
            if differences {
                self.draw_diff_panel(panel, outcome, &st)?;
            } else {
                self.draw_panel(panel, outcome, &st)?;
            }
        }
        Ok(())
    }

    /// The legend: the colours, and the scenarios' numbers when the axes use them.
    fn keys(&self) -> Vec<Key> {
        let base = self.scenarios.first().map_or("", String::as_str);
        let mut keys = vec![
            Key::new(Mark::Interval(BASE.to_rgba()), format!("base ({base})")),
            Key::new(
                Mark::Interval(DIFFERENT.to_rgba()),
                "paired difference excludes 0 (95%)",
            ),
            Key::new(
                Mark::Interval(SAME.to_rgba()),
                "paired difference includes 0",
            ),
        ];
        if self.numbered() {
            keys.extend(
                self.scenarios
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Key::new(Mark::Nothing, format!("{}: {s}", i + 1))),
            );
        }
        keys
    }

    /// A panel's chart: the outcome as caption, a segment per scenario.
    fn panel_chart<'a, DB: DrawingBackend>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        outcome: &str,
        (y0, y1): (f64, f64),
        y_desc: String,
        st: &Style,
    ) -> anyhow::Result<ChartContext<'a, DB, ScenarioAxis>> {
        let (title, _) = outcome_label(outcome);
        let captioned = caption(area, &title, st)?;
        let ny = st.y_ticks(&captioned);
        let y_fmt = axis_formatter(y0, y1, ny);
        let mut chart = st
            .chart(&captioned, &labels_of(y0, y1, &y_fmt))
            // Integer ranges are inclusive in plotters: 0..n−1 gives n segments.
            .build_cartesian_2d(
                (0..self.scenarios.len().saturating_sub(1)).into_segmented(),
                y0..y1,
            )
            .drawn()?;
        let numbered = self.numbered();
        let names = self.scenarios.clone();
        chart
            .configure_mesh()
            .styled(st)
            .disable_x_mesh()
            .x_desc("scenario")
            .y_desc(y_desc)
            .x_label_formatter(&move |v| match v {
                SegmentValue::CenterOf(i) if numbered && *i < names.len() => (i + 1).to_string(),
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_labels(ny)
            .y_label_formatter(&y_fmt)
            .draw()
            .drawn()?;
        Ok(chart)
    }

    fn draw_diff_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        outcome: &str,
        st: &Style,
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
        let range = padded_range(
            rows.iter()
                .flat_map(|(_, _, d, lo, hi)| [*d, *lo, *hi])
                .chain([0.0]),
            0.1,
        );
        let unit = short_unit(outcome_label(outcome).1);
        // The unit alone: the title says these are differences.
        let mut chart = self.panel_chart(area, outcome, range, unit, st)?;
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
                st.px(0.25),
                BASE.filled(),
            )))
            .drawn()?;
        for (i, r, d, lo, hi) in rows {
            let colour = if r.excludes_zero == Some(true) {
                DIFFERENT
            } else {
                SAME
            };
            draw_interval(&mut chart, i, (lo, d, hi), colour, st)?;
        }
        Ok(())
    }

    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        outcome: &str,
        st: &Style,
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
        let range = padded_range(rows.iter().flat_map(|(_, r)| [r.lo, r.hi, r.mean]), 0.1);
        let unit = short_unit(outcome_label(outcome).1);
        let mut chart = self.panel_chart(area, outcome, range, unit, st)?;
        for (i, r) in rows {
            let colour = if i == 0 {
                BASE
            } else if r.excludes_zero == Some(true) {
                DIFFERENT
            } else {
                SAME
            };
            draw_interval(&mut chart, i, (r.lo, r.mean, r.hi), colour, st)?;
        }
        Ok(())
    }
}

/// An interval with caps and its centre dot at scenario `i`.
fn draw_interval<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, ScenarioAxis>,
    i: usize,
    (lo, mid, hi): (f64, f64, f64),
    colour: RGBColor,
    st: &Style,
) -> anyhow::Result<()> {
    let x = || SegmentValue::CenterOf(i);
    let style = colour.stroke_width(3);
    let cap = st.ipx(0.35);
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(x(), lo), (x(), hi)],
            style,
        )))
        .drawn()?;
    chart
        .draw_series([lo, hi].into_iter().map(|y| {
            EmptyElement::at((x(), y)) + PathElement::new(vec![(-cap, 0), (cap, 0)], style)
        }))
        .drawn()?;
    chart
        .draw_series(std::iter::once(Circle::new(
            (x(), mid),
            st.px(0.25),
            colour.filled(),
        )))
        .drawn()?;
    Ok(())
}
