//! What a blocked system call waits for, read from `/proc/PID/task/TID/syscall`
//! and, where its arguments point into the process, from its memory (poll's
//! array, select's sets, timeouts) or `/proc/PID/fdinfo` (an epoll interest
//! list): [`interpret`] turns the raw [`Syscall`] into a [`Call`] that reads
//! as a sentence ("read() on fd 4", "poll() on fds 0, 3 without a timeout").
//! Split from [`super::process`], which reads the rest of what a process is
//! doing.

use std::io;
use std::time::Duration;

use super::syscalls;

/// `/proc/PID/task/TID/syscall`, raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Syscall {
    /// On a CPU (or about to be): not blocked.
    Running,
    /// Blocked, but not in a system call (a page fault, a stop).
    NotInSyscall,
    /// Blocked in system call `nr` with these arguments.
    In { nr: i64, args: [u64; 6] },
    /// The file could not be read (no ptrace rights, or the thread ended).
    Unreadable,
}

/// What a blocked system call waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// read/readv/recvfrom/recvmsg on one descriptor.
    Input { name: &'static str, fd: i32 },
    /// accept/accept4 on a listening socket.
    Accept { name: &'static str, fd: i32 },
    /// write/send… blocked: the other side does not take the bytes.
    Output { name: &'static str, fd: i32 },
    /// connect: a handshake under way.
    Connect { fd: i32 },
    /// poll/ppoll/select/pselect6/epoll_wait…: any of several descriptors.
    Multiplex {
        name: &'static str,
        /// The descriptors and what is awaited on each; `Err` says why
        /// they could not be read from the process.
        fds: Result<Vec<Interest>, String>,
        timeout: Timeout,
    },
    /// wait4/waitid: a child's end.
    Children { name: &'static str },
    /// pause/sigsuspend/sigtimedwait: a signal.
    Signal {
        name: &'static str,
        timeout: Timeout,
    },
    /// nanosleep/clock_nanosleep/restart_syscall: a timer.
    Sleep { name: &'static str },
    /// futex: another thread (with or without a timeout).
    Futex { timeout: Timeout },
    /// Anything else.
    Other { nr: i64, name: Option<&'static str> },
}

/// One descriptor a multiplexing call waits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interest {
    pub fd: i32,
    /// Waits for it to become readable (POLLIN, a read set, EPOLLIN…).
    pub input: bool,
    /// Waits for it to become writable.
    pub output: bool,
}

/// The timeout of a blocking call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// It waits until something happens, however long.
    Never,
    /// It ends by itself after this long (as given to the call).
    After(Duration),
    /// It has a timeout whose value could not be read.
    Unknown,
}

impl Timeout {
    fn describe(self) -> String {
        match self {
            Timeout::Never => "without a timeout".to_string(),
            Timeout::After(d) => format!("with a timeout of {}", seconds(d)),
            Timeout::Unknown => "with a timeout".to_string(),
        }
    }
}

fn seconds(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

impl Call {
    /// "read() on fd 4", "poll() on fds 0, 3 without a timeout", "nanosleep()".
    pub fn describe(&self) -> String {
        match self {
            Call::Input { name, fd } | Call::Output { name, fd } | Call::Accept { name, fd } => {
                format!("{name}() on fd {fd}")
            }
            Call::Connect { fd } => format!("connect() on fd {fd}"),
            Call::Multiplex { name, fds, timeout } => {
                let on = match fds {
                    Ok(list) if list.is_empty() => "no fd".to_string(),
                    Ok(list) => {
                        let shown: Vec<String> = list
                            .iter()
                            .map(|i| match (i.input, i.output) {
                                (_, true) => format!("{} (for writing)", i.fd),
                                _ => i.fd.to_string(),
                            })
                            .collect();
                        format!(
                            "fd{} {}",
                            if list.len() == 1 { "" } else { "s" },
                            shown.join(", ")
                        )
                    }
                    Err(_) => "fds socklab could not read".to_string(),
                };
                format!("{name}() on {on} {}", timeout.describe())
            }
            Call::Children { name } | Call::Sleep { name } => format!("{name}()"),
            Call::Signal { name, timeout } => format!("{name}() {}", timeout.describe()),
            Call::Futex { timeout } => format!("futex() {}", timeout.describe()),
            Call::Other { nr, name } => match name {
                Some(name) => format!("{name}()"),
                None => format!("system call {nr}"),
            },
        }
    }
}

/// The descriptors a call waits on.
pub fn waited_fds(call: &Call) -> Vec<i32> {
    match call {
        Call::Input { fd, .. }
        | Call::Accept { fd, .. }
        | Call::Output { fd, .. }
        | Call::Connect { fd } => vec![*fd],
        Call::Multiplex { fds: Ok(list), .. } => list.iter().map(|i| i.fd).collect(),
        _ => Vec::new(),
    }
}

/// `NR ARG0 … ARG5 SP PC`, `running`, or `-1 SP PC`.
pub(super) fn parse_syscall(text: &str) -> Syscall {
    let mut words = text.split_whitespace();
    let Some(first) = words.next() else {
        return Syscall::Unreadable;
    };
    if first == "running" {
        return Syscall::Running;
    }
    let Ok(nr) = first.parse::<i64>() else {
        return Syscall::Unreadable;
    };
    if nr < 0 {
        return Syscall::NotInSyscall;
    }
    let mut args = [0u64; 6];
    for arg in &mut args {
        match words
            .next()
            .and_then(|w| u64::from_str_radix(w.trim_start_matches("0x"), 16).ok())
        {
            Some(value) => *arg = value,
            None => return Syscall::Unreadable,
        }
    }
    Syscall::In { nr, args }
}

/// What the call a thread is blocked in waits for; `None` when it is not
/// blocked in a call. Reads the call's arguments from the process's memory
/// where they point there (poll's array, select's sets, timeouts) and the
/// epoll interest list from `/proc/PID/fdinfo`.
pub fn interpret(pid: u32, syscall: &Syscall) -> Option<Call> {
    let Syscall::In { nr, args } = syscall else {
        return None;
    };
    let fd = args[0] as i32;
    let int = |i: usize| args[i] as u32 as i32;
    let name = syscalls::name(*nr);
    let Some(name) = name else {
        return Some(Call::Other { nr: *nr, name });
    };
    Some(match name {
        "read" | "readv" | "pread64" | "preadv" | "recvfrom" | "recvmsg" => {
            Call::Input { name, fd }
        }
        "recvmmsg" if args[4] == 0 => Call::Input { name, fd },
        "write" | "writev" | "pwrite64" | "sendto" | "sendmsg" | "sendmmsg" => {
            Call::Output { name, fd }
        }
        "sendfile" | "splice" => Call::Output {
            name,
            fd: if name == "sendfile" { fd } else { int(2) },
        },
        "accept" | "accept4" => Call::Accept { name, fd },
        "connect" => Call::Connect { fd },
        "poll" => Call::Multiplex {
            name,
            fds: poll_fds(pid, args[0], args[1]),
            timeout: millis(int(2)),
        },
        "ppoll" => Call::Multiplex {
            name,
            fds: poll_fds(pid, args[0], args[1]),
            timeout: timespec_at(pid, args[2]),
        },
        "select" => Call::Multiplex {
            name,
            fds: select_fds(pid, int(0), [args[1], args[2], args[3]]),
            timeout: timeval_at(pid, args[4]),
        },
        "pselect6" => Call::Multiplex {
            name,
            fds: select_fds(pid, int(0), [args[1], args[2], args[3]]),
            timeout: timespec_at(pid, args[4]),
        },
        "epoll_wait" | "epoll_pwait" => Call::Multiplex {
            name,
            fds: epoll_fds(pid, fd),
            timeout: millis(int(3)),
        },
        "epoll_pwait2" => Call::Multiplex {
            name,
            fds: epoll_fds(pid, fd),
            timeout: timespec_at(pid, args[3]),
        },
        "wait4" | "waitid" => Call::Children { name },
        "pause" | "sigsuspend" => Call::Signal {
            name,
            timeout: Timeout::Never,
        },
        "sigtimedwait" => Call::Signal {
            name,
            timeout: timespec_at(pid, args[2]),
        },
        "nanosleep" | "clock_nanosleep" | "restart_syscall" => Call::Sleep { name },
        "futex" => {
            // FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_LOCK_PI(2), FUTEX_WAIT_REQUEUE_PI
            // take a timeout in the fourth argument; the rest do not block long.
            let op = int(1) & 127;
            let timeout = match op {
                0 | 6 | 9 | 11 | 13 if args[3] == 0 => Timeout::Never,
                0 | 6 | 9 | 11 | 13 => Timeout::Unknown,
                _ => Timeout::Unknown,
            };
            Call::Futex { timeout }
        }
        "futex_waitv" => Call::Futex {
            timeout: if args[3] == 0 {
                Timeout::Never
            } else {
                Timeout::Unknown
            },
        },
        _ => Call::Other {
            nr: *nr,
            name: Some(name),
        },
    })
}

fn millis(ms: i32) -> Timeout {
    if ms < 0 {
        Timeout::Never
    } else {
        Timeout::After(Duration::from_millis(ms as u64))
    }
}

/// Bytes of the process's memory at `addr` (root, or ptrace rights over it).
fn read_memory(pid: u32, addr: u64, len: usize) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mem = std::fs::File::open(format!("/proc/{pid}/mem"))?;
    let mut buf = vec![0u8; len];
    mem.read_exact_at(&mut buf, addr)?;
    Ok(buf)
}

fn timespec_at(pid: u32, addr: u64) -> Timeout {
    if addr == 0 {
        return Timeout::Never;
    }
    match read_memory(pid, addr, 16) {
        Ok(b) => {
            let secs = i64::from_ne_bytes(b[0..8].try_into().expect("8 bytes"));
            let nanos = i64::from_ne_bytes(b[8..16].try_into().expect("8 bytes"));
            match (u64::try_from(secs), u32::try_from(nanos)) {
                (Ok(s), Ok(n)) => Timeout::After(Duration::new(s, n)),
                _ => Timeout::Unknown,
            }
        }
        Err(_) => Timeout::Unknown,
    }
}

fn timeval_at(pid: u32, addr: u64) -> Timeout {
    if addr == 0 {
        return Timeout::Never;
    }
    match read_memory(pid, addr, 16) {
        Ok(b) => {
            let secs = i64::from_ne_bytes(b[0..8].try_into().expect("8 bytes"));
            let micros = i64::from_ne_bytes(b[8..16].try_into().expect("8 bytes"));
            match (u64::try_from(secs), u64::try_from(micros)) {
                (Ok(s), Ok(u)) => Timeout::After(Duration::from_secs(s) + Duration::from_micros(u)),
                _ => Timeout::Unknown,
            }
        }
        Err(_) => Timeout::Unknown,
    }
}

/// The most descriptors read from a poll array or select sets.
const MOST_FDS: u64 = 4096;

/// `struct pollfd { int fd; short events; short revents; }[nfds]`.
fn poll_fds(pid: u32, addr: u64, nfds: u64) -> Result<Vec<Interest>, String> {
    if nfds == 0 {
        return Ok(Vec::new());
    }
    if nfds > MOST_FDS {
        return Err(format!("{nfds} descriptors"));
    }
    let raw = read_memory(pid, addr, nfds as usize * 8).map_err(|e| e.to_string())?;
    Ok(raw
        .chunks_exact(8)
        .filter_map(|entry| {
            let fd = i32::from_ne_bytes(entry[0..4].try_into().expect("4 bytes"));
            let events = i16::from_ne_bytes(entry[4..6].try_into().expect("2 bytes"));
            // A negative fd is skipped by the kernel.
            (fd >= 0).then_some(Interest {
                fd,
                input: events & (libc::POLLIN | libc::POLLPRI | libc::POLLRDHUP) != 0,
                output: events & (libc::POLLOUT | libc::POLLWRBAND) != 0,
            })
        })
        .collect())
}

/// The read, write and except sets (bitmaps of `nfds` bits).
fn select_fds(pid: u32, nfds: i32, sets: [u64; 3]) -> Result<Vec<Interest>, String> {
    if nfds <= 0 {
        return Ok(Vec::new());
    }
    if nfds as u64 > MOST_FDS {
        return Err(format!("{nfds} descriptors"));
    }
    let bytes = (nfds as usize).div_ceil(64) * 8;
    let mut bits = Vec::new();
    for addr in sets {
        if addr == 0 {
            bits.push(vec![0u8; bytes]);
        } else {
            bits.push(read_memory(pid, addr, bytes).map_err(|e| e.to_string())?);
        }
    }
    let set = |which: usize, fd: usize| bits[which][fd / 8] & (1 << (fd % 8)) != 0;
    Ok((0..nfds as usize)
        .filter_map(|fd| {
            let input = set(0, fd) || set(2, fd);
            let output = set(1, fd);
            (input || output).then_some(Interest {
                fd: fd as i32,
                input,
                output,
            })
        })
        .collect())
}

/// The interest list of epoll descriptor `epfd`, from `/proc/PID/fdinfo/EPFD`
/// (`tfd: 5 events: 19 data: …`), in the order of the descriptors: the
/// kernel lists them in the order of its own tree (by the address of each
/// open file), which differs from run to run.
fn epoll_fds(pid: u32, epfd: i32) -> Result<Vec<Interest>, String> {
    let info =
        std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{epfd}")).map_err(|e| e.to_string())?;
    Ok(parse_epoll_fdinfo(&info))
}

fn parse_epoll_fdinfo(info: &str) -> Vec<Interest> {
    let mut fds: Vec<Interest> = info
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            if words.next()? != "tfd:" {
                return None;
            }
            let fd = words.next()?.parse().ok()?;
            if words.next()? != "events:" {
                return None;
            }
            let events = u32::from_str_radix(words.next()?, 16).ok()?;
            Some(Interest {
                fd,
                input: events & (libc::EPOLLIN | libc::EPOLLPRI | libc::EPOLLRDHUP) as u32 != 0,
                output: events & libc::EPOLLOUT as u32 != 0,
            })
        })
        .collect();
    fds.sort_by_key(|interest| interest.fd);
    fds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoll_interest_list_is_in_the_order_of_its_descriptors() {
        let info = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\n\
                    tfd:        9 events:       1d data: 2 pos:0 ino:5 sdev:8\n\
                    tfd:        4 events:       19 data: 1 pos:0 ino:6 sdev:8\n\
                    tfd:        6 events:       04 data: 3 pos:0 ino:7 sdev:8\n";
        let fds: Vec<(i32, bool, bool)> = parse_epoll_fdinfo(info)
            .iter()
            .map(|i| (i.fd, i.input, i.output))
            .collect();
        assert_eq!(fds, [(4, true, false), (6, false, true), (9, true, true)]);
    }

    #[test]
    fn syscall_lines() {
        assert_eq!(parse_syscall("running\n"), Syscall::Running);
        assert_eq!(parse_syscall("-1 0x7ffd 0x7f00\n"), Syscall::NotInSyscall);
        assert_eq!(
            parse_syscall("0 0x4 0x7ffd1000 0x100 0x0 0x0 0x0 0x7ffd 0x7f00\n"),
            Syscall::In {
                nr: 0,
                args: [4, 0x7ffd1000, 0x100, 0, 0, 0]
            }
        );
    }

    #[test]
    fn calls_read_as_sentences() {
        assert_eq!(
            Call::Input {
                name: "read",
                fd: 4
            }
            .describe(),
            "read() on fd 4"
        );
        let poll = Call::Multiplex {
            name: "poll",
            fds: Ok(vec![
                Interest {
                    fd: 0,
                    input: true,
                    output: false,
                },
                Interest {
                    fd: 3,
                    input: true,
                    output: false,
                },
            ]),
            timeout: Timeout::Never,
        };
        assert_eq!(poll.describe(), "poll() on fds 0, 3 without a timeout");
        assert_eq!(Call::Sleep { name: "nanosleep" }.describe(), "nanosleep()");
    }
}
