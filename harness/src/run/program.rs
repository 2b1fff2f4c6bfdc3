//! A running program of a scenario: a student's or reference executable in
//! a process, or a reference program inside socklab.
//!
//! Either way the rest of the runner sees the same handle: typed input,
//! captured stdout/stderr ([`OutputBuf`]), an exit status it can wait on,
//! and a way to stop it.
//!
//! A reference program run inside socklab gets a thread and a tokio runtime
//! of its own ([`RuntimeThread`]), so that the kernel can tell when it waits
//! for input, as for a process: its runtime then sleeps in `epoll_wait`
//! without a timeout. Deciding a wait early (`run/settle.rs`) needs that,
//! and also what is still on its way from a program to socklab: the bytes
//! in a process's output pipes, or the bytes an in-process program wrote
//! that socklab has not taken yet ([`Program::output_in_transit`]).

use std::collections::BTreeMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::Instant;

use socklab_reference::transcript::Transcript;

use super::output::{OutputBuf, Pushed};
use super::pty;
use super::wait::Until;
use crate::facts::{ExitInfo, OutputOverflow, ProgramOrigin};
use crate::kernel::{ProcessView, SockDiag, States, TcpSocket};
use crate::limits::ProcessLimits;
use crate::sandbox::Sandbox;
use crate::sandbox::spawn::{self, Stdio};

mod in_process;

pub use in_process::RuntimeThread;
use in_process::{Counted, runtime_thread_name, spawn_runtime_thread};

/// How a program's stdin is connected.
enum Input {
    Pty(Arc<AsyncFd<OwnedFd>>),
    Pipe(tokio::net::unix::pipe::Sender),
    InProcess(tokio::io::DuplexStream),
    Closed,
}

/// What to start.
pub struct Launch {
    pub name: String,
    /// e.g. `LotteryClient (submission)`.
    pub label: String,
    pub origin: ProgramOrigin,
    pub cwd: PathBuf,
    /// The scenario's folder: a reference program run inside socklab opens
    /// the files a student's program asks for only beneath it, regular
    /// files only, following no link (it runs with socklab's rights).
    pub scenario_dir: PathBuf,
    pub host: Option<String>,
    pub stdin: socklab_scenario::StdinMode,
    /// With `StdinMode::Fixture`: the fixture's file.
    pub stdin_file: Option<PathBuf>,
    pub output_limit: usize,
    /// Raised when the program passes its output limit (it is frozen).
    pub overflow: OverflowAlarm,
    pub kind: LaunchKind,
}

/// Where a scenario hears that one of its programs passed its output
/// limit (the first one is kept).
#[derive(Clone, Default)]
pub struct OverflowAlarm(Arc<watch::Sender<Option<OutputOverflow>>>);

impl OverflowAlarm {
    fn raise(&self, overflow: OutputOverflow) {
        self.0.send_if_modified(|first| {
            let new = first.is_none();
            if new {
                *first = Some(overflow);
            }
            new
        });
    }

    /// The first overflow so far.
    pub fn first(&self) -> Option<OutputOverflow> {
        self.0.borrow().clone()
    }
}

/// What a process's output readers do when a stream passes its limit:
/// stop the process (its whole process group) at once with `SIGSTOP`,
/// remember why for its exit status, and tell the scenario. The program is
/// frozen, not killed: its sockets stay as they were, so what the other
/// programs see from it does not depend on when in its flood the limit
/// fell, and the scenario goes on without it (the settle rule counts a
/// frozen program as one that never acts again) until the sandbox kills it.
#[derive(Clone)]
struct OutputLimit {
    pid: Option<u32>,
    label: String,
    limit: u64,
    exceeded: Arc<std::sync::OnceLock<u64>>,
    alarm: OverflowAlarm,
}

impl OutputLimit {
    fn exceeded(&self, stream: &'static str) {
        if self.exceeded.set(self.limit).is_err() {
            return;
        }
        if let Some(pid) = self.pid {
            // SAFETY: signalling the process group this program leads.
            unsafe {
                libc::kill(-(pid as i32), libc::SIGSTOP);
                libc::kill(pid as i32, libc::SIGSTOP);
            }
        }
        self.alarm.raise(OutputOverflow {
            label: self.label.clone(),
            stream,
            limit: self.limit,
        });
    }
}

