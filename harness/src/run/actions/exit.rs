//! `exit`: waits for a program to end and records how (code or signal).

use std::time::Duration;

use socklab_scenario::ExitExpect;

use crate::check::{Judgement, process};
use crate::facts::ExitFact;
use crate::run::state::{StepContext, StepError};

/// How long the rest of a program's output may take to arrive after it ended.
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    expect: &ExitExpect,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    let exit = program.wait_exit(&cx.until).await;
    if exit.is_some() {
        program.drain_output(OUTPUT_GRACE).await;
    }
    let as_expected = exit.is_some_and(|info| process::exit_matches(expect, &info));
    let fact = ExitFact {
        program: state.program_fact(&program, !as_expected),
        exit,
    };
    Ok(process::exited(expect, &fact))
}
