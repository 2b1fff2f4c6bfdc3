//! What the commands that run scenarios set up before they start: the
//! suite from the files given, the run's settings for this machine (probed
//! once), the async runtime and a working folder; and how a signal ends a
//! run (with [`super::interrupt`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use socklab_scenario::{Diagnostics, is_manifest, load_manifest_with, load_scenario_file};

use super::interrupt::Interrupts;
use crate::engine;
use crate::error::Error;
use crate::limits::ProcessLimits;
use crate::plan::{PortTurns, RunSettings, Suite};
use crate::sandbox::leftovers::{self, RunClaim};
use crate::sandbox::{self, IsolationRequest, userns::UserNamespace};

/// Loads files into a suite: a manifest brings its scenario files; scenario
/// files use a `lab.yaml` beside them when there is one. `options` set
/// course options of the manifest (`--option NAME=VALUE`), which must have
/// them.
pub fn load_suite(files: &[PathBuf], options: &[(String, String)]) -> Result<Suite, Error> {
    let overrides: BTreeMap<String, String> = options.iter().cloned().collect();
    let suite = load_suite_with(files, &overrides)?;
    if !overrides.is_empty() && suite.manifest.is_none() {
        return Err(Error::usage(
            "`--option` sets course options of a lab manifest, and none is loaded",
            "give the lab's lab.yaml (or put the scenario files beside it)",
        ));
    }
    Ok(suite)
}

