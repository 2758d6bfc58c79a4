//! Parameter sweeps (`clustersim sweep CONFIG --set PATH=V1,V2 … | --lhs K
//! --range PATH=LO..HI …`): a design of scenario variants, every one
//! validated before anything runs, each run by the Monte Carlo driver.
//!
//! A field is named by its path in the resolved scenario, as in validation
//! messages: `government.leakage`, `government.shares.outside`,
//! `sectors[2].entry_rate`. It is set on a JSON image of the scenario
//! (serde round trip), so every field the config accepts can be swept; an
//! integer field receives the rounded value.
//!
//! Designs: `--set` gives a full grid (every combination, the last `--set`
//! varying fastest); `--lhs K` gives K Latin-hypercube points over the
//! `--range` boxes (`stats::latin_hypercube`, seeded by the master seed).
//!
//! Outputs under `outputs/<config stem>_sweep/` (or `--out`):
//! `design.parquet` (column `point` (f64, like the tables' constant `point`
//! column), then one column per factor), and one run directory `point-NNNN/`
//! per point whose tables carry the constant columns `point` and every
//! factor's value, so a point's tables are tidy on their own and
//! `design.parquet` joins them on `point`. A factor's column is named by
//! [`column_name`] (`government.leakage` → `government__leakage`, safe in SQL
//! and R) and typed by the config field ([`factor_column`]): `Int64` for an
//! integer field, `Float64` for a float, `Boolean`, else `utf8` (enum variant
//! names). Every point uses the same master seed and runs (common random
//! numbers across the design).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use polars::prelude::{Column, DataFrame};
use serde_json::Value;

use crate::cli::SweepArgs;
use crate::config::Scenario;
use crate::experiment::{self, JobSpec};
use crate::output::layout::Shard;
use crate::output::tables::{self, Constant};

/// One swept parameter and the values it takes at each design point.
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub path: String,
    /// One value per design point.
    pub values: Vec<Value>,
}

/// A design: `points` rows over the factors.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    pub points: usize,
    pub factors: Vec<Factor>,
}

/// Parse `PATH=V1,V2,…`; each value is read as JSON (numbers, `true`, quoted
/// strings) and otherwise as a bare string (enum variant names).
pub fn parse_set(text: &str) -> anyhow::Result<(String, Vec<Value>)> {
    let Some((path, values)) = text.split_once('=') else {
        bail!("--set {text}: expected PATH=V1,V2,… (e.g. government.leakage=0.1,0.3)");
    };
    let items: Vec<&str> = values.split(',').map(str::trim).collect();
    if path.trim().is_empty() || values.trim().is_empty() {
        bail!("--set {text}: expected PATH=V1,V2,… with at least one value");
    }
    if let Some(i) = items.iter().position(|v| v.is_empty()) {
        bail!(
            "--set {text}: value {} of the list is empty; expected PATH=V1,V2,… with no empty item",
            i + 1
        );
    }
    let values: Vec<Value> = items
        .iter()
        .map(|v| serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string())))
        .collect();
    Ok((path.trim().to_string(), values))
}

/// Parse `PATH=LO..HI` with finite LO < HI (the `--range` of `sweep`).
pub fn parse_range(text: &str) -> anyhow::Result<(String, f64, f64)> {
    parse_range_flag("--range", text)
}

/// Parse `PATH=LO..HI` with finite LO < HI; errors name `flag`.
pub fn parse_range_flag(flag: &str, text: &str) -> anyhow::Result<(String, f64, f64)> {
    let parsed = text.split_once('=').and_then(|(p, r)| {
        let (lo, hi) = r.split_once("..")?;
        Some((
            p.trim(),
            lo.trim().parse::<f64>().ok()?,
            hi.trim().parse::<f64>().ok()?,
        ))
    });
    match parsed {
        Some((p, lo, hi)) if !p.is_empty() && lo.is_finite() && hi.is_finite() && lo < hi => {
            Ok((p.to_string(), lo, hi))
        }
        _ => bail!(
            "{flag} {text}: expected PATH=LO..HI with numbers LO < HI (e.g. government.leakage=0.1..0.3)"
        ),
    }
}

/// The full grid over `sets`, the last factor varying fastest.
/// The most design points a sweep may have (grid or Latin hypercube).
pub const MAX_POINTS: usize = 10_000;

