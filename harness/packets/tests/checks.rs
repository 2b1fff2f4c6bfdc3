//! The checks and judgments on scripted sessions: each passes on a correct
//! session and fails, with its wording and hint, on the mistake it is for.

mod common;

use common::{From, Script};
use socklab_packets::checks::{self, Endpoints, ResetCause};
use socklab_packets::judge::judge;
use socklab_packets::{Direction, EventKind, Outcome, Protocol, Side};

fn lottery() -> Script {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script.lottery(&[0, 0, 1, 2]);
    script
}

#[test]
fn a_scripted_lottery_session_passes_every_check() {
    let conversation = lottery().conversation();
    let c = &conversation.connections[0];
    assert!(
        checks::handshake(c, &Endpoints::server("127.0.0.1:12345".parse().unwrap())).is_passed()
    );
    assert!(checks::message_size(c, Direction::ClientToServer, 4, "command").is_passed());
    assert!(checks::no_nul(c, Direction::ServerToClient, "reply").is_passed());
    assert!(checks::close_order(c, Side::Client).is_passed());
    assert!(checks::no_reset(c).is_passed());
    let judgment = judge(&conversation, Protocol::Lottery);
    assert!(judgment.complete, "{}", judgment.summary);
    assert_eq!(
        judgment.summary,
        "The capture shows a whole lottery session on connection 1 (127.0.0.1:52875 → 127.0.0.1:12345): the three-way handshake; 4 commands: GEN ×2, LIST ×1, END ×1; 3 replies, e.g. \"New number generated: 10\", \"New number generated: 11\", \"numbers: 10 11 0 0 0 0\"; END; then the client's FIN at frame 18 (0.001700 s), then the server's at frame 20 (0.001900 s)."
    );
}

#[test]
fn the_handshake_check_names_a_refused_connection_and_wrong_endpoints() {
    let mut script = Script::new("127.0.0.1:40000", "127.0.0.1:1235");
    script
        .packet(From::Client, "S", b"")
        .packet(From::Server, "RA", b"");
    let conversation = script.conversation();
    let c = &conversation.connections[0];
    let verdict = checks::handshake(c, &Endpoints::default());
    assert_eq!(verdict.outcome, Outcome::Failed);
    assert!(
        verdict
            .observed
            .starts_with("the server answered the SYN with RST at frame 2"),
        "{}",
        verdict.observed
    );
    assert!(
        verdict
            .hint
            .unwrap()
            .starts_with("Nothing was listening on port 1235")
    );
    assert_eq!(checks::reset_cause(c, &c.events[1]), ResetCause::Refused);

    let conversation = lottery().conversation();
    let wrong = checks::handshake(
        &conversation.connections[0],
        &Endpoints::server("127.0.0.1:1235".parse().unwrap()),
    );
    assert_eq!(wrong.outcome, Outcome::Failed);
    assert_eq!(
        wrong.observed,
        "the connection is 127.0.0.1:52875 → 127.0.0.1:12345"
    );
    let missing = checks::find_connection(
        &conversation,
        &Endpoints::server("127.0.0.1:1235".parse().unwrap()),
    )
    .unwrap_err();
    assert_eq!(missing.observed, "only 127.0.0.1:52875 → 127.0.0.1:12345");
}

#[test]
fn a_capture_started_late_has_no_syn_and_guesses_the_roles_by_port() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script
        .send(From::Client, &[0, 0, 0, 0])
        .send(From::Server, b"Full");
    let conversation = script.conversation();
    let c = &conversation.connections[0];
    assert!(!c.syn_seen);
    assert_eq!(c.server.port(), 12345);
    let verdict = checks::handshake(c, &Endpoints::default());
    assert_eq!(
        verdict.observed,
        "no SYN: the capture starts after the connection was opened"
    );
    assert_eq!(
        verdict.hint.unwrap(),
        "Start the capture before the client connects."
    );
}

