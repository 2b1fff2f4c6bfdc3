//! The echo server as UNP's `tcpserv04`: a process per client.
//!
//! This is deliberately C-shaped and blocking: `fork()` is only safe in a
//! single-threaded process, so it runs without a tokio runtime (see
//! [`crate::main_with_args`]) and never in-process. The parent installs a
//! SIGCHLD handler that reaps every finished child with
//! `waitpid(-1, WNOHANG)` in a loop (`sigchldwaitpid.c`: signals that arrive
//! together merge, so one `wait()` per signal would leave zombies), installed
//! without `SA_RESTART`, so `accept()` can fail with `EINTR` and is retried.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrStorage, sockopt};
use nix::unistd::ForkResult;

use super::LISTEN_BACKLOG;
use super::echo::MAX_LINE;
use crate::cli::{EchoMode, EchoServerArgs};
use crate::error::ProgramError;
use crate::wire::echo::sum_reply;

/// Run the fork server until a fatal error; returns the exit status.
///
/// Must be called in a single-threaded process.
pub fn serve(args: &EchoServerArgs) -> i32 {
    let Err(error) = serve_forever(args);
    eprintln!("echo-server: {error}");
    1
}

fn serve_forever(args: &EchoServerArgs) -> Result<std::convert::Infallible, ProgramError> {
    let listener = bind_and_listen(SocketAddr::new(args.bind.bind, args.port))?;
    install_sigchld_handler().map_err(|e| ProgramError::Protocol(format!("sigaction: {e}")))?;
    loop {
        let connection = match socket::accept(listener.as_raw_fd()) {
            // SAFETY: accept returned a new descriptor that nothing else owns.
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd) },
            // A child ended while we waited (SIGCHLD), or a client gave up in the queue.
            Err(Errno::EINTR | Errno::ECONNABORTED) => continue,
            Err(e) => return Err(ProgramError::Accept(e.into())),
        };
        // SAFETY: the process is single-threaded (no tokio runtime was built
        // for fork mode), so the child may run arbitrary code.
        match unsafe { nix::unistd::fork() } {
            Ok(ForkResult::Child) => {
                drop(listener);
                let status = match serve_client(TcpStream::from(connection), args.mode) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("echo-server: child {}: {e}", std::process::id());
                        1
                    }
                };
                // SAFETY: _exit ends the child without running the parent's
                // atexit handlers or flushing stdio buffers it inherited.
                unsafe { libc::_exit(status) }
            }
            Ok(ForkResult::Parent { .. }) => drop(connection),
            Err(e) => eprintln!("echo-server: fork: {e}"),
        }
    }
}

/// `socket`, `SO_REUSEADDR`, `bind`, `listen(LISTENQ)`.
fn bind_and_listen(addr: SocketAddr) -> Result<TcpListener, ProgramError> {
    let family = if addr.is_ipv6() {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let fd = socket::socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)
        .map_err(|e| ProgramError::Socket(e.into()))?;
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true)
        .map_err(|e| ProgramError::Socket(e.into()))?;
    socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(addr)).map_err(|e| ProgramError::Bind {
        addr,
        source: e.into(),
    })?;
    // SAFETY: plain listen(2) on a descriptor we own.
    if unsafe { libc::listen(fd.as_raw_fd(), LISTEN_BACKLOG as libc::c_int) } == -1 {
        return Err(ProgramError::Listen {
            addr,
            source: io::Error::last_os_error(),
        });
    }
    Ok(TcpListener::from(fd))
}

/// `sig_chld` of `sigchldwaitpid.c`: reap every child that has ended.
extern "C" fn reap_children(_signal: libc::c_int) {
    let saved = Errno::last_raw();
    // SAFETY: waitpid is async-signal-safe; a null status pointer is allowed.
    while unsafe { libc::waitpid(-1, std::ptr::null_mut(), libc::WNOHANG) } > 0 {}
    Errno::set_raw(saved);
}

fn install_sigchld_handler() -> nix::Result<()> {
    // No SA_RESTART: accept() returns EINTR, as with UNP's Signal().
    let action = SigAction::new(
        SigHandler::Handler(reap_children),
        SaFlags::SA_NOCLDSTOP,
        SigSet::empty(),
    );
    // SAFETY: the handler only calls async-signal-safe functions.
    unsafe { sigaction(Signal::SIGCHLD, &action) }.map(drop)
}

/// The child's work: echo or sum until the client closes.
fn serve_client(mut stream: TcpStream, mode: EchoMode) -> io::Result<()> {
    match mode {
        EchoMode::Echo => {
            let mut buf = [0u8; 8192];
            loop {
                let n = match stream.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                stream.write_all(&buf[..n])?;
            }
        }
        EchoMode::Sum => {
            let mut reader = BufReader::new(stream.try_clone()?);
            let mut line = Vec::new();
            loop {
                line.clear();
                if (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)? == 0 {
                    return Ok(());
                }
                stream.write_all(&sum_reply(&line))?;
            }
        }
    }
}