pub fn grid(sets: &[(String, Vec<Value>)]) -> Design {
    let points: usize = sets.iter().map(|(_, v)| v.len()).product();
    let mut factors: Vec<Factor> = sets
        .iter()
        .map(|(p, _)| Factor {
            path: p.clone(),
            values: Vec::with_capacity(points),
        })
        .collect();
    for i in 0..points {
        let mut rest = i;
        for (f, (_, values)) in factors.iter_mut().zip(sets).rev() {
            f.values.push(values[rest % values.len()].clone());
            rest /= values.len();
        }
    }
    Design { points, factors }
}

/// `k` Latin-hypercube points over the `ranges`, seeded by `seed`.
pub fn lhs(k: usize, ranges: &[(String, f64, f64)], seed: u64) -> Design {
    let unit = crate::stats::latin_hypercube(k, ranges.len(), seed);
    let factors = ranges
        .iter()
        .enumerate()
        .map(|(d, (path, lo, hi))| Factor {
            path: path.clone(),
            values: unit
                .iter()
                .map(|u| serde_json::json!(lo + u[d] * (hi - lo)))
                .collect(),
        })
        .collect();
    Design { points: k, factors }
}

/// Split `government.shares.outside` or `sectors[2].entry_rate` into keys and
/// indices.
enum Seg {
    Key(String),
    Index(usize),
}

fn segments(path: &str) -> anyhow::Result<Vec<Seg>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if key.is_empty() {
            bail!("`{path}`: empty field name");
        }
        out.push(Seg::Key(key.to_string()));
        while let Some(r) = rest.strip_prefix('[') {
            let Some((idx, tail)) = r.split_once(']') else {
                bail!("`{path}`: unclosed `[`");
            };
            let idx = idx
                .parse()
                .with_context(|| format!("`{path}`: `{idx}` is not a list index"))?;
            out.push(Seg::Index(idx));
            rest = tail;
        }
        if !rest.is_empty() {
            bail!("`{path}`: unexpected `{rest}`");
        }
    }
    Ok(out)
}

/// Set the field at `path` of a JSON scenario image to `value` and return the
/// value set: an integer field gets the rounded number. A missing field or
/// index is an error that lists what exists.
pub fn set_path(root: &mut Value, path: &str, value: &Value) -> anyhow::Result<Value> {
    let mut node = root;
    let mut at = String::new();
    for seg in segments(path)? {
        node = match seg {
            Seg::Key(k) => {
                let Value::Object(map) = node else {
                    bail!("`{path}`: `{at}` is not a struct, it has no field `{k}`");
                };
                let fields: Vec<String> = map.keys().cloned().collect();
                at = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                map.get_mut(&k).with_context(|| {
                    format!(
                        "`{path}`: no field `{k}` here (fields: {})",
                        fields.join(", ")
                    )
                })?
            }
            Seg::Index(i) => {
                let Value::Array(list) = node else {
                    bail!("`{path}`: `{at}` is not a list");
                };
                let len = list.len();
                at = format!("{at}[{i}]");
                list.get_mut(i)
                    .with_context(|| format!("`{path}`: index {i} out of range (length {len})"))?
            }
        };
    }
    let new = match (&*node, value) {
        (Value::Number(old), Value::Number(v)) if (old.is_u64() || old.is_i64()) && v.is_f64() => {
            let r = v.as_f64().unwrap_or(0.0).round();
            if r >= 0.0 {
                serde_json::json!(r as u64)
            } else {
                serde_json::json!(r as i64)
            }
        }
        _ => value.clone(),
    };
    *node = new.clone();
    Ok(new)
}

