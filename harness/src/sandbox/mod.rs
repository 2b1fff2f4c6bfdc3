//! Isolation: where a scenario's programs and peers run.
//!
//! A [`Sandbox`] is made per scenario. At the `namespaces` level each host
//! gets its own network namespace (so fixed ports like 13 and 9877 work,
//! parallel scenarios never collide, student code has no outside network),
//! several hosts share a virtual link with their own addresses, and all
//! processes live in one pid namespace whose init dies when the sandbox is
//! torn down or socklab itself dies (even by SIGKILL): the kernel then kills
//! everything in it, daemonised grandchildren included.
//!
//! Where namespaces are not permitted (an unprivileged laptop, a locked-down
//! container) the sandbox falls back to `loopback`: programs share the
//! machine's loopback with free ports, each program is its own session and
//! process group, socklab is a child subreaper so orphans come back to it,
//! and teardown kills groups and adopted orphans. Scenarios that need
//! separate hosts are skipped with the reason. The level reached is recorded
//! in every report.

mod cgroup;
pub mod identity;
pub mod leftovers;
mod namespaces;
mod pidns;
pub mod scratch;
pub mod spawn;
pub mod userns;
mod warmth;
pub mod workspace;

pub use cgroup::{CgroupRoot, ProcessLimit, join_in_child};
pub use identity::{Identities, NOBODY, SubmissionIdentity};
pub use warmth::WARMTH_ENV;

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use socklab_reference::net::{HostNet, Net};

use crate::kernel::SockDiag;

pub use namespaces::{NamespaceNet, read_proc_net_in};
pub use pidns::{start_init_maker, stop_init_maker};
pub use scratch::StrayFile;

/// How isolated a scenario's programs are: the report's own type, so the
/// level reached is recorded as it was.
pub use socklab_report::IsolationLevel;

/// What this machine allows, probed once per socklab run.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub level: IsolationLevel,
    /// Whether hosts can be linked (needs `ip` from iproute2).
    pub multi_host: bool,
    /// Where per-scenario process limits (pids cgroups) can be made.
    pub cgroups: Option<CgroupRoot>,
    /// Where student programs (and their builds) get the uids they run
    /// as: a pair of their own per submission, from a reserved range
    /// ([`identity`]); `None` when socklab is not root (it cannot switch).
    pub identities: Option<Identities>,
    /// Why scenarios with several hosts cannot run here, when they cannot.
    pub why_single_host: Option<String>,
    /// Whether socklab is really root (not root of a user namespace of
    /// its own): only then may programs bind ports below 1024 on the
    /// machine's loopback.
    pub really_root: bool,
    /// Why a feature is missing, for the report.
    pub notes: Vec<String>,
}

/// The isolation level requested on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationRequest {
    /// The best this machine allows.
    Auto,
    /// Fail if namespaces are not available.
    Namespaces,
    /// Use the loopback fallback even where namespaces work.
    Loopback,
}

