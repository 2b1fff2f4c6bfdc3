//! Grading a whole class: every submission in a directory, results written
//! as each student finishes (by the [`StudentFiles`] subscriber, see
//! [`files`]), resumable, shardable, mergeable. Progress is told through
//! [`Event`]s.
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

mod files;

pub use files::{
    CaptureFiles, PACKETS_FOLDER, StudentFiles, merge, read_all_students, write_aggregates,
    write_atomic, write_student,
};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::StreamExt;

use socklab_report::{BuildReport, Isolation, SubmissionReport, read_json};

use crate::engine::Grading;
use crate::events::{Event, Events};
use crate::plan::{self, RunSettings, Suite};
use crate::score;
use crate::submissions::{self, Entry};

/// What to grade and how.
pub struct GradeJob<'a> {
    pub suite: Arc<Suite>,
    pub settings: Arc<RunSettings>,
    pub submissions: &'a Path,
    pub out: &'a Path,
    pub jobs: usize,
    pub shard: Option<(usize, usize)>,
    pub resume: bool,
    pub work: &'a Path,
    /// Programs compiled from the same inputs as one compiled earlier in
    /// the run are reused (`build::cache`).
    pub shared_builds: bool,
}

/// How a batch went.
pub struct GradeSummary {
    pub graded: usize,
    pub reused: usize,
    pub reports: Vec<SubmissionReport>,
    /// Compiled programs shared with an identical compile earlier in the
    /// run, and compiles that ran (`build::cache`).
    pub compiles: (u64, u64),
}

/// Grades every submission of the job, writing results as they come, and
/// tells `events` how it goes.
///
/// The aggregates (grades.csv, junit.xml, summary.txt, index.html,
/// mistakes.csv) hold the students of this run only (graded, or reused
/// with `--resume`); they are rewritten as students finish (every few
/// seconds at most, `files::StudentFiles`) and when the run ends or is
/// interrupted, so an interrupted run leaves them with everyone finished so
/// far. Results in `--out` for students not in this run are
/// left alone and left out, with a warning.
pub async fn grade_class(job: &GradeJob<'_>, events: &Events) -> std::io::Result<GradeSummary> {
    let students_dir = job.out.join("students");
    std::fs::create_dir_all(&students_dir)?;
    let entries: Vec<Entry> = submissions::list(job.submissions)?
        .into_iter()
        .filter(|e| {
            job.shard
                .is_none_or(|(k, n)| submissions::in_shard(&e.name, k, n))
        })
        .collect();
    // The files are written before anyone else hears a student is done.
    let files = Arc::new(StudentFiles::new(job.out));
    let events = Events::none().with(files.clone()).and(events);
    if let Some(message) = others_note(&students_dir, &entries) {
        events.emit(Event::Warning { message });
    }
    events.emit(Event::ClassStarted {
        submissions: entries.len(),
    });
    let suite_files = suite_files(&job.suite);
    let settings_key = settings_key(&job.settings);
    // At most `jobs` scenarios run at once, across all students.
    let limit = Arc::new(tokio::sync::Semaphore::new(job.jobs.max(1)));
    let grading = Grading {
        suite: job.suite.clone(),
        settings: job.settings.clone(),
        work: job.work,
        jobs: job.jobs,
        limit: Some(limit),
        events: events.clone(),
        packets_folder: Some(files::PACKETS_FOLDER.to_string()),
        compiled: job
            .shared_builds
            .then(|| Arc::new(crate::build::cache::CompileCache::default())),
    };
    let results: Vec<(SubmissionReport, bool)> = futures::stream::iter(entries)
        .map(|entry| {
            let students_dir = &students_dir;
            let suite_files = &suite_files;
            let settings_key = &settings_key;
            let files = &files;
            let events = &events;
            let grading = &grading;
            async move {
                let key = submissions::grading_key(&entry.path, suite_files, settings_key);
                files.expect(&entry.name, &entry.slug, &key);
                let previous = if job.resume {
                    load_if_current(&students_dir.join(&entry.slug), &key)
                } else {
                    None
                };
                match previous {
                    Some(previous) => {
                        let report = Arc::new(previous);
                        events.emit(Event::SubmissionFinished {
                            report: report.clone(),
                            reused: true,
                        });
                        (Arc::unwrap_or_clone(report), true)
                    }
                    None => (grade_one(job, grading, &entry).await, false),
                }
            }
        })
        .buffer_unordered(job.jobs.max(1))
        .collect()
        .await;
    events.emit(Event::ClassFinished);
    let reused = results.iter().filter(|(_, reused)| *reused).count();
    let mut all: Vec<SubmissionReport> = results.into_iter().map(|(report, _)| report).collect();
    all.sort_by(|a, b| a.submission.cmp(&b.submission));
    files.write_class_files()?;
    Ok(GradeSummary {
        graded: all.len() - reused,
        reused,
        reports: all,
        compiles: grading.compiled.as_ref().map_or((0, 0), |c| c.counts()),
    })
}

/// A note when `students_dir` holds results of students that are not in
/// this run (removed from the submissions, or another shard's).
fn others_note(students_dir: &Path, entries: &[Entry]) -> Option<String> {
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
        return None;
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
    Some(format!(
        "{} holds results for {} student(s) not in this run ({shown}{more}); they are kept there but left out of grades.csv, junit.xml and summary.txt (delete them, or use a fresh --out)",
        students_dir.display(),
        others.len()
    ))
}

