//! Running a scenario: its steps drive programs and peers inside a
//! [`Sandbox`] and each produces an [`Observation`].
//!
//! This is the third stage of socklab's flow (scenario → plan → **run** →
//! check → score → report). The runner never decides points; it records what
//! happened and asks [`crate::check`] whether a failure ends the scenario.

pub mod fixtures;
pub mod observation;
pub mod output;
pub mod peer;
pub mod procfs;
pub mod program;
pub mod proxy;
pub mod pty;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

use socklab_reference::transcript::escape_bytes;
use socklab_scenario::path::{StepPath, StepTree};
use socklab_scenario::*;

use crate::check;
use crate::plan::{Availability, RunSettings, Submission};
use crate::sandbox::{IsolationLevel, Sandbox};
pub use observation::{Observation, Outcome};
use output::Wait;
use peer::{Peer, ReadEnd};
use program::{Launch, LaunchKind, Program};

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
}

/// Everything one scenario run shares between its steps.
struct Runner<'a> {
    scenario: &'a Scenario,
    settings: &'a RunSettings,
    submission: &'a Submission,
    sandbox: Sandbox,
    dir: PathBuf,
    ports: BTreeMap<String, u16>,
    fixture_paths: BTreeMap<String, PathBuf>,
    fixture_bytes: BTreeMap<String, Vec<u8>>,
    programs: Mutex<BTreeMap<String, Arc<Program>>>,
    retired: Mutex<Vec<Arc<Program>>>,
    peers: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<Peer>>>>,
    proxies: Mutex<Vec<proxy::ProxyHandle>>,
    vars: Mutex<BTreeMap<String, Vec<String>>>,
    /// What socklab last sent or typed, per concurrent branch (the root
    /// path outside any), shown with a check as "sent:".
    last_input: Mutex<BTreeMap<StepPath, String>>,
    observations: Mutex<Vec<(Observation, StepMeta)>>,
    /// Steps under way: path → "step 4 (line 31): <title>".
    in_flight: Mutex<BTreeMap<String, String>>,
}

/// Runs one scenario in a fresh sandbox under `dir`.
pub async fn run_scenario(
    scenario: &Scenario,
    settings: &RunSettings,
    submission: &Submission,
    ports: BTreeMap<String, u16>,
    dir: &Path,
) -> ScenarioRun {
    let started = Instant::now();
    let failed = |why: String| ScenarioRun {
        observations: Vec::new(),
        harness_error: Some(why),
        timed_out: None,
        transcripts: Vec::new(),
        duration: started.elapsed(),
    };
    let process_limit = settings
        .capabilities
        .cgroups
        .as_ref()
        .zip(settings.limits.as_ref())
        .map(|(root, l)| (root, l.processes, Some(l.address_space)));
    let mut keep = vec![dir.to_path_buf(), submission.dir.clone()];
    keep.extend(settings.self_exe.parent().map(Path::to_path_buf));
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
    let runner = Runner {
        scenario,
        settings,
        submission,
        sandbox,
        dir: dir.to_path_buf(),
        ports,
        fixture_paths,
        fixture_bytes,
        programs: Mutex::new(BTreeMap::new()),
        retired: Mutex::new(Vec::new()),
        peers: Mutex::new(BTreeMap::new()),
        proxies: Mutex::new(Vec::new()),
        vars: Mutex::new(BTreeMap::new()),
        last_input: Mutex::new(BTreeMap::new()),
        observations: Mutex::new(Vec::new()),
        in_flight: Mutex::new(BTreeMap::new()),
    };
    let steps = StepTree::of(&scenario.steps);
    let timed_out = tokio::time::timeout(scenario.timeout, runner.run_block(&steps))
        .await
        .is_err()
        .then(|| runner.describe_hang());
    if let Some((max, refused)) = runner.sandbox.process_limit().filter(|(_, r)| *r > 0) {
        runner.sandbox_check(SandboxCheck {
            keyword: "limits",
            title: "the programs stay within the process limit",
            message: format!(
                "a fork bomb was contained: the programs tried to run more than {max} processes ({refused} forks refused)"
            ),
            expected: format!("at most {max} processes"),
            observed: None,
            hint: "Call fork() once per accepted connection, never in a loop without accept(); check fork()'s return value.",
            observe: false,
        });
    }
    let transcripts = runner.finish().await;
    let kills = runner.sandbox.oom_kills();
    if let Some(limit) = runner.sandbox.memory_limit().filter(|_| kills > 0) {
        runner.sandbox_check(SandboxCheck {
            keyword: "limits",
            title: "the programs stay within the memory limit",
            message: format!(
                "the kernel killed {kills} program{} for using more than the memory limit of {} MiB (killed by SIGKILL)",
                if kills == 1 { "" } else { "s" },
                limit >> 20
            ),
            expected: format!("at most {} MiB for all programs together", limit >> 20),
            observed: None,
            hint: "Free what you malloc() (or reuse one buffer), and check malloc()'s return value.",
            observe: false,
        });
    }
    if let Some(stray) = runner.sandbox.stray_files().filter(|f| !f.is_empty()) {
        let listed: Vec<String> = stray
            .iter()
            .map(|f| format!("{} ({} bytes)", f.path.display(), f.bytes))
            .collect();
        runner.sandbox_check(SandboxCheck {
            keyword: "files",
            title: "the programs write only in their own directories",
            message: format!(
                "a program wrote outside its working directory ({} {})",
                listed.len(),
                if listed.len() == 1 { "entry" } else { "entries" }
            ),
            expected: "files only in the program's own working directory".to_string(),
            observed: Some(listed.join("\n")),
            hint: "Write files with paths relative to the working directory, or to the path given on the command line; never to fixed places like /tmp.",
            observe: true,
        });
    }
    ScenarioRun {
        observations: std::mem::take(&mut *runner.observations.lock().expect("lock")),
        harness_error: None,
        timed_out,
        transcripts,
        duration: started.elapsed(),
    }
}

/// A failure the sandbox saw beside the scenario's steps (a contained fork
/// bomb, a memory kill, stray files): reported with the scenario, weighing
/// nothing, stopping nothing.
struct SandboxCheck {
    keyword: &'static str,
    title: &'static str,
    message: String,
    expected: String,
    observed: Option<String>,
    hint: &'static str,
    /// Reported only (never a failure).
    observe: bool,
}

impl Runner<'_> {
    fn sandbox_check(&self, check: SandboxCheck) {
        self.observations.lock().expect("lock").push((
            Observation {
                step: "-".to_string(),
                line: self.scenario.loc.line,
                keyword: check.keyword,
                title: check.title.to_string(),
                is_check: true,
                outcome: Outcome::Failed,
                message: check.message,
                sent: None,
                expected: Some(check.expected),
                observed: check.observed,
                elapsed: Duration::ZERO,
            },
            StepMeta {
                title: None,
                hint: Some(check.hint.to_string()),
                weight: 0.0,
                observe: check.observe,
                soft: true,
                within: Duration::ZERO,
            },
        ));
    }
}

/// The result of one step, before it becomes an observation.
struct StepResult {
    outcome: Outcome,
    message: String,
    expected: Option<String>,
    observed: Option<String>,
}

