//! Charts (plotters) of an output directory or of a comparison: every chart is
//! written twice, as PNG and as SVG, atomically (temporary file, then rename).
//!
//! Charts of a run directory ([`plot_dir`]):
//! - `timeseries`: key region metrics per year, mean over runs and the 90% band
//!   (5% and 95% quantiles over runs at each step);
//! - `final_distribution`: histograms of effective quality and occupancy of the
//!   operating clusters at the last step, pooled over runs;
//! - `map`: the region of one run at one step (needs `sites.parquet`, see
//!   [`map`]; skipped with a note when it is absent).
//!
//! Charts of a sensitivity directory: [`sensitivity::plot_sensitivity`].
//!
//! Charts of a comparison ([`plot_comparison`]): `comparison`, one panel per
//! outcome with each scenario's mean and 95% interval, and
//! `comparison_differences`, the paired differences from the base; of a
//! compare directory also `comparison_timeseries`, the scenarios' time series
//! overlaid ([`comparison::plot_overlay`]).
//!
//! Every chart has one style ([`Style`]): its smallest text is 9 pt when the
//! figure is printed 8 cm wide (font size ≥ [`MIN_TEXT_SHARE`] of the
//! figure's width, at any `scale`), panels are at most two per row, long
//! titles and captions wrap, and a legend the panels share is drawn once,
//! in a strip above them ([`legend`]), never over data.
//!
//! Text is drawn with DejaVu Sans embedded in the binary (`assets/fonts`), so
//! PNGs need no system fonts; SVGs name the `sans-serif` family.

pub mod calibration;
pub mod comparison;
pub mod data;
pub mod distribution;
pub mod map;
pub mod sensitivity;
pub mod timeseries;
pub mod validation;

#[cfg(test)]
mod legibility;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use comparison::plot_comparison;

/// The embedded font, DejaVu Sans (license in `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The font family every chart uses.
pub(crate) const FAMILY: &str = "sans-serif";

/// What to draw and how large.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// Step of the map; default the last step.
    pub step: Option<u32>,
    /// Run of the map; default the smallest run index.
    pub run: Option<u32>,
    /// Scale factor of every chart's pixel size (1 = the default sizes).
    pub scale: f64,
}

impl Default for PlotOptions {
    fn default() -> Self {
        Self {
            step: None,
            run: None,
            scale: 1.0,
        }
    }
}

/// Register the embedded font with plotters once per process.
pub(crate) fn ensure_font() -> anyhow::Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "the embedded font assets/fonts/DejaVuSans.ttf could not be loaded"
        ))
    }
}

/// Turn a plotters error (which is not `'static`) into an `anyhow` error.
pub(crate) trait Drawn<T> {
    fn drawn(self) -> anyhow::Result<T>;
}

impl<T, E: std::fmt::Display> Drawn<T> for Result<T, E> {
    fn drawn(self) -> anyhow::Result<T> {
        self.map_err(|e| anyhow!("drawing failed: {e}"))
    }
}

/// A chart that can be drawn on any plotters backend.
pub(crate) trait Figure {
    /// Pixel size at scale 1.
    fn size(&self) -> (u32, u32);
    /// Draw the whole chart on `root` (already filled white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()>;
}

/// Write `bytes` to `path` atomically (see
/// [`crate::output::parquet::write_bytes_atomic`]).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(crate::output::parquet::write_bytes_atomic(path, bytes)?)
}

/// The pixel size of `fig` drawn at `scale` (1 unless finite and positive;
/// at least 100 px each way).
fn pixel_size(fig: &impl Figure, scale: f64) -> (u32, u32) {
    let (w0, h0) = fig.size();
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    (
        ((f64::from(w0) * scale).round() as u32).max(100),
        ((f64::from(h0) * scale).round() as u32).max(100),
    )
}

