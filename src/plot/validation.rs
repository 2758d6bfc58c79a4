//! Charts of the stylised facts checked by `clustersim validate-model`
//! (MODEL.md §1), drawn from the baseline runs' [`RunFacts`]:
//!
//! - `firm_size_ccdf`: the empirical CCDF of final firm sizes on log-log axes,
//!   pooled over runs, with the Hill power law of the top 10% (slope −α, α
//!   the mean of the runs' Hill estimates, the P1 statistic) and the Zipf
//!   reference (slope −1), both anchored at the pooled top-10% threshold;
//! - `growth_rates`: a density histogram of annual log growth rates (pooled)
//!   on a log y axis, with the Gaussian and the Laplace (tent) densities of the
//!   same mean and standard deviation (P2a);
//! - `growth_spread`: ln sd(growth) of 10 equal-count size bins against the
//!   bins' mean ln(S/S0_s), with the least-squares line whose slope is P2b;
//! - `degree_distribution`: P(degree = k) of cluster firms at the end by the
//!   type of their cluster, log y (P3).
//!
//! The data of each chart is computed by a pure function of the facts, so it
//! is tested apart from the drawing.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    axis_formatter, fmt_tick, heading, labels_of, legend, padded_range, render, Drawn, Figure, Key,
    Mark, Style, Styled,
};
use crate::config::ClusterType;
use crate::validation::{excess_kurtosis, ols, spread_points, RunFacts};

/// Share of the largest firms in the Hill estimate (as in P1).
pub const TAIL_SHARE: f64 = 0.1;
/// Number of equal-count size bins of the spread chart (as in P2b).
pub const SPREAD_BINS: usize = 10;
/// Number of histogram bins of the growth-rate chart.
pub const GROWTH_BINS: usize = 60;
/// The growth-rate histogram covers mean ± this many standard deviations.
pub const GROWTH_RANGE_SD: f64 = 8.0;

/// The chart colours: blue, orange, green, red (colour-blind safe order).
const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(230, 120, 30);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED: RGBColor = RGBColor(200, 40, 40);

/// Write every validation chart of `facts` (the baseline runs) into `out`;
/// returns the files written (a PNG and an SVG per chart).
pub fn plot_validation(facts: &[RunFacts], out: &Path, scale: f64) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    written.extend(render(&SizeCcdf::of(facts), out, "firm_size_ccdf", scale)?);
    written.extend(render(&GrowthRates::of(facts), out, "growth_rates", scale)?);
    written.extend(render(
        &GrowthSpread::of(facts),
        out,
        "growth_spread",
        scale,
    )?);
    written.extend(render(
        &DegreeDistribution::of(facts),
        out,
        "degree_distribution",
        scale,
    )?);
    Ok(written)
}

/// A label for a tick of a log axis: powers of ten only (others stay blank,
/// so the minor grid lines are drawn unlabelled); 0.01 to 1000 are written
/// out, other powers as 10ⁿ.
fn fmt_decade(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return String::new();
    }
    let e = v.log10();
    if (e - e.round()).abs() > 1e-6 {
        return String::new();
    }
    let e = e.round() as i32;
    if (-2..=3).contains(&e) {
        return fmt_tick(10f64.powi(e));
    }
    const SUP: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::from("10");
    if e < 0 {
        s.push('⁻');
    }
    for d in e.unsigned_abs().to_string().bytes() {
        s.push(SUP[usize::from(d - b'0')]);
    }
    s
}

/// A log-axis range covering the positive finite `values` with a margin of
/// a factor 1.5 on each side; a range narrower than two decades is widened
/// outwards to whole decades, so that at least two labelled ticks exist.
fn decade_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.1, 1.0);
    }
    let (lo, hi) = (lo / 1.5, hi * 1.5);
    if hi / lo >= 100.0 {
        return (lo, hi);
    }
    let (a, mut b) = (lo.log10().floor(), hi.log10().ceil());
    if b <= a {
        b = a + 1.0;
    }
    (10f64.powf(a), 10f64.powf(b))
}

/// Pixel size of every validation chart at scale 1.
const SIZE: (u32, u32) = (1000, 900);

