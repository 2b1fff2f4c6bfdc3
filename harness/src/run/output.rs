//! A program's captured output stream, which steps wait on.
//!
//! Reader tasks push bytes as they arrive; `expect` steps wait for a text
//! or a pattern from a cursor, within an [`Until`]. A waiter is registered
//! with its [`StreamSearch`], and the push does the searching: it hands
//! each waiter only the bytes it has not seen (never rescanning what it
//! already rejected) and wakes it only when its answer changed — its
//! pattern completed, or the stream ended. A program printing without end
//! therefore costs the searches the new bytes once, and wakes nobody.
//!
//! At most `limit` bytes are kept. The first byte beyond them makes
//! [`OutputBuf::push`] say [`Pushed::OverLimit`]: the program's reader
//! stops the program at once (see `run/program.rs`), and what it printed
//! after that is counted, not kept.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::search::{Found, StreamSearch};
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

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Every byte was kept.
    Kept,
    /// The stream passed its limit: some bytes were dropped (the first
    /// push to do so and every one after it).
    OverLimit,
}

/// One captured stream of a program: what it printed (up to a limit), how
/// much more it printed, and whether it has ended.
pub struct OutputBuf {
    inner: Mutex<Inner>,
    /// Readers holding bytes taken from the kernel and not pushed yet
    /// ([`OutputBuf::reading`]).
    reading: AtomicU32,
}

struct Inner {
    data: Vec<u8>,
    eof: bool,
    dropped: u64,
    limit: usize,
    waiters: Vec<Waiter>,
    next_waiter: u64,
}

/// An `expect` waiting on the stream.
struct Waiter {
    id: u64,
    /// Where its search begins in the stream.
    from: usize,
    /// `None`: it waits for the end of the stream only.
    search: Option<StreamSearch>,
    /// Set by a push or the close, read by the waiter when woken.
    answer: Option<Answer>,
    wake: Arc<Notify>,
}

enum Answer {
    Found(Found),
    Eof,
}

impl Inner {
    /// Gives every waiter still looking the bytes it has not searched, and
    /// wakes the ones whose answer this changed.
    fn search_new_bytes(&mut self) {
        let data = &self.data;
        for waiter in self.waiters.iter_mut().filter(|w| w.answer.is_none()) {
            let Some(search) = waiter.search.as_mut() else {
                continue;
            };
            let start = waiter.from.min(data.len());
            if let Some(found) = search.advance(&data[start..]) {
                waiter.answer = Some(Answer::Found(found));
                waiter.wake.notify_one();
            }
        }
    }
}

impl OutputBuf {
    pub fn new(limit: usize) -> Self {
        OutputBuf {
            inner: Mutex::new(Inner {
                data: Vec::new(),
                eof: false,
                dropped: 0,
                limit,
                waiters: Vec::new(),
                next_waiter: 0,
            }),
            reading: AtomicU32::new(0),
        }
    }

    /// Marks a reader's turn: taken before it reads the program's pipe or
    /// terminal, dropped after it pushed what it read. Between the two the
    /// bytes are neither in the kernel's queue nor here, and a look that
    /// finds the queue empty must not take them for never printed
    /// ([`OutputBuf::being_read`], after the queue).
    pub fn reading(&self) -> Reading<'_> {
        self.reading.fetch_add(1, Ordering::SeqCst);
        Reading(self)
    }

    /// Whether a reader is between taking bytes and pushing them.
    pub fn being_read(&self) -> bool {
        self.reading.load(Ordering::SeqCst) > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds what the program printed; searches it for the waiters.
    pub fn push(&self, bytes: &[u8]) -> Pushed {
        let mut inner = self.lock();
        let room = inner.limit.saturating_sub(inner.data.len());
        let keep = bytes.len().min(room);
        inner.data.extend_from_slice(&bytes[..keep]);
        inner.dropped += (bytes.len() - keep) as u64;
        if keep > 0 {
            inner.search_new_bytes();
        }
        if inner.dropped > 0 {
            Pushed::OverLimit
        } else {
            Pushed::Kept
        }
    }

    /// The stream ended: every waiter still looking hears it.
    pub fn close(&self) {
        let mut inner = self.lock();
        inner.eof = true;
        for waiter in inner.waiters.iter_mut().filter(|w| w.answer.is_none()) {
            waiter.answer = Some(Answer::Eof);
            waiter.wake.notify_one();
        }
    }

    /// Whether the stream has ended (its reader saw the end).
    pub fn ended(&self) -> bool {
        self.lock().eof
    }

    /// Everything kept so far, whether the stream ended, and bytes dropped.
    pub fn snapshot(&self) -> (Vec<u8>, bool, u64) {
        let inner = self.lock();
        (inner.data.clone(), inner.eof, inner.dropped)
    }

    /// Every byte pushed so far, kept or dropped.
    pub fn received(&self) -> u64 {
        let inner = self.lock();
        inner.data.len() as u64 + inner.dropped
    }

    /// The kept bytes from `from` on.
    pub fn since(&self, from: usize) -> Vec<u8> {
        let inner = self.lock();
        inner.data[from.min(inner.data.len())..].to_vec()
    }

    /// The stream's limit (bytes kept).
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    pub fn len(&self) -> usize {
        self.lock().data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until `search` finds its needle in the bytes after `from`, the
    /// stream ends, or `until` ends the wait.
    pub async fn wait_for(&self, from: usize, until: &Until, search: StreamSearch) -> Wait<Found> {
        self.wait(from, until, Some(search)).await
    }

    /// Waits until the stream ends.
    pub async fn wait_eof(&self, until: &Until) -> bool {
        matches!(self.wait(0, until, None).await, Wait::Eof)
    }

    async fn wait(&self, from: usize, until: &Until, search: Option<StreamSearch>) -> Wait<Found> {
        let wake = Arc::new(Notify::new());
        let id = {
            let mut inner = self.lock();
            let id = inner.next_waiter;
            inner.next_waiter += 1;
            let mut waiter = Waiter {
                id,
                from,
                search,
                answer: None,
                wake: wake.clone(),
            };
            // What is there already is searched once, here.
            if let Some(search) = waiter.search.as_mut() {
                let start = from.min(inner.data.len());
                if let Some(found) = search.advance(&inner.data[start..]) {
                    return Wait::Found(found);
                }
            }
            if inner.eof {
                return Wait::Eof;
            }
            inner.waiters.push(waiter);
            id
        };
        let registered = Registered { buf: self, id };
        loop {
            // A wake given before this await is kept by the Notify (one
            // permit), so none is lost between registering and waiting.
            if let Err(why) = until.wait(wake.notified()).await {
                return Wait::Expired(why);
            }
            if let Some(answer) = registered.take_answer() {
                return match answer {
                    Answer::Found(found) => Wait::Found(found),
                    Answer::Eof => Wait::Eof,
                };
            }
        }
    }
}

/// A waiter's registration, removed when its wait ends however it ends
/// (a dropped step included).
struct Registered<'a> {
    buf: &'a OutputBuf,
    id: u64,
}

