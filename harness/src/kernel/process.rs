//! What a process is doing, as the kernel shows it in `/proc`: each
//! thread's state (R/S/D/Z/T), its wait channel, the system call it is
//! blocked in with that call's arguments (`/proc/PID/syscall`), and what each
//! of its file descriptors is (`/proc/PID/fd`).
//!
//! [`ProcessView::read`] gathers those facts; [`Call`] says what the blocked
//! call means ("waits in read() on fd 4", "in poll() on fds 0, 3 without a
//! timeout", "in nanosleep()"); joined with the sockets of the process's
//! network namespace ([`super::sock_diag`]) a descriptor reads as "fd 4 is
//! TCP 10.0.0.1:20000 ↔ 10.0.0.2:41234 ESTABLISHED, 0 bytes queued".
//!
//! Reading another user's `/proc/PID/syscall`, `mem` and `fd` needs ptrace
//! rights over it: socklab has them as root, or as the owner of the user
//! namespace its programs run in. Processes are named by their pid in
//! socklab's pid namespace (the one `/proc` shows), whatever pid namespace
//! they live in.

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

use super::blocked::parse_syscall;
pub use super::blocked::{Call, Interest, Syscall, Timeout, interpret, waited_fds};
use super::sock_diag::{NetnsId, TcpSocket};

/// One thread's state at one look.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub tid: u32,
    /// `R` running or runnable, `S` asleep, `D` uninterruptible, `Z` zombie,
    /// `T`/`t` stopped, `X` dead, `I` idle (kernel threads).
    pub state: char,
    /// The kernel function it sleeps in (`wait_woken`, `do_wait`,
    /// `hrtimer_nanosleep`, …), empty when running or hidden.
    pub wchan: String,
    /// The system call it is in, as `/proc/PID/task/TID/syscall` says.
    pub syscall: Syscall,
    /// What that call waits for, read at the same look (`None`: not blocked in a call).
    pub call: Option<Call>,
    /// How many times it has been put on a CPU (`schedstat`): a thread that
    /// shows the same state twice but a different count woke in between.
    pub runs: Option<u64>,
}

/// What a file descriptor refers to (`readlink /proc/PID/fd/N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FdTarget {
    /// `socket:[INODE]`: look it up in the namespace's sockets.
    Socket(u64),
    Pipe(u64),
    /// A named pipe.
    Fifo(PathBuf),
    /// `/dev/pts/N` and other terminals.
    Terminal(PathBuf),
    /// `/dev/ptmx`: the controlling side of a terminal.
    PtyMaster,
    /// `/dev/null`, `/dev/zero` and the like: never block.
    Device(PathBuf),
    File(PathBuf),
    Directory(PathBuf),
    /// `anon_inode:[eventpoll]`, `[timerfd]`, `[eventfd]`, `[signalfd]`, …
    Anon(String),
    Other(String),
}

impl FdTarget {
    fn from_link(link: &str, stat: Option<&std::fs::Metadata>) -> FdTarget {
        let inode = |prefix: &str| {
            link.strip_prefix(prefix)?
                .strip_suffix(']')?
                .parse::<u64>()
                .ok()
        };
        if let Some(n) = inode("socket:[") {
            return FdTarget::Socket(n);
        }
        if let Some(n) = inode("pipe:[") {
            return FdTarget::Pipe(n);
        }
        if let Some(kind) = link.strip_prefix("anon_inode:") {
            return FdTarget::Anon(kind.trim_matches(['[', ']']).to_string());
        }
        if !link.starts_with('/') {
            return FdTarget::Other(link.to_string());
        }
        let path = PathBuf::from(link);
        if link == "/dev/ptmx" || link.starts_with("/dev/pts/ptmx") {
            return FdTarget::PtyMaster;
        }
        // `/dev/tty` and `/dev/console` name whichever terminal the opener
        // has: reopened by socklab they would be socklab's, so they stay
        // devices socklab does not judge.
        let numbered_tty = link
            .strip_prefix("/dev/tty")
            .is_some_and(|rest| !rest.is_empty());
        if link.starts_with("/dev/pts/") || numbered_tty {
            return FdTarget::Terminal(path);
        }
        use std::os::unix::fs::FileTypeExt;
        match stat.map(|m| m.file_type()) {
            Some(t) if t.is_fifo() => FdTarget::Fifo(path),
            Some(t) if t.is_dir() => FdTarget::Directory(path),
            Some(t) if t.is_char_device() || t.is_block_device() => FdTarget::Device(path),
            _ => FdTarget::File(path),
        }
    }

