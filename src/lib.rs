//! clustersim: an agent-based simulator of industrial-cluster growth.
//!
//! See ARCHITECTURE.md for the map. `model` is the pure core; `config`,
//! `experiment`, `output` and `app` form the shell around it.

/// mimalloc instead of the system allocator for every program built on this
/// crate (the binary, tests, benches, examples): partner lists and per-site
/// buffers are many small vectors allocated and freed from several threads,
/// where glibc's malloc spent ≈ 8% of a big run. Allocation never changes a
/// result.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod app;
pub mod calibrate;
pub mod cli;
pub mod compare;
pub mod config;
pub mod experiment;
pub mod model;
pub mod output;
pub mod plot;
pub mod progress;
pub mod report;
pub mod rng;
pub mod sensitivity;
pub mod stats;
pub mod sweep;
pub mod validation;
