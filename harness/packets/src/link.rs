//! Link layers: from a captured frame to the IP packet inside it.
//!
//! A capture file names one link type per interface; this module knows the
//! ones a student's capture of the lab has: BSD/macOS loopback (NULL and
//! LOOP), Ethernet (with VLAN tags), raw IP, and Linux "cooked" captures
//! (SLL and SLL2, what `tcpdump -i any` writes). It strips the link header
//! and hands the IP packet to [`crate::segment`]. Frames that carry
//! something other than IP (ARP, LLDP, ...) are not errors: the reader
//! counts and skips them.

use serde::Serialize;

/// A link-layer header type, as numbered by the pcap and pcapng formats
/// (`LINKTYPE_*` in the tcpdump.org registry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum LinkType {
    /// 0: BSD loopback; a 4-byte address family in the byte order of the
    /// machine that captured (macOS `lo0`, the course's sample captures).
    Null,
    /// 1: Ethernet II.
    Ethernet,
    /// 101: raw IP, no link header (what socklab's own captures write).
    Raw,
    /// 108: OpenBSD loopback; like NULL but the family is in network order.
    Loop,
    /// 113: Linux cooked capture v1 (`tcpdump -i any` before libpcap 1.10).
    LinuxSll,
    /// 228: raw IPv4.
    Ipv4,
    /// 229: raw IPv6.
    Ipv6,
    /// 276: Linux cooked capture v2 (`tcpdump -i any` since libpcap 1.10).
    LinuxSll2,
    /// Any other link type: its frames are skipped, and said to be.
    Other(u16),
}

impl LinkType {
    /// The link type with this pcap/pcapng number.
    pub fn from_code(code: u16) -> LinkType {
        match code {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            101 => LinkType::Raw,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            other => LinkType::Other(other),
        }
    }

    /// The pcap/pcapng number of this link type.
    pub fn code(self) -> u16 {
        match self {
            LinkType::Null => 0,
            LinkType::Ethernet => 1,
            LinkType::Raw => 101,
            LinkType::Loop => 108,
            LinkType::LinuxSll => 113,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::LinuxSll2 => 276,
            LinkType::Other(code) => code,
        }
    }

    /// A name a person recognises, e.g. `NULL/loopback` (Wireshark's wording).
    pub fn name(self) -> String {
        match self {
            LinkType::Null => "NULL/loopback".to_string(),
            LinkType::Ethernet => "Ethernet".to_string(),
            LinkType::Raw => "raw IP".to_string(),
            LinkType::Loop => "OpenBSD loopback".to_string(),
            LinkType::LinuxSll => "Linux cooked (SLL)".to_string(),
            LinkType::Ipv4 => "raw IPv4".to_string(),
            LinkType::Ipv6 => "raw IPv6".to_string(),
            LinkType::LinuxSll2 => "Linux cooked v2 (SLL2)".to_string(),
            LinkType::Other(code) => format!("link type {code} (not supported)"),
        }
    }

    /// Whether socklab can find IP packets in frames of this type.
    pub fn is_supported(self) -> bool {
        !matches!(self, LinkType::Other(_))
    }
}

/// What is inside one frame, as far as the link layer tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inside<'a> {
    /// An IPv4 or IPv6 packet (possibly cut short by the capture's snap length).
    Ip(&'a [u8]),
    /// Something else; the reason says what, for the skipped-frames note.
    NotIp(&'static str),
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;

/// The IP packet inside a frame of `link` type, if there is one.
pub fn inside(link: LinkType, frame: &[u8]) -> Inside<'_> {
    match link {
        LinkType::Null => null_family(frame, false),
        LinkType::Loop => null_family(frame, true),
        LinkType::Ethernet => ethernet(frame),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => ip_by_version(frame),
        LinkType::LinuxSll => cooked(frame, 16, 14),
        LinkType::LinuxSll2 => cooked(frame, 20, 0),
        LinkType::Other(_) => Inside::NotIp("an unsupported link type"),
    }
}

/// BSD loopback: a 4-byte address family, then the packet. The family is
/// in the capturing machine's byte order (NULL) or network order (LOOP);
/// AF_INET is 2 everywhere, AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD),
/// 28 (FreeBSD) or 30 (macOS).
fn null_family(frame: &[u8], network_order: bool) -> Inside<'_> {
    let Some((family, rest)) = frame.split_first_chunk::<4>() else {
        return Inside::NotIp("a loopback frame shorter than its 4-byte header");
    };
    let family = if network_order {
        u32::from_be_bytes(*family)
    } else {
        let little = u32::from_le_bytes(*family);
        if little > 0xffff {
            u32::from_be_bytes(*family)
        } else {
            little
        }
    };
    match family {
        2 | 10 | 24 | 28 | 30 => ip_by_version(rest),
        _ => Inside::NotIp("a loopback frame of another address family"),
    }
}

