//! A record of everything the reference programs did on the network.
//!
//! Every socket a program opens goes through a [`Transcript`]: the listening
//! socket is announced with [`Transcript::listening`], and each connection is
//! wrapped in a [`Recorded`] stream that logs what was sent and received,
//! half-closes, errors and the close, with the time since the transcript
//! began. The harness keeps one transcript per reference peer and shows it to
//! students as evidence ("the reference client sent `\x00\x00\x00\x00`, your
//! server answered nothing and closed"); tests use it to wait for events
//! (a server listening, a connection accepted) instead of sleeping.

use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Identifies one socket (listening or connected) within a transcript.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl std::fmt::Display for ConnId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// What happened on a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A server socket started listening on `local`.
    Listening {
        /// The bound address (with the real port when port 0 was asked for).
        local: SocketAddr,
    },
    /// A connection was established.
    Connected {
        /// This end's address.
        local: SocketAddr,
        /// The other end's address.
        peer: SocketAddr,
        /// True if this end accepted it (server side), false if it connected.
        accepted: bool,
    },
    /// Bytes written to the connection (one successful write).
    Sent(Vec<u8>),
    /// Bytes one read returned.
    Received(Vec<u8>),
    /// A read returned end of stream (the peer's FIN).
    ReadEof,
    /// This end shut down its writing half (sent FIN).
    WriteShutdown,
    /// The connection was closed (dropped) by this end.
    Closed,
    /// An I/O operation failed.
    Error(String),
}

/// One entry of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TranscriptEvent {
    /// The socket it happened on.
    pub conn: ConnId,
    /// Time since the transcript was created.
    pub at: Duration,
    /// What happened.
    pub kind: EventKind,
}

/// A shared, append-only log of network events.
///
/// Cloning is cheap and every clone appends to the same log. A transcript
/// made with [`Transcript::disabled`] records nothing (the standalone
/// binaries use it, so a long-running server does not keep every byte).
#[derive(Clone)]
pub struct Transcript {
    shared: Arc<Shared>,
}

struct Shared {
    enabled: bool,
    start: Instant,
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    next_id: u64,
    events: Vec<TranscriptEvent>,
}

impl Default for Transcript {
    fn default() -> Self {
        Transcript::new()
    }
}

impl std::fmt::Debug for Transcript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transcript")
            .field("enabled", &self.shared.enabled)
            .field("events", &self.state().events.len())
            .finish()
    }
}

impl Transcript {
    /// An empty transcript that records.
    pub fn new() -> Transcript {
        Transcript::with_recording(true)
    }

    /// A transcript that records nothing (but still hands out ids).
    pub fn disabled() -> Transcript {
        Transcript::with_recording(false)
    }

    fn with_recording(enabled: bool) -> Transcript {
        Transcript {
            shared: Arc::new(Shared {
                enabled,
                start: Instant::now(),
                state: Mutex::new(State::default()),
                changed: Notify::new(),
            }),
        }
    }

    /// Whether events are kept.
    pub fn is_enabled(&self) -> bool {
        self.shared.enabled
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the log inconsistent
        // (each push is one operation), so a poisoned lock is still usable.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn new_id(&self) -> ConnId {
        let mut state = self.state();
        state.next_id += 1;
        ConnId(state.next_id)
    }

    /// Append an event for `conn`.
    pub fn record(&self, conn: ConnId, kind: EventKind) {
        if !self.shared.enabled {
            return;
        }
        let at = self.shared.start.elapsed();
        self.state().events.push(TranscriptEvent { conn, at, kind });
        self.shared.changed.notify_waiters();
    }

    /// Record that a server listens on `local`; returns the listening socket's id.
    pub fn listening(&self, local: SocketAddr) -> ConnId {
        let id = self.new_id();
        self.record(id, EventKind::Listening { local });
        id
    }

    /// Wrap a connection this end opened (client side).
    pub fn wrap(&self, stream: TcpStream) -> Recorded {
        self.wrap_as(stream, false)
    }

    /// Wrap a connection this end accepted (server side).
    pub fn wrap_accepted(&self, stream: TcpStream) -> Recorded {
        self.wrap_as(stream, true)
    }

    fn wrap_as(&self, stream: TcpStream, accepted: bool) -> Recorded {
        let unknown = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        let local = stream.local_addr().unwrap_or(unknown);
        let peer = stream.peer_addr().unwrap_or(unknown);
        let id = self.new_id();
        self.record(
            id,
            EventKind::Connected {
                local,
                peer,
                accepted,
            },
        );
        Recorded {
            stream,
            id,
            transcript: self.clone(),
            saw_eof: false,
        }
    }

