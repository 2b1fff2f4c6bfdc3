//! `running: PROGRAM` — check that a program is still running, optionally
//! for a while.

use crate::model::Action;
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "running",
    subject: Subject::Program,
    summary: "Check the program is still running (optionally for a while: `for:`).",
    params: &[Param::new(
        "for",
        ValueKind::Duration,
        "How long it must keep running, e.g. `500ms`.",
    )],
    role: Role::Check,
    example: "{ running: srv, for: 500ms }",
    validate,
};

pub fn title(program: &str) -> String {
    format!("`{program}` keeps running")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Running {
        program: step.program()?,
        hold: match step.duration("for") {
            Some(d) => Some(step.scope.duration(d)?),
            None => None,
        },
    })
}