impl Registered<'_> {
    fn take_answer(&self) -> Option<Answer> {
        let mut inner = self.buf.lock();
        inner
            .waiters
            .iter_mut()
            .find(|w| w.id == self.id)
            .and_then(|w| w.answer.take())
    }
}

/// A reader's turn ([`OutputBuf::reading`]); ends when dropped.
pub struct Reading<'a>(&'a OutputBuf);

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.0.reading.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.buf.lock().waiters.retain(|w| w.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::printed::Needle;
    use std::time::Duration;
    use tokio::time::Instant;

    fn until(secs: u64) -> Until {
        Until::deadline(Instant::now() + Duration::from_secs(secs))
    }

    #[test]
    fn a_reading_turn_shows_until_it_is_given_back() {
        let buf = OutputBuf::new(64);
        assert!(!buf.being_read());
        let pipe = buf.reading();
        let terminal = buf.reading();
        assert!(buf.being_read());
        buf.push(b"taken");
        drop(pipe);
        assert!(buf.being_read(), "one reader still holds bytes");
        drop(terminal);
        assert!(!buf.being_read());
    }

    #[tokio::test]
    async fn a_waiter_finds_a_pattern_pushed_in_pieces() {
        let buf = Arc::new(OutputBuf::new(1 << 20));
        let search = StreamSearch::new(&Needle::Text(b"hello".to_vec()));
        let pusher = {
            let buf = buf.clone();
            tokio::spawn(async move {
                for piece in [&b"he"[..], b"l", b"lo world"] {
                    tokio::task::yield_now().await;
                    buf.push(piece);
                }
            })
        };
        match buf.wait_for(0, &until(5), search).await {
            Wait::Found(found) => assert_eq!(found.end, 5),
            other => panic!("{other:?}"),
        }
        pusher.await.unwrap();
        assert!(buf.lock().waiters.is_empty(), "the waiter is gone");
    }

    #[tokio::test]
    async fn bytes_past_the_limit_are_counted_and_wake_nobody() {
        let buf = OutputBuf::new(8);
        assert_eq!(buf.push(b"12345678"), Pushed::Kept);
        assert_eq!(buf.push(b"9"), Pushed::OverLimit);
        assert_eq!(buf.push(b"more"), Pushed::OverLimit);
        assert_eq!(buf.snapshot(), (b"12345678".to_vec(), false, 5));
        buf.close();
        let search = StreamSearch::new(&Needle::Text(b"9".to_vec()));
        assert!(matches!(
            buf.wait_for(0, &until(5), search).await,
            Wait::Eof
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_without_a_match_never_wakes_the_waiter() {
        let buf = Arc::new(OutputBuf::new(1 << 20));
        let wait = {
            let buf = buf.clone();
            tokio::spawn(async move {
                let search = StreamSearch::new(&Needle::Text(b"never".to_vec()));
                buf.wait_for(0, &until(1), search).await
            })
        };
        while buf.lock().waiters.is_empty() {
            tokio::task::yield_now().await;
        }
        for _ in 0..1000 {
            buf.push(b"debug: waiting for a client\n");
            let waiter = &buf.lock().waiters[0];
            assert!(waiter.answer.is_none(), "no answer, no wake");
        }
        assert!(matches!(
            wait.await.unwrap(),
            Wait::Expired(Expired::Deadline)
        ));
    }
}
