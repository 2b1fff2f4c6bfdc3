//! Shared test helpers: running reference programs in-process with in-memory
//! stdio, starting the built binaries, and waiting for servers to listen —
//! always on events with a deadline, never with a fixed sleep.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio as ProcessStdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socklab_reference::net::{HostNet, ServerPorts};
use socklab_reference::transcript::Transcript;
use socklab_reference::{Env, Program, Stdio, run};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::task::JoinHandle;

/// How long any single wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Await `future`, failing the test if it takes longer than [`DEADLINE`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {DEADLINE:?} waiting for {what}"),
    }
}

/// What a finished program left behind.
#[derive(Debug)]
pub struct Finished {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Finished {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A reference program running in-process as a task of the test's runtime.
pub struct InProcess {
    pub transcript: Transcript,
    exit: JoinHandle<i32>,
    stdout: JoinHandle<Vec<u8>>,
    stderr: JoinHandle<Vec<u8>>,
}

impl InProcess {
    /// Start `program args` with `stdin` as its whole input (then end of input),
    /// files relative to `cwd`.
    pub fn start(program: Program, args: &[&str], stdin: &[u8], cwd: &Path) -> InProcess {
        let (mut stdin_writer, stdin_reader) = tokio::io::duplex(64 * 1024);
        let input = stdin.to_vec();
        tokio::spawn(async move {
            // The program may stop reading early; that is not this task's business.
            let _ = stdin_writer.write_all(&input).await;
        });
        InProcess::launch(program, args, stdin_reader, cwd)
    }

    fn launch(
        program: Program,
        args: &[&str],
        stdin_reader: DuplexStream,
        cwd: &Path,
    ) -> InProcess {
        let (stdout_writer, stdout_reader) = tokio::io::duplex(64 * 1024);
        let (stderr_writer, stderr_reader) = tokio::io::duplex(64 * 1024);
        let transcript = Transcript::new();
        let env = Env {
            net: Arc::new(HostNet),
            transcript: transcript.clone(),
            cwd: cwd.to_path_buf(),
            files: socklab_reference::Files::Anywhere,
        };
        let stdio = Stdio {
            stdin: Box::new(stdin_reader),
            stdout: Box::new(stdout_writer),
            stderr: Box::new(stderr_writer),
        };
        let args = args.iter().map(|a| a.to_string()).collect();
        InProcess {
            transcript,
            exit: tokio::spawn(run(program, args, stdio, env)),
            stdout: tokio::spawn(collect(stdout_reader)),
            stderr: tokio::spawn(collect(stderr_reader)),
        }
    }

    /// Start `program args` with a stdin that stays open until the returned
    /// writer is dropped.
    pub fn start_interactive(
        program: Program,
        args: &[&str],
        cwd: &Path,
    ) -> (InProcess, DuplexStream) {
        let (stdin_writer, stdin_reader) = tokio::io::duplex(64 * 1024);
        (
            InProcess::launch(program, args, stdin_reader, cwd),
            stdin_writer,
        )
    }

    /// Start a server on an ephemeral loopback port and wait until it listens.
    pub async fn server(program: Program, args: &[&str], cwd: &Path) -> (InProcess, SocketAddr) {
        let mut all = vec!["0", "--bind", "127.0.0.1"];
        all.extend_from_slice(args);
        let server = InProcess::start(program, &all, b"", cwd);
        let addr = server.listening_addr().await;
        (server, addr)
    }

    /// The address the program listens on, once it does.
    pub async fn listening_addr(&self) -> SocketAddr {
        within("the server to listen", self.transcript.listening_addr()).await
    }

    /// Wait for the program to end by itself.
    pub async fn finish(mut self) -> Finished {
        let code = within("the program to exit", &mut self.exit)
            .await
            .expect("run() never panics");
        self.collect_output(code).await
    }

    /// Stop a program that would run forever (a server) by dropping it; code is -1.
    pub async fn stop(mut self) -> Finished {
        self.exit.abort();
        let _ = (&mut self.exit).await;
        self.collect_output(-1).await
    }

