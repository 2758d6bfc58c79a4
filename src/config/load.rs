//! Loading a scenario: RON text → typed layers → `base:` inheritance → one
//! merged `Scenario` (validation is done by the caller).
//!
//! How the merge works. `ron::Value` cannot carry a scenario faithfully (a unit
//! enum variant such as `PlannedFirst` becomes `Unit`, and floats are read as
//! `f32`), so it is used only to learn *which* fields a file sets. Each file is
//! first deserialized on its own into a typed `Scenario` (every struct has
//! `#[serde(default)]`, so a partial file is a whole scenario); that gives
//! precise errors with line and column in the right file. The typed base and
//! the typed child are then converted to `serde_json::Value` (which keeps enum
//! variant names and full `f64` precision), and every field the child sets is
//! copied over the base: nested structs recursively (field by field), every
//! other value (numbers, enums, options, lists) replaced whole. The merged
//! value is deserialized back into a `Scenario`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ron::error::SpannedError;
use serde_json::Value as Json;

use super::error::{ConfigError, Issue};
use super::types::Scenario;

/// Which layer set each field: leaf field path → (depth, file). Depth 1 is
/// the file the user named, 2 its base, and so on: a lower depth is a more
/// derived file.
pub(crate) type Provenance = BTreeMap<String, (usize, PathBuf)>;

/// A scenario resolved through its bases, before validation.
pub(crate) struct Resolved {
    pub scenario: Scenario,
    pub provenance: Provenance,
}

/// The longest chain of `base:` files (the named file included).
pub const MAX_BASE_CHAIN: usize = 64;

/// The largest config file read, in bytes.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Resolve `text` (the contents of `file`) through its chain of bases: the
/// chain is walked iteratively (at most [`MAX_BASE_CHAIN`] files), then the
/// layers are merged from the deepest base up.
pub(crate) fn resolve_text(text: &str, file: &Path) -> Result<Resolved, ConfigError> {
    let mut seen = vec![(identity(file), file.to_path_buf())];
    let mut layers: Vec<(PathBuf, Scenario, ron::Value)> = Vec::new();
    let mut current = (file.to_path_buf(), text.to_string());
    loop {
        let (path, text) = current;
        let (typed, set) = parse_layer(&text, &path)?;
        let base = typed.base.clone();
        layers.push((path.clone(), typed, set));
        let Some(base) = base else { break };
        if layers.len() >= MAX_BASE_CHAIN {
            return Err(ConfigError::BaseChainTooLong {
                file: file.to_path_buf(),
                limit: MAX_BASE_CHAIN,
            });
        }
        let base_path = path.parent().unwrap_or(Path::new("")).join(&base);
        let id = identity(&base_path);
        if let Some(pos) = seen.iter().position(|(s, _)| *s == id) {
            let mut chain: Vec<PathBuf> = seen[pos..].iter().map(|(_, p)| p.clone()).collect();
            chain.push(base_path);
            return Err(ConfigError::BaseCycle { chain });
        }
        let base_text = read_bounded(&base_path).map_err(|e| match e {
            ReadError::Io(source) => ConfigError::BaseMissing {
                file: path.clone(),
                base: base_path.clone(),
                source,
            },
            ReadError::TooLarge(reason) => ConfigError::TooLarge {
                file: base_path.clone(),
                reason,
            },
        })?;
        seen.push((id, base_path.clone()));
        current = (base_path, base_text);
    }
    // Merge: the deepest base first; depth 1 is the file the user named.
    let (deepest, typed, set) = layers.pop().expect("at least the named file");
    let mut provenance = Provenance::new();
    record_leaves(&set, "", layers.len() + 1, &deepest, &mut provenance);
    let mut scenario = typed;
    while let Some((path, typed, set)) = layers.pop() {
        let depth = layers.len() + 1;
        let merge_err = |message: String| ConfigError::Merge {
            file: path.clone(),
            message,
        };
        let mut merged = serde_json::to_value(&scenario).map_err(|e| merge_err(e.to_string()))?;
        let child = serde_json::to_value(&typed).map_err(|e| merge_err(e.to_string()))?;
        overlay(&mut merged, &child, &set, "", depth, &path, &mut provenance);
        scenario = serde_json::from_value(merged).map_err(|e| merge_err(e.to_string()))?;
    }
    scenario.base = None;
    Ok(Resolved {
        scenario,
        provenance,
    })
}

/// Parse one layer: its typed form and the fields it sets; non-finite
/// numbers are refused here, naming the file.
fn parse_layer(text: &str, file: &Path) -> Result<(Scenario, ron::Value), ConfigError> {
    let typed: Scenario = ron::from_str(text).map_err(|e| spanned_error(e, text, file))?;
    let set: ron::Value = ron::from_str(text).map_err(|e| spanned_error(e, text, file))?;
    let mut issues = Vec::new();
    non_finite(&set, "", &mut issues);
    if !issues.is_empty() {
        for issue in &mut issues {
            issue.set_in = Some(file.to_path_buf());
        }
        return Err(ConfigError::Invalid {
            file: file.to_path_buf(),
            issues,
        });
    }
    Ok((typed, set))
}

