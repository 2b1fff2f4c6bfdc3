//! Each reference server against its reference client, both in-process via
//! `run`, over real loopback sockets, with in-memory stdio.

mod support;

use socklab_reference::transcript::EventKind;
use socklab_reference::wire::daytime;
use socklab_reference::wire::filetransfer::SEGMENT_SIZE;
use socklab_reference::{Program, supports_in_process};
use support::{InProcess, binary_content, expected_lottery_session, tempdir};

#[tokio::test]
async fn daytime_client_prints_one_valid_time_line_per_connection() {
    let dir = tempdir();
    let (server, addr) = InProcess::server(Program::DaytimeServer, &[], dir.path()).await;
    let port = addr.port().to_string();
    for _ in 0..2 {
        let client = InProcess::start(
            Program::DaytimeClient,
            &["127.0.0.1", &port],
            b"",
            dir.path(),
        );
        let finished = client.finish().await;
        assert_eq!(finished.code, 0, "{}", finished.stderr_text());
        daytime::parse(&finished.stdout).unwrap();
    }
    let server = server.stop().await;
    assert!(server.stderr.is_empty(), "{}", server.stderr_text());
}

async fn echo_session(server_args: &[&str], input: &[u8]) -> Vec<u8> {
    let dir = tempdir();
    let (server, addr) = InProcess::server(Program::EchoServer, server_args, dir.path()).await;
    let port = addr.port().to_string();
    let client = InProcess::start(
        Program::EchoClient,
        &["127.0.0.1", &port],
        input,
        dir.path(),
    );
    let finished = client.finish().await;
    assert_eq!(finished.code, 0, "{}", finished.stderr_text());
    server.stop().await;
    finished.stdout
}

#[tokio::test]
async fn echo_client_gets_every_line_back_in_each_concurrency() {
    let input = b"hello\nworld\n\n\xff\x00 binary\nlast line without newline";
    for concurrency in ["iterative", "async"] {
        let output = echo_session(&["--concurrency", concurrency], input).await;
        assert_eq!(output, input, "{concurrency}");
    }
}

#[tokio::test]
async fn sum_mode_adds_two_integers_per_line() {
    let output = echo_session(
        &["--concurrency", "async", "--mode", "sum"],
        b"2 5\n4 2\n11 123\nhello\n",
    )
    .await;
    assert_eq!(output, b"7\n6\n134\ninput error\n");
}

#[tokio::test]
async fn fork_concurrency_is_refused_in_process() {
    let fork_args = vec!["9877".to_string()];
    assert!(!supports_in_process(Program::EchoServer, &fork_args));
    assert!(supports_in_process(
        Program::EchoServer,
        &["--concurrency".into(), "async".into()]
    ));
    assert!(supports_in_process(Program::LotteryServer, &[]));
    let dir = tempdir();
    let finished = InProcess::start(Program::EchoServer, &["0"], b"", dir.path())
        .finish()
        .await;
    assert_eq!(finished.code, 1);
    assert!(
        finished
            .stderr_text()
            .contains("echo-server: --concurrency fork needs a process")
    );
}

#[tokio::test]
async fn lottery_session_matches_the_seeded_draw() {
    let dir = tempdir();
    let (server, addr) =
        InProcess::server(Program::LotteryServer, &["--seed", "7"], dir.path()).await;
    let commands = [0, 1, 0, 0, 0, 0, 0, 0, 1, 2];
    let stdin: String = commands.iter().map(|c| format!("{c}\n")).collect();
    let port = addr.port().to_string();
    let client = InProcess::start(
        Program::LotteryClient,
        &["127.0.0.1", &port],
        stdin.as_bytes(),
        dir.path(),
    );
    let client = client.finish().await;
    assert_eq!(client.code, 0, "{}", client.stderr_text());
    assert_eq!(client.stdout_text(), expected_lottery_session(7, &commands));
    assert!(client.stdout_text().contains("Full\n"));
    assert_eq!(server.finish().await.code, 0);
}