/// Render `fig` to `out/stem.png` and `out/stem.svg`; returns both paths.
pub(crate) fn render(
    fig: &impl Figure,
    out: &Path,
    stem: &str,
    scale: f64,
) -> anyhow::Result<Vec<PathBuf>> {
    let svg = render_svg(fig, scale).with_context(|| format!("drawing {stem}.svg"))?;
    let (w, h) = pixel_size(fig, scale);
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).drawn()?;
        fig.draw(&root)
            .with_context(|| format!("drawing {stem}.png"))?;
        root.present().drawn()?;
    }
    let mut png_bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut png_bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().context("encoding PNG")?;
        writer.write_image_data(&rgb).context("encoding PNG")?;
        writer.finish().context("encoding PNG")?;
    }

    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let png_path = out.join(format!("{stem}.png"));
    let svg_path = out.join(format!("{stem}.svg"));
    write_atomic(&png_path, &png_bytes)?;
    write_atomic(&svg_path, svg.as_bytes())?;
    Ok(vec![png_path, svg_path])
}

/// Render `fig` as SVG text at `scale` (for pages that inline their charts:
/// `clustersim report`).
pub(crate) fn render_svg(fig: &impl Figure, scale: f64) -> anyhow::Result<String> {
    ensure_font()?;
    let (w, h) = pixel_size(fig, scale);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).drawn()?;
        fig.draw(&root)?;
        root.present().drawn()?;
    }
    Ok(svg)
}

/// An RGB colour from its hex code.
const fn hex(code: u32) -> RGBColor {
    RGBColor((code >> 16) as u8, (code >> 8) as u8, code as u8)
}

/// Series colours, in order (colour-blind-safe Tableau-like palette).
pub const PALETTE: [RGBColor; 12] = [
    hex(0x1f77b4),
    hex(0xd62728),
    hex(0x2ca02c),
    hex(0xff7f0e),
    hex(0x9467bd),
    hex(0x8c564b),
    hex(0xe377c2),
    hex(0x7f7f7f),
    hex(0xbcbd22),
    hex(0x17becf),
    hex(0x000000),
    hex(0xaec7e8),
];

/// The `i`-th series colour (the palette repeats).
pub fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// The smallest text of a chart as a share of the figure's width: 9 pt
/// (0.125 in) on a figure printed 8 cm (3.15 in) wide, a journal's column.
pub const MIN_TEXT_SHARE: f64 = 0.125 / (8.0 / 2.54);

/// plotters draws a font of size s with an em of s / 1.24 pixels (the
/// `font-size` it writes in SVG).
const PLOTTERS_EM: f64 = 1.24;

/// The one text style of every chart: font sizes and spacings in ems of the
/// smallest text, which is [`MIN_TEXT_SHARE`] of the figure's width (plus
/// 3%), so that a chart drawn at any size or scale prints legibly at column
/// width. Charts take it from their root area ([`Style::of`]) and lay out
/// their panels in its ems.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// The em of the smallest text, pixels.
    pub em: f64,
}

impl Style {
    /// The style of a figure `width` pixels wide.
    pub fn for_width(width: u32) -> Self {
        Self {
            em: (f64::from(width) * MIN_TEXT_SHARE * 1.03).max(6.0),
        }
    }

    /// The style of the figure drawn on `root` (any area as wide as the figure).
    pub fn of<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>) -> Self {
        Self::for_width(root.dim_in_pixel().0)
    }

    /// `k` ems in pixels.
    pub fn px(&self, k: f64) -> u32 {
        (self.em * k).round().max(1.0) as u32
    }

    /// `k` ems in pixels, signed (for element coordinates).
    pub fn ipx(&self, k: f64) -> i32 {
        (self.em * k).round() as i32
    }

    fn font(&self, k: f64) -> FontDesc<'static> {
        (FAMILY, self.em * k * PLOTTERS_EM).into_font()
    }

    /// Tick labels, legends, axis descriptions, annotations.
    pub fn text(&self) -> FontDesc<'static> {
        self.font(1.0)
    }

    /// Panel captions (wrapped by [`caption`]).
    pub fn caption(&self) -> FontDesc<'static> {
        self.font(1.0)
    }

    /// Figure titles (wrapped by [`heading`]).
    pub fn title(&self) -> FontDesc<'static> {
        self.font(1.15)
    }

    /// How many y ticks a panel drawn on `area` (caption already taken
    /// off) has room for: one per 1.8 ems of its plotting height, 3 to 6.
    pub fn y_ticks<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> usize {
        let ems = f64::from(area.dim_in_pixel().1) / self.em - 3.3;
        ((ems / 1.8).floor().max(0.0) as usize).clamp(3, 6)
    }

    /// How many x ticks of up to about four characters a panel drawn on
    /// `area` has room for: one per 3.5 ems of its plotting width, 2 to 8.
    pub fn x_ticks<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> usize {
        let ems = f64::from(area.dim_in_pixel().0) / self.em - 6.0;
        ((ems / 3.5).floor().max(0.0) as usize).clamp(2, 8)
    }

    /// A chart builder on `area` with this style's margins and label areas:
    /// room for y tick labels as wide as the longest of `y_labels` and for
    /// the axis descriptions.
    pub fn chart<'a, 'b, DB: DrawingBackend>(
        &self,
        area: &'a DrawingArea<DB, Shift>,
        y_labels: &[String],
    ) -> ChartBuilder<'a, 'b, DB> {
        let chars = y_labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1);
        let mut b = ChartBuilder::on(area);
        b.margin(self.px(0.3))
            .margin_right(self.px(1.3))
            .x_label_area_size(self.px(2.7))
            .y_label_area_size(self.px(0.62 * chars as f64 + 2.0));
        b
    }
}

