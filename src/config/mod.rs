//! Scenario configs: serde types (`types`), loading with base inheritance,
//! and validation.

pub mod types;

pub use types::*;

/// The embedded default scenario, `configs/hanoi.ron`.
pub const EMBEDDED_HANOI: &str = include_str!("../../configs/hanoi.ron");

/// PLACEHOLDER (the config issue replaces it): load a config file without inheritance.
pub fn load(path: &std::path::Path) -> anyhow::Result<Scenario> {
    let text = std::fs::read_to_string(path)?;
    Ok(ron::from_str(&text)?)
}

/// The embedded Hanoi baseline, parsed.
pub fn embedded_default() -> Scenario {
    ron::from_str(EMBEDDED_HANOI).expect("embedded hanoi.ron parses")
}

/// `clustersim validate`.
pub fn validate_command(args: &crate::cli::ValidateArgs) -> anyhow::Result<()> {
    for p in &args.configs {
        load(p)?;
    }
    Ok(())
}
