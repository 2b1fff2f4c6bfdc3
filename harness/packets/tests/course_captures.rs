//! The course's two sample captures (pcap from tcpdump, pcapng from
//! Wireshark, macOS loopback, link type NULL) are read and judged a
//! complete lottery session; cut or damaged copies get located errors.

mod common;

use std::path::Path;

use socklab_packets::link::LinkType;
use socklab_packets::{
    Direction, EventKind, Outcome, Protocol, Side, judge_capture_file, render_text,
};

const TCPDUMP: &str = "lottery-loopback-tcpdump.pcap";
const WIRESHARK: &str = "lottery-loopback-wireshark.pcapng";

#[test]
fn both_course_captures_are_a_complete_lottery_session() {
    let Some(dir) = common::course_captures() else {
        return;
    };
    for name in [TCPDUMP, WIRESHARK] {
        let report = judge_capture_file(&dir.join(name), Some(Protocol::Lottery)).unwrap();
        assert_eq!(report.link_types, vec![LinkType::Null], "{name}");
        assert_eq!(report.conversation.connections.len(), 1, "{name}");
        let judgment = report.judgment.as_ref().unwrap();
        let text = render_text(&report);
        assert!(
            judgment.complete,
            "{name} should be a complete session:\n{text}"
        );
        assert!(report.passed());
        let session = &judgment.sessions[0];
        assert!(
            session.steps.iter().all(|v| v.outcome == Outcome::Passed),
            "{text}"
        );
        assert!(session.missing().is_empty());
        assert!(
            judgment
                .summary
                .starts_with("The capture shows a whole lottery session on connection 1"),
            "{}",
            judgment.summary
        );
        assert!(text.contains("lottery session: COMPLETE"), "{text}");
    }
}

#[test]
fn the_pcapng_capture_reads_as_wireshark_shows_it() {
    let Some(dir) = common::course_captures() else {
        return;
    };
    let report = judge_capture_file(&dir.join(WIRESHARK), None).unwrap();
    // 48 frames: the handout's MDNS queries are UDP, not part of the conversation.
    assert_eq!(report.frames, 48);
    assert_eq!(report.tcp_segments, 42);
    assert_eq!(report.skipped.other_protocol, 6);
    let c = &report.conversation.connections[0];
    assert_eq!(c.client.to_string(), "127.0.0.1:59538");
    assert_eq!(c.server.to_string(), "127.0.0.1:1235");
    assert!(c.syn_seen);
    // Frames 4-7 as the handout lists them: SYN, SYN-ACK, ACK, [TCP Window Update].
    let first: Vec<(usize, EventKind)> =
        c.events[..4].iter().map(|e| (e.frame, e.kind())).collect();
    assert_eq!(
        first,
        vec![
            (4, EventKind::Syn),
            (5, EventKind::SynAck),
            (6, EventKind::Ack),
            (7, EventKind::Ack)
        ]
    );
    assert!(
        c.events[3].window_update,
        "frame 7 is Wireshark's [TCP Window Update]"
    );
    // Frame 8: the client's GEN, 4 bytes 00 00 00 00; frame 10: the 23-byte reply.
    let frame = |n: usize| c.events.iter().find(|e| e.frame == n).unwrap();
    assert_eq!(frame(8).payload, vec![0, 0, 0, 0]);
    assert_eq!(frame(8).direction, Direction::ClientToServer);
    assert_eq!((frame(8).seq, frame(8).ack), (1, 1));
    assert_eq!(frame(10).payload, b"New number generated: 8".to_vec());
    assert_eq!((frame(10).seq, frame(10).ack, frame(10).len), (1, 5, 23));
    // Frames 42-45: the close as the handout draws it.
    assert_eq!(frame(42).kind(), EventKind::Fin);
    assert_eq!(frame(42).sender(), Side::Client);
    assert_eq!((frame(42).seq, frame(42).ack), (37, 171));
    assert_eq!(frame(44).kind(), EventKind::Fin);
    assert_eq!(frame(44).sender(), Side::Server);
    assert_eq!(c.bytes(Direction::ClientToServer), 36);
    let text = render_text(&report);
    assert!(
        text.contains("|────────────────── 4 bytes  00 00 00 00 ─────────────────▶|"),
        "{text}"
    );
    assert!(
        text.contains("|◀───────── 23 bytes  \"New number generated: 8\" ───────────|"),
        "{text}"
    );
}

#[test]
fn the_tcpdump_capture_has_the_simultaneous_close_marked() {
    let Some(dir) = common::course_captures() else {
        return;
    };
    let report = judge_capture_file(&dir.join(TCPDUMP), None).unwrap();
    assert_eq!(report.frames, 52);
    let c = &report.conversation.connections[0];
    assert_eq!(c.server.port(), 12345);
    // macOS repeats each FIN with the ACK of the other's (frames 49, 50).
    let repeated: Vec<usize> = c
        .events
        .iter()
        .filter(|e| e.retransmission)
        .map(|e| e.frame)
        .collect();
    assert_eq!(repeated, vec![49, 50]);
    assert_eq!(c.first_fin().unwrap().frame, 47);
}

#[test]
fn damaged_copies_get_located_errors() {
    let Some(dir) = common::course_captures() else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(dir.join(TCPDUMP)).unwrap();
    let cut = temp.path().join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let error = judge_capture_file(&cut, None).unwrap_err();
    let text = error.to_string();
    assert!(text.contains("cut.pcap: at byte 3999 (the 56 bytes of packet record 52): expected 56 bytes, found the end of the file after 46."), "{text}");
    assert!(text.contains("stop tcpdump with Ctrl-C"), "{text}");

    let bytes = std::fs::read(dir.join(WIRESHARK)).unwrap();
    let cut = temp.path().join("cut.pcapng");
    std::fs::write(&cut, &bytes[..300]).unwrap();
    let error = judge_capture_file(&cut, None).unwrap_err();
    let format = error.format_error().unwrap();
    assert_eq!(format.offset, 288);
    assert!(
        format.structure.starts_with("block 3 (Enhanced Packet)"),
        "{error}"
    );

    let text_file = temp.path().join("notes.txt");
    std::fs::write(&text_file, "GET / HTTP/1.1\r\n").unwrap();
    let error = judge_capture_file(&text_file, None)
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("at byte 0 (the file's magic number)"),
        "{error}"
    );
    assert!(
        error.contains("found 47 45 54 20 (text \"GET \")"),
        "{error}"
    );

    let missing = judge_capture_file(Path::new("/nonexistent/x.pcap"), None).unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("cannot read /nonexistent/x.pcap:")
    );
}
