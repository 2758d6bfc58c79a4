mod slurm;
mod cli;
mod config;
mod plot;
