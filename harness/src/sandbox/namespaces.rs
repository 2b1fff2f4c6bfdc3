//! Linux namespace plumbing for [`super::Sandbox`].
//!
//! Namespaces are entered per thread: a short-lived thread calls `setns`
//! (or `unshare`) and then creates a socket or spawns a process, which
//! inherits the thread's namespaces. socklab's own threads never change
//! namespace, so the tokio runtime is unaffected.

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};

use socklab_reference::net::Net;

use crate::kernel::SockDiag;
use crate::kernel::netns::{SCENARIO_BUCKETS, TableParent};

/// Runs `f` on a fresh thread that first joins the given namespaces.
pub(super) fn on_thread_in<T: Send>(
    netns: Option<RawFd>,
    pidns: Option<RawFd>,
    f: impl FnOnce() -> io::Result<T> + Send,
) -> io::Result<T> {
    on_thread_in_all(
        Joined {
            netns,
            pidns,
            ..Joined::default()
        },
        f,
    )
}

/// The namespaces a thread joins before it acts (`None`: socklab's own).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Joined {
    pub netns: Option<RawFd>,
    pub pidns: Option<RawFd>,
    pub mntns: Option<RawFd>,
    pub ipcns: Option<RawFd>,
}

/// As [`on_thread_in`], joining a mount and an IPC namespace too.
fn on_thread_in_all<T: Send>(
    joined: Joined,
    f: impl FnOnce() -> io::Result<T> + Send,
) -> io::Result<T> {
    let Joined {
        netns,
        pidns,
        mntns,
        ipcns,
    } = joined;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                if let Some(fd) = mntns {
                    // Threads share root and working directory; this one
                    // gets its own before it changes mount namespace.
                    unshare(libc::CLONE_FS)?;
                    setns(fd, libc::CLONE_NEWNS)?;
                }
                if let Some(fd) = ipcns {
                    setns(fd, libc::CLONE_NEWIPC)?;
                }
                if let Some(fd) = netns {
                    setns(fd, libc::CLONE_NEWNET)?;
                }
                if let Some(fd) = pidns {
                    setns(fd, libc::CLONE_NEWPID)?;
                }
                f()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("namespace thread panicked")))
    })
}

