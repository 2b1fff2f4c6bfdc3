//! The programs themselves: daytime, echo, lottery and file transfer.
//!
//! Each program is an async function of its parsed arguments
//! ([`crate::cli`]), a [`Console`] (its stdin, stdout and stderr) and an
//! [`Env`] (where sockets come from, the transcript that records them, the
//! working directory). They never touch the process's real stdio, sockets
//! or current directory directly, which is what lets the harness run them
//! in-process, in a network namespace, with in-memory stdio.
//!
//! The one exception is the `fork` flavour of the echo server, which is a
//! blocking, single-threaded C-style server in [`echo_fork`] and only runs as
//! a process of its own.

pub mod daytime;
pub mod echo;
pub mod echo_fork;
pub mod filetransfer;
pub mod lottery;

use std::fmt::Display;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::cli::Invocation;
use crate::error::ProgramError;
use crate::transcript::{Recorded, Transcript};
use crate::{Env, Stdio};

/// The listen backlog of every server (`LISTENQ` in UNP).
pub const LISTEN_BACKLOG: u32 = 1024;

/// Run a parsed invocation to completion.
pub async fn run(invocation: Invocation, console: Console, env: &Env) -> Result<(), ProgramError> {
    match invocation {
        Invocation::DaytimeServer(args) => daytime::server(&args, console, env).await,
        Invocation::DaytimeClient(args) => daytime::client(&args, console, env).await,
        Invocation::EchoServer(args) => echo::server(&args, console, env).await,
        Invocation::EchoClient(args) => echo::client(&args, console, env).await,
        Invocation::LotteryServer(args) => lottery::server(&args, console, env).await,
        Invocation::LotteryClient(args) => lottery::client(&args, console, env).await,
        Invocation::FtServer(args) => filetransfer::server(&args, console, env).await,
        Invocation::FtClient(args) => filetransfer::client(&args, console, env).await,
    }
}

type Input = Box<dyn AsyncRead + Send + Unpin>;
type Output = Box<dyn AsyncWrite + Send + Unpin>;

/// A running program's standard streams.
///
/// stdin is buffered (the clients read it line by line or token by token);
/// everything printed to stdout is flushed at once, since prompts end
/// without a newline and a grader reads them through a pipe.
pub struct Console {
    stdin: BufReader<Input>,
    stdout: Output,
    stderr: Diagnostics,
}

impl Console {
    /// The console of `program` over `stdio`.
    pub fn new(program: crate::Program, stdio: Stdio) -> Console {
        Console {
            stdin: BufReader::new(stdio.stdin),
            stdout: stdio.stdout,
            stderr: Diagnostics {
                program: program.name(),
                stderr: Arc::new(tokio::sync::Mutex::new(stdio.stderr)),
            },
        }
    }

    /// A handle on stderr that can be shared with tasks.
    pub fn diagnostics(&self) -> Diagnostics {
        self.stderr.clone()
    }

    /// Write `bytes` to stdout and flush.
    pub async fn print(&mut self, bytes: &[u8]) -> Result<(), ProgramError> {
        let written = async {
            self.stdout.write_all(bytes).await?;
            self.stdout.flush().await
        };
        written.await.map_err(|source| ProgramError::Stdio {
            action: "write stdout",
            source,
        })
    }

    /// Read one line of stdin including its `\n` (none at end of input); empty at end of input.
    pub async fn read_line(&mut self) -> Result<Vec<u8>, ProgramError> {
        use tokio::io::AsyncBufReadExt;
        let mut line = Vec::new();
        self.stdin
            .read_until(b'\n', &mut line)
            .await
            .map_err(|source| ProgramError::Stdio {
                action: "read stdin",
                source,
            })?;
        Ok(line)
    }

    fn stdin(&mut self) -> &mut BufReader<Input> {
        &mut self.stdin
    }
}

/// A program's stderr, shared by its tasks; every message is prefixed with
/// the program's name, as `perror`-style C programs do.
#[derive(Clone)]
pub struct Diagnostics {
    program: &'static str,
    stderr: Arc<tokio::sync::Mutex<Output>>,
}

impl Diagnostics {
    /// Print `program: message` and a newline (errors writing stderr are ignored:
    /// there is nowhere left to report them).
    pub async fn report(&self, message: impl Display) {
        let line = format!("{}: {message}\n", self.program);
        let mut stderr = self.stderr.lock().await;
        let _ = stderr.write_all(line.as_bytes()).await;
        let _ = stderr.flush().await;
    }

    /// Print text as is (usage messages).
    pub async fn write_raw(&self, text: &str) {
        let mut stderr = self.stderr.lock().await;
        let _ = stderr.write_all(text.as_bytes()).await;
        let _ = stderr.flush().await;
    }
}

/// A listening socket whose accepted connections are recorded.
pub struct Listener {
    listener: TcpListener,
    transcript: Transcript,
}

