//! Grading one submission with a suite: build, plan, run every scenario
//! (up to `jobs` at once), check, score, emitting [`Event`]s along the way.
//!
//! Scenarios run concurrently on one task, so dropping the future (Ctrl-C,
//! SIGTERM) drops every runner, and each runner's sandbox kills what it
//! started. Results come back in suite order whatever finished first.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;

use socklab_report::{BuildReport, Isolation, ScenarioReport, SubmissionReport};
use socklab_scenario::Scenario;

use crate::build;
use crate::events::{Event, Events, ScenarioEvents};
use crate::plan::{self, Disposition, RunSettings, ScenarioPlan, Submission, Suite};
use crate::run;
use crate::score;

/// How submissions are graded in this run: the suite, the machine's
/// settings, where to work, how many scenarios at once, and who hears
/// about it.
pub struct Grading<'a> {
    pub suite: &'a Suite,
    pub settings: &'a RunSettings,
    /// Each submission is built and run in a folder of its own below this.
    pub work: &'a Path,
    /// Scenarios of one submission at the same time.
    pub jobs: usize,
    /// When set, every scenario also takes a permit from it, so that a class
    /// batch runs at most `-j` scenarios in all.
    pub limit: Option<Arc<tokio::sync::Semaphore>>,
    pub events: Events,
    /// Where scenario captures are kept, relative to the reports (e.g.
    /// `packets`): each is emitted as [`Event::ScenarioCaptured`] for a
    /// subscriber to write, and the report names the file. `None`: not kept.
    pub packets_folder: Option<String>,
}

impl Grading<'_> {
    /// Grades the submission in `dir` (named `name` in reports), working
    /// in `self.work`.
    pub async fn grade(&self, name: &str, dir: &Path) -> SubmissionReport {
        let started = Instant::now();
        self.events.emit(Event::SubmissionStarted {
            submission: name.to_string(),
        });
        // Its own uids for the time it is graded (given back when dropped).
        let identity = match &self.settings.capabilities.identities {
            Some(identities) => match identities.claim() {
                Ok(identity) => Some(identity),
                Err(e) => {
                    return self.unidentified(name, started, &e);
                }
            },
            None => None,
        };
        let (mut submission, build) = self
            .build(name, dir, identity.as_ref().map(|i| i.student))
            .await;
        submission.student = identity.as_ref().map(|i| i.student);
        submission.peers = identity.as_ref().map(|i| i.peers);
        let scenarios: Vec<(usize, &Scenario)> = self.suite.scenarios().enumerate().collect();
        let reports: Vec<ScenarioReport> = futures::stream::iter(scenarios)
            .map(|(index, scenario)| {
                let submission = &submission;
                let scenario_dir = self
                    .work
                    .join(format!("{index:03}-{}", sanitize(&scenario.name)));
                async move {
                    let _permit = match &self.limit {
                        Some(l) => l.clone().acquire_owned().await.ok(),
                        None => None,
                    };
                    let events = ScenarioEvents {
                        events: self.events.clone(),
                        submission: name.to_string(),
                        scenario: scenario.name.clone(),
                    };
                    (
                        index,
                        self.scenario(scenario, submission, &scenario_dir, &events)
                            .await,
                    )
                }
            })
            // Unordered, so a slow scenario does not hold up the slots of the
            // ones after it; the reports are put back in suite order below.
            .buffer_unordered(self.jobs.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
            .into_values()
            .collect();
        let suite = self.suite;
        let (score, max_score) = score::total(
            &reports,
            suite.manifest.as_ref().and_then(|m| m.total),
            suite.selection.as_ref().map(|s| s.suite_points),
        );
        let mut report = SubmissionReport {
            submission: name.to_string(),
            lab: suite.lab_name(),
            socklab_version: env!("CARGO_PKG_VERSION").to_string(),
            isolation: Isolation {
                level: self.settings.capabilities.level,
                notes: isolation_notes(self.settings),
            },
            options: self.settings.options.clone(),
            not_a_submission: None,
            selection: suite.selection.as_ref().map(|s| socklab_report::Selection {
                only: s.patterns.clone(),
                of: s.of,
            }),
            build,
            scenarios: reports,
            score,
            max_score,
            duration_secs: started.elapsed().as_secs_f64(),
        };
        report.cap_whole_texts(socklab_report::excerpt::REPORT_WHOLE_LIMIT);
        self.events.emit_with(|| Event::SubmissionFinished {
            report: Arc::new(report.clone()),
            reused: false,
        });
        report
    }

    /// The report of a submission socklab could not give uids of its own
    /// (every uid of the range in use): nothing of it ran.
    fn unidentified(
        &self,
        name: &str,
        started: Instant,
        error: &std::io::Error,
    ) -> SubmissionReport {
        let why =
            format!("not run: socklab could not give the submission a uid of its own: {error}");
        let scenarios: Vec<ScenarioReport> = self
            .suite
            .scenarios()
            .map(|s| {
                let mut report = score::skipped(s, plan::source_of(s), why.clone());
                report.status = socklab_report::ScenarioStatus::Error;
                report
            })
            .collect();
        let (score, max_score) = score::total(
            &scenarios,
            self.suite.manifest.as_ref().and_then(|m| m.total),
            self.suite.selection.as_ref().map(|s| s.suite_points),
        );
        let report = SubmissionReport {
            submission: name.to_string(),
            lab: self.suite.lab_name(),
            socklab_version: env!("CARGO_PKG_VERSION").to_string(),
            isolation: Isolation {
                level: self.settings.capabilities.level,
                notes: isolation_notes(self.settings),
            },
            options: self.settings.options.clone(),
            not_a_submission: None,
            selection: self
                .suite
                .selection
                .as_ref()
                .map(|s| socklab_report::Selection {
                    only: s.patterns.clone(),
                    of: s.of,
                }),
            build: None,
            scenarios,
            score,
            max_score,
            duration_secs: started.elapsed().as_secs_f64(),
        };
        self.events.emit_with(|| Event::SubmissionFinished {
            report: Arc::new(report.clone()),
            reused: false,
        });
        report
    }

    /// The submission's programs: built from a copy (as `student`) when the
    /// suite has a lab manifest, used as they are otherwise.
    async fn build(
        &self,
        name: &str,
        dir: &Path,
        student: Option<crate::sandbox::RunAs>,
    ) -> (Submission, Option<BuildReport>) {
        let Some(manifest) = &self.suite.manifest else {
            return (build::prebuilt(name, dir.to_path_buf()), None);
        };
        self.events.emit(Event::BuildStarted {
            submission: name.to_string(),
        });
        let build_dir = self.work.join("build");
        let (submission, report) = match build::copy_submission(dir, &build_dir) {
            Ok(_) => {
                let needed = self.suite.programs_to_build(&self.settings.options);
                build::build(
                    name,
                    &build_dir,
                    manifest,
                    self.settings,
                    student,
                    needed.as_ref(),
                )
                .await
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
                let report = BuildReport {
                    ok: false,
                    method: "copy".into(),
                    programs: Vec::new(),
                    output: format!("the submission could not be read: {e}"),
                    duration_secs: 0.0,
                };
                (submission, report)
            }
        };
        self.events.emit_with(|| Event::BuildFinished {
            submission: name.to_string(),
            build: Box::new(report.clone()),
        });
        (submission, Some(report))
    }

    /// Plans, runs and scores one scenario.
    async fn scenario(
        &self,
        scenario: &Scenario,
        submission: &Submission,
        dir: &Path,
        events: &ScenarioEvents,
    ) -> ScenarioReport {
        self.events.emit_with(|| Event::ScenarioStarted {
            submission: events.submission.clone(),
            scenario: scenario.name.clone(),
        });
        let report = run_one(
            scenario,
            self.settings,
            submission,
            dir,
            events,
            self.packets_folder.as_deref(),
        )
        .await;
        for check in &report.checks {
            self.events.emit_with(|| Event::CheckVerdict {
                submission: events.submission.clone(),
                scenario: scenario.name.clone(),
                check: Box::new(check.clone()),
            });
        }
        self.events.emit_with(|| Event::ScenarioFinished {
            submission: events.submission.clone(),
            report: Box::new(report.clone()),
        });
        report
    }
}

