//! Charts of a calibration directory (`clustersim calibrate`), read from its
//! Parquet files (never from the model):
//! - `calibration_loss`: the loss of every evaluation in the order the search
//!   asked for it (log scale), coloured by phase, with the running best;
//! - `calibration_moments`: one panel per target: the simulated moment at
//!   every evaluation (grey), the target and its 95% interval (red), the
//!   optimum and its 95% interval over replicates (black);
//! - `calibration_profiles`: one panel per parameter: the loss profile around
//!   the optimum and the identification threshold (optimum + replicate noise).

use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{num, read_files, text, Table};
use super::{
    axis_formatter, caption, heading, labels_of, legend, padded_range, render, Drawn, Figure, Key,
    Mark, Style, Styled,
};

/// Pixel size of one panel at scale 1; two panels per row.
const PANEL: (u32, u32) = (500, 420);
const COLUMNS: usize = 2;
const TARGET: RGBColor = RGBColor(200, 30, 30);
const GREY: RGBColor = RGBColor(150, 150, 150);
const PHASES: [(&str, RGBColor); 4] = [
    ("start", RGBColor(31, 119, 180)),
    ("simplex", RGBColor(255, 127, 14)),
    ("search", RGBColor(44, 160, 44)),
    ("profile", RGBColor(148, 103, 189)),
];

/// What the charts read from a calibration directory.
pub struct CalibrationData {
    /// The log rows this run asked for, in order (`unused` rows left out).
    pub log: Table,
    pub params: Table,
    pub moments: Table,
}

impl CalibrationData {
    /// Read `calibration.parquet`, `parameters.parquet` and `moments.parquet`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |name: &str, cols: &[super::data::Col<'_>]| {
            read_files(&[dir.join(name)], cols)
                .with_context(|| format!("reading the calibration in {}", dir.display()))
        };
        let params = read(
            "parameters.parquet",
            &[
                text("parameter"),
                num("best"),
                num("rise"),
                num("noise"),
                num("identified"),
            ],
        )?;
        let moments = read(
            "moments.parquet",
            &[
                text("target"),
                num("value"),
                num("target_lo"),
                num("target_hi"),
                num("mean"),
                num("lo"),
                num("hi"),
            ],
        )?;
        let means: Vec<String> = moments
            .s("target")
            .iter()
            .map(|t| format!("mean_{t}"))
            .collect();
        let mut cols = vec![text("phase"), text("profile"), num("loss")];
        cols.extend(params.s("parameter").iter().map(|p| num(p)));
        cols.extend(means.iter().map(|m| num(m)));
        let all = read("calibration.parquet", &cols)?;
        let keep: Vec<usize> = (0..all.len)
            .filter(|&i| all.s("phase")[i] != "unused")
            .collect();
        let mut log = Table {
            len: keep.len(),
            ..Default::default()
        };
        for (k, v) in &all.num {
            log.num
                .insert(k.clone(), keep.iter().map(|&i| v[i]).collect());
        }
        for (k, v) in &all.text {
            log.text
                .insert(k.clone(), keep.iter().map(|&i| v[i].clone()).collect());
        }
        Ok(Self {
            log,
            params,
            moments,
        })
    }

    /// The row of the optimum among the search rows (first of the smallest).
    fn best_row(&self) -> Option<usize> {
        let loss = self.log.f("loss");
        (0..self.log.len)
            .filter(|&i| self.log.s("phase")[i] != "profile")
            .min_by(|&a, &b| loss[a].total_cmp(&loss[b]).then(a.cmp(&b)))
    }
}

/// Write the three calibration charts of `dir` into `out`.
pub fn plot_calibration(dir: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let data = CalibrationData::load(dir)?;
    let mut files = render(&LossChart(&data), out, "calibration_loss", 1.0)?;
    files.extend(render(
        &MomentsChart(&data),
        out,
        "calibration_moments",
        1.0,
    )?);
    files.extend(render(
        &ProfilesChart(&data),
        out,
        "calibration_profiles",
        1.0,
    )?);
    Ok(files)
}

/// A positive floor for a log axis: a tenth of the smallest positive value.
fn positive(values: &[f64]) -> Vec<f64> {
    let min = values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    let floor = if min.is_finite() { min / 10.0 } else { 1e-12 };
    values.iter().map(|v| v.max(floor)).collect()
}

