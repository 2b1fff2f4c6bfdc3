//! Packets end to end: `socklab packets` on the course's sample captures
//! and on broken files, and a reference lottery session captured by
//! socklab itself (in a scenario's network namespace) that has the TCP
//! shape of the course's capture.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use socklab_packets::{Connection, Direction, EventKind, Protocol};

use common::{namespaces_available, repo, socklab};

/// The course's sample captures: `$SOCKLAB_SHARED/captures`, else a
/// `shared/captures` folder beside the repository or one of its parents
/// (as the packets crate's tests find them). `None`, said on stderr, when
/// absent.
fn course_captures() -> Option<PathBuf> {
    if let Some(shared) = std::env::var_os("SOCKLAB_SHARED") {
        let dir = PathBuf::from(shared).join("captures");
        if dir.is_dir() {
            return Some(dir);
        }
    }
    let repo = repo().canonicalize().unwrap_or_else(|_| repo());
    for ancestor in repo.ancestors().skip(1) {
        let dir = ancestor.join("shared/captures");
        if dir.join("lottery-loopback-tcpdump.pcap").is_file() {
            return Some(dir);
        }
    }
    eprintln!(
        "NOTE: the course's captures were not found (set SOCKLAB_SHARED to the shared/ folder); the tests on them check nothing here"
    );
    None
}

fn packets(args: &[&str], file: &Path) -> Output {
    socklab()
        .arg("packets")
        .arg(file)
        .args(args)
        .output()
        .expect("socklab runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn the_course_captures_are_complete_lottery_sessions() {
    let Some(dir) = course_captures() else {
        return;
    };
    for name in [
        "lottery-loopback-tcpdump.pcap",
        "lottery-loopback-wireshark.pcapng",
    ] {
        let out = packets(&["--lab", "lottery"], &dir.join(name));
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}:\n{text}{}",
            stderr(&out)
        );
        assert!(text.contains("lottery session: COMPLETE"), "{text}");
        assert!(text.contains("link type NULL/loopback"), "{text}");
        assert!(
            text.contains("|────────────────── 4 bytes  00 00 00 00 ─────────────────▶|"),
            "{text}"
        );
        assert!(
            text.contains("then the client's FIN at frame"),
            "the close is named: {text}"
        );
    }
    // Without --lab: drawn, not judged, exit 0.
    let out = packets(&[], &dir.join("lottery-loopback-tcpdump.pcap"));
    assert_eq!(out.status.code(), Some(0));
    assert!(!stdout(&out).contains("session:"));
    assert!(stdout(&out).contains("connection 1: client 127.0.0.1:52875 → server 127.0.0.1:12345"));
}

#[test]
fn an_incomplete_session_exits_one_and_says_what_is_missing() {
    // A capture socklab made of a server that closes after one command.
    let file = repo().join("docs/packets/server-closes-first.pcapng");
    let out = packets(&["--lab", "lottery"], &file);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("lottery session: INCOMPLETE"), "{text}");
    assert!(text.contains("missing:"), "{text}");
    assert!(text.contains("✗"), "the failed packets are marked: {text}");
    // As another protocol, it is not a whole session either.
    assert_eq!(packets(&["--lab", "daytime"], &file).status.code(), Some(1));
}

