//! How SIGINT and SIGTERM end socklab within a second, whatever it is
//! doing.
//!
//! The commands that run scenarios race their work against
//! [`Interrupts::interrupted`]: on a signal the work's future is dropped,
//! every sandbox tears itself down, and socklab exits with 130 (SIGINT) or
//! 143 (SIGTERM). That path needs the async runtime to get a turn; a
//! student can try to deny it one (a FIFO that blocks `open()`, a flood of
//! output), and a slow teardown would delay it. So the signal is not left
//! to the runtime alone: a handler writes its number into a pipe, and a
//! watchdog thread of its own reads it, wakes the runtime's side, and
//! waits at most [`GRACE`] (or until a second signal) for the orderly
//! exit. If that has not happened by then, it kills every process socklab
//! started (its descendants: the pid namespaces' inits, programs, builds)
//! and exits with the signal's code itself. What a killed run leaves
//! behind (cgroups, working folders) is removed by the next socklab's
//! start-up (`sandbox::leftovers`).

use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use crate::error::{EXIT_INTERRUPTED, EXIT_TERMINATED, Interruption};

/// How long an orderly exit may take after the signal before the watchdog
/// ends socklab itself.
pub const GRACE: Duration = Duration::from_millis(700);

/// The write end of the signal pipe, for the handler (async-signal-safe
/// code can reach only statics).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = signal as u8;
        // SAFETY: write(2) is async-signal-safe; the byte lives on this stack.
        unsafe {
            libc::write(fd, (&byte as *const u8).cast(), 1);
        }
    }
}

/// The process's SIGINT/SIGTERM handling (one per process, installed by
/// the commands that run scenarios).
#[derive(Clone)]
pub struct Interrupts {
    heard: watch::Receiver<Option<Interruption>>,
}

impl Interrupts {
    /// Installs the handler and starts the watchdog thread.
    pub fn install() -> std::io::Result<Interrupts> {
        let (read_end, write_end) = std::io::pipe()?;
        let read_end = OwnedFd::from(read_end);
        // The write end is kept open for the life of the process (the
        // handler may run at any time).
        SIGNAL_PIPE.store(write_end.into_raw_fd(), Ordering::Relaxed);
        for signal in [libc::SIGINT, libc::SIGTERM] {
            // SAFETY: installing a handler that only calls write(2).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as *const () as usize;
                libc::sigemptyset(&mut action.sa_mask);
                action.sa_flags = libc::SA_RESTART;
                if libc::sigaction(signal, &action, std::ptr::null_mut()) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
        }
        let (tx, heard) = watch::channel(None);
        let tx = Arc::new(tx);
        std::thread::Builder::new()
            .name("socklab-signals".into())
            .spawn(move || watchdog(read_end, &tx))?;
        Ok(Interrupts { heard })
    }

    /// Resolves when SIGINT or SIGTERM arrives, with which one.
    pub async fn interrupted(&self) -> Interruption {
        let mut heard = self.heard.clone();
        match heard.wait_for(Option::is_some).await {
            Ok(signal) => signal.expect("waited for Some"),
            // The watchdog is gone: no signal can be heard any more.
            Err(_) => std::future::pending().await,
        }
    }
}

/// Reads signals from the pipe; on the first one tells the runtime's side,
/// then gives the orderly exit [`GRACE`] (a second signal cuts it short)
/// before killing what socklab started and exiting itself.
fn watchdog(pipe: OwnedFd, tx: &watch::Sender<Option<Interruption>>) {
    let Some(first) = read_signal(&pipe, None) else {
        return;
    };
    tx.send_replace(Some(first));
    // Only a second signal or the deadline comes back here; an orderly
    // exit ends the process (and this thread) first.
    let _ = read_signal(&pipe, Some(GRACE));
    crate::sandbox::kill_adopted_orphans();
    eprintln!(
        "socklab: {}; it did not stop in {} ms, so it stopped every program it started and exited",
        match first {
            Interruption::Interrupt => "interrupted (SIGINT)",
            Interruption::Terminate => "terminated (SIGTERM)",
        },
        GRACE.as_millis()
    );
    let code = match first {
        Interruption::Interrupt => EXIT_INTERRUPTED,
        Interruption::Terminate => EXIT_TERMINATED,
    };
    // SAFETY: ending the process without running destructors that may be
    // what is stuck.
    unsafe { libc::_exit(code as libc::c_int) };
}

/// Waits for a signal number on the pipe, at most `timeout` (`None`: for
/// ever); `None` when none came.
fn read_signal(pipe: &OwnedFd, timeout: Option<Duration>) -> Option<Interruption> {
    let mut poll = libc::pollfd {
        fd: pipe.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let wait_ms = timeout.map_or(-1, |t| t.as_millis() as libc::c_int);
    loop {
        // SAFETY: poll on one descriptor we hold.
        let ready = unsafe { libc::poll(&mut poll, 1, wait_ms) };
        if ready == -1 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {
            continue;
        }
        if ready <= 0 {
            return None;
        }
        let mut byte = 0u8;
        // SAFETY: reading one byte into a local from a descriptor we hold.
        let got = unsafe { libc::read(pipe.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
        if got != 1 {
            return None;
        }
        return Some(if i32::from(byte) == libc::SIGTERM {
            Interruption::Terminate
        } else {
            Interruption::Interrupt
        });
    }
}
