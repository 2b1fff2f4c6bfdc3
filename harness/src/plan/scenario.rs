//! A scenario's plan: everything decided before its first step runs.
//!
//! Whether it runs here at all (or is skipped, and why), the port number
//! behind each of its `ports:`, the program behind each `start` (the
//! student's executable, or a reference program and its leading
//! arguments), and every step with the path it runs under. The step loop
//! runs the plan's steps and the scorer lists the plan's checks, so the
//! two can never disagree on a path.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::OwnedMutexGuard;

use socklab_reference::net::ServerPorts;
use socklab_scenario::path::{StepPath, StepTree, walk};
use socklab_scenario::{Action, Origin, PortSpec, Scenario, Step};

use super::{Availability, RunSettings, Submission};
use crate::sandbox::IsolationLevel;

/// First port given to `auto` ports inside a scenario's own namespace.
const NAMESPACE_PORT_BASE: u16 = 20000;

/// One scenario, planned.
pub struct ScenarioPlan<'a> {
    pub scenario: &'a Scenario,
    /// Every step as it will run, with its path.
    pub steps: Vec<StepTree<'a>>,
    pub disposition: Disposition,
}

/// Whether a scenario runs here.
pub enum Disposition {
    Run(RunPlan),
    /// Not run, with the reason the report gives.
    Skip(String),
    /// socklab cannot run it as it should (with why): an error of socklab's,
    /// never a verdict on the submission.
    Error(String),
}

/// What a scenario that runs needs resolved.
pub struct RunPlan {
    /// Port number of each name in `ports:`.
    pub ports: BTreeMap<String, u16>,
    /// The program behind each `start` step, by the step's path.
    pub programs: BTreeMap<StepPath, ProgramPlan>,
    /// The fixed port each start of a student's server listens on (a
    /// later `wait_listen` says which), by the start step's path: before
    /// such a start, no socket may hold the port, or the server's `bind()`
    /// would fail for a reason that is not the student's.
    pub server_ports: BTreeMap<StepPath, u16>,
    /// Turns on the fixed ports this scenario needs, held while it runs
    /// (without namespaces, scenarios that need the same port take turns).
    _turns: Vec<OwnedMutexGuard<()>>,
}

/// The program a `start` step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramPlan {
    /// The student's executable.
    Submission { name: String, exe: PathBuf },
    /// A reference program, with the leading arguments of the lab's
    /// reference command for that program.
    Reference {
        name: String,
        program: socklab_reference::Program,
        leading: Vec<String>,
    },
    /// The submission has no runnable program of that name (with why): the
    /// step fails.
    Unavailable { name: String, why: String },
    /// What to run could not be worked out (a placeholder without a value,
    /// an unknown reference program): socklab's error, not the student's.
    Unresolved(String),
}

impl<'a> ScenarioPlan<'a> {
    /// Plans `scenario` for `submission` on this machine. Fixed ports are
    /// waited for here when scenarios must take turns on them.
    pub async fn new(
        scenario: &'a Scenario,
        settings: &RunSettings,
        submission: &Submission,
    ) -> ScenarioPlan<'a> {
        let steps = StepTree::of(&scenario.steps);
        let disposition = match skip_reason(scenario, settings) {
            Some(reason) => Disposition::Skip(reason),
            None => plan_run(scenario, settings, submission).await,
        };
        ScenarioPlan {
            scenario,
            steps,
            disposition,
        }
    }

    /// The scored checks the scenario would run if nothing failed, with
    /// their paths, in order.
    pub fn scored_checks(&self) -> Vec<(&StepPath, &'a Step)> {
        self.steps
            .iter()
            .flat_map(StepTree::flatten)
            .filter(|(_, step)| step.action.is_check() && !step.meta.observe)
            .collect()
    }
}

async fn plan_run(
    scenario: &Scenario,
    settings: &RunSettings,
    submission: &Submission,
) -> Disposition {
    let level = settings.capabilities.level;
    let turns = if level == IsolationLevel::Loopback {
        settings.port_turns.take(scenario.fixed_ports()).await
    } else {
        Vec::new()
    };
    let ports = match assign_ports(scenario, level) {
        Ok(p) => p,
        Err(e) => return Disposition::Skip(format!("no free port: {e}")),
    };
    let programs: BTreeMap<StepPath, ProgramPlan> = walk(&scenario.steps)
        .into_iter()
        .filter_map(|(path, step)| match &step.action {
            Action::Start(spec) => Some((path, spec)),
            _ => None,
        })
        .map(|(path, spec)| {
            let program = program_plan(scenario, settings, submission, &ports, spec);
            (path, program)
        })
        .collect();
    let server_ports = server_ports(scenario, &programs);
    if level == IsolationLevel::Loopback
        && let Err(why) = ports_clear(server_ports.values().copied()).await
    {
        return Disposition::Error(why);
    }
    Disposition::Run(RunPlan {
        ports,
        programs,
        server_ports,
        _turns: turns,
    })
}