fn grid(n: usize) -> (usize, usize) {
    let cols = COLUMNS.min(n).max(1);
    (n.div_ceil(cols).max(1), cols)
}

/// Pixel size of a chart of `n` panels under a title (two columns).
fn panels_size(n: usize) -> (u32, u32) {
    let (r, _) = grid(n);
    (PANEL.0 * COLUMNS as u32, PANEL.1 * r as u32 + 200)
}

/// The style of `root` and `n` panel areas under `title`.
fn panels<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    n: usize,
) -> anyhow::Result<(Style, Vec<DrawingArea<DB, Shift>>)> {
    let st = Style::of(root);
    let body = heading(root, title, st.title())?;
    let mut areas = body.split_evenly(grid(n));
    areas.truncate(n);
    Ok((st, areas))
}

pub(crate) struct LossChart<'a>(pub &'a CalibrationData);

impl Figure for LossChart<'_> {
    fn size(&self) -> (u32, u32) {
        (1000, 800)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let d = self.0;
        let loss = positive(d.log.f("loss"));
        let finite: Vec<f64> = loss.iter().copied().filter(|v| v.is_finite()).collect();
        let (lo, hi) = (
            finite.iter().copied().fold(f64::INFINITY, f64::min),
            finite.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        let (lo, hi) = if lo.is_finite() {
            (lo / 2.0, hi * 2.0)
        } else {
            (1e-3, 1.0)
        };
        let n = d.log.len.max(1) as f64;
        let st = Style::of(root);
        let body = heading(root, "Calibration: loss g′Wg by evaluation", st.title())?;
        let mut keys: Vec<Key> = PHASES
            .iter()
            .map(|(phase, colour)| Key::new(Mark::Dot(colour.to_rgba(), 0.2), *phase))
            .collect();
        keys.push(Key::new(Mark::Line(BLACK.to_rgba(), 3), "best so far"));
        let area = legend(&body, &keys, &st)?;
        let y_fmt = |v: &f64| format!("{v:.1e}");
        let mut chart = st
            .chart(&area, &labels_of(lo, hi, &y_fmt))
            .build_cartesian_2d(-0.5..n - 0.5, (lo..hi).log_scale())
            .drawn()?;
        chart
            .configure_mesh()
            .styled(&st)
            .x_desc("evaluation (in the search's order)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_desc("loss (log scale)")
            .y_label_formatter(&y_fmt)
            .x_labels(6)
            .y_labels(5)
            .draw()
            .drawn()?;
        for (phase, colour) in PHASES {
            let pts: Vec<(f64, f64)> = (0..d.log.len)
                .filter(|&i| d.log.s("phase")[i] == phase && loss[i].is_finite())
                .map(|i| (i as f64, loss[i]))
                .collect();
            chart
                .draw_series(
                    pts.iter()
                        .map(|p| Circle::new(*p, st.px(0.2), colour.filled())),
                )
                .drawn()?;
        }
        let mut best = f64::INFINITY;
        let running: Vec<(f64, f64)> = (0..d.log.len)
            .filter(|&i| d.log.s("phase")[i] != "profile")
            .filter_map(|i| {
                best = best.min(loss[i]);
                best.is_finite().then_some((i as f64, best))
            })
            .collect();
        chart
            .draw_series(LineSeries::new(running, BLACK.stroke_width(3)))
            .drawn()?;
        Ok(())
    }
}

pub(crate) struct MomentsChart<'a>(pub &'a CalibrationData);

