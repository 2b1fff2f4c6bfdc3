//! Live capture in a network namespace the test makes itself: a real
//! lottery session of the reference programs, exchanges that close wrongly,
//! and two hosts linked by a veth pair. Where no namespace can be made, the
//! tests say so and capture the current namespace's loopback instead.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use socklab_packets::checks::{self, ResetCause};
use socklab_packets::{
    Capture, CaptureOptions, Captured, Connection, Conversation, Direction, EventKind, Interfaces,
    Namespace, Outcome, PayloadCap, Protocol, Side, judge::judge,
};
use socklab_reference::net::HostNet;
use socklab_reference::transcript::Transcript;
use socklab_reference::{Env, Program, Stdio};

const DEADLINE: Duration = Duration::from_secs(20);

/// The tests of this file take turns: a `fork()` in one (the two-host test
/// runs `ip`) copies every descriptor of the process, other tests' sockets
/// too, and a socket closed while such a copy exists sends its FIN only
/// when the child execs, maybe after that test's capture has stopped.
static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURNS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run `exchange` (on this thread, in the namespace being captured) under a
/// capture; in a new namespace when possible, else on the current one.
fn captured<F>(exchange: F) -> Captured
where
    F: Fn() + Send + Sync + 'static,
{
    let _turn = turn();
    let exchange = Arc::new(exchange);
    let in_namespace = {
        let exchange = exchange.clone();
        common::in_new_namespace(move |ns: OwnedFd| {
            let capture = Capture::start(CaptureOptions::new(Namespace::Fd(ns))).unwrap();
            exchange();
            capture.stop().unwrap()
        })
    };
    match in_namespace {
        Ok(captured) => captured,
        Err(reason) => {
            eprintln!(
                "NOTE: no network namespace of the test's own ({reason}); capturing the current namespace's loopback instead"
            );
            let capture = Capture::start(CaptureOptions::new(Namespace::Current)).unwrap();
            exchange();
            capture.stop().unwrap()
        }
    }
}

/// Keep a capture for a person to look at: `SOCKLAB_PACKETS_SAVE=DIR`
/// writes it as `DIR/NAME.pcapng`.
fn save(captured: &Captured, name: &str) {
    if let Some(dir) = std::env::var_os("SOCKLAB_PACKETS_SAVE") {
        let path = std::path::Path::new(&dir).join(format!("{name}.pcapng"));
        std::fs::write(&path, &captured.pcapng).unwrap();
        eprintln!("saved {}", path.display());
    }
}

/// The connection to `port` (other loopback traffic may be captured in the fallback).
fn to_port(conversation: &Conversation, port: u16) -> &Connection {
    conversation
        .connections
        .iter()
        .find(|c| c.server.port() == port)
        .unwrap_or_else(|| panic!("no connection to port {port} in {conversation:#?}"))
}

/// The reference lottery server and client, in-process, on this thread's
/// network; the client types `input`. Returns the server's port.
fn reference_lottery(input: &'static str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let cwd = std::env::temp_dir();
        let env = |transcript: Transcript| Env {
            net: Arc::new(HostNet),
            transcript,
            cwd: cwd.clone(),
            files: socklab_reference::Files::Anywhere,
        };
        let server_transcript = Transcript::new();
        let server = tokio::spawn(socklab_reference::run(
            Program::LotteryServer,
            vec!["0".into(), "--bind".into(), "127.0.0.1".into()],
            Stdio::null(),
            env(server_transcript.clone()),
        ));
        let address = tokio::time::timeout(DEADLINE, server_transcript.listening_addr())
            .await
            .expect("the reference server listens");
        let stdio = Stdio {
            stdin: Box::new(std::io::Cursor::new(input.as_bytes().to_vec())),
            stdout: Box::new(tokio::io::sink()),
            stderr: Box::new(tokio::io::sink()),
        };
        let client = socklab_reference::run(
            Program::LotteryClient,
            vec!["127.0.0.1".into(), address.port().to_string()],
            stdio,
            env(Transcript::new()),
        );
        let code = tokio::time::timeout(DEADLINE, client)
            .await
            .expect("the client ends");
        assert_eq!(code, 0, "the reference client succeeds");
        let code = tokio::time::timeout(DEADLINE, server)
            .await
            .expect("the server ends")
            .unwrap();
        assert_eq!(code, 0, "the reference server succeeds");
        address.port()
    })
}