/// The fixed port (from `ports:`) each student server start listens on:
/// the port of the first `wait_listen` on that program after its start.
fn server_ports(
    scenario: &Scenario,
    programs: &BTreeMap<StepPath, ProgramPlan>,
) -> BTreeMap<StepPath, u16> {
    let mut started: BTreeMap<&str, StepPath> = BTreeMap::new();
    let mut found = BTreeMap::new();
    for (path, step) in walk(&scenario.steps) {
        match &step.action {
            Action::Start(spec) => {
                started.insert(spec.name.as_str(), path);
            }
            Action::WaitListen { program, port } => {
                let Some(start) = started.remove(program.as_str()) else {
                    continue;
                };
                let fixed = port.placeholders().next().and_then(|(namespace, name)| {
                    (namespace == "ports" && port.placeholders().count() == 1)
                        .then(|| scenario.ports.get(name).and_then(PortSpec::number))
                        .flatten()
                });
                if let (Some(number), Some(ProgramPlan::Submission { .. })) =
                    (fixed, programs.get(&start))
                {
                    found.insert(start, number);
                }
            }
            _ => {}
        }
    }
    found
}

/// How long a port may stay held before a scenario that needs it is given
/// up: a connection's TIME_WAIT lasts 60 s on Linux.
const PORT_CLEAR_DEADLINE: std::time::Duration = std::time::Duration::from_secs(65);

