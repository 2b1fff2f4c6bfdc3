//! The TCP conversation model: connections, and each packet as an event.
//!
//! Segments from a capture file or a live capture become a [`Conversation`]:
//! one [`Connection`] per TCP connection (by 4-tuple; a new SYN on the same
//! 4-tuple starts a new one), its client being the side that sent the SYN,
//! and each segment an [`Event`] with its direction, its time relative to
//! the connection's first packet, relative sequence numbers, the payload's
//! length and first bytes, and the marks a reader of Wireshark knows
//! (retransmission, window update). Checks ([`crate::checks`]), protocol
//! judgments ([`crate::judge`]) and ladders ([`crate::ladder`]) read only
//! this model.
//!
//! **Duplicates.** An `AF_PACKET` socket on Linux's `lo` sees every frame
//! twice (once leaving, once arriving), and a capture merged from two
//! hosts' namespaces sees a packet on both ends of their link. A segment
//! whose IP packet is byte-for-byte the same as one seen less than
//! [`DUPLICATE_WINDOW`] before is such a copy and is dropped (counted in
//! [`Conversation::duplicates_removed`]). A real retransmission is never a
//! copy: it comes at least a retransmission timeout later (Linux: 200 ms;
//! a tail-loss probe at least 2 ms) and carries a new IP id or TCP
//! timestamp.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::file::Timestamp;
use crate::segment::{TcpFlags, TcpSegment};

/// Two identical IP packets closer than this are one packet seen twice.
pub const DUPLICATE_WINDOW: Duration = Duration::from_millis(1);

/// Which end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Side {
    /// The side that sent the SYN (connect()).
    Client,
    /// The side that answered it (accept()).
    Server,
}

impl Side {
    /// The other end.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// `client` or `server`.
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// Which way a packet travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    /// The direction of the packets `side` sends.
    pub fn sent_by(side: Side) -> Direction {
        match side {
            Side::Client => Direction::ClientToServer,
            Side::Server => Direction::ServerToClient,
        }
    }

    /// The side that sends in this direction.
    pub fn sender(self) -> Side {
        match self {
            Direction::ClientToServer => Side::Client,
            Direction::ServerToClient => Side::Server,
        }
    }

    /// `client → server` or `server → client`.
    pub fn arrow(self) -> &'static str {
        match self {
            Direction::ClientToServer => "client → server",
            Direction::ServerToClient => "server → client",
        }
    }
}

/// What a packet is, in the words of the handout's supplement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    /// Opens the connection (client).
    Syn,
    /// Accepts it (server).
    SynAck,
    /// Carries only an acknowledgement.
    Ack,
    /// Carries payload bytes.
    Data,
    /// Closes one direction (it may carry payload too).
    Fin,
    /// Aborts the connection.
    Rst,
}

impl EventKind {
    /// `SYN`, `SYN-ACK`, `ACK`, `data`, `FIN`, `RST`.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Syn => "SYN",
            EventKind::SynAck => "SYN-ACK",
            EventKind::Ack => "ACK",
            EventKind::Data => "data",
            EventKind::Fin => "FIN",
            EventKind::Rst => "RST",
        }
    }
}

/// One packet of a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Position in [`Connection::events`], from 0.
    pub index: usize,
    /// The frame number in the capture (from 1), to find it in Wireshark.
    pub frame: usize,
    /// When it was captured.
    pub time: Timestamp,
    /// Time since the connection's first packet.
    pub at: Duration,
    pub direction: Direction,
    pub flags: TcpFlags,
    /// Sequence number relative to the sender's initial one (SYN = 0).
    pub seq: u32,
    /// Acknowledgement number relative to the receiver's initial sequence
    /// number (0 without the ACK flag).
    pub ack: u32,
    /// The window field as sent.
    pub window: u16,
    /// Payload bytes on the wire.
    pub len: u32,
    /// The payload bytes the capture kept (a prefix of `len` bytes).
    pub payload: Vec<u8>,
    /// Carries sequence space already sent (Wireshark's "TCP Retransmission").
    pub retransmission: bool,
    /// Only changes the window (Wireshark's "TCP Window Update").
    pub window_update: bool,
    /// The interface it was captured on.
    pub interface: usize,
}

impl Event {
    /// What the packet is; RST before SYN before FIN before data.
    pub fn kind(&self) -> EventKind {
        if self.flags.rst {
            EventKind::Rst
        } else if self.flags.syn && self.flags.ack {
            EventKind::SynAck
        } else if self.flags.syn {
            EventKind::Syn
        } else if self.flags.fin {
            EventKind::Fin
        } else if self.len > 0 {
            EventKind::Data
        } else {
            EventKind::Ack
        }
    }

    /// The side that sent it.
    pub fn sender(&self) -> Side {
        self.direction.sender()
    }