    async fn collect_output(self, code: i32) -> Finished {
        let stdout = within("stdout to close", self.stdout).await.unwrap();
        let stderr = within("stderr to close", self.stderr).await.unwrap();
        Finished {
            code,
            stdout,
            stderr,
        }
    }
}

async fn collect(mut reader: DuplexStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = reader.read_to_end(&mut bytes).await;
    bytes
}

/// A port nobody uses right now, for a server a test starts: below the
/// kernel's ephemeral range, so that no client of a test running alongside
/// takes it first (that made CI fail once: "Address already in use"),
/// never the same twice in one test binary, and each binary starting at a
/// place of its own (its pid).
pub fn free_port() -> u16 {
    static PORTS: std::sync::LazyLock<ServerPorts> =
        std::sync::LazyLock::new(|| ServerPorts::starting_at(10_000, std::process::id()));
    PORTS
        .next(&[])
        .expect("a free port between 10000 and the ephemeral range")
}

/// Whether process `pid` holds a socket in LISTEN state on `port` (IPv4
/// or IPv6), per /proc/net and the process's descriptors: a listener of
/// another process on that port (a port just given out may be taken by
/// anyone) does not count.
pub fn is_listening(pid: u32, port: u16) -> bool {
    let wanted = format!("{port:04X}");
    let listening: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let local_port = fields.get(1).and_then(|a| a.rsplit(':').next());
                    (local_port == Some(wanted.as_str()) && fields.get(3) == Some(&"0A"))
                        .then(|| format!("socket:[{}]", fields.get(9).unwrap_or(&"")))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if listening.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .is_ok_and(|target| listening.iter().any(|l| target.as_os_str() == l.as_str()))
    })
}

/// Poll `ready` until it holds; panic at the deadline. Polls are 5 ms apart.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out after {DEADLINE:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The path of a built binary of this package.
pub fn binary(program: Program) -> PathBuf {
    assert_cmd::cargo::cargo_bin(program.name())
}

/// A running server process, killed when dropped.
pub struct ServerProcess {
    child: Option<Child>,
    pub port: u16,
}

impl ServerProcess {
    /// Start `command` (a server that will listen on `port`) and wait until it listens.
    pub fn start(mut command: Command, port: u16) -> ServerProcess {
        command
            .stdin(ProcessStdio::null())
            .stdout(ProcessStdio::piped())
            .stderr(ProcessStdio::piped());
        let child = command.spawn().expect("start the server");
        let mut server = ServerProcess {
            child: Some(child),
            port,
        };
        wait_until(&format!("a server to listen on port {port}"), || {
            if let Ok(Some(status)) = server.child_mut().try_wait() {
                let output = server.child.take().unwrap().wait_with_output().unwrap();
                panic!(
                    "the server exited early ({status}): {}",
                    String::from_utf8_lossy(&output.stderr)
                );
            }
            is_listening(server.pid(), port)
        });
        server
    }

    /// Start reference `program` with `args` on a fresh port (the port is the first argument).
    pub fn reference(program: Program, args: &[&str]) -> ServerProcess {
        let port = free_port();
        let mut command = Command::new(binary(program));
        command.arg(port.to_string()).args(args);
        ServerProcess::start(command, port)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().unwrap()
    }

    /// Wait for a server that ends by itself (lottery, one-shot ft).
    pub fn finish(mut self) -> Finished {
        let child = self.child.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let pid = child.id();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let Ok(output) = rx.recv_timeout(DEADLINE) else {
            // SAFETY: kill(2) on the pid of the child this test started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("the server (pid {pid}) did not exit within {DEADLINE:?}");
        };
        let output = output.unwrap();
        Finished {
            code: output.status.code().unwrap_or(-1),
            stdout: output.stdout,
            stderr: output.stderr,
        }
    }

    /// Kill a server that runs forever and collect what it printed.
    pub fn stop(mut self) -> Finished {
        let mut child = self.child.take().unwrap();
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        Finished {
            code: output.status.code().unwrap_or(-1),
            stdout: output.stdout,
            stderr: output.stderr,
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Deterministic file content with NULs and every byte value.
pub fn binary_content(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(7) ^ (i >> 8)) as u8)
        .collect()
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// The reply lines a seeded lottery server gives to these commands, as the
/// reference client prints them (prompts included).
pub fn expected_lottery_session(seed: u64, commands: &[i32]) -> String {
    use socklab_reference::programs::lottery::Lottery;
    use socklab_reference::wire::lottery::{Command as LotteryCommand, PROMPT};
    let mut lottery = Lottery::seeded(seed);
    let mut out = String::new();
    for &command in commands {
        out.push_str(PROMPT);
        match lottery.apply(LotteryCommand::from_i32(command)) {
            Some(reply) => out.push_str(&format!("{reply}\n")),
            None => return out,
        }
    }
    out.push_str(PROMPT);
    out
}
