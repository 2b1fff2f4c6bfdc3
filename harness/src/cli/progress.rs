//! What the command line shows while a run goes on: each is a
//! [`Subscriber`] of the run's events, writing to stderr (stdout holds the
//! report).
//!
//! - [`ScenarioProgress`]: `socklab run` and `socklab check`, a line per
//!   scenario as it finishes (and the build's outcome); in a terminal under
//!   a live status line (indicatif) naming the scenarios still running,
//!   elsewhere as plain lines;
//! - [`ClassBar`] (a terminal): the class's scenarios done, with each
//!   student in progress and how far they are, and a line per student as
//!   they finish; [`ClassLines`] (a log): a line per student;
//! - [`Warnings`]: what the person running socklab should know.
//!
//! Colour only on a terminal, and never when `NO_COLOR` is set
//! (<https://no-color.org>).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use socklab_report::points::format_points;
use socklab_report::verdict::Verdict;
use socklab_report::{BuildReport, BuildStatus, ScenarioReport};

use crate::events::{Event, Subscriber, SubscriberError};
use crate::plan::Suite;

/// `x`, with -0.0 (from an empty f64 `sum()`, kept in older report.json
/// files) made 0.0 so that it does not print as `-0.00`.
fn no_negative_zero(x: f64) -> f64 {
    x + 0.0
}

/// Whether to colour what goes to a stream: only a terminal, and only when
/// `NO_COLOR` is unset or empty.
pub fn color_wanted(is_terminal: bool) -> bool {
    is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// ANSI colours, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn verdict(self, verdict: Verdict) -> String {
        let code = match verdict {
            Verdict::Pass => "32",
            Verdict::Fail => "31",
            Verdict::Skip => "33",
            Verdict::Info => "36",
            Verdict::Error => "35",
        };
        let label = format!("{:<5}", verdict.label());
        if self.0 {
            format!("\x1b[{code}m{label}\x1b[0m")
        } else {
            label
        }
    }
}

/// Where progress lines go: above a live status line in a terminal, or
/// plain onto a stream.
enum Sink {
    Live(indicatif::ProgressBar),
    Plain(Mutex<Box<dyn Write + Send>>),
}

impl Sink {
    fn line(&self, text: &str) {
        match self {
            Sink::Live(bar) => bar.println(text),
            Sink::Plain(out) => {
                if let Ok(mut out) = out.lock() {
                    // A progress line that cannot be written is not worth
                    // stopping a run for.
                    let _ = writeln!(out, "{text}");
                }
            }
        }
    }
}

/// How a scenario's points are shown: scaled to the lab's total the way
/// the report scales them, so the lines and the report agree.
fn points_factor(suite: &Suite) -> f64 {
    let points = suite
        .selection
        .as_ref()
        .map_or_else(|| suite.scored_points(), |s| s.suite_points);
    match suite.manifest.as_ref().and_then(|m| m.total) {
        Some(total) if points > 0.0 => total / points,
        _ => 1.0,
    }
}

/// The line of a finished scenario: verdict, name, points, time.
fn scenario_line(
    report: &ScenarioReport,
    factor: f64,
    paint: Paint,
    done: usize,
    total: usize,
) -> String {
    let points = if report.is_scored() {
        format!(
            "{} / {}",
            format_points(no_negative_zero(report.earned * factor)),
            format_points(report.points * factor)
        )
    } else {
        "not scored".to_string()
    };
    let width = total.to_string().len();
    format!(
        "[{done:>width$}/{total}] {}  {}  {points}  ({:.2} s)",
        paint.verdict(Verdict::of(report)),
        report.name,
        report.duration_secs
    )
}

/// The line of a finished build: ok, or which programs did not build.
fn build_line(build: &BuildReport) -> String {
    let built = build
        .programs
        .iter()
        .filter(|p| p.status == BuildStatus::Built)
        .count();
    if build.ok {
        return format!(
            "build: ok, {built} program(s) ({}, {:.2} s)",
            build.method, build.duration_secs
        );
    }
    let problems: Vec<String> = build
        .programs
        .iter()
        .filter(|p| p.status != BuildStatus::Built)
        .map(|p| format!("{} ({})", p.name, p.status.as_str()))
        .collect();
    if problems.is_empty() {
        format!("build: FAILED ({}); details in the report", build.method)
    } else {
        format!(
            "build: {built} program(s) built, not built: {}; details in the report",
            problems.join(", ")
        )
    }
}