fn ethernet(frame: &[u8]) -> Inside<'_> {
    let mut at = 12;
    loop {
        let Some(bytes) = frame.get(at..at + 2) else {
            return Inside::NotIp("an Ethernet frame shorter than its header");
        };
        match u16::from_be_bytes([bytes[0], bytes[1]]) {
            ETHERTYPE_VLAN | ETHERTYPE_QINQ => at += 4,
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return ip_by_version(&frame[at + 2..]),
            _ => return Inside::NotIp("an Ethernet frame carrying neither IPv4 nor IPv6"),
        }
    }
}

/// Linux cooked captures: the protocol (an ethertype) is at
/// `protocol_at`, the packet starts at `header_len`.
fn cooked(frame: &[u8], header_len: usize, protocol_at: usize) -> Inside<'_> {
    if frame.len() < header_len {
        return Inside::NotIp("a cooked frame shorter than its header");
    }
    match u16::from_be_bytes([frame[protocol_at], frame[protocol_at + 1]]) {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => ip_by_version(&frame[header_len..]),
        _ => Inside::NotIp("a cooked frame carrying neither IPv4 nor IPv6"),
    }
}

fn ip_by_version(packet: &[u8]) -> Inside<'_> {
    match packet.first().map(|b| b >> 4) {
        Some(4) | Some(6) => Inside::Ip(packet),
        _ => Inside::NotIp("a packet that is neither IPv4 nor IPv6"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IPV4_START: [u8; 4] = [0x45, 0, 0, 20];

    #[test]
    fn null_family_is_read_in_either_byte_order() {
        let little = [&[2u8, 0, 0, 0][..], &IPV4_START].concat();
        let big = [&[0u8, 0, 0, 2][..], &IPV4_START].concat();
        assert_eq!(inside(LinkType::Null, &little), Inside::Ip(&IPV4_START[..]));
        assert_eq!(inside(LinkType::Null, &big), Inside::Ip(&IPV4_START[..]));
        assert_eq!(inside(LinkType::Loop, &big), Inside::Ip(&IPV4_START[..]));
        let osi = [&[7u8, 0, 0, 0][..], &IPV4_START].concat();
        assert!(matches!(inside(LinkType::Null, &osi), Inside::NotIp(_)));
    }

    #[test]
    fn ethernet_vlan_tags_are_skipped() {
        let mut frame = vec![0u8; 12];
        frame.extend([0x81, 0x00, 0, 5, 0x08, 0x00]);
        frame.extend(IPV4_START);
        assert_eq!(
            inside(LinkType::Ethernet, &frame),
            Inside::Ip(&IPV4_START[..])
        );
        let mut arp = vec![0u8; 12];
        arp.extend([0x08, 0x06, 0, 1]);
        assert!(matches!(inside(LinkType::Ethernet, &arp), Inside::NotIp(_)));
    }

    #[test]
    fn cooked_headers_name_the_protocol() {
        let mut sll = vec![0u8; 14];
        sll.extend([0x08, 0x00]);
        sll.extend(IPV4_START);
        assert_eq!(
            inside(LinkType::LinuxSll, &sll),
            Inside::Ip(&IPV4_START[..])
        );
        let mut sll2 = vec![0x86, 0xdd];
        sll2.extend([0u8; 18]);
        let ipv6 = [0x60u8, 0, 0, 0];
        sll2.extend(ipv6);
        assert_eq!(inside(LinkType::LinuxSll2, &sll2), Inside::Ip(&ipv6[..]));
    }
}
