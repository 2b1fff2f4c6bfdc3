//! `silence: PEER` — check that nothing arrives on a connection for a while
//! (a server that must wait for a request before it answers).

use std::time::Duration;

use crate::model::Action;
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "silence",
    subject: Subject::Peer,
    summary: "Expect nothing to arrive on a peer `for:` a duration.",
    params: &[Param::new(
        "for",
        ValueKind::Duration,
        "How long nothing may arrive, e.g. `1s`.",
    )],
    role: Role::Check,
    example: "{ silence: c, for: 1s }",
    validate,
};

pub fn title(peer: &str, hold: Duration) -> String {
    format!("nothing arrives on `{peer}` for {hold:?}")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Silence {
        peer: step.peer()?,
        hold: match step.duration("for") {
            Some(d) => step.scope.duration(d)?,
            None => return step.one_of("silence", &["for"]),
        },
    })
}
