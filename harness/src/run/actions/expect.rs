//! `expect`: waits until a program prints a text or a pattern on one of
//! its streams, from where the previous `expect` on that stream stopped.

use std::time::Duration;

use socklab_scenario::{Pattern, Stream};
use tokio::time::Instant;

use crate::check::Judgement;
use crate::check::printed::{self, Needle};
use crate::facts::{PrintedFact, PrintedOutcome};
use crate::run::output::Wait;
use crate::run::search::{Found, StreamSearch};
use crate::run::state::{StepContext, StepError};

/// How long a program whose output has ended is given for its exit to be
/// collected (less where the scenario settles first: a program that closed
/// its output and goes on is not waited for).
const EXIT_AFTER_EOF: Duration = Duration::from_millis(500);

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
        Wait::Eof => {
            // Output ends when a program exits: the end of its output and
            // its exit status come to socklab apart, in either order. The
            // failure says how it ended, whichever socklab saw first.
            let soon = Instant::now() + EXIT_AFTER_EOF;
            program.wait_exit(&cx.until.with_deadline(soon)).await;
            PrintedOutcome::Closed
        }
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
