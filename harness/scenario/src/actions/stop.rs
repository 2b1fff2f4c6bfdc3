//! `stop: PROGRAM` — stop a program (SIGTERM, a grace period, SIGKILL), or
//! send it one signal.

use crate::model::Action;
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "stop",
    subject: Subject::Program,
    summary: "Stop the program (SIGTERM, then SIGKILL) or send it `signal:`.",
    params: &[Param::new(
        "signal",
        ValueKind::Word,
        "Send this signal instead (e.g. `SIGINT`); the program is not waited for.",
    )],
    role: Role::Drives,
    example: "{ stop: srv, signal: SIGINT }",
    validate,
};

pub fn title(program: &str, signal: Option<&str>) -> String {
    match signal {
        Some(s) => format!("send {s} to `{program}`"),
        None => format!("stop `{program}`"),
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Stop {
        program: step.program()?,
        signal: match step.word("signal") {
            Some(sig) => Some(step.scope.signal(sig)?),
            None => None,
        },
    })
}