/// Each scenario of one submission as it finishes, for `socklab run` and
/// `socklab check`: the build's outcome, then `[k/N] PASS  name  points
/// (time)` lines; in a terminal a status line below them counts the
/// scenarios done and names those still running.
pub struct ScenarioProgress {
    sink: Sink,
    paint: Paint,
    factor: f64,
    total: usize,
    done: AtomicUsize,
    running: Mutex<Vec<String>>,
}

impl ScenarioProgress {
    /// For stderr: live in a terminal, plain lines elsewhere.
    pub fn for_stderr(suite: &Suite) -> ScenarioProgress {
        if !std::io::stderr().is_terminal() {
            return Self::plain(suite, Box::new(std::io::stderr()));
        }
        let bar = Self::status_bar(suite.scenarios().count());
        Self::new(suite, Sink::Live(bar), color_wanted(true))
    }

    /// Plain lines into `out`, uncoloured.
    pub fn plain(suite: &Suite, out: Box<dyn Write + Send>) -> ScenarioProgress {
        Self::new(suite, Sink::Plain(Mutex::new(out)), false)
    }

    fn new(suite: &Suite, sink: Sink, color: bool) -> ScenarioProgress {
        ScenarioProgress {
            sink,
            paint: Paint(color),
            factor: points_factor(suite),
            total: suite.scenarios().count(),
            done: AtomicUsize::new(0),
            running: Mutex::new(Vec::new()),
        }
    }

