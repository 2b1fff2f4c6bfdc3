//! The class gradebook as CSV (`grades.csv`): one row per student, one
//! column per scored scenario with the scaled points earned, then the total
//! and the maximum. Observe-only scenarios have no column.
//!
//! Quoting follows RFC 4180 (CRLF line ends; fields holding a comma, a quote
//! or a line break are quoted, quotes doubled), so names such as
//! `Doe, "JJ"` survive a spreadsheet. A student whose report has no scenarios
//! (an unreadable archive) still gets a row: empty cells and the report's
//! total (0).

use crate::escape::visible_controls;
use crate::model::SubmissionReport;
pub use crate::points::scale_factor;
use crate::points::{format_points_exact, scaled_earned};

/// Renders the gradebook of a batch, rows sorted by student name.
pub fn render_grades_csv(reports: &[SubmissionReport]) -> String {
    let columns = scenario_columns(reports);
    let mut out = String::new();
    let mut header = vec!["student".to_string()];
    header.extend(columns.iter().cloned());
    header.push("total".to_string());
    header.push("max".to_string());
    push_record(&mut out, &header);

    let mut sorted: Vec<&SubmissionReport> = reports.iter().collect();
    sorted.sort_by(|a, b| a.submission.cmp(&b.submission));
    for report in sorted {
        let mut row = vec![report.submission.clone()];
        for column in &columns {
            let cell = report
                .scored_scenarios()
                .find(|s| &s.name == column)
                .map(|s| format_points_exact(scaled_earned(report, s)))
                .unwrap_or_default();
            row.push(cell);
        }
        row.push(format_points_exact(report.score));
        row.push(format_points_exact(report.max_score));
        push_record(&mut out, &row);
    }
    out
}

/// Scored scenario names in suite order, each once (a scenario first seen in
/// a later report is appended).
fn scenario_columns(reports: &[SubmissionReport]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for report in reports {
        for scenario in report.scored_scenarios() {
            if !columns.contains(&scenario.name) {
                columns.push(scenario.name.clone());
            }
        }
    }
    columns
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

/// One field, quoted when RFC 4180 requires it. Control characters other
/// than line breaks and tabs are made visible first.
fn quote(field: &str) -> String {
    let field = visible_controls(field);
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("alice"), "alice");
        assert_eq!(quote("Doe, \"JJ\""), "\"Doe, \"\"JJ\"\"\"");
        assert_eq!(quote("a\nb"), "\"a\nb\"");
        assert_eq!(quote("nul\0"), "nul\\x00");
    }
}