#[test]
fn the_close_order_check_says_who_closed_first_and_who_never_did() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script
        .handshake()
        .send(From::Client, &[0; 4])
        .send(From::Server, b"Full")
        .close(From::Server);
    let conversation = script.conversation();
    let verdict = checks::close_order(&conversation.connections[0], Side::Client);
    assert_eq!(verdict.outcome, Outcome::Failed);
    assert_eq!(verdict.title, "the client closes first, then the server");
    assert_eq!(
        verdict.observed,
        "the server sent the first FIN, at frame 8 (0.000700 s)"
    );
    assert!(
        verdict
            .hint
            .unwrap()
            .contains("the client should close first, and the server when its read() returns 0")
    );
    // Daytime: the server closes first, and that passes.
    assert!(checks::close_order(&conversation.connections[0], Side::Server).is_passed());

    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script
        .handshake()
        .packet(From::Client, "FA", b"")
        .packet(From::Server, "A", b"");
    let conversation = script.conversation();
    let verdict = checks::close_order(&conversation.connections[0], Side::Client);
    assert_eq!(
        verdict.observed,
        "the client's FIN at frame 4 (0.000300 s), and no FIN from the server"
    );
    assert!(
        verdict
            .hint
            .unwrap()
            .starts_with("The server never closed its side")
    );
}

#[test]
fn an_rst_after_writing_to_a_closed_peer_blames_the_writer() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script
        .handshake()
        .packet(From::Server, "FA", b"")
        .packet(From::Client, "A", b"")
        .packet(From::Client, "PA", &[2, 0, 0, 0])
        .packet(From::Server, "R", b"");
    let conversation = script.conversation();
    let c = &conversation.connections[0];
    let rst = c.resets().next().unwrap();
    assert_eq!(
        checks::reset_cause(c, rst),
        ResetCause::WriteAfterClose {
            writer: Side::Client,
            late: 5
        }
    );
    let verdict = checks::no_reset(c);
    assert_eq!(
        verdict.observed,
        "an RST from the server at frame 7 (0.000600 s): the client wrote after the server had closed (4 bytes at frame 6 (0.000500 s))"
    );
    assert!(
        verdict
            .hint
            .unwrap()
            .starts_with("The client wrote after the server had closed the connection")
    );
    assert_eq!(verdict.events, vec![6, 5]);
}

#[test]
fn replies_with_their_nul_fail_with_the_position() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script
        .handshake()
        .send(From::Client, &[0; 4])
        .send(From::Server, b"New number generated: 8\0")
        .send(From::Client, &[2, 0, 0, 0])
        .close(From::Client);
    let conversation = script.conversation();
    let verdict = checks::no_nul(
        &conversation.connections[0],
        Direction::ServerToClient,
        "reply",
    );
    assert_eq!(verdict.outcome, Outcome::Failed);
    assert_eq!(verdict.title, "the server's replies carry no NUL byte");
    assert!(
        verdict.observed.contains("NUL at byte 24 of 24"),
        "{}",
        verdict.observed
    );
    assert!(verdict.hint.unwrap().contains("strlen(buf) + 1"));
    let judgment = judge(&conversation, Protocol::Lottery);
    assert!(!judgment.complete);
    // The replies' own check sees binary, and the NUL check says why.
    assert!(
        judgment
            .summary
            .contains("the server's replies carry no NUL byte"),
        "{}",
        judgment.summary
    );
}

#[test]
fn commands_merged_in_one_segment_are_named_so() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script
        .handshake()
        .send(From::Client, &[0, 0, 0, 0, 1, 0, 0, 0]);
    let conversation = script.conversation();
    let verdict = checks::message_size(
        &conversation.connections[0],
        Direction::ClientToServer,
        4,
        "command",
    );
    assert_eq!(verdict.outcome, Outcome::Failed);
    assert!(
        verdict.observed.starts_with(
            "1 of 1 commands differ: frame 4 (0.000300 s): 8 bytes 00 00 00 00 01 00 00 00"
        ),
        "{}",
        verdict.observed
    );
    assert!(
        verdict
            .hint
            .unwrap()
            .starts_with("Several commands travelled in one segment")
    );
}