/// Probes what isolation this machine permits (once per socklab run: the
/// result is carried in the run's settings). `userns` is what start-up did
/// about a user namespace of socklab's own.
pub fn capabilities(request: IsolationRequest, userns: &userns::UserNamespace) -> Capabilities {
    let probe = namespaces::probe();
    let mut notes = Vec::new();
    let level = match (request, &probe) {
        (IsolationRequest::Loopback, _) => {
            notes.push("loopback fallback requested (--isolation loopback)".to_string());
            IsolationLevel::Loopback
        }
        (_, Ok(())) => IsolationLevel::Namespaces,
        (IsolationRequest::Auto, Err(why)) => {
            let why = match &userns.why_not {
                Some(userns) => format!("{why}; no user namespace either: {userns}"),
                None => why.clone(),
            };
            notes.push(format!(
                "network/pid namespaces unavailable ({why}): programs share loopback with free ports; \
                 scenarios with several hosts are skipped; fixed-port scenarios run one at a time"
            ));
            IsolationLevel::Loopback
        }
        (IsolationRequest::Namespaces, Err(why)) => {
            notes.push(format!(
                "namespaces were required but are unavailable: {why}"
            ));
            IsolationLevel::Loopback
        }
    };
    let why_single_host = match level {
        IsolationLevel::Loopback => Some(notes.first().cloned().unwrap_or_default()),
        IsolationLevel::Namespaces => namespaces::ip_tool().err(),
    };
    let multi_host = why_single_host.is_none();
    if let (IsolationLevel::Namespaces, Some(why)) = (level, &why_single_host) {
        notes.push(format!("multi-host scenarios are skipped: {why}"));
    }
    if level == IsolationLevel::Loopback {
        namespaces::become_subreaper();
    }
    notes.extend(private_mounts_note(level));
    let cgroups = match CgroupRoot::probe() {
        Ok(root) => {
            notes.push(format!(
                "process limit per scenario: cgroup v{} pids controller{}{}",
                root.version,
                if root.has_cpu_quota() {
                    ", with a CPU quota of half a core (a twentieth once its programs have run flat out for a second of CPU time)"
                } else {
                    ""
                },
                if root.has_memory() {
                    "; memory limit per scenario: cgroup memory controller (no swap)"
                } else {
                    ""
                }
            ));
            Some(root)
        }
        Err(why) => {
            notes.push(format!(
                "no per-scenario process limit ({why}); a fork bomb is stopped only by the CPU limit and the scenario timeout"
            ));
            None
        }
    };
    let root = userns.really_root();
    if userns.entered && level == IsolationLevel::Namespaces {
        notes.push(
            "socklab runs in a user namespace of its own (it is not root): programs run as your user"
                .to_string(),
        );
    }
    let identities = root.then(|| {
        let exe = std::env::current_exe().unwrap_or_default();
        // Without a network namespace of its own, binding a fixed port below
        // 1024 (daytime's 13) needs this one capability.
        let (identities, trouble) =
            Identities::reserved(level == IsolationLevel::Loopback, &exe);
        notes.push(match (&trouble, identities.separate_peers) {
            (Some(why), _) => format!(
                "student programs and builds run as uid {NOBODY} (nobody), shared by all submissions: {why}"
            ),
            (None, true) => format!(
                "each submission's build and programs run as a uid of its own (from {} up), its reference peers as another; their folders are theirs alone (mode 0700)",
                identity::FIRST_UID
            ),
            (None, false) => format!(
                "each submission's build, programs and reference peers run as a uid of its own (from {} up; socklab's binary is not reachable by other users, so the peers share the student's uid); its folders are its alone (mode 0700)",
                identity::FIRST_UID
            ),
        });
        if identities.keep_bind_service {
            notes.push(
                "programs keep one capability, to bind ports below 1024 on the shared loopback"
                    .to_string(),
            );
        }
        identities
    });
    if identities.is_none() && !userns.entered {
        notes.push(
            "student programs run as the user running socklab (only root can switch to an unprivileged user)"
                .to_string(),
        );
    }
    Capabilities {
        level,
        multi_host,
        cgroups,
        identities,
        why_single_host,
        really_root: root,
        notes,
    }
}

/// What the scenarios' mount namespaces give, tried once with throwaway
/// namespaces: private scratch folders, and a `/proc` (and `/sys`) of
/// their own; or why there are none.
fn private_mounts_note(level: IsolationLevel) -> Vec<String> {
    let made = match level {
        IsolationLevel::Namespaces => pidns::PidNamespace::create().and_then(|pid| {
            let (net, _) = namespaces::new_netns()?;
            let made =
                namespaces::MountNamespace::create(&[], Some(pid.ns_fd()), Some(net.as_raw_fd()));
            pid.kill();
            made
        }),
        IsolationLevel::Loopback => namespaces::MountNamespace::create(&[], None, None),
    };
    match made {
        Ok((_, None)) => vec![
            "programs get private /tmp, /var/tmp, /dev/shm and /run/lock; what they leave there is reported".to_string(),
            match level {
                IsolationLevel::Namespaces => "programs get a /proc of their own (their scenario's processes only) and a /sys showing only their host's network".to_string(),
                IsolationLevel::Loopback => "programs get a /proc mounted with hidepid (each sees its own uid's processes only)".to_string(),
            },
        ],
        Ok((_, Some(why))) => vec![
            "programs get private /tmp, /var/tmp, /dev/shm and /run/lock; what they leave there is reported".to_string(),
            why,
        ],
        Err(why) => vec![format!(
            "writes outside the working directories are not detected, and programs see the machine's /proc (no mount namespace: {why})"
        )],
    }
}

