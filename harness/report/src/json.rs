//! The report as JSON: socklab's own lossless format (`report.json`), read
//! back when shards are merged or other formats are rendered later.

use crate::model::SubmissionReport;

/// The report as compact JSON, ending with a newline. Compact because a
/// class run writes one per student and indentation was a fifth of a
/// full-marks report; `jq . report.json` shows it indented.
pub fn render_json(report: &SubmissionReport) -> String {
    let mut json = serde_json::to_string(report)
        .expect("a SubmissionReport has string keys only and always serialises");
    json.push('\n');
    json
}

/// Reads a report written by [`render_json`].
pub fn read_json(json: &str) -> Result<SubmissionReport, serde_json::Error> {
    serde_json::from_str(json)
}
