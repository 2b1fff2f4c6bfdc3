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
mod namespaces;

pub use cgroup::{CgroupRoot, ProcessLimit, join_in_child};

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, OnceLock};

use socklab_reference::net::{HostNet, Net};

pub use namespaces::{NamespaceNet, read_proc_net_in};

/// How isolated a scenario's programs are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolationLevel {
    /// Own network and pid namespaces per scenario, virtual links between hosts.
    Namespaces,
    /// Shared loopback, free ports, process groups and a child subreaper.
    Loopback,
}

impl IsolationLevel {
    pub fn name(self) -> &'static str {
        match self {
            IsolationLevel::Namespaces => "namespaces",
            IsolationLevel::Loopback => "loopback",
        }
    }
}

/// What this machine allows, probed once per socklab run.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub level: IsolationLevel,
    /// Whether hosts can be linked (needs `ip` from iproute2).
    pub multi_host: bool,
    /// Where per-scenario process limits (pids cgroups) can be made.
    pub cgroups: Option<CgroupRoot>,
    /// The uid and gid student programs run as (root drops to `nobody` when
    /// each scenario has its own network namespace).
    pub run_as: Option<(u32, u32)>,
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

/// Probes (once) what isolation this machine permits.
pub fn capabilities(request: IsolationRequest) -> Capabilities {
    static PROBED: OnceLock<Result<(), String>> = OnceLock::new();
    let probe = PROBED.get_or_init(namespaces::probe);
    let mut notes = Vec::new();
    let level = match (request, probe) {
        (IsolationRequest::Loopback, _) => {
            notes.push("loopback fallback requested (--isolation loopback)".to_string());
            IsolationLevel::Loopback
        }
        (_, Ok(())) => IsolationLevel::Namespaces,
        (IsolationRequest::Auto, Err(why)) => {
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
    let multi_host = level == IsolationLevel::Namespaces && namespaces::ip_tool().is_ok();
    if level == IsolationLevel::Namespaces && !multi_host {
        notes.push(format!(
            "multi-host scenarios are skipped: {}",
            namespaces::ip_tool().err().unwrap_or_default()
        ));
    }
    if level == IsolationLevel::Loopback {
        namespaces::become_subreaper();
    }
    static CGROUPS: OnceLock<Result<CgroupRoot, String>> = OnceLock::new();
    let cgroups = match CGROUPS.get_or_init(CgroupRoot::probe) {
        Ok(root) => {
            notes.push(format!(
                "process limit per scenario: cgroup v{} pids controller{}",
                root.version,
                if root.has_cpu_quota() {
                    ", with a CPU quota of half a core"
                } else {
                    ""
                }
            ));
            Some(root.clone())
        }
        Err(why) => {
            notes.push(format!(
                "no per-scenario process limit ({why}); a fork bomb is stopped only by the CPU limit and the scenario timeout"
            ));
            None
        }
    };
    // SAFETY: geteuid has no side effects.
    let root = unsafe { libc::geteuid() } == 0;
    let run_as = (root && level == IsolationLevel::Namespaces).then_some((NOBODY, NOBODY));
    if run_as.is_some() {
        notes.push(format!(
            "student programs run as uid {NOBODY} (nobody), not as root"
        ));
    }
    if root && run_as.is_none() {
        notes.push("student programs run as root: without network namespaces they need it for fixed ports like 13".to_string());
    }
    Capabilities {
        level,
        multi_host,
        cgroups,
        run_as,
        notes,
    }
}

/// Kills processes that were re-parented to socklab (it is their subreaper
/// in the loopback fallback): daemonised descendants of student programs
/// that escaped their process group. Called when a run ends or is
/// interrupted; at the namespace level the pid namespace already did this.
pub fn kill_adopted_orphans() {
    let me = std::process::id();
    for _ in 0..3 {
        let adopted: Vec<u32> = crate::run::procfs::children(me)
            .into_iter()
            .filter(|p| p.state != 'Z')
            .map(|p| p.pid)
            .collect();
        if adopted.is_empty() {
            return;
        }
        for pid in adopted {
            // SAFETY: signalling a process that is our own child.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGKILL);
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// The uid/gid of `nobody`, which student programs run as when socklab is root.
pub const NOBODY: u32 = 65534;

/// One host of a scenario: its name, address and network.
pub struct Host {
    pub name: String,
    /// The address other hosts reach it at (`127.0.0.1` on a single host).
    pub addr: IpAddr,
    netns: Option<Arc<OwnedFd>>,
    net: Arc<dyn Net>,
}

impl Host {
    /// The network namespace handle, when isolated.
    pub fn netns_fd(&self) -> Option<i32> {
        self.netns.as_ref().map(|fd| fd.as_raw_fd())
    }
    /// Socket factory for in-process peers and reference programs on this host.
    pub fn net(&self) -> Arc<dyn Net> {
        self.net.clone()
    }
}

/// A scenario's isolated world.
pub struct Sandbox {
    pub level: IsolationLevel,
    hosts: BTreeMap<String, Host>,
    first_host: String,
    pid_namespace: Option<namespaces::PidNamespace>,
    process_limit: Option<ProcessLimit>,
    /// Keeps the switch namespace (bridge) of a multi-host scenario alive.
    _switch: Option<OwnedFd>,
}

impl Sandbox {
    /// Makes the hosts of a scenario at the given level.
    pub fn create(
        level: IsolationLevel,
        host_names: &[String],
        process_limit: Option<(&CgroupRoot, u64)>,
    ) -> io::Result<Sandbox> {
        let process_limit = match process_limit {
            Some((root, max)) => Some(ProcessLimit::create(root, max)?),
            None => None,
        };
        let first_host = host_names
            .first()
            .cloned()
            .unwrap_or_else(|| "local".to_string());
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
                    },
                );
                Ok(Sandbox {
                    level,
                    hosts,
                    first_host,
                    pid_namespace: None,
                    process_limit,
                    _switch: None,
                })
            }
            IsolationLevel::Namespaces => {
                let pid_namespace = namespaces::PidNamespace::create()?;
                let mut hosts = BTreeMap::new();
                let mut fds = Vec::new();
                for name in host_names {
                    let fd = Arc::new(namespaces::new_netns()?);
                    fds.push(fd.clone());
                    hosts.insert(
                        name.clone(),
                        Host {
                            name: name.clone(),
                            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                            net: Arc::new(NamespaceNet::new(fd.clone())),
                            netns: Some(fd),
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
                Ok(Sandbox {
                    level,
                    hosts,
                    first_host,
                    pid_namespace: Some(pid_namespace),
                    process_limit,
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

    /// Spawns a command on a host, inside the sandbox's namespaces.
    pub fn spawn(
        &self,
        host: Option<&str>,
        command: &mut tokio::process::Command,
    ) -> io::Result<tokio::process::Child> {
        let netns = self.host(host).netns_fd();
        let pidns = self.pid_namespace.as_ref().map(|p| p.ns_fd());
        namespaces::spawn_in(netns, pidns, command)
    }

    /// The cgroup.procs descriptors programs join between fork and exec.
    pub fn cgroup_procs_fds(&self) -> [Option<i32>; 2] {
        self.process_limit
            .as_ref()
            .map(ProcessLimit::procs_fds)
            .unwrap_or([None, None])
    }

    /// The process limit, and how many forks it refused so far.
    pub fn process_limit(&self) -> Option<(u64, u64)> {
        self.process_limit
            .as_ref()
            .map(|l| (l.max, l.refused_forks()))
    }

    /// Kills everything the sandbox holds. At the namespace level this kills
    /// the pid namespace's init, and the kernel kills every process in it;
    /// the scenario's cgroup is emptied and removed.
    pub fn teardown(&mut self) {
        if let Some(pidns) = self.pid_namespace.take() {
            pidns.kill();
        }
        self.process_limit.take();
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.teardown();
    }
}
