//! Gradescope's `results.json`, written by the autograder bundle's
//! `run_autograder` to `/autograder/results/results.json`.
//!
//! One test per scenario. Per-test points are scaled to the manifest's total
//! ([`crate::points::scale_factor`]) so they add up to the top-level score;
//! observe-only scenarios appear with 0/0 and status `passed`, their output
//! saying what was observed. Outputs are Markdown (`output_format: md`) made
//! by [`crate::markdown`], so student output sits in code blocks.

use serde::{Deserialize, Serialize};

use crate::escape::one_line;
use crate::markdown::{build_section, failure_list, isolation_section, md_line, scenario_details};
use crate::model::{ScenarioReport, SubmissionReport};
use crate::points::{clean_seconds, format_points, round_points, scaled_earned, scaled_points};

/// Gradescope's `results.json` (the keys socklab fills in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradescopeResults {
    /// The submission's score; Gradescope takes it over the tests' sum.
    pub score: f64,
    pub max_score: f64,
    /// Seconds the whole submission took.
    pub execution_time: f64,
    /// Shown above the tests: score, what failed, build problems, isolation.
    pub output: String,
    /// `md`.
    pub output_format: String,
    /// `visible`.
    pub visibility: String,
    /// Whether students see the autograder's stdout: `hidden` (it is the TA's log).
    pub stdout_visibility: String,
    pub tests: Vec<GradescopeTest>,
}

/// One test (= one scenario) of [`GradescopeResults`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradescopeTest {
    pub name: String,
    pub score: f64,
    pub max_score: f64,
    /// `passed` or `failed`.
    pub status: String,
    pub output: String,
    /// `md`.
    pub output_format: String,
    /// `visible`.
    pub visibility: String,
    /// The scenario's tags.
    pub tags: Vec<String>,
}

/// The Gradescope results of one submission.
pub fn gradescope_results(report: &SubmissionReport) -> GradescopeResults {
    GradescopeResults {
        score: round_points(report.score),
        max_score: round_points(report.max_score),
        execution_time: clean_seconds(report.duration_secs),
        output: overview(report),
        output_format: "md".to_string(),
        visibility: "visible".to_string(),
        stdout_visibility: "hidden".to_string(),
        tests: report.scenarios.iter().map(|s| test(report, s)).collect(),
    }
}

/// Gradescope's `results.json` for one submission, pretty-printed.
pub fn render_gradescope(report: &SubmissionReport) -> String {
    let mut json = serde_json::to_string_pretty(&gradescope_results(report))
        .expect("Gradescope results have string keys only and always serialise");
    json.push('\n');
    json
}

fn test(report: &SubmissionReport, scenario: &ScenarioReport) -> GradescopeTest {
    let status = if scenario.counts_as_passed() {
        "passed"
    } else {
        "failed"
    };
    GradescopeTest {
        name: one_line(&scenario.name),
        score: scaled_earned(report, scenario),
        max_score: scaled_points(report, scenario),
        status: status.to_string(),
        output: scenario_details(scenario),
        output_format: "md".to_string(),
        visibility: "visible".to_string(),
        tags: scenario.tags.iter().map(|t| one_line(t)).collect(),
    }
}

fn overview(report: &SubmissionReport) -> String {
    let scored: Vec<_> = report.scored_scenarios().collect();
    let passed = scored.iter().filter(|s| s.counts_as_passed()).count();
    let mut out = format!(
        "**Score: {} / {}** · {passed} of {} scored scenarios passed (socklab {}, lab {})\n\n",
        format_points(report.score),
        format_points(report.max_score),
        scored.len(),
        md_line(&report.socklab_version),
        md_line(&report.lab),
    );
    if report.harness_failed() {
        out.push_str(
            "**socklab could not run any scenario**: this score says nothing about your code. Tell your TA.\n\n",
        );
    }
    // The tests are listed by Gradescope below this text: the list names
    // them rather than linking.
    out.push_str(&failure_list(report, false));
    if let Some(build) = &report.build {
        if !build.ok {
            out.push_str(
                "Your programs did not all build, so the scenarios that need them could not pass. \
                 Fix the build first: the compiler's messages are below.\n\n",
            );
        }
        build_section(&mut out, build);
    }
    if report.scenarios.is_empty() {
        out.push_str("No scenario ran.\n");
    }
    isolation_section(&mut out, report);
    out
}