/// The title and the legend strip of a one-panel chart; returns the style
/// and the plotting area below them.
fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    keys: &[Key],
) -> anyhow::Result<(Style, DrawingArea<DB, Shift>)> {
    let st = Style::of(root);
    let body = heading(root, title, st.title())?;
    let area = legend(&body, keys, &st)?;
    Ok((st, area))
}

// ---------------------------------------------------------------------------
// Chart 1: the firm-size CCDF.

/// The firm-size CCDF chart (P1).
#[derive(Debug, Clone)]
pub struct SizeCcdf {
    /// Points (s, P(S ≥ s)) of the pooled empirical CCDF, thinned so that
    /// consecutive points differ visibly on log-log axes; the largest size
    /// (probability 1/n) and the smallest (probability 1) are always kept.
    pub points: Vec<(f64, f64)>,
    /// Number of pooled firms.
    pub n: usize,
    /// Number of runs pooled.
    pub runs: usize,
    /// Mean over runs of the Hill estimates (the P1 statistic); NaN when no
    /// run has enough firms.
    pub alpha: f64,
    /// The pooled top-10% threshold x_(k+1) and its CCDF value k/n.
    pub anchor: (f64, f64),
    /// The largest pooled size.
    pub max: f64,
}

impl SizeCcdf {
    /// Pool the final sizes of `facts` and thin the CCDF.
    pub fn of(facts: &[RunFacts]) -> Self {
        let mut x: Vec<f64> = facts
            .iter()
            .flat_map(|f| f.sizes.iter().copied())
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        x.sort_by(|a, b| b.total_cmp(a));
        let n = x.len();
        let points = thin_ccdf(&x);
        let hills: Vec<f64> = facts
            .iter()
            .map(|f| f.hill)
            .filter(|h| h.is_finite())
            .collect();
        let alpha = if hills.is_empty() {
            f64::NAN
        } else {
            hills.iter().sum::<f64>() / hills.len() as f64
        };
        let k = ((n as f64) * TAIL_SHARE).floor() as usize;
        let anchor = if k >= 1 && k < n {
            (x[k], k as f64 / n as f64)
        } else {
            (f64::NAN, f64::NAN)
        };
        Self {
            points,
            n,
            runs: facts.len(),
            alpha,
            anchor,
            max: x.first().copied().unwrap_or(f64::NAN),
        }
    }

    /// The power law P(s) = p0 (s/s0)^(−slope) from the anchor to the
    /// largest size, as its two end points; empty when undefined.
    pub fn power_line(&self, slope: f64) -> Vec<(f64, f64)> {
        let (s0, p0) = self.anchor;
        if !(s0.is_finite() && p0.is_finite() && slope.is_finite() && self.max > s0) {
            return Vec::new();
        }
        let end = self.max * 1.5;
        vec![(s0, p0), (end, p0 * (end / s0).powf(-slope))]
    }
}

/// The empirical CCDF P(S ≥ x_(i)) = (i + 1)/n of sizes sorted descending,
/// keeping a point only when it moves at least 0.005 decade in s or 0.01
/// decade in probability from the last kept point (plus both ends).
pub fn thin_ccdf(desc: &[f64]) -> Vec<(f64, f64)> {
    let n = desc.len();
    let mut out: Vec<(f64, f64)> = Vec::new();
    for (i, s) in desc.iter().enumerate() {
        let p = (i + 1) as f64 / n as f64;
        let keep = match out.last() {
            None => true,
            Some(&(ls, lp)) => i + 1 == n || (ls / s).log10() >= 0.005 || (p / lp).log10() >= 0.01,
        };
        if keep {
            out.push((*s, p));
        }
    }
    out
}

