//! Quiescence: can anything in a scenario still change without socklab
//! acting? When the answer is no, a check that waits for output, an exit or
//! a byte can fail at once instead of at its deadline, and "nothing arrives"
//! is proven in milliseconds instead of by a silence.
//!
//! # The rule
//!
//! A scenario is quiet when, looked at twice with the sockets read in
//! between, every one of its processes has
//!
//! - **exited** (gone, or a zombie), or
//! - every thread is **asleep (`S`) in a call that only input can end**, with
//!   nothing for it to take:
//!   - `read`/`readv`/`recv*` on one descriptor, `accept`/`accept4`, or
//!     `poll`/`ppoll`/`select`/`pselect6`/`epoll_wait`/`epoll_pwait` **with
//!     no timeout**, waiting only for input (not for writability), on
//!     descriptors with nothing queued: a TCP socket ESTABLISHED (or
//!     FIN_WAIT1/2) with an empty receive queue, a listening socket with no
//!     connection waiting to be accepted, a pipe, named pipe or terminal with
//!     no bytes to read (a terminal in line mode: no whole line);
//!   - `wait4`/`waitid` while none of its children is a zombie;
//!   - `pause`/`sigsuspend`/`sigtimedwait` without a timeout, `futex`
//!     without a timeout (another thread of the scenario must act);
//!
//!   and it has no timer that could wake it: no POSIX timer
//!   (`/proc/PID/timers`), no armed timerfd, and, unless it ignores SIGALRM,
//!   no `alarm()`/`setitimer` timer pending anywhere on the machine (see
//!   below);
//!
//! and, in each of the scenario's network namespaces, **nothing is in
//! flight**: no TCP socket has bytes sent but not yet acknowledged, none is
//! half-way through a handshake (SYN_SENT, SYN_RECV, a deferred connection)
//! or through a close that waits for an acknowledgement (FIN_WAIT1,
//! CLOSING, LAST_ACK).
//!
//! Anything else is **not quiet**: running or runnable (`R`), in
//! uninterruptible I/O (`D`), stopped (`T`), asleep on a timer (`nanosleep`,
//! `clock_nanosleep`, a poll/select/epoll/futex with a timeout), blocked
//! writing or connecting, in any other call, asleep outside a call, woken
//! between the two looks (its state, call or run count changed), or holding
//! a descriptor socklab cannot judge (a UDP or Unix socket, a device, a
//! descriptor whose queue it cannot read).
//!
//! Data queued on a descriptor the process does *not* wait on does not
//! count: a server blocked in `read()` on its first client cannot see the
//! second client waiting in its backlog, so that wait is quiet (this is how
//! an iterative server's "the second client gets nothing" is decided at once).
//! Sockets held by socklab itself count only through the namespace's
//! in-flight check: bytes socklab has not read yet are socklab's to read.
//!
//! # Conservative by design
//!
//! A wrong "quiet" turns a slow but correct program into a false failure; a
//! wrong "not quiet" only costs the deadline. So every doubt is "not quiet".
//!
//! # Blind spots
//!
//! - `alarm()` and `setitimer(ITIMER_REAL)` timers do not appear under
//!   `/proc/PID`. Where `/proc/timer_list` is readable (root), any such timer
//!   pending on the machine (`it_real_fn`; the file does not say whose) makes
//!   every process that does not ignore SIGALRM not quiet. Where it is not
//!   readable, a process that catches SIGALRM is not quiet, and one that
//!   leaves SIGALRM at its default (the alarm would end it) cannot be told
//!   from one with no alarm: that is the one case this rule may call quiet
//!   wrongly.
//! - A signal another process outside the scenario may send, or a file
//!   another process outside it may write, are not seen.
//! - `ITIMER_VIRTUAL`/`ITIMER_PROF` count CPU time, which a sleeping process
//!   does not use: they cannot ring while it sleeps.

use std::collections::BTreeMap;

use super::process::{AlarmDisposition, Call, FdTarget, LocalSocket, ProcessView, Task, Timeout};
use super::sock_diag::{NetnsId, TcpSocket, TcpState};

mod probe;

pub use probe::QuiescenceProbe;

/// What one look at the scenario found: the facts [`judge`] decides on.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The processes found (the roots and their descendants).
    pub processes: Vec<ProcessFacts>,
    /// Roots that had already gone.
    pub gone: Vec<u32>,
    /// The TCP sockets of each namespace looked at, or why they could not be read.
    pub sockets: BTreeMap<NetnsId, Result<Vec<TcpSocket>, String>>,
    /// `alarm()`/`setitimer` timers pending on the machine (`it_real_fn` in
    /// `/proc/timer_list`); `None` where that file cannot be read, or was
    /// not (no process that heeds SIGALRM had every thread asleep: the
    /// judge never asks then).
    pub alarms_pending: Option<usize>,
    /// Processes whose threads changed between the two looks, and how.
    pub woke: Vec<(u32, String)>,
    /// Process groups socklab stopped for good (a program that passed its
    /// output limit, and what it started): they never act again.
    pub frozen: Vec<u32>,
}

