//! Starting a program without copying socklab: `clone(CLONE_VM |
//! CLONE_VFORK)`, as `posix_spawn` does, instead of `fork`.
//!
//! socklab is a large multi-threaded process that starts programs all the
//! time (several per scenario, ten compiler runs per build). A `fork` copies
//! its page tables and write-protects every page; each page socklab then
//! writes costs a copy-on-write fault and a TLB shoot-down on every core
//! that runs one of its threads. Measured with `perf` on a class of ten
//! correct submissions, that was a quarter of all the machine's CPU time.
//! Here the child borrows socklab's memory (and a stack carved out of the
//! calling thread's frame) until it calls `execve`; the calling thread is
//! suspended meanwhile, so nothing it owns can change or go away.
//!
//! What the child may do is what a child of `fork` in a multi-threaded
//! process may do, and less: system calls only (no allocation, no locks, no
//! glibc wrapper that looks at other threads, such as `setuid`), because it
//! shares memory with socklab. Signals are blocked around the `clone`; the
//! child sets every handled signal back to its default before it unblocks
//! them, so that none of socklab's handlers ever runs in it. As with
//! `std::process::Command`, `SIGPIPE` is reset to its default and the signal
//! mask is empty at the `execve`.
//!
//! A [`Child`] waits through a pidfd (`pidfd_open`, Linux 5.3), so waiting
//! costs no thread and needs no `SIGCHLD` handler; on an older kernel a
//! blocking thread waits instead.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;

use tokio::io::unix::AsyncFd;
use tokio::net::unix::pipe;

/// The next start's number, and the numbers of the starts under way.
static NEXT_START: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static UNDER_WAY: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());

/// Marks a moment among the starts (see [`started_before`]).
pub fn start_mark() -> u64 {
    NEXT_START.load(std::sync::atomic::Ordering::SeqCst)
}

/// How many starts that began before `mark` are still under way. Until
/// it closes them (just before its `execve` here; during it, a moment
/// after socklab has gone on, for `std::process::Command`), a program being started
/// holds copies of all of socklab's descriptors: a pipe or a
/// connection socklab closed before `mark` stays open while such a start
/// lasts, and its reader sees neither the end of input nor the FIN. What
/// the kernel shows meanwhile is not yet what socklab did, so nothing is
/// decided on it (`run::settle`). Starts begun after `mark` hold no copy of
/// what was closed before it.
pub fn started_before(mark: u64) -> usize {
    let under_way = UNDER_WAY.lock().unwrap_or_else(|p| p.into_inner());
    under_way.iter().filter(|n| **n < mark).count()
}

/// Counts a start under way for as long as it lives (see
/// [`started_before`]); for starts made outside this module
/// (`std::process::Command`), too.
pub struct Starting(u64);

impl Starting {
    pub fn new() -> Starting {
        let mut under_way = UNDER_WAY.lock().unwrap_or_else(|p| p.into_inner());
        let number = NEXT_START.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        under_way.push(number);
        Starting(number)
    }
}

impl Default for Starting {
    fn default() -> Self {
        Starting::new()
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        let mut under_way = UNDER_WAY.lock().unwrap_or_else(|p| p.into_inner());
        under_way.retain(|n| *n != self.0);
    }
}

#[cfg(test)]
mod start_tests {
    use super::*;

    #[test]
    fn only_starts_begun_before_a_mark_count_for_it() {
        let early = Starting::new();
        let mark = start_mark();
        let late = Starting::new();
        assert_eq!(started_before(mark), 1);
        drop(late);
        assert_eq!(started_before(mark), 1);
        drop(early);
        assert_eq!(started_before(mark), 0);
        assert_eq!(started_before(start_mark()), 0);
    }
}

/// Where one of the child's standard streams goes.
#[derive(Debug)]
pub enum Stdio {
    /// `/dev/null`.
    Null,
    /// A pipe to socklab (the `Spawned` holds the other end).
    Piped,
    /// This descriptor (a file, a terminal's slave side).
    Fd(OwnedFd),
}

/// A program to start: every field is prepared in socklab, before the clone.
#[derive(Debug)]
pub struct Command {
    program: PathBuf,
    args: Vec<CString>,
    env: Vec<CString>,
    cwd: Option<CString>,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
}

