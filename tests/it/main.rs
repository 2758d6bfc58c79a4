mod slurm;
mod cli;
mod config;
mod plot;
mod golden;
mod montecarlo;
mod readers;
mod resume;