impl Figure for SizeCcdf {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = "Firm sizes: complementary CDF (P1)";
        let hill_line = self.power_line(self.alpha);
        let zipf_line = self.power_line(1.0);
        let mut keys = vec![Key::new(
            Mark::Dot(BLUE.to_rgba(), 0.2),
            format!("final firm sizes, {} runs (n = {})", self.runs, self.n),
        )];
        if !hill_line.is_empty() {
            keys.push(Key::new(
                Mark::Line(RED.to_rgba(), 3),
                format!("Hill fit, top 10%: slope −{:.2}", self.alpha),
            ));
        }
        if !zipf_line.is_empty() {
            keys.push(Key::new(
                Mark::Dashed(BLACK.to_rgba(), 2),
                "Zipf: slope −1 (Axtell 2001)",
            ));
        }
        let (st, area) = frame(root, title, &keys)?;
        let (x0, x1) = decade_range(
            self.points
                .iter()
                .map(|p| p.0)
                .chain(hill_line.iter().map(|p| p.0)),
        );
        let (y0, y1) = decade_range(self.points.iter().map(|p| p.1).chain([1.0]));
        let mut chart = st
            .chart(&area, &[fmt_decade(y0.max(1e-9)), "0.01".to_string()])
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .drawn()?;
        chart
            .configure_mesh()
            .styled(&st)
            .x_desc("final firm size s (bn VND/yr)")
            .y_desc("P(S ≥ s)")
            .x_label_formatter(&|v| fmt_decade(*v))
            .y_label_formatter(&|v| fmt_decade(*v))
            .light_line_style(BLACK.mix(0.06))
            .draw()
            .drawn()?;
        chart
            .draw_series(
                self.points
                    .iter()
                    .map(|p| Circle::new(*p, st.px(0.15), BLUE.mix(0.8).filled())),
            )
            .drawn()?;
        if !hill_line.is_empty() {
            chart
                .draw_series(LineSeries::new(hill_line, RED.stroke_width(3)))
                .drawn()?;
        }
        if !zipf_line.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(
                    zipf_line,
                    st.px(0.35),
                    st.px(0.25),
                    BLACK.stroke_width(2),
                ))
                .drawn()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Chart 2: the growth-rate histogram.

/// The growth-rate histogram chart (P2a).
#[derive(Debug, Clone)]
pub struct GrowthRates {
    /// Bin edges, `density.len() + 1` of them.
    pub edges: Vec<f64>,
    /// Density of each bin: count / (n · width), so that it integrates to
    /// the share of rates inside the range.
    pub density: Vec<f64>,
    /// Number of rates pooled.
    pub n: usize,
    /// Rates outside the histogram's range (mean ± 8 sd).
    pub outside: usize,
    pub mean: f64,
    /// Population standard deviation.
    pub sd: f64,
    /// Excess kurtosis (the P2a statistic).
    pub kurtosis: f64,
}

impl GrowthRates {
    /// Pool the annual log growth rates of `facts` and bin them.
    pub fn of(facts: &[RunFacts]) -> Self {
        let rates: Vec<f64> = facts
            .iter()
            .flat_map(|f| f.growth.iter().map(|g| g.1))
            .filter(|r| r.is_finite())
            .collect();
        Self::of_rates(&rates)
    }

    /// Bin `rates` into [`GROWTH_BINS`] equal bins over the observed range,
    /// cut at mean ± [`GROWTH_RANGE_SD`] sd.
    pub fn of_rates(rates: &[f64]) -> Self {
        let n = rates.len();
        if n < 2 {
            return Self {
                edges: vec![-1.0, 1.0],
                density: vec![0.0],
                n,
                outside: 0,
                mean: f64::NAN,
                sd: f64::NAN,
                kurtosis: f64::NAN,
            };
        }
        let mean = rates.iter().sum::<f64>() / n as f64;
        let sd = (rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n as f64).sqrt();
        let (mut lo, mut hi) = padded_range(rates.iter().copied(), 0.0);
        if sd > 0.0 {
            lo = lo.max(mean - GROWTH_RANGE_SD * sd);
            hi = hi.min(mean + GROWTH_RANGE_SD * sd);
        }
        let width = (hi - lo) / GROWTH_BINS as f64;
        let edges: Vec<f64> = (0..=GROWTH_BINS).map(|i| lo + i as f64 * width).collect();
        let mut counts = vec![0u64; GROWTH_BINS];
        let mut outside = 0;
        for r in rates {
            if *r < lo || *r > hi {
                outside += 1;
                continue;
            }
            let i = (((r - lo) / width).floor() as usize).min(GROWTH_BINS - 1);
            counts[i] += 1;
        }
        let density = counts
            .iter()
            .map(|c| *c as f64 / (n as f64 * width))
            .collect();
        Self {
            edges,
            density,
            n,
            outside,
            mean,
            sd,
            kurtosis: excess_kurtosis(rates),
        }
    }

    /// The Gaussian density of the same mean and sd.
    pub fn gaussian(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.sd;
        (-0.5 * z * z).exp() / (self.sd * (2.0 * std::f64::consts::PI).sqrt())
    }

