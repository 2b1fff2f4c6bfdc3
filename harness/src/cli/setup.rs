//! What the commands that run scenarios set up before they start: the
//! suite from the files given, the run's settings for this machine (probed
//! once), the async runtime and a working folder; and how a signal ends a
//! run (with [`super::interrupt`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use socklab_scenario::{
    Diagnostics, LabManifest, is_manifest, load_manifest_with, load_scenario_file, manifest_at,
    read_manifest_with,
};

use super::interrupt::Interrupts;
use crate::engine;
use crate::error::Error;
use crate::limits::ProcessLimits;
use crate::plan::{PortTurns, RunSettings, Suite};
use crate::sandbox::leftovers::{self, RunClaim};
use crate::sandbox::{self, IsolationRequest, userns::UserNamespace};

/// Loads files into a suite. A lab manifest (or a lab's folder holding
/// `lab.yaml`) brings its scenario files; scenario files run with the lab
/// `lab` names (`--lab`), else with the manifest among `files`, else with
/// the `lab.yaml` beside them, if any: its programs, build, options and
/// limits (and validation checks their program and option names).
/// `options` set course options of that manifest (`--option NAME=VALUE`),
/// which must have them.
pub fn load_suite(
    files: &[PathBuf],
    lab: Option<&Path>,
    options: &[(String, String)],
) -> Result<Suite, Error> {
    let overrides: BTreeMap<String, String> = options.iter().cloned().collect();
    let mut manifest = match lab {
        Some(lab) => Some(read_manifest_with(&lab_manifest(lab)?, &overrides)?),
        None => None,
    };
    let mut scenario_files = Vec::new();
    let mut problems = Diagnostics::default();
    for file in files {
        if let Some(path) = manifest_at(file) {
            if let Some(given) = &manifest
                && !same_file(&given.path, &path)
            {
                return Err(Error::usage(
                    format!(
                        "two labs given: `{}` and `{}`",
                        given.path.display(),
                        path.display()
                    ),
                    "a run has one lab: give its lab.yaml (the whole suite) or scenario files with `--lab`, not both",
                ));
            }
            match load_manifest_with(&path, &overrides) {
                Ok((m, fs)) => {
                    manifest = Some(m);
                    scenario_files.extend(fs);
                }
                Err(d) => problems.0.extend(d.0),
            }
            continue;
        }
        if file.is_dir() {
            return Err(Error::usage(
                format!("`{}` is a folder without a lab.yaml", file.display()),
                "give scenario .yaml files, a lab's lab.yaml, or the folder holding it",
            ));
        }
        if manifest.is_none() {
            let beside = file.parent().unwrap_or(Path::new(".")).join("lab.yaml");
            if is_manifest(&beside) {
                match read_manifest_with(&beside, &overrides) {
                    Ok(m) => manifest = Some(m),
                    Err(d) => problems.0.extend(d.0),
                }
            }
        }
        let context = manifest.as_ref().map(LabManifest::context);
        match load_scenario_file(file, context.as_ref()) {
            Ok(f) => scenario_files.push(f),
            Err(d) => problems.0.extend(d.0),
        }
    }
    if !problems.is_empty() {
        return Err(problems.into());
    }
    if !overrides.is_empty() && manifest.is_none() {
        return Err(Error::usage(
            "`--option` sets course options of a lab manifest, and none is loaded",
            "give the lab's lab.yaml (or `--lab` with the scenario files, or put them beside it)",
        ));
    }
    Ok(Suite::new(manifest, scenario_files))
}

/// The manifest a lab argument names (`lab.yaml`, or the folder holding
/// it), or a usage error saying what was given instead.
pub fn lab_manifest(lab: &Path) -> Result<PathBuf, Error> {
    if let Some(path) = manifest_at(lab) {
        return Ok(path);
    }
    let what = if lab.is_dir() {
        format!("`{}` is a folder without a lab.yaml", lab.display())
    } else if lab.exists() {
        format!(
            "`{}` is not a lab manifest (it has no top-level `lab:` key)",
            lab.display()
        )
    } else {
        format!("`{}` does not exist", lab.display())
    };
    Err(Error::usage(
        what,
        "give the lab's lab.yaml or the folder holding it, e.g. scenarios/lab3/lab.yaml or scenarios/lab3",
    ))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
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
        capture: true,
        keep_scenario_folders: true,
    })
}

