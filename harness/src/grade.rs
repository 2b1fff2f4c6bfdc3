//! Grading a whole class: every submission in a directory, results written
//! as each student finishes, resumable, shardable, mergeable.
//!
//! Output layout (`--out OUT`):
//!
//! ```text
//! OUT/grades.csv        a row per student, a column per scenario, total
//! OUT/junit.xml         for CI systems
//! OUT/summary.txt       the class at a glance
//! OUT/students/NAME/    report.json, feedback.md, feedback.html,
//!                       gradescope.json, prairielearn.json, classroom.b64, key
//! ```
//!
//! Each student's files are written to a temporary name and renamed, so an
//! interrupted batch never leaves a half-written result, and `--resume`
//! skips students whose key (submission content + suite + socklab version +
//! the run settings that change results, such as the isolation level)
//! matches what is on disk. `NAME` is the entry's own folder name, unique
//! even when names clash after sanitizing (see [`submissions::assign_slugs`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures::StreamExt;

use socklab_report::{
    BuildReport, Format, Isolation, SubmissionReport, read_json, render_class_summary,
    render_grades_csv, render_junit,
};

use crate::engine;
use crate::plan::{self, RunSettings, Suite};
use crate::score;
use crate::submissions::{self, Entry};

/// What to grade and how.
pub struct GradeJob<'a> {
    pub suite: &'a Suite,
    pub settings: &'a RunSettings,
    pub submissions: &'a Path,
    pub out: &'a Path,
    pub jobs: usize,
    pub shard: Option<(usize, usize)>,
    pub resume: bool,
    pub work: &'a Path,
}

/// How a batch went.
pub struct GradeSummary {
    pub graded: usize,
    pub reused: usize,
    pub reports: Vec<SubmissionReport>,
}

/// Progress of a batch, for a bar or plain lines.
pub trait Progress: Send + Sync {
    fn start(&self, total: usize);
    fn finished(&self, report: &SubmissionReport, reused: bool);
    fn done(&self);
}

/// Grades every submission of the job, writing results as they come.
///
/// The aggregates (grades.csv, junit.xml, summary.txt) hold the students of
/// this run only (graded, or reused with `--resume`); they are rewritten
/// after each student, so an interrupted run leaves them with everyone
/// finished so far. Results in `--out` for students not in this run are
/// left alone and left out, with a note on stderr.
pub async fn grade_class(
    job: &GradeJob<'_>,
    progress: &dyn Progress,
) -> std::io::Result<GradeSummary> {
    let students_dir = job.out.join("students");
    std::fs::create_dir_all(&students_dir)?;
    let entries: Vec<Entry> = submissions::list(job.submissions)?
        .into_iter()
        .filter(|e| {
            job.shard
                .is_none_or(|(k, n)| submissions::in_shard(&e.name, k, n))
        })
        .collect();
    warn_about_others(&students_dir, &entries);
    progress.start(entries.len());
    let suite_files = suite_files(job.suite);
    let settings_key = settings_key(job.settings);
    let reused = AtomicUsize::new(0);
    let finished: Mutex<BTreeMap<String, SubmissionReport>> = Mutex::new(BTreeMap::new());
    // At most `jobs` scenarios run at once, across all students.
    let limit = Arc::new(tokio::sync::Semaphore::new(job.jobs.max(1)));
    futures::stream::iter(entries)
        .map(|entry| {
            let students_dir = &students_dir;
            let suite_files = &suite_files;
            let settings_key = &settings_key;
            let reused = &reused;
            let finished = &finished;
            let limit = limit.clone();
            async move {
                let dir = students_dir.join(&entry.slug);
                let key = submissions::grading_key(&entry.path, suite_files, settings_key);
                let previous = if job.resume {
                    load_if_current(&dir, &key)
                } else {
                    None
                };
                let was_reused = previous.is_some();
                let report = match previous {
                    Some(previous) => {
                        reused.fetch_add(1, Ordering::Relaxed);
                        previous
                    }
                    None => {
                        let report = grade_one(job, &entry, limit.clone()).await;
                        if let Err(e) = write_student(&dir, &report, &key) {
                            eprintln!(
                                "socklab: could not write results for {} in {}: {e}",
                                entry.name,
                                dir.display()
                            );
                        }
                        report
                    }
                };
                {
                    // Held while writing: the files are written by one task at a time.
                    let mut done = finished.lock().unwrap_or_else(|p| p.into_inner());
                    done.insert(entry.slug.clone(), report.clone());
                    let so_far: Vec<SubmissionReport> = done.values().cloned().collect();
                    if let Err(e) = write_aggregates(job.out, &so_far) {
                        eprintln!(
                            "socklab: could not update the class files in {}: {e}",
                            job.out.display()
                        );
                    }
                }
                progress.finished(&report, was_reused);
            }
        })
        .buffer_unordered(job.jobs.max(1))
        .collect::<Vec<()>>()
        .await;
    progress.done();
    let mut all: Vec<SubmissionReport> = finished
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_values()
        .collect();
    all.sort_by(|a, b| a.submission.cmp(&b.submission));
    write_aggregates(job.out, &all)?;
    let reused = reused.load(Ordering::Relaxed);
    Ok(GradeSummary {
        graded: all.len() - reused,
        reused,
        reports: all,
    })
}

