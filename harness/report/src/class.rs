//! The class at a glance: one model built from every student's
//! [`SubmissionReport`], for the TA who asks "what did this class get wrong,
//! and what do I explain in the next lecture?".
//!
//! [`ClassReport::build`] turns a batch's reports into the score
//! distribution, per scenario how many passed, failed, were skipped or hit a
//! socklab error (worst first), the **common mistakes** (students grouped by
//! [`FailureSignature`], largest group first), the build failures grouped by
//! the compiler's first error, and the run's settings as the reports state
//! them. It is rendered as the class page ([`crate::class_page`],
//! `OUT/index.html`), `OUT/mistakes.csv` ([`crate::csv`]) and the end of the
//! class summary ([`crate::summary`]).
//!
//! The model depends only on the set of reports (and each student's folder),
//! never on the order they finished in or on how long anything took, so a
//! class graded in shards and merged has the same model as one run.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{CheckStatus, ScenarioStatus, SubmissionReport};
use crate::signature::{FailureSignature, build_error_key};

/// How many bins the score histogram has (tenths of the maximum).
pub const HISTOGRAM_BINS: usize = 10;

/// One student as the class model sees them: the report, and the folder
/// under `OUT/students/` holding their feedback pages, when known (the class
/// page links to it).
#[derive(Debug, Clone, Copy)]
pub struct ClassMember<'a> {
    pub report: &'a SubmissionReport,
    pub folder: Option<&'a str>,
}

/// A student named on the class page, with the folder of their feedback.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct StudentRef {
    pub name: String,
    pub folder: Option<String>,
}

/// Everything the class page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    /// The lab ids of the reports (one, unless reports of several labs were mixed).
    pub labs: Vec<String>,
    /// Entries that are submissions (every entry but those in `not_submissions`).
    pub submissions: usize,
    /// Submissions that passed every scored scenario.
    pub passed_everything: usize,
    pub distribution: ScoreDistribution,
    /// Scored scenarios, highest failure rate first.
    pub scenarios: Vec<ScenarioOutcome>,
    /// Students grouped by the mistake they made, largest group first.
    pub mistakes: Vec<MistakeGroup>,
    /// Failed builds grouped by the compiler's first error, largest first.
    pub build_failures: Vec<BuildFailureGroup>,
    /// Every entry, by name: score and what it means (the status of
    /// `grades.csv`).
    pub students: Vec<StudentScore>,
    /// Entries that are not submissions (a stray `notes.txt`).
    pub not_submissions: Vec<StudentRef>,
    /// Submissions socklab could not run a single scenario for: their grade
    /// says nothing about their code.
    pub socklab_failed: Vec<StudentRef>,
    pub settings: RunSettingsSeen,
}

/// One entry's line in the list of students.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudentScore {
    pub student: StudentRef,
    /// `None` for an entry that is not a submission.
    pub score: Option<f64>,
    pub max_score: f64,
    /// As in `grades.csv`: `graded`, `build failed: …`, `not a submission`, …
    pub status: String,
}

/// The spread of scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreDistribution {
    /// What the values are out of: the common maximum, or 100 when the
    /// reports' maxima differ and the values are percentages.
    pub out_of: f64,
    /// Whether the values are percentages (the maxima differ).
    pub percent: bool,
    /// How many scores (submissions).
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// [`HISTOGRAM_BINS`] equal bins from 0 to `out_of` (the last one holds
    /// `out_of` itself); empty when there are no scores.
    pub bins: Vec<ScoreBin>,
}

/// One bar of the histogram: scores in `[from, to)` (`[from, to]` for the last).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreBin {
    pub from: f64,
    pub to: f64,
    pub count: usize,
}

/// How one scored scenario went across the class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioOutcome {
    pub name: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub error: usize,
    /// Who failed it, by name.
    pub failed_students: Vec<StudentRef>,
    /// Whom socklab could not run it for, by name.
    pub error_students: Vec<StudentRef>,
}

impl ScenarioOutcome {
    /// Students the scenario has a result for.
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped + self.error
    }

    /// The share of those students who failed it (0 when nobody has it).
    pub fn failure_rate(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            n => self.failed as f64 / n as f64,
        }
    }
}