/// Flags and payload sizes in order, as the issue compares captures:
/// packets other than pure ACKs and repeats, with the client's payload
/// sizes (the server's depend on the numbers drawn).
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

#[test]
fn a_reference_lottery_session_is_captured_whole_and_shaped_like_the_courses() {
    // The commands the course's sample session sent, when it is here.
    let course = common::course_captures().map(|dir| {
        socklab_packets::judge_capture_file(&dir.join("lottery-loopback-wireshark.pcapng"), None)
            .unwrap()
    });
    let typed: &'static str = match &course {
        Some(report) => {
            let c = &report.conversation.connections[0];
            let commands: Vec<String> = c
                .data(Direction::ClientToServer)
                .map(|e| i32::from_le_bytes(e.payload[..4].try_into().unwrap()).to_string())
                .collect();
            Box::leak(format!("{}\n", commands.join("\n")).into_boxed_str())
        }
        None => "0\n0\n1\n0\n2\n",
    };
    let port = Arc::new(std::sync::Mutex::new(0));
    let captured = {
        let port = port.clone();
        captured(move || *port.lock().unwrap() = reference_lottery(typed))
    };
    save(&captured, "reference-lottery");
    let port = *port.lock().unwrap();
    let connection = to_port(&captured.conversation, port);
    let ours = Conversation {
        connections: vec![connection.clone()],
        duplicates_removed: 0,
    };
    let judgment = judge(&ours, Protocol::Lottery);
    assert!(judgment.complete, "{}", judgment.summary);
    // Each frame once: the loopback's outgoing copies were dropped.
    assert_eq!(captured.conversation.duplicates_removed, 0);
    assert!(
        !connection.events.iter().any(|e| e.retransmission),
        "{:#?}",
        connection.events
    );
    // The pcapng reads back as the same conversation.
    let back = socklab_packets::file::parse(&captured.pcapng).unwrap();
    let (segments, _) = socklab_packets::segment::extract(&back);
    assert_eq!(Conversation::from_segments(segments), captured.conversation);
    assert!(!captured.cap.cut_anything(), "{}", captured.cap.describe());
    if let Some(report) = course {
        assert_eq!(
            shape(connection),
            shape(&report.conversation.connections[0])
        );
    }
}

/// A server and a client written for one test, run on real sockets.
fn exchange(server: fn(TcpStream), client: fn(TcpStream)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serving = std::thread::spawn(move || server(listener.accept().unwrap().0));
    client(TcpStream::connect(("127.0.0.1", port)).unwrap());
    serving.join().unwrap();
    port
}

fn read_exactly(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    stream.read_exact(&mut buf).unwrap();
    buf
}

fn wait_for_eof(stream: &mut TcpStream) {
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
}

#[test]
fn a_server_that_closes_first_fails_the_close_check() {
    let port = Arc::new(std::sync::Mutex::new(0));
    let captured = {
        let port = port.clone();
        captured(move || {
            *port.lock().unwrap() = exchange(
                |mut s| {
                    read_exactly(&mut s, 4);
                    s.write_all(b"New number generated: 5").unwrap();
                    // closes after one command, before END
                },
                |mut c| {
                    c.write_all(&0i32.to_le_bytes()).unwrap();
                    read_exactly(&mut c, 23);
                    wait_for_eof(&mut c);
                    // END to a server that is gone: its kernel resets.
                    let _ = c.write_all(&2i32.to_le_bytes());
                    wait_for_eof(&mut c);
                },
            )
        })
    };
    save(&captured, "server-closes-first");
    let c = to_port(&captured.conversation, *port.lock().unwrap());
    let rst = c.resets().next().expect("an RST for the late END");
    assert_eq!(rst.sender(), Side::Server);
    assert!(matches!(
        checks::reset_cause(c, rst),
        ResetCause::WriteAfterClose {
            writer: Side::Client,
            ..
        }
    ));
    let verdict = checks::close_order(c, Side::Client);
    assert_eq!(verdict.outcome, Outcome::Failed);
    assert!(
        verdict
            .observed
            .starts_with("the server sent the first FIN, at frame"),
        "{}",
        verdict.observed
    );
    assert!(
        verdict
            .hint
            .as_deref()
            .unwrap()
            .contains("The server closed before the client did")
    );
    assert_eq!(c.events[verdict.events[0]].kind(), EventKind::Fin);
}

