//! A reference program inside socklab: the thread it runs on with a tokio
//! runtime of its own ([`RuntimeThread`]), and its output streams, which
//! count what it writes so that socklab knows what is still on its way.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;

use super::record_exit;
use crate::facts::ExitInfo;

/// The thread an in-process program runs on, with a tokio runtime of its
/// own: every task the program spawns runs there too, so "the runtime
/// sleeps in `epoll_wait` without a timeout" means "the program waits for
/// input", as a process blocked in `read()` does. The program's file I/O is
/// synchronous on this thread (`socklab_reference`'s `file_io`), so a
/// program reading or writing a file is seen running, not asleep.
pub struct RuntimeThread {
    /// Its name (`comm`), which its runtime's blocking threads share.
    pub name: String,
    /// Its thread id, once it runs.
    pub(super) tid: OnceLock<u32>,
}

impl RuntimeThread {
    /// The thread id (as `/proc/self/task` names it), once it has started.
    pub fn tid(&self) -> Option<u32> {
        self.tid.get().copied()
    }
}

/// Runs an in-process program on a thread of its own with a current-thread
/// runtime, until it ends or `cancelled` says so; then drops the runtime
/// (ending every task the program spawned, closing its sockets) and records
/// how it ended.
pub(super) fn spawn_runtime_thread(
    thread: Arc<RuntimeThread>,
    program: socklab_reference::Program,
    args: Vec<String>,
    stdio: socklab_reference::Stdio,
    env: socklab_reference::Env,
    mut cancelled: watch::Receiver<bool>,
    exit: Arc<watch::Sender<Option<ExitInfo>>>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        // Its blocking threads (the reference programs use none) carry its
        // name, so that they are seen while they exist.
        .thread_name(thread.name.clone())
        .thread_keep_alive(Duration::from_millis(1))
        .build()?;
    std::thread::Builder::new()
        .name(thread.name.clone())
        .spawn(move || {
            // SAFETY: gettid has no preconditions.
            let _ = thread.tid.set(unsafe { libc::gettid() } as u32);
            let code = runtime.block_on(async {
                tokio::select! {
                    code = socklab_reference::run(program, args, stdio, env) => Some(code),
                    _ = cancelled.wait_for(|c| *c) => None,
                }
            });
            drop(runtime);
            if let Some(code) = code {
                record_exit(
                    &exit,
                    ExitInfo {
                        code: Some(code),
                        signal: None,
                        core_dumped: false,
                        output_limit: None,
                    },
                );
            }
        })?;
    Ok(())
}

/// A name for an in-process program's thread, unique in socklab and short
/// enough for the kernel's 15-character `comm`.
pub(super) fn runtime_thread_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "sl-ref-{}",
        NEXT.fetch_add(1, Ordering::Relaxed) % 100_000_000
    )
}

/// An output stream of an in-process program that counts what it writes.
pub(super) struct Counted<W> {
    inner: W,
    written: Arc<AtomicU64>,
}

impl<W> Counted<W> {
    pub(super) fn new(inner: W, written: Arc<AtomicU64>) -> Counted<W> {
        Counted { inner, written }
    }
}

impl<W: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Counted<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.written.fetch_add(*n as u64, Ordering::SeqCst);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