/// Students who made the same mistake: failed the same check of the same
/// scenario with the same kind of evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MistakeGroup {
    pub signature: FailureSignature,
    /// The scenario variants it was seen in (`[client=…,server=…]`), in
    /// name order; empty for a scenario without variants.
    pub variants: Vec<String>,
    /// The hint socklab gave these students (the first student's, by name,
    /// that had one).
    pub hint: Option<String>,
    /// Where the check is written (`scenarios/lab3/echo.yaml:334`), as the
    /// first student's report says.
    pub source: String,
    /// The students, by name, each once.
    pub students: Vec<StudentRef>,
}

/// Students whose build failed with the same first error.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildFailureGroup {
    /// The error without file name, line and column ([`build_error_key`]).
    pub key: String,
    /// The error as the compiler said it to the first student, by name.
    pub example: String,
    /// The programs that failed this way, by name.
    pub programs: Vec<String>,
    pub students: Vec<StudentRef>,
}

/// The run's settings as the reports state them: each value seen, with how
/// many submissions ran under it (a class merged from shards graded on
/// different machines can show two isolation levels).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSettingsSeen {
    pub socklab_versions: Vec<Seen>,
    pub isolation_levels: Vec<Seen>,
    /// `name=value` pairs of the course options, or `(none)`.
    pub options: Vec<Seen>,
    /// The isolation notes (limits in force, what was not available).
    pub notes: Vec<Seen>,
}

/// A value and how many submissions had it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Seen {
    pub value: String,
    pub students: usize,
}

