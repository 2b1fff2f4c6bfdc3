//! Pacing: socklab writes the next bytes of a connection only once its
//! reader has taken enough of the earlier ones, so that the kernel never
//! decides how a message is split.
//!
//! On one host the kernel delivers a write as one piece when the reader
//! keeps up, and splits it when the reader's receive queue fills or when a
//! write joins bytes still waiting to be sent: whether a program that reads
//! one message per `read()` passes then depends on timing. socklab's
//! proxy and peers avoid both: before each write they look at the reader's
//! socket (`kernel::sock_diag`: bytes it received, bytes it has not read)
//! and at their own (bytes not yet sent), and wait while
//!
//! - **whole messages** (a scenario that does not test fragmentation):
//!   anything of theirs is still unsent, or the reader has more than
//!   [`WHOLE_BACKLOG`] bytes not yet taken: each message then goes out as
//!   one TCP segment into a queue with room for it, and a `read()` of a
//!   message's size gets the whole message, every run;
//! - **split messages** (a scenario that tests fragmentation): the reader
//!   has not taken every byte written so far: each piece arrives on its
//!   own, and every `read()` returns at most one piece, every run.
//!
//! The reader's socket is found by its addresses on any host of the
//! scenario; when it is gone (the reader closed), nothing is waited for.
//! Waiting is probing, not sleeping for a guessed time: a probe costs
//! microseconds; between probes the task yields, then pauses a
//! millisecond, until the reader has taken the bytes (or the caller's own
//! deadline ends the wait). For whole messages a probe is made only when
//! the last one cannot answer: a reader only takes bytes, so what it had
//! not taken then, plus what was written since, bounds what it has not
//! taken now, and while that bound leaves room the next message goes
//! without a look (a 1 MiB file in 260-byte frames took a probe a frame,
//! about a hundred times more than it needs).

use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::kernel::SockDiag;

use super::sockets;

/// Most bytes a reader may have pending (in flight or queued, not yet
/// read) before a whole message is written: far below the receive window
/// a loopback or veth connection opens with (64 KiB), so a write is never
/// cut to fit the window.
pub const WHOLE_BACKLOG: u64 = 32 * 1024;

/// The reading end of a connection socklab writes on.
#[derive(Clone)]
pub struct Reader {
    hosts: Arc<Vec<Arc<SockDiag>>>,
    /// The reader's own addresses: its local address is the writer's remote.
    local: SocketAddr,
    remote: SocketAddr,
    /// The last probe: bytes written then, and how many of them the
    /// reader had not taken.
    last: Arc<Mutex<Option<(u64, u64)>>>,
}

impl Reader {
    /// The reader of the connection `writer` writes on, looked for on `hosts`.
    pub fn of(writer: &tokio::net::TcpStream, hosts: Arc<Vec<Arc<SockDiag>>>) -> Option<Reader> {
        Some(Reader {
            hosts,
            local: writer.peer_addr().ok()?,
            remote: writer.local_addr().ok()?,
            last: Arc::default(),
        })
    }

    /// Bytes of the `written` so far that the reader has not taken; `None`
    /// once its socket is gone.
    pub fn untaken(&self, written: u64) -> Option<u64> {
        let untaken = sockets::untaken(&self.hosts, self.local, self.remote, written);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = untaken.map(|u| (written, u));
        untaken
    }

    /// Whether a message of `size` bytes may follow the `written` ones
    /// whole (see the module's rule), probing only when the last probe
    /// cannot tell.
    fn has_room(&self, written: u64, size: u64) -> bool {
        let last = *self.last.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((then, untaken)) = last
            && let Some(since) = written.checked_sub(then)
            && untaken + since + size <= WHOLE_BACKLOG
        {
            return true;
        }
        self.untaken(written)
            .is_none_or(|pending| pending == 0 || pending + size <= WHOLE_BACKLOG)
    }
}

