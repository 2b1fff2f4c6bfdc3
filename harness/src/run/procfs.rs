//! What the kernel says about processes and sockets, read from `/proc`.
//!
//! Readiness ("listening on port P") and process checks (children, zombies)
//! come from here, never from guesses or sleeps.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One process as `/proc/PID/stat` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    /// The kernel is ending it (`PF_EXITING`): its descriptors are closing
    /// or closed, its exit status not yet there for its parent.
    pub exiting: bool,
}

pub fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    let comm = text[open + 1..close].to_string();
    let mut rest = text[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    // pgrp, session, tty_nr, tpgid, then the flags.
    let flags: u64 = rest.nth(4).and_then(|f| f.parse().ok()).unwrap_or(0);
    const PF_EXITING: u64 = 0x4;
    Some(ProcStat {
        pid,
        comm,
        state,
        ppid,
        exiting: flags & PF_EXITING != 0 || matches!(state, 'Z' | 'X'),
    })
}

/// Direct children of `pid`, from the kernel's list of each of its
/// threads' children (`/proc/PID/task/TID/children`), not a walk of every
/// process on the machine (which a class run makes long).
pub fn children(pid: u32) -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut found: Vec<ProcStat> = Vec::new();
    for tid in dir.filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string)) {
        let listed =
            std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/children")).unwrap_or_default();
        for child in listed
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            // Gone since, or already reaped and its pid reused: not a child.
            if let Some(stat) = stat(child).filter(|s| s.ppid == pid)
                && !found.iter().any(|f| f.pid == stat.pid)
            {
                found.push(stat);
            }
        }
    }
    found
}

/// `pid` and all its descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    crate::kernel::process::tree(&[pid])
}

fn socket_inodes(pid: u32) -> BTreeSet<u64> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return BTreeSet::new();
    };
    dir.filter_map(|e| {
        let target = std::fs::read_link(e.ok()?.path()).ok()?;
        let text = target.to_str()?;
        text.strip_prefix("socket:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    })
    .collect()
}

/// A socket line of `/proc/net/tcp{,6}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpSocketInfo {
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub local_port: u16,
    pub state: u8,
    /// Bytes sent but not yet acknowledged (or, listening, the accept backlog).
    pub unsent: u32,
    /// Bytes received that the program has not read yet.
    pub unread: u32,
    pub inode: u64,
}

pub const TCP_LISTEN: u8 = 0x0A;

/// The kernel's names for TCP states (`include/net/tcp_states.h`).
pub fn tcp_state_name(state: u8) -> &'static str {
    match state {
        0x01 => "ESTABLISHED",
        0x02 => "SYN_SENT",
        0x03 => "SYN_RECV",
        0x04 => "FIN_WAIT1",
        0x05 => "FIN_WAIT2",
        0x06 => "TIME_WAIT",
        0x07 => "CLOSE",
        0x08 => "CLOSE_WAIT",
        0x09 => "LAST_ACK",
        0x0A => "LISTEN",
        0x0B => "CLOSING",
        _ => "UNKNOWN",
    }
}