impl Figure for MomentsChart<'_> {
    fn size(&self) -> (u32, u32) {
        panels_size(self.0.moments.len)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let d = self.0;
        let title = "Moments by evaluation (grey), target and 95% interval (red), optimum and 95% interval (black)";
        let best = d.best_row();
        let (st, areas) = panels(root, title, d.moments.len)?;
        for (i, panel) in areas.iter().enumerate() {
            let name = &d.moments.s("target")[i];
            let series = d.log.f(&format!("mean_{name}"));
            let m = |c: &str| d.moments.f(c)[i];
            let (y0, y1) = padded_range(
                series.iter().copied().chain([
                    m("value"),
                    m("target_lo"),
                    m("target_hi"),
                    m("lo"),
                    m("hi"),
                ]),
                0.08,
            );
            let n = d.log.len.max(1) as f64;
            let captioned = caption(panel, name, &st)?;
            let ny = st.y_ticks(&captioned);
            let y_fmt = axis_formatter(y0, y1, ny);
            let mut chart = st
                .chart(&captioned, &labels_of(y0, y1, &y_fmt))
                .build_cartesian_2d(-0.5..n - 0.5, y0..y1)
                .drawn()?;
            chart
                .configure_mesh()
                .styled(&st)
                .x_desc("evaluation")
                .x_label_formatter(&|v| format!("{v:.0}"))
                .x_labels(st.x_ticks(&captioned))
                .y_labels(ny)
                .y_label_formatter(&y_fmt)
                .draw()
                .drawn()?;
            if m("target_lo").is_finite() {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(-0.5, m("target_lo")), (n - 0.5, m("target_hi"))],
                        TARGET.mix(0.15).filled(),
                    )))
                    .drawn()?;
            }
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(-0.5, m("value")), (n - 0.5, m("value"))],
                    TARGET.stroke_width(2),
                )))
                .drawn()?;
            chart
                .draw_series(
                    series
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.is_finite())
                        .map(|(k, v)| Circle::new((k as f64, *v), st.px(0.15), GREY.filled())),
                )
                .drawn()?;
            if let Some(b) = best {
                let x = b as f64;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(x, m("lo")), (x, m("hi"))],
                        BLACK.stroke_width(2),
                    )))
                    .drawn()?;
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (x, m("mean")),
                        st.px(0.25),
                        BLACK.filled(),
                    )))
                    .drawn()?;
            }
        }
        Ok(())
    }
}

pub(crate) struct ProfilesChart<'a>(pub &'a CalibrationData);

impl Figure for ProfilesChart<'_> {
    fn size(&self) -> (u32, u32) {
        panels_size(self.0.params.len)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let d = self.0;
        let title = "Loss profiles around the optimum (dashed: optimum + replicate noise)";
        let loss = d.log.f("loss");
        let best_loss = d.best_row().map_or(f64::NAN, |b| loss[b]);
        let (st, areas) = panels(root, title, d.params.len)?;
        for (j, panel) in areas.iter().enumerate() {
            let path = &d.params.s("parameter")[j];
            let xs = d.log.f(path);
            let mut pts: Vec<(f64, f64)> = (0..d.log.len)
                .filter(|&i| d.log.s("profile")[i] == *path && loss[i].is_finite())
                .map(|i| (xs[i], loss[i]))
                .collect();
            pts.push((d.params.f("best")[j], best_loss));
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let threshold = best_loss + d.params.f("noise")[j];
            let (x0, x1) = padded_range(pts.iter().map(|p| p.0), 0.05);
            let (y0, y1) = padded_range(pts.iter().map(|p| p.1).chain([threshold]), 0.08);
            let identified = d.params.f("identified")[j] > 0.5;
            let text = format!(
                "{path}: {}",
                if identified {
                    "identified"
                } else {
                    "NOT identified"
                }
            );
            // A parameter's path can be long: the caption wraps.
            let panel = caption(panel, &text, &st)?;
            let (nx, ny) = (st.x_ticks(&panel), st.y_ticks(&panel));
            let y_fmt = axis_formatter(y0, y1, ny);
            let mut chart = st
                .chart(&panel, &labels_of(y0, y1, &y_fmt))
                .build_cartesian_2d(x0..x1, y0..y1)
                .drawn()?;
            chart
                .configure_mesh()
                .styled(&st)
                .x_desc("value")
                .y_desc("loss")
                .x_labels(nx)
                .y_labels(ny)
                .x_label_formatter(&axis_formatter(x0, x1, nx))
                .y_label_formatter(&y_fmt)
                .draw()
                .drawn()?;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x0, threshold), (x1, threshold)],
                    st.px(0.35),
                    st.px(0.25),
                    TARGET.stroke_width(2),
                ))
                .drawn()?;
            chart
                .draw_series(LineSeries::new(pts.clone(), PHASES[3].1.stroke_width(2)))
                .drawn()?;
            chart
                .draw_series(
                    pts.iter()
                        .map(|p| Circle::new(*p, st.px(0.2), PHASES[3].1.filled())),
                )
                .drawn()?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (d.params.f("best")[j], best_loss),
                    st.px(0.3),
                    BLACK.filled(),
                )))
                .drawn()?;
        }
        Ok(())
    }
}