#[test]
fn an_unreadable_capture_exits_two_saying_where_and_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let whole = std::fs::read(repo().join("docs/packets/server-closes-first.pcapng")).unwrap();
    let cut = dir.path().join("cut.pcapng");
    std::fs::write(&cut, &whole[..whole.len() - 10]).unwrap();
    let out = packets(&["--lab", "lottery"], &cut);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let text = stderr(&out);
    assert!(text.contains("cut.pcapng: at byte"), "{text}");
    assert!(text.contains("the end of the file"), "{text}");
    assert!(text.contains("stop tcpdump with Ctrl-C"), "{text}");

    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "these are my notes, not a capture\n").unwrap();
    let out = packets(&[], &notes);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("notes.txt: at byte 0"),
        "{}",
        stderr(&out)
    );

    let out = packets(&[], &dir.path().join("missing.pcap"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read"), "{}", stderr(&out));
    assert!(stderr(&out).contains("tcpdump -w FILE"), "{}", stderr(&out));
}

#[test]
fn an_unknown_protocol_is_refused_with_the_known_ones() {
    let out = packets(&["--lab", "lotto"], Path::new("x.pcap"));
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    for name in Protocol::ALL.map(|p| p.name()) {
        assert!(text.contains(name), "{text}");
    }
}

/// Flags and sizes in order, as the issue compares captures: every packet
/// but pure ACKs and retransmissions, with the client's payload sizes (the
/// server's depend on the numbers drawn).
fn shape(connection: &Connection) -> Vec<(Direction, EventKind, Option<u32>)> {
    connection
        .events
        .iter()
        .filter(|e| e.kind() != EventKind::Ack && !e.retransmission)
        .map(|e| {
            let len = (e.direction == Direction::ClientToServer).then_some(e.len);
            (e.direction, e.kind(), len)
        })
        .collect()
}

/// The commands the course's session sent, or a session like it.
fn course_commands(course: Option<&Connection>) -> Vec<i32> {
    match course {
        Some(c) => c
            .data(Direction::ClientToServer)
            .map(|e| i32::from_le_bytes(e.payload[..4].try_into().unwrap()))
            .collect(),
        None => vec![0, 0, 1, 0, 2],
    }
}

/// A scenario where the reference LotteryClient, typed the course's
/// commands, talks to the reference LotteryServer.
fn reference_session(commands: &[i32]) -> String {
    let mut steps = String::new();
    for command in commands {
        steps.push_str(&format!(
            "      - expect: cli\n        text: \"Command (0:GEN 1:LIST 2:END): \"\n      - type: cli\n        line: \"{command}\"\n"
        ));
    }
    format!(
        r#"scenarios:
  - name: reference-lottery
    ports: {{ lottery: auto }}
    steps:
      - start: srv
        program: lottery-server
        from: reference
        args: ["{{{{ports.lottery}}}}"]
        stdin: null
      - wait_listen: srv
        port: "{{{{ports.lottery}}}}"
      - start: cli
        program: lottery-client
        from: reference
        args: ["127.0.0.1", "{{{{ports.lottery}}}}"]
{steps}      - exit: cli
        code: 0
      - exit: srv
        code: 0
      - packets: cli
        to: "127.0.0.1:{{{{ports.lottery}}}}"
        handshake: true
        client_sends: 4
        no_nul: server
        no_rst: true
"#
    )
}

#[test]
fn a_reference_session_captured_by_socklab_has_the_course_captures_shape() {
    if !namespaces_available() {
        eprintln!(
            "NOTE: no network namespaces here: socklab captures nothing, so this checks nothing"
        );
        return;
    }
    let course = course_captures().map(|dir| {
        socklab_packets::judge_capture_file(&dir.join("lottery-loopback-wireshark.pcapng"), None)
            .unwrap()
    });
    let course_connection = course.as_ref().map(|r| &r.conversation.connections[0]);
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("reference.yaml");
    std::fs::write(
        &scenario,
        reference_session(&course_commands(course_connection)),
    )
    .unwrap();
    let kept = dir.path().join("captures");
    let out = socklab()
        .arg("run")
        .arg(&scenario)
        .arg("--submission")
        .arg(dir.path())
        .arg("--packets")
        .arg(&kept)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    let scenario = &report["scenarios"][0];
    assert_eq!(
        scenario["packets"]["file"],
        format!("{}/reference-lottery.pcapng", kept.display())
    );
    let ladder = &scenario["packets"]["connections"][0];
    assert_eq!(
        ladder["server"].as_str().unwrap().split(':').next(),
        Some("127.0.0.1")
    );

    // The file socklab kept reads back as the same session.
    let file = kept.join("reference-lottery.pcapng");
    let ours = socklab_packets::judge_capture_file(&file, Some(Protocol::Lottery)).unwrap();
    assert_eq!(
        ours.conversation.connections.len(),
        1,
        "{:#?}",
        ours.conversation
    );
    let connection = &ours.conversation.connections[0];
    let ours_shape = shape(connection);
    // Both programs close as soon as END is written and read: on Linux
    // either FIN may come first (the course's capture has the client's
    // 20 µs before the server's). The rest is the same, packet for packet.
    let client_first = connection
        .first_fin()
        .is_some_and(|fin| fin.direction == Direction::ClientToServer);
    let judged = packets(&["--lab", "lottery"], &file);
    assert_eq!(
        judged.status.code(),
        Some(if client_first { 0 } else { 1 }),
        "{}",
        stdout(&judged)
    );
    let (body, close) = ours_shape.split_at(ours_shape.len() - 2);
    let mut close = close.to_vec();
    close.sort_by_key(|(direction, ..)| *direction as u8);
    assert_eq!(
        close,
        [
            (Direction::ClientToServer, EventKind::Fin, Some(0)),
            (Direction::ServerToClient, EventKind::Fin, None)
        ],
        "{ours_shape:?}"
    );
    assert_eq!(
        body[..2],
        [
            (Direction::ClientToServer, EventKind::Syn, Some(0)),
            (Direction::ServerToClient, EventKind::SynAck, None)
        ]
    );
    if let Some(course) = course_connection {
        let theirs = shape(course);
        let (their_body, their_close) = theirs.split_at(theirs.len() - 2);
        assert_eq!(
            body, their_body,
            "the same TCP shape as the course's capture"
        );
        assert_eq!(their_close[0].0, Direction::ClientToServer);
    }
}
