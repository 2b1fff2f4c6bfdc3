//! JUnit XML for CI systems (GitLab `artifacts:reports:junit`, Jenkins,
//! GitHub test-report actions) and for TAs' dashboards.
//!
//! One `<testsuite>` per submission, one `<testcase>` per scenario
//! (`classname` = submission, `name` = scenario): `<failure>` when a scored
//! check failed, `<error>` when socklab could not run the scenario,
//! `<skipped>` when it was skipped. JUnit has no points, so each test case
//! and suite carries `score`/`max_score` properties (scaled to the
//! manifest's total; 0/0 for observe-only scenarios).
//!
//! XML 1.0 forbids most control characters: they are replaced by visible
//! escapes (`\x00`) before quick-junit writes the text, so nothing is lost
//! silently.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::escape::{one_line, visible_controls};
use crate::human::{HumanOptions, scenario_block};
use crate::model::{ScenarioReport, ScenarioStatus, SubmissionReport};
use crate::points::{format_points_exact, scaled_earned, scaled_points};
use crate::verdict::summary_line;

/// Renders the JUnit XML report of a batch of submissions.
pub fn render_junit(reports: &[SubmissionReport]) -> String {
    let mut junit = Report::new("socklab");
    let mut total = 0.0;
    for report in reports {
        junit.add_test_suite(suite(report));
        total += seconds(report.duration_secs).as_secs_f64();
    }
    junit.set_time(Duration::from_secs_f64(total));
    junit
        .to_string()
        .expect("writing XML into memory cannot fail")
}

fn suite(report: &SubmissionReport) -> TestSuite {
    let mut suite = TestSuite::new(xml(&one_line(&report.submission)));
    suite.set_time(seconds(report.duration_secs));
    let build = match &report.build {
        None => "not built",
        Some(b) if b.ok => "ok",
        Some(_) => "failed",
    };
    suite.add_properties([
        property("score", &format_points_exact(report.score)),
        property("max_score", &format_points_exact(report.max_score)),
        property("lab", &one_line(&report.lab)),
        property("isolation", &one_line(report.isolation.level.as_str())),
        property("socklab_version", &one_line(&report.socklab_version)),
        property("build", build),
    ]);
    if !report.isolation.notes.is_empty() {
        suite.set_system_out(xml(&format!(
            "isolation notes:\n{}\n",
            report.isolation.notes.join("\n")
        )));
    }
    if let Some(b) = report.build.as_ref().filter(|b| !b.ok) {
        suite.set_system_err(xml(&format!("build failed ({}):\n{}", b.method, b.output)));
    }
    for scenario in &report.scenarios {
        suite.add_test_case(test_case(report, scenario));
    }
    suite
}

fn test_case(report: &SubmissionReport, scenario: &ScenarioReport) -> TestCase {
    let details = || {
        let plain = HumanOptions::default();
        xml(&scenario_block(report, scenario, &plain))
    };
    let status = match scenario.status {
        ScenarioStatus::Passed | ScenarioStatus::Observed => TestCaseStatus::success(),
        ScenarioStatus::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status
                .set_message(xml(&summary_line(scenario)))
                .set_type("failed check")
                .set_description(details());
            status
        }
        ScenarioStatus::Error => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status
                .set_message(xml(&summary_line(scenario)))
                .set_type("socklab error")
                .set_description(details());
            status
        }
        ScenarioStatus::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(xml(&one_line(
                scenario.reason.as_deref().unwrap_or("skipped"),
            )));
            status
        }
    };
    let mut case = TestCase::new(xml(&one_line(&scenario.name)), status);
    case.set_classname(xml(&one_line(&report.submission)));
    case.set_time(seconds(scenario.duration_secs));
    case.add_property(property(
        "score",
        &format_points_exact(scaled_earned(report, scenario)),
    ));
    case.add_property(property(
        "max_score",
        &format_points_exact(scaled_points(report, scenario)),
    ));
    if !scenario.is_scored() {
        case.add_property(property("observe", "true"));
    }
    match scenario.status {
        ScenarioStatus::Observed => {
            case.set_system_out(xml(&summary_line(scenario)));
        }
        ScenarioStatus::Failed | ScenarioStatus::Error if !scenario.transcripts.is_empty() => {
            case.set_system_out(xml(&transcripts(scenario)));
        }
        _ => {}
    }
    case
}

fn transcripts(scenario: &ScenarioReport) -> String {
    let mut text = String::new();
    for transcript in &scenario.transcripts {
        text.push_str(&format!(
            "== {} ==\n{}\n",
            transcript.label, transcript.text
        ));
        if let Some(note) = transcript.excerpt_note() {
            text.push_str(&format!("({note})\n"));
        }
        if transcript.truncated_bytes > 0 {
            text.push_str(&format!(
                "({} more bytes not kept)\n",
                transcript.truncated_bytes
            ));
        }
    }
    text
}

fn property(name: &str, value: &str) -> Property {
    Property::new(name, xml(value))
}

/// Text XML 1.0 can hold, with nothing dropped: control characters become
/// visible escapes (quick-junit would otherwise delete them).
fn xml(text: &str) -> String {
    visible_controls(text).into_owned()
}

fn seconds(secs: f64) -> Duration {
    if secs.is_finite() && secs > 0.0 {
        Duration::from_secs_f64(secs.min(1e9))
    } else {
        Duration::ZERO
    }
}
