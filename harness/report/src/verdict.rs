//! The verdict a reader sees per scenario, shared by every reporter so the
//! terminal, the feedback pages and the gradebooks never disagree.

use crate::escape::{one_line, prose_line};
use crate::model::{CheckReport, CheckStatus, ScenarioReport, ScenarioStatus, SubmissionReport};

/// The one-word verdict of a scenario as reports print it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
    /// Observe-only: reported, never scored.
    Info,
    /// socklab could not run it; not the student's fault.
    Error,
}

impl Verdict {
    pub fn of(scenario: &ScenarioReport) -> Verdict {
        match scenario.status {
            ScenarioStatus::Passed => Verdict::Pass,
            ScenarioStatus::Failed => Verdict::Fail,
            ScenarioStatus::Observed => Verdict::Info,
            ScenarioStatus::Skipped => Verdict::Skip,
            ScenarioStatus::Error => Verdict::Error,
        }
    }

    /// `PASS`, `FAIL`, `SKIP`, `INFO` or `ERROR`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "SKIP",
            Verdict::Info => "INFO",
            Verdict::Error => "ERROR",
        }
    }

    /// A symbol for Markdown and HTML, where colour may not survive.
    pub fn icon(self) -> &'static str {
        match self {
            Verdict::Pass => "✅",
            Verdict::Fail => "❌",
            Verdict::Skip => "⏭️",
            Verdict::Info => "ℹ️",
            Verdict::Error => "⚠️",
        }
    }
}

/// Checks whose details a student needs: failed ones, and those socklab
/// itself could not carry out.
pub fn problem_checks(scenario: &ScenarioReport) -> impl Iterator<Item = &CheckReport> {
    scenario
        .checks
        .iter()
        .filter(|c| matches!(c.status, CheckStatus::Failed | CheckStatus::Error))
}

/// Observe-only checks: what was seen, reported without points.
pub fn observed_checks(scenario: &ScenarioReport) -> impl Iterator<Item = &CheckReport> {
    scenario
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Observed)
}

/// "3 later checks not reached", or `None` when every check ran.
pub fn not_reached_note(scenario: &ScenarioReport) -> Option<String> {
    match scenario.not_reached() {
        0 => None,
        1 => Some("1 later check not reached".to_string()),
        n => Some(format!("{n} later checks not reached")),
    }
}

/// One line saying why a scenario has its verdict, for gradebook messages.
pub fn summary_line(scenario: &ScenarioReport) -> String {
    let reason = scenario.reason.as_deref().map(one_line);
    match scenario.status {
        ScenarioStatus::Passed => "passed".to_string(),
        ScenarioStatus::Skipped => format!("skipped: {}", reason.unwrap_or_default()),
        ScenarioStatus::Error => format!(
            "socklab could not run this scenario (not your fault): {}",
            reason.unwrap_or_default()
        ),
        ScenarioStatus::Observed => {
            let seen: Vec<String> = observed_checks(scenario)
                .map(|c| {
                    let what = c.observed.as_deref().unwrap_or(&c.message);
                    one_line(&format!("{}: {}", c.title, what))
                })
                .collect();
            if seen.is_empty() {
                "observed (not scored)".to_string()
            } else {
                format!("observed (not scored): {}", seen.join("; "))
            }
        }
        ScenarioStatus::Failed => {
            let problems: Vec<&CheckReport> = problem_checks(scenario).collect();
            match problems.first() {
                None => format!("failed: {}", reason.unwrap_or_default()),
                Some(first) => {
                    let mut line = format!("failed: {}", one_line(&first.title));
                    if !first.message.is_empty() {
                        line.push_str(" — ");
                        line.push_str(&one_line(&first.message));
                    }
                    if problems.len() > 1 {
                        line.push_str(&format!(" (and {} more)", problems.len() - 1));
                    }
                    line
                }
            }
        }
    }
}

/// A scored scenario that lost points, as the list every feedback opens
/// with shows it: the scenario, its place in the report (for links to its
/// details) and one line saying why.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure<'a> {
    /// The scenario's position in [`SubmissionReport::scenarios`]: feedback
    /// pages anchor its details as `scenario-{index}`.
    pub index: usize,
    pub scenario: &'a ScenarioReport,
    /// Why it lost points, on one line of prose (no `\n`): the first failed
    /// check's title and message, or the scenario's reason.
    pub reason: String,
}

/// The scored scenarios that lost points (failed, could not run, or were
/// skipped while worth points), in report order: what a student reads first.
pub fn failures(report: &SubmissionReport) -> Vec<Failure<'_>> {
    report
        .scenarios
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_scored() && !s.counts_as_passed())
        .map(|(index, scenario)| Failure {
            index,
            scenario,
            reason: failure_reason(scenario),
        })
        .collect()
}

fn failure_reason(scenario: &ScenarioReport) -> String {
    let reason = scenario.reason.as_deref().map(prose_line);
    match scenario.status {
        ScenarioStatus::Error => format!(
            "socklab could not run it (not your fault): {}",
            reason.unwrap_or_default()
        ),
        ScenarioStatus::Skipped => format!("skipped: {}", reason.unwrap_or_default()),
        _ => {
            let problems: Vec<&CheckReport> = problem_checks(scenario).collect();
            let Some(first) = problems.first() else {
                return reason.unwrap_or_else(|| "failed".to_string());
            };
            let mut line = prose_line(&first.title);
            if !first.message.is_empty() {
                line.push_str(": ");
                line.push_str(&prose_line(&first.message));
            }
            if problems.len() > 1 {
                line.push_str(&format!(" (and {} more)", problems.len() - 1));
            }
            line
        }
    }
}