/// What the report says about isolation and limits in force.
fn isolation_notes(settings: &RunSettings) -> Vec<String> {
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
        "output limit per program and stream: {} KiB (a program that prints more is stopped, and its scenario ends there)",
        settings.output_limit >> 10
    ));
    notes.push(match settings.capabilities.level {
        _ if !settings.capture => crate::run::capture::TURNED_OFF.to_string(),
        crate::sandbox::IsolationLevel::Namespaces => format!(
            "packets: each scenario's TCP traffic is captured on every interface of its hosts ({})",
            socklab_packets::PayloadCap::default().describe()
        ),
        crate::sandbox::IsolationLevel::Loopback => {
            crate::run::capture::UNAVAILABLE_ON_LOOPBACK.to_string()
        }
    });
    notes
}

async fn run_one(
    scenario: &Scenario,
    settings: &RunSettings,
    submission: &Submission,
    dir: &Path,
    events: &ScenarioEvents,
    packets_folder: Option<&str>,
) -> ScenarioReport {
    let source = plan::source_of(scenario);
    let plan = ScenarioPlan::new(scenario, settings, submission).await;
    let run = match &plan.disposition {
        Disposition::Skip(reason) => return score::skipped(scenario, source, reason.clone()),
        Disposition::Error(why) => return score::harness_error(scenario, source, why.clone()),
        Disposition::Run(run) => run,
    };
    if let Err(e) = scenario_folder(dir) {
        return score::skipped(
            scenario,
            source,
            format!("cannot create {}: {e}", dir.display()),
        );
    }
    let outcome = run::run_scenario(
        &plan,
        run,
        settings,
        submission,
        dir,
        events,
        packets_folder,
    )
    .await;
    score::score_scenario(&plan, outcome, source)
}

/// Makes a scenario's folder: root's, mode 0711, so the programs of the
/// scenario can reach their own folders below it (each 0700, owned by the
/// uid it runs as) and the fixtures, but no one can list it.
fn scenario_folder(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o711))
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
