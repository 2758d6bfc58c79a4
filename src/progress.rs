//! The progress bar of a Monte Carlo job (indicatif; the only module that
//! uses it). It draws on stderr, only when stderr is a terminal and the job
//! is not `--quiet`, so piped output and logs stay clean.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Progress over the runs of one job.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar over `total` runs of which `done` are already written (resume);
    /// hidden when `quiet`.
    pub fn new(total: u64, done: u64, quiet: bool, label: &str) -> Progress {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let style = ProgressStyle::with_template(
            "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} runs ({rate}, eta {eta})",
        )
        .map(|s| {
            s.with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} runs/s", state.per_sec());
                },
            )
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        bar.set_position(done);
        bar.reset_eta();
        Progress { bar }
    }

    /// `n` more runs are done.
    pub fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Remove the bar (the job prints its own summary).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