/// The mesh settings of [`Style`]: tick labels and axis descriptions in its
/// text, one light grid line between ticks.
pub(crate) trait Styled {
    fn styled(&mut self, st: &Style) -> &mut Self;
}

impl<X: Ranged, Y: Ranged, DB: DrawingBackend> Styled
    for plotters::chart::MeshStyle<'_, '_, X, Y, DB>
{
    fn styled(&mut self, st: &Style) -> &mut Self {
        self.label_style(st.text())
            .axis_desc_style(st.text())
            .max_light_lines(1)
    }
}

/// The labels `fmt` gives the ends and middle of `lo..hi` (to size the y
/// label area of [`Style::chart`]).
pub(crate) fn labels_of(lo: f64, hi: f64, fmt: &dyn Fn(&f64) -> String) -> Vec<String> {
    [lo, 0.5 * (lo + hi), hi, -lo.abs().max(hi.abs())]
        .iter()
        .filter(|v| **v >= lo.min(hi) && **v <= hi.max(lo))
        .map(fmt)
        .collect()
}

/// `text` broken at spaces into lines no wider than `width` pixels in `font`.
pub(crate) fn wrap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    font: &FontDesc<'_>,
    width: u32,
) -> anyhow::Result<Vec<String>> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        let (w, _) = area
            .estimate_text_size(&candidate, &TextStyle::from(font.clone()))
            .drawn()?;
        if w > width && !line.is_empty() {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    Ok(lines)
}

/// Draw `text` in `font`, centred and wrapped to the width of `area`, at its
/// top; returns the area below.
pub(crate) fn heading<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    font: FontDesc<'_>,
) -> anyhow::Result<DrawingArea<DB, Shift>> {
    let (w, _) = area.dim_in_pixel();
    let size = font.get_size();
    let em = size / PLOTTERS_EM;
    let lines = wrap(area, text, &font, w.saturating_sub((2.0 * em) as u32))?;
    let line_h = (1.25 * em).round() as i32;
    let pad = (0.3 * em).round() as i32;
    let style = font.color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, l) in lines.iter().enumerate() {
        area.draw(&Text::new(
            l.clone(),
            (w as i32 / 2, pad + i as i32 * line_h),
            style.clone(),
        ))
        .drawn()?;
    }
    let used = 2 * pad + lines.len() as i32 * line_h;
    Ok(area.split_vertically(used.max(0) as u32).1)
}

/// A panel's caption, wrapped to the panel's width; returns the area below.
pub(crate) fn caption<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    text: &str,
    st: &Style,
) -> anyhow::Result<DrawingArea<DB, Shift>> {
    heading(panel, text, st.caption())
}

/// The mark of a legend entry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mark {
    /// A line of this width (pixels).
    Line(RGBAColor, u32),
    /// A dashed line.
    Dashed(RGBAColor, u32),
    /// A filled box (bars, bands).
    Fill(RGBAColor),
    /// A filled dot of this radius (ems).
    Dot(RGBAColor, f64),
    /// A hollow circle of this radius (ems).
    Ring(RGBAColor, f64),
    /// A filled triangle.
    Triangle(RGBAColor),
    /// A filled square.
    Square(RGBAColor),
    /// An interval: a vertical bar with a dot.
    Interval(RGBAColor),
    /// A cross.
    Cross(RGBAColor),
    /// No mark (a note).
    Nothing,
}

