//! Benchmark: what asking the kernel costs. Prints, per probe, the median
//! and mean time over many rounds:
//!
//! - "is port P listening" through netlink `inet_diag` ([`SockDiag`]) in a
//!   network namespace of its own, against reading `/proc/net/tcp{,6}` in
//!   that namespace (from a thread already inside it, and the way
//!   `wait_listen` does it today: a new thread that joins the namespace per
//!   probe);
//! - the same on the host's own namespace;
//! - one quiescence probe (two processes, the namespace's sockets, the
//!   alarm check) and one process view;
//! - the dumps and the quiescence probe again in a namespace with a TCP
//!   table of its own ([`socklab::kernel::netns`]).
//!
//! Needs root for the namespace part (it is skipped otherwise, and says so).
//!
//! `cargo bench -p socklab --bench kernel_probes` (BENCH_ROUNDS=N, default 2000).

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use socklab::kernel::netns::{SCENARIO_BUCKETS, TableParent};
use socklab::kernel::{ProcessView, QuiescenceProbe, SockDiag};

/// Median and mean of `rounds` calls of `f`, in microseconds.
fn measure(rounds: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        f();
        times.push(start.elapsed());
    }
    times.sort();
    let total: Duration = times.iter().sum();
    (
        times[rounds / 2].as_secs_f64() * 1e6,
        total.as_secs_f64() * 1e6 / rounds as f64,
    )
}

fn row(what: &str, (median, mean): (f64, f64)) {
    println!("{what:<68} {median:>10.1} {mean:>10.1}");
}

/// Runs `f` on a thread that first joins network namespace `ns`.
fn in_namespace<T: Send>(ns: &OwnedFd, f: impl FnOnce() -> T + Send) -> T {
    let raw = ns.as_raw_fd();
    std::thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: setns changes only this thread's namespace.
            assert_eq!(unsafe { libc::setns(raw, libc::CLONE_NEWNET) }, 0);
            f()
        })
        .join()
        .unwrap()
    })
}

/// A new network namespace, held by a descriptor.
fn new_namespace() -> std::io::Result<OwnedFd> {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare affects only this thread.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(OwnedFd::from(std::fs::File::open(
                "/proc/thread-self/ns/net",
            )?))
        })
        .join()
        .unwrap()
    })
}

fn read_proc_net_tcp() -> bool {
    let mut text = String::new();
    for file in ["/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"] {
        if let Ok(mut f) = std::fs::File::open(file) {
            let _ = f.read_to_string(&mut text);
        }
    }
    // Port 20000 is 4E20 in the file's hex.
    text.contains(":4E20 ")
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "kernel probes, {rounds} rounds each; load average {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!("{:<68} {:>10} {:>10}", "probe", "median µs", "mean µs");

    let host = SockDiag::current().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    row(
        "host: listen probe, sock_diag",
        measure(rounds, || {
            assert!(host.is_listening(port).unwrap());
        }),
    );
    let hex = format!(":{port:04X} ");
    row(
        "host: listen probe, read /proc/net/tcp{,6}",
        measure(rounds.min(500), || {
            let mut text = std::fs::read_to_string("/proc/net/tcp").unwrap();
            text.push_str(&std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default());
            assert!(text.contains(&hex));
        }),
    );
    let sockets = host.sockets(socklab::kernel::States::HELD).unwrap().len();
    row(
        &format!("host: every socket with queues, sock_diag ({sockets} sockets)"),
        measure(rounds.min(500), || {
            host.sockets(socklab::kernel::States::HELD).unwrap();
        }),
    );

    let ns = match new_namespace() {
        Ok(ns) => ns,
        Err(e) => {
            println!("(no network namespace here: {e}; the namespace rows are skipped)");
            return;
        }
    };
    // A listener and a connection inside the namespace (lo up first).
    let held = in_namespace(&ns, || {
        Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status()
            .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:20000").unwrap();
        let client = std::net::TcpStream::connect("127.0.0.1:20000").unwrap();
        let (served, _) = listener.accept().unwrap();
        (listener, client, served)
    });
    let diag = std::sync::Arc::new(SockDiag::in_namespace(ns.as_fd()).unwrap());
    row(
        "namespace: listen probe, sock_diag",
        measure(rounds, || {
            assert!(diag.is_listening(20000).unwrap());
        }),
    );
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<bool>();
    std::thread::scope(|s| {
        let raw = ns.as_raw_fd();
        s.spawn(move || {
            // SAFETY: setns changes only this thread's namespace.
            assert_eq!(unsafe { libc::setns(raw, libc::CLONE_NEWNET) }, 0);
            while rx.recv().is_ok() {
                done_tx.send(read_proc_net_tcp()).unwrap();
            }
        });
        row(
            "namespace: listen probe, /proc/net/tcp read by a thread inside",
            measure(rounds.min(500), || {
                tx.send(()).unwrap();
                assert!(done_rx.recv().unwrap());
            }),
        );
        drop(tx);
    });
    row(
        "namespace: listen probe, new thread + setns + /proc/net/tcp (today)",
        measure(rounds.min(500), || {
            assert!(in_namespace(&ns, read_proc_net_tcp));
        }),
    );

    // Two processes in the namespace: cat reading an empty pipe (quiet) and
    // a shell waiting for it.
    let mut shell = spawn_in(&ns, &["-c", "cat; true"]);
    let probe = QuiescenceProbe::new();
    probe.watch(diag.clone());
    let roots = [shell.id()];
    wait_quiet(&probe, &roots);
    let verdict = probe.probe(&roots);
    row(
        &format!(
            "namespace: quiescence probe ({} processes, 3 sockets)",
            verdict.processes.len()
        ),
        measure(rounds.min(1000), || {
            probe.probe(&roots);
        }),
    );
    row(
        "one process view (threads, syscall, fds)",
        measure(rounds, || {
            ProcessView::read(roots[0]).unwrap();
        }),
    );
    row(
        "/proc/timer_list read (the alarm check)",
        measure(rounds, || {
            let _ = std::fs::read_to_string("/proc/timer_list");
        }),
    );
    private_tables(rounds);
    println!("\n{}", verdict.explain());
    // cat ends at the end of its input, then the shell.
    drop(shell.stdin.take());
    let _ = shell.wait();
    drop(held);
}

