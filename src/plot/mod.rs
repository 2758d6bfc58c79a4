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
//! outcome with each scenario's mean and 95% interval.
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

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context};
use plotters::coord::Shift;
use plotters::prelude::*;

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

/// Render `fig` to `out/stem.png` and `out/stem.svg`; returns both paths.
pub(crate) fn render(
    fig: &impl Figure,
    out: &Path,
    stem: &str,
    scale: f64,
) -> anyhow::Result<Vec<PathBuf>> {
    ensure_font()?;
    let (w0, h0) = fig.size();
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    let (w, h) = (
        ((f64::from(w0) * scale).round() as u32).max(100),
        ((f64::from(h0) * scale).round() as u32).max(100),
    );

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).drawn()?;
        fig.draw(&root)
            .with_context(|| format!("drawing {stem}.svg"))?;
        root.present().drawn()?;
    }

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

/// Write every chart of the run directory `dir` into `out`; returns the files
/// written. `region` tables are required; the distribution chart needs
/// `clusters` tables and the map also `sites.parquet` (each skipped with a note
/// on stderr when absent).
pub fn plot_dir(dir: &Path, out: &Path, opts: &PlotOptions) -> anyhow::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let ts = timeseries::TimeSeries::load(dir)?;
    written.extend(render(&ts, out, "timeseries", opts.scale)?);

    match distribution::FinalDistribution::load(dir)? {
        Some(fd) => written.extend(render(&fd, out, "final_distribution", opts.scale)?),
        None => eprintln!(
            "note: {} has no clusters.parquet; skipping the final distribution chart",
            dir.display()
        ),
    }

    match map::RegionMap::load(dir, opts)? {
        map::Loaded::Map(m) => {
            let stem = format!("map_run{}_step{}", m.run, m.step);
            written.extend(render(m.as_ref(), out, &stem, opts.scale)?);
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
