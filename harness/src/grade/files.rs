//! A student's result files and the class files, written as results come:
//! the [`StudentFiles`] subscriber writes each student's folder when their
//! report is complete (and each scenario's capture into its `packets/` as
//! the scenario ends) and rewrites grades.csv, junit.xml, summary.txt,
//! index.html and mistakes.csv with everyone finished so far (every few
//! seconds at most, at the end, and when dropped); [`merge`] combines the
//! folders of shards. [`CaptureFiles`] writes the captures of `socklab run`
//! and `socklab check` into one folder.
//!
//! Every file is written to a temporary name and renamed, so an interrupted
//! batch never leaves a half-written result; a student's `key` is written
//! last, so a folder with a key has all of its files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use socklab_report::{
    Format, SubmissionReport, read_json, render_class_summary, render_grades_csv, render_junit,
};

use crate::events::{Event, Subscriber, SubscriberError};

/// The folder of a student's results (and beside a `socklab check`
/// report) that holds the scenarios' captures, one pcapng each.
pub const PACKETS_FOLDER: &str = "packets";

/// Writes each student's results and the class files as reports arrive.
///
/// A student's folder is written as soon as their report is complete. The
/// class files hold everyone, so rewriting them costs more with each
/// student: after each student they made a class's file work grow with the
/// square of its size. They are rewritten when the last expected student
/// finishes, and before that at most every [`CLASS_FILES_EVERY`] (or twenty
/// times as long as the last rewrite took, if that is longer); what is
/// pending is written when the subscriber is dropped, which an interrupted
/// run does too, so the files never miss a finished student for long.
pub struct StudentFiles {
    out: PathBuf,
    state: Mutex<Written>,
}

#[derive(Default)]
struct Written {
    /// Submission name → its folder name and resume key, for the students
    /// of this run.
    expected: BTreeMap<String, (String, String)>,
    /// Folder name → report, for everyone finished so far.
    finished: BTreeMap<String, SubmissionReport>,
    /// When the class files were last written, and how long that took.
    last_write: Option<(Instant, Duration)>,
    /// Students finished since the class files were last written.
    pending: bool,
}

/// The least time between two rewrites of the class files during a run.
pub const CLASS_FILES_EVERY: Duration = Duration::from_secs(2);

impl Written {
    /// Whether the class files should be rewritten now.
    fn class_files_due(&self) -> bool {
        if self.finished.len() >= self.expected.len() {
            return true;
        }
        match self.last_write {
            None => true,
            Some((at, took)) => at.elapsed() >= CLASS_FILES_EVERY.max(took * 20),
        }
    }

    fn write_class_files(&mut self, out: &Path) -> std::io::Result<()> {
        let started = Instant::now();
        let written = write_class_files(out, &self.finished);
        self.last_write = Some((Instant::now(), started.elapsed()));
        self.pending = written.is_err();
        written
    }
}

impl StudentFiles {
    /// Results go to `out/students/FOLDER/` and `out/`.
    pub fn new(out: &Path) -> StudentFiles {
        StudentFiles {
            out: out.to_path_buf(),
            state: Mutex::new(Written::default()),
        }
    }

    /// The student `name` of this run has the folder `slug` and, once
    /// graded, the resume key `key`.
    pub fn expect(&self, name: &str, slug: &str, key: &str) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .expected
            .insert(name.to_string(), (slug.to_string(), key.to_string()));
    }
}

impl StudentFiles {
    /// The student's `packets/` folder, for this run's students.
    fn packets_dir(&self, submission: &str) -> Option<PathBuf> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (slug, _) = state.expected.get(submission)?;
        Some(self.out.join("students").join(slug).join(PACKETS_FOLDER))
    }
}

impl Subscriber for StudentFiles {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        match event {
            // A regraded student's old captures go: scenarios may differ.
            Event::SubmissionStarted { submission } => {
                if let Some(dir) = self.packets_dir(submission) {
                    let _ = std::fs::remove_dir_all(dir);
                }
                return Ok(());
            }
            Event::ScenarioCaptured {
                submission,
                file,
                pcapng,
                ..
            } => {
                let Some(dir) = self.packets_dir(submission) else {
                    return Ok(());
                };
                return write_capture(&dir, file, pcapng).map_err(|e| {
                    SubscriberError(format!(
                        "could not keep the capture {file} of {submission} in {}: {e}",
                        dir.display()
                    ))
                });
            }
            _ => {}
        }
        let Event::SubmissionFinished { report, reused } = event else {
            return Ok(());
        };
        // Held while writing: the files are written by one task at a time.
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some((slug, key)) = state.expected.get(&report.submission).cloned() else {
            return Ok(());
        };
        let mut trouble = Vec::new();
        if !reused {
            let dir = self.out.join("students").join(&slug);
            if let Err(e) = write_student(&dir, report, &key) {
                trouble.push(format!(
                    "could not write results for {} in {}: {e}",
                    report.submission,
                    dir.display()
                ));
            }
        }
        state.finished.insert(slug, (**report).clone());
        state.pending = true;
        if state.class_files_due()
            && let Err(e) = state.write_class_files(&self.out)
        {
            trouble.push(format!(
                "could not update the class files in {}: {e}",
                self.out.display()
            ));
        }
        if trouble.is_empty() {
            Ok(())
        } else {
            Err(SubscriberError(trouble.join("; ")))
        }
    }
}