#[tokio::test]
async fn lottery_client_sends_host_order_ints_and_closes_after_end() {
    let dir = tempdir();
    let (server, addr) = InProcess::server(Program::LotteryServer, &[], dir.path()).await;
    let port = addr.port().to_string();
    let client = InProcess::start(
        Program::LotteryClient,
        &["127.0.0.1", &port],
        b"1 2",
        dir.path(),
    );
    let transcript = client.transcript.clone();
    assert_eq!(client.finish().await.code, 0);
    assert_eq!(server.finish().await.code, 0);
    let events = transcript.events();
    let conn = events[0].conn;
    assert_eq!(
        transcript.bytes_sent(conn),
        [1i32.to_ne_bytes(), 2i32.to_ne_bytes()].concat()
    );
    assert_eq!(transcript.bytes_received(conn), b"numbers: 0 0 0 0 0 0");
    assert_eq!(events.last().unwrap().kind, EventKind::Closed);
    let text = transcript.render();
    assert!(
        text.contains("received 20 bytes: \"numbers: 0 0 0 0 0 0\""),
        "{text}"
    );
}

#[tokio::test]
async fn lottery_client_ends_cleanly_at_end_of_input_and_fails_on_garbage() {
    let dir = tempdir();
    for (stdin, code, stderr) in [
        (&b"0\n"[..], 0, ""),
        (b"0\nGEN\n", 1, "expected an integer command, got \"GEN\""),
    ] {
        let (server, addr) = InProcess::server(Program::LotteryServer, &[], dir.path()).await;
        let port = addr.port().to_string();
        let client = InProcess::start(
            Program::LotteryClient,
            &["127.0.0.1", &port],
            stdin,
            dir.path(),
        );
        let client = client.finish().await;
        assert_eq!(client.code, code, "{}", client.stderr_text());
        assert!(
            client.stderr_text().contains(stderr),
            "{}",
            client.stderr_text()
        );
        assert!(
            client
                .stdout_text()
                .starts_with("Command (0:GEN 1:LIST 2:END): New number generated: ")
        );
        // The client's close without END is the server's end of stream: it exits 0.
        assert_eq!(server.finish().await.code, 0);
    }
}

#[tokio::test]
async fn file_transfer_copies_files_of_every_size() {
    for size in [0, 1, 255, 256, 257, 100_000] {
        let dir = tempdir();
        let content = binary_content(size);
        std::fs::write(dir.path().join("src.bin"), &content).unwrap();
        let (server, addr) = InProcess::server(Program::FtServer, &[], dir.path()).await;
        let port = addr.port().to_string();
        let args = ["127.0.0.1", port.as_str(), "src.bin", "dst.bin"];
        let client = InProcess::start(Program::FtClient, &args, b"", dir.path())
            .finish()
            .await;
        assert_eq!(client.code, 0, "size {size}: {}", client.stderr_text());
        let server = server.finish().await;
        assert_eq!(server.code, 0, "size {size}: {}", server.stderr_text());
        assert_eq!(server.stdout, b"src.bin\n");
        assert_eq!(
            std::fs::read(dir.path().join("dst.bin")).unwrap(),
            content,
            "size {size}"
        );
    }
}

#[tokio::test]
async fn a_missing_file_fails_the_server_and_leaves_an_empty_destination() {
    let dir = tempdir();
    std::fs::write(dir.path().join("dst.bin"), b"old content").unwrap();
    let (server, addr) = InProcess::server(Program::FtServer, &[], dir.path()).await;
    let port = addr.port().to_string();
    let args = ["127.0.0.1", port.as_str(), "missing.bin", "dst.bin"];
    let client = InProcess::start(Program::FtClient, &args, b"", dir.path())
        .finish()
        .await;
    assert_eq!(client.code, 0, "{}", client.stderr_text());
    let server = server.finish().await;
    assert_eq!(server.code, 1);
    assert_eq!(server.stdout, b"missing.bin\n");
    assert!(
        server
            .stderr_text()
            .starts_with("ft-server: open missing.bin: No such file or directory")
    );
    assert_eq!(std::fs::read(dir.path().join("dst.bin")).unwrap(), b"");
}

