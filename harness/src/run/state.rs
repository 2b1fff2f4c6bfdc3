//! The state one scenario run shares between its steps: the programs and
//! peers started so far, captured variables, what socklab last sent, the
//! fixtures, and how templates are filled in from all of it.
//!
//! Actions (`run/actions/`) reach everything through a [`StepContext`]:
//! this state, where the step runs ([`StepPath`]) and how long it may wait
//! ([`Until`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use socklab_reference::transcript::escape_bytes;
use socklab_scenario::path::StepPath;
use socklab_scenario::{RegexTemplate, Scenario, Template};

use super::capture::ScenarioCapture;
use super::peer::Peer;
use super::program::{OverflowAlarm, Program};
use super::proxy::ProxyHandle;
use super::settle::{Activity, OwnSocket, ProxyWatch};
use super::sockets::HostSockets;
use super::wait::{Settle, Until};
use crate::check::{Judgement, tail};
use crate::facts::{ProgramDetails, ProgramFact};
use crate::kernel::SockDiag;
use crate::plan::{RunPlan, RunSettings, Submission};
use crate::sandbox::Sandbox;

/// Why an action could not even gather its fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepError {
    /// socklab could not carry the step out (a placeholder without a
    /// value, a port that is not a number): never the student's fault.
    Harness(String),
    /// What the step needs is missing because an earlier step failed (a
    /// program that did not start, a connection that was not made).
    Missing(String),
}

impl From<StepError> for Judgement {
    fn from(error: StepError) -> Judgement {
        match error {
            StepError::Harness(why) => Judgement::harness(why),
            StepError::Missing(why) => Judgement::fail(why),
        }
    }
}

/// What a step's action works with.
pub struct StepContext<'s> {
    pub state: &'s ScenarioState<'s>,
    /// Where the step runs (`8.b.2`): which concurrent branch its input
    /// belongs to.
    pub path: &'s StepPath,
    /// How long the step may wait.
    pub until: Until,
}

impl StepContext<'_> {
    /// Records what socklab just sent or typed, for the checks after it.
    pub fn note_input(&self, text: String) {
        self.state.note_input(self.path, text);
    }
}

/// Everything one scenario run shares between its steps.
pub struct ScenarioState<'a> {
    pub scenario: &'a Scenario,
    pub settings: &'a RunSettings,
    pub submission: &'a Submission,
    pub sandbox: Sandbox,
    /// The scenario's working folder.
    pub dir: PathBuf,
    /// Its ports and the program behind each `start`.
    pub plan: &'a RunPlan,
    pub fixture_paths: BTreeMap<String, PathBuf>,
    pub fixture_bytes: BTreeMap<String, Vec<u8>>,
    /// Ends every wait at once when nothing can change any more.
    pub settle: Settle,
    /// The TCP sockets of the scenario's hosts, as the kernel reports them.
    pub sockets: HostSockets,
    /// The TCP traffic of the scenario's hosts, for `packets` steps and
    /// the report.
    pub capture: ScenarioCapture,
    /// What the step loop is doing, for deciding when it settles.
    pub activity: Activity,
    /// Sockets socklab's peers hold, and socklab's proxies.
    own_sockets: Mutex<Vec<OwnSocket>>,
    proxy_watches: Mutex<Vec<ProxyWatch>>,
    /// Raised when a program passes its output limit (it is frozen, and
    /// the scenario reports it when its steps are over).
    pub overflow: OverflowAlarm,
    programs: Mutex<BTreeMap<String, Arc<Program>>>,
    /// Programs replaced by a later `start` of the same name.
    retired: Mutex<Vec<Arc<Program>>>,
    peers: Mutex<BTreeMap<String, Arc<tokio::sync::Mutex<Peer>>>>,
    /// Connections replaced by a later one of the same name (a peer that
    /// reconnects), in order: `-v` shows every one, numbered.
    replaced_peers: Mutex<Vec<ReplacedPeer>>,
    proxies: Mutex<Vec<ProxyHandle>>,
    vars: Mutex<BTreeMap<String, Vec<String>>>,
    /// What socklab last sent or typed, per concurrent branch (the root
    /// path outside any), shown with a check as "sent:".
    last_input: Mutex<BTreeMap<StepPath, String>>,
    /// Steps under way: path → "step 4 (line 31): <title>".
    in_flight: Mutex<BTreeMap<StepPath, String>>,
}