impl StudentFiles {
    /// Rewrites the class files with everyone finished so far (at the end
    /// of a batch: the whole class of this run).
    pub fn write_class_files(&self) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.write_class_files(&self.out)
    }
}

impl Drop for StudentFiles {
    /// Students finished since the last rewrite go into the class files
    /// (an interrupted run drops the subscriber on its way out).
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if state.pending {
            let _ = state.write_class_files(&self.out);
        }
    }
}

/// Writes one capture file into `dir`, made if needed.
fn write_capture(dir: &Path, file: &str, pcapng: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomic(&dir.join(file), pcapng)
}

/// Writes the captures of one submission's scenarios into a folder
/// (`socklab run --packets DIR`, `socklab check`).
pub struct CaptureFiles {
    dir: PathBuf,
}

impl CaptureFiles {
    pub fn new(dir: &Path) -> CaptureFiles {
        CaptureFiles {
            dir: dir.to_path_buf(),
        }
    }
}

impl Subscriber for CaptureFiles {
    fn on_event(&self, event: &Event) -> Result<(), SubscriberError> {
        let Event::ScenarioCaptured { file, pcapng, .. } = event else {
            return Ok(());
        };
        write_capture(&self.dir, file, pcapng).map_err(|e| {
            SubscriberError(format!(
                "could not keep the capture {file} in {}: {e}",
                self.dir.display()
            ))
        })
    }
}

/// grades.csv, junit.xml, summary.txt, index.html and mistakes.csv for the
/// students in `finished` (folder name → report).
fn write_class_files(
    out: &Path,
    finished: &BTreeMap<String, SubmissionReport>,
) -> std::io::Result<()> {
    let mut reports: Vec<SubmissionReport> = finished.values().cloned().collect();
    reports.sort_by(|a, b| a.submission.cmp(&b.submission));
    write_aggregates(out, &reports)?;
    write_run_list(out, finished.keys())?;
    crate::class_page::write(out, finished.iter().map(|(f, r)| (f.as_str(), r)))
}

/// The file in an output folder that lists, one folder name a line, the
/// students whose results make up its class files: a folder under
/// `students/` that is not listed was left by an earlier run (another
/// shard's, or a student since removed) and [`merge`] leaves it out.
pub const RUN_LIST: &str = "students.txt";

fn write_run_list<'a>(
    out: &Path,
    folders: impl Iterator<Item = &'a String>,
) -> std::io::Result<()> {
    let mut text = String::new();
    for folder in folders {
        text.push_str(folder);
        text.push('\n');
    }
    write_atomic(&out.join(RUN_LIST), text.as_bytes())
}

/// The folders `input`'s last run graded, or `None` for an output written
/// before socklab kept the list (then every complete folder is taken).
fn read_run_list(input: &Path) -> std::io::Result<Option<BTreeSet<String>>> {
    match std::fs::read_to_string(input.join(RUN_LIST)) {
        Ok(text) => Ok(Some(
            text.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", input.join(RUN_LIST).display()),
        )),
    }
}

/// Writes `contents` to `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, path)
}

/// One student's result files; `key` is written last, so a student whose
/// key is on disk has all of its files.
pub fn write_student(dir: &Path, report: &SubmissionReport, key: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let _ = std::fs::remove_file(dir.join("key"));
    let human = socklab_report::HumanOptions::default();
    for format in Format::ALL {
        if let Some(file) = format.student_file() {
            write_atomic(&dir.join(file), format.render(report, &human).as_bytes())?;
        }
    }
    write_atomic(&dir.join("key"), key.as_bytes())
}

/// Every complete student result under `students_dir`, sorted by name.
pub fn read_all_students(students_dir: &Path) -> Vec<SubmissionReport> {
    let mut reports: Vec<SubmissionReport> = std::fs::read_dir(students_dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .filter(|e| e.path().join("key").is_file())
                .filter_map(|e| std::fs::read_to_string(e.path().join("report.json")).ok())
                .filter_map(|text| read_json(&text).ok())
                .collect()
        })
        .unwrap_or_default();
    reports.sort_by(|a, b| a.submission.cmp(&b.submission));
    reports
}

/// grades.csv, junit.xml and summary.txt for a set of students.
pub fn write_aggregates(out: &Path, reports: &[SubmissionReport]) -> std::io::Result<()> {
    write_atomic(
        &out.join("grades.csv"),
        render_grades_csv(reports).as_bytes(),
    )?;
    write_atomic(&out.join("junit.xml"), render_junit(reports).as_bytes())?;
    write_atomic(
        &out.join("summary.txt"),
        render_class_summary(reports).as_bytes(),
    )
}

