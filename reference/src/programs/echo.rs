//! Echo server and client (UNP `tcpcliserv`).
//!
//! The server echoes bytes (`tcpserv01`) or answers each line `A B` with
//! `A+B` (`tcpserv08`), serving clients one at a time (`iterative`, the
//! course's `EchoServer.c`: a second client waits in the backlog) or
//! concurrently with a task each (`async`). The `fork` flavour is in
//! [`super::echo_fork`].
//!
//! The client sends stdin line by line and prints replies as they arrive;
//! at end of input it half-closes (like UNP's `str_cli` with `shutdown`)
//! and drains the replies still on their way, so no reply is lost.

use std::net::SocketAddr;
use std::pin::pin;

use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::task::JoinSet;

use super::{Connection, Console, Diagnostics, connect, listen};
use crate::Env;
use crate::cli::{Concurrency, EchoClientArgs, EchoMode, EchoServerArgs};
use crate::error::ProgramError;
use crate::wire::echo::sum_reply;

/// Longest line the sum server reads at once (`MAXLINE` in UNP).
pub const MAX_LINE: u64 = 4096;

/// Serve clients forever in the chosen concurrency.
pub async fn server(
    args: &EchoServerArgs,
    console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    if args.concurrency == Concurrency::Fork {
        return Err(ProgramError::ForkInProcess);
    }
    let listener = listen(env, SocketAddr::new(args.bind.bind, args.port)).await?;
    let diagnostics = console.diagnostics();
    if args.concurrency == Concurrency::Iterative {
        loop {
            let connection = listener.accept().await?;
            serve_reporting(connection, args.mode, diagnostics.clone()).await;
        }
    }
    // Dropping the set (when this future is dropped) aborts every client task.
    let mut clients = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                clients.spawn(serve_reporting(accepted?, args.mode, diagnostics.clone()));
            }
            Some(_) = clients.join_next(), if !clients.is_empty() => {}
        }
    }
}

async fn serve_reporting(connection: Connection, mode: EchoMode, diagnostics: Diagnostics) {
    let served = match mode {
        EchoMode::Echo => echo_bytes(connection).await,
        EchoMode::Sum => answer_sums(connection).await,
    };
    if let Err(error) = served {
        diagnostics.report(error).await;
    }
}

/// `str_echo`: write back whatever arrives until the client closes.
async fn echo_bytes(mut connection: Connection) -> Result<(), ProgramError> {
    let mut buf = vec![0u8; 8192];
    loop {
        let n = connection.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        connection.send(&buf[..n]).await?;
    }
}

/// `str_echo08`: answer each line with the sum of its two integers.
async fn answer_sums(connection: Connection) -> Result<(), ProgramError> {
    let peer = connection.peer();
    let mut reader = connection.buffered();
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .await
            .map_err(ProgramError::read_from(peer))?;
        if n == 0 {
            return Ok(());
        }
        let reply = sum_reply(&line);
        tokio::io::AsyncWriteExt::write_all(reader.get_mut(), &reply)
            .await
            .map_err(ProgramError::write_to(peer))?;
    }
}

/// Send stdin, print replies; half-close at end of input and drain.
pub async fn client(
    args: &EchoClientArgs,
    mut console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let connection = connect(env, SocketAddr::new(args.ip, args.port)).await?;
    let (mut from_server, mut to_server) = connection.split();
    let mut stdin = std::mem::replace(
        &mut console.stdin,
        tokio::io::BufReader::new(Box::new(tokio::io::empty())),
    );

    let upload = async move {
        let mut line = Vec::new();
        loop {
            line.clear();
            stdin
                .read_until(b'\n', &mut line)
                .await
                .map_err(|source| ProgramError::Stdio {
                    action: "read stdin",
                    source,
                })?;
            if line.is_empty() {
                return to_server.shutdown_write().await;
            }
            to_server.send(&line).await?;
        }
    };
    let download = async {
        let mut buf = vec![0u8; 8192];
        loop {
            let n = from_server.read(&mut buf).await?;
            if n == 0 {
                return Ok::<(), ProgramError>(());
            }
            console.print(&buf[..n]).await?;
        }
    };

    let mut upload = pin!(upload);
    let mut download = pin!(download);
    let mut input_done = false;
    loop {
        tokio::select! {
            sent = &mut upload, if !input_done => {
                sent?;
                input_done = true;
            }
            received = &mut download => {
                received?;
                if input_done {
                    return Ok(());
                }
                return Err(ProgramError::Protocol("server terminated prematurely".into()));
            }
        }
    }
}