    /// A copy of all events so far, in order.
    pub fn events(&self) -> Vec<TranscriptEvent> {
        self.state().events.clone()
    }

    /// All bytes sent on `conn`, concatenated.
    pub fn bytes_sent(&self, conn: ConnId) -> Vec<u8> {
        self.collect_bytes(conn, |kind| match kind {
            EventKind::Sent(bytes) => Some(bytes),
            _ => None,
        })
    }

    /// All bytes received on `conn`, concatenated.
    pub fn bytes_received(&self, conn: ConnId) -> Vec<u8> {
        self.collect_bytes(conn, |kind| match kind {
            EventKind::Received(bytes) => Some(bytes),
            _ => None,
        })
    }

    fn collect_bytes(
        &self,
        conn: ConnId,
        pick: impl Fn(&EventKind) -> Option<&Vec<u8>>,
    ) -> Vec<u8> {
        let state = self.state();
        let pieces = state
            .events
            .iter()
            .filter(|e| e.conn == conn)
            .filter_map(|e| pick(&e.kind));
        pieces.flatten().copied().collect()
    }

    /// Wait until `check` finds what it looks for in the events, and return it.
    ///
    /// `check` runs now and after every new event. There is no deadline here:
    /// wrap the call in `tokio::time::timeout`.
    pub async fn wait_for<T>(&self, mut check: impl FnMut(&[TranscriptEvent]) -> Option<T>) -> T {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(found) = check(&self.state().events) {
                return found;
            }
            changed.await;
        }
    }

    /// Wait for the first [`EventKind::Listening`] event and return its address.
    pub async fn listening_addr(&self) -> SocketAddr {
        self.wait_for(|events| {
            events.iter().find_map(|e| match e.kind {
                EventKind::Listening { local } => Some(local),
                _ => None,
            })
        })
        .await
    }

    /// The transcript as text, one event per line, bytes escaped with [`escape_bytes`].
    pub fn render(&self) -> String {
        let mut out = String::new();
        for event in self.state().events.iter() {
            let _ = write!(out, "[{:>10.6}s] {} ", event.at.as_secs_f64(), event.conn);
            let _ = match &event.kind {
                EventKind::Listening { local } => writeln!(out, "listening on {local}"),
                EventKind::Connected {
                    local,
                    peer,
                    accepted: true,
                } => {
                    writeln!(out, "accepted {peer} on {local}")
                }
                EventKind::Connected {
                    local,
                    peer,
                    accepted: false,
                } => {
                    writeln!(out, "connected {local} -> {peer}")
                }
                EventKind::Sent(bytes) => {
                    writeln!(
                        out,
                        "sent {} bytes: \"{}\"",
                        bytes.len(),
                        escape_bytes(bytes)
                    )
                }
                EventKind::Received(bytes) => {
                    writeln!(
                        out,
                        "received {} bytes: \"{}\"",
                        bytes.len(),
                        escape_bytes(bytes)
                    )
                }
                EventKind::ReadEof => writeln!(out, "end of stream from peer"),
                EventKind::WriteShutdown => writeln!(out, "shut down writing (FIN sent)"),
                EventKind::Closed => writeln!(out, "closed"),
                EventKind::Error(message) => writeln!(out, "error: {message}"),
            };
        }
        out
    }
}

/// Show bytes to a person: printable ASCII as is, `\n \r \t \0 \\` escaped,
/// any other byte as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Bytes, then one conversion: a transcript of a binary file is mostly
    // `\xNN`, and the formatting machinery per byte cost more than the rest
    // of a scenario's bookkeeping.
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 4);
    for &b in bytes {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\0' => out.extend_from_slice(b"\\0"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
    }
    String::from_utf8(out).expect("printable ASCII only")
}

/// A TCP connection whose every operation lands in a [`Transcript`].
///
/// It is an `AsyncRead + AsyncWrite` like the stream it wraps; dropping it
/// closes the connection and records [`EventKind::Closed`].
#[derive(Debug)]
pub struct Recorded {
    stream: TcpStream,
    id: ConnId,
    transcript: Transcript,
    saw_eof: bool,
}

impl Recorded {
    /// This connection's id in the transcript.
    pub fn id(&self) -> ConnId {
        self.id
    }

    /// This end's address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.stream.local_addr()
    }

    /// The other end's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.stream.peer_addr()
    }

    /// The underlying stream (for socket options; I/O through it is not recorded).
    pub fn get_ref(&self) -> &TcpStream {
        &self.stream
    }

    fn note_error<T>(&self, result: &io::Result<T>) {
        if let Err(e) = result {
            self.transcript
                .record(self.id, EventKind::Error(e.to_string()));
        }
    }
}

