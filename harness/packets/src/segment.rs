//! TCP segments: the wire type between frames and conversations.
//!
//! A [`TcpSegment`] is one TCP header and its payload as a frame carried
//! it: addresses, sequence numbers, flags, window, the payload's length on
//! the wire and the bytes of it the capture kept. [`extract`] turns the
//! frames of a capture file into segments; [`parse_ip`] does it for one IP
//! packet (what a live capture gets from the kernel).
//!
//! IP and TCP headers are parsed with `etherparse`: it walks IPv6
//! extension-header chains and IPv4 options, is fuzzed, has no further
//! dependencies, and its "lax" slices still parse a packet whose payload a
//! snap length or socklab's own cap cut short, telling the length the IP
//! header claims. Writing that by hand would repeat a maintained crate.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;

use etherparse::{IpNumber, LaxIpSlice, TcpHeaderSlice};
use serde::Serialize;

use crate::file::{CaptureFile, Timestamp};
use crate::link::{self, Inside};

/// The TCP flags of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub psh: bool,
    pub urg: bool,
    pub ece: bool,
    pub cwr: bool,
}

impl TcpFlags {
    /// The flags as Wireshark lists them, e.g. `SYN, ACK`.
    pub fn names(&self) -> String {
        let all = [
            (self.fin, "FIN"),
            (self.syn, "SYN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.ack, "ACK"),
            (self.urg, "URG"),
            (self.ece, "ECE"),
            (self.cwr, "CWR"),
        ];
        let set: Vec<&str> = all.iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect();
        set.join(", ")
    }
}

/// One TCP segment as captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TcpSegment {
    /// The capture's frame number (from 1), to find it in Wireshark.
    pub frame: usize,
    pub time: Timestamp,
    /// The interface it was captured on (an index into the capture's list).
    pub interface: usize,
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// The window field as sent (not scaled).
    pub window: u16,
    /// How many payload bytes the segment carried on the wire.
    pub payload_len: u32,
    /// The payload bytes the capture kept (a prefix; may be empty).
    pub payload: Vec<u8>,
    /// A hash of the captured IP packet: two copies of one packet (the
    /// loopback seen twice) have the same fingerprint.
    #[serde(skip)]
    pub fingerprint: u64,
}

impl TcpSegment {
    /// Whether some payload bytes were not captured.
    pub fn payload_cut(&self) -> bool {
        (self.payload.len() as u32) < self.payload_len
    }
}

/// Why a frame gave no TCP segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotTcp {
    /// No IP packet inside (ARP, an unsupported link type, ...).
    NotIp(&'static str),
    /// IP, but another protocol (UDP: the MDNS in the course's capture).
    OtherProtocol,
    /// A fragment of a larger IP packet.
    Fragment,
    /// Headers cut or inconsistent.
    Malformed,
}

/// Frames that gave no segment, counted by reason, for the report's note.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub not_ip: usize,
    pub other_protocol: usize,
    pub fragments: usize,
    pub malformed: usize,
}

impl Skipped {
    fn count(&mut self, reason: NotTcp) {
        match reason {
            NotTcp::NotIp(_) => self.not_ip += 1,
            NotTcp::OtherProtocol => self.other_protocol += 1,
            NotTcp::Fragment => self.fragments += 1,
            NotTcp::Malformed => self.malformed += 1,
        }
    }

    /// All frames skipped.
    pub fn total(&self) -> usize {
        self.not_ip + self.other_protocol + self.fragments + self.malformed
    }
}

/// The TCP segments of a capture file, in file order, and what was skipped.
pub fn extract(file: &CaptureFile) -> (Vec<TcpSegment>, Skipped) {
    let mut segments = Vec::new();
    let mut skipped = Skipped::default();
    for frame in &file.frames {
        let parsed = match link::inside(file.link_of(frame), &frame.data) {
            Inside::Ip(ip) => parse_ip(ip, frame.number, frame.time, frame.interface),
            Inside::NotIp(why) => Err(NotTcp::NotIp(why)),
        };
        match parsed {
            Ok(segment) => segments.push(segment),
            Err(reason) => skipped.count(reason),
        }
    }
    (segments, skipped)
}

/// The TCP segment in one IP packet (whose payload may be cut short).
pub fn parse_ip(
    ip: &[u8],
    frame: usize,
    time: Timestamp,
    interface: usize,
) -> Result<TcpSegment, NotTcp> {
    let (packet, _extension_error) = LaxIpSlice::from_slice(ip).map_err(|_| NotTcp::Malformed)?;
    let payload = packet.payload();
    if payload.ip_number != IpNumber::TCP {
        return Err(NotTcp::OtherProtocol);
    }
    if payload.fragmented {
        return Err(NotTcp::Fragment);
    }
    let tcp_bytes = payload.payload;
    // The TCP segment's length on the wire, from the IP header (0 there
    // means "unknown": a segmentation-offload capture or a jumbogram).
    let claimed = match &packet {
        LaxIpSlice::Ipv4(v4) => {
            let header = v4.header();
            usize::from(header.total_len()).saturating_sub(usize::from(header.ihl()) * 4)
        }
        LaxIpSlice::Ipv6(v6) => {
            usize::from(v6.header().payload_length()).saturating_sub(v6.extensions().slice().len())
        }
    };
    let wire_len = if claimed == 0 {
        tcp_bytes.len()
    } else {
        claimed.max(tcp_bytes.len())
    };
    let tcp = TcpHeaderSlice::from_slice(tcp_bytes).map_err(|_| NotTcp::Malformed)?;
    let header_len = tcp.slice().len();
    let (source, destination) = (packet.source_addr(), packet.destination_addr());
    let mut hasher = DefaultHasher::new();
    ip.hash(&mut hasher);
    Ok(TcpSegment {
        frame,
        time,
        interface,
        source: SocketAddr::new(source, tcp.source_port()),
        destination: SocketAddr::new(destination, tcp.destination_port()),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags {
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            psh: tcp.psh(),
            urg: tcp.urg(),
            ece: tcp.ece(),
            cwr: tcp.cwr(),
        },
        window: tcp.window_size(),
        payload_len: wire_len.saturating_sub(header_len) as u32,
        payload: tcp_bytes[header_len..].to_vec(),
        fingerprint: hasher.finish(),
    })
}

/// The length of the IP and TCP headers at the start of `ip`, when it
/// holds a TCP segment: what a cap keeps of a segment whose payload it cuts.
pub fn headers_len(ip: &[u8]) -> Option<usize> {
    let (packet, _) = LaxIpSlice::from_slice(ip).ok()?;
    let payload = packet.payload();
    if payload.ip_number != IpNumber::TCP {
        return None;
    }
    let tcp = TcpHeaderSlice::from_slice(payload.payload).ok()?;
    let ip_header_len = ip.len() - payload.payload.len();
    Some(ip_header_len + tcp.slice().len())
}