async fn iterative_session(
    mode: &str,
) -> (support::Finished, support::Finished, tempfile::TempDir) {
    let dir = tempdir();
    std::fs::write(dir.path().join("a"), binary_content(1000)).unwrap();
    std::fs::write(dir.path().join("b"), b"").unwrap();
    let (server, addr) =
        InProcess::server(Program::FtServer, &["--iterative", mode], dir.path()).await;
    let port = addr.port().to_string();
    let stdin = b"a a.copy\n\nb b.copy\nmissing m.copy\na again\nquit\na never\n";
    let args = ["127.0.0.1", port.as_str(), "--iterative", mode];
    let client = InProcess::start(Program::FtClient, &args, stdin, dir.path())
        .finish()
        .await;
    let server = if mode == "marker" {
        server.finish().await
    } else {
        server.stop().await
    };
    (client, server, dir)
}

#[tokio::test]
async fn iterative_transfers_in_both_conventions() {
    for mode in ["new-connection", "marker"] {
        let (client, server, dir) = iterative_session(mode).await;
        assert_eq!(client.code, 0, "{mode}: {}", client.stderr_text());
        assert_eq!(
            client.stdout_text(),
            "File (SRC DST, or quit): ".repeat(6),
            "{mode}"
        );
        assert!(
            client.stderr_text().contains("missing: no data received"),
            "{mode}: {}",
            client.stderr_text()
        );
        assert_eq!(server.stdout_text(), "a\nb\nmissing\na\n", "{mode}");
        assert!(
            server.stderr_text().contains("open missing: No such file"),
            "{mode}"
        );
        if mode == "marker" {
            assert_eq!(
                server.code, 0,
                "the marker server exits when the client closes"
            );
        }
        let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(read("a.copy"), binary_content(1000));
        assert_eq!(read("again"), binary_content(1000));
        assert_eq!(read("b.copy"), b"");
        assert_eq!(read("m.copy"), b"");
        assert!(!dir.path().join("never").exists());
    }
}

/// Every one-connection convention's pair moves the same files; a 512-byte
/// file (a multiple of 256) and an empty one test the short-segment rule.
#[tokio::test]
async fn iterative_transfers_in_one_connection_conventions() {
    for convention in [
        ["len-0", "client-sends TERMINATE CONNECTION"],
        ["short-segment", "client-closes"],
        ["short-segment", "client-sends TERMINATE CONNECTION"],
    ] {
        let dir = tempdir();
        std::fs::write(dir.path().join("a"), binary_content(1000)).unwrap();
        std::fs::write(dir.path().join("b"), b"").unwrap();
        std::fs::write(dir.path().join("c"), binary_content(512)).unwrap();
        let flags = [
            "--iterative",
            "one-connection",
            "--end-of-file",
            convention[0],
            "--end-of-session",
            convention[1],
        ];
        let (server, addr) = InProcess::server(Program::FtServer, &flags, dir.path()).await;
        let port = addr.port().to_string();
        let args: Vec<&str> = ["127.0.0.1", port.as_str()]
            .into_iter()
            .chain(flags)
            .collect();
        let stdin = b"a a.copy\nb b.copy\nc c.copy\nmissing m.copy\na again\n";
        let client = InProcess::start(Program::FtClient, &args, stdin, dir.path())
            .finish()
            .await;
        assert_eq!(client.code, 0, "{convention:?}: {}", client.stderr_text());
        let server = server.finish().await;
        assert_eq!(server.code, 0, "{convention:?}: {}", server.stderr_text());
        assert_eq!(server.stdout_text(), "a\nb\nc\nmissing\na\n");
        let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
        assert_eq!(read("a.copy"), binary_content(1000), "{convention:?}");
        assert_eq!(read("b.copy"), b"", "{convention:?}");
        assert_eq!(read("c.copy"), binary_content(512), "{convention:?}");
        assert_eq!(read("m.copy"), b"", "{convention:?}");
        assert_eq!(read("again"), binary_content(1000), "{convention:?}");
    }
}

