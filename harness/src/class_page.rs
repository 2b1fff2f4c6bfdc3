//! The class page files of a batch: `OUT/index.html` and `OUT/mistakes.csv`.
//!
//! Written next to the other class files (grades.csv, junit.xml,
//! summary.txt) by [`crate::grade`]: as students of `socklab grade` finish,
//! and by `socklab merge`. Both render the same model
//! ([`socklab_report::ClassReport`]) from the students' reports and the
//! folders under `OUT/students/` their feedback is in, so shards merged
//! give the same page as one run.

use std::path::Path;

use socklab_report::{
    ClassMember, ClassReport, SubmissionReport, read_json, render_class_page, render_mistakes_csv,
};

use crate::grade::write_atomic;

/// Writes `index.html` and `mistakes.csv` into `out` for `students`
/// (folder under `out/students/`, report).
pub fn write<'a>(
    out: &Path,
    students: impl IntoIterator<Item = (&'a str, &'a SubmissionReport)>,
) -> std::io::Result<()> {
    let members: Vec<ClassMember<'_>> = students
        .into_iter()
        .map(|(folder, report)| ClassMember {
            report,
            folder: Some(folder),
        })
        .collect();
    let class = ClassReport::build(&members);
    write_atomic(
        &out.join("index.html"),
        render_class_page(&class).as_bytes(),
    )?;
    write_atomic(
        &out.join("mistakes.csv"),
        render_mistakes_csv(&class).as_bytes(),
    )
}

/// Every complete student result under `students_dir` (those with a `key`)
/// as its folder name and its report, sorted by student name, then folder.
pub fn read_students(students_dir: &Path) -> (Vec<String>, Vec<SubmissionReport>) {
    let mut students: Vec<(String, SubmissionReport)> = std::fs::read_dir(students_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("key").is_file())
                .filter_map(|e| {
                    let text = std::fs::read_to_string(e.path().join("report.json")).ok()?;
                    let report = read_json(&text).ok()?;
                    Some((e.file_name().to_string_lossy().into_owned(), report))
                })
                .collect()
        })
        .unwrap_or_default();
    students.sort_by(|(fa, a), (fb, b)| (&a.submission, fa).cmp(&(&b.submission, fb)));
    students.into_iter().unzip()
}