    /// "a pipe", "terminal /dev/pts/3", "file /tmp/x", "TCP 1.2.3.4:5 ↔ …".
    pub fn describe(&self, sockets: &BTreeMap<u64, TcpSocket>) -> String {
        match self {
            FdTarget::Socket(inode) => match sockets.get(inode) {
                Some(s) => s.describe(),
                None => {
                    format!("socket {inode} (not a TCP socket of this namespace, or not connected)")
                }
            },
            FdTarget::Pipe(_) => "a pipe".to_string(),
            FdTarget::Fifo(p) => format!("named pipe {}", p.display()),
            FdTarget::Terminal(p) => format!("terminal {}", p.display()),
            FdTarget::PtyMaster => "a terminal's controlling side (/dev/ptmx)".to_string(),
            FdTarget::Device(p) => format!("device {}", p.display()),
            FdTarget::File(p) => format!("file {}", p.display()),
            FdTarget::Directory(p) => format!("directory {}", p.display()),
            FdTarget::Anon(kind) => kind.clone(),
            FdTarget::Other(text) => text.clone(),
        }
    }
}

/// How a process handles SIGALRM (the signal of `alarm()` and
/// `setitimer(ITIMER_REAL)`, whose timers `/proc/PID` does not show).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmDisposition {
    /// The default: the process ends when the alarm rings.
    Default,
    Ignored,
    /// A handler runs when it rings.
    Caught,
}

/// Everything `/proc` tells about one process at one look.
#[derive(Debug, Clone)]
pub struct ProcessView {
    pub pid: u32,
    pub comm: String,
    pub ppid: u32,
    /// Its process group.
    pub pgrp: u32,
    pub tasks: Vec<Task>,
    pub fds: BTreeMap<i32, FdTarget>,
    /// The network namespace its sockets live in.
    pub netns: Option<NetnsId>,
    pub alarm: AlarmDisposition,
    /// POSIX timers made with `timer_create` (`/proc/PID/timers`).
    pub posix_timers: usize,
    /// timerfd descriptors that are armed (their `fdinfo` shows a time left).
    pub armed_timerfds: Vec<i32>,
}

impl ProcessView {
    /// The facts about `pid`; `None` when it has gone (or was reaped).
    pub fn read(pid: u32) -> Option<ProcessView> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (comm, _, ppid, pgrp) = parse_stat(&stat)?;
        let tasks = tasks(pid);
        let fds = fds(pid);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let armed_timerfds = fds
            .iter()
            .filter(|(_, t)| matches!(t, FdTarget::Anon(k) if k == "timerfd"))
            .map(|(fd, _)| *fd)
            .filter(|fd| timerfd_armed(pid, *fd))
            .collect();
        Some(ProcessView {
            pid,
            comm,
            ppid,
            pgrp,
            tasks,
            fds,
            netns: NetnsId::of_process(pid).ok(),
            alarm: alarm_disposition(&status),
            posix_timers: std::fs::read_to_string(format!("/proc/{pid}/timers"))
                .map(|t| t.lines().filter(|l| l.starts_with("ID:")).count())
                .unwrap_or(0),
            armed_timerfds,
        })
    }

    /// The main thread's state letter (`Z` once it has exited but was not reaped).
    pub fn state(&self) -> char {
        self.tasks
            .iter()
            .find(|t| t.tid == self.pid)
            .or(self.tasks.first())
            .map_or('X', |t| t.state)
    }

    /// "sleeping in read() on fd 4 (fd 4 is TCP 10.0.0.1:20000 ↔ …, 0 bytes queued)".
    pub fn describe(&self, sockets: &BTreeMap<u64, TcpSocket>) -> String {
        let threads: Vec<String> = self
            .tasks
            .iter()
            .map(|task| {
                let what = describe_task(task);
                if self.tasks.len() > 1 {
                    format!("thread {}: {what}", task.tid)
                } else {
                    what
                }
            })
            .collect();
        let mut text = threads.join("; ");
        let waited: Vec<i32> = self
            .tasks
            .iter()
            .filter_map(|t| t.call.as_ref())
            .flat_map(waited_fds)
            .collect();
        let mut shown = Vec::new();
        for fd in waited {
            if shown.contains(&fd) {
                continue;
            }
            shown.push(fd);
            if let Some(target) = self.fds.get(&fd) {
                let stream = match fd {
                    0 => " (its standard input)",
                    1 => " (its standard output)",
                    2 => " (its standard error)",
                    _ => "",
                };
                text.push_str(&format!(
                    "; fd {fd}{stream} is {}",
                    target.describe(sockets)
                ));
            }
        }
        text
    }
}

/// "sleeping in read() on fd 4", "running", "stopped".
pub fn describe_task(task: &Task) -> String {
    let state = match task.state {
        'R' => return "running".to_string(),
        'S' => "sleeping",
        'D' => "in uninterruptible I/O",
        'Z' => return "exited (not yet collected by its parent)".to_string(),
        'T' | 't' => return "stopped".to_string(),
        'X' => return "exited".to_string(),
        _ => "in an unknown state",
    };
    match &task.call {
        Some(call) => format!("{state} in {}", call.describe()),
        None if task.wchan.is_empty() => state.to_string(),
        None => format!("{state} (kernel wait: {})", task.wchan),
    }
}

