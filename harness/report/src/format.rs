//! Every report format socklab writes, in one list: the names the command
//! line takes (`--format`), the files of a student's results folder, and
//! the reporter behind each.

use crate::model::SubmissionReport;
use crate::{
    HumanOptions, render_classroom, render_gradescope, render_html, render_human, render_json,
    render_junit, render_markdown, render_prairielearn,
};

/// A way to write one submission's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Terminal text, for the student or TA at a terminal.
    Human,
    /// `report.json`: lossless, read back when shards are merged.
    Json,
    /// `feedback.md`.
    Markdown,
    /// `feedback.html`, self-contained.
    Html,
    /// Gradescope's `results.json`.
    Gradescope,
    /// PrairieLearn's `results.json`.
    Prairielearn,
    /// GitHub Classroom's base64 runner output.
    Classroom,
    /// JUnit XML, for CI systems.
    Junit,
}

impl Format {
    /// Every format, in the order help texts list them.
    pub const ALL: [Format; 8] = [
        Format::Human,
        Format::Json,
        Format::Markdown,
        Format::Html,
        Format::Gradescope,
        Format::Prairielearn,
        Format::Classroom,
        Format::Junit,
    ];

    /// The name on the command line: `human`, `json`, …
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Gradescope => "gradescope",
            Format::Prairielearn => "prairielearn",
            Format::Classroom => "classroom",
            Format::Junit => "junit",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The file this format is written to in a student's results folder
    /// (`OUT/students/NAME/`), if it is written there (the terminal text is
    /// not; JUnit is written once for the class).
    pub fn student_file(self) -> Option<&'static str> {
        match self {
            Format::Json => Some("report.json"),
            Format::Markdown => Some("feedback.md"),
            Format::Html => Some("feedback.html"),
            Format::Gradescope => Some("gradescope.json"),
            Format::Prairielearn => Some("prairielearn.json"),
            Format::Classroom => Some("classroom.b64"),
            Format::Human | Format::Junit => None,
        }
    }

    /// The report in this format (`human` options apply to the terminal text only).
    pub fn render(self, report: &SubmissionReport, human: &HumanOptions) -> String {
        match self {
            Format::Human => render_human(report, human),
            Format::Json => render_json(report),
            Format::Markdown => render_markdown(report),
            Format::Html => render_html(report),
            Format::Gradescope => render_gradescope(report),
            Format::Prairielearn => render_prairielearn(report),
            Format::Classroom => render_classroom(report),
            Format::Junit => render_junit(std::slice::from_ref(report)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_files_are_one_to_one() {
        for format in Format::ALL {
            assert_eq!(Format::from_name(format.name()), Some(format));
        }
        let files: Vec<&str> = Format::ALL
            .iter()
            .filter_map(|f| f.student_file())
            .collect();
        assert_eq!(
            files,
            [
                "report.json",
                "feedback.md",
                "feedback.html",
                "gradescope.json",
                "prairielearn.json",
                "classroom.b64"
            ]
        );
    }
}
