//! File-transfer server and client (course `FTServer.c`, `FTClient.c`, and
//! the iterative variant of requirement 3).
//!
//! One transfer: the client sends the source path (its bytes, no
//! terminator); the server takes it with one `read()` of up to 256 bytes,
//! prints it, and sends the file as 260-byte segments
//! ([`crate::wire::filetransfer`]), full ones and a shorter last one,
//! nothing for an empty file. The client reassembles segments however the
//! bytes arrive and writes each segment's data to the destination.
//!
//! Iterative variants (`--iterative`, [`crate::cli::Convention`]):
//! - `new-connection`: one connection per file; the server loops on
//!   `accept`, a file it cannot open only ends that connection.
//! - `one-connection`: one connection for all files; after each path the
//!   server sends the file and ends it as `--end-of-file` says: `len-0`, a
//!   segment with `len == 0` after the data; or `short-segment`, the last
//!   segment carries fewer than 256 bytes (a `len == 0` segment when the size
//!   is a multiple of 256, an empty file included). The session ends as
//!   `--end-of-session` says: `client-closes` (the server reads end of stream
//!   and exits 0), or `client-sends TEXT` (the client sends TEXT where a path
//!   would go; the server exits 0 on reading it, and with an error if the
//!   client closes without it). A file the server cannot open gets a
//!   `len == 0` segment (and a message on the server's stderr).
//! - `marker`: `one-connection` with `len-0` and `client-closes`.
//!
//! In every variant the client cannot tell a missing file from an empty one
//! (the protocol has no error message): when no data arrives it says so on
//! stderr and goes on.
//!
//! Speed: the bytes on the wire are those of one 260-byte `write()` per
//! chunk, but the server reads the file a megabyte at a time and sends that
//! batch's segments with a few vectored writes straight from its file buffer,
//! and the client reads a megabyte at a time, decodes the segments in place
//! and writes their data with one `writev`: no copy between the socket and
//! the file on either side, as few wake-ups as a C program's loop
//! (`cargo bench -p socklab-reference --bench ft_throughput` compares it with
//! a Python `sendfile` copy).

use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::{Connection, Console, Diagnostics, connect, listen};
use crate::beneath::Folder;
use crate::cli::{Convention, EndOfFile, FtClientArgs, FtServerArgs, SessionEnd};
use crate::error::ProgramError;
use crate::wire::ByteOrder;
use crate::wire::filetransfer::{
    DATA_SIZE, LEN_SIZE, MAX_PATH, SEGMENT_SIZE, Segment, SegmentFraming, SegmentReassembler,
};
use crate::{Env, Files};

/// The client's prompt in iterative mode.
pub const PROMPT: &str = "File (SRC DST, or quit): ";

/// File bytes the server reads, and sends as segments, at a time (4096
/// segments, 1040 KiB on the wire).
const BATCH: usize = 4096 * DATA_SIZE;
/// Bytes the client asks of one `read()` of the connection.
const RECEIVE_BUFFER: usize = 1024 * 1024;

