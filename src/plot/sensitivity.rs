//! Charts of a `clustersim sensitivity` directory:
//! - `sensitivity`: one panel per outcome, the main index of each parameter
//!   as a bar with its 95% bootstrap interval (Morris: `mu_star`; Sobol:
//!   `S1` and `ST` side by side);
//! - `convergence`: one panel per outcome, those indices against the number
//!   of trajectories or base samples used (the first n of the design), with
//!   their intervals.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    axis_formatter, caption, fmt_tick, heading, labels_of, legend, names_fit, padded_range, render,
    Drawn, Figure, Key, Mark, Style, Styled,
};
use crate::compare::outcome_label;
use crate::sensitivity::{read_index_rows, IndexRow};

/// Panels per row: two, each half a column wide at the smallest legible text.
const COLUMNS: usize = 2;
/// Pixel size of one panel at scale 1.
const PANEL: (u32, u32) = (500, 460);
/// Height of the title and the legend at scale 1.
const HEADER: u32 = 300;

/// The main indices shown, in bar order.
const SHOWN: [&str; 3] = ["mu_star", "S1", "ST"];

fn colour(index: &str) -> RGBColor {
    match index {
        "ST" => RGBColor(200, 90, 30),
        _ => RGBColor(40, 90, 170),
    }
}

/// The last segment of a field path (`government.leakage` → `leakage`).
fn short(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// The data of both charts.
pub struct Sensitivity {
    pub outcomes: Vec<String>,
    pub parameters: Vec<String>,
    /// The indices present among [`SHOWN`].
    pub indices: Vec<String>,
    pub rows: Vec<IndexRow>,
    /// Whether this is the convergence chart (x = n) or the bar chart.
    pub convergence: bool,
}

impl Sensitivity {
    /// Keep the main first-parameter indices and index outcomes and parameters in order.
    pub fn new(rows: Vec<IndexRow>, convergence: bool) -> Self {
        let rows: Vec<IndexRow> = rows
            .into_iter()
            .filter(|r| {
                r.step.is_none() && r.parameter2.is_none() && SHOWN.contains(&r.index.as_str())
            })
            .collect();
        let mut s = Self {
            outcomes: Vec::new(),
            parameters: Vec::new(),
            indices: Vec::new(),
            rows: Vec::new(),
            convergence,
        };
        for r in &rows {
            let p = r.parameter.clone().unwrap_or_default();
            if !s.outcomes.contains(&r.outcome) {
                s.outcomes.push(r.outcome.clone());
            }
            if !s.parameters.contains(&p) {
                s.parameters.push(p);
            }
            if !s.indices.contains(&r.index) {
                s.indices.push(r.index.clone());
            }
        }
        s.rows = rows;
        s
    }

    fn grid(&self) -> (usize, usize) {
        let cols = COLUMNS.min(self.outcomes.len()).max(1);
        (self.outcomes.len().div_ceil(cols).max(1), cols)
    }

    fn param(&self, r: &IndexRow) -> usize {
        let p = r.parameter.as_deref().unwrap_or("");
        self.parameters.iter().position(|q| q == p).unwrap_or(0)
    }
}

/// Draw `sensitivity.{png,svg}` and `convergence.{png,svg}` of the
/// sensitivity directory `dir` into `out`.
pub fn plot_sensitivity(dir: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let main = read_index_rows(&dir.join("sensitivity.parquet"))?;
    let conv = read_index_rows(&dir.join("convergence.parquet"))?;
    if main.is_empty() {
        anyhow::bail!("{} has no rows", dir.join("sensitivity.parquet").display());
    }
    let mut written = render(&Sensitivity::new(main, false), out, "sensitivity", 1.0)?;
    written.extend(render(
        &Sensitivity::new(conv, true),
        out,
        "convergence",
        1.0,
    )?);
    Ok(written)
}

impl Figure for Sensitivity {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        (PANEL.0 * cols.max(2) as u32, PANEL.1 * rows as u32 + HEADER)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let st = Style::of(root);
        let title = if self.convergence {
            "Convergence of the sensitivity indices (95% bootstrap intervals)".to_string()
        } else {
            format!(
                "Sensitivity indices {} with 95% bootstrap intervals",
                self.indices.join(", ")
            )
        };
        let body = heading(root, &title, st.title())?;
        let grid = legend(&body, &self.keys(), &st)?;
        let panels = grid.split_evenly(self.grid());
        for (panel, outcome) in panels.iter().zip(&self.outcomes) {
            if self.convergence {
                self.draw_convergence(panel, outcome, &st)?;
            } else {
                self.draw_bars(panel, outcome, &st)?;
            }
        }
        Ok(())
    }
}