impl AsyncRead for Recorded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        this.note_error(&result);
        if result.is_ok() {
            crate::net::acknowledge_now(&this.stream);
            let got = &buf.filled()[before..];
            if !got.is_empty() {
                // A transcript that records nothing costs no copy.
                if this.transcript.is_enabled() {
                    this.transcript
                        .record(this.id, EventKind::Received(got.to_vec()));
                }
            } else if buf.remaining() > 0 && !this.saw_eof {
                this.saw_eof = true;
                this.transcript.record(this.id, EventKind::ReadEof);
            }
        }
        Poll::Ready(result)
    }
}

impl AsyncWrite for Recorded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        this.note_error(&result);
        if let Ok(n) = result
            && n > 0
            && this.transcript.is_enabled()
        {
            this.transcript
                .record(this.id, EventKind::Sent(buf[..n].to_vec()));
        }
        Poll::Ready(result)
    }

    /// One `writev`: what was written is recorded as one send, as with `write`.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = match Pin::new(&mut this.stream).poll_write_vectored(cx, bufs) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        this.note_error(&result);
        if let Ok(n) = result
            && n > 0
            && this.transcript.is_enabled()
        {
            let mut sent = Vec::with_capacity(n);
            for slice in bufs {
                let take = slice.len().min(n - sent.len());
                sent.extend_from_slice(&slice[..take]);
                if sent.len() == n {
                    break;
                }
            }
            this.transcript.record(this.id, EventKind::Sent(sent));
        }
        Poll::Ready(result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = match Pin::new(&mut this.stream).poll_shutdown(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(result) => result,
        };
        this.note_error(&result);
        if result.is_ok() {
            this.transcript.record(this.id, EventKind::WriteShutdown);
        }
        Poll::Ready(result)
    }
}

impl Drop for Recorded {
    fn drop(&mut self) {
        self.transcript.record(self.id, EventKind::Closed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_outside_printable_ascii_is_two_lowercase_hex_digits() {
        for b in 0..=255u8 {
            let shown = escape_bytes(&[b]);
            match b {
                b'\n' | b'\r' | b'\t' | b'\0' | b'\\' => assert_eq!(shown.len(), 2, "{b}"),
                0x20..=0x7e => assert_eq!(shown, char::from(b).to_string()),
                _ => assert_eq!(shown, format!("\\x{b:02x}")),
            }
        }
    }

    #[test]
    fn escapes_what_a_person_cannot_see() {
        assert_eq!(escape_bytes(b"Full"), "Full");
        assert_eq!(
            escape_bytes(b"a\r\n\t\0\\\x7f\xff\""),
            "a\\r\\n\\t\\0\\\\\\x7f\\xff\""
        );
    }

    #[test]
    fn a_disabled_transcript_keeps_nothing() {
        let transcript = Transcript::disabled();
        let id = transcript.listening("127.0.0.1:1".parse().unwrap());
        transcript.record(id, EventKind::Closed);
        assert!(transcript.events().is_empty());
        assert!(transcript.render().is_empty());
    }

    #[tokio::test]
    async fn records_both_directions_and_the_close() {
        let transcript = Transcript::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server_id = transcript.listening(addr);
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let mut client = transcript.wrap(client.unwrap());
        let mut server = transcript.wrap_accepted(accepted.unwrap().0);
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        client.write_all(b"hi\0").await.unwrap();
        client.shutdown().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"hi\0");
        let (client_id, accepted_id) = (client.id(), server.id());
        drop(server);
        assert_eq!(transcript.bytes_sent(client_id), b"hi\0");
        assert_eq!(transcript.bytes_received(accepted_id), b"hi\0");
        let kinds: Vec<EventKind> = transcript
            .events()
            .into_iter()
            .filter(|e| e.conn == accepted_id)
            .map(|e| e.kind)
            .collect();
        assert!(matches!(
            kinds[0],
            EventKind::Connected { accepted: true, .. }
        ));
        assert_eq!(
            kinds[kinds.len() - 2..],
            [EventKind::ReadEof, EventKind::Closed]
        );
        assert_eq!(transcript.listening_addr().await, addr);
        let text = transcript.render();
        assert!(
            text.contains(&format!("{server_id} listening on {addr}")),
            "{text}"
        );
        assert!(text.contains("sent 3 bytes: \"hi\\0\""), "{text}");
        assert!(text.contains("shut down writing"), "{text}");
    }
}
