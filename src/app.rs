//! The application shell: dispatches a parsed command line to the library and
//! maps errors to exit codes (0 success, 2 any error, with the cause chain on
//! stderr; a broken pipe exits 0).

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// Parse `args`, run the command, print errors and return the exit code.
pub fn main_entry<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            if err
                .downcast_ref::<crate::experiment::Interrupted>()
                .is_some()
            {
                // Ctrl-C: finished batches are kept; the message says how to resume.
                eprintln!("{err}");
                return ExitCode::from(130);
            }
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => crate::experiment::run_command(&cli.run),
        Some(Command::Run(args)) => crate::experiment::run_command(&args),
        Some(Command::Validate(args)) => crate::config::validate_command(&args),
        Some(Command::Summarize(args)) => crate::output::summarize_command(&args),
        Some(Command::Plot(args)) => crate::plot::plot_command(&args),
        Some(Command::Compare(args)) => crate::compare::compare_command(&args),
        Some(Command::Sweep(args)) => crate::sweep::sweep_command(&args),
        Some(Command::ValidateModel(args)) => crate::validation::validate_model_command(&args),
        Some(Command::Verify(args)) => crate::output::verify::verify_command(&args),
    }
}
