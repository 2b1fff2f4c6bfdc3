//! The actions a step can take, one file each: what the action does (its
//! I/O on programs, peers and files) and which check judges what it saw.
//!
//! | keyword | file | judged by |
//! |---|---|---|
//! | `start` | [`start`] | set-up |
//! | `wait_listen` | [`wait_listen`] | [`check::process`](crate::check::process) |
//! | `type` | [`type_input`] | set-up |
//! | `expect` | [`expect`] | [`check::printed`](crate::check::printed) |
//! | `exit` | [`exit`] | [`check::process`](crate::check::process) |
//! | `running` | [`running`] | [`check::process`](crate::check::process) |
//! | `idle` | [`idle`] | [`check::process`](crate::check::process) |
//! | `children` | [`children`] | [`check::process`](crate::check::process) |
//! | `stop` | [`stop`] | set-up |
//! | `suspend`, `resume` | [`suspend`] | set-up |
//! | `output` | [`output`] | [`check::printed`](crate::check::printed) |
//! | `proxy` | [`proxy`] | set-up |
//! | `connect` | [`connect`] | [`check::connection`](crate::check::connection) |
//! | `listen` | [`listen`] | set-up |
//! | `accept` | [`accept`] | [`check::connection`](crate::check::connection) |
//! | `send` | [`send`] | set-up |
//! | `recv` | [`recv`] | [`check::bytes`](crate::check::bytes) |
//! | `silence` | [`silence`] | [`check::bytes`](crate::check::bytes) |
//! | `shutdown` | [`shutdown`] | set-up |
//! | `close` | [`close`] | set-up |
//! | `file` | [`file`] | [`check::file`](crate::check::file) |
//! | `assert` | [`assert`] | [`check::values`](crate::check::values) |
//! | `packets` | [`packets`] | [`check::packets`](crate::check::packets) |
//!
//! Each `run` gathers its fact and returns the check's [`Judgement`]
//! (`crate::check::Judgement`); a set-up action judges only whether it
//! could do what it was asked. [`super::run_action`] dispatches to them,
//! one match arm per action.

pub mod accept;
pub mod assert;
pub mod children;
pub mod close;
pub mod connect;
pub mod exit;
pub mod expect;
pub mod file;
pub mod idle;
pub mod listen;
pub mod output;
pub mod packets;
pub mod proxy;
pub mod recv;
pub mod running;
pub mod send;
pub mod shutdown;
pub mod silence;
pub mod start;
pub mod stop;
pub mod suspend;
pub mod type_input;
pub mod wait_listen;

use std::net::SocketAddr;
use std::sync::Arc;

/// Binds a listening socket on all addresses of a host.
fn bind_listener(
    net: &Arc<dyn socklab_reference::net::Net>,
    port: u16,
) -> std::io::Result<tokio::net::TcpListener> {
    let socket = net.tcp_socket(false)?;
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([0, 0, 0, 0], port)))?;
    socket.listen(128)
}
