//! Why a reference program stopped with exit status 1.
//!
//! Each variant renders as the message a careful C program would print with
//! `perror`: what it was doing, on which address or file, and the OS error,
//! e.g. `bind 0.0.0.0:9000: Address already in use (os error 98)`. The
//! program's name is put in front by the caller
//! (`lottery-server: bind ...`).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::wire::filetransfer::SegmentError;

/// A runtime failure of a reference program.
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// `socket()` failed.
    #[error("socket: {0}")]
    Socket(#[source] io::Error),
    /// `bind()` failed, e.g. the port is in use.
    #[error("bind {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// `listen()` failed.
    #[error("listen {addr}: {source}")]
    Listen {
        /// The bound address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// `accept()` failed with an error that is not transient.
    #[error("accept: {0}")]
    Accept(#[source] io::Error),
    /// `connect()` failed, e.g. connection refused.
    #[error("connect {addr}: {source}")]
    Connect {
        /// The server address.
        addr: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// Reading from or writing to a connection failed.
    #[error("{action} {peer}: {source}")]
    Connection {
        /// `read from` or `write to`.
        action: &'static str,
        /// The other end.
        peer: SocketAddr,
        /// The OS error.
        source: io::Error,
    },
    /// A file could not be opened, created, read or written.
    #[error("{action} {}: {source}", path.display())]
    File {
        /// `open`, `create`, `read` or `write`.
        action: &'static str,
        /// The path as given (before resolving against the working directory).
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Reading standard input or writing standard output/error failed.
    #[error("{action}: {source}")]
    Stdio {
        /// `read stdin` or `write stdout`.
        action: &'static str,
        /// The error.
        source: io::Error,
    },
    /// The file-transfer peer sent something that is not a valid segment stream.
    #[error("{0}")]
    Segment(#[from] SegmentError),
    /// The peer broke the protocol in another way (closed too early, ...).
    #[error("{0}")]
    Protocol(String),
    /// Standard input held something the program cannot use.
    #[error("{0}")]
    Input(String),
    /// Some transfers of an iterative file-transfer session failed (each was reported).
    #[error("{failed} of {total} transfers failed")]
    TransfersFailed {
        /// How many failed.
        failed: usize,
        /// How many were attempted.
        total: usize,
    },
    /// `--concurrency fork` was asked of the in-process runner.
    #[error("--concurrency fork needs a process of its own (run the echo-server binary)")]
    ForkInProcess,
}

impl ProgramError {
    pub(crate) fn read_from(peer: SocketAddr) -> impl FnOnce(io::Error) -> ProgramError {
        move |source| ProgramError::Connection {
            action: "read from",
            peer,
            source,
        }
    }

    pub(crate) fn write_to(peer: SocketAddr) -> impl FnOnce(io::Error) -> ProgramError {
        move |source| ProgramError::Connection {
            action: "write to",
            peer,
            source,
        }
    }

    pub(crate) fn file(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> ProgramError {
        let path = path.into();
        move |source| ProgramError::File {
            action,
            path,
            source,
        }
    }
}
