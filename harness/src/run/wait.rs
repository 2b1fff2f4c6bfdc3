//! Waiting: the one way a step waits for anything.
//!
//! Every wait of a step (output to appear, bytes to arrive, a program to
//! exit, listen or fork, a connection to be made or accepted, input to be
//! read) goes through an [`Until`]: it ends when what it waits for happens,
//! at the step's deadline, or as soon as the scenario is [`Settle`]d, that
//! is when nothing can change any more (every program exited, or all asleep
//! in blocking calls with nothing queued for them). Which of the two ended
//! it is kept ([`Expired`]), so a check can say so.
//!
//! Deadlines are the last resort; whatever can tell that a scenario has
//! settled sets its [`Settle`] and every wait in progress ends at once.
//! Waits where an expiry is the good outcome (`silence`, `running` with
//! `hold`) end early too: nothing more can arrive.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

pub use crate::facts::Expired;

/// Whether a scenario has settled: nothing in it can change any more.
///
/// One per scenario run, shared by all its waits. The scenario's
/// [`Decider`](super::settle::Decider) settles it, with the evidence, once
/// the kernel shows that nothing can change; every step that starts
/// unsettles it again, so a later wait runs to its deadline unless the
/// scenario is found settled anew.
#[derive(Clone)]
pub struct Settle {
    state: Arc<watch::Sender<Option<Arc<Settled>>>>,
}

/// Why a scenario was found settled: one line per program, as a failure
/// message quotes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// "tcpserv (submission) is sleeping in read() on fd 4; fd 4 is TCP …,
    /// 0 bytes queued", one entry per program or process.
    pub evidence: Vec<String>,
}

impl Settled {
    /// The evidence in one sentence.
    pub fn sentence(&self) -> String {
        self.evidence.join("; ")
    }
}

impl Default for Settle {
    fn default() -> Self {
        Settle {
            state: Arc::new(watch::Sender::new(None)),
        }
    }
}

impl Settle {
    /// Says that nothing can change any more, and why; waits in progress
    /// end at once.
    pub fn settle(&self, why: Settled) {
        self.state.send_replace(Some(Arc::new(why)));
    }

    /// Says that something may change again (socklab is about to act).
    pub fn unsettle(&self) {
        self.state.send_if_modified(|state| state.take().is_some());
    }

    pub fn is_settled(&self) -> bool {
        self.state.borrow().is_some()
    }

    /// Why the scenario is settled, if it is.
    pub fn why(&self) -> Option<Arc<Settled>> {
        self.state.borrow().clone()
    }

    /// Resolves once the scenario is settled.
    async fn settled(&self) {
        let mut rx = self.state.subscribe();
        // The sender lives as long as `self`, so this cannot fail.
        let _ = rx.wait_for(Option::is_some).await;
    }
}

/// How long a wait may last: until a deadline, or until its scenario
/// settles, whichever comes first.
#[derive(Clone)]
pub struct Until {
    deadline: Instant,
    settle: Option<Settle>,
}

impl Until {
    /// A wait that only its deadline ends (socklab's own grace periods).
    pub fn deadline(deadline: Instant) -> Until {
        Until {
            deadline,
            settle: None,
        }
    }

    /// This wait, also ended when `settle` says nothing can change.
    pub fn or_settled(mut self, settle: &Settle) -> Until {
        self.settle = Some(settle.clone());
        self
    }

    /// The same wait with another deadline (`hold:` periods within a step).
    pub fn with_deadline(&self, deadline: Instant) -> Until {
        Until {
            deadline,
            settle: self.settle.clone(),
        }
    }

    pub fn at(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Why the wait is over already, if it is.
    pub fn expired(&self) -> Option<Expired> {
        if self.settle.as_ref().is_some_and(Settle::is_settled) {
            Some(Expired::Settled)
        } else if Instant::now() >= self.deadline {
            Some(Expired::Deadline)
        } else {
            None
        }
    }

    /// Waits for `what`, at most until the deadline or the settling.
    pub async fn wait<F: Future>(&self, what: F) -> Result<F::Output, Expired> {
        let settled = async {
            match &self.settle {
                Some(settle) => settle.settled().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            done = what => Ok(done),
            () = tokio::time::sleep_until(self.deadline) => Err(Expired::Deadline),
            () = settled => Err(Expired::Settled),
        }
    }

    /// Between two looks at something that cannot be waited on (a socket
    /// table, a process list): pauses for `period`, less if the wait ends
    /// first.
    pub async fn pause(&self, period: Duration) {
        let _ = self.wait(tokio::time::sleep(period)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_with_what_it_waited_for_or_its_deadline() {
        let until = Until::deadline(Instant::now() + Duration::from_secs(1));
        assert_eq!(until.wait(async { 7 }).await, Ok(7));
        assert_eq!(
            until.wait(std::future::pending::<()>()).await,
            Err(Expired::Deadline)
        );
        assert_eq!(until.expired(), Some(Expired::Deadline));
    }

    #[tokio::test(start_paused = true)]
    async fn a_settled_scenario_ends_every_wait_at_once() {
        let settle = Settle::default();
        let started = Instant::now();
        let until = Until::deadline(started + Duration::from_secs(60)).or_settled(&settle);
        assert_eq!(until.expired(), None);
        let waiting = until.wait(std::future::pending::<()>());
        let settling = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            settle.settle(Settled {
                evidence: vec!["pid 7 (server): sleeping in read() on fd 4".into()],
            });
        };
        let (waited, ()) = tokio::join!(waiting, settling);
        assert_eq!(waited, Err(Expired::Settled));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(until.expired(), Some(Expired::Settled));
        assert_eq!(
            settle.why().map(|w| w.sentence()),
            Some("pid 7 (server): sleeping in read() on fd 4".to_string())
        );
        settle.unsettle();
        assert_eq!(until.expired(), None);
    }
}