#[test]
fn closing_with_unread_data_resets_and_says_why() {
    let port = Arc::new(std::sync::Mutex::new(0));
    let captured = {
        let port = port.clone();
        captured(move || {
            *port.lock().unwrap() = exchange(
                |mut s| {
                    read_exactly(&mut s, 4);
                    s.write_all(b"New number generated: 5").unwrap();
                    // The second command is there, unread, when the server closes.
                    let mut peek = [0u8; 4];
                    while s.peek(&mut peek).unwrap() < 4 {}
                },
                |mut c| {
                    c.write_all(&0i32.to_le_bytes()).unwrap();
                    c.write_all(&1i32.to_le_bytes()).unwrap();
                    wait_for_eof(&mut c);
                },
            )
        })
    };
    save(&captured, "unread-data");
    let c = to_port(&captured.conversation, *port.lock().unwrap());
    let rst = c.resets().next().expect("an RST");
    assert_eq!(rst.sender(), Side::Server);
    assert!(matches!(
        checks::reset_cause(c, rst),
        ResetCause::UnreadData {
            closer: Side::Server,
            ..
        }
    ));
    let verdict = checks::no_reset(c);
    assert_eq!(verdict.outcome, Outcome::Failed);
    assert!(
        verdict
            .observed
            .contains("the server closed with unread data (the client's"),
        "{}",
        verdict.observed
    );
    assert!(
        verdict.hint.as_deref().unwrap().starts_with(
            "The server closed its socket while data from the client was still unread"
        )
    );
}

#[test]
fn commands_sent_as_text_fail_the_command_size_check() {
    let port = Arc::new(std::sync::Mutex::new(0));
    let captured = {
        let port = port.clone();
        captured(move || {
            *port.lock().unwrap() = exchange(
                |mut s| {
                    read_exactly(&mut s, 2);
                    s.write_all(b"New number generated: 5").unwrap();
                    read_exactly(&mut s, 2);
                    wait_for_eof(&mut s);
                },
                |mut c| {
                    c.write_all(b"0\n").unwrap();
                    read_exactly(&mut c, 23);
                    c.write_all(b"2\n").unwrap();
                },
            )
        })
    };
    let c = to_port(&captured.conversation, *port.lock().unwrap());
    let conversation = Conversation {
        connections: vec![c.clone()],
        duplicates_removed: 0,
    };
    let judgment = judge(&conversation, Protocol::Lottery);
    assert!(!judgment.complete);
    let size = &judgment.sessions[0].steps[1];
    assert_eq!(size.check, "message-size");
    assert_eq!(size.outcome, Outcome::Failed);
    assert!(
        size.observed.contains("2 bytes \"0\\n\""),
        "{}",
        size.observed
    );
    assert!(size.hint.as_deref().unwrap().contains("sent as text"));
    assert!(
        judgment
            .summary
            .contains("missing: each command from the client is exactly 4 bytes of payload"),
        "{}",
        judgment.summary
    );
}