/// The same probes in a namespace with a TCP hash table of its own: made
/// from inside a parent namespace whose `net.ipv4.tcp_child_ehash_entries`
/// is set (a per-namespace sysctl, so the host's stays as it is). Without it
/// every namespace shares the host's table, and a full dump (or a read of
/// `/proc/net/tcp`) walks all of its buckets.
fn private_tables(rounds: usize) {
    let parent = match TableParent::create(SCENARIO_BUCKETS) {
        Ok(parent) => parent,
        Err(e) => {
            println!("(no private TCP table: {e})");
            return;
        }
    };
    let (child, held) = parent
        .new_namespace(|| {
            Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .status()?;
            let buckets = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_ehash_entries")?;
            let listener = std::net::TcpListener::bind("127.0.0.1:20000")?;
            let client = std::net::TcpStream::connect("127.0.0.1:20000")?;
            let (served, _) = listener.accept()?;
            Ok((buckets, listener, client, served))
        })
        .unwrap();
    let diag = std::sync::Arc::new(SockDiag::in_namespace(child.as_fd()).unwrap());
    println!(
        "\nin a namespace with its own TCP table (tcp_ehash_entries = {}):",
        held.0.trim()
    );
    row(
        "private table: listen probe, sock_diag",
        measure(rounds, || {
            assert!(diag.is_listening(20000).unwrap());
        }),
    );
    row(
        "private table: every socket with queues, sock_diag",
        measure(rounds, || {
            assert_eq!(
                diag.sockets(socklab::kernel::States::HELD).unwrap().len(),
                3
            );
        }),
    );
    row(
        "private table: new thread + setns + /proc/net/tcp",
        measure(rounds.min(500), || {
            assert!(in_namespace(&child, read_proc_net_tcp));
        }),
    );
    let mut shell = spawn_in(&child, &["-c", "cat; true"]);
    let probe = QuiescenceProbe::new();
    probe.watch(diag.clone());
    let roots = [shell.id()];
    wait_quiet(&probe, &roots);
    row(
        "private table: quiescence probe (2 processes, 3 sockets)",
        measure(rounds.min(1000), || {
            probe.probe(&roots);
        }),
    );
    drop(shell.stdin.take());
    let _ = shell.wait();
}

/// `sh ARGS` started inside network namespace `ns`, with a piped stdin.
fn spawn_in(ns: &OwnedFd, args: &[&str]) -> std::process::Child {
    let raw = ns.as_raw_fd();
    let mut command = Command::new("sh");
    command.args(args).stdin(Stdio::piped());
    // SAFETY: setns is async-signal-safe and runs in the child before exec.
    unsafe {
        command.pre_exec(move || {
            if libc::setns(raw, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().unwrap()
}

/// Waits (with a deadline) until the probe says quiet.
fn wait_quiet(probe: &QuiescenceProbe, roots: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !probe.probe(roots).quiet {
        assert!(
            Instant::now() < deadline,
            "{}",
            probe.probe(roots).explain()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}