/// One legend entry: its mark and label.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub mark: Mark,
    pub label: String,
}

impl Key {
    pub fn new(mark: Mark, label: impl Into<String>) -> Self {
        Self {
            mark,
            label: label.into(),
        }
    }
}

/// Width (ems) of the mark column of a legend entry.
fn mark_width(mark: &Mark) -> f64 {
    match mark {
        Mark::Nothing => 0.0,
        Mark::Dot(_, r) | Mark::Ring(_, r) => (2.0 * r).max(1.6) + 0.4,
        _ => 2.0,
    }
}

/// Draw the legend `keys` the figure's panels share as a strip across the
/// top of `area` (rows wrapped to its width), outside every plotting area;
/// returns the area below it.
pub(crate) fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    keys: &[Key],
    st: &Style,
) -> anyhow::Result<DrawingArea<DB, Shift>> {
    if keys.is_empty() {
        return Ok(area.clone());
    }
    let (w, _) = area.dim_in_pixel();
    let font = st.text().color(&BLACK);
    let left = st.em * 0.6;
    let gap = st.em * 1.2;
    // A label wider than the strip wraps over several lines.
    let line_h = st.em * 1.25;
    let mut labels: Vec<(Vec<String>, f64)> = Vec::new();
    for k in keys {
        let room = f64::from(w) - 2.0 * left - st.em * (mark_width(&k.mark) + 0.4);
        let lines = wrap(area, &k.label, &st.text(), room.max(st.em) as u32)?;
        let mut widest = 0u32;
        for l in &lines {
            widest = widest.max(area.estimate_text_size(l, &font).drawn()?.0);
        }
        labels.push((lines, f64::from(widest)));
    }
    // Lay out: (x, row) of each key, and each row's height.
    let height = |k: &Key, lines: usize| {
        let mark = st.em
            * match k.mark {
                Mark::Dot(_, r) | Mark::Ring(_, r) => (2.0 * r + 0.3).max(1.4),
                _ => 1.4,
            };
        mark.max(line_h * lines as f64 + 0.15 * st.em)
    };
    let mut places = Vec::new();
    let mut rows: Vec<f64> = vec![0.0];
    let (mut x, mut row) = (left, 0usize);
    for (k, (lines, tw)) in keys.iter().zip(&labels) {
        let item = st.em * (mark_width(&k.mark) + 0.4) + tw;
        if x > left && x + item > f64::from(w) - left {
            x = left;
            row += 1;
            rows.push(0.0);
        }
        rows[row] = rows[row].max(height(k, lines.len()));
        places.push((x, row));
        x += item + gap;
    }
    let top = st.em * 0.3;
    let row_top: Vec<f64> = rows
        .iter()
        .scan(top, |y, h| {
            let t = *y;
            *y += h;
            Some(t)
        })
        .collect();
    for (i, (k, (x, row))) in keys.iter().zip(&places).enumerate() {
        let cy = (row_top[*row] + 0.5 * rows[*row]).round() as i32;
        let x0 = x.round() as i32;
        let mw = st.em * mark_width(&k.mark);
        let mid = x0 + (0.5 * mw).round() as i32;
        let half = st.ipx(0.45);
        match k.mark {
            Mark::Line(c, width) => area
                .draw(&PathElement::new(
                    vec![(x0, cy), (x0 + mw as i32, cy)],
                    c.stroke_width(width),
                ))
                .drawn()?,
            Mark::Dashed(c, width) => area
                .draw(&plotters::element::DashedPathElement::new(
                    vec![(x0, cy), (x0 + mw as i32, cy)],
                    st.px(0.35),
                    st.px(0.25),
                    c.stroke_width(width),
                ))
                .drawn()?,
            Mark::Fill(c) => area
                .draw(&Rectangle::new(
                    [(x0, cy - half), (x0 + mw as i32, cy + half)],
                    c.filled(),
                ))
                .drawn()?,
            Mark::Dot(c, r) => area
                .draw(&Circle::new((mid, cy), st.px(r), c.filled()))
                .drawn()?,
            Mark::Ring(c, r) => area
                .draw(&Circle::new((mid, cy), st.px(r), c.stroke_width(2)))
                .drawn()?,
            Mark::Triangle(c) => area
                .draw(&TriangleMarker::new((mid, cy), st.px(0.4), c.filled()))
                .drawn()?,
            Mark::Square(c) => {
                let h = st.ipx(0.25);
                area.draw(&Rectangle::new(
                    [(mid - h, cy - h), (mid + h, cy + h)],
                    c.filled(),
                ))
                .drawn()?
            }
            Mark::Interval(c) => {
                area.draw(&PathElement::new(
                    vec![(mid, cy - half), (mid, cy + half)],
                    c.stroke_width(2),
                ))
                .drawn()?;
                area.draw(&Circle::new((mid, cy), st.px(0.2), c.filled()))
                    .drawn()?;
            }
            Mark::Cross(c) => area
                .draw(&Cross::new((mid, cy), st.px(0.3), c.stroke_width(2)))
                .drawn()?,
            Mark::Nothing => {}
        }
        let tx = x0 + (st.em * (mark_width(&k.mark) + 0.4)).round() as i32;
        let lines = &labels[i].0;
        // The lines centred on the mark's height.
        let first = cy as f64 - 0.5 * line_h * (lines.len() as f64 - 1.0);
        for (j, l) in lines.iter().enumerate() {
            area.draw(&Text::new(
                l.clone(),
                (tx, (first + line_h * j as f64).round() as i32),
                font.clone().pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .drawn()?;
        }
    }
    let used = (2.0 * top + rows.iter().sum::<f64>()).round() as u32;
    Ok(area.split_vertically(used).1)
}

/// Whether `names` as tick labels side by side fit in `ems` (about 0.62 em
/// per character); when not, charts number the categories and the legend
/// names them.
pub(crate) fn names_fit(names: &[String], ems: f64) -> bool {
    let widest = names.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    0.62 * (widest * names.len()) as f64 <= ems
}

/// A unit short enough for an axis of a panel at column width
/// (`billion VND per step` → `bn VND/step`).
pub(crate) fn short_unit(unit: &str) -> String {
    unit.replace("billion VND", "bn VND")
        .replace(" per step", "/step")
}

/// A tick label with at most about four significant digits and no float noise.
pub(crate) fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// One tick format for an axis over `lo..hi` with about `ticks` ticks: the
/// precision follows the tick step (not each value), so neighbouring labels
/// differ and every label of the axis has the same form (`14.05k`, `14.10k`
/// rather than `14k, 14k, 14k`). Values of 10 000 and more are in thousands
/// (`k`), of a million and more in millions (`M`).
pub(crate) fn axis_formatter(lo: f64, hi: f64, ticks: usize) -> impl Fn(&f64) -> String {
    let span = (hi - lo).abs();
    let raw = if span > 0.0 && span.is_finite() {
        span / ticks.max(1) as f64
    } else {
        1.0
    };
    // The nice step plotters picks is 1, 2 or 5 × 10^k, at most `raw`.
    let mut step = 10f64.powf(raw.log10().floor());
    for m in [2.0, 5.0, 10.0] {
        if step * m <= raw * 1.000_001 {
            step = 10f64.powf(raw.log10().floor()) * m;
        }
    }
    let big = lo.abs().max(hi.abs());
    let (div, suffix) = if big >= 1e6 {
        (1e6, "M")
    } else if big >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let decimals = (-(step / div).log10().floor()).max(0.0) as usize;
    let decimals = decimals.min(9);
    move |v: &f64| {
        let x = *v / div;
        if x.abs() < 0.5 * 10f64.powi(-(decimals as i32)) {
            return "0".to_string();
        }
        format!("{x:.decimals$}{suffix}")
    }
}

/// A padded axis range covering `values` (finite ones), never empty.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        let d = if lo.abs() > 1e-12 {
            0.05 * lo.abs()
        } else {
            1.0
        };
        return (lo - d, hi + d);
    }
    let d = pad * (hi - lo);
    (lo - d, hi + d)
}