/// Serve one file (default), or many (`--iterative`).
pub async fn server(
    args: &FtServerArgs,
    mut console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let listener = listen(env, SocketAddr::new(args.bind.bind, args.port)).await?;
    let order = args.byte_order;
    let convention = args.convention().map_err(ProgramError::Input)?;
    match convention {
        None => {
            let mut connection = listener.accept().await?;
            let path = receive_path(&mut connection).await?.ok_or_else(|| {
                ProgramError::Protocol("client closed the connection before sending a path".into())
            })?;
            console.print(&path_line(&path)).await?;
            send_file(&mut connection, env, &path, order, End::Close)
                .await
                .map(drop)
        }
        Some(Convention::ConnectionPerFile) => loop {
            let mut connection = listener.accept().await?;
            let diagnostics = console.diagnostics();
            let served = async {
                let Some(path) = receive_path(&mut connection).await? else {
                    return Err(ProgramError::Protocol(
                        "client closed the connection before sending a path".into(),
                    ));
                };
                console.print(&path_line(&path)).await?;
                send_file(&mut connection, env, &path, order, End::Close)
                    .await
                    .map(drop)
            };
            if let Err(error) = served.await {
                diagnostics.report(error).await;
            }
        },
        Some(Convention::OneConnection {
            end_of_file,
            end_of_session,
        }) => {
            let end = End::from(end_of_file);
            let mut connection = listener.accept().await?;
            let diagnostics = console.diagnostics();
            loop {
                let Some(path) = receive_path(&mut connection).await? else {
                    return match end_of_session {
                        SessionEnd::ClientCloses => Ok(()),
                        SessionEnd::ClientSends(text) => Err(ProgramError::Protocol(format!(
                            "the client closed the connection without sending \"{text}\" to end the session"
                        ))),
                    };
                };
                if let SessionEnd::ClientSends(text) = &end_of_session
                    && ends_session_with(path.as_bytes(), text)
                {
                    return Ok(());
                }
                console.print(&path_line(&path)).await?;
                match send_file(&mut connection, env, &path, order, end).await {
                    Ok(_) => {}
                    Err(error @ ProgramError::File { .. }) => {
                        diagnostics.report(error).await;
                        // What was sent of the file (nothing, if it could
                        // not be opened) is ended all the same: a len-0
                        // segment ends a file in both conventions.
                        connection
                            .send(&Segment::end_marker().encode(order))
                            .await?;
                    }
                    Err(error) => return Err(error),
                }
            }
        }
    }
}

/// Whether what arrived where a path would be is the session's end text:
/// the text itself, or followed only by NUL or line-end bytes (a C client
/// may send `strlen + 1` bytes, or the line `fgets` read).
fn ends_session_with(received: &[u8], text: &str) -> bool {
    received
        .strip_prefix(text.as_bytes())
        .is_some_and(|rest| rest.iter().all(|b| matches!(b, b'\0' | b'\r' | b'\n')))
}

/// The path from one `read()` of up to 256 bytes; `None` at end of stream.
async fn receive_path(connection: &mut Connection) -> Result<Option<OsString>, ProgramError> {
    let mut buf = [0u8; MAX_PATH];
    let n = connection.read(&mut buf).await?;
    Ok((n > 0).then(|| OsString::from_vec(buf[..n].to_vec())))
}

fn path_line(path: &OsStr) -> Vec<u8> {
    let mut line = path.as_bytes().to_vec();
    line.push(b'\n');
    line
}

/// Send the file at `path` (relative to the working directory) as segments, then the
/// end-of-file marker if `end` asks for one; returns the file's size.
///
/// The segments are those of one 260-byte write per chunk, batched: the file
/// is read [`BATCH`] bytes at a time and each batch's segments leave in a few
/// vectored writes straight from the file buffer ([`SegmentFraming`]); the
/// wire bytes are the same, only their grouping into writes differs, which
/// TCP does not keep anyway.
///
/// Errors opening or reading the file are [`ProgramError::File`]; nothing
/// has been sent when opening fails.
async fn send_file(
    connection: &mut Connection,
    env: &Env,
    path: &OsStr,
    order: ByteOrder,
    end: End,
) -> Result<u64, ProgramError> {
    let shown = PathBuf::from(path);
    let mut file = file_io(|| open_file(env, Path::new(path), Access::Read))
        .map_err(ProgramError::file("open", &shown))?;
    let mut data = vec![0u8; BATCH];
    let mut size = 0u64;
    loop {
        let n = file_io(|| read_full(&mut file, &mut data))
            .map_err(ProgramError::file("read", &shown))?;
        size += n as u64;
        let last = n < BATCH;
        let framing = SegmentFraming::new(n, order);
        let mut slices = Vec::new();
        framing.slices(&data[..n], last && end.marker_after(size), &mut slices);
        connection.send_slices(&mut slices).await?;
        if last {
            return Ok(size);
        }
    }
}

