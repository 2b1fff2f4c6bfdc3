//! Running a scenario: its steps drive programs and peers inside a
//! [`Sandbox`], each gathers facts, and a check judges them into an
//! [`Observation`].
//!
//! This is the third stage of socklab's flow (scenario → plan → **run** →
//! check → score → report). This module holds the step loop (steps in
//! order, repeat rounds one after another, concurrent branches at the same
//! time, stopping at a failure that ends the scenario) and the dispatch of
//! each step to its action; [`state`] holds what the steps share,
//! [`actions`] what each action does, [`wait`] the one way they wait, and
//! [`settle`] decides, beside the steps, when a wait can end at once because
//! nothing in the scenario can change any more. The runner never decides
//! points.

pub mod actions;
pub mod blame;
pub mod capture;
pub mod fixtures;
pub mod output;
pub mod pacing;
pub mod peer;
pub mod procfs;
pub mod program;
pub mod proxy;
pub mod pty;
pub mod reach;
pub mod search;
pub mod settle;
pub mod sockets;
pub mod state;
pub mod wait;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use socklab_scenario::path::{StepPath, StepTree};
use socklab_scenario::{Action, Step, StepMeta};

use crate::check::{self, Judgement, Observation, Outcome};
use crate::events::ScenarioEvents;
use crate::facts::{OutputOverflow, SandboxFact};
use crate::plan::{RunPlan, RunSettings, ScenarioPlan, Submission};
use crate::sandbox::Sandbox;
use state::{ScenarioState, StepContext, StepError};
use wait::Until;

/// How long packet steps an earlier failure kept from running wait for the
/// programs to come to rest before they are judged
/// (`StepLoop::let_the_programs_finish`): a program still busy then is
/// judged on what it had sent.
const LATE_SETTLE: Duration = Duration::from_secs(1);

/// What running one scenario left behind, for checking and reporting.
pub struct ScenarioRun {
    pub observations: Vec<(Observation, StepMeta)>,
    /// Set when the scenario could not run at all (with why).
    pub harness_error: Option<String>,
    /// Set when the scenario's timeout ended it: what was going on then
    /// (the steps under way, what each running program was doing).
    pub timed_out: Option<String>,
    pub transcripts: Vec<socklab_report::Transcript>,
    pub duration: Duration,
    /// The generated titles of the scored checks, placeholders filled in
    /// with this run's ports, hosts and options (`connect to 127.0.0.1:20000`
    /// rather than `{{ports.lottery}}`): checks the scenario never reached
    /// are reported under these.
    pub titles: BTreeMap<StepPath, String>,
    /// The scenario's packets for the report (ladders, the cap, the file's name).
    pub packets: Option<socklab_report::PacketsReport>,
}