/// The scenario a run directory holds, for chart titles: the `scenario` of
/// a comparison's run directory, a sweep point with its parameter values, or
/// the job's name (from the first manifest); `None` without a manifest.
pub fn scenario_title(dir: &Path) -> Option<String> {
    use crate::output::tables::Constant;
    let path = crate::output::layout::list_manifests(dir)
        .ok()?
        .into_iter()
        .next()?;
    let m = crate::output::manifest::Manifest::read(&path).ok()?;
    let value = |c: &Constant| match c {
        Constant::Int(v) => v.to_string(),
        Constant::Float(v) => fmt_tick(*v),
        Constant::Bool(v) => v.to_string(),
        Constant::Text(v) => v.clone(),
    };
    if let Some((_, c)) = m.extra.iter().find(|(n, _)| n == "scenario") {
        return Some(format!("scenario {}", value(c)));
    }
    if let Some((_, Constant::Float(p))) = m.extra.iter().find(|(n, _)| n == "point") {
        let params: Vec<String> = m
            .extra
            .iter()
            .filter(|(n, _)| n != "point")
            .map(|(n, c)| format!("{n} = {}", value(c)))
            .collect();
        let stem = m.name.split('/').next().unwrap_or(&m.name);
        return Some(format!("{stem}, point {p}: {}", params.join(", ")));
    }
    Some(format!("scenario {}", m.name))
}

