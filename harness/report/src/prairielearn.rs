//! PrairieLearn's external-grader `results.json`.
//!
//! `score` is the fraction of the total (0..1); `gradable` is false only when
//! socklab itself failed on every scenario, so PrairieLearn does not count a
//! grading fault against the student. PrairieLearn shows `output` in a
//! `<pre>`, so the plain terminal report ([`crate::human`]) is used there.

use serde::{Deserialize, Serialize};

use crate::escape::one_line;
use crate::human::{HumanOptions, render_human, scenario_block};
use crate::model::{ScenarioReport, SubmissionReport};
use crate::points::{format_points, round_points, scaled_earned, scaled_points};
use crate::verdict::summary_line;

/// PrairieLearn's `results.json` (the keys socklab fills in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrairieLearnResults {
    pub gradable: bool,
    /// Fraction of the total, 0..1.
    pub score: f64,
    /// One line for the student.
    pub message: String,
    /// The plain-text report.
    pub output: String,
    pub tests: Vec<PrairieLearnTest>,
}

/// One test (= one scenario) of [`PrairieLearnResults`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrairieLearnTest {
    pub name: String,
    pub points: f64,
    pub max_points: f64,
    pub message: String,
    pub output: String,
}

/// The PrairieLearn results of one submission.
pub fn prairielearn_results(report: &SubmissionReport) -> PrairieLearnResults {
    let plain = HumanOptions::default();
    PrairieLearnResults {
        gradable: !report.harness_failed(),
        score: fraction(report.score, report.max_score),
        message: message(report),
        output: render_human(report, &plain),
        tests: report
            .scenarios
            .iter()
            .map(|s| test(report, s, &plain))
            .collect(),
    }
}

/// PrairieLearn's `results.json` for one submission, pretty-printed.
pub fn render_prairielearn(report: &SubmissionReport) -> String {
    let mut json = serde_json::to_string_pretty(&prairielearn_results(report))
        .expect("PrairieLearn results have string keys only and always serialise");
    json.push('\n');
    json
}

fn test(
    report: &SubmissionReport,
    scenario: &ScenarioReport,
    plain: &HumanOptions,
) -> PrairieLearnTest {
    PrairieLearnTest {
        name: one_line(&scenario.name),
        points: scaled_earned(report, scenario),
        max_points: scaled_points(report, scenario),
        message: summary_line(scenario),
        output: scenario_block(report, scenario, plain),
    }
}

fn message(report: &SubmissionReport) -> String {
    let total = format!(
        "{} / {}",
        format_points(report.score),
        format_points(report.max_score)
    );
    if report.harness_failed() {
        return "socklab could not run any scenario, so this submission was not graded. Tell your TA."
            .to_string();
    }
    if report.build_failed() {
        return format!(
            "Your programs did not all build (see the compiler output). Score {total}."
        );
    }
    if report.scenarios.is_empty() {
        return format!("No scenario ran. Score {total}.");
    }
    let scored: Vec<_> = report.scored_scenarios().collect();
    let passed = scored.iter().filter(|s| s.counts_as_passed()).count();
    format!(
        "Score {total}: {passed} of {} scored scenarios passed.",
        scored.len()
    )
}

fn fraction(score: f64, max: f64) -> f64 {
    if !(score.is_finite() && max.is_finite() && max > 0.0) {
        return 0.0;
    }
    round_points((score / max).clamp(0.0, 1.0))
}