impl<'a> ScenarioState<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        scenario: &'a Scenario,
        settings: &'a RunSettings,
        submission: &'a Submission,
        sandbox: Sandbox,
        dir: &Path,
        plan: &'a RunPlan,
        fixture_paths: BTreeMap<String, PathBuf>,
        fixture_bytes: BTreeMap<String, Vec<u8>>,
    ) -> Self {
        // Before the first step: every packet of the scenario is seen.
        let capture = ScenarioCapture::start(&sandbox, settings.capture);
        ScenarioState {
            capture,
            scenario,
            settings,
            submission,
            sandbox,
            dir: dir.to_path_buf(),
            plan,
            fixture_paths,
            fixture_bytes,
            settle: Settle::default(),
            sockets: HostSockets::default(),
            activity: Activity::default(),
            own_sockets: Mutex::new(Vec::new()),
            proxy_watches: Mutex::new(Vec::new()),
            overflow: OverflowAlarm::default(),
            programs: Mutex::new(BTreeMap::new()),
            retired: Mutex::new(Vec::new()),
            peers: Mutex::new(BTreeMap::new()),
            replaced_peers: Mutex::new(Vec::new()),
            proxies: Mutex::new(Vec::new()),
            vars: Mutex::new(BTreeMap::new()),
            last_input: Mutex::new(BTreeMap::new()),
            in_flight: Mutex::new(BTreeMap::new()),
        }
    }

    /// The value of `{{namespace.name}}` (`all`: every captured value).
    fn lookup(&self, namespace: &str, name: &str, all: bool) -> Option<String> {
        match namespace {
            "ports" => self.plan.ports.get(name).map(u16::to_string),
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
    pub fn fill_in(&self, text: &str) -> String {
        Template::parse(text)
            .ok()
            .and_then(|t| t.render(&|ns, name, all| self.lookup(ns, name, all)).ok())
            .unwrap_or_else(|| text.to_string())
    }

    pub fn render(&self, template: &Template) -> Result<String, StepError> {
        template
            .render(&|ns, name, all| self.lookup(ns, name, all))
            .map_err(|e| StepError::Harness(format!("cannot fill in `{template}`: {e}")))
    }

    /// A regex with its placeholders filled in (their values escaped).
    pub fn regex(&self, re: &RegexTemplate) -> Result<regex::bytes::Regex, StepError> {
        if let Some(compiled) = re.compiled() {
            return compiled.cloned().map_err(|e| {
                StepError::Harness(format!(
                    "regex `{}` does not compile: {e}",
                    re.template.source
                ))
            });
        }
        let source = re
            .template
            .render(&|ns, name, all| self.lookup(ns, name, all).map(|v| regex::escape(&v)))
            .map_err(|e| StepError::Harness(format!("cannot fill in `{}`: {e}", re.template)))?;
        regex::bytes::Regex::new(&source)
            .map_err(|e| StepError::Harness(format!("regex `{source}` does not compile: {e}")))
    }

    pub fn port(&self, port: &Template) -> Result<u16, StepError> {
        let text = self.render(port)?;
        text.parse()
            .map_err(|_| StepError::Harness(format!("`{text}` is not a port number")))
    }

    pub fn address(&self, to: &Template) -> Result<std::net::SocketAddr, StepError> {
        let text = self.render(to)?;
        text.parse().map_err(|_| {
            StepError::Harness(format!("`{text}` is not an address like 127.0.0.1:9000"))
        })
    }

    /// The bytes of a fixture (validation made sure it is declared).
    pub fn fixture(&self, name: &str) -> Vec<u8> {
        self.fixture_bytes.get(name).cloned().unwrap_or_default()
    }

    /// Keeps the values of the named groups of a match, for `assert` and
    /// `{{vars.NAME}}`.
    pub fn capture(&self, re: &regex::bytes::Regex, caps: &regex::bytes::Captures) {
        self.keep_values(named_values(re, caps));
    }

    /// Keeps values captured earlier (name, value), in order.
    pub fn keep_values(&self, values: Vec<(String, String)>) {
        let mut vars = self.vars.lock().expect("lock");
        for (name, value) in values {
            vars.entry(name).or_default().push(value);
        }
    }

    /// Every value captured under `var`, in order.
    pub fn captured(&self, var: &str) -> Vec<String> {
        self.vars
            .lock()
            .expect("lock")
            .get(var)
            .cloned()
            .unwrap_or_default()
    }

    pub fn program_dir(&self, name: &str) -> PathBuf {
        self.dir.join("programs").join(name)
    }

    /// Every program started so far, in name order.
    pub fn programs_started(&self) -> Vec<Arc<Program>> {
        self.programs
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect()
    }

    pub fn program(&self, name: &str) -> Result<Arc<Program>, StepError> {
        self.programs
            .lock()
            .expect("lock")
            .get(name)
            .cloned()
            .ok_or_else(|| {
                StepError::Missing(format!(
                    "program `{name}` was not started (an earlier start failed)"
                ))
            })
    }

    /// Makes `program` the one its name refers to; one started earlier
    /// under that name is killed.
    pub fn add_program(&self, program: Program) {
        let name = program.name.clone();
        let previous = self
            .programs
            .lock()
            .expect("lock")
            .insert(name, Arc::new(program));
        if let Some(old) = previous {
            old.signal(libc::SIGKILL);
            self.retired.lock().expect("lock").push(old);
        }
    }

    /// The programs the scenario's names refer to now (not those replaced).
    pub fn current_programs(&self) -> Vec<Arc<Program>> {
        self.programs
            .lock()
            .expect("lock")
            .values()
            .cloned()
            .collect()
    }

    /// The student's program started last, if any.
    pub fn latest_student(&self) -> Option<Arc<Program>> {
        self.current_programs()
            .into_iter()
            .filter(|p| p.origin == crate::facts::ProgramOrigin::Submission)
            .max_by_key(|p| p.started)
    }

    pub fn peer(&self, name: &str) -> Result<Arc<tokio::sync::Mutex<Peer>>, StepError> {
        self.peers
            .lock()
            .expect("lock")
            .get(name)
            .cloned()
            .ok_or_else(|| {
                StepError::Missing(format!(
                    "peer `{name}` has no connection (an earlier step failed)"
                ))
            })
    }

    pub fn add_peer(&self, peer: Peer) {
        self.note_peer_sockets(&peer);
        let name = peer.name.clone();
        let previous = self
            .peers
            .lock()
            .expect("lock")
            .insert(name.clone(), Arc::new(tokio::sync::Mutex::new(peer)));
        if let Some(old) = previous {
            // Its transcript is kept; its socket closes now, as before,
            // unless a concurrent step still holds it.
            let replaced = match old.try_lock() {
                Ok(peer) => ReplacedPeer::Ended {
                    name,
                    transcript: peer.render(),
                },
                Err(_) => ReplacedPeer::InUse(old.clone()),
            };
            self.replaced_peers.lock().expect("lock").push(replaced);
        }
    }

    pub fn add_proxy(&self, proxy: ProxyHandle, watch: ProxyWatch) {
        self.proxies.lock().expect("lock").push(proxy);
        self.proxy_watches.lock().expect("lock").push(watch);
    }

    /// Remembers the sockets a peer holds (after it connected, listened or
    /// accepted), so that bytes waiting in them keep the scenario unsettled.
    pub fn note_peer_sockets(&self, peer: &Peer) {
        let mut own = self.own_sockets.lock().expect("lock");
        for inode in peer.socket_inodes() {
            if !own.iter().any(|s| s.inode == inode) {
                own.push(OwnSocket {
                    what: format!("connection `{}`", peer.name),
                    inode,
                    closed: false,
                });
            }
        }
    }

    /// Marks sockets socklab closed (by inode, taken before the close).
    pub fn note_closed_sockets(&self, inodes: &[u64]) {
        let mut own = self.own_sockets.lock().expect("lock");
        for socket in own.iter_mut().filter(|s| inodes.contains(&s.inode)) {
            socket.closed = true;
        }
    }

    pub fn own_sockets(&self) -> Vec<OwnSocket> {
        self.own_sockets.lock().expect("lock").clone()
    }

    pub fn proxy_watches(&self) -> Vec<ProxyWatch> {
        self.proxy_watches.lock().expect("lock").clone()
    }

    /// Every program started so far, replaced ones included.
    pub fn all_programs(&self) -> Vec<Arc<Program>> {
        let mut all = self.retired.lock().expect("lock").clone();
        all.extend(self.programs.lock().expect("lock").values().cloned());
        all
    }

    /// Whether any program of the scenario, running or retired, runs
    /// inside socklab (a reference program `in_process`).
    pub fn has_in_process_program(&self) -> bool {
        self.retired
            .lock()
            .expect("lock")
            .iter()
            .any(|p| p.in_process())
            || (self.programs.lock().expect("lock").values()).any(|p| p.in_process())
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
    pub fn last_input_here(&self, path: &StepPath) -> Option<String> {
        let inputs = self.last_input.lock().expect("lock");
        path.enclosing_branches()
            .find_map(|branch| inputs.get(&branch).cloned())
    }

    pub fn step_started(&self, path: &StepPath, what: String) {
        self.in_flight
            .lock()
            .expect("lock")
            .insert(path.clone(), what);
    }

    pub fn step_finished(&self, path: &StepPath) {
        self.in_flight.lock().expect("lock").remove(path);
    }

    /// Which program `program` is and how it ended, if it did; with
    /// `details`, also what the kernel says it is doing and the tails of
    /// its output (for a check that is about to fail: reading them costs
    /// milliseconds).
    pub fn program_fact(&self, program: &Program, details: bool) -> ProgramFact {
        ProgramFact {
            name: program.name.clone(),
            label: program.label.clone(),
            origin: program.origin.clone(),
            exit: program.exit_info(),
            details: details.then(|| ProgramDetails {
                state: program.describe_state(self.sockets_of(program)),
                context: self.program_context(program),
            }),
        }
    }

    /// The kernel's view of the sockets of the host `program` runs on.
    fn sockets_of(&self, program: &Program) -> Option<&SockDiag> {
        self.sandbox
            .host(program.host.as_deref())
            .sock_diag()
            .map(|diag| diag.as_ref())
    }

    /// The state of a program plus the tail of its output, for failure messages.
    fn program_context(&self, program: &Program) -> String {
        let (out, _, _) = program.stdout.snapshot();
        let (err, _, _) = program.stderr.snapshot();
        let mut text = format!(
            "{} {}",
            program.label,
            program.describe_state(self.sockets_of(program))
        );
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

    /// What was going on when the scenario's timeout struck.
    pub fn describe_hang(&self) -> String {
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
    pub async fn finish(&self) -> Vec<socklab_report::Transcript> {
        // socklab's connections close before the programs are stopped, so
        // that a server killed with a connection open does not close first
        // and wait in TIME_WAIT on its port.
        let replaced: Vec<ReplacedPeer> = self
            .replaced_peers
            .lock()
            .expect("lock")
            .drain(..)
            .collect();
        let current: Vec<_> = self.peers.lock().expect("lock").values().cloned().collect();
        let hosts = self.sockets.all(&self.sandbox);
        let in_use = replaced.iter().filter_map(|peer| match peer {
            ReplacedPeer::InUse(peer) => Some(peer),
            ReplacedPeer::Ended { .. } => None,
        });
        for peer in in_use.chain(&current) {
            peer.lock().await.close(&hosts);
        }
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
                .wait_exit(&Until::deadline(Instant::now() + Duration::from_secs(2)))
                .await;
            transcripts.extend(program_transcripts(
                program,
                stopped_by_us.contains(&program.name),
            ));
        }
        // Every connection, the replaced ones first (they came first), each
        // numbered when several shared a name.
        let mut connections: Vec<(String, String)> = Vec::new();
        for peer in replaced {
            connections.push(match peer {
                ReplacedPeer::Ended { name, transcript } => (name, transcript),
                ReplacedPeer::InUse(peer) => {
                    let peer = peer.lock().await;
                    (peer.name.clone(), peer.render())
                }
            });
        }
        for peer in current {
            let peer = peer.lock().await;
            connections.push((peer.name.clone(), peer.render()));
        }
        transcripts.extend(connection_transcripts(connections));
        transcripts
    }
}

/// A connection a later one of the same name replaced.
enum ReplacedPeer {
    /// Its transcript, taken when it was replaced.
    Ended { name: String, transcript: String },
    /// Still held by a concurrent step when replaced: rendered at the end.
    InUse(Arc<tokio::sync::Mutex<Peer>>),
}

/// The transcripts of socklab's connections (name, transcript) in the
/// order they were made: "connection `a`", or "connection `a` (2 of 3)"
/// when several shared the name, so none hides another.
fn connection_transcripts(connections: Vec<(String, String)>) -> Vec<socklab_report::Transcript> {
    let mut total: BTreeMap<String, usize> = BTreeMap::new();
    for (name, _) in &connections {
        *total.entry(name.clone()).or_default() += 1;
    }
    // Grouped by name (in order of each name's first connection), numbered.
    let mut order: Vec<String> = Vec::new();
    for (name, _) in &connections {
        if !order.contains(name) {
            order.push(name.clone());
        }
    }
    let mut out = Vec::new();
    for name in order {
        let of = total[&name];
        let same = connections.iter().filter(|(n, _)| *n == name);
        for (number, (_, text)) in same.enumerate() {
            let label = if of == 1 {
                format!("connection `{name}`")
            } else {
                format!("connection `{name}` ({} of {of})", number + 1)
            };
            out.push(socklab_report::Transcript::of_text(label, text.clone()));
        }
    }
    out
}

/// The values of the named groups of a match (name, value), in order.
pub fn named_values(
    re: &regex::bytes::Regex,
    caps: &regex::bytes::Captures,
) -> Vec<(String, String)> {
    re.capture_names()
        .flatten()
        .filter_map(|name| {
            caps.name(name).map(|m| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(m.as_bytes()).into_owned(),
                )
            })
        })
        .collect()
}

/// A program's stdout, stderr and end, as the report shows them.
fn program_transcripts(program: &Program, stopped_by_us: bool) -> Vec<socklab_report::Transcript> {
    let mut transcripts = Vec::new();
    for (stream, buf) in [("stdout", &program.stdout), ("stderr", &program.stderr)] {
        let (data, _, dropped) = buf.snapshot();
        if data.is_empty() && dropped == 0 {
            continue;
        }
        transcripts.push(socklab_report::Transcript::of_bytes(
            format!("{} `{}` {stream}", program.label, program.name),
            &data,
            escape_bytes(&data),
            dropped,
        ));
    }
    // A program that had ended on its own just before the kill (its end not
    // yet collected) keeps its own exit status.
    let end = match program.exit_info() {
        Some(info) if info.signal == Some(libc::SIGKILL) && stopped_by_us => {
            "still running when the scenario ended; stopped by socklab".to_string()
        }
        Some(info) => info.describe(),
        None => "did not end".to_string(),
    };
    let mut text = format!("{end}\n");
    if let Some(t) = &program.transcript {
        text.push_str(&t.render());
    }
    transcripts.push(socklab_report::Transcript::of_text(
        format!("{} `{}` end", program.label, program.name),
        text,
    ));
    transcripts
}

impl Drop for ScenarioState<'_> {
    fn drop(&mut self) {
        self.sandbox.teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_sharing_a_name_are_all_shown_numbered() {
        let connections = vec![
            ("c".to_string(), "-- first\n".to_string()),
            ("d".to_string(), "-- other\n".to_string()),
            ("c".to_string(), "-- second\n".to_string()),
        ];
        let labels: Vec<(String, String)> = connection_transcripts(connections)
            .into_iter()
            .map(|t| (t.label, t.text))
            .collect();
        assert_eq!(
            labels,
            [
                (
                    "connection `c` (1 of 2)".to_string(),
                    "-- first\n".to_string()
                ),
                (
                    "connection `c` (2 of 2)".to_string(),
                    "-- second\n".to_string()
                ),
                ("connection `d`".to_string(), "-- other\n".to_string()),
            ]
        );
    }
}
