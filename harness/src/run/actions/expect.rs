//! `expect`: waits until a program prints a text or a pattern on one of
//! its streams, from where the previous `expect` on that stream stopped.

use socklab_scenario::{Pattern, Stream};

use crate::check::Judgement;
use crate::check::printed::{self, Needle};
use crate::facts::{PrintedFact, PrintedOutcome};
use crate::run::output::Wait;
use crate::run::state::{StepContext, StepError, named_values};

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
    // The match's end, and for a regex the values of its named groups.
    let waited = match &needle {
        Needle::Text(text) => {
            buf.wait_for(from, &cx.until, |hay| {
                hay.windows(text.len().max(1))
                    .position(|w| w == text.as_slice())
                    .map(|at| (at + text.len(), Vec::new()))
            })
            .await
        }
        Needle::Regex(re) => {
            buf.wait_for(from, &cx.until, |hay| {
                re.captures(hay).map(|caps| {
                    let end = caps.get(0).map_or(0, |m| m.end());
                    (end, named_values(re, &caps))
                })
            })
            .await
        }
    };
    let (data, _, _) = buf.snapshot();
    let seen = data[from.min(data.len())..].to_vec();
    let outcome = match waited {
        Wait::Found((end, values)) => {
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
