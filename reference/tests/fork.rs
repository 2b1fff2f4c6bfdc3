//! The fork flavour of the echo server (UNP `tcpserv04`): a child per client,
//! served concurrently, and no zombie left when many children end at once.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;

use socklab_reference::Program;
use support::{ServerProcess, wait_until};

/// The children of `pid` and their states (`Z` for a zombie), from /proc/*/stat.
fn children(pid: u32) -> Vec<(u32, char)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        // A process may end while we look: skip what cannot be read.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let Some((_, after_comm)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut fields = after_comm.split_whitespace();
        let state = fields.next().and_then(|s| s.chars().next());
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if let (Some(state), Some(ppid)) = (state, ppid)
            && ppid == pid
        {
            found.push((child, state));
        }
    }
    found
}

fn echo_round_trip(stream: &mut TcpStream, line: &[u8]) {
    stream.write_all(line).unwrap();
    let mut reply = vec![0u8; line.len()];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(reply, line);
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(support::DEADLINE)).unwrap();
    stream
}

/// The two fork-server tests take turns. Side by side they failed about
/// once in 200 runs of this binary (a reset on one's reply, a refused
/// connect on the other's), never in 300 runs of either alone; the cause
/// (most likely a client's ephemeral port meeting the other test's server
/// port between `free_port` and its `bind`) is not proven.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn five_children_ending_together_leave_no_zombie() {
    let _turn = one_at_a_time();
    let server = ServerProcess::reference(Program::EchoServer, &["--concurrency", "fork"]);
    let pid = server.pid();
    let mut clients: Vec<TcpStream> = (0..5).map(|_| connect(server.port)).collect();
    // All five are served at the same time: each by its own child.
    for (i, client) in clients.iter_mut().enumerate() {
        echo_round_trip(client, format!("client {i}\n").as_bytes());
    }
    wait_until("five children", || children(pid).len() == 5);

    clients.clear(); // all five close at once; five SIGCHLDs merge

    let mut last_seen = Vec::new();
    wait_until("every child to be reaped", || {
        last_seen = children(pid);
        last_seen.is_empty()
    });
    assert!(last_seen.iter().all(|(_, state)| *state != 'Z'));

    // The SIGCHLDs interrupted accept(); the server retried and still serves.
    let mut late = connect(server.port);
    echo_round_trip(&mut late, b"still here\n");
    drop(late);
    wait_until("the last child to be reaped", || children(pid).is_empty());
    let server = server.stop();
    assert!(server.stderr.is_empty(), "{}", server.stderr_text());
}

#[test]
fn a_second_client_is_served_while_the_first_stays_connected() {
    let _turn = one_at_a_time();
    let server = ServerProcess::reference(
        Program::EchoServer,
        &["--concurrency", "fork", "--mode", "sum"],
    );
    let mut first = connect(server.port);
    echo_round_trip(&mut first, b"");
    first.write_all(b"1 2\n").unwrap();
    let mut second = connect(server.port);
    second.write_all(b"40 2\n").unwrap();
    let mut reply = [0u8; 3];
    if let Err(e) = second.read_exact(&mut reply) {
        let server = server.stop();
        panic!(
            "the second client's reply: {e}; the server's stderr: {}",
            server.stderr_text()
        );
    }
    assert_eq!(&reply, b"42\n");
    first.read_exact(&mut reply[..2]).unwrap();
    assert_eq!(&reply[..2], b"3\n");
}
