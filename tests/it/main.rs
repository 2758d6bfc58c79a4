mod slurm;
mod cli;
mod config;
