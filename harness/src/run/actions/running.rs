//! `running`: the program has not ended once nothing more can change, or
//! after `hold` (`for:`) when given.
//!
//! Never a snapshot: a server that has just read the client's end of
//! file and is on its way out is not "running" for a few microseconds more
//! only because socklab looked first (whether it had exited yet depended on
//! the machine's load). The check watches until the scenario settles (every
//! program asleep with nothing queued, or exited: `docs/deciding.md`), and
//! at most [`WATCH`] where socklab cannot tell (the loopback fallback).

use std::time::Duration;

use tokio::time::Instant;

use crate::check::{Judgement, process};
use crate::run::state::{StepContext, StepError};

/// How long a `running` without `for:` watches at most.
pub const WATCH: Duration = Duration::from_millis(500);

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    hold: Option<Duration>,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    let hold = hold.unwrap_or(WATCH);
    program
        .wait_exit(&cx.until.with_deadline(Instant::now() + hold))
        .await;
    let ended = program.exit_info().is_some();
    Ok(process::running(&state.program_fact(&program, ended)))
}
