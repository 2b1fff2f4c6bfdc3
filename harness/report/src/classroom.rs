//! GitHub Classroom's autograding runner output.
//!
//! A step of the student's workflow writes `result=<base64>` to
//! `$GITHUB_OUTPUT`; `classroom-resources/autograding-grading-reporter`
//! reads it from the `<STEP-ID>_RESULTS` variable, decodes it, prints each
//! test and reports the sum of the tests' `score` out of `max_score` to
//! Classroom. Only a test `status` of `pass` counts as passed there. Scores
//! are scaled so the tests add up to the submission's score.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::escape::one_line;
use crate::model::{ScenarioReport, ScenarioStatus, SubmissionReport};
use crate::points::{clean_seconds, round_points, scaled_earned};
use crate::verdict::summary_line;

/// The runner output GitHub Classroom's reporter decodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassroomResults {
    /// Always 1.
    pub version: u32,
    /// `pass`, `fail` or `error`.
    pub status: String,
    pub max_score: f64,
    pub tests: Vec<ClassroomTest>,
}

/// One test (= one scenario) of [`ClassroomResults`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassroomTest {
    pub name: String,
    /// `pass`, `fail` or `error`.
    pub status: String,
    pub message: String,
    /// Where the scenario is written, e.g. `scenarios/lab3/lottery.yaml:3`.
    pub test_code: String,
    pub filename: String,
    pub line_no: u32,
    /// Seconds.
    pub execution_time: f64,
    pub score: f64,
}

/// The GitHub Classroom results of one submission.
pub fn classroom_results(report: &SubmissionReport) -> ClassroomResults {
    let tests: Vec<ClassroomTest> = report.scenarios.iter().map(|s| test(report, s)).collect();
    let any = |status: &str| tests.iter().any(|t| t.status == status);
    let status = if report.build_failed() || report.scenarios.is_empty() || any("fail") {
        "fail"
    } else if any("error") {
        "error"
    } else {
        "pass"
    };
    ClassroomResults {
        version: 1,
        status: status.to_string(),
        max_score: round_points(report.max_score),
        tests,
    }
}

/// Base64 (standard alphabet, padded) of the compact JSON results: the value
/// of `result=` in `$GITHUB_OUTPUT`.
pub fn render_classroom(report: &SubmissionReport) -> String {
    let json = serde_json::to_string(&classroom_results(report))
        .expect("Classroom results have string keys only and always serialise");
    STANDARD.encode(json)
}

fn test(report: &SubmissionReport, scenario: &ScenarioReport) -> ClassroomTest {
    let status = if scenario.counts_as_passed() {
        "pass"
    } else if scenario.status == ScenarioStatus::Error {
        "error"
    } else {
        "fail"
    };
    ClassroomTest {
        name: one_line(&scenario.name),
        status: status.to_string(),
        message: summary_line(scenario),
        test_code: one_line(&scenario.source.to_string()),
        filename: one_line(scenario.source_file()),
        line_no: scenario.source_line().unwrap_or(0),
        execution_time: clean_seconds(scenario.duration_secs),
        score: scaled_earned(report, scenario),
    }
}