/// Runs a planned scenario in a fresh sandbox under `dir`. With
/// `packets_folder`, its capture is handed to the events' subscribers as
/// a file of that folder (relative to the report), named after the
/// scenario.
pub async fn run_scenario(
    plan: &ScenarioPlan<'_>,
    run: &RunPlan,
    settings: &RunSettings,
    submission: &Submission,
    dir: &Path,
    events: &ScenarioEvents,
    packets_folder: Option<&str>,
) -> ScenarioRun {
    let scenario = plan.scenario;
    let started = Instant::now();
    let failed = |why: String| ScenarioRun {
        observations: Vec::new(),
        harness_error: Some(why),
        timed_out: None,
        transcripts: Vec::new(),
        duration: started.elapsed(),
        titles: BTreeMap::new(),
        packets: None,
    };
    let process_limit = settings
        .capabilities
        .cgroups
        .as_ref()
        .zip(settings.limits.as_ref())
        .map(|(root, l)| {
            let memory = Some(l.address_space);
            (root, l.processes, memory, Some(l.slow_down_after))
        });
    let mut keep = vec![dir.to_path_buf(), submission.dir.clone()];
    // socklab's binary alone (reference programs are `socklab reference
    // NAME`), not its folder: that may be a scratch folder itself, such as
    // `/tmp`, which would then be the machine's again.
    keep.push(settings.self_exe.clone());
    let sandbox = match Sandbox::create(
        settings.capabilities.level,
        &scenario.hosts,
        process_limit,
        &keep,
    ) {
        Ok(s) => s,
        Err(e) => return failed(format!("could not create the scenario's hosts: {e}")),
    };
    let mut fixture_paths = BTreeMap::new();
    let mut fixture_bytes = BTreeMap::new();
    let fixtures_dir = dir.join("fixtures");
    if let Err(e) = std::fs::create_dir_all(&fixtures_dir) {
        return failed(format!("could not create {}: {e}", fixtures_dir.display()));
    }
    for (name, fixture) in &scenario.fixtures {
        let data = fixtures::bytes(fixture);
        let path = fixtures_dir.join(name);
        if let Err(e) = std::fs::write(&path, &data) {
            return failed(format!("could not write fixture {}: {e}", path.display()));
        }
        fixture_paths.insert(name.clone(), path);
        fixture_bytes.insert(name.clone(), data);
    }
    let steps = StepLoop {
        state: ScenarioState::new(
            scenario,
            settings,
            submission,
            sandbox,
            dir,
            run,
            fixture_paths,
            fixture_bytes,
        ),
        observations: Mutex::new(Vec::new()),
        events,
    };
    // The scenario's decider, beside the steps, ends their waits at once
    // when nothing can change any more (`settle.rs`). A program that passes
    // its output limit is frozen (`program::OutputLimit`) and the steps go
    // on without it: had the scenario ended there, which of its checks ran
    // first would depend on when in its flood the limit fell.
    let decided = async {
        match settle::Decider::new(&steps.state) {
            Some(decider) => {
                tokio::select! {
                    biased;
                    completed = steps.run_block(&plan.steps) => completed,
                    () = decider.run() => unreachable!("the decider runs as long as the scenario"),
                }
            }
            None => steps.run_block(&plan.steps).await,
        }
    };
    let (timed_out, completed) = match tokio::time::timeout(scenario.timeout, decided).await {
        Ok(completed) => (None, completed),
        Err(_) => (Some(steps.state.describe_hang()), false),
    };
    if let Some(overflow) = steps.state.overflow.first() {
        steps.output_limit_exceeded(&overflow);
    }
    if !completed {
        steps.judge_unreached_packets(&plan.steps).await;
    }
    // After the last step (before the programs are stopped): the capture
    // ends where the scenario did.
    let file_name = capture_file_name(&scenario.name);
    let captured = capture::off_the_runtime(|| {
        steps
            .state
            .capture
            .finish(packets_folder.map(|folder| format!("{folder}/{file_name}")))
    });
    if let (Some(_), Some(result)) = (packets_folder, &captured)
        && !result.pcapng.is_empty()
    {
        events.captured(&file_name, &result.pcapng);
    }
    let titles = plan
        .scored_checks()
        .into_iter()
        .filter(|(_, step)| step.meta.title.is_none())
        .map(|(path, step)| {
            let title = steps.state.fill_in(&check::default_title(&step.action));
            (path.clone(), title)
        })
        .collect();
    let sandbox = &steps.state.sandbox;
    // Forks refused are counted before the programs are stopped, memory
    // kills and stray files after.
    let process_limit = sandbox.process_limit();
    let transcripts = steps.state.finish().await;
    let stray_files = match sandbox.stray_walk() {
        Some(walk) => tokio::task::spawn_blocking(walk).await.ok(),
        None => None,
    };
    let fact = SandboxFact {
        process_limit,
        memory: sandbox
            .memory_limit()
            .map(|limit| (limit, sandbox.oom_kills())),
        stray_files: stray_files.map(|files| files.into_iter().map(|f| (f.path, f.kind)).collect()),
        cpu_hog: sandbox.slowed_down(),
    };
    steps.sandbox_findings(&fact);
    ScenarioRun {
        observations: steps.observations.into_inner().expect("lock"),
        harness_error: None,
        timed_out,
        transcripts,
        duration: started.elapsed(),
        titles,
        packets: captured.map(|c| c.report),
    }
}