/// The scenario of design point `p`: `base` with every factor's value set,
/// then validated; the value a factor took is written back into the design
/// (integers rounded). Errors name the point, the field and what is allowed.
pub fn point_scenario(base: &Scenario, design: &mut Design, p: usize) -> anyhow::Result<Scenario> {
    let mut image = serde_json::to_value(base).context("serializing the scenario")?;
    for f in &mut design.factors {
        f.values[p] = set_path(&mut image, &f.path, &f.values[p])
            .with_context(|| format!("design point {p}"))?;
    }
    let describe = || {
        design
            .factors
            .iter()
            .map(|f| format!("{}={}", f.path, f.values[p]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let scenario: Scenario = serde_json::from_value(image).with_context(|| {
        format!(
            "design point {p} ({}): a value has the wrong type",
            describe()
        )
    })?;
    let issues = crate::config::validate::validate(&scenario);
    if !issues.is_empty() {
        let list: Vec<String> = issues.iter().map(|i| format!("  {i}")).collect();
        bail!(
            "design point {p} ({}) is not a valid scenario:\n{}",
            describe(),
            list.join("\n")
        );
    }
    Ok(scenario)
}

/// The scenarios of every design point ([`point_scenario`]), all checked
/// before any is used; the first invalid point is the error.
pub fn point_scenarios(
    base: &Scenario,
    design: &mut Design,
    config: &Path,
) -> anyhow::Result<Vec<Scenario>> {
    (0..design.points)
        .map(|p| point_scenario(base, design, p))
        .collect::<anyhow::Result<Vec<_>>>()
        .with_context(|| format!("checking the design over {}", config.display()))
}

/// The config file stem and the output directory of a design job: `out`, or
/// `outputs/<stem>_<suffix>`.
pub fn out_dir(config: &Path, out: Option<&PathBuf>, suffix: &str) -> (String, PathBuf) {
    let stem = config
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let dir = out
        .cloned()
        .unwrap_or_else(|| PathBuf::from("outputs").join(format!("{stem}_{suffix}")));
    (stem, dir)
}

/// The column name of a swept path, safe in SQL and R without quoting:
/// `.` becomes `__`, `[i]` becomes `_i`, any other character but ASCII
/// letters, digits and `_` becomes `_`, and a leading digit gets a `p_`
/// prefix: `government.leakage` → `government__leakage`,
/// `sectors[2].entry_rate` → `sectors_2__entry_rate`.
pub fn column_name(path: &str) -> String {
    let mut out = String::new();
    for c in path.trim().chars() {
        match c {
            '.' => out.push_str("__"),
            '[' => out.push('_'),
            ']' => {}
            c if c.is_ascii_alphanumeric() || c == '_' => out.push(c),
            _ => out.push('_'),
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "p_");
    }
    out
}

/// The value at `path` of a JSON scenario image, if there is one.
fn get_path<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = root;
    for seg in segments(path).ok()? {
        node = match seg {
            Seg::Key(k) => node.get(k)?,
            Seg::Index(i) => node.get(i)?,
        };
    }
    Some(node)
}

/// The typed values of a factor, one per point, as the constant columns of
/// its points' tables: `Int64` when the config field is an integer (the
/// values are rounded by [`set_path`]), `Float64` for a float field,
/// `Boolean` for a flag, `utf8` otherwise (enum names; other JSON as its
/// text). `field` is the field's value in the base scenario (`None`: typed
/// from the values alone).
pub fn factor_column(field: Option<&Value>, values: &[Value]) -> Vec<Constant> {
    let all = |f: fn(&Value) -> bool| values.iter().all(f);
    let int = match field {
        Some(Value::Number(n)) => !n.is_f64() && all(|v| v.is_i64() || v.is_u64()),
        Some(_) => false,
        None => all(|v| v.is_i64() || v.is_u64()),
    };
    let float = !int && all(Value::is_number) && !matches!(field, Some(Value::String(_)));
    values
        .iter()
        .map(|v| match v {
            _ if int => Constant::Int(
                v.as_i64()
                    .unwrap_or_else(|| v.as_u64().map_or(i64::MAX, |u| u as i64)),
            ),
            _ if float => Constant::Float(v.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) if all(Value::is_boolean) => Constant::Bool(*b),
            Value::String(t) => Constant::Text(t.clone()),
            other => Constant::Text(other.to_string()),
        })
        .collect()
}

/// The typed factor columns of a design (after [`point_scenarios`] has
/// written back the values set): (column name, one value per point). Errors
/// when two paths share a column name or a name is already a column of the
/// run tables.
pub fn factor_columns(
    base: &Scenario,
    design: &Design,
) -> anyhow::Result<Vec<(String, Vec<Constant>)>> {
    let image = serde_json::to_value(base).context("serializing the scenario")?;
    let mut taken: Vec<(String, String)> = vec![("point".into(), "the design point".into())];
    for t in tables::Table::ALL {
        let df = tables::frame(t, &[], 0, &[], &[]).context("building an empty table")?;
        for c in df.get_column_names() {
            taken.push((c.to_string(), format!("a column of the {} table", t.name())));
        }
    }
    let mut out = Vec::new();
    for f in &design.factors {
        let name = column_name(&f.path);
        if let Some((_, what)) = taken.iter().find(|(n, _)| *n == name) {
            bail!(
                "swept path `{}`: its column name `{name}` is already {what}; sweep each field once",
                f.path
            );
        }
        taken.push((name.clone(), format!("the column of `{}`", f.path)));
        out.push((name, factor_column(get_path(&image, &f.path), &f.values)));
    }
    Ok(out)
}

/// `design.parquet` of a sweep: `point` (f64), then every factor's typed
/// column ([`factor_columns`]).
pub fn sweep_design_frame(
    design: &Design,
    columns: &[(String, Vec<Constant>)],
) -> anyhow::Result<DataFrame> {
    let mut cols = vec![Column::new(
        "point".into(),
        (0..design.points).map(|p| p as f64).collect::<Vec<f64>>(),
    )];
    for (name, values) in columns {
        let parts: Vec<Column> = values.iter().map(|v| v.column(name, 1)).collect();
        let mut col = match parts.first() {
            Some(c) => c.clone(),
            None => Column::new(name.as_str().into(), Vec::<f64>::new()),
        };
        for c in parts.iter().skip(1) {
            col.append(c).context("building design.parquet")?;
        }
        cols.push(col);
    }
    DataFrame::new_infer_height(cols).context("building design.parquet")
}

/// The Parquet metadata of a `design.parquet` (sweep's and sensitivity's):
/// provenance, `clustersim.table` = `design`, `clustersim.factors` (JSON
/// object: column name of [`factor_columns`] → config path), the base
/// scenario's `clustersim.config_sha256`, `clustersim.seed` and
/// `clustersim.runs`.
pub fn design_metadata(
    base: &Scenario,
    design: &Design,
    columns: &[(String, Vec<Constant>)],
    seed: u64,
    runs: u32,
) -> Vec<(String, String)> {
    let mut meta = crate::output::manifest::build_metadata();
    meta.push(("clustersim.table".to_string(), "design".to_string()));
    let paths: serde_json::Map<String, Value> = columns
        .iter()
        .zip(&design.factors)
        .map(|((name, _), f)| (name.clone(), Value::String(f.path.clone())))
        .collect();
    meta.push((
        "clustersim.factors".to_string(),
        Value::Object(paths).to_string(),
    ));
    meta.push((
        "clustersim.config_sha256".to_string(),
        crate::output::manifest::sha256_hex(experiment::scenario_ron(base).as_bytes()),
    ));
    meta.push(("clustersim.seed".to_string(), seed.to_string()));
    meta.push(("clustersim.runs".to_string(), runs.to_string()));
    meta
}

/// What a sweep wrote.
#[derive(Debug, Clone)]
pub struct SweepReport {
    pub out_dir: PathBuf,
    pub design: Design,
    pub design_file: PathBuf,
    /// One run directory per point.
    pub dirs: Vec<PathBuf>,
}

/// Build the design of `args`, validate every point, then run them all.
pub fn run_sweep(args: &SweepArgs, command_line: Vec<String>) -> anyhow::Result<SweepReport> {
    let base = crate::config::load(&args.config)?;
    let seed = args.seed.unwrap_or(base.monte_carlo.seed);
    let runs = args.runs.unwrap_or(base.monte_carlo.runs);
    let mut design = match (args.set.is_empty(), args.lhs) {
        (false, None) => {
            let sets = args
                .set
                .iter()
                .map(|s| parse_set(s))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let points = sets
                .iter()
                .try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()))
                .filter(|n| *n <= MAX_POINTS);
            if points.is_none() {
                bail!(
                    "--set: the grid has {} points; at most {MAX_POINTS} are allowed",
                    sets.iter()
                        .map(|(_, v)| v.len().to_string())
                        .collect::<Vec<_>>()
                        .join("×")
                );
            }
            grid(&sets)
        }
        (true, Some(k)) => {
            if k == 0 || args.range.is_empty() {
                bail!("--lhs {k}: give K >= 1 and at least one --range PATH=LO..HI");
            }
            if k > MAX_POINTS {
                bail!("--lhs {k}: at most {MAX_POINTS} design points are allowed");
            }
            let ranges = args
                .range
                .iter()
                .map(|r| parse_range(r))
                .collect::<anyhow::Result<Vec<_>>>()?;
            lhs(k, &ranges, seed)
        }
        _ => bail!(
            "sweep needs either --set PATH=V1,V2,… (a grid) or --lhs K with --range PATH=LO..HI (a Latin hypercube)"
        ),
    };
    let scenarios = point_scenarios(&base, &mut design, &args.config)?;
    let (stem, out_dir) = out_dir(&args.config, args.out.as_ref(), "sweep");
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let columns = factor_columns(&base, &design)?;
    let design_file = out_dir.join("design.parquet");
    let mut df = sweep_design_frame(&design, &columns)?;
    let meta = design_metadata(&base, &design, &columns, seed, runs);
    crate::output::parquet::write_atomic(&design_file, &mut df, &meta, &|_| None)?;

    experiment::install_ctrl_c();
    let mut dirs = Vec::new();
    for (p, scenario) in scenarios.into_iter().enumerate() {
        let dir = out_dir.join(format!("point-{p:04}"));
        if !args.job.quiet {
            eprintln!(
                "sweep: point {p} of {} into {}",
                design.points,
                dir.display()
            );
        }
        experiment::run_job(&JobSpec {
            scenario_ron: experiment::scenario_ron(&scenario),
            scenario,
            name: format!("{stem}_sweep/point-{p:04}"),
            out_dir: dir.clone(),
            runs,
            seed,
            threads: args.job.threads,
            shard: Shard::default(),
            keep_firms: false,
            force: args.job.force,
            resume: args.job.resume,
            batch: 64,
            quiet: args.job.quiet,
            extra: std::iter::once(("point".to_string(), Constant::Float(p as f64)))
                .chain(columns.iter().map(|(n, v)| (n.clone(), v[p].clone())))
                .collect(),
            record: Default::default(),
            command_line: command_line.clone(),
        })
        .with_context(|| format!("running design point {p}"))?;
        dirs.push(dir);
    }
    Ok(SweepReport {
        out_dir,
        design,
        design_file,
        dirs,
    })
}