/// One process and what could be read about the descriptors it waits on.
#[derive(Debug, Clone)]
pub struct ProcessFacts {
    pub view: ProcessView,
    /// Bytes to read on the pipes and terminals it waits on (`Err`: why unknown).
    pub readable: BTreeMap<i32, Result<u32, String>>,
    /// The sockets it waits on that are not TCP sockets of its namespace.
    pub local: BTreeMap<i32, Result<LocalSocket, String>>,
}

/// The answer, with the evidence a failure message can quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub quiet: bool,
    /// One entry per process: what it is doing and why that is (not) quiet.
    pub processes: Vec<Evidence>,
    /// What keeps the scenario's network from being quiet (data in flight, handshakes).
    pub network: Vec<String>,
}

/// Why one process is or is not quiet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub pid: u32,
    pub comm: String,
    pub quiet: bool,
    /// "exited", "asleep in read() on fd 4; fd 4 is TCP …, 0 bytes queued",
    /// "asleep in nanosleep(): a timer will wake it".
    pub because: String,
}

impl Verdict {
    /// Every piece of evidence, one per line, the ones that are not quiet first.
    pub fn explain(&self) -> String {
        let mut lines: Vec<String> = self
            .processes
            .iter()
            .filter(|e| !e.quiet)
            .chain(self.processes.iter().filter(|e| e.quiet))
            .map(|e| match e.comm.as_str() {
                "" => format!("pid {}: {}", e.pid, e.because),
                comm => format!("pid {} ({comm}): {}", e.pid, e.because),
            })
            .collect();
        lines.extend(self.network.iter().cloned());
        lines.join("\n")
    }
}

/// Decides from the facts alone (no I/O): quiet or not, and why.
pub fn judge(facts: &Facts) -> Verdict {
    let mut processes = Vec::new();
    for pid in &facts.gone {
        processes.push(Evidence {
            pid: *pid,
            comm: String::new(),
            quiet: true,
            because: "exited".to_string(),
        });
    }
    let no_sockets = Ok(Vec::new());
    for p in &facts.processes {
        let table = p
            .view
            .netns
            .and_then(|id| facts.sockets.get(&id))
            .unwrap_or(&no_sockets);
        let by_inode: BTreeMap<u64, TcpSocket> = match table {
            Ok(list) => list.iter().map(|s| (s.inode, s.clone())).collect(),
            Err(_) => BTreeMap::new(),
        };
        let sockets_known = table.is_ok();
        let woke = facts
            .woke
            .iter()
            .find(|(pid, _)| *pid == p.view.pid)
            .map(|(_, how)| how.clone());
        let (quiet, because) = match judge_process(p, facts, &by_inode, sockets_known) {
            (true, _) if woke.is_some() => (false, woke.unwrap_or_default()),
            judged => judged,
        };
        processes.push(Evidence {
            pid: p.view.pid,
            comm: p.view.comm.clone(),
            quiet,
            because,
        });
    }
    for (pid, how) in &facts.woke {
        if !facts.processes.iter().any(|p| p.view.pid == *pid) {
            processes.push(Evidence {
                pid: *pid,
                comm: String::new(),
                quiet: false,
                because: how.clone(),
            });
        }
    }
    let owners = socket_owners(facts);
    let mut network = Vec::new();
    for table in facts.sockets.values() {
        match table {
            Ok(list) => network.extend(list.iter().filter_map(|s| in_flight(s, &owners))),
            Err(why) => network.push(format!("the sockets of a namespace cannot be read: {why}")),
        }
    }
    let quiet = processes.iter().all(|e| e.quiet) && network.is_empty();
    Verdict {
        quiet,
        processes,
        network,
    }
}

/// Which process holds each socket inode, for messages.
fn socket_owners(facts: &Facts) -> BTreeMap<u64, String> {
    let mut owners = BTreeMap::new();
    for p in &facts.processes {
        for target in p.view.fds.values() {
            if let FdTarget::Socket(inode) = target {
                owners
                    .entry(*inode)
                    .or_insert_with(|| format!("pid {} ({})", p.view.pid, p.view.comm));
            }
        }
    }
    owners
}