/// A figure with a line naming its scenario above its own title.
pub(crate) struct Titled<'a, F> {
    pub scenario: &'a str,
    pub figure: &'a F,
}

/// Height of the scenario line of [`Titled`], ems of the figure's style.
const SCENARIO_LINE: f64 = 1.9;

impl<F: Figure> Figure for Titled<'_, F> {
    fn size(&self) -> (u32, u32) {
        let (w, h) = self.figure.size();
        (w, h + Style::for_width(w).px(SCENARIO_LINE))
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> anyhow::Result<()> {
        let st = Style::of(root);
        let body = heading(root, self.scenario, st.title())?;
        self.figure.draw(&body)
    }
}

/// Render `fig`, titled with `scenario` when known.
fn render_titled<F: Figure>(
    fig: &F,
    scenario: Option<&str>,
    out: &Path,
    stem: &str,
    scale: f64,
) -> anyhow::Result<Vec<PathBuf>> {
    match scenario {
        Some(scenario) => render(
            &Titled {
                scenario,
                figure: fig,
            },
            out,
            stem,
            scale,
        ),
        None => render(fig, out, stem, scale),
    }
}

/// Write every chart of the run directory `dir` into `out`; returns the files
/// written. Each chart is titled with the directory's scenario
/// ([`scenario_title`]). `region` tables are required; the distribution chart needs
/// `clusters` tables and the map also `sites.parquet` (each skipped with a note
/// on stderr when absent).
pub fn plot_dir(dir: &Path, out: &Path, opts: &PlotOptions) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let scenario = scenario_title(dir);
    let scenario = scenario.as_deref();
    let ts = timeseries::TimeSeries::load(dir)?;
    written.extend(render_titled(&ts, scenario, out, "timeseries", opts.scale)?);

    match distribution::FinalDistribution::load(dir)? {
        Some(fd) => written.extend(render_titled(
            &fd,
            scenario,
            out,
            "final_distribution",
            opts.scale,
        )?),
        None => eprintln!(
            "note: {} has no clusters.parquet; skipping the final distribution chart",
            dir.display()
        ),
    }

    match map::RegionMap::load(dir, opts)? {
        map::Loaded::Map(m) => {
            let stem = format!("map_run{}_step{}", m.run, m.step);
            written.extend(render_titled(m.as_ref(), scenario, out, &stem, opts.scale)?);
        }
        map::Loaded::Skipped(why) => eprintln!("note: skipping the map: {why}"),
    }
    Ok(written)
}