    /// Whether it carries new payload (not a retransmission of old).
    pub fn is_new_data(&self) -> bool {
        self.len > 0 && !self.retransmission
    }

    /// Whether some payload bytes were not captured.
    pub fn payload_cut(&self) -> bool {
        (self.payload.len() as u32) < self.len
    }
}

/// One TCP connection, from the SYN (or the first packet seen) on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// Its number in the capture, from 1, in order of first packet.
    pub id: usize,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Whether the client's SYN was captured (otherwise the roles are
    /// guessed: the lower port is taken for the server's).
    pub syn_seen: bool,
    /// The time of its first packet; events' `at` count from here.
    pub start: Timestamp,
    pub events: Vec<Event>,
}

impl Connection {
    /// `127.0.0.1:52875 → 127.0.0.1:12345` (client → server).
    pub fn describe(&self) -> String {
        format!("{} → {}", self.client, self.server)
    }

    /// The address of one side.
    pub fn address(&self, side: Side) -> SocketAddr {
        match side {
            Side::Client => self.client,
            Side::Server => self.server,
        }
    }

    /// Events carrying new payload in one direction, in order.
    pub fn data(&self, direction: Direction) -> impl Iterator<Item = &Event> {
        self.events
            .iter()
            .filter(move |e| e.direction == direction && e.is_new_data())
    }

    /// Payload bytes sent in one direction (retransmissions counted once).
    pub fn bytes(&self, direction: Direction) -> u64 {
        self.data(direction).map(|e| u64::from(e.len)).sum()
    }

    /// The first event of this kind sent by `side`.
    pub fn first(&self, kind: EventKind, side: Side) -> Option<&Event> {
        self.events
            .iter()
            .find(|e| e.kind() == kind && e.sender() == side)
    }

    /// The first packet with the FIN flag, from either side.
    pub fn first_fin(&self) -> Option<&Event> {
        self.events.iter().find(|e| e.flags.fin && !e.flags.rst)
    }

    /// The packets with the RST flag.
    pub fn resets(&self) -> impl Iterator<Item = &Event> {
        self.events.iter().filter(|e| e.flags.rst)
    }

    /// Time from the first to the last packet.
    pub fn duration(&self) -> Duration {
        self.events.last().map(|e| e.at).unwrap_or_default()
    }

    /// Whether some payload in it was not captured (cap or snap length).
    pub fn payload_cut(&self) -> bool {
        self.events.iter().any(Event::payload_cut)
    }

    /// Whether the capture shows its end: a FIN from each side, or an RST.
    pub fn is_finished(&self) -> bool {
        let fin = |side: Side| {
            self.events
                .iter()
                .any(|e| e.sender() == side && e.flags.fin && !e.flags.rst)
        };
        self.resets().next().is_some() || (fin(Side::Client) && fin(Side::Server))
    }
}

/// Every TCP connection of a capture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Conversation {
    pub connections: Vec<Connection>,
    /// Segments that were copies of another (see the module's doc).
    pub duplicates_removed: usize,
}

impl Conversation {
    /// Build the model from segments in any order.
    pub fn from_segments(mut segments: Vec<TcpSegment>) -> Conversation {
        segments.sort_by_key(|s| s.time);
        let (segments, duplicates_removed) = without_duplicates(segments);
        let mut builders: Vec<ConnectionBuilder> = Vec::new();
        let mut current: HashMap<(SocketAddr, SocketAddr), usize> = HashMap::new();
        for segment in segments {
            let key = tuple_key(&segment);
            let opens = segment.flags.syn && !segment.flags.ack && !segment.flags.rst;
            let existing = current.get(&key).copied();
            let index = match existing {
                Some(i) if !(opens && builders[i].is_new_syn(&segment)) => i,
                _ => {
                    builders.push(ConnectionBuilder::new(builders.len() + 1, &segment));
                    current.insert(key, builders.len() - 1);
                    builders.len() - 1
                }
            };
            builders[index].push(segment);
        }
        Conversation {
            connections: builders
                .into_iter()
                .map(ConnectionBuilder::finish)
                .collect(),
            duplicates_removed,
        }
    }

    /// The connection with this id.
    pub fn connection(&self, id: usize) -> Option<&Connection> {
        self.connections.iter().find(|c| c.id == id)
    }
}

fn tuple_key(segment: &TcpSegment) -> (SocketAddr, SocketAddr) {
    if segment.source <= segment.destination {
        (segment.source, segment.destination)
    } else {
        (segment.destination, segment.source)
    }
}

fn without_duplicates(segments: Vec<TcpSegment>) -> (Vec<TcpSegment>, usize) {
    let mut last_seen: HashMap<u64, Timestamp> = HashMap::new();
    let mut kept = Vec::with_capacity(segments.len());
    let mut removed = 0;
    for segment in segments {
        let copy = last_seen
            .get(&segment.fingerprint)
            .is_some_and(|seen| segment.time.since(*seen) < DUPLICATE_WINDOW);
        if copy {
            removed += 1;
            continue;
        }
        last_seen.insert(segment.fingerprint, segment.time);
        kept.push(segment);
    }
    (kept, removed)
}

