//! A process limit per scenario with the kernel's `pids` cgroup controller.
//!
//! `RLIMIT_NPROC` counts every process of a user, so parallel scenarios run
//! under one uid would share it; a cgroup counts exactly one scenario's
//! processes. Each scenario gets its own cgroup with `pids.max`; programs
//! join it between fork and exec (writing "0" to `cgroup.procs`), so a fork
//! bomb hits the limit (fork fails with EAGAIN) without touching anything
//! else. Works with cgroup v2 (unified, `pids` delegated) and cgroup v1 (a
//! `pids` hierarchy). `pids.events` tells how often the limit was hit.
//!
//! Where the `cpu` controller is available too, a scenario also gets a CPU
//! quota (half a core), so a contained fork bomb spinning on EAGAIN cannot
//! starve other scenarios and submissions graded at the same time. A
//! scenario whose programs have used the manifest's `slow_down_after` CPU
//! time (250 ms by default: three times what the largest correct Lab 3
//! scenario uses) is cut to a twentieth of a core for the rest of its run,
//! so a program spinning until its deadline costs the others little: in a
//! class, three such students (a fork bomb, two spinning loops) took 43% of
//! all the CPU time before. Correct programs never get near it, and it is
//! counted in CPU time, not wall time, so a
//! loaded machine changes only when a hog is slowed, never whom
//! ([`watch_hogs`]; on cgroup v1 the scenario also joins a `cpuacct`
//! cgroup, where that is a hierarchy of its own, to be measured).
//!
//! Where the `memory` controller is available, the scenario's programs
//! together get the manifest's memory limit (no swap); a program that goes
//! beyond it is killed by the kernel and the kill is counted
//! (`oom_kill`), so the report can say "memory limit" rather than a bare
//! SIGKILL. Elsewhere `RLIMIT_AS` limits each program instead.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// Where this machine lets socklab make pids cgroups, if anywhere.
#[derive(Debug, Clone)]
pub struct CgroupRoot {
    base: PathBuf,
    /// cgroup v1 only: the `cpu` hierarchy's socklab directory.
    cpu_base: Option<PathBuf>,
    /// cgroup v1 only, where `cpuacct` is a hierarchy apart from `cpu`:
    /// its socklab directory (how much CPU time a scenario used).
    cpuacct_base: Option<PathBuf>,
    /// cgroup v1: the `memory` hierarchy's socklab directory; v2: the base
    /// itself, when the memory controller is enabled there.
    memory_base: Option<PathBuf>,
    pub version: u8,
    /// The run's id (`leftovers::run_id`): its cgroups are `sID-N`, so
    /// the next socklab can tell whose they are if this one is killed.
    run: String,
    /// The `cgroup.procs` of the cgroup socklab is in, which keeps joins
    /// fast while scenarios live ([`super::warmth`]); `None` where the
    /// hierarchy needs no help or the file is not found.
    own_procs: Option<PathBuf>,
}

/// CPU quota per scenario: this many microseconds per 100 ms period.
const CPU_QUOTA_US: u64 = 50_000;
const CPU_PERIOD_US: u64 = 100_000;
/// The quota of a scenario whose programs were found hogging the CPU.
const HOG_QUOTA_US: u64 = 5_000;