#[test]
fn the_cap_keeps_headers_beyond_the_first_bytes() {
    let _turn = turn();
    let port = Arc::new(std::sync::Mutex::new(0u16));
    let port_for_thread = port.clone();
    let run = move || {
        *port_for_thread.lock().unwrap() = exchange(
            |mut s| {
                let mut all = Vec::new();
                s.read_to_end(&mut all).unwrap();
                assert_eq!(all.len(), 200_000);
            },
            |mut c| {
                c.write_all(&vec![7u8; 200_000]).unwrap();
            },
        );
    };
    let cap = PayloadCap {
        connection_bytes: 10_000,
        small_segment: 100,
        ..PayloadCap::default()
    };
    let capture_in = |namespace: Namespace| {
        let capture = Capture::start(CaptureOptions {
            namespace,
            interfaces: Interfaces::Named(vec!["lo".to_string()]),
            cap,
        })
        .unwrap();
        run();
        capture.stop().unwrap()
    };
    let captured = match common::in_new_namespace({
        let run = run.clone();
        move |ns| {
            let capture = Capture::start(CaptureOptions {
                namespace: Namespace::Fd(ns),
                interfaces: Interfaces::Named(vec!["lo".to_string()]),
                cap,
            })
            .unwrap();
            run();
            capture.stop().unwrap()
        }
    }) {
        Ok(captured) => captured,
        Err(reason) => {
            eprintln!(
                "NOTE: no network namespace of the test's own ({reason}); capturing the current namespace's loopback instead"
            );
            capture_in(Namespace::Current)
        }
    };
    let c = to_port(&captured.conversation, *port.lock().unwrap());
    assert_eq!(
        c.bytes(Direction::ClientToServer),
        200_000,
        "sizes stay exact"
    );
    let kept: usize = c.events.iter().map(|e| e.payload.len()).sum();
    assert!(kept <= 10_000 + 100 * c.events.len(), "kept {kept} bytes");
    assert!(c.payload_cut());
    assert!(captured.cap.segments_cut > 0);
    assert!(
        captured.cap.describe().contains("Payload cut from"),
        "{}",
        captured.cap.describe()
    );
    assert!(
        captured.pcapng.len() < 100_000,
        "the pcapng is {} bytes",
        captured.pcapng.len()
    );
    let verdict = checks::no_nul(c, Direction::ClientToServer, "message");
    assert_eq!(
        verdict.outcome,
        Outcome::Inconclusive,
        "no NUL in what was kept, the rest unseen: {verdict:?}"
    );
    assert!(
        verdict.observed.contains("were cut by the capture"),
        "{}",
        verdict.observed
    );
}

/// `ip netns add` namespaces of this test, deleted when dropped.
struct TestNamespaces(Vec<String>);

impl Drop for TestNamespaces {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", name]).status();
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Two namespaces A and B linked by a veth pair (198.18.200.1 ↔ .2).
fn two_hosts() -> Result<TestNamespaces, String> {
    let pid = std::process::id();
    let (a, b) = (format!("slpk-{pid}-a"), format!("slpk-{pid}-b"));
    let mut hosts = TestNamespaces(Vec::new());
    for name in [&a, &b] {
        ip(&["netns", "add", name])?;
        hosts.0.push(name.clone());
    }
    ip(&[
        "link", "add", "va", "netns", &a, "type", "veth", "peer", "name", "vb", "netns", &b,
    ])?;
    ip(&["-n", &a, "addr", "add", "198.18.200.1/24", "dev", "va"])?;
    ip(&["-n", &b, "addr", "add", "198.18.200.2/24", "dev", "vb"])?;
    for (ns, dev) in [(&a, "va"), (&b, "vb")] {
        ip(&["-n", ns, "link", "set", dev, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
    }
    Ok(hosts)
}

fn on_host<R: Send + 'static>(name: &str, body: impl FnOnce() -> R + Send + 'static) -> R {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a namespace fd moves only this thread.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        body()
    })
    .join()
    .unwrap()
}