/// Kills processes that were re-parented to socklab (it is their subreaper
/// in the loopback fallback): daemonised descendants of student programs
/// that escaped their process group. Called when a run ends or is
/// interrupted; at the namespace level the pid namespace already did this.
pub fn kill_adopted_orphans() {
    kill_adopted(|_| true);
}

/// Kills the adopted orphans (and their descendants) that `belongs` picks.
fn kill_adopted(belongs: impl Fn(u32) -> bool) {
    let me = std::process::id();
    for _ in 0..3 {
        let adopted: Vec<u32> = crate::run::procfs::children(me)
            .into_iter()
            .filter(|p| p.state != 'Z' && belongs(p.pid))
            .flat_map(|p| crate::run::procfs::tree(p.pid))
            .collect();
        if adopted.is_empty() {
            return;
        }
        for pid in adopted {
            // SAFETY: signalling a process that is our own descendant.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// The environment variable that tells which sandbox started a process, so
/// that orphans a scenario left behind can be found without a pid
/// namespace or cgroup.
const SANDBOX_ENV: &str = "SOCKLAB_SANDBOX";

/// Whether the process's environment names this sandbox.
fn started_by(pid: u32, marker: &str) -> bool {
    let wanted = format!("{SANDBOX_ENV}={marker}");
    std::fs::read(format!("/proc/{pid}/environ"))
        .map(|env| env.split(|b| *b == 0).any(|var| var == wanted.as_bytes()))
        .unwrap_or(false)
}

/// Confines a student's process between fork and exec, in this order:
/// joins the scenario's cgroups, starts a session of its own (taking stdin
/// as its controlling terminal when `controlling_tty`), sets the rlimits,
/// and drops to the unprivileged user. Only async-signal-safe calls.
pub fn confine_in_child(
    cgroups: &[Option<i32>],
    controlling_tty: bool,
    limits: Option<&crate::limits::ProcessLimits>,
    run_as: Option<&RunAs>,
) -> io::Result<()> {
    for fd in cgroups.iter().flatten() {
        join_in_child(*fd)?;
    }
    // SAFETY: setsid and ioctl(TIOCSCTTY) act on this forked child only.
    unsafe {
        if libc::setsid() == -1 {
            return Err(io::Error::last_os_error());
        }
        if controlling_tty && libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    if let Some(limits) = limits {
        limits.apply_in_child()?;
    }
    if let Some(user) = run_as {
        user.apply_in_child()?;
    }
    Ok(())
}

/// The namespaces and cgroups of a sandbox a program starts in, held
/// apart from the sandbox ([`Sandbox::entry`]).
pub struct Entry {
    netns: Option<OwnedFd>,
    pidns: Option<OwnedFd>,
    mntns: Option<OwnedFd>,
    ipcns: Option<OwnedFd>,
    cgroups: Vec<OwnedFd>,
    marker: String,
}

impl Entry {
    /// The `cgroup.procs` descriptors the program joins (for
    /// [`confine_in_child`]).
    pub fn cgroup_procs_fds(&self) -> Vec<Option<RawFd>> {
        self.cgroups.iter().map(|fd| Some(fd.as_raw_fd())).collect()
    }

    /// Starts a program in these namespaces (see [`Sandbox::spawn`]);
    /// blocks the calling thread until it has started (off the async
    /// threads, where the start would hold up other tasks).
    pub fn spawn(
        &self,
        command: &mut spawn::Command,
        in_child: &mut (dyn FnMut() -> io::Result<()> + Send),
    ) -> io::Result<spawn::Spawned> {
        let raw = |fd: &Option<OwnedFd>| fd.as_ref().map(|fd| fd.as_raw_fd());
        let joined = namespaces::Joined {
            netns: raw(&self.netns),
            pidns: raw(&self.pidns),
            mntns: raw(&self.mntns),
            ipcns: raw(&self.ipcns),
        };
        command.env(SANDBOX_ENV, &self.marker);
        namespaces::spawn_in(joined, command, in_child)
    }
}

/// The unprivileged user a student's processes run as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    /// Keep `CAP_NET_BIND_SERVICE` (and nothing else) across the switch and
    /// the exec, for fixed low ports on the shared loopback.
    pub keep_bind_service: bool,
}

const CAP_NET_BIND_SERVICE: u32 = 10;
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

impl RunAs {
    /// Drops root for the calling process: no supplementary groups, the gid,
    /// the uid, and at most `CAP_NET_BIND_SERVICE` as an ambient capability
    /// so that it survives the exec. Runs in a child before exec (see
    /// [`spawn`]): raw system calls only. glibc's `setuid` and `setgid`
    /// would look for other threads to change too, and a child that shares
    /// socklab's memory would find socklab's.
    pub fn apply_in_child(&self) -> io::Result<()> {
        let fail = || Err(io::Error::last_os_error());
        // SAFETY: raw system calls that change this (child) process only.
        unsafe {
            if self.keep_bind_service && libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1 {
                return fail();
            }
            let (uid, gid) = (self.uid as libc::c_long, self.gid as libc::c_long);
            if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == -1
                || libc::syscall(libc::SYS_setresgid, gid, gid, gid) == -1
                || libc::syscall(libc::SYS_setresuid, uid, uid, uid) == -1
            {
                return fail();
            }
            if self.keep_bind_service {
                let bit = 1u32 << CAP_NET_BIND_SERVICE;
                let mut header = CapHeader {
                    version: LINUX_CAPABILITY_VERSION_3,
                    pid: 0,
                };
                let data = [
                    CapData {
                        effective: bit,
                        permitted: bit,
                        inheritable: bit,
                    },
                    CapData {
                        effective: 0,
                        permitted: 0,
                        inheritable: 0,
                    },
                ];
                if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) == -1
                    || libc::prctl(
                        libc::PR_CAP_AMBIENT,
                        libc::PR_CAP_AMBIENT_RAISE,
                        CAP_NET_BIND_SERVICE as libc::c_ulong,
                        0,
                        0,
                    ) == -1
                {
                    return fail();
                }
            }
        }
        Ok(())
    }

    /// Gives `path` and everything below it to this user (a build copy or a
    /// working directory socklab made).
    pub fn own_tree(&self, path: &std::path::Path) -> io::Result<()> {
        std::os::unix::fs::lchown(path, Some(self.uid), Some(self.gid))?;
        if std::fs::symlink_metadata(path)?.is_dir() {
            for entry in std::fs::read_dir(path)? {
                self.own_tree(&entry?.path())?;
            }
        }
        Ok(())
    }
}

/// One host of a scenario: its name, address and network.
pub struct Host {
    pub name: String,
    /// The address other hosts reach it at (`127.0.0.1` on a single host).
    pub addr: IpAddr,
    netns: Option<Arc<OwnedFd>>,
    net: Arc<dyn Net>,
    /// Asks the kernel about the host's TCP sockets (isolated hosts only).
    diag: Option<Arc<SockDiag>>,
}

impl Host {
    /// The network namespace handle, when isolated.
    pub fn netns_fd(&self) -> Option<i32> {
        self.netns.as_ref().map(|fd| fd.as_raw_fd())
    }
    /// A descriptor of its own for the host's network namespace (e.g. for
    /// a packet capture there), when isolated.
    pub fn netns(&self) -> Option<io::Result<OwnedFd>> {
        self.netns.as_ref().map(|fd| fd.try_clone())
    }

    /// Socket factory for in-process peers and reference programs on this host.
    pub fn net(&self) -> Arc<dyn Net> {
        self.net.clone()
    }

    /// The host's `sock_diag` socket, opened inside its namespace (`None` in
    /// the loopback fallback, where the sockets are the machine's).
    pub fn sock_diag(&self) -> Option<&Arc<SockDiag>> {
        self.diag.as_ref()
    }
}

/// A scenario's isolated world.
pub struct Sandbox {
    pub level: IsolationLevel,
    hosts: BTreeMap<String, Host>,
    first_host: String,
    pid_namespace: Option<pidns::PidNamespace>,
    process_limit: Option<ProcessLimit>,
    /// Private scratch directories and `/proc` (where mounts work).
    mount_namespace: Option<namespaces::MountNamespace>,
    /// Its own System V and POSIX IPC objects (where it can be made).
    ipc_namespace: Option<OwnedFd>,
    /// Put in the environment of every process this sandbox starts.
    marker: String,
    /// Keeps the switch namespace (bridge) of a multi-host scenario alive.
    _switch: Option<OwnedFd>,
}

impl Sandbox {
    /// Makes the hosts of a scenario at the given level. `keep` are
    /// socklab's directories and files the programs use (their working
    /// directories, fixtures, the submission, socklab's binary), which stay
    /// in place when the scratch directories are made private. `process_limit`: the cgroup root, the
    /// most processes, the memory limit, and, where the CPU quota of a
    /// scenario applies, the CPU time after which it is cut
    /// ([`ProcessLimit::create`]).
    pub fn create(
        level: IsolationLevel,
        host_names: &[String],
        process_limit: Option<(&CgroupRoot, u64, Option<u64>, Option<std::time::Duration>)>,
        keep: &[std::path::PathBuf],
    ) -> io::Result<Sandbox> {
        let process_limit = match process_limit {
            Some((root, max, memory, cpu_quota)) => {
                Some(ProcessLimit::create(root, max, memory, cpu_quota)?)
            }
            None => None,
        };
        let first_host = host_names
            .first()
            .cloned()
            .unwrap_or_else(|| "local".to_string());
        static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let serial = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let marker = format!("{}.{serial}", std::process::id());
        match level {
            IsolationLevel::Loopback => {
                if host_names.len() > 1 {
                    return Err(io::Error::other(
                        "several hosts need network namespaces, which are unavailable here",
                    ));
                }
                let mut hosts = BTreeMap::new();
                hosts.insert(
                    first_host.clone(),
                    Host {
                        name: first_host.clone(),
                        addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                        netns: None,
                        net: Arc::new(HostNet),
                        diag: None,
                    },
                );
                Ok(Sandbox {
                    level,
                    hosts,
                    first_host,
                    pid_namespace: None,
                    process_limit,
                    // Where root may make one: private scratch folders and a
                    // hidepid /proc even on the shared loopback.
                    mount_namespace: namespaces::MountNamespace::create(keep, None, None)
                        .ok()
                        .map(|(ns, _)| ns),
                    ipc_namespace: namespaces::new_ipcns().ok(),
                    marker,
                    _switch: None,
                })
            }
            IsolationLevel::Namespaces => {
                let pid_namespace = pidns::PidNamespace::create()?;
                let mut hosts = BTreeMap::new();
                let mut fds = Vec::new();
                for name in host_names {
                    let (fd, diag) = namespaces::new_netns()?;
                    let fd = Arc::new(fd);
                    fds.push(fd.clone());
                    hosts.insert(
                        name.clone(),
                        Host {
                            name: name.clone(),
                            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                            net: Arc::new(NamespaceNet::new(fd.clone())),
                            netns: Some(fd),
                            diag: diag.map(Arc::new),
                        },
                    );
                }
                let switch = if host_names.len() > 1 {
                    let (switch, addrs) = namespaces::link_hosts(&fds)?;
                    for (name, addr) in host_names.iter().zip(addrs) {
                        if let Some(host) = hosts.get_mut(name) {
                            host.addr = IpAddr::V4(addr);
                        }
                    }
                    Some(switch)
                } else {
                    None
                };
                // Without it programs still run; stray writes go unseen and
                // the machine's /proc is theirs (the report says so).
                let mount_namespace = namespaces::MountNamespace::create(
                    keep,
                    Some(pid_namespace.ns_fd()),
                    fds.first().map(|fd| fd.as_raw_fd()),
                )
                .ok()
                .map(|(ns, _)| ns);
                Ok(Sandbox {
                    level,
                    hosts,
                    first_host,
                    pid_namespace: Some(pid_namespace),
                    process_limit,
                    mount_namespace,
                    ipc_namespace: Some(namespaces::new_ipcns()?),
                    marker,
                    _switch: switch,
                })
            }
        }
    }

    /// The named host, or the first one when `None`.
    pub fn host(&self, name: Option<&str>) -> &Host {
        let name = name.unwrap_or(&self.first_host);
        self.hosts
            .get(name)
            .or_else(|| self.hosts.get(&self.first_host))
            .expect("a sandbox has at least one host")
    }

    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values()
    }

    /// Starts a program on a host, inside the sandbox's namespaces;
    /// `in_child` runs in the child just before its `execve` (system calls
    /// only: see [`spawn`]).
    pub fn spawn(
        &self,
        host: Option<&str>,
        command: &mut spawn::Command,
        in_child: &mut (dyn FnMut() -> io::Result<()> + Send),
    ) -> io::Result<spawn::Spawned> {
        self.entry(host)?.spawn(command, in_child)
    }

    /// What a start on `host` joins, as descriptors of its own: for a
    /// start made on a blocking thread ([`Entry::spawn`]), which must not
    /// depend on the sandbox outliving it.
    pub fn entry(&self, host: Option<&str>) -> io::Result<Entry> {
        let own = |fd: Option<RawFd>| -> io::Result<Option<OwnedFd>> {
            // SAFETY: the sandbox holds these descriptors open for the call.
            fd.map(|fd| unsafe { BorrowedFd::borrow_raw(fd) }.try_clone_to_owned())
                .transpose()
        };
        Ok(Entry {
            netns: own(self.host(host).netns_fd())?,
            pidns: own(self.pid_namespace.as_ref().map(|p| p.ns_fd()))?,
            mntns: own(self.mount_namespace.as_ref().map(|m| m.ns_fd()))?,
            ipcns: own(self.ipc_namespace.as_ref().map(|fd| fd.as_raw_fd()))?,
            cgroups: self
                .cgroup_procs_fds()
                .into_iter()
                .map(own)
                .collect::<io::Result<Vec<_>>>()?
                .into_iter()
                .flatten()
                .collect(),
            marker: self.marker.clone(),
        })
    }

    /// The pid (as socklab sees it) of the init of the scenario's pid
    /// namespace: orphans of the scenario's programs become its children.
    pub fn init_pid(&self) -> Option<u32> {
        self.pid_namespace.as_ref().map(|p| p.init_pid())
    }

    /// A walk of what the programs wrote outside socklab's directories,
    /// where the sandbox can tell (`None`: it cannot, no private scratch
    /// directories), to run off the async runtime (it reads folders the
    /// programs may still be changing; see [`scratch`]).
    pub fn stray_walk(&self) -> Option<impl FnOnce() -> Vec<StrayFile> + Send + 'static> {
        self.mount_namespace.as_ref()?.stray_walk().ok()
    }

    /// The cgroup.procs descriptors programs join between fork and exec.
    pub fn cgroup_procs_fds(&self) -> [Option<i32>; 4] {
        self.process_limit
            .as_ref()
            .map(ProcessLimit::procs_fds)
            .unwrap_or([None; 4])
    }

    /// The memory limit (bytes) the scenario's cgroup enforces, if any.
    pub fn memory_limit(&self) -> Option<u64> {
        self.process_limit.as_ref()?.memory_limit()
    }

    /// How many programs the kernel killed for going over the memory limit.
    pub fn oom_kills(&self) -> u64 {
        self.process_limit
            .as_ref()
            .map_or(0, ProcessLimit::oom_kills)
    }

    /// When the programs hogged the CPU and were slowed down: the CPU time
    /// they had used at full quota ([`ProcessLimit::slowed_down`]).
    pub fn slowed_down(&self) -> Option<std::time::Duration> {
        self.process_limit
            .as_ref()
            .and_then(ProcessLimit::slowed_down)
    }

    /// The process limit, and how many forks it refused so far.
    pub fn process_limit(&self) -> Option<(u64, u64)> {
        self.process_limit
            .as_ref()
            .map(|l| (l.max, l.refused_forks()))
    }

    /// Kills everything the sandbox holds. At the namespace level this kills
    /// the pid namespace's init, and the kernel kills every process in it;
    /// the scenario's cgroup is emptied and removed. In the loopback
    /// fallback, orphans re-parented to socklab that this sandbox started
    /// are killed too (their environment says so).
    pub fn teardown(&mut self) {
        match (self.pid_namespace.take(), self.level) {
            (Some(pidns), _) => pidns.kill(),
            (None, IsolationLevel::Loopback) => {
                kill_adopted(|pid| started_by(pid, &self.marker));
            }
            // Torn down already (the scenario's end, then the drop).
            (None, IsolationLevel::Namespaces) => {}
        }
        self.process_limit.take();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.teardown();
    }
}
