//! clustersim: an agent-based simulator of industrial-cluster growth.
//!
//! See ARCHITECTURE.md for the map. `model` is the pure core; `config`,
//! `experiment`, `output` and `app` form the shell around it.

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
