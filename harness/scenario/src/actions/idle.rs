//! `idle: PROGRAM` — check that a program (with every process it forked)
//! comes to rest: each of its processes has ended or sleeps in a call that
//! only input can end, with nothing to read, within the step's `within:`.
//! A server that spins after its client left never does.

use crate::model::Action;
use crate::raw::Param;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "idle",
    subject: Subject::Program,
    summary: "Check the program and its children come to rest (ended, or asleep waiting for input with none to read) within `within:`; a busy loop never does.",
    params: &[] as &[Param],
    role: Role::Check,
    example: "{ idle: srv, within: 2s }",
    validate,
};

pub fn title(program: &str) -> String {
    format!("`{program}` comes to rest (no process left running)")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Idle {
        program: step.program()?,
    })
}
