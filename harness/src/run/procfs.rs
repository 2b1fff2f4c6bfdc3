//! What the kernel says about processes and sockets, read from `/proc`.
//!
//! Readiness ("listening on port P") and process checks (children, zombies)
//! come from here, never from guesses or sleeps.

use std::collections::BTreeSet;

/// One process as `/proc/PID/stat` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub comm: String,
    pub state: char,
    pub ppid: u32,
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
    Some(ProcStat {
        pid,
        comm,
        state,
        ppid,
    })
}

/// Every process on the machine (as seen from socklab's pid namespace).
pub fn all_processes() -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .collect()
}

/// Direct children of `pid`.
pub fn children(pid: u32) -> Vec<ProcStat> {
    all_processes()
        .into_iter()
        .filter(|p| p.ppid == pid)
        .collect()
}

/// `pid` and all its descendants.
pub fn tree(pid: u32) -> Vec<u32> {
    let all = all_processes();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|p| p.ppid == parent).map(|p| p.pid));
        i += 1;
    }
    found
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
    pub local_port: u16,
    pub state: u8,
    pub inode: u64,
}

pub const TCP_LISTEN: u8 = 0x0A;

pub fn parse_proc_net_tcp(text: &str) -> Vec<TcpSocketInfo> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[0] == "sl" {
                return None;
            }
            let (_, port) = fields[1].rsplit_once(':')?;
            Some(TcpSocketInfo {
                local_port: u16::from_str_radix(port, 16).ok()?,
                state: u8::from_str_radix(fields[3], 16).ok()?,
                inode: fields[9].parse().ok()?,
            })
        })
        .collect()
}

/// Ports on which `pid` or one of its descendants holds a listening socket.
pub fn listening_ports_of(pid: u32) -> BTreeSet<u16> {
    let mut inodes = BTreeSet::new();
    for p in tree(pid) {
        inodes.extend(socket_inodes(p));
    }
    let mut table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    table.push_str(&std::fs::read_to_string(format!("/proc/{pid}/net/tcp6")).unwrap_or_default());
    parse_proc_net_tcp(&table)
        .into_iter()
        .filter(|s| s.state == TCP_LISTEN && inodes.contains(&s.inode))
        .map(|s| s.local_port)
        .collect()
}

/// What a process is doing, for "last seen" messages: state and kernel wait channel.
pub fn describe(pid: u32) -> Option<String> {
    let st = stat(pid)?;
    let state = match st.state {
        'R' => "running",
        'S' => "sleeping",
        'D' => "in uninterruptible I/O",
        'Z' => "exiting (not yet collected)",
        'T' | 't' => "stopped",
        _ => "in state ?",
    };
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    let blocked = match wchan.trim() {
        "" | "0" => String::new(),
        w if w.contains("accept") || w.contains("inet_csk") => " (blocked in accept())".into(),
        w if w.contains("tcp_recv") || w.contains("sk_wait") => {
            " (blocked reading a socket)".into()
        }
        w if w.contains("n_tty") || w.contains("tty_read") || w.contains("wait_woken") => {
            " (blocked reading its input)".into()
        }
        w => format!(" (kernel wait: {w})"),
    };
    Some(format!("{state}{blocked}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_spaces_and_parens_in_comm() {
        let s = parse_stat("42 (a (b) c) S 7 42 42 0 -1").unwrap();
        assert_eq!(s.pid, 42);
        assert_eq!(s.comm, "a (b) c");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 7);
    }

    #[test]
    fn proc_net_tcp_lines() {
        let text = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:2694 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n";
        let sockets = parse_proc_net_tcp(text);
        assert_eq!(
            sockets,
            vec![TcpSocketInfo {
                local_port: 9876,
                state: TCP_LISTEN,
                inode: 12345
            }]
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