#[test]
fn file_transfer_data_must_be_whole_segments() {
    let segment = |len: i32| {
        let mut s = len.to_le_bytes().to_vec();
        s.extend(vec![b'x'; 256]);
        s
    };
    let mut script = Script::new("127.0.0.1:40000", "127.0.0.1:5000");
    script
        .handshake()
        .send(From::Client, b"notes.txt")
        .send(From::Server, &segment(256))
        .send(From::Server, &segment(10))
        .close(From::Server);
    let conversation = script.conversation();
    let c = &conversation.connections[0];
    let verdict = checks::whole_records(c, Direction::ServerToClient, 260, "segment");
    assert_eq!(verdict.observed, "520 bytes = 2 segments of 260 bytes");
    let judgment = judge(&conversation, Protocol::FileTransfer);
    assert!(judgment.complete, "{}", judgment.summary);
    assert!(
        judgment.summary.contains("2 segments of 260 bytes"),
        "{}",
        judgment.summary
    );

    let mut script = Script::new("127.0.0.1:40000", "127.0.0.1:5000");
    script
        .handshake()
        .send(From::Client, b"notes.txt")
        .send(From::Server, &segment(256))
        .send(From::Server, &segment(10)[..14])
        .close(From::Server);
    let conversation = script.conversation();
    let verdict = checks::whole_records(
        &conversation.connections[0],
        Direction::ServerToClient,
        260,
        "segment",
    );
    assert_eq!(verdict.outcome, Outcome::Failed);
    assert_eq!(
        verdict.observed,
        "274 bytes: 1 whole segment of 260 bytes and 14 bytes more"
    );
    assert!(verdict.hint.unwrap().contains("len + 4"));
}

#[test]
fn daytime_and_echo_sessions_are_judged() {
    let mut script = Script::new("127.0.0.1:40000", "127.0.0.1:13");
    script
        .handshake()
        .packet(From::Server, "PA", b"Tue Sep  5 11:04:47 2017\r\n")
        .close(From::Server);
    let conversation = script.conversation();
    let judgment = judge(&conversation, Protocol::Daytime);
    assert!(judgment.complete, "{}", judgment.summary);
    // The same capture is no lottery session: no command at all.
    let lottery = judge(&conversation, Protocol::Lottery);
    assert!(!lottery.complete);
    assert!(
        lottery
            .summary
            .starts_with("The capture does not show a whole lottery session."),
        "{}",
        lottery.summary
    );

    let mut script = Script::new("127.0.0.1:40000", "127.0.0.1:9877");
    script
        .handshake()
        .send(From::Client, b"hello\n")
        .send(From::Server, b"hello\n")
        .close(From::Client);
    assert!(judge(&script.conversation(), Protocol::Echo).complete);

    let mut script = Script::new("127.0.0.1:40000", "127.0.0.1:9877");
    script
        .handshake()
        .send(From::Client, b"hello\n")
        .send(From::Server, b"hello\n\0\0\0\0")
        .close(From::Client);
    let judgment = judge(&script.conversation(), Protocol::Echo);
    assert!(!judgment.complete);
    let step = judgment.sessions[0]
        .steps
        .iter()
        .find(|v| v.check == "echo-bytes")
        .unwrap();
    assert!(step.hint.as_deref().unwrap().contains("write(fd, buf, n)"));
}

#[test]
fn copies_are_removed_and_retransmissions_and_window_updates_marked() {
    let mut script = lottery();
    // The loopback seen by AF_PACKET: every packet twice, microseconds apart.
    let doubled: Vec<_> = script
        .packets
        .iter()
        .flat_map(|(t, ip)| {
            [
                (*t, ip.clone()),
                (socklab_packets::Timestamp(t.0 + 3_000), ip.clone()),
            ]
        })
        .collect();
    let single = script.conversation();
    script.packets = doubled;
    let conversation = script.conversation();
    assert_eq!(
        conversation.duplicates_removed,
        single.connections[0].events.len()
    );
    assert_eq!(
        conversation.connections[0].events.len(),
        single.connections[0].events.len()
    );

    // The same command again 300 ms later is a real retransmission.
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script.handshake().packet(From::Client, "PA", &[0; 4]);
    let (time, ip) = script.packets.last().unwrap().clone();
    script
        .packets
        .push((socklab_packets::Timestamp(time.0 + 300_000_000), ip));
    let conversation = script.conversation();
    let c = &conversation.connections[0];
    assert_eq!(conversation.duplicates_removed, 0);
    assert!(c.events[4].retransmission && !c.events[3].retransmission);
    assert_eq!(
        c.bytes(Direction::ClientToServer),
        4,
        "a retransmission is counted once"
    );
}

#[test]
fn a_new_syn_on_the_same_ports_is_a_new_connection() {
    let mut script = Script::new("127.0.0.1:52875", "127.0.0.1:12345");
    script.lottery(&[2]);
    let first_len = script.packets.len();
    script.lottery(&[2]);
    let conversation = script.conversation();
    assert_eq!(conversation.connections.len(), 2);
    assert_eq!(conversation.connections[0].events.len(), first_len);
    assert_eq!(conversation.connections[1].events[0].kind(), EventKind::Syn);
    assert_eq!(conversation.connections[1].id, 2);
}