/// Runs a file system call on this task's thread, as the C programs do: the
/// calls here (open, and reads and writes of at most a batch, which the page
/// cache takes or gives without waiting for the disk) return in far less
/// time than a hop to a thread pool costs on a busy machine. On a
/// multi-threaded runtime (socklab's, running a program in-process) other
/// tasks are moved to another worker meanwhile (`block_in_place`).
fn file_io<T>(call: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(call),
        _ => call(),
    }
}

/// Fill `buf` unless the file ends first; returns how much was read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The client's destination file.
struct Destination {
    file: std::fs::File,
    /// The path as the user gave it, for messages.
    shown: PathBuf,
}

impl Destination {
    /// Writes `pieces` in order, with as few system calls as they allow
    /// (`writev`, up to 1024 pieces a call).
    fn write_pieces(&mut self, pieces: &mut [std::io::IoSlice<'_>]) -> Result<(), ProgramError> {
        use std::io::Write;
        let mut rest = pieces;
        let written = file_io(|| {
            while !rest.is_empty() {
                match self.file.write_vectored(rest) {
                    Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                    Ok(n) => std::io::IoSlice::advance_slices(&mut rest, n),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        written.map_err(ProgramError::file("write", &self.shown))
    }
}

/// Fetch one file (default), or the files named on stdin (`--iterative`).
pub async fn client(args: &FtClientArgs, console: Console, env: &Env) -> Result<(), ProgramError> {
    let server = SocketAddr::new(args.ip, args.port);
    let order = args.byte_order;
    let convention = args.convention().map_err(ProgramError::Input)?;
    match (convention, &args.src, &args.dst) {
        (None, Some(src), Some(dst)) => {
            let mut connection = connect(env, server).await?;
            let mut destination = create(env, dst)?;
            connection.send(src.as_bytes()).await?;
            receive_file(&mut connection, &mut destination, order, End::Close).await?;
            Ok(())
        }
        (Some(convention), _, _) => iterative_client(convention, server, order, console, env).await,
        _ => Err(ProgramError::Input(
            "SRC and DST are required unless --iterative is given".into(),
        )),
    }
}

/// How the end of one file is signalled.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// The server closes the connection.
    Close,
    /// A segment with `len == 0` follows the data.
    LenZero,
    /// The last segment carries fewer than 256 bytes (len 0 when the size is
    /// a multiple of 256).
    ShortSegment,
}

impl From<EndOfFile> for End {
    fn from(end: EndOfFile) -> End {
        match end {
            EndOfFile::LenZero => End::LenZero,
            EndOfFile::ShortSegment => End::ShortSegment,
        }
    }
}

impl End {
    /// Whether the server sends a `len == 0` segment after a file of `size` bytes.
    fn marker_after(self, size: u64) -> bool {
        match self {
            End::Close => false,
            End::LenZero => true,
            End::ShortSegment => size.is_multiple_of(DATA_SIZE as u64),
        }
    }

    /// Whether a segment carrying `len` bytes is the file's last.
    fn ends_file(self, len: usize) -> bool {
        match self {
            End::Close => false,
            End::LenZero => len == 0,
            End::ShortSegment => len < DATA_SIZE,
        }
    }

    /// What the client says when the connection closes before the file's end.
    fn missing(self) -> &'static str {
        match self {
            End::Close => "",
            End::LenZero => "server closed the connection before the end-of-file marker",
            End::ShortSegment => {
                "server closed the connection before the segment that ends the file (one with fewer than 256 bytes)"
            }
        }
    }
}

/// Open `dst` (relative to the working directory) for writing, created or
/// truncated.
fn create(env: &Env, dst: &Path) -> Result<Destination, ProgramError> {
    let file = file_io(|| open_file(env, dst, Access::Create))
        .map_err(ProgramError::file("create", dst))?;
    Ok(Destination {
        file,
        shown: dst.to_path_buf(),
    })
}

/// What [`open_file`] opens a file for.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Create,
}

/// Opens `path` (relative to `env.cwd`) as `env.files` allows: anywhere, or
/// only a regular file beneath a folder, following no link and never
/// blocking on a FIFO ([`Folder`]).
fn open_file(env: &Env, path: &Path, access: Access) -> std::io::Result<std::fs::File> {
    let full = env.cwd.join(path);
    match &env.files {
        Files::Anywhere => match access {
            Access::Read => std::fs::File::open(full),
            Access::Create => std::fs::File::create(full),
        },
        Files::Beneath(folder) => {
            let beneath = Folder::open(folder)?;
            match access {
                Access::Read => Ok(beneath.open_file(&full)?),
                Access::Create => Ok(beneath.create(&full)?),
            }
        }
    }
}

/// Receive segments into `destination` until the end of the file; returns the data length.
///
/// Reads up to [`RECEIVE_BUFFER`] bytes at a time and decodes the segments
/// in place: their data is written straight from the receive buffer, one
/// `writev` per read, with no copy in between.
async fn receive_file(
    connection: &mut Connection,
    destination: &mut Destination,
    order: ByteOrder,
    end: End,
) -> Result<u64, ProgramError> {
    let mut reassembler = SegmentReassembler::new(order);
    let mut buf = vec![0u8; RECEIVE_BUFFER];
    let mut total = 0u64;
    loop {
        let n = connection.read(&mut buf).await?;
        if n == 0 {
            reassembler.finish()?;
            if end != End::Close {
                return Err(ProgramError::Protocol(end.missing().into()));
            }
            return Ok(total);
        }
        let (head, whole) = reassembler.split(&buf[..n]);
        let received = &buf[..n];
        let mut pieces = Vec::with_capacity(whole.len() / SEGMENT_SIZE + 1);
        // The data of the segments before a bad one is written all the same.
        let taken = take_segments(
            head.as_ref(),
            &received[whole.clone()],
            order,
            end,
            &mut pieces,
        );
        let mut slices: Vec<std::io::IoSlice<'_>> =
            pieces.iter().map(|p| std::io::IoSlice::new(p)).collect();
        total += pieces.iter().map(|p| p.len() as u64).sum::<u64>();
        destination.write_pieces(&mut slices)?;
        match taken? {
            Taken::More => {}
            Taken::EndOfFile { after } => {
                if after > 0 || reassembler.partial_len() > 0 {
                    return Err(ProgramError::Protocol(
                        "data after the end-of-file marker".into(),
                    ));
                }
                return Ok(total);
            }
        }
    }
}

/// How far a read's segments went.
enum Taken {
    /// The file goes on.
    More,
    /// The segment that ends the file was taken; `after` bytes followed it.
    EndOfFile { after: usize },
}

/// Puts the data of `head` and of each whole segment in `whole` into
/// `pieces` (borrowed, not copied; empty ones left out), validating every
/// `len`, up to the segment that ends the file.
fn take_segments<'a>(
    head: Option<&'a Segment>,
    whole: &'a [u8],
    order: ByteOrder,
    end: End,
    pieces: &mut Vec<&'a [u8]>,
) -> Result<Taken, ProgramError> {
    if let Some(head) = head {
        let data = head.data()?;
        if !data.is_empty() {
            pieces.push(data);
        }
        if end.ends_file(data.len()) {
            return Ok(Taken::EndOfFile { after: whole.len() });
        }
    }
    for (i, raw) in whole.chunks_exact(SEGMENT_SIZE).enumerate() {
        let bytes: &[u8; SEGMENT_SIZE] = raw.try_into().expect("chunks of SEGMENT_SIZE");
        let len = Segment::decode(bytes, order).data()?.len();
        if len > 0 {
            pieces.push(&raw[LEN_SIZE..LEN_SIZE + len]);
        }
        if end.ends_file(len) {
            return Ok(Taken::EndOfFile {
                after: whole.len() - (i + 1) * SEGMENT_SIZE,
            });
        }
    }
    Ok(Taken::More)
}

/// One request read from stdin in iterative mode.
enum Request {
    Transfer { src: OsString, dst: PathBuf },
    Quit,
}

/// Prompt and read the next `SRC DST` line; malformed lines are reported and skipped.
async fn next_request(
    console: &mut Console,
    diagnostics: &Diagnostics,
) -> Result<Request, ProgramError> {
    loop {
        console.print(PROMPT.as_bytes()).await?;
        let line = console.read_line().await?;
        if line.is_empty() {
            return Ok(Request::Quit);
        }
        let words: Vec<&[u8]> = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .collect();
        match words.as_slice() {
            [] => continue,
            [b"quit", ..] => return Ok(Request::Quit),
            [src, dst] => {
                return Ok(Request::Transfer {
                    src: OsString::from_vec(src.to_vec()),
                    dst: PathBuf::from(OsString::from_vec(dst.to_vec())),
                });
            }
            _ => {
                let shown = crate::transcript::escape_bytes(line.trim_ascii_end());
                diagnostics
                    .report(format!("expected \"SRC DST\" or \"quit\", got \"{shown}\""))
                    .await;
            }
        }
    }
}

async fn iterative_client(
    convention: Convention,
    server: SocketAddr,
    order: ByteOrder,
    mut console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let diagnostics = console.diagnostics();
    let (mut session, end, end_of_session) = match convention {
        Convention::OneConnection {
            end_of_file,
            end_of_session,
        } => (
            Some(connect(env, server).await?),
            End::from(end_of_file),
            end_of_session,
        ),
        Convention::ConnectionPerFile => (None, End::Close, SessionEnd::ClientCloses),
    };
    let (mut total, mut failed) = (0usize, 0usize);
    while let Request::Transfer { src, dst } = next_request(&mut console, &diagnostics).await? {
        total += 1;
        let outcome = match session.as_mut() {
            Some(connection) => transfer_in_session(connection, &src, &dst, order, end, env).await,
            None => transfer_on_new_connection(server, &src, &dst, order, env).await,
        };
        match outcome {
            Ok(0) => {
                let src = Path::new(&src).display();
                let note = format!(
                    "{src}: no data received (the file is empty or the server could not open it)"
                );
                diagnostics.report(note).await;
            }
            Ok(_) => {}
            Err(error) if ends_session(&error, session.is_some()) => return Err(error),
            Err(error) => {
                failed += 1;
                diagnostics.report(error).await;
            }
        }
    }
    if let (Some(connection), SessionEnd::ClientSends(text)) = (session.as_mut(), &end_of_session) {
        connection.send(text.as_bytes()).await?;
    }
    if failed > 0 {
        return Err(ProgramError::TransfersFailed { failed, total });
    }
    Ok(())
}

/// Whether a failed transfer ends the whole client.
///
/// Not reaching the server ends everything. In a one-connection session any failure
/// after the path was sent leaves the stream out of step, so only a
/// destination that cannot be created (checked before sending) is survivable;
/// with a connection per file, every other failure ends just that transfer.
fn ends_session(error: &ProgramError, in_session: bool) -> bool {
    match error {
        ProgramError::Connect { .. } | ProgramError::Socket(_) => true,
        ProgramError::File {
            action: "create", ..
        } => false,
        _ => in_session,
    }
}

async fn transfer_on_new_connection(
    server: SocketAddr,
    src: &OsStr,
    dst: &Path,
    order: ByteOrder,
    env: &Env,
) -> Result<u64, ProgramError> {
    let mut connection = connect(env, server).await?;
    let mut destination = create(env, dst)?;
    connection.send(src.as_bytes()).await?;
    receive_file(&mut connection, &mut destination, order, End::Close).await
}

async fn transfer_in_session(
    connection: &mut Connection,
    src: &OsStr,
    dst: &Path,
    order: ByteOrder,
    end: End,
    env: &Env,
) -> Result<u64, ProgramError> {
    // Create first: if that fails nothing was asked of the server and the session stays in step.
    let mut destination = create(env, dst)?;
    connection.send(src.as_bytes()).await?;
    receive_file(connection, &mut destination, order, end).await
}
