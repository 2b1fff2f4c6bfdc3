//! Byte-level tests: a raw `TcpStream` against each reference server
//! (in-process), checking the exact bytes, the framing and when the server
//! closes.

mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;

use socklab_reference::Program;
use socklab_reference::programs::lottery::Lottery;
use socklab_reference::transcript::EventKind;
use socklab_reference::wire::ByteOrder;
use socklab_reference::wire::daytime;
use socklab_reference::wire::filetransfer::{SEGMENT_SIZE, Segment, encode_file};
use socklab_reference::wire::lottery::{Command, Reply};
use support::{InProcess, binary_content, tempdir, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn connect(addr: SocketAddr) -> TcpStream {
    within("connect", TcpStream::connect(addr))
        .await
        .expect("connect to the server")
}

async fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    within("the server to close", stream.read_to_end(&mut bytes))
        .await
        .unwrap();
    bytes
}

async fn read_exactly(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    within("a reply", stream.read_exact(&mut bytes))
        .await
        .unwrap();
    bytes
}

/// The next read returns end of stream (a FIN, not more data).
async fn assert_closed(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    assert_eq!(
        within("end of stream", stream.read(&mut byte))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn daytime_sends_26_bytes_then_closes() {
    let dir = tempdir();
    let (server, addr) = InProcess::server(Program::DaytimeServer, &[], dir.path()).await;
    for _ in 0..3 {
        let mut stream = connect(addr).await;
        let reply = read_to_end(&mut stream).await;
        assert_eq!(reply.len(), 26, "{reply:?}");
        assert!(reply.ends_with(b"\r\n"));
        daytime::parse(&reply).unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn echo_returns_every_byte_and_closes_after_the_client() {
    let dir = tempdir();
    let (server, addr) =
        InProcess::server(Program::EchoServer, &["--concurrency", "async"], dir.path()).await;
    let mut stream = connect(addr).await;
    let payload: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    stream.write_all(&payload).await.unwrap();
    assert_eq!(read_exactly(&mut stream, payload.len()).await, payload);
    stream.shutdown().await.unwrap();
    assert_closed(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn sum_replies_are_exact_lines() {
    let dir = tempdir();
    let args = ["--concurrency", "iterative", "--mode", "sum"];
    let (server, addr) = InProcess::server(Program::EchoServer, &args, dir.path()).await;
    let mut stream = connect(addr).await;
    stream.write_all(b"2 5\n-4 2\nx y\n1").await.unwrap();
    stream.shutdown().await.unwrap();
    // The last line has no newline: it is answered at end of stream, as Readline returns it.
    assert_eq!(
        read_to_end(&mut stream).await,
        b"7\n-2\ninput error\ninput error\n"
    );
    server.stop().await;
}

#[tokio::test]
async fn an_iterative_echo_server_serves_the_second_client_only_after_the_first() {
    let dir = tempdir();
    let (server, addr) = InProcess::server(
        Program::EchoServer,
        &["--concurrency", "iterative"],
        dir.path(),
    )
    .await;
    let transcript = server.transcript.clone();
    let accepted = move || {
        let events = transcript.events();
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Connected { accepted: true, .. }))
            .count()
    };
    let mut first = connect(addr).await;
    first.write_all(b"one\n").await.unwrap();
    assert_eq!(read_exactly(&mut first, 4).await, b"one\n");
    // The kernel completes the second handshake from the backlog...
    let mut second = connect(addr).await;
    second.write_all(b"two\n").await.unwrap();
    // ...but the server is still busy with the first client, as this round trip shows.
    first.write_all(b"again\n").await.unwrap();
    assert_eq!(read_exactly(&mut first, 6).await, b"again\n");
    assert_eq!(accepted(), 1, "the second client must wait in the backlog");
    drop(first);
    assert_eq!(read_exactly(&mut second, 4).await, b"two\n");
    assert_eq!(accepted(), 2);
    server.stop().await;
}

async fn lottery_server(args: &[&str]) -> (InProcess, SocketAddr, tempfile::TempDir) {
    let dir = tempdir();
    let (server, addr) = InProcess::server(Program::LotteryServer, args, dir.path()).await;
    (server, addr, dir)
}

async fn command(stream: &mut TcpStream, command: Command) -> Vec<u8> {
    stream
        .write_all(&command.encode(ByteOrder::Host))
        .await
        .unwrap();
    let mut reply = vec![0u8; 256];
    let n = within("a lottery reply", stream.read(&mut reply))
        .await
        .unwrap();
    reply.truncate(n);
    reply
}

#[tokio::test]
async fn lottery_replies_are_exact_and_end_closes() {
    let (server, addr, _dir) = lottery_server(&["--seed", "2024"]).await;
    let mut expected = Lottery::seeded(2024);
    let mut stream = connect(addr).await;
    assert_eq!(
        command(&mut stream, Command::List).await,
        b"numbers: 0 0 0 0 0 0"
    );
    for _ in 0..6 {
        let reply = command(&mut stream, Command::Gen).await;
        let want = expected.apply(Command::Gen).unwrap();
        assert_eq!(reply, want.to_bytes(), "no newline, no NUL");
        assert!(matches!(
            Reply::parse(&reply),
            Some(Reply::Generated(1..=45))
        ));
    }
    assert_eq!(command(&mut stream, Command::Gen).await, b"Full");
    let list = command(&mut stream, Command::List).await;
    assert_eq!(Reply::parse(&list), expected.apply(Command::List));
    stream
        .write_all(&Command::End.encode(ByteOrder::Host))
        .await
        .unwrap();
    assert_closed(&mut stream).await;
    assert_eq!(server.finish().await.code, 0);
}

#[tokio::test]
async fn lottery_commands_split_into_single_bytes_are_still_whole_ints() {
    let (server, addr, _dir) = lottery_server(&[]).await;
    let mut stream = connect(addr).await;
    stream.set_nodelay(true).unwrap();
    for byte in Command::List.encode(ByteOrder::Host) {
        stream.write_all(&[byte]).await.unwrap();
        stream.flush().await.unwrap();
    }
    assert_eq!(read_exactly(&mut stream, 20).await, b"numbers: 0 0 0 0 0 0");
    drop(stream);
    assert_eq!(server.finish().await.code, 0);
}

#[tokio::test]
async fn lottery_closes_on_unknown_commands_and_on_end_of_stream() {
    for ending in ["unknown", "partial", "eof"] {
        let (server, addr, _dir) = lottery_server(&[]).await;
        let mut stream = connect(addr).await;
        match ending {
            "unknown" => stream
                .write_all(&Command::Other(3).encode(ByteOrder::Host))
                .await
                .unwrap(),
            "partial" => stream.write_all(&[0, 0]).await.unwrap(),
            _ => {}
        }
        stream.shutdown().await.unwrap();
        assert_closed(&mut stream).await;
        assert_eq!(server.finish().await.code, 0, "{ending}");
    }
}

#[tokio::test]
async fn lottery_big_endian_option_reads_network_order() {
    let (server, addr, _dir) = lottery_server(&["--byte-order", "big"]).await;
    let mut stream = connect(addr).await;
    stream.write_all(&[0, 0, 0, 1]).await.unwrap();
    assert_eq!(read_exactly(&mut stream, 20).await, b"numbers: 0 0 0 0 0 0");
    // 0x02000000 in big-endian is not END: "anything else" closes as well.
    stream.write_all(&[2, 0, 0, 0]).await.unwrap();
    assert_closed(&mut stream).await;
    assert_eq!(server.finish().await.code, 0);
}

#[tokio::test]
async fn a_second_lottery_client_connects_but_is_never_served() {
    let (server, addr, _dir) = lottery_server(&[]).await;
    let mut first = connect(addr).await;
    assert_eq!(
        command(&mut first, Command::List).await,
        b"numbers: 0 0 0 0 0 0"
    );
    let mut second = connect(addr).await;
    second
        .write_all(&Command::List.encode(ByteOrder::Host))
        .await
        .unwrap();
    first
        .write_all(&Command::End.encode(ByteOrder::Host))
        .await
        .unwrap();
    assert_eq!(server.finish().await.code, 0);
    // The listening socket is gone: the queued connection is reset, never answered.
    let mut reply = Vec::new();
    match within("the second client's end", second.read_to_end(&mut reply)).await {
        Ok(_) => assert!(reply.is_empty(), "{reply:?}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset),
    }
}

fn check_segments(stream: &[u8], content: &[u8]) {
    assert_eq!(
        stream.len() % SEGMENT_SIZE,
        0,
        "whole 260-byte segments only"
    );
    assert_eq!(stream.len(), content.len().div_ceil(256) * SEGMENT_SIZE);
    for (segment, chunk) in stream.chunks(SEGMENT_SIZE).zip(content.chunks(256)) {
        assert_eq!(
            &segment[..4],
            &(chunk.len() as i32).to_ne_bytes(),
            "len in host order"
        );
        assert_eq!(&segment[4..4 + chunk.len()], chunk);
        assert!(
            segment[4 + chunk.len()..].iter().all(|b| *b == 0),
            "zero-filled tail"
        );
    }
    assert_eq!(stream, encode_file(content, ByteOrder::Host));
}

#[tokio::test]
async fn ft_server_sends_whole_segments_then_closes() {
    for size in [0, 1, 256, 257, 1000] {
        let dir = tempdir();
        let content = binary_content(size);
        std::fs::write(dir.path().join("file"), &content).unwrap();
        let (server, addr) = InProcess::server(Program::FtServer, &[], dir.path()).await;
        let mut stream = connect(addr).await;
        stream.write_all(b"file").await.unwrap();
        let received = read_to_end(&mut stream).await;
        check_segments(&received, &content);
        let server = server.finish().await;
        assert_eq!(
            (server.code, server.stdout.as_slice()),
            (0, &b"file\n"[..]),
            "size {size}"
        );
    }
}

#[tokio::test]
async fn ft_server_big_endian_option_swaps_only_the_len_field() {
    let dir = tempdir();
    std::fs::write(dir.path().join("f"), b"abc").unwrap();
    let (server, addr) =
        InProcess::server(Program::FtServer, &["--byte-order", "big"], dir.path()).await;
    let mut stream = connect(addr).await;
    stream.write_all(b"f").await.unwrap();
    let received = read_to_end(&mut stream).await;
    assert_eq!(
        received,
        Segment::with_data(b"abc").unwrap().encode(ByteOrder::Big)
    );
    assert_eq!(&received[..7], &[0, 0, 0, 3, b'a', b'b', b'c']);
    assert_eq!(server.finish().await.code, 0);
}

#[tokio::test]
async fn ft_server_refuses_a_client_that_sends_no_path() {
    let dir = tempdir();
    let (server, addr) = InProcess::server(Program::FtServer, &[], dir.path()).await;
    let mut stream = connect(addr).await;
    stream.shutdown().await.unwrap();
    assert_closed(&mut stream).await;
    let server = server.finish().await;
    assert_eq!(server.code, 1);
    assert!(
        server.stderr_text().contains("before sending a path"),
        "{}",
        server.stderr_text()
    );
}

#[tokio::test]
async fn marker_mode_ends_each_file_with_a_zero_length_segment() {
    let dir = tempdir();
    std::fs::write(dir.path().join("a"), binary_content(300)).unwrap();
    std::fs::write(dir.path().join("empty"), b"").unwrap();
    let (server, addr) =
        InProcess::server(Program::FtServer, &["--iterative", "marker"], dir.path()).await;
    let mut stream = connect(addr).await;
    let marker = Segment::end_marker().encode(ByteOrder::Host).to_vec();
    for (path, content) in [
        ("a", binary_content(300)),
        ("empty", vec![]),
        ("missing", vec![]),
    ] {
        stream.write_all(path.as_bytes()).await.unwrap();
        let want = [encode_file(&content, ByteOrder::Host), marker.clone()].concat();
        let received = read_exactly(&mut stream, want.len()).await;
        assert_eq!(received, want, "{path}: data segments then the marker");
    }
    stream.shutdown().await.unwrap();
    assert_closed(&mut stream).await;
    let server = server.finish().await;
    assert_eq!(server.code, 0);
    assert_eq!(server.stdout_text(), "a\nempty\nmissing\n");
    assert!(
        server
            .stderr_text()
            .contains("open missing: No such file or directory")
    );
}

const TERMINATE: &str = "client-sends TERMINATE CONNECTION";

#[tokio::test]
async fn short_segment_mode_ends_a_file_with_its_short_segment_or_a_zero_length_one() {
    let dir = tempdir();
    std::fs::write(dir.path().join("a"), binary_content(300)).unwrap();
    std::fs::write(dir.path().join("b512"), binary_content(512)).unwrap();
    std::fs::write(dir.path().join("empty"), b"").unwrap();
    let args = [
        "--iterative",
        "one-connection",
        "--end-of-file",
        "short-segment",
        "--end-of-session",
        TERMINATE,
    ];
    let (server, addr) = InProcess::server(Program::FtServer, &args, dir.path()).await;
    let mut stream = connect(addr).await;
    let marker = Segment::end_marker().encode(ByteOrder::Host).to_vec();
    for (path, content, ended_by_marker) in [
        ("a", binary_content(300), false),
        ("b512", binary_content(512), true),
        ("empty", vec![], true),
        ("missing", vec![], true),
    ] {
        stream.write_all(path.as_bytes()).await.unwrap();
        let mut want = encode_file(&content, ByteOrder::Host);
        if ended_by_marker {
            want.extend_from_slice(&marker);
        }
        let received = read_exactly(&mut stream, want.len()).await;
        assert_eq!(received, want, "{path}");
    }
    // A C client may send the text with its NUL.
    stream.write_all(b"TERMINATE CONNECTION\0").await.unwrap();
    assert_closed(&mut stream).await;
    let server = server.finish().await;
    assert_eq!(server.code, 0, "{}", server.stderr_text());
    assert_eq!(server.stdout_text(), "a\nb512\nempty\nmissing\n");
}

#[tokio::test]
async fn a_session_closed_without_its_end_text_fails_the_server() {
    let dir = tempdir();
    std::fs::write(dir.path().join("a"), b"hello").unwrap();
    let args = [
        "--iterative",
        "one-connection",
        "--end-of-session",
        TERMINATE,
    ];
    let (server, addr) = InProcess::server(Program::FtServer, &args, dir.path()).await;
    let mut stream = connect(addr).await;
    stream.write_all(b"a").await.unwrap();
    let want = [
        encode_file(b"hello", ByteOrder::Host),
        Segment::end_marker().encode(ByteOrder::Host).to_vec(),
    ]
    .concat();
    assert_eq!(read_exactly(&mut stream, want.len()).await, want);
    drop(stream);
    let server = server.finish().await;
    assert_eq!(server.code, 1);
    assert_eq!(
        server.stderr_text(),
        "ft-server: the client closed the connection without sending \"TERMINATE CONNECTION\" to end the session\n"
    );
}

#[tokio::test]
async fn new_connection_mode_keeps_serving_after_a_missing_file() {
    let dir = tempdir();
    std::fs::write(dir.path().join("a"), b"hello").unwrap();
    let args = ["--iterative", "new-connection"];
    let (server, addr) = InProcess::server(Program::FtServer, &args, dir.path()).await;
    for (path, content) in [("missing", &b""[..]), ("a", b"hello"), ("a", b"hello")] {
        let mut stream = connect(addr).await;
        stream.write_all(path.as_bytes()).await.unwrap();
        assert_eq!(
            read_to_end(&mut stream).await,
            encode_file(content, ByteOrder::Host),
            "{path}"
        );
    }
    let server = server.stop().await;
    assert_eq!(server.stdout_text(), "missing\na\na\n");
}

/// A hand-driven server for testing the reference clients.
async fn raw_server() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    (listener, port)
}

async fn accept(listener: &tokio::net::TcpListener) -> TcpStream {
    within("the client to connect", listener.accept())
        .await
        .unwrap()
        .0
}

/// Wait until the client's transcript shows it received `total` bytes.
async fn client_received(client: &InProcess, total: usize) {
    let received = |events: &[socklab_reference::transcript::TranscriptEvent]| {
        let sum: usize = events
            .iter()
            .map(|e| match &e.kind {
                EventKind::Received(bytes) => bytes.len(),
                _ => 0,
            })
            .sum();
        (sum >= total).then_some(())
    };
    within("the client to read", client.transcript.wait_for(received)).await;
}

#[tokio::test]
async fn ft_client_reassembles_segments_split_across_reads() {
    let dir = tempdir();
    let (listener, port) = raw_server().await;
    let client = InProcess::start(
        Program::FtClient,
        &["127.0.0.1", &port, "wanted", "out"],
        b"",
        dir.path(),
    );
    let mut stream = accept(&listener).await;
    let mut path = [0u8; 6];
    stream.read_exact(&mut path).await.unwrap();
    assert_eq!(&path, b"wanted", "the path's bytes, no terminator");
    let content = binary_content(700);
    let wire = encode_file(&content, ByteOrder::Host);
    // Cut inside the len field, inside the data, and across a segment boundary;
    // each piece is only sent once the client has read the previous ones.
    let mut sent = 0;
    for cut in [2, 100, 300, 519, 700, wire.len()] {
        stream.write_all(&wire[sent..cut]).await.unwrap();
        sent = cut;
        client_received(&client, sent).await;
    }
    drop(stream);
    let client = client.finish().await;
    assert_eq!(client.code, 0, "{}", client.stderr_text());
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), content);
}

#[tokio::test]
async fn ft_client_rejects_bad_lengths_and_truncated_segments() {
    let mut bad_len = Segment::with_data(b"x").unwrap();
    bad_len.len = 300;
    let mut negative = Segment::with_data(b"x").unwrap();
    negative.len = -1;
    let good = Segment::with_data(b"ok").unwrap().encode(ByteOrder::Host);
    let cases = [
        (
            bad_len.encode(ByteOrder::Host).to_vec(),
            "ft-client: bad segment length 300 (must be 0..=256)\n",
        ),
        (
            negative.encode(ByteOrder::Host).to_vec(),
            "ft-client: bad segment length -1 (must be 0..=256)\n",
        ),
        (
            [&good[..], &good[..100]].concat(),
            "ft-client: incomplete segment at end of stream (100 of 260 bytes)\n",
        ),
    ];
    for (wire, message) in cases {
        let dir = tempdir();
        let (listener, port) = raw_server().await;
        let client = InProcess::start(
            Program::FtClient,
            &["127.0.0.1", &port, "f", "out"],
            b"",
            dir.path(),
        );
        let mut stream = accept(&listener).await;
        stream.write_all(&wire).await.unwrap();
        drop(stream);
        let client = client.finish().await;
        assert_eq!((client.code, client.stderr_text().as_str()), (1, message));
    }
}

#[tokio::test]
async fn marker_client_fails_when_the_server_closes_before_the_marker() {
    let dir = tempdir();
    let (listener, port) = raw_server().await;
    let args = ["127.0.0.1", port.as_str(), "--iterative", "marker"];
    let client = InProcess::start(Program::FtClient, &args, b"f out\nf again\n", dir.path());
    let mut stream = accept(&listener).await;
    let mut path = [0u8; 1];
    stream.read_exact(&mut path).await.unwrap();
    stream
        .write_all(&encode_file(b"partial", ByteOrder::Host))
        .await
        .unwrap();
    drop(stream);
    let client = client.finish().await;
    assert_eq!(client.code, 1);
    assert_eq!(
        client.stderr_text(),
        "ft-client: server closed the connection before the end-of-file marker\n"
    );
}

#[tokio::test]
async fn the_client_ends_a_session_with_its_text_and_reads_short_segments() {
    let dir = tempdir();
    let (listener, port) = raw_server().await;
    let args = [
        "127.0.0.1",
        port.as_str(),
        "--iterative",
        "one-connection",
        "--end-of-file",
        "short-segment",
        "--end-of-session",
        TERMINATE,
    ];
    let client = InProcess::start(
        Program::FtClient,
        &args,
        b"f one\ng two\nquit\n",
        dir.path(),
    );
    let mut stream = accept(&listener).await;
    // A 512-byte file: two full segments, then a len-0 one.
    assert_eq!(read_exactly(&mut stream, 1).await, b"f");
    let mut wire = encode_file(&binary_content(512), ByteOrder::Host);
    wire.extend_from_slice(&Segment::end_marker().encode(ByteOrder::Host));
    stream.write_all(&wire).await.unwrap();
    // A 10-byte file: its one short segment ends it.
    assert_eq!(read_exactly(&mut stream, 1).await, b"g");
    stream
        .write_all(&encode_file(b"0123456789", ByteOrder::Host))
        .await
        .unwrap();
    // Then the session's end, exactly the text, and the close.
    assert_eq!(read_to_end(&mut stream).await, b"TERMINATE CONNECTION");
    let client = client.finish().await;
    assert_eq!(client.code, 0, "{}", client.stderr_text());
    assert_eq!(
        std::fs::read(dir.path().join("one")).unwrap(),
        binary_content(512)
    );
    assert_eq!(
        std::fs::read(dir.path().join("two")).unwrap(),
        b"0123456789"
    );
}

#[tokio::test]
async fn a_short_segment_client_fails_when_the_server_closes_inside_a_file() {
    let dir = tempdir();
    let (listener, port) = raw_server().await;
    let args = [
        "127.0.0.1",
        port.as_str(),
        "--iterative",
        "one-connection",
        "--end-of-file",
        "short-segment",
    ];
    let client = InProcess::start(Program::FtClient, &args, b"f out\n", dir.path());
    let mut stream = accept(&listener).await;
    assert_eq!(read_exactly(&mut stream, 1).await, b"f");
    stream
        .write_all(&encode_file(&binary_content(256), ByteOrder::Host))
        .await
        .unwrap();
    drop(stream);
    let client = client.finish().await;
    assert_eq!(client.code, 1);
    assert_eq!(
        client.stderr_text(),
        "ft-client: server closed the connection before the segment that ends the file (one with fewer than 256 bytes)\n"
    );
}

#[tokio::test]
async fn echo_client_reports_a_server_that_leaves_first() {
    let dir = tempdir();
    let (listener, port) = raw_server().await;
    let (client, stdin) =
        InProcess::start_interactive(Program::EchoClient, &["127.0.0.1", &port], dir.path());
    drop(accept(&listener).await);
    let client = client.finish().await;
    drop(stdin);
    assert_eq!(
        (client.code, client.stderr_text().as_str()),
        (1, "echo-client: server terminated prematurely\n")
    );
}

#[tokio::test]
async fn echo_client_half_closes_at_end_of_input_and_drains_replies() {
    let dir = tempdir();
    let (listener, port) = raw_server().await;
    let client = InProcess::start(
        Program::EchoClient,
        &["127.0.0.1", &port],
        b"a\nb\n",
        dir.path(),
    );
    let mut stream = accept(&listener).await;
    // The client's FIN arrives after its input; the replies come only afterwards.
    assert_eq!(read_to_end(&mut stream).await, b"a\nb\n");
    stream.write_all(b"late reply\n").await.unwrap();
    drop(stream);
    let client = client.finish().await;
    assert_eq!(
        (client.code, client.stdout_text().as_str()),
        (0, "late reply\n")
    );
}

#[tokio::test]
async fn lottery_client_reports_a_server_that_closes_instead_of_replying() {
    let dir = tempdir();
    let (listener, port) = raw_server().await;
    let client = InProcess::start(
        Program::LotteryClient,
        &["127.0.0.1", &port],
        b"0\n0\n",
        dir.path(),
    );
    let mut stream = accept(&listener).await;
    let mut command = [0u8; 4];
    stream.read_exact(&mut command).await.unwrap();
    assert_eq!(command, [0; 4]);
    drop(stream);
    let client = client.finish().await;
    assert_eq!(
        (client.code, client.stderr_text().as_str()),
        (1, "lottery-client: server closed the connection\n")
    );
}
