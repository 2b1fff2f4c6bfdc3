//! `wait_listen: PROGRAM` — wait until the program (or a descendant)
//! listens on a port, as the kernel reports it.

use crate::model::Action;
use crate::raw::{Param, ValueKind};
use crate::template::Template;

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "wait_listen",
    subject: Subject::Program,
    summary: "Wait until the program listens on `port:` (read from the kernel, not guessed).",
    params: &[Param::new(
        "port",
        ValueKind::Text,
        "The port, usually `{{ports.NAME}}`.",
    )],
    role: Role::Prerequisite,
    example: r#"{ wait_listen: srv, port: "{{ports.lottery}}" }"#,
    validate,
};

pub fn title(program: &str, port: &Template) -> String {
    format!("`{program}` listens on port {port}")
}

fn validate(step: &mut StepInput) -> Option<Action> {
    Some(Action::WaitListen {
        program: step.program()?,
        port: step.required_template("port", "`port: \"{{ports.NAME}}\"`")?,
    })
}
