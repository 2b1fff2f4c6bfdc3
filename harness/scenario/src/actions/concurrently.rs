//! `concurrently:` — run lists of steps at the same time (two clients of a
//! forking server, each with its own conversation).

use crate::model::Action;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "concurrently",
    subject: Subject::Branches,
    summary: "Run these lists of steps at the same time.",
    params: &[],
    role: Role::Control,
    example: "{ concurrently: [ [ { send: a, line: x } ], [ { send: b, line: y } ] ] }",
    validate,
};

pub fn title() -> String {
    "at the same time".to_string()
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let branches = step.subject_branches()?;
    if branches.value().len() < 2 {
        step.scope.error(
            branches.loc(),
            "`concurrently` needs at least two lists of steps",
            Some("write `concurrently: [[...steps...], [...steps...]]`".into()),
        );
        return None;
    }
    let rounds = step.rounds();
    Some(Action::Concurrently {
        branches: branches
            .value()
            .iter()
            .map(|b| step.inner_steps(b, rounds))
            .collect(),
    })
}