impl Command {
    /// `program` is a path, or a name looked up in the child's `PATH`.
    pub fn new(program: impl AsRef<Path>) -> Command {
        let program = program.as_ref().to_path_buf();
        Command {
            args: vec![c_string(program.as_os_str())],
            program,
            env: Vec::new(),
            cwd: None,
            stdin: Stdio::Null,
            stdout: Stdio::Null,
            stderr: Stdio::Null,
        }
    }

    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| c_string(a.as_ref())));
        self
    }

    /// Adds a variable; the child gets these and nothing else.
    pub fn env(&mut self, name: &str, value: impl AsRef<OsStr>) -> &mut Command {
        let mut pair = name.as_bytes().to_vec();
        pair.push(b'=');
        pair.extend_from_slice(value.as_ref().as_bytes());
        self.env.retain(|e| {
            e.as_bytes()
                .strip_prefix(name.as_bytes())
                .is_none_or(|rest| !rest.starts_with(b"="))
        });
        self.env.push(c_string(OsStr::from_bytes(&pair)));
        self
    }

    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.cwd = Some(c_string(dir.as_ref().as_os_str()));
        self
    }

    pub fn stdin(&mut self, stdio: Stdio) -> &mut Command {
        self.stdin = stdio;
        self
    }

    pub fn stdout(&mut self, stdio: Stdio) -> &mut Command {
        self.stdout = stdio;
        self
    }

    pub fn stderr(&mut self, stdio: Stdio) -> &mut Command {
        self.stderr = stdio;
        self
    }

    /// The path `execve` gets: `program` itself when it names a path, else
    /// the first executable file of that name in the `PATH` the child gets
    /// (the machine's when it gets none).
    fn resolve(&self) -> io::Result<PathBuf> {
        if self.program.components().count() > 1 || self.program.is_absolute() {
            return Ok(self.program.clone());
        }
        let path = self
            .env
            .iter()
            .find_map(|e| e.as_bytes().strip_prefix(b"PATH=").map(<[u8]>::to_vec))
            .unwrap_or_else(|| b"/usr/local/bin:/usr/bin:/bin".to_vec());
        for dir in path.split(|b| *b == b':').filter(|d| !d.is_empty()) {
            let candidate = Path::new(OsStr::from_bytes(dir)).join(&self.program);
            let path = c_string(candidate.as_os_str());
            // SAFETY: access only reads the NUL-terminated path.
            if unsafe { libc::access(path.as_ptr(), libc::X_OK) } == 0 && candidate.is_file() {
                return Ok(candidate);
            }
        }
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{}` is not in PATH", self.program.display()),
        ))
    }

    /// Starts the program; `in_child` runs in the child after its standard
    /// streams and working directory are set, just before the `execve`, and
    /// may make system calls only (see the module's comment).
    ///
    /// Must be called in a Tokio runtime (the pidfd and the pipes register
    /// with it); blocks the calling thread until the child has called
    /// `execve` or failed.
    pub fn spawn(&mut self, in_child: &mut dyn FnMut() -> io::Result<()>) -> io::Result<Spawned> {
        let exe = c_string(self.resolve()?.as_os_str());
        let mut argv: Vec<*const libc::c_char> = self.args.iter().map(|a| a.as_ptr()).collect();
        argv.push(std::ptr::null());
        let mut envp: Vec<*const libc::c_char> = self.env.iter().map(|e| e.as_ptr()).collect();
        envp.push(std::ptr::null());

        let mut ours: [Option<OwnedFd>; 3] = [None, None, None];
        let mut theirs: Vec<OwnedFd> = Vec::with_capacity(3);
        for (i, stdio) in [&mut self.stdin, &mut self.stdout, &mut self.stderr]
            .into_iter()
            .enumerate()
        {
            let fd = match std::mem::replace(stdio, Stdio::Null) {
                Stdio::Null => std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open("/dev/null")?
                    .into(),
                Stdio::Fd(fd) => fd,
                Stdio::Piped => {
                    let (read, write) = std::io::pipe()?;
                    let (read, write) = (OwnedFd::from(read), OwnedFd::from(write));
                    if i == 0 {
                        ours[i] = Some(write);
                        read
                    } else {
                        ours[i] = Some(read);
                        write
                    }
                }
            };
            // Above 2, so that no dup2 onto 0, 1 or 2 overwrites another.
            theirs.push(above_stdio(fd)?);
        }
        let stdio_fds = [
            theirs[0].as_raw_fd(),
            theirs[1].as_raw_fd(),
            theirs[2].as_raw_fd(),
        ];
        let cwd = self.cwd.as_ref().map(|c| c.as_ptr());

        let mut body = || -> io::Error {
            // SAFETY: the child of clone_vm_vfork: system calls only.
            unsafe {
                for (target, fd) in stdio_fds.iter().enumerate() {
                    if libc::dup2(*fd, target as RawFd) == -1 {
                        return io::Error::last_os_error();
                    }
                }
                if let Some(dir) = cwd
                    && libc::chdir(dir) == -1
                {
                    return io::Error::last_os_error();
                }
            }
            if let Err(e) = in_child() {
                return e;
            }
            // SAFETY: as above; execve only returns on failure.
            unsafe {
                close_all_but_stdio();
                unblock_all_signals();
                libc::execve(exe.as_ptr(), argv.as_ptr(), envp.as_ptr());
            }
            io::Error::last_os_error()
        };
        let pid = clone_vm_vfork(&mut body)?;
        drop(theirs);
        let child = Child::new(pid)?;
        let [stdin, stdout, stderr] = ours;
        Ok(Spawned {
            child,
            stdin: stdin.map(pipe::Sender::from_owned_fd).transpose()?,
            stdout: stdout.map(pipe::Receiver::from_owned_fd).transpose()?,
            stderr: stderr.map(pipe::Receiver::from_owned_fd).transpose()?,
        })
    }
}

/// A started program and socklab's ends of its pipes.
#[derive(Debug)]
pub struct Spawned {
    pub child: Child,
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
}

/// A child process, waited for through its pidfd. Killed (SIGKILL) when
/// dropped before it was reaped, and reaped in the background then.
#[derive(Debug)]
pub struct Child {
    pid: libc::pid_t,
    pidfd: Option<AsyncFd<OwnedFd>>,
    status: Option<ExitStatus>,
}

impl Child {
    fn new(pid: libc::pid_t) -> io::Result<Child> {
        // SAFETY: pidfd_open on our own unreaped child (its pid cannot be reused).
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd == -1 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOSYS) {
                // A kernel before 5.3: waited for by a blocking thread.
                return Ok(Child {
                    pid,
                    pidfd: None,
                    status: None,
                });
            }
            // SAFETY: killing and reaping the child just started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
            return Err(io::Error::new(e.kind(), format!("pidfd_open: {e}")));
        }
        // SAFETY: the descriptor was just returned to us.
        let pidfd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        // SAFETY: the pidfd is owned by the AsyncFd from here on and is
        // neither replaced nor closed while registered.
        let pidfd =
            unsafe { AsyncFd::register_with_interest(pidfd, tokio::io::Interest::READABLE)? };
        Ok(Child {
            pid,
            pidfd: Some(pidfd),
            status: None,
        })
    }

    pub fn id(&self) -> u32 {
        self.pid as u32
    }

    /// Waits until the child exits and reaps it.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        loop {
            if let Some(status) = self.try_reap()? {
                return Ok(status);
            }
            let Some(pidfd) = self.pidfd.as_ref() else {
                // No pidfd (Linux before 5.3): a blocking thread waits.
                let pid = self.pid;
                let raw = tokio::task::spawn_blocking(move || {
                    let mut raw = 0;
                    // SAFETY: reaping our own child; blocks this thread only.
                    match unsafe { libc::waitpid(pid, &mut raw, 0) } {
                        -1 => Err(io::Error::last_os_error()),
                        _ => Ok(raw),
                    }
                })
                .await
                .map_err(io::Error::other)??;
                let status = ExitStatus::from_raw(raw);
                self.status = Some(status);
                return Ok(status);
            };
            let mut ready = pidfd.readable().await?;
            ready.clear_ready();
        }
    }

    fn try_reap(&mut self) -> io::Result<Option<ExitStatus>> {
        let mut raw = 0;
        // SAFETY: reaping our own child, without blocking.
        match unsafe { libc::waitpid(self.pid, &mut raw, libc::WNOHANG) } {
            0 => Ok(None),
            -1 => Err(io::Error::last_os_error()),
            _ => {
                let status = ExitStatus::from_raw(raw);
                self.status = Some(status);
                Ok(Some(status))
            }
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.status.is_some() {
            return;
        }
        // SAFETY: our own child, not reaped yet: its pid is still ours.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        if matches!(self.try_reap(), Ok(Some(_))) {
            return;
        }
        let pid = self.pid;
        let pidfd = self.pidfd.take();
        let reap = move || {
            // SAFETY: as above; blocks until the killed child is gone.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        };
        match (tokio::runtime::Handle::try_current(), pidfd) {
            (Ok(runtime), Some(pidfd)) => {
                runtime.spawn(async move {
                    let _ = pidfd.readable().await;
                    reap();
                });
            }
            _ => {
                std::thread::spawn(reap);
            }
        }
    }
}

fn c_string(s: &OsStr) -> CString {
    CString::new(s.as_bytes()).unwrap_or_else(|_| {
        // A NUL cannot be passed to execve; it ends the string there, as C would.
        let cut = s.as_bytes().split(|b| *b == 0).next().unwrap_or_default();
        CString::new(cut).expect("no NUL before the first NUL")
    })
}

fn above_stdio(fd: OwnedFd) -> io::Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        return Ok(fd);
    }
    // SAFETY: duplicating a descriptor we own, close-on-exec.
    let new = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 3) };
    if new == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: just returned to us.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// In the child, just before `execve`: every descriptor above 2 closed,
/// so that the program gets its standard streams and nothing else of
/// socklab's. A descriptor socklab (or a library it uses) opened without
/// `O_CLOEXEC` would otherwise live on in the program: another scenario's
/// terminal, another student's, which the program could read and type
/// into, and whose end of output would never come while the program lived.
///
/// Closed here, not marked close-on-exec: `execve` lets the suspended
/// parent go on (the `CLONE_VFORK` wake-up, when the new program's memory
/// replaces socklab's) before it closes the close-on-exec descriptors, and
/// a child put off the CPU between the two held copies of every pipe and
/// terminal of socklab's while socklab no longer counted it as starting
/// ([`started_before`]): a client that had exited still looked as if its
/// output were open. Closed here, they are gone before socklab goes on.
/// (The child has a descriptor table of its own: `clone` without
/// `CLONE_FILES`.)
///
/// # Safety
/// Only in the child of [`clone_vm_vfork`].
unsafe fn close_all_but_stdio() {
    // SAFETY: system calls on the child's own descriptor table.
    unsafe {
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) == 0 {
            return;
        }
        // Before Linux 5.9: one at a time, as far as the limit reaches.
        let mut limit: libc::rlimit = std::mem::zeroed();
        let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur.min(1 << 16) as libc::c_int
        } else {
            1024
        };
        for fd in 3..top {
            libc::close(fd);
        }
    }
}

/// The child's stack, carved out of the calling thread's frame: the caller
/// is suspended until the child has called `execve` or exited.
const CHILD_STACK: usize = 64 * 1024;

/// Runs `body` in a child that shares socklab's memory, and returns its
/// pid once it has called `execve` (`body` never returns then) or exited.
/// When `body` returns, the error it returns is the spawn's error and the
/// child is reaped.
///
/// `body` runs with every signal blocked and every handled signal reset to
/// its default: it must unblock them itself just before `execve` (see
/// [`unblock_all_signals`]).
pub(crate) fn clone_vm_vfork(body: &mut dyn FnMut() -> io::Error) -> io::Result<libc::pid_t> {
    let _starting = Starting::new();
    struct Shared<'a> {
        body: &'a mut dyn FnMut() -> io::Error,
        errno: i32,
    }
    extern "C" fn child(arg: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `arg` is the `Shared` on the suspended caller's frame.
        let shared = unsafe { &mut *arg.cast::<Shared>() };
        // SAFETY: system calls only, in the child.
        unsafe { default_signal_handlers() };
        let error = (shared.body)();
        shared.errno = error.raw_os_error().unwrap_or(libc::EINVAL).max(1);
        // SAFETY: ending the child without running anything of socklab's.
        unsafe { libc::_exit(127) }
    }

    let mut stack = [0u8; CHILD_STACK];
    // Stacks grow down on every architecture Linux runs socklab on; 16-byte aligned.
    let top = (stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
    let mut shared = Shared { body, errno: 0 };
    // SAFETY: sigset operations on local sets.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    let mut before: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: blocking signals in this thread around the clone; the child
    // inherits the mask and its handlers are made harmless before it unblocks.
    let pid = unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut before);
        let pid = libc::clone(
            child,
            top as *mut libc::c_void,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&mut shared as *mut Shared).cast(),
        );
        let clone_error = io::Error::last_os_error();
        libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
        if pid == -1 {
            return Err(clone_error);
        }
        pid
    };
    // The child has exec'd or exited by now (CLONE_VFORK); its stack is
    // ours again.
    std::hint::black_box(&mut stack);
    // SAFETY: the child wrote `errno` before it exited; it is gone now.
    let errno = unsafe { std::ptr::read_volatile(&shared.errno) };
    if errno != 0 {
        // SAFETY: reaping the child that failed to start.
        unsafe { libc::waitpid(pid, std::ptr::null_mut(), 0) };
        return Err(io::Error::from_raw_os_error(errno));
    }
    Ok(pid)
}

/// In the child: every signal socklab handles goes back to its default, and
/// `SIGPIPE` too (Rust ignores it; a C program expects to die of it).
/// Ignored signals stay ignored, as across any `execve`.
unsafe fn default_signal_handlers() {
    // SAFETY: sigaction on this process only (the child has its own handler
    // table: no CLONE_SIGHAND).
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        // 1 to 64: every signal number Linux has (glibc refuses two of its own).
        for signal in 1..65 {
            if signal == libc::SIGKILL || signal == libc::SIGSTOP {
                continue;
            }
            let mut current: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut current) == -1 {
                continue;
            }
            if current.sa_sigaction != libc::SIG_DFL
                && (current.sa_sigaction != libc::SIG_IGN || signal == libc::SIGPIPE)
            {
                libc::sigaction(signal, &default, std::ptr::null_mut());
            }
        }
    }
}

/// In the child, just before `execve`: an empty signal mask, as
/// `std::process::Command` gives.
pub(crate) unsafe fn unblock_all_signals() {
    // SAFETY: changes this (child) process's mask only.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn all_of_stdout(spawned: &mut Spawned) -> String {
        let mut out = String::new();
        let mut stdout = spawned.stdout.take().expect("a piped stdout");
        stdout.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn a_child_reads_its_stdin_writes_its_stdout_and_exits() {
        let mut command = Command::new("sh");
        command
            .args(["-c", "read line; echo \"got $line in $PWD $FOO\"; exit 3"])
            .env("PATH", "/usr/bin:/bin")
            .env("FOO", "bar")
            .current_dir("/tmp")
            .stdin(Stdio::Piped)
            .stdout(Stdio::Piped);
        let mut spawned = command.spawn(&mut || Ok(())).expect("spawn");
        let mut stdin = spawned.stdin.take().unwrap();
        stdin.write_all(b"hello\n").await.unwrap();
        drop(stdin);
        let out = all_of_stdout(&mut spawned).await;
        assert_eq!(out, "got hello in /tmp bar\n");
        let status = spawned.child.wait().await.unwrap();
        assert_eq!(status.code(), Some(3));
    }

    #[tokio::test]
    async fn sigpipe_is_back_to_its_default_and_no_signal_is_blocked() {
        // Rust ignores SIGPIPE; the child must die of it, as a C program does.
        let mut command = Command::new("sh");
        command
            .args(["-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"])
            .stdout(Stdio::Piped);
        let mut spawned = command.spawn(&mut || Ok(())).unwrap();
        let out = all_of_stdout(&mut spawned).await;
        spawned.child.wait().await.unwrap();
        let mask = |name: &str| {
            let line = out.lines().find(|l| l.starts_with(name)).unwrap();
            u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
        };
        assert_eq!(mask("SigBlk:"), 0, "{out}");
        let sigpipe_bit = 1u64 << (libc::SIGPIPE - 1);
        assert_eq!(mask("SigIgn:") & sigpipe_bit, 0, "{out}");
    }

    #[tokio::test]
    async fn a_child_gets_no_descriptor_of_socklab_beyond_its_standard_streams() {
        // As openpty leaves them: without close-on-exec.
        let pty = nix::pty::openpty(None, None).unwrap();
        let file = tempfile::NamedTempFile::new().unwrap();
        let path = std::ffi::CString::new(file.path().as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: opening a file; the descriptor is closed below.
        let plain = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) };
        assert!(plain > 2);
        let mut command = Command::new("sh");
        command
            .args(["-c", "ls -l /proc/$$/fd"])
            .env("PATH", "/usr/bin:/bin")
            .stdout(Stdio::Piped);
        let mut spawned = command.spawn(&mut || Ok(())).unwrap();
        let out = all_of_stdout(&mut spawned).await;
        spawned.child.wait().await.unwrap();
        // SAFETY: ours, opened above.
        unsafe { libc::close(plain) };
        let held: Vec<&str> = out.lines().filter_map(|l| l.split(" -> ").nth(1)).collect();
        assert!(held.len() >= 3, "{out}");
        for target in &held {
            assert!(
                !target.contains("ptmx")
                    && !target.starts_with("/dev/pts/")
                    && !target.contains(&*file.path().to_string_lossy()),
                "the child holds {target}:\n{out}"
            );
        }
        drop(pty);
    }

    /// The moment `spawn` returns, the program holds its standard streams
    /// only: nothing of socklab's waits for the `execve` to close it.
    #[tokio::test]
    async fn when_spawn_returns_the_child_holds_only_its_standard_streams() {
        let pty = nix::pty::openpty(None, None).unwrap();
        let (_read, _write) = std::io::pipe().unwrap();
        // Without the close, the child is caught holding them in about
        // one spawn of a few dozen.
        for _ in 0..100 {
            let mut command = Command::new("sleep");
            command.args(["10"]).env("PATH", "/usr/bin:/bin");
            let mut spawned = command.spawn(&mut || Ok(())).unwrap();
            let fds: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", spawned.child.id()))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            let mut fds: Vec<u32> = fds.iter().map(|f| f.parse().unwrap()).collect();
            fds.sort();
            assert_eq!(fds, [0, 1, 2]);
            // SAFETY: killing our own child, reaped by the wait below.
            unsafe { libc::kill(spawned.child.id() as libc::pid_t, libc::SIGKILL) };
            spawned.child.wait().await.unwrap();
        }
        drop(pty);
    }

    #[tokio::test]
    async fn a_failure_before_exec_is_the_spawns_error() {
        let mut command = Command::new("true");
        let err = command
            .spawn(&mut || Err(io::Error::from_raw_os_error(libc::EPERM)))
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM));
        let err = Command::new("/nonexistent/program")
            .spawn(&mut || Ok(()))
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let err = Command::new("no-such-program-anywhere")
            .spawn(&mut || Ok(()))
            .unwrap_err();
        assert!(err.to_string().contains("not in PATH"), "{err}");
    }

    #[tokio::test]
    async fn without_a_pidfd_a_blocking_thread_waits() {
        // As on a kernel before 5.3, where pidfd_open does not exist.
        let mut command = Command::new("sh");
        command.args(["-c", "exit 7"]);
        let mut spawned = command.spawn(&mut || Ok(())).unwrap();
        spawned.child.pidfd = None;
        let status = spawned.child.wait().await.unwrap();
        assert_eq!(status.code(), Some(7));
    }

    #[tokio::test]
    async fn a_dropped_child_is_killed_and_reaped() {
        let mut command = Command::new("sleep");
        command.args(["60"]);
        let spawned = command.spawn(&mut || Ok(())).unwrap();
        let pid = spawned.child.id();
        drop(spawned);
        // Reaped in the background once the kill lands: wait for the pid to go.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Path::new(&format!("/proc/{pid}")).exists() {
            assert!(std::time::Instant::now() < deadline, "{pid} still there");
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}