impl CgroupRoot {
    /// Finds a pids hierarchy socklab may write to.
    pub fn probe() -> Result<CgroupRoot, String> {
        let unified = Path::new("/sys/fs/cgroup");
        let controllers =
            std::fs::read_to_string(unified.join("cgroup.controllers")).unwrap_or_default();
        let candidates = if controllers.split_whitespace().any(|c| c == "pids") {
            // cgroup v2: pids must be enabled for our subtree.
            let _ = std::fs::write(unified.join("cgroup.subtree_control"), "+pids +cpu +memory");
            vec![(unified.join("socklab"), 2)]
        } else {
            vec![(unified.join("pids/socklab"), 1)]
        };
        for (base, version) in candidates {
            if std::fs::create_dir_all(&base).is_err() {
                continue;
            }
            if version == 2 {
                let _ = std::fs::write(base.join("cgroup.subtree_control"), "+pids +cpu +memory");
            }
            let cpu_base = (version == 1)
                .then(|| unified.join("cpu/socklab"))
                .filter(|dir| std::fs::create_dir_all(dir).is_ok());
            let cpuacct_base = cpu_base
                .as_ref()
                .filter(|cpu| !cpu.join("cpuacct.usage").exists())
                .map(|_| unified.join("cpuacct/socklab"))
                .filter(|dir| std::fs::create_dir_all(dir).is_ok());
            let memory_base = match version {
                1 => Some(unified.join("memory/socklab"))
                    .filter(|dir| std::fs::create_dir_all(dir).is_ok()),
                _ => std::fs::read_to_string(base.join("cgroup.subtree_control"))
                    .ok()
                    .filter(|c| c.split_whitespace().any(|c| c == "memory"))
                    .map(|_| base.clone()),
            };
            let own_procs = base
                .parent()
                .and_then(|hierarchy| super::warmth::own_procs_file(hierarchy, version));
            let root = CgroupRoot {
                base,
                cpu_base,
                cpuacct_base,
                memory_base,
                version,
                run: super::leftovers::run_id(),
                own_procs,
            };
            match ProcessLimit::create(&root, 8, None, Some(std::time::Duration::ZERO)) {
                Ok(probe) => {
                    drop(probe);
                    return Ok(root);
                }
                Err(e) => return Err(format!("cannot configure a pids cgroup: {e}")),
            }
        }
        Err(
            "no writable pids cgroup controller (needs root, or cgroup v2 delegation with pids)"
                .into(),
        )
    }
}

impl CgroupRoot {
    /// Whether scenarios also get a CPU quota.
    pub fn has_cpu_quota(&self) -> bool {
        self.cpu_base.is_some() || self.version == 2
    }

    /// Whether scenarios can get a memory limit of their own.
    pub fn has_memory(&self) -> bool {
        self.memory_base.is_some()
    }

    /// Removes the scenario cgroups whose names `pick` chooses, in every
    /// hierarchy socklab uses, killing what is left in them first; returns
    /// how many were removed (a cgroup whose processes are not gone yet is
    /// left for the next start-up).
    pub fn remove_where(&self, pick: impl Fn(&str) -> bool) -> usize {
        let bases = [
            Some(&self.base),
            self.cpu_base.as_ref(),
            self.cpuacct_base.as_ref(),
            self.memory_base.as_ref(),
        ];
        let mut seen = std::collections::BTreeSet::new();
        let mut removed = 0;
        for base in bases.into_iter().flatten() {
            if !seen.insert(base.clone()) {
                continue;
            }
            let Ok(entries) = std::fs::read_dir(base) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if !pick(name) || !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let dir = entry.path();
                for pid in members(&dir) {
                    // SAFETY: signalling a process left in a dead run's cgroup.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
                if std::fs::remove_dir(&dir).is_ok() {
                    removed += 1;
                }
            }
        }
        removed
    }
}