/// What in the run's settings changes results, for the resume key: the
/// isolation level reached and what it allows, the limits, the lab options
/// and reference stand-ins.
pub fn settings_key(settings: &RunSettings) -> String {
    let caps = &settings.capabilities;
    format!(
        "isolation={};multi_host={};cgroups={};memory_cgroup={};identities={:?};limits={:?};output_limit={};options={:?};references={:?};capture={}",
        caps.level.as_str(),
        caps.multi_host,
        caps.cgroups.is_some(),
        // A memory hog is killed by the cgroup, or crashes under RLIMIT_AS.
        caps.cgroups.as_ref().is_some_and(|c| c.has_memory()),
        caps.identities,
        settings.limits,
        settings.output_limit,
        settings.options,
        settings.references,
        settings.capture,
    )
}

fn suite_files(suite: &Suite) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = suite.files.iter().map(|f| f.path.clone()).collect();
    if let Some(m) = &suite.manifest {
        files.push(m.path.clone());
    }
    files
}

/// Grades one student in a working folder of its own; a submission that
/// cannot be read is a zero with the reason (and its end is told here, as
/// the engine never saw it).
async fn grade_one(job: &GradeJob<'_>, grading: &Grading<'_>, entry: &Entry) -> SubmissionReport {
    if entry.kind == submissions::EntryKind::Other {
        let report = not_a_submission(job, entry);
        grading.events.emit_with(|| Event::SubmissionFinished {
            report: Arc::new(report.clone()),
            reused: false,
        });
        return report;
    }
    let work = job.work.join(&entry.slug);
    let _ = std::fs::remove_dir_all(&work);
    let unreadable = |why: String| {
        let report = unreadable(job, &entry.name, why);
        grading.events.emit_with(|| Event::SubmissionFinished {
            report: Arc::new(report.clone()),
            reused: false,
        });
        report
    };
    if let Err(e) = student_folders(&work) {
        return unreadable(format!("cannot create a working directory: {e}"));
    }
    let dir = match submissions::materialize(entry, &work) {
        Ok(d) => d,
        Err(why) => return unreadable(why.to_string()),
    };
    let is_empty = std::fs::read_dir(&dir)
        .map(|mut r| r.next().is_none())
        .unwrap_or(true);
    if is_empty {
        return unreadable("the submission is empty".to_string());
    }
    let student = Grading {
        work: &work,
        limit: grading.limit.clone(),
        events: grading.events.clone(),
        packets_folder: grading.packets_folder.clone(),
        suite: grading.suite.clone(),
        settings: grading.settings.clone(),
        jobs: grading.jobs,
        compiled: grading.compiled.clone(),
    };
    let report = student.grade(&entry.name, &dir).await;
    let _ = std::fs::remove_dir_all(&work);
    report
}

/// A student's working folder (root's, mode 0711: the student's programs
/// reach their folders below it, nobody lists it) and, in it, the folder
/// an archive is unpacked into (root's alone, mode 0700: no program of any
/// student reads a submission's sources there).
fn student_folders(work: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::create_dir_all(work)?;
    std::fs::set_permissions(work, std::fs::Permissions::from_mode(0o711))?;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(work.join(submissions::UNPACKED))
}

/// The report of an entry that is neither a folder nor an archive (a stray
/// `notes.txt`): it is listed, with the reason in its feedback, but has no
/// grade (every scenario skipped; gradebooks say "not a submission").
fn not_a_submission(job: &GradeJob<'_>, entry: &Entry) -> SubmissionReport {
    let why = format!(
        "`{}` is neither a directory nor a .zip/.tar.gz/.tgz archive: it is not a submission and has no grade",
        entry.file_name
    );
    let mut report = unreadable(job, &entry.name, why.clone());
    for scenario in &mut report.scenarios {
        scenario.status = socklab_report::ScenarioStatus::Skipped;
    }
    report.not_a_submission = Some(why);
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
        None,
    );
    SubmissionReport {
        submission: name.to_string(),
        lab: job.suite.lab_name(),
        socklab_version: env!("CARGO_PKG_VERSION").to_string(),
        isolation: Isolation {
            level: job.settings.capabilities.level,
            notes: Vec::new(),
        },
        options: job.settings.options.clone(),
        not_a_submission: None,
        selection: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{Capabilities, IsolationLevel};
    use std::collections::BTreeMap;

    fn settings(level: IsolationLevel) -> RunSettings {
        RunSettings {
            self_exe: PathBuf::from("/usr/bin/socklab"),
            capabilities: Capabilities {
                level,
                multi_host: true,
                cgroups: None,
                identities: None,
                why_single_host: None,
                really_root: true,
                notes: Vec::new(),
            },
            limits: None,
            output_limit: 1 << 20,
            options: BTreeMap::new(),
            references: BTreeMap::new(),
            port_turns: crate::plan::PortTurns::default(),
            capture: true,
            keep_scenario_folders: true,
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
            slow_down_after: std::time::Duration::from_millis(250),
        });
        let mut output = base.clone();
        output.output_limit = 1024;
        let mut options = base.clone();
        options.options.insert("seed".into(), "7".into());
        let mut as_nobody = base.clone();
        as_nobody.capabilities.identities = Some(crate::sandbox::Identities {
            first_uid: crate::sandbox::identity::FIRST_UID,
            slots: crate::sandbox::identity::SLOTS,
            claims: None,
            keep_bind_service: false,
            separate_peers: true,
        });
        let keys: BTreeSet<String> = [
            &base, &loopback, &one_host, &limited, &output, &options, &as_nobody,
        ]
        .into_iter()
        .map(key)
        .collect();
        assert_eq!(keys.len(), 7, "each setting changes the key");
    }
}
