//! Grading one submission with a suite: build, plan, run every scenario
//! (up to `jobs` at once), check, score, emitting [`Event`]s along the way.
//!
//! Each scenario runs on a thread of its own (from the runtime's blocking
//! pool, driving the scenario's future with the runtime's handle): setting
//! up a sandbox, starting a program (the parent waits for the child's
//! `exec`), closing a capture socket (an RCU grace period) and reading
//! `/proc` are system calls that block, and on one shared thread every
//! scenario of a class waited for every other's; measured on the fixture
//! class, that thread was busy or blocked three quarters of the time while
//! a third of the CPU sat idle. Dropping the grading future (Ctrl-C,
//! SIGTERM) cancels every scenario thread, which drops its runner, and each
//! runner's sandbox kills what it started. Results come back in suite order
//! whatever finished first.

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
    pub suite: Arc<Suite>,
    pub settings: Arc<RunSettings>,
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
    /// Programs compiled earlier in this run, shared by what went into them
    /// (`build::cache`); `None`: each submission compiles its own.
    pub compiled: Option<Arc<build::cache::CompileCache>>,
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
        // Where the programs will be, and who they run as: known before
        // the build, so each scenario can start once its own programs are
        // built (`build::Progress`), while the others still compile.
        let base = Submission {
            name: name.to_string(),
            dir: match self.suite.manifest {
                Some(_) => self.work.join("build"),
                None => dir.to_path_buf(),
            },
            programs: Default::default(),
            student: identity.as_ref().map(|i| i.student),
            peers: identity.as_ref().map(|i| i.peers),
        };
        let (progress, built) = tokio::sync::watch::channel(build::Progress::default());
        let building = async {
            let (submission, build) = self
                .build(name, dir, identity.as_ref().map(|i| i.student), &progress)
                .await;
            progress.send_modify(|p| {
                p.programs = submission.programs.clone();
                p.done = true;
            });
            build
        };
        // Every scenario waits for its programs, then for one of this
        // submission's `jobs` slots, then (in a class) for a slot of the
        // class: a scenario waiting for a program holds no slot.
        let slots = Arc::new(tokio::sync::Semaphore::new(self.jobs.max(1)));
        let running = self
            .suite
            .scenarios()
            .enumerate()
            .map(|(index, scenario)| {
                let (base, slots) = (&base, slots.clone());
                let mut built = built.clone();
                let scenario_dir = self
                    .work
                    .join(format!("{index:03}-{}", sanitize(&scenario.name)));
                async move {
                    let needs = plan::programs_started(scenario, &self.settings.options);
                    let programs = built
                        .wait_for(|p| {
                            p.done
                                || needs
                                    .as_ref()
                                    .is_some_and(|n| n.iter().all(|x| p.programs.contains_key(x)))
                        })
                        .await
                        .map(|p| p.programs.clone())
                        .unwrap_or_default();
                    let submission = Arc::new(Submission {
                        programs,
                        ..base.clone()
                    });
                    let _slot = slots.acquire_owned().await.ok();
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
                        self.scenario_on_a_thread(index, submission, scenario_dir, events)
                            .await,
                    )
                }
            })
            // Unordered, so a slow scenario does not hold up the ones after
            // it; the reports are put back in suite order below.
            .collect::<futures::stream::FuturesUnordered<_>>()
            .collect::<std::collections::BTreeMap<_, _>>();
        let (build, reports) = tokio::join!(building, running);
        let reports: Vec<ScenarioReport> = reports.into_values().collect();
        let suite = &self.suite;
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
                notes: isolation_notes(&self.settings),
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
                notes: isolation_notes(&self.settings),
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
        progress: &tokio::sync::watch::Sender<build::Progress>,
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
                    &self.settings,
                    student,
                    needed.as_ref(),
                    progress,
                    self.compiled.as_deref(),
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

    /// Plans, runs and scores scenario `index` of the suite on a thread of
    /// its own (see the module's comment); if this future is dropped, the
    /// scenario is cancelled on its thread, which kills its programs.
    async fn scenario_on_a_thread(
        &self,
        index: usize,
        submission: Arc<Submission>,
        dir: PathBuf,
        events: ScenarioEvents,
    ) -> ScenarioReport {
        let suite = self.suite.clone();
        let settings = self.settings.clone();
        let packets_folder = self.packets_folder.clone();
        let runtime = tokio::runtime::Handle::current();
        // Dropped with this future (or after the thread's answer): the
        // thread then stops waiting for its scenario and drops it.
        let (_cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
        let thread = tokio::task::spawn_blocking(move || {
            runtime.block_on(async move {
                let scenario = suite
                    .scenarios()
                    .nth(index)
                    .expect("the scenario is in the suite");
                tokio::select! {
                    report = scenario_report(
                        scenario,
                        &settings,
                        &submission,
                        &dir,
                        &events,
                        packets_folder.as_deref(),
                    ) => Some(report),
                    _ = cancelled => None,
                }
            })
        });
        match thread.await {
            Ok(Some(report)) => report,
            Ok(None) => unreachable!("cancelled only once this future is dropped"),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// Plans, runs and scores one scenario, telling `events` as it goes.
async fn scenario_report(
    scenario: &Scenario,
    settings: &RunSettings,
    submission: &Submission,
    dir: &Path,
    events: &ScenarioEvents,
    packets_folder: Option<&str>,
) -> ScenarioReport {
    events.events.emit_with(|| Event::ScenarioStarted {
        submission: events.submission.clone(),
        scenario: scenario.name.clone(),
    });
    let report = async {
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
        if !settings.keep_scenario_folders {
            // Its programs are gone; what they wrote is in the facts.
            let _ = std::fs::remove_dir_all(dir);
        }
        score::score_scenario(&plan, outcome, source)
    }
    .await;
    for check in &report.checks {
        events.events.emit_with(|| Event::CheckVerdict {
            submission: events.submission.clone(),
            scenario: scenario.name.clone(),
            check: Box::new(check.clone()),
        });
    }
    events.events.emit_with(|| Event::ScenarioFinished {
        submission: events.submission.clone(),
        report: Box::new(report.clone()),
    });
    report
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
        "output limit per program and stream: {} KiB (a program that prints more is frozen where it is, and the scenario goes on without it)",
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
