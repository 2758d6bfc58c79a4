//! The cost of a growth firm-step's random numbers alone, and with the two
//! exponentials every firm-step takes, as the model draws them: ξ_A and ξ_S
//! (ziggurat normals), the exit uniform and, at a year's start, the Laplace
//! multiplier's Exp(1), from a fresh ChaCha8 stream (Growth, step, site)
//! for every site of M members (docs/performance.md, "The floor of the
//! random numbers"):
//!
//! ```text
//! cargo run --release --example draws -- 30
//! ```
//!
//! Prints nanoseconds per firm-step's draws, then per draws and two `exp`.

use clustersim::model::expo::exp;
use clustersim::model::zig::{exp1, standard_normal};
use clustersim::rng::{Purpose, RunStreams};
use rand::Rng;
use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

/// Firm-steps drawn for each figure.
const FIRM_STEPS: u64 = 40_000_000;
/// Sites a run's streams serve before the next run's.
const SITES_PER_RUN: u32 = 20_000;

fn main() {
    let members = match std::env::args().nth(1).map_or(Ok(30), |s| s.parse::<u32>()) {
        Ok(m) if m > 0 => m,
        _ => {
            eprintln!("usage: draws [MEMBERS PER SITE > 0]");
            std::process::exit(2);
        }
    };
    for with_exp in [false, true] {
        let start = Instant::now();
        let acc = firm_steps(members, with_exp);
        let ns = start.elapsed().as_secs_f64() / FIRM_STEPS as f64 * 1e9;
        let what = if with_exp {
            "draws and two exp"
        } else {
            "draws"
        };
        black_box(acc);
        // A closed pipe (`| head -1`) ends the program quietly.
        let line = format!("{members} members a site, {what}: {ns:.2} ns per firm-step");
        if writeln!(std::io::stdout(), "{line}").is_err() {
            return;
        }
    }
}

/// `FIRM_STEPS` firm-steps' draws (and exponentials), summed so that none
/// is optimised away; the sites' firm-steps are independent of each other.
fn firm_steps(members: u32, with_exp: bool) -> f64 {
    let mut acc = 0.0;
    let (mut done, mut site, mut run) = (0u64, 0u32, 0u64);
    let mut streams = RunStreams::new(1, run);
    while done < FIRM_STEPS {
        if site == SITES_PER_RUN {
            (run, site) = (run + 1, 0);
            streams = RunStreams::new(1, run);
        }
        let step = site % 40;
        let new_year = step % 4 == 0;
        let mut rng = streams.stream(Purpose::Growth, step, site);
        for _ in 0..members {
            let xi_a = standard_normal(&mut rng);
            let xi_s = standard_normal(&mut rng);
            let u: f64 = rng.random();
            let v = if new_year { exp1(&mut rng) } else { 1.0 };
            acc += if with_exp {
                exp(0.1 * xi_a) + exp(0.2 * xi_s) + u * v
            } else {
                xi_a + xi_s + u * v
            };
        }
        done += u64::from(members);
        site += 1;
    }
    acc
}