/// Without namespaces every scenario shares one network: a port an
/// earlier scenario used may still be held (TIME_WAIT after a close, a
/// stray process). Waits until no socket holds any of `ports`; a port that
/// never clears is socklab's problem, not the student's.
async fn ports_clear(ports: impl Iterator<Item = u16>) -> Result<(), String> {
    let ports: Vec<u16> = ports.collect();
    if ports.is_empty() {
        return Ok(());
    }
    let diag = crate::kernel::SockDiag::current()
        .map_err(|e| format!("cannot look at this machine's sockets (sock_diag): {e}"))?;
    let deadline = tokio::time::Instant::now() + PORT_CLEAR_DEADLINE;
    for port in ports {
        loop {
            let holders = diag
                .holding_port(port)
                .map_err(|e| format!("cannot look at this machine's sockets (sock_diag): {e}"))?;
            if holders.is_empty() {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "port {port}, which a student's server must listen on, was still held after {}s: {} (socklab runs without network namespaces here, so scenarios share the machine's ports; stop what holds it, or run as root for namespaces)",
                    PORT_CLEAR_DEADLINE.as_secs(),
                    crate::run::sockets::describe_holders(&holders)
                ));
            }
            // TIME_WAIT sockets do not announce their end: look again shortly.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// What a `start` runs: its program name filled in (with the course
/// options, the matrix and the ports), then looked up in the submission or
/// among the reference programs.
fn program_plan(
    scenario: &Scenario,
    settings: &RunSettings,
    submission: &Submission,
    ports: &BTreeMap<String, u16>,
    spec: &socklab_scenario::StartSpec,
) -> ProgramPlan {
    let name = spec.program.render(&|namespace, key, _| match namespace {
        "options" => settings.options.get(key).cloned(),
        "matrix" => scenario.matrix.get(key).cloned(),
        "ports" => ports.get(key).map(u16::to_string),
        _ => None,
    });
    let name = match name {
        Ok(name) => name,
        Err(e) => {
            return ProgramPlan::Unresolved(format!("cannot fill in `{}`: {e}", spec.program));
        }
    };
    match spec.origin {
        Origin::Submission => match submission.program(&name) {
            Availability::Ready(exe) => ProgramPlan::Submission { name, exe },
            Availability::Missing(why) | Availability::BuildFailed(why) => {
                ProgramPlan::Unavailable { name, why }
            }
        },
        Origin::Reference => match settings.reference_for(&name) {
            Ok((program, leading)) => ProgramPlan::Reference {
                name,
                program,
                leading,
            },
            Err(why) => ProgramPlan::Unresolved(why.to_string()),
        },
        Origin::Templated(_) => ProgramPlan::Unresolved("unresolved `from:` template".into()),
    }
}

/// Whether this machine can run the scenario, and if not, why.
pub fn skip_reason(scenario: &Scenario, settings: &RunSettings) -> Option<String> {
    let capabilities = &settings.capabilities;
    if scenario.needs_separate_hosts() && !capabilities.multi_host {
        return Some(format!(
            "needs {} hosts with their own addresses, which this machine cannot provide ({})",
            scenario.hosts.len(),
            capabilities
                .why_single_host
                .as_deref()
                .unwrap_or("no network namespaces")
        ));
    }
    if capabilities.level == IsolationLevel::Loopback
        && !capabilities.really_root
        && let Some(port) = scenario.fixed_ports().into_iter().find(|p| *p < 1024)
    {
        return Some(format!(
            "needs port {port}, which only root may use without network namespaces"
        ));
    }
    None
}

/// Concrete port numbers for a scenario's `ports:`.
pub fn assign_ports(
    scenario: &Scenario,
    level: IsolationLevel,
) -> std::io::Result<BTreeMap<String, u16>> {
    let mut ports = BTreeMap::new();
    let taken: Vec<u16> = scenario
        .ports
        .values()
        .filter_map(PortSpec::number)
        .collect();
    let mut next = NAMESPACE_PORT_BASE;
    for (name, spec) in &scenario.ports {
        let number = match (spec.number(), level) {
            (Some(n), _) => n,
            (None, IsolationLevel::Namespaces) => {
                while taken.contains(&next) {
                    next += 1;
                }
                next += 1;
                next - 1
            }
            (None, IsolationLevel::Loopback) => loopback_port(&taken)?,
        };
        ports.insert(name.clone(), number);
    }
    Ok(ports)
}

/// `auto` ports on the shared loopback, for the whole run: from 21000
/// (above the fixed ports scenarios name, such as Lab 3's 20000-20002) up
/// to the kernel's ephemeral range, never given twice
/// ([`ServerPorts`]: the kernel's own choice, `bind(0)`, could go to a
/// client of a scenario running alongside before the student's server
/// bound it, or to two scenarios).
static LOOPBACK_PORTS: ServerPorts = ServerPorts::starting_at(LOOPBACK_PORT_BASE, 0);
const LOOPBACK_PORT_BASE: u16 = 21000;

/// A port for an `auto` port on the shared loopback, not one of `taken`
/// (the scenario's fixed ports); the kernel chooses where the ephemeral
/// range leaves no room below it.
fn loopback_port(taken: &[u16]) -> std::io::Result<u16> {
    if let Some(port) = LOOPBACK_PORTS.next(taken) {
        return Ok(port);
    }
    let listener = std::net::TcpListener::bind("0.0.0.0:0")?;
    Ok(listener.local_addr()?.port())
}

/// Turns on fixed ports: without network namespaces, scenarios that need
/// the same port number run one after another. One value per socklab run,
/// shared by every scenario of every submission it grades.
#[derive(Clone, Default)]
pub struct PortTurns {
    locks: Arc<Mutex<HashMap<u16, Arc<tokio::sync::Mutex<()>>>>>,
}

impl PortTurns {
    /// Waits for the turn on each of `ports` (in increasing order, so that
    /// two scenarios never wait for each other); held until dropped.
    pub async fn take(&self, mut ports: Vec<u16>) -> Vec<OwnedMutexGuard<()>> {
        ports.sort_unstable();
        ports.dedup();
        let mut turns = Vec::new();
        for port in ports {
            let lock = self
                .locks
                .lock()
                .expect("port turns")
                .entry(port)
                .or_default()
                .clone();
            turns.push(lock.lock_owned().await);
        }
        turns
    }
}

impl std::fmt::Debug for PortTurns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PortTurns")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sandbox::Capabilities;

    fn settings(level: IsolationLevel, really_root: bool) -> RunSettings {
        RunSettings {
            self_exe: PathBuf::from("/usr/bin/socklab"),
            capabilities: Capabilities {
                level,
                multi_host: level == IsolationLevel::Namespaces,
                cgroups: None,
                identities: None,
                why_single_host: None,
                really_root,
                notes: Vec::new(),
            },
            limits: None,
            output_limit: 1 << 20,
            options: BTreeMap::new(),
            references: BTreeMap::new(),
            port_turns: PortTurns::default(),
            capture: true,
            keep_scenario_folders: true,
        }
    }

    fn scenario(yaml: &str) -> Scenario {
        let file =
            socklab_scenario::parse_scenario_file(std::path::Path::new("t.yaml"), yaml, None)
                .unwrap_or_else(|d| panic!("{d}"));
        file.scenarios.into_iter().next().unwrap()
    }

    const SERVER_AND_PEER: &str = r#"
scenarios:
  - name: plan
    ports: { p: 13, q: auto }
    steps:
      - start: srv
        program: daytime-server
        from: reference
        args: ["{{ports.p}}"]
      - repeat: 2
        steps:
          - start: cli
            program: daytimetcpcli
            args: ["127.0.0.1", "{{ports.p}}"]
          - exit: cli
            code: 0
      - connect: c
        to: "127.0.0.1:{{ports.p}}"
        observe: true
"#;

    /// On the shared loopback, `auto` ports are never given twice in a
    /// run, skip a port something listens on and the scenario's fixed
    /// ports, and stay below the kernel's ephemeral range.
    #[test]
    fn loopback_ports_are_fresh_free_and_outside_the_ephemeral_range() {
        let below: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|r| r.split_whitespace().next()?.parse().ok())
            .unwrap_or(32_768);
        if below <= u32::from(LOOPBACK_PORT_BASE) + 1_000 {
            eprintln!("no room below the ephemeral range here: the kernel chooses");
            return;
        }
        let first = loopback_port(&[]).unwrap();
        // Something listens on the next one, and the one after is a fixed
        // port of the scenario: both are passed over.
        let occupied = std::net::TcpListener::bind(("0.0.0.0", first + 1));
        let mut given = vec![first];
        for _ in 0..50 {
            given.push(loopback_port(&[first + 2]).unwrap());
        }
        let mut unique = given.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), given.len(), "a port given twice: {given:?}");
        assert!(
            given
                .iter()
                .all(|p| *p >= LOOPBACK_PORT_BASE && u32::from(*p) < below)
        );
        if occupied.is_ok() {
            assert!(!given.contains(&(first + 1)), "{given:?}");
        }
        assert!(!given[1..].contains(&(first + 2)), "{given:?}");
    }

    #[tokio::test]
    async fn the_plan_resolves_ports_programs_and_paths_before_anything_runs() {
        let scenario = scenario(SERVER_AND_PEER);
        let submission =
            crate::build::prebuilt("s", std::env::temp_dir().join("no-such-submission"));
        let settings = settings(IsolationLevel::Namespaces, true);
        let plan = ScenarioPlan::new(&scenario, &settings, &submission).await;
        let Disposition::Run(run) = &plan.disposition else {
            panic!("skipped");
        };
        assert_eq!(run.ports["p"], 13);
        assert_eq!(run.ports["q"], NAMESPACE_PORT_BASE);
        let programs: Vec<(String, &ProgramPlan)> = run
            .programs
            .iter()
            .map(|(path, program)| (path.to_string(), program))
            .collect();
        assert_eq!(programs.len(), 3);
        assert_eq!(programs[0].0, "1");
        assert!(matches!(
            programs[0].1,
            ProgramPlan::Reference { program, .. } if program.name() == "daytime-server"
        ));
        assert_eq!(programs[1].0, "2.1.1");
        assert_eq!(programs[2].0, "2.2.1");
        assert!(matches!(
            programs[2].1,
            ProgramPlan::Unavailable { name, why } if name == "daytimetcpcli" && why.contains("no executable")
        ));
        let checks: Vec<String> = plan
            .scored_checks()
            .iter()
            .map(|(path, _)| path.to_string())
            .collect();
        assert_eq!(
            checks,
            ["2.1.2", "2.2.2"],
            "observe-only and set-up steps are not scored"
        );
    }

    #[tokio::test]
    async fn low_fixed_ports_are_skipped_on_a_shared_loopback_without_root() {
        let scenario = scenario(SERVER_AND_PEER);
        let submission = crate::build::prebuilt("s", std::env::temp_dir());
        let unprivileged = settings(IsolationLevel::Loopback, false);
        let plan = ScenarioPlan::new(&scenario, &unprivileged, &submission).await;
        assert!(matches!(
            &plan.disposition,
            Disposition::Skip(why) if why == "needs port 13, which only root may use without network namespaces"
        ));
        let root = settings(IsolationLevel::Loopback, true);
        let plan = ScenarioPlan::new(&scenario, &root, &submission).await;
        assert!(matches!(plan.disposition, Disposition::Run(_)));
    }

    #[tokio::test]
    async fn scenarios_on_the_same_port_take_turns() {
        let turns = PortTurns::default();
        let first = turns.take(vec![13, 9877]).await;
        let other_port = tokio::time::timeout(Duration::from_secs(1), turns.take(vec![9000])).await;
        assert!(other_port.is_ok(), "another port is free");
        let same = tokio::time::timeout(Duration::from_millis(50), turns.take(vec![9877])).await;
        assert!(same.is_err(), "the same port waits");
        drop(first);
        let same = tokio::time::timeout(Duration::from_secs(1), turns.take(vec![9877])).await;
        assert!(same.is_ok(), "its turn comes when the first is done");
    }
}