pub enum LaunchKind {
    /// An executable with arguments; `run_as` drops root to that uid/gid.
    Process {
        exe: PathBuf,
        args: Vec<String>,
        limits: Option<ProcessLimits>,
        run_as: Option<crate::sandbox::RunAs>,
    },
    /// A reference program run by socklab itself.
    InProcess {
        program: socklab_reference::Program,
        args: Vec<String>,
    },
}

/// A started program.
pub struct Program {
    pub name: String,
    pub label: String,
    pub origin: ProgramOrigin,
    /// The host it runs on (`None`: the scenario's first host).
    pub host: Option<String>,
    pub cwd: PathBuf,
    pub pid: Option<u32>,
    pub stdout: Arc<OutputBuf>,
    pub stderr: Arc<OutputBuf>,
    pub transcript: Option<Transcript>,
    pub started: Instant,
    input: tokio::sync::Mutex<Input>,
    exit: watch::Receiver<Option<ExitInfo>>,
    /// Read positions of `expect` steps in stdout and stderr.
    cursors: Mutex<[usize; 2]>,
    /// What socklab looks at to tell whether output is still on its way.
    transit: Transit,
    /// In-process programs: their thread, and where a cancellation records
    /// the program's end (a process's end is recorded by its reaper instead).
    in_process: Option<InProcess>,
    /// Set when a process passed its output limit and was frozen.
    frozen: Arc<std::sync::OnceLock<u64>>,
}

/// How a program's output reaches socklab, for [`Program::output_in_transit`].
enum Transit {
    /// A process's stdout/stderr pipes or terminal: socklab's own copies of
    /// their reading ends, asked with `FIONREAD`, each with the buffer its
    /// reader fills.
    Kernel(Vec<(OwnedFd, Arc<OutputBuf>)>),
    /// An in-process program's streams: bytes it wrote to stdout and stderr.
    Counted([Arc<AtomicU64>; 2]),
}

/// An in-process program's thread and how to end it.
struct InProcess {
    thread: Arc<RuntimeThread>,
    cancel: watch::Sender<bool>,
    exit: Arc<watch::Sender<Option<ExitInfo>>>,
}

impl Program {
    pub fn start(sandbox: &Sandbox, launch: Launch) -> io::Result<Program> {
        match launch.kind {
            LaunchKind::Process {
                ref exe,
                ref args,
                ref limits,
                run_as,
            } => Self::start_process(
                sandbox,
                &launch,
                exe.clone(),
                args.clone(),
                limits.clone(),
                run_as,
            ),
            LaunchKind::InProcess { program, ref args } => {
                Self::start_in_process(sandbox, &launch, program, args.clone())
            }
        }
    }

