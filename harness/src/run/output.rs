//! A program's captured output stream, which steps wait on.
//!
//! Reader tasks push bytes as they arrive; `expect` steps wait for a pattern
//! from a cursor, within an [`Until`], and wake on every arrival (no
//! polling, no fixed sleeps). At most `limit` bytes are kept; the rest is
//! counted.

use std::sync::Mutex;

use tokio::sync::Notify;

use super::wait::{Expired, Until};

/// What a wait on output ended with.
#[derive(Debug)]
pub enum Wait<T> {
    Found(T),
    /// The stream ended without a match.
    Eof,
    /// The wait ended without a match (deadline, or the scenario settled).
    Expired(Expired),
}

/// One captured stream of a program: what it printed (up to a limit), how
/// much more it printed, and whether it has ended.
pub struct OutputBuf {
    inner: Mutex<Inner>,
    notify: Notify,
}

struct Inner {
    data: Vec<u8>,
    eof: bool,
    dropped: u64,
    limit: usize,
}

impl OutputBuf {
    pub fn new(limit: usize) -> Self {
        OutputBuf {
            inner: Mutex::new(Inner {
                data: Vec::new(),
                eof: false,
                dropped: 0,
                limit,
            }),
            notify: Notify::new(),
        }
    }

    pub fn push(&self, bytes: &[u8]) {
        {
            let mut inner = self.inner.lock().expect("output lock");
            let room = inner.limit.saturating_sub(inner.data.len());
            let keep = bytes.len().min(room);
            inner.data.extend_from_slice(&bytes[..keep]);
            inner.dropped += (bytes.len() - keep) as u64;
        }
        self.notify.notify_waiters();
    }

    pub fn close(&self) {
        self.inner.lock().expect("output lock").eof = true;
        self.notify.notify_waiters();
    }

    /// Everything kept so far, whether the stream ended, and bytes dropped.
    pub fn snapshot(&self) -> (Vec<u8>, bool, u64) {
        let inner = self.inner.lock().expect("output lock");
        (inner.data.clone(), inner.eof, inner.dropped)
    }

    /// Every byte pushed so far, kept or dropped.
    pub fn received(&self) -> u64 {
        let inner = self.inner.lock().expect("output lock");
        inner.data.len() as u64 + inner.dropped
    }

    pub fn len(&self) -> usize {
        self.inner.lock().expect("output lock").data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until `matcher` finds something in the bytes after `from`.
    pub async fn wait_for<T>(
        &self,
        from: usize,
        until: &Until,
        matcher: impl Fn(&[u8]) -> Option<T>,
    ) -> Wait<T> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let inner = self.inner.lock().expect("output lock");
                let start = from.min(inner.data.len());
                if let Some(found) = matcher(&inner.data[start..]) {
                    return Wait::Found(found);
                }
                if inner.eof {
                    return Wait::Eof;
                }
            }
            if let Err(why) = until.wait(notified).await {
                return Wait::Expired(why);
            }
        }
    }

    /// Waits until the stream ends.
    pub async fn wait_eof(&self, until: &Until) -> bool {
        matches!(self.wait_for(0, until, |_| None::<()>).await, Wait::Eof)
    }
}
