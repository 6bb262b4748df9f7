//! Progress on the terminal: a spinner per stage when stderr is a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Reports stages as they start and finish.
pub struct Progress {
    interactive: bool,
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Progress {
    /// A reporter on stderr.
    pub fn new() -> Progress {
        Progress {
            interactive: std::io::stderr().is_terminal(),
            bar: None,
            started: Instant::now(),
        }
    }

    /// A stage begins.
    pub fn start(&mut self, stage: &str) {
        self.started = Instant::now();
        if self.interactive {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_message(stage.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            self.bar = Some(bar);
        }
    }

    /// The current stage ends; `ok` picks the mark.
    pub fn finish(&mut self, stage: &str, ok: bool, detail: &str) {
        let elapsed = self.started.elapsed();
        let mark = if ok { "ok  " } else { "FAIL" };
        let line = format!(
            "{mark} {stage:<11} {:>8.1} ms  {detail}",
            elapsed.as_secs_f64() * 1000.0
        );
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        eprintln!("{line}");
    }
}