/// Copies a student's folder (its files and its `packets/`), the key last
/// (by the caller).
fn copy_files(from: &Path, to: &Path) -> std::io::Result<()> {
    for file in std::fs::read_dir(from)? {
        let file = file?;
        let name = file.file_name();
        if name == "key" {
            continue;
        }
        if file.file_type()?.is_dir() {
            if name == PACKETS_FOLDER {
                std::fs::create_dir_all(to.join(&name))?;
                copy_files(&file.path(), &to.join(&name))?;
            }
            continue;
        }
        std::fs::copy(file.path(), to.join(&name))?;
    }
    Ok(())
}

/// Combines shard outputs into `out`, as if one run had graded everyone:
/// from each input, the students its last run graded (its [`RUN_LIST`]);
/// folders an earlier run left there are not taken. A student graded in
/// two inputs is an error (shards must not overlap).
pub fn merge(inputs: &[PathBuf], out: &Path) -> std::io::Result<usize> {
    let students_out = out.join("students");
    std::fs::create_dir_all(&students_out)?;
    let mut taken: BTreeMap<std::ffi::OsString, PathBuf> = BTreeMap::new();
    for input in inputs {
        let listed = read_run_list(input)?;
        let students = input.join("students");
        let entries = std::fs::read_dir(&students).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("{} is not a socklab output directory: {e}", input.display()),
            )
        })?;
        for entry in entries {
            let entry = entry?;
            let from = entry.path();
            if !from.join("key").is_file() {
                continue;
            }
            if let Some(listed) = &listed
                && !listed.contains(entry.file_name().to_string_lossy().as_ref())
            {
                continue;
            }
            if let Some(first) = taken.insert(entry.file_name(), input.clone()) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "student folder {} is graded in both {} and {}: merge shards of one class, each student in one shard (e.g. the outputs of --shard 1/N .. N/N)",
                        entry.file_name().to_string_lossy(),
                        first.display(),
                        input.display()
                    ),
                ));
            }
            let to = students_out.join(entry.file_name());
            if to.canonicalize().ok() == from.canonicalize().ok() {
                continue;
            }
            std::fs::create_dir_all(&to)?;
            copy_files(&from, &to)?;
            std::fs::copy(from.join("key"), to.join("key"))?;
        }
    }
    // Only the folders taken now: `out` may hold an earlier merge's.
    let (folders, all): (Vec<String>, Vec<SubmissionReport>) = {
        let (folders, all) = crate::class_page::read_students(&students_out);
        folders
            .into_iter()
            .zip(all)
            .filter(|(folder, _)| taken.contains_key(std::ffi::OsStr::new(folder)))
            .unzip()
    };
    write_aggregates(out, &all)?;
    write_run_list(out, folders.iter())?;
    crate::class_page::write(out, folders.iter().map(String::as_str).zip(&all))?;
    Ok(all.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use socklab_report::{Isolation, IsolationLevel};
    use std::sync::Arc;

    fn report(name: &str) -> SubmissionReport {
        SubmissionReport {
            submission: name.to_string(),
            lab: "lab".to_string(),
            socklab_version: "0".to_string(),
            isolation: Isolation {
                level: IsolationLevel::Loopback,
                notes: Vec::new(),
            },
            options: BTreeMap::new(),
            not_a_submission: None,
            selection: None,
            build: None,
            scenarios: Vec::new(),
            score: 1.0,
            max_score: 1.0,
            duration_secs: 0.0,
        }
    }

    fn finish(files: &StudentFiles, name: &str) {
        files
            .on_event(&Event::SubmissionFinished {
                report: Arc::new(report(name)),
                reused: false,
            })
            .unwrap();
    }

    fn listed(out: &Path) -> Vec<String> {
        std::fs::read_to_string(out.join(RUN_LIST))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// An output folder and its subscriber, expecting ann, ben and cat.
    fn class_of_three() -> (tempfile::TempDir, StudentFiles) {
        let out = tempfile::tempdir().unwrap();
        let files = StudentFiles::new(out.path());
        for name in ["ann", "ben", "cat"] {
            files.expect(name, name, "key");
        }
        (out, files)
    }

    #[test]
    fn the_class_files_list_the_first_student_at_once_and_everyone_at_the_end() {
        let (out, files) = class_of_three();
        finish(&files, "ann");
        assert_eq!(listed(out.path()), ["ann"], "the first is written at once");
        finish(&files, "ben");
        // ben may wait for the next rewrite (every few seconds at most);
        // the last expected student triggers one.
        finish(&files, "cat");
        assert_eq!(listed(out.path()), ["ann", "ben", "cat"]);
        let grades = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
        assert!(grades.contains("cat"), "{grades}");
    }

    #[test]
    fn students_finished_since_the_last_rewrite_are_written_when_the_run_ends_early() {
        let (out, files) = class_of_three();
        finish(&files, "ann");
        finish(&files, "ben");
        // An interrupted run: cat never finishes, the subscriber is dropped.
        drop(files);
        assert_eq!(listed(out.path()), ["ann", "ben"]);
        let grades = std::fs::read_to_string(out.path().join("grades.csv")).unwrap();
        assert!(grades.contains("ben"), "{grades}");
    }
}