impl ClassReport {
    /// The class model of a batch (any order; students with the same name
    /// are told apart by their folder).
    pub fn build(members: &[ClassMember<'_>]) -> ClassReport {
        let mut members: Vec<ClassMember<'_>> = members.to_vec();
        members.sort_by(|a, b| {
            (&a.report.submission, a.folder).cmp(&(&b.report.submission, b.folder))
        });
        let (submissions, others): (Vec<ClassMember<'_>>, Vec<ClassMember<'_>>) =
            members.into_iter().partition(|m| m.report.is_submission());
        let labs: BTreeSet<String> = submissions
            .iter()
            .chain(&others)
            .map(|m| m.report.lab.clone())
            .collect();
        ClassReport {
            labs: labs.into_iter().collect(),
            submissions: submissions.len(),
            passed_everything: submissions
                .iter()
                .filter(|m| passed_everything(m.report))
                .count(),
            distribution: ScoreDistribution::of(&submissions),
            scenarios: scenario_outcomes(&submissions),
            mistakes: mistake_groups(&submissions),
            build_failures: build_failure_groups(&submissions),
            students: student_scores(&submissions, &others),
            not_submissions: others.iter().map(student_ref).collect(),
            socklab_failed: submissions
                .iter()
                .filter(|m| m.report.harness_failed())
                .map(student_ref)
                .collect(),
            settings: RunSettingsSeen::of(&submissions),
        }
    }

    /// The class model of reports without their folders (for the text
    /// summary, which has no links).
    pub fn from_reports(reports: &[SubmissionReport]) -> ClassReport {
        let members: Vec<ClassMember<'_>> = reports
            .iter()
            .map(|report| ClassMember {
                report,
                folder: None,
            })
            .collect();
        ClassReport::build(&members)
    }
}

/// Whether every scored scenario passed (and the build did not fail).
pub fn passed_everything(report: &SubmissionReport) -> bool {
    !report.scenarios.is_empty() && report.passed() && !report.build_failed()
}

fn student_scores(
    submissions: &[ClassMember<'_>],
    others: &[ClassMember<'_>],
) -> Vec<StudentScore> {
    let mut all: Vec<StudentScore> = submissions
        .iter()
        .chain(others)
        .map(|m| StudentScore {
            student: student_ref(m),
            score: m.report.is_submission().then_some(finite(m.report.score)),
            max_score: finite(m.report.max_score),
            status: crate::csv::status(m.report),
        })
        .collect();
    all.sort_by(|a, b| a.student.cmp(&b.student));
    all
}

fn student_ref(member: &ClassMember<'_>) -> StudentRef {
    StudentRef {
        name: member.report.submission.clone(),
        folder: member.folder.map(str::to_string),
    }
}

impl ScoreDistribution {
    fn of(members: &[ClassMember<'_>]) -> ScoreDistribution {
        let reports: Vec<&SubmissionReport> = members.iter().map(|m| m.report).collect();
        let first_max = reports.first().map_or(0.0, |r| finite(r.max_score));
        let percent = reports.iter().any(|r| finite(r.max_score) != first_max);
        let out_of = if percent || first_max <= 0.0 {
            100.0
        } else {
            first_max
        };
        let mut values: Vec<f64> = reports
            .iter()
            .map(|r| {
                if !percent {
                    finite(r.score)
                } else if r.max_score > 0.0 {
                    finite(100.0 * r.score / r.max_score)
                } else {
                    0.0
                }
            })
            .map(|v| v.clamp(0.0, out_of))
            .collect();
        values.sort_by(f64::total_cmp);
        let count = values.len();
        if count == 0 {
            return ScoreDistribution {
                out_of,
                percent,
                count,
                mean: 0.0,
                median: 0.0,
                min: 0.0,
                max: 0.0,
                bins: Vec::new(),
            };
        }
        let mean = values.iter().sum::<f64>() / count as f64;
        let mid = count / 2;
        let median = if count.is_multiple_of(2) {
            (values[mid - 1] + values[mid]) / 2.0
        } else {
            values[mid]
        };
        let width = out_of / HISTOGRAM_BINS as f64;
        let mut bins: Vec<ScoreBin> = (0..HISTOGRAM_BINS)
            .map(|i| ScoreBin {
                from: width * i as f64,
                to: width * (i + 1) as f64,
                count: 0,
            })
            .collect();
        for value in &values {
            let index = ((value / width).floor() as usize).min(HISTOGRAM_BINS - 1);
            bins[index].count += 1;
        }
        ScoreDistribution {
            out_of,
            percent,
            count,
            mean,
            median,
            min: values[0],
            max: values[count - 1],
            bins,
        }
    }
}

/// Where each scenario family first appears in the suite (its lowest index
/// in any report), to order groups of equal size the way the suite reads.
fn suite_order(members: &[ClassMember<'_>]) -> BTreeMap<String, usize> {
    let mut order: BTreeMap<String, usize> = BTreeMap::new();
    for member in members {
        for (index, scenario) in member.report.scenarios.iter().enumerate() {
            let family = crate::signature::scenario_family(&scenario.name).to_string();
            let at = order.entry(family).or_insert(index);
            *at = (*at).min(index);
        }
    }
    order
}

fn scenario_outcomes(members: &[ClassMember<'_>]) -> Vec<ScenarioOutcome> {
    let mut outcomes: Vec<(usize, ScenarioOutcome)> = Vec::new();
    for member in members {
        for (index, scenario) in member.report.scored_scenarios().enumerate() {
            let at = match outcomes.iter().position(|(_, o)| o.name == scenario.name) {
                Some(at) => at,
                None => {
                    outcomes.push((
                        index,
                        ScenarioOutcome {
                            name: scenario.name.clone(),
                            passed: 0,
                            failed: 0,
                            skipped: 0,
                            error: 0,
                            failed_students: Vec::new(),
                            error_students: Vec::new(),
                        },
                    ));
                    outcomes.len() - 1
                }
            };
            let (first_index, outcome) = &mut outcomes[at];
            *first_index = (*first_index).min(index);
            match scenario.status {
                ScenarioStatus::Passed | ScenarioStatus::Observed => outcome.passed += 1,
                ScenarioStatus::Failed => {
                    outcome.failed += 1;
                    outcome.failed_students.push(student_ref(member));
                }
                ScenarioStatus::Skipped => outcome.skipped += 1,
                ScenarioStatus::Error => {
                    outcome.error += 1;
                    outcome.error_students.push(student_ref(member));
                }
            }
        }
    }
    outcomes.sort_by(|(ia, a), (ib, b)| {
        b.failure_rate()
            .total_cmp(&a.failure_rate())
            .then(ia.cmp(ib))
            .then(a.name.cmp(&b.name))
    });
    outcomes.into_iter().map(|(_, o)| o).collect()
}

fn mistake_groups(members: &[ClassMember<'_>]) -> Vec<MistakeGroup> {
    let order = suite_order(members);
    let mut groups: BTreeMap<FailureSignature, MistakeGroup> = BTreeMap::new();
    for member in members {
        for scenario in member.report.scored_scenarios() {
            for check in scenario
                .checks
                .iter()
                .filter(|c| c.status == CheckStatus::Failed)
            {
                let signature = FailureSignature::of(scenario, check);
                let group = groups
                    .entry(signature.clone())
                    .or_insert_with(|| MistakeGroup {
                        signature,
                        variants: Vec::new(),
                        hint: None,
                        source: scenario.check_source(check).to_string(),
                        students: Vec::new(),
                    });
                if let Some(variant) = crate::signature::scenario_variant(&scenario.name)
                    && !group.variants.iter().any(|v| v == variant)
                {
                    group.variants.push(variant.to_string());
                }
                if group.hint.is_none() {
                    group.hint = check.hint.clone();
                }
                let student = student_ref(member);
                // Members come sorted: a repeat is always the last one added.
                if group.students.last() != Some(&student) {
                    group.students.push(student);
                }
            }
        }
    }
    let mut groups: Vec<MistakeGroup> = groups.into_values().collect();
    for group in &mut groups {
        group.variants.sort();
    }
    let rank = |g: &MistakeGroup| {
        order
            .get(&g.signature.scenario)
            .copied()
            .unwrap_or(usize::MAX)
    };
    groups.sort_by(|a, b| {
        b.students
            .len()
            .cmp(&a.students.len())
            .then(rank(a).cmp(&rank(b)))
            .then(a.signature.cmp(&b.signature))
    });
    groups
}

fn build_failure_groups(members: &[ClassMember<'_>]) -> Vec<BuildFailureGroup> {
    let mut groups: BTreeMap<String, BuildFailureGroup> = BTreeMap::new();
    for member in members {
        let Some(build) = member.report.build.as_ref().filter(|b| !b.ok) else {
            continue;
        };
        // (program, what went wrong) for each program that did not build;
        // a build that failed before any program (an unreadable archive)
        // has its reason in the output.
        let mut failures: Vec<(Option<&str>, &str)> = build
            .programs
            .iter()
            .filter(|p| p.status.is_failure())
            .map(|p| {
                (
                    Some(p.name.as_str()),
                    p.detail.as_deref().unwrap_or(p.status.as_str()),
                )
            })
            .collect();
        if failures.is_empty() {
            let first = build
                .output
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            failures.push((None, first));
        }
        for (program, error) in failures {
            let key = build_error_key(error);
            let group = groups
                .entry(key.clone())
                .or_insert_with(|| BuildFailureGroup {
                    key,
                    example: error.trim().to_string(),
                    programs: Vec::new(),
                    students: Vec::new(),
                });
            if let Some(program) = program
                && !group.programs.iter().any(|p| p == program)
            {
                group.programs.push(program.to_string());
            }
            let student = student_ref(member);
            if group.students.last() != Some(&student) {
                group.students.push(student);
            }
        }
    }
    let mut groups: Vec<BuildFailureGroup> = groups.into_values().collect();
    for group in &mut groups {
        group.programs.sort();
    }
    groups.sort_by(|a, b| {
        b.students
            .len()
            .cmp(&a.students.len())
            .then(a.key.cmp(&b.key))
    });
    groups
}

impl RunSettingsSeen {
    fn of(members: &[ClassMember<'_>]) -> RunSettingsSeen {
        let reports = || members.iter().map(|m| m.report);
        RunSettingsSeen {
            socklab_versions: tally(reports().map(|r| r.socklab_version.clone())),
            isolation_levels: tally(reports().map(|r| r.isolation.level.as_str().to_string())),
            options: tally(reports().map(|r| {
                if r.options.is_empty() {
                    "(none)".to_string()
                } else {
                    r.options
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            })),
            notes: tally(reports().flat_map(|r| {
                let unique: BTreeSet<&String> = r.isolation.notes.iter().collect();
                unique.into_iter().cloned().collect::<Vec<_>>()
            })),
        }
    }
}

/// Each distinct value with its count, most frequent first, then by value.
fn tally(values: impl Iterator<Item = String>) -> Vec<Seen> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    let mut seen: Vec<Seen> = counts
        .into_iter()
        .map(|(value, students)| Seen { value, students })
        .collect();
    seen.sort_by(|a, b| b.students.cmp(&a.students).then(a.value.cmp(&b.value)));
    seen
}

fn finite(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}