    fn start_process(
        sandbox: &Sandbox,
        launch: &Launch,
        exe: PathBuf,
        args: Vec<String>,
        limits: Option<ProcessLimits>,
        run_as: Option<crate::sandbox::RunAs>,
    ) -> io::Result<Program> {
        use socklab_scenario::StdinMode;
        if let Some(user) = run_as {
            // Its folder is its own: no other identity may look in.
            use std::os::unix::fs::PermissionsExt;
            std::os::unix::fs::lchown(&launch.cwd, Some(user.uid), Some(user.gid))?;
            std::fs::set_permissions(&launch.cwd, std::fs::Permissions::from_mode(0o700))?;
        }
        let cgroups = sandbox.cgroup_procs_fds();
        let mut command = spawn::Command::new(&exe);
        command
            .args(&args)
            .current_dir(&launch.cwd)
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &launch.cwd)
            .env("LANG", "C")
            .env("TERM", "dumb")
            .stderr(Stdio::Piped);
        let pty = match &launch.stdin {
            StdinMode::Fixture(_) => {
                let path = launch
                    .stdin_file
                    .as_ref()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no file for stdin"))?;
                command
                    .stdin(Stdio::Fd(std::fs::File::open(path)?.into()))
                    .stdout(Stdio::Piped);
                None
            }
            StdinMode::Pty => {
                let pty = pty::open()?;
                command.stdin(Stdio::Fd(pty.slave.try_clone()?));
                command.stdout(Stdio::Fd(pty.slave.try_clone()?));
                Some(pty)
            }
            StdinMode::Pipe => {
                command.stdin(Stdio::Piped).stdout(Stdio::Piped);
                None
            }
            StdinMode::Null => {
                command.stdin(Stdio::Null).stdout(Stdio::Piped);
                None
            }
        };
        let with_tty = pty.is_some();
        let mut spawned = sandbox.spawn(launch.host.as_deref(), &mut command, &mut || {
            crate::sandbox::confine_in_child(&cgroups, with_tty, limits.as_ref(), run_as.as_ref())
        })?;
        let mut child = spawned.child;
        let pid = Some(child.id());
        let stdout = Arc::new(OutputBuf::new(launch.output_limit));
        let stderr = Arc::new(OutputBuf::new(launch.output_limit));
        let mut transit = Vec::new();
        let limit = OutputLimit {
            pid,
            label: launch.label.clone(),
            limit: launch.output_limit as u64,
            exceeded: Arc::default(),
            alarm: launch.overflow.clone(),
        };
        let exceeded = limit.exceeded.clone();
        let limit_hit = limit.exceeded.clone();
        let input = match pty {
            Some(pty) => {
                drop(pty.slave); // the child holds it; EIO on the master means it is gone
                transit.push((duplicate(pty.master.as_raw_fd())?, stdout.clone()));
                // SAFETY: the master descriptor is owned by the AsyncFd from here on
                // and is neither replaced nor closed while registered.
                let master = Arc::new(unsafe { AsyncFd::register(pty.master)? });
                tokio::spawn(read_output(
                    master.clone(),
                    stdout.clone(),
                    limit.clone(),
                    "stdout",
                ));
                Input::Pty(master)
            }
            None => {
                if let Some(out) = spawned.stdout.take() {
                    transit.push((duplicate(out.as_raw_fd())?, stdout.clone()));
                    let out = pipe_source(out)?;
                    tokio::spawn(read_output(out, stdout.clone(), limit.clone(), "stdout"));
                } else {
                    stdout.close();
                }
                spawned.stdin.take().map_or(Input::Closed, Input::Pipe)
            }
        };
        if let Some(err) = spawned.stderr.take() {
            transit.push((duplicate(err.as_raw_fd())?, stderr.clone()));
            let err = pipe_source(err)?;
            tokio::spawn(read_output(err, stderr.clone(), limit, "stderr"));
        } else {
            stderr.close();
        }
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            let info = match child.wait().await {
                Ok(status) => ExitInfo {
                    code: status.code(),
                    signal: status.signal(),
                    core_dumped: status.core_dumped(),
                    output_limit: exceeded.get().copied(),
                },
                Err(_) => ExitInfo {
                    code: None,
                    signal: None,
                    core_dumped: false,
                    output_limit: None,
                },
            };
            let _ = tx.send(Some(info));
        });
        Ok(Program {
            name: launch.name.clone(),
            label: launch.label.clone(),
            origin: launch.origin.clone(),
            host: launch.host.clone(),
            cwd: launch.cwd.clone(),
            pid,
            stdout,
            stderr,
            transcript: None,
            started: Instant::now(),
            input: tokio::sync::Mutex::new(input),
            exit: rx,
            cursors: Mutex::new([0, 0]),
            transit: Transit::Kernel(transit),
            in_process: None,
            frozen: limit_hit,
        })
    }

    fn start_in_process(
        sandbox: &Sandbox,
        launch: &Launch,
        program: socklab_reference::Program,
        args: Vec<String>,
    ) -> io::Result<Program> {
        let (stdin_ours, stdin_theirs) = tokio::io::duplex(64 * 1024);
        let (stdout_theirs, stdout_ours) = tokio::io::duplex(64 * 1024);
        let (stderr_theirs, stderr_ours) = tokio::io::duplex(64 * 1024);
        let stdout = Arc::new(OutputBuf::new(launch.output_limit));
        let stderr = Arc::new(OutputBuf::new(launch.output_limit));
        tokio::spawn(read_into(stdout_ours, stdout.clone()));
        tokio::spawn(read_into(stderr_ours, stderr.clone()));
        let written = [Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0))];
        let transcript = Transcript::default();
        let env = socklab_reference::Env {
            net: sandbox.host(launch.host.as_deref()).net(),
            transcript: transcript.clone(),
            cwd: launch.cwd.clone(),
            files: socklab_reference::Files::Beneath(launch.scenario_dir.clone()),
        };
        let stdio = socklab_reference::Stdio {
            stdin: Box::new(stdin_theirs),
            stdout: Box::new(Counted::new(stdout_theirs, written[0].clone())),
            stderr: Box::new(Counted::new(stderr_theirs, written[1].clone())),
        };
        // A fixture as stdin: its bytes, then end of input.
        let input = match &launch.stdin_file {
            Some(path) => {
                let bytes = std::fs::read(path)?;
                let mut writer = stdin_ours;
                tokio::spawn(async move {
                    let _ = writer.write_all(&bytes).await;
                });
                Input::Closed
            }
            None => Input::InProcess(stdin_ours),
        };
        let (tx, rx) = watch::channel(None);
        let exit = Arc::new(tx);
        let (cancel, cancelled) = watch::channel(false);
        let thread = Arc::new(RuntimeThread {
            name: runtime_thread_name(),
            tid: OnceLock::new(),
        });
        spawn_runtime_thread(
            thread.clone(),
            program,
            args,
            stdio,
            env,
            cancelled,
            exit.clone(),
        )?;
        Ok(Program {
            name: launch.name.clone(),
            label: launch.label.clone(),
            origin: launch.origin.clone(),
            host: launch.host.clone(),
            cwd: launch.cwd.clone(),
            pid: None,
            stdout,
            stderr,
            transcript: Some(transcript),
            started: Instant::now(),
            input: tokio::sync::Mutex::new(input),
            exit: rx,
            cursors: Mutex::new([0, 0]),
            transit: Transit::Counted(written),
            frozen: Arc::default(),
            in_process: Some(InProcess {
                thread,
                cancel,
                exit,
            }),
        })
    }

    /// Writes to the program's stdin.
    pub async fn type_bytes(&self, bytes: &[u8], until: &Until) -> io::Result<()> {
        let mut input = self.input.lock().await;
        let write = async {
            match &mut *input {
                Input::Pty(master) => write_pty(master, bytes).await,
                Input::Pipe(pipe) => pipe.write_all(bytes).await,
                Input::InProcess(duplex) => duplex.write_all(bytes).await,
                // socklab ended it (a scenario that types after `eof`),
                // not the program: not taken for a program gone.
                Input::Closed => Err(io::Error::other(
                    "socklab has already ended the program's input",
                )),
            }
        };
        match until.wait(write).await {
            Ok(result) => result,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the program did not read its input in time",
            )),
        }
    }

    /// Ends the program's input (^D on a terminal, close on a pipe).
    pub async fn close_input(&self, until: &Until) -> io::Result<()> {
        let is_pty = matches!(&*self.input.lock().await, Input::Pty(_));
        if is_pty {
            return self.type_bytes(&[pty::EOF_BYTE], until).await;
        }
        let mut input = self.input.lock().await;
        *input = Input::Closed;
        Ok(())
    }

    pub fn exit_info(&self) -> Option<ExitInfo> {
        *self.exit.borrow()
    }

    /// Waits for the program to end, at most `until`.
    pub async fn wait_exit(&self, until: &Until) -> Option<ExitInfo> {
        let mut rx = self.exit.clone();
        let waited = until.wait(rx.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(info)) => *info,
            _ => None,
        }
    }

    /// After the program ended, waits (briefly) until its stdout and stderr
    /// have been read to the end, so checks on the output see all of it. A
    /// descendant that keeps a stream open only delays this by `grace`.
    pub async fn drain_output(&self, grace: Duration) {
        let until = Until::deadline(Instant::now() + grace);
        self.stdout.wait_eof(&until).await;
        self.stderr.wait_eof(&until).await;
    }

    /// Sends a signal to the program's process group (a reference program
    /// running in-process is cancelled instead).
    pub fn signal(&self, sig: i32) {
        match self.pid {
            Some(pid) => {
                // SAFETY: signalling the process group this program leads.
                unsafe {
                    libc::kill(-(pid as i32), sig);
                    libc::kill(pid as i32, sig);
                }
            }
            None => {
                // Its thread drops the program and its runtime; it ended as
                // if by the signal.
                if let Some(in_process) = &self.in_process {
                    in_process.cancel.send_replace(true);
                    let info = ExitInfo {
                        code: None,
                        signal: Some(sig),
                        core_dumped: false,
                        output_limit: None,
                    };
                    record_exit(&in_process.exit, info);
                }
            }
        }
    }

    /// SIGTERM, a grace period, then SIGKILL.
    pub async fn stop(&self, grace: Duration) -> Option<ExitInfo> {
        if let Some(info) = self.exit_info() {
            return Some(info);
        }
        if self.pid.is_none() {
            self.signal(libc::SIGKILL);
            return self.exit_info();
        }
        self.signal(libc::SIGTERM);
        if let Some(info) = self
            .wait_exit(&Until::deadline(Instant::now() + grace))
            .await
        {
            return Some(info);
        }
        self.signal(libc::SIGKILL);
        self.wait_exit(&Until::deadline(Instant::now() + Duration::from_secs(2)))
            .await
    }

    pub fn cursor(&self, stream: socklab_scenario::Stream) -> usize {
        self.cursors.lock().expect("cursor lock")[stream_index(stream)]
    }

    pub fn advance(&self, stream: socklab_scenario::Stream, to: usize) {
        let mut cursors = self.cursors.lock().expect("cursor lock");
        let slot = &mut cursors[stream_index(stream)];
        *slot = (*slot).max(to);
    }

    pub fn output(&self, stream: socklab_scenario::Stream) -> &Arc<OutputBuf> {
        match stream {
            socklab_scenario::Stream::Stdout => &self.stdout,
            socklab_scenario::Stream::Stderr => &self.stderr,
        }
    }

    /// A phrase to follow the program's name: "is still sleeping in
    /// accept() on fd 3; fd 3 is TCP listening on 0.0.0.0:9877, no
    /// connection waiting to be accepted", "exited with code 1", "was
    /// killed by SIGSEGV (segmentation fault)". `sockets` asks the kernel
    /// about the sockets of the program's host (`None`: not isolated).
    pub fn describe_state(&self, sockets: Option<&SockDiag>) -> String {
        if let Some(info) = self.exit_info() {
            return match info.code {
                Some(_) => info.describe(),
                None => format!("was {}", info.describe()),
            };
        }
        let Some(view) = self.pid.and_then(ProcessView::read) else {
            return "is still running".to_string();
        };
        let table: BTreeMap<u64, TcpSocket> = sockets
            .and_then(|diag| diag.sockets(States::HELD).ok())
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.inode, s))
            .collect();
        format!("is still {}", view.describe(&table))
    }

    /// Bytes the program wrote that socklab has not taken in yet: in its
    /// output pipes (or terminal), or, in-process, written but not read.
    /// `Err` says why socklab cannot tell.
    pub fn output_in_transit(&self) -> Result<u64, String> {
        match &self.transit {
            Transit::Kernel(fds) => {
                let mut waiting = 0;
                let mut end_unseen = false;
                for (fd, buf) in fds {
                    let (queued, hung_up) = queued_bytes(fd.as_raw_fd())?;
                    waiting += u64::from(queued);
                    // Every writer closed: the reader's end of stream is
                    // on its way, and a wait on the stream ends with it.
                    end_unseen |= hung_up && !buf.ended();
                }
                // After the queues: bytes a reader took before the look
                // and has not pushed are in neither place (`OutputBuf::reading`).
                if fds.iter().any(|(_, buf)| buf.being_read()) {
                    return Err("socklab is taking in what it printed".to_string());
                }
                if waiting == 0 && end_unseen {
                    return Err("socklab has not yet read the end of its output".to_string());
                }
                Ok(waiting)
            }
            Transit::Counted([out, err]) => {
                let written = out.load(Ordering::SeqCst) + err.load(Ordering::SeqCst);
                let taken = self.stdout.received() + self.stderr.received();
                Ok(written.saturating_sub(taken))
            }
        }
    }

    /// Whether socklab froze this process (and its process group) for
    /// passing its output limit: it never acts again.
    pub fn frozen(&self) -> bool {
        self.frozen.get().is_some()
    }

    /// Whether the program runs inside socklab (a reference program).
    pub fn in_process(&self) -> bool {
        self.in_process.is_some()
    }

    /// The thread an in-process program runs on.
    pub fn runtime_thread(&self) -> Option<&RuntimeThread> {
        self.in_process.as_ref().map(|p| p.thread.as_ref())
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if self.exit_info().is_none() {
            self.signal(libc::SIGKILL);
        }
    }
}

