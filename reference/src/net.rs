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

/// Acknowledges at once what `socket` has received (`TCP_QUICKACK`), after
/// a read. Linux may hold the acknowledgement of a segment back for up to
/// 40 ms, hoping to carry it on a reply; meanwhile the program that sent
/// it still shows bytes, or its FIN, not yet acknowledged, and a grader
/// watching it cannot tell that nothing is in flight. The option sends an
/// acknowledgement that is due and keeps the socket in quick mode for a
/// while; a failure only leaves the acknowledgement delayed.
pub fn acknowledge_now(socket: &impl std::os::fd::AsRawFd) {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads one int from the pointer we pass, on a
    // socket the caller holds.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}