impl Sensitivity {
    /// The parameters' short names (the last segment of their paths).
    fn names(&self) -> Vec<String> {
        self.parameters
            .iter()
            .map(|p| short(p).to_string())
            .collect()
    }

    /// Whether the bars' axis numbers the parameters (names too long).
    fn numbered(&self) -> bool {
        !names_fit(&self.names(), 6.5)
    }

    fn keys(&self) -> Vec<Key> {
        if self.convergence {
            let mut keys: Vec<Key> = self
                .parameters
                .iter()
                .enumerate()
                .map(|(j, p)| Key::new(Mark::Line(Palette99::pick(j).to_rgba(), 3), short(p)))
                .collect();
            keys.push(Key::new(Mark::Dot(BLACK.to_rgba(), 0.2), "S1 or mu_star"));
            keys.push(Key::new(Mark::Cross(BLACK.to_rgba()), "ST"));
            return keys;
        }
        let mut keys: Vec<Key> = self
            .indices
            .iter()
            .map(|i| Key::new(Mark::Fill(colour(i).mix(0.8)), i.clone()))
            .collect();
        if self.numbered() {
            keys.extend(
                self.names()
                    .into_iter()
                    .enumerate()
                    .map(|(j, p)| Key::new(Mark::Nothing, format!("{}: {p}", j + 1))),
            );
        }
        keys
    }

