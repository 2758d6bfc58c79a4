//! `clustersim verify DIR [--sample K]`: reproduce a job from its manifests.
//!
//! 1. Every part file recorded in every manifest is checked: size, rows,
//!    footer metadata and SHA-256 ([`super::jobdir::check_part`]).
//! 2. K runs (all, without `--sample`) are simulated again from the
//!    manifest's embedded config and seed, their tables built as the writer
//!    builds them, and the content digest of their rows
//!    ([`super::digest`]) compared with the digest the manifest recorded.
//!
//! One line per run says `match` or `MISMATCH`; any mismatch, damaged part or
//! missing digest makes the command fail (exit code 2).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

use super::jobdir::{self, PartCheck};
use super::layout;
use super::manifest::{Manifest, Status};
use super::tables::{self, RunOutput, Table};

/// What `verify` found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VerifyReport {
    /// The text printed (one line per check and run).
    pub text: String,
    /// Runs re-simulated.
    pub checked: usize,
    /// Runs whose digest differs, and damaged or unrecorded parts.
    pub problems: Vec<String>,
}

/// The runs to re-run: all of `runs` when `sample` is `None` or at least
/// their number, else `sample` runs spread evenly (first and last included).
pub fn sample_runs(runs: &[u32], sample: Option<usize>) -> Vec<u32> {
    match sample {
        Some(k) if k < runs.len() => {
            if k == 0 {
                return Vec::new();
            }
            if k == 1 {
                return vec![runs[0]];
            }
            let n = runs.len() - 1;
            (0..k).map(|i| runs[i * n / (k - 1)]).collect()
        }
        _ => runs.to_vec(),
    }
}

/// Verify the job in `dir` (see the module doc).
pub fn verify_dir(
    dir: &Path,
    sample: Option<usize>,
    threads: Option<usize>,
) -> anyhow::Result<VerifyReport> {
    let manifests: Vec<(std::path::PathBuf, Manifest)> = layout::list_manifests(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .into_iter()
        .map(|p| Manifest::read(&p).map(|m| (p, m)))
        .collect::<Result<_, _>>()?;
    anyhow::ensure!(
        !manifests.is_empty(),
        "{} holds no manifest.json or manifest-part-*.json: not an output directory of `clustersim run`",
        dir.display()
    );
    let mut report = VerifyReport::default();
    let mut digests: BTreeMap<u32, (String, usize)> = BTreeMap::new();
    for (i, (path, m)) in manifests.iter().enumerate() {
        if let Some((field, a, b)) = jobdir::job_difference(m, &manifests[0].1) {
            report.problems.push(format!(
                "{} has {field} {a} but {} has {b}: these shards belong to different jobs",
                path.display(),
                manifests[0].0.display()
            ));
        }
        let sha = super::manifest::sha256_hex(m.config_ron.as_bytes());
        if sha != m.config_sha256 {
            report.problems.push(format!(
                "{}: config_sha256 {} is not the SHA-256 of its config_ron ({sha})",
                path.display(),
                m.config_sha256
            ));
        }
        if m.status != Status::Complete {
            report.problems.push(format!(
                "{} has status {:?}, not complete",
                path.display(),
                m.status
            ));
        }
        anyhow::ensure!(
            !m.digest_scheme.is_empty(),
            "{} records no run digests (written by clustersim {} before `verify` existed)",
            path.display(),
            m.clustersim_version
        );
        let tables = jobdir::manifest_tables(m);
        let (_, damaged) = jobdir::verified_batches(dir, m, &tables, PartCheck::Hash);
        report.problems.extend(damaged);
        writeln!(
            report.text,
            "{}: {} part files checked (size, rows, metadata, SHA-256)",
            path.display(),
            m.parts.len()
        )?;
        for (run, d) in &m.run_digests {
            digests.insert(*run, (d.clone(), i));
        }
    }
    let all: Vec<u32> = digests.keys().copied().collect();
    let chosen = sample_runs(&all, sample);
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    // The scenario of each manifest, parsed once.
    let mut scenarios = BTreeMap::new();
    for (i, (path, m)) in manifests.iter().enumerate() {
        let scenario = crate::config::load_str(&m.config_ron, path)
            .with_context(|| format!("the config embedded in {}", path.display()))?;
        scenarios.insert(i, scenario);
    }
    let results: Vec<(u32, String, String)> = pool.install(|| {
        use rayon::prelude::*;
        chosen
            .par_iter()
            .map(|&run| -> anyhow::Result<(u32, String, String)> {
                let (recorded, i) = &digests[&run];
                let m = &manifests[*i].1;
                let output = RunOutput {
                    run,
                    record: crate::model::simulate(
                        &scenarios[i],
                        m.seed,
                        u64::from(run),
                        m.keep_firms,
                    ),
                };
                let outputs = [output];
                let frames = jobdir::manifest_tables(m)
                    .into_iter()
                    .map(|t| {
                        let df = tables::frame(
                            t,
                            &outputs,
                            m.seed,
                            &m.extra,
                            &tables::sector_names(&scenarios[i]),
                        )?;
                        let steps = scenarios[i].time.steps;
                        Ok((t, tables::thin(t, df, m.record_every, steps)?))
                    })
                    .collect::<polars::prelude::PolarsResult<Vec<(Table, _)>>>()?;
                let refs: Vec<_> = frames.iter().map(|(t, df)| (*t, df)).collect();
                let got = super::digest::run_digests(&refs)?
                    .remove(&run)
                    .unwrap_or_default();
                Ok((run, recorded.clone(), got))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    for (run, recorded, got) in results {
        report.checked += 1;
        if recorded == got {
            writeln!(report.text, "run {run}: match")?;
        } else {
            writeln!(
                report.text,
                "run {run}: MISMATCH (recorded {recorded}, recomputed {got})"
            )?;
            report.problems.push(format!(
                "run {run}: the recomputed rows differ from the recorded digest"
            ));
        }
    }
    writeln!(
        report.text,
        "{} of {} recorded runs re-run; {} problem(s)",
        report.checked,
        all.len(),
        report.problems.len()
    )?;
    Ok(report)
}

/// `clustersim verify DIR [--sample K]`.
pub fn verify_command(args: &crate::cli::VerifyArgs) -> anyhow::Result<()> {
    let report = verify_dir(&args.dir, args.sample, args.threads)?;
    print!("{}", report.text);
    if !report.problems.is_empty() {
        anyhow::bail!(
            "{} does not verify:\n  {}",
            args.dir.display(),
            report.problems.join("\n  ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_spread_over_the_runs() {
        let runs: Vec<u32> = (0..10).collect();
        assert_eq!(sample_runs(&runs, None), runs);
        assert_eq!(sample_runs(&runs, Some(20)), runs);
        assert_eq!(sample_runs(&runs, Some(3)), vec![0, 4, 9]);
        assert_eq!(sample_runs(&runs, Some(1)), vec![0]);
    }
}
