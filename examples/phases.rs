//! Wall time of each phase of one run of `hanoi ×K` (the embedded default
//! scenario scaled by K) on T threads, to see which phases scale with the
//! thread count:
//!
//! ```text
//! cargo run --release --example phases -- 50 2
//! cargo run --release --example phases -- 1 1 200
//! ```
//!
//! The run is the one `clustersim run --runs 1 --scale K --threads T` makes
//! (the scenario's master seed, run 0); the records are built but not
//! written. A third argument R times runs 0..R one after another (the runs
//! `clustersim run --runs R` makes) and sums their phases, so that a small
//! world's phases can be compared with a big one's per firm-step.

use std::time::Instant;

fn main() {
    let arg = |i: usize, default: &str| std::env::args().nth(i).unwrap_or(default.into());
    let (k, threads, runs) = match (
        arg(1, "1").parse::<f64>(),
        arg(2, "1").parse::<usize>(),
        arg(3, "1").parse::<u64>(),
    ) {
        (Ok(k), Ok(t), Ok(r)) if k > 0.0 && t > 0 && r > 0 => (k, t, r),
        _ => {
            eprintln!("usage: phases [SCALE > 0] [THREADS > 0] [RUNS > 0]");
            std::process::exit(2);
        }
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("the global thread pool is built once");
    let sc = clustersim::config::embedded_default().scaled(k);
    let mut names: Vec<&'static str> = vec!["init"];
    let mut secs: Vec<f64> = vec![0.0];
    let mut firm_steps = 0u64;
    for run in 0..runs {
        let start = Instant::now();
        let mut world = clustersim::model::World::new(&sc, sc.monte_carlo.seed, run);
        secs[0] += start.elapsed().as_secs_f64();
        firm_steps += one_run(&sc, &mut world, &mut names, &mut secs);
    }
    let total: f64 = secs.iter().sum();
    println!(
        "hanoi x{k}, {threads} thread(s), {runs} run(s) of {} steps, {firm_steps} firm-steps, {:.3} µs each",
        sc.time.steps,
        1e6 * total / firm_steps as f64
    );
    for (n, s) in names.iter().zip(&secs) {
        println!("{n:<15} {s:8.3} s {:5.1}%", 100.0 * s / total);
    }
    println!("{:<15} {total:8.3} s", "total");
}

/// Steps `world` to its end, adding each phase's time to `secs` (named in
/// `names`); its firm-steps.
fn one_run(
    sc: &clustersim::config::Scenario,
    world: &mut clustersim::model::World,
    names: &mut Vec<&'static str>,
    secs: &mut Vec<f64>,
) -> u64 {
    let mut firm_steps = 0;
    let mut add = |name: &'static str, s: f64| match names.iter().position(|&n| n == name) {
        Some(i) => secs[i] += s,
        None => {
            names.push(name);
            secs.push(s);
        }
    };
    for _ in 0..sc.time.steps {
        let mut lap = Instant::now();
        world.step_with(|phase| {
            add(phase, lap.elapsed().as_secs_f64());
            lap = Instant::now();
        });
        let record = std::hint::black_box(world.record());
        add("record", lap.elapsed().as_secs_f64());
        firm_steps += record.0.firms;
    }
    firm_steps
}