/// `0100007F:2694` (IPv4) or 32 hex digits and a port (IPv6), each 32-bit
/// word in the kernel's byte order.
fn parse_socket_addr(text: &str) -> Option<SocketAddr> {
    let (addr, port) = text.rsplit_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let ip = match words.as_slice() {
        [w] => IpAddr::V4(Ipv4Addr::from(w.swap_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (chunk, word) in bytes.chunks_mut(4).zip([a, b, c, d]) {
                chunk.copy_from_slice(&word.to_le_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

pub fn parse_proc_net_tcp(text: &str) -> Vec<TcpSocketInfo> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[0] == "sl" {
                return None;
            }
            let local = parse_socket_addr(fields[1])?;
            let (tx, rx) = fields[4].split_once(':')?;
            Some(TcpSocketInfo {
                local,
                remote: parse_socket_addr(fields[2])?,
                local_port: local.port(),
                state: u8::from_str_radix(fields[3], 16).ok()?,
                unsent: u32::from_str_radix(tx, 16).ok()?,
                unread: u32::from_str_radix(rx, 16).ok()?,
                inode: fields[9].parse().ok()?,
            })
        })
        .collect()
}

/// The TCP sockets `pid` holds, as its network namespace sees them.
pub fn tcp_sockets_of(pid: u32) -> Vec<TcpSocketInfo> {
    let inodes = socket_inodes(pid);
    let mut table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    table.push_str(&std::fs::read_to_string(format!("/proc/{pid}/net/tcp6")).unwrap_or_default());
    parse_proc_net_tcp(&table)
        .into_iter()
        .filter(|s| inodes.contains(&s.inode))
        .collect()
}

/// "listening on 0.0.0.0:9877", "127.0.0.1:40112 → 127.0.0.1:9877
/// ESTABLISHED, 14 bytes unread".
pub fn describe_socket(s: &TcpSocketInfo) -> String {
    if s.state == TCP_LISTEN {
        return format!("listening on {}", s.local);
    }
    let mut text = format!("{} → {} {}", s.local, s.remote, tcp_state_name(s.state));
    if s.unread > 0 {
        text.push_str(&format!(", {} bytes received but not read", s.unread));
    }
    if s.unsent > 0 {
        text.push_str(&format!(", {} bytes not yet acknowledged", s.unsent));
    }
    text
}

/// Ports on which `pid` or one of its descendants holds a listening socket.
pub fn listening_ports_of(pid: u32) -> BTreeSet<u16> {
    tree(pid)
        .into_iter()
        .flat_map(tcp_sockets_of)
        .filter(|s| s.state == TCP_LISTEN)
        .map(|s| s.local_port)
        .collect()
}

/// What a process is doing, for "last seen" messages, from what the kernel
/// shows rather than a guess: each thread's state and the call it is blocked
/// in, which descriptor that call waits on and what the descriptor is (its
/// standard input, a terminal; a socket connected to PEER; a listening
/// socket), then the process's other TCP sockets. "sleeping in read() on fd
/// 3; fd 3 is TCP 127.0.0.1:40112 ↔ 127.0.0.1:9877 ESTABLISHED, 0 queued".
pub fn describe(pid: u32) -> Option<String> {
    use crate::kernel::process::{FdTarget, ProcessView, waited_fds};
    use crate::kernel::sock_diag::{SockDiag, States};
    let view = ProcessView::read(pid)?;
    let sockets: std::collections::BTreeMap<u64, _> = SockDiag::of_process(pid)
        .and_then(|diag| diag.sockets(States::HELD))
        .map(|all| {
            all.into_iter()
                .filter(|s| s.inode != 0)
                .map(|s| (s.inode, s))
                .collect()
        })
        .unwrap_or_default();
    let mut text = view.describe(&sockets);
    let waited: Vec<i32> = view
        .tasks
        .iter()
        .filter_map(|t| t.call.as_ref())
        .flat_map(waited_fds)
        .collect();
    let others: Vec<String> = view
        .fds
        .iter()
        .filter(|(fd, target)| !waited.contains(fd) && matches!(target, FdTarget::Socket(_)))
        .map(|(fd, target)| format!("fd {fd} is {}", target.describe(&sockets)))
        .collect();
    if !others.is_empty() {
        text.push_str(&format!("; its other sockets: {}", others.join("; ")));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's children lists find a child of any thread, running or
    /// a zombie, and nothing else's.
    #[test]
    fn children_are_found_running_and_as_zombies() {
        let me = std::process::id();
        let mut running = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        // Started from another thread: listed under that thread.
        let mut ended = std::thread::spawn(|| std::process::Command::new("true").spawn().unwrap())
            .join()
            .unwrap();
        let pid = ended.id();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while stat(pid).is_some_and(|s| s.state != 'Z') && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let kids = children(me);
        let _ = running.kill();
        let _ = running.wait();
        let _ = ended.wait();
        assert!(
            kids.iter().any(|k| k.pid == running.id() && k.state != 'Z'),
            "{kids:?}"
        );
        assert!(
            kids.iter().any(|k| k.pid == pid && k.state == 'Z'),
            "{kids:?}"
        );
        assert!(kids.iter().all(|k| k.ppid == me), "{kids:?}");
        assert_eq!(tree(running.id()), [running.id()]);
    }

    #[test]
    fn stat_with_spaces_and_parens_in_comm() {
        let s = parse_stat("42 (a (b) c) S 7 42 42 0 -1").unwrap();
        assert_eq!(s.pid, 42);
        assert_eq!(s.comm, "a (b) c");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 7);
        assert!(!s.exiting);
    }

    #[test]
    fn a_process_on_its_way_out_is_exiting() {
        // The flags of a task in do_exit (PF_EXITING, 0x4, set).
        let s = parse_stat("42 (srv) R 7 42 42 0 -1 4194372 0 0").unwrap();
        assert!(s.exiting);
        let s = parse_stat("42 (srv) R 7 42 42 0 -1 4194368 0 0").unwrap();
        assert!(!s.exiting);
        assert!(
            parse_stat("42 (srv) Z 7 42 42 0 -1 4194368 0 0")
                .unwrap()
                .exiting
        );
    }

    #[test]
    fn proc_net_tcp_lines() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:2694 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:A0B0 0100007F:2694 01 00000002:0000000E 00:00000000 00000000     0        0 777 1 0000000000000000 100 0 0 10 0\n";
        let sockets = parse_proc_net_tcp(text);
        assert_eq!(sockets.len(), 2);
        assert_eq!(
            sockets[0],
            TcpSocketInfo {
                local: "0.0.0.0:9876".parse().unwrap(),
                remote: "0.0.0.0:0".parse().unwrap(),
                local_port: 9876,
                state: TCP_LISTEN,
                unsent: 0,
                unread: 0,
                inode: 12345
            }
        );
        assert_eq!(describe_socket(&sockets[0]), "listening on 0.0.0.0:9876");
        assert_eq!(
            describe_socket(&sockets[1]),
            "127.0.0.1:41136 → 127.0.0.1:9876 ESTABLISHED, 14 bytes received but not read, 2 bytes not yet acknowledged"
        );
    }

    #[test]
    fn proc_net_tcp6_addresses() {
        // ::1 port 9877, as /proc/net/tcp6 prints it.
        let addr = parse_socket_addr("00000000000000000000000001000000:2695").unwrap();
        assert_eq!(addr, "[::1]:9877".parse().unwrap());
    }

    #[test]
    fn own_connected_socket_is_described() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let sockets = tcp_sockets_of(std::process::id());
        let texts: Vec<String> = sockets.iter().map(describe_socket).collect();
        assert!(
            texts.contains(&format!("listening on 127.0.0.1:{port}")),
            "{texts:?}"
        );
        assert!(
            texts
                .iter()
                .any(|t| t.ends_with(&format!("→ 127.0.0.1:{port} ESTABLISHED"))),
            "{texts:?}"
        );
    }

    #[test]
    fn sees_own_process() {
        let me = std::process::id();
        let st = stat(me).unwrap();
        assert_eq!(st.pid, me);
        assert!(tree(me).contains(&me));
    }
}