/// A scenario's steps as they run, and what each one was judged.
struct StepLoop<'a> {
    state: ScenarioState<'a>,
    observations: Mutex<Vec<(Observation, StepMeta)>>,
    events: &'a ScenarioEvents,
}

impl StepLoop<'_> {
    fn run_block<'s>(&'s self, block: &'s [StepTree<'s>]) -> BoxFuture<'s, bool> {
        Box::pin(async move {
            for tree in block {
                if !self.run_tree(tree).await {
                    return false;
                }
            }
            true
        })
    }

    /// Runs a step and what it holds; false when the scenario must stop.
    async fn run_tree(&self, tree: &StepTree<'_>) -> bool {
        match tree {
            StepTree::Action { path, step } => self.run_step(step, path).await,
            StepTree::Repeat { rounds, .. } => {
                for round in rounds {
                    if !self.run_block(round).await {
                        return false;
                    }
                }
                true
            }
            StepTree::Concurrently { branches, .. } => {
                let activity = &self.state.activity;
                let set = activity.branches_started(branches.len());
                let runs = branches.iter().map(|branch| {
                    let set = set.clone();
                    async move {
                        let ok = self.run_block(branch).await;
                        activity.branch_finished(&set);
                        ok
                    }
                });
                futures::future::join_all(runs)
                    .await
                    .into_iter()
                    .all(|ok| ok)
            }
        }
    }

    /// Runs a step that does one thing; false when the scenario must stop.
    async fn run_step(&self, step: &Step, path: &StepPath) -> bool {
        let state = &self.state;
        let started = Instant::now();
        let sent_before = state.last_input_here(path);
        let title = step
            .meta
            .title
            .clone()
            .unwrap_or_else(|| state.fill_in(&check::default_title(&step.action)));
        state.step_started(
            path,
            format!("step {path} (line {}): {title}", step.loc.line),
        );
        self.events.step_started(path, &title);
        let waits = settle::decides_early(&step.action);
        state.activity.step_started(waits, &state.settle);
        let cx = StepContext {
            state,
            path,
            until: Until::deadline(started + step.meta.within).or_settled(&state.settle),
        };
        let judgement = run_action(&cx, &step.action)
            .await
            .unwrap_or_else(Judgement::from);
        let judgement = state
            .blame(judgement, &step.action, step.meta.hint.as_deref())
            .await;
        let mut judgement = state.reachability(judgement);
        if waits
            && judgement.outcome == Outcome::Failed
            && let Some(settled) = state.settle.why()
        {
            judgement.message = settle::decided_at_once(&judgement.message, &settled);
        }
        state.activity.step_finished(waits);
        state.step_finished(path);
        self.events.step_finished(path, judgement.outcome);
        let observation = Observation {
            step: Some(path.clone()),
            line: step.loc.line,
            keyword: step.action.keyword(),
            title,
            is_check: step.action.is_check(),
            outcome: judgement.outcome,
            message: judgement.message,
            sent: sent_before,
            expected: judgement.expected,
            observed: judgement.observed,
            program: judgement.program,
            hint: judgement.hint,
            late: false,
            elapsed: started.elapsed(),
        };
        let go_on = state.scenario.observe || check::continues(&observation, &step.meta);
        self.observations
            .lock()
            .expect("lock")
            .push((observation, step.meta.clone()));
        go_on
    }

    /// After an earlier failure, before packet steps are judged on what
    /// was captured: waits, as a step waiting for the programs would, until
    /// nothing can change any more (the decider's rule), at most
    /// [`LATE_SETTLE`]. What the capture holds at the failure depends on
    /// how far the programs had got (a server's last bytes and its FIN
    /// were sent, or not yet), so the late verdicts changed from run to run
    /// ("not reached" in one, a failed segment check in the next); once
    /// the programs are at rest, the capture is the same on every run.
    async fn let_the_programs_finish(&self) {
        let state = &self.state;
        let Some(decider) = settle::Decider::new(state) else {
            return;
        };
        state.activity.step_started(true, &state.settle);
        let until = Until::deadline(Instant::now() + LATE_SETTLE).or_settled(&state.settle);
        tokio::select! {
            biased;
            _ = until.wait(std::future::pending::<()>()) => {}
            () = decider.run() => unreachable!("the decider runs until it is dropped"),
        }
        state.activity.step_finished(true);
    }

    /// Judges the packet steps an earlier failure kept from running, on
    /// what was captured until then (reported, never scored).
    async fn judge_unreached_packets(&self, block: &[StepTree<'_>]) {
        let reached: std::collections::BTreeSet<StepPath> = self
            .observations
            .lock()
            .expect("lock")
            .iter()
            .filter_map(|(o, _)| o.step.clone())
            .collect();
        let unreached: Vec<(StepPath, &Step)> = block
            .iter()
            .flat_map(StepTree::flatten)
            .filter(|(path, step)| {
                matches!(step.action, Action::Packets { .. }) && !reached.contains(*path)
            })
            .map(|(path, step)| (path.clone(), step))
            .collect();
        if unreached.is_empty() {
            return;
        }
        self.let_the_programs_finish().await;
        for (path, step) in unreached {
            let Action::Packets { of, checks } = &step.action else {
                continue;
            };
            let Some(judgement) = actions::packets::judge_late(&self.state, of, checks).await
            else {
                continue;
            };
            let title = step
                .meta
                .title
                .clone()
                .unwrap_or_else(|| self.state.fill_in(&check::default_title(&step.action)));
            let observation = Observation {
                step: Some(path),
                line: step.loc.line,
                keyword: step.action.keyword(),
                title,
                is_check: true,
                outcome: judgement.outcome,
                message: judgement.message,
                sent: None,
                expected: judgement.expected,
                observed: judgement.observed,
                program: None,
                hint: judgement.hint,
                late: true,
                elapsed: Duration::ZERO,
            };
            self.observations
                .lock()
                .expect("lock")
                .push((observation, step.meta.clone()));
        }
    }

    /// Reports the program that passed its output limit and was frozen: a
    /// failed check of its own, weighing nothing (the checks that needed it
    /// fail on their own).
    fn output_limit_exceeded(&self, overflow: &OutputOverflow) {
        let finding = check::sandbox::output_limit(overflow);
        self.observations.lock().expect("lock").push((
            Observation {
                step: None,
                line: self.state.scenario.loc.line,
                keyword: "limits",
                title: finding.title.to_string(),
                is_check: true,
                outcome: Outcome::Failed,
                message: finding.judgement.message,
                sent: None,
                expected: finding.judgement.expected,
                observed: finding.judgement.observed,
                program: None,
                hint: Some(finding.hint.to_string()),
                late: false,
                elapsed: Duration::ZERO,
            },
            StepMeta {
                title: None,
                hint: Some(finding.hint.to_string()),
                weight: 0.0,
                observe: false,
                soft: false,
                within: Duration::ZERO,
            },
        ));
    }

    /// Reports what the sandbox saw beside the steps: weighing nothing,
    /// stopping nothing.
    fn sandbox_findings(&self, fact: &SandboxFact) {
        let mut observations = self.observations.lock().expect("lock");
        for finding in check::sandbox::findings(fact) {
            let judgement = finding.judgement;
            observations.push((
                Observation {
                    step: None,
                    line: self.state.scenario.loc.line,
                    keyword: finding.keyword,
                    title: finding.title.to_string(),
                    is_check: true,
                    outcome: Outcome::Failed,
                    message: judgement.message,
                    sent: None,
                    expected: judgement.expected,
                    observed: judgement.observed,
                    program: None,
                    hint: None,
                    late: false,
                    elapsed: Duration::ZERO,
                },
                StepMeta {
                    title: None,
                    hint: Some(finding.hint.to_string()),
                    weight: 0.0,
                    observe: finding.observe,
                    soft: true,
                    within: Duration::ZERO,
                },
            ));
        }
    }
}

