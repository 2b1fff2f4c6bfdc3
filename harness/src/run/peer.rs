//! Scripted TCP peers: connections socklab opens or accepts itself and
//! drives byte by byte from scenario steps.
//!
//! A peer keeps what it received but has not yet consumed, so consecutive
//! `recv` steps see a stream, as a program would. Every byte in either
//! direction is recorded for the report. Every wait goes through an
//! [`Until`]; how a read ended is a [`ReadEnd`] fact.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use socklab_reference::transcript::escape_bytes;

use std::sync::Arc;

use super::pacing::{self, Reader};
use super::proxy::reset_on_close;
use super::sockets;
use super::wait::{Expired, Until};
use crate::facts::{AcceptFact, ReadEnd};
use crate::kernel::SockDiag;

/// One recorded event of a peer.
#[derive(Debug, Clone)]
pub enum PeerEvent {
    Connected(String),
    Sent(Vec<u8>),
    Received(Vec<u8>),
    Eof,
    Closed,
    Note(String),
}

/// Most bytes a peer holds received but not yet consumed: a program that
/// sends without end is cut off here instead of filling socklab's memory.
pub const PENDING_LIMIT: usize = 16 << 20;
/// Most bytes of data a peer's transcript shows; the rest is counted.
pub const LOG_LIMIT: usize = 64 << 10;

/// The two ends of a peer's connection, kept after it is closed so that
/// a `packets` step finds it in the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ends {
    /// The side that connected.
    pub client: std::net::SocketAddr,
    /// The side that accepted.
    pub server: std::net::SocketAddr,
    /// Whether socklab's peer is the client (`connect`) or the server (`accept`).
    pub socklab_is_client: bool,
}

/// A connection (or a listening socket) socklab holds in a scenario.
pub struct Peer {
    pub name: String,
    /// Its connection's ends, once connected or accepted.
    pub ends: Option<Ends>,
    stream: Option<TcpStream>,
    listener: Option<TcpListener>,
    /// Received, not yet consumed by a `recv` step.
    pub pending: Vec<u8>,
    pub eof: bool,
    pub log: Vec<PeerEvent>,
    /// Data bytes in `log`, and bytes exchanged beyond [`LOG_LIMIT`].
    logged: usize,
    unlogged: u64,
    /// Bytes written on the current connection (what its reader must take).
    written: u64,
    /// The scenario's name for the program at the other end, when socklab
    /// could tell (the one listening where it connected, or the one whose
    /// socket it accepted): a failure on this peer names that program.
    pub counterpart: Option<String>,
}

impl Peer {
    pub fn connected(name: &str, stream: TcpStream) -> Peer {
        let ends = match (stream.local_addr(), stream.peer_addr()) {
            (Ok(client), Ok(server)) => Some(Ends {
                client,
                server,
                socklab_is_client: true,
            }),
            _ => None,
        };
        let desc = match ends {
            Some(e) => format!("{} -> {}", e.client, e.server),
            None => "connected".to_string(),
        };
        Peer {
            name: name.to_string(),
            ends,
            stream: Some(stream),
            listener: None,
            pending: Vec::new(),
            eof: false,
            log: vec![PeerEvent::Connected(desc)],
            logged: 0,
            unlogged: 0,
            written: 0,
            counterpart: None,
        }
    }

    pub fn listening(name: &str, listener: TcpListener) -> Peer {
        let desc = listener
            .local_addr()
            .map(|a| format!("listening on {a}"))
            .unwrap_or_default();
        Peer {
            name: name.to_string(),
            ends: None,
            stream: None,
            listener: Some(listener),
            pending: Vec::new(),
            eof: false,
            log: vec![PeerEvent::Note(desc)],
            logged: 0,
            unlogged: 0,
            written: 0,
            counterpart: None,
        }
    }

    /// The inodes of the sockets the peer holds (its connection, its
    /// listening socket).
    pub fn socket_inodes(&self) -> Vec<u64> {
        use std::os::fd::AsRawFd;
        let stream = self.stream.as_ref().map(|s| s.as_raw_fd());
        let listener = self.listener.as_ref().map(|l| l.as_raw_fd());
        [stream, listener]
            .into_iter()
            .flatten()
            .filter_map(super::settle::socket_inode)
            .collect()
    }