/// Why this socket means something is still moving, if it does.
fn in_flight(s: &TcpSocket, owners: &BTreeMap<u64, String>) -> Option<String> {
    let owner = owners
        .get(&s.inode)
        .map(|o| format!(" (held by {o})"))
        .unwrap_or_default();
    let what = match s.state {
        TcpState::SynSent | TcpState::SynRecv | TcpState::NewSynRecv => {
            format!("a connection is being set up: {}", s.describe())
        }
        TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck => {
            format!("a close waits for its acknowledgement: {}", s.describe())
        }
        TcpState::Listen | TcpState::TimeWait => return None,
        _ if s.send_queue > 0 => format!("data is in flight: {}", s.describe()),
        _ => return None,
    };
    Some(format!("{what}{owner}"))
}

/// Quiet or not for one process that did not change between the looks.
fn judge_process(
    p: &ProcessFacts,
    facts: &Facts,
    sockets: &BTreeMap<u64, TcpSocket>,
    sockets_known: bool,
) -> (bool, String) {
    let view = &p.view;
    let description = view.describe(sockets);
    if view.tasks.iter().all(|t| matches!(t.state, 'Z' | 'X')) {
        return (true, "exited (not yet collected by its parent)".to_string());
    }
    if facts.frozen.contains(&view.pgrp)
        && view
            .tasks
            .iter()
            .all(|t| matches!(t.state, 'T' | 't' | 'Z' | 'X'))
    {
        return (
            true,
            format!(
                "{description}: frozen by socklab with its process group at the output limit; it never goes on"
            ),
        );
    }
    for task in view.tasks.iter().filter(|t| !matches!(t.state, 'Z' | 'X')) {
        match judge_task(task, p, facts, sockets, sockets_known) {
            Ok(()) => {}
            Err(why) if why.is_empty() => return (false, description),
            Err(why) => return (false, format!("{description}: {why}")),
        }
    }
    if view.posix_timers > 0 {
        return (
            false,
            format!("{description}: it has POSIX timers (timer_create) that may wake it"),
        );
    }
    if let Some(fd) = view.armed_timerfds.first() {
        return (
            false,
            format!("{description}: its timerfd (fd {fd}) is armed"),
        );
    }
    if view.alarm != AlarmDisposition::Ignored {
        match facts.alarms_pending {
            Some(n) if n > 0 => {
                return (
                    false,
                    format!(
                        "{description}: an alarm()/setitimer timer is pending on this machine \
                         (the kernel does not say whose) and it does not ignore SIGALRM"
                    ),
                );
            }
            None if view.alarm == AlarmDisposition::Caught => {
                return (
                    false,
                    format!(
                        "{description}: it catches SIGALRM, and alarm() timers cannot be seen here"
                    ),
                );
            }
            _ => {}
        }
    }
    (true, description)
}

/// `Ok` when this thread can only be woken by input that is not there.
fn judge_task(
    task: &Task,
    p: &ProcessFacts,
    facts: &Facts,
    sockets: &BTreeMap<u64, TcpSocket>,
    sockets_known: bool,
) -> Result<(), String> {
    match task.state {
        'S' => {}
        // The description already says "running" / "in uninterruptible I/O".
        'R' | 'D' => return Err(String::new()),
        'T' | 't' => return Err("socklab cannot tell when it goes on".to_string()),
        other => return Err(format!("it is in state {other}")),
    }
    let Some(call) = &task.call else {
        return Err("it is asleep outside a system call socklab can read".to_string());
    };
    match call {
        Call::Input { fd, .. } | Call::Accept { fd, .. } => {
            nothing_to_read(*fd, p, facts, sockets, sockets_known)
        }
        Call::Multiplex { fds, timeout, .. } => {
            if *timeout != Timeout::Never {
                return Err("its timeout will wake it".to_string());
            }
            let list = fds
                .as_ref()
                .map_err(|why| format!("its descriptors could not be read ({why})"))?;
            for interest in list {
                if interest.output {
                    cannot_become_writable(interest.fd, p, sockets)?;
                }
                if interest.input || !interest.output {
                    nothing_to_read(interest.fd, p, facts, sockets, sockets_known)?;
                }
            }
            Ok(())
        }
        Call::Children { .. } => {
            let zombie = facts
                .processes
                .iter()
                .find(|c| c.view.ppid == p.view.pid && c.view.state() == 'Z');
            match zombie {
                Some(child) => Err(format!(
                    "its child {} has exited, so the wait returns",
                    child.view.pid
                )),
                None => Ok(()),
            }
        }
        Call::Signal { timeout, .. } | Call::Futex { timeout } => match timeout {
            Timeout::Never => Ok(()),
            _ => Err("its timeout will wake it".to_string()),
        },
        Call::Sleep { .. } => Err("a timer will wake it".to_string()),
        Call::Output { fd, .. } => Err(format!(
            "it is blocked writing fd {fd}: its bytes are still on their way"
        )),
        Call::Connect { .. } => Err("its connection is being set up".to_string()),
        Call::Other { .. } => Err("socklab cannot tell what ends this call".to_string()),
    }
}