/// `clustersim plot DIR`: a run directory (with `region*.parquet`), a
/// comparison directory (with `comparison.parquet`), or both.
pub fn plot_command(args: &crate::cli::PlotArgs) -> anyhow::Result<()> {
    let dir = &args.dir;
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let out = args.out.clone().unwrap_or_else(|| dir.join("plots"));
    let opts = PlotOptions {
        step: args.step,
        run: args.run,
        scale: 1.0,
    };
    let comparison = dir.join("comparison.parquet");
    let calibration = dir.join("calibration.parquet");
    let has_region = !data::table_files(dir, "region")?.is_empty();
    let has_sensitivity = dir.join("sensitivity.parquet").is_file();
    // A compare or sweep directory: one run directory per scenario or point.
    let subdirs = if has_region {
        Vec::new()
    } else {
        crate::output::summarize::job_subdirs(dir)?
    };
    if !has_region
        && subdirs.is_empty()
        && !comparison.is_file()
        && !has_sensitivity
        && !calibration.is_file()
    {
        anyhow::bail!(
            "{} has neither region/*.parquet (nor region.parquet) nor comparison.parquet \
             nor sensitivity.parquet nor calibration.parquet nor run directories; give an output \
             directory of `clustersim run`, `compare`, `sweep`, `sensitivity` or `calibrate`",
            dir.display()
        );
    }
    let mut written = Vec::new();
    if calibration.is_file() {
        written.extend(calibration::plot_calibration(dir, &out)?);
    }
    if has_sensitivity {
        written.extend(sensitivity::plot_sensitivity(dir, &out)?);
    }
    if comparison.is_file() {
        written.extend(plot_comparison(&comparison, &out)?);
        written.extend(comparison::plot_overlay(dir, &out)?);
    }
    if has_region {
        // Charts of a sharded job with a shard missing would silently show
        // fewer runs: say which are missing (the manifests know).
        if let Ok(check) = crate::output::summarize::check_dir(dir) {
            for line in check.report() {
                eprintln!("warning: plotting incomplete results: {line}");
            }
        }
        written.extend(plot_dir(dir, &out, &opts)?);
    }
    for sub in &subdirs {
        if data::table_files(sub, "region")?.is_empty() {
            continue;
        }
        let name = sub.file_name().unwrap_or_default();
        written.extend(plot_dir(sub, &out.join(name), &opts)?);
    }
    for p in &written {
        println!("{}", p.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_tick_format_per_axis_keeps_neighbouring_labels_apart() {
        // "Tax, time mean" read 14k, 14k, 14k with a per-value format.
        for (lo, hi) in [
            (13_950.0, 14_120.0),
            (0.41, 0.47),
            (2.0e6, 2.3e6),
            (-3.0, 12.0),
            (99.5, 100.4),
        ] {
            let f = axis_formatter(lo, hi, 10);
            // Every tick plotters could draw: multiples of a 1-2-5 step near span/10.
            for step in
                [1.0, 2.0, 5.0, 10.0].map(|m| m * 10f64.powf(((hi - lo) / 10.0f64).log10().floor()))
            {
                if (hi - lo) / step > 12.0 {
                    continue;
                }
                let ticks: Vec<f64> = ((lo / step).ceil() as i64..=(hi / step).floor() as i64)
                    .map(|k| k as f64 * step)
                    .collect();
                let labels: Vec<String> = ticks.iter().map(&f).collect();
                let mut distinct = labels.clone();
                distinct.dedup();
                assert_eq!(distinct.len(), labels.len(), "{lo}..{hi}: {labels:?}");
                let decimals = |l: &String| {
                    l.split('.')
                        .nth(1)
                        .map_or(0, |d| d.trim_end_matches(['k', 'M']).len())
                };
                let nonzero: Vec<&String> = labels.iter().filter(|l| *l != "0").collect();
                assert!(
                    nonzero.iter().all(|l| decimals(l) == decimals(nonzero[0])),
                    "{lo}..{hi}: one format per axis: {labels:?}"
                );
            }
        }
        assert_eq!(axis_formatter(13_950.0, 14_120.0, 10)(&14_050.0), "14.05k");
        assert_eq!(axis_formatter(0.0, 1.0, 10)(&0.5), "0.5");
        assert_eq!(axis_formatter(0.0, 30_000.0, 6)(&0.0), "0");
        assert_eq!(axis_formatter(0.0, 30_000.0, 6)(&5_000.0), "5k");
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(2.5), "2.5");
        assert_eq!(fmt_tick(3.0), "3");
        assert_eq!(fmt_tick(0.125), "0.125");
        assert_eq!(fmt_tick(250.0), "250");
        assert_eq!(fmt_tick(25_000.0), "25k");
        assert_eq!(fmt_tick(2_500_000.0), "2.50M");
    }

    #[test]
    fn ranges_are_padded_and_never_empty() {
        assert_eq!(padded_range([1.0, 3.0], 0.0), (1.0, 3.0));
        assert_eq!(padded_range([1.0, 3.0, f64::NAN], 0.5), (0.0, 4.0));
        assert_eq!(padded_range([], 0.1), (0.0, 1.0));
        assert_eq!(padded_range([0.0, 0.0], 0.1), (-1.0, 1.0));
    }
}
