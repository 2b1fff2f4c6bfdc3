//! `accept: PEER` — wait for a connection to arrive at a listening peer
//! (the client under test connects).

use crate::model::Action;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "accept",
    subject: Subject::Peer,
    summary: "Accept one connection on a listening peer.",
    params: &[],
    role: Role::Check,
    example: "{ accept: srv }",
    validate,
};

pub fn title(peer: &str) -> String {
    format!("a connection arrives at `{peer}`")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Accept { peer: step.peer()? })
}