/// `(comm, state, ppid, pgrp)` from `/proc/PID/stat` (comm may hold
/// spaces and parentheses).
fn parse_stat(text: &str) -> Option<(String, char, u32, u32)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text[open + 1..close].to_string();
    let mut rest = text[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    let pgrp = rest.next()?.parse().ok()?;
    Some((comm, state, ppid, pgrp))
}

/// The threads of `pid`, each with state, wait channel, call and run count.
pub fn tasks(pid: u32) -> Vec<Task> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut tids: Vec<u32> = dir
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    tids.into_iter().filter_map(|tid| task(pid, tid)).collect()
}

/// One thread of `pid`, as [`tasks`] reads each (`None`: it has gone).
pub fn thread(pid: u32, tid: u32) -> Option<Task> {
    task(pid, tid)
}

fn task(pid: u32, tid: u32) -> Option<Task> {
    let base = format!("/proc/{pid}/task/{tid}");
    let stat = std::fs::read_to_string(format!("{base}/stat")).ok()?;
    let (_, state, _, _) = parse_stat(&stat)?;
    let wchan = std::fs::read_to_string(format!("{base}/wchan"))
        .map(|w| w.trim().to_string())
        .unwrap_or_default();
    let syscall = std::fs::read_to_string(format!("{base}/syscall"))
        .map(|s| parse_syscall(&s))
        .unwrap_or(Syscall::Unreadable);
    let runs = std::fs::read_to_string(format!("{base}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse().ok());
    let call = interpret(pid, &syscall);
    Some(Task {
        tid,
        state,
        wchan: if wchan == "0" { String::new() } else { wchan },
        syscall,
        call,
        runs,
    })
}

/// The inodes of the sockets `pid` holds (`/proc/PID/fd/N` → `socket:[INODE]`):
/// which sockets of its namespace are its own.
pub fn socket_inodes(pid: u32) -> std::collections::BTreeSet<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Default::default();
    };
    dir.filter_map(|entry| {
        let link = std::fs::read_link(entry.ok()?.path()).ok()?;
        link.to_str()?
            .strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    })
    .collect()
}

/// CPU time `pid` has used (user + system, its own threads, not its
/// children's), from `/proc/PID/stat`.
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    // Fields after comm: state is field 3; utime and stime are 14 and 15.
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let ticks = u64::try_from(ticks).ok().filter(|t| *t > 0)?;
    Some(Duration::from_millis((utime + stime) * 1000 / ticks))
}

fn fds(pid: u32) -> BTreeMap<i32, FdTarget> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return BTreeMap::new();
    };
    dir.filter_map(|entry| {
        let entry = entry.ok()?;
        let fd: i32 = entry.file_name().to_str()?.parse().ok()?;
        let link = std::fs::read_link(entry.path()).ok()?;
        let link = link.to_string_lossy();
        let stat = if link.starts_with('/') {
            std::fs::metadata(entry.path()).ok()
        } else {
            None
        };
        Some((fd, FdTarget::from_link(&link, stat.as_ref())))
    })
    .collect()
}

/// Bytes waiting to be read from a pipe, named pipe or terminal that `pid`
/// holds as `fd`, through a read-only, non-blocking descriptor of our own on
/// the same object (`/proc/PID/fd/N`) and `FIONREAD`. For a terminal in line
/// mode the kernel counts only whole lines: a half-typed line does not end a
/// `read()`.
pub fn readable_bytes(pid: u32, fd: i32) -> io::Result<u32> {
    let path = std::ffi::CString::new(format!("/proc/{pid}/fd/{fd}")).expect("no NUL");
    // SAFETY: open(2) with a valid path; O_NOCTTY keeps a terminal from
    // becoming socklab's controlling terminal.
    let raw = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: raw is a fresh descriptor owned by nobody else.
    let own = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    if unsafe { libc::ioctl(own.as_raw_fd(), libc::FIONREAD, &mut count) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(count.max(0) as u32)
}

/// A socket of a process that is not one of its namespace's TCP sockets,
/// as socklab sees it through its own copy (`pidfd_getfd`, which needs
/// ptrace rights over the process, as the rest of this module does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalSocket {
    /// A Unix stream socket (the only kind judged).
    pub unix: bool,
    /// Bytes waiting to be read (`SIOCINQ`).
    pub queued: u32,
    /// The process that made its other end (`SO_PEERCRED`), when known.
    pub peer: Option<u32>,
}