    /// The Laplace density of the same mean and sd (scale b = sd/√2): a tent
    /// on a log y axis.
    pub fn laplace(&self, x: f64) -> f64 {
        let b = self.sd / std::f64::consts::SQRT_2;
        (-(x - self.mean).abs() / b).exp() / (2.0 * b)
    }
}

impl Figure for GrowthRates {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = format!(
            "Annual log growth rates (P2a): excess kurtosis {:.2}",
            self.kurtosis
        );
        let fill = BLUE.mix(0.55);
        let curves = self.sd.is_finite() && self.sd > 0.0;
        let mut keys = vec![Key::new(
            Mark::Fill(fill),
            if self.outside > 0 {
                format!(
                    "firm-years, runs pooled (n = {}; {} beyond ±{} sd)",
                    self.n, self.outside, GROWTH_RANGE_SD
                )
            } else {
                format!("firm-years, runs pooled (n = {})", self.n)
            },
        )];
        if curves {
            keys.push(Key::new(
                Mark::Line(RED.to_rgba(), 3),
                format!(
                    "Gaussian (mean {}, sd {})",
                    fmt_tick(self.mean),
                    fmt_tick(self.sd)
                ),
            ));
            keys.push(Key::new(
                Mark::Dashed(BLACK.to_rgba(), 2),
                "Laplace (tent), same mean and sd",
            ));
        }
        let (st, area) = frame(root, &title, &keys)?;
        let x0 = self.edges[0];
        let x1 = *self.edges.last().expect("at least one bin");
        let positive = self.density.iter().copied().filter(|d| *d > 0.0);
        let (y0, y1) = decade_range(positive.chain([self.gaussian(self.mean)]));
        let mut chart = st
            .chart(&area, &[fmt_decade(y0.max(1e-9)), "0.01".to_string()])
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .drawn()?;
        chart
            .configure_mesh()
            .styled(&st)
            .x_desc("annual log growth rate (1/yr)")
            .y_desc("probability density")
            .x_labels(6)
            .x_label_formatter(&axis_formatter(x0, x1, 6))
            .y_label_formatter(&|v| fmt_decade(*v))
            .light_line_style(BLACK.mix(0.06))
            .draw()
            .drawn()?;
        // Empty bins have no bar: log 0 is off the axis.
        chart
            .draw_series(
                self.density
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| **d > 0.0)
                    .map(|(i, d)| {
                        Rectangle::new(
                            [(self.edges[i], y0), (self.edges[i + 1], *d)],
                            fill.filled(),
                        )
                    }),
            )
            .drawn()?;
        if curves {
            // Curves only where they are on the axis.
            let curve = |f: &dyn Fn(f64) -> f64| -> Vec<(f64, f64)> {
                (0..=400)
                    .map(|i| x0 + (x1 - x0) * i as f64 / 400.0)
                    .map(|x| (x, f(x)))
                    .filter(|p| p.1 >= y0)
                    .collect()
            };
            let g = curve(&|x| self.gaussian(x));
            let l = curve(&|x| self.laplace(x));
            chart
                .draw_series(LineSeries::new(g, RED.stroke_width(3)))
                .drawn()?;
            chart
                .draw_series(DashedLineSeries::new(
                    l,
                    st.px(0.35),
                    st.px(0.25),
                    BLACK.stroke_width(2),
                ))
                .drawn()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Chart 3: the spread of growth rates by size.

/// The spread-by-size chart (P2b).
#[derive(Debug, Clone)]
pub struct GrowthSpread {
    /// (mean ln(S/S0_s), ln sd(growth)) of each equal-count bin.
    pub points: Vec<(f64, f64)>,
    /// Least-squares slope and intercept of ln sd on mean ln size.
    pub slope: f64,
    pub intercept: f64,
    /// Rates per bin.
    pub per_bin: usize,
}

impl GrowthSpread {
    /// Pool the growth observations of `facts` and bin them.
    pub fn of(facts: &[RunFacts]) -> Self {
        let growth: Vec<(f64, f64)> = facts
            .iter()
            .flat_map(|f| f.growth.iter().copied())
            .filter(|g| g.0.is_finite() && g.1.is_finite())
            .collect();
        let points = spread_points(&growth, SPREAD_BINS);
        let (slope, intercept) = if points.len() >= 2 {
            ols(&points)
        } else {
            (f64::NAN, f64::NAN)
        };
        Self {
            points,
            slope,
            intercept,
            per_bin: growth.len() / SPREAD_BINS,
        }
    }
}

impl Figure for GrowthSpread {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = if self.slope.is_finite() {
            format!(
                "Spread of growth rates by size (P2b): slope {:.3}",
                self.slope
            )
        } else {
            "Spread of growth rates by size (P2b): too few rates to bin".to_string()
        };
        let mut keys = vec![Key::new(
            Mark::Dot(BLUE.to_rgba(), 0.25),
            format!(
                "{} equal-count size bins ({} rates each)",
                self.points.len(),
                self.per_bin
            ),
        )];
        if self.slope.is_finite() {
            keys.push(Key::new(
                Mark::Line(RED.to_rgba(), 3),
                format!("least squares: slope {:.3}", self.slope),
            ));
        }
        let (st, area) = frame(root, &title, &keys)?;
        let (x0, x1) = padded_range(self.points.iter().map(|p| p.0), 0.08);
        let (y0, y1) = padded_range(self.points.iter().map(|p| p.1), 0.25);
        let y_fmt = axis_formatter(y0, y1, 6);
        let mut chart = st
            .chart(&area, &labels_of(y0, y1, &y_fmt))
            .build_cartesian_2d(x0..x1, y0..y1)
            .drawn()?;
        chart
            .configure_mesh()
            .styled(&st)
            .x_desc("mean ln(S/S0_s) of the bin")
            .y_desc("ln sd of growth rates")
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&axis_formatter(x0, x1, 6))
            .y_label_formatter(&y_fmt)
            .light_line_style(BLACK.mix(0.06))
            .draw()
            .drawn()?;
        chart
            .draw_series(
                self.points
                    .iter()
                    .map(|p| Circle::new(*p, st.px(0.25), BLUE.filled())),
            )
            .drawn()?;
        if self.slope.is_finite() {
            let line = vec![
                (x0, self.intercept + self.slope * x0),
                (x1, self.intercept + self.slope * x1),
            ];
            chart
                .draw_series(LineSeries::new(line, RED.stroke_width(3)))
                .drawn()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Chart 4: the degree distribution by cluster type.

/// The cluster types in the order of the legend, with their colours.
const TYPES: [(ClusterType, &str, RGBColor); 3] = [
    (ClusterType::Marshallian, "Marshallian", BLUE),
    (ClusterType::Complex, "Complex", ORANGE),
    (ClusterType::SocialNetwork, "SocialNetwork", GREEN),
];

/// One cluster type's degree distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct DegreeSeries {
    pub name: &'static str,
    /// Number of firms (pooled over runs).
    pub n: usize,
    pub mean: f64,
    pub max: u32,
    /// (k, P(degree = k)) for every k with at least one firm.
    pub pmf: Vec<(u32, f64)>,
}

/// The degree-distribution chart (P3).
#[derive(Debug, Clone)]
pub struct DegreeDistribution {
    pub series: Vec<DegreeSeries>,
}

/// The distribution of `degrees` (one per firm).
pub fn degree_series(name: &'static str, degrees: &[u32]) -> DegreeSeries {
    let max = degrees.iter().copied().max().unwrap_or(0);
    let mut counts = vec![0u64; max as usize + 1];
    for d in degrees {
        counts[*d as usize] += 1;
    }
    let n = degrees.len();
    let pmf = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(k, c)| (k as u32, *c as f64 / n as f64))
        .collect();
    DegreeSeries {
        name,
        n,
        mean: degrees.iter().map(|d| f64::from(*d)).sum::<f64>() / n.max(1) as f64,
        max,
        pmf,
    }
}

