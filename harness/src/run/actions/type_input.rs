//! `type`: types text or a fixture into a program's stdin (a terminal by
//! default), or ends its input (`eof`: ^D on a terminal, a close on a pipe).

use socklab_reference::transcript::escape_bytes;
use socklab_scenario::TypeInput;

use crate::check::{Judgement, tail};
use crate::run::state::{StepContext, StepError};

pub async fn run(
    cx: &StepContext<'_>,
    program: &str,
    input: &TypeInput,
) -> Result<Judgement, StepError> {
    let state = cx.state;
    let program = state.program(program)?;
    let bytes = match input {
        TypeInput::Eof => {
            if let Err(e) = program
                .close_input(&cx.until)
                .await
                .or_else(|e| if no_reader(&e) { Ok(()) } else { Err(e) })
            {
                return Ok(Judgement::fail(format!(
                    "could not end {}'s input: {e}",
                    program.label
                )));
            }
            cx.note_input(format!("ended the input of {}", program.label));
            return Ok(Judgement::pass("input ended"));
        }
        TypeInput::Text(t) => state.render(t)?.into_bytes(),
        TypeInput::Fixture(f) => state.fixture(f),
    };
    cx.note_input(format!(
        "typed into {}: {}",
        program.label,
        tail(&escape_bytes(&bytes), 200)
    ));
    match program.type_bytes(&bytes, &cx.until).await {
        Ok(()) => Ok(Judgement::pass("typed")),
        // A program that has exited (or closed its input) no longer reads
        // it; whether it had when socklab typed is loopback timing, not
        // the student's code: typed into a pipe a moment earlier, the same
        // bytes would have gone unread. The steps after say what it did.
        Err(e) if no_reader(&e) => Ok(Judgement::pass(format!(
            "{} no longer reads its input: what was typed went unread",
            program.label
        ))),
        Err(e) => {
            let fact = state.program_fact(&program, true);
            Ok(
                Judgement::fail(format!("could not type into {}: {e}", program.label))
                    .observed(fact.context())
                    .about(&fact),
            )
        }
    }
}

/// The program's end of its input is gone: a pipe with no reader
/// (`EPIPE`), a terminal whose program has closed it (`EIO`).
fn no_reader(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::BrokenPipe || error.raw_os_error() == Some(libc::EIO)
}
