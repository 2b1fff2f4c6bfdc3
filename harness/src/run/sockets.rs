//! The TCP sockets of a scenario's hosts, as the kernel reports them
//! (`kernel::sock_diag`), for the steps that must know about sockets they
//! do not hold: which ports a program listens on (`wait_listen`), how much
//! of what socklab sent the reader has taken (the proxy's and the peers'
//! pacing), which program holds the other end of a connection (to name the
//! program at fault), whether a port is still held before a server starts.
//!
//! One netlink socket per host, opened the first time it is asked for and
//! kept for the scenario: a probe is a `sendto` and a `recv`, with no thread
//! per probe and no walk of `/proc/net/tcp`.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::net::SocketAddr;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Mutex};

use crate::kernel::{SockDiag, TcpSocket, TcpState, Traffic, process};
use crate::sandbox::{Host, Sandbox};

/// The sockets of every host of one scenario.
#[derive(Default)]
pub struct HostSockets {
    by_host: Mutex<BTreeMap<String, Arc<SockDiag>>>,
}

impl HostSockets {
    /// The netlink socket that reports on `host`'s namespace (socklab's own
    /// namespace at the loopback level).
    pub fn of(&self, host: &Host) -> io::Result<Arc<SockDiag>> {
        let mut by_host = self.by_host.lock().expect("sockets lock");
        if let Some(diag) = by_host.get(&host.name) {
            return Ok(diag.clone());
        }
        let diag = Arc::new(match host.netns_fd() {
            // SAFETY: the host owns the descriptor for the sandbox's life,
            // which outlasts this call.
            Some(fd) => SockDiag::in_namespace(unsafe { BorrowedFd::borrow_raw(fd) })?,
            None => SockDiag::current()?,
        });
        by_host.insert(host.name.clone(), diag.clone());
        Ok(diag)
    }

    /// One reporter per host of `sandbox`, for code that runs apart from
    /// the steps (the proxy) and must find a socket on any host.
    pub fn all(&self, sandbox: &Sandbox) -> Vec<Arc<SockDiag>> {
        sandbox.hosts().filter_map(|h| self.of(h).ok()).collect()
    }

    /// The addresses on which the processes `pids` hold listening sockets
    /// on `host`.
    pub fn listening_of(&self, host: &Host, pids: &[u32]) -> io::Result<Vec<SocketAddr>> {
        // The namespace's listeners first (one netlink dump): until a
        // server listens there are none, and its descriptors need no look.
        let listeners = self.of(host)?.listening(None)?;
        if listeners.is_empty() {
            return Ok(Vec::new());
        }
        let inodes: BTreeSet<u64> = pids
            .iter()
            .flat_map(|pid| process::socket_inodes(*pid))
            .collect();
        let mut found: Vec<SocketAddr> = listeners
            .into_iter()
            .filter(|s| inodes.contains(&s.inode))
            .map(|s| s.local)
            .collect();
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// Sockets on `host` that keep a server from binding `port`: any with
    /// that local port, in any state (TIME_WAIT included).
    pub fn holding_port(&self, host: &Host, port: u16) -> io::Result<Vec<TcpSocket>> {
        self.of(host)?.holding_port(port)
    }
}

/// Finds the socket with the given addresses on whichever host holds it.
pub fn find_on(
    hosts: &[Arc<SockDiag>],
    local: SocketAddr,
    remote: SocketAddr,
) -> Option<(TcpSocket, Option<Traffic>)> {
    hosts
        .iter()
        .find_map(|diag| diag.find(local, remote).ok().flatten())
}

/// Whether the program at the other end of a connection has closed its
/// socket for good (no descriptor holds it any more, or it is gone), as
/// opposed to only shutting down its sending side. `writer` is our end.
pub fn other_end_closed(hosts: &[Arc<SockDiag>], writer: &tokio::net::TcpStream) -> bool {
    let (Ok(ours), Ok(theirs)) = (writer.local_addr(), writer.peer_addr()) else {
        return true;
    };
    match find_on(hosts, theirs, ours) {
        None => true,
        Some((socket, _)) => socket.inode == 0,
    }
}

/// How much of what was written on a connection its reader has not taken
/// yet: in flight, or waiting in the reader's receive queue. `None` when
/// the reader's socket is gone (or cannot be found).
pub fn untaken(
    hosts: &[Arc<SockDiag>],
    reader_local: SocketAddr,
    reader_remote: SocketAddr,
    written: u64,
) -> Option<u64> {
    let (socket, traffic) = find_on(hosts, reader_local, reader_remote)?;
    if !matches!(
        socket.state,
        TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
    ) {
        return None;
    }
    let in_flight = traffic.map_or(0, |t| written.saturating_sub(t.bytes_received));
    Some(in_flight + u64::from(socket.recv_queue))
}

/// Whether a TIME_WAIT or any other socket still holds a port, in words:
/// "TCP 127.0.0.1:13 ↔ 127.0.0.1:41234 TIME_WAIT".
pub fn describe_holders(sockets: &[TcpSocket]) -> String {
    sockets
        .iter()
        .map(|s| format!("TCP {} ↔ {} {}", s.local, s.remote, s.state.name()))
        .collect::<Vec<_>>()
        .join("; ")
}