/// Bytes written on `socket` that the kernel has not sent yet
/// (`SIOCOUTQNSD`).
pub fn unsent(socket: &impl AsRawFd) -> u32 {
    const SIOCOUTQNSD: libc::c_ulong = 0x894B;
    let mut n: libc::c_int = 0;
    // SAFETY: the ioctl writes one int into `n`, on a socket we hold.
    let ok = unsafe { libc::ioctl(socket.as_raw_fd(), SIOCOUTQNSD, &mut n) };
    if ok == -1 { 0 } else { n.max(0) as u32 }
}

/// socklab's sockets acknowledge what they read at once (see there).
pub use socklab_reference::net::acknowledge_now;

/// Waits until `ready` says so: probing at once, then after yielding, then
/// every millisecond.
pub async fn until(mut ready: impl FnMut() -> bool) {
    let mut probes = 0u32;
    while !ready() {
        probes += 1;
        if probes <= 3 {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// Waits until a whole message of `size` bytes can be written on `socket`
/// without the kernel splitting it (see the module's rule).
pub async fn room_for(socket: &impl AsRawFd, reader: Option<&Reader>, written: u64, size: u64) {
    until(|| unsent(socket) == 0 && reader.is_none_or(|r| r.has_room(written, size))).await
}

/// Waits until the reader has taken every one of the `written` bytes.
pub async fn taken(reader: Option<&Reader>, written: u64) {
    if let Some(reader) = reader {
        until(|| reader.untaken(written).is_none_or(|pending| pending == 0)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// The state and the unacknowledged segments of a socket (`TCP_INFO`).
    fn state_and_unacked(socket: &impl AsRawFd) -> (u8, u32) {
        // SAFETY: TCP_INFO fills at most `len` bytes of a zeroed tcp_info.
        unsafe {
            let mut info: libc::tcp_info = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            );
            (info.tcpi_state, info.tcpi_unacked)
        }
    }

    /// Once socklab has read a reply and its FIN and said so, the program
    /// that sent them has nothing unacknowledged: its close is over
    /// (FIN_WAIT2), not waiting for a delayed acknowledgement.
    #[test]
    fn what_socklab_read_is_acknowledged_at_once() {
        use std::io::{Read, Write};
        const FIN_WAIT2: u8 = 5;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut ours = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut program, _) = listener.accept().unwrap();
        let mut buf = [0u8; 64];
        // Back and forth first, so that the kernel delays acknowledgements
        // as it does in a conversation.
        for _ in 0..4 {
            ours.write_all(b"question\n").unwrap();
            let _ = program.read(&mut buf).unwrap();
            program.write_all(b"answer\n").unwrap();
            let _ = ours.read(&mut buf).unwrap();
            acknowledge_now(&ours);
        }
        ours.write_all(b"bye\n").unwrap();
        let _ = program.read(&mut buf).unwrap();
        program.write_all(b"last\n").unwrap();
        program.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        ours.read_to_end(&mut rest).unwrap();
        acknowledge_now(&ours);
        assert_eq!(rest, b"last\n");
        assert_eq!(state_and_unacked(&program), (FIN_WAIT2, 0));
    }

    /// Whole messages to a reader that takes nothing: the writer stops
    /// once the reader holds a backlog's worth, probing or not (what it
    /// had not taken at the last probe, plus what was written since, is
    /// never allowed past the backlog).
    #[tokio::test]
    async fn a_reader_that_takes_nothing_never_holds_more_than_the_backlog() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut writer = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (reader_socket, _) = listener.accept().await.unwrap();
        writer.set_nodelay(true).unwrap();
        let hosts = Arc::new(vec![Arc::new(SockDiag::current().unwrap())]);
        let reader = Reader::of(&writer, hosts).unwrap();
        let size = 260u64;
        let mut written = 0u64;
        let wrote = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                room_for(&writer, Some(&reader), written, size).await;
                writer.write_all(&[7u8; 260]).await.unwrap();
                written += size;
            }
        })
        .await;
        assert!(wrote.is_err(), "the writer never stopped");
        let mut queued: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int, on a socket we hold.
        unsafe { libc::ioctl(reader_socket.as_raw_fd(), libc::FIONREAD, &mut queued) };
        assert!(
            written <= WHOLE_BACKLOG && written + size > WHOLE_BACKLOG,
            "stopped after {written} bytes"
        );
        assert_eq!(queued as u64, written);
    }
}