#[tokio::test]
async fn a_destination_that_cannot_be_created_fails_one_transfer_only() {
    let dir = tempdir();
    std::fs::write(dir.path().join("a"), b"content").unwrap();
    let (server, addr) =
        InProcess::server(Program::FtServer, &["--iterative", "marker"], dir.path()).await;
    let port = addr.port().to_string();
    let stdin = b"a no/such/dir/x\na a.copy\n";
    let args = ["127.0.0.1", port.as_str(), "--iterative", "marker"];
    let client = InProcess::start(Program::FtClient, &args, stdin, dir.path())
        .finish()
        .await;
    assert_eq!(client.code, 1);
    let stderr = client.stderr_text();
    assert!(
        stderr.contains("ft-client: create no/such/dir/x: No such file or directory"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("ft-client: 1 of 2 transfers failed\n"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.path().join("a.copy")).unwrap(),
        b"content"
    );
    let server = server.finish().await;
    assert_eq!((server.code, server.stdout_text().as_str()), (0, "a\n"));
}

#[tokio::test]
async fn ipv6_loopback_works_for_servers_and_clients() {
    let dir = tempdir();
    std::fs::write(dir.path().join("six"), binary_content(600)).unwrap();
    let server = InProcess::start(Program::FtServer, &["0", "--bind", "::1"], b"", dir.path());
    let addr = server.listening_addr().await;
    assert!(addr.is_ipv6());
    let port = addr.port().to_string();
    let client = InProcess::start(
        Program::FtClient,
        &["::1", &port, "six", "six.copy"],
        b"",
        dir.path(),
    );
    assert_eq!(client.finish().await.code, 0);
    assert_eq!(server.finish().await.code, 0);
    assert_eq!(
        std::fs::read(dir.path().join("six.copy")).unwrap(),
        binary_content(600)
    );
}

#[tokio::test]
async fn the_server_transcript_shows_whole_segments() {
    let dir = tempdir();
    std::fs::write(dir.path().join("f"), binary_content(300)).unwrap();
    let (server, addr) = InProcess::server(Program::FtServer, &[], dir.path()).await;
    let port = addr.port().to_string();
    let client = InProcess::start(
        Program::FtClient,
        &["127.0.0.1", &port, "f", "g"],
        b"",
        dir.path(),
    );
    assert_eq!(client.finish().await.code, 0);
    let transcript = server.transcript.clone();
    assert_eq!(server.finish().await.code, 0);
    let sends: Vec<usize> = transcript
        .events()
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Sent(bytes) => Some(bytes.len()),
            _ => None,
        })
        .collect();
    // Two whole segments (256 + 44 bytes of data), batched into one write.
    assert_eq!(sends, [2 * SEGMENT_SIZE]);
}

#[tokio::test]
async fn dropping_a_running_server_closes_its_port() {
    let dir = tempdir();
    let (server, addr) = InProcess::server(Program::DaytimeServer, &[], dir.path()).await;
    server.stop().await;
    let refused = tokio::net::TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn usage_errors_and_help_in_process() {
    let dir = tempdir();
    let usage = InProcess::start(Program::FtClient, &["127.0.0.1"], b"", dir.path())
        .finish()
        .await;
    assert_eq!(usage.code, 2);
    assert!(
        usage.stderr_text().contains("Usage: ft-client"),
        "{}",
        usage.stderr_text()
    );
    let help = InProcess::start(Program::LotteryServer, &["--help"], b"", dir.path())
        .finish()
        .await;
    assert_eq!(help.code, 0);
    assert!(
        help.stdout_text()
            .contains("Usage: lottery-server [OPTIONS] <PORT>")
    );
}