fn load_suite_with(
    files: &[PathBuf],
    overrides: &BTreeMap<String, String>,
) -> Result<Suite, Diagnostics> {
    let mut manifest = None;
    let mut scenario_files = Vec::new();
    let mut problems = Diagnostics::default();
    for file in files {
        if is_manifest(file) {
            match load_manifest_with(file, overrides) {
                Ok((m, fs)) => {
                    manifest = Some(m);
                    scenario_files.extend(fs);
                }
                Err(d) => problems.0.extend(d.0),
            }
            continue;
        }
        if manifest.is_none() {
            let beside = file.parent().unwrap_or(Path::new(".")).join("lab.yaml");
            if beside.is_file() && is_manifest(&beside) {
                match load_manifest_with(&beside, overrides) {
                    Ok((m, _)) => manifest = Some(m),
                    Err(d) => problems.0.extend(d.0),
                }
            }
        }
        let options = manifest
            .as_ref()
            .map(|m: &socklab_scenario::LabManifest| m.options.clone());
        match load_scenario_file(file, options.as_ref()) {
            Ok(f) => scenario_files.push(f),
            Err(d) => problems.0.extend(d.0),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Suite::new(manifest, scenario_files))
}

/// Settings for a run of `suite` on this machine: its isolation probed
/// (once, here), the lab's options, reference stand-ins and limits.
/// `userns` is what start-up did about a user namespace of socklab's own
/// (`UserNamespace::default()` when it did not try).
pub fn settings_for(
    suite: &Suite,
    isolation: IsolationRequest,
    userns: &UserNamespace,
) -> Result<RunSettings, Error> {
    let capabilities = sandbox::capabilities(isolation, userns);
    if isolation == IsolationRequest::Namespaces
        && capabilities.level != sandbox::IsolationLevel::Namespaces
    {
        return Err(Error::NoNamespaces(capabilities.notes.join("; ")));
    }
    let self_exe = std::env::current_exe()
        .map_err(|e| Error::internal("cannot find socklab's own executable", e))?;
    let (options, references, limits) = match &suite.manifest {
        Some(m) => (
            m.options.clone(),
            m.programs
                .iter()
                .filter_map(|(name, spec)| spec.reference.clone().map(|r| (name.clone(), r)))
                .collect(),
            m.limits.clone(),
        ),
        None => (
            BTreeMap::new(),
            BTreeMap::new(),
            socklab_scenario::Limits::default(),
        ),
    };
    Ok(RunSettings {
        self_exe,
        capabilities,
        output_limit: limits.output as usize,
        limits: Some(ProcessLimits::from_manifest(&limits)),
        options,
        references,
        port_turns: PortTurns::default(),
    })
}

/// Scenarios run at the same time when `-j` is not given.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

/// What every command that runs scenarios sets up: SIGINT/SIGTERM
/// handling, the async runtime, the run settings for this machine, and a
/// working directory.
pub struct Session {
    runtime: Option<tokio::runtime::Runtime>,
    interrupts: Interrupts,
    pub settings: RunSettings,
    pub work: PathBuf,
    /// Removes the working directory when socklab chose it.
    _temp: Option<tempfile::TempDir>,
    /// Says what this run made, should it be killed (dropped last: the
    /// working directory is gone by then).
    _claim: Option<RunClaim>,
}

/// How long the runtime's leftover tasks may take to stop when a command
/// ends (an interrupted one leaves some).
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(200);

impl Session {
    pub fn start(
        suite: &Suite,
        isolation: IsolationRequest,
        work_dir: Option<&Path>,
    ) -> Result<Session, Error> {
        // Before the runtime starts threads: the kernel lets only a
        // single-threaded process enter a user namespace.
        let userns = match isolation {
            IsolationRequest::Loopback => UserNamespace::default(),
            _ => sandbox::userns::enter_if_unprivileged(),
        };
        let interrupts = Interrupts::install()
            .map_err(|e| Error::internal("cannot handle SIGINT and SIGTERM", e))?;
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| Error::internal("cannot start the async runtime", e))?;
        let settings = settings_for(suite, isolation, &userns)?;
        // What killed runs left behind goes before this run makes anything.
        let claims = leftovers::claims_folder();
        let removed = leftovers::remove_leftovers(&claims, settings.capabilities.cgroups.as_ref());
        if !removed.is_empty() {
            eprintln!(
                "socklab: removed what killed socklab runs left behind: {}",
                removed.join(", ")
            );
        }
        // Without a claim the run works the same; only a kill would leave
        // its working folder and cgroups for good.
        let claim = leftovers::RunClaim::take(&claims).ok();
        let (work, _temp) = engine::work_dir(work_dir)
            .map_err(|e| Error::internal("cannot create a working directory", e))?;
        if let (Some(claim), Some(_)) = (&claim, &_temp) {
            claim
                .record_folder(&work)
                .map_err(|e| Error::internal("cannot record the working directory", e))?;
        }
        Ok(Session {
            runtime: Some(runtime),
            interrupts,
            settings,
            work,
            _temp,
            _claim: claim,
        })
    }

    /// Runs `work` on the runtime until it is done or SIGINT/SIGTERM comes;
    /// then every program it started has been stopped (its future was
    /// dropped) and the error says which signal, and `aftermath`.
    pub fn run_until_interrupted<T>(
        &self,
        work: impl std::future::Future<Output = T>,
        aftermath: &'static str,
    ) -> Result<T, Error> {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the runtime lives as long as the session");
        runtime.block_on(async {
            tokio::select! {
                done = work => Ok(done),
                signal = self.interrupts.interrupted() => Err(Error::Interrupted { signal, aftermath }),
            }
        })
    }
}

impl Drop for Session {
    /// Processes that escaped a scenario and were re-parented to socklab
    /// (the loopback fallback makes it their subreaper) end with the run;
    /// the runtime is not waited for beyond [`RUNTIME_SHUTDOWN`] (a
    /// blocking read a student's file started may still be under way).
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
        }
        sandbox::kill_adopted_orphans();
    }
}

/// The lab manifest for `socklab check`: the flag, or `lab:` in `.socklab.yaml`.
pub fn check_lab(flag: Option<PathBuf>) -> Result<PathBuf, Error> {
    if let Some(lab) = flag {
        return Ok(lab);
    }
    let config = Path::new(".socklab.yaml");
    let text = std::fs::read_to_string(config).map_err(|_| Error::Usage {
        message: "no lab given: use `--lab path/to/lab.yaml`, or write `lab: path/to/lab.yaml` in .socklab.yaml here".to_string(),
        help: None,
    })?;
    text.lines()
        .find_map(|l| l.strip_prefix("lab:"))
        .map(|v| PathBuf::from(v.trim().trim_matches('"')))
        .ok_or_else(|| {
            Error::usage(
                ".socklab.yaml:1:1: no `lab:` key",
                "write `lab: path/to/lab.yaml`",
            )
        })
}
