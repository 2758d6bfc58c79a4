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
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    if let Some(message) = mistyped_subcommand(&args) {
        eprintln!("{message}");
        return ExitCode::from(2);
    }
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

/// "did you mean …" for a first argument that is neither a subcommand nor an
/// existing file but is close to a subcommand name (`rnu`, `summarise`);
/// without this, clap takes it for the CONFIG of the implicit `run`.
fn mistyped_subcommand(args: &[OsString]) -> Option<String> {
    use clap::CommandFactory;
    let first = args.get(1)?.to_str()?;
    if first.starts_with('-') || std::path::Path::new(first).exists() || first.contains('.') {
        return None;
    }
    let cmd = Cli::command();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .chain(std::iter::once("help".to_string()))
        .collect();
    if names.iter().any(|n| n == first) {
        return None;
    }
    let best = names
        .iter()
        .map(|n| (edit_distance(first, n), n))
        .min()
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))?;
    Some(format!(
        "error: unrecognized subcommand '{first}'\n\n  tip: a similar subcommand exists: '{}'\n\nFor more information, try '--help'.",
        best.1
    ))
}

/// Levenshtein distance between two short words.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
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
        Some(Command::Calibrate(args)) => crate::calibrate::calibrate_command(&args),
        Some(Command::Sensitivity(args)) => crate::sensitivity::sensitivity_command(&args),
        Some(Command::Verify(args)) => crate::output::verify::verify_command(&args),
        Some(Command::Report(args)) => crate::report::report_command(&args),
        Some(Command::Export(args)) => crate::output::export::export_command(&args),
    }
}
