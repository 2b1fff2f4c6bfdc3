//! The class's spreadsheets: the gradebook (`grades.csv`) and the common
//! mistakes (`mistakes.csv`).
//!
//! `grades.csv` has one row per entry, sorted by name, and the columns
//! `student`, `status`, one per scored scenario (the scaled points earned;
//! observe-only scenarios have none), `total` and `max`:
//!
//! - The first row under the header is the **maximum** of every column
//!   (student `(max points)`, status `max points`), the way LMS gradebook
//!   exports put "Points Possible" on their second line; filter on `status`
//!   (or delete that row) before averaging a column or importing students.
//! - `status` says what a row's numbers mean: `graded`; `build failed:`
//!   with the programs that did not build (`FTClientIter (failed)`) when
//!   some did not (the others were still graded); `not built:` with the
//!   reason when nothing could be (an unreadable archive, an empty folder);
//!   `socklab error: …` when socklab could not run a scenario (grade again);
//!   `not a submission` for an entry that is neither a folder nor an
//!   archive: its scenario cells and total are empty, not 0.
//! - Points have at most 2 decimals and a row's scenario cells add up to its
//!   `total` exactly as written (largest-remainder rounding,
//!   [`crate::points::hundredths_summing_to`]).
//!
//! `mistakes.csv` has one row per mistake group of the class page
//! ([`crate::class`]): `signature`, `scenario`, `check`, `evidence`,
//! `count`, `students` (`; `-separated), `hint`.
//!
//! Both follow RFC 4180 (CRLF line ends; fields holding a comma, a quote or
//! a line break are quoted, quotes doubled), so names such as `Doe, "JJ"`
//! survive. Against formula injection, a text cell (never a number socklab
//! wrote) that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
//! gets a leading `'`, as OWASP recommends: a student named `=cmd|' /C calc'!A0`
//! is shown as that text, not run.

use std::borrow::Cow;

use crate::class::{ClassReport, StudentRef};
use crate::escape::visible_controls;
use crate::model::{ScenarioReport, ScenarioStatus, SubmissionReport};
pub use crate::points::scale_factor;
use crate::points::{format_hundredths, hundredths_summing_to};

/// The `student` cell of the maximum row.
pub const MAX_ROW_NAME: &str = "(max points)";
/// The `status` cell of the maximum row.
pub const MAX_ROW_STATUS: &str = "max points";

/// Renders the gradebook of a batch, rows sorted by student name.
pub fn render_grades_csv(reports: &[SubmissionReport]) -> String {
    let columns = scenario_columns(reports);
    let mut out = String::new();
    let mut header = vec![text_cell("student"), text_cell("status")];
    header.extend(columns.iter().map(|c| text_cell(c)));
    header.push(text_cell("total"));
    header.push(text_cell("max"));
    push_record(&mut out, &header);

    let mut sorted: Vec<&SubmissionReport> = reports.iter().collect();
    sorted.sort_by(|a, b| a.submission.cmp(&b.submission));
    let graded: Vec<&SubmissionReport> = sorted
        .iter()
        .copied()
        .filter(|r| r.is_submission())
        .collect();
    if !graded.is_empty() {
        push_record(&mut out, &max_row(&graded, &columns));
    }
    for report in sorted {
        let mut row = vec![text_cell(&report.submission), text_cell(&status(report))];
        if report.is_submission() {
            let cells = row_points(report, &columns);
            row.extend(cells.into_iter().map(|c| {
                c.map(|(earned, _)| format_hundredths(earned))
                    .unwrap_or_default()
            }));
            row.push(format_hundredths(hundredths(report.score)));
            row.push(format_hundredths(hundredths(report.max_score)));
        } else {
            row.extend(std::iter::repeat_n(String::new(), columns.len() + 2));
        }
        push_record(&mut out, &row);
    }
    out
}

/// The row of maxima: each column's scaled points, from the first student
/// (by name) who has the column, and the largest `max_score`.
fn max_row(graded: &[&SubmissionReport], columns: &[String]) -> Vec<String> {
    let mut cells: Vec<Option<i64>> = vec![None; columns.len()];
    for report in graded {
        for (cell, points) in cells.iter_mut().zip(row_points(report, columns)) {
            if cell.is_none() {
                *cell = points.map(|(_, max)| max);
            }
        }
    }
    let max = graded
        .iter()
        .map(|r| hundredths(r.max_score))
        .max()
        .unwrap_or(0);
    let mut row = vec![text_cell(MAX_ROW_NAME), text_cell(MAX_ROW_STATUS)];
    row.extend(
        cells
            .into_iter()
            .map(|c| c.map(format_hundredths).unwrap_or_default()),
    );
    row.push(format_hundredths(max));
    row.push(format_hundredths(max));
    row
}