/// Scenarios run at the same time when `-j` is not given: eight per core,
/// and no more than the memory available holds at the suite's memory limit
/// per scenario.
///
/// A scenario's programs are held to half a core (its cgroup's quota) and
/// spend most of their time waiting for each other and for socklab, so the
/// core count leaves the machine idle; two per core would keep it busy only
/// if every scenario computed all the time. Eight per core measured best on
/// two cores once the inits, working files and looks cost less (the
/// fixture class, default binary, in rounds of three: `-j 12` 50.6 and
/// 45.7 s, `-j 16` 44.4 and 42.9 s, `-j 20` 47.8 and 45.7 s;
/// `cargo bench -p socklab --bench class_speed`, `BENCH_JOBS`); more only
/// adds contention. Each scenario may use up to its memory limit,
/// so the memory available (`MemAvailable`) caps the count.
pub fn default_jobs(settings: &RunSettings) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let by_memory = settings
        .limits
        .as_ref()
        .map(|l| l.address_space)
        .filter(|per_scenario| *per_scenario > 0)
        .zip(memory_available())
        .map_or(usize::MAX, |(per_scenario, available)| {
            usize::try_from(available / per_scenario).unwrap_or(usize::MAX)
        });
    jobs_for(cores, by_memory)
}

/// The rule of [`default_jobs`], from the core count and the scenarios the
/// memory holds.
fn jobs_for(cores: usize, by_memory: usize) -> usize {
    cores.saturating_mul(JOBS_PER_CORE).min(by_memory).max(1)
}

/// Scenarios run at the same time per core by default ([`default_jobs`]).
const JOBS_PER_CORE: usize = 8;

/// The kernel's estimate of the memory available without swapping, in bytes.
fn memory_available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// What every command that runs scenarios sets up: SIGINT/SIGTERM
/// handling, the async runtime, the run settings for this machine, and a
/// working directory.
pub struct Session {
    runtime: Option<tokio::runtime::Runtime>,
    interrupts: Interrupts,
    pub settings: RunSettings,
    pub work: PathBuf,
    /// The tmpfs over the working directory, when it is in memory
    /// (unmounted before the directory is removed).
    _in_memory: Option<sandbox::workspace::InMemory>,
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
        // Still single-threaded, and in the user namespace pid namespaces
        // will be made from.
        if isolation != IsolationRequest::Loopback {
            sandbox::start_init_maker();
        }
        // Also before any thread: a mount namespace for socklab's working
        // files in memory, when socklab chooses where they go.
        let own_mounts = work_dir.is_none() && sandbox::workspace::own_mount_namespace();
        let interrupts = Interrupts::install()
            .map_err(|e| Error::internal("cannot handle SIGINT and SIGTERM", e))?;
        let runtime = tokio::runtime::Runtime::new()
            .map_err(|e| Error::internal("cannot start the async runtime", e))?;
        let mut settings = settings_for(suite, isolation, &userns)?;
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
        // In memory where each scenario's memory is bounded (what its
        // programs write counts towards it); each scenario's folder then
        // goes when the scenario ends.
        let memory_bounded =
            (settings.capabilities.cgroups.as_ref()).is_some_and(|c| c.has_memory());
        let in_memory = (own_mounts && memory_bounded)
            .then(|| sandbox::workspace::InMemory::mount(&work).ok())
            .flatten();
        settings.keep_scenario_folders = work_dir.is_some();
        Ok(Session {
            runtime: Some(runtime),
            interrupts,
            settings,
            work,
            _in_memory: in_memory,
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
        sandbox::stop_init_maker();
        sandbox::kill_adopted_orphans();
    }
}

/// The lab manifest for `socklab check`: the flag, or `lab:` in
/// `.socklab.yaml` (a path relative to that file); either may name the
/// lab's folder.
pub fn check_lab(flag: Option<PathBuf>) -> Result<PathBuf, Error> {
    if let Some(lab) = flag {
        return lab_manifest(&lab);
    }
    let config = Path::new(".socklab.yaml");
    let text = std::fs::read_to_string(config).map_err(|_| Error::Usage {
        message: "no lab given: use `--lab path/to/lab.yaml`, or write `lab: path/to/lab.yaml` in .socklab.yaml here".to_string(),
        help: None,
    })?;
    let lab = text
        .lines()
        .find_map(|l| l.strip_prefix("lab:"))
        .map(|v| PathBuf::from(v.trim().trim_matches('"')))
        .ok_or_else(|| {
            Error::usage(
                ".socklab.yaml:1:1: no `lab:` key",
                "write `lab: path/to/lab.yaml`",
            )
        })?;
    lab_manifest(&lab)
}

#[cfg(test)]
mod tests {
    use super::jobs_for;

    #[test]
    fn eight_scenarios_a_core_as_far_as_memory_holds_them() {
        assert_eq!(jobs_for(2, usize::MAX), 16);
        assert_eq!(jobs_for(16, 40), 40);
        assert_eq!(jobs_for(2, 3), 3, "memory for three scenarios");
        assert_eq!(jobs_for(2, 0), 1, "at least one");
    }
}