    /// Waits for a program to connect.
    pub async fn accept(&mut self, until: &Until) -> AcceptFact {
        let Some(listener) = self.listener.as_ref() else {
            return AcceptFact::Failed {
                why: "this peer is not listening".to_string(),
            };
        };
        match until.wait(listener.accept()).await {
            Ok(Ok((stream, from))) => {
                self.log
                    .push(PeerEvent::Connected(format!("accepted from {from}")));
                self.ends = stream.local_addr().ok().map(|server| Ends {
                    client: from,
                    server,
                    socklab_is_client: false,
                });
                self.stream = Some(stream);
                self.pending.clear();
                self.eof = false;
                self.written = 0;
                AcceptFact::Accepted { from }
            }
            Ok(Err(e)) => AcceptFact::Failed { why: e.to_string() },
            Err(expired) => AcceptFact::Expired(expired),
        }
    }

    fn stream(&mut self) -> io::Result<&mut TcpStream> {
        self.stream.as_mut().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotConnected, "this peer has no connection")
        })
    }

    /// This end's address and the other end's, while connected.
    pub fn addresses(&self) -> Option<(SocketAddr, SocketAddr)> {
        let stream = self.stream.as_ref()?;
        Some((stream.local_addr().ok()?, stream.peer_addr().ok()?))
    }

    /// The program reading what this peer sends, found on `hosts`.
    pub fn reader(&self, hosts: Arc<Vec<Arc<SockDiag>>>) -> Option<Reader> {
        Reader::of(self.stream.as_ref()?, hosts)
    }

    /// Sends `bytes` as one message: in one write, once the reader has room
    /// for it (`run/pacing.rs`), so it arrives whole.
    pub async fn send(
        &mut self,
        bytes: &[u8],
        reader: Option<&Reader>,
        until: &Until,
    ) -> io::Result<()> {
        let written = self.written;
        let stream = self.stream()?;
        let _ = until
            .wait(pacing::room_for(
                &*stream,
                reader,
                written,
                bytes.len() as u64,
            ))
            .await;
        self.write(bytes, until).await
    }

    /// Sends `bytes` in pieces of the sizes given (the rest in a last
    /// piece), each once the reader has taken everything before it, so
    /// that each `read()` of the reader sees at most one piece. A reader
    /// that does not take a piece before `until` ends gets the next
    /// anyway; the transcript says so.
    pub async fn send_in_pieces(
        &mut self,
        bytes: &[u8],
        sizes: &[usize],
        reader: Option<&Reader>,
        until: &Until,
    ) -> io::Result<()> {
        let mut rest = bytes;
        let mut sizes = sizes.iter();
        while !rest.is_empty() {
            let size = sizes.next().copied().unwrap_or(rest.len()).min(rest.len());
            if until
                .wait(pacing::taken(reader, self.written))
                .await
                .is_err()
            {
                self.log.push(PeerEvent::Note(
                    "the reader had not read the piece before; sending the next one anyway".into(),
                ));
            }
            self.write(&rest[..size], until).await?;
            rest = &rest[size..];
        }
        Ok(())
    }

    async fn write(&mut self, bytes: &[u8], until: &Until) -> io::Result<()> {
        let stream = self.stream()?;
        match until.wait(stream.write_all(bytes)).await {
            Ok(Ok(())) => {
                self.written += bytes.len() as u64;
                self.record(bytes, PeerEvent::Sent);
                Ok(())
            }
            Ok(Err(e)) => {
                self.log.push(PeerEvent::Note(format!("send failed: {e}")));
                Err(e)
            }
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the other side stopped reading (send blocked)",
            )),
        }
    }

    /// Reads once (waiting at most `until`) and appends to `pending`.
    pub async fn read_some(&mut self, until: &Until) -> ReadEnd {
        if self.eof {
            return ReadEnd::Eof;
        }
        if self.pending.len() >= PENDING_LIMIT {
            return ReadEnd::Error(format!(
                "more than {} MiB arrived that no step consumed; socklab stopped reading",
                PENDING_LIMIT >> 20
            ));
        }
        let mut chunk = vec![0u8; 64 * 1024];
        let stream = match self.stream() {
            Ok(s) => s,
            Err(e) => return ReadEnd::Error(e.to_string()),
        };
        let read = until.wait(stream.read(&mut chunk)).await;
        if matches!(read, Ok(Ok(_))) {
            pacing::acknowledge_now(&*stream);
        }
        match read {
            Ok(Ok(0)) => {
                self.eof = true;
                self.log.push(PeerEvent::Eof);
                ReadEnd::Eof
            }
            Ok(Ok(n)) => {
                self.pending.extend_from_slice(&chunk[..n]);
                self.record(&chunk[..n], PeerEvent::Received);
                ReadEnd::Data
            }
            Ok(Err(e)) => {
                self.eof = true;
                self.log.push(PeerEvent::Note(format!("read failed: {e}")));
                if e.kind() == io::ErrorKind::ConnectionReset {
                    ReadEnd::Reset
                } else {
                    ReadEnd::Error(e.to_string())
                }
            }
            Err(why) => ReadEnd::Expired(why),
        }
    }

    /// Reads whatever is already waiting in the socket, without waiting.
    pub async fn drain_ready(&mut self) {
        while !self.eof {
            match self.read_some(&Until::deadline(Instant::now())).await {
                ReadEnd::Data => continue,
                _ => break,
            }
        }
    }

    /// Reads until `pending` has at least `n` bytes, or the stream ends.
    pub async fn read_at_least(&mut self, n: usize, until: &Until) -> ReadEnd {
        while self.pending.len() < n {
            match self.read_some(until).await {
                ReadEnd::Data => continue,
                other => return other,
            }
        }
        ReadEnd::Data
    }

    /// Reads to end of stream.
    pub async fn read_to_eof(&mut self, until: &Until) -> ReadEnd {
        loop {
            match self.read_some(until).await {
                ReadEnd::Data => continue,
                ReadEnd::Eof => return ReadEnd::Eof,
                other => return other,
            }
        }
    }

    /// Nothing arrives while `until` lasts: how the wait ended if nothing
    /// did (data or EOF count as something).
    pub async fn silent(&mut self, until: &Until) -> Option<Expired> {
        if !self.pending.is_empty() {
            return None;
        }
        match self.read_some(until).await {
            ReadEnd::Expired(why) => Some(why),
            _ => None,
        }
    }

    pub fn take_pending(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.pending.len());
        self.pending.drain(..n).collect()
    }

    pub async fn shutdown_write(&mut self) -> io::Result<()> {
        let stream = self.stream()?;
        stream.shutdown().await?;
        self.log
            .push(PeerEvent::Note("half-closed (sent FIN)".into()));
        Ok(())
    }

    /// Closes the connection (and stops listening). When socklab is the
    /// client and the server closed first (its FIN was read, and its
    /// program no longer holds the socket), the close is abortive (a RST):
    /// a graceful one would leave the server's side in TIME_WAIT on its
    /// port, where a server started again would fail to bind. A client
    /// that closed first is answered with a FIN, as the lab's packet
    /// checks expect of a server (its TIME_WAIT is on an ephemeral port).
    pub fn close(&mut self, hosts: &[Arc<SockDiag>]) {
        let socklab_is_client = self.ends.is_some_and(|e| e.socklab_is_client);
        if let Some(stream) = self.stream.take() {
            if socklab_is_client && self.eof && sockets::other_end_closed(hosts, &stream) {
                reset_on_close(&stream);
                self.log.push(PeerEvent::Note(
                    "closed with a reset (the other side had closed first)".into(),
                ));
            } else {
                self.log.push(PeerEvent::Closed);
            }
        }
        self.listener = None;
    }

    /// Logs data sent or received, up to [`LOG_LIMIT`] bytes in all.
    fn record(&mut self, bytes: &[u8], event: fn(Vec<u8>) -> PeerEvent) {
        let room = LOG_LIMIT.saturating_sub(self.logged).min(bytes.len());
        if room > 0 {
            self.log.push(event(bytes[..room].to_vec()));
            self.logged += room;
        }
        self.unlogged += (bytes.len() - room) as u64;
    }

    /// The peer's whole conversation, bytes escaped.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for event in &self.log {
            let line = match event {
                PeerEvent::Connected(d) => format!("-- {d}"),
                PeerEvent::Sent(b) => format!(">> {}", escape_bytes(b)),
                PeerEvent::Received(b) => format!("<< {}", escape_bytes(b)),
                PeerEvent::Eof => "<< (end of stream)".to_string(),
                PeerEvent::Closed => "-- closed".to_string(),
                PeerEvent::Note(n) => format!("-- {n}"),
            };
            out.push_str(&line);
            out.push('\n');
        }
        if self.unlogged > 0 {
            out.push_str(&format!(
                "-- {} more bytes were exchanged; the transcript shows the first {} KiB\n",
                self.unlogged,
                LOG_LIMIT >> 10
            ));
        }
        out
    }
}