#[test]
fn two_hosts_linked_by_veth_are_captured_on_every_interface_and_merged() {
    let _turn = turn();
    let hosts = match two_hosts() {
        Ok(hosts) => hosts,
        Err(reason) => {
            eprintln!(
                "NOTE: cannot make two linked namespaces ({reason}); the two-host capture is not checked here"
            );
            return;
        }
    };
    let (a, b) = (hosts.0[0].clone(), hosts.0[1].clone());
    let capture_a = Capture::start(CaptureOptions::new(Namespace::named(&a))).unwrap();
    let capture_b = Capture::start(CaptureOptions::new(Namespace::named(&b))).unwrap();
    // A server on host A; a client on host B across the link, and one on A's loopback.
    let listener = on_host(&a, || TcpListener::bind("0.0.0.0:7000").unwrap());
    let serving = std::thread::spawn(move || {
        for _ in 0..2 {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(&buf).unwrap();
        }
    });
    let talk = |to: &'static str| {
        move || {
            let mut c = TcpStream::connect(to).unwrap();
            c.write_all(b"hello").unwrap();
            let mut back = [0u8; 5];
            c.read_exact(&mut back).unwrap();
            drop(c);
        }
    };
    on_host(&b, talk("198.18.200.1:7000"));
    on_host(&a, talk("127.0.0.1:7000"));
    serving.join().unwrap();
    let in_a = capture_a.stop().unwrap();
    let in_b = capture_b.stop().unwrap();
    let server: SocketAddr = "198.18.200.1:7000".parse().unwrap();
    let across = |captured: &Captured| {
        captured
            .conversation
            .connections
            .iter()
            .find(|c| c.server == server)
            .cloned()
            .expect("the connection across the link")
    };
    let seen_by_a = across(&in_a);
    assert_eq!(seen_by_a.client.ip().to_string(), "198.18.200.2");
    let interfaces: std::collections::BTreeSet<&str> =
        in_a.packets.iter().map(|p| p.interface.as_str()).collect();
    assert_eq!(
        interfaces,
        ["lo", "va"].into_iter().collect(),
        "every interface of host A"
    );
    assert!(
        in_a.conversation
            .connections
            .iter()
            .any(|c| c.server.to_string() == "127.0.0.1:7000")
    );
    assert_eq!(
        seen_by_a.events.len(),
        across(&in_b).events.len(),
        "both ends see each packet once"
    );
    let merged = Captured::merge(vec![
        ("A".to_string(), in_a.clone()),
        ("B".to_string(), in_b),
    ]);
    assert_eq!(
        merged.conversation.duplicates_removed,
        seen_by_a.events.len()
    );
    assert_eq!(across(&merged).events.len(), seen_by_a.events.len());
    let names = socklab_packets::file::parse(&merged.pcapng)
        .unwrap()
        .interfaces;
    let names: Vec<String> = names.into_iter().filter_map(|i| i.name).collect();
    assert!(
        names.contains(&"A/va".to_string()) && names.contains(&"B/vb".to_string()),
        "{names:?}"
    );
    assert!(checks::handshake(&seen_by_a, &checks::Endpoints::server(server)).is_passed());
}

#[test]
fn a_snapshot_holds_what_was_sent_before_it_and_the_capture_goes_on() {
    let port = Arc::new(std::sync::Mutex::new(0));
    let snapshots = Arc::new(std::sync::Mutex::new(Vec::new()));
    let _turn = turn();
    let in_namespace = {
        let (port, snapshots) = (port.clone(), snapshots.clone());
        common::in_new_namespace(move |ns: OwnedFd| {
            let capture = Capture::start(CaptureOptions::new(Namespace::Fd(ns))).unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            *port.lock().unwrap() = listener.local_addr().unwrap().port();
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (mut server, _) = listener.accept().unwrap();
            client.write_all(&0i32.to_le_bytes()).unwrap();
            read_exactly(&mut server, 4);
            // Taken as a packet check in the middle of a scenario would be.
            snapshots.lock().unwrap().push(capture.snapshot().unwrap());
            client.shutdown(std::net::Shutdown::Write).unwrap();
            wait_for_eof(&mut server);
            drop(server);
            // The server's FIN has arrived, so it has been captured.
            wait_for_eof(&mut client);
            capture.stop().unwrap()
        })
    };
    let Ok(whole) = in_namespace else {
        eprintln!("NOTE: no network namespace of the test's own; snapshots are not tested here");
        return;
    };
    let port = *port.lock().unwrap();
    let before = snapshots.lock().unwrap().pop().unwrap();
    let early = to_port(&before.conversation, port);
    assert!(early.first(EventKind::Syn, Side::Client).is_some());
    assert_eq!(early.data(Direction::ClientToServer).count(), 1);
    assert!(
        early.first_fin().is_none(),
        "the close came after the snapshot"
    );
    assert!(!early.is_finished());
    let late = to_port(&whole.conversation, port);
    assert!(
        late.is_finished(),
        "{}",
        socklab_packets::Ladder::new(late).text()
    );
    // The snapshot is the beginning of the whole capture, packet for packet.
    assert_eq!(late.events[..early.events.len()], early.events[..]);
    assert!(before.cap.packets_kept < whole.cap.packets_kept);
}
