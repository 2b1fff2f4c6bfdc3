//! Daytime server and client (UNP `intro/daytimetcpsrv.c`, `daytimetcpcli.c`).
//!
//! The server is iterative: accept, write the 26-byte time line, close, and
//! accept the next client. The client prints whatever arrives until the
//! server closes.

use std::net::SocketAddr;
use std::time::SystemTime;

use super::{Console, connect, listen};
use crate::Env;
use crate::cli::{DaytimeClientArgs, DaytimeServerArgs};
use crate::error::ProgramError;
use crate::wire::daytime;

/// Serve the time forever (until an `accept` fails for good).
pub async fn server(
    args: &DaytimeServerArgs,
    console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let listener = listen(env, SocketAddr::new(args.bind.bind, args.port)).await?;
    let diagnostics = console.diagnostics();
    loop {
        let mut connection = listener.accept().await?;
        let reply = daytime::format(SystemTime::now());
        // One client's failure (it reset the connection) must not stop the server.
        if let Err(error) = connection.send(reply.as_bytes()).await {
            diagnostics.report(error).await;
        }
    }
}

/// Print everything the server sends until it closes.
pub async fn client(
    args: &DaytimeClientArgs,
    mut console: Console,
    env: &Env,
) -> Result<(), ProgramError> {
    let mut connection = connect(env, SocketAddr::new(args.ip, args.port)).await?;
    let mut buf = [0u8; 4096];
    loop {
        let n = connection.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        console.print(&buf[..n]).await?;
    }
}
