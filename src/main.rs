//! The `clustersim` binary: parse the command line, run, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    clustersim::app::main_entry(std::env::args_os())
}