/// Per column, the hundredths a report earned and could have earned (scaled
/// to its `max_score`; `None` where it has no such scenario). Both add up
/// to the rounded score and maximum; a full-marks cell shows the column's
/// maximum unless the total cannot be met otherwise.
fn row_points(report: &SubmissionReport, columns: &[String]) -> Vec<Option<(i64, i64)>> {
    let factor = scale_factor(report);
    let present: Vec<Option<&ScenarioReport>> = columns
        .iter()
        .map(|c| report.scored_scenarios().find(|s| &s.name == c))
        .collect();
    let scenarios: Vec<&ScenarioReport> = present.iter().flatten().copied().collect();
    let possible: Vec<f64> = scenarios.iter().map(|s| s.points * factor).collect();
    let maxima = hundredths_summing_to(&possible, &[], report.max_score);
    let earned: Vec<f64> = scenarios.iter().map(|s| s.earned * factor).collect();
    let preferred: Vec<Option<i64>> = scenarios
        .iter()
        .zip(&maxima)
        .map(|(s, max)| (s.points > 0.0 && s.earned >= s.points).then_some(*max))
        .collect();
    let earned = hundredths_summing_to(&earned, &preferred, report.score);
    let mut cells = earned.into_iter().zip(maxima);
    present
        .iter()
        .map(|s| s.and_then(|_| cells.next()))
        .collect()
}

fn hundredths(value: f64) -> i64 {
    if value.is_finite() {
        (value.max(0.0) * 100.0).round() as i64
    } else {
        0
    }
}

/// The `status` cell of a report (see the module documentation).
pub fn status(report: &SubmissionReport) -> String {
    if !report.is_submission() {
        return "not a submission".to_string();
    }
    if report.harness_failed() {
        return "socklab error: no scenario could be run (grade again)".to_string();
    }
    let mut status = match report.build.as_ref().filter(|b| !b.ok) {
        None if report.scenarios.is_empty() => "no scenario ran".to_string(),
        None => "graded".to_string(),
        Some(build) => {
            let failed: Vec<String> = build
                .programs
                .iter()
                .filter(|p| p.status.is_failure())
                .map(|p| format!("{} ({})", p.name, p.status.as_str()))
                .collect();
            if failed.is_empty() {
                let why = build
                    .output
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("the build failed");
                format!("not built: {}", why.trim())
            } else {
                format!("build failed: {}", failed.join(", "))
            }
        }
    };
    let errors = report
        .scenarios
        .iter()
        .filter(|s| s.status == ScenarioStatus::Error)
        .count();
    if errors > 0 {
        status.push_str(&format!(
            "; socklab error in {errors} scenario{} (grade again)",
            if errors == 1 { "" } else { "s" }
        ));
    }
    status
}

/// Renders `mistakes.csv`: the class page's mistake groups, largest first.
pub fn render_mistakes_csv(class: &ClassReport) -> String {
    let mut out = String::new();
    let header: Vec<String> = [
        "signature",
        "scenario",
        "check",
        "evidence",
        "count",
        "students",
        "hint",
    ]
    .iter()
    .map(|h| text_cell(h))
    .collect();
    push_record(&mut out, &header);
    for group in &class.mistakes {
        let s = &group.signature;
        push_record(
            &mut out,
            &[
                text_cell(&s.key()),
                text_cell(&s.scenario),
                text_cell(&s.check),
                text_cell(&s.evidence),
                group.students.len().to_string(),
                text_cell(&names(&group.students)),
                text_cell(group.hint.as_deref().unwrap_or("")),
            ],
        );
    }
    out
}

fn names(students: &[StudentRef]) -> String {
    students
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Scored scenario names in suite order, each once (a scenario first seen in
/// a later report is appended). Entries that are not submissions add none.
fn scenario_columns(reports: &[SubmissionReport]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for report in reports.iter().filter(|r| r.is_submission()) {
        for scenario in report.scored_scenarios() {
            if !columns.contains(&scenario.name) {
                columns.push(scenario.name.clone());
            }
        }
    }
    columns
}

/// A text cell: control characters other than line breaks and tabs made
/// visible, then neutralised against formula injection.
fn text_cell(text: &str) -> String {
    neutralize_formula(&visible_controls(text)).into_owned()
}

/// OWASP's rule for CSV injection: a cell starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return gets a leading `'`, which spreadsheets take as
/// "this is text". Only for text cells: numbers socklab writes stay numbers.
pub fn neutralize_formula(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

fn push_record(out: &mut String, fields: &[String]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(field));
    }
    out.push_str("\r\n");
}

/// One field, quoted when RFC 4180 requires it.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("alice"), "alice");
        assert_eq!(quote("Doe, \"JJ\""), "\"Doe, \"\"JJ\"\"\"");
        assert_eq!(quote("a\nb"), "\"a\nb\"");
        assert_eq!(text_cell("nul\0"), "nul\\x00");
    }

    #[test]
    fn formulas_become_text() {
        for (cell, safe) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("\t=1", "'\t=1"),
            ("alice", "alice"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(text_cell(cell), safe, "{cell:?}");
        }
        // A carriage return is made visible before it can lead a cell.
        assert_eq!(text_cell("\r=1"), "\\r=1");
    }
}