enum ReadError {
    Io(std::io::Error),
    TooLarge(String),
}

/// Read a config file of at most [`MAX_CONFIG_BYTES`], refusing larger or
/// non-regular files (e.g. `/dev/zero`) before reading them whole.
fn read_bounded(file: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    let f = std::fs::File::open(file).map_err(ReadError::Io)?;
    let meta = f.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::TooLarge(
            "not a regular file (a config must be a RON text file)".into(),
        ));
    }
    let too_large = || {
        ReadError::TooLarge(format!(
            "larger than {} MB: not a config file",
            MAX_CONFIG_BYTES / (1024 * 1024)
        ))
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    let mut text = String::new();
    f.take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(ReadError::Io)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_large());
    }
    Ok(text)
}

/// Read a config file (the one the user named).
pub(crate) fn read_file(file: &Path) -> Result<String, ConfigError> {
    read_bounded(file).map_err(|e| match e {
        ReadError::Io(source) => ConfigError::Io {
            file: file.to_path_buf(),
            source,
        },
        ReadError::TooLarge(reason) => ConfigError::TooLarge {
            file: file.to_path_buf(),
            reason,
        },
    })
}

/// A path that identifies a file for cycle detection (canonical when it exists).
fn identity(file: &Path) -> PathBuf {
    std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf())
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// True when `path` is `prefix` or lies below it (segment-aware).
pub(crate) fn is_under(path: &str, prefix: &str) -> bool {
    path == prefix
        || (path.starts_with(prefix)
            && matches!(path.as_bytes().get(prefix.len()), Some(b'.') | Some(b'[')))
}

/// Copy every field that `set` (the child's RON value) mentions from `child`
/// into `merged`, recursing into nested structs.
fn overlay(
    merged: &mut Json,
    child: &Json,
    set: &ron::Value,
    prefix: &str,
    order: usize,
    file: &Path,
    provenance: &mut Provenance,
) {
    let ron::Value::Map(map) = set else {
        return;
    };
    for (k, v) in map.iter() {
        let ron::Value::String(key) = k else {
            continue;
        };
        if prefix.is_empty() && key == "base" {
            continue;
        }
        let path = join(prefix, key);
        let (Some(m), Some(c)) = (merged.get_mut(key.as_str()), child.get(key.as_str())) else {
            continue;
        };
        if m.is_object() && matches!(v, ron::Value::Map(_) | ron::Value::Unit) {
            // A nested struct: merge field by field (`()` sets nothing).
            overlay(m, c, v, &path, order, file, provenance);
        } else {
            *m = c.clone();
            provenance.retain(|p, _| !is_under(p, &path));
            provenance.insert(path, (order, file.to_path_buf()));
        }
    }
}

/// Record every leaf field that `set` mentions as set by `file`.
fn record_leaves(
    set: &ron::Value,
    prefix: &str,
    order: usize,
    file: &Path,
    provenance: &mut Provenance,
) {
    match set {
        ron::Value::Map(map) => {
            for (k, v) in map.iter() {
                if let ron::Value::String(key) = k {
                    record_leaves(v, &join(prefix, key), order, file, provenance);
                }
            }
        }
        _ if !prefix.is_empty() => {
            provenance.insert(prefix.to_string(), (order, file.to_path_buf()));
        }
        _ => {}
    }
}

/// Collect `NaN` and infinite numbers anywhere in the file.
fn non_finite(v: &ron::Value, path: &str, issues: &mut Vec<Issue>) {
    match v {
        ron::Value::Number(n) => {
            let x = (*n).into_f64();
            if !x.is_finite() {
                issues.push(Issue {
                    path: path.to_string(),
                    value: format!("{x}"),
                    allowed: "a finite number".to_string(),
                    set_in: None,
                });
            }
        }
        ron::Value::Option(Some(inner)) => non_finite(inner, path, issues),
        ron::Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                non_finite(item, &format!("{path}[{i}]"), issues);
            }
        }
        ron::Value::Map(map) => {
            for (k, item) in map.iter() {
                if let ron::Value::String(key) = k {
                    non_finite(item, &join(path, key), issues);
                }
            }
        }
        _ => {}
    }
}

