//! Where sockets come from.
//!
//! The programs never call `TcpSocket::new_v4` themselves: they ask a [`Net`]
//! for a fresh socket. On the host that is a plain socket ([`HostNet`]); the
//! harness implements [`Net`] for a network namespace, so a reference peer
//! can live in the same isolated network as the student program it talks to.

use std::io;

use tokio::net::TcpSocket;

/// A network in which sockets can be created.
///
/// Implementations return a fresh, unbound, non-blocking TCP socket
/// registered with the current tokio runtime, in their network.
pub trait Net: Send + Sync + 'static {
    /// A new unbound TCP socket; IPv6 if `v6`, else IPv4.
    fn tcp_socket(&self, v6: bool) -> io::Result<TcpSocket>;
}

/// The network the current process is in.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostNet;

impl Net for HostNet {
    fn tcp_socket(&self, v6: bool) -> io::Result<TcpSocket> {
        if v6 {
            TcpSocket::new_v6()
        } else {
            TcpSocket::new_v4()
        }
    }
}
