//! Each scenario's pid namespace, its init, and the small process that
//! makes the inits.
//!
//! A pid namespace lives as long as its first process, the init, which here
//! only reaps orphans and waits on a pipe whose write end socklab alone
//! holds (the lifeline): when socklab dies for any reason, the pipe closes,
//! the init exits, and the kernel kills every process of the namespace.
//!
//! **Who makes the inits.** A class makes thousands of them, one per
//! scenario. Forking socklab for each copies a large multi-threaded
//! process (see [`super::spawn`]); starting socklab's binary again, as
//! socklab once did, costs a whole program start: measured with `perf` on
//! the fixture class, those inits took 5.8% of the machine's CPU, most of
//! it the dynamic loader probing the CPU (`cpuid` traps to the hypervisor
//! on a virtual machine) and relocating a large binary. So the `socklab`
//! binary forks one small helper first thing in `main`, while it is still
//! single-threaded: the **init maker**. Asked over a socket, with the read
//! end of a lifeline attached, it clones itself into a new pid namespace
//! with `CLONE_PARENT`, so that the init is socklab's own child (socklab
//! kills and reaps it as before) although a 2 MB single-threaded process
//! made it. A program that uses the library without calling
//! [`start_init_maker`] (a test binary), or whose maker has gone, forks its
//! inits from a thread of its own.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, OnceLock};

use nix::sys::socket::{self, ControlMessage, ControlMessageOwned, MsgFlags};

/// A pid namespace with a minimal init that lives as long as socklab (or
/// until [`PidNamespace::kill`]).
pub(super) struct PidNamespace {
    init_pid: libc::pid_t,
    ns: OwnedFd,
    _lifeline: OwnedFd,
}

impl PidNamespace {
    pub(super) fn create() -> io::Result<PidNamespace> {
        let (read_end, write_end) = std::io::pipe()?;
        let (read_end, write_end) = (OwnedFd::from(read_end), OwnedFd::from(write_end));
        let pid = match ask_maker(read_end.as_raw_fd()) {
            Some(made) => made?,
            None => super::namespaces::on_thread_in(None, None, || {
                super::namespaces::unshare(libc::CLONE_NEWPID)?;
                fork_init(read_end.as_raw_fd())
            })?,
        };
        drop(read_end);
        // The init is our child: its pid cannot be reused before we reap it.
        let ns = match std::fs::File::open(format!("/proc/{pid}/ns/pid")) {
            Ok(ns) => OwnedFd::from(ns),
            Err(e) => {
                // SAFETY: killing and reaping the init we just made.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
                return Err(e);
            }
        };
        Ok(PidNamespace {
            init_pid: pid,
            ns,
            _lifeline: write_end,
        })
    }

    pub(super) fn ns_fd(&self) -> RawFd {
        self.ns.as_raw_fd()
    }

    pub(super) fn init_pid(&self) -> u32 {
        self.init_pid as u32
    }

    /// Kills the init, and with it every process of the namespace.
    pub(super) fn kill(self) {
        // SAFETY: signalling and reaping our own child process.
        unsafe {
            libc::kill(self.init_pid, libc::SIGKILL);
            let mut status = 0;
            libc::waitpid(self.init_pid, &mut status, 0);
        }
    }
}

/// socklab's end of the socket to the init maker, and the maker's pid,
/// when there is one.
static MAKER: OnceLock<(Mutex<OwnedFd>, libc::pid_t)> = OnceLock::new();

/// Forks the init maker, if this process is still single-threaded (a
/// fork may run any code then) and has none yet; otherwise inits are forked
/// from socklab. Call it once the process is in the user namespace it
/// will make pid namespaces from.
pub fn start_init_maker() {
    if MAKER.get().is_some() || !single_threaded() {
        return;
    }
    let Ok((ours, theirs)) = socket::socketpair(
        socket::AddressFamily::Unix,
        socket::SockType::SeqPacket,
        None,
        socket::SockFlag::SOCK_CLOEXEC,
    ) else {
        return;
    };
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the caller promises a single-threaded process, so the child
    // may run any code.
    match unsafe { libc::fork() } {
        -1 => {}
        0 => {
            drop(ours);
            serve(theirs, parent)
        }
        maker => {
            drop(theirs);
            let _ = MAKER.set((Mutex::new(ours), maker));
        }
    }
}

/// Ends the init maker: it sees its socket close, exits, and is reaped
/// here rather than left to whoever would adopt it. Inits are forked from
/// socklab afterwards.
pub fn stop_init_maker() {
    if let Some((socket, maker)) = MAKER.get() {
        let socket = socket.lock().unwrap_or_else(|p| p.into_inner());
        let _ = socket::shutdown(socket.as_raw_fd(), socket::Shutdown::Both);
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(*maker, std::ptr::null_mut(), 0) };
    }
}

/// Whether this process has one thread (`/proc/self/task` lists it alone).
fn single_threaded() -> bool {
    std::fs::read_dir("/proc/self/task").is_ok_and(|tasks| tasks.count() == 1)
}