/// `socket()`, `bind()` and `listen()` in the environment's network.
///
/// `SO_REUSEADDR` is set, as the course's C servers do, so a server can be
/// restarted while old connections linger in TIME_WAIT; `SO_REUSEPORT` is
/// not, so a second server on a port in use fails with `EADDRINUSE`.
pub async fn listen(env: &Env, addr: SocketAddr) -> Result<Listener, ProgramError> {
    let socket = env
        .net
        .tcp_socket(addr.is_ipv6())
        .map_err(ProgramError::Socket)?;
    socket.set_reuseaddr(true).map_err(ProgramError::Socket)?;
    socket
        .bind(addr)
        .map_err(|source| ProgramError::Bind { addr, source })?;
    let listener = socket
        .listen(LISTEN_BACKLOG)
        .map_err(|source| ProgramError::Listen { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ProgramError::Listen { addr, source })?;
    env.transcript.listening(local);
    Ok(Listener {
        listener,
        transcript: env.transcript.clone(),
    })
}

impl Listener {
    /// The next connection; transient failures (a client that reset before
    /// being accepted, an interrupted call) are retried as UNP's servers do.
    pub async fn accept(&self) -> Result<Connection, ProgramError> {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    let stream = self.transcript.wrap_accepted(stream);
                    return Ok(Connection { stream, peer });
                }
                Err(e) if is_transient_accept_error(&e) => continue,
                Err(e) => return Err(ProgramError::Accept(e)),
            }
        }
    }
}

fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// `socket()` and `connect()` in the environment's network.
pub async fn connect(env: &Env, addr: SocketAddr) -> Result<Connection, ProgramError> {
    let socket = env
        .net
        .tcp_socket(addr.is_ipv6())
        .map_err(ProgramError::Socket)?;
    let stream = socket
        .connect(addr)
        .await
        .map_err(|source| ProgramError::Connect { addr, source })?;
    Ok(Connection {
        stream: env.transcript.wrap(stream),
        peer: addr,
    })
}

/// A recorded connection and its peer, with I/O errors that name the peer.
pub struct Connection {
    stream: Recorded,
    peer: SocketAddr,
}

impl Connection {
    /// The other end.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// One `read()`: whatever has arrived, 0 at end of stream.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ProgramError> {
        self.stream
            .read(buf)
            .await
            .map_err(ProgramError::read_from(self.peer))
    }

    /// Read until `buf` is full or the stream ends; returns how much arrived.
    pub async fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, ProgramError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.read(&mut buf[filled..]).await? {
                0 => break,
                n => filled += n,
            }
        }
        Ok(filled)
    }

    /// Write all of `bytes` (`writen` in UNP).
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ProgramError> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(ProgramError::write_to(self.peer))
    }

    /// Write all of `slices`, in order, with vectored writes (`writev`, at
    /// most 1024 slices a call, the kernel's `IOV_MAX`).
    pub async fn send_slices(
        &mut self,
        mut slices: &mut [io::IoSlice<'_>],
    ) -> Result<(), ProgramError> {
        const IOV_MAX: usize = 1024;
        while !slices.is_empty() {
            let count = slices.len().min(IOV_MAX);
            let n = self
                .stream
                .write_vectored(&slices[..count])
                .await
                .map_err(ProgramError::write_to(self.peer))?;
            if n == 0 {
                return Err(ProgramError::write_to(self.peer)(
                    io::ErrorKind::WriteZero.into(),
                ));
            }
            io::IoSlice::advance_slices(&mut slices, n);
        }
        Ok(())
    }

    /// Shut down the writing half (send FIN) but keep reading.
    pub async fn shutdown_write(&mut self) -> Result<(), ProgramError> {
        self.stream
            .shutdown()
            .await
            .map_err(ProgramError::write_to(self.peer))
    }

    /// Split into halves that can be used by concurrent futures.
    pub fn split(self) -> (ConnectionReader, ConnectionWriter) {
        let (read, write) = tokio::io::split(self.stream);
        (
            ConnectionReader {
                half: read,
                peer: self.peer,
            },
            ConnectionWriter {
                half: write,
                peer: self.peer,
            },
        )
    }

    fn buffered(self) -> BufReader<Recorded> {
        BufReader::new(self.stream)
    }
}

/// The reading half of a [`Connection`].
pub struct ConnectionReader {
    half: tokio::io::ReadHalf<Recorded>,
    peer: SocketAddr,
}

impl ConnectionReader {
    /// One `read()`.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ProgramError> {
        self.half
            .read(buf)
            .await
            .map_err(ProgramError::read_from(self.peer))
    }
}

/// The writing half of a [`Connection`].
pub struct ConnectionWriter {
    half: tokio::io::WriteHalf<Recorded>,
    peer: SocketAddr,
}

impl ConnectionWriter {
    /// Write all of `bytes`.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), ProgramError> {
        self.half
            .write_all(bytes)
            .await
            .map_err(ProgramError::write_to(self.peer))
    }

    /// Send FIN.
    pub async fn shutdown_write(&mut self) -> Result<(), ProgramError> {
        self.half
            .shutdown()
            .await
            .map_err(ProgramError::write_to(self.peer))
    }
}
