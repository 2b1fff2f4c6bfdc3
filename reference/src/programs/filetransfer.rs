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
//! Iterative variants (`--iterative`):
//! - `new-connection`: one connection per file; the server loops on
//!   `accept`, a file it cannot open only ends that connection.
//! - `marker`: one connection for all files; after each file the server
//!   sends a segment with `len == 0`, then reads the next path; the session
//!   ends when the client closes (server exit 0). A file the server cannot
//!   open gets just the marker (and a message on the server's stderr).
//!
//! In both variants the client cannot tell a missing file from an empty one
//! (the protocol has no error message): when no data arrives it says so on
//! stderr and goes on.

use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};

use super::{Connection, Console, Diagnostics, connect, listen};
use crate::beneath::Folder;
use crate::cli::{FtClientArgs, FtServerArgs, IterativeMode};
use crate::error::ProgramError;
use crate::wire::ByteOrder;
use crate::wire::filetransfer::{DATA_SIZE, MAX_PATH, Segment, SegmentReassembler};
use crate::{Env, Files};

/// The client's prompt in iterative mode.
pub const PROMPT: &str = "File (SRC DST, or quit): ";

const FILE_BUFFER: usize = 64 * 1024;

/// Serve one file (default), or many (`--iterative`).
pub async fn server(
    args: &FtServerArgs,
    mut console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let listener = listen(env, SocketAddr::new(args.bind.bind, args.port)).await?;
    let order = args.byte_order;
    match args.iterative {
        None => {
            let mut connection = listener.accept().await?;
            let path = receive_path(&mut connection).await?.ok_or_else(|| {
                ProgramError::Protocol("client closed the connection before sending a path".into())
            })?;
            console.print(&path_line(&path)).await?;
            send_file(&mut connection, env, &path, order).await
        }
        Some(IterativeMode::NewConnection) => loop {
            let mut connection = listener.accept().await?;
            let diagnostics = console.diagnostics();
            let served = async {
                let Some(path) = receive_path(&mut connection).await? else {
                    return Err(ProgramError::Protocol(
                        "client closed the connection before sending a path".into(),
                    ));
                };
                console.print(&path_line(&path)).await?;
                send_file(&mut connection, env, &path, order).await
            };
            if let Err(error) = served.await {
                diagnostics.report(error).await;
            }
        },
        Some(IterativeMode::Marker) => {
            let mut connection = listener.accept().await?;
            let diagnostics = console.diagnostics();
            while let Some(path) = receive_path(&mut connection).await? {
                console.print(&path_line(&path)).await?;
                match send_file(&mut connection, env, &path, order).await {
                    Ok(()) => {}
                    Err(error @ ProgramError::File { .. }) => diagnostics.report(error).await,
                    Err(error) => return Err(error),
                }
                connection
                    .send(&Segment::end_marker().encode(order))
                    .await?;
            }
            Ok(())
        }
    }
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

/// Send the file at `path` (relative to the working directory) as segments.
///
/// Errors opening or reading the file are [`ProgramError::File`]; nothing
/// has been sent when opening fails.
async fn send_file(
    connection: &mut Connection,
    env: &Env,
    path: &OsStr,
    order: ByteOrder,
) -> Result<(), ProgramError> {
    let shown = PathBuf::from(path);
    let file = open_file(env, Path::new(path), Access::Read)
        .await
        .map_err(ProgramError::file("open", &shown))?;
    let mut file = BufReader::with_capacity(FILE_BUFFER, file);
    let mut chunk = [0u8; DATA_SIZE];
    loop {
        let n = read_chunk(&mut file, &mut chunk)
            .await
            .map_err(ProgramError::file("read", &shown))?;
        if n == 0 {
            return Ok(());
        }
        let segment =
            Segment::with_data(&chunk[..n]).expect("a chunk holds at most DATA_SIZE bytes");
        connection.send(&segment.encode(order)).await?;
        if n < DATA_SIZE {
            return Ok(());
        }
    }
}

/// Fill `chunk` unless the file ends first; returns how much was read.
async fn read_chunk(
    file: &mut BufReader<tokio::fs::File>,
    chunk: &mut [u8],
) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < chunk.len() {
        match file.read(&mut chunk[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Fetch one file (default), or the files named on stdin (`--iterative`).
pub async fn client(args: &FtClientArgs, console: Console, env: &Env) -> Result<(), ProgramError> {
    let server = SocketAddr::new(args.ip, args.port);
    let order = args.byte_order;
    match (args.iterative, &args.src, &args.dst) {
        (None, Some(src), Some(dst)) => {
            let mut connection = connect(env, server).await?;
            let mut destination = create(env, dst).await?;
            connection.send(src.as_bytes()).await?;
            receive_file(&mut connection, &mut destination, dst, order, End::Close).await?;
            Ok(())
        }
        (Some(mode), _, _) => iterative_client(mode, server, order, console, env).await,
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
    /// A segment with `len == 0`.
    Marker,
}

/// Open `dst` (relative to the working directory) for writing, created or
/// truncated.
async fn create(env: &Env, dst: &Path) -> Result<BufWriter<tokio::fs::File>, ProgramError> {
    let file = open_file(env, dst, Access::Create)
        .await
        .map_err(ProgramError::file("create", dst))?;
    Ok(BufWriter::with_capacity(FILE_BUFFER, file))
}

/// What [`open_file`] opens a file for.
#[derive(Clone, Copy)]
enum Access {
    Read,
    Create,
}

/// Opens `path` (relative to `env.cwd`) as `env.files` allows: anywhere, or
/// only a regular file beneath a folder, following no link (off the async
/// runtime: opening a path can block).
async fn open_file(env: &Env, path: &Path, access: Access) -> std::io::Result<tokio::fs::File> {
    let full = env.cwd.join(path);
    let file = match &env.files {
        Files::Anywhere => match access {
            Access::Read => tokio::fs::File::open(full).await?.into_std().await,
            Access::Create => tokio::fs::File::create(full).await?.into_std().await,
        },
        Files::Beneath(folder) => {
            let folder = folder.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
                let beneath = Folder::open(&folder)?;
                Ok(match access {
                    Access::Read => beneath.open_file(&full)?,
                    Access::Create => beneath.create(&full)?,
                })
            })
            .await
            .map_err(std::io::Error::other)??
        }
    };
    Ok(tokio::fs::File::from_std(file))
}

/// Receive segments into `destination` until the end of the file; returns the data length.
async fn receive_file(
    connection: &mut Connection,
    destination: &mut BufWriter<tokio::fs::File>,
    dst: &Path,
    order: ByteOrder,
    end: End,
) -> Result<u64, ProgramError> {
    let mut reassembler = SegmentReassembler::new(order);
    let mut buf = vec![0u8; 16 * 1024];
    let mut total = 0u64;
    let write_error = ProgramError::file("write", dst);
    loop {
        let n = connection.read(&mut buf).await?;
        if n == 0 {
            reassembler.finish()?;
            if end == End::Marker {
                return Err(ProgramError::Protocol(
                    "server closed the connection before the end-of-file marker".into(),
                ));
            }
            break;
        }
        reassembler.push(&buf[..n]);
        let mut marker_seen = false;
        while let Some(segment) = reassembler.next_segment() {
            if marker_seen {
                return Err(ProgramError::Protocol(
                    "data after the end-of-file marker".into(),
                ));
            }
            let data = segment.data()?;
            if end == End::Marker && data.is_empty() {
                marker_seen = true;
                continue;
            }
            destination
                .write_all(data)
                .await
                .map_err(ProgramError::file("write", dst))?;
            total += data.len() as u64;
        }
        if marker_seen {
            if reassembler.partial_len() > 0 {
                return Err(ProgramError::Protocol(
                    "data after the end-of-file marker".into(),
                ));
            }
            break;
        }
    }
    destination.flush().await.map_err(write_error)?;
    Ok(total)
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
    mode: IterativeMode,
    server: SocketAddr,
    order: ByteOrder,
    mut console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let diagnostics = console.diagnostics();
    let mut session = match mode {
        IterativeMode::Marker => Some(connect(env, server).await?),
        IterativeMode::NewConnection => None,
    };
    let (mut total, mut failed) = (0usize, 0usize);
    while let Request::Transfer { src, dst } = next_request(&mut console, &diagnostics).await? {
        total += 1;
        let outcome = match session.as_mut() {
            Some(connection) => transfer_in_session(connection, &src, &dst, order, env).await,
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
    if failed > 0 {
        return Err(ProgramError::TransfersFailed { failed, total });
    }
    Ok(())
}

/// Whether a failed transfer ends the whole client.
///
/// Not reaching the server ends everything. In a marker session any failure
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
    let mut destination = create(env, dst).await?;
    connection.send(src.as_bytes()).await?;
    receive_file(&mut connection, &mut destination, dst, order, End::Close).await
}

async fn transfer_in_session(
    connection: &mut Connection,
    src: &OsStr,
    dst: &Path,
    order: ByteOrder,
    env: &Env,
) -> Result<u64, ProgramError> {
    // Create first: if that fails nothing was asked of the server and the session stays in step.
    let mut destination = create(env, dst).await?;
    connection.send(src.as_bytes()).await?;
    receive_file(connection, &mut destination, dst, order, End::Marker).await
}
