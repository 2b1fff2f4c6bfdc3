//! `running: PROGRAM` — check that a program is still running once nothing
//! more can change, or for a while.

use crate::model::Action;
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "running",
    subject: Subject::Program,
    summary: "Check the program is still running once nothing more can change (every program asleep with nothing queued, or exited: `docs/deciding.md`), watching at most 500 ms (or `for:`), so that a program on its way out is never caught alive.",
    params: &[Param::new(
        "for",
        ValueKind::Duration,
        "How long to watch at most (default 500ms), e.g. `2s`; the watch ends sooner once the scenario settles.",
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
