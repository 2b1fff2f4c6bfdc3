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

/// The byte that ends input on a terminal in canonical mode (^D).
pub const EOF_BYTE: u8 = 0x04;