/// `clustersim sweep`.
pub fn sweep_command(args: &SweepArgs) -> anyhow::Result<()> {
    let report = run_sweep(args, std::env::args().collect())?;
    println!(
        "{} design points, {} factor(s): wrote {} and {}/point-*/",
        report.design.points,
        report.design.factors.len(),
        report.design_file.display(),
        report.out_dir.display()
    );
    if args.report {
        println!(
            "wrote {}",
            crate::report::write_report(&report.out_dir)?.display()
        );
    }
    Ok(())
}

/// The run directory of design point `p` under a sweep directory.
pub fn point_dir(out_dir: &Path, p: usize) -> PathBuf {
    out_dir.join(format!("point-{p:04}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_and_range_arguments_parse() {
        let (p, v) = parse_set("government.leakage=0.1, 0.3").unwrap();
        assert_eq!(p, "government.leakage");
        assert_eq!(v, vec![json!(0.1), json!(0.3)]);
        let (_, v) = parse_set("government.outside_rule=Balanced,\"Showcase\"").unwrap();
        assert_eq!(v, vec![json!("Balanced"), json!("Showcase")]);
        assert!(parse_set("government.leakage").is_err());
        assert!(parse_set("x=").is_err());
        assert!(parse_set("x=0.1,,0.2").is_err());
        assert!(parse_set("x=0.1,").is_err());
        assert_eq!(
            parse_range("government.leakage=0.1..0.3").unwrap(),
            ("government.leakage".to_string(), 0.1, 0.3)
        );
        assert!(parse_range("a=0.3..0.1").is_err());
        assert!(parse_range("a=x..1").is_err());
    }

    #[test]
    fn grid_varies_the_last_factor_fastest() {
        let d = grid(&[
            ("a".into(), vec![json!(1), json!(2)]),
            ("b".into(), vec![json!(10), json!(20), json!(30)]),
        ]);
        assert_eq!(d.points, 6);
        assert_eq!(d.factors[0].values, [1, 1, 1, 2, 2, 2].map(|v| json!(v)));
        assert_eq!(
            d.factors[1].values,
            [10, 20, 30, 10, 20, 30].map(|v| json!(v))
        );
    }

    #[test]
    fn lhs_points_stay_in_their_ranges_one_per_stratum() {
        let d = lhs(10, &[("a".into(), 2.0, 4.0), ("b".into(), -1.0, 1.0)], 7);
        assert_eq!(d.points, 10);
        let mut strata: Vec<usize> = d.factors[0]
            .values
            .iter()
            .map(|v| ((v.as_f64().unwrap() - 2.0) / 0.2).floor() as usize)
            .collect();
        strata.sort_unstable();
        assert_eq!(strata, (0..10).collect::<Vec<_>>());
        assert!(d.factors[1]
            .values
            .iter()
            .all(|v| v.as_f64().unwrap().abs() < 1.0));
    }

    #[test]
    fn paths_set_fields_lists_and_round_integers() {
        let mut v = json!({"government": {"leakage": 0.3, "shares": {"outside": 0.5}},
                           "sectors": [{"entry_rate": 1.0}, {"entry_rate": 2.0}],
                           "time": {"steps": 40}});
        set_path(&mut v, "government.shares.outside", &json!(0.25)).unwrap();
        set_path(&mut v, "sectors[1].entry_rate", &json!(7.5)).unwrap();
        assert_eq!(
            set_path(&mut v, "time.steps", &json!(12.6)).unwrap(),
            json!(13)
        );
        assert_eq!(v["government"]["shares"]["outside"], json!(0.25));
        assert_eq!(v["sectors"][1]["entry_rate"], json!(7.5));
        assert_eq!(v["time"]["steps"], json!(13));
        let err = set_path(&mut v, "government.leakge", &json!(0.1)).unwrap_err();
        assert!(format!("{err}").contains("no field `leakge`"), "{err}");
        assert!(format!("{err}").contains("leakage"), "{err}");
        let err = set_path(&mut v, "sectors[5].entry_rate", &json!(1)).unwrap_err();
        assert!(
            format!("{err}").contains("out of range (length 2)"),
            "{err}"
        );
    }

    #[test]
    fn columns_are_named_safely_and_typed_by_the_field() {
        assert_eq!(column_name("government.leakage"), "government__leakage");
        assert_eq!(
            column_name("sectors[2].entry_rate"),
            "sectors_2__entry_rate"
        );
        assert_eq!(column_name("a-b.c d"), "a_b__c_d");
        assert_eq!(column_name("3x"), "p_3x");
        // An integer field stays integer; a float field given whole numbers
        // is still a float column.
        assert_eq!(
            factor_column(Some(&json!(40)), &[json!(40), json!(41)]),
            [Constant::Int(40), Constant::Int(41)]
        );
        assert_eq!(
            factor_column(Some(&json!(0.3)), &[json!(1), json!(0.5)]),
            [Constant::Float(1.0), Constant::Float(0.5)]
        );
        assert_eq!(
            factor_column(Some(&json!("Balanced")), &[json!("Equal")]),
            [Constant::Text("Equal".into())]
        );
        assert_eq!(
            factor_column(Some(&json!(false)), &[json!(true)]),
            [Constant::Bool(true)]
        );
        let base = crate::config::embedded_default();
        let d = grid(&[
            ("government.leakage".into(), vec![json!(0.1)]),
            ("government.leakage".into(), vec![json!(0.2)]),
        ]);
        let err = format!("{:#}", factor_columns(&base, &d).unwrap_err());
        assert!(err.contains("government__leakage"), "{err}");
    }

    #[test]
    fn every_point_is_validated_and_set_on_the_real_scenario() {
        let base = crate::config::embedded_default();
        let mut d = grid(&[("government.leakage".into(), vec![json!(0.1), json!(1.5)])]);
        let s = point_scenario(&base, &mut d, 0).unwrap();
        assert_eq!(s.government.leakage, 0.1);
        let err = format!("{:#}", point_scenario(&base, &mut d, 1).unwrap_err());
        assert!(
            err.contains("design point 1") && err.contains("government.leakage"),
            "{err}"
        );
        let columns = factor_columns(&base, &d).unwrap();
        let frame = sweep_design_frame(&d, &columns).unwrap();
        let names: Vec<&str> = frame
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect();
        assert_eq!(names, ["point", "government__leakage"]);
        let meta = design_metadata(&base, &d, &columns, 7, 3);
        let factors = meta
            .iter()
            .find(|(k, _)| k == "clustersim.factors")
            .unwrap();
        assert_eq!(factors.1, r#"{"government__leakage":"government.leakage"}"#);
    }
}
