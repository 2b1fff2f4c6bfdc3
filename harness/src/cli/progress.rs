//! What the command line shows while a run goes on: each is a
//! [`Subscriber`] of the run's events.
//!
//! - [`ClassBar`] (a terminal) and [`ClassLines`] (a log): students done of
//!   a class;
//! - [`ScenarioLines`]: each scenario's verdict as it finishes, for
//!   `socklab run` in a terminal;
//! - [`Warnings`]: what the person running socklab should know, on stderr.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::events::{Event, Subscriber, SubscriberError};

/// `x`, with -0.0 (from an empty f64 `sum()`, kept in older report.json
/// files) made 0.0 so that it does not print as `-0.00`.
fn no_negative_zero(x: f64) -> f64 {
    x + 0.0
}

/// A line per student (used when stderr is not a terminal).
#[derive(Default)]
pub struct ClassLines {
    total: AtomicUsize,
    done: AtomicUsize,
}

impl Subscriber for ClassLines {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        match event {
            Event::ClassStarted { submissions } => {
                self.total.store(*submissions, Ordering::Relaxed);
                eprintln!("grading {submissions} submissions");
            }
            Event::SubmissionFinished { report, reused } => {
                let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
                eprintln!(
                    "[{done}/{}] {}: {:.2}/{}{}",
                    self.total.load(Ordering::Relaxed),
                    report.submission,
                    no_negative_zero(report.score),
                    report.max_score,
                    if *reused {
                        " (unchanged, not re-graded)"
                    } else {
                        ""
                    }
                );
            }
            _ => {}
        }
        Ok(())
    }
}

/// A progress bar with counts and ETA (indicatif hides it off a terminal).
pub struct ClassBar {
    bar: indicatif::ProgressBar,
}

impl Default for ClassBar {
    fn default() -> Self {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} students  {elapsed} elapsed, ETA {eta}  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        ClassBar { bar }
    }
}

impl Subscriber for ClassBar {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        match event {
            Event::ClassStarted { submissions } => self.bar.set_length(*submissions as u64),
            Event::SubmissionFinished { report, .. } => {
                self.bar.set_message(format!(
                    "{}: {:.1}/{}",
                    report.submission,
                    no_negative_zero(report.score),
                    report.max_score
                ));
                self.bar.inc(1);
            }
            Event::ClassFinished => self.bar.finish_and_clear(),
            _ => {}
        }
        Ok(())
    }
}

/// Each scenario's status as it finishes (`socklab run` in a terminal).
pub struct ScenarioLines;

impl Subscriber for ScenarioLines {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        if let Event::ScenarioFinished { report, .. } = event {
            eprintln!("  {:?}: {}", report.status, report.name);
        }
        Ok(())
    }
}

/// Warnings, as `socklab: …` lines on stderr.
pub struct Warnings;

impl Subscriber for Warnings {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        if let Event::Warning { message } = event {
            eprintln!("socklab: {message}");
        }
        Ok(())
    }
}
