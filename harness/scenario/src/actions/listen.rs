//! `listen: NAME` — a scripted server: socklab listens on a port under a
//! peer name, to test a client (then `accept:`).

use crate::model::Action;
use crate::raw::{Param, ValueKind};
use crate::template::Template;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "listen",
    subject: Subject::NewPeer,
    summary: "Listen on `port:` as this peer (then `accept:`).",
    params: &[
        Param::new(
            "port",
            ValueKind::Text,
            "The port to listen on, usually `{{ports.NAME}}`.",
        ),
        Param::new(
            "host",
            ValueKind::Word,
            "The host to listen on (default: the first host).",
        ),
    ],
    role: Role::Drives,
    example: r#"{ listen: srv, port: "{{ports.lottery}}" }"#,
    validate,
};

pub fn title(peer: &str, port: &Template) -> String {
    format!("`{peer}` listens on {port}")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::Listen {
        peer: step.subject_word()?.value().clone(),
        port: step.required_template("port", "`port: \"{{ports.NAME}}\"`")?,
        host: step.scope.host(step.word("host"))?,
    })
}
