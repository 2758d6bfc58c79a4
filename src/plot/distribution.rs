//! The `final_distribution` chart: histograms of the effective quality Q and
//! of the occupancy of operating clusters at the last step, pooled over runs
//! (one observation per cluster and run).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::data::{self, num, text};
use super::{
    caption, fmt_tick, heading, labels_of, legend, Drawn, Figure, Key, Mark, Style, Styled,
};
use crate::stats;

/// Number of histogram bins on [0, 1].
pub const BINS: usize = 20;

/// A histogram over equal bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Bin edges, `counts.len() + 1` of them.
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// `bins` equal bins on [0, max(1, largest value)]; the last bin is closed.
    pub fn of(values: &[f64], bins: usize) -> Self {
        let top = values.iter().copied().fold(1.0_f64, f64::max);
        let width = top / bins as f64;
        let edges = (0..=bins).map(|i| i as f64 * width).collect();
        let mut counts = vec![0; bins];
        for v in values {
            let i = ((v / width).floor().max(0.0) as usize).min(bins - 1);
            counts[i] += 1;
        }
        Self { edges, counts }
    }
}

/// The data of the chart.
pub struct FinalDistribution {
    /// The last step in the tables.
    pub step: u32,
    /// Quality of operating clusters at the last step (finite values).
    pub quality: Vec<f64>,
    /// Occupancy of operating clusters at the last step (finite values).
    pub occupancy: Vec<f64>,
}

impl FinalDistribution {
    /// Read `clusters*.parquet` of `dir`; `None` when there is none.
    pub fn load(dir: &Path) -> anyhow::Result<Option<Self>> {
        let cols = [
            num("step"),
            text("status"),
            num("quality"),
            num("occupancy"),
        ];
        Ok(data::read_table(dir, "clusters", &cols)?.map(|t| Self::from_table(&t)))
    }

    /// Select the operating clusters at the last step of a clusters table.
    pub fn from_table(t: &data::Table) -> Self {
        let step = t.f("step");
        let last = step
            .iter()
            .copied()
            .filter(|s| s.is_finite())
            .fold(0.0, f64::max);
        let (mut quality, mut occupancy) = (Vec::new(), Vec::new());
        let rows = step
            .iter()
            .zip(t.s("status"))
            .zip(t.f("quality").iter().zip(t.f("occupancy")));
        for ((s, status), (q, o)) in rows {
            if *s == last && status == "operating" {
                let (q, o) = (*q, *o);
                if q.is_finite() {
                    quality.push(q);
                }
                if o.is_finite() {
                    occupancy.push(o);
                }
            }
        }
        Self {
            step: last as u32,
            quality,
            occupancy,
        }
    }
}

impl Figure for FinalDistribution {
    fn size(&self) -> (u32, u32) {
        (1000, 900)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let st = Style::of(root);
        let title = format!(
            "Operating clusters at the last step ({}), pooled over runs",
            self.step
        );
        let body = heading(root, &title, st.title())?;
        let keys = [
            Key::new(
                Mark::Fill(RGBColor(120, 120, 120).mix(0.75)),
                format!("operating clusters × runs (n = {})", self.quality.len()),
            ),
            Key::new(Mark::Line(BLACK.to_rgba(), 3), "mean"),
        ];
        let body = legend(&body, &keys, &st)?;
        let (left, right) = body.split_horizontally(body.dim_in_pixel().0 / 2);
        draw_hist(
            &left,
            "Quality Q",
            "Q (0–1)",
            &self.quality,
            RGBColor(33, 145, 140),
            &st,
        )?;
        draw_hist(
            &right,
            "Occupancy",
            "occupancy (0–1)",
            &self.occupancy,
            RGBColor(230, 120, 30),
            &st,
        )?;
        Ok(())
    }
}

fn draw_hist<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    values: &[f64],
    colour: RGBColor,
    st: &Style,
) -> anyhow::Result<()> {
    let h = Histogram::of(values, BINS);
    let x1 = *h.edges.last().expect("bins > 0");
    let ymax = h.counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.1;
    // Counts are whole numbers; fractional ticks stay unlabelled.
    let y_fmt = |v: &f64| {
        if v.fract().abs() < 1e-9 {
            fmt_tick(*v)
        } else {
            String::new()
        }
    };
    let text = if values.is_empty() {
        title.to_string()
    } else {
        format!("{title}: mean {}", fmt_tick(stats::mean(values)))
    };
    let captioned = caption(area, &text, st)?;
    let mut chart = st
        .chart(&captioned, &labels_of(0.0, ymax, &y_fmt))
        .build_cartesian_2d(0.0..x1, 0.0..ymax)
        .drawn()?;
    chart
        .configure_mesh()
        .styled(st)
        .x_desc(x_desc)
        .y_desc("clusters × runs")
        .x_labels(st.x_ticks(&captioned))
        .y_labels(st.y_ticks(&captioned))
        .x_label_formatter(&|v| fmt_tick(*v))
        .y_label_formatter(&y_fmt)
        .draw()
        .drawn()?;
    let fill = colour.mix(0.75);
    chart
        .draw_series(h.counts.iter().enumerate().map(|(i, c)| {
            Rectangle::new(
                [(h.edges[i], 0.0), (h.edges[i + 1], *c as f64)],
                fill.filled(),
            )
        }))
        .drawn()?;
    if !values.is_empty() {
        let m = stats::mean(values);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(m, 0.0), (m, ymax)],
                BLACK.stroke_width(3),
            )))
            .drawn()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_bins_cover_zero_to_one_with_closed_last_bin() {
        let h = Histogram::of(&[0.0, 0.04, 0.05, 0.5, 0.99, 1.0], 20);
        assert_eq!(h.edges.len(), 21);
        assert_eq!(h.counts.iter().sum::<u64>(), 6);
        assert_eq!(h.counts[0], 2);
        assert_eq!(h.counts[1], 1);
        assert_eq!(h.counts[10], 1);
        assert_eq!(h.counts[19], 2);
        // Values above 1 widen the range instead of being dropped.
        let h = Histogram::of(&[0.5, 2.0], 4);
        assert_eq!(h.edges[4], 2.0);
        assert_eq!(h.counts, vec![0, 1, 0, 1]);
    }
}