/// socklab's own copy of a descriptor (close-on-exec).
fn duplicate(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor, which we then own.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `copy` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(copy) })
}

/// Bytes waiting to be read from a pipe or a terminal's controlling side,
/// and whether every writer has closed it (`POLLHUP`: the end of stream is
/// there to read). What a program writes to its terminal reaches the
/// master through a kernel worker, later (see `pty::deliver`): `poll` first
/// makes the kernel finish that hand-over, so bytes already written are
/// counted.
fn queued_bytes(fd: RawFd) -> Result<(u32, bool), String> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll on one descriptor, without waiting.
    unsafe { libc::poll(&mut pfd, 1, 0) };
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to the pointer we pass.
    if unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) } == -1 {
        return Err(format!(
            "cannot tell what its output holds: {}",
            io::Error::last_os_error()
        ));
    }
    Ok((n.max(0) as u32, pfd.revents & libc::POLLHUP != 0))
}

/// Records how a program ended, unless an end is recorded already.
fn record_exit(tx: &watch::Sender<Option<ExitInfo>>, info: ExitInfo) {
    tx.send_if_modified(|exit| {
        let first = exit.is_none();
        if first {
            *exit = Some(info);
        }
        first
    });
}

fn stream_index(stream: socklab_scenario::Stream) -> usize {
    match stream {
        socklab_scenario::Stream::Stdout => 0,
        socklab_scenario::Stream::Stderr => 1,
    }
}

