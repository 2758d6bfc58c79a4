//! Wall time of each phase of one run of `hanoi ×K` (the embedded default
//! scenario scaled by K) on T threads, to see which phases scale with the
//! thread count:
//!
//! ```text
//! cargo run --release --example phases -- 50 2
//! ```
//!
//! The run is the one `clustersim run --runs 1 --scale K --threads T` makes
//! (the scenario's master seed, run 0); the records are built but not
//! written.

use std::time::Instant;

fn main() {
    let arg = |i: usize, default: &str| std::env::args().nth(i).unwrap_or(default.into());
    let (k, threads) = match (arg(1, "1").parse::<f64>(), arg(2, "1").parse::<usize>()) {
        (Ok(k), Ok(t)) if k > 0.0 && t > 0 => (k, t),
        _ => {
            eprintln!("usage: phases [SCALE > 0] [THREADS > 0]");
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
    let start = Instant::now();
    let mut world = clustersim::model::World::new(&sc, sc.monte_carlo.seed, 0);
    secs[0] = start.elapsed().as_secs_f64();
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
        std::hint::black_box(world.record());
        add("record", lap.elapsed().as_secs_f64());
    }
    let total: f64 = secs.iter().sum();
    println!("hanoi x{k}, {threads} thread(s), {} steps", sc.time.steps);
    for (n, s) in names.iter().zip(&secs) {
        println!("{n:<15} {s:8.3} s {:5.1}%", 100.0 * s / total);
    }
    println!("{:<15} {total:8.3} s", "total");
}
