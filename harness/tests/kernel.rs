//! What the kernel tells about real processes: sock_diag in the host's and
//! in a test-made network namespace, process views, and the quiescence rule
//! on programs that are quiet (blocked in read/accept with nothing queued,
//! exited, waiting for a child) and on programs that are not (a byte or a
//! connection waiting, data in flight, a timer, a busy loop, an alarm).
//!
//! The programs are one small C file compiled here with gcc, and plain
//! `sh`/`sleep`/`cat`. Traffic stays on loopback and in namespaces the tests
//! make and remove.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use socklab::kernel::process::{Call, ProcessView};
use socklab::kernel::{QuiescenceProbe, SockDiag, States, TcpState, Verdict};

const PROGRAM: &str = r#"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int dial(const char *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(1); }
    return fd;
}

static int serve(const char *port, int defer) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (defer) { int secs = 30; setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof secs); }
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); exit(1); }
    listen(fd, 8);
    return fd;
}

int main(int argc, char **argv) {
    char buf[4096];
    const char *mode = argv[1];
    if (!strcmp(mode, "read")) {            /* read() on a connected socket */
        int fd = dial(argv[2]);
        return read(fd, buf, sizeof buf) < 0;
    }
    if (!strcmp(mode, "peek")) {            /* wait for 4 bytes without taking them */
        int fd = dial(argv[2]);
        return recv(fd, buf, 4, MSG_PEEK | MSG_WAITALL) < 0;
    }
    if (!strcmp(mode, "write-then-read")) { /* queue 256 KiB, then wait for an answer */
        int fd = dial(argv[2]);
        int size = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        memset(buf, 'x', sizeof buf);
        for (int i = 0; i < 64; i++) write(fd, buf, sizeof buf);
        return read(fd, buf, sizeof buf) < 0;
    }
    if (!strcmp(mode, "slow-answer")) {     /* answer each request after 300 ms */
        int l = serve(argv[2], 0);
        int c = accept(l, NULL, NULL);
        ssize_t n = read(c, buf, sizeof buf);
        usleep(300000);
        write(c, buf, n > 0 ? n : 0);
        return 0;
    }
    if (!strcmp(mode, "accept") || !strcmp(mode, "defer-accept")) {
        int l = serve(argv[2], !strcmp(mode, "defer-accept"));
        int c = accept(l, NULL, NULL);
        while (read(c, buf, sizeof buf) > 0) {}
        return 0;
    }
    if (!strcmp(mode, "alarm-read")) {      /* an alarm() pending while it waits */
        alarm(30);
        return read(0, buf, sizeof buf) < 0;
    }
    if (!strcmp(mode, "poll")) {            /* poll stdin with the given timeout (ms) */
        struct pollfd p = { .fd = 0, .events = POLLIN };
        return poll(&p, 1, atoi(argv[2])) < 0;
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}
"#;

/// The test program, compiled once per test run.
fn program() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("socklab-kernel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("prog.c");
        std::fs::write(&source, PROGRAM).unwrap();
        let binary = dir.join("prog");
        let out = Command::new("gcc")
            .args(["-O0", "-o"])
            .arg(&binary)
            .arg(&source)
            .output()
            .expect("gcc runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        binary
    })
}

/// A child process killed and reaped when dropped.
struct Running(Child);

