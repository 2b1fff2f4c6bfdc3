//! `stop`: sends a signal to a program, or stops it (SIGTERM, a grace
//! period, then SIGKILL).

use std::time::Duration;

use crate::check::Judgement;
use crate::run::state::{StepContext, StepError};

/// How long a stopped program gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(1);

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    signal: Option<&str>,
) -> Result<Judgement, StepError> {
    let program = cx.state.program(program)?;
    match signal {
        Some(sig) => {
            let number = sig
                .parse::<nix::sys::signal::Signal>()
                .map_err(|_| StepError::Harness(format!("unknown signal {sig}")))?;
            program.signal(number as i32);
            cx.note_input(format!("sent {sig} to {}", program.label));
            Ok(Judgement::pass(format!("sent {sig}")))
        }
        None => {
            let info = program.stop(STOP_GRACE).await;
            Ok(Judgement::pass(match info {
                Some(i) => format!("stopped: {}", i.describe()),
                None => "stopped".to_string(),
            }))
        }
    }
}
