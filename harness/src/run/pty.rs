//! Pseudo-terminals for interactive programs.
//!
//! C stdio block-buffers stdout into a pipe, so a prompt printed without a
//! newline before `scanf` never arrives through a pipe. With stdin and stdout
//! on a PTY it does. The slave side is set up with echo off (typed input is
//! not mixed into the output) and output post-processing off (no `\n` →
//! `\r\n`), so what the program writes is what socklab sees.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use nix::sys::termios::{self, LocalFlags, OutputFlags, SetArg};

/// Both ends of a new PTY.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Opens a new PTY, both ends close-on-exec from the start.
///
/// `openpty` opens them without close-on-exec, and marking them afterwards
/// leaves a moment in which a program that another scenario starts with
/// the standard library (`ip`, which socklab runs while it links hosts)
/// keeps a copy of the terminal across its `execve`, for as long as it
/// runs: the terminal's end (`POLLHUP`, `EIO`) does not come when the
/// program on it exits, and a check that waits for it decides on a
/// terminal that merely looks open. So the master is opened with
/// `O_CLOEXEC` and the slave comes from it through `TIOCGPTPEER` (Linux
/// 4.13), or by its name before that, with `O_CLOEXEC` too.
pub fn open() -> io::Result<Pty> {
    let master = open_cloexec(
        c"/dev/ptmx",
        libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK,
    )?;
    let slave = open_slave(&master)?;
    let mut attrs = termios::tcgetattr(slave.as_fd()).map_err(io::Error::from)?;
    attrs
        .local_flags
        .remove(LocalFlags::ECHO | LocalFlags::ECHOE | LocalFlags::ECHOK | LocalFlags::ECHONL);
    attrs
        .output_flags
        .remove(OutputFlags::OPOST | OutputFlags::ONLCR);
    termios::tcsetattr(slave.as_fd(), SetArg::TCSANOW, &attrs).map_err(io::Error::from)?;
    Ok(Pty { master, slave })
}

/// The slave side of a new master: unlocked, then opened through the
/// master, or by its name on a kernel without `TIOCGPTPEER`.
fn open_slave(master: &OwnedFd) -> io::Result<OwnedFd> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the pointer we pass.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) } < 0 {
        return Err(io::Error::last_os_error());
    }
    match peer(master, libc::O_RDWR | libc::O_NOCTTY) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOTTY)) => {}
        opened => return opened,
    }
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int to the pointer we pass.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut number) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let name =
        std::ffi::CString::new(format!("/dev/pts/{number}")).expect("a terminal's name has no NUL");
    open_cloexec(&name, libc::O_RDWR | libc::O_NOCTTY)
}

/// A descriptor of the terminal of `master`, opened through it
/// (`TIOCGPTPEER`, Linux 4.13), close-on-exec.
fn peer(master: &OwnedFd, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: an ioctl that returns a new descriptor we own.
    let fd = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            flags | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

fn open_cloexec(path: &std::ffi::CStr, flags: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: open(2) with a valid C string; the descriptor is owned below.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// The byte that ends input on a terminal in canonical mode (^D).
pub const EOF_BYTE: u8 = 0x04;

/// Waits until what was written to the master has reached the terminal's
/// line discipline, where the program reads it.
///
/// A write to a pty master only queues the bytes; a kernel worker hands
/// them to the line discipline later, and on a loaded machine that can
/// take tens of milliseconds, during which the program still sleeps in
/// `read()` with nothing to read, as if no input were coming. socklab
/// would then decide, wrongly, that nothing can change. `poll` on the
/// terminal (a peer descriptor opened here with `TIOCGPTPEER`) makes the
/// kernel finish that hand-over first (`tty_buffer_flush_work`), so once
/// this returns the bytes, or the end of input, are the program's to read.
/// Blocks briefly: call it off the async threads.
pub fn deliver(master: &OwnedFd) -> io::Result<()> {
    let peer = peer(master, libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK)?;
    let mut pfd = libc::pollfd {
        fd: peer.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one descriptor we own, without waiting.
    if unsafe { libc::poll(&mut pfd, 1, 0) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
            if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0
            {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// Both ends are close-on-exec from the moment they exist: no program
    /// started meanwhile keeps the terminal (see `open`).
    #[test]
    fn both_ends_are_close_on_exec_and_the_master_does_not_block() {
        let pty = open().unwrap();
        for fd in [&pty.master, &pty.slave] {
            // SAFETY: F_GETFD on a descriptor we own.
            let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
            assert_eq!(flags & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
        }
        // SAFETY: as above.
        let status = unsafe { libc::fcntl(pty.master.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(status & libc::O_NONBLOCK, libc::O_NONBLOCK);
        // SAFETY: isatty on a descriptor we own.
        assert_eq!(unsafe { libc::isatty(pty.slave.as_raw_fd()) }, 1);
    }

    /// Once `deliver` returns, a line written to the master is the
    /// program's to read, and so is the end of input after it.
    #[test]
    fn what_was_written_is_readable_once_delivered() {
        let pty = open().unwrap();
        set_nonblocking(&pty.slave).unwrap();
        let slave = pty.slave.as_raw_fd();
        let read = || {
            let mut buf = [0u8; 64];
            // SAFETY: reading into a buffer we own.
            let n = unsafe { libc::read(slave, buf.as_mut_ptr().cast(), buf.len()) };
            (n >= 0).then(|| buf[..n as usize].to_vec())
        };
        for _ in 0..200 {
            // SAFETY: writing a slice we own to the master we own.
            let n = unsafe { libc::write(pty.master.as_raw_fd(), b"hi\n".as_ptr().cast(), 3) };
            assert_eq!(n, 3);
            deliver(&pty.master).unwrap();
            // FIONREAD looks without reading (a read would hand the bytes
            // over itself).
            let mut queued: libc::c_int = 0;
            // SAFETY: FIONREAD writes one int.
            unsafe { libc::ioctl(slave, libc::FIONREAD, &mut queued) };
            assert_eq!(queued, 3, "the line is in the line discipline");
            assert_eq!(read(), Some(b"hi\n".to_vec()));
            // SAFETY: as above.
            let n = unsafe { libc::write(pty.master.as_raw_fd(), [EOF_BYTE].as_ptr().cast(), 1) };
            assert_eq!(n, 1);
            deliver(&pty.master).unwrap();
            assert_eq!(
                read(),
                Some(Vec::new()),
                "the end of input reads as 0 bytes"
            );
        }
    }
}