/// One line on stderr when `students_dir` holds results of students that
/// are not in this run (removed from the submissions, or another shard's).
fn warn_about_others(students_dir: &Path, entries: &[Entry]) {
    let ours: BTreeSet<&str> = entries.iter().map(|e| e.slug.as_str()).collect();
    let mut others: Vec<String> = std::fs::read_dir(students_dir)
        .map(|r| {
            r.filter_map(Result::ok)
                .filter(|e| e.path().join("key").is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|folder| !ours.contains(folder.as_str()))
                .map(|folder| {
                    // The student's name, with the folder when they differ.
                    let report =
                        std::fs::read_to_string(students_dir.join(&folder).join("report.json"));
                    match report.ok().and_then(|t| read_json(&t).ok()) {
                        Some(r) if r.submission != folder => {
                            format!("{} in {folder}/", r.submission)
                        }
                        _ => folder,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if others.is_empty() {
        return;
    }
    others.sort();
    let shown = others
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let more = if others.len() > 5 {
        format!(" and {} more", others.len() - 5)
    } else {
        String::new()
    };
    eprintln!(
        "socklab: {} holds results for {} student(s) not in this run ({shown}{more}); they are kept there but left out of grades.csv, junit.xml and summary.txt (delete them, or use a fresh --out)",
        students_dir.display(),
        others.len()
    );
}

/// What in the run's settings changes results, for the resume key: the
/// isolation level reached and what it allows, the limits, the lab options
/// and reference stand-ins.
pub fn settings_key(settings: &RunSettings) -> String {
    let caps = &settings.capabilities;
    format!(
        "isolation={};multi_host={};cgroups={};memory_cgroup={};run_as={:?};limits={:?};output_limit={};options={:?};references={:?}",
        caps.level.as_str(),
        caps.multi_host,
        caps.cgroups.is_some(),
        // A memory hog is killed by the cgroup, or crashes under RLIMIT_AS.
        caps.cgroups.as_ref().is_some_and(|c| c.has_memory()),
        caps.run_as,
        settings.limits,
        settings.output_limit,
        settings.options,
        settings.references,
    )
}

fn suite_files(suite: &Suite) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = suite.files.iter().map(|f| f.path.clone()).collect();
    if let Some(m) = &suite.manifest {
        files.push(m.path.clone());
    }
    files
}

async fn grade_one(
    job: &GradeJob<'_>,
    entry: &Entry,
    limit: Arc<tokio::sync::Semaphore>,
) -> SubmissionReport {
    let work = job.work.join(&entry.slug);
    let _ = std::fs::remove_dir_all(&work);
    if let Err(e) = std::fs::create_dir_all(&work) {
        return unreadable(
            job,
            &entry.name,
            format!("cannot create a working directory: {e}"),
        );
    }
    let dir = match submissions::materialize(entry, &work) {
        Ok(d) => d,
        Err(why) => return unreadable(job, &entry.name, why.to_string()),
    };
    let is_empty = std::fs::read_dir(&dir)
        .map(|mut r| r.next().is_none())
        .unwrap_or(true);
    if is_empty {
        return unreadable(job, &entry.name, "the submission is empty".to_string());
    }
    let report = engine::grade_submission_limited(
        job.suite,
        job.settings,
        &entry.name,
        &dir,
        &work,
        job.jobs,
        Some(limit),
        None,
    )
    .await;
    let _ = std::fs::remove_dir_all(&work);
    report
}

/// A zero for a submission that cannot be graded at all, with the reason in
/// its feedback (as a failed build) and every scenario listed.
fn unreadable(job: &GradeJob<'_>, name: &str, why: String) -> SubmissionReport {
    let scenarios: Vec<_> = job
        .suite
        .scenarios()
        .map(|s| score::skipped(s, plan::source_of(s), format!("not run: {why}")))
        .map(|mut r| {
            r.status = if r.observe {
                socklab_report::ScenarioStatus::Skipped
            } else {
                socklab_report::ScenarioStatus::Failed
            };
            r
        })
        .collect();
    let (_, max_score) = score::total(
        &scenarios,
        job.suite.manifest.as_ref().and_then(|m| m.total),
    );
    SubmissionReport {
        submission: name.to_string(),
        lab: job.suite.lab_name(),
        socklab_version: env!("CARGO_PKG_VERSION").to_string(),
        isolation: Isolation {
            level: job.settings.capabilities.level,
            notes: Vec::new(),
        },
        build: Some(BuildReport {
            ok: false,
            method: "none".to_string(),
            programs: Vec::new(),
            output: why,
            duration_secs: 0.0,
        }),
        scenarios,
        score: 0.0,
        max_score,
        duration_secs: 0.0,
    }
}

fn load_if_current(dir: &Path, key: &str) -> Option<SubmissionReport> {
    let stored = std::fs::read_to_string(dir.join("key")).ok()?;
    if stored.trim() != key {
        return None;
    }
    read_json(&std::fs::read_to_string(dir.join("report.json")).ok()?).ok()
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

/// Combines shard outputs into `out`, as if one run had graded everyone.
pub fn merge(inputs: &[PathBuf], out: &Path) -> std::io::Result<usize> {
    let students_out = out.join("students");
    std::fs::create_dir_all(&students_out)?;
    for input in inputs {
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
            let to = students_out.join(entry.file_name());
            if to.canonicalize().ok() == from.canonicalize().ok() {
                continue;
            }
            std::fs::create_dir_all(&to)?;
            for file in std::fs::read_dir(&from)? {
                let file = file?;
                if file.file_name() != "key" {
                    std::fs::copy(file.path(), to.join(file.file_name()))?;
                }
            }
            std::fs::copy(from.join("key"), to.join("key"))?;
        }
    }
    let all = read_all_students(&students_out);
    write_aggregates(out, &all)?;
    Ok(all.len())
}

/// `x`, with -0.0 (from an empty f64 `sum()`, kept in older report.json
/// files) made 0.0 so that it does not print as `-0.00`.
fn no_negative_zero(x: f64) -> f64 {
    x + 0.0
}

/// Plain progress lines (used when stderr is not a terminal).
pub struct PlainProgress {
    total: AtomicUsize,
    done: AtomicUsize,
}

impl PlainProgress {
    pub fn new() -> Arc<Self> {
        Arc::new(PlainProgress {
            total: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        })
    }
}

impl Progress for PlainProgress {
    fn start(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        eprintln!("grading {total} submissions");
    }
    fn finished(&self, report: &SubmissionReport, reused: bool) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        eprintln!(
            "[{done}/{}] {}: {:.2}/{}{}",
            self.total.load(Ordering::Relaxed),
            report.submission,
            no_negative_zero(report.score),
            report.max_score,
            if reused {
                " (unchanged, not re-graded)"
            } else {
                ""
            }
        );
    }
    fn done(&self) {}
}

/// A progress bar with counts and ETA (indicatif hides it off a terminal).
pub struct BarProgress {
    bar: indicatif::ProgressBar,
}

impl BarProgress {
    pub fn new() -> Arc<Self> {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} students  {elapsed} elapsed, ETA {eta}  {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Arc::new(BarProgress { bar })
    }
}

impl Progress for BarProgress {
    fn start(&self, total: usize) {
        self.bar.set_length(total as u64);
    }
    fn finished(&self, report: &SubmissionReport, _reused: bool) {
        self.bar.set_message(format!(
            "{}: {:.1}/{}",
            report.submission,
            no_negative_zero(report.score),
            report.max_score
        ));
        self.bar.inc(1);
    }
    fn done(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{Capabilities, IsolationLevel};

    fn settings(level: IsolationLevel) -> RunSettings {
        RunSettings {
            self_exe: PathBuf::from("/usr/bin/socklab"),
            capabilities: Capabilities {
                level,
                multi_host: true,
                cgroups: None,
                run_as: None,
                why_single_host: None,
                really_root: true,
                notes: Vec::new(),
            },
            limits: None,
            output_limit: 1 << 20,
            options: BTreeMap::new(),
            references: BTreeMap::new(),
            port_turns: crate::plan::PortTurns::default(),
        }
    }

    #[test]
    fn the_resume_key_changes_with_what_changes_results() {
        let submission = tempfile::tempdir().unwrap();
        std::fs::write(submission.path().join("a.c"), "int main;").unwrap();
        let key =
            |s: &RunSettings| submissions::grading_key(submission.path(), &[], &settings_key(s));
        let base = settings(IsolationLevel::Namespaces);
        assert_eq!(key(&base), key(&base.clone()), "stable");
        let mut other_exe = base.clone();
        other_exe.self_exe = PathBuf::from("/elsewhere/socklab");
        assert_eq!(
            key(&base),
            key(&other_exe),
            "where socklab is does not matter"
        );

        let loopback = settings(IsolationLevel::Loopback);
        let mut one_host = base.clone();
        one_host.capabilities.multi_host = false;
        let mut limited = base.clone();
        limited.limits = Some(crate::limits::ProcessLimits {
            cpu_secs: 1,
            address_space: 1 << 30,
            open_files: 64,
            file_size: 1 << 20,
            processes: 16,
        });
        let mut output = base.clone();
        output.output_limit = 1024;
        let mut options = base.clone();
        options.options.insert("seed".into(), "7".into());
        let mut as_nobody = base.clone();
        as_nobody.capabilities.run_as = Some(crate::sandbox::RunAs {
            uid: 65534,
            gid: 65534,
            keep_bind_service: false,
        });
        let keys: BTreeSet<String> = [
            &base, &loopback, &one_host, &limited, &output, &options, &as_nobody,
        ]
        .into_iter()
        .map(key)
        .collect();
        assert_eq!(keys.len(), 7, "each setting changes the key");
    }

    #[test]
    fn a_zero_score_prints_without_a_sign() {
        let empty: f64 = std::iter::empty::<f64>().sum();
        assert_eq!(format!("{:.2}", no_negative_zero(empty)), "0.00");
        assert_eq!(format!("{:.2}", no_negative_zero(2.5)), "2.50");
    }
}
