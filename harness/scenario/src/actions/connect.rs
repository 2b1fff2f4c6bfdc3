//! `connect: NAME` — open socklab's own TCP connection to a program under a
//! peer name (or check that the connection is refused).

use crate::model::Action;
use crate::raw::{Param, ValueKind};
use crate::template::Template;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "connect",
    subject: Subject::NewPeer,
    summary: "Open a TCP connection under this peer name `to:` an address (or expect `refused: true`).",
    params: &[
        Param::new(
            "to",
            ValueKind::Text,
            "`HOST:PORT`, e.g. `{{hosts.server}}:{{ports.lottery}}`.",
        ),
        Param::new(
            "host",
            ValueKind::Word,
            "The host the connection is made from (default: the first host).",
        ),
        Param::new(
            "refused",
            ValueKind::Flag,
            "Expect the connection to be refused (ECONNREFUSED).",
        ),
    ],
    role: Role::Prerequisite,
    example: r#"{ connect: c, to: "127.0.0.1:{{ports.lottery}}" }"#,
    validate,
};

pub fn title(peer: &str, to: &Template, refused: bool) -> String {
    if refused {
        format!("connecting to {to} is refused")
    } else {
        format!("connect `{peer}` to {to}")
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Connect {
        peer: step.subject_word()?.value().clone(),
        to: step.required_template("to", "`to: \"{{hosts.server}}:{{ports.NAME}}\"`")?,
        host: step.scope.host(step.word("host"))?,
        refused: step.is_set("refused"),
    })
}
