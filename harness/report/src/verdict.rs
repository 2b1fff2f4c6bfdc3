//! The verdict a reader sees per scenario, shared by every reporter so the
//! terminal, the feedback pages and the gradebooks never disagree.

use crate::escape::one_line;
use crate::model::{CheckReport, CheckStatus, ScenarioReport, ScenarioStatus};

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