/// What socklab can tell about socket `fd` of `pid` from a copy of it.
pub fn local_socket(pid: u32, fd: i32) -> io::Result<LocalSocket> {
    // SAFETY: pidfd_open returns a new descriptor, which we then own.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_int, 0) };
    if pidfd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd as i32) };
    // SAFETY: pidfd_getfd returns a new descriptor (close-on-exec), which we then own.
    let copy = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor owned by nobody else.
    let copy = unsafe { OwnedFd::from_raw_fd(copy as i32) };
    let int_option = |level, name| -> io::Result<libc::c_int> {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `value`.
        let r = unsafe {
            libc::getsockopt(
                copy.as_raw_fd(),
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if r == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(value)
    };
    let unix = int_option(libc::SOL_SOCKET, libc::SO_DOMAIN)? == libc::AF_UNIX
        && int_option(libc::SOL_SOCKET, libc::SO_TYPE)? == libc::SOCK_STREAM;
    let mut queued: libc::c_int = 0;
    // SAFETY: SIOCINQ writes one int.
    if unsafe { libc::ioctl(copy.as_raw_fd(), libc::FIONREAD, &mut queued) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: ucred is plain integers; all zeros is a valid value.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`.
    let peer = (unsafe {
        libc::getsockopt(
            copy.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    } == 0
        && cred.pid > 0)
        .then_some(cred.pid as u32);
    Ok(LocalSocket {
        unix,
        queued: queued.max(0) as u32,
        peer,
    })
}

fn timerfd_armed(pid: u32, fd: i32) -> bool {
    let Ok(info) = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else {
        return true;
    };
    // `it_value: (0, 0)` is a disarmed timer.
    info.lines()
        .find_map(|l| l.strip_prefix("it_value:"))
        .is_none_or(|v| v.trim() != "(0, 0)")
}

/// From `/proc/PID/status`: SIGALRM (14) is bit 13 of the SigIgn/SigCgt masks.
fn alarm_disposition(status: &str) -> AlarmDisposition {
    let mask = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    let bit = 1u64 << (libc::SIGALRM - 1);
    if mask("SigIgn:") & bit != 0 {
        AlarmDisposition::Ignored
    } else if mask("SigCgt:") & bit != 0 {
        AlarmDisposition::Caught
    } else {
        AlarmDisposition::Default
    }
}

/// `pid` and its descendants (through `/proc/PID/task/TID/children`), each once.
pub fn tree(roots: &[u32]) -> Vec<u32> {
    let mut found: Vec<u32> = Vec::new();
    let mut queue: Vec<u32> = roots.to_vec();
    while let Some(pid) = queue.pop() {
        if found.contains(&pid) {
            continue;
        }
        found.push(pid);
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for tid in dir.filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string)) {
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/children"))
                .unwrap_or_default();
            queue.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_links() {
        assert_eq!(
            FdTarget::from_link("socket:[123]", None),
            FdTarget::Socket(123)
        );
        assert_eq!(FdTarget::from_link("pipe:[9]", None), FdTarget::Pipe(9));
        assert_eq!(
            FdTarget::from_link("anon_inode:[eventpoll]", None),
            FdTarget::Anon("eventpoll".into())
        );
        assert_eq!(
            FdTarget::from_link("/dev/pts/3", None),
            FdTarget::Terminal("/dev/pts/3".into())
        );
        assert_eq!(FdTarget::from_link("/dev/ptmx", None), FdTarget::PtyMaster);
        assert_eq!(
            FdTarget::from_link("/dev/tty", None),
            FdTarget::File("/dev/tty".into()),
            "not reopened as a terminal: it would be socklab's own"
        );
    }

    #[test]
    fn alarm_bits() {
        assert_eq!(
            alarm_disposition("SigIgn:\t0000000000002000\nSigCgt:\t0000000000000000\n"),
            AlarmDisposition::Ignored
        );
        assert_eq!(
            alarm_disposition("SigIgn:\t0000000000000000\nSigCgt:\t0000000000002000\n"),
            AlarmDisposition::Caught
        );
        assert_eq!(
            alarm_disposition("SigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n"),
            AlarmDisposition::Default
        );
    }

    #[test]
    fn this_thread_is_seen_running() {
        let me = std::process::id();
        let view = ProcessView::read(me).unwrap();
        assert_eq!(view.pid, me);
        assert!(!view.tasks.is_empty());
        assert!(tree(&[me]).contains(&me));
        // The thread reading its own syscall file is on a CPU.
        let tid = unsafe { libc::gettid() } as u32;
        let own = view.tasks.iter().find(|t| t.tid == tid).unwrap();
        assert_eq!(own.state, 'R');
        // It is seen inside the read() of its own syscall file.
        assert!(
            matches!(own.call, Some(Call::Input { name: "read", .. })),
            "{own:?}"
        );
    }
}
