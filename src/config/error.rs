//! The typed errors of config loading: every variant names the file, and where
//! it can the line, column and field path, so that a user can fix the config
//! without reading the code.

use std::fmt;
use std::path::PathBuf;

/// One failed validation rule: the field, its value and what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Field path in the scenario, e.g. `government.shares.inside` or
    /// `sectors[2].entry_rate`.
    pub path: String,
    /// The offending value, as written in RON.
    pub value: String,
    /// What is allowed, e.g. `a number in [0, 1]`.
    pub allowed: String,
    /// The config file that set the field (after inheritance), or `None` when
    /// the value is a built-in default.
    pub set_in: Option<PathBuf>,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` = {}: allowed: {}",
            self.path, self.value, self.allowed
        )?;
        match &self.set_in {
            Some(p) => write!(f, " (set in {})", p.display()),
            None => write!(f, " (built-in default)"),
        }
    }
}

/// Everything that can go wrong when loading a scenario config.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file given by the user cannot be read (the OS error is
    /// the source, printed once as the cause).
    #[error("cannot read config file {}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The text is not valid RON.
    #[error("{}:{line}:{column}: RON syntax error{}: {message}", file.display(), near(field))]
    Syntax {
        file: PathBuf,
        line: usize,
        column: usize,
        /// The field being parsed when the error occurred (may be empty).
        field: String,
        message: String,
    },
    /// A field name that the scenario does not have.
    #[error(
        "{}:{line}:{column}: unknown field `{field}`; allowed here: {expected}",
        file.display()
    )]
    UnknownField {
        file: PathBuf,
        line: usize,
        column: usize,
        /// Full path of the unknown field, e.g. `government.shares.insde`.
        field: String,
        /// The field names allowed at that place.
        expected: String,
    },
    /// A value of the wrong type (a string for a number, an unknown enum
    /// variant, a negative count, …).
    #[error(
        "{}:{line}:{column}: field `{field}`: wrong value: {message}",
        file.display()
    )]
    WrongType {
        file: PathBuf,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
    /// The scenario parsed but breaks validation rules; all of them are listed.
    #[error("{}: invalid scenario ({} error{}):{}", file.display(), issues.len(), plural(issues.len()), list(issues))]
    Invalid { file: PathBuf, issues: Vec<Issue> },
    /// A `base:` path that cannot be read.
    #[error("{}: base config {} (field `base`) cannot be read", file.display(), base.display())]
    BaseMissing {
        /// The file whose `base:` field names the missing file.
        file: PathBuf,
        /// The base path, resolved relative to `file`.
        base: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The chain of `base:` references loops.
    #[error("base configs form a cycle: {}", chain_text(chain))]
    BaseCycle {
        /// The files in the order they reference each other; the last one is
        /// the first repeated file.
        chain: Vec<PathBuf>,
    },
    /// A config file that is too large or not a regular file; refused before
    /// it is read whole.
    #[error("{}: {reason}", file.display())]
    TooLarge { file: PathBuf, reason: String },
    /// A chain of `base:` files longer than the limit.
    #[error("{}: the chain of base configs is longer than {limit} files (field `base`)", file.display())]
    BaseChainTooLong { file: PathBuf, limit: usize },
    /// Merged layers failed to deserialize (should not happen: every layer
    /// deserializes on its own first).
    #[error("{}: cannot merge base configs: {message}", file.display())]
    Merge { file: PathBuf, message: String },
}

fn near(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!(" in field `{field}`")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn list(issues: &[Issue]) -> String {
    issues.iter().map(|i| format!("\n  - {i}")).collect()
}

fn chain_text(chain: &[PathBuf]) -> String {
    chain
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}
