//! `expect`: waits until a program prints a text or a pattern on one of
//! its streams, from where the previous `expect` on that stream stopped.

use socklab_scenario::{Pattern, Stream};

use crate::check::Judgement;
use crate::check::printed::{self, Needle};
use crate::facts::{PrintedFact, PrintedOutcome};
use crate::run::output::Wait;
use crate::run::search::{Found, StreamSearch};
use crate::run::state::{StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    stream: Stream,
    pattern: &Pattern,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    let needle = match pattern {
        Pattern::Text(t) => Needle::Text(state.render(t)?.into_bytes()),
        Pattern::Regex(re) => Needle::Regex(state.regex(re)?),
    };
    let from = program.cursor(stream);
    let buf = program.output(stream).clone();
    let waited = buf
        .wait_for(from, &cx.until, StreamSearch::new(&needle))
        .await;
    let seen = buf.since(from);
    let outcome = match waited {
        Wait::Found(Found { end, values }) => {
            program.advance(stream, from + end);
            state.keep_values(values);
            PrintedOutcome::Found { end }
        }
        Wait::Eof => PrintedOutcome::Closed,
        Wait::Expired(why) => PrintedOutcome::Expired(why),
    };
    let found = matches!(outcome, PrintedOutcome::Found { .. });
    let fact = PrintedFact {
        program: state.program_fact(&program, !found),
        seen,
        outcome,
    };
    Ok(printed::printed(&needle, &fact))
}