/// What one direction has sent so far, to mark retransmissions and
/// window updates as Wireshark does.
#[derive(Default)]
struct DirectionState {
    /// Initial sequence number (from the SYN, or guessed).
    isn: Option<u32>,
    /// The sequence number after the highest byte sent.
    next_seq: Option<u32>,
    last_ack: Option<u32>,
    last_window: Option<u16>,
}

struct ConnectionBuilder {
    id: usize,
    client: SocketAddr,
    server: SocketAddr,
    syn_seen: bool,
    start: Timestamp,
    segments: Vec<TcpSegment>,
}

impl ConnectionBuilder {
    fn new(id: usize, first: &TcpSegment) -> ConnectionBuilder {
        let (client, server, syn_seen) = if first.flags.syn && !first.flags.ack {
            (first.source, first.destination, true)
        } else if first.flags.syn || first.source.port() < first.destination.port() {
            // A SYN-ACK's receiver, or the higher (ephemeral) port, is the client.
            (first.destination, first.source, false)
        } else {
            (first.source, first.destination, false)
        };
        ConnectionBuilder {
            id,
            client,
            server,
            syn_seen,
            start: first.time,
            segments: Vec::new(),
        }
    }

    /// Whether a SYN opens a new connection on this 4-tuple rather than
    /// retransmitting this one's.
    fn is_new_syn(&self, syn: &TcpSegment) -> bool {
        let client_syn = self
            .segments
            .iter()
            .find(|s| s.flags.syn && !s.flags.ack && s.source == self.client);
        match client_syn {
            Some(first) => first.seq != syn.seq || first.source != syn.source,
            None => !self.segments.is_empty(),
        }
    }

    fn push(&mut self, segment: TcpSegment) {
        if segment.flags.syn && !segment.flags.ack && segment.source == self.client {
            self.syn_seen = true;
        }
        self.segments.push(segment);
    }

    fn finish(self) -> Connection {
        let mut to_server = DirectionState::default();
        let mut to_client = DirectionState::default();
        // Initial sequence numbers first, so acks before a side's first
        // packet (rare) are still relative.
        for segment in &self.segments {
            let state = if segment.source == self.client {
                &mut to_server
            } else {
                &mut to_client
            };
            if state.isn.is_none() {
                state.isn = Some(if segment.flags.syn {
                    segment.seq
                } else {
                    segment.seq.wrapping_sub(1)
                });
            }
        }
        let mut events = Vec::with_capacity(self.segments.len());
        for segment in self.segments {
            let direction = if segment.source == self.client {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            };
            let (state, peer_isn) = match direction {
                Direction::ClientToServer => (&mut to_server, to_client.isn),
                Direction::ServerToClient => (&mut to_client, to_server.isn),
            };
            let (retransmission, window_update) = state.observe(&segment);
            let isn = state.isn.unwrap_or(0);
            events.push(Event {
                index: events.len(),
                frame: segment.frame,
                time: segment.time,
                at: segment.time.since(self.start),
                direction,
                flags: segment.flags,
                seq: segment.seq.wrapping_sub(isn),
                ack: if segment.flags.ack {
                    segment.ack.wrapping_sub(peer_isn.unwrap_or(0))
                } else {
                    0
                },
                window: segment.window,
                len: segment.payload_len,
                payload: segment.payload,
                retransmission,
                window_update,
                interface: segment.interface,
            });
        }
        Connection {
            id: self.id,
            client: self.client,
            server: self.server,
            syn_seen: self.syn_seen,
            start: self.start,
            events,
        }
    }
}

/// `a` comes before `b` in sequence space (RFC 1982 arithmetic).
fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl DirectionState {
    /// Mark a segment against what this direction sent before it; returns
    /// (retransmission, window update).
    fn observe(&mut self, segment: &TcpSegment) -> (bool, bool) {
        let flags = segment.flags;
        let space = segment.payload_len + u32::from(flags.syn) + u32::from(flags.fin);
        let end = segment.seq.wrapping_add(space);
        let retransmission = space > 0
            && !flags.rst
            && self
                .next_seq
                .is_some_and(|next| seq_before(segment.seq, next));
        let window_update = space == 0
            && !flags.rst
            && self.next_seq == Some(segment.seq)
            && flags.ack
            && self.last_ack == Some(segment.ack)
            && self.last_window.is_some_and(|w| w != segment.window);
        if self.next_seq.is_none_or(|next| seq_before(next, end)) {
            self.next_seq = Some(end);
        }
        if flags.ack {
            self.last_ack = Some(segment.ack);
        }
        self.last_window = Some(segment.window);
        (retransmission, window_update)
    }
}