/// Turn a ron error into a `ConfigError` with the file, the position and the
/// field path at that position.
pub(crate) fn spanned_error(e: SpannedError, text: &str, file: &Path) -> ConfigError {
    use ron::error::Error as E;
    let line = e.span.start.line;
    let column = e.span.start.col;
    let field = field_path_at(text, char_offset(text, line, column));
    let file = file.to_path_buf();
    let shown = |f: &str| {
        if f.is_empty() {
            "(top level)".to_string()
        } else {
            f.to_string()
        }
    };
    match e.code {
        E::NoSuchStructField {
            expected, found, ..
        } => ConfigError::UnknownField {
            file,
            line,
            column,
            field: join(&field, &found),
            expected: expected
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", "),
        },
        code @ (E::NoSuchEnumVariant { .. }
        | E::InvalidValueForType { .. }
        | E::ExpectedDifferentLength { .. }
        | E::ExpectedDifferentStructName { .. }
        | E::MissingStructField { .. }
        | E::DuplicateStructField { .. }
        | E::IntegerOutOfBounds
        | E::ExpectedFloat
        | E::ExpectedInteger
        | E::ExpectedBoolean
        | E::ExpectedString
        | E::ExpectedOption
        | E::ExpectedUnit
        | E::ExpectedArray
        | E::ExpectedMap
        | E::ExpectedChar
        | E::ExpectedStructLike
        | E::ExpectedNamedStructLike(_)
        | E::Message(_)) => ConfigError::WrongType {
            file,
            line,
            column,
            field: shown(&field),
            message: code.to_string(),
        },
        code => ConfigError::Syntax {
            file,
            line,
            column,
            field,
            message: code.to_string(),
        },
    }
}

/// The char offset of a 1-based (line, column) position, as ron counts them.
fn char_offset(text: &str, line: usize, column: usize) -> usize {
    let (mut l, mut c) = (1, 1);
    for (i, ch) in text.chars().enumerate() {
        if l > line || (l == line && c >= column) {
            return i;
        }
        if ch == '\n' {
            l += 1;
            c = 1;
        } else {
            c += 1;
        }
    }
    text.chars().count()
}

/// The field path (e.g. `government.shares.inside`, `sectors[2].name`) that a
/// RON parser is inside of at char `offset` of `text`: a small scanner that
/// knows strings, comments, brackets, `key:` pairs and list indices.
pub(crate) fn field_path_at(text: &str, offset: usize) -> String {
    struct Frame {
        open: char,
        key: Option<String>,
        index: usize,
    }
    let chars: Vec<char> = text.chars().collect();
    let end = offset.min(chars.len());
    let mut frames: Vec<Frame> = Vec::new();
    let mut pending: Option<String> = None;
    let mut i = 0;
    while i < end {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < end && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            // Block comments nest in RON.
            let mut depth = 0usize;
            while i < end {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' || c == '\'' {
            pending = None;
            i += 1;
            while i < end && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c == 'r' && matches!(next, Some('#') | Some('"')) {
            // A raw string r#"…"#.
            pending = None;
            let mut hashes = 0;
            i += 1;
            while i < end && chars[i] == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1;
            while i < end {
                if chars[i] == '"' && (1..=hashes).all(|h| chars.get(i + h) == Some(&'#')) {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < end && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            pending = Some(chars[start..i].iter().collect());
        } else {
            match c {
                ':' => {
                    if let (Some(frame), Some(key)) = (frames.last_mut(), pending.take()) {
                        frame.key = Some(key);
                    }
                }
                '(' | '[' | '{' => frames.push(Frame {
                    open: c,
                    key: None,
                    index: 0,
                }),
                ')' | ']' | '}' => {
                    frames.pop();
                }
                ',' => {
                    if let Some(frame) = frames.last_mut() {
                        frame.index += 1;
                        frame.key = None;
                    }
                }
                _ => {}
            }
            pending = None;
            i += 1;
        }
    }
    let mut path = String::new();
    for frame in &frames {
        match (frame.open, &frame.key) {
            ('[', _) => path.push_str(&format!("[{}]", frame.index)),
            ('(', Some(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            _ => {}
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_scanner_follows_keys_lists_and_comments() {
        let text = "( // a comment (with parens\n  government: ( shares: (inside: 0.5, outside: ";
        assert_eq!(
            field_path_at(text, text.chars().count()),
            "government.shares.outside"
        );
        let text = "(sectors: [(name: \"a,b(\"), (name: \"c\", entry_rate: ";
        assert_eq!(
            field_path_at(text, text.chars().count()),
            "sectors[1].entry_rate"
        );
        let text = "(relatedness: [[1.0, 0.1], [0.1, /* x */ ";
        assert_eq!(
            field_path_at(text, text.chars().count()),
            "relatedness[1][1]"
        );
        let text = "(infrastructure: (occupancy_gate: Some(";
        assert_eq!(
            field_path_at(text, text.chars().count()),
            "infrastructure.occupancy_gate"
        );
    }

    #[test]
    fn char_offset_counts_lines_and_columns_from_one() {
        let text = "ab\ncd\nef";
        assert_eq!(char_offset(text, 1, 1), 0);
        assert_eq!(char_offset(text, 2, 2), 4);
        assert_eq!(char_offset(text, 3, 1), 6);
    }

    #[test]
    fn is_under_is_segment_aware() {
        assert!(is_under("government.shares.inside", "government.shares"));
        assert!(is_under("sectors[1].name", "sectors"));
        assert!(!is_under("government.shares_x", "government.shares"));
    }
}
