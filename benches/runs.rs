//! Benchmarks of the Monte Carlo job (issue 4): Hanoi baseline runs × 40 steps
//! with every Parquet table written, on 1 and 2 worker threads, and one run of
//! the model alone (firm-steps per second). Kept short by default; set
//! `CLUSTERSIM_BENCH_RUNS` for more runs per iteration (1000 for the
//! 1,000-run job), `CLUSTERSIM_BENCH_SCALES` for the scaled runs. The 1,000-run wall
//! time and peak memory are measured on the binary with `/usr/bin/time -v`
//! (see docs/outputs.md).

use std::time::Duration;

use clustersim::experiment::{self, JobSpec};
use clustersim::output::layout::Shard;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

fn job(out: &std::path::Path, runs: u32, threads: usize) -> JobSpec {
    let scenario = clustersim::config::embedded_default();
    JobSpec {
        scenario_ron: experiment::scenario_ron(&scenario),
        seed: scenario.monte_carlo.seed,
        scenario,
        name: "hanoi".into(),
        out_dir: out.to_path_buf(),
        runs,
        threads: Some(threads),
        shard: Shard::default(),
        keep_firms: false,
        force: true,
        resume: false,
        batch: 64,
        quiet: true,
        extra: Vec::new(),
        record: Default::default(),
        command_line: vec!["bench".into()],
    }
}

fn hanoi_job(c: &mut Criterion) {
    let runs: u32 = std::env::var("CLUSTERSIM_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut g = c.benchmark_group("hanoi_job_parquet");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(u64::from(runs)));
    for threads in [1usize, 2] {
        g.bench_with_input(BenchmarkId::new("threads", threads), &threads, |b, &t| {
            let spec = job(&dir.path().join(format!("t{t}")), runs, t);
            b.iter(|| experiment::run_job(&spec).expect("the job runs"));
        });
    }
    g.finish();
}

fn hanoi_simulate(c: &mut Criterion) {
    let scenario = clustersim::config::embedded_default();
    let seed = scenario.monte_carlo.seed;
    let rec = clustersim::model::simulate(&scenario, seed, 0, false);
    let firm_steps: u64 = rec.region.iter().skip(1).map(|r| r.firms).sum();
    let mut g = c.benchmark_group("hanoi_simulate_one_run");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(firm_steps));
    g.bench_function("firm_steps", |b| {
        b.iter(|| clustersim::model::simulate(&scenario, seed, 0, false))
    });
    g.finish();
}

/// The initial world alone (MODEL.md §5): clusters, areas and the 4,100
/// incumbents, each warmed up over its age (`initial.spin_up`), per
/// incumbent; against the same without the warm-up (measured: about a
/// sixth of a Hanoi run's time and a fifth of its instructions).
fn hanoi_init(c: &mut Criterion) {
    let scenario = clustersim::config::embedded_default();
    let seed = scenario.monte_carlo.seed;
    let mut cold = scenario.clone();
    cold.initial.spin_up = false;
    let incumbents =
        u64::from(scenario.initial.firms_in_clusters + scenario.initial.firms_residential);
    let mut g = c.benchmark_group("hanoi_init");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(incumbents));
    for (name, sc) in [("spin_up", &scenario), ("no_spin_up", &cold)] {
        g.bench_function(name, |b| {
            b.iter(|| clustersim::model::World::new(sc, seed, 0).firms.len())
        });
    }
    g.finish();
}

/// Cost per firm-step of one run of the scaled benchmark `hanoi ×k`
/// (MODEL.md §6), model only, on 1 and 2 threads (a big world runs its
/// warm-up, entrants' noise and growth phase over firms and sites in
/// parallel). Scales from `CLUSTERSIM_BENCH_SCALES` (comma-separated,
/// default "1,10"; "1,10,50,200" for the full curve: ×200 takes tens of
/// seconds per iteration), thread counts from `CLUSTERSIM_BENCH_THREADS`
/// (default "1,2").
fn scaled_simulate(c: &mut Criterion) {
    let list = |var: &str, default: &str| -> Vec<f64> {
        std::env::var(var)
            .unwrap_or_else(|_| default.into())
            .split(',')
            .filter_map(|k| k.trim().parse().ok())
            .collect()
    };
    let scales = list("CLUSTERSIM_BENCH_SCALES", "1,10");
    let threads = list("CLUSTERSIM_BENCH_THREADS", "1,2");
    let base = clustersim::config::embedded_default();
    let seed = base.monte_carlo.seed;
    let mut g = c.benchmark_group("scaled_simulate_one_run");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for k in scales {
        let scenario = base.scaled(k);
        let rec = clustersim::model::simulate(&scenario, seed, 0, false);
        let firm_steps: u64 = rec.region.iter().skip(1).map(|r| r.firms).sum();
        g.throughput(Throughput::Elements(firm_steps));
        for &t in &threads {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t as usize)
                .build()
                .expect("a thread pool");
            let id = BenchmarkId::new(format!("scale_{k}_threads"), t);
            g.bench_with_input(id, &scenario, |b, sc| {
                b.iter(|| pool.install(|| clustersim::model::simulate(sc, seed, 0, false)))
            });
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    hanoi_job,
    hanoi_simulate,
    hanoi_init,
    scaled_simulate
);
criterion_main!(benches);
