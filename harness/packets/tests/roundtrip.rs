//! Written, then read back: a scripted session saved as pcapng by
//! socklab's writer, and as pcap in both byte orders and resolutions with
//! every supported link layer, reads back as the same conversation.

mod common;

use common::Script;
use socklab_packets::file::{self, FileFormat};
use socklab_packets::link::LinkType;
use socklab_packets::segment;
use socklab_packets::{Conversation, Protocol, judge_capture_file};

#[test]
fn a_pcapng_written_by_socklab_reads_back_as_the_same_session() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script.lottery(&[0, 1, 2]);
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("session.pcapng");
    std::fs::write(&path, script.pcapng()).unwrap();
    let report = judge_capture_file(&path, Some(Protocol::Lottery)).unwrap();
    assert_eq!(report.format, FileFormat::Pcapng);
    assert_eq!(report.conversation, script.conversation());
    assert!(report.passed(), "{}", socklab_packets::render_text(&report));
}

/// A pcap file of `frames` with this link type, byte order and resolution.
fn pcap(link: u16, big_endian: bool, nanos: bool, frames: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let u16b = |v: u16| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let u32b = |v: u32| {
        if big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    };
    let mut out = Vec::new();
    out.extend(u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
    out.extend(u16b(2));
    out.extend(u16b(4));
    out.extend(u32b(0));
    out.extend(u32b(0));
    out.extend(u32b(262_144));
    out.extend(u32b(u32::from(link)));
    for (nanos_since_epoch, data) in frames {
        let seconds = (nanos_since_epoch / 1_000_000_000) as u32;
        let fraction = (nanos_since_epoch % 1_000_000_000) as u32;
        out.extend(u32b(seconds));
        out.extend(u32b(if nanos { fraction } else { fraction / 1000 }));
        out.extend(u32b(data.len() as u32));
        out.extend(u32b(data.len() as u32));
        out.extend(data);
    }
    out
}

/// The link header a capture of `link` puts before an IP packet.
fn link_header(link: LinkType, ip: &[u8]) -> Vec<u8> {
    let v6 = ip[0] >> 4 == 6;
    let ethertype: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    match link {
        LinkType::Null => (if v6 { 30u32 } else { 2u32 }).to_le_bytes().to_vec(),
        LinkType::Loop => (if v6 { 24u32 } else { 2u32 }).to_be_bytes().to_vec(),
        LinkType::Raw => Vec::new(),
        LinkType::Ethernet => {
            let mut h = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
            h.extend(ethertype);
            h
        }
        LinkType::LinuxSll => {
            // pkttype 0 (to us), ARPHRD_LOOPBACK, address length 6, address, protocol.
            let mut h = vec![0, 0, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0];
            h.extend(ethertype);
            h
        }
        LinkType::LinuxSll2 => {
            let mut h = ethertype.to_vec();
            h.extend([0, 0, 0, 0, 0, 1, 0x03, 0x04, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0]);
            h
        }
        other => panic!("no header for {other:?}"),
    }
}

#[test]
fn pcap_in_every_byte_order_resolution_and_link_type_reads_the_same() {
    for (client, server) in [
        ("127.0.0.1:52875", "127.0.0.1:12345"),
        ("[::1]:52875", "[::1]:12345"),
    ] {
        let mut script = Script::new(client, server);
        script.lottery(&[0, 0, 1, 2]);
        let expected = script.conversation();
        for link in [
            LinkType::Null,
            LinkType::Loop,
            LinkType::Ethernet,
            LinkType::Raw,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
        ] {
            for big_endian in [false, true] {
                for nanos in [false, true] {
                    let frames: Vec<(i64, Vec<u8>)> = script
                        .packets
                        .iter()
                        .map(|(t, ip)| (t.0, [link_header(link, ip), ip.clone()].concat()))
                        .collect();
                    let bytes = pcap(link.code(), big_endian, nanos, &frames);
                    let capture = file::parse(&bytes).unwrap();
                    assert_eq!(capture.interfaces[0].link, link);
                    let (segments, skipped) = segment::extract(&capture);
                    assert_eq!(skipped.total(), 0, "{link:?} {client}");
                    let got = Conversation::from_segments(segments);
                    let what = format!("{link:?} big_endian={big_endian} nanos={nanos} {client}");
                    // Script times are whole microseconds, so both resolutions are exact.
                    assert_eq!(got, expected, "{what}");
                }
            }
        }
    }
}

#[test]
fn frames_that_are_not_tcp_are_counted_not_fatal() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script.lottery(&[2]);
    let mut frames: Vec<(i64, Vec<u8>)> = script
        .packets
        .iter()
        .map(|(t, ip)| {
            (
                t.0,
                [link_header(LinkType::Ethernet, ip), ip.clone()].concat(),
            )
        })
        .collect();
    // An ARP frame and a UDP datagram.
    let mut arp = vec![0xff; 12];
    arp.extend([0x08, 0x06]);
    arp.extend([0; 28]);
    frames.insert(0, (1, arp));
    let mut udp = Vec::new();
    etherparse::PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .udp(5353, 5353)
        .write(&mut udp, b"mdns")
        .unwrap();
    frames.insert(
        1,
        (2, [link_header(LinkType::Ethernet, &udp), udp].concat()),
    );
    let capture = file::parse(&pcap(1, false, false, &frames)).unwrap();
    let (segments, skipped) = segment::extract(&capture);
    assert_eq!((skipped.not_ip, skipped.other_protocol), (1, 1));
    assert_eq!(segments.len(), script.packets.len());
    assert_eq!(
        segments[0].frame, 3,
        "frame numbers count every frame, as Wireshark's"
    );
}

#[test]
fn wireshark_reads_socklabs_pcapng() {
    let tshark = std::process::Command::new("tshark")
        .arg("--version")
        .output();
    if !tshark.is_ok_and(|o| o.status.success()) {
        eprintln!(
            "NOTE: tshark (Wireshark's command line) is not installed; socklab's pcapng is not checked with Wireshark here"
        );
        return;
    }
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script.lottery(&[0, 1, 2]);
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("session.pcapng");
    std::fs::write(&path, script.pcapng()).unwrap();
    let out = std::process::Command::new("tshark")
        .arg("-r")
        .arg(&path)
        .args([
            "-T",
            "fields",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.len",
            "-e",
            "tcp.flags.str",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.to_string())
        .collect();
    let conversation = script.conversation();
    let events = &conversation.connections[0].events;
    assert_eq!(lines.len(), events.len());
    for (line, event) in lines.iter().zip(events) {
        let fields: Vec<&str> = line.split('\t').collect();
        let port = if event.direction == socklab_packets::Direction::ClientToServer {
            "52875"
        } else {
            "12345"
        };
        assert_eq!(fields[0], port, "{line}");
        assert_eq!(fields[1], event.len.to_string(), "{line}");
    }
}