/// Runs a step's action: one arm per action (`run/actions/`).
async fn run_action(cx: &StepContext<'_>, action: &Action) -> Result<Judgement, StepError> {
    use actions::*;
    match action {
        Action::Start(spec) => start::run(cx, spec).await,
        Action::WaitListen { program, port } => wait_listen::run(cx, program, port).await,
        Action::Type { program, input } => type_input::run(cx, program, input).await,
        Action::Expect {
            program,
            stream,
            pattern,
        } => expect::run(cx, program, *stream, pattern).await,
        Action::Exit { program, expect } => exit::run(cx, program, expect).await,
        Action::Running { program, hold } => running::run(cx, program, *hold).await,
        Action::Idle { program } => idle::run(cx, program).await,
        Action::Children {
            program,
            count,
            zombies,
            connected,
        } => children::run(cx, program, count, *zombies, *connected).await,
        Action::Stop { program, signal } => stop::run(cx, program, signal.as_deref()).await,
        Action::Suspend { program } => suspend::suspend(cx, program).await,
        Action::Resume {
            program,
            children_ended,
        } => suspend::resume(cx, program, *children_ended).await,
        Action::Output {
            program,
            stream,
            check,
        } => output::run(cx, program, *stream, check).await,
        Action::Proxy(spec) => proxy::run(cx, spec).await,
        Action::Connect {
            peer,
            to,
            host,
            refused,
        } => connect::run(cx, peer, to, host.as_deref(), *refused).await,
        Action::Listen { peer, port, host } => listen::run(cx, peer, port, host.as_deref()).await,
        Action::Accept { peer } => accept::run(cx, peer).await,
        Action::Send { peer, data, pieces } => send::run(cx, peer, data, pieces).await,
        Action::Recv { peer, spec } => recv::run(cx, peer, spec).await,
        Action::Silence { peer, hold } => silence::run(cx, peer, *hold).await,
        Action::Shutdown { peer } => shutdown::run(cx, peer).await,
        Action::Close { peer } => close::run(cx, peer).await,
        Action::File { path, check } => file::run(cx, path, check).await,
        Action::Assert { var, spec } => assert::run(cx, var, spec),
        Action::Packets { of, checks } => packets::run(cx, of, checks).await,
        // The step loop runs what these hold; they are never dispatched.
        Action::Repeat { .. } | Action::Concurrently { .. } => Ok(Judgement::pass("")),
    }
}

/// The file a scenario's capture is kept in: its name made safe, a matrix
/// cell's values after dots, e.g. `echo/short-line[client=reference,server=submission]`
/// gives `echo_short-line.client-reference.server-submission.pcapng`.
pub fn capture_file_name(scenario: &str) -> String {
    let readable: String = scenario
        .trim_end_matches(']')
        .chars()
        .map(|c| match c {
            '[' | ',' => '.',
            '=' => '-',
            c => c,
        })
        .collect();
    format!("{}.pcapng", crate::engine::sanitize(&readable))
}

#[cfg(test)]
mod tests {
    use super::capture_file_name;

    #[test]
    fn capture_files_are_named_after_their_scenario_and_matrix_cell() {
        assert_eq!(
            capture_file_name("echo/short-line[client=reference,server=submission]"),
            "echo_short-line.client-reference.server-submission.pcapng"
        );
        assert_eq!(
            capture_file_name("lottery/session"),
            "lottery_session.pcapng"
        );
    }
}
