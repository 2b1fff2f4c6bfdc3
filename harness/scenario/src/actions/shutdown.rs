//! `shutdown: PEER` — half-close one of socklab's connections: send FIN,
//! keep reading (a client that signals the end of its request).

use crate::model::Action;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "shutdown",
    subject: Subject::Peer,
    summary: "Half-close a peer (shutdown its sending side).",
    params: &[],
    role: Role::Drives,
    example: "{ shutdown: c }",
    validate,
};

pub fn title(peer: &str) -> String {
    format!("half-close `{peer}`")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Shutdown { peer: step.peer()? })
}