/// The processes in the cgroup folder `dir`.
fn members(dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// One scenario's cgroup.
pub struct ProcessLimit {
    dir: PathBuf,
    procs: OwnedFd,
    /// cgroup v1: the scenario's directory in the cpu hierarchy, and its procs file.
    cpu: Option<(PathBuf, OwnedFd)>,
    /// cgroup v1, where `cpuacct` is a hierarchy of its own: the scenario's
    /// directory there, and its procs file.
    cpuacct: Option<(PathBuf, OwnedFd)>,
    /// Its CPU quota and where its CPU time is read, when it has a quota
    /// (what the hog watcher looks at).
    quota: Option<Arc<Quota>>,
    /// The memory limit in force: the directory holding its files, the
    /// procs file to join (v1 only), and the limit in bytes.
    memory: Option<(PathBuf, Option<OwnedFd>, u64)>,
    pub max: u64,
    /// Keeps joins fast while the cgroup lives ([`super::warmth`]).
    _warmth: Option<super::warmth::Warmth>,
}

impl ProcessLimit {
    /// A cgroup allowing `max` processes and, where the controllers are
    /// available, `memory` bytes for all of them together and, with
    /// `cpu_quota` (a scenario's programs), half a core until they have used
    /// that much CPU time, a twentieth after. A build, which runs only
    /// trusted tools on the student's files under its own deadline and
    /// CPU-time limit, goes without it.
    pub fn create(
        root: &CgroupRoot,
        max: u64,
        memory: Option<u64>,
        cpu_quota: Option<std::time::Duration>,
    ) -> io::Result<ProcessLimit> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = root.base.join(format!(
            "s{}-{}",
            root.run,
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("pids.max"), max.to_string())?;
        let open_procs = |dir: &Path| -> io::Result<OwnedFd> {
            Ok(std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))?
                .into())
        };
        let procs = open_procs(&dir)?;
        // The CPU quota is best effort: without a cpu controller, only pids.
        let cpu = match (&root.cpu_base, root.version) {
            _ if cpu_quota.is_none() => None,
            (Some(base), 1) => {
                let cpu_dir = base.join(dir.file_name().expect("named"));
                std::fs::create_dir_all(&cpu_dir)
                    .and_then(|_| {
                        std::fs::write(cpu_dir.join("cpu.cfs_period_us"), CPU_PERIOD_US.to_string())
                    })
                    .and_then(|_| {
                        std::fs::write(cpu_dir.join("cpu.cfs_quota_us"), CPU_QUOTA_US.to_string())
                    })
                    .and_then(|_| open_procs(&cpu_dir))
                    .ok()
                    .map(|fd| (cpu_dir, fd))
            }
            _ => {
                let _ = std::fs::write(
                    dir.join("cpu.max"),
                    format!("{CPU_QUOTA_US} {CPU_PERIOD_US}"),
                );
                None
            }
        };
        let cpuacct = match (&cpu, &root.cpuacct_base) {
            (Some(_), Some(base)) => {
                let acct_dir = base.join(dir.file_name().expect("named"));
                std::fs::create_dir_all(&acct_dir)
                    .and_then(|_| open_procs(&acct_dir))
                    .ok()
                    .map(|fd| (acct_dir, fd))
            }
            _ => None,
        };
        let quota = match (cpu_quota, &cpu, &cpuacct, root.version) {
            (Some(after), Some((cpu_dir, _)), Some((acct_dir, _)), 1) => {
                Some(Quota::new(cpu_dir.clone(), acct_dir.clone(), 1, after))
            }
            (Some(after), Some((cpu_dir, _)), None, 1)
                if cpu_dir.join("cpuacct.usage").exists() =>
            {
                Some(Quota::new(cpu_dir.clone(), cpu_dir.clone(), 1, after))
            }
            (Some(after), None, _, 2) if dir.join("cpu.max").exists() => {
                Some(Quota::new(dir.clone(), dir.clone(), 2, after))
            }
            _ => None,
        };
        if let Some(quota) = &quota {
            watch_hogs(quota);
        }
        // Best effort too: without it, RLIMIT_AS limits each program.
        let memory = match (&root.memory_base, memory) {
            (Some(base), Some(bytes)) if root.version == 1 => {
                let mem_dir = base.join(dir.file_name().expect("named"));
                std::fs::create_dir_all(&mem_dir)
                    .and_then(|_| {
                        std::fs::write(mem_dir.join("memory.limit_in_bytes"), bytes.to_string())
                    })
                    .and_then(|_| {
                        // No swap either, where swap accounting exists.
                        let memsw = mem_dir.join("memory.memsw.limit_in_bytes");
                        if memsw.exists() {
                            std::fs::write(memsw, bytes.to_string())?;
                        }
                        open_procs(&mem_dir)
                    })
                    .ok()
                    .map(|fd| (mem_dir, Some(fd), bytes))
            }
            (Some(_), Some(bytes)) => std::fs::write(dir.join("memory.max"), bytes.to_string())
                .ok()
                .map(|_| {
                    let _ = std::fs::write(dir.join("memory.swap.max"), "0");
                    (dir.clone(), None, bytes)
                }),
            _ => None,
        };
        let warmth = root
            .own_procs
            .as_deref()
            .and_then(super::warmth::warmer_for)
            .map(|warmer| warmer.hold());
        Ok(ProcessLimit {
            dir,
            procs,
            cpu,
            cpuacct,
            quota,
            memory,
            max,
            _warmth: warmth,
        })
    }

    /// The descriptors a child writes "0" to, to join (async-signal-safe).
    pub fn procs_fds(&self) -> [Option<RawFd>; 4] {
        [
            Some(self.procs.as_raw_fd()),
            self.cpu.as_ref().map(|(_, fd)| fd.as_raw_fd()),
            self.cpuacct.as_ref().map(|(_, fd)| fd.as_raw_fd()),
            self.memory
                .as_ref()
                .and_then(|(_, fd, _)| fd.as_ref())
                .map(|fd| fd.as_raw_fd()),
        ]
    }

    /// The memory limit in bytes, when the cgroup enforces one.
    pub fn memory_limit(&self) -> Option<u64> {
        self.memory.as_ref().map(|(_, _, bytes)| *bytes)
    }

    /// How many programs the kernel killed for going over the memory limit.
    pub fn oom_kills(&self) -> u64 {
        let Some((dir, _, _)) = &self.memory else {
            return 0;
        };
        let file = if self.memory.as_ref().is_some_and(|(_, fd, _)| fd.is_some()) {
            "memory.oom_control"
        } else {
            "memory.events"
        };
        std::fs::read_to_string(dir.join(file))
            .ok()
            .and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("oom_kill ")
                        .and_then(|n| n.trim().parse().ok())
                })
            })
            .unwrap_or(0)
    }

    /// When its programs used their CPU time at full quota and were slowed
    /// down to a twentieth of a core: that CPU time.
    pub fn slowed_down(&self) -> Option<std::time::Duration> {
        self.quota
            .as_ref()
            .filter(|q| q.slowed.load(Ordering::Relaxed))
            .map(|q| q.slow_down_after)
    }

    /// How many forks the limit refused.
    pub fn refused_forks(&self) -> u64 {
        std::fs::read_to_string(self.dir.join("pids.events"))
            .ok()
            .and_then(|t| {
                t.lines()
                    .find_map(|l| l.strip_prefix("max ").and_then(|n| n.trim().parse().ok()))
            })
            .unwrap_or(0)
    }

    fn members(&self) -> Vec<i32> {
        members(&self.dir)
    }

    /// Kills every process in the cgroup (cgroup.kill where the kernel has it).
    pub fn kill_all(&self) {
        if std::fs::write(self.dir.join("cgroup.kill"), "1").is_ok() {
            return;
        }
        for _ in 0..5 {
            let members = self.members();
            if members.is_empty() {
                return;
            }
            for pid in members {
                // SAFETY: signalling a process of this scenario's cgroup.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
}

/// A scenario cgroup's CPU quota, as the hog watcher sees it.
struct Quota {
    /// The folder with `cpu.cfs_quota_us` (v1) or `cpu.max` (v2).
    dir: PathBuf,
    /// The folder with `cpuacct.usage` (v1) or `cpu.stat` (v2).
    usage_dir: PathBuf,
    version: u8,
    /// The CPU time after which the quota is cut.
    slow_down_after: std::time::Duration,
    slowed: AtomicBool,
}

impl Quota {
    fn new(
        dir: PathBuf,
        usage_dir: PathBuf,
        version: u8,
        slow_down_after: std::time::Duration,
    ) -> Arc<Quota> {
        Arc::new(Quota {
            dir,
            usage_dir,
            version,
            slow_down_after,
            slowed: AtomicBool::new(false),
        })
    }

    /// The CPU time the scenario's programs have used so far, user and
    /// system together (`cpuacct.usage` in ns, v2 `usage_usec`).
    fn used(&self) -> std::time::Duration {
        let read = |file: &str| std::fs::read_to_string(self.usage_dir.join(file)).ok();
        match self.version {
            1 => read("cpuacct.usage")
                .and_then(|t| t.trim().parse().ok())
                .map(std::time::Duration::from_nanos),
            _ => read("cpu.stat").and_then(|t| {
                t.lines().find_map(|l| {
                    l.strip_prefix("usage_usec ")
                        .and_then(|n| n.trim().parse().ok())
                        .map(std::time::Duration::from_micros)
                })
            }),
        }
        .unwrap_or_default()
    }

    /// Cuts the quota to [`HOG_QUOTA_US`] per period.
    fn slow_down(&self) {
        let written = match self.version {
            1 => std::fs::write(self.dir.join("cpu.cfs_quota_us"), HOG_QUOTA_US.to_string()),
            _ => std::fs::write(
                self.dir.join("cpu.max"),
                format!("{HOG_QUOTA_US} {CPU_PERIOD_US}"),
            ),
        };
        if written.is_ok() {
            self.slowed.store(true, Ordering::Relaxed);
        }
    }
}

/// The quotas the hog watcher looks after (dropped ones fall out).
static WATCHED: Mutex<Vec<Weak<Quota>>> = Mutex::new(Vec::new());

/// Puts a scenario's quota under watch: a thread (one for the whole
/// process, started with the first quota) looks at every watched
/// CPU time five times a second and slows down a scenario past its
/// `slow_down_after`. cgroups tell no event for this, so it looks; a look
/// is one small read per running scenario.
fn watch_hogs(quota: &Arc<Quota>) {
    static STARTED: std::sync::Once = std::sync::Once::new();
    WATCHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Arc::downgrade(quota));
    STARTED.call_once(|| {
        let _ = std::thread::Builder::new()
            .name("socklab-cpu-hogs".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    let live: Vec<Arc<Quota>> = {
                        let mut watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
                        watched.retain(|q| q.strong_count() > 0);
                        watched.iter().filter_map(Weak::upgrade).collect()
                    };
                    for quota in live {
                        if !quota.slowed.load(Ordering::Relaxed)
                            && quota.used() >= quota.slow_down_after
                        {
                            quota.slow_down();
                        }
                    }
                }
            });
    });
}