/// Reads an in-process program's stream into its buffer until it ends
/// (what it wrote and what was taken are counted: `Transit::Counted`).
/// They are kept up to the limit, never stopped for it.
async fn read_into(mut reader: impl tokio::io::AsyncRead + Unpin, buf: Arc<OutputBuf>) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                buf.push(&chunk[..n]);
            }
        }
    }
    buf.close();
}

/// Reads a program's output (a pipe, or its terminal's master) into its
/// buffer until it ends; a stream that passes its limit stops the program,
/// and the rest is read, counted and dropped. Each read holds the buffer's
/// reading turn until its bytes are pushed (see `output_in_transit`).
async fn read_output(
    source: Arc<AsyncFd<OwnedFd>>,
    buf: Arc<OutputBuf>,
    limit: OutputLimit,
    stream: &'static str,
) {
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let Ok(mut guard) = source.readable().await else {
            break;
        };
        let _reading = buf.reading();
        let result = guard.try_io(|fd| {
            // SAFETY: reading into a buffer we own from a descriptor we own.
            let n = unsafe { libc::read(fd.as_raw_fd(), chunk.as_mut_ptr().cast(), chunk.len()) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match result {
            Ok(Ok(0)) => break,
            Ok(Ok(n)) => {
                if buf.push(&chunk[..n]) == Pushed::OverLimit {
                    limit.exceeded(stream);
                }
            }
            // A terminal's EIO: every slave is closed, the program is gone.
            Ok(Err(_)) => break,
            Err(_would_block) => continue,
        }
    }
    buf.close();
}

/// A pipe's reading end, for [`read_output`].
fn pipe_source(pipe: tokio::net::unix::pipe::Receiver) -> io::Result<Arc<AsyncFd<OwnedFd>>> {
    // SAFETY: the descriptor is owned by the AsyncFd from here on and is
    // neither replaced nor closed while registered.
    Ok(Arc::new(unsafe {
        AsyncFd::register(pipe.into_nonblocking_fd()?)?
    }))
}

async fn write_pty(master: &AsyncFd<OwnedFd>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        let mut guard = master.writable().await?;
        match guard.try_io(|fd| {
            // SAFETY: writing from a slice we own to a descriptor we own.
            let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
            if n < 0 {
                Err(io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        }) {
            Ok(Ok(n)) => bytes = &bytes[n..],
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
    // Written is not yet readable: the typing ends once the program can
    // read it (see `pty::deliver`). The bytes are written either way; a
    // terminal that cannot be polled (its program gone) has no reader to
    // wait for.
    let master = master.get_ref().try_clone()?;
    let _ = tokio::task::spawn_blocking(move || pty::deliver(&master)).await;
    Ok(())
}