impl DegreeDistribution {
    /// Pool the degrees of `facts` by cluster type (types with no firm are
    /// left out).
    pub fn of(facts: &[RunFacts]) -> Self {
        let series = TYPES
            .iter()
            .filter_map(|(t, name, _)| {
                let d: Vec<u32> = facts
                    .iter()
                    .flat_map(|f| f.degrees.iter().filter(|d| d.0 == *t).map(|d| d.1))
                    .collect();
                (!d.is_empty()).then(|| degree_series(name, &d))
            })
            .collect();
        Self { series }
    }
}

impl Figure for DegreeDistribution {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let title = "Cooperation degree of cluster firms by cluster type (P3)";
        let colour_of = |name: &str| {
            TYPES
                .iter()
                .find(|t| t.1 == name)
                .map(|t| t.2)
                .unwrap_or(RED)
        };
        let keys: Vec<Key> = self
            .series
            .iter()
            .map(|s| {
                Key::new(
                    Mark::Line(colour_of(s.name).to_rgba(), 3),
                    format!(
                        "{} (n = {}, mean {:.2}, max {})",
                        s.name, s.n, s.mean, s.max
                    ),
                )
            })
            .collect();
        let (st, area) = frame(root, title, &keys)?;
        let kmax = self.series.iter().map(|s| s.max).max().unwrap_or(1).max(1);
        let (y0, y1) = decade_range(
            self.series
                .iter()
                .flat_map(|s| s.pmf.iter().map(|p| p.1))
                .chain([1.0]),
        );
        let mut chart = st
            .chart(&area, &[fmt_decade(y0.max(1e-9)), "0.01".to_string()])
            .build_cartesian_2d(-0.5..f64::from(kmax) + 0.5, (y0..y1).log_scale())
            .drawn()?;
        chart
            .configure_mesh()
            .styled(&st)
            .x_desc("degree k (partners at the end)")
            .y_desc("P(degree = k)")
            .x_labels(8)
            .x_label_formatter(&|v| {
                // Degrees are whole numbers; fractional ticks stay unlabelled.
                if v.fract().abs() < 1e-9 {
                    fmt_tick(*v)
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| fmt_decade(*v))
            .light_line_style(BLACK.mix(0.06))
            .draw()
            .drawn()?;
        for s in &self.series {
            let colour = colour_of(s.name);
            let pts: Vec<(f64, f64)> = s.pmf.iter().map(|p| (f64::from(p.0), p.1)).collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(3)))
                .drawn()?;
            chart
                .draw_series(
                    pts.into_iter()
                        .map(|p| Circle::new(p, st.px(0.2), colour.filled())),
                )
                .drawn()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::spread_slope;

    #[test]
    fn decade_labels_and_ranges() {
        assert_eq!(fmt_decade(1.0), "1");
        assert_eq!(fmt_decade(100.0), "100");
        assert_eq!(fmt_decade(0.01), "0.01");
        assert_eq!(fmt_decade(1e-3), "10⁻³");
        assert_eq!(fmt_decade(1e-12), "10⁻¹²");
        assert_eq!(fmt_decade(1e7), "10⁷");
        assert_eq!(fmt_decade(3.0), "");
        assert_eq!(fmt_decade(0.0), "");
        assert_eq!(fmt_decade(1e4), "10⁴");
        assert_eq!(decade_range([0.03, 300.0]), (0.02, 450.0));
        assert_eq!(decade_range([0.3, 3.0]), (0.1, 10.0));
        assert_eq!(decade_range([1.0, 1.0]), (0.1, 10.0));
        assert_eq!(decade_range([0.0, -1.0]), (0.1, 1.0));
    }

    #[test]
    fn ccdf_is_rank_over_n_and_keeps_both_ends() {
        let desc: Vec<f64> = (1..=1000).rev().map(f64::from).collect();
        let pts = thin_ccdf(&desc);
        assert_eq!(pts[0], (1000.0, 0.001));
        assert_eq!(*pts.last().unwrap(), (1.0, 1.0));
        assert!(pts.len() < 1000 && pts.len() > 100, "{}", pts.len());
        for w in pts.windows(2) {
            assert!(w[0].0 > w[1].0 && w[0].1 < w[1].1);
        }
        // Every kept point is exact: P(S ≥ s) = rank/n.
        for (s, p) in &pts {
            assert!((p - (1001.0 - s) / 1000.0).abs() < 1e-12);
        }
    }

    #[test]
    fn size_ccdf_anchors_the_hill_line_at_the_top_decile() {
        let run = |sizes: Vec<f64>, hill: f64| RunFacts {
            sizes,
            hill,
            ..RunFacts::default()
        };
        let facts = vec![
            run((1..=50).map(f64::from).collect(), 1.0),
            run((51..=100).map(f64::from).collect(), 1.4),
        ];
        let c = SizeCcdf::of(&facts);
        assert_eq!(c.n, 100);
        assert!((c.alpha - 1.2).abs() < 1e-12);
        // k = 10: the threshold is the 11th largest, 90, with P = 0.1.
        assert_eq!(c.anchor, (90.0, 0.1));
        let line = c.power_line(2.0);
        assert_eq!(line[0], (90.0, 0.1));
        let (s, p) = line[1];
        assert!((p - 0.1 * (s / 90.0).powf(-2.0)).abs() < 1e-15);
    }

    #[test]
    fn growth_histogram_is_a_density_with_the_moments_of_the_data() {
        let rates: Vec<f64> = (0..1000).map(|i| (f64::from(i) - 499.5) / 1000.0).collect();
        let h = GrowthRates::of_rates(&rates);
        assert_eq!(h.n, 1000);
        assert_eq!(h.outside, 0);
        assert_eq!(h.edges.len(), GROWTH_BINS + 1);
        let width = h.edges[1] - h.edges[0];
        let mass: f64 = h.density.iter().map(|d| d * width).sum();
        assert!((mass - 1.0).abs() < 1e-9, "{mass}");
        assert!(h.mean.abs() < 1e-12);
        // The sd of 1000 equally spaced points 0.001 apart: √((n² − 1)/12)/1000.
        assert!((h.sd - (999_999.0f64 / 12.0).sqrt() / 1000.0).abs() < 1e-12);
        // Uniform: excess kurtosis −1.2.
        assert!((h.kurtosis + 1.2).abs() < 0.01);
        // Both reference densities integrate to about 1 over ±8 sd.
        let (a, b) = (-8.0 * h.sd, 8.0 * h.sd);
        let step = (b - a) / 10_000.0;
        let int = |f: &dyn Fn(f64) -> f64| {
            (0..10_000)
                .map(|i| f(a + (i as f64 + 0.5) * step) * step)
                .sum::<f64>()
        };
        assert!((int(&|x| h.gaussian(x)) - 1.0).abs() < 1e-6);
        assert!((int(&|x| h.laplace(x)) - 1.0).abs() < 1e-4);
        // An outlier beyond 8 sd is counted, not binned.
        let mut r = vec![0.0; 999];
        r.push(1000.0);
        r.extend((0..1000).map(|i| f64::from(i % 7) - 3.0));
        let h = GrowthRates::of_rates(&r);
        assert_eq!(h.outside, 1);
    }

    #[test]
    fn spread_points_give_the_slope_of_validation() {
        let mut g = Vec::new();
        for i in 0..2003 {
            let ln_s = f64::from(i) / 200.0 - 4.0;
            let sd = (-0.17 * ln_s).exp() * (1.0 + 0.1 * (f64::from(i) * 0.7).sin());
            g.push((ln_s, if i % 2 == 0 { sd } else { -sd }));
        }
        let pts = spread_points(&g, SPREAD_BINS);
        assert_eq!(pts.len(), SPREAD_BINS);
        let (slope, _) = ols(&pts);
        assert!((slope - spread_slope(&g, SPREAD_BINS)).abs() < 1e-12);
        assert!((slope + 0.17).abs() < 0.02, "{slope}");
        assert!(spread_points(&g[..50], SPREAD_BINS).is_empty());
    }

    #[test]
    fn degrees_are_split_by_cluster_type() {
        let facts = vec![RunFacts {
            degrees: vec![
                (ClusterType::Complex, 0),
                (ClusterType::Complex, 2),
                (ClusterType::Complex, 2),
                (ClusterType::Complex, 8),
                (ClusterType::Marshallian, 1),
            ],
            ..RunFacts::default()
        }];
        let d = DegreeDistribution::of(&facts);
        assert_eq!(d.series.len(), 2, "no SocialNetwork firm, no series");
        assert_eq!(d.series[0].name, "Marshallian");
        let c = &d.series[1];
        assert_eq!((c.name, c.n, c.max), ("Complex", 4, 8));
        assert!((c.mean - 3.0).abs() < 1e-12);
        assert_eq!(c.pmf, vec![(0, 0.25), (2, 0.5), (8, 0.25)]);
    }
}