impl StepResult {
    fn ok(message: impl Into<String>) -> Self {
        StepResult {
            outcome: Outcome::Ok,
            message: message.into(),
            expected: None,
            observed: None,
        }
    }
    fn fail(message: impl Into<String>) -> Self {
        StepResult {
            outcome: Outcome::Failed,
            message: message.into(),
            expected: None,
            observed: None,
        }
    }
    fn harness(message: impl Into<String>) -> Self {
        StepResult {
            outcome: Outcome::HarnessError,
            message: message.into(),
            expected: None,
            observed: None,
        }
    }
    fn expected(mut self, text: impl Into<String>) -> Self {
        self.expected = Some(text.into());
        self
    }
    fn observed(mut self, text: impl Into<String>) -> Self {
        self.observed = Some(text.into());
        self
    }
}

/// Keeps the last `n` characters of a text, marking the cut.
fn tail(text: &str, n: usize) -> String {
    let count = text.chars().count();
    if count <= n {
        return text.to_string();
    }
    let kept: String = text.chars().skip(count - n).collect();
    format!("…{kept}")
}

impl Runner<'_> {
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
                let runs = branches.iter().map(|branch| self.run_block(branch));
                futures::future::join_all(runs)
                    .await
                    .into_iter()
                    .all(|ok| ok)
            }
        }
    }

    /// Runs a step that does one thing; false when the scenario must stop.
    async fn run_step(&self, step: &Step, path: &StepPath) -> bool {
        let started = Instant::now();
        let deadline = started + step.meta.within;
        let sent_before = self.last_input_here(path);
        let title = step
            .meta
            .title
            .clone()
            .unwrap_or_else(|| self.fill_in(&check::default_title(&step.action)));
        self.in_flight.lock().expect("lock").insert(
            path.to_string(),
            format!("step {path} (line {}): {title}", step.loc.line),
        );
        let result = self.execute(&step.action, path, deadline).await;
        self.in_flight
            .lock()
            .expect("lock")
            .remove(&path.to_string());
        let observation = Observation {
            step: path.to_string(),
            line: step.loc.line,
            keyword: step.action.keyword(),
            title,
            is_check: step.action.is_check(),
            outcome: result.outcome,
            message: result.message,
            sent: sent_before,
            expected: result.expected,
            observed: result.observed,
            elapsed: started.elapsed(),
        };
        let go_on = self.scenario.observe || check::continues(&observation, &step.meta);
        self.observations
            .lock()
            .expect("lock")
            .push((observation, step.meta.clone()));
        go_on
    }

    fn lookup(&self, namespace: &str, name: &str, all: bool) -> Option<String> {
        match namespace {
            "ports" => self.ports.get(name).map(u16::to_string),
            "hosts" => self
                .sandbox
                .hosts()
                .find(|h| h.name == name)
                .map(|h| h.addr.to_string()),
            "fixtures" => self
                .fixture_paths
                .get(name)
                .map(|p| p.display().to_string()),
            "dirs" => Some(self.program_dir(name).display().to_string()),
            "options" => self.settings.options.get(name).cloned(),
            "matrix" => self.scenario.matrix.get(name).cloned(),
            "vars" => {
                let vars = self.vars.lock().expect("lock");
                let values = vars.get(name)?;
                if all {
                    Some(values.join(" "))
                } else {
                    values.last().cloned()
                }
            }
            "scenario" if name == "dir" => Some(self.dir.display().to_string()),
            _ => None,
        }
    }

    /// A generated title with its placeholders filled in where they can be.
    fn fill_in(&self, text: &str) -> String {
        Template::parse(text)
            .ok()
            .and_then(|t| t.render(&|ns, name, all| self.lookup(ns, name, all)).ok())
            .unwrap_or_else(|| text.to_string())
    }

    fn render(&self, template: &Template) -> Result<String, StepResult> {
        template
            .render(&|ns, name, all| self.lookup(ns, name, all))
            .map_err(|e| StepResult::harness(format!("cannot fill in `{template}`: {e}")))
    }

    fn regex(&self, re: &RegexTemplate) -> Result<regex::bytes::Regex, StepResult> {
        let source = re
            .template
            .render(&|ns, name, all| self.lookup(ns, name, all).map(|v| regex::escape(&v)))
            .map_err(|e| StepResult::harness(format!("cannot fill in `{}`: {e}", re.template)))?;
        regex::bytes::Regex::new(&source)
            .map_err(|e| StepResult::harness(format!("regex `{source}` does not compile: {e}")))
    }

    fn capture(&self, re: &regex::bytes::Regex, caps: &regex::bytes::Captures) {
        let mut vars = self.vars.lock().expect("lock");
        for name in re.capture_names().flatten() {
            if let Some(m) = caps.name(name) {
                vars.entry(name.to_string())
                    .or_default()
                    .push(String::from_utf8_lossy(m.as_bytes()).into_owned());
            }
        }
    }

    fn program_dir(&self, name: &str) -> PathBuf {
        self.dir.join("programs").join(name)
    }

    fn program(&self, name: &str) -> Result<Arc<Program>, StepResult> {
        self.programs
            .lock()
            .expect("lock")
            .get(name)
            .cloned()
            .ok_or_else(|| {
                StepResult::fail(format!(
                    "program `{name}` was not started (an earlier start failed)"
                ))
            })
    }

    fn peer(&self, name: &str) -> Result<Arc<tokio::sync::Mutex<Peer>>, StepResult> {
        self.peers
            .lock()
            .expect("lock")
            .get(name)
            .cloned()
            .ok_or_else(|| {
                StepResult::fail(format!(
                    "peer `{name}` has no connection (an earlier step failed)"
                ))
            })
    }

    /// Records what socklab just sent or typed in the branch `path` runs in.
    fn note_input(&self, path: &StepPath, text: String) {
        let branch = path
            .enclosing_branches()
            .next()
            .unwrap_or_else(StepPath::root);
        self.last_input.lock().expect("lock").insert(branch, text);
    }

    /// The last input of the branch `path` runs in, or of the branches it
    /// was split from.
    fn last_input_here(&self, path: &StepPath) -> Option<String> {
        let inputs = self.last_input.lock().expect("lock");
        path.enclosing_branches()
            .find_map(|branch| inputs.get(&branch).cloned())
    }

    /// The state of a program plus the tail of its output, for failure messages.
    fn program_context(&self, program: &Program) -> String {
        let (out, _, _) = program.stdout.snapshot();
        let (err, _, _) = program.stderr.snapshot();
        let mut text = format!("{} {}", program.label, program.describe_state());
        if let Some((max, refused)) = self.sandbox.process_limit().filter(|(_, r)| *r > 0) {
            text.push_str(&format!(
                "; the programs hit the limit of {max} processes ({refused} forks refused)"
            ));
        }
        if !out.is_empty() {
            text.push_str(&format!(
                "; its output ends with: {}",
                tail(&escape_bytes(&out), 300)
            ));
        }
        if !err.is_empty() {
            text.push_str(&format!("; stderr: {}", tail(&escape_bytes(&err), 300)));
        }
        text
    }

    async fn execute(&self, action: &Action, path: &StepPath, deadline: Instant) -> StepResult {
        let result = match action {
            Action::Start(spec) => self.start(spec).await,
            Action::WaitListen { program, port } => self.wait_listen(program, port, deadline).await,
            Action::Type { program, input } => {
                self.type_input(program, input, path, deadline).await
            }
            Action::Expect {
                program,
                stream,
                pattern,
            } => self.expect(program, *stream, pattern, deadline).await,
            Action::Exit { program, expect } => self.exit(program, expect, deadline).await,
            Action::Running { program, hold } => self.running(program, *hold).await,
            Action::Children {
                program,
                count,
                zombies,
            } => self.children(program, count, *zombies, deadline).await,
            Action::Stop { program, signal } => self.stop(program, signal.as_deref(), path).await,
            Action::Output {
                program,
                stream,
                check,
            } => self.output(program, *stream, check).await,
            Action::Proxy(spec) => self.proxy(spec).await,
            Action::Connect {
                peer,
                to,
                host,
                refused,
            } => {
                self.connect(peer, to, host.as_deref(), *refused, deadline)
                    .await
            }
            Action::Listen { peer, port, host } => self.listen(peer, port, host.as_deref()).await,
            Action::Accept { peer } => self.accept(peer, deadline).await,
            Action::Send { peer, data } => self.send(peer, data, path, deadline).await,
            Action::Recv { peer, spec } => self.recv(peer, spec, deadline).await,
            Action::Silence { peer, hold } => self.silence(peer, *hold).await,
            Action::Shutdown { peer } => self.shutdown(peer, path).await,
            Action::Close { peer } => self.close(peer, path).await,
            Action::File { path, check } => self.file(path, check),
            Action::Assert { var, spec } => self.assert(var, spec),
            Action::Repeat { .. } | Action::Concurrently { .. } => Ok(StepResult::ok("")),
        };
        result.unwrap_or_else(|failure| failure)
    }

    async fn start(&self, spec: &StartSpec) -> Result<StepResult, StepResult> {
        let name = self.render(&spec.program)?;
        let mut args = Vec::new();
        for a in &spec.args {
            args.push(self.render(a)?);
        }
        let cwd = self.program_dir(&spec.name);
        std::fs::create_dir_all(&cwd)
            .map_err(|e| StepResult::harness(format!("cannot create {}: {e}", cwd.display())))?;
        let (label, kind) = match spec.origin {
            Origin::Submission => {
                let exe = match self.submission.program(&name) {
                    Availability::Ready(path) => path,
                    Availability::Missing(why) | Availability::BuildFailed(why) => {
                        return Err(StepResult::fail(format!("cannot run {name}: {why}")));
                    }
                };
                (
                    format!("{name} (submission)"),
                    LaunchKind::Process {
                        exe,
                        args,
                        limits: self.settings.limits.clone().map(|mut limits| {
                            // The cgroup limits memory for all programs
                            // together and names the kill; address space
                            // would only make malloc fail first.
                            if self.sandbox.memory_limit().is_some() {
                                limits.address_space = libc::RLIM_INFINITY;
                            }
                            limits
                        }),
                        run_as: self.settings.capabilities.run_as,
                    },
                )
            }
            Origin::Reference => {
                let (program, mut leading) = self
                    .settings
                    .reference_for(&name)
                    .map_err(StepResult::harness)?;
                leading.extend(args);
                let label = format!("{name} (reference {})", program.name());
                if spec.in_process && socklab_reference::supports_in_process(program, &leading) {
                    (
                        label,
                        LaunchKind::InProcess {
                            program,
                            args: leading,
                        },
                    )
                } else {
                    let mut full = vec!["reference".to_string(), program.name().to_string()];
                    full.extend(leading);
                    (
                        label,
                        LaunchKind::Process {
                            exe: self.settings.self_exe.clone(),
                            args: full,
                            limits: None,
                            run_as: None,
                        },
                    )
                }
            }
            Origin::Templated(_) => return Err(StepResult::harness("unresolved `from:` template")),
        };
        let launch = Launch {
            name: spec.name.clone(),
            label: label.clone(),
            cwd,
            host: spec.host.clone(),
            stdin: spec.stdin.clone(),
            stdin_file: match &spec.stdin {
                StdinMode::Fixture(f) => {
                    Some(self.fixture_paths.get(f).cloned().ok_or_else(|| {
                        StepResult::harness(format!("fixture `{f}` was not made"))
                    })?)
                }
                _ => None,
            },
            output_limit: self.settings.output_limit,
            kind,
        };
        let program = Program::start(&self.sandbox, launch)
            .map_err(|e| StepResult::fail(format!("{label} could not be started: {e}")))?;
        let previous = self
            .programs
            .lock()
            .expect("lock")
            .insert(spec.name.clone(), Arc::new(program));
        if let Some(old) = previous {
            old.signal(libc::SIGKILL);
            self.retired.lock().expect("lock").push(old);
        }
        Ok(StepResult::ok(format!("started {label}")))
    }

    fn port(&self, port: &Template) -> Result<u16, StepResult> {
        let text = self.render(port)?;
        text.parse()
            .map_err(|_| StepResult::harness(format!("`{text}` is not a port number")))
    }

    async fn wait_listen(
        &self,
        name: &str,
        port: &Template,
        deadline: Instant,
    ) -> Result<StepResult, StepResult> {
        let program = self.program(name)?;
        let port = self.port(port)?;
        let netns = self.sandbox.host(program.host.as_deref()).netns_fd();
        let budget = deadline.saturating_duration_since(Instant::now());
        loop {
            let listening = match program.pid {
                Some(pid) => procfs::listening_ports_of(pid).contains(&port),
                None => crate::sandbox::read_proc_net_in(netns)
                    .map(|t| {
                        procfs::parse_proc_net_tcp(&t)
                            .iter()
                            .any(|s| s.state == procfs::TCP_LISTEN && s.local_port == port)
                    })
                    .unwrap_or(false),
            };
            if listening {
                return Ok(StepResult::ok(format!(
                    "{} listens on port {port}",
                    program.label
                )));
            }
            if let Some(info) = program.exit_info() {
                return Err(StepResult::fail(format!(
                    "{} {} without listening on port {port}",
                    program.label,
                    info.describe()
                ))
                .expected(format!("a socket listening on TCP port {port}"))
                .observed(self.program_context(&program)));
            }
            if Instant::now() >= deadline {
                return Err(StepResult::fail(format!(
                    "{} did not listen on port {port} within {:.1?}",
                    program.label, budget
                ))
                .expected(format!("a socket listening on TCP port {port}"))
                .observed(self.program_context(&program)));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn type_input(
        &self,
        name: &str,
        input: &TypeInput,
        path: &StepPath,
        deadline: Instant,
    ) -> Result<StepResult, StepResult> {
        let program = self.program(name)?;
        let bytes = match input {
            TypeInput::Eof => {
                program.close_input(deadline).await.map_err(|e| {
                    StepResult::fail(format!("could not end {}'s input: {e}", program.label))
                })?;
                self.note_input(path, format!("ended the input of {}", program.label));
                return Ok(StepResult::ok("input ended"));
            }
            TypeInput::Text(t) => self.render(t)?.into_bytes(),
            TypeInput::Fixture(f) => self.fixture_bytes.get(f).cloned().unwrap_or_default(),
        };
        self.note_input(
            path,
            format!(
                "typed into {}: {}",
                program.label,
                tail(&escape_bytes(&bytes), 200)
            ),
        );
        program.type_bytes(&bytes, deadline).await.map_err(|e| {
            StepResult::fail(format!("could not type into {}: {e}", program.label))
                .observed(self.program_context(&program))
        })?;
        Ok(StepResult::ok("typed"))
    }

    async fn expect(
        &self,
        name: &str,
        stream: Stream,
        pattern: &Pattern,
        deadline: Instant,
    ) -> Result<StepResult, StepResult> {
        let program = self.program(name)?;
        let from = program.cursor(stream);
        let buf = program.output(stream).clone();
        let (expected, found) = match pattern {
            Pattern::Text(t) => {
                let needle = self.render(t)?.into_bytes();
                let expected = format!("output containing {}", escape_bytes(&needle));
                let found = buf
                    .wait_for(from, deadline, |hay| {
                        hay.windows(needle.len().max(1))
                            .position(|w| w == needle.as_slice())
                            .map(|at| at + needle.len())
                    })
                    .await;
                (expected, found.map_found(|end| (end, None)))
            }
            Pattern::Regex(re) => {
                let compiled = self.regex(re)?;
                let expected = format!("output matching /{}/", compiled.as_str());
                let found = buf
                    .wait_for(from, deadline, |hay| {
                        compiled.captures(hay).map(|caps| {
                            let end = caps.get(0).map_or(0, |m| m.end());
                            let owned: Vec<(String, String)> = compiled
                                .capture_names()
                                .flatten()
                                .filter_map(|n| {
                                    caps.name(n).map(|m| {
                                        (
                                            n.to_string(),
                                            String::from_utf8_lossy(m.as_bytes()).into_owned(),
                                        )
                                    })
                                })
                                .collect();
                            (end, Some(owned))
                        })
                    })
                    .await;
                (expected, found)
            }
        };
        let (data, _, _) = buf.snapshot();
        let seen = escape_bytes(&data[from.min(data.len())..]);
        match found {
            Wait::Found((end, captures)) => {
                program.advance(stream, from + end);
                if let Some(captures) = captures {
                    let mut vars = self.vars.lock().expect("lock");
                    for (k, v) in captures {
                        vars.entry(k).or_default().push(v);
                    }
                }
                Ok(StepResult::ok(format!(
                    "{} printed {}",
                    program.label,
                    tail(
                        &escape_bytes(&data[from.min(data.len())..(from + end).min(data.len())]),
                        200
                    )
                ))
                .observed(tail(&seen, 400)))
            }
            Wait::Eof => Err(StepResult::fail(format!(
                "{} closed its output without printing the expected text ({})",
                program.label,
                program.describe_state()
            ))
            .expected(expected)
            .observed(escaped_or_nothing(&data[from.min(data.len())..]))),
            Wait::Timeout => Err(StepResult::fail(format!(
                "{} did not print the expected text in time; it {}",
                program.label,
                program.describe_state()
            ))
            .expected(expected)
            .observed(escaped_or_nothing(&data[from.min(data.len())..]))),
        }
    }

    async fn exit(
        &self,
        name: &str,
        expect: &ExitExpect,
        deadline: Instant,
    ) -> Result<StepResult, StepResult> {
        let program = self.program(name)?;
        let wanted = match expect {
            ExitExpect::Code(c) => format!("exit with code {c}"),
            ExitExpect::Nonzero => "exit with a non-zero code".to_string(),
            ExitExpect::Any => "exit by itself (any code, not killed by a signal)".to_string(),
            ExitExpect::Signal(s) => format!("be killed by {s}"),
        };
        let exited = program.wait_exit(deadline).await;
        if exited.is_some() {
            program.drain_output(Duration::from_millis(500)).await;
        }
        let Some(info) = exited else {
            return Err(
                StepResult::fail(format!("{} did not exit in time", program.label))
                    .expected(wanted)
                    .observed(self.program_context(&program)),
            );
        };
        let ok = match expect {
            ExitExpect::Code(c) => info.code == Some(*c),
            ExitExpect::Nonzero => matches!(info.code, Some(c) if c != 0),
            ExitExpect::Any => info.code.is_some(),
            ExitExpect::Signal(s) => info
                .signal
                .and_then(|n| nix::sys::signal::Signal::try_from(n).ok())
                .is_some_and(|sig| sig.as_str() == s),
        };
        if ok {
            Ok(StepResult::ok(format!(
                "{} {}",
                program.label,
                info.describe()
            )))
        } else {
            Err(
                StepResult::fail(format!("{} {}", program.label, info.describe()))
                    .expected(wanted)
                    .observed(self.program_context(&program)),
            )
        }
    }

    async fn running(&self, name: &str, hold: Option<Duration>) -> Result<StepResult, StepResult> {
        let program = self.program(name)?;
        if let Some(hold) = hold
            && let Some(info) = program.wait_exit(Instant::now() + hold).await
        {
            return Err(
                StepResult::fail(format!("{} {}", program.label, info.describe()))
                    .expected("the program keeps running")
                    .observed(self.program_context(&program)),
            );
        }
        match program.exit_info() {
            None => Ok(StepResult::ok(format!("{} is running", program.label))),
            Some(info) => Err(
                StepResult::fail(format!("{} {}", program.label, info.describe()))
                    .expected("the program keeps running")
                    .observed(self.program_context(&program)),
            ),
        }
    }

    async fn children(
        &self,
        name: &str,
        count: &CountSpec,
        zombies: Option<u32>,
        deadline: Instant,
    ) -> Result<StepResult, StepResult> {
        let program = self.program(name)?;
        let Some(pid) = program.pid else {
            return Err(StepResult::harness(
                "an in-process program has no child processes to count",
            ));
        };
        let mut expected = Vec::new();
        if let Some(n) = count.exact {
            expected.push(format!("exactly {n} children"));
        }
        if let Some(n) = count.min {
            expected.push(format!("at least {n} children"));
        }
        if let Some(n) = count.max {
            expected.push(format!("at most {n} children"));
        }
        if let Some(n) = zombies {
            expected.push(format!("at most {n} zombie children"));
        }
        loop {
            let kids = procfs::children(pid);
            let total = kids.len() as u32;
            let dead = kids.iter().filter(|k| k.state == 'Z').count() as u32;
            let ok = count.exact.is_none_or(|n| total == n)
                && count.min.is_none_or(|n| total >= n)
                && count.max.is_none_or(|n| total <= n)
                && zombies.is_none_or(|n| dead <= n);
            let seen =
                format!("{total} children, {dead} of them zombies (exited but never waited for)");
            if ok {
                return Ok(StepResult::ok(seen));
            }
            if Instant::now() >= deadline {
                return Err(StepResult::fail(format!("{}: {seen}", program.label))
                    .expected(expected.join(", "))
                    .observed(seen));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn stop(
        &self,
        name: &str,
        signal: Option<&str>,
        path: &StepPath,
    ) -> Result<StepResult, StepResult> {
        let program = self.program(name)?;
        match signal {
            Some(sig) => {
                let number = sig
                    .parse::<nix::sys::signal::Signal>()
                    .map_err(|_| StepResult::harness(format!("unknown signal {sig}")))?;
                program.signal(number as i32);
                self.note_input(path, format!("sent {sig} to {}", program.label));
                Ok(StepResult::ok(format!("sent {sig}")))
            }
            None => {
                let info = program.stop(Duration::from_secs(1)).await;
                Ok(StepResult::ok(match info {
                    Some(i) => format!("stopped: {}", i.describe()),
                    None => "stopped".to_string(),
                }))
            }
        }
    }

    async fn output(
        &self,
        name: &str,
        stream: OutputStream,
        check: &OutputCheck,
    ) -> Result<StepResult, StepResult> {
        let program = self.program(name)?;
        if program.exit_info().is_some() {
            program.drain_output(Duration::from_millis(500)).await;
        }
        let streams: &[Stream] = match stream {
            OutputStream::One(Stream::Stdout) => &[Stream::Stdout],
            OutputStream::One(Stream::Stderr) => &[Stream::Stderr],
            OutputStream::Any => &[Stream::Stdout, Stream::Stderr],
        };
        let outputs: Vec<(Stream, Vec<u8>, u64)> = streams
            .iter()
            .map(|s| {
                let (data, _, dropped) = program.output(*s).snapshot();
                (*s, data, dropped)
            })
            .collect();
        let truncated = outputs
            .iter()
            .filter(|(_, _, dropped)| *dropped > 0)
            .map(|(s, data, dropped)| {
                let which = match stream {
                    OutputStream::Any => format!("{} ", stream_name(*s)),
                    OutputStream::One(_) => String::new(),
                };
                format!(
                    " ({which}output truncated after {} bytes; {dropped} more dropped)",
                    data.len()
                )
            })
            .collect::<String>();
        type Holds = Box<dyn Fn(&[u8]) -> bool>;
        let (holds, expected): (Holds, String) = match check {
            OutputCheck::Equals(t) => {
                let want = self.render(t)?;
                let expected = format!("exactly {}", escape_bytes(want.as_bytes()));
                (Box::new(move |d| d == want.as_bytes()), expected)
            }
            OutputCheck::Contains(t) => {
                let want = self.render(t)?;
                let expected = format!("output containing {}", escape_bytes(want.as_bytes()));
                (Box::new(move |d| contains(d, want.as_bytes())), expected)
            }
            OutputCheck::NotContains(t) => {
                let want = self.render(t)?;
                let expected = format!("output without {}", escape_bytes(want.as_bytes()));
                (Box::new(move |d| !contains(d, want.as_bytes())), expected)
            }
            OutputCheck::Regex(re) => {
                let compiled = self.regex(re)?;
                let expected = format!("output matching /{}/", compiled.as_str());
                (Box::new(move |d| compiled.is_match(d)), expected)
            }
            OutputCheck::Fixture(f) => {
                let want = self.fixture_bytes.get(f).cloned().unwrap_or_default();
                let expected = format!("the {} bytes of fixture `{f}`", want.len());
                (Box::new(move |d| d == want.as_slice()), expected)
            }
        };
        // `not_contains` must hold for every stream looked at; the others
        // for one of them.
        let ok = if matches!(check, OutputCheck::NotContains(_)) {
            outputs.iter().all(|(_, data, _)| holds(data))
        } else {
            outputs.iter().any(|(_, data, _)| holds(data))
        };
        if ok {
            return Ok(StepResult::ok("output as expected"));
        }
        let where_ = match stream {
            OutputStream::One(_) => "output is",
            OutputStream::Any => "output (stdout and stderr) is",
        };
        if let (OutputCheck::Fixture(f), [(_, data, _)]) = (check, outputs.as_slice()) {
            let want = self.fixture_bytes.get(f).cloned().unwrap_or_default();
            return Err(StepResult::fail(format!(
                "{}'s output differs from fixture `{f}`{truncated}",
                program.label
            ))
            .expected(expected)
            .observed(fixtures::describe_difference(&want, data)));
        }
        let seen = |data: &[u8]| {
            let seen = escape_bytes(data);
            if seen.is_empty() {
                "(nothing)".to_string()
            } else {
                tail(&seen, 800)
            }
        };
        let observed = match outputs.as_slice() {
            [(_, data, _)] => seen(data),
            several => several
                .iter()
                .map(|(s, data, _)| format!("{}: {}", stream_name(*s), seen(data)))
                .collect::<Vec<_>>()
                .join("; "),
        };
        Err(StepResult::fail(format!(
            "{}'s {where_} not as expected{truncated}",
            program.label
        ))
        .expected(expected)
        .observed(observed))
    }

    async fn proxy(&self, spec: &ProxySpec) -> Result<StepResult, StepResult> {
        let port = self.port(&spec.port)?;
        let upstream = self.address(&spec.upstream)?;
        let net = self.sandbox.host(spec.host.as_deref()).net();
        let listener = bind_listener(&net, port).map_err(|e| {
            StepResult::harness(format!(
                "proxy `{}` cannot listen on port {port}: {e}",
                spec.name
            ))
        })?;
        let handle = proxy::start(listener, net, upstream, spec.faults.clone());
        self.proxies.lock().expect("lock").push(handle);
        Ok(StepResult::ok(format!(
            "proxy `{}` on port {port} → {upstream}",
            spec.name
        )))
    }

    fn address(&self, to: &Template) -> Result<SocketAddr, StepResult> {
        let text = self.render(to)?;
        text.parse::<SocketAddr>().map_err(|_| {
            StepResult::harness(format!("`{text}` is not an address like 127.0.0.1:9000"))
        })
    }

    async fn connect(
        &self,
        name: &str,
        to: &Template,
        host: Option<&str>,
        refused: bool,
        deadline: Instant,
    ) -> Result<StepResult, StepResult> {
        let addr = self.address(to)?;
        let net = self.sandbox.host(host).net();
        let socket = net
            .tcp_socket(addr.is_ipv6())
            .map_err(|e| StepResult::harness(format!("cannot create a socket: {e}")))?;
        let attempt = tokio::time::timeout_at(deadline, socket.connect(addr)).await;
        match (attempt, refused) {
            (Ok(Ok(stream)), false) => {
                let _ = stream.set_nodelay(true);
                self.peers.lock().expect("lock").insert(
                    name.to_string(),
                    Arc::new(tokio::sync::Mutex::new(Peer::connected(name, stream))),
                );
                Ok(StepResult::ok(format!("connected to {addr}")))
            }
            (Ok(Ok(_)), true) => Err(StepResult::fail(format!(
                "a connection to {addr} was accepted"
            ))
            .expected("the connection to be refused (nothing listening)")),
            (Ok(Err(e)), true) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(
                StepResult::ok(format!("connection to {addr} refused, as expected")),
            ),
            (Ok(Err(e)), _) => Err(
                StepResult::fail(format!("could not connect to {addr}: {e}"))
                    .expected(format!("a server accepting connections on {addr}"))
                    .observed(format!("connect() failed: {e}")),
            ),
            (Err(_), _) => Err(StepResult::fail(format!(
                "connecting to {addr} did not finish in time"
            ))
            .expected(format!("a server accepting connections on {addr}"))),
        }
    }

    async fn listen(
        &self,
        name: &str,
        port: &Template,
        host: Option<&str>,
    ) -> Result<StepResult, StepResult> {
        let port = self.port(port)?;
        let net = self.sandbox.host(host).net();
        let listener = bind_listener(&net, port).map_err(|e| {
            StepResult::harness(format!("peer `{name}` cannot listen on port {port}: {e}"))
        })?;
        self.peers.lock().expect("lock").insert(
            name.to_string(),
            Arc::new(tokio::sync::Mutex::new(Peer::listening(name, listener))),
        );
        Ok(StepResult::ok(format!("listening on port {port}")))
    }

    async fn accept(&self, name: &str, deadline: Instant) -> Result<StepResult, StepResult> {
        let peer = self.peer(name)?;
        let mut peer = peer.lock().await;
        match peer.accept(deadline).await {
            Ok(from) => Ok(StepResult::ok(format!("accepted a connection from {from}"))),
            Err(e) => Err(StepResult::fail(format!("no connection arrived: {e}"))
                .expected("the program to connect")),
        }
    }

    async fn send(
        &self,
        name: &str,
        data: &SendData,
        path: &StepPath,
        deadline: Instant,
    ) -> Result<StepResult, StepResult> {
        let bytes = match data {
            SendData::Text(t) => self.render(t)?.into_bytes(),
            SendData::Hex(b) => b.clone(),
            SendData::Int32 { value, endian } => match endian {
                Endian::Host => value.to_ne_bytes().to_vec(),
                Endian::Little => value.to_le_bytes().to_vec(),
                Endian::Big => value.to_be_bytes().to_vec(),
            },
            SendData::Fixture(f) => self.fixture_bytes.get(f).cloned().unwrap_or_default(),
        };
        let peer = self.peer(name)?;
        let mut peer = peer.lock().await;
        self.note_input(
            path,
            format!(
                "sent on connection `{name}`: {}",
                tail(&escape_bytes(&bytes), 200)
            ),
        );
        match peer.send(&bytes, deadline).await {
            Ok(()) => Ok(StepResult::ok(format!("sent {} bytes", bytes.len()))),
            Err(e) => Err(StepResult::fail(format!("sending on `{name}` failed: {e}"))
                .observed(peer.render())),
        }
    }

    async fn recv(
        &self,
        name: &str,
        spec: &RecvSpec,
        deadline: Instant,
    ) -> Result<StepResult, StepResult> {
        let peer = self.peer(name)?;
        let mut peer = peer.lock().await;
        let why = |end: &ReadEnd| match end {
            ReadEnd::Eof => "the connection was closed".to_string(),
            ReadEnd::Timeout => "nothing more arrived in time".to_string(),
            ReadEnd::Error(e) if e.contains("reset") => {
                "the connection was reset by the other side (RST, not a normal close)".to_string()
            }
            ReadEnd::Error(e) => format!("reading failed: {e}"),
            ReadEnd::Data => String::new(),
        };
        match spec {
            RecvSpec::Exact(_) | RecvSpec::ExactHex(_) | RecvSpec::Bytes(_) => {
                let (want, n) = match spec {
                    RecvSpec::Exact(t) => {
                        let w = self.render(t)?.into_bytes();
                        let n = w.len();
                        (Some(w), n)
                    }
                    RecvSpec::ExactHex(b) => (Some(b.clone()), b.len()),
                    RecvSpec::Bytes(n) => (None, *n as usize),
                    _ => unreachable!(),
                };
                let end = peer.read_at_least(n, deadline).await;
                let got = peer.take_pending(n);
                // Bytes the author wrote in hex are shown in hex too.
                let shown = |bytes: &[u8]| match spec {
                    RecvSpec::ExactHex(_) if !bytes.is_empty() => {
                        format!("{} ({})", hex_bytes(bytes), escape_bytes(bytes))
                    }
                    _ => escaped_or_nothing(bytes),
                };
                let expected = match &want {
                    Some(w) => shown(w),
                    None => format!("{n} bytes"),
                };
                if got.len() < n {
                    return Err(StepResult::fail(format!(
                        "received {} of {n} expected bytes: {}",
                        got.len(),
                        why(&end)
                    ))
                    .expected(expected)
                    .observed(shown(&got)));
                }
                match want {
                    Some(w) if w != got => Err(StepResult::fail("received different bytes")
                        .expected(expected)
                        .observed(shown(&got))),
                    _ => Ok(StepResult::ok(format!(
                        "received {}",
                        tail(&escape_bytes(&got), 200)
                    ))),
                }
            }
            RecvSpec::Until(re) => {
                let compiled = self.regex(re)?;
                loop {
                    if let Some(caps) = compiled.captures(&peer.pending) {
                        let end = caps.get(0).map_or(0, |m| m.end());
                        self.capture(&compiled, &caps);
                        let got = peer.take_pending(end);
                        return Ok(StepResult::ok(format!(
                            "received {}",
                            tail(&escape_bytes(&got), 200)
                        )));
                    }
                    let end = peer.read_some(deadline).await;
                    if end != ReadEnd::Data {
                        let seen = escaped_or_nothing(&peer.pending);
                        return Err(StepResult::fail(format!("no match: {}", why(&end)))
                            .expected(format!("bytes matching /{}/", compiled.as_str()))
                            .observed(seen));
                    }
                }
            }
            RecvSpec::Message(re) => {
                let compiled = self.regex(re)?;
                if peer.pending.is_empty() {
                    let end = peer.read_some(deadline).await;
                    if end != ReadEnd::Data {
                        return Err(StepResult::fail(format!("no reply: {}", why(&end)))
                            .expected(format!("a message matching /{}/", compiled.as_str()))
                            .observed("(nothing)"));
                    }
                }
                peer.drain_ready().await;
                let whole = regex::bytes::Regex::new(&format!("^(?:{})$", compiled.as_str()))
                    .map_err(|e| StepResult::harness(e.to_string()))?;
                let got = std::mem::take(&mut peer.pending);
                match whole.captures(&got) {
                    Some(caps) => {
                        self.capture(&whole, &caps);
                        Ok(StepResult::ok(format!("received {}", escape_bytes(&got))))
                    }
                    None => Err(StepResult::fail("the reply is not the expected message")
                        .expected(format!(
                            "exactly a message matching /{}/",
                            compiled.as_str()
                        ))
                        .observed(escape_bytes(&got))),
                }
            }
            RecvSpec::Eof(check) => {
                let end = peer.read_to_eof(deadline).await;
                let got = std::mem::take(&mut peer.pending);
                if end != ReadEnd::Eof {
                    let message = match end {
                        ReadEnd::Timeout => format!("the connection was not closed: {}", why(&end)),
                        _ => why(&end),
                    };
                    return Err(StepResult::fail(message)
                        .expected("the other side to close the connection")
                        .observed(format!(
                            "{} bytes before that{}",
                            got.len(),
                            if got.is_empty() {
                                String::new()
                            } else {
                                format!(": {}", tail(&escape_bytes(&got), 300))
                            }
                        )));
                }
                self.check_stream(check.as_ref(), &got)
            }
        }
    }

    fn check_stream(&self, check: Option<&EofCheck>, got: &[u8]) -> Result<StepResult, StepResult> {
        let closed = format!(
            "received {} bytes, then the connection was closed",
            got.len()
        );
        match check {
            None => Ok(StepResult::ok(closed)),
            Some(EofCheck::Text(t)) => {
                let want = self.render(t)?.into_bytes();
                if want == got {
                    Ok(StepResult::ok(closed))
                } else {
                    Err(
                        StepResult::fail("received different bytes before the close")
                            .expected(escape_bytes(&want))
                            .observed(escaped_or_nothing(got)),
                    )
                }
            }
            Some(EofCheck::Regex(re)) => {
                let compiled = self.regex(re)?;
                let whole = regex::bytes::Regex::new(&format!("^(?:{})$", compiled.as_str()))
                    .map_err(|e| StepResult::harness(e.to_string()))?;
                match whole.captures(got) {
                    Some(caps) => {
                        self.capture(&whole, &caps);
                        Ok(StepResult::ok(format!("received {}", escape_bytes(got))))
                    }
                    None => Err(
                        StepResult::fail("the data before the close is not as expected")
                            .expected(format!("bytes matching /{}/", compiled.as_str()))
                            .observed(escaped_or_nothing(got)),
                    ),
                }
            }
            Some(EofCheck::Fixture(f)) => {
                let want = self.fixture_bytes.get(f).cloned().unwrap_or_default();
                if want == got {
                    Ok(StepResult::ok(closed))
                } else {
                    Err(
                        StepResult::fail(format!("the data differs from fixture `{f}`"))
                            .expected(format!("the {} bytes of fixture `{f}`", want.len()))
                            .observed(fixtures::describe_difference(&want, got)),
                    )
                }
            }
            Some(EofCheck::Segments(f)) => {
                let want = self.fixture_bytes.get(f).cloned().unwrap_or_default();
                check_segments(&want, got, f)
            }
        }
    }

    async fn silence(&self, name: &str, hold: Duration) -> Result<StepResult, StepResult> {
        let peer = self.peer(name)?;
        let mut peer = peer.lock().await;
        if peer.silent_for(hold).await {
            Ok(StepResult::ok(format!("nothing arrived for {hold:?}")))
        } else {
            let got = std::mem::take(&mut peer.pending);
            let what = if got.is_empty() && peer.eof {
                "the connection was closed".to_string()
            } else {
                escape_bytes(&got)
            };
            Err(
                StepResult::fail(format!("something arrived within {hold:?}"))
                    .expected(format!("no data for {hold:?}"))
                    .observed(what),
            )
        }
    }

    async fn shutdown(&self, name: &str, path: &StepPath) -> Result<StepResult, StepResult> {
        let peer = self.peer(name)?;
        let mut peer = peer.lock().await;
        self.note_input(path, format!("half-closed connection `{name}` (FIN)"));
        peer.shutdown_write()
            .await
            .map(|_| StepResult::ok("half-closed"))
            .map_err(|e| StepResult::fail(format!("half-close failed: {e}")))
    }

    async fn close(&self, name: &str, path: &StepPath) -> Result<StepResult, StepResult> {
        let peer = self.peer(name)?;
        peer.lock().await.close();
        self.note_input(path, format!("closed connection `{name}`"));
        Ok(StepResult::ok("closed"))
    }

    fn file(&self, path: &Template, check: &FileCheck) -> Result<StepResult, StepResult> {
        let rendered = PathBuf::from(self.render(path)?);
        let full = if rendered.is_absolute() {
            rendered
        } else {
            self.dir.join(rendered)
        };
        let shown = full
            .strip_prefix(&self.dir)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| full.display().to_string());
        match check {
            FileCheck::Exists(want) => {
                let exists = full.exists();
                if exists == *want {
                    Ok(StepResult::ok(format!(
                        "{shown} {}",
                        if exists { "exists" } else { "does not exist" }
                    )))
                } else {
                    Err(StepResult::fail(format!(
                        "{shown} {}",
                        if exists { "exists" } else { "does not exist" }
                    ))
                    .expected(format!(
                        "{shown} {}",
                        if *want { "to exist" } else { "not to exist" }
                    )))
                }
            }
            FileCheck::Matches(f) => {
                let want = self.fixture_bytes.get(f).cloned().unwrap_or_default();
                let got = match std::fs::read(&full) {
                    Ok(g) => g,
                    Err(e) => {
                        return Err(StepResult::fail(format!("{shown} cannot be read: {e}"))
                            .expected(format!("a copy of fixture `{f}` ({} bytes)", want.len())));
                    }
                };
                if got == want {
                    Ok(StepResult::ok(format!(
                        "{shown} matches fixture `{f}` (sha256 {})",
                        &fixtures::sha256_hex(&got)[..16]
                    )))
                } else {
                    Err(StepResult::fail(format!(
                        "{shown} is not a byte-exact copy of fixture `{f}`"
                    ))
                    .expected(format!(
                        "{} bytes, sha256 {}",
                        want.len(),
                        fixtures::sha256_hex(&want)
                    ))
                    .observed(fixtures::describe_difference(&want, &got)))
                }
            }
        }
    }

    fn assert(&self, var: &str, spec: &AssertSpec) -> Result<StepResult, StepResult> {
        let values = self
            .vars
            .lock()
            .expect("lock")
            .get(var)
            .cloned()
            .unwrap_or_default();
        let shown = format!("{var} = [{}]", values.join(", "));
        if let Some(n) = spec.count
            && values.len() != n as usize
        {
            return Err(StepResult::fail(format!(
                "{} values captured, expected {n}",
                values.len()
            ))
            .expected(format!("{n} values"))
            .observed(shown));
        }
        if spec.distinct {
            let mut seen = std::collections::BTreeSet::new();
            if let Some(dup) = values.iter().find(|v| !seen.insert(v.as_str())) {
                return Err(StepResult::fail(format!("`{dup}` appears more than once"))
                    .expected("all values different")
                    .observed(shown));
            }
        }
        if let Some((lo, hi)) = spec.range {
            for v in &values {
                match v.trim().parse::<i64>() {
                    Ok(n) if (lo..=hi).contains(&n) => {}
                    _ => {
                        return Err(StepResult::fail(format!(
                            "`{v}` is not a number in {lo}..{hi}"
                        ))
                        .expected(format!("numbers from {lo} to {hi}"))
                        .observed(shown));
                    }
                }
            }
        }
        if let Some(tolerance) = spec.near_now {
            let now = civil_seconds(&socklab_reference::wire::daytime::CivilTime::local(
                std::time::SystemTime::now(),
            ));
            for v in &values {
                let line = format!("{}\r\n", v.trim_end_matches(['\r', '\n']));
                let time =
                    socklab_reference::wire::daytime::parse(line.as_bytes()).map_err(|e| {
                        StepResult::fail(format!("`{v}` is not a ctime() time: {e}"))
                            .expected("a time like `Tue Sep  5 11:04:47 2017`")
                            .observed(shown.clone())
                    })?;
                let off = (civil_seconds(&time) - now).abs();
                if off as f64 > tolerance.as_secs_f64() {
                    return Err(StepResult::fail(format!(
                        "`{v}` is {off} s away from the grader's clock"
                    ))
                    .expected(format!("the current local time, within {tolerance:?}"))
                    .observed(shown));
                }
            }
        }
        if let Some(t) = &spec.equals {
            let want = self.render(t)?;
            let got = values.join(" ");
            if got != want {
                return Err(StepResult::fail("the values differ")
                    .expected(want)
                    .observed(shown));
            }
        }
        Ok(StepResult::ok(shown))
    }

    /// What was going on when the scenario's timeout struck.
    fn describe_hang(&self) -> String {
        let mut parts: Vec<String> = self
            .in_flight
            .lock()
            .expect("lock")
            .values()
            .map(|step| format!("under way: {step}"))
            .collect();
        let programs: Vec<Arc<Program>> = self
            .programs
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect();
        for program in programs.iter().filter(|p| p.exit_info().is_none()) {
            parts.push(self.program_context(program));
        }
        parts.join("\n")
    }

    /// Stops everything and gathers the transcripts.
    async fn finish(&self) -> Vec<socklab_report::Transcript> {
        for handle in self.proxies.lock().expect("lock").drain(..) {
            handle.stop();
        }
        let mut programs: Vec<Arc<Program>> = self.retired.lock().expect("lock").clone();
        programs.extend(self.programs.lock().expect("lock").values().cloned());
        let mut stopped_by_us = Vec::new();
        for program in &programs {
            if program.exit_info().is_none() {
                stopped_by_us.push(program.name.clone());
                program.signal(libc::SIGKILL);
            }
        }
        let mut transcripts = Vec::new();
        for program in &programs {
            program
                .wait_exit(Instant::now() + Duration::from_secs(2))
                .await;
            for (stream, buf) in [("stdout", &program.stdout), ("stderr", &program.stderr)] {
                let (data, _, dropped) = buf.snapshot();
                if data.is_empty() && dropped == 0 {
                    continue;
                }
                transcripts.push(socklab_report::Transcript {
                    label: format!("{} `{}` {stream}", program.label, program.name),
                    text: escape_bytes(&data),
                    truncated_bytes: dropped,
                });
            }
            // A program that had ended on its own just before the kill (its
            // end not yet collected) keeps its own exit status.
            let end = match program.exit_info() {
                Some(info)
                    if info.signal == Some(libc::SIGKILL)
                        && stopped_by_us.contains(&program.name) =>
                {
                    "still running when the scenario ended; stopped by socklab".to_string()
                }
                Some(info) => info.describe(),
                None => "did not end".to_string(),
            };
            let mut text = format!("{end}\n");
            if let Some(t) = &program.transcript {
                text.push_str(&t.render());
            }
            transcripts.push(socklab_report::Transcript {
                label: format!("{} `{}` end", program.label, program.name),
                text,
                truncated_bytes: 0,
            });
        }
        let peers: Vec<_> = self.peers.lock().expect("lock").values().cloned().collect();
        for peer in peers {
            let peer = peer.lock().await;
            transcripts.push(socklab_report::Transcript {
                label: format!("connection `{}`", peer.name),
                text: peer.render(),
                truncated_bytes: 0,
            });
        }
        drop(programs);
        transcripts
    }
}

impl Drop for Runner<'_> {
    fn drop(&mut self) {
        self.sandbox.teardown();
    }
}

/// Seconds since 1970-01-01 of a calendar time, ignoring time zones (both
/// sides of a comparison are local time).
fn civil_seconds(t: &socklab_reference::wire::daytime::CivilTime) -> i64 {
    // Days from civil (Howard Hinnant's algorithm).
    let (y, m) = if t.month <= 2 {
        (i64::from(t.year) - 1, i64::from(t.month) + 9)
    } else {
        (i64::from(t.year), i64::from(t.month) - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + i64::from(t.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second)
}

/// `02 00 00 00`.
fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fn escaped_or_nothing(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        "(nothing)".to_string()
    } else {
        tail(&escape_bytes(bytes), 600)
    }
}

/// Binds a listening socket on all addresses of a host.
fn bind_listener(
    net: &Arc<dyn socklab_reference::net::Net>,
    port: u16,
) -> std::io::Result<tokio::net::TcpListener> {
    let socket = net.tcp_socket(false)?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([0, 0, 0, 0], port)))?;
    socket.listen(128)
}

/// Lab 3 file segments: `{ int len; char buf[256]; }` = 260 bytes, len in host order.
pub const SEGMENT_SIZE: usize = 260;

fn check_segments(want: &[u8], got: &[u8], fixture: &str) -> Result<StepResult, StepResult> {
    let whole = got.len() / SEGMENT_SIZE;
    let trailing = got.len() % SEGMENT_SIZE;
    let expected = format!(
        "{} segments of 260 bytes carrying the {} bytes of fixture `{fixture}`",
        want.len().div_ceil(256),
        want.len()
    );
    if trailing != 0 {
        return Err(StepResult::fail(format!(
            "{} bytes is not a whole number of 260-byte segments ({whole} whole, {trailing} bytes left over)",
            got.len()
        ))
        .expected(expected)
        .observed(format!("first bytes: {}", tail(&escape_bytes(&got[..got.len().min(64)]), 200))));
    }
    let mut content = Vec::with_capacity(want.len());
    for (i, segment) in got.chunks(SEGMENT_SIZE).enumerate() {
        let len = i32::from_ne_bytes(segment[..4].try_into().expect("4 bytes"));
        if !(0..=256).contains(&len) {
            return Err(
                StepResult::fail(format!("segment {i} has len {len}, outside 0..=256"))
                    .expected(expected)
                    .observed(format!(
                        "segment {i} header: {}",
                        escape_bytes(&segment[..4])
                    )),
            );
        }
        content.extend_from_slice(&segment[4..4 + len as usize]);
    }
    if content == want {
        Ok(StepResult::ok(format!(
            "{whole} well-formed segments carrying the fixture"
        )))
    } else {
        Err(StepResult::fail(format!(
            "the {whole} segments do not carry the fixture's bytes"
        ))
        .expected(expected)
        .observed(fixtures::describe_difference(want, &content)))
    }
}

impl<T> Wait<T> {
    fn map_found<U>(self, f: impl FnOnce(T) -> U) -> Wait<U> {
        match self {
            Wait::Found(t) => Wait::Found(f(t)),
            Wait::Eof => Wait::Eof,
            Wait::Timeout => Wait::Timeout,
        }
    }
}

/// Whether this level can run the scenario, and if not, why.
pub fn skip_reason(scenario: &Scenario, settings: &RunSettings) -> Option<String> {
    if scenario.needs_separate_hosts() && !settings.capabilities.multi_host {
        return Some(format!(
            "needs {} hosts with their own addresses, which this machine cannot provide ({})",
            scenario.hosts.len(),
            settings
                .capabilities
                .why_single_host
                .as_deref()
                .unwrap_or("no network namespaces")
        ));
    }
    if settings.capabilities.level == IsolationLevel::Loopback {
        let root = crate::sandbox::userns::really_root();
        if let Some(port) = scenario.fixed_ports().into_iter().find(|p| *p < 1024)
            && !root
        {
            return Some(format!(
                "needs port {port}, which only root may use without network namespaces"
            ));
        }
    }
    None
}

fn stream_name(stream: Stream) -> &'static str {
    match stream {
        Stream::Stdout => "stdout",
        Stream::Stderr => "stderr",
    }
}

#[cfg(test)]
mod tests {
    use super::civil_seconds;
    use socklab_reference::wire::daytime::CivilTime;

    #[test]
    fn civil_seconds_match_the_epoch() {
        let t = |year, month, day, hour, minute, second| CivilTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            weekday: 0,
        };
        assert_eq!(civil_seconds(&t(1970, 1, 1, 0, 0, 0)), 0);
        assert_eq!(civil_seconds(&t(2017, 9, 5, 11, 4, 47)), 1_504_609_487);
        assert_eq!(civil_seconds(&t(2000, 3, 1, 0, 0, 0)), 951_868_800);
    }
}