    fn status_bar(total: usize) -> indicatif::ProgressBar {
        let bar = indicatif::ProgressBar::new(total as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos}/{len} scenarios  {elapsed}  {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    fn show_running(&self) {
        let Sink::Live(bar) = &self.sink else {
            return;
        };
        let running = self
            .running
            .lock()
            .map(|r| r.join(", "))
            .unwrap_or_default();
        bar.set_message(if running.is_empty() {
            String::new()
        } else {
            format!("running: {running}")
        });
    }
}

impl Subscriber for ScenarioProgress {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        match event {
            Event::BuildStarted { .. } => {
                if let Sink::Live(bar) = &self.sink {
                    bar.set_message("building the submission");
                }
            }
            Event::BuildFinished { build, .. } => {
                self.sink.line(&build_line(build));
                self.show_running();
            }
            Event::ScenarioStarted { scenario, .. } => {
                if let Ok(mut running) = self.running.lock() {
                    running.push(scenario.clone());
                }
                self.show_running();
            }
            Event::ScenarioFinished { report, .. } => {
                if let Ok(mut running) = self.running.lock() {
                    running.retain(|name| name != &report.name);
                }
                let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
                self.sink.line(&scenario_line(
                    report,
                    self.factor,
                    self.paint,
                    done,
                    self.total,
                ));
                if let Sink::Live(bar) = &self.sink {
                    bar.set_position(done as u64);
                }
                self.show_running();
            }
            Event::SubmissionFinished { .. } => {
                if let Sink::Live(bar) = &self.sink {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
        Ok(())
    }
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

/// A class in a terminal: a bar of the scenarios done over all students
/// (so its ETA means something from the first finished scenario), a
/// message naming each student in progress with their scenarios done, and
/// a line per student as they finish.
pub struct ClassBar {
    bar: indicatif::ProgressBar,
    /// Scenarios per student.
    scenarios: usize,
    state: Mutex<ClassState>,
}

/// Where a class stands: students finished, scenarios done per student in
/// progress.
#[derive(Default)]
struct ClassState {
    students: usize,
    finished: usize,
    in_progress: BTreeMap<String, usize>,
}

impl ClassBar {
    /// On stderr, for a suite of `scenarios` scenarios per student.
    pub fn new(scenarios: usize) -> ClassBar {
        Self::with_bar(indicatif::ProgressBar::new(0), scenarios)
    }

    fn with_bar(bar: indicatif::ProgressBar, scenarios: usize) -> ClassBar {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {pos}/{len} scenarios  {elapsed} elapsed, ETA {eta}  {wide_msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        ClassBar {
            bar,
            scenarios,
            state: Mutex::new(ClassState::default()),
        }
    }

    /// The message beside the bar: students done, then each student in
    /// progress with their scenarios done.
    fn message(&self, state: &ClassState) -> String {
        let mut text = format!("{}/{} students", state.finished, state.students);
        for (student, done) in &state.in_progress {
            text.push_str(&format!(" · {student} {done}/{}", self.scenarios));
        }
        text
    }
}

impl Subscriber for ClassBar {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        let Ok(mut state) = self.state.lock() else {
            return Ok(());
        };
        match event {
            Event::ClassStarted { submissions } => {
                state.students = *submissions;
                self.bar
                    .set_length((*submissions * self.scenarios).max(1) as u64);
            }
            Event::SubmissionStarted { submission } => {
                state.in_progress.insert(submission.clone(), 0);
            }
            Event::ScenarioFinished { submission, .. } => {
                *state.in_progress.entry(submission.clone()).or_default() += 1;
                self.bar.inc(1);
            }
            Event::SubmissionFinished { report, reused } => {
                // Students reused by --resume, or not graded at all, ran
                // none (or not all) of their scenarios: count them done.
                let ran = state.in_progress.remove(&report.submission).unwrap_or(0);
                self.bar.inc(self.scenarios.saturating_sub(ran) as u64);
                state.finished += 1;
                self.bar.println(format!(
                    "{}: {:.2}/{}{}",
                    report.submission,
                    no_negative_zero(report.score),
                    report.max_score,
                    if *reused {
                        " (unchanged, not re-graded)"
                    } else {
                        ""
                    }
                ));
            }
            Event::ClassFinished => {
                self.bar.finish_and_clear();
                return Ok(());
            }
            _ => return Ok(()),
        }
        self.bar.set_message(self.message(&state));
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use socklab_report::{ScenarioStatus, SubmissionReport};

    use super::*;

    fn scenario(name: &str, status: ScenarioStatus, earned: f64) -> ScenarioReport {
        serde_json::from_value(serde_json::json!({
            "name": name, "description": null, "source": "s.yaml:1",
            "status": status, "earned": earned, "points": 2.0, "observe": false,
            "checks": [], "reason": null, "transcripts": [], "duration_secs": 0.25, "tags": []
        }))
        .unwrap()
    }

    fn submission(name: &str) -> Arc<SubmissionReport> {
        Arc::new(
            serde_json::from_value(serde_json::json!({
                "submission": name, "lab": "l", "socklab_version": "0",
                "isolation": { "level": "loopback", "notes": [] }, "build": null,
                "scenarios": [], "score": 5.0, "max_score": 10.0, "duration_secs": 1.0
            }))
            .unwrap(),
        )
    }

    fn finished(student: &str, name: &str) -> Event {
        Event::ScenarioFinished {
            submission: student.into(),
            report: Box::new(scenario(name, ScenarioStatus::Passed, 2.0)),
        }
    }

    #[test]
    fn the_class_bar_counts_scenarios_per_student_as_they_finish() {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::hidden(),
        );
        let class = ClassBar::with_bar(bar.clone(), 3);
        let hear = |event: Event| class.on_event(&event).unwrap();
        hear(Event::ClassStarted { submissions: 3 });
        assert_eq!(bar.length(), Some(9), "3 students × 3 scenarios");
        hear(Event::SubmissionStarted {
            submission: "alice".into(),
        });
        hear(Event::SubmissionStarted {
            submission: "bob".into(),
        });
        hear(finished("alice", "a"));
        hear(finished("alice", "b"));
        hear(finished("bob", "a"));
        assert_eq!(
            bar.position(),
            3,
            "moves with each scenario, not each student"
        );
        assert_eq!(bar.message(), "0/3 students · alice 2/3 · bob 1/3");
        hear(finished("alice", "c"));
        hear(Event::SubmissionFinished {
            report: submission("alice"),
            reused: false,
        });
        assert_eq!(bar.position(), 4);
        assert_eq!(bar.message(), "1/3 students · bob 1/3");
        // A student reused by --resume runs nothing: all of theirs are done.
        hear(Event::SubmissionFinished {
            report: submission("carol"),
            reused: true,
        });
        assert_eq!(bar.position(), 7);
        assert_eq!(bar.message(), "2/3 students · bob 1/3");
    }

    /// A `Write` whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_per_scenario_with_its_verdict_and_points() {
        let step = "      - connect: c\n        to: \"127.0.0.1:1\"\n        refused: true\n";
        let source = format!(
            "scenarios:\n  - name: a\n    points: 2\n    steps:\n{step}  - name: b\n    points: 2\n    steps:\n{step}"
        );
        let file =
            socklab_scenario::parse_scenario_file(std::path::Path::new("s.yaml"), &source, None)
                .unwrap();
        let suite = Suite::new(None, vec![file]);
        let out = Shared::default();
        let progress = ScenarioProgress::plain(&suite, Box::new(out.clone()));
        progress
            .on_event(&Event::ScenarioFinished {
                submission: "alice".into(),
                report: Box::new(scenario("b", ScenarioStatus::Failed, 0.5)),
            })
            .unwrap();
        progress.on_event(&finished("alice", "a")).unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "[1/2] FAIL   b  0.5 / 2  (0.25 s)\n[2/2] PASS   a  2 / 2  (0.25 s)\n"
        );
    }
}
