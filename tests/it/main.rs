mod calibrate;
mod cli;
mod compare;
mod config;
mod golden;
mod limits;
mod model;
mod montecarlo;
mod plot;
mod plot_validation;
mod policy;
mod readers;
mod recording;
mod reliability;
mod report;
mod resume;
mod sensitivity;
mod slurm;
mod sweep;
mod validation;
mod verify;

/// The texts of the `<text>` elements of SVG (or of a page with inline SVG)
/// joined by spaces, so that a title wrapped over several lines reads whole.
pub fn svg_text(svg: &str) -> String {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        let Some(open) = rest[i..].find('>') else {
            break;
        };
        let start = i + open + 1;
        let Some(len) = rest[start..].find("</text>") else {
            break;
        };
        out.push(rest[start..start + len].trim().to_string());
        rest = &rest[start + len..];
    }
    out.join(" ")
}