    fn draw_bars<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        outcome: &str,
        st: &Style,
    ) -> anyhow::Result<()> {
        let rows: Vec<&IndexRow> = self.rows.iter().filter(|r| r.outcome == outcome).collect();
        let (_, y1) = padded_range(
            rows.iter()
                .flat_map(|r| [r.value + r.conf.unwrap_or(0.0), 0.0]),
            0.1,
        );
        let y0 = rows
            .iter()
            .map(|r| r.value - r.conf.unwrap_or(0.0))
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::min);
        let y0 = if y0 < 0.0 { y0 * 1.1 } else { 0.0 };
        let (title, _) = outcome_label(outcome);
        let numbered = self.numbered();
        let names: Vec<String> = if numbered {
            (1..=self.parameters.len()).map(|j| j.to_string()).collect()
        } else {
            self.names()
        };
        let np = self.parameters.len();
        let y1 = y1.max(1e-9);
        let captioned = caption(area, &title, st)?;
        let ny = st.y_ticks(&captioned);
        let y_fmt = axis_formatter(y0, y1, ny);
        let mut chart = st
            .chart(&captioned, &labels_of(y0, y1, &y_fmt))
            .build_cartesian_2d(-0.5..(np as f64 - 0.5), y0..y1)
            .drawn()?;
        chart
            .configure_mesh()
            .styled(st)
            .disable_x_mesh()
            .x_labels(np.max(1) * 2 + 1)
            .x_label_formatter(&|v| {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .x_desc("parameter")
            .y_labels(ny)
            .y_label_formatter(&y_fmt)
            .draw()
            .drawn()?;
        let k = self.indices.len().max(1) as f64;
        let width = 0.7 / k;
        for r in rows {
            let Some(slot) = self.indices.iter().position(|i| *i == r.index) else {
                continue;
            };
            if !r.value.is_finite() {
                continue;
            }
            let x = self.param(r) as f64 - 0.35 + width * slot as f64;
            let c = colour(&r.index);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x + 0.05 * width, 0.0), (x + 0.95 * width, r.value)],
                    c.mix(0.8).filled(),
                )))
                .drawn()?;
            if let Some(conf) = r.conf.filter(|c| c.is_finite()) {
                let xm = x + 0.5 * width;
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(xm, r.value - conf), (xm, r.value + conf)],
                        BLACK.stroke_width(3),
                    )))
                    .drawn()?;
            }
        }
        Ok(())
    }

    fn draw_convergence<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        outcome: &str,
        st: &Style,
    ) -> anyhow::Result<()> {
        let rows: Vec<&IndexRow> = self.rows.iter().filter(|r| r.outcome == outcome).collect();
        let (x0, x1) = padded_range(rows.iter().map(|r| f64::from(r.n)), 0.05);
        let (y0, y1) = padded_range(
            rows.iter().flat_map(|r| {
                let c = r.conf.unwrap_or(0.0);
                [r.value - c, r.value + c]
            }),
            0.05,
        );
        let (title, _) = outcome_label(outcome);
        let captioned = caption(area, &title, st)?;
        let ny = st.y_ticks(&captioned);
        let y_fmt = axis_formatter(y0, y1, ny);
        let mut chart = st
            .chart(&captioned, &labels_of(y0, y1, &y_fmt))
            .build_cartesian_2d(x0..x1, y0..y1)
            .drawn()?;
        chart
            .configure_mesh()
            .styled(st)
            .x_desc("samples N")
            .x_labels(st.x_ticks(&captioned))
            .y_labels(ny)
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 {
                    fmt_tick(*v)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&y_fmt)
            .draw()
            .drawn()?;
        for (j, _) in self.parameters.iter().enumerate() {
            for index in &self.indices {
                let pts: Vec<&&IndexRow> = rows
                    .iter()
                    .filter(|r| self.param(r) == j && r.index == *index && r.value.is_finite())
                    .collect();
                let c = Palette99::pick(j).to_rgba();
                let style = if index == "ST" {
                    c.stroke_width(2)
                } else {
                    c.stroke_width(3)
                };
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|r| (f64::from(r.n), r.value)),
                        style,
                    ))
                    .drawn()?;
                for r in &pts {
                    let x = f64::from(r.n);
                    if index == "ST" {
                        chart
                            .draw_series(std::iter::once(Cross::new(
                                (x, r.value),
                                st.px(0.3),
                                style,
                            )))
                            .drawn()?;
                    } else {
                        chart
                            .draw_series(std::iter::once(Circle::new(
                                (x, r.value),
                                st.px(0.2),
                                c.filled(),
                            )))
                            .drawn()?;
                    }
                    if let Some(conf) = r.conf.filter(|v| v.is_finite()) {
                        chart
                            .draw_series(std::iter::once(PathElement::new(
                                vec![(x, r.value - conf), (x, r.value + conf)],
                                c.mix(0.6).stroke_width(2),
                            )))
                            .drawn()?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(outcome: &str, p: &str, index: &str, n: u32, value: f64) -> IndexRow {
        IndexRow {
            outcome: outcome.into(),
            step: None,
            parameter: Some(p.into()),
            parameter2: None,
            index: index.into(),
            n,
            value,
            conf: Some(0.05),
        }
    }

    #[test]
    fn charts_keep_main_indices_and_draw_both_files() {
        let mut rows = vec![
            row("final_tax", "government.leakage", "S1", 8, 0.6),
            row("final_tax", "government.leakage", "ST", 8, 0.7),
            row("final_tax", "government.budget", "S1", 8, 0.2),
            row("final_tax", "government.budget", "ST", 8, 0.3),
        ];
        rows.push(IndexRow {
            parameter2: Some("government.budget".into()),
            index: "S2".into(),
            ..rows[0].clone()
        });
        let s = Sensitivity::new(rows.clone(), false);
        assert_eq!(s.rows.len(), 4, "S2 is not drawn");
        assert_eq!(s.indices, ["S1", "ST"]);
        assert_eq!(short("government.leakage"), "leakage");
        let dir = tempfile::tempdir().unwrap();
        let files = render(&s, dir.path(), "sensitivity", 0.5).unwrap();
        let conv = Sensitivity::new(rows, true);
        let more = render(&conv, dir.path(), "convergence", 0.5).unwrap();
        for f in files.iter().chain(&more) {
            assert!(
                std::fs::metadata(f).unwrap().len() > 1000,
                "{}",
                f.display()
            );
        }
    }
}
