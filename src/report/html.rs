//! Small HTML helpers for the report: escaping, tables, collapsible blocks,
//! numbers. Every piece of text that enters the page goes through [`esc`].

use std::fmt::Write as _;

/// Escape `text` for HTML text and attribute values.
pub fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            _ => s.push(c),
        }
    }
    s
}

/// A number as the report prints it: four significant digits, no float
/// noise, "—" when not finite. Tests format expected values with it.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return "—".to_string();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".to_string();
    }
    if !(1e-4..1e9).contains(&a) {
        return format!("{v:.3e}");
    }
    let digits = a.log10().floor() as i32;
    let decimals = (3 - digits).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `mean [lo, hi]`.
pub fn fmt_ci(mean: f64, lo: f64, hi: f64) -> String {
    if lo.is_finite() && hi.is_finite() {
        format!("{} [{}, {}]", fmt_num(mean), fmt_num(lo), fmt_num(hi))
    } else {
        fmt_num(mean)
    }
}

/// A table cell: `(text, data-key)`; the key, when given, marks a number the
/// tests (and scripts) can find.
pub struct Cell {
    pub text: String,
    pub key: Option<String>,
    pub class: Option<&'static str>,
}

impl Cell {
    pub fn new(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            key: None,
            class: None,
        }
    }

    pub fn keyed(text: impl Into<String>, key: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            key: Some(key.into()),
            class: None,
        }
    }

    pub fn class(mut self, class: &'static str) -> Self {
        self.class = Some(class);
        self
    }
}

impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::new(s)
    }
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::new(s)
    }
}

/// A table with a header row; every text is escaped.
pub fn table(out: &mut String, header: &[&str], rows: Vec<Vec<Cell>>) {
    out.push_str("<table>\n<thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            out.push_str("<td");
            if let Some(k) = &c.key {
                let _ = write!(out, " data-key=\"{}\"", esc(k));
            }
            if let Some(cl) = c.class {
                let _ = write!(out, " class=\"{cl}\"");
            }
            let _ = write!(out, ">{}</td>", esc(&c.text));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// A two-column key/value table.
pub fn kv_table(out: &mut String, rows: Vec<(&str, Cell)>) {
    out.push_str("<table class=\"kv\">\n<tbody>\n");
    for (k, c) in rows {
        let _ = write!(out, "<tr><th>{}</th><td", esc(k));
        if let Some(key) = &c.key {
            let _ = write!(out, " data-key=\"{}\"", esc(key));
        }
        let _ = writeln!(out, ">{}</td></tr>", esc(&c.text));
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Escaped text in which `backquoted` spans become `<code>`.
pub fn esc_code(text: &str) -> String {
    let mut s = String::new();
    for (i, part) in esc(text).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(s, "<code>{part}</code>");
        } else {
            s.push_str(part);
        }
    }
    s
}

/// A paragraph of escaped text (`backquoted` spans as code).
pub fn para(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p>{}</p>", esc_code(text));
}

/// A note (a muted paragraph).
pub fn note(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p class=\"note\">{}</p>", esc_code(text));
}

/// A warning box.
pub fn warn(out: &mut String, text: &str) {
    let _ = writeln!(out, "<p class=\"warn\">{}</p>", esc(text));
}

/// A heading with an id (for the contents).
pub fn heading(out: &mut String, level: u8, id: &str, text: &str) {
    let level = level.clamp(2, 6);
    let _ = writeln!(out, "<h{level} id=\"{}\">{}</h{level}>", esc(id), esc(text));
}

/// Preformatted escaped text.
pub fn pre(out: &mut String, text: &str) {
    let _ = writeln!(out, "<pre>{}</pre>", esc(text));
}

/// Open a `<details>` block with an escaped summary.
pub fn details_open(out: &mut String, summary: &str, open: bool) {
    let _ = writeln!(
        out,
        "<details{}><summary>{}</summary>",
        if open { " open" } else { "" },
        esc(summary)
    );
}

/// Close a `<details>` block.
pub fn details_close(out: &mut String) {
    out.push_str("</details>\n");
}

/// An inline SVG chart (plotters' SVG output) in a figure.
pub fn figure(out: &mut String, svg: &str, caption: &str) {
    // plotters writes a bare <svg …> element; keep only it (no XML prolog).
    let start = svg.find("<svg").unwrap_or(0);
    let _ = writeln!(
        out,
        "<figure>{}<figcaption>{}</figcaption></figure>",
        &svg[start..],
        esc(caption)
    );
}

/// The page's CSS.
pub const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       margin: 0 auto; max-width: 1200px; padding: 1em 1.5em 4em; color: #1b1f24; background: #fff; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.2em; }
h2 { border-bottom: 2px solid #d0d7de; padding-bottom: 0.2em; margin-top: 2em; }
h3 { margin-top: 1.5em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
thead th { background: #f3f5f7; }
table.kv th { background: #f6f8fa; font-weight: 600; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.yes { color: #b31d28; font-weight: 600; }
pre { background: #f6f8fa; padding: 0.7em; overflow-x: auto; font-size: 0.85em; border-radius: 4px; }
code { background: #f6f8fa; padding: 0 0.2em; }
details { margin: 0.6em 0; border: 1px solid #e1e4e8; border-radius: 4px; padding: 0.3em 0.8em; }
summary { cursor: pointer; font-weight: 600; }
figure { margin: 1em 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #57606a; }
p.note { color: #57606a; font-size: 0.9em; }
p.warn { background: #fff8c5; border: 1px solid #d4a72c; padding: 0.4em 0.7em; border-radius: 4px; }
nav ul { columns: 2; }
.pass { color: #116329; font-weight: 600; }
.fail { color: #b31d28; font-weight: 600; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn backquotes_become_code_after_escaping() {
        assert_eq!(esc_code("run `a<b` now"), "run <code>a&lt;b</code> now");
        assert_eq!(esc_code("odd ` quote"), "odd <code> quote</code>");
    }

    #[test]
    fn numbers_have_four_significant_digits() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(123.456), "123.5");
        assert_eq!(fmt_num(1234.56), "1235");
        assert_eq!(fmt_num(0.123456), "0.1235");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(-12.0), "-12");
        assert_eq!(fmt_num(f64::NAN), "—");
        assert_eq!(fmt_num(1.5e10), "1.500e10");
    }
}