/// Asks the maker for an init in a new pid namespace, holding `lifeline`
/// (the read end); `None` when there is no maker or it has gone.
fn ask_maker(lifeline: RawFd) -> Option<io::Result<libc::pid_t>> {
    let socket = MAKER.get()?.0.lock().unwrap_or_else(|p| p.into_inner());
    let fds = [lifeline];
    let sent = socket::sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(b"i")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    );
    if sent.is_err() {
        return None;
    }
    let mut reply = [0u8; 4];
    let got = loop {
        match socket::recv(socket.as_raw_fd(), &mut reply, MsgFlags::empty()) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other,
        }
    };
    match got {
        Ok(4) => {}
        _ => return None,
    }
    let answer = i32::from_ne_bytes(reply);
    Some(if answer > 0 {
        Ok(answer)
    } else {
        Err(io::Error::from_raw_os_error(-answer))
    })
}

/// The init maker: one init per request, until socklab goes.
fn serve(socket: OwnedFd, parent: libc::pid_t) -> ! {
    // SAFETY: this process is a single-threaded fork; these calls set up
    // its own state only.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
        // The terminal's ^C is socklab's to handle, not the maker's.
        for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP, libc::SIGTERM] {
            libc::signal(signal, libc::SIG_IGN);
        }
        // Hold none of socklab's descriptors (a pipe reader waiting for
        // socklab's output to end must not wait for the maker).
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for stream in 0..3 {
            libc::dup2(null, stream);
        }
        let keep = socket.as_raw_fd();
        if keep > 3 {
            libc::syscall(libc::SYS_close_range, 3u32, (keep - 1) as u32, 0u32);
        }
        libc::syscall(libc::SYS_close_range, (keep + 1) as u32, u32::MAX, 0u32);
    }
    loop {
        let mut byte = [0u8; 1];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut byte)];
        let lifeline = match socket::recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => exit_now(),
            Ok(message) if message.bytes == 0 => exit_now(),
            Ok(message) => message.cmsgs().ok().and_then(|mut all| {
                all.find_map(|cmsg| match cmsg {
                    ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                    _ => None,
                })
            }),
        };
        let answer = match lifeline {
            None => -libc::EINVAL,
            Some(fd) => {
                // SAFETY: a fork-like clone of this single-threaded process
                // (no new stack: the child continues on a copy of this one).
                let pid = unsafe {
                    libc::syscall(
                        libc::SYS_clone,
                        libc::CLONE_NEWPID | libc::CLONE_PARENT | libc::SIGCHLD,
                        0usize,
                        0usize,
                        0usize,
                        0usize,
                    )
                };
                if pid == 0 {
                    init_main(fd);
                }
                let answer = if pid < 0 {
                    -io::Error::last_os_error()
                        .raw_os_error()
                        .unwrap_or(libc::EINVAL)
                } else {
                    pid as i32
                };
                // SAFETY: the received descriptor is ours to close.
                drop(unsafe { OwnedFd::from_raw_fd(fd) });
                answer
            }
        };
        if socket::send(
            socket.as_raw_fd(),
            &answer.to_ne_bytes(),
            MsgFlags::MSG_NOSIGNAL,
        )
        .is_err()
        {
            exit_now();
        }
    }
}

fn exit_now() -> ! {
    // SAFETY: ending the maker; it owns nothing that needs flushing.
    unsafe { libc::_exit(0) }
}

/// Forks an init from socklab, for the pid namespace the calling thread
/// makes children in.
fn fork_init(lifeline: RawFd) -> io::Result<libc::pid_t> {
    // SAFETY: the child only calls async-signal-safe functions (see init_main).
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        init_main(lifeline);
    }
    Ok(pid)
}

extern "C" fn ignore_signal(_: libc::c_int) {}

/// The pid namespace's init: reaps orphans, exits when the lifeline closes.
/// May run in a child forked from a multi-threaded process, so it uses only
/// async-signal-safe calls and never returns.
fn init_main(lifeline: RawFd) -> ! {
    // SAFETY: only async-signal-safe syscalls; the process ends with _exit.
    unsafe {
        libc::dup2(lifeline, 0);
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = ignore_signal as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: SIGCHLD interrupts poll so we reap
        libc::sigaction(libc::SIGCHLD, &action, std::ptr::null_mut());
        let mut unblock: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut unblock);
        libc::sigprocmask(libc::SIG_SETMASK, &unblock, std::ptr::null_mut());
        loop {
            let mut status = 0;
            while libc::waitpid(-1, &mut status, libc::WNOHANG) > 0 {}
            let mut pfd = libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            };
            let n = libc::poll(&mut pfd, 1, -1);
            if n > 0 {
                let mut byte = 0u8;
                let got = libc::read(0, (&mut byte as *mut u8).cast(), 1);
                if got <= 0 {
                    libc::_exit(0);
                }
            }
        }
    }
}
