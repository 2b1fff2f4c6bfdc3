//! `resume: PROGRAM` — let a program stopped by `suspend` run again
//! (SIGCONT): the signals that waited are delivered now. With
//! `children_ended: true` it first waits (up to the step's `within:`) until
//! every child of the program has ended, so all their SIGCHLDs wait at once.

use crate::model::Action;
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "resume",
    subject: Subject::Program,
    summary: "Let a program stopped by `suspend` run again (SIGCONT); the signals that waited are delivered.",
    params: &[Param::new(
        "children_ended",
        ValueKind::Flag,
        "First wait (up to `within:`) until every child of the program has ended, so all their SIGCHLDs are pending together.",
    )],
    role: Role::Drives,
    example: "{ resume: srv, children_ended: true }",
    validate,
};

pub fn title(program: &str, children_ended: bool) -> String {
    if children_ended {
        format!("resume `{program}` once its children have ended")
    } else {
        format!("resume `{program}`")
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Resume {
        program: step.program()?,
        children_ended: step.is_set("children_ended"),
    })
}