/// `Ok` when waiting for descriptor `fd` to become writable cannot end:
/// a connected TCP socket with nothing unacknowledged is writable already,
/// so a level-triggered wait would not sleep, and an edge-triggered one
/// (epoll's `EPOLLET`, as tokio registers every socket) wakes only when
/// queued bytes drain, and there are none. A socket with bytes in flight
/// is caught by the namespace's in-flight check; anything else is doubt.
fn cannot_become_writable(
    fd: i32,
    p: &ProcessFacts,
    sockets: &BTreeMap<u64, TcpSocket>,
) -> Result<(), String> {
    let waits = || Err(format!("it waits to write fd {fd}"));
    let Some(FdTarget::Socket(inode)) = p.view.fds.get(&fd) else {
        return waits();
    };
    match sockets.get(inode) {
        Some(s)
            if matches!(s.state, TcpState::Established | TcpState::CloseWait)
                && s.send_queue == 0 =>
        {
            Ok(())
        }
        _ => waits(),
    }
}

/// `Ok` when descriptor `fd` of the process has nothing for it to take.
fn nothing_to_read(
    fd: i32,
    p: &ProcessFacts,
    facts: &Facts,
    sockets: &BTreeMap<u64, TcpSocket>,
    sockets_known: bool,
) -> Result<(), String> {
    match p.view.fds.get(&fd) {
        Some(FdTarget::Socket(inode)) => {
            if !sockets_known {
                return Err(format!("the sockets of fd {fd}'s namespace cannot be read"));
            }
            let Some(s) = sockets.get(inode) else {
                return local_socket_is_empty(fd, p, facts);
            };
            match s.state {
                TcpState::Listen
                | TcpState::Established
                | TcpState::FinWait1
                | TcpState::FinWait2
                    if s.recv_queue == 0 =>
                {
                    Ok(())
                }
                TcpState::Listen => Err(format!("fd {fd} has a connection waiting to be accepted")),
                TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2 => Err(format!(
                    "fd {fd} has {} queued",
                    plural(s.recv_queue, "byte")
                )),
                other => Err(format!(
                    "fd {fd} is in state {}: a read returns at once",
                    other.name()
                )),
            }
        }
        // Another thread's wake-up call (tokio's runtime waits on one beside
        // its sockets): only a new write wakes a sleeper, level- or
        // edge-triggered, and only the scenario's own threads hold it.
        Some(FdTarget::Anon(kind)) if kind == "eventfd" => Ok(()),
        Some(FdTarget::Pipe(_) | FdTarget::Fifo(_) | FdTarget::Terminal(_)) => {
            match p.readable.get(&fd) {
                Some(Ok(0)) => Ok(()),
                Some(Ok(n)) => Err(format!("fd {fd} has {} to read", plural(*n, "byte"))),
                Some(Err(why)) => Err(format!("fd {fd}'s queue cannot be read ({why})")),
                None => Err(format!("fd {fd}'s queue was not read")),
            }
        }
        Some(other) => Err(format!(
            "socklab cannot tell whether fd {fd} ({}) has input",
            other.describe(sockets)
        )),
        None => Err(format!("fd {fd} is no longer open")),
    }
}

/// `Ok` for a Unix stream socket with nothing queued whose other end a
/// process of the scenario made (tokio's signal pipe, a `socketpair`
/// between a program and its child): only the scenario could write to it.
fn local_socket_is_empty(fd: i32, p: &ProcessFacts, facts: &Facts) -> Result<(), String> {
    let unseen = || {
        Err(format!(
            "fd {fd} is a socket socklab cannot see (not TCP, or not connected)"
        ))
    };
    match p.local.get(&fd) {
        Some(Ok(local)) if local.unix => {
            let inside = local.peer.is_some_and(|peer| {
                peer == p.view.pid || facts.processes.iter().any(|q| q.view.pid == peer)
            });
            if local.queued > 0 {
                Err(format!(
                    "fd {fd} (a Unix socket) has {} queued",
                    plural(local.queued, "byte")
                ))
            } else if !inside {
                Err(format!(
                    "fd {fd} is a Unix socket whose other end is outside the scenario"
                ))
            } else {
                Ok(())
            }
        }
        _ => unseen(),
    }
}

fn plural(n: u32, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests;