impl Running {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(command: &mut Command) -> Running {
    Running(
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the program starts"),
    )
}

fn run_program(args: &[&str]) -> Running {
    start(Command::new(program()).args(args))
}

const PATIENCE: Duration = Duration::from_secs(20);

/// Waits (with a deadline) until `pid`'s main thread sleeps in a call that `wanted` accepts.
fn wait_asleep_in(pid: u32, what: &str, wanted: impl Fn(&Call) -> bool) -> ProcessView {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(view) = ProcessView::read(pid) {
            let main = view.tasks.iter().find(|t| t.tid == pid);
            if let Some(main) = main
                && main.state == 'S'
                && main.call.as_ref().is_some_and(&wanted)
            {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "pid {pid} never slept in {what}: {view:?}"
            );
        } else {
            panic!("pid {pid} is gone before sleeping in {what}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn in_read(call: &Call) -> bool {
    matches!(call, Call::Input { name: "read", .. })
}

/// Probes until the scenario is quiet. Only a deadline ends it: an
/// `alarm()` some other program on this machine has pending makes every
/// probe "not quiet" until it rings or is cancelled (the conservative rule).
fn assert_becomes_quiet(probe: &QuiescenceProbe, roots: &[u32]) -> Verdict {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let verdict = probe.probe(roots);
        if verdict.quiet {
            return verdict;
        }
        assert!(
            Instant::now() < deadline,
            "never quiet:\n{}",
            verdict.explain()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn assert_not_quiet(probe: &QuiescenceProbe, roots: &[u32], because: &str) -> Verdict {
    let verdict = probe.probe(roots);
    assert!(!verdict.quiet, "quiet, but {because} was expected");
    assert!(
        verdict.explain().contains(because),
        "expected `{because}` in:\n{}",
        verdict.explain()
    );
    verdict
}

#[test]
fn a_client_blocked_in_read_on_an_empty_socket_is_quiet() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let client = run_program(&["read", &port]);
    let (_served, _) = listener.accept().unwrap();
    wait_asleep_in(client.pid(), "read()", in_read);
    let probe = QuiescenceProbe::new();
    let verdict = assert_becomes_quiet(&probe, &[client.pid()]);
    let text = verdict.explain();
    assert!(text.contains("sleeping in read() on fd 3"), "{text}");
    assert!(
        text.contains(&format!(
            "fd 3 is TCP 127.0.0.1:{} ↔ 127.0.0.1:{port} ESTABLISHED, 0 bytes queued",
            _served.peer_addr().unwrap().port()
        )),
        "{text}"
    );
}

#[test]
fn a_byte_queued_for_a_waiting_client_is_not_quiet() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let client = run_program(&["peek", &port]);
    let (mut served, _) = listener.accept().unwrap();
    wait_asleep_in(client.pid(), "recvfrom()", |c| {
        matches!(
            c,
            Call::Input {
                name: "recvfrom",
                ..
            }
        )
    });
    let probe = QuiescenceProbe::new();
    assert_becomes_quiet(&probe, &[client.pid()]);
    // recv(MSG_PEEK | MSG_WAITALL) for 4 bytes keeps sleeping with 1 byte queued.
    served.write_all(b"x").unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let verdict = probe.probe(&[client.pid()]);
        if verdict.explain().contains("fd 3 has 1 byte queued") {
            assert!(!verdict.quiet);
            break;
        }
        assert!(Instant::now() < deadline, "{}", verdict.explain());
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn bytes_still_in_a_send_queue_are_not_quiet() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // A small receive buffer, inherited by the accepted socket: most of the
    // client's 256 KiB stays in its send queue while nobody reads here.
    let small: libc::c_int = 4096;
    socklab_reference::net::set_socket_option(&listener, libc::SOL_SOCKET, libc::SO_RCVBUF, &small)
        .expect("SO_RCVBUF");
    let port = listener.local_addr().unwrap().port().to_string();
    let client = run_program(&["write-then-read", &port]);
    let (_served, _) = listener.accept().unwrap();
    wait_asleep_in(client.pid(), "read()", in_read);
    let probe = QuiescenceProbe::new();
    let verdict = assert_not_quiet(&probe, &[client.pid()], "data is in flight");
    assert!(
        verdict.network[0].contains(&format!("(held by pid {} (prog))", client.pid())),
        "{:?}",
        verdict.network
    );
}

#[test]
fn a_server_answering_after_300_ms_is_not_quiet_while_it_sleeps() {
    let port = free_port();
    let server = run_program(&["slow-answer", &port.to_string()]);
    wait_listening(&SockDiag::current().unwrap(), port);
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    client.write_all(b"question").unwrap();
    wait_asleep_in(server.pid(), "a sleep", |c| matches!(c, Call::Sleep { .. }));
    let probe = QuiescenceProbe::new();
    assert_not_quiet(&probe, &[server.pid()], "a timer will wake it");
    // The slow but correct server does answer.
    let mut answer = Vec::new();
    client.read_to_end(&mut answer).unwrap();
    assert_eq!(answer, b"question");
}

#[test]
fn a_busy_loop_is_not_quiet() {
    let busy = start(Command::new("sh").args(["-c", "while :; do :; done"]));
    // Past its start (exec and page faults show as D for a moment) it only computes.
    let deadline = Instant::now() + PATIENCE;
    while ProcessView::read(busy.pid()).is_none_or(|v| v.state() != 'R') {
        assert!(Instant::now() < deadline, "the loop never ran");
        std::thread::sleep(Duration::from_millis(2));
    }
    let probe = QuiescenceProbe::new();
    assert_not_quiet(&probe, &[busy.pid()], "(sh): running");
}

#[test]
fn exited_programs_are_quiet() {
    let mut done = Command::new("true").spawn().unwrap();
    let pid = done.id();
    // Not yet reaped: a zombie.
    let deadline = Instant::now() + PATIENCE;
    while ProcessView::read(pid).is_some_and(|v| v.state() != 'Z') {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(2));
    }
    let probe = QuiescenceProbe::new();
    let verdict = probe.probe(&[pid]);
    assert!(verdict.quiet, "{}", verdict.explain());
    assert!(
        verdict.explain().contains("exited"),
        "{}",
        verdict.explain()
    );
    done.wait().unwrap();
    let verdict = probe.probe(&[pid]);
    assert!(verdict.quiet);
    assert_eq!(verdict.explain(), format!("pid {pid}: exited"));
}

#[test]
fn a_shell_waiting_for_a_sleeping_child_is_not_quiet_and_names_both() {
    let shell = start(Command::new("sh").args(["-c", "sleep 100; true"]));
    wait_asleep_in(shell.pid(), "wait4()", |c| {
        matches!(c, Call::Children { .. })
    });
    let sleep = socklab::kernel::process::tree(&[shell.pid()])
        .into_iter()
        .find(|p| *p != shell.pid())
        .expect("sh started sleep");
    wait_asleep_in(sleep, "a sleep", |c| matches!(c, Call::Sleep { .. }));
    let probe = QuiescenceProbe::new();
    let verdict = assert_not_quiet(&probe, &[shell.pid()], "a timer will wake it");
    let text = verdict.explain();
    assert!(text.contains("(sleep): sleeping in "), "{text}");
    assert!(text.contains("(sh): sleeping in wait4()"), "{text}");
}

#[test]
fn cat_reading_an_empty_pipe_is_quiet() {
    let cat = start(&mut Command::new("cat"));
    wait_asleep_in(cat.pid(), "read()", in_read);
    let probe = QuiescenceProbe::new();
    let verdict = assert_becomes_quiet(&probe, &[cat.pid()]);
    assert!(
        verdict
            .explain()
            .contains("sleeping in read() on fd 0; fd 0 (its standard input) is a pipe"),
        "{}",
        verdict.explain()
    );
}

#[test]
fn poll_without_a_timeout_is_quiet_and_with_one_is_not() {
    let forever = run_program(&["poll", "-1"]);
    wait_asleep_in(forever.pid(), "poll()", |c| {
        matches!(c, Call::Multiplex { .. })
    });
    let probe = QuiescenceProbe::new();
    let verdict = assert_becomes_quiet(&probe, &[forever.pid()]);
    assert!(
        verdict.explain().contains("on fd 0 without a timeout"),
        "{}",
        verdict.explain()
    );
    let timed = run_program(&["poll", "60000"]);
    wait_asleep_in(timed.pid(), "poll()", |c| {
        matches!(c, Call::Multiplex { .. })
    });
    assert_not_quiet(&probe, &[timed.pid()], "with a timeout of 60.0 s");
}

#[test]
fn a_pending_alarm_is_not_quiet_where_the_kernel_shows_it() {
    let alarmed = run_program(&["alarm-read"]);
    wait_asleep_in(alarmed.pid(), "read()", in_read);
    let probe = QuiescenceProbe::new();
    if std::fs::read_to_string("/proc/timer_list").is_ok() {
        assert_not_quiet(
            &probe,
            &[alarmed.pid()],
            "an alarm()/setitimer timer is pending",
        );
    } else {
        // The documented blind spot: without /proc/timer_list an alarm with
        // the default action cannot be seen.
        assert!(probe.probe(&[alarmed.pid()]).quiet);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(diag: &SockDiag, port: u16) {
    let deadline = Instant::now() + PATIENCE;
    while !diag.is_listening(port).unwrap() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A network namespace made with `ip netns add`, removed when dropped.
struct Netns {
    name: String,
}

impl Netns {
    fn create() -> Netns {
        static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("socklab-kernel-{}-{n}", std::process::id());
        let ok = |args: &[&str]| {
            let status = Command::new("ip").args(args).status().expect("ip runs");
            assert!(status.success(), "ip {args:?}");
        };
        ok(&["netns", "add", &name]);
        let ns = Netns { name };
        ok(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

fn has_netns() -> bool {
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .is_ok_and(|o| o.status.success())
        && unsafe { libc::geteuid() } == 0
}

#[test]
fn in_a_namespace_accept_with_an_empty_backlog_is_quiet_and_a_deferred_connection_is_not() {
    if !has_netns() {
        eprintln!("skipped: needs root and `ip netns`");
        return;
    }
    let ns = Netns::create();
    let handle = std::fs::File::open(ns.path()).unwrap();
    let diag = std::sync::Arc::new(SockDiag::in_namespace(handle.as_fd()).unwrap());
    // The host's listeners are not the namespace's.
    assert!(diag.listening(None).unwrap().is_empty());

    let server = start(ns.command(program()).args(["accept", "20000"]));
    wait_listening(&diag, 20000);
    wait_asleep_in(server.pid(), "accept()", |c| {
        matches!(c, Call::Accept { .. })
    });
    let probe = QuiescenceProbe::new();
    probe.watch(diag.clone());
    let verdict = assert_becomes_quiet(&probe, &[server.pid()]);
    assert!(
        verdict.explain().contains(
            "sleeping in accept() on fd 3; fd 3 is TCP listening on 0.0.0.0:20000, no connection waiting to be accepted"
        ),
        "{}",
        verdict.explain()
    );

    // A client and the server it talks to, both blocked in read(): quiet.
    let client = start(ns.command(program()).args(["read", "20000"]));
    wait_asleep_in(server.pid(), "read()", in_read);
    wait_asleep_in(client.pid(), "read()", in_read);
    let verdict = assert_becomes_quiet(&probe, &[server.pid(), client.pid()]);
    assert_eq!(verdict.processes.len(), 2, "{verdict:?}");
    let sockets = diag.sockets(States::HELD).unwrap();
    assert_eq!(
        sockets
            .iter()
            .filter(|s| s.state == TcpState::Established)
            .count(),
        2,
        "{sockets:?}"
    );

    // With TCP_DEFER_ACCEPT a connected client that sends nothing waits in
    // the server's SYN queue (a timer will hand it over): not quiet.
    let deferring = start(ns.command(program()).args(["defer-accept", "20001"]));
    wait_listening(&diag, 20001);
    wait_asleep_in(deferring.pid(), "accept()", |c| {
        matches!(c, Call::Accept { .. })
    });
    let silent = start(ns.command(program()).args(["read", "20001"]));
    wait_asleep_in(silent.pid(), "read()", in_read);
    let verdict = assert_not_quiet(
        &probe,
        &[deferring.pid(), silent.pid()],
        "a connection is being set up",
    );
    assert!(
        verdict.network.iter().any(|n| n.contains("SYN_RECV")),
        "{:?}",
        verdict.network
    );
}
