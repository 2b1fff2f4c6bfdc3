//! `type: PROGRAM` — type into a program's stdin (a line, text, a
//! fixture's bytes) or end its input.

use crate::model::{Action, TypeInput};
use crate::raw::{Param, ValueKind};

use super::definition::{Definition, Role, Subject};
use super::input::StepInput;

pub static DEFINITION: Definition = Definition {
    keyword: "type",
    subject: Subject::Program,
    summary: "Type into the program's stdin: `text:`, `line:`, `fixture:` or `eof: true`.",
    params: &[
        Param::new(
            "text",
            ValueKind::Text,
            "Type this text (no newline added).",
        ),
        Param::new(
            "line",
            ValueKind::Text,
            "Type this text followed by a newline.",
        ),
        Param::new("fixture", ValueKind::Word, "Type this fixture's bytes."),
        Param::new(
            "eof",
            ValueKind::Flag,
            "`true`: end the program's input (^D on a terminal, a close on a pipe).",
        ),
    ],
    role: Role::Drives,
    example: r#"{ type: cli, line: "0" }"#,
    validate,
};

pub fn title(program: &str, input: &TypeInput) -> String {
    match input {
        TypeInput::Text(t) => format!("type {:?} into `{program}`", t.source),
        TypeInput::Fixture(f) => format!("type fixture `{f}` into `{program}`"),
        TypeInput::Eof => format!("end `{program}`'s input"),
    }
}

fn validate(step: &mut StepInput) -> Option<Action> {
    let program = step.program()?;
    let input = match (
        step.text("text"),
        step.text("line"),
        step.word("fixture"),
        step.flag("eof"),
    ) {
        (Some(t), None, None, None) => TypeInput::Text(step.scope.template(t)?),
        (None, Some(l), None, None) => TypeInput::Text(step.scope.template_with_newline(l)?),
        (None, None, Some(f), None) => TypeInput::Fixture(step.scope.fixture(f)?),
        (None, None, None, Some(e)) if *e.value() => TypeInput::Eof,
        _ => return step.one_of("type", &["text", "line", "fixture", "eof: true"]),
    };
    Some(Action::Type { program, input })
}