/// Joins the cgroup whose `cgroup.procs` is open as `fd`: call between fork
/// and exec.
pub fn join_in_child(fd: RawFd) -> io::Result<()> {
    // SAFETY: write is async-signal-safe; "0" means the calling process.
    if unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) } != 1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Drop for ProcessLimit {
    /// Kills what is left in the cgroup and removes its folders. A folder
    /// can be removed only once its processes are gone (reaped, or zombies
    /// whose parent is gone), which may take a moment after the kill: what
    /// cannot be removed at once is retried on a thread of its own, so a
    /// scenario's end never waits for it (and what a killed socklab could
    /// not remove, the next one's start-up does: `sandbox::leftovers`).
    fn drop(&mut self) {
        self.kill_all();
        let mut dirs = vec![self.dir.clone()];
        if let Some((cpu_dir, _)) = &self.cpu {
            dirs.push(cpu_dir.clone());
        }
        if let Some((acct_dir, _)) = &self.cpuacct {
            dirs.push(acct_dir.clone());
        }
        if let Some((mem_dir, Some(_), _)) = &self.memory {
            dirs.push(mem_dir.clone());
        }
        dirs.retain(|dir| std::fs::remove_dir(dir).is_err() && dir.exists());
        if dirs.is_empty() {
            return;
        }
        let _ = std::thread::Builder::new()
            .name("socklab-cgroup-removal".into())
            .spawn(move || remove_when_empty(dirs));
    }
}

