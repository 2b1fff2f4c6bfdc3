//! The class summary a TA reads at the end of a batch (`summary.txt`):
//! how many students, mean and median score, how often each scenario passed,
//! who needs a look (build failures, nothing ran, socklab errors), and the
//! five most common mistakes ([`crate::class`]; all of them are on the class
//! page and in `mistakes.csv`). Entries that are not submissions are named
//! and left out of every figure.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::class::{ClassReport, MistakeGroup};
use crate::escape::one_line;
use crate::model::{ScenarioStatus, SubmissionReport};
use crate::points::format_points;

/// How many mistake groups the summary lists.
pub const SUMMARY_MISTAKES: usize = 5;

/// Counts of one scenario's outcomes across the class.
#[derive(Debug, Default)]
struct ScenarioTally {
    name: String,
    observe: bool,
    passed: usize,
    failed: usize,
    skipped: usize,
    error: usize,
    observed: usize,
}

impl ScenarioTally {
    fn ran(&self) -> usize {
        self.passed + self.failed + self.skipped + self.error + self.observed
    }
}

/// Renders the class summary of a batch.
pub fn render_class_summary(all: &[SubmissionReport]) -> String {
    let mut out = String::new();
    let labs: BTreeSet<String> = all.iter().map(|r| one_line(&r.lab)).collect();
    let labs: Vec<String> = labs.into_iter().collect();
    let (submissions, others): (Vec<SubmissionReport>, Vec<SubmissionReport>) = all
        .iter()
        .cloned()
        .partition(SubmissionReport::is_submission);
    let reports = submissions.as_slice();
    let _ = writeln!(
        out,
        "socklab class summary: {}, {} submission{}",
        if labs.is_empty() {
            "no lab".to_string()
        } else {
            labs.join(", ")
        },
        reports.len(),
        if reports.len() == 1 { "" } else { "s" }
    );
    if !others.is_empty() {
        name_list(&mut out, "not a submission", &others, |_| true, true);
    }
    if reports.is_empty() {
        return out;
    }
    score_lines(&mut out, reports);
    name_list(
        &mut out,
        "passed everything",
        reports,
        crate::class::passed_everything,
        false,
    );
    name_list(
        &mut out,
        "build failed",
        reports,
        SubmissionReport::build_failed,
        true,
    );
    name_list(
        &mut out,
        "no scenario ran",
        reports,
        |r| r.scenarios.is_empty(),
        true,
    );
    name_list(
        &mut out,
        "socklab failed on every scenario",
        reports,
        SubmissionReport::harness_failed,
        true,
    );
    name_list(
        &mut out,
        "some socklab errors",
        reports,
        |r| {
            !r.harness_failed()
                && r.scenarios
                    .iter()
                    .any(|s| s.status == ScenarioStatus::Error)
        },
        true,
    );
    scenario_table(&mut out, &tally(reports));
    mistakes(&mut out, &ClassReport::from_reports(reports).mistakes);
    out
}

/// The largest mistake groups, a few lines each.
fn mistakes(out: &mut String, groups: &[MistakeGroup]) {
    if groups.is_empty() {
        return;
    }
    let shown = groups.len().min(SUMMARY_MISTAKES);
    let _ = writeln!(
        out,
        "\ncommon mistakes ({shown} largest of {} group{}; all in index.html and mistakes.csv):",
        groups.len(),
        if groups.len() == 1 { "" } else { "s" }
    );
    for group in &groups[..shown] {
        let s = &group.signature;
        let count = group.students.len();
        let _ = writeln!(
            out,
            "{count:>4} student{}  {} › {}",
            if count == 1 { " " } else { "s" },
            one_line(&s.scenario),
            one_line(&s.check)
        );
        let _ = writeln!(out, "               {}", one_line(&s.evidence));
        let mut names: Vec<String> = group
            .students
            .iter()
            .take(8)
            .map(|s| one_line(&s.name))
            .collect();
        if count > names.len() {
            names.push(format!("and {} more", count - names.len()));
        }
        let _ = writeln!(out, "               {}", names.join(", "));
    }
}

fn score_lines(out: &mut String, reports: &[SubmissionReport]) {
    let max = reports[0].max_score;
    let same_max = reports.iter().all(|r| r.max_score == max);
    let (unit, mut values): (String, Vec<f64>) = if same_max {
        (
            format!("points out of {}", format_points(max)),
            reports.iter().map(|r| finite(r.score)).collect(),
        )
    } else {
        (
            "percent (the maximum differs between reports)".to_string(),
            reports
                .iter()
                .map(|r| {
                    if r.max_score > 0.0 {
                        finite(100.0 * r.score / r.max_score)
                    } else {
                        0.0
                    }
                })
                .collect(),
        )
    };
    values.sort_by(f64::total_cmp);
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let mid = values.len() / 2;
    let median = if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    };
    let _ = writeln!(
        out,
        "score ({unit}): mean {}, median {}, min {}, max {}",
        format_points(mean),
        format_points(median),
        format_points(values[0]),
        format_points(values[values.len() - 1])
    );
}

fn name_list(
    out: &mut String,
    label: &str,
    reports: &[SubmissionReport],
    select: impl Fn(&SubmissionReport) -> bool,
    with_names: bool,
) {
    let mut names: Vec<String> = reports
        .iter()
        .filter(|r| select(r))
        .map(|r| one_line(&r.submission))
        .collect();
    names.sort();
    let _ = write!(out, "{label}: {}", names.len());
    if with_names && !names.is_empty() {
        let _ = write!(out, " ({})", names.join(", "));
    }
    out.push('\n');
}

fn tally(reports: &[SubmissionReport]) -> Vec<ScenarioTally> {
    let mut tallies: Vec<ScenarioTally> = Vec::new();
    for report in reports {
        for scenario in &report.scenarios {
            let index = match tallies.iter().position(|t| t.name == scenario.name) {
                Some(index) => index,
                None => {
                    tallies.push(ScenarioTally {
                        name: scenario.name.clone(),
                        observe: scenario.observe,
                        ..ScenarioTally::default()
                    });
                    tallies.len() - 1
                }
            };
            let t = &mut tallies[index];
            match scenario.status {
                ScenarioStatus::Passed => t.passed += 1,
                ScenarioStatus::Failed => t.failed += 1,
                ScenarioStatus::Skipped => t.skipped += 1,
                ScenarioStatus::Error => t.error += 1,
                ScenarioStatus::Observed => t.observed += 1,
            }
        }
    }
    tallies
}

fn scenario_table(out: &mut String, tallies: &[ScenarioTally]) {
    if tallies.is_empty() {
        return;
    }
    let names: Vec<String> = tallies
        .iter()
        .map(|t| {
            let name = one_line(&t.name);
            if t.observe {
                format!("{name} (observe)")
            } else {
                name
            }
        })
        .collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(8);
    let _ = writeln!(
        out,
        "\n{:<width$}  {:>6}  {:>6}  {:>7}  {:>5}  {:>5}",
        "scenario", "passed", "failed", "skipped", "error", "rate"
    );
    for (tally, name) in tallies.iter().zip(&names) {
        let rate = if tally.observe {
            format!("{} observed", tally.observed)
        } else {
            let ran = tally.ran();
            let pct = if ran == 0 {
                0.0
            } else {
                100.0 * tally.passed as f64 / ran as f64
            };
            format!("{pct:.0}%")
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:>6}  {:>6}  {:>7}  {:>5}  {:>5}",
            name, tally.passed, tally.failed, tally.skipped, tally.error, rate
        );
    }
}

fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}
