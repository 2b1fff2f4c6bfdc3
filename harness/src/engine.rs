//! Grading one submission with a suite: build, plan, run every scenario
//! (up to `jobs` at once), check, score.
//!
//! Scenarios run concurrently on one task, so dropping the future (Ctrl-C,
//! SIGTERM) drops every runner, and each runner's sandbox kills what it
//! started. Results come back in suite order whatever finished first.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use socklab_report::{Isolation, ScenarioReport, SubmissionReport};
use socklab_scenario::Scenario;

use crate::build;
use crate::plan::{self, Disposition, RunSettings, ScenarioPlan, Suite};
use crate::run;
use crate::score;

/// Something that happened during a run, for progress displays.
#[derive(Debug, Clone)]
pub enum Event {
    ScenarioStarted {
        submission: String,
        scenario: String,
    },
    ScenarioFinished {
        submission: String,
        report: Box<ScenarioReport>,
    },
}

/// Where events go (a progress bar, plain lines, nowhere).
pub type EventSink = Arc<dyn Fn(Event) + Send + Sync>;

/// Grades `dir` with `suite`, working under `work`.
pub async fn grade_submission(
    suite: &Suite,
    settings: &RunSettings,
    name: &str,
    dir: &Path,
    work: &Path,
    jobs: usize,
    events: Option<EventSink>,
) -> SubmissionReport {
    grade_submission_limited(suite, settings, name, dir, work, jobs, None, events).await
}

/// As [`grade_submission`], with every scenario also taking a permit from
/// `limit`, so that a class batch runs at most `-j` scenarios in all.
#[allow(clippy::too_many_arguments)]
pub async fn grade_submission_limited(
    suite: &Suite,
    settings: &RunSettings,
    name: &str,
    dir: &Path,
    work: &Path,
    jobs: usize,
    limit: Option<Arc<tokio::sync::Semaphore>>,
    events: Option<EventSink>,
) -> SubmissionReport {
    let started = Instant::now();
    let (submission, build_report) = match &suite.manifest {
        Some(manifest) => {
            let build_dir = work.join("build");
            match build::copy_submission(dir, &build_dir) {
                Ok(_) => {
                    let (s, b) = build::build(name, &build_dir, manifest, settings).await;
                    (s, Some(b))
                }
                Err(e) => {
                    let mut submission = build::prebuilt(name, build_dir);
                    for program in manifest.programs.keys() {
                        submission.programs.insert(
                            program.clone(),
                            plan::Availability::Missing(format!(
                                "the submission could not be read: {e}"
                            )),
                        );
                    }
                    let report = socklab_report::BuildReport {
                        ok: false,
                        method: "copy".into(),
                        programs: Vec::new(),
                        output: format!("the submission could not be read: {e}"),
                        duration_secs: 0.0,
                    };
                    (submission, Some(report))
                }
            }
        }
        None => (build::prebuilt(name, dir.to_path_buf()), None),
    };
    let scenarios: Vec<(usize, &Scenario)> = suite.scenarios().enumerate().collect();
    let reports: Vec<ScenarioReport> = futures::stream::iter(scenarios)
        .map(|(index, scenario)| {
            let submission = &submission;
            let events = events.clone();
            let scenario_dir = work.join(format!("{index:03}-{}", sanitize(&scenario.name)));
            let limit = limit.clone();
            async move {
                let _permit = match &limit {
                    Some(l) => l.clone().acquire_owned().await.ok(),
                    None => None,
                };
                if let Some(sink) = &events {
                    sink(Event::ScenarioStarted {
                        submission: name.to_string(),
                        scenario: scenario.name.clone(),
                    });
                }
                let report = run_one(scenario, settings, submission, &scenario_dir).await;
                if let Some(sink) = &events {
                    sink(Event::ScenarioFinished {
                        submission: name.to_string(),
                        report: Box::new(report.clone()),
                    });
                }
                (index, report)
            }
        })
        // Unordered, so a slow scenario does not hold up the slots of the
        // ones after it; the reports are put back in suite order below.
        .buffer_unordered(jobs.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_values()
        .collect();
    let (score, max_score) = score::total(&reports, suite.manifest.as_ref().and_then(|m| m.total));
    let mut notes = settings.capabilities.notes.clone();
    if let Some(limits) = &settings.limits {
        let memory_by_cgroup = settings
            .capabilities
            .cgroups
            .as_ref()
            .is_some_and(|c| c.has_memory());
        notes.push(limits.describe(memory_by_cgroup));
        if settings.capabilities.cgroups.is_some() {
            notes.push(format!(
                "at most {} processes per scenario (pids cgroup)",
                limits.processes
            ));
        }
    }
    notes.push(format!(
        "output kept per program and stream: {} KiB (the rest is counted and dropped)",
        settings.output_limit >> 10
    ));
    SubmissionReport {
        submission: name.to_string(),
        lab: suite.lab_name(),
        socklab_version: env!("CARGO_PKG_VERSION").to_string(),
        isolation: Isolation {
            level: settings.capabilities.level,
            notes,
        },
        build: build_report,
        scenarios: reports,
        score,
        max_score,
        duration_secs: started.elapsed().as_secs_f64(),
    }
}

async fn run_one(
    scenario: &Scenario,
    settings: &RunSettings,
    submission: &plan::Submission,
    dir: &Path,
) -> ScenarioReport {
    let source = plan::source_of(scenario);
    let plan = ScenarioPlan::new(scenario, settings, submission).await;
    let run = match &plan.disposition {
        Disposition::Skip(reason) => return score::skipped(scenario, source, reason.clone()),
        Disposition::Run(run) => run,
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        return score::skipped(
            scenario,
            source,
            format!("cannot create {}: {e}", dir.display()),
        );
    }
    let outcome = run::run_scenario(&plan, run, settings, submission, dir).await;
    score::score_scenario(&plan, outcome, source)
}

/// A file-name-safe version of a scenario or student name.
pub fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cleaned.trim_matches('.').chars().take(80).collect()
}

/// A fresh working directory for a run.
pub fn work_dir(requested: Option<&Path>) -> std::io::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match requested {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            // Absolute, since programs run in directories of their own below it.
            Ok((dir.canonicalize()?, None))
        }
        None => {
            let temp = tempfile::Builder::new().prefix("socklab-").tempdir()?;
            // Student programs may run as an unprivileged user: let them
            // reach their own directories (each program's is theirs alone).
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(0o755))?;
            Ok((temp.path().to_path_buf(), Some(temp)))
        }
    }
}
