//! Benchmark: how fast the reference file transfer copies a 64 MiB file over
//! loopback, next to a Python `sendfile` anchor doing the same copy
//! (`sendfile_anchor.py` beside this file: raw bytes, no segments, the
//! kernel's zero-copy `sendfile`).
//!
//! Prints MB/s of file data (10^6 bytes a second), median and best of a few
//! rounds, for: the `ft-server`/`ft-client` binaries (timed from the
//! client's start to its exit, the server already listening); the same pair
//! in-process on one tokio runtime, with the recording transcript the
//! harness uses and without; and the anchor (timed inside the script, from
//! connect to the copy closed). Every copy is compared with the original.
//!
//! `cargo bench -p socklab-reference --bench ft_throughput`
//! (BENCH_MIB=N file size, default 64; BENCH_ROUNDS=N, default 7).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socklab_reference::net::HostNet;
use socklab_reference::transcript::Transcript;
use socklab_reference::{Env, Program, Stdio, run};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Deterministic, incompressible content (xorshift64).
fn content(size: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut out = Vec::with_capacity(size + 8);
    while out.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(size);
    out
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (with a deadline) until something listens on `port` (IPv4 or IPv6).
fn wait_listening(port: u16) {
    let suffix = format!(":{port:04X}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = std::fs::read_to_string(table).unwrap_or_default();
            let listening = text.lines().any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3 && fields[1].ends_with(&suffix) && fields[3] == "0A"
            });
            if listening {
                return;
            }
        }
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn check_copy(original: &[u8], copy: &Path) {
    let copied = std::fs::read(copy).unwrap();
    assert!(
        copied == original,
        "{} is not a byte-exact copy",
        copy.display()
    );
    std::fs::remove_file(copy).unwrap();
}

/// The binaries: seconds from the client's start to its exit.
fn binaries(dir: &Path, original: &[u8]) -> f64 {
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_ft-server"))
        .arg(port.to_string())
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_listening(port);
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_ft-client"))
        .args(["127.0.0.1", &port.to_string(), "source.bin", "copy.bin"])
        .current_dir(dir)
        .status()
        .unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert!(status.success());
    assert!(server.wait().unwrap().success());
    check_copy(original, &dir.join("copy.bin"));
    elapsed
}

/// Both programs as tasks of one runtime: seconds from the client's start to its end.
fn in_process(runtime: &tokio::runtime::Runtime, dir: &Path, original: &[u8], record: bool) -> f64 {
    let env = || Env {
        net: Arc::new(HostNet),
        transcript: if record {
            Transcript::new()
        } else {
            Transcript::disabled()
        },
        cwd: dir.to_path_buf(),
        files: socklab_reference::Files::Anywhere,
    };
    let server_env = env();
    let transcript = Transcript::new();
    let listening = Env {
        transcript: transcript.clone(),
        ..server_env
    };
    let elapsed = runtime.block_on(async {
        let server = tokio::spawn(run(
            Program::FtServer,
            vec!["0".into(), "--bind".into(), "127.0.0.1".into()],
            Stdio::null(),
            listening,
        ));
        let port = transcript.listening_addr().await.port();
        let start = Instant::now();
        let code = run(
            Program::FtClient,
            vec![
                "127.0.0.1".into(),
                port.to_string(),
                "source.bin".into(),
                "copy.bin".into(),
            ],
            Stdio::null(),
            env(),
        )
        .await;
        let elapsed = start.elapsed().as_secs_f64();
        assert_eq!(code, 0);
        assert_eq!(server.await.unwrap(), 0);
        elapsed
    });
    check_copy(original, &dir.join("copy.bin"));
    elapsed
}

/// The Python anchor: (seconds it measured itself from connect to the copy
/// closed, seconds from its start to its exit).
fn anchor(dir: &Path, original: &[u8]) -> Option<(f64, f64)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/sendfile_anchor.py");
    let start = Instant::now();
    let out = Command::new("python3")
        .arg(&script)
        .args(["source.bin", "copy.bin"])
        .current_dir(dir)
        .output()
        .ok()?;
    let whole = start.elapsed().as_secs_f64();
    if !out.status.success() {
        eprintln!("anchor failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    let bytes: usize = words.next()?.parse().ok()?;
    let seconds: f64 = words.next()?.parse().ok()?;
    assert_eq!(bytes, original.len(), "the anchor copied everything");
    check_copy(original, &dir.join("copy.bin"));
    Some((seconds, whole))
}

/// Prints and returns (median, best) MB/s.
fn report(what: &str, size: usize, mut seconds: Vec<f64>) -> (f64, f64) {
    seconds.sort_by(f64::total_cmp);
    let rate = |s: f64| size as f64 / s / 1e6;
    let (median, best) = (rate(seconds[seconds.len() / 2]), rate(seconds[0]));
    println!("{what:<56} {median:>11.0} {best:>10.0}");
    (median, best)
}

fn main() {
    let mib = env_number("BENCH_MIB", 64);
    let rounds = env_number("BENCH_ROUNDS", 7).max(1);
    let size = mib << 20;
    let dir = tempfile::tempdir().unwrap();
    let original = content(size);
    std::fs::write(dir.path().join("source.bin"), &original).unwrap();
    let load = || {
        let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "file transfer of {mib} MiB over loopback, {rounds} rounds (each round runs every variant once); load average {}",
        load()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let python = Command::new("python3").arg("--version").output().is_ok();
    let (mut binary, mut recorded, mut bare, mut anchored, mut anchored_whole) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        binary.push(binaries(dir.path(), &original));
        recorded.push(in_process(&runtime, dir.path(), &original, true));
        bare.push(in_process(&runtime, dir.path(), &original, false));
        if python && let Some((inside, whole)) = anchor(dir.path(), &original) {
            anchored.push(inside);
            anchored_whole.push(whole);
        }
    }
    println!("{:<56} {:>11} {:>10}", "", "median MB/s", "best MB/s");
    let reference = report("reference binaries, client start to exit", size, binary);
    let in_process = report(
        "reference in-process, no transcript (the copy only)",
        size,
        bare,
    );
    report(
        "reference in-process, transcript recording all bytes",
        size,
        recorded,
    );
    if anchored.is_empty() {
        println!("(no python3: the sendfile anchor did not run)");
        return;
    }
    let anchor_whole = report(
        "python sendfile anchor, start to exit",
        size,
        anchored_whole,
    );
    let anchor = report(
        "python sendfile anchor, connect to copy closed",
        size,
        anchored,
    );
    println!(
        "reference / anchor, whole programs: {:.2} (medians), {:.2} (bests)",
        reference.0 / anchor_whole.0,
        reference.1 / anchor_whole.1
    );
    println!(
        "reference / anchor, the copy only:  {:.2} (medians), {:.2} (bests); load average now {}",
        in_process.0 / anchor.0,
        in_process.1 / anchor.1,
        load()
    );
    println!("(the reference moves 260 bytes per 256 of file: the 4-byte len and nothing else)");
}
