//! Scenario configs: the serde types (`types`), loading with `base:`
//! inheritance (`load`), validation (`validate`) and the typed errors
//! (`error`). This module is the serde edge of the crate: the model sees only
//! a validated `Scenario`.
//!
//! A config file is RON. It may say `base: "hanoi.ron"` (a path relative to
//! itself) and then set only what differs: nested structs merge field by
//! field, lists (such as `sectors`) replace the base's list whole, and chains
//! of bases work. See `configs/hanoi.ron` for every field.

pub mod error;
mod load;
pub mod types;
pub mod validate;

use std::path::Path;

pub use error::{ConfigError, Issue};
/// RON parse errors as `ConfigError`s (file, line, column, field path), for
/// other RON inputs such as calibration targets.
pub(crate) use load::spanned_error;
pub use types::*;

/// The embedded default scenario, `configs/hanoi.ron`.
pub const EMBEDDED_HANOI: &str = include_str!("../../configs/hanoi.ron");

/// The name under which the embedded default is reported in errors.
pub const EMBEDDED_NAME: &str = "<embedded configs/hanoi.ron>";

/// Load a config file: parse it, resolve its chain of `base:` files, merge,
/// and validate. The returned scenario has `base` cleared.
pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ConfigError> {
    let path = path.as_ref();
    let text = load::read_file(path)?;
    load_str(&text, path)
}

/// Load a config from `text`; `origin` names it in errors and is the
/// directory a `base:` path is relative to (its parent).
pub fn load_str(text: &str, origin: impl AsRef<Path>) -> Result<Scenario, ConfigError> {
    let origin = origin.as_ref();
    let resolved = load::resolve_text(text, origin)?;
    let mut issues = validate::validate(&resolved.scenario);
    if issues.is_empty() {
        return Ok(resolved.scenario);
    }
    for issue in &mut issues {
        issue.set_in = setter(&resolved.provenance, &issue.path);
    }
    Err(ConfigError::Invalid {
        file: origin.to_path_buf(),
        issues,
    })
}

/// The file that set the field at `path`: the file that set the field itself
/// or a struct or list it lies in, else the most derived file that set a field
/// below it (for rules on a whole struct, such as shares summing to 1).
fn setter(provenance: &load::Provenance, path: &str) -> Option<std::path::PathBuf> {
    let above = provenance
        .iter()
        .filter(|(p, _)| load::is_under(path, p))
        .max_by_key(|(p, _)| p.len());
    let found = above.or_else(|| {
        provenance
            .iter()
            .filter(|(p, _)| load::is_under(p, path))
            .min_by_key(|(_, (depth, _))| *depth)
    });
    found.map(|(_, (_, file))| file.clone())
}

/// The embedded Hanoi baseline, loaded like a file (a test checks that it is
/// valid and equals `Scenario::default()`).
pub fn embedded_default() -> Scenario {
    match load_str(EMBEDDED_HANOI, EMBEDDED_NAME) {
        Ok(s) => s,
        // A test guards this; it cannot happen in a tested build.
        Err(e) => panic!("the embedded configs/hanoi.ron is invalid: {e}"),
    }
}

/// Print a scenario as pretty RON that `load_str` reads back to an equal
/// scenario (used for `validate` and for run manifests).
pub fn to_ron_pretty(scenario: &Scenario) -> String {
    let config = ron::ser::PrettyConfig::new()
        .struct_names(false)
        .compact_arrays(true)
        .indentor("  ".to_string());
    match ron::ser::to_string_pretty(scenario, config) {
        Ok(s) => s,
        // Serializing plain structs, floats, strings and lists cannot fail.
        Err(e) => panic!("serializing a scenario to RON failed: {e}"),
    }
}

/// `clustersim validate`: load every file, print each resolved scenario (or
/// its errors), and fail if any file is invalid.
pub fn validate_command(args: &crate::cli::ValidateArgs) -> anyhow::Result<()> {
    use std::io::Write;
    let mut failed = 0usize;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in &args.configs {
        match load(path) {
            Ok(scenario) => {
                if args.quiet {
                    writeln!(out, "{}: valid", path.display())?;
                } else {
                    writeln!(
                        out,
                        "// {}: valid; the resolved scenario:\n{}",
                        path.display(),
                        to_ron_pretty(&scenario)
                    )?;
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    out.flush()?;
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} config file{} invalid",
            args.configs.len(),
            if args.configs.len() == 1 {
                " is"
            } else {
                "s are"
            }
        );
    }
    Ok(())
}
