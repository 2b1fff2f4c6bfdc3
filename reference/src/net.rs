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

/// Ports handed out for servers, one after another, never the same twice:
/// from a first port up to the kernel's ephemeral range
/// (`ip_local_port_range`), each free when it is given.
///
/// A port from `bind(0)` comes from the range the kernel also gives
/// outgoing connections, so a client running alongside can take it before
/// the server binds it ("Address already in use", not the server's
/// doing), and a port just released can be handed out twice. Below the
/// range only an explicit `bind` takes a port. Each is probed as a server
/// binds, on `0.0.0.0` and on `::` where the machine has IPv6, without
/// `SO_REUSEADDR`: a port held by a listener, or by a connection in
/// TIME_WAIT, is passed over.
#[derive(Debug)]
pub struct ServerPorts {
    first: u32,
    next: std::sync::Mutex<u32>,
}

impl ServerPorts {
    /// Ports from `first` up, handed out from `offset` places in (two
    /// processes drawing at once start apart).
    pub const fn starting_at(first: u16, offset: u32) -> ServerPorts {
        ServerPorts {
            first: first as u32,
            next: std::sync::Mutex::new(offset),
        }
    }

    /// The next free port not in `taken`; `None` when the ephemeral range
    /// leaves no room above `first` (then only the kernel can choose) or
    /// every port there is in use.
    pub fn next(&self, taken: &[u16]) -> Option<u16> {
        let below = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(32_768);
        if below <= self.first + 1_000 {
            return None;
        }
        let span = below - self.first;
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        for _ in 0..span {
            let port = (self.first + *next % span) as u16;
            *next = next.wrapping_add(1);
            if !taken.contains(&port) && unused(port) {
                return Some(port);
            }
        }
        None
    }
}

/// Whether a server could bind `port` now, on every address.
fn unused(port: u16) -> bool {
    std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
        && !matches!(
            std::net::TcpListener::bind(("::", port)),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse
        )
}

/// Acknowledges at once what `socket` has received (`TCP_QUICKACK`), after
/// a read. Linux may hold the acknowledgement of a segment back for up to
/// 40 ms, hoping to carry it on a reply; meanwhile the program that sent
/// it still shows bytes, or its FIN, not yet acknowledged, and a grader
/// watching it cannot tell that nothing is in flight. The option sends an
/// acknowledgement that is due and keeps the socket in quick mode for a
/// while; a failure only leaves the acknowledgement delayed.
pub fn acknowledge_now(socket: &impl std::os::fd::AsRawFd) {
    let _ = set_socket_option(
        socket,
        libc::IPPROTO_TCP,
        libc::TCP_QUICKACK,
        &1 as &libc::c_int,
    );
}

/// `setsockopt(socket, level, name, value)`: sets an option whose value is
/// the C type `T` (an `int`, a `struct linger`, a `struct timeval`, a
/// `struct sock_fprog`, ...). The kernel reads the `size_of::<T>()` bytes
/// of `value` and writes nothing; a `T` that is not the option's type is
/// refused (EINVAL) or misread, and a pointer inside it that does not point
/// to what the option expects gets EFAULT.
pub fn set_socket_option<T>(
    socket: &impl std::os::fd::AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: the pointer and size describe `value`, alive and borrowed
    // for the call; the kernel only reads them.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
