//! `output`: takes what a program printed so far on a stream (or both, for
//! `stream: any`), all of it once the program has ended.

use std::time::Duration;

use socklab_scenario::{OutputCheck, OutputStream, Stream};

use crate::check::Judgement;
use crate::check::printed::{self, OutputExpectation};
use crate::facts::{OutputFact, StreamOutput};
use crate::run::state::{StepContext, StepError};

/// How long the rest of a program's output may take to arrive after it ended.
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    stream: OutputStream,
    check: &OutputCheck,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    let expectation = match check {
        OutputCheck::Equals(t) => OutputExpectation::Equals(state.render(t)?),
        OutputCheck::Contains(t) => OutputExpectation::Contains(state.render(t)?),
        OutputCheck::NotContains(t) => OutputExpectation::NotContains(state.render(t)?),
        OutputCheck::Regex(re) => OutputExpectation::Regex(state.regex(re)?),
        OutputCheck::Fixture(f) => OutputExpectation::Fixture {
            name: f.clone(),
            bytes: state.fixture(f),
        },
    };
    if program.exit_info().is_some() {
        program.drain_output(OUTPUT_GRACE).await;
    }
    let streams: &[Stream] = match stream {
        OutputStream::One(Stream::Stdout) => &[Stream::Stdout],
        OutputStream::One(Stream::Stderr) => &[Stream::Stderr],
        OutputStream::Any => &[Stream::Stdout, Stream::Stderr],
    };
    let fact = OutputFact {
        program: state.program_fact(&program, false),
        streams: streams
            .iter()
            .map(|s| {
                let (data, _, dropped) = program.output(*s).snapshot();
                StreamOutput {
                    stream: *s,
                    data,
                    dropped,
                }
            })
            .collect(),
        any_stream: stream == OutputStream::Any,
    };
    Ok(printed::output(&expectation, &fact))
}
