//! `close: PEER` — close one of socklab's connections or listeners.

use crate::model::Action;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "close",
    subject: Subject::Peer,
    summary: "Close a peer.",
    params: &[],
    role: Role::Drives,
    example: "{ close: c }",
    validate,
};

pub fn title(peer: &str) -> String {
    format!("close `{peer}`")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Close { peer: step.peer()? })
}
