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

pub fn open() -> io::Result<Pty> {
    let pair = nix::pty::openpty(None, None).map_err(io::Error::from)?;
    let mut attrs = termios::tcgetattr(pair.slave.as_fd()).map_err(io::Error::from)?;
    attrs
        .local_flags
        .remove(LocalFlags::ECHO | LocalFlags::ECHOE | LocalFlags::ECHOK | LocalFlags::ECHONL);
    attrs
        .output_flags
        .remove(OutputFlags::OPOST | OutputFlags::ONLCR);
    termios::tcsetattr(pair.slave.as_fd(), SetArg::TCSANOW, &attrs).map_err(io::Error::from)?;
    set_nonblocking(&pair.master)?;
    // openpty opens both without close-on-exec: a program started by any
    // other scenario meanwhile (socklab's tools included) must not keep them.
    close_on_exec(&pair.master)?;
    close_on_exec(&pair.slave)?;
    Ok(Pty {
        master: pair.master,
        slave: pair.slave,
    })
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd.as_raw_fd(), libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

fn close_on_exec(fd: &OwnedFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
    // SAFETY: an ioctl that returns a new descriptor we own.
    let peer = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if peer < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `peer` is a fresh descriptor owned by nobody else.
    let peer = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(peer) };
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