fn setns(fd: RawFd, kind: libc::c_int) -> io::Result<()> {
    // SAFETY: setns only reads the descriptor and changes this thread's namespace.
    if unsafe { libc::setns(fd, kind) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

pub(super) fn unshare(kind: libc::c_int) -> io::Result<()> {
    // SAFETY: unshare affects only the calling thread's namespace set.
    if unsafe { libc::unshare(kind) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn open_ns(path: &str) -> io::Result<OwnedFd> {
    Ok(std::fs::File::open(path)?.into())
}

/// Checks that network and pid namespaces can be made here.
pub(super) fn probe() -> Result<(), String> {
    let (net, _) = new_netns().map_err(|e| format!("network namespace: {e}"))?;
    drop(net);
    let pid = super::pidns::PidNamespace::create().map_err(|e| format!("pid namespace: {e}"))?;
    pid.kill();
    Ok(())
}

/// Finds `ip` from iproute2 (needed to link hosts).
pub(super) fn ip_tool() -> Result<(), String> {
    match std::process::Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        _ => Err(
            "`ip` (iproute2) is not installed; install it with `apt-get install iproute2`".into(),
        ),
    }
}

/// Makes socklab the reaper of its orphaned descendants (loopback fallback).
pub(super) fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER has no memory effects.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// A new network namespace with `lo` up, held by a descriptor, with a
/// `sock_diag` socket opened inside it (for socklab's probes: every later
/// question about its sockets is a `sendto` and a `recv`, no thread).
///
/// Where the kernel allows it (Linux ≥ 6.1, `CAP_SYS_ADMIN`), the namespace
/// is made from socklab's [`TableParent`] and gets a TCP hash table of its
/// own: a dump of its sockets then costs tens of microseconds instead of a
/// walk of the host's whole table (milliseconds). Nothing else differs: it
/// is as separate from every other namespace as one made from the host's.
pub(super) fn new_netns() -> io::Result<(OwnedFd, Option<SockDiag>)> {
    let inside = || {
        bring_loopback_up()?;
        // In its own namespace a student server may bind any port (13 for
        // daytime) without root; this sysctl is per network namespace.
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0");
        Ok(SockDiag::current().ok())
    };
    if let Some(parent) = table_parent() {
        return parent.new_namespace(inside);
    }
    on_thread_in(None, None, || {
        unshare(libc::CLONE_NEWNET)?;
        let diag = inside()?;
        Ok((open_ns("/proc/thread-self/ns/net")?, diag))
    })
}

/// The namespace socklab makes network namespaces from, once per process;
/// `None` where the kernel cannot give namespaces tables of their own.
fn table_parent() -> Option<&'static TableParent> {
    static PARENT: OnceLock<Option<TableParent>> = OnceLock::new();
    PARENT
        .get_or_init(|| TableParent::create(SCENARIO_BUCKETS).ok())
        .as_ref()
}

/// A new IPC namespace (System V shared memory, semaphores and message
/// queues, POSIX message queues), held by a descriptor: a scenario's
/// programs share nothing of the kind with other scenarios, students or
/// the host.
pub(super) fn new_ipcns() -> io::Result<OwnedFd> {
    on_thread_in(None, None, || {
        unshare(libc::CLONE_NEWIPC)?;
        open_ns("/proc/thread-self/ns/ipc")
    })
}

fn bring_loopback_up() -> io::Result<()> {
    // SAFETY: a plain datagram socket used only for the SIOC[GS]IFFLAGS ioctls.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let sock = OwnedFd::from_raw_fd(fd);
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Starts `command` from a thread that joined the given namespaces.
pub(super) fn spawn_in(
    joined: Joined,
    command: &mut super::spawn::Command,
    in_child: &mut (dyn FnMut() -> io::Result<()> + Send),
) -> io::Result<super::spawn::Spawned> {
    let runtime = tokio::runtime::Handle::current();
    on_thread_in_all(joined, || {
        let _entered = runtime.enter();
        command.spawn(in_child)
    })
}

/// The first address of the virtual link between hosts (198.18.0.0/15 is
/// reserved for network testing, RFC 2544; it never leaves the namespaces).
const LINK_BASE: [u8; 3] = [198, 18, 0];

/// Links hosts through a bridge in a separate "switch" namespace; returns
/// that namespace and each host's address.
pub(super) fn link_hosts(hosts: &[Arc<OwnedFd>]) -> io::Result<(OwnedFd, Vec<Ipv4Addr>)> {
    let (switch, _) = new_netns()?;
    let me = std::process::id();
    let mut switch_batch = String::from("link add br0 type bridge\nlink set br0 up\n");
    let mut addrs = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        switch_batch.push_str(&format!(
            "link add h{i} type veth peer name eth0 netns /proc/{me}/fd/{}\nlink set h{i} master br0\nlink set h{i} up\n",
            host.as_raw_fd()
        ));
        addrs.push(Ipv4Addr::new(
            LINK_BASE[0],
            LINK_BASE[1],
            LINK_BASE[2],
            i as u8 + 1,
        ));
    }
    run_ip_batch(switch.as_raw_fd(), &switch_batch)?;
    for (host, addr) in hosts.iter().zip(&addrs) {
        run_ip_batch(
            host.as_raw_fd(),
            &format!("addr add {addr}/24 dev eth0\nlink set eth0 up\n"),
        )?;
    }
    Ok((switch, addrs))
}

/// Runs `ip -batch` in the network namespace `netns`: from a thread that
/// joined it, so that the child inherits it and the standard library starts
/// it with `posix_spawn` (no pre-exec step: socklab is not forked; see
/// [`super::spawn`]).
fn run_ip_batch(netns: RawFd, batch: &str) -> io::Result<()> {
    on_thread_in(Some(netns), None, || {
        // Counted while it starts. Its `execve` closes what it inherited
        // (everything of socklab's is close-on-exec) a moment after `spawn`
        // returns; counting `ip` until it exits instead held the looks of
        // every scenario back while hosts were being linked, and starved
        // an `idle:` for 3 s in a class.
        let starting = super::spawn::Starting::new();
        let mut child = std::process::Command::new("ip")
            .args(["-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        drop(starting);
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin.write_all(batch.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        if !out.status.success() {
            return Err(io::Error::other(format!(
                "ip -batch failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(())
    })
}

/// A [`Net`] whose sockets live in a network namespace.
pub struct NamespaceNet {
    netns: Arc<OwnedFd>,
}

impl NamespaceNet {
    pub fn new(netns: Arc<OwnedFd>) -> Self {
        NamespaceNet { netns }
    }
}

impl Net for NamespaceNet {
    fn tcp_socket(&self, v6: bool) -> io::Result<tokio::net::TcpSocket> {
        let fd = on_thread_in(Some(self.netns.as_raw_fd()), None, || {
            let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
            // SAFETY: creating a new socket descriptor that we own.
            let fd = unsafe {
                libc::socket(
                    domain,
                    libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    0,
                )
            };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: fd is a fresh socket owned by nobody else.
            Ok(unsafe { OwnedFd::from_raw_fd(fd) })
        })?;
        Ok(tokio::net::TcpSocket::from_std_stream(
            std::net::TcpStream::from(fd),
        ))
    }
}

/// Reads `/proc/net/tcp{,6}` as seen from inside a namespace.
pub fn read_proc_net_in(netns: Option<RawFd>) -> io::Result<String> {
    on_thread_in(netns, None, || {
        let mut text = std::fs::read_to_string("/proc/thread-self/net/tcp")?;
        if let Ok(v6) = std::fs::read_to_string("/proc/thread-self/net/tcp6") {
            text.push_str(&v6);
        }
        Ok(text)
    })
}

/// The shared places where any user may write. In a sandbox's mount
/// namespace each is a fresh, empty tmpfs, so whatever is found there
/// afterwards was written by the sandbox's programs (and nothing a
/// program leaves there reaches another scenario, student or the host).
pub(super) const SCRATCH_DIRS: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"];
/// Size of each private scratch tmpfs.
const SCRATCH_SIZE: &str = "size=64m";

/// Mounts a `/proc` of its own and, with `netns`, a `/sys` of that network
/// namespace, over the machine's, in the calling thread's mount namespace.
///
/// A proc filesystem shows the processes of the pid namespace of whoever
/// mounts it, so the mount is made by a child forked into the scenario's
/// pid namespace (the calling thread joined it for its children); without
/// one (`in_pid_namespace` false) it shows the machine's processes, so it
/// is mounted with `hidepid=invisible` (`hidepid=2` on kernels before
/// 5.8): each program sees only its own uid's processes. sysfs shows the
/// network interfaces of the network namespace of whoever mounts it: the
/// child joins `netns` first, so a program sees its host's interfaces,
/// not the machine's. The child makes system calls only, then `_exit`s.
fn fresh_proc_and_sys(in_pid_namespace: bool, netns: Option<RawFd>) -> Result<(), String> {
    let cstr = |s: &str| std::ffi::CString::new(s).expect("no NUL");
    let (proc_fs, proc_dir, sys_fs, sys_dir) =
        (cstr("proc"), cstr("/proc"), cstr("sysfs"), cstr("/sys"));
    let hide = [cstr("hidepid=invisible"), cstr("hidepid=2")];
    let flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    // How far the child got: 1 joining the network, 2 mounting /proc, 3
    // mounting /sys. It shares socklab's memory (see spawn), so socklab
    // reads this after it has exited.
    let mut stage = 0u8;
    let mut body = || -> io::Error {
        // SAFETY: system calls only, in the child of clone_vm_vfork.
        unsafe {
            stage = 1;
            if let Some(fd) = netns
                && libc::setns(fd, libc::CLONE_NEWNET) == -1
            {
                return io::Error::last_os_error();
            }
            stage = 2;
            let mounted = hide.iter().any(|option| {
                libc::mount(
                    proc_fs.as_ptr(),
                    proc_dir.as_ptr(),
                    proc_fs.as_ptr(),
                    flags,
                    option.as_ptr().cast(),
                ) == 0
            });
            if !mounted {
                return io::Error::last_os_error();
            }
            stage = 3;
            if netns.is_some()
                && libc::mount(
                    sys_fs.as_ptr(),
                    sys_dir.as_ptr(),
                    sys_fs.as_ptr(),
                    flags | libc::MS_RDONLY,
                    std::ptr::null(),
                ) == -1
            {
                return io::Error::last_os_error();
            }
            libc::_exit(0);
        }
    };
    let code = match super::spawn::clone_vm_vfork(&mut body) {
        Ok(pid) => {
            // SAFETY: reaping the child that has just exited.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
            0
        }
        Err(_) => stage,
    };
    let which = if in_pid_namespace {
        "the pid namespace's"
    } else {
        "a hidepid"
    };
    match code {
        0 => Ok(()),
        1 => Err("could not join the host's network namespace to mount /sys".into()),
        2 => Err(format!(
            "could not mount {which} /proc (programs see the machine's /proc)"
        )),
        3 => Err(
            "could not mount a /sys of the scenario's network (programs see the machine's /sys)"
                .into(),
        ),
        _ => Err("the /proc mount helper failed".into()),
    }
}

/// A mount namespace whose scratch directories ([`SCRATCH_DIRS`]) are
/// private, with socklab's own directories (`keep`) mounted back in place.
pub(super) struct MountNamespace {
    ns: OwnedFd,
    keep: Vec<std::path::PathBuf>,
}

fn cstring(path: &std::path::Path) -> io::Result<std::ffi::CString> {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::other("a path with a NUL byte"))
}

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

impl MountNamespace {
    /// Makes the namespace: private scratch folders with `keep` mounted
    /// back, and a `/proc` of its own ([`fresh_proc_and_sys`]): the pid
    /// namespace's (`pidns`) where there is one, else the machine's with
    /// `hidepid` (each program sees its own uid's processes only), and
    /// where `netns` is given a `/sys` showing that network namespace.
    /// `Err` when the namespace cannot be made; the second value says why
    /// `/proc` is the machine's as it is, if it is.
    pub(super) fn create(
        keep: &[std::path::PathBuf],
        pidns: Option<RawFd>,
        netns: Option<RawFd>,
    ) -> io::Result<(MountNamespace, Option<String>)> {
        const OPEN_TREE_CLONE: libc::c_ulong = 1;
        const AT_RECURSIVE: libc::c_ulong = 0x8000;
        const MOVE_MOUNT_F_EMPTY_PATH: libc::c_ulong = 4;
        let keep: Vec<std::path::PathBuf> =
            keep.iter().filter_map(|p| p.canonicalize().ok()).collect();
        let made = on_thread_in(None, pidns, || {
            // A thread may take a mount namespace of its own (with its own
            // root and working directory); the process keeps its own.
            unshare(libc::CLONE_NEWNS)?;
            let root = cstring(std::path::Path::new("/"))?;
            // SAFETY: mount(2) with valid C strings; only this thread's namespace changes.
            check(unsafe {
                libc::mount(
                    std::ptr::null(),
                    root.as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                )
            } as libc::c_long)?;
            for dir in SCRATCH_DIRS {
                let dir = std::path::Path::new(dir);
                if !dir.is_dir() {
                    continue;
                }
                // Detached copies of the kept directories below it, made
                // before the tmpfs hides them.
                let mut kept = Vec::new();
                for path in keep.iter().filter(|p| p.starts_with(dir)) {
                    let c = cstring(path)?;
                    // SAFETY: open_tree returns a new descriptor we own.
                    let fd = check(unsafe {
                        libc::syscall(
                            libc::SYS_open_tree,
                            libc::AT_FDCWD,
                            c.as_ptr(),
                            OPEN_TREE_CLONE | AT_RECURSIVE | libc::O_CLOEXEC as libc::c_ulong,
                        )
                    })?;
                    // SAFETY: fd is a fresh descriptor owned by nobody else.
                    let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
                    kept.push((path, path.is_dir(), fd));
                }
                let target = cstring(dir)?;
                let fstype = cstring(std::path::Path::new("tmpfs"))?;
                let options =
                    std::ffi::CString::new(format!("mode=1777,{SCRATCH_SIZE}")).expect("no NUL");
                // SAFETY: mount(2) with valid C strings.
                check(unsafe {
                    libc::mount(
                        fstype.as_ptr(),
                        target.as_ptr(),
                        fstype.as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV,
                        options.as_ptr().cast(),
                    )
                } as libc::c_long)?;
                for (path, is_dir, fd) in kept {
                    if is_dir {
                        std::fs::create_dir_all(path)?;
                    } else if let Some(parent) = path.parent() {
                        // A file (socklab's binary) is mounted back alone,
                        // onto an empty file where it was.
                        std::fs::create_dir_all(parent)?;
                        std::fs::File::create(path)?;
                    }
                    let c = cstring(path)?;
                    let empty = std::ffi::CString::new("").expect("no NUL");
                    // SAFETY: move_mount of the detached tree onto the new directory.
                    check(unsafe {
                        libc::syscall(
                            libc::SYS_move_mount,
                            fd.as_raw_fd(),
                            empty.as_ptr(),
                            libc::AT_FDCWD,
                            c.as_ptr(),
                            MOVE_MOUNT_F_EMPTY_PATH,
                        )
                    })?;
                }
            }
            // Before /proc is replaced: this thread is no process of the
            // new /proc's pid namespace, so `thread-self` will not resolve.
            let ns = open_ns("/proc/thread-self/ns/mnt")?;
            let proc_note = fresh_proc_and_sys(pidns.is_some(), netns).err();
            Ok((ns, proc_note))
        })?;
        let (ns, proc_note) = made;
        Ok((MountNamespace { ns, keep }, proc_note))
    }

    pub(super) fn ns_fd(&self) -> RawFd {
        self.ns.as_raw_fd()
    }

    /// A walk of what the programs left in the private scratch
    /// directories (except socklab's own directories mounted back into
    /// them), to run on a blocking thread.
    pub(super) fn stray_walk(
        &self,
    ) -> io::Result<impl FnOnce() -> Vec<super::scratch::StrayFile> + Send + 'static> {
        let ns = self.ns.try_clone()?;
        let keep = self.keep.clone();
        Ok(move || {
            let joined = Joined {
                mntns: Some(ns.as_raw_fd()),
                ..Joined::default()
            };
            on_thread_in_all(joined, || {
                Ok(super::scratch::stray_files(&SCRATCH_DIRS, &keep))
            })
            .unwrap_or_default()
        })
    }
}
