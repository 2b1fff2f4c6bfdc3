//! The report as JSON: socklab's own lossless format (`report.json`), read
//! back when shards are merged or other formats are rendered later.

use crate::model::SubmissionReport;

/// The report as pretty-printed JSON, ending with a newline.
pub fn render_json(report: &SubmissionReport) -> String {
    let mut json = serde_json::to_string_pretty(report)
        .expect("a SubmissionReport has string keys only and always serialises");
    json.push('\n');
    json
}

/// Reads a report written by [`render_json`].
pub fn read_json(json: &str) -> Result<SubmissionReport, serde_json::Error> {
    serde_json::from_str(json)
}