/// Removes cgroup folders as their killed processes go, for at most half a
/// second (cgroup v1 tells no event for a cgroup becoming empty, so this
/// looks every 10 ms).
fn remove_when_empty(mut dirs: Vec<PathBuf>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
    while !dirs.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        dirs.retain(|dir| std::fs::remove_dir(dir).is_err() && dir.exists());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    /// A program spinning in a scenario's cgroup is slowed down once it has
    /// used the CPU time it may use at full quota, and from then on gets
    /// about a twentieth of a core. Needs a writable cgroup with the cpu controller (root);
    /// says so and passes elsewhere.
    #[test]
    fn a_spinning_program_is_slowed_down_after_its_cpu_time() {
        let Ok(root) = CgroupRoot::probe() else {
            eprintln!("skipped: no writable pids cgroup here");
            return;
        };
        let after = Duration::from_millis(300);
        let limit = ProcessLimit::create(&root, 8, None, Some(after)).expect("a scenario cgroup");
        let Some(quota) = limit.quota.clone() else {
            eprintln!("skipped: no cpu controller for a quota here");
            return;
        };
        let fds = limit.procs_fds();
        let mut command = std::process::Command::new("sh");
        command.args(["-c", "while :; do :; done"]);
        // SAFETY: confine_in_child makes only async-signal-safe calls.
        unsafe {
            command.pre_exec(move || super::super::confine_in_child(&fds, false, None, None));
        }
        let mut spinner = command.spawn().expect("sh starts");
        // The watcher looks five times a second; a loaded machine gives the
        // spinner less than its half core, so allow a minute.
        let deadline = Instant::now() + Duration::from_secs(60);
        while limit.slowed_down().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let slowed = limit.slowed_down() == Some(after);
        let used_then = quota.used();
        std::thread::sleep(Duration::from_secs(2));
        let used_after = quota.used() - used_then;
        let _ = spinner.kill();
        let _ = spinner.wait();
        assert!(
            slowed,
            "not slowed down within a minute (used {used_then:?})"
        );
        assert!(
            used_then >= after,
            "slowed down before its {after:?}: {used_then:?}"
        );
        // A twentieth of a core for 2 s is 100 ms; allow a period's slack.
        assert!(
            used_after <= Duration::from_millis(200),
            "{used_after:?} of CPU in 2 s after the slow-down"
        );
    }
}
