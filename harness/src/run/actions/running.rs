//! `running`: the program has not ended (after `hold`, when given).

use std::time::Duration;

use tokio::time::Instant;

use crate::check::{Judgement, process};
use crate::run::state::{StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    hold: Option<Duration>,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    if let Some(hold) = hold {
        program
            .wait_exit(&cx.until.with_deadline(Instant::now() + hold))
            .await;
    }
    let ended = program.exit_info().is_some();
    Ok(process::running(&state.program_fact(&program, ended)))
}
